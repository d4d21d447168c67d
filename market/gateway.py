"""The order gateway (issue 14; docs/market.md "The order gateway"): one process through which the registry's orders
reach the book, so that the orders waiting on an instrument are entered together, a batch in one transaction
(``market.services.book.enter``), instead of each order waiting for the instrument's lock in a transaction of its
own.

``submit`` is how a service enters an order: through the gateway's unix socket when ``MARKET_GATEWAY_SOCKET`` is set
and the caller is not inside a transaction of its own, otherwise in the caller's process (tests, a shell, a service
inside another's transaction) — the same function either way, so the same rules. ``serve`` is the gateway's loop
(``manage.py market_gateway``). The protocol is a line of JSON each way.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime

import structlog
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts import ledger
from market.models import Instrument
from market.services import book

log = structlog.get_logger(__name__)


APPLICATION_NAME = "gx-market-gateway"


class GatewayUnavailable(Exception):
    """The gateway did not answer (not running, or gone while an order was in it)."""


def submit(instrument: Instrument, entry: book.Entry, now: datetime | None, context: tuple[str, str]) -> book.Answer:
    """Enter one order (or match an amended one again) and return its answer. ``now`` None: the moment it is entered."""
    path = getattr(settings, "MARKET_GATEWAY_SOCKET", "")
    if not path or connection.in_atomic_block:
        return enter_in_process(instrument, [entry], now or timezone.now(), context)[0]
    request = json.dumps({"instrument": instrument.pk, "now": now.isoformat() if now else None,
                          "entry": entry.as_json()}).encode() + b"\n"
    for _attempt in range(2):  # a connection the gateway dropped (it restarted) is opened again, once
        try:
            line = _ask(path, request)
        except OSError:
            line = b""
        if line:
            break
        _hang_up()
    else:
        raise GatewayUnavailable(f"no answer on {path}")
    answer = json.loads(line)
    if "error" in answer:
        raise GatewayUnavailable(answer["error"])
    return book.Answer(**answer)


# Each thread keeps its connection to the gateway: one order at a time on it, the answer before the next. Sending an
# order again after a dropped connection is safe: its idempotency key makes it the same order.
_channel = threading.local()


def _hang_up() -> None:
    channel = _channel.__dict__.pop("socket", None)
    _channel.__dict__.clear()
    if channel is not None:
        channel.close()


def _ask(path: str, request: bytes) -> bytes:
    if getattr(_channel, "path", None) != path:
        _hang_up()
        channel = socket.socket(socket.AF_UNIX)
        channel.connect(path)
        _channel.socket, _channel.answers, _channel.path = channel, channel.makefile("rb"), path
    _channel.socket.sendall(request)
    return _channel.answers.readline()


def enter_in_process(instrument: Instrument, entries: list[book.Entry], now: datetime, context: tuple[str, str],
                     memory: book.BookInMemory | None = None) -> list[book.Answer]:
    """``book.enter`` in a transaction of its own (or the caller's savepoint), retried when the database asks (a
    deadlock). A batch that did not commit leaves the book in ``memory`` unknown."""
    for attempt in range(ledger.RETRY_ATTEMPTS):
        try:
            if not connection.in_atomic_block:
                return book.enter(instrument, entries, now, context, memory, commit=True)
            with transaction.atomic():
                return book.enter(instrument, entries, now, context, memory)
        except BaseException as error:
            if memory is not None:
                memory.forget()
            if not isinstance(error, DatabaseError):
                raise
            if (getattr(error.__cause__, "sqlstate", None) not in ledger.RETRYABLE_SQLSTATES
                    or attempt == ledger.RETRY_ATTEMPTS - 1 or connection.in_atomic_block):
                raise
    raise AssertionError("unreachable")


# --- the gateway's process -------------------------------------------------------------------------------------

# Clients count as busy for a second after their last order: the gateway lingers for those it has just answered
# (``serve``'s ``linger``).
BUSY_SECONDS = 1.0


class _Waiting:
    """The requests read from the clients' sockets and not yet answered."""

    def __init__(self, server: socket.socket):
        self.server, self.selector, self.buffers = server, selectors.DefaultSelector(), {}
        self.last_order: dict[socket.socket, float] = {}
        self.selector.register(server, selectors.EVENT_READ)

    def gather(self, timeout: float | None, linger: float = 0.0) -> list[tuple[socket.socket, dict]]:
        """The requests waiting (waiting up to ``timeout`` for one); then, for up to ``linger`` seconds, those of
        the busy clients that have none waiting (answered a moment ago, they are about to send their next)."""
        waiting = self._gather(timeout)
        deadline = time.monotonic() + linger
        while waiting:
            now = time.monotonic()
            busy = {client for client, last in self.last_order.items() if last > now - BUSY_SECONDS}
            if now >= deadline or busy <= {client for client, _request in waiting}:
                break
            waiting.extend(self._gather(deadline - now))
        return waiting

    def _gather(self, timeout: float | None) -> list[tuple[socket.socket, dict]]:
        waiting, accepted = [], True
        while accepted:  # a client just connected has sent its order already: read it in this gathering too
            accepted = False
            for key, _events in self.selector.select(timeout):
                if key.fileobj is self.server:
                    client, _address = self.server.accept()
                    self.selector.register(client, selectors.EVENT_READ)
                    self.buffers[client] = b""
                    accepted = True
                else:
                    waiting.extend(self._read(key.fileobj))
            timeout = 0
        return waiting

    def _read(self, client: socket.socket) -> list[tuple[socket.socket, dict]]:
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if not data:  # the client has gone
            self.close(client)
            return []
        self.buffers[client] += data
        self.last_order[client] = time.monotonic()
        waiting = []
        while b"\n" in self.buffers[client]:
            line, self.buffers[client] = self.buffers[client].split(b"\n", 1)
            waiting.append((client, json.loads(line)))
        return waiting

    def close(self, client: socket.socket) -> None:
        self.selector.unregister(client)
        self.buffers.pop(client, None)
        self.last_order.pop(client, None)
        client.close()


def _answer(waiting: _Waiting, client: socket.socket, answer: dict) -> None:
    try:
        client.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:  # the client went away; its order stands (it enters it again with its key to learn of it)
        waiting.close(client)


def batch_context(entries: list[book.Entry]) -> tuple[str, str]:
    """The audit context of a batch (pghistory's id and metadata): entered through the gateway, for these users (each
    order names who entered it)."""
    users = sorted({entry.user_id for entry in entries if entry.user_id})
    return str(uuid.uuid4()), json.dumps({"action": "order_enter", "via": "market_gateway", "users": users})


def _enter_batch(instrument: Instrument, now: datetime, requests: list[tuple[socket.socket, dict]],
                 memory: book.BookInMemory) -> list[dict]:
    entries = [book.Entry(**request["entry"]) for _client, request in requests]
    try:
        return [answer.as_json() for answer in enter_in_process(instrument, entries, now, batch_context(entries),
                                                                memory)]
    except Exception:  # noqa: BLE001 - whatever it was, the gateway answers and goes on
        if len(entries) == 1:
            log.exception("market_gateway_order_failed", instrument=instrument.pk)
            return [{"error": "the order could not be entered"}]
    # One order's unexpected failure (a balance changed under the batch) does not keep the others out.
    return [answer for request in requests for answer in _enter_batch(instrument, now, [request], memory)]


def _connect() -> None:
    """The gateway's one database connection, kept (not closed after each batch as after a request), opened again
    if it broke."""
    raw = connection.connection
    if raw is not None and (raw.closed or raw.broken):
        connection.close()
    if connection.connection is None:  # named in pg_stat_activity, for operators and the benchmark
        connection.ensure_connection()
        connection.connection.execute(f"SET application_name TO '{APPLICATION_NAME}'")
        # The batch's statements are prepared once and run thousands of times: without this, PostgreSQL plans
        # some of them again at every batch (their generic plan looks dearer than a plan for the values at hand,
        # which is no better), and planning cost more than running them (benchmarks/README.md, twelfth session).
        connection.connection.execute("SET plan_cache_mode TO force_generic_plan")


def serve(path: str, *, ready=None, stop=None, linger: float | None = None) -> None:
    """The gateway's loop: wait for orders, then enter every order waiting, a batch for each instrument and moment,
    and answer each client once its batch has committed.

    ``linger`` (seconds; ``settings.MARKET_GATEWAY_LINGER_MS``): how long the gateway waits, at most, for the next
    orders of the clients it has just answered before it enters those waiting, as PostgreSQL's ``commit_delay`` waits
    for other commits. With a few busy clients their orders then make one batch instead of alternating halves, which
    costs the gateway and the database about a third less an order (benchmarks/README.md, twelfth session); a lone
    client is not kept waiting (it is the only busy one)."""
    if linger is None:
        linger = settings.MARKET_GATEWAY_LINGER_MS / 1000
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # left by a gateway that stopped
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    # Only the registry's own processes (its operating-system user, as for its database password) may send orders:
    # the service that sends one has authorized its representative; the gateway re-checks the participant's state.
    os.chmod(path, 0o600)
    server.listen(256)
    waiting, instruments, books = _Waiting(server), {}, defaultdict(book.BookInMemory)
    _connect()
    log.info("market_gateway_ready", socket=path)
    if ready is not None:
        ready()
    try:
        while stop is None or not stop.is_set():
            requests = waiting.gather(0.5, linger)
            if not requests:
                continue
            batches = defaultdict(list)
            for client, request in requests:
                batches[(request["instrument"], request["now"])].append((client, request))
            _connect()
            for (instrument_id, moment), batch in batches.items():
                try:
                    if instrument_id not in instruments:  # an instrument's terms are fixed once it is listed
                        instruments[instrument_id] = Instrument.objects.get(pk=instrument_id)
                    now = datetime.fromisoformat(moment) if moment else timezone.now()
                except Exception:  # noqa: BLE001 - a request it cannot read is answered, the gateway goes on
                    log.exception("market_gateway_request_unreadable", instrument=instrument_id)
                    answers = [{"error": "the request could not be read"}] * len(batch)
                else:
                    answers = _enter_batch(instruments[instrument_id], now, batch, books[instrument_id])
                for (client, _request), answer in zip(batch, answers, strict=True):
                    _answer(waiting, client, answer)
    finally:
        server.close()
        connection.close()

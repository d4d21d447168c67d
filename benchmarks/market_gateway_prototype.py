"""A measurement of a design that is not built (issue 14; docs/market.md "Not built yet"): an order gateway.

    GX_DATABASE_NAME=gx_scratch .venv/bin/python benchmarks/market_gateway_prototype.py --scratch [--settlement netted]

The registry enters each order in its own transaction (``market.services.orders.order_enter``, measured by
``market_orders.py``). Here one process, the gateway, takes the orders of all clients over a unix socket and enters
every order waiting when it wakes (a batch) in one transaction of set-based statements, sent in two round trips:
the reads (memberships, participants, idempotency keys, the instrument, the balances, the top of the book, the
orders' numbers) and then the writes with the COMMIT (the orders, the trades, the resting orders, the reservations,
the settlement). Matching is ``market.engine.matching.match``, the registry's reference model, on the batch's book.
Settlement is either each trade its own ledger transaction, as the registry books it (``per-trade``), or one ledger
transaction a batch moving each participant's net units and yen (``netted``). Clients wait for their answer, which
is sent after the COMMIT, as ``order_enter`` answers. Same participants, prices and pgbench comparison as
``market_orders.py``.

A prototype for measuring, not the registry's order entry: it writes the market's and the ledger's tables directly,
checks no session hours, corridor, band or halt, and with ``netted`` drops the unique constraint of
``market_trade.ledger_transaction_id`` (``--without-order-audit`` disables the order's audit triggers for the run).
Run it on a scratch database only (``--scratch`` says you are).
"""

import argparse
import json
import multiprocessing
import os
import random
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict, deque
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("LOG_FORMAT", "json")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts import ledger  # noqa: E402
from benchmarks.common import machine_cpu_seconds, p95, pgbench_tps, process_cpu_seconds  # noqa: E402
from benchmarks.market_orders import SESSION, VINTAGE, WRITTEN, prepare  # noqa: E402
from market.engine.matching import Order, Side, Stop, match  # noqa: E402
from market.models import Trade  # noqa: E402

SOCKET = "/tmp/gx-market-gateway-prototype.sock"  # noqa: S108 - a benchmark's own socket
BOOK_READ = 64  # resting orders read from the top of each side a batch: more than 8 orders of 20 can reach
ORDER_COLUMNS = "id, side, price_yen, remaining, sequence, owner, unit_account_id, cash_account_id"


class Book:
    """Resting orders by side and price, each price's orders in time order."""

    def __init__(self):
        self.levels = {"buy": defaultdict(deque), "sell": defaultdict(deque)}

    def add(self, order):
        self.levels[order.side.value][order.price].append(order)

    def best_first(self, side):
        levels = self.levels[side]
        for price in sorted(levels, reverse=side == "buy"):
            yield from levels[price]

    def reduce(self, side, number, price, quantity):
        """What is left of a resting order once ``quantity`` of it filled (gone from the book when nothing)."""
        queue = self.levels[side][price]
        at = next(i for i, order in enumerate(queue) if order.id == number)
        order = queue[at]
        left = order.quantity - quantity
        if left:
            queue[at] = replace(order, quantity=left)
        else:
            del queue[at]
            if not queue:
                del self.levels[side][price]
        return left


class Batch:
    """One batch's transaction: read, match in memory, write."""

    def __init__(self, db, instrument, vintage, accounts, settlement, book):
        self.db, self.instrument, self.vintage, self.settlement = db, instrument, vintage, settlement
        self.accounts = accounts  # participant -> (organisation, owner, unit account, cash account): fixed facts
        self.account_of = {}  # order -> (unit account, cash account)
        self.book = book  # kept between batches (the gateway the book's only writer), or None: read each batch
        if book is not None:
            for row in db.execute(f"SELECT {ORDER_COLUMNS} FROM market_order WHERE instrument_id = %s AND status = "  # noqa: S608
                                  "'open' ORDER BY sequence", [instrument]):
                book.add(self._order(row))
            db.commit()

    def run(self, requests, reads=None, arrived=lambda: []):
        """Enter ``requests`` (their reads already sent, ``reads``, or sent now); with their writes and COMMIT,
        send the reads of what ``arrived`` meanwhile, so the next batch's first round trip is this one's last.
        Returns the answers, the requests that arrived and their reads."""
        if reads is None:
            with self.db.pipeline():
                reads = self._send_reads(requests)
        allowed, status = set(reads[0].fetchall()), dict(reads[1].fetchall())
        seen, free, numbers = set(reads[2].fetchall()), dict(reads[4].fetchall()), reads[5].fetchall()
        book, truncated = self.book, {"buy": False, "sell": False}
        if book is None:
            book, rows = Book(), {"buy": reads[6].fetchall(), "sell": reads[7].fetchall()}
            for side, read in rows.items():
                truncated[side] = len(read) == BOOK_READ
                for row in read:
                    book.add(self._order(row))
        self.entered, self.resting_filled, self.trades = [], {}, []
        self.reserve, self.net = defaultdict(int), defaultdict(int)
        answers = []
        for request, (number, sequence) in zip(requests, numbers, strict=True):
            organisation, owner, unit_account, cash_account = self.accounts[request["participant"]]
            side, price, quantity = request["side"], request["price"], request["quantity"]
            account = unit_account if side == "sell" else cash_account
            refusal = ("not_permitted" if (request["user"], organisation) not in allowed else
                       "participant" if status.get(request["participant"]) != "active" else
                       "replayed" if (request["participant"], request["key"]) in seen else
                       "too_few" if free[account] < (quantity if side == "sell" else quantity * price) else None)
            if refusal:
                answers.append({"refused": refusal})
                continue
            incoming = Order(number, Side(side), price, quantity, sequence, owner)
            other = "sell" if side == "buy" else "buy"
            result = match(incoming, book.best_first(other))
            if result.rests and not book.levels[other] and truncated[other]:
                raise RuntimeError("a batch reached past the resting orders read")  # not with this benchmark's sizes
            for fill in result.fills:
                self.resting_filled[fill.resting_id] = book.reduce(other, fill.resting_id, fill.price, fill.quantity)
            self._settle(incoming, result, unit_account, cash_account, free)
            self.entered[-1] += (request,)
            if result.rests is not None:
                book.add(result.rests)
            answers.append({"order": number, "trades": len(result.fills), "stop": result.stop.value})
        following = arrived()
        with self.db.pipeline():
            self._write(requests)
            self.db.commit()
            following_reads = self._send_reads([r for _client, r in following]) if following else None
        return answers, following, following_reads

    def _send_reads(self, requests):
        pids = sorted({r["participant"] for r in requests})
        units = sorted({self.accounts[p][2] for p in pids})
        cash = sorted({self.accounts[p][3] for p in pids})
        reads = [self.db.cursor() for _ in range(8)]
        reads[0].execute(  # gxregistry.authorization's rule, for the batch at once
            "SELECT user_id, organisation_id FROM accounts_membership WHERE user_id = ANY(%s) AND organisation_id "
            "= ANY(%s) AND ended_at IS NULL AND suspended_at IS NULL AND role = 'authorised_representative'",
            [[r["user"] for r in requests], [self.accounts[r["participant"]][0] for r in requests]])
        reads[1].execute("SELECT id, status FROM market_participant WHERE id = ANY(%s) ORDER BY id FOR SHARE",
                         [pids])
        reads[2].execute("SELECT t.p, t.k FROM unnest(%s::bigint[], %s::text[]) t(p, k) WHERE EXISTS (SELECT 1 "
                         "FROM market_order o WHERE o.participant_id = t.p AND o.idempotency_key = t.k)",
                         [[r["participant"] for r in requests], [r["key"] for r in requests]])
        reads[3].execute("SELECT id FROM market_instrument WHERE id = %s FOR NO KEY UPDATE", [self.instrument])
        reads[4].execute(
            "SELECT account_id, quantity - reserved FROM accounts_balance WHERE credit_batch_id IS NULL AND "
            "((account_id = ANY(%s) AND unit_type = 'allowance' AND vintage = %s) OR (account_id = ANY(%s) AND "
            "unit_type = 'yen')) ORDER BY account_id FOR NO KEY UPDATE", [units, self.vintage, cash])
        reads[5].execute("SELECT nextval('market_order_id_seq'), nextval('market_order_priority') "
                         "FROM generate_series(1, %s)", [len(requests)])
        for cursor, side, order in ((reads[6], "buy", "price_yen DESC"), (reads[7], "sell", "price_yen")):
            if self.book is not None:
                break
            cursor.execute(f"SELECT {ORDER_COLUMNS} FROM market_order WHERE instrument_id = %s AND side = %s "  # noqa: S608
                           f"AND status = 'open' ORDER BY {order}, sequence LIMIT %s",
                           [self.instrument, side, BOOK_READ])
        return reads

    def _settle(self, incoming, result, unit_account, cash_account, free):
        """What the fills move: units and yen (net a participant) and reservations."""
        for fill in result.fills:
            rest_units, rest_cash = self.account_of[fill.resting_id]
            buyer, seller = ((unit_account, cash_account), (rest_units, rest_cash)) if incoming.side == Side.BUY \
                else ((rest_units, rest_cash), (unit_account, cash_account))
            self.net[seller[0]] -= fill.quantity
            self.net[buyer[0]] += fill.quantity
            self.net[buyer[1]] -= fill.quantity * fill.price
            self.net[seller[1]] += fill.quantity * fill.price
            if incoming.side == Side.SELL:
                free[unit_account] -= fill.quantity
                self.reserve[rest_cash] -= fill.quantity * fill.price  # a trade is at the resting order's price
            else:
                free[cash_account] -= fill.quantity * fill.price
                self.reserve[rest_units] -= fill.quantity
            self.trades.append((fill, buyer, seller, incoming.side.value))
        left = result.rests.quantity if result.rests else 0
        if left:
            reserved = left if incoming.side == Side.SELL else left * incoming.price
            self.reserve[unit_account if incoming.side == Side.SELL else cash_account] += reserved
            free[unit_account if incoming.side == Side.SELL else cash_account] -= reserved
        self.account_of[incoming.id] = (unit_account, cash_account)
        self.entered.append((incoming, left, result.stop))

    def _write(self, requests):
        rows = []
        for order, left, stop, request in self.entered:
            left = self.resting_filled.pop(order.id, left)  # entered and filled later in the same batch
            state = "open" if left and stop == Stop.NO_MORE_MATCH else "filled" if not left else "cancelled"
            rows.append((order.id, order.side.value, order.price, order.quantity, left, state, order.sequence,
                         order.owner, *self.account_of[order.id], request["participant"], request["user"],
                         request["key"]))
        cursor = self.db.cursor()
        # One statement, one JSON parameter (psycopg dumps a list parameter element by element in Python).
        cursor.execute(
            "WITH batch AS (SELECT %s::jsonb AS j), entered AS ("
            "INSERT INTO market_order (id, instrument_id, side, price_yen, quantity, remaining, status, "
            "time_in_force, sequence, owner, unit_account_id, cash_account_id, reserved_units, reserved_yen, "
            "trading_day, participant_id, entered_by_id, idempotency_key, entered_at, closed_at, closed_reason) "
            "SELECT id, %s, side, price, q, rem, st, 'gtc', seq, own, ua, ca, "
            "CASE WHEN st = 'open' AND side = 'sell' THEN rem ELSE 0 END, "
            "CASE WHEN st = 'open' AND side = 'buy' THEN rem * price ELSE 0 END, %s, pid, uid, k, %s, "
            "CASE WHEN st = 'open' THEN NULL ELSE %s END, CASE WHEN st = 'cancelled' THEN 'self_trade' ELSE '' END "
            "FROM batch, jsonb_to_recordset(batch.j -> 'entered') AS t(id bigint, side text, price int, q bigint, "
            "rem bigint, st text, seq bigint, own text, ua bigint, ca bigint, pid bigint, uid bigint, k text)) "
            "UPDATE market_order o SET remaining = t.rem, status = CASE WHEN t.rem = 0 THEN 'filled' ELSE "
            "o.status END, closed_at = CASE WHEN t.rem = 0 THEN %s END, reserved_units = CASE WHEN o.side = "
            "'sell' THEN t.rem ELSE 0 END, reserved_yen = CASE WHEN o.side = 'buy' THEN t.rem * o.price_yen "
            "ELSE 0 END FROM batch, jsonb_to_recordset(batch.j -> 'resting') AS t(id bigint, rem bigint) "
            "WHERE o.id = t.id",
            [json.dumps({"entered": [dict(zip(("id", "side", "price", "q", "rem", "st", "seq", "own", "ua", "ca",
                                               "pid", "uid", "k"), row, strict=True)) for row in rows],
                         "resting": [{"id": number, "rem": left} for number, left in self.resting_filled.items()]}),
             self.instrument, SESSION.date(), SESSION, SESSION, SESSION])
        if self.trades:
            self._write_trades(cursor, requests[0]["user"], f"gateway-{self.instrument}-{rows[0][6]}")
        moves = sorted((account, change) for account, change in self.reserve.items() if change)
        if moves:
            cursor.execute(
                "UPDATE accounts_balance b SET reserved = b.reserved + t.change FROM unnest(%s::bigint[], "
                "%s::bigint[]) AS t(account, change) WHERE b.account_id = t.account AND b.credit_batch_id IS NULL "
                "AND ((b.unit_type = 'allowance' AND b.vintage = %s) OR b.unit_type = 'yen')",
                [[account for account, _ in moves], [change for _, change in moves], self.vintage])

    def _write_trades(self, cursor, booked_by, key):
        fills, buyers, sellers, aggressors = zip(*self.trades, strict=True)
        columns = [self._order_ids(fills, aggressors, "buy"), self._order_ids(fills, aggressors, "sell"), list(aggressors), [f.price for f in fills],
                   [f.quantity for f in fills]]
        if self.settlement == "per-trade":  # each trade its own ledger transaction, as the registry books it
            cursor.execute(
                "INSERT INTO market_trade (instrument_id, buy_order_id, sell_order_id, aggressor, price_yen, quantity,"
                " ledger_transaction_id, traded_at) SELECT %s, t.b, t.s, t.a, t.p, t.q, (gx_ledger_book('trade', "
                "%s || '-' || t.n, %s || '-' || t.n, 'trade', %s, NULL, ARRAY[t.su, t.bc], ARRAY[t.bu, t.sc], "
                "ARRAY['allowance', 'yen'], ARRAY[%s, 0], ARRAY[NULL, NULL]::bigint[], ARRAY[t.q, t.q * t.p]))"
                ".o_transaction_id, %s FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::int[], %s::bigint[], "
                "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) WITH ORDINALITY "
                "AS t(b, s, a, p, q, su, sc, bu, bc, n)",
                [self.instrument, key, key, booked_by, self.vintage, SESSION, *columns,
                 [s[0] for s in sellers], [s[1] for s in sellers], [b[0] for b in buyers], [b[1] for b in buyers]])
            return
        sources, destinations, kinds, vintages, quantities = [], [], [], [], []
        for kind, vintage, accounts in (("allowance", self.vintage, {b[0] for b in buyers} | {s[0] for s in sellers}),
                                        ("yen", 0, {b[1] for b in buyers} | {s[1] for s in sellers})):
            givers = [[a, -self.net[a]] for a in sorted(accounts) if self.net[a] < 0]
            takers = [[a, self.net[a]] for a in sorted(accounts) if self.net[a] > 0]
            while givers and takers:  # each net giver pays net takers until all are square
                moved = min(givers[0][1], takers[0][1])
                sources.append(givers[0][0])
                destinations.append(takers[0][0])
                kinds.append(kind)
                vintages.append(vintage)
                quantities.append(moved)
                givers[0][1] -= moved
                takers[0][1] -= moved
                givers, takers = [g for g in givers if g[1]], [t for t in takers if t[1]]
        cursor.execute(
            "INSERT INTO market_trade (instrument_id, buy_order_id, sell_order_id, aggressor, price_yen, quantity, "
            "ledger_transaction_id, traded_at) SELECT %s, t.b, t.s, t.a, t.p, t.q, booking.o_transaction_id, %s "
            "FROM gx_ledger_book('trade', %s, %s, %s, %s, NULL, %s, %s, %s, %s, %s, %s) booking, "
            "unnest(%s::bigint[], %s::bigint[], %s::text[], %s::int[], %s::bigint[]) AS t(b, s, a, p, q)",
            [self.instrument, SESSION, key, key, f"settlement of {len(fills)} trades", booked_by, sources,
             destinations, kinds, vintages, [None] * len(sources), quantities, *columns])

    def _order(self, row):
        number, side, price, remaining, sequence, owner, unit_account, cash_account = row
        self.account_of[number] = (unit_account, cash_account)
        return Order(number, Side(side), price, remaining, sequence, owner)

    @staticmethod
    def _order_ids(fills, aggressors, side):
        return [f.incoming_id if aggressor == side else f.resting_id for f, aggressor in zip(fills, aggressors,
                                                                                              strict=True)]


def serve(instrument, vintage, settlement, book, overlap):
    # Plain psycopg (Django's connection parameters add a cursor wrapper, adapters and no prepared statements).
    db = psycopg.connect(**{key: value for key, value in connection.get_connection_params().items()
                            if key in ("dbname", "user", "password", "host", "port")})
    connection.close()
    accounts = {}
    for participant, organisation, unit_account, cash_account in db.execute(
            "SELECT p.id, p.organisation_id, (SELECT h.id FROM accounts_holdingaccount h WHERE h.organisation_id = "
            "p.organisation_id AND h.kind IN ('operator_holding', 'trading') ORDER BY h.id LIMIT 1), (SELECT h.id "
            "FROM accounts_holdingaccount h WHERE h.organisation_id = p.organisation_id AND h.kind = 'market_cash') "
            "FROM market_participant p"):
        accounts[participant] = (organisation, f"organisation:{organisation}", unit_account, cash_account)
    db.commit()
    batch = Batch(db, instrument, vintage, accounts, settlement, Book() if book == "memory" else None)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    server = socket.socket(socket.AF_UNIX)
    server.bind(SOCKET)
    server.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    buffers, counts = {}, [0, 0]  # batches, orders

    def gather(timeout=None):
        """The requests that have come in ((client, request)), waiting for one unless ``timeout``."""
        waiting = []
        for key, _events in selector.select(timeout):
            if key.fileobj is server:
                client, _address = server.accept()
                selector.register(client, selectors.EVENT_READ)
                buffers[client] = b""
                continue
            client = key.fileobj
            data = client.recv(65536)
            if not data:
                selector.unregister(client)
                client.close()
                continue
            buffers[client] += data
            while b"\n" in buffers[client]:
                line, buffers[client] = buffers[client].split(b"\n", 1)
                if line == b"COUNTS":
                    client.sendall(f"{counts[0]} {counts[1]}\n".encode())
                else:
                    waiting.append((client, json.loads(line)))
        return waiting

    print("ready", db.info.backend_pid, flush=True)
    following, reads = [], None
    while True:
        waiting = following or gather()
        if not waiting:
            continue
        answers, following, reads = batch.run([request for _client, request in waiting], reads,
                                              (lambda: gather(0)) if overlap else (lambda: []))
        counts[0], counts[1] = counts[0] + 1, counts[1] + len(waiting)
        for (client, _request), answer in zip(waiting, answers, strict=True):
            client.sendall(json.dumps(answer).encode() + b"\n")


def _client(args):
    worker, participant, user, seconds, run = args
    gateway = socket.socket(socket.AF_UNIX)
    gateway.connect(SOCKET)
    answers = gateway.makefile("rb")
    rng, latencies, refused = random.Random(worker), [], 0  # noqa: S311 - prices for a benchmark
    cpu, deadline = time.process_time(), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        gateway.sendall(json.dumps({"participant": participant, "user": user, "side": rng.choice(["buy", "sell"]),
                                    "price": rng.randint(2990, 3010), "quantity": rng.randint(1, 20),
                                    "key": f"{run}-{worker}-{len(latencies)}"}).encode() + b"\n")
        refused += "refused" in json.loads(answers.readline())
        latencies.append(time.perf_counter() - began)
    return latencies, refused, time.process_time() - cpu


def _query(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall() if cursor.description else []


def _counts():
    with socket.socket(socket.AF_UNIX) as gateway:
        gateway.connect(SOCKET)
        gateway.sendall(b"COUNTS\n")
        return tuple(int(n) for n in gateway.makefile("rb").readline().split())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scratch", action="store_true", help="this database may be written outside the services")
    parser.add_argument("--settlement", choices=["per-trade", "netted"], default="per-trade")
    parser.add_argument("--book", choices=["read", "memory"], default="read",
                        help="the top of the book read each batch, or all of it kept in the gateway's memory")
    parser.add_argument("--overlap", action="store_true",
                        help="the reads of the orders that came in meanwhile sent with a batch's writes and COMMIT")
    parser.add_argument("--without-order-audit", action="store_true",
                        help="pghistory's triggers on market_order disabled for the run (what an audit row costs)")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", nargs=2, type=int, metavar=("INSTRUMENT", "VINTAGE"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        return serve(*options.serve, options.settlement, options.book, options.overlap)
    if not options.scratch:
        sys.exit("a prototype that writes the tables directly: run it on a scratch database, with --scratch")
    run = f"m{int(time.time())}"
    instrument, people = prepare(8, run)
    if options.settlement == "netted":  # one ledger transaction settles many trades
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE market_trade DROP CONSTRAINT IF EXISTS market_trade_ledger_transaction_id_key")
    audit_triggers = [name for (name,) in _query(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'market_order'::regclass AND tgname ~ '^pgtrigger_(insert|update)_'"
    )] if options.without_order_audit else []
    for name in audit_triggers:
        _query(f"ALTER TABLE market_order DISABLE TRIGGER {name}")
    connections.close_all()
    arguments = ["--settlement", options.settlement, "--book", options.book, *(["--overlap"] if options.overlap else []),
                 "--serve", str(instrument), str(VINTAGE)]
    gateway = subprocess.Popen([sys.executable, __file__, *arguments], stdout=subprocess.PIPE, text=True)  # noqa: S603
    backend = int(gateway.stdout.readline().split()[1])
    print(f"settlement {options.settlement}, book {options.book}, overlap {options.overlap}, database {connection.settings_dict['NAME']}")
    try:
        for round_number in range(1, options.rounds + 1):
            pgbench_cpu = []
            tps = pgbench_tps(8, options.seconds, pgbench_cpu)
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM (ANALYZE) {', '.join(WRITTEN)}")
            trades = Trade.objects.filter(instrument_id=instrument).count()
            connections.close_all()
            counts, busy = _counts(), machine_cpu_seconds()
            gateway_cpu, backend_cpu = process_cpu_seconds(gateway.pid), process_cpu_seconds(backend)
            with multiprocessing.get_context("fork").Pool(8) as pool:
                results = pool.map(_client, [(i, *people[i], options.seconds, f"{run}-{round_number}")
                                             for i in range(8)])
            busy = machine_cpu_seconds() - busy
            gateway_cpu = process_cpu_seconds(gateway.pid) - gateway_cpu
            backend_cpu = process_cpu_seconds(backend) - backend_cpu
            batches, entered = (after - before for after, before in zip(_counts(), counts, strict=True))
            latencies = sorted(latency for result in results for latency in result[0])
            orders = len(latencies)
            traded = Trade.objects.filter(instrument_id=instrument).count() - trades
            print(f"round {round_number}: pgbench {tps:.0f} tps ({pgbench_cpu[0] / (tps * options.seconds) * 1000:.2f}"
                  f" ms of the machine a transaction); orders {orders / options.seconds:.0f}/s ({traded} trades, "
                  f"{sum(result[1] for result in results)} refused), p95 {p95(latencies) * 1000:.1f} ms, median "
                  f"{statistics.median(latencies) * 1000:.1f} ms -> ratio {orders / options.seconds / tps:.2f}; "
                  f"an order {busy / orders * 1000:.2f} ms of the machine (clients "
                  f"{sum(result[2] for result in results) / orders * 1000:.2f}, gateway {gateway_cpu / orders * 1000:.2f}"
                  f", its backend {backend_cpu / orders * 1000:.2f}); {entered / batches:.1f} orders a batch; cores "
                  f"busy {busy / options.seconds / os.cpu_count():.0%}", flush=True)
    finally:
        gateway.terminate()
        for name in audit_triggers:
            _query(f"ALTER TABLE market_order ENABLE TRIGGER {name}")
    print(f"reconciliation after the run: {'clean' if ledger.reconcile().clean else 'DIFFERENCES'}")


if __name__ == "__main__":
    main()

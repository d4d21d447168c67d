"""The order book's one writer: orders entered and matched a batch at a time (issue 14; docs/market.md "Where an
order is entered").

Every order entered on an instrument, and every order an amend puts back in time, comes through ``enter``: a batch
of them in one transaction under the instrument's row lock, in two round trips to the database — the reads (the
representatives' memberships, which authorize each order; the participants, their accounts and balances, idempotency
keys, the corridor, the band, the top of the book, the new orders' numbers), then every write — with the matching in
between, in memory, by ``market.engine`` (the same rules the property tests hold it to). The order gateway
(``market.gateway``) hands it every order waiting when it wakes; without a gateway (tests, a shell) a service enters
its one order the same way.

The trades of a batch settle together: one ledger transaction of kind ``trade`` moves each participant's net
allowances and yen (a clearing house's netting), each trade keeping its price, quantity and orders in
``market_trade``. Reservations change once a batch for each balance.

Refusals are answered, not raised, so one order's refusal leaves the batch's other orders entered: each is the
SQLSTATE-like code the services turn into the user's message (``market.services.orders``) and its detail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from django.db import connection
from django.utils import timezone

from accounts import ledger
from accounts.models import LedgerTransaction
from accounts.roles import ACT
from gxregistry.authorization import ActiveMembership, membership_allows
from market.engine.book import Book
from market.engine.matching import Order as Resting
from market.engine.matching import Side, Stop
from market.models import Instrument, InstrumentParameters
from market.services.participants import in_session

ALLOWANCE, YEN = "allowance", "yen"
YEN_VINTAGE = 0


@dataclass(frozen=True)
class Entry:
    """An order to enter, its fields checked and its representative authorized by ``orders.order_enter``; or, with
    ``order_id``, an open order an amend gave a new place in time, to be matched again (it keeps its reservation;
    ``side`` and ``quantity``, what remains of it, say how much of the book it may reach)."""

    participant_id: int = 0
    user_id: int | None = None
    side: str = ""
    price: int = 0
    quantity: int = 0
    time_in_force: str = ""
    key: str = ""
    order_id: int | None = None

    def as_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Answer:
    order_id: int | None = None
    replayed: bool = False
    trade_ids: list[int] = field(default_factory=list)
    halted: bool = False
    refusal: str | None = None  # GX101 .. GX109, GX001 (market/services/orders.py turns them into messages)
    detail: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return self.__dict__


@dataclass
class _Order:
    """An order the batch changes: read from the book, or entered now (``new``)."""

    id: int
    side: str
    price: int
    quantity: int
    remaining: int
    sequence: int
    owner: str
    unit_account: int
    cash_account: int
    reserved: int  # what it reserves now: allowances (sell) or yen (buy)
    new: bool = False
    status: str = "open"
    closed_reason: str = ""
    touch: int | None = None
    entry: Entry | None = None

    @property
    def account(self) -> tuple[int, str]:
        return (self.unit_account, ALLOWANCE) if self.side == "sell" else (self.cash_account, YEN)

    def reservation(self) -> int:
        if self.status != "open":
            return 0
        return self.remaining if self.side == "sell" else self.remaining * self.price

    def resting(self) -> Resting:
        return Resting(self.id, Side(self.side), self.price, self.remaining, self.sequence, self.owner)


ORDER_COLUMNS = ("id, side, price_yen, quantity, remaining, sequence, owner, unit_account_id, cash_account_id, "
                 "reserved_units + reserved_yen")
READ_PARTICIPANTS = """
SELECT p.id, p.status, t.owner, t.unit_kind, t.unit_id, t.unit_number, t.cash_id, t.cash_number
  FROM market_participant p JOIN gx_market_trading_terms t ON t.organisation_id = p.organisation_id
 WHERE p.id = ANY(%s) ORDER BY p.id FOR NO KEY UPDATE OF p"""
# The batch's representatives' memberships of their participants' organisations (order entry's authorization,
# gxregistry.authorization.membership_allows), share-locked: a suspension waits for the batch that relied on them.
READ_MEMBERSHIPS = """
SELECT k.participant, k.user_id, m.role, m.suspended_at, m.suspension_reason
  FROM unnest(%s::bigint[], %s::bigint[]) AS k(participant, user_id)
  JOIN market_participant p ON p.id = k.participant
  JOIN accounts_membership m ON m.user_id = k.user_id AND m.organisation_id = p.organisation_id
   AND m.ended_at IS NULL
   FOR SHARE OF m"""
READ_REPLAYS = """
SELECT o.participant_id, o.idempotency_key, o.id, o.instrument_id, o.side, o.price_yen, o.quantity, o.time_in_force,
       ARRAY(SELECT t.id FROM market_trade t WHERE (t.buy_order_id = o.id OR t.sell_order_id = o.id)
                                              AND t.aggressor = o.side ORDER BY t.id)
  FROM unnest(%s::bigint[], %s::text[]) AS k(participant, key)
  JOIN market_order o ON o.participant_id = k.participant AND o.idempotency_key = k.key"""
# The instrument locked (the book's one writer at a time), with what is in force: a halt, the upper-limit price of
# the day's corridor (§1), the price band (§8); and the new orders' numbers and places in time.
READ_INSTRUMENT = """
SELECT i.halted_until, i.book_version,
       (SELECT upper_limit_price_yen FROM accounts_complianceperiod WHERE id = gx_price_corridor(%s)),
       band.reference_price_yen, band.band_percent, band.halt_minutes,
       ARRAY(SELECT nextval('market_order_id_seq') FROM generate_series(1, %s)),
       ARRAY(SELECT nextval('market_order_priority') FROM generate_series(1, %s))
  FROM market_instrument i
  LEFT JOIN LATERAL (SELECT reference_price_yen, band_percent, halt_minutes FROM market_instrumentparameters
                      WHERE instrument_id = i.id AND effective_from <= %s
                      ORDER BY effective_from DESC LIMIT 1) band ON true
 WHERE i.id = %s FOR NO KEY UPDATE OF i"""
READ_BOOK = f"SELECT {ORDER_COLUMNS} FROM market_order WHERE instrument_id = %s AND status = 'open' ORDER BY sequence"  # noqa: S608
# The balances the batch's participants may trade from (the instrument's allowances in their holding or trading
# accounts, yen in their cash accounts), locked in the ledger's order (account, unit) so a booking elsewhere cannot
# deadlock with the batch.
READ_BALANCES = """
SELECT b.account_id, b.unit_type, b.quantity - b.reserved, b.reserved
  FROM market_participant p
  JOIN accounts_holdingaccount h ON h.organisation_id = p.organisation_id
   AND h.kind IN ('operator_holding', 'trading', 'market_cash')
  JOIN accounts_balance b ON b.account_id = h.id AND b.credit_batch_id IS NULL
   AND CASE WHEN h.kind = 'market_cash' THEN b.unit_type = 'yen' AND b.vintage = 0
            ELSE b.unit_type = 'allowance' AND b.vintage = %s END
 WHERE p.id = ANY(%s) ORDER BY b.account_id, b.unit_type FOR NO KEY UPDATE OF b"""
# The top of each side, best first (the book's indexes): as many orders as the batch's orders of the other side
# could fill (each resting order holds at least a lot), and one more, so the best price left is known.
READ_SIDE = {
    "sell": f"SELECT {ORDER_COLUMNS} FROM market_order WHERE instrument_id = %s AND side = 'sell' "  # noqa: S608
            "AND status = 'open' AND id <> ALL(%s) ORDER BY price_yen, sequence LIMIT %s",
    "buy": f"SELECT {ORDER_COLUMNS} FROM market_order WHERE instrument_id = %s AND side = 'buy' "  # noqa: S608
           "AND status = 'open' AND id <> ALL(%s) ORDER BY price_yen DESC, sequence LIMIT %s",
}
READ_AGAIN = f"SELECT {ORDER_COLUMNS} FROM market_order WHERE id = ANY(%s) AND status = 'open'"  # noqa: S608

WRITE_CONTEXT = "SELECT set_config('pghistory.context_id', %s, true), set_config('pghistory.context_metadata', %s, true)"
# One statement, one JSON parameter each (psycopg would dump a list parameter element by element in Python).
WRITE_ORDERS = """
WITH batch AS (SELECT %s::jsonb AS j), given_back AS (
  UPDATE accounts_balance b SET reserved = b.reserved + t.change
    FROM batch, jsonb_to_recordset(batch.j -> 'given_back') AS t(account bigint, unit text, change bigint)
   WHERE b.account_id = t.account AND b.unit_type = t.unit AND b.credit_batch_id IS NULL
     AND b.vintage = CASE WHEN t.unit = 'yen' THEN 0 ELSE %s END), entered AS (
  INSERT INTO market_order (id, instrument_id, participant_id, side, price_yen, quantity, remaining, status,
                            time_in_force, sequence, owner, unit_account_id, cash_account_id, reserved_units,
                            reserved_yen, trading_day, idempotency_key, entered_by_id, entered_at, closed_at,
                            closed_reason, touch_yen)
  SELECT t.id, %s, t.participant, t.side, t.price, t.quantity, t.remaining, t.status, t.tif, t.sequence, t.owner,
         t.units, t.cash, CASE WHEN t.side = 'sell' THEN t.reserved ELSE 0 END,
         CASE WHEN t.side = 'buy' THEN t.reserved ELSE 0 END, %s, t.key, t.by, %s,
         CASE WHEN t.status = 'open' THEN NULL ELSE %s::timestamptz END, t.reason, t.touch
    FROM batch, jsonb_to_recordset(batch.j -> 'new') AS t(id bigint, participant bigint, side text, price int,
         quantity bigint, remaining bigint, status text, tif text, sequence bigint, owner text, units bigint,
         cash bigint, reserved bigint, key text, by bigint, reason text, touch int))
UPDATE market_order o SET remaining = t.remaining, status = t.status, closed_reason = t.reason,
       closed_at = CASE WHEN t.status = 'open' THEN NULL ELSE %s::timestamptz END,
       reserved_units = CASE WHEN o.side = 'sell' THEN t.reserved ELSE 0 END,
       reserved_yen = CASE WHEN o.side = 'buy' THEN t.reserved ELSE 0 END
  FROM batch, jsonb_to_recordset(batch.j -> 'changed') AS t(id bigint, remaining bigint, status text, reason text,
       reserved bigint)
 WHERE o.id = t.id"""
# Reservations given back before the settlement moves what they held (with the orders, above), taken after it: a
# balance's reservation is never above its quantity. Then the count of the book's changes the batch leaves.
WRITE_TAKEN = """
WITH taken AS (
  UPDATE accounts_balance b SET reserved = b.reserved + t.change
    FROM jsonb_to_recordset(%s::jsonb) AS t(account bigint, unit text, change bigint)
   WHERE b.account_id = t.account AND b.unit_type = t.unit AND b.credit_batch_id IS NULL
     AND b.vintage = CASE WHEN t.unit = 'yen' THEN 0 ELSE %s END)
SELECT book_version FROM market_instrument WHERE id = %s"""
WRITE_TRADES = """
INSERT INTO market_trade (instrument_id, buy_order_id, sell_order_id, aggressor, price_yen, quantity,
                          ledger_transaction_id, traded_at)
SELECT %s, t.buy, t.sell, t.aggressor, t.price, t.quantity, (SELECT s.o_transaction_id FROM settlement s), %s
  FROM jsonb_to_recordset(%s::jsonb) AS t(n int, buy bigint, sell bigint, aggressor text, price int,
       quantity bigint)
 ORDER BY t.n RETURNING id, buy_order_id, sell_order_id, ledger_transaction_id"""
SETTLEMENT = ("WITH settlement AS (SELECT * FROM gx_ledger_book('trade', %s, %s, %s, NULL, NULL, %s, %s, %s, %s, "
              "%s, %s)) ")
WRITE_HALT = "UPDATE market_instrument SET halted_until = %s WHERE id = %s"


class BookInMemory:
    """An instrument's whole book as the order gateway keeps it between its batches, good while the instrument's
    ``book_version`` is the one its last batch left (nobody else has changed the orders since). A batch that fails
    leaves it unknown (``forget``), and the next reads it again."""

    def __init__(self):
        self.version: int | None = None
        self.book, self.orders = Book(), {}

    def forget(self) -> None:
        self.version = None


def enter(instrument: Instrument, entries: list[Entry], now: datetime, context: tuple[str, str],
          memory: BookInMemory | None = None, *, commit: bool = False) -> list[Answer]:
    """Enter ``entries`` on ``instrument`` at ``now`` (``context``: the audit context's id and metadata, as pghistory
    sets them). Returns an answer for each entry, in order. ``memory``: the book as the gateway keeps it; without it,
    the batch reads the top of the book it may reach.

    ``commit``: the batch is a transaction of its own, begun with its reads and committed with its writes (no round
    trip of its own for either: the instrument's lock is held for two round trips, not four); the connection must be
    in autocommit mode, outside any transaction. Otherwise the batch runs in the caller's transaction."""
    connection.ensure_connection()
    if commit and not connection.get_autocommit():
        raise ValueError("a batch that commits itself needs a connection outside any transaction")
    with connection.wrap_database_errors:
        batch = _Batch(connection.connection, instrument, entries, now, memory, commit)
        try:
            answers = batch.run(context)
        except BaseException:
            if commit:
                batch.roll_back()
            raise
    if batch.settlement_id is not None:
        ledger.log_booked([batch.settlement_id], LedgerTransaction.Kind.TRADE)
    return answers


class _Batch:
    def __init__(self, db: psycopg.Connection, instrument: Instrument, entries: list[Entry], now: datetime,
                 memory: BookInMemory | None, commit: bool):
        self.db, self.instrument, self.entries, self.now, self.commit = db, instrument, entries, now, commit
        if memory is not None and any(e.order_id is not None for e in entries):
            memory.forget()  # an amended order is matched again in the amend's own transaction, not here
            memory = None
        self.memory = memory
        self.day = timezone.localdate(now)
        self.in_session = in_session(instrument, now)
        self.orders: dict[int, _Order] = {}  # the orders the batch knows (the whole book in memory), by number
        self.before: dict[int, tuple[int, str, int]] = {}  # order it changed -> (remaining, status, reservation)
        self.new: list[_Order] = []
        # What the batch changes, by (account, unit): the balance's quantity (the settlement) and its reservation.
        self.moved: dict[tuple[int, str], int] = defaultdict(int)
        self.reserving: dict[tuple[int, str], int] = defaultdict(int)
        self.trades: list[tuple[int, int, str, int, int]] = []  # (buy order, sell order, aggressor, price, quantity)
        self.halted = False
        self.settlement_id: int | None = None  # the ledger transaction that settled the batch's trades

    def _cursor(self):
        return psycopg.Cursor(self.db)  # server-side binding, prepared: the same statements every batch

    def roll_back(self) -> None:
        """End a batch that commits itself and failed (its transaction left open, or aborted, by the error)."""
        if not self.db.closed and self.db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):  # a broken connection has no transaction left to end
                self._cursor().execute("ROLLBACK")

    # --- reads -------------------------------------------------------------------------------------------------

    def _read(self) -> None:
        new = [e for e in self.entries if e.order_id is None]
        again = [e.order_id for e in self.entries if e.order_id is not None]
        wants = {"sell": 0, "buy": 0}  # what the batch's orders could take from each side
        for e in self.entries:
            wants["sell" if e.side == "buy" else "buy"] += e.quantity
        participants = sorted({e.participant_id for e in new})
        cursors = {}
        with self.db.pipeline():
            def run(name, sql, params):
                cursors[name] = self._cursor()
                cursors[name].execute(sql, params, prepare=True)

            if self.commit:
                self._cursor().execute("BEGIN")
            run("participants", READ_PARTICIPANTS, [participants])
            run("memberships", READ_MEMBERSHIPS, [[e.participant_id for e in new], [e.user_id for e in new]])
            run("replays", READ_REPLAYS, [[e.participant_id for e in new], [e.key for e in new]])
            run("instrument", READ_INSTRUMENT, [self.day, len(new), len(new), self.now, self.instrument.id])
            run("balances", READ_BALANCES, [self.instrument.vintage, participants])
            if again:
                run("again", READ_AGAIN, [again])
            for side in ("sell", "buy") if self.memory is None else ():
                run(side, READ_SIDE[side], [self.instrument.id, again, -(-wants[side] // self.instrument.lot) + 1])
        self.participants = {row[0]: row[1:] for row in cursors["participants"].fetchall()}
        self.memberships = {(row[0], row[1]): ActiveMembership(*row[2:]) for row in cursors["memberships"].fetchall()}
        self.replays = {(row[0], row[1]): row[2:] for row in cursors["replays"].fetchall()}
        (halted_until, self.version, self.upper, reference, percent, self.halt_minutes, numbers,
         sequences) = cursors["instrument"].fetchone()
        self.numbers = iter(zip(numbers, sequences, strict=True))
        self.halted_until = halted_until if halted_until and halted_until > self.now else None
        self.band = None if reference is None else InstrumentParameters(
            reference_price_yen=reference, band_percent=percent).band()
        self.balances = {(row[0], row[1]): (row[2], row[3]) for row in cursors["balances"].fetchall()}
        if self.memory is not None:
            stale = self.memory.version != self.version  # changed by someone else (or not read yet): read it all
            if stale:
                self.memory.book, self.memory.orders = Book(), {}
            self.book, self.orders = self.memory.book, self.memory.orders
            for row in self._cursor().execute(READ_BOOK, [self.instrument.id], prepare=True).fetchall() if stale else ():
                self.book.rest(self._read_order(row).resting())
        else:
            self.book = Book()
            for side in ("sell", "buy"):
                for row in cursors[side].fetchall():
                    self.book.rest(self._read_order(row).resting())
        self.again = {row[0]: self._read_order(row) for row in cursors["again"].fetchall()} if again else {}

    def _read_order(self, row) -> _Order:
        order = _Order(*row)
        self.orders[order.id] = order
        return order

    def _changing(self, order: _Order) -> None:
        """Remember an order's state as the batch found it, before the batch changes it."""
        if not order.new:
            self.before.setdefault(order.id, (order.remaining, order.status, order.reserved))

    # --- matching ----------------------------------------------------------------------------------------------

    def _free(self, account: tuple[int, str]) -> int:
        """What the account has free now: as read, with what the batch has settled and reserved so far."""
        return self.balances.get(account, (0, 0))[0] + self.moved[account] - self.reserving[account]

    def _refusal(self, entry: Entry) -> Answer | None:
        """Why ``entry`` is not entered, checked in this order, or None."""
        participant = self.participants.get(entry.participant_id)
        if participant is None:
            return Answer(refusal="GX101", detail={"status": "unknown"})
        status, _owner, kind, units, units_number, cash, cash_number = participant
        if status != "active":
            return Answer(refusal="GX101", detail={"status": status})
        if not self.in_session:
            return Answer(refusal="GX102")
        if self.upper is None:
            return Answer(refusal="GX103")
        if entry.price > self.upper:
            return Answer(refusal="GX104", detail={"upper": str(self.upper)})
        if units is None:
            return Answer(refusal="GX105", detail={"kind": kind})
        if cash is None:  # the service opens it and enters the order again
            return Answer(refusal="GX106")
        if self.halted_until is not None:
            return Answer(refusal="GX108", detail={"until": self.halted_until.isoformat()})
        selling = entry.side == "sell"
        account = (units, ALLOWANCE) if selling else (cash, YEN)
        asked = entry.quantity if selling else entry.quantity * entry.price
        if self._free(account) < asked:
            return Answer(refusal="GX001", detail={
                "number": units_number if selling else cash_number, "held": self._free(account),
                "reserved": self.balances.get(account, (0, 0))[1] + self.reserving[account], "asked": asked,
                "unit_type": account[1], "vintage": self.instrument.vintage if selling else YEN_VINTAGE, "batch": None,
                "field": "quantity" if selling else "price_yen"})
        return None

    def _unauthorized(self, entry: Entry) -> Answer | None:
        """The refusal of an entry whose representative may not act for its participant now (before anything else
        is told about the participant); the service raises it with the membership read here."""
        membership = self.memberships.get((entry.participant_id, entry.user_id))
        if membership_allows(membership, ACT):
            return None
        return Answer(refusal="GX109", detail={"membership": None if membership is None else [
            membership.role, membership.suspended_at and membership.suspended_at.isoformat(),
            membership.suspension_reason]})

    def _replay(self, entry: Entry, seen: dict) -> Answer | None:
        """The answer to an entry whose key its participant used before: the order first entered, or a conflict."""
        first = seen.get((entry.participant_id, entry.key)) or self.replays.get((entry.participant_id, entry.key))
        if first is None:
            return None
        number, *terms, trade_ids = first
        if tuple(terms) != (self.instrument.id, entry.side, entry.price, entry.quantity, entry.time_in_force):
            return Answer(refusal="GX107")
        return Answer(order_id=number, replayed=True, trade_ids=trade_ids)

    def _reserve(self, order: _Order) -> None:
        """The order's reservation follows what it may still deliver."""
        after = order.reservation()
        self.reserving[order.account] += after - order.reserved
        order.reserved = after

    def _match(self, order: _Order) -> tuple[list[int], bool]:
        """``order`` (entered now, or put back in time by an amend) against the book, its fills settled in memory.
        Returns the indexes of its trades in the batch and whether it halted the instrument."""
        first = len(self.trades)
        result = self.book.submit(order.resting(), band=self.band)
        for fill in result.fills:
            resting = self.orders[fill.resting_id]
            self._changing(resting)
            buy, sell = (order, resting) if order.side == "buy" else (resting, order)
            self.trades.append((buy.id, sell.id, order.side, fill.price, fill.quantity))
            for filled in (resting, order):
                filled.remaining -= fill.quantity
            if not resting.remaining:
                resting.status = "filled"
            self._reserve(resting)
            self.moved[(sell.unit_account, ALLOWANCE)] -= fill.quantity
            self.moved[(buy.unit_account, ALLOWANCE)] += fill.quantity
            self.moved[(buy.cash_account, YEN)] -= fill.quantity * fill.price
            self.moved[(sell.cash_account, YEN)] += fill.quantity * fill.price
        if result.stop == Stop.FILLED:
            order.status = "filled"
        elif result.stop != Stop.NO_MORE_MATCH:  # its rest cancelled: a self-trade, or outside the band
            order.status, order.closed_reason = "cancelled", str(result.stop)
        self._reserve(order)
        if result.halted:
            self.halted_until, self.halted = self.now + timedelta(minutes=self.halt_minutes), True
        return list(range(first, len(self.trades))), result.halted

    def _enter(self, entry: Entry, seen: dict) -> tuple[Answer, _Order | None]:
        if entry.order_id is not None:  # an amended order, matched again (not while the instrument is halted)
            order = self.again.get(entry.order_id)
            if order is None or self.halted_until is not None:
                return Answer(order_id=entry.order_id), None
            self._changing(order)
        else:
            answer = self._unauthorized(entry) or self._replay(entry, seen) or self._refusal(entry)
            if answer is not None:
                return answer, None
            _status, owner, _kind, units, _number, cash, _cash_number = self.participants[entry.participant_id]
            number, sequence = next(self.numbers)
            best = self.book.best(Side(entry.side))  # the touch before it, for surveillance
            order = _Order(number, entry.side, entry.price, entry.quantity, entry.quantity, sequence, owner, units,
                           cash, 0, new=True, touch=best.price if best else None, entry=entry)
            self.orders[number] = order
            self.new.append(order)
        trades, halted = self._match(order)
        if order.new:
            seen[(entry.participant_id, entry.key)] = (
                order.id, self.instrument.id, entry.side, entry.price, entry.quantity, entry.time_in_force, trades)
        return Answer(order_id=order.id, trade_ids=trades, halted=halted), order

    def run(self, context: tuple[str, str]) -> list[Answer]:
        self._read()
        answers, seen, entered = [], {}, []
        for entry in self.entries:
            answer, order = self._enter(entry, seen)
            answers.append(answer)
            if order is not None:
                entered.append(answer)
        if self.new or self.before:
            trade_ids = self._write(context)
            for answer in entered:  # trade indexes become their numbers (a replay in the batch shares the list)
                answer.trade_ids[:] = [trade_ids[index] for index in answer.trade_ids]
        elif self.commit:  # nothing entered: the locks the reads took are let go
            self._cursor().execute("COMMIT")
        if self.memory is not None:  # what left the book leaves the memory too; the count is the batch's own
            for order in [*self.new, *(self.orders[number] for number in self.before)]:
                if order.status != "open":
                    self.orders.pop(order.id, None)
                else:
                    order.new, order.entry = False, None
            self.memory.version = self.version
        return answers

    # --- writes ------------------------------------------------------------------------------------------------

    def _write(self, context: tuple[str, str]) -> list[int]:
        new = [{"id": order.id, "participant": order.entry.participant_id, "side": order.side, "price": order.price,
                "quantity": order.quantity, "remaining": order.remaining, "status": order.status,
                "tif": order.entry.time_in_force, "sequence": order.sequence, "owner": order.owner,
                "units": order.unit_account, "cash": order.cash_account, "reserved": order.reserved,
                "key": order.entry.key, "by": order.entry.user_id, "reason": order.closed_reason, "touch": order.touch}
               for order in self.new]
        changed = [{"id": number, "remaining": order.remaining, "status": order.status, "reason": order.closed_reason,
                    "reserved": order.reserved}
                   for number, order in ((number, self.orders[number]) for number in self.before)
                   if self.before[number] != (order.remaining, order.status, order.reserved)]
        given_back, taken = defaultdict(int), defaultdict(int)
        for order, reserved_before in [(o, 0) for o in self.new] + [(self.orders[n], b[2]) for n, b in self.before.items()]:
            change = order.reserved - reserved_before
            (given_back if change < 0 else taken)[order.account] += change
        cursors = [self._cursor() for _ in range(5)]
        with self.db.pipeline():
            if self.halted or self.again:  # what pghistory audits here: the instrument's halt, an amended order's end
                cursors[0].execute(WRITE_CONTEXT, list(context), prepare=True)
            cursors[1].execute(WRITE_ORDERS, [
                json.dumps({"new": new, "changed": changed, "given_back": _changes(given_back)}),
                self.instrument.vintage, self.instrument.id, self.day, self.now, self.now, self.now], prepare=True)
            if self.trades:
                self._write_trades(cursors[2])
            if self.halted:
                cursors[3].execute(WRITE_HALT, [self.halted_until, self.instrument.id], prepare=True)
            cursors[4].execute(WRITE_TAKEN, [json.dumps(_changes(taken)), self.instrument.vintage, self.instrument.id],
                               prepare=True)
            if self.commit:
                self._cursor().execute("COMMIT")
        (self.version,) = cursors[4].fetchone()  # the count of changes this batch leaves
        if not self.trades:
            return []
        rows = cursors[2].fetchall()
        self.settlement_id = rows[0][3]
        numbered = {(buy, sell): number for number, buy, sell, _settlement in rows}
        return [numbered[(buy, sell)] for buy, sell, *_rest in self.trades]

    def settlement_moves(self) -> list[tuple[int, int, str, int, int]]:
        """The batch's settlement: for each unit, each net giver's allowances or yen to the net takers, until all
        are square (source, destination, unit, vintage, quantity)."""
        moves = []
        for unit, vintage in ((ALLOWANCE, self.instrument.vintage), (YEN, YEN_VINTAGE)):
            givers = [[account, -change] for (account, kind), change in sorted(self.moved.items())
                      if kind == unit and change < 0]
            takers = [[account, change] for (account, kind), change in sorted(self.moved.items())
                      if kind == unit and change > 0]
            while givers and takers:
                quantity = min(givers[0][1], takers[0][1])
                moves.append((givers[0][0], takers[0][0], unit, vintage, quantity))
                givers[0][1] -= quantity
                takers[0][1] -= quantity
                givers, takers = [g for g in givers if g[1]], [t for t in takers if t[1]]
        return moves

    def _write_trades(self, cursor) -> None:
        trades = json.dumps([{"n": n, "buy": b, "sell": s, "aggressor": a, "price": p, "quantity": q}
                             for n, (b, s, a, p, q) in enumerate(self.trades)])
        moves = self.settlement_moves()
        if not moves:  # the batch's trades cancelled out: nothing to move, no ledger transaction
            cursor.execute("WITH settlement AS (SELECT NULL::bigint AS o_transaction_id) " + WRITE_TRADES,
                           [self.instrument.id, self.now, trades], prepare=True)
            return
        first = min(self.orders[b if a == "buy" else s].sequence for b, s, a, _p, _q in self.trades)
        key = f"market-settlement-{self.instrument.id}-{first}"
        digest = hashlib.sha256(json.dumps(moves).encode()).hexdigest()
        sources, destinations, units, vintages, quantities = (list(column) for column in zip(*moves, strict=True))
        cursor.execute(SETTLEMENT + WRITE_TRADES, [
            key, digest, f"{self.instrument.code}: {len(self.trades)} trades", sources, destinations, units, vintages,
            [None] * len(moves), quantities, self.instrument.id, self.now, trades], prepare=True)


def _changes(changes: dict) -> list[dict]:
    return [{"account": account, "unit": unit, "change": change}
            for (account, unit), change in sorted(changes.items()) if change]

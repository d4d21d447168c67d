"""The allowance ledger: the one way units move (services over accounts.models ledger tables).

Every movement is ``book``: one LedgerTransaction with two or more entries summing to zero
per unit. The database does the rest of the bookkeeping (accounts/migrations/0004): triggers
add entries to balances, refuse any other change to a balance, refuse an unbalanced
transaction at commit, and a CHECK keeps non-government balances at or above zero. This
module adds what only the application knows: clear errors, account states, idempotency,
lock ordering and retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass

from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.utils.translation import gettext_lazy as _

from accounts.audit import audit_context
from accounts.models import Balance, CreditBatch, HoldingAccount, LedgerTransaction, UnitType

MAX_QUANTITY = 10**15  # far above any real holding (Japan emits ~1e9 t a year); keeps sums in bigint
RETRY_ATTEMPTS = 8
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


class LedgerError(Exception):
    """A booking refused, with a code and a message for the user naming what is wrong."""

    code = "ledger_error"

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class InvalidQuantity(LedgerError):
    code = "invalid_quantity"


class InsufficientUnits(LedgerError):
    code = "insufficient_units"


class AccountNotUsable(LedgerError):
    code = "account_not_usable"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


@dataclass(frozen=True, order=True)
class Unit:
    """What is held: a unit type and vintage, and for credits their batch."""

    unit_type: str
    vintage: int
    credit_batch_id: int | None = None

    def __post_init__(self):
        if self.unit_type not in UnitType.values:
            raise LedgerError(_("Unknown unit type %(type)s.") % {"type": self.unit_type}, field="unit_type")
        if (self.unit_type == UnitType.ALLOWANCE) != (self.credit_batch_id is None):
            raise LedgerError(_("Credits are held in batches; allowances are not."), field="unit_type")

    def label(self, batch: CreditBatch | None = None) -> str:
        """The unit's name; with its ``batch``, credits are named by serial range, as their holders know them."""
        name = UnitType(self.unit_type).label
        if batch is not None:
            return _("%(unit)s %(vintage)s, serials %(start)s-%(end)s") % {
                "unit": name, "vintage": self.vintage, "start": batch.serial_start, "end": batch.serial_end}
        return f"{name} {self.vintage}" + (f" (batch {self.credit_batch_id})" if self.credit_batch_id else "")


@dataclass(frozen=True)
class Move:
    source: HoldingAccount
    destination: HoldingAccount
    unit: Unit
    quantity: int


def require_fresh_code(user, token: str, refusal: type[LedgerError] = LedgerError) -> None:
    """A fresh second-factor code confirms each act on the ledger (not the sign-in session);
    ``refusal`` is the caller's own LedgerError subclass."""
    from accounts import two_factor

    if two_factor.verify(user, token) is None:
        raise refusal(_("The second-factor code is wrong or was already used."), field="otp_token")


def clean_quantity(value, field: str = "quantity") -> int:
    """A whole, positive number of units, or InvalidQuantity naming the field."""
    if isinstance(value, bool):
        raise InvalidQuantity(_("Enter a whole number of units."), field)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text.lstrip("-").isdigit():
            raise InvalidQuantity(_("Enter a whole number of units."), field)
        value = int(text)
    elif isinstance(value, float):
        if not value.is_integer():
            raise InvalidQuantity(_("Units are whole tonnes; enter a whole number."), field)
        value = int(value)
    elif not isinstance(value, int):
        try:
            if value != int(value):
                raise InvalidQuantity(_("Units are whole tonnes; enter a whole number."), field)
            value = int(value)
        except (TypeError, ValueError):
            raise InvalidQuantity(_("Enter a whole number of units."), field) from None
    if value <= 0:
        raise InvalidQuantity(_("The quantity must be at least 1."), field)
    if value > MAX_QUANTITY:
        raise InvalidQuantity(_("The quantity is larger than any holding can be."), field)
    return value


def _request_hash(kind, moves, reverses_id, note) -> str:
    canonical = json.dumps({
        "kind": kind, "reverses": reverses_id, "note": note,
        "moves": [[m.source.pk, m.destination.pk, m.unit.unit_type, m.unit.vintage, m.unit.credit_batch_id,
                   m.quantity] for m in moves],
    }, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def account_closed(number: str, field: str = "destination") -> AccountNotUsable:
    """The refusal of units sent to a closed account (the booking function refuses it too, GX002)."""
    return AccountNotUsable(_("Account %(number)s is closed and cannot receive units.") % {"number": number},
                            field=field)


def insufficient_units(*, number: str, held: int, asked: int, unit: Unit) -> InsufficientUnits:
    """The refusal of a booking or transfer asking for more than the account holds."""
    batch = CreditBatch.objects.filter(pk=unit.credit_batch_id).first() if unit.credit_batch_id else None
    return InsufficientUnits(_("Account %(number)s holds %(held)s of %(unit)s; %(asked)s were asked for.")
                             % {"number": number, "held": f"{held:,}", "unit": unit.label(batch),
                                "asked": f"{asked:,}"}, field="quantity")


def _refusal(error: DatabaseError, reverses) -> LedgerError | None:
    """The LedgerError for a refusal raised by gx_ledger_book (SQLSTATE class GX), or None."""
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None)
    detail = json.loads(cause.diag.message_detail) if state in ("GX001", "GX002") else {}
    if state == "GX001":
        return insufficient_units(number=detail["number"], held=detail["held"], asked=detail["asked"],
                                  unit=Unit(detail["unit_type"], detail["vintage"], detail["batch"]))
    if state == "GX002" and detail["field"] == "source":
        return AccountNotUsable(
            _("Account %(number)s is %(state)s and cannot send units.")
            % {"number": detail["number"], "state": HoldingAccount.State(detail["state"]).label}, field="source")
    if state == "GX002":
        return account_closed(detail["number"])
    if state == "GX003":
        return IdempotencyConflict(_("This request key was already used for a different booking."),
                                   field="idempotency_key")
    if state == "23505" and "reverses" in (getattr(cause.diag, "constraint_name", "") or ""):
        return AlreadyReversed(_("Transaction %(id)s has already been reversed.") % {"id": reverses.pk},
                               field="reverses")
    return None


BOOK_SQL = (
    "SELECT o_transaction_id, o_booked_at FROM gx_ledger_book(%s, %s, %s, %s, %s, %s, %s::bigint[], %s::bigint[], "
    "%s::text[], %s::int[], %s::bigint[], %s::bigint[])"
)


def _book_once(kind, moves, idempotency_key, request_hash, acting_user, reverses, note):
    """One call to gx_ledger_book (accounts/migrations/0012): every check, lock and insert in one round trip."""
    params = [kind, idempotency_key, request_hash, note, acting_user.pk if acting_user else None,
              reverses.pk if reverses else None, [m.source.pk for m in moves], [m.destination.pk for m in moves],
              [m.unit.unit_type for m in moves], [m.unit.vintage for m in moves],
              [m.unit.credit_batch_id for m in moves], [m.quantity for m in moves]]
    # Outside a transaction the one statement is its own transaction (no BEGIN/COMMIT round trips);
    # inside one, a savepoint keeps a refusal from spoiling the caller's transaction.
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with scope, connection.cursor() as django_cursor:
            # A server-side prepared statement: Django's cursors bind client-side and never prepare,
            # and parsing and planning the call cost ~45 µs of the booking's ~350 µs (benchmarks/README.md).
            logged = django_cursor.debug_sql(BOOK_SQL, params) if connection.queries_logged else contextlib.nullcontext()
            with logged, connection.wrap_database_errors, ServerBindingCursor(connection.connection) as cursor:
                cursor.execute(BOOK_SQL, params, prepare=True)
                transaction_id, booked_at = cursor.fetchone()
    except DatabaseError as error:
        # Out here the savepoint is rolled back (or the autocommit statement over), so the refusal may read.
        refusal = _refusal(error, reverses)
        if refusal is None:
            raise
        raise refusal from None
    booked = LedgerTransaction(pk=transaction_id, kind=kind, idempotency_key=idempotency_key,
                               request_hash=request_hash, reverses=reverses, booked_at=booked_at,
                               booked_by=acting_user, note=note)
    booked._state.adding, booked._state.db = False, connection.alias  # as if read: it is the stored row
    return booked


def _retryable(error: OperationalError) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def book(*, kind: str, moves: list[Move], idempotency_key: str, acting_user=None, reverses=None,
         note: str = "") -> LedgerTransaction:
    """Book ``moves`` as one transaction; a retry with the same key and content books nothing new.

    Raises a LedgerError subclass with a message for the user; nothing is written then.
    Deadlocks and serialization failures are retried here and never reach the caller.
    """
    if not moves:
        raise LedgerError(_("Nothing to book."), field="quantity")
    if not idempotency_key or len(idempotency_key) > 100:
        raise LedgerError(_("Every booking needs a request key of at most 100 characters."), field="idempotency_key")
    for move in moves:
        clean_quantity(move.quantity)
        if move.source.pk == move.destination.pk:
            raise LedgerError(_("The source and destination accounts are the same."), field="destination")
    request_hash = _request_hash(kind, moves, reverses.pk if reverses else None, note)
    for attempt in range(RETRY_ATTEMPTS):
        try:
            # No audit context here: the ledger is append-only, records who booked (booked_by) and
            # writes no history-tracked table, so the context would cost a statement and record nothing.
            return _book_once(kind, moves, idempotency_key, request_hash, acting_user, reverses, note)
        except OperationalError as error:
            if not _retryable(error) or attempt == RETRY_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")


def government_account(kind: str) -> HoldingAccount:
    """The government's account of ``kind``, opened on first use (a new registry has none)."""
    try:
        return HoldingAccount.objects.get(kind=kind, organisation__isnull=True)
    except HoldingAccount.DoesNotExist:
        return holding_account_open(kind=kind)


def reverse_transaction(*, original: LedgerTransaction, idempotency_key: str, acting_user=None,
                        note: str = "") -> LedgerTransaction:
    """Correct a mistake: a new transaction moving every unit of ``original`` back."""
    moves = []
    entries = list(original.entries.select_related("account").order_by("id"))
    receivers = [e for e in entries if e.quantity > 0]
    senders = [e for e in entries if e.quantity < 0]
    for receiver in receivers:
        sender = next(s for s in senders if (s.unit_type, s.vintage, s.credit_batch_id)
                      == (receiver.unit_type, receiver.vintage, receiver.credit_batch_id) and s.quantity < 0)
        senders.remove(sender)
        moves.append(Move(receiver.account, sender.account,
                          Unit(receiver.unit_type, receiver.vintage, receiver.credit_batch_id), receiver.quantity))
    return book(kind=LedgerTransaction.Kind.REVERSAL, moves=moves, idempotency_key=idempotency_key,
                acting_user=acting_user, reverses=original, note=note or f"reversal of #{original.pk}")


# --- reconciliation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reconciliation:
    differences: tuple[str, ...]
    units: dict  # unit label -> (issued, cancelled, held)

    @property
    def clean(self) -> bool:
        return not self.differences


def reconcile() -> Reconciliation:
    """Prove that entries equal balances, that every unit sums to zero, and issued - cancelled = held."""
    differences = []
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT COALESCE(b.account_id, e.account_id), COALESCE(b.unit_type, e.unit_type),
                   COALESCE(b.vintage, e.vintage), COALESCE(b.credit_batch_id, e.credit_batch_id),
                   COALESCE(b.quantity, 0), COALESCE(e.total, 0)
              FROM accounts_balance b
              FULL OUTER JOIN (SELECT account_id, unit_type, vintage, credit_batch_id, SUM(quantity) AS total
                                 FROM accounts_ledgerentry GROUP BY 1, 2, 3, 4) e
                ON e.account_id = b.account_id AND e.unit_type = b.unit_type AND e.vintage = b.vintage
               AND e.credit_batch_id IS NOT DISTINCT FROM b.credit_batch_id
             WHERE COALESCE(b.quantity, 0) <> COALESCE(e.total, 0)
        """)
        for account_id, unit_type, vintage, batch, balance, total in cursor.fetchall():
            differences.append(f"account {account_id} {unit_type} {vintage} batch {batch}: balance {balance}, "
                               f"entries {total}")
        cursor.execute("""
            SELECT b.id, b.quantity, COALESCE(d.total, 0)
              FROM accounts_balance b
              LEFT JOIN (SELECT balance_id, SUM(change) AS total FROM accounts_dailybalancechange GROUP BY 1) d
                ON d.balance_id = b.id
             WHERE b.quantity <> COALESCE(d.total, 0)
        """)
        for balance_id, balance, total in cursor.fetchall():
            differences.append(f"balance {balance_id}: {balance}, but its daily changes sum to {total}")
    kinds = dict(HoldingAccount.objects.values_list("pk", "kind"))
    per_unit = defaultdict(lambda: [0, 0, 0, 0])  # issued, cancelled, held, sum of all
    for balance in Balance.objects.all().values("account_id", "unit_type", "vintage", "credit_batch_id", "quantity"):
        unit = Unit(balance["unit_type"], balance["vintage"], balance["credit_batch_id"]).label()
        kind, quantity = kinds[balance["account_id"]], balance["quantity"]
        per_unit[unit][3] += quantity
        if kind == HoldingAccount.Kind.ISSUANCE:
            per_unit[unit][0] -= quantity
        elif kind in (HoldingAccount.Kind.CANCELLATION, HoldingAccount.Kind.RETIREMENT):
            per_unit[unit][1] += quantity
        else:
            per_unit[unit][2] += quantity
    for unit, (issued, cancelled, held, total) in per_unit.items():
        if total != 0:
            differences.append(f"{unit}: balances sum to {total}, not zero")
        if issued - cancelled != held:
            differences.append(f"{unit}: issued {issued} - cancelled {cancelled} != held {held}")
    return Reconciliation(tuple(differences), {u: tuple(v[:3]) for u, v in per_unit.items()})


# --- accounts ---------------------------------------------------------------------------------------

_NUMBER_PREFIX = {
    HoldingAccount.Kind.OPERATOR_HOLDING: "OHA", HoldingAccount.Kind.TRADING: "TRA",
}


def holding_account_open(*, kind: str, organisation=None, name: str = "", acting_user=None) -> HoldingAccount:
    """Open an account; numbers are derived from the holder so they are stable and unique."""
    if kind in HoldingAccount.GOVERNMENT_KINDS:
        number = f"JP-GOV-{kind.upper().replace('_', '-')}"[:20]
        name = name or str(HoldingAccount.Kind(kind).label)
    else:
        number = f"JP-{_NUMBER_PREFIX[kind]}-{organisation.corporate_number}"
        name = name or organisation.name
    with transaction.atomic(), audit_context(acting_user, action="holding_account_open"):
        account, _created = HoldingAccount.objects.get_or_create(
            number=number, defaults={"kind": kind, "organisation": organisation, "name": name})
    return account


def government_accounts() -> dict[str, HoldingAccount]:
    """The government's accounts, opened on first use."""
    return {kind: holding_account_open(kind=kind) for kind in HoldingAccount.GOVERNMENT_KINDS}


def allowance(vintage: int) -> Unit:
    return Unit(UnitType.ALLOWANCE, vintage)


def issue_allowances(*, vintage: int, quantity, idempotency_key: str, acting_user=None) -> LedgerTransaction:
    """New allowances of ``vintage`` into the allocation reserve."""
    accounts = government_accounts()
    return book(kind=LedgerTransaction.Kind.ISSUANCE, idempotency_key=idempotency_key, acting_user=acting_user,
                moves=[Move(accounts["issuance"], accounts["allocation_reserve"], allowance(vintage),
                            clean_quantity(quantity))])


def issue_credits(*, batch: CreditBatch, account: HoldingAccount, idempotency_key: str,
                  acting_user=None) -> LedgerTransaction:
    """A batch of credits brought in from the J-Credit or JCM registry, whole, into the holder's account."""
    issuance = government_account(HoldingAccount.Kind.ISSUANCE)
    return book(kind=LedgerTransaction.Kind.ISSUANCE, idempotency_key=idempotency_key, acting_user=acting_user,
                moves=[Move(issuance, account, Unit(batch.unit_type, batch.vintage, batch.pk), clean_quantity(batch.size))])


def allocation_transfer(*, account: HoldingAccount, vintage: int, quantity, idempotency_key: str,
                        acting_user=None) -> LedgerTransaction:
    """Free allocation from the allocation reserve: the one function the allocation workflow calls."""
    reserve = government_account(HoldingAccount.Kind.ALLOCATION_RESERVE)
    return book(kind=LedgerTransaction.Kind.ALLOCATION, idempotency_key=idempotency_key, acting_user=acting_user,
                moves=[Move(reserve, account, allowance(vintage), clean_quantity(quantity))])


def transfer_units(*, source: HoldingAccount, destination: HoldingAccount, unit: Unit, quantity,
                   idempotency_key: str, acting_user=None) -> LedgerTransaction:
    return book(kind=LedgerTransaction.Kind.TRANSFER, idempotency_key=idempotency_key, acting_user=acting_user,
                moves=[Move(source, destination, unit, clean_quantity(quantity))])


def cancel_units(*, account: HoldingAccount, unit: Unit, quantity, idempotency_key: str,
                 acting_user=None) -> LedgerTransaction:
    cancellation = government_account(HoldingAccount.Kind.CANCELLATION)
    return book(kind=LedgerTransaction.Kind.CANCELLATION, idempotency_key=idempotency_key, acting_user=acting_user,
                moves=[Move(account, cancellation, unit, clean_quantity(quantity))])

"""The allowance ledger: the one way units move (services over accounts.models ledger tables).

Every movement is ``book``: one LedgerTransaction with two or more entries summing to zero
per unit. The database does the rest of the bookkeeping (accounts/ledger/sql/): triggers add entries
to balances, refuse any other change to a balance and any unbalanced transaction, the booking
function refuses a move between account kinds that ``accounts.ledger.routes`` does not allow, and a
CHECK keeps every balance but the issuance account's at or above zero. This module adds what
only the application knows: clear errors, idempotency, lock ordering and retries.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import random
import re
import time
from collections import defaultdict
from dataclasses import dataclass

import structlog
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.backends.postgresql.base import ServerBindingCursor
from django.utils.translation import gettext_lazy as _

from accounts.models import SOURCE_KINDS, Balance, CreditBatch, HoldingAccount, LedgerTransaction, UnitType
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError

log = structlog.get_logger(__name__)

MAX_QUANTITY = 10**15  # far above any real holding (Japan emits ~1e9 t a year); keeps sums in bigint
RETRY_ATTEMPTS = 8
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


@dataclass(frozen=True, order=True)
class Unit:
    """What is held: a unit type and vintage, and for credits their batch."""

    unit_type: str
    vintage: int
    credit_batch_id: int | None = None

    def __post_init__(self):
        if self.unit_type not in UnitType.values:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("Unknown unit type %(type)s.") % {"type": self.unit_type},
                                field="unit_type")
        if (self.unit_type in (UnitType.ALLOWANCE, UnitType.YEN)) != (self.credit_batch_id is None):
            raise RegistryError(ErrorCode.INVALID_INPUT, _("Credits are held in batches; allowances are not."),
                                field="unit_type")

    def label(self, batch: CreditBatch | None = None) -> str:
        """The unit's name, its vintage as the tables write it ("Allowance FY2026", 排出枠 2026年度); with its
        ``batch``, credits are named by serial range, as their holders know them."""
        from accounts.templatetags.registry import fiscal_year

        name = UnitType(self.unit_type).label
        if self.unit_type == UnitType.YEN:
            return str(name)
        if batch is not None:
            return _("%(unit)s %(vintage)s, serials %(start)s-%(end)s") % {
                "unit": name, "vintage": fiscal_year(self.vintage), "start": batch.serial_start,
                "end": batch.serial_end}
        return f"{name} {fiscal_year(self.vintage)}" + (f" (batch {self.credit_batch_id})" if self.credit_batch_id
                                                         else "")


@dataclass(frozen=True)
class Move:
    source: HoldingAccount
    destination: HoldingAccount
    unit: Unit
    quantity: int


# Digits a Japanese keyboard types (full-width ０-９) and thousands separators (, and full-width ，).
_TO_ASCII = str.maketrans("０１２３４５６７８９，　", "0123456789, ")
_WHOLE_NUMBER = re.compile(r"[0-9]{1,3}(,[0-9]{3})+|[0-9]+")
_NEGATIVE = re.compile(r"[-−－]\s*[0-9][0-9,]*")


def ascii_digits(text: str) -> str:
    """What people type on a Japanese keyboard (full-width digits, separators and spaces) as ASCII."""
    return text.translate(_TO_ASCII)


def clean_quantity(value, field: str = "quantity") -> int:
    """A whole, positive number of units, or a RegistryError (invalid_quantity) naming the field.

    Accepts what people type: full-width digits and thousands separators (1,000 / １，０００). Refuses
    signs, exponents, superscripts, circled digits and anything longer than a holding can be.
    """
    def refuse(message):
        return RegistryError(ErrorCode.INVALID_QUANTITY, message, field)

    if isinstance(value, bool):
        raise refuse(_("Enter a whole number of units."))
    if isinstance(value, str):
        text = ascii_digits(value).strip()
        if len(text) <= 30 and _NEGATIVE.fullmatch(text):
            raise refuse(_("The quantity must be at least 1."))
        if len(text) > 30 or not _WHOLE_NUMBER.fullmatch(text):
            raise refuse(_("Enter a whole number of units."))
        value = int(text.replace(",", ""))
    elif isinstance(value, float):
        if not value.is_integer():
            raise refuse(_("Units are whole tonnes; enter a whole number."))
        value = int(value)
    elif not isinstance(value, int):
        try:
            if value != int(value):
                raise refuse(_("Units are whole tonnes; enter a whole number."))
            value = int(value)
        except (TypeError, ValueError, OverflowError, ArithmeticError):
            raise refuse(_("Enter a whole number of units.")) from None
    if value <= 0:
        raise refuse(_("The quantity must be at least 1."))
    if value > MAX_QUANTITY:
        raise refuse(_("The quantity is larger than any holding can be."))
    return value


def _request_hash(kind, moves, reverses_id, note) -> str:
    canonical = json.dumps({
        "kind": kind, "reverses": reverses_id, "note": note,
        "moves": [[m.source.pk, m.destination.pk, m.unit.unit_type, m.unit.vintage, m.unit.credit_batch_id,
                   m.quantity] for m in moves],
    }, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def account_closed(number: str, field: str = "destination") -> RegistryError:
    """The refusal of units sent to a closed account (the booking function refuses it too, GX002)."""
    return RegistryError(ErrorCode.ACCOUNT_NOT_USABLE,
                         _("Account %(number)s is closed and cannot receive units.") % {"number": number}, field)


def insufficient_units(*, number: str, held: int, asked: int, unit: Unit, reserved: int = 0) -> RegistryError:
    """The refusal of a booking or transfer asking for more than the account holds (``held``: what is free of
    market orders' reservations, ``reserved`` the rest)."""
    batch = CreditBatch.objects.filter(pk=unit.credit_batch_id).first() if unit.credit_batch_id else None
    values = {"number": number, "held": f"{held:,}", "unit": unit.label(batch), "asked": f"{asked:,}",
              "reserved": f"{reserved:,}"}
    if unit.unit_type == UnitType.YEN and reserved:  # an amount, not a number of units
        message = _("Account %(number)s has ¥%(held)s free (¥%(reserved)s more is reserved for market orders); "
                    "¥%(asked)s was asked for.") % values
    elif unit.unit_type == UnitType.YEN:
        message = _("Account %(number)s holds ¥%(held)s; ¥%(asked)s was asked for.") % values
    elif reserved:
        message = _("Account %(number)s has %(held)s of %(unit)s free (%(reserved)s more are reserved for market "
                    "orders); %(asked)s were asked for.") % values
    else:
        message = _("Account %(number)s holds %(held)s of %(unit)s; %(asked)s were asked for.") % values
    return RegistryError(ErrorCode.INSUFFICIENT_UNITS, message, "quantity")


def free_and_reserved(account, unit: Unit) -> tuple[int, int]:
    """What ``account`` holds of ``unit`` free of market orders' reservations, and what they reserve."""
    held, reserved = Balance.objects.filter(
        account=account, unit_type=unit.unit_type, vintage=unit.vintage, credit_batch_id=unit.credit_batch_id,
    ).values_list("quantity", "reserved").first() or (0, 0)
    return held - reserved, reserved


def held_at_least(account, unit: Unit, quantity: int) -> int:
    """What ``account`` holds of ``unit`` free of market orders' reservations, refused when less than
    ``quantity``: the early check of a request (the booking re-checks under lock)."""
    free, reserved = free_and_reserved(account, unit)
    if free < quantity:
        raise insufficient_units(number=account.number, held=free, asked=quantity, unit=unit, reserved=reserved)
    return free


def route_not_allowed(*, kind: str, source_kind: str, destination_kind: str, field: str = "destination"):
    """The refusal of a move between account kinds that ``accounts.ledger.routes.ROUTES`` does not allow (GX004)."""
    return RegistryError(
        ErrorCode.ROUTE_NOT_ALLOWED,
        _("A %(kind)s cannot move units from a %(source)s to a %(destination)s.")
        % {"kind": LedgerTransaction.Kind(kind).label.lower(), "source": HoldingAccount.Kind(source_kind).label,
           "destination": HoldingAccount.Kind(destination_kind).label}, field)


def _refusal(error: DatabaseError, reverses) -> RegistryError | None:
    """The RegistryError for a refusal raised by gx_ledger_book (SQLSTATE class GX), or None."""
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None)
    detail = json.loads(cause.diag.message_detail) if state in ("GX001", "GX002", "GX004") else {}
    if state == "GX001":
        return insufficient_units(number=detail["number"], held=detail["held"], asked=detail["asked"],
                                  unit=Unit(detail["unit_type"], detail["vintage"], detail["batch"]),
                                  reserved=detail.get("reserved", 0))
    if state == "GX002" and detail["field"] == "source":
        return RegistryError(ErrorCode.ACCOUNT_NOT_USABLE, _("Account %(number)s is %(state)s and cannot send units.")
                             % {"number": detail["number"], "state": HoldingAccount.State(detail["state"]).label},
                             "source")
    if state == "GX002":
        return account_closed(detail["number"])
    if state == "GX003":
        return RegistryError(ErrorCode.IDEMPOTENCY_CONFLICT, field="idempotency_key")
    if state == "GX004":
        return route_not_allowed(kind=detail["kind"], source_kind=detail["source_kind"],
                                 destination_kind=detail["destination_kind"])
    if state == "23505" and "reverses" in (getattr(cause.diag, "constraint_name", "") or ""):
        return RegistryError(ErrorCode.ALREADY_REVERSED,
                             _("Transaction %(id)s has already been reversed.") % {"id": reverses.pk}, "reverses")
    return None


BOOK_SQL = (
    "SELECT o_transaction_id, o_booked_at FROM gx_ledger_book(%s, %s, %s, %s, %s, %s, %s::bigint[], %s::bigint[], "
    "%s::text[], %s::int[], %s::bigint[], %s::bigint[])"
)


def call_prepared(sql: str, params: list) -> tuple:
    """The one row a database function returns, called as a server-side prepared statement: Django's cursors bind
    client-side and never prepare, and parsing and planning a call cost ~45 µs of a booking's ~350 µs
    (benchmarks/README.md). Database errors arrive as Django's, as from any query."""
    with connection.cursor() as django_cursor:
        logged = django_cursor.debug_sql(sql, params) if connection.queries_logged else contextlib.nullcontext()
        with logged, connection.wrap_database_errors, ServerBindingCursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchone()


def log_booked(transaction_ids, kind: str) -> None:
    """Log bookings once they are committed, with their numbers, so a log line never claims one that rolled back."""
    for transaction_id in transaction_ids:
        transaction.on_commit(functools.partial(log.info, "ledger_transaction_booked", ledger_transaction=transaction_id,
                                                kind=str(kind)))


def _book_once(kind, moves, idempotency_key, request_hash, booked_by, reverses, note):
    """One call to gx_ledger_book (accounts/ledger/sql/ledger_book.sql): every check, lock and insert in one round trip."""
    params = [kind, idempotency_key, request_hash, note, booked_by.pk if booked_by else None,
              reverses.pk if reverses else None, [m.source.pk for m in moves], [m.destination.pk for m in moves],
              [m.unit.unit_type for m in moves], [m.unit.vintage for m in moves],
              [m.unit.credit_batch_id for m in moves], [m.quantity for m in moves]]
    # Outside a transaction the one statement is its own transaction (no BEGIN/COMMIT round trips);
    # inside one, a savepoint keeps a refusal from spoiling the caller's transaction.
    scope = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with scope:
            transaction_id, booked_at = call_prepared(BOOK_SQL, params)
    except DatabaseError as error:
        # Out here the savepoint is rolled back (or the autocommit statement over), so the refusal may read.
        refusal = _refusal(error, reverses)
        if refusal is None:
            raise
        raise refusal from None
    booked = LedgerTransaction(pk=transaction_id, kind=kind, idempotency_key=idempotency_key,
                               request_hash=request_hash, reverses=reverses, booked_at=booked_at,
                               booked_by=booked_by, note=note)
    booked._state.adding, booked._state.db = False, connection.alias  # as if read: it is the stored row
    return booked


def _retryable(error: OperationalError) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def book(*, kind: str, moves: list[Move], idempotency_key: str, booked_by=None, reverses=None,
         note: str = "") -> LedgerTransaction:
    """Book ``moves`` as one transaction; a retry with the same key and content books nothing new.

    The ledger's one primitive: it records ``booked_by`` but authorizes nobody. People reach it only
    through services that call ``authorize`` (transfers, surrender, four-eyes requests, the allocation
    run); seeding, benchmarks and tests call it directly.

    Raises RegistryError with a message for the user; nothing is written then. Deadlocks and
    serialization failures are retried here and never reach the caller.
    """
    if not moves:
        raise RegistryError(ErrorCode.INVALID_QUANTITY, _("Nothing to book."), "quantity")
    if not idempotency_key or len(idempotency_key) > 100:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Every booking needs a request key of at most 100 characters."),
                            "idempotency_key")
    for move in moves:
        clean_quantity(move.quantity)
        if move.source.pk == move.destination.pk:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("The source and destination accounts are the same."),
                                "destination")
    request_hash = _request_hash(kind, moves, reverses.pk if reverses else None, note)
    for attempt in range(RETRY_ATTEMPTS):
        try:
            # No audit context here: the ledger is append-only, records who booked (booked_by) and
            # writes no history-tracked table, so the context would cost a statement and record nothing.
            booked = _book_once(kind, moves, idempotency_key, request_hash, booked_by, reverses, note)
        except OperationalError as error:
            if not _retryable(error) or attempt == RETRY_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - jitter, not security
            continue
        log_booked([booked.pk], kind)
        return booked
    raise AssertionError("unreachable")


def government_account(kind: str) -> HoldingAccount:
    """The government's account of ``kind``, opened on first use (a new registry has none)."""
    try:
        return HoldingAccount.objects.get(kind=kind, organisation__isnull=True)
    except HoldingAccount.DoesNotExist:
        return _account_open(kind=kind)


def reverse_transaction(*, original: LedgerTransaction, idempotency_key: str, booked_by=None,
                        note: str = "") -> LedgerTransaction:
    """A new transaction moving every unit of ``original`` back (primitive; people reach it through a
    reversal request under four eyes, ``administration.reversal_request_create``)."""
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
                booked_by=booked_by, reverses=original, note=note or f"reversal of #{original.pk}")


# --- reconciliation ---------------------------------------------------------------------------------

# Checks that balances' reservations match what holds them (the market's open orders register one when the
# market app is ready): each returns its differences, as strings.
RESERVATION_CHECKS: list = []

@dataclass(frozen=True)
class Reconciliation:
    differences: tuple[str, ...]
    units: dict  # unit label -> (issued, held, retired, cancelled)

    @property
    def clean(self) -> bool:
        return not self.differences


def reconcile() -> Reconciliation:
    """Prove what the ledger promises (docs/ledger.md, "Reconciliation invariants"):

    1. every balance equals the sum of its entries, and the sum of its daily changes;
    2. the balances of every unit sum to zero, and issued = held + retired + cancelled, where issued
       is what the issuance account has sent out (minus its balance);
    3. no account but the issuance account holds less than zero (an alarm, whatever the constraint says).
    """
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
    accounts = {pk: (kind, number) for pk, kind, number in HoldingAccount.objects.values_list("pk", "kind", "number")}
    per_unit = defaultdict(lambda: [0, 0, 0, 0, 0])  # issued, held, retired, cancelled, sum of all
    for balance in Balance.objects.all().values("account_id", "unit_type", "vintage", "credit_batch_id", "quantity"):
        unit = Unit(balance["unit_type"], balance["vintage"], balance["credit_batch_id"]).label()
        (kind, number), quantity = accounts[balance["account_id"]], balance["quantity"]
        per_unit[unit][4] += quantity
        if kind in SOURCE_KINDS:  # the issuance account; for yen, the market bank
            per_unit[unit][0] -= quantity
            continue
        if quantity < 0:
            differences.append(f"{number} holds {quantity} of {unit}: only the issuance account may be below zero")
        column = {HoldingAccount.Kind.RETIREMENT: 2, HoldingAccount.Kind.CANCELLATION: 3}.get(kind, 1)
        per_unit[unit][column] += quantity
    for unit, (issued, held, retired, cancelled, total) in per_unit.items():
        if total != 0:
            differences.append(f"{unit}: balances sum to {total}, not zero")
        if issued != held + retired + cancelled:
            differences.append(f"{unit}: issued {issued} != held {held} + retired {retired} + cancelled {cancelled}")
    for check in RESERVATION_CHECKS:
        differences.extend(check())
    return Reconciliation(tuple(differences), {u: tuple(v[:4]) for u, v in per_unit.items()})


# --- accounts ---------------------------------------------------------------------------------------

_NUMBER_PREFIX = {
    HoldingAccount.Kind.OPERATOR_HOLDING: "OHA", HoldingAccount.Kind.TRADING: "TRA", HoldingAccount.Kind.MARKET_CASH: "CSH",
}


def _account_open(*, kind: str, organisation=None, name: str = "") -> HoldingAccount:
    """Open an account; numbers are derived from the holder so they are stable and unique."""
    if kind in HoldingAccount.GOVERNMENT_KINDS:
        number = f"JP-GOV-{kind.upper().replace('_', '-')}"[:20]
        name = name or str(HoldingAccount.Kind(kind).label)
    else:
        number = f"JP-{_NUMBER_PREFIX[kind]}-{organisation.corporate_number}"
        name = name or organisation.name
    with transaction.atomic():
        account, _created = HoldingAccount.objects.get_or_create(
            number=number, defaults={"kind": kind, "organisation": organisation, "name": name})
    return account


@state_change
def holding_account_open(*, kind: str, organisation=None, name: str = "", acting_user) -> HoldingAccount:
    """An administrator opens an account for a holder (or one of the government's)."""
    if kind not in HoldingAccount.Kind.values:
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Choose the kind of account."), "kind")
    if (kind in HoldingAccount.GOVERNMENT_KINDS) != (organisation is None):
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Government accounts have no holder; others have one."),
                            "organisation")
    with transaction.atomic(), audit_context(acting_user, action="holding_account_open"):
        authorize(acting_user, "accounts.add_holdingaccount")
        return _account_open(kind=kind, organisation=organisation, name=name)


def cash_account_open(organisation) -> HoldingAccount:
    """A market participant's cash account at GXA (market.services.orders), opened on first use; yen only."""
    return _account_open(kind=HoldingAccount.Kind.MARKET_CASH, organisation=organisation)


def government_accounts() -> dict[str, HoldingAccount]:
    """The government's accounts, opened on first use."""
    return {kind: government_account(kind) for kind in HoldingAccount.GOVERNMENT_KINDS}


def allowance(vintage: int) -> Unit:
    return Unit(UnitType.ALLOWANCE, vintage)


# --- primitives: they record who booked and authorize nobody; services call them after authorize ------

def issue_allowances(*, vintage: int, quantity, idempotency_key: str, booked_by=None) -> LedgerTransaction:
    """New allowances of ``vintage`` into the allocation reserve."""
    accounts = government_accounts()
    return book(kind=LedgerTransaction.Kind.ISSUANCE, idempotency_key=idempotency_key, booked_by=booked_by,
                moves=[Move(accounts["issuance"], accounts["allocation_reserve"], allowance(vintage),
                            clean_quantity(quantity))])


def issue_credits(*, batch: CreditBatch, account: HoldingAccount, idempotency_key: str,
                  booked_by=None) -> LedgerTransaction:
    """A batch of credits brought in from the J-Credit or JCM registry, whole, into the holder's account."""
    issuance = government_account(HoldingAccount.Kind.ISSUANCE)
    return book(kind=LedgerTransaction.Kind.ISSUANCE, idempotency_key=idempotency_key, booked_by=booked_by,
                moves=[Move(issuance, account, Unit(batch.unit_type, batch.vintage, batch.pk), clean_quantity(batch.size))])


def allocation_transfer(*, account: HoldingAccount, vintage: int, quantity, idempotency_key: str,
                        booked_by=None, note: str = "") -> LedgerTransaction:
    """Free allocation from the allocation reserve (the allocation run's booking, ``application_issue``)."""
    reserve = government_account(HoldingAccount.Kind.ALLOCATION_RESERVE)
    return book(kind=LedgerTransaction.Kind.ALLOCATION, idempotency_key=idempotency_key, booked_by=booked_by,
                moves=[Move(reserve, account, allowance(vintage), clean_quantity(quantity))], note=note)


def allocation_return(*, account: HoldingAccount, vintage: int, quantity, idempotency_key: str, booked_by=None,
                      note: str = "") -> LedgerTransaction:
    """Allowances back to the allocation reserve when a correction lowers an issued allocation."""
    reserve = government_account(HoldingAccount.Kind.ALLOCATION_RESERVE)
    return book(kind=LedgerTransaction.Kind.ALLOCATION, idempotency_key=idempotency_key, booked_by=booked_by,
                moves=[Move(account, reserve, allowance(vintage), clean_quantity(quantity))], note=note)


def transfer_units(*, source: HoldingAccount, destination: HoldingAccount, unit: Unit, quantity,
                   idempotency_key: str, booked_by=None) -> LedgerTransaction:
    return book(kind=LedgerTransaction.Kind.TRANSFER, idempotency_key=idempotency_key, booked_by=booked_by,
                moves=[Move(source, destination, unit, clean_quantity(quantity))])


def cancel_units(*, account: HoldingAccount, unit: Unit, quantity, idempotency_key: str,
                 booked_by=None) -> LedgerTransaction:
    cancellation = government_account(HoldingAccount.Kind.CANCELLATION)
    return book(kind=LedgerTransaction.Kind.CANCELLATION, idempotency_key=idempotency_key, booked_by=booked_by,
                moves=[Move(account, cancellation, unit, clean_quantity(quantity))])

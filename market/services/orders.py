"""Cash at GXA, orders, matching and delivery versus payment (issue 14, report §8; docs/market.md).

Everything that changes an instrument's book (entering, amending, cancelling and expiring orders) first locks the
instrument's row, so one transaction at a time matches on it; orders of different instruments go side by side. An
open order reserves what it may deliver on the balance it will deliver from (``Balance.reserved``). Orders are
entered and matched a batch at a time (``market.services.book``, through the order gateway, ``market.gateway``);
a batch's trades settle together through the ledger's booking function.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from django.db import connection, transaction
from django.db.models import F, Func, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.models import (
    YEN_VINTAGE,
    Balance,
    CompliancePeriod,
    HoldingAccount,
    LedgerTransaction,
    Organisation,
    UnitType,
)
from accounts.roles import ACT, OPERATE_MARKET
from gxregistry.audit import audit_context, context_variables
from gxregistry.authorization import (
    ActiveMembership,
    authorize,
    authorize_actor,
    authorize_membership,
    state_change,
)
from gxregistry.errors import ErrorCode, FieldChecks, RegistryError
from gxregistry.transitions import transition_check
from market import gateway
from market.models import Instrument, Order, Participant, Trade
from market.services import book
from market.services.participants import in_session, market_operator

YEN = ledger.Unit(UnitType.YEN, YEN_VINTAGE)
MAX_PRICE_YEN = 10**7  # far above any price corridor; keeps price x quantity inside bigint


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


# --- accounts -------------------------------------------------------------------------------------------

def cash_account(organisation: Organisation) -> HoldingAccount:
    """The participant's cash account at GXA (opened on first use)."""
    return ledger.cash_account_open(organisation)


def _trading_terms(column: str, organisation: Organisation) -> str:
    """A market rule kept once, in the database's view that order entry reads too (market/sql/trading_terms.sql)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM gx_market_trading_terms "  # noqa: S608 - the names below, not input
                       "WHERE organisation_id = %s", [organisation.pk])
        return cursor.fetchone()[0]


def unit_account(organisation: Organisation) -> HoldingAccount:
    """The account a participant trades allowances from: a regulated entity's corporate holding account, a
    trading operator's trading account (``gx_market_trading_terms.unit_kind``)."""
    kind = _trading_terms("unit_kind", organisation)
    account = organisation.holding_accounts.filter(kind=kind).order_by("pk").first()
    if account is None:
        raise _no_unit_account(organisation, kind)
    return account


def _no_unit_account(organisation: Organisation, kind: str) -> RegistryError:
    return RegistryError(ErrorCode.ACCOUNT_NOT_USABLE, _("%(organisation)s has no %(kind)s to trade from.") % {
        "organisation": organisation, "kind": HoldingAccount.Kind(kind).label}, "account")


def owner_of(organisation: Organisation) -> str:
    """Who an order belongs to for self-trade prevention: the joint-notification group, else the organisation
    (``gx_market_trading_terms.owner``)."""
    return _trading_terms("owner", organisation)


def _bank_transfer(kind: str, participant: Participant, amount_yen, bank_reference: str, acting_user,
                   otp_token) -> LedgerTransaction:
    with transaction.atomic(), audit_context(acting_user, action=kind):
        authorize(acting_user, OPERATE_MARKET, market_operator(), fresh_code=otp_token)
        amount = ledger.clean_quantity(amount_yen, "amount_yen")
        reference = (bank_reference or "").strip()
        if not reference or len(reference) > 60:
            _refuse(_("Give the bank transfer's reference (at most 60 characters)."), "bank_reference")
        if kind == LedgerTransaction.Kind.CASH_DEPOSIT and participant.status != Participant.Status.ACTIVE:
            _refuse(_("Only an active participant is funded."), "participant", ErrorCode.INVALID_STATE)
        bank, cash = ledger.government_account(HoldingAccount.Kind.MARKET_BANK), cash_account(participant.organisation)
        source, destination = (bank, cash) if kind == LedgerTransaction.Kind.CASH_DEPOSIT else (cash, bank)
        # The bank's reference is the key: the same transfer confirmed twice is booked once.
        return ledger.book(kind=kind, moves=[ledger.Move(source, destination, YEN, amount)],
                           idempotency_key=f"{kind}-{reference}", booked_by=acting_user, note=reference)


@state_change
def cash_deposit(*, participant: Participant, amount_yen, bank_reference: str, acting_user,
                 otp_token) -> LedgerTransaction:
    """GXA confirms a participant's bank transfer in: yen to its cash account."""
    return _bank_transfer(LedgerTransaction.Kind.CASH_DEPOSIT, participant, amount_yen, bank_reference,
                          acting_user, otp_token)


@state_change
def cash_withdrawal(*, participant: Participant, amount_yen, bank_reference: str, acting_user,
                    otp_token) -> LedgerTransaction:
    """GXA confirms it paid a participant's yen out to its bank (only yen no buy order reserves)."""
    return _bank_transfer(LedgerTransaction.Kind.CASH_WITHDRAWAL, participant, amount_yen, bank_reference,
                          acting_user, otp_token)


# --- reservations ---------------------------------------------------------------------------------------

def _balance(account: HoldingAccount, unit: ledger.Unit):
    return Balance.objects.filter(account=account, unit_type=unit.unit_type, vintage=unit.vintage,
                                  credit_batch__isnull=True)


def reserve(account: HoldingAccount, unit: ledger.Unit, quantity: int, field: str) -> None:
    if quantity and not _balance(account, unit).filter(quantity__gte=F("reserved") + quantity).update(
            reserved=F("reserved") + quantity):
        free, reserved = ledger.free_and_reserved(account, unit)
        error = ledger.insufficient_units(number=account.number, held=free, asked=quantity, unit=unit,
                                          reserved=reserved)
        raise RegistryError(error.code, error.message, field)


def release(account_id: int, unit: ledger.Unit, quantity: int) -> None:
    if quantity:
        Balance.objects.filter(account_id=account_id, unit_type=unit.unit_type, vintage=unit.vintage,
                               credit_batch__isnull=True).update(reserved=F("reserved") - quantity)


def reservation_differences() -> list[str]:
    """Reconciliation: every balance's reservation equals what its open orders and submitted auction offers
    reserve."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH held AS (
              SELECT unit_account_id AS account_id, 'allowance' AS unit_type, i.vintage, SUM(reserved_units) AS total
                FROM market_order o JOIN market_instrument i ON i.id = o.instrument_id
               WHERE o.status = 'open' AND o.side = 'sell' GROUP BY 1, 2, 3
              UNION ALL
              SELECT cash_account_id, 'yen', 0, SUM(reserved_yen) FROM market_order
               WHERE status = 'open' AND side = 'buy' GROUP BY 1, 2, 3
              UNION ALL
              SELECT f.unit_account_id, 'allowance', i.vintage, SUM(f.reserved_units)
                FROM market_auctionoffer f JOIN market_reverseauction a ON a.id = f.auction_id
                JOIN market_instrument i ON i.id = a.instrument_id
               WHERE f.status = 'submitted' GROUP BY 1, 2, 3),
            held_total AS (SELECT account_id, unit_type, vintage, SUM(total) AS total FROM held GROUP BY 1, 2, 3)
            SELECT COALESCE(b.account_id, h.account_id), COALESCE(b.unit_type, h.unit_type),
                   COALESCE(b.vintage, h.vintage), COALESCE(b.reserved, 0), COALESCE(h.total, 0)
              FROM (SELECT * FROM accounts_balance WHERE reserved <> 0) b
              FULL OUTER JOIN held_total h ON h.account_id = b.account_id AND h.unit_type = b.unit_type
                                    AND h.vintage = b.vintage
             WHERE COALESCE(b.reserved, 0) <> COALESCE(h.total, 0)""")
        return [f"account {account} {unit_type} {vintage}: reserved {reserved}, open orders {total}"
                for account, unit_type, vintage, reserved, total in cursor.fetchall()]


# --- orders ---------------------------------------------------------------------------------------------

def price_corridor(day) -> CompliancePeriod | None:
    """The compliance period whose price corridor is in force on ``day`` (§1): the one whose surrender deadline comes
    next — what an entity buying or selling allowances now is trading for (docs/market.md); after the last
    deadline, the latest period's. The rule is the database's ``gx_price_corridor``, which order entry reads too."""
    return CompliancePeriod.objects.filter(pk=Func(Value(day), function="gx_price_corridor")).first()


def upper_limit_price(day) -> int | None:
    """The upper-limit price in force on ``day`` (§1): what an entity could pay instead of buying."""
    period = price_corridor(day)
    return int(period.upper_limit_price_yen) if period is not None else None


def whole_number(value, field, message) -> int:
    try:
        number = int(ledger.ascii_digits(str(value)).strip().replace(",", ""))
    except (TypeError, ValueError):
        _refuse(message, field)
    return number


class Entered:
    """An order as entering or amending it left it, with the trades it made then (read from the database when
    first asked for: the batch that entered it answers their numbers, market.services.book)."""

    def __init__(self, order_id: int, trade_ids=(), halted: bool = False, order: Order | None = None):
        self.order_id, self.trade_ids, self.halted = order_id, tuple(trade_ids), halted
        if order is not None:
            self.__dict__["order"] = order

    @cached_property
    def order(self) -> Order:
        return Order.objects.get(pk=self.order_id)

    @cached_property
    def trades(self) -> tuple[Trade, ...]:
        return tuple(Trade.objects.filter(pk__in=self.trade_ids).order_by("pk")) if self.trade_ids else ()


def _not_active(participant: Participant, status: str) -> RegistryError:
    return RegistryError(ErrorCode.INVALID_STATE, _("%(participant)s cannot trade: it is %(state)s.") % {
        "participant": participant, "state": Participant.Status(status).label}, "participant")


def _out_of_session(instrument: Instrument) -> RegistryError:
    return RegistryError(ErrorCode.INVALID_STATE, _(
        "%(instrument)s trades on Tokyo working days from %(opens)s to %(closes)s (JST), from %(first)s.") % {
        "instrument": instrument, "opens": f"{instrument.session_opens_at:%H:%M}",
        "closes": f"{instrument.session_closes_at:%H:%M}", "first": instrument.opens_on}, "instrument")


def _halted(instrument: Instrument, until: datetime) -> RegistryError:
    return RegistryError(ErrorCode.INVALID_STATE, _(
        "Trading in %(instrument)s is halted until %(time)s (a price outside the band).") % {
        "instrument": instrument, "time": f"{timezone.localtime(until):%H:%M}"}, "instrument")


def _no_corridor() -> RegistryError:
    return RegistryError(ErrorCode.INVALID_STATE, _(
        "No price corridor is set yet: orders are taken once METI opens a compliance period."), "price_yen")


def _above_upper(upper: int) -> RegistryError:
    return RegistryError(ErrorCode.INVALID_INPUT, _(
        "The price is above the upper-limit price of %(upper)s yen (§1): any entity may pay that instead of "
        "buying.") % {"upper": f"{upper:,}"}, "price_yen")


def _open_checks(participant: Participant, instrument: Instrument, now: datetime) -> None:
    if participant.status != Participant.Status.ACTIVE:
        raise _not_active(participant, participant.status)
    if not in_session(instrument, now):
        raise _out_of_session(instrument)
    if instrument.halted_until and instrument.halted_until > now:
        raise _halted(instrument, instrument.halted_until)


def clean_price(instrument: Instrument, price_yen) -> int:
    """A price in whole yen on the instrument's tick (the corridor is checked where the order is entered)."""
    price = whole_number(price_yen, "price_yen", _("Enter the price in whole yen."))
    if not 1 <= price <= MAX_PRICE_YEN:
        _refuse(_("Enter a price from 1 yen."), "price_yen")
    if price % instrument.tick_yen:
        _refuse(_("The price is a whole number of ticks (%(tick)s yen).") % {"tick": instrument.tick_yen},
                "price_yen")
    return price


def within_corridor(price: int, now: datetime) -> int:
    upper = upper_limit_price(timezone.localdate(now))
    if upper is None:
        raise _no_corridor()
    if price > upper:
        raise _above_upper(upper)
    return price


def clean_quantity(instrument: Instrument, quantity) -> int:
    quantity = ledger.clean_quantity(quantity)
    if quantity % instrument.lot:
        _refuse(_("The quantity is a whole number of lots (%(lot)s allowances).") % {"lot": instrument.lot},
                "quantity", ErrorCode.INVALID_QUANTITY)
    return quantity


def next_sequence() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('market_order_priority')")
        return cursor.fetchone()[0]


def allowance_of(instrument: Instrument) -> ledger.Unit:
    return ledger.allowance(instrument.vintage)


def _reservation(order: Order) -> tuple[int, int]:
    """(units, yen) an open order with its ``remaining`` reserves."""
    if order.status != Order.Status.OPEN:
        return 0, 0
    return (order.remaining, 0) if order.side == Order.Side.SELL else (0, order.remaining * order.price_yen)


def _close(order: Order, status: str, now: datetime, reason: str = "") -> None:
    transition_check(order, status)
    order.status, order.closed_reason, order.closed_at = status, reason, now


def _save_reservation(order: Order) -> None:
    order.reserved_units, order.reserved_yen = _reservation(order)
    order.save()


def _book_refusal(answer: book.Answer, participant: Participant, instrument: Instrument, acting_user) -> RegistryError:
    """The RegistryError for the book's refusal of an order (``market.services.book``)."""
    detail = answer.detail
    if answer.refusal == "GX109":  # authorize's own refusal, from the membership the batch read
        membership = detail["membership"]
        try:
            authorize_membership(acting_user, ACT, participant.organisation, None if membership is None else
                                 ActiveMembership(membership[0], membership[1] and datetime.fromisoformat(
                                     membership[1]), membership[2]))
        except RegistryError as refused:
            return refused
        return RegistryError(ErrorCode.NOT_PERMITTED, ErrorCode.NOT_PERMITTED.label, "user")
    if answer.refusal == "GX001":
        refusal = ledger.insufficient_units(
            number=detail["number"], held=detail["held"], asked=detail["asked"],
            unit=ledger.Unit(detail["unit_type"], detail["vintage"]), reserved=detail["reserved"])
        return RegistryError(refusal.code, refusal.message, detail["field"])
    refusals = {
        "GX101": lambda: _not_active(participant, detail["status"]),
        "GX102": lambda: _out_of_session(instrument),
        "GX103": _no_corridor,
        "GX104": lambda: _above_upper(int(detail["upper"])),
        "GX105": lambda: _no_unit_account(participant.organisation, detail["kind"]),
        "GX107": lambda: RegistryError(ErrorCode.IDEMPOTENCY_CONFLICT, _(
            "This idempotency key was used for a different order."), "idempotency_key"),
        "GX108": lambda: _halted(instrument, datetime.fromisoformat(detail["until"])),
    }
    return refusals[answer.refusal]()


@state_change
def order_enter(*, participant: Participant, instrument: Instrument, side: str, price_yen, quantity,
                time_in_force: str = Order.TimeInForce.DAY, idempotency_key: str, acting_user,
                now: datetime | None = None) -> Entered:
    """A participant's limit order: checked, matched at once against the book (price-time priority, at the resting
    order's price) with every fill settled, and what is left rests on the book with its delivery reserved. Entering
    the same ``idempotency_key`` again returns the order entered with it.

    The fields are checked here; the representative's membership of the participant (``authorize``'s decision), the
    participant's state, the corridor, a halt and what its accounts hold are checked where the order is entered, in
    the transaction that writes it, with the other orders of its batch (``market.gateway.submit``,
    ``market.services.book``). ``now`` None: the moment the order is entered.
    """
    key = (idempotency_key or "").strip()
    # Nothing is written here (the order is, where it is entered): no transaction of its own, and the audit context
    # is only handed on with the order (entered before the reads, pghistory would prefix each with it).
    authorize_actor(acting_user)
    check = FieldChecks()  # every wrong field named at once
    if not key or len(key) > 100:
        check(_refuse, _("Give the order an idempotency key (at most 100 characters)."), "idempotency_key")
    if side not in Order.Side.values:
        check(_refuse, _("Choose buy or sell."), "side")
    if time_in_force not in Order.TimeInForce.values:
        check(_refuse, _("Choose how long the order stays on the book."), "time_in_force")
    # Tick and lot are the instrument's terms, fixed when it is listed; what may change is checked where the order
    # is entered.
    price, units = check(clean_price, instrument, price_yen), check(clean_quantity, instrument, quantity)
    if check.refused:  # someone who may not act for the participant is refused as such, not told about the fields
        authorize(acting_user, ACT, participant.organisation)
    check.done()
    entry = book.Entry(participant_id=participant.pk, user_id=acting_user.pk, side=side, price=price,
                       quantity=units, time_in_force=time_in_force, key=key)
    with audit_context(acting_user, action="order_enter") as context:
        try:
            answer = gateway.submit(instrument, entry, now, context_variables(context))
            if answer.refusal == "GX106":  # its first order: the cash account is opened, and the order entered again
                cash_account(participant.organisation)
                answer = gateway.submit(instrument, entry, now, context_variables(context))
        except gateway.GatewayUnavailable:
            raise RegistryError(ErrorCode.INVALID_STATE, _(
                "Order entry did not answer. Send the order again: its key makes sure it is entered once."),
                "idempotency_key") from None
    if answer.refusal:
        raise _book_refusal(answer, participant, instrument, acting_user)
    return Entered(answer.order_id, answer.trade_ids, answer.halted)


def _locked_instrument(instrument: Instrument) -> Instrument:
    return Instrument.objects.select_for_update(no_key=True).get(pk=instrument.pk)


def _locked_order(order: Order) -> tuple[Instrument, Order]:
    instrument = _locked_instrument(order.instrument)
    return instrument, Order.objects.select_for_update(no_key=True).select_related("participant").get(pk=order.pk)


def _authorize_order(acting_user, order: Order) -> None:
    """The participant's representatives act on its orders; GXA's market operators may cancel any."""
    try:
        authorize(acting_user, ACT, order.participant.organisation)
    except RegistryError as refused:
        if refused.code != ErrorCode.NOT_PERMITTED:  # a suspended representative stays refused
            raise
        try:
            authorize(acting_user, OPERATE_MARKET, market_operator())
        except RegistryError:
            raise refused from None


@state_change
def order_cancel(*, order: Order, acting_user, reason: str = "cancelled", now: datetime | None = None) -> Order:
    """Take an open order off the book and release what it reserved."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="order_cancel"):
        instrument, order = _locked_order(order)
        _authorize_order(acting_user, order)
        _close(order, Order.Status.CANCELLED, now, reason)
        release(order.unit_account_id, allowance_of(instrument), order.reserved_units)
        release(order.cash_account_id, YEN, order.reserved_yen)
        _save_reservation(order)
        return order


@state_change
def order_amend(*, order: Order, acting_user, price_yen=None, quantity=None, now: datetime | None = None) -> Entered:
    """Change an open order's price or quantity (the whole order, filled part included). Lowering the quantity
    keeps its place in time; raising it or changing the price takes a new place, and a new price may trade."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="order_amend") as context:
        instrument, order = _locked_order(order)
        authorize(acting_user, ACT, order.participant.organisation)
        transition_check(order, Order.Status.CANCELLED)  # only an open order is amended
        _open_checks(order.participant, instrument, now)
        price = (order.price_yen if price_yen in (None, "")
                 else within_corridor(clean_price(instrument, price_yen), now))
        new_quantity = order.quantity if quantity in (None, "") else clean_quantity(instrument, quantity)
        filled = order.quantity - order.remaining
        if new_quantity <= filled:
            _refuse(_("%(filled)s have already traded: the new quantity must be more than that.") % {
                "filled": f"{filled:,}"}, "quantity", ErrorCode.INVALID_QUANTITY)
        loses_priority = price != order.price_yen or new_quantity > order.quantity
        before_units, before_yen = order.reserved_units, order.reserved_yen
        order.price_yen, order.quantity, order.remaining = price, new_quantity, new_quantity - filled
        after_units, after_yen = _reservation(order)
        if order.side == Order.Side.SELL:
            if after_units > before_units:
                reserve(order.unit_account, allowance_of(instrument), after_units - before_units, "quantity")
            else:
                release(order.unit_account_id, allowance_of(instrument), before_units - after_units)
        elif after_yen > before_yen:
            reserve(order.cash_account, YEN, after_yen - before_yen, "price_yen")
        else:
            release(order.cash_account_id, YEN, before_yen - after_yen)
        if loses_priority:
            order.sequence = next_sequence()
        _save_reservation(order)
        if not loses_priority:
            return Entered(order.pk, (), order=order)
        # A new place in time, and a new price may cross the book: matched as an incoming order is.
        again = book.Entry(order_id=order.pk, user_id=acting_user.pk, side=order.side, quantity=order.remaining)
        answer = gateway.submit(instrument, again, now, context_variables(context))
        return Entered(order.pk, answer.trade_ids, answer.halted)


@state_change
def orders_expire(*, instrument: Instrument, acting_user, now: datetime | None = None) -> int:
    """After the session: day orders of earlier days or of a closed session leave the book, reservations
    released (a job of GXA's, run after the close)."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="orders_expire"):
        authorize(acting_user, OPERATE_MARKET, market_operator())
        return _expire(instrument, now)


def orders_expire_due(now: datetime | None = None) -> int:
    """The scheduled job after each session: the market rules every participant accepted say a day order ends with
    its session, so no one's decision is needed (as a transfer executes at its time, ``transfers_execute_due``)."""
    now = now or timezone.now()
    expired = 0
    for instrument in Instrument.objects.order_by("pk"):
        with transaction.atomic(), audit_context(None, action="orders_expire"):
            expired += _expire(instrument, now)
    return expired


def _expire(instrument: Instrument, now: datetime) -> int:
    """Day orders of earlier days, or of a session that has closed, leave the book; reservations released."""
    instrument = _locked_instrument(instrument)
    today = timezone.localdate(now)
    closed_today = timezone.localtime(now).time() >= instrument.session_closes_at
    expiring = Order.objects.select_for_update(no_key=True).filter(
        instrument=instrument, status=Order.Status.OPEN, time_in_force=Order.TimeInForce.DAY)
    expiring = expiring.filter(trading_day__lte=today) if closed_today else expiring.filter(trading_day__lt=today)
    count = 0
    for order in expiring:
        _close(order, Order.Status.EXPIRED, now, "end_of_day")
        release(order.unit_account_id, allowance_of(instrument), order.reserved_units)
        release(order.cash_account_id, YEN, order.reserved_yen)
        _save_reservation(order)
        count += 1
    return count

"""Cash at GXA, orders, matching and delivery versus payment (issue 14, report §8; docs/market.md).

Everything that changes an instrument's book (entering, amending, cancelling and expiring orders) first locks the
instrument's row, so one transaction at a time matches on it; orders of different instruments go side by side. An
open order reserves what it may deliver on the balance it will deliver from (``Balance.reserved``); a trade
releases the two reservations and books units against yen in one ledger transaction through ``ledger.book``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
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
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.transitions import transition_check
from market.engine import matching
from market.models import Instrument, Order, Participant, Trade
from market.services.participants import in_session, market_operator, parameters_at

YEN = ledger.Unit(UnitType.YEN, YEN_VINTAGE)
MAX_PRICE_YEN = 10**7  # far above any price corridor; keeps price x quantity inside bigint
MATCH_BATCH = 200  # resting orders read at a time while an incoming order matches


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


# --- accounts -------------------------------------------------------------------------------------------

def cash_account(organisation: Organisation) -> HoldingAccount:
    """The participant's cash account at GXA (opened on first use)."""
    return ledger.cash_account_open(organisation)


def unit_account(organisation: Organisation) -> HoldingAccount:
    """The account a participant trades allowances from: a regulated entity's corporate holding account, a
    trading operator's trading account."""
    kind = (HoldingAccount.Kind.OPERATOR_HOLDING if organisation.kind == Organisation.Kind.REGULATED_ENTITY
            else HoldingAccount.Kind.TRADING)
    account = organisation.holding_accounts.filter(kind=kind).order_by("pk").first()
    if account is None:
        _refuse(_("%(organisation)s has no %(kind)s to trade from.") % {
            "organisation": organisation, "kind": HoldingAccount.Kind(kind).label}, "account",
            ErrorCode.ACCOUNT_NOT_USABLE)
    return account


def owner_of(organisation: Organisation) -> str:
    """Who an order belongs to for self-trade prevention: the joint-notification group, else the organisation."""
    group = getattr(organisation, "notified_group", None)
    if group is None:
        stakeholder = getattr(organisation, "stakeholder_of", None)
        group = stakeholder.group if stakeholder is not None else None
    return f"group:{group.pk}" if group is not None else f"organisation:{organisation.pk}"


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
    deadline, the latest period's."""
    return (CompliancePeriod.objects.filter(surrender_deadline__gte=day).order_by("surrender_deadline").first()
            or CompliancePeriod.objects.order_by("-fiscal_year").first())


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


@dataclass(frozen=True)
class Entered:
    order: Order
    trades: tuple[Trade, ...]
    halted: bool = False


def _open_checks(participant: Participant, instrument: Instrument, now: datetime) -> None:
    if participant.status != Participant.Status.ACTIVE:
        _refuse(_("%(participant)s cannot trade: it is %(state)s.") % {
            "participant": participant, "state": participant.get_status_display()}, "participant",
            ErrorCode.INVALID_STATE)
    if not in_session(instrument, now):
        _refuse(_("%(instrument)s trades on Tokyo working days from %(opens)s to %(closes)s (JST), from "
                  "%(first)s.") % {"instrument": instrument, "opens": f"{instrument.session_opens_at:%H:%M}",
                                   "closes": f"{instrument.session_closes_at:%H:%M}", "first": instrument.opens_on},
                "instrument", ErrorCode.INVALID_STATE)
    if instrument.halted_until and instrument.halted_until > now:
        _refuse(_("Trading in %(instrument)s is halted until %(time)s (a price outside the band).") % {
            "instrument": instrument, "time": f"{timezone.localtime(instrument.halted_until):%H:%M}"},
            "instrument", ErrorCode.INVALID_STATE)


def clean_price(instrument: Instrument, price_yen, now: datetime) -> int:
    price = whole_number(price_yen, "price_yen", _("Enter the price in whole yen."))
    if not 1 <= price <= MAX_PRICE_YEN:
        _refuse(_("Enter a price from 1 yen."), "price_yen")
    if price % instrument.tick_yen:
        _refuse(_("The price is a whole number of ticks (%(tick)s yen).") % {"tick": instrument.tick_yen},
                "price_yen")
    upper = upper_limit_price(timezone.localdate(now))
    if upper is None:
        _refuse(_("No price corridor is set yet: orders are taken once METI opens a compliance period."),
                "price_yen", ErrorCode.INVALID_STATE)
    if price > upper:
        _refuse(_("The price is above the upper-limit price of %(upper)s yen (§1): any entity may pay that "
                  "instead of buying.") % {"upper": f"{upper:,}"}, "price_yen")
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


def _engine_order(order: Order) -> matching.Order:
    return matching.Order(order.pk, matching.Side(order.side), order.price_yen, order.remaining, order.sequence,
                          order.owner)


def _resting(incoming: Order):
    """The other side's open orders that cross ``incoming``, best first, a batch at a time."""
    other = Order.Side.SELL if incoming.side == Order.Side.BUY else Order.Side.BUY
    orders = Order.objects.filter(instrument_id=incoming.instrument_id, side=other, status=Order.Status.OPEN)
    if incoming.side == Order.Side.BUY:
        orders = orders.filter(price_yen__lte=incoming.price_yen).order_by("price_yen", "sequence")
    else:
        orders = orders.filter(price_yen__gte=incoming.price_yen).order_by("-price_yen", "sequence")
    seen = 0
    while True:
        batch = list(orders[seen:seen + MATCH_BATCH])
        yield from batch
        if len(batch) < MATCH_BATCH:
            return
        seen += MATCH_BATCH


def _settle(instrument: Instrument, incoming: Order, resting: Order, fill: matching.Fill, acting_user,
            now: datetime) -> Trade:
    """One fill: release both reservations, book units against yen in one ledger transaction, record the trade."""
    buy, sell = (incoming, resting) if incoming.side == Order.Side.BUY else (resting, incoming)
    units, paid = fill.quantity, fill.quantity * fill.price
    release(sell.unit_account_id, allowance_of(instrument), units)
    release(buy.cash_account_id, YEN, fill.quantity * buy.price_yen)  # what the buy order reserved for them
    booking = ledger.book(
        kind=LedgerTransaction.Kind.TRADE,
        moves=[ledger.Move(sell.unit_account, buy.unit_account, allowance_of(instrument), units),
               ledger.Move(buy.cash_account, sell.cash_account, YEN, paid)],
        idempotency_key=f"trade-{incoming.pk}-{incoming.sequence}-{resting.pk}", booked_by=acting_user,
        note=f"{instrument.code} {units} @ {fill.price}")
    return Trade.objects.create(instrument=instrument, buy_order=buy, sell_order=sell, aggressor=incoming.side,
                                price_yen=fill.price, quantity=units, ledger_transaction=booking, traded_at=now)


def _close(order: Order, status: str, now: datetime, reason: str = "") -> None:
    transition_check(order, status)
    order.status, order.closed_reason, order.closed_at = status, reason, now


def _save_reservation(order: Order) -> None:
    order.reserved_units, order.reserved_yen = _reservation(order)
    order.save()


def _match(instrument: Instrument, incoming: Order, acting_user, now: datetime, parameters=None) -> Entered:
    """Match ``incoming`` (open, its reservation taken) against the book and settle every fill (``parameters``:
    the instrument's at ``now``, when already read)."""
    parameters = parameters or parameters_at(instrument, now)
    band = parameters.band() if parameters is not None else None
    resting_orders = {}

    def engine_resting():
        for order in _resting(incoming):
            resting_orders[order.pk] = order
            yield _engine_order(order)

    result = matching.match(_engine_order(incoming), engine_resting(), band=band)
    trades = []
    for fill in result.fills:
        resting = resting_orders[fill.resting_id]
        trades.append(_settle(instrument, incoming, resting, fill, acting_user, now))
        resting.remaining -= fill.quantity
        if resting.remaining == 0:
            _close(resting, Order.Status.FILLED, now)
        _save_reservation(resting)
    incoming.remaining -= sum(fill.quantity for fill in result.fills)
    if result.stop == matching.Stop.FILLED:
        _close(incoming, Order.Status.FILLED, now)
    elif result.stop == matching.Stop.SELF_TRADE:
        _close(incoming, Order.Status.CANCELLED, now, "self_trade")
    elif result.stop == matching.Stop.PRICE_BAND:
        _close(incoming, Order.Status.CANCELLED, now, "price_band")
        instrument.halted_until = now + timedelta(minutes=parameters.halt_minutes)
        instrument.save(update_fields=["halted_until"])
    # What the incoming order no longer reserves: its fills (released by each settlement), and a cancelled rest.
    units, yen = _reservation(incoming)
    if incoming.side == Order.Side.SELL:
        release(incoming.unit_account_id, allowance_of(instrument), incoming.reserved_units - units
                 - sum(fill.quantity for fill in result.fills))
    else:
        release(incoming.cash_account_id, YEN, incoming.reserved_yen - yen
                 - sum(fill.quantity for fill in result.fills) * incoming.price_yen)
    _save_reservation(incoming)
    return Entered(incoming, tuple(trades), result.halted)


def _touch(instrument: Instrument, side: str) -> int | None:
    """The best price resting on ``side`` (what surveillance measures an order's distance from)."""
    best = "-price_yen" if side == Order.Side.BUY else "price_yen"
    return (Order.objects.filter(instrument=instrument, side=side, status=Order.Status.OPEN).order_by(best)
            .values_list("price_yen", flat=True).first())


def _locked_instrument(instrument: Instrument) -> Instrument:
    return Instrument.objects.select_for_update(no_key=True).get(pk=instrument.pk)


@state_change
def order_enter(*, participant: Participant, instrument: Instrument, side: str, price_yen, quantity,
                time_in_force: str = Order.TimeInForce.DAY, idempotency_key: str, acting_user,
                now: datetime | None = None) -> Entered:
    """A participant's limit order: checked, its delivery reserved, matched at once against the book (price-time
    priority, at the resting order's price) and every fill settled; what is left rests on the book. Entering the
    same ``idempotency_key`` again returns the order entered with it."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="order_enter"):
        authorize(acting_user, ACT, participant.organisation)
        key = (idempotency_key or "").strip()
        if not key or len(key) > 100:
            _refuse(_("Give the order an idempotency key (at most 100 characters)."), "idempotency_key")
        if side not in Order.Side.values:
            _refuse(_("Choose buy or sell."), "side")
        if time_in_force not in Order.TimeInForce.values:
            _refuse(_("Choose how long the order stays on the book."), "time_in_force")
        # What needs no lock is read first: the instrument's lock serializes every order on it, so it is held
        # for the reservation, the matching and the settlement only. A participant's own orders are serialized by
        # its row, which makes the idempotency key's check safe.
        participant = (Participant.objects.select_for_update(of=("self",), no_key=True).select_related("organisation")
                       .get(pk=participant.pk))
        instrument = Instrument.objects.get(pk=instrument.pk)
        price, quantity = clean_price(instrument, price_yen, now), clean_quantity(instrument, quantity)
        existing = Order.objects.filter(participant=participant, idempotency_key=key).first()
        if existing is not None:
            if (existing.instrument_id, existing.side, existing.price_yen, existing.quantity,
                    existing.time_in_force) != (instrument.pk, side, price, quantity, time_in_force):
                _refuse(_("This idempotency key was used for a different order."), "idempotency_key",
                        ErrorCode.IDEMPOTENCY_CONFLICT)
            made = Q(buy_order=existing) | Q(sell_order=existing)  # the trades it made on entry, as the incoming
            return Entered(existing, tuple(Trade.objects.filter(made, aggressor=existing.side).order_by("pk")))
        _open_checks(participant, instrument, now)
        organisation = participant.organisation
        units, cash, owner = unit_account(organisation), cash_account(organisation), owner_of(organisation)
        parameters = parameters_at(instrument, now)
        instrument = _locked_instrument(instrument)
        _open_checks(participant, instrument, now)  # a halt may have begun meanwhile
        order = Order(instrument=instrument, participant=participant, side=side, price_yen=price, quantity=quantity,
                      remaining=quantity, time_in_force=time_in_force, sequence=next_sequence(), owner=owner,
                      unit_account=units, cash_account=cash, trading_day=timezone.localdate(now),
                      idempotency_key=key, entered_by=acting_user, entered_at=now, touch_yen=_touch(instrument, side))
        order.reserved_units, order.reserved_yen = _reservation(order)
        if side == Order.Side.SELL:
            reserve(units, allowance_of(instrument), quantity, "quantity")
        else:
            reserve(cash, YEN, order.reserved_yen, "price_yen")
        order.save()
        return _match(instrument, order, acting_user, now, parameters)


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
    with transaction.atomic(), audit_context(acting_user, action="order_amend"):
        instrument, order = _locked_order(order)
        authorize(acting_user, ACT, order.participant.organisation)
        transition_check(order, Order.Status.CANCELLED)  # only an open order is amended
        _open_checks(order.participant, instrument, now)
        price = order.price_yen if price_yen in (None, "") else clean_price(instrument, price_yen, now)
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
        if loses_priority:  # a new price may cross the book
            return _match(instrument, order, acting_user, now)
        return Entered(order, ())


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

"""GXA's market surveillance (issue 14, report §8: rules against manipulation and insider trading; docs/market.md).

After each session a scan of the day raises alerts — wash trades, layering, marking the close, concentration of
volume or holdings, orders entered by insiders — into GXA's review queue, where a market operator dismisses each
or refers it for investigation, with a note. A scan run again raises nothing twice (each finding has a key).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Balance, HoldingAccount, User
from accounts.roles import OPERATE_MARKET
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, state_change
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.transitions import transition_check
from market.models import (
    Alert,
    InsiderList,
    InsiderListMember,
    Instrument,
    Order,
    Participant,
    SurveillanceParameters,
    Trade,
)
from market.services.orders import owner_of, unit_account
from market.services.participants import market_operator, trading_day

K = Alert.Kind


@dataclass(frozen=True)
class Thresholds:
    concentration_percent: Decimal = Decimal(40)
    layering_seconds: int = 60
    layering_ticks: int = 5
    layering_orders: int = 5
    close_minutes: int = 10
    close_move_percent: Decimal = Decimal(3)


FIELDS = tuple(Thresholds.__dataclass_fields__)


def _refuse(message, field=None, code=ErrorCode.INVALID_INPUT):
    raise RegistryError(code, message, field)


def thresholds_at(moment: datetime) -> Thresholds:
    """GXA's thresholds in force at ``moment``; until GXA sets any, the defaults above (docs/market.md)."""
    row = SurveillanceParameters.objects.filter(effective_from__lte=moment).order_by("-effective_from").first()
    return Thresholds(**{name: getattr(row, name) for name in FIELDS}) if row else Thresholds()


@state_change
def surveillance_parameters_set(*, effective_from: datetime, reason: str, acting_user,
                                **values) -> SurveillanceParameters:
    """GXA sets the thresholds from a moment on (now or later; rows are never changed)."""
    with transaction.atomic(), audit_context(acting_user, action="surveillance_parameters_set"):
        authorize(acting_user, OPERATE_MARKET, market_operator())
        if effective_from is None or effective_from < timezone.now() - timedelta(minutes=1):
            _refuse(_("Parameters take effect from now or later; the past is not changed."), "effective_from")
        cleaned = {}
        for name in FIELDS:
            try:
                number = Decimal(str(values.get(name, "")).strip())
            except ArithmeticError:
                _refuse(_("Enter a number."), name)
            if not number.is_finite() or number <= 0 or (name == "concentration_percent" and number > 100):
                _refuse(_("Enter a number above 0 (a percentage at most 100)."), name)
            if isinstance(getattr(Thresholds, name), int) and number != number.to_integral_value():
                _refuse(_("Enter a whole number."), name)
            cleaned[name] = int(number) if isinstance(getattr(Thresholds, name), int) else number
        if not (reason or "").strip():
            _refuse(_("Give the reason for the change (it is kept with the parameters)."), "reason")
        if SurveillanceParameters.objects.filter(effective_from=effective_from).exists():
            _refuse(_("Parameters already take effect at that moment."), "effective_from", ErrorCode.INVALID_STATE)
        return SurveillanceParameters.objects.create(effective_from=effective_from, reason=reason.strip(),
                                                     set_by=acting_user, **cleaned)


# --- the scan ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    kind: str
    participant_id: int
    key: str
    message: str  # an untranslated message: the alert shows it in its reader's language (Alert.summary_text)
    params: dict
    facts: dict


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time(0, 0)))
    return start, start + timedelta(days=1)


def _wash_trades(trades: list[Trade], participants: dict) -> list[Finding]:
    """Trades between orders of one owner (a group formed after the orders rested) or entered by one person, and
    round trips: two participants each buying from the other on the same day."""
    findings, directions = [], defaultdict(list)
    for trade in trades:
        buyer, seller = participants[trade.buy_order.participant_id], participants[trade.sell_order.participant_id]
        directions[(buyer.pk, seller.pk)].append(trade.pk)
        same_owner = owner_of(buyer.organisation) == owner_of(seller.organisation)
        same_person = trade.buy_order.entered_by_id == trade.sell_order.entered_by_id
        if same_owner or same_person:
            message = (gettext_noop("Trade of %(quantity)s at %(price)s yen between %(buyer)s and %(seller)s: one "
                                    "organisation or group.") if same_owner else
                       gettext_noop("Trade of %(quantity)s at %(price)s yen between %(buyer)s and %(seller)s: both "
                                    "orders entered by one person."))
            for participant in {buyer, seller}:
                findings.append(Finding(K.WASH_TRADE, participant.pk, f"wash-{trade.pk}-{participant.pk}", message,
                                        {"quantity": f"{trade.quantity:,}", "price": f"{trade.price_yen:,}",
                                         "buyer": str(buyer), "seller": str(seller)}, {"trades": [trade.pk]}))
    for (buyer_id, seller_id), trade_ids in directions.items():
        back = directions.get((seller_id, buyer_id))
        if back and buyer_id < seller_id:
            for participant_id, other_id in ((buyer_id, seller_id), (seller_id, buyer_id)):
                findings.append(Finding(
                    K.WASH_TRADE, participant_id, f"roundtrip-{trade_ids[0]}-{participant_id}",
                    gettext_noop("%(one)s and %(other)s each bought from the other on the same day (a round trip)."), {
                        "one": participants[participant_id], "other": participants[other_id]},
                    {"trades": sorted(trade_ids + back)}))
    return findings


def _layering(instrument: Instrument, orders: list[Order], trades: list[Trade], limits: Thresholds,
              participants: dict) -> list[Finding]:
    """Orders placed at least ``layering_ticks`` behind the best price on their side and cancelled by their
    participant within ``layering_seconds``, ``layering_orders`` or more in a day."""
    behind = limits.layering_ticks * instrument.tick_yen
    quick = defaultdict(list)
    for order in orders:
        if (order.status != Order.Status.CANCELLED or order.closed_reason != "cancelled" or order.touch_yen is None
                or order.closed_at is None):
            continue
        behind_by = order.touch_yen - order.price_yen
        distance = behind_by if order.side == Order.Side.BUY else -behind_by
        if distance >= behind and (order.closed_at - order.entered_at).total_seconds() <= limits.layering_seconds:
            quick[order.participant_id].append(order.pk)
    findings = []
    for participant_id, order_ids in quick.items():
        if len(order_ids) >= limits.layering_orders:
            traded = [t.pk for t in trades if participant_id in (t.buy_order.participant_id,
                                                                  t.sell_order.participant_id)]
            findings.append(Finding(
                K.LAYERING, participant_id, f"layering-{order_ids[0]}",
                gettext_noop("%(participant)s placed %(count)s orders %(ticks)s or more ticks behind the best price "
                             "and cancelled "
                  "them within %(seconds)s seconds; it traded %(trades)s times that day."), {
                    "participant": participants[participant_id], "count": len(order_ids),
                    "ticks": limits.layering_ticks, "seconds": limits.layering_seconds, "trades": len(traded)},
                {"orders": order_ids, "trades": traded}))
    return findings


def _marking_the_close(instrument: Instrument, day: date, trades: list[Trade], limits: Thresholds,
                       participants: dict) -> list[Finding]:
    """The last ``close_minutes`` of the session moved the close ``close_move_percent`` or more away from the
    day's VWAP before them: the participants whose incoming orders pushed that way."""
    close_at = timezone.make_aware(datetime.combine(day, instrument.session_closes_at))
    window = close_at - timedelta(minutes=limits.close_minutes)
    before = [t for t in trades if t.traded_at < window]
    during = [t for t in trades if t.traded_at >= window]
    if not before or not during:
        return []
    vwap = Decimal(sum(t.price_yen * t.quantity for t in before)) / sum(t.quantity for t in before)
    close = during[-1].price_yen
    move = (Decimal(close) - vwap) / vwap * 100
    if abs(move) < limits.close_move_percent:
        return []
    pushing = Order.Side.BUY if move > 0 else Order.Side.SELL
    pushers = defaultdict(list)
    for trade in during:
        if trade.aggressor == pushing:
            order = trade.buy_order if pushing == Order.Side.BUY else trade.sell_order
            pushers[order.participant_id].append(trade.pk)
    return [Finding(K.MARKING_THE_CLOSE, participant_id, f"close-{instrument.pk}-{day}-{participant_id}",
                    gettext_noop("The close of %(close)s yen was %(move)s%% from the day's VWAP of %(vwap)s yen "
                                 "before the last "
                      "%(minutes)s minutes; %(participant)s's incoming orders traded %(count)s times then."), {
                        "close": f"{close:,}", "move": f"{move:+.1f}", "vwap": f"{vwap:,.0f}",
                        "minutes": limits.close_minutes, "participant": participants[participant_id],
                        "count": len(trade_ids)},
                    {"trades": trade_ids, "close": close, "vwap": str(round(vwap, 2)),
                     "move_percent": str(round(move, 2))})
            for participant_id, trade_ids in pushers.items()]


def _concentration(instrument: Instrument, day: date, trades: list[Trade], limits: Thresholds,
                   participants: dict) -> list[Finding]:
    """A participant's share of the day's volume (bought and sold) or of the vintage's allowances held by all
    holders, above ``concentration_percent``."""
    findings = []
    volume = sum(t.quantity for t in trades)
    traded = defaultdict(int)
    for trade in trades:
        traded[trade.buy_order.participant_id] += trade.quantity
        traded[trade.sell_order.participant_id] += trade.quantity
    for participant_id, quantity in traded.items():
        share = Decimal(quantity) * 100 / (2 * volume)
        if share > limits.concentration_percent:
            findings.append(Finding(K.VOLUME_CONCENTRATION, participant_id,
                                    f"volume-{instrument.pk}-{day}-{participant_id}",
                                    gettext_noop("%(participant)s made %(share)s%% of the day's volume of %(volume)s "
                                                 "(above "
                                      "%(limit)s%%)."), {"participant": participants[participant_id],
                                                          "share": f"{share:.1f}", "volume": f"{volume:,}",
                                                          "limit": limits.concentration_percent},
                                    {"share_percent": str(round(share, 2)), "volume": volume}))
    held = Balance.objects.filter(unit_type="allowance", vintage=instrument.vintage, credit_batch__isnull=True,
                                  account__kind__in=[HoldingAccount.Kind.OPERATOR_HOLDING,
                                                     HoldingAccount.Kind.TRADING])
    total = held.aggregate(total=Sum("quantity"))["total"] or 0
    if total:
        for participant in participants.values():
            try:
                account = unit_account(participant.organisation)
            except RegistryError:
                continue
            quantity = held.filter(account=account).aggregate(total=Sum("quantity"))["total"] or 0
            share = Decimal(quantity) * 100 / total
            if share > limits.concentration_percent:
                findings.append(Finding(K.HOLDING_CONCENTRATION, participant.pk,
                                        f"holding-{instrument.pk}-{day}-{participant.pk}",
                                        gettext_noop("%(participant)s holds %(share)s%% of the %(vintage)s allowances "
                                                     "held by "
                                          "all holders (above %(limit)s%%)."), {
                                            "participant": participant, "share": f"{share:.1f}",
                                            "vintage": instrument.vintage, "limit": limits.concentration_percent},
                                        {"share_percent": str(round(share, 2)), "held": quantity, "total": total}))
    return findings


def _insider_orders(orders: list[Order], participants: dict) -> list[Finding]:
    """Orders entered by a person who was on an insider list at the time."""
    members = InsiderListMember.objects.filter(user_id__in={o.entered_by_id for o in orders}).select_related(
        "insider_list", "user")
    findings = []
    for order in orders:
        for member in members:
            if member.user_id == order.entered_by_id and member.added_at <= order.entered_at and (
                    member.removed_at is None or order.entered_at < member.removed_at):
                findings.append(Finding(
                    K.INSIDER_ORDER, order.participant_id, f"insider-{order.pk}-{member.insider_list_id}",
                    gettext_noop("%(person)s, on the insider list “%(list)s”, entered a %(side)s order of "
                                 "%(quantity)s "
                      "at %(price)s yen for %(participant)s."), {
                        "person": member.user.email, "list": member.insider_list, "side": order.side,
                        "quantity": f"{order.quantity:,}", "price": f"{order.price_yen:,}",
                        "participant": participants[order.participant_id]},
                    {"orders": [order.pk], "insider_list": member.insider_list_id}))
                break
    return findings


def _scan(instrument: Instrument, day: date, now: datetime) -> list[Alert]:
    start, end = _day_bounds(day)
    limits = thresholds_at(now)
    trades = list(Trade.objects.filter(instrument=instrument, traded_at__gte=start, traded_at__lt=end)
                  .select_related("buy_order", "sell_order").order_by("traded_at", "pk"))
    orders = list(Order.objects.filter(instrument=instrument, entered_at__gte=start, entered_at__lt=end)
                  .order_by("entered_at", "pk"))
    ids = ({o.participant_id for o in orders} | {t.buy_order.participant_id for t in trades}
           | {t.sell_order.participant_id for t in trades})
    participants = {p.pk: p for p in Participant.objects.filter(pk__in=ids).select_related("organisation")}
    findings = (_wash_trades(trades, participants) + _layering(instrument, orders, trades, limits, participants)
                + _marking_the_close(instrument, day, trades, limits, participants)
                + _concentration(instrument, day, trades, limits, participants)
                + _insider_orders(orders, participants))
    known = set(Alert.objects.filter(key__in=[f.key for f in findings]).values_list("key", flat=True))
    alerts = []
    for f in findings:
        if f.key not in known:
            params = {name: value if isinstance(value, int) else str(value) for name, value in f.params.items()}
            # The participants it names, as they were named at the scan, in English too (Alert.summary_text)
            names_en = {name: value.organisation.name_en for name, value in f.params.items()
                        if isinstance(value, Participant) and value.organisation.name_en}
            alerts.append(Alert(kind=f.kind, instrument=instrument, participant_id=f.participant_id, trading_day=day,
                                summary=(f.message % params)[:500], key=f.key, raised_at=now,
                                facts=f.facts | {"message": f.message, "params": params, "names_en": names_en}))
    return Alert.objects.bulk_create(alerts, ignore_conflicts=True)


@state_change
def surveillance_scan(*, instrument: Instrument, day: date, acting_user, now: datetime | None = None) -> int:
    """GXA scans a trading day again (the job scans each day after its session); returns the new alerts."""
    now = now or timezone.now()
    with transaction.atomic(), audit_context(acting_user, action="surveillance_scan"):
        authorize(acting_user, OPERATE_MARKET, market_operator())
        return len(_scan(instrument, day, now))


def surveillance_scan_due(now: datetime | None = None) -> int:
    """The job after the session: scan today's trading on every instrument (alerts only; nothing else changes)."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    if not trading_day(day):
        return 0
    raised = 0
    for instrument in Instrument.objects.order_by("pk"):
        if timezone.localtime(now).time() >= instrument.session_closes_at:
            with transaction.atomic():
                raised += len(_scan(instrument, day, now))
    return raised


DECISIONS = {"dismiss": Alert.Status.DISMISSED, "refer": Alert.Status.REFERRED}


@state_change
def alert_decide(*, alert: Alert, decision: str, note: str, acting_user) -> Alert:
    """A market operator closes an alert: dismissed (with why) or referred for investigation (with what next)."""
    with transaction.atomic(), audit_context(acting_user, action="alert_decide"):
        alert = Alert.objects.select_for_update(no_key=True).get(pk=alert.pk)
        authorize(acting_user, OPERATE_MARKET, market_operator())
        if decision not in DECISIONS:
            _refuse(_("Choose to dismiss the alert or to refer it."), "decision")
        transition_check(alert, DECISIONS[decision])
        note = (note or "").strip()
        if not note or len(note) > 1000:
            _refuse(_("Write the decision's reasons (at most 1,000 characters)."), "note")
        alert.status, alert.decision_note = DECISIONS[decision], note
        alert.decided_by, alert.decided_at = acting_user, timezone.now()
        alert.save()
        return alert


# --- insider lists ---------------------------------------------------------------------------------------

@state_change
def insider_list_create(*, name: str, information: str, acting_user) -> InsiderList:
    with transaction.atomic(), audit_context(acting_user, action="insider_list_create"):
        authorize(acting_user, OPERATE_MARKET, market_operator())
        name, information = (name or "").strip(), (information or "").strip()
        if not name or len(name) > 200:
            _refuse(_("Name the list (at most 200 characters)."), "name")
        if not information or len(information) > 500:
            _refuse(_("Say what non-public information its members hold (at most 500 characters)."), "information")
        if InsiderList.objects.filter(name=name).exists():
            _refuse(_("A list of that name exists."), "name", ErrorCode.DUPLICATE)
        return InsiderList.objects.create(name=name, information=information, created_by=acting_user)


@state_change
def insider_add(*, insider_list: InsiderList, email: str, reason: str, acting_user,
                now: datetime | None = None) -> InsiderListMember:
    """A person goes on the list from now: orders they enter from now on are flagged."""
    with transaction.atomic(), audit_context(acting_user, action="insider_add"):
        insider_list = InsiderList.objects.select_for_update(no_key=True).get(pk=insider_list.pk)
        authorize(acting_user, OPERATE_MARKET, market_operator())
        user = User.objects.filter(email__iexact=(email or "").strip()).first()
        if user is None:
            _refuse(_("No registry user has that e-mail address."), "email")
        if not (reason or "").strip():
            _refuse(_("Say why the person is on the list."), "reason")
        if insider_list.members.filter(user=user, removed_at__isnull=True).exists():
            _refuse(_("%(email)s is on the list already.") % {"email": user.email}, "email", ErrorCode.DUPLICATE)
        return InsiderListMember.objects.create(insider_list=insider_list, user=user, reason=reason.strip()[:300],
                                                added_by=acting_user, added_at=now or timezone.now())


@state_change
def insider_remove(*, member: InsiderListMember, acting_user, now: datetime | None = None) -> InsiderListMember:
    """The person leaves the list from now (the row stays: who was an insider when)."""
    with transaction.atomic(), audit_context(acting_user, action="insider_remove"):
        member = InsiderListMember.objects.select_for_update(no_key=True).get(pk=member.pk)
        authorize(acting_user, OPERATE_MARKET, market_operator())
        if member.removed_at is not None:
            _refuse(_("The person has already left the list."), "member", ErrorCode.INVALID_STATE)
        member.removed_at, member.removed_by = now or timezone.now(), acting_user
        member.save()
        return member

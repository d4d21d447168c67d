"""GXA's surveillance: the day's scan raises each kind of alert once, GXA decides them, insiders' orders are
flagged only while they are on a list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from gxregistry.errors import ErrorCode, RegistryError
from market.models import Alert
from market.services import orders as market
from market.services import surveillance
from market.tests.test_services_orders import OPEN

pytestmark = pytest.mark.django_db
DAY = OPEN.date()
AFTER_CLOSE = OPEN.replace(hour=15, minute=30)
K = Alert.Kind


def scan(mkt):
    return surveillance.surveillance_scan(instrument=mkt.instrument, day=DAY, acting_user=mkt.gxa,
                                          now=AFTER_CLOSE)


def alerts():
    return sorted((a.kind, a.participant_id) for a in Alert.objects.all())


def loose(mkt, **values):
    """Thresholds that leave concentration alone unless a test asks for it."""
    limits = {"concentration_percent": 100, "layering_seconds": 60, "layering_ticks": 5, "layering_orders": 5,
              "close_minutes": 10, "close_move_percent": 3} | values
    surveillance.SurveillanceParameters.objects.create(effective_from=OPEN - timedelta(days=1), reason="test",
                                                       set_by=mkt.gxa, **limits)


def test_a_round_trip_between_two_participants_is_a_wash_trade_alert_raised_once(mkt):
    loose(mkt)
    a = mkt.participant(allowances=1_000, yen=10_000_000)
    b = mkt.participant(allowances=1_000, yen=10_000_000)
    mkt.order(a, "sell", 3000, 100)
    mkt.order(b, "buy", 3000, 100, now=OPEN + timedelta(minutes=1))
    mkt.order(b, "sell", 3000, 100, now=OPEN + timedelta(minutes=2))
    mkt.order(a, "buy", 3000, 100, now=OPEN + timedelta(minutes=3))
    type(b.organisation).objects.filter(pk=b.organisation.pk).update(name_en="Other Side Co.")
    assert scan(mkt) == 2
    assert alerts() == sorted([(K.WASH_TRADE, a.pk), (K.WASH_TRADE, b.pk)])
    # Both organisations named as the reader reads them: b by its English name, a (none) by its Japanese one
    with translation.override("en"):
        assert Alert.objects.get(participant=a).summary_text() == (
            f"{a.organisation.name} and Other Side Co. each bought from the other on the same day (a round trip).")
    assert scan(mkt) == 0 and Alert.objects.count() == 2  # run again: nothing twice


def test_orders_placed_behind_the_touch_and_cancelled_quickly_are_layering(mkt):
    loose(mkt)
    layerer, honest = mkt.participant(yen=100_000_000), mkt.participant(yen=100_000_000)
    mkt.order(honest, "buy", 3000, 10)  # the best bid
    for i in range(5):
        entered = mkt.order(layerer, "buy", 2990 - i, 100, now=OPEN + timedelta(minutes=i)).order
        market.order_cancel(order=entered, acting_user=layerer.rep, now=OPEN + timedelta(minutes=i, seconds=20))
    for i in range(4):  # fewer than five, or cancelled slowly: not layering
        entered = mkt.order(honest, "buy", 2990, 100, now=OPEN + timedelta(minutes=10 + i)).order
        market.order_cancel(order=entered, acting_user=honest.rep, now=OPEN + timedelta(minutes=10 + i, seconds=5))
    scan(mkt)
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.participant_id, len(alert.facts["orders"])) == (K.LAYERING, layerer.pk, 5)


def test_pushing_the_price_in_the_last_minutes_is_marking_the_close(mkt):
    loose(mkt)
    seller, buyer, pusher = (mkt.participant(allowances=1_000, yen=100_000_000) for _ in range(3))
    mkt.order(seller, "sell", 3000, 100)
    mkt.order(buyer, "buy", 3000, 100, now=OPEN + timedelta(minutes=1))
    mkt.order(seller, "sell", 3100, 10, now=OPEN.replace(hour=14, minute=40))
    mkt.order(pusher, "buy", 3100, 10, now=OPEN.replace(hour=14, minute=55))  # close 3.3 % above the VWAP
    scan(mkt)
    assert [(a.kind, a.participant_id) for a in Alert.objects.filter(kind=K.MARKING_THE_CLOSE)] == [
        (K.MARKING_THE_CLOSE, pusher.pk)]
    assert Alert.objects.get(kind=K.MARKING_THE_CLOSE).facts["close"] == 3100


def test_concentration_of_volume_and_of_holdings_above_the_parameter(mkt):
    loose(mkt, concentration_percent=45)
    big, small, buyer = (mkt.participant(allowances=a, yen=100_000_000) for a in (9_000, 100, 0))
    mkt.order(big, "sell", 3000, 100)
    mkt.order(small, "sell", 3000, 20)
    mkt.order(buyer, "buy", 3000, 120, now=OPEN + timedelta(minutes=1))
    type(buyer.organisation).objects.filter(pk=buyer.organisation.pk).update(name_en="Concentrated Trading Co.")
    scan(mkt)
    # The buyer made half the volume; the big seller holds almost all the FY2027 allowances held.
    assert alerts() == sorted([(K.VOLUME_CONCENTRATION, buyer.pk), (K.HOLDING_CONCENTRATION, big.pk)])
    # What was found names the participant as the reader reads it: its English name on English pages.
    alert = Alert.objects.get(kind=K.VOLUME_CONCENTRATION)
    with translation.override("en"):
        assert alert.summary_text().startswith("Concentrated Trading Co. made 50.0%")
    with translation.override("ja"):
        assert alert.summary_text().startswith(buyer.organisation.name)


def test_orders_entered_by_an_insider_while_on_the_list_are_flagged(mkt):
    loose(mkt)
    trader = mkt.participant(yen=100_000_000)
    insiders = surveillance.insider_list_create(name="FY2027 allocation figures", information="Allocation totals",
                                                acting_user=mkt.gxa)
    mkt.order(trader, "buy", 2900, 10)  # before joining the list
    member = surveillance.insider_add(insider_list=insiders, email=trader.rep.email.upper(), reason="Saw the figures",
                                      acting_user=mkt.gxa, now=OPEN + timedelta(minutes=1))
    flagged = mkt.order(trader, "buy", 2901, 10, now=OPEN + timedelta(minutes=2)).order
    surveillance.insider_remove(member=member, acting_user=mkt.gxa, now=OPEN + timedelta(minutes=3))
    mkt.order(trader, "buy", 2902, 10, now=OPEN + timedelta(minutes=4))
    scan(mkt)
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.facts["orders"]) == (K.INSIDER_ORDER, [flagged.pk])
    with pytest.raises(RegistryError) as unknown:
        surveillance.insider_add(insider_list=insiders, email="nobody@example.jp", reason="x", acting_user=mkt.gxa)
    assert unknown.value.field == "email"


def test_gxa_decides_an_alert_once_with_its_reasons(mkt):
    loose(mkt, concentration_percent=45)
    a, b = mkt.participant(allowances=100), mkt.participant(yen=10_000_000)
    mkt.order(a, "sell", 3000, 100)
    mkt.order(b, "buy", 3000, 100)
    scan(mkt)
    alert = Alert.objects.filter(kind=K.VOLUME_CONCENTRATION).first()
    with pytest.raises(RegistryError) as no_note:
        surveillance.alert_decide(alert=alert, decision="dismiss", note=" ", acting_user=mkt.gxa)
    assert no_note.value.field == "note"
    with pytest.raises(RegistryError) as not_gxa:
        surveillance.alert_decide(alert=alert, decision="dismiss", note="fine", acting_user=a.rep)
    assert not_gxa.value.code == ErrorCode.NOT_PERMITTED
    decided = surveillance.alert_decide(alert=alert, decision="refer", note="Two parties only: ask both",
                                        acting_user=mkt.gxa)
    assert (decided.status, decided.decided_by) == (Alert.Status.REFERRED, mkt.gxa)
    with pytest.raises(RegistryError) as again:
        surveillance.alert_decide(alert=alert, decision="dismiss", note="again", acting_user=mkt.gxa)
    assert again.value.code == ErrorCode.INVALID_STATE


def test_the_job_scans_after_the_close_and_expires_day_orders(mkt):
    loose(mkt, concentration_percent=45)
    a, b = mkt.participant(allowances=100), mkt.participant(yen=10_000_000)
    mkt.order(a, "sell", 3000, 100)
    mkt.order(b, "buy", 3000, 100)
    resting = mkt.order(b, "buy", 2000, 10).order
    assert surveillance.surveillance_scan_due(now=OPEN + timedelta(hours=1)) == 0  # the session is still open
    assert market.orders_expire_due(now=OPEN + timedelta(hours=1)) == 0
    assert surveillance.surveillance_scan_due(now=AFTER_CLOSE) == 3  # both concentrated in volume, one holds it all
    assert market.orders_expire_due(now=AFTER_CLOSE) == 1
    resting.refresh_from_db()
    assert resting.status == "expired" and not market.reservation_differences()
    # The scheduled job runs both, every quarter of an hour.
    from django_q.models import Schedule

    from market import tasks

    assert Schedule.objects.get(func="market.tasks.end_of_session").minutes == 15
    assert set(tasks.end_of_session()) == {"expired", "alerts"}


def test_thresholds_are_set_from_now_on_with_a_reason(mkt):
    from django.utils import timezone

    values = {"concentration_percent": 40, "layering_seconds": 60, "layering_ticks": 5, "layering_orders": 5,
              "close_minutes": 10, "close_move_percent": "2.5"}
    now = timezone.now()
    for moment, field, changes in [(now - timedelta(days=1), "effective_from", {}),
                                   (now, "concentration_percent", {"concentration_percent": 101}),
                                   (now, "layering_orders", {"layering_orders": "2.5"}),
                                   (now, "close_minutes", {"close_minutes": "abc"})]:
        with pytest.raises(RegistryError) as refused:
            surveillance.surveillance_parameters_set(effective_from=moment, reason="Review", acting_user=mkt.gxa,
                                                     **(values | changes))
        assert refused.value.field == field
    surveillance.surveillance_parameters_set(effective_from=now, reason="Review", acting_user=mkt.gxa, **values)
    assert surveillance.thresholds_at(now + timedelta(seconds=1)).close_move_percent == Decimal("2.5")
    assert surveillance.thresholds_at(now - timedelta(days=1)) == surveillance.Thresholds()  # the defaults before

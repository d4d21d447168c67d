"""The book in the database (market/sql/order_book.sql, through order_enter, order_amend and order_cancel) follows
the reference model (market.engine.book.Book over matching.match) step by step: the same fills, at the same prices,
in the same order; the same orders resting with the same quantities; the same halts. Units and yen are conserved
and every reservation is what the open orders may deliver."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.models import Balance, CloseStakeholder, JointNotificationGroup
from gxregistry.errors import ErrorCode, RegistryError
from market.engine import matching
from market.engine.book import Book
from market.models import Instrument, InstrumentParameters, Order, Trade
from market.services import orders as market
from market.tests.test_services_orders import OPEN, Market

pytestmark = pytest.mark.django_db(transaction=False)

PRICES = (2960, 3000, 3000, 3040)  # 3,000 twice: orders meet at one price
BAND = (2970, 3030)  # 1% around 3,000, set for the banded examples

order_steps = st.tuples(st.just("order"), st.sampled_from(["buy", "sell"]), st.sampled_from(PRICES),
                        st.integers(1, 30), st.integers(0, 2))
steps = st.lists(st.one_of(  # mostly orders, so the book fills up and trades
    order_steps, order_steps, order_steps, order_steps,
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("amend"), st.integers(0, 30), st.sampled_from(PRICES), st.integers(1, 40))),
    min_size=4, max_size=30)


class Rollback(Exception):
    pass


@pytest.fixture
def world(make_user, make_organisation):
    """Three participants; the third is a close stakeholder in the first's joint-notification group, so the two
    are one owner and never trade together."""
    mkt = Market(make_user, make_organisation)
    people = [mkt.participant(allowances=10_000, yen=100_000_000) for _ in range(3)]
    group = JointNotificationGroup.objects.create(name="Group", notifying_entity=people[0].organisation)
    CloseStakeholder.objects.create(group=group, entity=people[2].organisation, relationship="subsidiary")
    return mkt, people


def _totals():
    return dict(Balance.objects.values_list("unit_type").annotate(total=Sum("quantity")).values_list(
        "unit_type", "total"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps, st.booleans())
def test_the_database_book_follows_the_reference_model(world, script, banded):
    mkt, people = world
    try:
        with transaction.atomic():
            _run(mkt, people, script, banded)
            raise Rollback
    except Rollback:
        pass


def _run(mkt, people, script, banded):
    instrument = mkt.instrument
    if banded:
        InstrumentParameters.objects.create(instrument=instrument, effective_from=OPEN - timedelta(hours=1),
                                            reference_price_yen=3000, band_percent=1, halt_minutes=5,
                                            reason="tight band", set_by=mkt.gxa)
    band = BAND if banded else None
    book, entered_ids, halted_until, before = Book(), [], None, _totals()
    reps = {participant.pk: participant.rep for participant in people}
    for number, step in enumerate(script):
        now = OPEN + timedelta(minutes=number)
        if step[0] == "cancel":
            if not entered_ids:
                continue
            order = Order.objects.get(pk=entered_ids[step[1] % len(entered_ids)])
            try:
                market.order_cancel(order=order, acting_user=reps[order.participant_id], now=now)
                assert book.cancel(order.pk) is not None
            except RegistryError as refused:  # already closed: the model has it off the book too
                assert refused.code == ErrorCode.INVALID_STATE and book.cancel(order.pk) is None
            continue
        halted = halted_until is not None and now < halted_until
        if step[0] == "amend":
            if not entered_ids:
                continue
            order = Order.objects.get(pk=entered_ids[step[1] % len(entered_ids)])
            _kind, _index, price, quantity = step
            user, filled = reps[order.participant_id], order.quantity - order.remaining
            if order.status != Order.Status.OPEN or halted or quantity <= filled:
                with pytest.raises(RegistryError):
                    market.order_amend(order=order, acting_user=user, price_yen=price, quantity=quantity, now=now)
                continue
            entered = market.order_amend(order=order, acting_user=user, price_yen=price, quantity=quantity, now=now)
            # In the model: off the book and in again with the sequence it now has (the same when it kept its place,
            # and then it does not cross: the book was not crossed).
            book.cancel(order.pk)
            after = Order.objects.get(pk=order.pk)
            incoming = matching.Order(order.pk, matching.Side(order.side), price, quantity - filled, after.sequence,
                                      after.owner)
        else:
            _kind, side, price, quantity, who = step
            participant = people[who]
            if halted:
                with pytest.raises(RegistryError) as refused:
                    mkt.order(participant, side, price, quantity, key=f"s{number}", now=now)
                assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_STATE, "instrument")
                continue
            entered = mkt.order(participant, side, price, quantity, key=f"s{number}", now=now)
            after = Order.objects.get(pk=entered.order.pk)
            entered_ids.append(after.pk)
            incoming = matching.Order(after.pk, matching.Side(side), price, quantity, after.sequence, after.owner)
        expected = book.submit(incoming, band=band)
        made = [(t.sell_order_id if t.aggressor == "buy" else t.buy_order_id, t.price_yen, t.quantity)
                for t in entered.trades]
        assert made == [(f.resting_id, f.price, f.quantity) for f in expected.fills]  # price-time priority
        assert entered.halted == expected.halted
        if expected.halted:
            halted_until = Instrument.objects.get(pk=instrument.pk).halted_until
            assert halted_until == now + timedelta(minutes=5)
        open_orders = dict(Order.objects.filter(instrument=instrument, status=Order.Status.OPEN)
                           .values_list("pk", "remaining"))
        assert open_orders == {o.id: o.quantity for s in matching.Side for o in book.resting(s)}
        bid, ask = book.best(matching.Side.BUY), book.best(matching.Side.SELL)
        assert bid is None or ask is None or bid.price < ask.price  # never crossed
    assert _totals() == before  # units and yen only moved
    assert market.reservation_differences() == []
    assert not Trade.objects.filter(buy_order__owner=F("sell_order__owner")).exists()  # no self-trade
    assert ledger.reconcile().clean


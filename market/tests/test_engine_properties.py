"""Properties of matching against a plain reference model (hypothesis): no crossed book after matching,
price-time priority, conservation of quantity, a cancelled order never fills, no self-trade."""

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from market.engine.book import Book
from market.engine.matching import Order, Side, Stop, match

OWNERS = ("A", "B", "C")


@dataclass
class Reference:
    """The rules in their plainest form: scan every resting order for the best each time."""

    orders: dict[int, Order] = field(default_factory=dict)

    def submit(self, order, band=None):
        fills, left = [], order.quantity
        while left:
            candidates = [o for o in self.orders.values() if o.side != order.side and order.crosses(o)]
            if not candidates:
                break
            best = min(candidates, key=lambda o: (-o.price if o.side == Side.BUY else o.price, o.sequence))
            if best.owner == order.owner or (band and not band[0] <= best.price <= band[1]):
                return fills, None
            quantity = min(left, best.quantity)
            fills.append((best.id, best.price, quantity))
            left -= quantity
            if quantity == best.quantity:
                del self.orders[best.id]
            else:
                self.orders[best.id] = Order(best.id, best.side, best.price, best.quantity - quantity,
                                             best.sequence, best.owner)
        if left:
            self.orders[order.id] = Order(order.id, order.side, order.price, left, order.sequence, order.owner)
        return fills, left


actions = st.lists(st.one_of(
    st.tuples(st.just("order"), st.sampled_from(list(Side)), st.integers(95, 105), st.integers(1, 50),
              st.sampled_from(OWNERS)),
    st.tuples(st.just("cancel"), st.integers(0, 40))), max_size=60)


@settings(max_examples=300, deadline=None)
@given(actions, st.booleans())
def test_the_book_follows_the_reference_and_keeps_its_promises(steps, banded):
    band = (97, 103) if banded else None
    book, reference = Book(), Reference()
    submitted, filled, cancelled = {}, {}, set()
    for number, step in enumerate(steps):
        if step[0] == "cancel":
            if book.cancel(step[1]) is not None:
                cancelled.add(step[1])
            reference.orders.pop(step[1], None)
            continue
        _kind, side, price, quantity, owner = step
        order = Order(number, side, price, quantity, number, owner)
        submitted[number] = order
        result = book.submit(order, band=band)
        expected, _left = reference.submit(order, band=band)
        assert [(f.resting_id, f.price, f.quantity) for f in result.fills] == expected  # price-time priority
        for fill in result.fills:
            resting = submitted[fill.resting_id]
            assert resting.owner != owner  # no self-trade
            assert fill.resting_id not in cancelled  # a cancelled order never fills
            assert fill.price == resting.price  # at the resting order's price
            assert band is None or band[0] <= fill.price <= band[1]
            filled[fill.resting_id] = filled.get(fill.resting_id, 0) + fill.quantity
        filled[number] = filled.get(number, 0) + sum(f.quantity for f in result.fills)
        # Conservation: what is filled, rests and is cancelled is what was asked.
        rests = result.rests.quantity if result.rests else 0
        assert sum(f.quantity for f in result.fills) + rests + result.cancelled == quantity
        # The book is never crossed after matching.
        bid, ask = book.best(Side.BUY), book.best(Side.SELL)
        assert bid is None or ask is None or bid.price < ask.price
        assert {o.id: o.quantity for s in Side for o in book.resting(s)} == {
            i: o.quantity for i, o in reference.orders.items()}
    for number, order in submitted.items():
        assert filled.get(number, 0) <= order.quantity


def test_a_self_trade_cancels_the_incoming_remainder_and_the_band_halts():
    resting = [Order(1, Side.SELL, 100, 5, 1, "A"), Order(2, Side.SELL, 101, 5, 2, "B")]
    result = match(Order(3, Side.BUY, 101, 8, 3, "A"), resting)
    assert (result.fills, result.cancelled, result.stop) == ((), 8, Stop.SELF_TRADE)
    result = match(Order(4, Side.BUY, 101, 8, 4, "C"), resting, band=(95, 100))
    assert [f.quantity for f in result.fills] == [5] and result.cancelled == 3 and result.halted
    result = match(Order(5, Side.BUY, 99, 8, 5, "C"), resting)
    assert result.fills == () and result.rests.quantity == 8 and result.stop == Stop.NO_MORE_MATCH


def test_an_order_put_back_with_the_place_an_amend_let_it_keep_trades_before_younger_ones():
    book = Book()
    for number, sequence in ((1, 10), (2, 20), (3, 30)):
        book.rest(Order(number, Side.SELL, 3000, 5, sequence, f"seller-{number}"))
    kept = book.cancel(1)  # an amend that lowers the quantity: the order keeps its place in time
    book.rest(Order(kept.id, kept.side, kept.price, 3, kept.sequence, kept.owner))
    assert [order.id for order in book.resting(Side.SELL)] == [1, 2, 3]
    result = book.submit(Order(4, Side.BUY, 3000, 4, 40, "buyer"))
    assert [(fill.resting_id, fill.quantity) for fill in result.fills] == [(1, 3), (2, 1)]

"""An in-memory order book of one instrument over ``matching.match``: what the property tests drive, and the
shape of the book the services keep in the database (resting orders by side, best first)."""

from __future__ import annotations

from bisect import insort

from market.engine.matching import Order, Result, Side, match, priority


class Book:
    def __init__(self):
        self._sides: dict[Side, list[tuple[tuple[int, int], Order]]] = {Side.BUY: [], Side.SELL: []}

    def resting(self, side: Side) -> list[Order]:
        return [order for _key, order in self._sides[side]]

    def best(self, side: Side) -> Order | None:
        orders = self._sides[side]
        return orders[0][1] if orders else None

    def rest(self, order: Order) -> None:
        """Put an order on the book as it rests (read back from where the book is kept)."""
        insort(self._sides[order.side], (priority(order), order))

    def submit(self, order: Order, *, band: tuple[int, int] | None = None) -> Result:
        other = Side.SELL if order.side == Side.BUY else Side.BUY
        result = match(order, self.resting(other), band=band)
        filled = {fill.resting_id: fill.quantity for fill in result.fills}
        remaining = []
        for key, resting in self._sides[other]:
            left = resting.quantity - filled.get(resting.id, 0)
            if left:
                remaining.append((key, resting if left == resting.quantity else
                                  Order(resting.id, resting.side, resting.price, left, resting.sequence,
                                        resting.owner)))
        self._sides[other] = remaining
        if result.rests is not None:
            self.rest(result.rests)
        return result

    def cancel(self, order_id: int) -> Order | None:
        for side, orders in self._sides.items():
            for index, (_key, order) in enumerate(orders):
                if order.id == order_id:
                    del self._sides[side][index]
                    return order
        return None

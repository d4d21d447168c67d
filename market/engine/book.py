"""An in-memory order book of one instrument over ``matching.match``: what the order gateway keeps between batches and
a batch builds from the top of the book it reads (market/services/book.py), and what the property tests drive.

Resting orders are kept by price level, each level's orders in time order, and the levels' prices sorted, so an
order costs what it trades with and where it rests, not the size of the book."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator

from market.engine.matching import Order, Result, Side, match


class Book:
    def __init__(self):
        self._levels: dict[Side, dict[int, deque[Order]]] = {Side.BUY: {}, Side.SELL: {}}
        # Each side's prices best first: bids stored negated, so both lists ascend.
        self._prices: dict[Side, list[int]] = {Side.BUY: [], Side.SELL: []}
        self._where: dict[int, tuple[Side, int]] = {}  # order -> (side, price)

    @staticmethod
    def _key(side: Side, price: int) -> int:
        return -price if side == Side.BUY else price

    def _best_first(self, side: Side) -> Iterator[Order]:
        levels = self._levels[side]
        for key in self._prices[side]:
            yield from levels[abs(key)]

    def resting(self, side: Side) -> list[Order]:
        return list(self._best_first(side))

    def best(self, side: Side) -> Order | None:
        prices = self._prices[side]
        return self._levels[side][abs(prices[0])][0] if prices else None

    def __contains__(self, order_id: int) -> bool:
        return order_id in self._where

    def rest(self, order: Order) -> None:
        """Put an order on the book in its place in time among the orders at its price: behind them, unless it is
        older than some (an order put back with the place an amend let it keep)."""
        level = self._levels[order.side].get(order.price)
        if level is None:
            level = self._levels[order.side][order.price] = deque()
            insort(self._prices[order.side], self._key(order.side, order.price))
        if level and order.sequence < level[-1].sequence:
            level.insert(next(i for i, resting in enumerate(level) if resting.sequence > order.sequence), order)
        else:
            level.append(order)
        self._where[order.id] = (order.side, order.price)

    def submit(self, order: Order, *, band: tuple[int, int] | None = None) -> Result:
        other = Side.SELL if order.side == Side.BUY else Side.BUY
        result = match(order, self._best_first(other), band=band)
        for fill in result.fills:  # fills take the other side's best orders in turn: each is at the front
            level = self._levels[other][fill.price]
            head = level[0]
            left = head.quantity - fill.quantity
            if left:
                level[0] = Order(head.id, head.side, head.price, left, head.sequence, head.owner)
            else:
                self._remove_head(other, fill.price)
        if result.rests is not None:
            self.rest(result.rests)
        return result

    def cancel(self, order_id: int) -> Order | None:
        where = self._where.get(order_id)
        if where is None:
            return None
        side, price = where
        level = self._levels[side][price]
        order = next(o for o in level if o.id == order_id)
        level.remove(order)
        del self._where[order_id]
        if not level:
            self._drop_level(side, price)
        return order

    def _remove_head(self, side: Side, price: int) -> None:
        level = self._levels[side][price]
        del self._where[level.popleft().id]
        if not level:
            self._drop_level(side, price)

    def _drop_level(self, side: Side, price: int) -> None:
        del self._levels[side][price]
        prices = self._prices[side]
        del prices[bisect_left(prices, self._key(side, price))]

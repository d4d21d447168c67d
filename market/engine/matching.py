"""Continuous matching of one instrument's limit orders (issue 14; rules and choices in docs/market.md).

- Price-time priority: the best price first (highest bid, lowest offer), and at one price the earliest order.
- A trade is made at the resting order's price; partial fills leave the rest where it was (resting) or go on
  (incoming).
- Self-trade prevention, "cancel newest": an incoming order that reaches a resting order of the same owner (its
  organisation, or the joint-notification group it belongs to) stops there and its remainder is cancelled. It
  never trades with itself and the book is never left crossed.
- The price band: an incoming order that would trade outside ``band`` (lower, upper) stops before that trade,
  its remainder is cancelled and ``halted`` is set; the service halts the instrument (§8's price-spike measures).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True)
class Order:
    id: int
    side: Side
    price: int  # yen per allowance, a multiple of the instrument's tick
    quantity: int  # what is left to fill
    sequence: int  # arrival order: time priority (an amend that loses priority takes a new one)
    owner: str  # organisation, or its joint-notification group: orders of one owner never meet

    def crosses(self, other: Order) -> bool:
        return self.price >= other.price if self.side == Side.BUY else self.price <= other.price


@dataclass(frozen=True)
class Fill:
    incoming_id: int
    resting_id: int
    price: int
    quantity: int


class Stop(StrEnum):
    FILLED = "filled"
    NO_MORE_MATCH = "no_more_match"  # the rest rests on the book
    SELF_TRADE = "self_trade"  # the rest is cancelled
    PRICE_BAND = "price_band"  # the rest is cancelled; the instrument halts


@dataclass(frozen=True)
class Result:
    fills: tuple[Fill, ...]
    rests: Order | None  # the incoming order's remainder, to rest on the book
    cancelled: int  # the incoming order's quantity cancelled (self-trade prevention, price band)
    stop: Stop

    @property
    def halted(self) -> bool:
        return self.stop == Stop.PRICE_BAND


def priority(order: Order) -> tuple[int, int]:
    """Sort key of resting orders of one side, best first."""
    return (-order.price if order.side == Side.BUY else order.price, order.sequence)


def match(incoming: Order, resting: Iterable[Order], *, band: tuple[int, int] | None = None) -> Result:
    """Match ``incoming`` against ``resting`` (the other side's orders, best first by ``priority``)."""
    fills: list[Fill] = []
    left = incoming.quantity
    stop = Stop.NO_MORE_MATCH
    for order in resting:
        if left == 0:
            break
        if order.side == incoming.side:
            raise ValueError("resting orders must be of the other side")
        if not incoming.crosses(order):
            break
        if order.owner == incoming.owner:
            stop = Stop.SELF_TRADE
            break
        if band is not None and not band[0] <= order.price <= band[1]:
            stop = Stop.PRICE_BAND
            break
        quantity = min(left, order.quantity)
        fills.append(Fill(incoming.id, order.id, order.price, quantity))
        left -= quantity
    if left == 0:
        return Result(tuple(fills), None, 0, Stop.FILLED)
    if stop == Stop.NO_MORE_MATCH:
        return Result(tuple(fills), replace(incoming, quantity=left), 0, stop)
    return Result(tuple(fills), None, left, stop)

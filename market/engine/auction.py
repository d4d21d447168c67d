"""Clearing GXA's reverse auction at the lower-limit price (report §1; docs/market.md), in pure Python.

GXA buys back up to a budget (a number of allowances, or yen) from sealed offers: the cheapest offers first. At
the marginal price, where the budget runs out among offers of one price, what is left is shared in proportion to
what each offered, in whole lots; lots left over by rounding go one at a time to the offers submitted first.
Under a uniform price every accepted allowance is paid the highest accepted price; under pay-as-bid each offer
is paid its own price.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby


class Budget(StrEnum):
    VOLUME = "volume"
    YEN = "yen"


class Pricing(StrEnum):
    UNIFORM = "uniform"
    PAY_AS_BID = "pay_as_bid"


@dataclass(frozen=True)
class Offer:
    id: int
    price: int
    quantity: int
    sequence: int  # order of submission: the earlier wins a lot left over at the marginal price


@dataclass(frozen=True)
class Award:
    offer_id: int
    quantity: int
    price: int  # the yen paid per allowance


@dataclass(frozen=True)
class Result:
    awards: tuple[Award, ...]
    clearing_price: int | None  # the highest accepted price; None when nothing was accepted

    @property
    def quantity(self) -> int:
        return sum(award.quantity for award in self.awards)

    @property
    def yen(self) -> int:
        return sum(award.quantity * award.price for award in self.awards)


def _share(offers: list[Offer], lots: int, lot: int) -> dict[int, int]:
    """``lots`` whole lots shared among ``offers`` of one price in proportion to their quantity; the lots the
    rounding leaves go one each to the earliest offers."""
    total = sum(offer.quantity for offer in offers)
    shares = {offer.id: min(offer.quantity // lot, lots * offer.quantity // total) for offer in offers}
    left = lots - sum(shares.values())
    while left:
        for offer in sorted(offers, key=lambda o: o.sequence):
            if left and shares[offer.id] * lot < offer.quantity:
                shares[offer.id] += 1
                left -= 1
    return {offer_id: count * lot for offer_id, count in shares.items()}


def clear(offers: list[Offer], *, budget_kind: Budget, budget: int, pricing: Pricing, lot: int = 1) -> Result:
    """The offers GXA accepts, cheapest first, within ``budget``; quantities are whole ``lot``s."""
    accepted: dict[int, int] = {}
    prices: dict[int, int] = {}
    taken, paid, clearing = 0, 0, None
    ordered = sorted(offers, key=lambda o: (o.price, o.sequence))
    for price, level in groupby(ordered, key=lambda o: o.price):
        level = list(level)
        offered = sum(offer.quantity for offer in level)
        if budget_kind == Budget.VOLUME:
            room = budget - taken
        elif pricing == Pricing.UNIFORM:  # every allowance, the earlier ones too, is paid this level's price
            room = budget // price - taken
        else:
            room = (budget - paid) // price
        lots = max(0, min(offered, room)) // lot
        if lots == 0:
            break
        for offer_id, quantity in _share(level, lots, lot).items():
            if quantity:
                accepted[offer_id], prices[offer_id] = quantity, price
        taken += lots * lot
        paid += lots * lot * price
        clearing = price
        if lots * lot < offered:
            break
    awards = tuple(Award(offer.id, accepted[offer.id], clearing if pricing == Pricing.UNIFORM else prices[offer.id])
                   for offer in ordered if offer.id in accepted)
    return Result(awards, clearing)

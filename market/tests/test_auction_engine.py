"""Clearing the reverse auction (pure): cheapest first, within the budget, ties shared at the marginal price."""

from hypothesis import given, settings
from hypothesis import strategies as st

from market.engine.auction import Budget, Offer, Pricing, clear


def offer(id, price, quantity, sequence=None):
    return Offer(id, price, quantity, sequence if sequence is not None else id)


def awarded(result):
    return {award.offer_id: (award.quantity, award.price) for award in result.awards}


def test_cheapest_first_within_a_volume_budget_uniform_price():
    result = clear([offer(1, 1700, 300), offer(2, 1600, 200), offer(3, 1750, 500)],
                   budget_kind=Budget.VOLUME, budget=400, pricing=Pricing.UNIFORM)
    # 200 at 1,600 then 200 of the 300 at 1,700; everyone is paid the clearing price.
    assert awarded(result) == {2: (200, 1700), 1: (200, 1700)}
    assert (result.clearing_price, result.quantity, result.yen) == (1700, 400, 680_000)


def test_pay_as_bid_pays_each_offer_its_own_price():
    result = clear([offer(1, 1700, 300), offer(2, 1600, 200)], budget_kind=Budget.VOLUME, budget=400,
                   pricing=Pricing.PAY_AS_BID)
    assert awarded(result) == {2: (200, 1600), 1: (200, 1700)}
    assert result.yen == 200 * 1600 + 200 * 1700


def test_a_tie_at_the_marginal_price_is_shared_in_proportion_then_by_time():
    # 500 left for 300 + 600 + 100 offered at 1,700: 150, 300, 50 in proportion.
    result = clear([offer(1, 1700, 300), offer(2, 1700, 600), offer(3, 1700, 100), offer(4, 1500, 100)],
                   budget_kind=Budget.VOLUME, budget=600, pricing=Pricing.UNIFORM)
    assert awarded(result) == {4: (100, 1700), 1: (150, 1700), 2: (300, 1700), 3: (50, 1700)}
    # Whole lots: 7 lots of 10 for 3 equal offers: 2 each in proportion, the one left to the earliest submitted.
    tied = clear([offer(1, 1700, 50, sequence=3), offer(2, 1700, 50, sequence=1), offer(3, 1700, 50, sequence=2)],
                 budget_kind=Budget.VOLUME, budget=70, pricing=Pricing.UNIFORM, lot=10)
    assert awarded(tied) == {2: (30, 1700), 3: (20, 1700), 1: (20, 1700)}


def test_a_yen_budget_under_a_uniform_price_counts_every_allowance_at_the_clearing_price():
    # 1,000,000 yen: 400 at 1,600 costs 640,000; at 1,700 the budget buys 588 in all, so 188 more.
    result = clear([offer(1, 1600, 400), offer(2, 1700, 400)], budget_kind=Budget.YEN, budget=1_000_000,
                   pricing=Pricing.UNIFORM)
    assert awarded(result) == {1: (400, 1700), 2: (188, 1700)} and result.yen <= 1_000_000
    # Pay as bid: 640,000 spent, 360,000 left buys 211 at 1,700.
    result = clear([offer(1, 1600, 400), offer(2, 1700, 400)], budget_kind=Budget.YEN, budget=1_000_000,
                   pricing=Pricing.PAY_AS_BID)
    assert awarded(result) == {1: (400, 1600), 2: (211, 1700)}


def test_when_the_next_price_would_buy_less_than_already_taken_the_auction_stops_at_the_cheaper_price():
    result = clear([offer(1, 1000, 900), offer(2, 1700, 400)], budget_kind=Budget.YEN, budget=1_000_000,
                   pricing=Pricing.UNIFORM)
    assert awarded(result) == {1: (900, 1000)} and result.clearing_price == 1000


def test_no_offers_clears_nothing():
    result = clear([], budget_kind=Budget.VOLUME, budget=100, pricing=Pricing.UNIFORM)
    assert (result.awards, result.clearing_price, result.quantity) == ((), None, 0)


offers = st.lists(st.tuples(st.integers(1, 20), st.integers(1, 30)), max_size=12).map(
    lambda rows: [Offer(i, 1000 + 50 * price, 10 * lots, (i * 7) % 13) for i, (price, lots) in enumerate(rows)])


@settings(max_examples=300, deadline=None)
@given(offers, st.sampled_from(list(Budget)), st.integers(1, 2_000_000), st.sampled_from(list(Pricing)))
def test_clearing_properties(offered, budget_kind, budget, pricing):
    result = clear(offered, budget_kind=budget_kind, budget=budget, pricing=pricing, lot=10)
    by_id = {o.id: o for o in offered}
    # Within the budget; whole lots; never more than offered; a uniform price is the highest accepted price.
    assert (result.quantity if budget_kind == Budget.VOLUME else result.yen) <= budget
    for award in result.awards:
        o = by_id[award.offer_id]
        assert 0 < award.quantity <= o.quantity and award.quantity % 10 == 0
        assert award.price == (result.clearing_price if pricing == Pricing.UNIFORM else o.price)
        assert o.price <= result.clearing_price
    # Cheapest first: an offer below the clearing price is taken whole; none above it is taken at all.
    for o in offered:
        taken = next((a.quantity for a in result.awards if a.offer_id == o.id), 0)
        if result.clearing_price is not None and o.price < result.clearing_price:
            assert taken == o.quantity
        if result.clearing_price is None or o.price > result.clearing_price:
            assert taken == 0
    # Nothing is left on the table: one more lot at the clearing price (or the cheapest price) would break it.
    left = [o for o in offered if next((a.quantity for a in result.awards if a.offer_id == o.id), 0) < o.quantity]
    if left:
        cheapest = min(o.price for o in left)
        if budget_kind == Budget.VOLUME:
            assert result.quantity + 10 > budget
        elif pricing == Pricing.PAY_AS_BID:
            assert result.yen + 10 * cheapest > budget
        else:
            assert (result.quantity + 10) * max(cheapest, result.clearing_price or 0) > budget

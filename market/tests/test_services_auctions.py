"""GXA's reverse auction through the services: when it is due, sealed offers that reserve allowances, clearing and
settlement through the ledger, the published result."""

from datetime import timedelta

import pytest

from accounts import ledger
from accounts.models import HoldingAccount, LedgerTransaction
from conftest import fresh_code
from gxregistry.errors import ErrorCode, RegistryError
from market.models import AuctionOffer, InstrumentParameters, ReverseAuction
from market.services import auctions
from market.services import orders as market
from market.tests.test_services_orders import OPEN, held, yen

pytestmark = pytest.mark.django_db
DAYS = [OPEN, OPEN + timedelta(days=1), OPEN + timedelta(days=2)]  # Tuesday to Thursday, 10:00 JST
AFTER = OPEN + timedelta(days=3)  # Friday


def low_days(mkt, closes=(1700, 1720, 1740)):
    """Three trading days whose closing prices are ``closes`` (the lower limit is 1,750 yen)."""
    InstrumentParameters.objects.create(instrument=mkt.instrument, effective_from=OPEN - timedelta(hours=1),
                                        reference_price_yen=1800, band_percent=20, halt_minutes=10, reason="low",
                                        set_by=mkt.gxa)
    seller, buyer = mkt.participant(allowances=10_000), mkt.participant(yen=100_000_000)
    for day, price in zip(DAYS, closes, strict=True):
        mkt.order(seller, "sell", price, 100, now=day)
        mkt.order(buyer, "buy", price, 100, now=day)
    return seller, buyer


def open_auction(mkt, *, budget_kind="volume", budget=1_000, pricing="uniform", now=AFTER):
    return auctions.auction_open(instrument=mkt.instrument, budget_kind=budget_kind, budget=budget, pricing=pricing,
                                 offers_from=now, offers_until=now + timedelta(hours=4), reason="Price at the floor",
                                 acting_user=mkt.gxa, otp_token=fresh_code(mkt.gxa), now=now)


def offer(auction, participant, price, quantity, now=AFTER + timedelta(minutes=5)):
    return auctions.offer_submit(auction=auction, participant=participant, price_yen=price, quantity=quantity,
                                 acting_user=participant.rep, now=now)


def clear(mkt, auction, now=AFTER + timedelta(hours=5)):
    return auctions.auction_clear(auction=auction, acting_user=mkt.gxa, otp_token=fresh_code(mkt.gxa), now=now)


def test_an_auction_is_due_only_when_the_price_stays_at_or_below_the_lower_limit(mkt):
    low_days(mkt, closes=(1700, 1800, 1740))  # one close above 1,750
    with pytest.raises(RegistryError) as refused:
        open_auction(mkt)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_STATE, "instrument")
    assert "1,750" in refused.value.message and not ReverseAuction.objects.exists()


def test_offers_reserve_allowances_and_clearing_settles_through_the_ledger(mkt):
    low_days(mkt)
    auction = open_auction(mkt, budget=500)
    assert auction.max_price_yen == 1750
    a, b, c = (mkt.participant(allowances=1_000) for _ in range(3))
    offer(auction, a, 1600, 300)
    offer(auction, b, 1700, 400)
    offer(auction, c, 1750, 200)
    assert held(a.account) == (1_000, 300)
    # Reserved allowances cannot be transferred meanwhile.
    with pytest.raises(RegistryError) as refused:
        ledger.transfer_units(source=b.account, destination=c.account, unit=ledger.allowance(2027), quantity=700,
                        idempotency_key="during-auction")
    assert refused.value.code == ErrorCode.INSUFFICIENT_UNITS
    bank_before = held(ledger.government_account(HoldingAccount.Kind.MARKET_BANK), "yen", 0)[0]
    cleared = clear(mkt, auction)
    # 300 at 1,600 and 200 of b's 400 at 1,700, all at the uniform clearing price of 1,700.
    assert (cleared.status, cleared.cleared_quantity, cleared.clearing_price_yen, cleared.cleared_yen) == (
        "cleared", 500, 1700, 850_000)
    assert (cleared.bidders, cleared.accepted_bidders) == (3, 2)
    assert held(a.account) == (700, 0) and held(b.account) == (800, 0) and held(c.account) == (1_000, 0)
    assert yen(a.cash) == (510_000, 0) and yen(b.cash) == (340_000, 0) and yen(c.cash) == (0, 0)
    gxa_units = ledger.government_account(HoldingAccount.Kind.GXA_AUCTION)
    assert held(gxa_units) == (500, 0)
    assert held(ledger.government_account(HoldingAccount.Kind.MARKET_BANK), "yen", 0)[0] == bank_before - 850_000
    kinds = {o.status for o in AuctionOffer.objects.all()}
    assert kinds == {"accepted", "rejected"}
    assert set(LedgerTransaction.objects.filter(auction_offer__isnull=False).values_list("kind", flat=True)) == {
        "reverse_auction"}
    assert ledger.reconcile().clean and not market.reservation_differences()


def test_pay_as_bid_with_a_yen_budget(mkt):
    low_days(mkt)
    auction = open_auction(mkt, budget_kind="yen", budget=1_000_000, pricing="pay_as_bid")
    a, b = mkt.participant(allowances=1_000), mkt.participant(allowances=1_000)
    offer(auction, a, 1600, 400)
    offer(auction, b, 1700, 400)
    cleared = clear(mkt, auction)
    assert (cleared.cleared_quantity, cleared.cleared_yen) == (611, 400 * 1600 + 211 * 1700)
    assert yen(a.cash)[0] == 640_000 and yen(b.cash)[0] == 211 * 1700


def test_offers_are_refused_above_the_lower_limit_outside_the_window_and_without_allowances(mkt):
    low_days(mkt)
    auction = open_auction(mkt)
    seller = mkt.participant(allowances=100)
    for price, quantity, now, field in [(1751, 10, None, "price_yen"), ("abc", 10, None, "price_yen"),
                                        (1700, 200, None, "quantity"),
                                        (1700, 10, AFTER - timedelta(minutes=1), "auction"),
                                        (1700, 10, AFTER + timedelta(hours=4), "auction")]:
        with pytest.raises(RegistryError) as refused:
            offer(auction, seller, price, quantity, **({"now": now} if now else {}))
        assert refused.value.field == field
    assert not AuctionOffer.objects.exists() and held(seller.account) == (100, 0)


def test_a_withdrawn_offer_frees_its_allowances_and_only_its_participant_withdraws_it(mkt):
    low_days(mkt)
    auction = open_auction(mkt)
    seller, other = mkt.participant(allowances=100), mkt.participant(allowances=100)
    submitted = offer(auction, seller, 1700, 100)
    with pytest.raises(RegistryError) as refused:
        auctions.offer_withdraw(offer=submitted, acting_user=other.rep, now=AFTER + timedelta(minutes=10))
    assert refused.value.code == ErrorCode.NOT_PERMITTED
    auctions.offer_withdraw(offer=submitted, acting_user=seller.rep, now=AFTER + timedelta(minutes=10))
    assert held(seller.account) == (100, 0)
    cleared = clear(mkt, auction)
    assert (cleared.cleared_quantity, cleared.bidders, cleared.clearing_price_yen) == (0, 0, None)


def test_the_auction_clears_only_after_its_window_and_once(mkt):
    low_days(mkt)
    auction = open_auction(mkt)
    with pytest.raises(RegistryError) as early:
        clear(mkt, auction, now=AFTER + timedelta(hours=1))
    assert early.value.field == "auction"
    clear(mkt, auction)
    with pytest.raises(RegistryError) as again:
        clear(mkt, auction)
    assert again.value.code == ErrorCode.INVALID_STATE


def test_only_gxa_opens_and_clears(mkt):
    low_days(mkt)
    participant = mkt.participant(allowances=10)
    with pytest.raises(RegistryError) as refused:
        auctions.auction_open(instrument=mkt.instrument, budget_kind="volume", budget=10, pricing="uniform",
                              offers_from=AFTER, offers_until=AFTER + timedelta(hours=1), reason="x",
                              acting_user=participant.rep, otp_token="000000", now=AFTER)
    assert refused.value.code == ErrorCode.NOT_PERMITTED and not ReverseAuction.objects.exists()


def test_an_auctions_budget_reads_as_allowances_or_yen_in_both_languages():
    from django.utils import translation

    volume = ReverseAuction(budget_kind=ReverseAuction.BudgetKind.VOLUME, budget=1_500)
    money = ReverseAuction(budget_kind=ReverseAuction.BudgetKind.YEN, budget=2_000_000)
    with translation.override("en"):
        assert (volume.budget_label(), money.budget_label()) == ("1,500 allowances", "¥2,000,000")
        assert ReverseAuction(budget_kind="volume", budget=1).budget_label() == "1 allowance"
    with translation.override("ja"):
        assert (volume.budget_label(), money.budget_label()) == ("排出枠 1,500", "2,000,000 円")

"""The instrument page: the book without names, order entry by a participant's representative, refusals."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.roles import Role
from market.models import Order, Trade
from market.tests.test_services_orders import OPEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def mkt(open_market):
    return open_market


def url(mkt):
    return f"/market/{mkt.instrument.code}/"


def test_a_representative_enters_an_order_once_however_often_the_form_is_sent(mkt, client, signed_in):
    seller = mkt.participant(allowances=500)
    mkt.order(seller, "sell", 3000, 200, now=OPEN)
    buyer = mkt.participant(yen=5_000_000)
    signed_in(buyer.rep)
    page = client.get(url(mkt))
    assert page.status_code == 200 and "3,000" in page.content.decode()
    assert "FY2027 allowances" in page.content.decode()  # a year, not a number with a thousands separator
    key = page.context["enter_form"].initial["idempotency_key"]
    form = {"form": "enter", "side": "buy", "price_yen": "３，０００", "quantity": "150", "time_in_force": "gtc",
            "idempotency_key": key}
    for _ in range(2):  # a double click, or the browser sending the form again
        response = client.post(url(mkt), form)
        assert response.status_code == 302, response.content.decode()[-3000:]
    assert Order.objects.filter(participant=buyer).count() == 1 and Trade.objects.get().quantity == 150
    followed = client.get(url(mkt)).content.decode()
    assert "Order entered" in followed and "50" in followed


def test_a_viewer_of_a_participant_sees_its_position_and_orders_but_no_order_form_or_cancel(mkt, client, signed_in,
                                                                                            make_user):
    seller = mkt.participant(allowances=500)
    mkt.order(seller, "sell", 3100, 120, now=OPEN)
    signed_in(make_user(Role.VIEWER, seller.organisation))
    page = client.get(url(mkt))
    html = page.content.decode()
    assert page.status_code == 200 and page.context["position"]["open_orders"][0].remaining == 120
    assert 'id="position"' in html and 'id="read-only"' in html
    assert 'id="enter"' not in html and 'value="cancel"' not in html and "enter_form" not in page.context


def test_the_book_shows_prices_and_quantities_but_no_participant(mkt, client, signed_in, make_user):
    seller = mkt.participant(allowances=500)
    mkt.order(seller, "sell", 3100, 120, now=OPEN)
    signed_in(make_user(Role.VIEWER))
    fragment = client.get(f"/market/{mkt.instrument.code}/book/").content.decode()
    assert "3,100" in fragment and "120" in fragment
    assert seller.organisation.name not in fragment and seller.account.number not in fragment


def test_wrong_price_and_someone_who_may_not_trade_are_refused_with_nothing_entered(mkt, client, signed_in,
                                                                                   make_user):
    buyer = mkt.participant(yen=5_000_000)
    signed_in(buyer.rep)
    refused = client.post(url(mkt), {"form": "enter", "side": "buy", "price_yen": "5000", "quantity": "1",
                                     "time_in_force": "day", "idempotency_key": "k1"})
    assert refused.status_code == 400 and "4,400" in refused.content.decode()  # the upper-limit price, named
    # Every wrong field is named at once, each at its field, not one per attempt.
    several = client.post(url(mkt), {"form": "enter", "side": "buy", "price_yen": "3001.5", "quantity": "0",
                                     "time_in_force": "day", "idempotency_key": "k1"})
    errors = several.context["enter_form"].errors
    assert several.status_code == 400 and set(errors) >= {"price_yen", "quantity"}, errors
    viewer = make_user(Role.VIEWER, buyer.organisation)
    client.logout()
    signed_in(viewer)
    forbidden = client.post(url(mkt), {"form": "enter", "side": "buy", "price_yen": "3000", "quantity": "1",
                                       "time_in_force": "day", "idempotency_key": "k2"})
    assert forbidden.status_code == 403 and not Order.objects.exists()


def test_the_public_prices_page_shows_each_days_ohlc_vwap_chart_and_csv_and_no_participant(mkt, client):
    seller, buyer = mkt.participant(allowances=1_000), mkt.participant(yen=100_000_000)
    for minutes, (price, quantity) in enumerate([(3000, 100), (3030, 50), (2980, 50), (3010, 100)]):
        mkt.order(seller, "sell", price, quantity, now=OPEN + timedelta(minutes=minutes))
        mkt.order(buyer, "buy", price, quantity, now=OPEN + timedelta(minutes=minutes, seconds=30))
    mkt.order(buyer, "buy", 2900, 70, now=OPEN + timedelta(hours=1))  # rests: open interest
    page = client.get(f"/market/{mkt.instrument.code}/prices/")  # no login
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html
    (day,) = page.context["days"]
    assert (day.open, day.high, day.low, day.close, day.volume, day.trades) == (3000, 3030, 2980, 3010, 300, 4)
    assert day.vwap == Decimal("3005.00")  # (3000*100 + 3030*50 + 2980*50 + 3010*100) / 300
    assert page.context["open_interest"] == {"bid": 70, "ask": 0}
    assert seller.organisation.name not in html and buyer.account.number not in html
    assert 'class="axis date">10/5</text>' in html  # the day's date under its candle
    csv = client.get(f"/market/{mkt.instrument.code}/prices/", {"export": "csv"})
    assert csv["Content-Type"].startswith("text/csv") and "2027-10-05,3000,3030,2980,3010,3005.00,300,4" in (
        csv.content.decode("utf-8-sig"))


def test_the_public_finds_the_market_from_any_page_and_each_instruments_daily_prices_without_login(mkt, client):
    home = client.get("/").content.decode()
    assert 'href="/market/"' in home  # in the navigation for everyone
    listing = client.get("/market/")
    html = listing.content.decode()
    assert listing.status_code == 200 and f'href="/market/{mkt.instrument.code}/prices/"' in html
    assert f'href="/market/{mkt.instrument.code}/"' not in html  # the book and order entry are for participants
    assert client.get(f"/market/{mkt.instrument.code}/").status_code == 302  # to sign in


def test_the_price_chart_has_round_price_gridlines_each_days_volume_and_about_ten_date_labels():
    from datetime import date

    from market.selectors import Day, candles

    def day(n, low, high, volume):
        return Day(date(2027, 10, 1) + timedelta(days=n), low, high, low, high, volume, 1, Decimal(low))

    chart = candles([day(0, 2980, 3030, 300), day(1, 3010, 3120, 150)])
    assert [t["price"] for t in chart["ticks"]] == [2950, 3000, 3050, 3100, 3150]  # steps of 50 around 2,980-3,120
    top, bottom = chart["ticks"][-1]["y"], chart["ticks"][0]["y"]
    first, second = chart["candles"]
    assert bottom > first["wick_bottom"] > first["wick_top"] > second["wick_top"] > top  # inside the axis, 3,120 high
    assert first["volume_height"] == chart["volume_bottom"] - chart["volume_top"]  # the busiest day fills its pane
    assert second["volume_height"] == first["volume_height"] / 2 and chart["most_volume"] == 300
    assert first["labelled"] and second["labelled"]

    one_price = candles([day(0, 3000, 3000, 10)])  # a single price all along still has an axis around it
    assert [t["price"] for t in one_price["ticks"]] == [2999, 3000, 3001]

    many = candles([day(n, 3000, 3010, 10) for n in range(25)])
    labelled = [c["day"].day.day for c in many["candles"] if c["labelled"]]
    assert len(labelled) <= 10 and many["candles"][-1]["labelled"] and many["candles"][0]["labelled"]


def test_the_allocation_engine_reads_the_fys_average_market_price(mkt):
    from allocation import adapter
    from market.selectors import average_price

    seller, buyer = mkt.participant(allowances=1_000), mkt.participant(yen=100_000_000)
    mkt.order(seller, "sell", 3000, 100)
    mkt.order(buyer, "buy", 3000, 100)
    mkt.order(seller, "sell", 3300, 300)
    mkt.order(buyer, "buy", 3300, 300)
    assert average_price(2027) == Decimal("3225.00") and average_price(2026) is None
    assert adapter.parameters().get("average_allowance_price_yen", 2027) == Decimal("3225.00")


def test_an_order_cut_short_by_self_trade_prevention_says_why(mkt, client, signed_in):
    seller = mkt.participant(allowances=500, yen=5_000_000)
    mkt.order(seller, "sell", 3000, 200, now=OPEN)
    signed_in(seller.rep)
    key = client.get(url(mkt)).context["enter_form"].initial["idempotency_key"]
    client.post(url(mkt), {"form": "enter", "side": "buy", "price_yen": "3000", "quantity": "10",
                           "time_in_force": "gtc", "idempotency_key": key})
    followed = client.get(url(mkt)).content.decode()
    assert "0 traded, cancelled" in followed and "self-trade prevention" in followed
    assert Order.objects.get(idempotency_key=key).closed_reason == "self_trade"


def test_the_page_names_the_participant_in_the_readers_language_and_yen_have_no_fiscal_year(mkt, client, signed_in):
    buyer = mkt.participant(yen=5_000_000)
    type(buyer.organisation).objects.filter(pk=buyer.organisation.pk).update(name_en="Tokai Trial Co., Ltd.")
    signed_in(buyer.rep)
    english = client.get(url(mkt), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Trading for Tokai Trial Co., Ltd." in english
    client.post("/i18n/setlang/", {"language": "ja", "next": url(mkt)})
    japanese = client.get(url(mkt)).content.decode()
    assert buyer.organisation.name in japanese and "Tokai Trial" not in japanese
    # The cash account's deposit: yen, a unit without a fiscal year ("円", not "円 0年度")
    history = client.get(f"/holding-accounts/{buyer.cash.pk}/transactions/").content.decode()
    assert "5,000,000" in history and "0年度" not in history

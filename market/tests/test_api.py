"""The market's API for participants' systems: token auth, one order per idempotency key, the same refusals."""


import pytest
from django.test import Client

from accounts import services
from market.models import Order
from market.tests.test_services_orders import OPEN

pytestmark = pytest.mark.django_db


@pytest.fixture
def mkt(open_market):
    return open_market


def machine(user):
    _instance, token = services.api_token_create(user=user, acting_user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def test_an_order_entered_twice_with_one_key_is_one_order_and_a_different_one_is_refused(mkt):
    seller, buyer = mkt.participant(allowances=300), mkt.participant(yen=10_000_000)
    mkt.order(seller, "sell", 3000, 100, now=OPEN)
    api = machine(buyer.rep)
    order = {"instrument": "JPA-2027", "side": "buy", "price_yen": "3000", "quantity": "60", "time_in_force": "gtc"}
    first = api.post("/api/v1/market/orders/", order, content_type="application/json", HTTP_IDEMPOTENCY_KEY="sys-1")
    again = api.post("/api/v1/market/orders/", order, content_type="application/json", HTTP_IDEMPOTENCY_KEY="sys-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["status"] == "filled"
    assert [t["quantity"] for t in first.json()["trades"]] == [60]
    conflict = api.post("/api/v1/market/orders/", {**order, "quantity": "61"}, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="sys-1")
    assert conflict.status_code == 400 and conflict.json()["code"] == "idempotency_conflict"
    assert Order.objects.filter(participant=buyer).count() == 1


def test_refusals_name_the_field_and_the_book_names_nobody(mkt):
    seller = mkt.participant(allowances=300)
    api = machine(seller.rep)
    too_many = api.post("/api/v1/market/orders/", {"instrument": "JPA-2027", "side": "sell", "price_yen": "3000",
                                                   "quantity": "301"}, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="sys-2")
    assert too_many.status_code == 400 and too_many.json()["field"] == "quantity"
    unknown = api.post("/api/v1/market/orders/", {"instrument": "JPA-1999", "side": "sell", "price_yen": "3000",
                                                  "quantity": "1"}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["field"] == "instrument"
    placed = api.post("/api/v1/market/orders/", {"instrument": "JPA-2027", "side": "sell", "price_yen": "3100",
                                                 "quantity": "10"}, content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY="sys-3").json()
    book = machine(mkt.participant().rep).get("/api/v1/market/instruments/JPA-2027/book/").json()
    assert book["asks"] == [{"price_yen": 3100, "quantity": 10, "orders": 1}]
    assert str(seller.organisation.pk) not in str(book["asks"]) and "participant" not in str(book)
    cancelled = api.post(f"/api/v1/market/orders/{placed['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert Client().get("/api/v1/market/orders/").status_code == 401

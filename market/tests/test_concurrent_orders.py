"""Many clients on one book at once: no double fill, no reservation below zero or above a balance, nothing created
or lost, the book never crossed; transfers from a seller's account go on meanwhile."""

import random
import threading

import pytest
from django.db import connection
from django.db.models import Max, Min, Sum

from accounts import ledger
from accounts.models import Balance
from gxregistry.errors import RegistryError
from market.models import Order, Trade
from market.services import orders as market
from market.tests.test_services_orders import Market

pytestmark = pytest.mark.django_db(transaction=True)
CLIENTS = 8
ORDERS_EACH = 25


def totals():
    rows = Balance.objects.exclude(account__kind__in=["issuance", "market_bank"]).values("unit_type").annotate(
        total=Sum("quantity"))
    return {row["unit_type"]: row["total"] for row in rows}


def test_clients_entering_and_cancelling_together_never_double_fill(make_user, make_organisation):
    mkt = Market(make_user, make_organisation)
    clients = [mkt.participant(allowances=2_000, yen=20_000_000) for _ in range(CLIENTS)]
    outsider = mkt.participant()
    before = totals()
    errors, refusals = [], []

    def trade(index):
        client, rng = clients[index], random.Random(index)
        try:
            for n in range(ORDERS_EACH):
                try:
                    entered = mkt.order(client, rng.choice(["buy", "sell"]), rng.randint(2950, 3050),
                                        rng.randint(1, 60), key=f"c{index}-{n}")
                    if entered.order.status == Order.Status.OPEN and rng.random() < 0.3:
                        market.order_cancel(order=entered.order, acting_user=client.rep)
                    if n % 8 == 0:  # the seller's back office moves allowances meanwhile
                        ledger.transfer_units(source=client.account, destination=outsider.account,
                                              unit=ledger.allowance(2027), quantity=1,
                                              idempotency_key=f"side-{index}-{n}")
                except RegistryError as refused:  # a legitimate refusal (too few free units or yen)
                    refusals.append(refused.code)
        except Exception as error:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=trade, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert Trade.objects.count() > 20  # the book really traded
    for order in Order.objects.all():
        bought = order.buys.aggregate(q=Sum("quantity"))["q"] or 0
        sold = order.sells.aggregate(q=Sum("quantity"))["q"] or 0
        assert bought + sold == order.quantity - order.remaining, order  # every fill once, none beyond the order
    assert not Balance.objects.filter(reserved__lt=0).exists()
    assert totals() == before  # units and yen only moved between holders
    book = Order.objects.filter(status=Order.Status.OPEN)
    best_bid = book.filter(side="buy").aggregate(p=Max("price_yen"))["p"]
    best_ask = book.filter(side="sell").aggregate(p=Min("price_yen"))["p"]
    assert best_bid is None or best_ask is None or best_bid < best_ask
    assert ledger.reconcile().clean

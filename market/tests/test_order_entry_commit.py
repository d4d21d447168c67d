"""Order entry commits with its call (ledger.call_prepared_and_commit): outside any transaction the order is
committed when the call returns, on disk before the answer, and a refusal changes nothing; inside a caller's
transaction it commits with that transaction, not before."""

import logging

import pytest
from django.db import connection, connections, transaction

from accounts.ledger import booking
from gxregistry.errors import RegistryError
from market.models import Order, Trade
from market.tests.test_services_orders import Market, held, yen

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mkt(make_user, make_organisation):
    return Market(make_user, make_organisation)


@pytest.fixture
def durable_waits(monkeypatch):
    """How many times the answer waited for the WAL to be on disk (benchmarks/README.md: one WAL flush an order)."""
    waits = []
    real = booking._make_durable
    monkeypatch.setattr(booking, "_make_durable", lambda raw: (waits.append(1), real(raw))[1])
    return waits


def seen_by_another_connection(order_id) -> bool:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM market_order WHERE id = %s", [order_id])
            return cursor.fetchone()[0] == 1
    finally:
        other.close()


def test_a_trade_entered_outside_a_transaction_is_committed_and_on_disk_when_the_call_returns(mkt, durable_waits):
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=1_000_000)
    mkt.order(seller, "sell", 3000, 40, key="s")
    entered = mkt.order(buyer, "buy", 3000, 10, key="b")

    assert not connection.in_atomic_block
    assert len(entered.trade_ids) == 1 and Trade.objects.get(pk=entered.trade_ids[0]).quantity == 10
    assert seen_by_another_connection(entered.order_id)
    assert len(durable_waits) == 2  # each answer waited for the disk
    assert connection.connection.info.transaction_status == 0  # idle: nothing left open after the pipeline
    with connection.cursor() as cursor:  # the asynchronous commit did not outlive its transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert held(seller.account) == (90, 30) and yen(buyer.cash) == (970_000, 0)


def test_a_refusal_raised_in_the_database_changes_nothing_and_the_connection_goes_on(mkt, durable_waits, caplog):
    seller = mkt.participant(allowances=10)
    with caplog.at_level(logging.WARNING):
        for attempt in range(10):  # when the refusal's answer is read depends on timing: several tries
            with pytest.raises(RegistryError) as refused:
                mkt.order(seller, "sell", 3000, 50, key=f"too-many-{attempt}")  # more than it holds
            assert refused.value.field == "quantity"
    # a participant's refusal is not a warning in the operators' logs
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []
    assert not Order.objects.exists() and held(seller.account) == (10, 0)

    entered = mkt.order(seller, "sell", 3000, 5, key="fits")  # the same connection, after the rollback
    assert Order.objects.get(pk=entered.order_id).status == Order.Status.OPEN
    assert held(seller.account) == (10, 5)


def test_inside_a_callers_transaction_the_order_commits_with_it(mkt, durable_waits):
    seller = mkt.participant(allowances=10)
    with pytest.raises(RuntimeError), transaction.atomic():
        entered = mkt.order(seller, "sell", 3000, 5, key="rolled-back")
        assert Order.objects.filter(pk=entered.order_id).exists()
        raise RuntimeError("the caller gives up")
    assert not Order.objects.exists() and held(seller.account) == (10, 0)
    assert durable_waits == []  # the caller's own COMMIT is synchronous

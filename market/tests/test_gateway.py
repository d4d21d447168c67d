"""Orders entered a batch at a time (market.services.book) and the order gateway that forms the batches
(market.gateway): a batch's orders meet one another in the order they came, a refusal keeps out only its own order,
the batch's trades settle in one ledger transaction of net moves, and nothing is created or lost. Through the
gateway's socket, many clients at once get every order answered once it is committed."""

import os
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts import ledger
from accounts.models import Balance, LedgerTransaction, Membership
from accounts.roles import Role
from gxregistry.errors import ErrorCode, RegistryError
from market import gateway
from market.models import Order, Trade
from market.services import book
from market.services import orders as market
from market.tests.test_services_orders import OPEN, Market, held, yen

S = Order.Status


@pytest.fixture
def mkt(make_user, make_organisation):
    return Market(make_user, make_organisation)


def _totals():
    return dict(Balance.objects.values_list("unit_type").annotate(total=Sum("quantity")).values_list(
        "unit_type", "total"))


def _entry(participant, side, price, quantity, key):
    return book.Entry(participant_id=participant.pk, user_id=participant.rep.pk, side=side, price=price,
                      quantity=quantity, time_in_force="gtc", key=key)


def _enter(mkt, entries):
    return gateway.enter_in_process(mkt.instrument, entries, OPEN, gateway.batch_context(entries))


@pytest.mark.django_db
def test_a_batchs_orders_meet_in_the_order_they_came_and_a_refusal_keeps_out_only_its_own(mkt):
    a, b, c = mkt.participant(allowances=100), mkt.participant(yen=1_000_000), mkt.participant(yen=1_000_000)
    poor = mkt.participant(allowances=5)
    before = _totals()
    answers = _enter(mkt, [
        _entry(a, "sell", 3000, 10, "a1"),
        _entry(b, "buy", 3000, 4, "b1"),  # takes 4 of a's 10
        _entry(poor, "sell", 2990, 50, "p1"),  # more than it holds: refused, the rest goes on
        _entry(c, "buy", 3001, 10, "c1"),  # takes a's other 6 at 3,000, rests 4 at 3,001
        _entry(a, "sell", 3000, 10, "a1"),  # the same key again: a's first order, not a new one
        _entry(a, "sell", 3000, 11, "a1"),  # the key for a different order: refused
    ])
    assert [answer.refusal for answer in answers] == [None, None, "GX001", None, None, "GX107"]
    assert answers[2].detail["field"] == "quantity" and answers[2].detail["asked"] == 50
    assert answers[4].replayed and answers[4].order_id == answers[0].order_id
    trades = list(Trade.objects.order_by("pk"))
    assert [(t.buy_order_id, t.sell_order_id, t.price_yen, t.quantity) for t in trades] == [
        (answers[1].order_id, answers[0].order_id, 3000, 4), (answers[3].order_id, answers[0].order_id, 3000, 6)]
    assert answers[1].trade_ids == [trades[0].pk] and answers[3].trade_ids == [trades[1].pk]
    # One ledger transaction settles both trades: a's ten allowances out, 30,000 yen in; b and c pay for theirs.
    (settlement,) = {t.ledger_transaction for t in trades}
    assert settlement.kind == LedgerTransaction.Kind.TRADE
    moves = defaultdict(int)  # net, whichever way the settlement paired givers and takers
    for entry in settlement.entries.all():
        moves[(entry.account_id, entry.unit_type)] += entry.quantity
    assert moves[(a.account.pk, "allowance")] == -10 and moves[(a.cash.pk, "yen")] == 30_000
    assert moves[(b.account.pk, "allowance")] == 4 and moves[(c.cash.pk, "yen")] == -18_000
    assert held(a.account) == (90, 0) and held(b.account) == (4, 0) and held(c.account) == (6, 0)
    assert yen(c.cash) == (1_000_000 - 18_000, 4 * 3001)  # its rest reserves at its own limit
    assert held(poor.account) == (5, 0) and not Order.objects.filter(participant=poor).exists()
    assert Order.objects.get(pk=answers[0].order_id).status == S.FILLED
    assert _totals() == before and market.reservation_differences() == [] and ledger.reconcile().clean


@pytest.mark.django_db
def test_a_batch_whose_trades_cancel_out_moves_nothing_and_still_records_its_trades(mkt):
    a, b = mkt.participant(allowances=10, yen=100_000), mkt.participant(yen=100_000)
    answers = _enter(mkt, [
        _entry(a, "sell", 3000, 10, "a-sell"),
        _entry(b, "buy", 3000, 10, "b-buy"),
        _entry(b, "sell", 3000, 10, "b-sell"),  # what it has just bought, free to sell in the same batch
        _entry(a, "buy", 3000, 10, "a-buy"),
    ])
    assert [answer.refusal for answer in answers] == [None] * 4
    trades = list(Trade.objects.order_by("pk"))
    assert len(trades) == 2 and all(t.ledger_transaction is None for t in trades)
    assert held(a.account) == (10, 0) and held(b.account) == (0, 0) and yen(b.cash) == (100_000, 0)
    assert not Order.objects.filter(status=S.OPEN).exists()
    assert market.reservation_differences() == [] and ledger.reconcile().clean


@pytest.mark.django_db
def test_a_batch_authorizes_each_representative_with_the_membership_it_reads(mkt):
    seller, buyer, other = (mkt.participant(allowances=100), mkt.participant(yen=1_000_000),
                            mkt.participant(yen=1_000_000))
    Membership.objects.filter(user=other.rep, organisation=other.organisation).update(
        suspended_at=timezone.now(), suspension_reason="under review")
    stranger = book.Entry(participant_id=buyer.pk, user_id=seller.rep.pk, side="buy", price=3000, quantity=5,
                          time_in_force="gtc", key="not-mine")
    answers = _enter(mkt, [_entry(seller, "sell", 3000, 10, "s"), stranger, _entry(other, "buy", 3000, 5, "o"),
                           _entry(buyer, "buy", 3000, 4, "b")])
    assert [answer.refusal for answer in answers] == [None, "GX109", "GX109", None]
    assert answers[1].detail == {"membership": None}  # the seller's representative is no member of the buyer
    assert answers[2].detail["membership"][0] == Role.AUTHORISED_REPRESENTATIVE
    assert answers[2].detail["membership"][2] == "under review"
    assert held(seller.account) == (96, 6) and yen(buyer.cash) == (988_000, 0) and yen(other.cash) == (1_000_000, 0)
    # The service raises authorize's own refusal, with its message, from the membership the batch read.
    with pytest.raises(RegistryError) as refused:
        mkt.order(other, "buy", 3000, 5, key="o2")
    assert refused.value.code == ErrorCode.SUSPENDED and "under review" in str(refused.value.message)
    with pytest.raises(RegistryError) as refused:
        market.order_enter(participant=buyer, instrument=mkt.instrument, side="buy", price_yen=3000, quantity=5,
                           idempotency_key="not-mine", acting_user=seller.rep, now=OPEN)
    assert refused.value.code == ErrorCode.NOT_PERMITTED and refused.value.field == "user"
    with pytest.raises(RegistryError) as refused:  # wrong fields too: still refused as someone who may not act
        market.order_enter(participant=buyer, instrument=mkt.instrument, side="buy", price_yen="abc", quantity=-5,
                           idempotency_key="not-mine", acting_user=seller.rep, now=OPEN)
    assert refused.value.code == ErrorCode.NOT_PERMITTED and refused.value.field == "user"
    with pytest.raises(RegistryError) as refused:  # its own representative is told about the fields
        market.order_enter(participant=buyer, instrument=mkt.instrument, side="buy", price_yen="abc", quantity=-5,
                           idempotency_key="mine", acting_user=buyer.rep, now=OPEN)
    assert refused.value.field == "price_yen" and [other.field for other in refused.value.others] == ["quantity"]
    assert not Order.objects.filter(idempotency_key__in=["o2", "not-mine", "mine"]).exists()


@pytest.mark.django_db(transaction=True)
def test_an_order_entered_outside_a_transaction_is_committed_when_the_call_returns(mkt):
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=1_000_000)
    mkt.order(seller, "sell", 3000, 40, key="s")
    entered = mkt.order(buyer, "buy", 3000, 10, key="b")
    assert not connection.in_atomic_block
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM market_trade WHERE buy_order_id = %s", [entered.order_id])
            assert cursor.fetchone()[0] == 1
    finally:
        other.close()
    assert held(seller.account) == (90, 30) and yen(buyer.cash) == (970_000, 0)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_after_its_first_writes_leaves_nothing_and_the_connection_goes_on(mkt, monkeypatch):
    seller, buyer = mkt.participant(allowances=100), mkt.participant(yen=1_000_000)
    mkt.order(seller, "sell", 3000, 40, key="s")
    before = _totals()
    # The batch's last write fails after the orders, trades and settlement are written in its transaction.
    monkeypatch.setattr(book, "WRITE_TAKEN", "SELECT 1 / 0 WHERE %s::text IS NOT NULL AND %s::int > 0 AND %s > 0")
    with pytest.raises(DatabaseError):
        _enter(mkt, [_entry(buyer, "buy", 3000, 10, "b")])
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert not Trade.objects.exists() and Order.objects.count() == 1 and _totals() == before
    assert held(seller.account) == (100, 40) and yen(buyer.cash) == (1_000_000, 0)
    monkeypatch.undo()
    (answer,) = _enter(mkt, [_entry(buyer, "buy", 3000, 10, "b")])  # the same key: entered now, once
    assert answer.refusal is None and not answer.replayed and len(answer.trade_ids) == 1
    assert held(seller.account) == (90, 30) and yen(buyer.cash) == (970_000, 0)
    assert market.reservation_differences() == [] and ledger.reconcile().clean


@pytest.mark.django_db(transaction=True)
def test_a_refusal_changes_nothing_and_inside_a_callers_transaction_the_order_commits_with_it(mkt):
    seller = mkt.participant(allowances=10)
    with pytest.raises(RegistryError) as refused:
        mkt.order(seller, "sell", 3000, 50, key="too-many")
    assert refused.value.field == "quantity" and not Order.objects.exists() and held(seller.account) == (10, 0)
    with pytest.raises(RuntimeError), transaction.atomic():
        entered = mkt.order(seller, "sell", 3000, 5, key="rolled-back")
        assert Order.objects.filter(pk=entered.order_id).exists()
        raise RuntimeError("the caller gives up")
    assert not Order.objects.exists() and held(seller.account) == (10, 0)
    mkt.order(seller, "sell", 3000, 5, key="fits")  # the same connection goes on
    assert held(seller.account) == (10, 5)


@pytest.fixture
def running_gateway(tmp_path, settings):
    path = str(tmp_path / "gateway.sock")
    ready, stop, batches = threading.Event(), threading.Event(), []
    real_enter = book.enter

    def counting_enter(instrument, entries, *args, **kwargs):
        batches.append(len(entries))
        if len(batches) == 10:  # a slow moment: the orders sent meanwhile wait, and are entered together
            time.sleep(0.5)
        return real_enter(instrument, entries, *args, **kwargs)

    book.enter = counting_enter
    thread = threading.Thread(target=gateway.serve, args=(path,), kwargs={"ready": ready.set, "stop": stop},
                              daemon=True)
    thread.start()
    assert ready.wait(10)
    settings.MARKET_GATEWAY_SOCKET = path
    yield batches
    stop.set()
    thread.join(10)
    book.enter = real_enter


@pytest.mark.django_db(transaction=True)
def test_through_the_gateway_many_clients_at_once_get_every_order_entered_once(mkt, running_gateway, settings):
    people = [mkt.participant(allowances=1_000, yen=10_000_000) for _ in range(6)]
    before = _totals()

    def client(number):
        try:
            answers = []
            for n in range(15):
                side = "buy" if (number + n) % 2 else "sell"
                answers.append(mkt.order(people[number], side, 2995 + (n * 7 + number) % 11, 1 + n % 5,
                                         key=f"c{number}-{n}").order_id)
            again = mkt.order(people[number], "buy" if number % 2 else "sell", 2995 + number % 11, 1,
                              key=f"c{number}-0")  # a retry of its first order, through the gateway too
            return answers, again.order_id
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(client, range(6)))
    entered = [number for answers, _again in results for number in answers]
    assert len(entered) == len(set(entered)) == 90 == Order.objects.count()
    assert all(again == answers[0] for answers, again in results)
    assert sum(running_gateway) >= 96 and max(running_gateway) > 1  # orders that waited were entered together
    assert os.stat(settings.MARKET_GATEWAY_SOCKET).st_mode & 0o777 == 0o600  # the registry's own processes only
    bids = Order.objects.filter(status=S.OPEN, side="buy").order_by("-price_yen").first()
    asks = Order.objects.filter(status=S.OPEN, side="sell").order_by("price_yen").first()
    assert bids is None or asks is None or bids.price_yen < asks.price_yen  # the book is never left crossed
    assert Trade.objects.exists()
    assert _totals() == before and market.reservation_differences() == [] and ledger.reconcile().clean


@pytest.mark.django_db(transaction=True)
def test_when_the_gateway_does_not_answer_the_representative_is_told_to_send_the_order_again(mkt, tmp_path,
                                                                                         settings):
    seller = mkt.participant(allowances=10)
    settings.MARKET_GATEWAY_SOCKET = str(tmp_path / "nobody-listens.sock")
    with pytest.raises(RegistryError) as refused:
        mkt.order(seller, "sell", 3000, 5, key="no-gateway")
    assert refused.value.field == "idempotency_key" and "again" in str(refused.value.message)
    assert not Order.objects.exists() and held(seller.account) == (10, 0)


@pytest.mark.django_db(transaction=True)
def test_the_gateway_keeps_the_book_in_memory_only_while_nobody_else_has_changed_it(mkt, running_gateway):
    seller, other, buyer = mkt.participant(allowances=10), mkt.participant(allowances=10), mkt.participant(yen=10**6)
    first = mkt.order(seller, "sell", 3000, 10, key="first").order
    market.order_cancel(order=first, acting_user=seller.rep)  # outside the gateway, in the representative's process
    mkt.order(other, "sell", 3001, 5, key="second")
    bought = mkt.order(buyer, "buy", 3001, 10, key="buy")
    assert [(t.sell_order.participant_id, t.quantity) for t in bought.trades] == [(other.pk, 5)]  # not the cancelled
    assert held(seller.account) == (10, 0) and held(buyer.account) == (5, 0)
    assert Order.objects.get(pk=bought.order_id).remaining == 5
    assert market.reservation_differences() == [] and ledger.reconcile().clean


def test_the_gateway_lingers_for_the_clients_it_has_just_answered_and_not_for_a_lone_one(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "linger.sock"))
    server.listen(8)
    waiting = gateway._Waiting(server)
    first, second = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    try:
        for client in (first, second):
            client.connect(str(tmp_path / "linger.sock"))
            client.sendall(b'{"n": 0}\n')
        assert len(waiting.gather(1.0, linger=0.5)) == 2  # both busy, both here: no wait
        first.sendall(b'{"n": 1}\n')  # answered, the first sends at once, the second a moment later
        threading.Timer(0.05, second.sendall, [b'{"n": 2}\n']).start()
        began = time.monotonic()
        assert sorted(request["n"] for _client, request in waiting.gather(1.0, linger=0.5)) == [1, 2]
        assert time.monotonic() - began < 0.4
        second.close()  # a client gone is not waited for
        first.sendall(b'{"n": 3}\n')
        began = time.monotonic()
        assert [request["n"] for _client, request in waiting.gather(1.0, linger=0.5)] == [3]
        assert time.monotonic() - began < 0.3
    finally:
        first.close()
        server.close()

"""The ledger under real concurrency on PostgreSQL: threads, each with its own connection."""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.db.models import Sum

from accounts import ledger
from accounts.models import Balance, HoldingAccount, LedgerTransaction
from accounts.tests.ledger_fixtures import funded, held, key
from gxregistry.errors import ErrorCode, RegistryError

pytestmark = pytest.mark.django_db(transaction=True)
ALLOWANCE = ledger.allowance(2026)


def in_threads(count, work):
    """Run work(i) in ``count`` threads released together; return results or exceptions."""
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait()
            return work(i)
        except Exception as error:  # noqa: BLE001 - the test inspects every outcome
            return error
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_transfers_of_a_full_balance_exactly_one_succeeds():
    source, destinations = funded(500), [funded(1) for _ in range(20)]
    outcomes = in_threads(20, lambda i: ledger.transfer_units(
        source=source, destination=destinations[i], unit=ALLOWANCE, quantity=500, idempotency_key=key("full")))
    succeeded = [o for o in outcomes if isinstance(o, LedgerTransaction)]
    refused = [o for o in outcomes if (isinstance(o, RegistryError) and o.code == ErrorCode.INSUFFICIENT_UNITS)]
    assert len(succeeded) == 1 and len(refused) == 19, outcomes
    assert held(source) == 0
    assert sum(held(d) for d in destinations) == 520
    assert ledger.reconcile().clean


def test_fifty_concurrent_requests_with_one_key_book_one_transaction():
    source, destination = funded(100), funded(1)
    shared = key("replay")
    outcomes = in_threads(50, lambda i: ledger.transfer_units(
        source=source, destination=destination, unit=ALLOWANCE, quantity=7, idempotency_key=shared))
    assert all(isinstance(o, LedgerTransaction) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert LedgerTransaction.objects.filter(idempotency_key=shared).count() == 1
    assert (held(source), held(destination)) == (93, 8)


def test_a_thousand_opposite_transfers_never_fail_for_the_caller():
    a, b = funded(10_000, name="A"), funded(10_000, name="B")

    def work(i):
        for n in range(125):
            source, destination = (a, b) if (i + n) % 2 else (b, a)
            ledger.transfer_units(source=source, destination=destination, unit=ALLOWANCE, quantity=1 + n % 3,
                                  idempotency_key=f"ab-{i}-{n}")
        return True

    outcomes = in_threads(8, work)
    assert outcomes == [True] * 8, [o for o in outcomes if o is not True]
    assert held(a) + held(b) == 20_000
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="ab-").count() == 1000
    assert ledger.reconcile().clean


def test_bank_32_workers_move_units_at_random_while_the_total_never_changes():
    accounts = [funded(1_000, name=f"Bank {n}") for n in range(20)]
    total = 20_000
    stop = time.monotonic() + 4
    seen_totals, unexpected = [], []

    def worker(i):
        rng = random.Random(i)
        booked = 0
        while time.monotonic() < stop:
            source, destination = rng.sample(accounts, 2)
            try:
                ledger.transfer_units(source=source, destination=destination, unit=ALLOWANCE,
                                      quantity=rng.randint(1, 150), idempotency_key=f"bank-{i}-{booked}")
                booked += 1
            except RegistryError:
                pass
            except Exception as error:  # noqa: BLE001
                unexpected.append(error)
        return booked

    def reader():
        while time.monotonic() < stop:
            seen_totals.append(Balance.objects.filter(account__in=accounts).aggregate(s=Sum("quantity"))["s"])
        connections.close_all()

    watcher = threading.Thread(target=reader)
    watcher.start()
    booked = in_threads(32, worker)
    watcher.join()
    assert not unexpected, unexpected[:3]
    assert sum(booked) > 100
    assert seen_totals and set(seen_totals) == {total}
    assert all(Balance.objects.get(account=a, unit_type="allowance").quantity >= 0 for a in accounts)
    assert ledger.reconcile().clean


def test_concurrent_bookings_from_a_blocked_account_are_all_refused():
    source, destination = funded(100), funded(1)
    HoldingAccount.objects.filter(pk=source.pk).update(state="blocked")
    outcomes = in_threads(5, lambda i: ledger.transfer_units(
        source=source, destination=destination, unit=ALLOWANCE, quantity=1, idempotency_key=key("blocked")))
    assert all((isinstance(o, RegistryError) and o.code == ErrorCode.ACCOUNT_NOT_USABLE) for o in outcomes)
    assert held(source) == 100

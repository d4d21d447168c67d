"""The allowance ledger at national scale (issue 3's benchmark).

    bash benchmarks/seed_national.sh       # once: the national data set in the database gxregistry_national
    GX_DATABASE_NAME=gxregistry_national .venv/bin/python benchmarks/ledger_national.py

It measures, on the national data set with 1,000,000 historical transactions:
  1. committed transfers per second with 8 concurrent clients over distinct accounts, as a ratio
     to pgbench's built-in TPC-B-like script run against the same database in the same run (goal >= 0.3);
  2. transfers per second out of one hot account, the allocation reserve (goal >= 50/s);
  3. p95 latency of the holdings page and the transaction-history page (goal < 150 ms);
  4. SQL queries per page for an account with a few and with ~200,000 entries (must not grow).

The history is loaded once with COPY while triggers are off (session_replication_role = replica);
balances and their daily rollup are then set from the entries, and the reconciliation must come out clean before any
measurement. A transfer here is ``ledger.transfer_units``: the booking that executes an approved
transfer (idempotency key, ordered locks, account checks, triggers), i.e. the ledger's unit of work.

pgbench varies by about +-25 % from run to run on a small VM, so the ratio is measured in
``--rounds`` rounds, each a pgbench run followed by a ledger run; every round's ratio is printed and
the median is the result.
"""

import argparse
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("GX_DATABASE_NAME", "gxregistry_national")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts import ledger, services  # noqa: E402
from accounts.models import HoldingAccount, LedgerTransaction, Membership, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import system_actor  # noqa: E402
from benchmarks.common import p95, pgbench_tps  # noqa: E402

HISTORY_PREFIX = "hist-"
HOT_SHARE = 0.2  # a fifth of the history touches one account: the page benchmark's worst case


def operator_accounts():
    return list(HoldingAccount.objects.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).order_by("pk")
                .values_list("pk", flat=True))


def load_history(target: int):
    """Add historical transfers (1 unit each, net zero overall) until ``target`` exist."""
    have = LedgerTransaction.objects.filter(idempotency_key__startswith=HISTORY_PREFIX).count()
    if have >= target:
        return have, 0.0
    accounts = operator_accounts()
    hot, rng = accounts[0], random.Random(have)  # noqa: S311 - synthetic data
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_ledgertransaction")
        next_tx = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_ledgerentry")
        next_entry = cursor.fetchone()[0] + 1
        first_tx = next_tx
        epoch = datetime(2026, 4, 1, tzinfo=UTC)
        raw = connection.connection  # psycopg 3, for COPY
        with raw.transaction():
            with raw.cursor() as pg:
                pg.execute("SET LOCAL session_replication_role = replica")
                batch = 100_000
                for lo in range(have, target, batch):
                    hi = min(lo + batch, target)
                    with pg.copy("COPY accounts_ledgertransaction (id, kind, idempotency_key, request_hash, "
                                 "booked_at, note) FROM STDIN") as tx_copy:
                        for n in range(lo, hi):
                            tx_copy.write_row((next_tx + n - lo, "transfer", f"{HISTORY_PREFIX}{n}", "",
                                               epoch + timedelta(seconds=20 * n), "history"))
                    with pg.copy("COPY accounts_ledgerentry (id, transaction_id, account_id, unit_type, vintage, "
                                 "quantity) FROM STDIN") as entry_copy:
                        for n in range(lo, hi):
                            source = hot if rng.random() < HOT_SHARE else rng.choice(accounts)
                            destination = rng.choice(accounts)
                            while destination == source:
                                destination = rng.choice(accounts)
                            if rng.random() < 0.5:
                                source, destination = destination, source
                            tx_id = next_tx + n - lo
                            entry_copy.write_row((next_entry, tx_id, source, "allowance", 2026, -1))
                            entry_copy.write_row((next_entry + 1, tx_id, destination, "allowance", 2026, 1))
                            next_entry += 2
                    next_tx += hi - lo
                    print(f"  history: {hi:,} transactions", flush=True)
                pg.execute("""
                    UPDATE accounts_balance b SET quantity = b.quantity + d.delta
                      FROM (SELECT account_id, SUM(quantity) AS delta FROM accounts_ledgerentry
                             WHERE transaction_id >= %s GROUP BY account_id) d
                     WHERE b.account_id = d.account_id AND b.unit_type = 'allowance' AND b.vintage = 2026
                       AND b.credit_batch_id IS NULL""", [first_tx])
                pg.execute("""
                    INSERT INTO accounts_dailybalancechange (balance_id, day, change)
                    SELECT b.id, (t.booked_at AT TIME ZONE 'Asia/Tokyo')::date, SUM(e.quantity)
                      FROM accounts_ledgerentry e
                      JOIN accounts_ledgertransaction t ON t.id = e.transaction_id
                      JOIN accounts_balance b ON b.account_id = e.account_id AND b.unit_type = e.unit_type
                                             AND b.vintage = e.vintage AND b.credit_batch_id IS NULL
                     WHERE e.transaction_id >= %s GROUP BY 1, 2
                    ON CONFLICT ON CONSTRAINT daily_balance_change_once
                    DO UPDATE SET change = accounts_dailybalancechange.change + EXCLUDED.change""", [first_tx])
                for table in ("accounts_ledgertransaction", "accounts_ledgerentry"):
                    pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT MAX(id) FROM {table}))")
        cursor.execute("ANALYZE accounts_ledgertransaction")
        cursor.execute("ANALYZE accounts_ledgerentry")
        cursor.execute("ANALYZE accounts_balance")
    return target, time.perf_counter() - start


# --- ledger clients (separate processes, one connection each) ----------------------------------------------

def _transfer_worker(args):
    worker, source_id, destination_id, seconds, run, hot = args
    connections.close_all()
    source, destination = HoldingAccount.objects.get(pk=source_id), HoldingAccount.objects.get(pk=destination_id)
    deadline, done, latencies = time.perf_counter() + seconds, 0, []
    unit = ledger.allowance(2026)
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        key = f"bench-{run}-{worker}-{done}"
        if hot:
            ledger.allocation_transfer(account=destination, vintage=2026, quantity=1, idempotency_key=key)
        else:
            a, b = (source, destination) if done % 2 == 0 else (destination, source)
            ledger.transfer_units(source=a, destination=b, unit=unit, quantity=1, idempotency_key=key)
        latencies.append(time.perf_counter() - began)
        done += 1
    connections.close_all()
    return done, latencies


def ledger_rate(clients: int, seconds: int, hot: bool):
    accounts = operator_accounts()[1:]  # not the page account
    run = f"{'hot' if hot else 'pair'}-{int(time.time())}"
    jobs = [(i, accounts[2 * i], accounts[2 * i + 1], seconds, run, hot) for i in range(clients)]
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_transfer_worker, jobs)
    total = sum(done for done, _ in results)
    latencies = sorted(latency for _, worker in results for latency in worker)
    return total / seconds, latencies


# --- pages -----------------------------------------------------------------------------------------------

def page_client(account_id):
    account = HoldingAccount.objects.select_related("organisation").get(pk=account_id)
    email = f"bench-viewer-{account.organisation_id}@example.jp"
    user = User.objects.filter(email=email).first() or services.user_create(acting_user=system_actor(), email=email, full_name="Benchmark",
                                                                             password=None)
    if not Membership.objects.filter(user=user, organisation=account.organisation, ended_at__isnull=True).exists():
        services.membership_create(acting_user=system_actor(), user=user, organisation=account.organisation, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    return client


def page_latency(client, url, requests):
    for _ in range(3):
        assert client.get(url).status_code == 200
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return p95(timings), statistics.median(timings), len(queries)


def search_latency():
    """The administrators' search over 1 M transactions: one query of each kind, best of 5."""
    from accounts.ledger.search import registry_search

    account = HoldingAccount.objects.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).order_by("pk").first()
    middle = LedgerTransaction.objects.order_by("pk").values_list("pk", flat=True)[500_000]
    for label, query in (("account number", account.number), ("transaction number", f"#{middle}"),
                         ("holder name", account.organisation.name[:4]), ("note word", "history")):
        runs = []
        for _ in range(5):
            began = time.perf_counter()
            results = registry_search(query)
            runs.append(time.perf_counter() - began)
        print(f"search by {label} ({query}): {min(runs) * 1000:.0f} ms, {len(results.accounts)} accounts, "
              f"{len(results.transactions)} transactions")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--search-only", action="store_true")
    options = parser.parse_args()
    if options.search_only:
        search_latency()
        return
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"database {connection.settings_dict['NAME']}")
    print(f"{len(operator_accounts())} operator holding accounts")

    total, loaded = load_history(options.history)
    print(f"history: {total:,} historical transactions ({loaded:.1f} s to load)")
    started = time.perf_counter()
    reconciliation = ledger.reconcile()
    print(f"reconciliation: {'clean' if reconciliation.clean else reconciliation.differences[:5]} "
          f"({time.perf_counter() - started:.1f} s over {LedgerTransaction.objects.count():,} transactions)")
    if not reconciliation.clean:
        sys.exit(1)

    ratios = []
    for round_number in range(1, options.rounds + 1):
        tps = pgbench_tps(options.clients, options.seconds)
        rate, latencies = ledger_rate(options.clients, options.seconds, hot=False)
        ratios.append(rate / tps)
        print(f"round {round_number}: pgbench tpcb-like, {options.clients} clients, {options.seconds} s: {tps:.0f} tps; "
              f"ledger transfers, {options.clients} clients over distinct accounts: {rate:.0f}/s "
              f"(p95 {p95(latencies) * 1000:.1f} ms) -> ratio {rate / tps:.2f}", flush=True)
    print(f"ratio to pgbench: median {statistics.median(ratios):.2f} over {len(ratios)} rounds "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}; goal >= 0.3)")
    # The reserve holds only what was issued into it (only the issuance account goes below zero): fill it
    # for the hot run first, as the allocation run will after an approved issuance.
    ledger.issue_allowances(vintage=2026, quantity=10**9, idempotency_key=f"benchmark-reserve-{int(time.time())}")
    hot_rate, hot_latencies = ledger_rate(options.clients, options.seconds, hot=True)
    print(f"allocation transfers out of the allocation reserve (one hot account), {options.clients} clients: "
          f"{hot_rate:.0f}/s (p95 {p95(hot_latencies) * 1000:.1f} ms; goal >= 50/s)")

    accounts = operator_accounts()
    for label, account_id in (("hot account (~20% of history)", accounts[0]), ("typical account", accounts[-1])):
        entries = HoldingAccount.objects.get(pk=account_id).entries.count()
        client = page_client(account_id)
        for page in ("holding_account_detail", "holding_account_history"):
            slow, median, queries = page_latency(client, reverse(page, args=[account_id]), options.requests)
            print(f"{page}, {label}, {entries:,} entries: p95 {slow * 1000:.1f} ms, median {median * 1000:.1f} ms, "
                  f"{queries} queries (goal p95 < 150 ms)")
    search_latency()
    print(f"reconciliation after the run: {'clean' if ledger.reconcile().clean else 'DIFFERENCES'}")


if __name__ == "__main__":
    main()

"""The market's order entry with 8 clients on one instrument (issue 14's benchmark).

    GX_DATABASE_NAME=gxregistry_national .venv/bin/python benchmarks/market_orders.py   # any migrated database

Each client is a process with its own participant (allowances and yen at GXA) entering limit orders around one
price through ``market.services.orders.order_enter`` — authorization and checks in the client, then through the
order gateway (``manage.py market_gateway``, started for the run, as ``make run`` starts it), which enters the
orders waiting a batch at a time: matching, reservations and the settlement of the batch's trades in the ledger —
on one instrument, so about half of them trade. Measured: orders
per second including matching and settlement, as a ratio to pgbench's TPC-B-like script on the same database in
the same run (goal >= 0.3), and the p95 latency of an order's entry (goal < 20 ms). The orders are entered at a
fixed moment inside the session (the services take ``now``), on an instrument of a far vintage made for the run,
after a few seconds of orders that are not measured (``--warmup``).
"""

import argparse
import multiprocessing
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")  # as in production: DEBUG's cursor logs and keeps every query
os.environ.setdefault("LOG_FORMAT", "json")  # as in production: the console format costs a trade ~0.1 ms more

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts import ledger, services  # noqa: E402
from accounts.models import CompliancePeriod, Organisation, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from accounts.services import system_actor  # noqa: E402
from accounts.validators import synthetic_corporate_number  # noqa: E402
from benchmarks.common import machine_cpu_seconds, p95, pgbench_tps, process_cpu_seconds  # noqa: E402
from gxregistry.errors import RegistryError  # noqa: E402
from gxregistry.management.commands.seed_demo import _code  # noqa: E402
from market import gateway  # noqa: E402
from market.models import Instrument, Order, Participant, Trade  # noqa: E402
from market.services import orders, participants  # noqa: E402

VINTAGE = 2090
SESSION = datetime(2090, 10, 3, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Tuesday
CLIENT_ALLOWANCES, CLIENT_YEN = 10**7, 10**11


def operator():
    return User.objects.filter(memberships__role=Role.MARKET_OPERATOR, memberships__ended_at__isnull=True).first()


def prepare(clients: int, run: str):
    """An instrument and ``clients`` funded participants for this run."""
    gxa = operator()
    instrument = Instrument.objects.filter(vintage=VINTAGE).first() or participants.instrument_create(
        vintage=VINTAGE, opens_on=date(VINTAGE, 4, 1), acting_user=gxa)
    CompliancePeriod.objects.get_or_create(fiscal_year=VINTAGE, defaults={
        "surrender_deadline": date(VINTAGE + 1, 11, 30), "upper_limit_price_yen": 10_000,
        "lower_limit_price_yen": 1_000})
    ledger.issue_allowances(vintage=VINTAGE, quantity=clients * CLIENT_ALLOWANCES, idempotency_key=f"bench-{run}")
    people = []
    for n in range(clients):
        organisation = services.organisation_create(
            kind=Organisation.Kind.REGULATED_ENTITY, name=f"Market benchmark {run} {n}", sector="steel",
            corporate_number=synthetic_corporate_number(int(run[1:]) % 10**6 * 100 + n, 8), acting_user=system_actor())
        user = services.user_create(email=f"bench-{run}-{n}@example.jp", full_name="Benchmark", password=None,
                                    acting_user=system_actor())
        services.membership_create(user=user, organisation=organisation, role=Role.AUTHORISED_REPRESENTATIVE,
                                   acting_user=system_actor())
        account = ledger.holding_account_open(kind="operator_holding", organisation=organisation,
                                              acting_user=system_actor())
        ledger.allocation_transfer(account=account, vintage=VINTAGE, quantity=CLIENT_ALLOWANCES,
                                   idempotency_key=f"bench-{run}-{n}")
        participant = participants.participant_join(organisation=organisation, rules_version=participants.RULES_VERSION,
                                                    acting_user=user)
        orders.cash_deposit(participant=participant, amount_yen=CLIENT_YEN, bank_reference=f"BENCH-{run}-{n}",
                            acting_user=gxa, otp_token=_code(gxa))
        people.append((participant.pk, user.pk))
    return instrument.pk, people


def _client(args):
    worker, instrument_id, participant_id, user_id, seconds, run = args
    connections.close_all()
    instrument, participant = Instrument.objects.get(pk=instrument_id), Participant.objects.get(pk=participant_id)
    user = User.objects.get(pk=user_id)
    rng, latencies, refused = random.Random(worker), [], 0  # noqa: S311 - prices for a benchmark
    backend = connection.connection.info.backend_pid
    own_cpu, server_cpu = time.process_time(), process_cpu_seconds(backend)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        try:
            orders.order_enter(participant=participant, instrument=instrument, side=rng.choice(["buy", "sell"]),
                               price_yen=rng.randint(2990, 3010), quantity=rng.randint(1, 20),
                               time_in_force="gtc", idempotency_key=f"{run}-{worker}-{len(latencies)}",
                               acting_user=user, now=SESSION)
        except RegistryError:
            refused += 1
        latencies.append(time.perf_counter() - began)
    own_cpu = time.process_time() - own_cpu
    server_cpu = None if server_cpu is None else process_cpu_seconds(backend) - server_cpu
    connections.close_all()
    return latencies, refused, own_cpu, server_cpu


# What a round writes to: vacuumed and analyzed before each, as autovacuum would in production (a server with it off
# plans the book's queries from the statistics of a smaller table: 2-3 times slower, docs/market.md).
WRITTEN = ["market_order", "market_orderhistory", "market_trade", "accounts_balance", "accounts_dailybalancechange",
           "accounts_ledgertransaction", "accounts_ledgerentry", "pghistory_context"]


def order_rate(clients, seconds, instrument_id, people, run, gateway_pids):
    jobs = [(i, instrument_id, people[i][0], people[i][1], seconds, f"{run}") for i in range(clients)]
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(WRITTEN)}")
    connections.close_all()
    gateway_cpu = [process_cpu_seconds(pid) for pid in gateway_pids]
    busy, began = machine_cpu_seconds(), time.perf_counter()
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        results = pool.map(_client, jobs)
    busy = machine_cpu_seconds() - busy
    latencies = sorted(latency for worker, *_ in results for latency in worker)
    server = [result[3] for result in results]
    cpu = {"machine": busy, "elapsed": time.perf_counter() - began, "clients": sum(result[2] for result in results),
           "backends": None if None in server else sum(server),
           "gateway": process_cpu_seconds(gateway_pids[0]) - gateway_cpu[0],
           "gateway backend": process_cpu_seconds(gateway_pids[1]) - gateway_cpu[1]}
    return len(latencies) / seconds, latencies, sum(result[1] for result in results), cpu


def _per(seconds, count):
    return "-" if seconds is None else f"{seconds / count * 1000:.2f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    # Orders entered before the first round, not measured: on a fresh database the market's tables are nearly empty
    # when the gateway's statements (and their foreign-key checks) are first planned, and those plans scan the tables
    # whole until the ANALYZE before the next round replans them (autovacuum's, within a minute, in production).
    parser.add_argument("--warmup", type=int, default=5, help="seconds of orders before the first round")
    options = parser.parse_args()
    print(f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"database {connection.settings_dict['NAME']}")
    if operator() is None:
        sys.exit("no market operator in this database: run the demo seed first")
    run = f"m{int(time.time())}"
    instrument_id, people = prepare(options.clients, run)
    settings.MARKET_GATEWAY_SOCKET = f"/tmp/gx-bench-gateway-{os.getpid()}.sock"  # noqa: S108 - the run's own
    process = subprocess.Popen([sys.executable, "manage.py", "market_gateway", "--socket",  # noqa: S603
                                settings.MARKET_GATEWAY_SOCKET], cwd=Path(__file__).resolve().parent.parent)
    try:
        gateway_pids = [process.pid, _gateway_backend()]
        if options.warmup:
            order_rate(options.clients, options.warmup, instrument_id, people, f"{run}-warmup", gateway_pids)
        ratios = _rounds(options, instrument_id, people, run, gateway_pids)
    finally:
        process.terminate()
        process.wait()
    print(f"ratio to pgbench: median {statistics.median(ratios):.2f} over {len(ratios)} rounds (goal >= 0.3); "
          f"open orders on the book: {Order.objects.filter(instrument_id=instrument_id, status='open').count()}")
    print(f"reconciliation after the run: {'clean' if ledger.reconcile().clean else 'DIFFERENCES'}")


def _gateway_backend() -> int:
    """The gateway's database backend, once it has connected (it connects for its first batch)."""
    for _attempt in range(100):
        try:
            with socket.socket(socket.AF_UNIX) as channel:
                channel.connect(settings.MARKET_GATEWAY_SOCKET)
                break
        except OSError:
            time.sleep(0.1)
    with connection.cursor() as cursor:
        for _attempt in range(100):
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [gateway.APPLICATION_NAME])
            row = cursor.fetchone()
            if row:
                return row[0]
            time.sleep(0.1)
    sys.exit("the gateway did not connect")


def _rounds(options, instrument_id, people, run, gateway_pids):
    ratios = []
    for round_number in range(1, options.rounds + 1):
        pgbench_cpu = []
        tps = pgbench_tps(options.clients, options.seconds, pgbench_cpu)
        trades_before = Trade.objects.filter(instrument_id=instrument_id).count()
        rate, latencies, refused, cpu = order_rate(options.clients, options.seconds, instrument_id, people,
                                                   f"{run}-{round_number}", gateway_pids)
        traded = Trade.objects.filter(instrument_id=instrument_id).count() - trades_before
        ratios.append(rate / tps)
        print(f"round {round_number}: pgbench tpcb-like, {options.clients} clients, {options.seconds} s: {tps:.0f} "
              f"tps; orders, {options.clients} clients on one instrument: {rate:.0f}/s ({traded} trades, {refused} "
              f"refused), p95 {p95(latencies) * 1000:.1f} ms, median {statistics.median(latencies) * 1000:.1f} ms "
              f"-> ratio {rate / tps:.2f}", flush=True)
        # When the machine is the bound (no core idle), the ratio is what a TPC-B transaction costs the machine
        # against what an order does; the clients' and their backends' shares say where an order's CPU goes.
        orders_entered = len(latencies)
        print(f"  CPU, all cores: a pgbench transaction {_per(pgbench_cpu[0], tps * options.seconds)} ms; an order "
              f"{_per(cpu['machine'], orders_entered)} ms (the Python clients {_per(cpu['clients'], orders_entered)} "
              f"ms, their database backends {_per(cpu['backends'], orders_entered)} ms, the gateway "
              f"{_per(cpu['gateway'], orders_entered)} ms, its backend {_per(cpu['gateway backend'], orders_entered)}"
              f" ms); cores busy {cpu['machine'] / cpu['elapsed'] / os.cpu_count():.0%}", flush=True)
    return ratios


if __name__ == "__main__":
    main()

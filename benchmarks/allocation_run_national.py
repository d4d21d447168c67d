"""An FY's allocation cycle at national scale: every entity applies, is computed and approved, the run issues
all of them and the workers make every notice; then the notice list's p95.

    bash benchmarks/seed_national.sh                 # once: builds the database gxregistry_national
    GX_DATABASE_NAME=gxregistry_national .venv/bin/python benchmarks/allocation_run_national.py [--fy 2028]

Goal (issue 12): 400 entities (compute, approve, issue, 400 notices) end to end with 2 workers under 60 s;
the notice list (an entity's dashboard, and the administrators' FY page) p95 under 100 ms.

The FY must have no application yet (the demo seed uses FY2026 and FY2027): the script opens its compliance
period, funds the reserve, walks every entity through the services, then starts ``manage.py qcluster`` with
2 workers and times the run from its start until the last notice is stored.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("GX_DATABASE_NAME", "gxregistry_national")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts import ledger  # noqa: E402
from accounts.models import Membership, Organisation, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from allocation.models import AllocationApplication, AllocationNotice, AllocationRun  # noqa: E402
from allocation.services import cycle  # noqa: E402
from gxregistry.management.commands.seed_demo import _code  # noqa: E402


def representative(entity):
    membership = Membership.objects.filter(organisation=entity, role=Role.AUTHORISED_REPRESENTATIVE,
                                           ended_at__isnull=True).select_related("user").first()
    return membership.user if membership else None


def p95(samples):
    return statistics.quantiles(samples, n=20)[-1] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fy", type=int, default=2028)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pages-only", action="store_true", help="measure the pages of an FY already run")
    fy = parser.parse_args().fy
    args = parser.parse_args()
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, database {connection.settings_dict['NAME']}")
    admin = User.objects.get(email="admin@meti.example.jp")
    admin2 = User.objects.get(email="admin2@meti.example.jp")
    entities = [e for e in Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by("pk")
                if representative(e) is not None]
    if args.pages_only:
        pages(fy, admin, representative(entities[0]), args.requests)
        return
    if AllocationApplication.objects.filter(fiscal_year=fy).exists():
        sys.exit(f"FY{fy} already has applications: choose another --fy")
    if cycle.period_or_none(fy) is None:
        cycle.compliance_period_save(fiscal_year=fy, surrender_deadline=date(fy + 1, 11, 30),
                                     upper_limit_price_yen=5000, lower_limit_price_yen=1700, credit_cap_share="0.1",
                                     acting_user=admin)

    start = time.perf_counter()
    applications = []
    for entity in entities:
        rep = representative(entity)
        application = cycle.application_create(organisation=entity, fiscal_year=fy, acting_user=rep)
        cycle.application_submit(application=application, acting_user=rep)
        applications.append(application)
    submitted = time.perf_counter()
    for application in applications:
        cycle.application_review_start(application=application, acting_user=admin)
        cycle.application_compute(application=application, acting_user=admin)
    computed = time.perf_counter()
    for application in applications:
        cycle.application_approve(application=application, acting_user=admin2, otp_token=_code(admin2))
    approved = time.perf_counter()
    print(f"{len(applications)} entities: applied and submitted {submitted - start:.1f} s; reviewed and computed "
          f"{computed - submitted:.1f} s; approved (four eyes, one code each) {approved - computed:.1f} s")

    plan = cycle.run_plan(fy)
    if plan.to_allocate > plan.reserve_holds:
        ledger.issue_allowances(vintage=fy, quantity=plan.to_allocate - plan.reserve_holds,
                                idempotency_key=f"benchmark-reserve-{fy}-{plan.to_allocate}")
    from django_q.brokers import get_broker

    # What the walk above queued (its e-mails, on the console here) and the seed's own jobs are not this run's:
    # the queue starts empty (django-q2's ORM broker, or Redis when REDIS_URL is set).
    get_broker().purge_queue()
    environment = {**os.environ, "Q_WORKERS": str(args.workers)}
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)  # the cluster's workers are up before the clock starts
        run_start = time.perf_counter()
        run = cycle.allocation_run_start(fiscal_year=fy, acting_user=admin, otp_token=_code(admin))
        issued_at = None
        while True:
            run.refresh_from_db()
            notices = AllocationNotice.objects.filter(application__fiscal_year=fy).count()
            if run.status != AllocationRun.Status.RUNNING and issued_at is None:
                issued_at = time.perf_counter()
            if issued_at is not None and notices >= run.done:
                break
            if time.perf_counter() - run_start > 900:
                sys.exit("gave up after 15 minutes")
            time.sleep(0.2)
        finished = time.perf_counter()
    finally:
        cluster.terminate()
        cluster.wait(30)
    print(f"run: {run.done}/{run.total} issued ({len(run.failures)} failures) in {issued_at - run_start:.1f} s; "
          f"{notices} notices stored {finished - run_start:.1f} s after the start with {args.workers} workers")
    print(f"end to end (apply to last notice): {finished - start:.1f} s; administrators' part (compute, approve, "
          f"run and notices): {finished - submitted:.1f} s")
    print(f"reconciliation clean: {ledger.reconcile().clean}")
    pages(fy, admin, representative(entities[0]), args.requests)


def pages(fy, admin, company, requests):
    """p95 of the FY page (administrators) and a company's dashboard with its notices."""
    from django_otp.plugins.otp_static.models import StaticDevice

    timings = {}
    targets = [("FY page (administrator)", admin, f"/allocation/{fy}/"),
               ("dashboard with notices (company)", company, "/dashboard/")]
    for label, user, url in targets:
        client = Client()
        client.force_login(user)
        _code(user)  # a demo device of the seed's, so the session passes the second factor
        device = StaticDevice.objects.filter(user=user).first()
        if device is not None:
            session = client.session
            session["otp_device_id"] = device.persistent_id
            session.save()
        samples, queries = [], []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):  # (a request resets connection.queries: count them here)
            client.get(url)
        for _ in range(requests):
            began = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - began)
        assert response.status_code == 200, (url, response.status_code)
        timings[label] = (p95(samples), statistics.median(samples) * 1000, len(queries))
    for label, (p95_ms, median_ms, query_count) in timings.items():
        print(f"{label}: p95 {p95_ms:.1f} ms, median {median_ms:.1f} ms, {query_count} SQL queries")


if __name__ == "__main__":
    main()

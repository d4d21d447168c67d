"""Verification at national scale: importing every entity's emissions report, and the public list of bodies.

    bash benchmarks/seed_national.sh                 # once: builds the database gxregistry_national
    .venv/bin/python benchmarks/verification_national.py [--fy 2029] [--requests 300]

Goals (issue 11): the national data set's emissions reports (400 entities, one line per facility, 10,000
lines) imported through ``emissions_lines_import`` (CSV, every row checked and computed, then written)
in under 60 s; the public list of registered bodies p95 under 100 ms.

The script migrates the database, then makes what it needs once (an administrator, one representative
for all entities, 60 registered bodies, a default factor) and, each run, deletes and re-imports its own
FY's reports, so it can be run again and again.
"""

import argparse
import csv
import io
import os
import platform
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("GX_DATABASE_NAME", "gxregistry_national")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from accounts import services  # noqa: E402
from accounts.models import Membership, Organisation, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from allocation.models import Facility, ProcessYear  # noqa: E402
from verification.models import EmissionFactor, EmissionsLine, EmissionsReport, VerificationBody  # noqa: E402
from verification.services import reports  # noqa: E402

BENCH_REP = "bench-reporter@example.jp"
BENCH_ADMIN = "bench-admin@example.jp"


def setup(fiscal_year: int):
    system = services.system_actor()
    administrator = User.objects.filter(email=BENCH_ADMIN).first() or services.user_create(
        email=BENCH_ADMIN, full_name="Bench Admin", password=None, acting_user=system)
    if not administrator.memberships.filter(ended_at__isnull=True).exists():
        meti = Organisation.objects.filter(kind=Organisation.Kind.REGISTRY_ADMINISTRATION).first() or \
            services.organisation_create(kind=Organisation.Kind.REGISTRY_ADMINISTRATION, name="経済産業省",
                                         acting_user=system)
        services.membership_create(user=administrator, organisation=meti, role=Role.REGISTRY_ADMINISTRATOR,
                                   acting_user=system)
    reporter = User.objects.filter(email=BENCH_REP).first() or services.user_create(
        email=BENCH_REP, full_name="Bench Reporter", password=None, acting_user=system)
    entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by("pk"))
    member_of = set(Membership.objects.filter(user=reporter, ended_at__isnull=True).values_list("organisation",
                                                                                                flat=True))
    for entity in entities:
        if entity.pk not in member_of:
            services.membership_create(user=reporter, organisation=entity, role=Role.AUTHORISED_REPRESENTATIVE,
                                       acting_user=system)
    if not EmissionFactor.objects.filter(fiscal_year=fiscal_year, code="city-gas").exists():
        reports.emission_factor_set(fiscal_year=fiscal_year, code="city-gas", name="都市ガス", name_en="City gas",
                                    unit="thousand Nm3", factor="2.05", accuracy_class="city_gas",
                                    acting_user=administrator)
    existing = VerificationBody.objects.filter(status="registered").count()
    for n in range(existing, 60):
        organisation = Organisation.objects.create(kind=Organisation.Kind.VERIFICATION_BODY,
                                                   name=f"ベンチ検証機関 {n:02d}", name_en=f"Bench Verification {n:02d}")
        VerificationBody.objects.create(organisation=organisation, status="registered",
                                        registration_number=f"GX-VB-B{n:03d}", registered_on=date(2026, 4, 1),
                                        valid_from=date(2026, 4, 1), valid_until=date(2031, 3, 31),
                                        scope="鉄鋼、化学", scope_en="Steel, chemicals")
    return reporter, entities


def files(entities, fiscal_year):
    """One CSV per entity, one line per facility (method 1 with the default factor), built beforehand."""
    latest = {}
    for facility, total in ProcessYear.objects.filter(fiscal_year=2025).values_list("process__facility").annotate(
            total=django.db.models.Sum("emissions_t")):
        latest[facility] = total
    by_entity = {}
    for facility in Facility.objects.filter(organisation__in=entities).order_by("code").values("pk", "code",
                                                                                               "organisation"):
        buffer = by_entity.setdefault(facility["organisation"], io.StringIO())
        if buffer.tell() == 0:
            csv.writer(buffer).writerow(reports.IMPORT_COLUMNS)
        activity = (latest.get(facility["pk"], Decimal(1000)) / Decimal("2.05")).quantize(Decimal("0.001"))
        values = {"facility_code": facility["code"], "kind": "energy", "source": "都市ガス",
                  "method": "activity_factor", "activity": str(activity), "emission_factor_code": "city-gas",
                  "instrument": "流量計", "instrument_tolerance_pct": "1.5"}
        csv.writer(buffer).writerow([values.get(name, "") for name in reports.IMPORT_COLUMNS])
    return {pk: buffer.getvalue().encode("cp932") for pk, buffer in by_entity.items()}


def import_all(reporter, entities, data, fiscal_year):
    EmissionsLine.objects.filter(report__fiscal_year=fiscal_year, report__created_by=reporter).delete()
    EmissionsReport.objects.filter(fiscal_year=fiscal_year, created_by=reporter).delete()
    start = time.perf_counter()
    lines = 0
    for entity in entities:
        report = reports.emissions_report_create(organisation=entity, fiscal_year=fiscal_year, acting_user=reporter)
        outcome = reports.emissions_lines_import(report=report, data=data[entity.pk], extension="csv",
                                                 dry_run=False, acting_user=reporter)
        assert outcome.ok, outcome.row_errors[:3]
        lines += len(outcome.rows)
        reports.emissions_report_submit(report=report, acting_user=reporter)
    return time.perf_counter() - start, lines


def public_list(requests: int):
    client = Client()
    client.get("/verification-bodies/")  # warm: templates compiled, connection open
    timings, queries = [], []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        client.get("/verification-bodies/")
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get("/verification-bodies/")
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    timings.sort()
    return timings[int(len(timings) * 0.95) - 1], statistics.median(timings), len(queries)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fy", type=int, default=2029)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    reporter, entities = setup(args.fy)
    facilities = Facility.objects.filter(organisation__in=entities).count()
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, database {connection.settings_dict['NAME']}")
    print(f"data: {len(entities)} entities, {facilities} facilities; FY{args.fy}")
    data = files(entities, args.fy)
    runs = []
    for n in range(args.rounds):
        seconds, lines = import_all(reporter, entities, data, args.fy)
        runs.append(seconds)
        print(f"import round {n + 1}: {lines:,} lines in {seconds:.1f} s ({lines / seconds:,.0f} lines/s)")
    print(f"import: best {min(runs):.1f} s, median {statistics.median(runs):.1f} s (goal < 60 s)")
    totals = EmissionsReport.objects.filter(fiscal_year=args.fy, created_by=reporter).aggregate(n=Count("pk"))
    print(f"reports submitted: {totals['n']}")
    p95, median, queries = public_list(args.requests)
    bodies = VerificationBody.objects.filter(registration_number__isnull=False).count()
    print(f"public list of {bodies} bodies: p95 {p95:.1f} ms, median {median:.1f} ms, {queries} SQL queries "
          f"(goal p95 < 100 ms)")


if __name__ == "__main__":
    main()

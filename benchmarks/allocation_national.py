"""Allocation of the national-scale data set, end to end from the database and engine alone.

    bash benchmarks/seed_national.sh                 # once: builds the database gxregistry_national
    GX_DATABASE_NAME=gxregistry_national .venv/bin/python benchmarks/allocation_national.py [--fy 2026]

Goal (issue 4): all 400 entities, 10,000 facilities, 30,000 processes in under 10 s on the
2-core machine, with a number of SQL queries that does not grow with the number of facilities.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("GX_DATABASE_NAME", "gxregistry_national")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Organisation  # noqa: E402
from allocation import adapter, engine, services  # noqa: E402
from allocation.models import Facility, Process  # noqa: E402


def timed(function, repeat=3):
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        runs.append(time.perf_counter() - start)
    return result, min(runs), statistics.median(runs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fy", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    fy = parser.parse_args().fy
    repeat = parser.parse_args().repeat
    entities = list(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).order_by("pk"))
    facilities = Facility.objects.filter(organisation__in=entities).count()
    processes = Process.objects.filter(facility__organisation__in=entities).count()
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, database {connection.settings_dict['NAME']}")
    print(f"data: {len(entities)} entities, {facilities} facilities, {processes} processes; FY{fy}")

    with CaptureQueriesContext(connection) as all_queries:
        results, best, median = timed(lambda: services.allocation_compute(organisations=entities, fiscal_year=fy),
                                      repeat)
    failures = [r for r in results.values() if isinstance(r, Exception)]
    total = sum(r.total for r in results.values() if not isinstance(r, Exception))
    per_run = len(all_queries.captured_queries) // repeat
    print(f"end to end from the database: best {best:.2f} s, median {median:.2f} s, {per_run} SQL queries per run, "
          f"{len(results) - len(failures)} allocated, {len(failures)} refused, {total:,} allowances")
    if failures:
        print("  first refusal:", failures[0])

    with CaptureQueriesContext(connection) as few_queries:
        services.allocation_compute(organisations=entities[:10], fiscal_year=fy)
    print(f"queries for 10 entities: {len(few_queries.captured_queries)}; for {len(entities)}: {per_run}")

    (inputs, benchmarks, parameters), load_best, _ = timed(
        lambda: (adapter.entity_inputs(entities), adapter.sector_benchmarks(), adapter.parameters()), repeat)
    print(f"adapter alone (database -> engine inputs): best {load_best:.2f} s")

    def engine_only():
        return [engine.allocate(e, fy, benchmarks, parameters) for e in inputs]

    _, engine_best, engine_median = timed(engine_only, repeat)
    print(f"engine alone, in memory: best {engine_best:.2f} s, median {engine_median:.2f} s")


if __name__ == "__main__":
    main()

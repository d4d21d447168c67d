"""The public pages at national scale: the transition-plan list, a plan page, a search by kana and an entity's
registry page, p95 over many requests, served from the cache and with the cache dropped before every request.

    bash benchmarks/seed_national.sh                 # once: builds the database gxregistry_national
    GX_DATABASE_NAME=gxregistry_national .venv/bin/python benchmarks/public_pages_national.py

Goal (issue 13): p95 under 100 ms for the list and the plan page on the national data set with 400 plans.

When the database has fewer than 400 accepted plans, the script first files them through the services, as the
demo seed does (every entity's FY2026 and FY2027 plans, filed, confirmed and accepted), and gives the entities
that have none a reading (kana), so the search has something to find.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
os.environ.setdefault("GX_DATABASE_NAME", "gxregistry_national")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import Organisation  # noqa: E402
from accounts.services import system_actor  # noqa: E402
from allocation import public  # noqa: E402
from gxregistry import notifications  # noqa: E402
from gxregistry.audit import audit_context  # noqa: E402
from gxregistry.management.commands.seed_demo import COMPANY_KANA, SECTOR_KANA, Command  # noqa: E402


def prepare(minimum: int) -> None:
    call_command("createcachetable")
    for index, entity in enumerate(Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY,
                                                               name_kana="").order_by("pk")):
        # Data preparation for the search, not an act of the registry: the reading the seed would have given.
        Organisation.objects.filter(pk=entity.pk).update(
            name_kana=f"{COMPANY_KANA[index % len(COMPANY_KANA)]}{SECTOR_KANA.get(entity.sector, 'コウギョウ')}")
    if public.plan_list().count() >= minimum:
        return
    started = time.perf_counter()
    seed = Command()
    seed.system = system_actor()
    with audit_context(job="benchmark"), notifications.quiet():
        seed._transition_plans()
    print(f"filed and accepted plans through the services in {time.perf_counter() - started:.0f} s")


def p95(samples):
    return statistics.quantiles(samples, n=20)[-1] * 1000


def measure(label, urls, requests, *, cold):
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    for url in urls:  # the process warmed up (templates, translations) and, unless cold, every page cached
        client.get(url)
    samples, queries = [], []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    for n in range(requests):
        url = urls[n % len(urls)]
        if cold:
            cache.clear()
        with connection.execute_wrapper(count):
            began = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - began)
        assert response.status_code == 200, (url, response.status_code)
    print(f"{label} ({'cache dropped before each request' if cold else 'from the cache'}): p95 {p95(samples):.1f} "
          f"ms, median {statistics.median(samples) * 1000:.1f} ms, {len(queries) / requests:.1f} SQL queries each")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--plans", type=int, default=400)
    args = parser.parse_args()
    print(f"{platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, database {connection.settings_dict['NAME']}")
    prepare(args.plans)
    rows = list(public.plan_list())
    print(f"{len(rows)} accepted plans (latest version per entity and FY) of "
          f"{Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY).count()} entities")
    rng = random.Random(13)  # noqa: S311 (the same sample of pages each run, not a secret)
    sample = rng.sample(rows, min(50, len(rows)))
    targets = [
        ("plan list", ["/transition-plans/"]),
        ("plan list, search by kana", ["/transition-plans/?q=かんさい", "/transition-plans/?q=セイテツ&fiscal_year=2026"]),
        ("plan page", [f"/transition-plans/{r['organisation_id']}/{r['fiscal_year']}/" for r in sample]),
        ("entity registry page", [f"/registry-report/entities/{r['organisation_id']}/" for r in sample]),
    ]
    for cold in (False, True):
        for label, urls in targets:
            measure(label, urls, args.requests, cold=cold)


if __name__ == "__main__":
    main()

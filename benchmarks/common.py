"""What several benchmarks share: pgbench's TPC-B-like rate on the same database, and the 95th percentile."""

import os
import re
import shutil
import statistics
import subprocess

from django.conf import settings
from django.db import connection


def pgbench_tps(clients: int, seconds: int) -> float:
    """pgbench's built-in TPC-B-like script with ``clients`` on the benchmark's own database (tables dropped after)."""
    params = connection.get_connection_params()
    env = {**os.environ, "PGHOST": str(params.get("host", "")), "PGUSER": params.get("user", "postgres"),
           "PGDATABASE": params.get("dbname") or settings.DATABASES["default"]["NAME"]}
    if params.get("password"):
        env["PGPASSWORD"] = params["password"]
    if params.get("port"):
        env["PGPORT"] = str(params["port"])
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    subprocess.run([binary, "-i", "-q", "-s", str(clients)], env=env, check=True, capture_output=True)  # noqa: S603
    try:
        run = subprocess.run([binary, "-n", "-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 2)),  # noqa: S603
                              "-T", str(seconds)], env=env, check=True, capture_output=True, text=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, "
                           "pgbench_tellers")
    return float(re.search(r"tps = ([\d.]+)", run.stdout).group(1))


def p95(values):
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)

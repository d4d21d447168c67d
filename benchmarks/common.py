"""What several benchmarks share: pgbench's TPC-B-like rate on the same database, the 95th percentile, and the
machine's CPU time (to say what a transaction costs when the machine, not a lock, is the bound)."""

import os
import re
import shutil
import statistics
import subprocess

from django.conf import settings
from django.db import connection


def machine_cpu_seconds() -> float:
    """CPU time all cores have spent busy since boot (Linux's /proc/stat: everything but idle and I/O wait)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal, *_ = (int(n) for n in stat.readline().split()[1:])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time of a process of this machine (a database server's backend), or None where it is not ours to read."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def pgbench_tps(clients: int, seconds: int, cpu: list | None = None) -> float:
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
        busy = machine_cpu_seconds()
        run = subprocess.run([binary, "-n", "-b", "tpcb-like", "-c", str(clients), "-j", str(min(clients, 2)),  # noqa: S603
                              "-T", str(seconds)], env=env, check=True, capture_output=True, text=True)
        if cpu is not None:  # the machine's busy CPU seconds during the run
            cpu.append(machine_cpu_seconds() - busy)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, "
                           "pgbench_tellers")
    return float(re.search(r"tps = ([\d.]+)", run.stdout).group(1))


def p95(values):
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)

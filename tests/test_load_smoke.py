"""A few seconds of the load test (benchmarks/locustfile.py) against a live server: every request of every kind
of user succeeds. The ten-minute run with 50 users is a benchmark (benchmarks/load_test.sh), not a test."""

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts import ledger
from accounts.roles import Role
from accounts.services import system_actor
from conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def _prepare_module():
    spec = importlib.util.spec_from_file_location("load_prepare", ROOT / "benchmarks" / "load_prepare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_short_load_run_makes_every_kind_of_request_without_an_error(live_server, make_user, make_organisation,
                                                                        tmp_path):
    companies = []
    for n in range(2):
        entity = make_organisation(name=f"負荷試験{n}")
        account = ledger.holding_account_open(kind="operator_holding", organisation=entity, acting_user=system_actor())
        ledger.issue_allowances(vintage=2026, quantity=500, idempotency_key=f"load-issue-{n}")
        ledger.allocation_transfer(account=account, vintage=2026, quantity=500, idempotency_key=f"load-alloc-{n}")
        companies.append((make_user(Role.AUTHORISED_REPRESENTATIVE, entity), account))
    companies = [(user, account, companies[1 - i][1], 2026) for i, (user, account) in enumerate(companies)]
    identities = tmp_path / "identities.json"
    _prepare_module().write_identities(identities, password=PASSWORD, companies=companies,
                                       administrators=[make_user(Role.REGISTRY_ADMINISTRATOR)],
                                       searches=["負荷"], codes_per_user=50)
    run = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "benchmarks/locustfile.py", "--headless", "--users", "9",
         "--spawn-rate", "9", "--run-time", "8s", "--host", live_server.url, "--csv", str(tmp_path / "load"),
         "--only-summary", "--loglevel", "WARNING"],
        cwd=ROOT, env={**os.environ, "LOCUST_IDENTITIES": str(identities), "LOCUST_WAIT": "0.05,0.2"}, capture_output=True, text=True,
        timeout=120)
    rows = {row["Name"]: row for row in csv.DictReader((tmp_path / "load_stats.csv").open())}
    total = rows.pop("Aggregated")
    assert run.returncode == 0 and total["Failure Count"] == "0", run.stderr[-3000:]
    assert int(total["Request Count"]) > 20
    assert {"/registry-report/", "/dashboard/", "/administration/search/?q=", "/two-factor/verify/ (post)"} <= set(rows)

"""The restore drill: back up, keep booking, restore into a fresh cluster; the restored ledger reconciles and
holds exactly the balances of the moment of the backup. A damaged backup and a non-empty target are refused."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from accounts import ledger
from accounts.models import Balance
from accounts.services import system_actor
from gxregistry import backup
from tests.pg_clusters import Cluster

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def _book(make_organisation, n):
    account = ledger.holding_account_open(kind="operator_holding", organisation=make_organisation(),
                                          acting_user=system_actor())
    ledger.issue_allowances(vintage=2026, quantity=1000 * n, idempotency_key=f"drill-issue-{n}")
    ledger.allocation_transfer(account=account, vintage=2026, quantity=400 * n, idempotency_key=f"drill-alloc-{n}")


def _balances(rows):
    return sorted((account, unit, vintage, quantity) for account, unit, vintage, quantity in rows if quantity)


@pytest.fixture
def fresh_cluster():
    cluster = Cluster()
    cluster.initdb()
    cluster.start()
    yield cluster
    cluster.stop()


def test_a_backup_restores_into_a_fresh_cluster_with_the_balances_at_backup_time(
        make_organisation, tmp_path, fresh_cluster):
    _book(make_organisation, 1)
    _book(make_organisation, 2)
    storages["private"].save("drill/evidence.pdf", ContentFile(b"%PDF-1.7 evidence kept outside the database"))
    at_backup = _balances(Balance.objects.values_list("account_id", "unit_type", "vintage", "quantity"))
    call_command("registry_backup", str(tmp_path / "backups"))
    (folder,) = (tmp_path / "backups").iterdir()
    _book(make_organisation, 3)  # after the backup: not in it
    assert _balances(Balance.objects.values_list("account_id", "unit_type", "vintage", "quantity")) != at_backup

    result = fresh_cluster.run("createdb", "-h", str(fresh_cluster.data), "-p", fresh_cluster.PORT, "-U", "postgres",
                               "restored")
    assert result.returncode == 0, result.stderr
    files = tmp_path / "restored-files"
    env = {**os.environ, "GX_ENV": "development", "DATABASE_URL": fresh_cluster.url("restored"),
           "DJANGO_PRIVATE_MEDIA_ROOT": str(files)}
    restore = subprocess.run([sys.executable, "manage.py", "registry_restore", str(folder)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert restore.returncode == 0, restore.stderr
    assert "Ledger reconciles." in restore.stdout
    with psycopg.connect(host=str(fresh_cluster.data), port=fresh_cluster.PORT, user="postgres",
                         dbname="restored") as restored:
        rows = restored.execute("SELECT account_id, unit_type, vintage, quantity FROM accounts_balance").fetchall()
    assert _balances(rows) == at_backup
    assert (files / "drill" / "evidence.pdf").read_bytes().startswith(b"%PDF-1.7 evidence")


def test_a_damaged_backup_and_a_database_that_is_not_empty_are_refused(make_organisation, tmp_path):
    _book(make_organisation, 1)
    folder = backup.backup(tmp_path)
    with pytest.raises(CommandError, match="is not empty"):
        call_command("registry_restore", str(folder))
    with (folder / backup.DUMP).open("ab") as dump:
        dump.write(b"\0")
    with pytest.raises(CommandError, match="does not match its SHA-256"):
        call_command("registry_restore", str(folder))

"""The production settings mode and the demo-data command, as an operator runs them."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Membership, Organisation, User
from allocation.models import Facility, Process, ProcessYear

ROOT = Path(__file__).resolve().parent.parent


def test_production_mode_passes_check_deploy_with_no_warnings():
    env = {
        "PATH": os.environ["PATH"],
        "GX_ENV": "production",
        "DJANGO_SECRET_KEY": "x" * 30 + "production-secret-key-for-the-check-only-9f8e7d",
        "DJANGO_ALLOWED_HOSTS": "registry.example.go.jp",
        # Never connected to: check --deploy runs no database checks.
        "DATABASE_URL": "postgres://registry@127.0.0.1:1/registry",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = {"PATH": os.environ["PATH"], "GX_ENV": "production", "DATABASE_URL": "postgres://r@127.0.0.1:1/r"}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def counts():
    return {model.__name__: model.objects.count()
            for model in (Organisation, User, Membership, Facility, Process, ProcessYear)}


@pytest.mark.django_db
def test_seed_demo_twice_neither_fails_nor_duplicates():
    call_command("seed_demo", entities=4, quiet_users=True, stdout=io.StringIO())
    first = counts()
    assert first["Organisation"] >= 4 and first["Facility"] >= 4 and first["ProcessYear"] > 0
    call_command("seed_demo", entities=4, quiet_users=True, stdout=io.StringIO())
    assert counts() == first


@pytest.mark.django_db
def test_seed_demo_builds_the_requested_size():
    call_command("seed_demo", entities=5, facilities=12, processes=30, quiet_users=True,
                 stdout=io.StringIO())
    entities = Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY)
    assert entities.count() == 5
    assert Facility.objects.count() == 12
    assert Process.objects.count() == 30
    assert set(ProcessYear.objects.values_list("fiscal_year", flat=True)) == {2023, 2024, 2025}

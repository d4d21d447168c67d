"""Two django-q2 worker clusters on one Redis, as on two worker machines: an FY's allocation run and its notices
are shared between them, and killing one mid-job loses no job (``gxregistry.jobs.resume_lost`` queues it again)
and books nothing twice."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf

from accounts import ledger
from accounts.models import LedgerTransaction
from allocation.models import AllocationApplication, AllocationNotice, AllocationRun
from allocation.services import cycle
from allocation.tests.test_services_cycle import Cycle, holding
from conftest import fresh_code
from gxregistry import jobs
from gxregistry.models import Job

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
ENTITIES = 12


def _database_url() -> str:
    settings = connection.settings_dict
    host = quote(settings["HOST"], safe="") if settings["HOST"].startswith("/") else settings["HOST"]
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{settings['USER']}@{host}{port}/{settings['NAME']}"


class WorkerCluster:
    """``manage.py qcluster`` in its own process group, as a worker machine named ``node`` would run it."""

    def __init__(self, node, queue, tmp_path):
        self.node, self.log = node, tmp_path / f"{node}.log"
        env = {**os.environ, "GX_ENV": "development", "DATABASE_URL": _database_url(), "REDIS_URL": REDIS_URL,
               "Q_CLUSTER_NAME": queue, "GX_NODE": node, "Q_WORKERS": "2", "LOG_FORMAT": "console"}
        self.process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                        stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)

    def wait_running(self, timeout=60):
        deadline = time.monotonic() + timeout
        while "running" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"{self.node} did not start: {self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def freeze_in_the_middle_of_a_job(self, timeout=120):
        """Stop the cluster (SIGSTOP) at a moment it holds a started, unfinished job, having finished another."""
        mine = Job.objects.filter(started_on__startswith=self.node)
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, f"{self.node} was never caught in the middle of a job"
            if mine.filter(finished_at__isnull=False).exists() and mine.filter(finished_at__isnull=True).exists():
                os.killpg(self.process.pid, signal.SIGSTOP)
                time.sleep(0.2)  # a write already on its way lands
                if mine.filter(finished_at__isnull=True).exists():
                    return
                os.killpg(self.process.pid, signal.SIGCONT)  # it had just finished: let it go on
            time.sleep(0.02)

    def kill(self):
        """The machine is lost: the cluster and its workers die at once (SIGKILL, no clean shutdown)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _wait(condition, what, timeout=120, interval=0.2):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


@pytest.fixture
def redis_queue(monkeypatch):
    """This process queues on Redis (not in-process, as the rest of the suite does), on a queue of its own."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    client = redis.from_url(REDIS_URL)
    client.ping()
    for name, value in (("SYNC", False), ("ORM", None), ("REDIS", REDIS_URL), ("CLUSTER_NAME", queue)):
        monkeypatch.setattr(Conf, name, value)
    yield queue
    for key in client.scan_iter(f"django_q:{queue}:*"):
        client.delete(key)


@pytest.mark.django_db(transaction=True)
def test_two_clusters_share_a_run_and_losing_one_loses_no_job_and_books_nothing_twice(
        make_user, make_organisation, redis_queue, tmp_path):
    fy = Cycle(make_user, make_organisation, more=ENTITIES - 2)
    fy.open_period()
    applications = [fy.approved(index) for index in range(ENTITIES)]
    total = sum(application.computed_total for application in applications)
    fy.fund_reserve(total)
    reserve_before = ledger.reconcile()
    assert reserve_before.clean

    # Machine A takes the run and its first jobs alone (so it surely holds some), and is lost in the middle of
    # one; machine B, started then, takes what is left on the queue.
    machine_a = WorkerCluster("machine-a", redis_queue, tmp_path)
    machine_b = None
    try:
        machine_a.wait_running()
        run = cycle.allocation_run_start(fiscal_year=fy.fiscal_year, acting_user=fy.admin,
                                         otp_token=fresh_code(fy.admin))
        machine_a.freeze_in_the_middle_of_a_job()
        machine_a.kill()
        lost_at = timezone.now()
        machine_b = WorkerCluster("machine-b", redis_queue, tmp_path)
        machine_b.wait_running()
        # What the every-minute schedule does, without waiting for the cluster's timeout: jobs machine A had
        # started or pulled are found once machine B has emptied the queue.
        _wait(lambda: jobs._queue_size() == 0, "machine B to empty the queue")
        time.sleep(2)  # machine B finishes what it holds
        resumed = jobs.resume_lost(started_before=lost_at, unstarted_before=timezone.now())
        _wait(lambda: not Job.objects.filter(finished_at__isnull=True).exists(), "every job to finish")
    finally:
        machine_a.kill()
        if machine_b is not None:
            machine_b.kill()

    assert resumed >= 1, "machine A was lost holding no job: the test did not exercise a loss"
    run.refresh_from_db()
    assert (run.status, run.done, run.total, run.failures) == (AllocationRun.Status.FINISHED, ENTITIES, ENTITIES, [])
    nodes = {job.started_on.split(":")[0] for job in Job.objects.all()}
    assert nodes == {"machine-a", "machine-b"}
    assert not Job.objects.exclude(error="").exists()
    # Nothing lost, nothing twice: one booking and one notice per application, the allocations where they belong.
    for application, account in zip(applications, fy.accounts, strict=True):
        application.refresh_from_db()
        assert application.status == AllocationApplication.Status.ISSUED
        assert LedgerTransaction.objects.filter(idempotency_key=f"allocation-{application.pk}").count() == 1
        assert holding(account) == application.computed_total
    assert AllocationNotice.objects.filter(application__in=applications).count() == ENTITIES
    assert ledger.reconcile().clean

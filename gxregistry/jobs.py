"""Background jobs that survive the loss of a worker machine.

Each job is queued on django-q2 (Redis when ``REDIS_URL`` is set, so workers on any machine share the queue) and
recorded as a ``gxregistry.models.Job`` row. A worker marks the row started (with its machine and process) and
finished. ``resume_lost`` — a django-q2 schedule every minute — queues again a job started longer ago than the
cluster's timeout (its worker died: a live one would have been stopped by then) or queued long ago, never
started, while the broker's queue is empty (a dead cluster had pulled it). The jobs themselves are idempotent,
so a job run twice books nothing twice. After ``MAX_ATTEMPTS`` a job is left finished with its error, for the
administrators (back office, "Job records").
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from importlib import import_module

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from gxregistry.models import Job

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 3
UNSTARTED_AFTER = timedelta(minutes=2)  # a job queued this long ago, never started, with the queue empty, is lost
KEEP_FINISHED = timedelta(days=30)  # django-q2 keeps the results; these rows only say what ran where


def node() -> str:
    """This machine and process, as the job rows and the logs name them (``GX_NODE`` names a container)."""
    return f"{os.environ.get('GX_NODE') or socket.gethostname()}:{os.getpid()}"


def enqueue(func: str, *args, key: str) -> None:
    """Queue ``func(*args)`` once the current transaction commits; ``key`` names the job (queueing a key again
    while it is unfinished queues it again, which is harmless: jobs are idempotent)."""
    now = timezone.now()
    Job.objects.update_or_create(key=key, defaults={"func": func, "args": list(args), "enqueued_at": now,
                                                    "finished_at": None, "error": ""})
    # robust: a broker that is down at commit time must not turn a committed act into an error page; the row
    # stays unstarted and resume_lost queues it once the broker answers.
    transaction.on_commit(lambda: _queue(key), robust=True)


def _queue(key: str) -> None:
    from django_q.tasks import async_task

    async_task("gxregistry.jobs.run", key, task_name=key)


def run(key: str):
    """The django-q2 task: run the job's function unless it has finished; record who ran it and when."""
    job = Job.objects.filter(key=key).first()
    if job is None or job.finished_at is not None:
        return "already finished"
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now(), started_on=node(), attempts=F("attempts") + 1)
    module, name = job.func.rsplit(".", 1)
    try:
        result = getattr(import_module(module), name)(*job.args)
    except Exception as error:
        Job.objects.filter(pk=job.pk).update(error=f"{type(error).__name__}: {error}")
        if job.attempts + 1 >= MAX_ATTEMPTS:
            Job.objects.filter(pk=job.pk).update(finished_at=timezone.now())
        raise
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now(), error="")
    return result


def _queue_size() -> int:
    from django_q.brokers import get_broker

    return get_broker().queue_size() or 0


def lost(*, now=None, started_before=None, unstarted_before=None, queue_empty=None):
    """Unfinished jobs whose worker is gone: started before ``started_before`` (default: the cluster's timeout
    ago), or never started and queued before ``unstarted_before`` while nothing waits in the broker's queue."""
    now = now or timezone.now()
    started_before = started_before or now - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)
    unstarted_before = unstarted_before or now - UNSTARTED_AFTER
    queue_empty = _queue_size() == 0 if queue_empty is None else queue_empty
    condition = Q(started_at__lt=started_before)
    if queue_empty:
        condition |= Q(started_at__isnull=True, enqueued_at__lt=unstarted_before)
    return Job.objects.filter(condition, finished_at__isnull=True)


def resume_lost(**thresholds) -> int:
    """Queue the lost jobs again (the schedule's task); returns how many. Forgets jobs finished long ago."""
    Job.objects.filter(finished_at__lt=timezone.now() - KEEP_FINISHED).delete()
    keys = list(lost(**thresholds).values_list("key", flat=True))
    for key in keys:
        Job.objects.filter(key=key).update(enqueued_at=timezone.now(), started_at=None)
        _queue(key)
        log.warning("job_requeued", job=key)
    return len(keys)

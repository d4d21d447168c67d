"""What operations watch: liveness and readiness (django-health-check) and Prometheus metrics
(django-prometheus), with the registry's own gauges. See docs/operations.md.

Both answer without a sign-in and show nothing secret: the health answers name each check and whether it
passed; the metrics are counts and durations, reachable only from ``METRICS_ALLOWED_IPS``.
"""

from __future__ import annotations

import dataclasses
import shutil

from django.conf import settings
from django.db import connections
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView
from prometheus_client.core import GaugeMetricFamily

MIN_FREE_DISK_BYTES = 1024**3  # below 1 GiB of free space the registry stops being ready (uploads, WAL, logs)
MAX_REPLICA_LAG_SECONDS = 30


@never_cache
def live(request):
    """The process is up and answers; nothing else is checked (the orchestrator restarts it if not)."""
    return JsonResponse({"status": "ok"})


@dataclasses.dataclass
class DiskSpace(HealthCheck):
    """Free space where the registry writes files (evidence, plan documents)."""

    def run(self):
        free = shutil.disk_usage(settings.STORAGES["private"]["OPTIONS"]["location"]).free
        if free < MIN_FREE_DISK_BYTES:
            raise ServiceWarning(f"{free // 1024**2} MiB free")


@dataclasses.dataclass
class ReplicaLag(HealthCheck):
    """How far the read replica is behind, when there is one (DATABASE_REPLICA_URL)."""

    def run(self):
        if "replica" not in settings.DATABASES:
            return
        try:
            with connections["replica"].cursor() as cursor:
                cursor.execute("SELECT COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)")
                lag = float(cursor.fetchone()[0])
        except Exception as error:
            raise ServiceUnavailable("replica unreachable") from error
        if lag > MAX_REPLICA_LAG_SECONDS:
            raise ServiceWarning(f"replica {lag:.0f} s behind")


@dataclasses.dataclass
class Broker(HealthCheck):
    """The job queue's broker: Redis when REDIS_URL is set, else the database (checked by Database)."""

    def run(self):
        if not settings.REDIS_URL:
            return
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        except Exception as error:
            raise ServiceUnavailable("broker unreachable") from error


READY_CHECKS = ("health_check.checks.Database", "health_check.checks.Cache", "gxregistry.operations.Broker",
                "gxregistry.operations.ReplicaLag", "gxregistry.operations.DiskSpace")


class ReadyView(HealthCheckView):
    """Ready to serve: database, replica lag, cache, broker and disk; always JSON."""

    checks = READY_CHECKS

    async def get(self, request, *args, **kwargs):
        request.GET = request.GET.copy()
        request.GET["format"] = "json"
        return await super().get(request, *args, **kwargs)


def metrics(request):
    """Prometheus metrics, for the monitoring's addresses only (others get the 404 any unknown page gets)."""
    from django_prometheus.exports import ExportToDjangoView

    if request.META.get("REMOTE_ADDR") not in settings.METRICS_ALLOWED_IPS:
        raise Http404
    return ExportToDjangoView(request)


class RegistryCollector:
    """The registry's own gauges, read when Prometheus scrapes: queued and unfinished jobs, ledger bookings, the
    last scheduled reconciliation's outcome and age."""

    def describe(self):  # without it, registering would collect (query the database) at start-up
        yield GaugeMetricFamily("gxregistry_jobs_queued", "Background jobs waiting in the django-q2 queue")
        yield GaugeMetricFamily("gxregistry_ledger_transactions", "Ledger transactions booked (highest number)")
        yield from self._reconciliation_families()
        yield GaugeMetricFamily("gxregistry_jobs_unfinished", "Recorded background jobs not finished")

    @staticmethod
    def _reconciliation_families():
        return (GaugeMetricFamily("gxregistry_ledger_reconciliation_clean",
                                  "1 if the last scheduled ledger reconciliation found no difference, else 0"),
                GaugeMetricFamily("gxregistry_ledger_reconciliation_age_seconds",
                                  "Seconds since the last scheduled ledger reconciliation finished"))

    def collect(self):
        from django.db.models import Max
        from django.utils import timezone
        from django_q.brokers import get_broker
        from django_q.models import Task

        from accounts.models import LedgerTransaction
        from gxregistry.models import Job

        queued = GaugeMetricFamily("gxregistry_jobs_queued", "Background jobs waiting in the django-q2 queue")
        try:
            queued.add_metric([], get_broker().queue_size() or 0)
        except Exception:  # noqa: BLE001 (the scrape goes on; the health check reports the broker)
            queued.add_metric([], float("nan"))
        yield queued
        booked = GaugeMetricFamily("gxregistry_ledger_transactions", "Ledger transactions booked (highest number)")
        booked.add_metric([], LedgerTransaction.objects.aggregate(n=Max("pk"))["n"] or 0)
        yield booked
        clean, age = self._reconciliation_families()
        last = (Task.objects.filter(func="accounts.tasks.reconcile_and_alert", success=True)
                .order_by("-stopped").first())
        if last is not None:  # nothing to report before the first nightly run
            clean.add_metric([], 1 if getattr(last.result, "clean", False) else 0)
            age.add_metric([], (timezone.now() - last.stopped).total_seconds())
        yield clean
        yield age
        unfinished = GaugeMetricFamily("gxregistry_jobs_unfinished", "Recorded background jobs not finished")
        unfinished.add_metric([], Job.objects.filter(finished_at__isnull=True).count())
        yield unfinished


_registered = False


def register_collector() -> None:
    global _registered
    if not _registered:
        from prometheus_client import REGISTRY

        REGISTRY.register(RegistryCollector())
        _registered = True

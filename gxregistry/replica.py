"""The public pages read from the streaming replica when there is one (``DATABASE_REPLICA_URL``).

Only views marked with ``PublicReadMixin`` (the registry report, transition plans, the verification-body list,
the notice verify page, the public API) read there; everything else, every write and every lock, goes to the
primary. A browser that has just changed something (any POST, PUT, PATCH or DELETE) carries a short-lived
cookie, and its public pages read from the primary until the replica has surely caught up, so a user sees
their own change. The public pages' cache records the primary's WAL position at each change of public data
(``public_cache``); a page missing from the cache is rendered on the replica only once it has replayed that
far, so a lagging replica never fills the cache with a page older than the change that dropped it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
STICKY_COOKIE = "gx_primary"
_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)


def configured() -> bool:
    return REPLICA in connections.settings


class ReplicaRouter:
    """Django's database router: reads inside ``replica_reads`` go to the replica; all else to the primary."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label == "django_cache":
            return None  # the database cache (without Redis) is read where it is written: it must not lag
        return REPLICA if _reading_replica.get() else None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows: an object read there relates to one read here

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False  # a standby is read-only: migrations reach it through replication
        return None


@contextmanager
def replica_reads(request=None):
    """Reads go to the replica here, unless there is none or ``request`` comes from a browser that just wrote."""
    use = configured() and not (request is not None and request.COOKIES.get(STICKY_COOKIE))
    token = _reading_replica.set(use)
    try:
        yield use
    finally:
        _reading_replica.reset(token)


@contextmanager
def primary_reads():
    token = _reading_replica.set(False)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def reading_replica() -> bool:
    return _reading_replica.get()


def primary_position() -> str:
    """The primary's current WAL position (after a commit: at or past that commit)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replica_has_replayed(position: str) -> bool:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", [position])
        return cursor.fetchone()[0]


class PublicReadMixin:
    """For a public, read-only view: its GET and HEAD read from the replica (the response is rendered here, so
    the template's queries do too)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return super().dispatch(request, *args, **kwargs)
        with replica_reads(request):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response


class RecentWriteMiddleware:
    """After a request that may have changed something, this browser reads from the primary for a while."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and configured():
            response.set_cookie(STICKY_COOKIE, "1", max_age=settings.REPLICA_STICKY_SECONDS, httponly=True,
                                samesite="Lax", secure=request.is_secure())
        return response

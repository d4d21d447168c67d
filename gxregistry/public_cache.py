"""The public pages' cache: each page's content is kept per URL and language, and all of it is dropped when
what the public reads changes (a plan accepted, verified emissions, a surrender, an allocation issued).

Only the page's content is cached, never the whole response: the header (the sign-in state, the language
form's CSRF token) is rendered for each request, so a cached page serves everyone. Invalidation is a version
number in the cache (Redis across web machines, the database cache otherwise) that the receivers below bump
when a public model is saved; a bulk update that bypasses them is caught by the timeout.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.translation import get_language

from gxregistry import replica

VERSION_KEY = "public-pages:version"
POSITION_KEY = "public-pages:primary-position"  # the primary's WAL position at the last change of public data
TIMEOUT = 600  # seconds: the longest a change missed by the receivers stays unseen
PUBLIC_MODELS = ("accounts.Organisation", "accounts.VerifiedEmissions", "accounts.SurrenderRecord",
                 "accounts.UpperLimitPayment", "accounts.PenaltyAssessment", "accounts.CompliancePeriod",
                 "accounts.HoldingAccount", "allocation.AllocationApplication", "allocation.TransitionPlan",
                 "verification.VerificationBody")
PAGE_TEMPLATE = "public_page.html"


def version() -> int:
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        current = cache.get(VERSION_KEY, 1)
    return current


def public_data_changed(**_kwargs) -> None:
    """Drop every cached public page once the current transaction commits."""
    def bump():
        if replica.configured():  # before the new version: no page of it is rendered from an older replica
            cache.set(POSITION_KEY, replica.primary_position(), timeout=None)
        try:
            cache.incr(VERSION_KEY)
        except ValueError:  # not there (evicted, or never read): the next reader starts a new one
            cache.add(VERSION_KEY, 1, timeout=None)
    transaction.on_commit(bump)


def connect() -> None:
    from django.apps import apps

    for label in PUBLIC_MODELS:
        model = apps.get_model(label)
        post_save.connect(public_data_changed, sender=model, dispatch_uid=f"public-cache-save-{label}")
        post_delete.connect(public_data_changed, sender=model, dispatch_uid=f"public-cache-delete-{label}")


class PublicCachedPageMixin(replica.PublicReadMixin):
    """For a public TemplateView: ``content_template`` is rendered from ``get_content_context()`` (which may raise
    Http404, never cached) and kept; ``PAGE_TEMPLATE`` puts it into the registry's layout for each request.
    Read from the replica when there is one and it has replayed the last change of public data."""

    content_template: str = ""

    def get_content_context(self) -> dict:
        raise NotImplementedError

    def cache_key(self) -> str:
        path = hashlib.sha256(self.request.get_full_path().encode()).hexdigest()[:32]
        return f"public-pages:{version()}:{get_language()}:{path}"

    def get(self, request, *args, **kwargs):
        key = self.cache_key()
        parts = cache.get(key)
        if parts is None:
            position = cache.get(POSITION_KEY) if replica.reading_replica() else None
            with (replica.primary_reads() if position and not replica.replica_has_replayed(position)
                  else nullcontext()):
                context = self.get_content_context()
                parts = {"title": str(context.get("title", "")),
                         "content": render_to_string(self.content_template, context)}
            cache.set(key, parts, TIMEOUT)
        return TemplateResponse(request, PAGE_TEMPLATE, parts)

"""E-mail to the people a state waits for (Django's mail framework: console in development, SMTP from the
environment in production). Sent after the act's transaction commits, so nobody hears of an act that rolled
back. Subjects start with the action needed; the body links to the page, in Japanese then English (the
registry holds no language preference per person)."""

import contextlib
import contextvars

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction

from accounts.roles import Role

_quiet = contextvars.ContextVar("gx_notifications_quiet", default=False)


@contextlib.contextmanager
def quiet():
    """No e-mail for the acts inside (the demo seed's: they are nobody's news)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def people(*, organisation=None, roles=None, administrators=False, excluding=()) -> list[str]:
    """E-mail addresses of the active members of ``organisation`` (in ``roles``) or of METI's administrators."""
    from accounts.models import Membership

    memberships = Membership.objects.filter(ended_at__isnull=True, suspended_at__isnull=True, user__is_active=True)
    if administrators:
        memberships = memberships.filter(role=Role.REGISTRY_ADMINISTRATOR)
    else:
        memberships = memberships.filter(organisation=organisation)
        if roles:
            memberships = memberships.filter(role__in=roles)
    return sorted(set(memberships.exclude(user__in=[u.pk for u in excluding]).values_list("user__email", flat=True)))


def notify(recipients: list[str], *, subject_ja: str, subject_en: str, body_ja: str, body_en: str, path: str) -> None:
    """One e-mail to each recipient once the current transaction commits."""
    if not recipients or _quiet.get():
        return
    link = settings.REGISTRY_PUBLIC_URL.rstrip("/") + path
    subject = f"[GX-ETS] {subject_ja} / {subject_en}"
    body = f"{body_ja}\n{link}\n\n{body_en}\n{link}\n"
    transaction.on_commit(lambda: send_mass_mail([(subject, body, None, [to]) for to in recipients]))

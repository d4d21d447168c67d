"""E-mail to the people a state waits for (Django's mail framework: console in development, SMTP from the
environment in production). Sent by a background job queued when the act's transaction commits, so nobody
hears of an act that rolled back, and a mail server that is down delays the e-mail, not the act. Subjects start
with the action needed; the body links to the page; each person reads it in their language (``User.language``,
the one they last chose on a page)."""

import contextlib
import contextvars
import uuid

from django.conf import settings
from django.core.mail import send_mass_mail
from django.utils import translation

from accounts.roles import Role
from gxregistry import jobs

_quiet = contextvars.ContextVar("gx_notifications_quiet", default=False)


@contextlib.contextmanager
def quiet():
    """No e-mail for the acts inside (the demo seed's: they are nobody's news)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def people(*, organisation=None, roles=None, administrators=False, excluding=()) -> list[tuple[str, str]]:
    """(e-mail, language) of the active members of ``organisation`` (in ``roles``) or of METI's administrators."""
    from accounts.models import Membership

    memberships = Membership.objects.filter(ended_at__isnull=True, suspended_at__isnull=True, user__is_active=True)
    if administrators:
        memberships = memberships.filter(role=Role.REGISTRY_ADMINISTRATOR)
    else:
        memberships = memberships.filter(organisation=organisation)
        if roles:
            memberships = memberships.filter(role__in=roles)
    return sorted(set(memberships.exclude(user__in=[u.pk for u in excluding]).values_list(
        "user__email", "user__language")))


def _in(language: str, text, params: dict) -> str:
    """``text`` (a lazy translation with %(name)s places) in ``language``; organisations by their name in it."""
    from accounts.models import Organisation
    from accounts.templatetags.registry import in_reader_language

    with translation.override(language):
        return str(text) % {key: in_reader_language(value) if isinstance(value, Organisation) else value
                            for key, value in params.items()}


def notify(recipients: list[tuple[str, str]], *, subject, body, params: dict, path: str) -> None:
    """One e-mail to each recipient, in their language, once the current transaction commits."""
    if not recipients or _quiet.get():
        return
    link = settings.REGISTRY_PUBLIC_URL.rstrip("/") + path
    messages = [(f"[GX-ETS] {_in(language, subject, params)}", f"{_in(language, body, params)}\n\n{link}\n", None,
                 [email]) for email, language in recipients]
    # A job, not the request: a mail server that is down delays the e-mail (the job is retried), never the act.
    jobs.enqueue("gxregistry.notifications.deliver", [list(message) for message in messages],
                 key=f"mail-{uuid.uuid4().hex}")


def deliver(messages: list) -> int:
    """The job: send the e-mails (SMTP in production)."""
    return send_mass_mail([tuple(message) for message in messages])

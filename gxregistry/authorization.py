"""One way to authorize an act: ``authorize(actor, permission, organisation, *, fresh_code=None)``.

Every state-changing service calls it inside its ``transaction.atomic()``, after taking its row
locks and together with the check of the state transition, so what it checks cannot change before
the write (NetBox re-checks permissions inside the write; Zulip's actions check state there too).

``permission`` is either
- an object permission on an Organisation (``accounts.roles``: VIEW, ACT, APPROVE, MANAGE_MEMBERS),
  held through an active membership of ``organisation``. ACT and APPROVE are a company's own acts and
  come only from a membership; VIEW and MANAGE_MEMBERS may also be held globally (administrators); or
- a global model permission ``"app_label.codename"`` (``organisation`` is None), which registry
  administrators hold through their group.

Suspension of the user (``is_active``) and of the membership that grants the permission, and the
second factor, are checked here, not by each caller.

Order entry is the one act whose memberships are read by its caller: the order gateway's batch
(``market.services.book``) reads those of all its orders' representatives at once, locked, in the
transaction that writes the orders, decides with ``membership_allows``, and the service raises the
refusal through ``authorize_membership`` — the same decision and message as ``authorize``.
"""

from __future__ import annotations

import functools
import inspect
from datetime import datetime
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from gxregistry.errors import ErrorCode, RegistryError


def _refuse(message, code=ErrorCode.NOT_PERMITTED, field="user"):
    raise RegistryError(code, message, field)


def _check_not_suspended(membership) -> None:
    if membership is not None and membership.suspended_at is not None:
        _refuse(_("Your access has been suspended: %(reason)s") % {"reason": membership.suspension_reason},
                ErrorCode.SUSPENDED)


def _administrator_membership(actor):
    """The actor's active registry-administrator membership (suspended or not), or None."""
    from accounts.models import Membership
    from accounts.roles import Role

    return (Membership.objects.filter(user=actor, role=Role.REGISTRY_ADMINISTRATOR, ended_at__isnull=True)
            .order_by("suspended_at").last())


class ActiveMembership(NamedTuple):
    role: str
    suspended_at: datetime | None
    suspension_reason: str


def _active_membership(actor, organisation) -> ActiveMembership | None:
    """The actor's active membership of ``organisation`` (at most one: ``membership_one_active_role_per_organisation``).
    The query is written out, not built through the ORM: it runs in every act a company does, and building it cost
    more than half of a market order's time in Python (benchmarks/README.md)."""
    from accounts.models import Membership

    table = Membership._meta.db_table
    alias = router.db_for_read(Membership) or DEFAULT_DB_ALIAS
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT role, suspended_at, suspension_reason FROM {table} "  # noqa: S608 - the model's table
                       "WHERE user_id = %s AND organisation_id = %s AND ended_at IS NULL",
                       [actor.pk, getattr(organisation, "pk", organisation)])
        row = cursor.fetchone()
    return ActiveMembership(*row) if row else None


def authorize(actor, permission: str, organisation=None, *, fresh_code: str | None = None) -> None:
    """Refuse (RegistryError) unless ``actor`` may exercise ``permission`` on ``organisation`` now.

    ``fresh_code``: a second-factor code that confirms this one act (not the sign-in session);
    pass it for irreversible acts. It is checked last, so nobody burns a code on an act they may
    not do anyway.
    """
    authorize_actor(actor)
    if "." in permission:  # a global permission: registry administrators, through their group
        if organisation is not None:
            raise ValueError("a global permission is not checked against an organisation")
        if not actor.has_perm(permission):
            _refuse(_("Only a registry administrator may do this."))
        _check_not_suspended(_administrator_membership(actor))
    else:
        if organisation is None:  # e.g. the government's accounts: no company acts for them
            _refuse(ErrorCode.NOT_PERMITTED.label)
        authorize_membership(actor, permission, organisation, _active_membership(actor, organisation))

    if fresh_code is not None:
        _check_fresh_code(actor, fresh_code)


def authorize_actor(actor) -> None:
    """The part of ``authorize`` that needs no organisation: someone signed in, whose access is not suspended."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        _refuse(_("Sign in as someone who may do this."))
    if not actor.is_active:
        _refuse(_("Your access has been suspended."), ErrorCode.SUSPENDED)


def membership_allows(membership: ActiveMembership | None, permission: str) -> bool:
    """Whether an active membership (or none) lets its holder do a company's own act (``accounts.roles.COMPANY_ACTS``)
    now: for a caller that reads memberships itself, many at once (order entry: ``market.services.book``), and
    refuses through ``authorize_membership`` what this does not allow."""
    from accounts.roles import COMPANY_ACTS, ROLE_PERMISSIONS

    if permission not in COMPANY_ACTS:
        raise ValueError("only a company's own acts are decided by the membership alone")
    return membership is not None and permission in ROLE_PERMISSIONS[membership.role] and membership.suspended_at is None


def authorize_membership(actor, permission: str, organisation, membership: ActiveMembership | None) -> None:
    """``authorize``'s decision for an act on ``organisation``, given the actor's active membership of it (or None) as
    ``authorize`` reads it, or as a caller read it in the transaction that writes the act (order entry)."""
    from accounts.roles import COMPANY_ACTS, ROLE_PERMISSIONS

    if membership is not None and permission in ROLE_PERMISSIONS[membership.role]:
        _check_not_suspended(membership)
    elif permission not in COMPANY_ACTS and actor.has_perm(f"accounts.{permission}"):  # not even a superuser
        _check_not_suspended(_administrator_membership(actor))
    else:
        _refuse(_("You may not do this for %(organisation)s.") % {"organisation": organisation})


def authorize_self(actor, user) -> None:
    """For acts on one's own identity (API tokens): only the person themself, while active."""
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk != user.pk:
        _refuse(_("Only the person themself may do this."))
    if not actor.is_active:
        _refuse(_("Your access has been suspended."), ErrorCode.SUSPENDED)


def may(actor, permission: str, organisation=None) -> bool:
    """Whether ``authorize`` would let ``actor`` do this now (without a second-factor code): for pages
    that offer an act only to those who may do it. The service still decides."""
    try:
        authorize(actor, permission, organisation)
    except RegistryError:
        return False
    return True


def _check_fresh_code(actor, code) -> None:
    from accounts import two_factor

    wait = throttle_wait_seconds(actor)  # before this try, which counts as a failure of its own
    code = str(code or "").strip().replace(" ", "")
    # A device django-otp is throttling refuses every code, but another device (the backup codes) may not be.
    if code and len(code) <= 16 and two_factor.verify(actor, code) is not None:
        return
    message = throttled_message(wait) if wait else ErrorCode.WRONG_SECOND_FACTOR.label
    error = RegistryError(ErrorCode.WRONG_SECOND_FACTOR, message, field="otp_token")
    error.actor, error.wrong_code = actor, code  # counted by @state_change once the act's transaction rolled back
    raise error


def throttled_message(wait: int) -> str:
    """What a person is told while django-otp refuses their codes for ``wait`` more seconds."""
    return ngettext("Too many wrong codes: wait %(seconds)s second, then enter a new code, or use a backup code.",
                    "Too many wrong codes: wait %(seconds)s seconds, then enter a new code, or use a backup code.",
                    wait) % {"seconds": wait}


def throttle_wait_seconds(user) -> int:
    """Seconds until django-otp accepts a code from ``user`` again (0 when it is not throttling)."""
    from django.utils import timezone
    from django_otp import devices_for_user

    wait = 0
    for device in devices_for_user(user, confirmed=True):
        if not hasattr(device, "get_throttle_factor") or not device.throttling_failure_timestamp:
            continue
        delay = device.get_throttle_factor() * (2 ** (device.throttling_failure_count - 1))
        remaining = (device.throttling_failure_timestamp - timezone.now()).total_seconds() + delay
        wait = max(wait, int(remaining) + 1 if remaining > 0 else 0)
    return wait


def _record_wrong_code(actor, code: str) -> None:
    """Count a wrong code against the devices it was tried on, durably.

    django-otp counts a failure by saving the device, inside the service's transaction, which the
    refusal rolls back; without this, the throttle would never engage on acts confirmed by a code.
    """
    from accounts import two_factor

    if not code:  # no code given is not a guess
        return
    for device in two_factor.devices_for_code(actor, code):
        # As verify_token does: a device that was already throttling was not tried, so it counts nothing.
        if hasattr(device, "throttle_increment") and device.verify_is_allowed()[0]:
            device.throttle_increment()


# --- the registry of state-changing services --------------------------------------------------------

SERVICES: dict[str, object] = {}


def state_change(func):
    """Marks a state-changing service: it takes keyword-only ``acting_user`` and calls ``authorize``.
    A service's read-only check (``*_check``: what a page shows before the act) is marked too, so the same
    rules test that it refuses whom the act refuses.

    Registered here so a test can enumerate every service (tests/test_service_access.py); a wrong
    second-factor code is counted after the service's transaction has rolled back.
    """
    parameters = inspect.signature(func).parameters
    if "acting_user" not in parameters or parameters["acting_user"].kind is not inspect.Parameter.KEYWORD_ONLY:
        raise TypeError(f"{func.__qualname__}: a service takes keyword-only acting_user")
    if parameters["acting_user"].default is not inspect.Parameter.empty:
        raise TypeError(f"{func.__qualname__}: acting_user is required, never None by default")

    @functools.wraps(func)
    def service(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RegistryError as error:
            actor = getattr(error, "actor", None)
            if error.code == ErrorCode.WRONG_SECOND_FACTOR and actor is not None:
                # Out of the service's atomic block now (or in the caller's, e.g. a test's), so it stays.
                with transaction.atomic():
                    _record_wrong_code(actor, error.wrong_code)
                error.actor = None  # counted once, even if an outer service re-raises it
            raise

    SERVICES[f"{func.__module__}.{func.__name__}"] = service
    return service

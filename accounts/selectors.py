"""Reads that take the user: what a person may see of identities and organisations."""

from accounts.models import Membership
from accounts.roles import SECOND_FACTOR_ROLES


def active_memberships(*, fetched_by):
    if not fetched_by.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user=fetched_by, ended_at__isnull=True)
        .select_related("organisation")
        .order_by("organisation__name")
    )


def requires_second_factor(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return active_memberships(fetched_by=user).filter(role__in=SECOND_FACTOR_ROLES).exists()


def primary_role(user) -> str | None:
    """The role that picks the user's dashboard: the most privileged active one."""
    order = [
        "registry_administrator", "market_operator", "authorised_representative",
        "approving_representative", "verifier", "viewer",
    ]
    roles = set(active_memberships(fetched_by=user).values_list("role", flat=True))
    for role in order:
        if role in roles:
            return role
    return None

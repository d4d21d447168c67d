"""Roles (domain.md, "Who uses it") and the object permissions each one grants.

A membership gives a user one role in one organisation; the membership service
turns the role into django-guardian object permissions on that organisation.
Every organisation-scoped query and view asks guardian, never the role directly.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REGISTRY_ADMINISTRATOR = "registry_administrator", _("Registry administrator")
    MARKET_OPERATOR = "market_operator", _("Market operator")
    AUTHORISED_REPRESENTATIVE = "authorised_representative", _("Authorised representative")
    APPROVING_REPRESENTATIVE = "approving_representative", _("Approving representative")
    VIEWER = "viewer", _("Viewer")
    VERIFIER = "verifier", _("Verifier")


# Object permissions on accounts.Organisation (codenames declared in Organisation.Meta).
VIEW = "view_organisation"
ACT = "act_for_organisation"
APPROVE = "approve_for_organisation"
MANAGE_MEMBERS = "manage_members"
VERIFY = "verify_for_organisation"  # a verification body's staff log engagements and sign opinions for it
OPERATE_MARKET = "operate_market"  # GXA's market operators: participants, instruments, parameters (§8)

# Acts only an organisation's own people do for it: administrators hold every other permission
# globally, never these (nobody at METI transfers, submits, approves or verifies for anyone).
COMPANY_ACTS = frozenset({ACT, APPROVE, VERIFY, OPERATE_MARKET})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.REGISTRY_ADMINISTRATOR: frozenset({VIEW, MANAGE_MEMBERS}),
    Role.MARKET_OPERATOR: frozenset({VIEW, OPERATE_MARKET}),
    Role.AUTHORISED_REPRESENTATIVE: frozenset({VIEW, ACT}),
    Role.APPROVING_REPRESENTATIVE: frozenset({VIEW, APPROVE}),
    Role.VIEWER: frozenset({VIEW}),
    Role.VERIFIER: frozenset({VIEW, VERIFY}),
}

# Roles that must pass a second factor (TOTP) before they reach any page.
SECOND_FACTOR_ROLES = frozenset(
    {
        Role.REGISTRY_ADMINISTRATOR,
        Role.MARKET_OPERATOR,
        Role.AUTHORISED_REPRESENTATIVE,
        Role.APPROVING_REPRESENTATIVE,
        Role.VERIFIER,  # signs opinions that become the figures compliance is measured against
    }
)

# Registry administrators hold these permissions globally (an auth Group), so
# guardian's get_objects_for_user returns every organisation for them.
ADMINISTRATORS_GROUP = "Registry administrators"

"""State changes on identities, organisations and memberships.

Each function is atomic, takes the actor as keyword-only ``acting_user``, checks
the change, writes it and records the audit context in the same transaction.
"""

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.audit import audit_context
from accounts.models import Membership, Organisation, User
from accounts.roles import ADMINISTRATORS_GROUP, ROLE_PERMISSIONS, Role
from accounts.validators import normalise_corporate_number

# Which roles an organisation of each kind can give its members.
ROLES_BY_KIND = {
    Organisation.Kind.REGISTRY_ADMINISTRATION: {Role.REGISTRY_ADMINISTRATOR, Role.VIEWER},
    Organisation.Kind.MARKET_OPERATOR: {Role.MARKET_OPERATOR, Role.VIEWER},
    Organisation.Kind.REGULATED_ENTITY: {
        Role.AUTHORISED_REPRESENTATIVE, Role.APPROVING_REPRESENTATIVE, Role.VIEWER,
    },
    Organisation.Kind.TRADING_OPERATOR: {
        Role.AUTHORISED_REPRESENTATIVE, Role.APPROVING_REPRESENTATIVE, Role.VIEWER,
    },
    Organisation.Kind.VERIFICATION_BODY: {Role.VERIFIER, Role.AUTHORISED_REPRESENTATIVE, Role.VIEWER},
}


def user_create(*, email: str, full_name: str, password: str | None, acting_user=None) -> User:
    email = User.objects.normalize_email(email or "").lower()
    with transaction.atomic(), audit_context(acting_user, action="user_create"):
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                {"email": _("A user with this email address already exists.")}, code="duplicate_email"
            )
        user = User(email=email, full_name=full_name)
        user.set_password(password) if password else user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
    return user


def organisation_create(*, acting_user=None, **fields) -> Organisation:
    if fields.get("corporate_number"):
        fields["corporate_number"] = normalise_corporate_number(fields["corporate_number"])
    organisation = Organisation(**fields)
    with transaction.atomic(), audit_context(acting_user, action="organisation_create"):
        organisation.full_clean()
        organisation.save()
    return organisation


# Acts only a company's own representatives may do: never granted globally.
COMPANY_ONLY_PERMISSIONS = {"act_for_organisation", "approve_for_organisation"}
ADMINISTERED_APPS = ["accounts", "allocation", "verification", "market", "pghistory", "django_q"]


def administrators_group() -> Group:
    """The group that gives registry administrators their global permissions."""
    group, _created = Group.objects.get_or_create(name=ADMINISTRATORS_GROUP)
    permissions = Permission.objects.filter(content_type__app_label__in=ADMINISTERED_APPS).exclude(
        codename__in=COMPANY_ONLY_PERMISSIONS
    )
    group.permissions.set(permissions)
    return group


def _grant(user: User, organisation: Organisation, role: str) -> None:
    for codename in ROLE_PERMISSIONS[role]:
        assign_perm(f"accounts.{codename}", user, organisation)
    if role == Role.REGISTRY_ADMINISTRATOR:
        user.groups.add(administrators_group())
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def membership_create(*, user: User, organisation: Organisation, role: str, acting_user=None) -> Membership:
    if role not in ROLES_BY_KIND[organisation.kind]:
        raise ValidationError(
            {"role": _("The role “%(role)s” does not exist in an organisation of kind “%(kind)s”.")
             % {"role": Role(role).label, "kind": organisation.get_kind_display()}},
            code="role_not_allowed",
        )
    with transaction.atomic(), audit_context(acting_user, action="membership_create"):
        if Membership.objects.filter(user=user, organisation=organisation, ended_at__isnull=True).exists():
            raise ValidationError(
                {"user": _("This user already has a role in this organisation; end it first.")},
                code="membership_exists",
            )
        membership = Membership.objects.create(user=user, organisation=organisation, role=role)
        _grant(user, organisation, role)
    return membership


def membership_end(*, membership: Membership, acting_user=None) -> Membership:
    with transaction.atomic(), audit_context(acting_user, action="membership_end"):
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.ended_at is not None:
            return membership
        membership.ended_at = timezone.now()
        membership.save(update_fields=["ended_at"])
        user, organisation = membership.user, membership.organisation
        for codename in ROLE_PERMISSIONS[membership.role]:
            remove_perm(f"accounts.{codename}", user, organisation)
        if membership.role == Role.REGISTRY_ADMINISTRATOR and not user.memberships.filter(
            role=Role.REGISTRY_ADMINISTRATOR, ended_at__isnull=True
        ).exists():
            user.groups.remove(Group.objects.get(name=ADMINISTRATORS_GROUP))
            user.is_staff = user.is_superuser
            user.save(update_fields=["is_staff"])
    return membership


# --- API tokens for companies' own systems (django-rest-knox: only a hash is stored) ---------------------

def api_token_create(*, user: User, acting_user=None):
    """A new token for ``user``; the clear text is returned once and never stored."""
    from knox.models import AuthToken
    from knox.settings import knox_settings

    with transaction.atomic(), audit_context(acting_user or user, action="api_token_create"):
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        if limit and AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).count() >= limit:
            raise ValidationError({"token": _("You already have %(limit)s tokens; revoke one first.")
                                   % {"limit": limit}}, code="token_limit")
        return AuthToken.objects.create(user=user)


def api_token_revoke(*, user: User, token_key: str, acting_user=None) -> int:
    from knox.models import AuthToken

    with transaction.atomic(), audit_context(acting_user or user, action="api_token_revoke"):
        deleted, _rows = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    return deleted

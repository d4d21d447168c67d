"""State changes on identities, organisations and memberships.

Each function is atomic, takes the actor as keyword-only ``acting_user``, checks
the change, writes it and records the audit context in the same transaction.
"""

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Membership, Organisation, User
from accounts.roles import ADMINISTRATORS_GROUP, COMPANY_ACTS, MANAGE_MEMBERS, ROLE_PERMISSIONS, Role
from accounts.validators import normalise_corporate_number, normalise_kana
from gxregistry.audit import audit_context
from gxregistry.authorization import authorize, authorize_self, state_change
from gxregistry.errors import ErrorCode, RegistryError

SYSTEM_EMAIL = "system@gx-ets-registry.invalid"


def system_actor() -> User:
    """The registry itself, as the actor of seeding, management commands and jobs.

    A superuser with no password (it cannot sign in): global permissions pass for it, a company's
    own acts never do (they need a membership), and the audit history names it.
    """
    user = User.objects.filter(email=SYSTEM_EMAIL).first()
    if user is None:
        user = User(email=SYSTEM_EMAIL, full_name="GX-ETS registry (system)", is_staff=False, is_superuser=True)
        user.set_unusable_password()
        user.save()
    return user


def _as_registry_error(error: ValidationError) -> RegistryError:
    """A model's own validation (full_clean) as the one refusal type, naming the first field."""
    if hasattr(error, "error_dict"):
        field, errors = next(iter(error.error_dict.items()))
        return RegistryError(ErrorCode.INVALID_INPUT, errors[0].messages[0], None if field == "__all__" else field)
    return RegistryError(ErrorCode.INVALID_INPUT, error.messages[0])

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


@state_change
def user_create(*, email: str, full_name: str, password: str | None, acting_user) -> User:
    email = User.objects.normalize_email(email or "").lower()
    with transaction.atomic(), audit_context(acting_user, action="user_create"):
        authorize(acting_user, "accounts.add_user")
        if User.objects.filter(email__iexact=email).exists():
            raise RegistryError(ErrorCode.DUPLICATE, _("A user with this email address already exists."), "email")
        user = User(email=email, full_name=full_name)
        user.set_password(password) if password else user.set_unusable_password()
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as error:
            raise _as_registry_error(error) from None
        user.save()
    return user


@state_change
def organisation_create(*, acting_user, **fields) -> Organisation:
    if fields.get("corporate_number"):
        fields["corporate_number"] = normalise_corporate_number(fields["corporate_number"])
    if fields.get("name_kana"):
        fields["name_kana"] = normalise_kana(fields["name_kana"])
    organisation = Organisation(**fields)
    with transaction.atomic(), audit_context(acting_user, action="organisation_create"):
        authorize(acting_user, "accounts.add_organisation")
        try:
            organisation.full_clean()
        except ValidationError as error:
            raise _as_registry_error(error) from None
        organisation.save()
    return organisation


# Acts only a company's own representatives may do: never granted globally.
ADMINISTERED_APPS = ["accounts", "allocation", "verification", "market", "pghistory", "django_q", "gxregistry"]


def administrators_group() -> Group:
    """The group that gives registry administrators their global permissions."""
    group, _created = Group.objects.get_or_create(name=ADMINISTRATORS_GROUP)
    permissions = Permission.objects.filter(content_type__app_label__in=ADMINISTERED_APPS).exclude(
        codename__in=COMPANY_ACTS
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


@state_change
def membership_create(*, user: User, organisation: Organisation, role: str, acting_user) -> Membership:
    if role not in ROLES_BY_KIND[organisation.kind]:
        raise RegistryError(
            ErrorCode.INVALID_INPUT, _("The role “%(role)s” does not exist in an organisation of kind “%(kind)s”.")
            % {"role": Role(role).label if role in Role.values else role, "kind": organisation.get_kind_display()},
            "role")
    with transaction.atomic(), audit_context(acting_user, action="membership_create"):
        Organisation.objects.select_for_update(no_key=True).get(pk=organisation.pk)
        authorize(acting_user, MANAGE_MEMBERS, organisation)
        if Membership.objects.filter(user=user, organisation=organisation, ended_at__isnull=True).exists():
            raise RegistryError(ErrorCode.DUPLICATE, _("This user already has a role in this organisation; end it first."),
                                "user")
        membership = Membership.objects.create(user=user, organisation=organisation, role=role)
        _grant(user, organisation, role)
    return membership


@state_change
def membership_end(*, membership: Membership, acting_user) -> Membership:
    with transaction.atomic(), audit_context(acting_user, action="membership_end"):
        membership = Membership.objects.select_for_update(no_key=True).get(pk=membership.pk)
        authorize(acting_user, MANAGE_MEMBERS, membership.organisation)
        if membership.ended_at is not None:
            raise RegistryError(ErrorCode.INVALID_STATE, _("This membership has already ended."), "status")
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

@state_change
def user_language_set(*, user: User, language: str, acting_user) -> User:
    """A person's language for the registry's e-mails: the one they last chose on a page."""
    if language not in dict(settings.LANGUAGES):
        raise RegistryError(ErrorCode.INVALID_INPUT, _("Choose Japanese or English."), "language")
    with transaction.atomic(), audit_context(acting_user, action="user_language_set"):
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        authorize_self(acting_user, user)
        if user.language != language:
            user.language = language
            user.save(update_fields=["language"])
    return user


@state_change
def api_token_create(*, user: User, acting_user):
    """A new token for ``user``, who alone may ask; the clear text is returned once and never stored."""
    from knox.models import AuthToken
    from knox.settings import knox_settings

    with transaction.atomic(), audit_context(acting_user, action="api_token_create"):
        User.objects.select_for_update(no_key=True).get(pk=user.pk)  # two requests at once cannot pass the limit
        authorize_self(acting_user, user)
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        if limit and AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).count() >= limit:
            raise RegistryError(ErrorCode.INVALID_STATE, _("You already have %(limit)s tokens; revoke one first.")
                                % {"limit": limit}, "token")
        return AuthToken.objects.create(user=user)


@state_change
def api_token_revoke(*, user: User, token_key: str, acting_user) -> int:
    from knox.models import AuthToken

    with transaction.atomic(), audit_context(acting_user, action="api_token_revoke"):
        authorize_self(acting_user, user)
        deleted, _rows = AuthToken.objects.filter(user=user, token_key=str(token_key)[:64]).delete()
    return deleted

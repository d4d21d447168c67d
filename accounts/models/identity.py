"""Identities and organisations: users, organisations, joint-notification groups, memberships and roles."""


import pghistory
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.roles import Role
from accounts.validators import validate_corporate_number, validate_kana
from gxregistry.querysets import RestrictedQuerySet


# Every table whose rows change state is tracked by database triggers, so bulk
# updates and raw SQL are recorded too; the event tables refuse UPDATE/DELETE
# (settings.PGHISTORY_APPEND_ONLY).
def audited(*, exclude=None, trackers=None):
    """Track inserts, updates and deletes of a model in <Model>History."""

    def decorate(cls):
        events = trackers or (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
        return pghistory.track(
            *events, exclude=exclude, model_name=f"{cls.__name__}History",
            obj_field=pghistory.ObjForeignKey(related_name="history"),
        )(cls)

    return decorate


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


@audited(exclude=["password", "last_login"])
class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="ja",
                                help_text=_("The language of the registry's e-mails; the last one chosen on a page."))

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Sector(models.TextChoices):
    STEEL = "steel", _("Iron and steel")
    CEMENT = "cement", _("Cement")
    CHEMICALS = "chemicals", _("Chemicals")
    PULP_PAPER = "pulp_paper", _("Pulp and paper")
    POWER = "power", _("Electric power")
    OIL_REFINING = "oil_refining", _("Oil refining")
    GLASS = "glass", _("Glass")
    LIME = "lime", _("Lime")
    ALUMINIUM = "aluminium", _("Aluminium")
    AUTOMOBILES = "automobiles", _("Automobiles")
    CERAMICS = "ceramics", _("Ceramics")
    FOOD = "food", _("Food and beverages")
    TEXTILES = "textiles", _("Textiles")
    TRANSPORT = "transport", _("Transport")
    OTHER = "other", _("Other")


@audited()
class Organisation(models.Model):
    class Kind(models.TextChoices):
        REGULATED_ENTITY = "regulated_entity", _("Regulated entity")
        VERIFICATION_BODY = "verification_body", _("Registered verification body")
        TRADING_OPERATOR = "trading_operator", _("Specified trading operator")
        REGISTRY_ADMINISTRATION = "registry_administration", _("Registry administration (METI)")
        MARKET_OPERATOR = "market_operator", _("GX Acceleration Agency (GXA)")

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    # The reading as the National Tax Agency's corporate number site gives it (フリガナ), for search by kana.
    name_kana = models.CharField(_("reading (kana)"), max_length=200, blank=True, validators=[validate_kana],
                                 help_text=_("The name's reading in katakana, without 株式会社 (as on the corporate "
                                             "number publication site)."))
    corporate_number = models.CharField(
        _("corporate number"),
        max_length=13,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_corporate_number],
        help_text=_("13-digit 法人番号, with its check digit."),
    )
    sector = models.CharField(_("sector"), max_length=32, choices=Sector.choices, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    first_fiscal_year = models.PositiveSmallIntegerField(
        _("first fiscal year covered"), null=True, blank=True,
        help_text=_("Regulated entities: the first FY of the obligation (FY2026 when blank); the baseline is the "
                    "three FYs before it."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "pk"

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        permissions = [
            ("act_for_organisation", "Initiate acts (transfers, submissions) for the organisation"),
            ("approve_for_organisation", "Approve acts another representative initiated"),
            ("manage_members", "Add and end memberships of the organisation"),
            ("verify_for_organisation", "Log engagements and sign opinions for the verification body"),
            ("operate_market", "Run the allowance market for GXA: participants, instruments, parameters"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="regulated_entity")
                | (Q(corporate_number__isnull=False) & ~Q(sector="")),
                name="organisation_regulated_entity_has_number_and_sector",
            ),
            models.CheckConstraint(
                condition=Q(corporate_number__isnull=True) | Q(corporate_number__regex=r"^[0-9]{13}$"),
                name="organisation_corporate_number_13_digits",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("organisation_detail", args=[self.pk])


@audited()
class JointNotificationGroup(models.Model):
    """§2: a notifying entity files for its close stakeholders as one group."""

    name = models.CharField(_("name"), max_length=200)
    notifying_entity = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="notified_group",
        verbose_name=_("notifying entity"),
        limit_choices_to={"kind": Organisation.Kind.REGULATED_ENTITY},
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "notifying_entity"

    class Meta:
        verbose_name = _("joint-notification group")
        verbose_name_plural = _("joint-notification groups")

    def __str__(self):
        return self.name


@audited()
class CloseStakeholder(models.Model):
    class Relationship(models.TextChoices):
        SUBSIDIARY = "subsidiary", _("Subsidiary")
        AFFILIATE = "affiliate", _("Affiliate")
        SIBLING = "sibling", _("Sibling company")

    group = models.ForeignKey(
        JointNotificationGroup, on_delete=models.CASCADE, related_name="stakeholders",
        verbose_name=_("group"),
    )
    entity = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="stakeholder_of",
        verbose_name=_("entity"),
        limit_choices_to={"kind": Organisation.Kind.REGULATED_ENTITY},
    )
    relationship = models.CharField(_("relationship"), max_length=16, choices=Relationship.choices)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "group__notifying_entity"

    class Meta:
        verbose_name = _("close stakeholder")
        verbose_name_plural = _("close stakeholders")

    def __str__(self):
        return f"{self.entity} ({self.get_relationship_display()})"


@audited()
class Membership(models.Model):
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("user")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    suspension_reason = models.CharField(_("reason for suspension"), max_length=300, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                condition=Q(ended_at__isnull=True),
                name="membership_one_active_role_per_organisation",
            ),
        ]

    def __str__(self):
        return f"{self.user} – {self.organisation} ({self.get_role_display()})"

    @property
    def is_active(self):
        return self.ended_at is None


# django-guardian with direct foreign keys (faster and with real integrity,
# unlike its generic object-permission tables).
@audited(trackers=(pghistory.InsertEvent(), pghistory.DeleteEvent()))
class OrganisationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)


class OrganisationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)

"""Compliance: each FY's period and prices, verified emissions, surrenders, upper-limit payments, penalties."""

from decimal import Decimal

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.identity import Organisation, User, audited
from accounts.models.ledger import LedgerTransaction
from gxregistry.querysets import RestrictedQuerySet

# --- compliance -------------------------------------------------------------------------------------

@audited()
class CompliancePeriod(models.Model):
    """The parameters of one FY's obligation (domain.md: Compliance and prices)."""

    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"), unique=True)
    surrender_deadline = models.DateField(_("surrender deadline"))
    upper_limit_price_yen = models.DecimalField(_("upper-limit price (yen/t)"), max_digits=12, decimal_places=0)
    lower_limit_price_yen = models.DecimalField(_("lower-limit price (yen/t)"), max_digits=12, decimal_places=0)
    credit_cap_share = models.DecimalField(_("credit cap (share of verified emissions)"), max_digits=5,
                                           decimal_places=4, default=Decimal("0.10"))
    penalty_factor = models.DecimalField(_("penalty factor"), max_digits=5, decimal_places=3, default=Decimal("1.1"))

    class Meta:
        verbose_name = _("compliance period")
        verbose_name_plural = _("compliance periods")
        ordering = ["fiscal_year"]
        constraints = [models.CheckConstraint(
            condition=Q(upper_limit_price_yen__gte=models.F("lower_limit_price_yen")) & Q(lower_limit_price_yen__gte=0)
            & Q(credit_cap_share__gte=0) & Q(credit_cap_share__lte=1),
            name="compliance_period_prices_ordered")]

    def __str__(self):
        return f"FY{self.fiscal_year}"


class EmissionsSource(models.TextChoices):
    """Where a FY's emissions figure on the dashboards comes from."""

    VERIFIED = "verified", _("Verified emissions")  # the entity's, which its surrender obligation reads
    APPLICATION = "application", _("Allocation application data")  # its processes' data (the baseline years)
    MIXED = "mixed", _("Verified emissions where recorded, else allocation application data")  # across entities


@audited()
class VerifiedEmissions(models.Model):
    """An entity's verified emissions for one FY: from a verification opinion, or entered by an administrator."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="verified_emissions",
                                     verbose_name=_("regulated entity"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    emissions_t = models.BigIntegerField(_("verified emissions (t-CO2)"))
    entered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by"))
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    verification_body = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("verified by"),
                                          help_text=_("Blank: entered by an administrator."))
    reference = models.CharField(_("reference"), max_length=100, blank=True,
                                 help_text=_("The verification opinion, or the administrator's reason."))

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("verified emissions")
        verbose_name_plural = _("verified emissions")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "fiscal_year"], name="verified_emissions_once_per_fy"),
            models.CheckConstraint(condition=Q(emissions_t__gte=0), name="verified_emissions_not_negative"),
        ]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year}: {self.emissions_t}"


class SurrenderRecordQuerySet(RestrictedQuerySet):
    def standing(self):
        """Surrenders that count: a reversal moves every unit of a surrender back, so a reversed one counts 0."""
        return self.filter(ledger_transaction__reversed_by__isnull=True)


class SurrenderRecord(models.Model):
    """Which FY and entity a surrender transaction counts for (while it is not reversed: ``standing()``)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="surrenders",
                                     verbose_name=_("regulated entity"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    ledger_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, related_name="surrender")
    allowances = models.BigIntegerField(_("allowances"), default=0)
    credits = models.BigIntegerField(_("credits"), default=0)

    objects = SurrenderRecordQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("surrender")
        verbose_name_plural = _("surrenders")
        constraints = [models.CheckConstraint(condition=Q(allowances__gte=0) & Q(credits__gte=0)
                                              & (Q(allowances__gt=0) | Q(credits__gt=0)), name="surrender_not_empty")]
        triggers = [pgtrigger.Protect(name="surrender_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year}"


@audited()
class UpperLimitPayment(models.Model):
    """Paying the upper-limit price for a quantity instead of surrendering it; an administrator confirms."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="upper_limit_payments",
                                     verbose_name=_("regulated entity"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    quantity = models.BigIntegerField(_("quantity (t-CO2)"))
    amount_yen = models.DecimalField(_("amount (yen)"), max_digits=18, decimal_places=0)
    payment_reference = models.CharField(_("payment reference"), max_length=100)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                                     verbose_name=_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("upper-limit payment")
        verbose_name_plural = _("upper-limit payments")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(amount_yen__gt=0), name="payment_positive"),
            models.UniqueConstraint(fields=["payment_reference"], name="payment_reference_unique"),
            models.CheckConstraint(condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=models.F("recorded_by")),
                                   name="payment_confirmed_by_another_person"),
        ]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year}: {self.quantity} t ({self.payment_reference})"


@audited()
class PenaltyAssessment(models.Model):
    """After the deadline: the shortfall and the penalty (未償却相当負担金) = factor x upper price x shortfall."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="penalties",
                                     verbose_name=_("regulated entity"))
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    shortfall_t = models.BigIntegerField(_("shortfall (t-CO2)"))
    penalty_yen = models.DecimalField(_("penalty (yen)"), max_digits=18, decimal_places=0)
    assessed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("assessed by"))
    assessed_at = models.DateTimeField(_("assessed at"), default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "organisation"

    class Meta:
        verbose_name = _("penalty assessment")
        verbose_name_plural = _("penalty assessments")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "fiscal_year"], name="penalty_once_per_fy"),
            models.CheckConstraint(condition=Q(shortfall_t__gt=0) & Q(penalty_yen__gt=0), name="penalty_positive"),
        ]

    def __str__(self):
        return f"{self.organisation} FY{self.fiscal_year}: {self.penalty_yen} yen"

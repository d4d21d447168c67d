"""Who trades (participants) and what (instruments, with GXA's trading parameters and their history)."""

from datetime import time

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User
from accounts.models.identity import audited
from gxregistry.transitions import transition_trigger

PARTICIPANT_TRANSITIONS = {
    "applied": {"active", "refused"},
    "active": {"suspended"},
    "suspended": {"active"},
}


@audited()
class Participant(models.Model):
    """A regulated entity that accepted the market rules, or a specified trading operator GXA approved (§8)."""

    TRANSITIONS = PARTICIPANT_TRANSITIONS

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied, waiting for GXA")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        REFUSED = "refused", _("Refused")

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="market_participant",
                                        verbose_name=_("organisation"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    rules_version = models.CharField(_("market rules accepted"), max_length=20)
    rules_accepted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+",
                                          verbose_name=_("accepted by"))
    rules_accepted_at = models.DateTimeField(_("accepted at"))
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("last decided by"))
    decided_at = models.DateTimeField(_("last decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True,
                              help_text=_("Why GXA refused or suspended the participant (shown to it)."))

    class Meta:
        verbose_name = _("market participant")
        verbose_name_plural = _("market participants")
        constraints = [
            models.CheckConstraint(condition=~Q(status__in=["refused", "suspended"]) | ~Q(reason=""),
                                   name="participant_refusal_has_reason"),
        ]
        triggers = [transition_trigger("participant_transitions", PARTICIPANT_TRANSITIONS)]

    def __str__(self):
        return str(self.organisation)


@audited(exclude=["book_version"])
class Instrument(models.Model):
    """What is traded: allowances of one vintage (credits later), with its fixed trading terms."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    vintage = models.PositiveSmallIntegerField(_("vintage"), unique=True)
    opens_on = models.DateField(_("first trading day"))
    session_opens_at = models.TimeField(_("session opens (JST)"), default=time(9, 0))
    session_closes_at = models.TimeField(_("session closes (JST)"), default=time(15, 0))
    tick_yen = models.PositiveIntegerField(_("tick (yen)"), default=1)
    lot = models.PositiveIntegerField(_("lot (allowances)"), default=1)
    # Set when an order would have traded outside the price band (§8's price-spike measures): no order is
    # taken until then.
    halted_until = models.DateTimeField(_("halted until"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    # Counts the statements that changed the instrument's orders (a trigger, market/sql/book_version.sql): the order
    # gateway keeps the book in memory while no one else has changed it.
    book_version = models.BigIntegerField(_("changes of the book"), default=0, editable=False)

    class Meta:
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        constraints = [
            models.CheckConstraint(condition=Q(session_opens_at__lt=models.F("session_closes_at")),
                                   name="instrument_session_opens_before_it_closes"),
            models.CheckConstraint(condition=Q(tick_yen__gte=1) & Q(lot__gte=1), name="instrument_tick_and_lot"),
        ]

    def __str__(self):
        return self.code


class InstrumentParameters(models.Model):
    """GXA's price-spike measures for an instrument from a moment on (§8): a reference price, a band around it
    and how long trading halts when an order would trade outside it. Rows are never changed: a new row
    supersedes the last, so the history is the table."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="parameters",
                                   verbose_name=_("instrument"))
    effective_from = models.DateTimeField(_("effective from"))
    reference_price_yen = models.PositiveIntegerField(_("reference price (yen)"))
    band_percent = models.DecimalField(_("price band (± %)"), max_digits=5, decimal_places=2)
    halt_minutes = models.PositiveSmallIntegerField(_("halt (minutes)"))
    reason = models.CharField(_("reason"), max_length=500)
    set_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("set by"))
    set_at = models.DateTimeField(_("set at"), auto_now_add=True)

    class Meta:
        verbose_name = _("trading parameters")
        verbose_name_plural = _("trading parameters")
        ordering = ["instrument", "-effective_from"]
        triggers = [pgtrigger.Protect(name="parameters_never_change", operation=pgtrigger.Update | pgtrigger.Delete)]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "effective_from"], name="one_parameter_set_per_moment"),
            models.CheckConstraint(condition=Q(band_percent__gt=0) & Q(band_percent__lte=50),
                                   name="parameters_band_between_0_and_50_percent"),
            models.CheckConstraint(condition=Q(reference_price_yen__gte=1), name="parameters_reference_price_positive"),
        ]

    def __str__(self):
        return f"{self.instrument} from {self.effective_from:%Y-%m-%d %H:%M}"

    def band(self) -> tuple[int, int]:
        """The lowest and highest price that may trade, whole yen inside the band."""
        from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

        spread = Decimal(self.reference_price_yen) * self.band_percent / 100
        return (int((self.reference_price_yen - spread).to_integral_value(ROUND_CEILING)),
                int((self.reference_price_yen + spread).to_integral_value(ROUND_FLOOR)))

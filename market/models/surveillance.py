"""GXA's market surveillance (report §8: rules against manipulation and insider trading; docs/market.md)."""

import pgtrigger
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.models.identity import audited
from gxregistry.transitions import transition_trigger
from market.models.participants import Instrument, Participant

ALERT_TRANSITIONS = {"open": {"dismissed", "referred"}}


class SurveillanceParameters(models.Model):
    """GXA's thresholds for the surveillance alerts from a moment on; rows are never changed (the history)."""

    effective_from = models.DateTimeField(_("effective from"), unique=True)
    concentration_percent = models.DecimalField(
        _("concentration (percentage of the day's volume or of the vintage held)"), max_digits=5, decimal_places=2)
    layering_seconds = models.PositiveIntegerField(_("layering: cancelled within (seconds)"))
    layering_ticks = models.PositiveIntegerField(_("layering: ticks behind the best price"))
    layering_orders = models.PositiveIntegerField(_("layering: orders in a day"))
    close_minutes = models.PositiveIntegerField(_("marking the close: last minutes of the session"))
    close_move_percent = models.DecimalField(_("marking the close: move of the close from the day's VWAP (%)"),
                                             max_digits=5, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=500)
    set_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("set by"))
    set_at = models.DateTimeField(_("set at"), auto_now_add=True)

    class Meta:
        verbose_name = _("surveillance parameters")
        verbose_name_plural = _("surveillance parameters")
        ordering = ["-effective_from"]
        triggers = [pgtrigger.Protect(name="surveillance_parameters_never_change",
                                      operation=pgtrigger.Update | pgtrigger.Delete)]
        constraints = [
            models.CheckConstraint(
                condition=Q(concentration_percent__gt=0) & Q(concentration_percent__lte=100)
                & Q(close_move_percent__gt=0) & Q(layering_seconds__gt=0) & Q(layering_orders__gt=0)
                & Q(close_minutes__gt=0), name="surveillance_parameters_positive"),
        ]

    def __str__(self):
        return f"{self.effective_from:%Y-%m-%d %H:%M}"


@audited()
class InsiderList(models.Model):
    """People with material non-public information about the market (e.g. staff who see allocation or auction
    figures before publication); orders they enter are flagged."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    information = models.CharField(_("information held"), max_length=500)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("insider list")
        verbose_name_plural = _("insider lists")
        ordering = ["name"]

    def __str__(self):
        return self.name


@audited()
class InsiderListMember(models.Model):
    """A person on an insider list from a moment, until removed (the row stays: who was an insider when)."""

    insider_list = models.ForeignKey(InsiderList, on_delete=models.PROTECT, related_name="members",
                                     verbose_name=_("insider list"))
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("person"))
    reason = models.CharField(_("why on the list"), max_length=300)
    added_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("added by"))
    added_at = models.DateTimeField(_("on the list from"))
    removed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("removed by"))
    removed_at = models.DateTimeField(_("on the list until"), null=True, blank=True)

    class Meta:
        verbose_name = _("insider")
        verbose_name_plural = _("insiders")
        ordering = ["insider_list", "-added_at"]
        constraints = [
            models.UniqueConstraint(fields=["insider_list", "user"], condition=Q(removed_at__isnull=True),
                                    name="insider_once_on_a_list"),
            models.CheckConstraint(condition=Q(removed_at__isnull=True) | Q(removed_at__gt=models.F("added_at")),
                                   name="insider_removed_after_added"),
        ]

    def __str__(self):
        return f"{self.user} ({self.insider_list})"


@audited()
class Alert(models.Model):
    """Something GXA's surveillance found, waiting for a market operator's decision."""

    TRANSITIONS = ALERT_TRANSITIONS

    class Kind(models.TextChoices):
        WASH_TRADE = "wash_trade", _("Wash trade")
        LAYERING = "layering", _("Layering")
        MARKING_THE_CLOSE = "marking_close", _("Marking the close")
        VOLUME_CONCENTRATION = "volume_share", _("Concentration of volume")
        HOLDING_CONCENTRATION = "holding_share", _("Concentration of holdings")
        INSIDER_ORDER = "insider_order", _("Order by an insider")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for review")
        DISMISSED = "dismissed", _("Dismissed")
        REFERRED = "referred", _("Referred for investigation")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="alerts",
                                   verbose_name=_("instrument"))
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="alerts",
                                    verbose_name=_("participant"))
    trading_day = models.DateField(_("trading day"))
    summary = models.CharField(_("what was found"), max_length=500)
    facts = models.JSONField(_("facts"), default=dict)  # order and trade ids, figures and thresholds
    # One alert per finding: a scan run again finds the same key and adds nothing.
    key = models.CharField(_("finding"), max_length=120, unique=True)
    raised_at = models.DateTimeField(_("raised at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    decision_note = models.CharField(_("decision"), max_length=1000, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("surveillance alert")
        verbose_name_plural = _("surveillance alerts")
        ordering = ["-trading_day", "-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status="open") | (~Q(decision_note="") & Q(decided_at__isnull=False)),
                                   name="alert_decided_with_a_note"),
        ]
        triggers = [transition_trigger("alert_transitions", ALERT_TRANSITIONS)]

    def __str__(self):
        return f"{self.get_kind_display()} {self.participant} {self.trading_day}"

    def summary_text(self) -> str:
        """What was found, in the reader's language (``summary`` keeps it in English for searches and exports)."""
        from django.utils.translation import gettext

        from accounts.templatetags.registry import reads_english
        from market.models.orders import Order

        message, params = self.facts.get("message"), dict(self.facts.get("params", {}))
        if not message:
            return self.summary
        if "side" in params:
            params["side"] = str(Order.Side(params["side"]).label).lower()
        if reads_english():  # the organisations it names, by their English names where they had one
            params |= self.facts.get("names_en", {})
        return gettext(message) % params

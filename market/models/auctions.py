"""GXA's reverse auction at the lower-limit price (report §1; market.services.auctions; docs/market.md)."""

from django.db import models
from django.db.models import F, Q
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from accounts.models import HoldingAccount, LedgerTransaction, User
from accounts.models.identity import audited
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.transitions import transition_trigger
from market.models.participants import Instrument, Participant

AUCTION_TRANSITIONS = {"open": {"cleared"}}
OFFER_TRANSITIONS = {"submitted": {"withdrawn", "accepted", "rejected"}}


@audited()
class ReverseAuction(models.Model):
    """GXA buys allowances of one vintage back from holders, within a budget, from sealed offers in a window."""

    TRANSITIONS = AUCTION_TRANSITIONS

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("auction", "Open")
        CLEARED = "cleared", _("Cleared")

    class BudgetKind(models.TextChoices):
        VOLUME = "volume", _("Allowances")
        YEN = "yen", _("Yen")

    class Pricing(models.TextChoices):
        UNIFORM = "uniform", _("Uniform price")
        PAY_AS_BID = "pay_as_bid", _("Pay as bid")

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="reverse_auctions",
                                   verbose_name=_("instrument"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    budget_kind = models.CharField(_("budget in"), max_length=6, choices=BudgetKind.choices)
    budget = models.BigIntegerField(_("budget"))
    pricing = models.CharField(_("pricing"), max_length=10, choices=Pricing.choices)
    # No offer above the lower-limit price in force when the auction opened (§1): GXA supports the floor.
    max_price_yen = models.PositiveIntegerField(_("highest price offered (yen)"))
    offers_from = models.DateTimeField(_("offers from"))
    offers_until = models.DateTimeField(_("offers until"))
    reason = models.CharField(_("why GXA opened it"), max_length=500)
    opened_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by"))
    opened_at = models.DateTimeField(_("opened at"))
    # The published result (§1): set once, when cleared.
    cleared_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name=_("cleared by"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_quantity = models.BigIntegerField(_("allowances bought"), null=True, blank=True)
    cleared_yen = models.BigIntegerField(_("yen paid"), null=True, blank=True)
    clearing_price_yen = models.PositiveIntegerField(_("clearing price (yen)"), null=True, blank=True)
    bidders = models.PositiveIntegerField(_("bidders"), null=True, blank=True)
    accepted_bidders = models.PositiveIntegerField(_("bidders accepted"), null=True, blank=True)

    class Meta:
        verbose_name = _("reverse auction")
        verbose_name_plural = _("reverse auctions")
        ordering = ["-offers_from", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gt=0) & Q(max_price_yen__gt=0), name="auction_budget_positive"),
            models.CheckConstraint(condition=Q(offers_from__lt=F("offers_until")), name="auction_window"),
            models.UniqueConstraint(fields=["instrument"], condition=Q(status="open"), name="one_open_auction"),
            models.CheckConstraint(
                condition=~Q(status="cleared") | (Q(cleared_at__isnull=False) & Q(cleared_quantity__isnull=False)
                                                  & Q(bidders__isnull=False)),
                name="auction_cleared_has_result"),
        ]
        triggers = [transition_trigger("auction_transitions", AUCTION_TRANSITIONS)]

    def __str__(self):
        return f"{self.instrument} {self.offers_from:%Y-%m-%d}"

    def budget_label(self) -> str:
        """The budget as a reader says it: '500 allowances' or '¥1,000,000' ('500 排出枠', '1,000,000 円')."""
        amount = number_format(self.budget, force_grouping=True)
        if self.budget_kind == self.BudgetKind.YEN:
            return _("¥%(amount)s") % {"amount": amount}
        return ngettext("%(amount)s allowance", "%(amount)s allowances", self.budget) % {"amount": amount}


@audited()
class AuctionOffer(models.Model):
    """A holder's sealed offer to sell allowances to GXA; its allowances are reserved until the auction clears."""

    TRANSITIONS = OFFER_TRANSITIONS

    class Status(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("auction offer", "Submitted")
        WITHDRAWN = "withdrawn", pgettext_lazy("auction offer", "Withdrawn")
        ACCEPTED = "accepted", pgettext_lazy("auction offer", "Accepted")
        REJECTED = "rejected", pgettext_lazy("auction offer", "Not accepted")

    auction = models.ForeignKey(ReverseAuction, on_delete=models.PROTECT, related_name="offers",
                                verbose_name=_("reverse auction"))
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="auction_offers",
                                    verbose_name=_("participant"))
    price_yen = models.PositiveIntegerField(_("price (yen)"))
    quantity = models.BigIntegerField(_("quantity"))
    unit_account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("allowance account"))
    cash_account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("cash account"))
    reserved_units = models.BigIntegerField(_("allowances reserved"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    sequence = models.BigIntegerField(_("order of submission"), unique=True)
    accepted_quantity = models.BigIntegerField(_("allowances accepted"), default=0)
    paid_price_yen = models.PositiveIntegerField(_("price paid (yen)"), null=True, blank=True)
    ledger_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="auction_offer", verbose_name=_("ledger transaction"))
    submitted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by"))
    submitted_at = models.DateTimeField(_("submitted at"))

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "participant__organisation"

    class Meta:
        verbose_name = _("auction offer")
        verbose_name_plural = _("auction offers")
        ordering = ["auction", "price_yen", "sequence"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(price_yen__gt=0), name="offer_positive"),
            # A submitted offer reserves all it offers; once decided, nothing.
            models.CheckConstraint(condition=(Q(status="submitted") & Q(reserved_units=F("quantity")))
                                   | (~Q(status="submitted") & Q(reserved_units=0)),
                                   name="offer_reserves_while_submitted"),
            models.CheckConstraint(condition=(Q(status="accepted") & Q(accepted_quantity__gt=0)
                                              & Q(accepted_quantity__lte=F("quantity"))
                                              & Q(paid_price_yen__isnull=False) & Q(ledger_transaction__isnull=False))
                                   | (~Q(status="accepted") & Q(accepted_quantity=0)),
                                   name="offer_accepted_is_paid"),
        ]
        triggers = [transition_trigger("offer_transitions", OFFER_TRANSITIONS)]

    def __str__(self):
        return f"{self.quantity} @ {self.price_yen} ({self.auction})"

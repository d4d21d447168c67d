"""Orders on an instrument's book and the trades between them (market.services.orders; docs/market.md)."""

import pghistory
import pgtrigger
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import HoldingAccount, LedgerTransaction, User
from accounts.models.identity import audited
from gxregistry.querysets import RestrictedQuerySet
from gxregistry.transitions import transition_trigger
from market.models.participants import Instrument, Participant

ORDER_TRANSITIONS = {"open": {"filled", "cancelled", "expired"}}


# The audit trail of an order is its row (who entered it, when, at what price and quantity: the row is written once,
# as matching left it) and its trades (what filled it); pghistory keeps what people changed after entry — an amend
# (price, quantity, place in time), a cancellation, an expiry — as the order was before the change, with who and when.
# Fills write no audit row: an order costs one row, not one a fill (docs/market.md).
ORDER_CHANGED_BY_A_PERSON = (
    pgtrigger.Q(old__price_yen__df=pgtrigger.F("new__price_yen"))
    | pgtrigger.Q(old__quantity__df=pgtrigger.F("new__quantity"))
    | pgtrigger.Q(old__sequence__df=pgtrigger.F("new__sequence"))
    | pgtrigger.Q(old__status="open", new__status__in=["cancelled", "expired"]))


@audited(trackers=(pghistory.UpdateEvent("before_change", row=pghistory.Old, condition=ORDER_CHANGED_BY_A_PERSON),
                   pghistory.DeleteEvent()))
class Order(models.Model):
    """A limit order. While open it reserves what it may deliver: a sell order its remaining allowances in the
    seller's account, a buy order its remaining quantity times its price in yen in the buyer's cash account
    (``Balance.reserved``), so neither can be transferred, surrendered or withdrawn meanwhile."""

    TRANSITIONS = ORDER_TRANSITIONS

    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("order", "Open")
        FILLED = "filled", _("Filled")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class TimeInForce(models.TextChoices):
        DAY = "day", _("Good for the day")
        GTC = "gtc", _("Good till cancelled")

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders",
                                   verbose_name=_("instrument"))
    # No index of their own on the participant, the accounts and the user: the idempotency constraint's index
    # leads with the participant, the others are never searched, and each index is written on every order.
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="orders",
                                    verbose_name=_("participant"), db_index=False)
    side = models.CharField(_("side"), max_length=4, choices=Side.choices)
    price_yen = models.PositiveIntegerField(_("limit price (yen)"))
    quantity = models.BigIntegerField(_("quantity"))
    remaining = models.BigIntegerField(_("remaining"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    time_in_force = models.CharField(_("time in force"), max_length=4, choices=TimeInForce.choices)
    # Time priority: taken from a sequence on entry, and again by an amend that loses priority.
    sequence = models.BigIntegerField(_("priority sequence"), unique=True)
    # Orders of one owner (an organisation, or the joint-notification group it belongs to) never trade together.
    owner = models.CharField(_("owner"), max_length=40)
    unit_account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("allowance account"), db_index=False)
    cash_account = models.ForeignKey(HoldingAccount, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("cash account"), db_index=False)
    reserved_units = models.BigIntegerField(_("allowances reserved"), default=0)
    reserved_yen = models.BigIntegerField(_("yen reserved"), default=0)
    trading_day = models.DateField(_("trading day entered"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    entered_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by"),
                                   db_index=False)
    entered_at = models.DateTimeField(_("entered at"))
    closed_reason = models.CharField(_("why it closed"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The best price on the order's own side when it was entered (None: none rested); surveillance reads how far
    # behind the touch an order was placed (layering).
    touch_yen = models.PositiveIntegerField(_("best price on its side at entry"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    organisation_lookup = "participant__organisation"

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-entered_at", "-id"]
        # The book, best first: offers by price and time; bids by price descending and time, their own index so
        # that matching a sell order reads the best bids first rather than sorting every crossing bid.
        indexes = [models.Index(fields=["instrument", "side", "price_yen", "sequence"], condition=Q(status="open"),
                                name="market_order_book"),
                   models.Index(F("instrument"), F("price_yen").desc(), F("sequence"),
                                condition=Q(status="open", side="buy"), name="market_order_bids")]
        constraints = [
            models.UniqueConstraint(fields=["participant", "idempotency_key"], name="order_idempotency_key_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(price_yen__gt=0) & Q(remaining__gte=0)
                                   & Q(remaining__lte=F("quantity")), name="order_quantities"),
            models.CheckConstraint(condition=~Q(status="open") | Q(remaining__gt=0), name="order_open_has_remaining"),
            models.CheckConstraint(condition=~Q(status="filled") | Q(remaining=0), name="order_filled_has_none_left"),
            # What an order reserves is exactly what it may still deliver, and nothing once it is closed.
            models.CheckConstraint(
                condition=(Q(status="open", side="sell") & Q(reserved_units=F("remaining")) & Q(reserved_yen=0))
                | (Q(status="open", side="buy") & Q(reserved_yen=F("remaining") * F("price_yen"))
                   & Q(reserved_units=0))
                | (~Q(status="open") & Q(reserved_units=0) & Q(reserved_yen=0)),
                name="order_reserves_what_it_may_deliver"),
        ]
        triggers = [transition_trigger("order_transitions", ORDER_TRANSITIONS)]

    def __str__(self):
        return f"{self.get_side_display()} {self.remaining}/{self.quantity} @ {self.price_yen} ({self.instrument})"


class Trade(models.Model):
    """A match between a buy and a sell order. The trades of one batch of orders settle together in one ledger
    transaction that moves each participant's net allowances and yen (market/services/book.py); none when they
    cancel out."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="trades",
                                   verbose_name=_("instrument"))
    buy_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="buys", verbose_name=_("buy order"))
    sell_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="sells",
                                   verbose_name=_("sell order"))
    aggressor = models.CharField(_("incoming side"), max_length=4, choices=Order.Side.choices)
    price_yen = models.PositiveIntegerField(_("price (yen)"))
    quantity = models.BigIntegerField(_("quantity"))
    ledger_transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="trades",
                                           null=True, blank=True, verbose_name=_("settled by ledger transaction"))
    traded_at = models.DateTimeField(_("traded at"), db_index=True)

    class Meta:
        verbose_name = _("trade")
        verbose_name_plural = _("trades")
        ordering = ["-traded_at", "-id"]
        indexes = [models.Index(fields=["instrument", "traded_at"], name="market_trade_instrument_time")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0) & Q(price_yen__gt=0), name="trade_positive"),
            models.CheckConstraint(condition=~Q(buy_order=F("sell_order")), name="trade_two_orders"),
        ]
        triggers = [pgtrigger.Protect(name="trade_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self):
        return f"{self.quantity} @ {self.price_yen} ({self.instrument})"

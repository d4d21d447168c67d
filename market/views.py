"""The market's pages: the instruments, and one instrument's book with a participant's order entry. Views collect
input and call market.services.orders; the services decide."""

import uuid

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.generic import ListView, TemplateView

from accounts.roles import VIEW
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.exports import csv_response
from gxregistry.pages import FormPageMixin
from gxregistry.replica import PublicReadMixin
from market import selectors
from market.forms import AuctionOfferForm, AuctionOfferWithdrawForm, OrderCancelForm, OrderForm
from market.models import AuctionOffer, Instrument, Order, ReverseAuction
from market.services import auctions, orders
from market.services.participants import in_session

# Why the matching cancelled the rest of an incoming order (Order.closed_reason, set in market/services/book.py).
CANCELLED_ON_ENTRY = {
    "self_trade": gettext_lazy("The rest was cancelled: it would have traded with an order of your own "
                               "organisation or joint-notification group (self-trade prevention)."),
    "price_band": gettext_lazy("The rest was cancelled and trading is halted for a while: the next trade would "
                               "have been outside the price band."),
}


class InstrumentListView(PublicReadMixin, ListView):
    """Public, no login: the listed instruments and their terms, each with its daily prices (its book and order
    entry are for participants)."""

    model = Instrument
    template_name = "market/instrument_list.html"
    context_object_name = "instruments"


class InstrumentBookMixin:
    def instrument(self):
        return get_object_or_404(Instrument, code=self.kwargs["code"])

    def book_context(self, instrument) -> dict:
        now = timezone.now()
        return {"instrument": instrument, "book": selectors.book_levels(instrument),
                "trades": selectors.recent_trades(instrument), "in_session": in_session(instrument, now),
                "halted": bool(instrument.halted_until and instrument.halted_until > now), "now": now}


class InstrumentView(FormPageMixin, InstrumentBookMixin, LoginRequiredMixin, TemplateView):
    """The book (price levels, latest trades; refreshed in place every few seconds) and, for a participant's
    representative, order entry, its open orders and what it has free and reserved."""

    template_name = "market/instrument.html"
    forms = {"enter": OrderForm, "cancel": OrderCancelForm}

    def get_object(self):
        return self.instrument()

    def participant(self):
        return selectors.trading_participant(self.request.user)

    def build_form(self, name, data=None):
        if name == "enter":
            return OrderForm(data, initial={"idempotency_key": uuid.uuid4().hex})
        return OrderCancelForm(data)

    def form_valid_enter(self, form):
        participant = self.participant()
        if participant is None:
            raise RegistryError(ErrorCode.NOT_PERMITTED, _("Your organisation does not take part in the market."))
        data = form.cleaned_data
        entered = orders.order_enter(participant=participant, instrument=self.object, side=data["side"],
                                     price_yen=data["price_yen"], quantity=data["quantity"],
                                     time_in_force=data["time_in_force"], idempotency_key=data["idempotency_key"],
                                     acting_user=self.request.user)
        order = entered.order
        traded = order.quantity - order.remaining
        messages.success(self.request, _("Order entered: %(side)s %(quantity)s at %(price)s yen; %(traded)s traded, "
                                         "%(status)s.") % {
            "side": order.get_side_display(), "quantity": f"{order.quantity:,}", "price": f"{order.price_yen:,}",
            "traded": f"{traded:,}", "status": order.get_status_display().lower()})
        if order.closed_reason in CANCELLED_ON_ENTRY:  # the rest was cancelled by the market's rules: say which
            messages.warning(self.request, CANCELLED_ON_ENTRY[order.closed_reason])

    def form_valid_cancel(self, form):
        participant = self.participant()
        order = Order.objects.filter(pk=form.cleaned_data["order"], participant=participant,
                                     instrument=self.object).first() if participant else None
        if order is None:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("No such order of yours on this instrument."), "order")
        orders.order_cancel(order=order, acting_user=self.request.user)
        messages.success(self.request, _("Order cancelled; what it reserved is free again."))

    def get_context_data(self, **kwargs):
        instrument = getattr(self, "object", None) or self.instrument()
        self.object = instrument
        participant = self.participant()
        may_trade = participant is not None
        if participant is None:  # a viewer of a participant sees its position and orders, read only
            participant = selectors.trading_participant(self.request.user, VIEW)
        kwargs.update(self.book_context(instrument), participant=participant, may_trade=may_trade)
        if participant is not None:
            kwargs["position"] = selectors.participant_position(participant, instrument)
        if may_trade:
            kwargs.setdefault("enter_form", self.build_form("enter"))
        return super().get_context_data(**kwargs)


class BookFragmentView(InstrumentBookMixin, LoginRequiredMixin, TemplateView):
    """The book and the latest trades alone: what the instrument page fetches to refresh itself."""

    template_name = "market/book.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, **self.book_context(self.instrument()))


class PricesView(PublicReadMixin, TemplateView):
    """Public, no login: an instrument's daily prices (OHLC, VWAP, volume) with a candlestick chart and CSV, and
    what rests on the book. No participant is named."""

    template_name = "market/prices.html"

    def get(self, request, *args, **kwargs):
        instrument = get_object_or_404(Instrument, code=self.kwargs["code"])
        days = selectors.daily_prices(instrument)
        if request.GET.get("export") == "csv":
            return csv_response(
                [_("Date"), pgettext("price", "Open"), pgettext("price", "High"), pgettext("price", "Low"),
                 pgettext("price", "Close"), _("VWAP"), _("Volume"), _("Trades")],
                [(d.day.isoformat(), d.open, d.high, d.low, d.close, d.vwap, d.volume, d.trades) for d in days],
                f"gx-ets-{instrument.code}-daily-prices.csv")
        return self.render_to_response(self.get_context_data(
            instrument=instrument, days=list(reversed(days)), chart=selectors.candles(days[-60:]),
            open_interest=selectors.open_interest(instrument),
            instruments=Instrument.objects.order_by("vintage")))


class AuctionListView(PublicReadMixin, ListView):
    """Public, no login: GXA's reverse auctions (§1) — those taking offers, and the results of those cleared
    (allowances bought, clearing price, yen paid, bidders). No bidder is named."""

    template_name = "market/auction_list.html"
    context_object_name = "auctions"

    def get_queryset(self):
        return ReverseAuction.objects.select_related("instrument").order_by("-offers_from")


class AuctionView(FormPageMixin, TemplateView):
    """One reverse auction: its terms and result (public) and, for a participant's representative while the window
    is open, a sealed offer and its own offers (no one sees another's offer)."""

    template_name = "market/auction.html"
    forms = {"offer": AuctionOfferForm, "withdraw": AuctionOfferWithdrawForm}

    def get_object(self):
        return get_object_or_404(ReverseAuction.objects.select_related("instrument"), pk=self.kwargs["pk"])

    def participant(self):
        return selectors.trading_participant(self.request.user)

    def build_form(self, name, data=None):
        return self.forms[name](data)

    def _participant_or_refuse(self):
        participant = self.participant()
        if participant is None:
            raise RegistryError(ErrorCode.NOT_PERMITTED, _("Your organisation does not take part in the market."))
        return participant

    def form_valid_offer(self, form):
        offer = auctions.offer_submit(auction=self.object, participant=self._participant_or_refuse(),
                                      acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Offer sent: %(quantity)s allowances at %(price)s yen, reserved until the "
                                         "auction is cleared.") % {"quantity": f"{offer.quantity:,}",
                                                                  "price": f"{offer.price_yen:,}"})

    def form_valid_withdraw(self, form):
        participant = self._participant_or_refuse()
        offer = AuctionOffer.objects.filter(pk=form.cleaned_data["offer"], auction=self.object,
                                            participant=participant).first()
        if offer is None:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("No such offer of yours in this auction."), "offer")
        auctions.offer_withdraw(offer=offer, acting_user=self.request.user)
        messages.success(self.request, _("Offer withdrawn; its allowances are free again."))

    def get_context_data(self, **kwargs):
        auction = getattr(self, "object", None) or self.get_object()
        self.object = auction
        now = timezone.now()
        participant = self.participant()
        kwargs.update(auction=auction, now=now, participant=participant,
                      window_open=auction.status == ReverseAuction.Status.OPEN
                      and auction.offers_from <= now < auction.offers_until)
        if participant is not None:
            kwargs["offers"] = AuctionOffer.objects.filter(auction=auction, participant=participant).order_by(
                "sequence")
            kwargs["position"] = selectors.participant_position(participant, auction.instrument)
            kwargs.setdefault("offer_form", AuctionOfferForm())
        return super().get_context_data(**kwargs)

"""GXA's pages (§8): participants and cash; instruments and their trading parameters; reverse auctions (§1); and
surveillance (the review queue, thresholds, insider lists).

Only GXA's market operators (``operate_market``) open them; every act goes through market.services, and the
services check the role again.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from accounts.models import Balance, HoldingAccount, UnitType
from accounts.roles import OPERATE_MARKET
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.pages import FormPageMixin
from market import forms as market_forms
from market import selectors
from market.forms import CashForm, DecisionForm
from market.models import (
    Alert,
    InsiderList,
    InsiderListMember,
    Instrument,
    Participant,
    ReverseAuction,
    SurveillanceParameters,
)
from market.services import auctions, orders, participants, surveillance


class OperatorPageMixin(FormPageMixin, LoginRequiredMixin):
    """A page of GXA's: only its market operators open it (the services check the role again)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self._is_operator():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _is_operator(self) -> bool:
        try:
            return may(self.request.user, OPERATE_MARKET, participants.market_operator())
        except RegistryError:
            return False

    # Several forms on a page: each form's fields are named "<form>-<field>" so their ids do not collide.
    prefix_forms = True

    def build_form(self, name, data=None):
        return self.forms[name](data, prefix=name if self.prefix_forms else None)

    def chosen(self, model, form, field: str):
        """The row the form names in ``field``, or a refusal naming the field."""
        row = model.objects.filter(pk=form.cleaned_data[field]).first()
        if row is None:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("Choose one from the list."), field)
        return row


class OperatorView(OperatorPageMixin, TemplateView):
    template_name = "market/operator.html"
    forms = {"decide": DecisionForm, "cash": CashForm}
    prefix_forms = False

    def _participant(self, form) -> Participant:
        return self.chosen(Participant, form, "participant")

    def form_valid_decide(self, form):
        data = form.cleaned_data
        participant = participants.participant_decide(
            participant=self._participant(form), decision=data["decision"], reason=data["reason"],
            acting_user=self.request.user, otp_token=data["otp_token"])
        messages.success(self.request, _("%(participant)s is now %(state)s.") % {
            "participant": participant, "state": participant.get_status_display().lower()})

    def form_valid_cash(self, form):
        data = form.cleaned_data
        confirm = orders.cash_deposit if data["direction"] == "deposit" else orders.cash_withdrawal
        booking = confirm(participant=self._participant(form), amount_yen=data["amount_yen"],
                          bank_reference=data["bank_reference"], acting_user=self.request.user,
                          otp_token=data["otp_token"])
        messages.success(self.request, _("Bank transfer %(reference)s booked as ledger transaction #%(id)s.") % {
            "reference": data["bank_reference"], "id": booking.pk})

    def get_context_data(self, **kwargs):
        rows = list(Participant.objects.select_related("organisation").order_by("status", "organisation__name"))
        cash = {b.account.organisation_id: b for b in Balance.objects.filter(
            account__kind=HoldingAccount.Kind.MARKET_CASH, unit_type=UnitType.YEN).select_related("account")}
        for participant in rows:
            balance = cash.get(participant.organisation_id)
            participant.yen = (balance.quantity - balance.reserved, balance.reserved) if balance else (0, 0)
        kwargs.update(participants=rows, decide_form=kwargs.get("decide_form") or DecisionForm(),
                      cash_form=kwargs.get("cash_form") or CashForm())
        return super().get_context_data(**kwargs)


class InstrumentsOperatorView(OperatorPageMixin, TemplateView):
    """Instruments and the price-spike measures with their history."""

    template_name = "market/operator_instruments.html"
    forms = {"instrument": market_forms.InstrumentForm, "parameters": market_forms.ParametersForm}

    def form_valid_instrument(self, form):
        instrument = participants.instrument_create(acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("%(instrument)s is listed from %(day)s.") % {
            "instrument": instrument, "day": instrument.opens_on})

    def form_valid_parameters(self, form):
        parameters = participants.parameters_set(acting_user=self.request.user, **form.cleaned_data)
        low, high = parameters.band()
        messages.success(self.request, _("%(instrument)s trades from %(low)s to %(high)s yen from %(moment)s.") % {
            "instrument": parameters.instrument, "low": f"{low:,}", "high": f"{high:,}",
            "moment": f"{timezone.localtime(parameters.effective_from):%Y-%m-%d %H:%M}"})

    def get_context_data(self, **kwargs):
        now = timezone.now()
        instruments = list(Instrument.objects.order_by("vintage").prefetch_related("parameters__set_by"))
        for instrument in instruments:
            instrument.in_force = participants.parameters_at(instrument, now)
        kwargs.setdefault("instrument_form", self.build_form("instrument"))
        kwargs.setdefault("parameters_form", self.build_form("parameters"))
        return super().get_context_data(instruments=instruments, **kwargs)


class AuctionsOperatorView(OperatorPageMixin, TemplateView):
    """Reverse auctions at the lower limit (§1): which vintages are due, opening one, clearing it after its
    window. Offers stay sealed (a count only) until the auction is cleared."""

    template_name = "market/operator_auctions.html"
    forms = {"open": market_forms.AuctionOpenForm, "clear": market_forms.AuctionClearForm}

    def form_valid_open(self, form):
        auction = auctions.auction_open(acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("The reverse auction of %(instrument)s takes offers until %(end)s.") % {
            "instrument": auction.instrument, "end": f"{timezone.localtime(auction.offers_until):%Y-%m-%d %H:%M}"})

    def form_valid_clear(self, form):
        auction = auctions.auction_clear(auction=self.chosen(ReverseAuction, form, "auction"),
                                         acting_user=self.request.user, otp_token=form.cleaned_data["otp_token"])
        messages.success(self.request, _("Cleared: %(quantity)s allowances bought for %(yen)s yen from %(bidders)s "
                                         "bidders.") % {"quantity": f"{auction.cleared_quantity:,}",
                                                        "yen": f"{auction.cleared_yen:,}",
                                                        "bidders": auction.accepted_bidders})

    def get_context_data(self, **kwargs):
        day = timezone.localdate()
        instruments = list(Instrument.objects.order_by("vintage"))
        for instrument in instruments:  # the last closes, and whether they make an auction due
            instrument.last_closes = [d for d in selectors.daily_prices(instrument) if d.day <= day][
                -auctions.TRIGGER_DAYS:]
            instrument.due = bool(auctions.lower_limit_closes(instrument, day))
        kwargs.setdefault("open_form", self.build_form("open"))
        listed = (ReverseAuction.objects.select_related("instrument").annotate(
            offer_count=Count("offers", filter=Q(offers__status="submitted"))).order_by("-offers_from"))
        return super().get_context_data(
            instruments=instruments, auctions=listed, now=timezone.now(), floor=auctions.lower_limit_price(day),
            trigger_days=auctions.TRIGGER_DAYS, **kwargs)


class SurveillanceView(OperatorPageMixin, TemplateView):
    """The review queue of alerts with decisions, a day scanned again, the thresholds and the insider lists."""

    template_name = "market/operator_surveillance.html"
    forms = {"decide": market_forms.AlertDecisionForm, "scan": market_forms.ScanForm,
             "thresholds": market_forms.ThresholdsForm, "insider_list": market_forms.InsiderListForm,
             "insider_add": market_forms.InsiderAddForm, "insider_remove": market_forms.InsiderRemoveForm}

    def form_valid_decide(self, form):
        alert = surveillance.alert_decide(alert=self.chosen(Alert, form, "alert"),
                                          decision=form.cleaned_data["decision"], note=form.cleaned_data["note"],
                                          acting_user=self.request.user)
        messages.success(self.request, _("Alert %(id)s: %(status)s.") % {
            "id": alert.pk, "status": alert.get_status_display().lower()})

    def form_valid_scan(self, form):
        raised = surveillance.surveillance_scan(acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("%(count)s new alerts.") % {"count": raised})

    def form_valid_thresholds(self, form):
        surveillance.surveillance_parameters_set(acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("The thresholds are set."))

    def form_valid_insider_list(self, form):
        made = surveillance.insider_list_create(acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Insider list “%(name)s” created.") % {"name": made})

    def form_valid_insider_add(self, form):
        member = surveillance.insider_add(acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("%(email)s is on the list from now: orders they enter are flagged.") % {
            "email": member.user.email})

    def form_valid_insider_remove(self, form):
        member = surveillance.insider_remove(member=self.chosen(InsiderListMember, form, "member"),
                                             acting_user=self.request.user)
        messages.success(self.request, _("%(email)s has left the list.") % {"email": member.user.email})

    def get_context_data(self, **kwargs):
        status = self.request.GET.get("status", Alert.Status.OPEN)
        if status not in Alert.Status.values and status != "all":
            status = Alert.Status.OPEN
        kwargs.setdefault("scan_form", market_forms.ScanForm(initial={"day": timezone.localdate()}, prefix="scan"))
        kwargs.setdefault("thresholds_form", market_forms.ThresholdsForm(
            initial=vars(surveillance.thresholds_at(timezone.now())), prefix="thresholds"))
        kwargs.setdefault("insider_list_form", self.build_form("insider_list"))
        kwargs.setdefault("insider_add_form", self.build_form("insider_add"))
        return super().get_context_data(
            alerts=selectors.alerts_for_review(None if status == "all" else status)[:200], status=status,
            statuses=Alert.Status.choices, instruments=Instrument.objects.order_by("vintage"),
            thresholds=SurveillanceParameters.objects.select_related("set_by")[:20],
            in_force=surveillance.thresholds_at(timezone.now()),
            insider_lists=InsiderList.objects.prefetch_related("members__user").order_by("name"), **kwargs)

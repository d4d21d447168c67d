"""GXA's page: participants' applications and standing, and the cash it confirms in and out (§8).

Only GXA's market operators (``operate_market``) open it; every act goes through market.services with a fresh
second-factor code, and the services check the role again.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView

from accounts.models import Balance, HoldingAccount, UnitType
from accounts.roles import OPERATE_MARKET
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.pages import FormPageMixin
from market.models import Participant
from market.services import orders, participants


def second_factor_field() -> forms.CharField:
    """The code each act asks for (two forms on one page: no autofocus, unlike gxregistry.pages')."""
    return forms.CharField(label=gettext_lazy("Second-factor code"), max_length=16,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class DecisionForm(forms.Form):
    participant = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[(d, d) for d in participants.DECISIONS], widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Reason (refusing or suspending)"), max_length=500, required=False)
    otp_token = second_factor_field()


class CashForm(forms.Form):
    participant = forms.IntegerField(widget=forms.HiddenInput)
    direction = forms.ChoiceField(label=gettext_lazy("Bank transfer"), choices=[
        ("deposit", gettext_lazy("In: paid in to GXA")), ("withdrawal", gettext_lazy("Out: paid out by GXA"))])
    amount_yen = forms.CharField(label=gettext_lazy("Amount (yen)"), max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    bank_reference = forms.CharField(label=gettext_lazy("Bank reference"), max_length=60)
    otp_token = second_factor_field()


class OperatorView(FormPageMixin, LoginRequiredMixin, TemplateView):
    template_name = "market/operator.html"
    forms = {"decide": DecisionForm, "cash": CashForm}

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self._is_operator():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _is_operator(self) -> bool:
        try:
            return may(self.request.user, OPERATE_MARKET, participants.market_operator())
        except RegistryError:
            return False

    def build_form(self, name, data=None):
        return self.forms[name](data)

    def _participant(self, form) -> Participant:
        participant = Participant.objects.filter(pk=form.cleaned_data["participant"]).first()
        if participant is None:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("No such participant."), "participant")
        return participant

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

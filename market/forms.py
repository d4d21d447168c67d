from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from market.models import InsiderList, Instrument, Order
from market.services.participants import DECISIONS as PARTICIPANT_DECISIONS


class OrderForm(forms.Form):
    side = forms.ChoiceField(label=_("Buy or sell"), choices=Order.Side.choices, widget=forms.RadioSelect)
    price_yen = forms.CharField(label=_("Limit price (yen per allowance)"), max_length=12,
                                widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    quantity = forms.CharField(label=_("Quantity (allowances)"), max_length=20,
                               widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    time_in_force = forms.ChoiceField(label=_("Stays on the book"), choices=Order.TimeInForce.choices,
                                      initial=Order.TimeInForce.DAY)
    # A new key each time the form is shown: sending the same form twice enters one order.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


class OrderCancelForm(forms.Form):
    order = forms.IntegerField(widget=forms.HiddenInput)


def _numeric(label, max_length=20, required=True):
    return forms.CharField(label=label, max_length=max_length, required=required,
                           widget=forms.TextInput(attrs={"inputmode": "numeric"}))


def _moment(label):
    return forms.DateTimeField(label=label, widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                        format="%Y-%m-%dT%H:%M"))


def second_factor_field() -> forms.CharField:
    """The code an act asks for (several forms on one page: no autofocus)."""
    return forms.CharField(label=_("Second-factor code"), max_length=16,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class AuctionOfferForm(forms.Form):
    price_yen = _numeric(_("Price (yen per allowance)"), 12)
    quantity = _numeric(_("Quantity (allowances)"))


class AuctionOfferWithdrawForm(forms.Form):
    offer = forms.IntegerField(widget=forms.HiddenInput)


class InstrumentForm(forms.Form):
    vintage = forms.IntegerField(label=_("Vintage (FY)"), min_value=2026, max_value=2100)
    opens_on = forms.DateField(label=_("First trading day"), widget=forms.DateInput(attrs={"type": "date"}))
    session_opens_at = forms.TimeField(label=_("Session opens (JST)"), initial="09:00",
                                       widget=forms.TimeInput(attrs={"type": "time"}))
    session_closes_at = forms.TimeField(label=_("Session closes (JST)"), initial="15:00",
                                        widget=forms.TimeInput(attrs={"type": "time"}))
    tick_yen = forms.IntegerField(label=_("Tick (yen)"), min_value=1, initial=1)
    lot = forms.IntegerField(label=_("Lot (allowances)"), min_value=1, initial=1)


def _instrument_field():
    return forms.ModelChoiceField(label=pgettext_lazy("market", "Instrument"), queryset=Instrument.objects.order_by("vintage"))


class ParametersForm(forms.Form):
    instrument = _instrument_field()
    effective_from = _moment(_("Effective from (JST)"))
    reference_price_yen = _numeric(_("Reference price (yen)"), 12)
    band_percent = _numeric(_("Price band (± %)"), 8)
    halt_minutes = _numeric(_("Halt (minutes)"), 6)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class AuctionOpenForm(forms.Form):
    instrument = _instrument_field()
    budget_kind = forms.ChoiceField(label=_("Budget in"), choices=[("volume", _("Allowances")), ("yen", _("Yen"))])
    budget = _numeric(_("Budget"))
    pricing = forms.ChoiceField(label=_("Pricing"), choices=[("uniform", _("Uniform price")),
                                                             ("pay_as_bid", _("Pay as bid"))])
    offers_from = _moment(_("Offers from (JST)"))
    offers_until = _moment(_("Offers until (JST)"))
    reason = forms.CharField(label=_("Why GXA opens it (published)"), max_length=500)
    otp_token = second_factor_field()


class AuctionClearForm(forms.Form):
    auction = forms.IntegerField(widget=forms.HiddenInput)
    otp_token = second_factor_field()


class AlertDecisionForm(forms.Form):
    alert = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("dismiss", "dismiss"), ("refer", "refer")], widget=forms.HiddenInput)
    note = forms.CharField(label=_("Reasons for the decision"), max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ScanForm(forms.Form):
    instrument = _instrument_field()
    day = forms.DateField(label=_("Trading day"), widget=forms.DateInput(attrs={"type": "date"}))


class ThresholdsForm(forms.Form):
    effective_from = _moment(_("Effective from (JST)"))
    concentration_percent = _numeric(_("Concentration (percentage of the day's volume or of the vintage held)"), 8)
    layering_seconds = _numeric(_("Layering: cancelled within (seconds)"), 6)
    layering_ticks = _numeric(_("Layering: ticks behind the best price"), 6)
    layering_orders = _numeric(_("Layering: orders in a day"), 6)
    close_minutes = _numeric(_("Marking the close: last minutes of the session"), 6)
    close_move_percent = _numeric(_("Marking the close: move of the close from the day's VWAP (%)"), 8)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class InsiderListForm(forms.Form):
    name = forms.CharField(label=_("Name of the list"), max_length=200)
    information = forms.CharField(label=_("Non-public information its members hold"), max_length=500)


class InsiderAddForm(forms.Form):
    insider_list = forms.ModelChoiceField(label=_("Insider list"), queryset=InsiderList.objects.order_by("name"))
    email = forms.CharField(label=_("E-mail address of the person"), max_length=254)
    reason = forms.CharField(label=_("Why on the list"), max_length=300)


class InsiderRemoveForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    participant = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[(d, d) for d in PARTICIPANT_DECISIONS], widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason (refusing or suspending)"), max_length=500, required=False)
    otp_token = second_factor_field()


class CashForm(forms.Form):
    participant = forms.IntegerField(widget=forms.HiddenInput)
    direction = forms.ChoiceField(label=_("Bank transfer"), choices=[
        ("deposit", _("In: paid in to GXA")), ("withdrawal", _("Out: paid out by GXA"))])
    amount_yen = forms.CharField(label=_("Amount (yen)"), max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=60)
    otp_token = second_factor_field()

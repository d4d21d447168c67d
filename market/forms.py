from django import forms
from django.utils.translation import gettext_lazy as _

from market.models import Order


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

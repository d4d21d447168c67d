"""Forms of the ledger's and compliance's pages: they collect and name the fields; the services validate."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import CREDIT_TYPES, HELD_UNIT_CHOICES, BookingRequest, CreditBatch, HoldingAccount, UnitType

# --- ledger forms: the services validate; these only collect and name the fields ------------------------

def unit_value(unit_type: str, vintage: int, credit_batch_id: int | None) -> str:
    return f"{unit_type}:{vintage}:{credit_batch_id or ''}"


def held_label(name: str, balance) -> str:
    """A unit offered on a form with what of it is free to move: units a market order reserves cannot be."""
    free = balance.quantity - balance.reserved
    if not balance.reserved:
        return f"{name} — {free:,}"
    return _("%(unit)s — %(free)s free (%(reserved)s reserved by market orders)") % {
        "unit": name, "free": f"{free:,}", "reserved": f"{balance.reserved:,}"}


def unit_choices(balances) -> list[tuple[str, str]]:
    from accounts.ledger import Unit

    return [(unit_value(b.unit_type, b.vintage, b.credit_batch_id),
             held_label(Unit(b.unit_type, b.vintage, b.credit_batch_id).label(b.credit_batch), b)) for b in balances]


def parse_unit(value: str):
    from accounts.ledger import Unit

    unit_type, vintage, batch = value.split(":")
    return Unit(unit_type, int(vintage), int(batch) if batch else None)


class AccountNumberField(forms.CharField):
    """An account typed by its number (JP-OHA-…), resolved to a HoldingAccount."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", _("The account number, e.g. JP-OHA-1234567890123."))
        super().__init__(**kwargs)

    def clean(self, value):
        number = super().clean(value).strip().upper()
        if not number and not self.required:
            return None
        account = HoldingAccount.objects.filter(number=number).first()
        if account is None:
            raise forms.ValidationError(_("No account has number %(number)s.") % {"number": number})
        return account


class OTPTokenMixin(forms.Form):
    otp_token = forms.CharField(
        label=_("Second-factor code"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("A fresh code from your authenticator app confirms this act."))

    def clean_otp_token(self):
        return self.cleaned_data["otp_token"].strip().replace(" ", "")


class TransferInitiateForm(OTPTokenMixin):
    destination = AccountNumberField(label=_("To account"))
    unit = forms.ChoiceField(label=_("Units"))
    # Text, not IntegerField: the ledger's one quantity rule gives the message (0, -1, 1.5, 10^20, "abc").
    quantity = forms.CharField(label=_("Quantity"), max_length=30, widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    field_order = ["destination", "unit", "quantity", "otp_token"]

    def __init__(self, *args, balances=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = unit_choices(balances)


class TrustedAccountProposeForm(forms.Form):
    trusted = AccountNumberField(label=_("Account to trust"))


class TrustedOnlyForm(forms.Form):
    trusted_only = forms.TypedChoiceField(
        label=_("Where transfers out of this account may go"), coerce=lambda value: value == "yes",
        choices=[("no", _("Any corporate holding or trading account")), ("yes", _("Only accounts on the trusted list"))],
        widget=forms.RadioSelect)


class SurrenderForm(OTPTokenMixin):
    allowance_vintage = forms.TypedChoiceField(label=_("Allowances of vintage"), coerce=int, required=False)
    allowances = forms.CharField(label=_("Allowances to surrender"), max_length=30, required=False)
    credit_batch = forms.TypedChoiceField(label=_("Credit batch"), coerce=int, required=False)
    credits = forms.CharField(label=_("Credits to surrender"), max_length=30, required=False)
    # One key per rendered form: a double submit surrenders once (the ledger's idempotency).
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=40, initial=lambda: uuid.uuid4().hex)
    field_order = ["allowance_vintage", "allowances", "credit_batch", "credits", "otp_token"]

    def __init__(self, *args, balances=(), fiscal_year=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allowance_vintage"].choices = [("", "—")] + [
            (b.vintage, held_label(str(b.vintage), b)) for b in balances
            if b.unit_type == "allowance" and b.vintage <= fiscal_year]
        # Most surrenders use the FY's own vintage: offer it first so nobody trips on "choose the vintage".
        held = [value for value, _label in self.fields["allowance_vintage"].choices if value != ""]
        if held:
            self.initial.setdefault("allowance_vintage", fiscal_year if fiscal_year in held else max(held))
        self.fields["credit_batch"].choices = [("", "—")] + [
            (b.credit_batch_id, held_label(str(b.credit_batch), b)) for b in balances
            if b.credit_batch_id and b.credit_batch.eligible]

    def clean(self):
        data = super().clean()
        if data.get("allowances") and not data.get("allowance_vintage"):
            self.add_error("allowance_vintage", _("Choose the vintage of the allowances."))
        if data.get("credits") and not data.get("credit_batch"):
            self.add_error("credit_batch", _("Choose the credit batch."))
        if not data.get("allowances") and not data.get("credits"):
            raise forms.ValidationError(_("Enter how many allowances or credits to surrender."))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300,
                             help_text=_("Shown to the account holder and kept with the act."))


class UpperLimitPaymentForm(forms.Form):
    quantity = forms.CharField(label=_("Quantity (t-CO2)"), max_length=30)
    amount_yen = forms.DecimalField(label=_("Amount paid (yen)"), max_digits=18, decimal_places=0, min_value=1)
    payment_reference = forms.CharField(label=_("Payment reference"), max_length=100)


class BookingRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in (
        BookingRequest.Kind.ISSUANCE, BookingRequest.Kind.CANCELLATION)])
    unit_type = forms.ChoiceField(label=_("Units"), choices=HELD_UNIT_CHOICES, initial=UnitType.ALLOWANCE,
                                  required=False)
    vintage = forms.IntegerField(label=_("Vintage"), min_value=2000, max_value=2100, required=False,
                                 help_text=_("Allowances only; a credit batch has its own."))
    credit_batch = forms.IntegerField(label=_("Credit batch (first serial number)"), min_value=0, required=False,
                                      help_text=_("Cancellation of credits only."))
    quantity = forms.CharField(label=_("Quantity"), max_length=30)
    account = AccountNumberField(label=_("Account (cancellation only)"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def clean(self):
        data = super().clean()
        data["unit_type"] = data.get("unit_type") or UnitType.ALLOWANCE
        first_serial = data.get("credit_batch")
        data["credit_batch"] = None
        if first_serial is not None and data.get("unit_type") in CREDIT_TYPES:
            data["credit_batch"] = CreditBatch.objects.filter(unit_type=data["unit_type"],
                                                              serial_start=first_serial).first()
            if data["credit_batch"] is None:
                self.add_error("credit_batch", _("No batch of these credits starts at serial %(serial)s.")
                               % {"serial": first_serial})
        return data


class CreditIssuanceForm(forms.Form):
    """A batch of credits brought in from the J-Credit or JCM registry (the service decides)."""

    unit_type = forms.ChoiceField(label=_("Credits"), choices=[(t.value, t.label) for t in CREDIT_TYPES])
    serial_start = forms.IntegerField(label=_("First serial number"), min_value=0)
    serial_end = forms.IntegerField(label=_("Last serial number"), min_value=0)
    vintage = forms.IntegerField(label=_("Vintage"), min_value=2000, max_value=2100)
    origin = forms.CharField(label=_("Origin (project)"), max_length=200)
    eligible = forms.TypedChoiceField(
        label=_("Eligible for surrender"), coerce=lambda value: value == "yes", empty_value=None,
        choices=[("", "—"), ("yes", _("Eligible")), ("no", _("Not eligible"))],
        help_text=_("JCM credits from activities before 2020 are ineligible unless the SHK issuance-date rules are met."))
    account = AccountNumberField(label=_("Credited to account"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ReversalRequestForm(forms.Form):
    """A transaction booked by mistake, by its number, to be moved back whole (the service decides)."""

    transaction = forms.IntegerField(label=_("Transaction number"), min_value=1,
                                     help_text=_("As shown in the account's history and in search, without the #."))
    reason = forms.CharField(label=_("Reason"), max_length=300,
                             help_text=_("Shown to the approving administrator and kept with the reversal."))

    def clean_transaction(self):
        from accounts.models import LedgerTransaction

        found = LedgerTransaction.objects.filter(pk=self.cleaned_data["transaction"]).first()
        if found is None:
            raise forms.ValidationError(_("No transaction has number %(number)s.")
                                        % {"number": self.cleaned_data["transaction"]})
        return found

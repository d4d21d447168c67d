"""Forms of identity and organisations (sign-in, second factor, the back office's organisation form)."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from accounts.validators import normalise_corporate_number, normalise_kana


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        "invalid_login": _("The email address or password is wrong."),
        "inactive": _("This account is inactive."),
    }


class TokenForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text=_("The 6-digit code from your authenticator app, or one of your backup codes."),
    )

    def clean_otp_token(self):
        return self.cleaned_data["otp_token"].strip().replace(" ", "")


class OrganisationAdminForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["kind", "name", "name_kana", "name_en", "corporate_number", "sector", "address"]

    def clean_name_kana(self):
        return normalise_kana(self.cleaned_data.get("name_kana"))

    def clean_corporate_number(self):
        value = self.cleaned_data.get("corporate_number")
        return normalise_corporate_number(value) or None

"""Base classes for pages that act: one way to hand a form to a service and show its refusal.

A refusal (RegistryError) is shown at the field it names, or above the form, and the page answers 403
(who may act) or 400 (what was asked), so the URL permission matrix sees role regressions on acts too.
"""

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views import View

from gxregistry.access import access_object
from gxregistry.authorization import may
from gxregistry.errors import RegistryError


class EmptyForm(forms.Form):
    """An act with nothing to type (submit, start): the button is the whole form."""


class SecondFactorForm(forms.Form):
    otp_token = forms.CharField(
        label=_("Second-factor code"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text=_("The 6-digit code your authenticator app shows now (or a backup code)."))


@dataclass
class Check:
    """What an irreversible act will do, shown on a "check your answers" page before it happens (and before
    the second-factor code is asked for). ``rows``: (label, value) pairs, the other side named by holder and
    account number; ``consequence``: what cannot be undone; ``form``: what the page still asks (the code, a
    reason)."""

    title: str
    rows: list = field(default_factory=list)
    consequence: str = ""
    confirm_label: str = _("Confirm")
    destructive: bool = False
    form: forms.Form | None = None


CHECK_TEMPLATE = "check_answers.html"
CARRIED_OVER = {"csrfmiddlewaretoken", "stage", "otp_token"}


def carried_fields(data) -> list[tuple[str, str]]:
    """The answers a check page carries as hidden fields to its confirm and change buttons."""
    return [(key, value) for key in data for value in data.getlist(key) if key not in CARRIED_OVER]


def add_refusal(form, refusal) -> None:
    """Show a service refusal (a RegistryError) on each field it names, or above the form."""
    for each in refusal.refusals():
        form.add_error(each.field if each.field in form.fields else None, str(each.message))


class FormPageMixin:
    """A page that shows forms and, on POST, hands the named one to ``form_valid_<name>``."""

    forms: dict = {}
    # Irreversible acts: the form's answers go first to a check page (``check_<name>(form)`` -> Check), whose
    # confirm button (stage=confirm) carries them back with the second-factor code; "Change" returns to the form.
    checked_forms: frozenset = frozenset()

    def build_form(self, name, data=None):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        self.object = self.get_object() if hasattr(self, "get_object") else None
        name = request.POST.get("form")
        if name not in self.forms:
            raise Http404
        stage = request.POST.get("stage", "") if name in self.checked_forms else "confirm"
        form = self.build_form(name, request.POST)
        if stage != "confirm":
            form.fields.pop("otp_token", None)  # asked for on the check page, once the answers are seen
        if stage == "change":
            return self.render_to_response(self.get_context_data(**{f"{name}_form": form}))
        status = 400
        if form.is_valid():
            try:
                if stage != "confirm":
                    return self.render_check(getattr(self, f"check_{name}")(form))
                response = getattr(self, f"form_valid_{name}")(form)
            except RegistryError as refusal:
                if name in self.checked_forms and refusal.field == "otp_token":
                    try:  # the answers again, with the code refused; unless the act is no longer possible
                        return self.render_check(getattr(self, f"check_{name}")(form), refusal)
                    except RegistryError as now_refused:
                        refusal = now_refused
                add_refusal(form, refusal)
                status = refusal.http_status  # 403 when the person may not do it, 400 for what they asked
            else:
                if response is not None:
                    return response
                return redirect(request.get_full_path())
        elif name in self.checked_forms and list(form.errors) == ["otp_token"]:
            try:
                return self.render_check(getattr(self, f"check_{name}")(form), form.errors["otp_token"][0])
            except RegistryError as refusal:
                add_refusal(form, refusal)
                status = refusal.http_status
        return self.render_to_response(self.get_context_data(**{f"{name}_form": form}), status=status)

    def render_check(self, check: Check, refusal=None):
        return render_check(self.request, check, refusal, change=True)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for name in self.checked_forms:  # the code is asked for on the check page
            if context.get(f"{name}_form") is not None:
                context[f"{name}_form"].fields.pop("otp_token", None)
        return context


def render_check(request, check: Check, refusal=None, *, change=False, back_url=""):
    """The check page: the answers, what will happen, and the confirm button (with the code when asked).
    Shown again with the refusal when the code or a reason was refused, the other answers kept."""
    if check.form is None and refusal is not None:
        check.form = SecondFactorForm()
    asked = set(check.form.fields) if check.form is not None else set()
    if refusal is not None:
        kept = request.POST.copy()
        kept.pop("otp_token", None)  # a code is used once, right or wrong
        check.form = check.form.__class__(kept)
        check.form.full_clean()
        check.form.errors.pop("otp_token", None)
        where = getattr(refusal, "field", "otp_token")
        message = str(getattr(refusal, "message", refusal))
        if message not in check.form.errors.get(where if where in asked else "__all__", []):
            check.form.add_error(where if where in asked else None, message)
    status = getattr(refusal, "http_status", 400) if refusal is not None else 200
    return TemplateResponse(request, CHECK_TEMPLATE, {
        "check": check, "carried": [(k, v) for k, v in carried_fields(request.POST) if k not in asked],
        "change": change, "back_url": back_url, "action_url": request.get_full_path()}, status=status)


class ObjectActionView(LoginRequiredMixin, View):
    """POST-only acts on one object. Done: back to the page the user came from, with a message. Refused:
    403 (the person may not) or 400 (the object's state or the input), with the reason and nothing changed."""

    model = None
    actions: dict = {}  # name -> method name on this view
    # Irreversible acts: name -> method returning the Check shown (GET, or a POST without stage=confirm)
    # before the act; the page's confirm button posts stage=confirm with the code or reason it asks.
    checks: dict = {}

    def get(self, request, pk, action):
        if action not in self.checks:
            raise Http404
        self.action = action
        return self.show_check(self.get_object(pk), action)

    def show_check(self, obj, action, refusal=None):
        try:
            check = getattr(self, self.checks[action])(obj)
        except RegistryError as not_possible:
            return self.refused(obj, not_possible)
        return render_check(self.request, check, refusal, back_url=self.return_url(obj))

    def refused(self, obj, refusal):
        return TemplateResponse(self.request, "refused.html", {
            "refusal": refusal, "status": refusal.http_status, "back_url": self.return_url(obj)},
            status=refusal.http_status)

    def post(self, request, pk, action):
        if action not in self.actions:
            raise Http404
        obj = self.get_object(pk)
        self.action = action  # for a check shared by several acts
        checked = action in self.checks
        if checked and request.POST.get("stage") != "confirm":
            return self.show_check(obj, action)
        try:
            message = getattr(self, self.actions[action])(obj, request.POST)
        except RegistryError as refusal:
            if checked and refusal.field in ("otp_token", "reason"):
                return self.show_check(obj, action, refusal)
            return self.refused(obj, refusal)
        messages.success(request, message)
        return redirect(self.return_url(obj))

    def get_object(self, pk):
        return access_object(self.model.objects, self.request.user, pk=pk)


class AdministratorRequiredMixin(LoginRequiredMixin):
    """Registry administrators only (the global permissions their group holds); others get 403."""

    administrator_permission = "accounts.view_ledgertransaction"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may(request.user, self.administrator_permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

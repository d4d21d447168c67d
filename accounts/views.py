import tablib
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, TemplateView
from django_otp import login as otp_login

from accounts import services, two_factor
from accounts.compliance import compliance_year
from accounts.forms import EmailAuthenticationForm, TokenForm
from accounts.ledger import holdings
from accounts.models import CompliancePeriod, HoldingAccount, Organisation
from accounts.roles import ACT
from gxregistry.access import OrganisationScopedMixin
from gxregistry.authorization import may, throttle_wait_seconds, throttled_message
from gxregistry.errors import RegistryError


class HomeView(TemplateView):
    template_name = "home.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("dashboard")
        return super().dispatch(request, *args, **kwargs)


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


def _safe_next(request, default="dashboard"):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


class OTPEnrolView(LoginRequiredMixin, FormView):
    """Scan a QR code, type the first code, receive backup codes once."""

    template_name = "accounts/otp_enrol.html"
    form_class = TokenForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and two_factor.has_confirmed_device(request.user):
            return redirect("otp_verify")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        device = two_factor.pending_totp_device(self.request.user)
        kwargs.update(qr_svg=two_factor.qr_code_svg(device), secret=device.bin_key.hex(),
                      base32_secret=_base32(device.bin_key), next=_safe_next(self.request, ""))
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        user = self.request.user
        device = two_factor.pending_totp_device(user)
        codes = two_factor.confirm_enrolment(user=user, device=device, token=form.cleaned_data["otp_token"])
        if codes is None:
            form.add_error("otp_token", _("The code is wrong or has expired. Type the code your app shows now."))
            return self.form_invalid(form)
        device.refresh_from_db()
        otp_login(self.request, device)
        return self.render_to_response(
            self.get_context_data(form=form, backup_codes=codes, enrolled=True, next=_safe_next(self.request))
        )


def _base32(key: bytes) -> str:
    import base64

    return base64.b32encode(key).decode().rstrip("=")


class OTPVerifyView(LoginRequiredMixin, FormView):
    template_name = "accounts/otp_verify.html"
    form_class = TokenForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not two_factor.has_confirmed_device(request.user):
            return redirect("otp_enrol")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        kwargs["next"] = _safe_next(self.request, "")
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        wait = throttle_wait_seconds(self.request.user)  # before this try, which counts as a failure of its own
        device = two_factor.verify(self.request.user, form.cleaned_data["otp_token"])
        if device is None and wait:
            form.add_error("otp_token", throttled_message(wait))
            return self.form_invalid(form)
        if device is None:
            form.add_error("otp_token", _("The code is wrong or has expired. Type the code your app shows now."))
            return self.form_invalid(form)
        otp_login(self.request, device)
        messages.success(self.request, _("Second factor confirmed."))
        return redirect(_safe_next(self.request))


class OrganisationDetailView(OrganisationScopedMixin, DetailView):
    model = Organisation
    template_name = "accounts/organisation_detail.html"

    def get_context_data(self, **kwargs):
        organisation = self.object
        kwargs["memberships"] = (
            organisation.memberships.filter(ended_at__isnull=True).select_related("user").order_by("role")
        )
        kwargs["facilities"] = organisation.facilities.order_by("code")
        kwargs["holding_accounts"] = holdings.holding_account_list(fetched_by=self.request.user,
                                                                   organisation=organisation)
        kwargs["is_administrator"] = may(self.request.user, "accounts.change_membership")
        kwargs["compliance_year"] = compliance_year()
        kwargs["compliance_period_open"] = CompliancePeriod.objects.filter(
            fiscal_year=kwargs["compliance_year"]).exists()  # else the FY's pages are 404: no link to them
        kwargs["can_import"] = organisation.kind == Organisation.Kind.REGULATED_ENTITY and may(
            self.request.user, ACT, organisation)
        return super().get_context_data(**kwargs)


class HoldingAccountDetailView(OrganisationScopedMixin, DetailView):
    """Holdings by unit type and vintage, with the allowance balance over time."""

    model = HoldingAccount
    template_name = "accounts/holding_account_detail.html"
    context_object_name = "account"

    def get_context_data(self, **kwargs):
        kwargs["balances"] = holdings.balances(account=self.object)
        kwargs["over_time"] = holdings.balance_over_time(account=self.object)
        kwargs["recent"] = holdings.with_counterparties(holdings.account_history(account=self.object).qs[:10],
                                                        account=self.object)
        kwargs["is_administrator"] = may(self.request.user, "accounts.change_holdingaccount")
        return super().get_context_data(**kwargs)


class HoldingAccountHistoryView(OrganisationScopedMixin, DetailView):
    """Transaction history with filters; ?export=csv or xlsx downloads what the filters select."""

    model = HoldingAccount
    template_name = "accounts/holding_account_history.html"
    context_object_name = "account"

    def render_to_response(self, context, **kwargs):
        export = self.request.GET.get("export")
        if export in ("csv", "xlsx"):
            history = holdings.account_history(account=self.object, params=self.request.GET)
            dataset = tablib.Dataset(*holdings.history_rows(history.qs, account=self.object), headers=holdings.EXPORT_HEADERS)
            content = dataset.export(export)
            response = HttpResponse(
                content.encode("utf-8-sig") if export == "csv" else content,
                content_type="text/csv; charset=utf-8" if export == "csv"
                else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            response["Content-Disposition"] = f'attachment; filename="{self.object.number}-transactions.{export}"'
            return response
        return super().render_to_response(context, **kwargs)

    def get_context_data(self, **kwargs):
        history = holdings.account_history(account=self.object, params=self.request.GET)
        page = Paginator(history.qs, 50).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        kwargs.update(filter=history, page_obj=page, is_paginated=page.has_other_pages(),
                      entries=holdings.with_counterparties(page.object_list, account=self.object),
                      query=query.urlencode())
        return super().get_context_data(**kwargs)


class APITokenListView(LoginRequiredMixin, TemplateView):
    """A person's tokens for the REST API: create one (shown once) or revoke one."""

    template_name = "accounts/api_tokens.html"

    def post(self, request):
        context = {}
        try:
            if "revoke" in request.POST:
                if services.api_token_revoke(user=request.user, token_key=request.POST["revoke"],
                                             acting_user=request.user):
                    messages.success(request, _("Token revoked; systems using it are refused from now on."))
                return redirect("api_token_list")
            _instance, context["new_token"] = services.api_token_create(user=request.user, acting_user=request.user)
        except RegistryError as refusal:
            context["refusal"] = refusal
            return self.render_to_response(self.get_context_data(**context), status=refusal.http_status)
        return self.render_to_response(self.get_context_data(**context))

    def get_context_data(self, **kwargs):
        from django.utils import timezone
        from knox.models import AuthToken

        kwargs["tokens"] = AuthToken.objects.filter(user=self.request.user, expiry__gt=timezone.now()).order_by(
            "-created")
        return super().get_context_data(**kwargs)

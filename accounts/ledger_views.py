"""Company pages over the ledger: transfers and approvals, the trusted list, compliance, statements,
and the public registry report. Views collect input and call the services; the services decide."""

import tablib
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, TemplateView

from accounts import compliance, holdings, ledger, statements, transfers
from accounts.forms import (
    ApprovalForm,
    SurrenderForm,
    TransferInitiateForm,
    TrustedAccountProposeForm,
    TrustedOnlyForm,
    UpperLimitPaymentForm,
    add_refusal,
    parse_unit,
)
from accounts.models import (
    CompliancePeriod,
    HoldingAccount,
    Organisation,
    TransferRequest,
    TrustedAccount,
)
from accounts.roles import ACT, APPROVE
from gxregistry.access import OrganisationScopedMixin, access_object
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError


class FormPageMixin:
    """A page that shows forms and, on POST, hands the named one to ``form_valid_<name>``."""

    forms: dict = {}

    def build_form(self, name, data=None):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        self.object = self.get_object() if hasattr(self, "get_object") else None
        name = request.POST.get("form")
        if name not in self.forms:
            raise Http404
        form = self.build_form(name, request.POST)
        status = 400
        if form.is_valid():
            try:
                response = getattr(self, f"form_valid_{name}")(form)
            except RegistryError as refusal:
                add_refusal(form, refusal)
                status = refusal.http_status  # 403 when the person may not do it, 400 for what they asked
            else:
                if response is not None:
                    return response
                return redirect(request.get_full_path())
        return self.render_to_response(self.get_context_data(**{f"{name}_form": form}), status=status)


class TransferListView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """Transfers out of one account: start one, approve or reject what waits, cancel what is scheduled."""

    model = HoldingAccount
    template_name = "accounts/transfer_list.html"
    context_object_name = "account"
    forms = {"initiate": TransferInitiateForm}

    def build_form(self, name, data=None):
        return TransferInitiateForm(data, balances=holdings.balances(account=self.object))

    def form_valid_initiate(self, form):
        data = form.cleaned_data
        created = transfers.transfer_initiate(
            source=self.object, destination=data["destination"], unit=parse_unit(data["unit"]),
            quantity=data["quantity"], acting_user=self.request.user, otp_token=data["otp_token"])
        messages.success(self.request, _("Transfer of %(quantity)s to %(number)s initiated; a second representative "
                                         "must approve it.") % {"quantity": f"{created.quantity:,}",
                                                                 "number": created.destination.number})

    def get_context_data(self, **kwargs):
        user, account = self.request.user, self.object
        organisation = account.organisation
        can_act = may(user, ACT, organisation)
        can_approve = may(user, APPROVE, organisation)
        requests = TransferRequest.objects.filter(source=account).select_related(
            "destination", "initiated_by", "decided_by", "credit_batch")
        kwargs.update(
            can_act=can_act, can_approve=can_approve,
            awaiting=requests.filter(status=TransferRequest.Status.AWAITING_APPROVAL).order_by("initiated_at"),
            scheduled=requests.filter(status=TransferRequest.Status.SCHEDULED).order_by("execute_after"),
            finished=requests.exclude(status__in=TransferRequest.PENDING)[:20],
            approval_form=ApprovalForm())
        if can_act and "initiate_form" not in kwargs and account.state == HoldingAccount.State.OPEN:
            kwargs["initiate_form"] = self.build_form("initiate")
        return super().get_context_data(**kwargs)


class ObjectActionView(LoginRequiredMixin, View):
    """POST-only acts on one object. Done: back to the page the user came from, with a message. Refused:
    403 (the person may not) or 400 (the object's state or the input), with the reason and nothing changed."""

    model = None
    actions: dict = {}  # name -> method name on this view

    def post(self, request, pk, action):
        if action not in self.actions:
            raise Http404
        obj = self.get_object(pk)
        try:
            message = getattr(self, self.actions[action])(obj, request.POST)
        except RegistryError as refusal:
            return TemplateResponse(request, "refused.html", {
                "refusal": refusal, "status": refusal.http_status, "back_url": self.return_url(obj)},
                status=refusal.http_status)
        messages.success(request, message)
        return redirect(self.return_url(obj))

    def get_object(self, pk):
        return access_object(self.model.objects, self.request.user, pk=pk)


class TransferDecisionView(ObjectActionView):
    model = TransferRequest
    actions = {"approve": "approve", "reject": "reject", "cancel": "cancel"}

    def return_url(self, transfer):
        return reverse("transfer_list", args=[transfer.source_id])

    def approve(self, transfer, data):
        done = transfers.transfer_approve(request=transfer, acting_user=self.request.user,
                                          otp_token=data.get("otp_token", "").strip())
        if done.status == TransferRequest.Status.EXECUTED:
            return _("Approved and executed.")
        if done.status == TransferRequest.Status.FAILED:
            messages.error(self.request, _("Approved, but the transfer failed: %(reason)s") % {"reason": done.failure})
            return _("Approved.")
        return _("Approved; it executes at %(when)s unless cancelled.") % {
            "when": transfers.jst_label(done.execute_after)}

    def reject(self, transfer, data):
        transfers.transfer_reject(request=transfer, acting_user=self.request.user)
        return _("Rejected.")

    def cancel(self, transfer, data):
        transfers.transfer_cancel(request=transfer, acting_user=self.request.user)
        return _("Cancelled.")


class TrustedAccountListView(FormPageMixin, OrganisationScopedMixin, DetailView):
    model = HoldingAccount
    template_name = "accounts/trusted_account_list.html"
    context_object_name = "account"
    forms = {"propose": TrustedAccountProposeForm, "trusted_only": TrustedOnlyForm}

    def build_form(self, name, data=None):
        if name == "trusted_only":
            return TrustedOnlyForm(data, initial={"trusted_only": "yes" if self.object.trusted_only else "no"},
                                   auto_id="id_trusted_only_%s")
        return TrustedAccountProposeForm(data)

    def form_valid_trusted_only(self, form):
        account = transfers.account_trusted_only_set(account=self.object, trusted_only=form.cleaned_data["trusted_only"],
                                                     acting_user=self.request.user)
        messages.success(self.request, _("Transfers out of %(number)s may now go only to accounts on its trusted list.")
                         % {"number": account.number} if account.trusted_only else
                         _("Transfers out of %(number)s may go to any corporate holding or trading account.")
                         % {"number": account.number})

    def form_valid_propose(self, form):
        entry = transfers.trusted_account_propose(account=self.object, trusted=form.cleaned_data["trusted"],
                                                  acting_user=self.request.user)
        messages.success(self.request, _("%(number)s proposed; a second representative must confirm it.")
                         % {"number": entry.trusted.number})

    def get_context_data(self, **kwargs):
        organisation = self.object.organisation
        can_act = may(self.request.user, ACT, organisation)
        kwargs.update(can_act=can_act, now=timezone.now(),
                      entries=self.object.trusted_list.filter(removed_at__isnull=True)
                      .select_related("trusted", "proposed_by", "confirmed_by").order_by("trusted__number"))
        if can_act and "propose_form" not in kwargs:
            kwargs["propose_form"] = self.build_form("propose")
        if can_act and "trusted_only_form" not in kwargs:
            kwargs["trusted_only_form"] = self.build_form("trusted_only")
        return super().get_context_data(**kwargs)


class TrustedAccountDecisionView(ObjectActionView):
    model = TrustedAccount
    actions = {"confirm": "confirm", "remove": "remove"}

    def return_url(self, entry):
        return reverse("trusted_account_list", args=[entry.account_id])

    def confirm(self, entry, data):
        entry = transfers.trusted_account_confirm(entry=entry, acting_user=self.request.user,
                                                  otp_token=data.get("otp_token", ""))
        return _("Confirmed; transfers to %(number)s execute at once from %(when)s.") % {
            "number": entry.trusted.number,
            "when": transfers.jst_label(entry.active_from)}

    def remove(self, entry, data):
        transfers.trusted_account_remove(entry=entry, acting_user=self.request.user)
        return _("Removed from the trusted list.")


class ComplianceView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """One entity's compliance card for a FY, with surrender and upper-limit payment forms."""

    model = Organisation
    template_name = "accounts/compliance.html"
    forms = {"surrender": SurrenderForm, "payment": UpperLimitPaymentForm}

    def get_object(self, queryset=None):
        organisation = super().get_object(queryset)
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY:
            raise Http404
        return organisation

    @cached_property
    def account(self):
        return self.object.holding_accounts.filter(kind=HoldingAccount.Kind.OPERATOR_HOLDING).first()

    def build_form(self, name, data=None):
        if name == "surrender":
            # Every unit the account has held (zero rows too), so a double submit still validates.
            balances = self.account.balances.select_related("credit_batch").order_by(
                "unit_type", "vintage", "credit_batch") if self.account else []
            return SurrenderForm(data, balances=balances, fiscal_year=self.kwargs["fiscal_year"])
        return UpperLimitPaymentForm(data)

    def form_valid_surrender(self, form):
        data, fiscal_year = form.cleaned_data, self.kwargs["fiscal_year"]
        if self.account is None:
            raise RegistryError(ErrorCode.COMPLIANCE, _("The entity has no corporate holding account."))
        record = compliance.surrender(
            account=self.account, fiscal_year=fiscal_year,
            allowances={data["allowance_vintage"]: ledger.clean_quantity(data["allowances"], "allowances")}
            if data.get("allowances") else {},
            credits={data["credit_batch"]: ledger.clean_quantity(data["credits"], "credits")}
            if data.get("credits") else {},
            acting_user=self.request.user, otp_token=data["otp_token"],
            idempotency_key=f"surrender-{self.object.pk}-{data['request_key']}")
        messages.success(self.request, _("Surrendered %(allowances)s allowances and %(credits)s credits for "
                                         "FY%(fy)s.") % {"allowances": f"{record.allowances:,}",
                                                         "credits": f"{record.credits:,}", "fy": fiscal_year})

    def form_valid_payment(self, form):
        data = form.cleaned_data
        compliance.upper_limit_payment_record(
            organisation=self.object, fiscal_year=self.kwargs["fiscal_year"], quantity=data["quantity"],
            amount_yen=data["amount_yen"], payment_reference=data["payment_reference"],
            acting_user=self.request.user)
        messages.success(self.request, _("Payment recorded; it counts once a registry administrator confirms it."))

    def get_context_data(self, **kwargs):
        organisation, fiscal_year = self.object, self.kwargs["fiscal_year"]
        can_act = may(self.request.user, ACT, organisation)
        kwargs.update(
            fiscal_year=fiscal_year, account=self.account, can_act=can_act,
            card=compliance.compliance_card(organisation=organisation, fiscal_year=fiscal_year),
            fiscal_years=CompliancePeriod.objects.order_by("fiscal_year").values_list("fiscal_year", flat=True),
            payments=organisation.upper_limit_payments.filter(fiscal_year=fiscal_year).order_by("-recorded_at"),
            surrenders=organisation.surrenders.filter(fiscal_year=fiscal_year).select_related("ledger_transaction")
            .order_by("-ledger_transaction__booked_at"))
        if can_act and self.account is not None:
            kwargs.setdefault("surrender_form", self.build_form("surrender"))
            kwargs.setdefault("payment_form", self.build_form("payment"))
        return super().get_context_data(**kwargs)


class StatementView(OrganisationScopedMixin, DetailView):
    """The account statement as a PDF (WeasyPrint, Japanese font embedded) for the selected period."""

    model = HoldingAccount

    def render_to_response(self, context, **kwargs):
        history = holdings.account_history(account=self.object, params=self.request.GET)
        if history.is_bound and not history.is_valid():
            messages.error(self.request, _("Correct the filters before downloading the statement."))
            return redirect(f"{reverse('holding_account_history', args=[self.object.pk])}?{self.request.GET.urlencode()}")
        pdf = statements.account_statement_pdf(account=self.object, history=history, requested_by=self.request.user)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{self.object.number}-statement.pdf"'
        return response


class RegistryReportView(TemplateView):
    """Public: per regulated entity and FY, allocated, verified, surrendered and status; CSV download."""

    template_name = "accounts/registry_report.html"

    def fiscal_year(self):
        years = list(CompliancePeriod.objects.order_by("fiscal_year").values_list("fiscal_year", flat=True))
        asked = self.request.GET.get("fiscal_year", "")
        chosen = int(asked) if asked.isdigit() and int(asked) in years else (years[-1] if years else None)
        return chosen, years

    def get(self, request, *args, **kwargs):
        fiscal_year, years = self.fiscal_year()
        rows = compliance.registry_report(fiscal_year=fiscal_year) if fiscal_year else []
        if request.GET.get("export") == "csv":
            dataset = tablib.Dataset(*compliance.registry_report_rows(rows), headers=compliance.REGISTRY_REPORT_HEADERS)
            response = HttpResponse(dataset.export("csv").encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="gx-ets-registry-report-FY{fiscal_year}.csv"'
            return response
        return self.render_to_response(self.get_context_data(rows=rows, fiscal_year=fiscal_year, years=years))

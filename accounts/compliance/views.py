"""Compliance pages: an entity's card for a FY with surrender and upper-limit payment forms, and the
public registry report. Views collect input and call the services; the services decide."""

from django.contrib import messages
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.generic import DetailView, TemplateView

from accounts import compliance, ledger
from accounts.ledger.forms import SurrenderForm, UpperLimitPaymentForm
from accounts.models import CompliancePeriod, CreditBatch, HoldingAccount, Organisation
from accounts.roles import ACT
from accounts.templatetags.registry import account_and_holder, in_reader_language
from accounts.templatetags.registry import fiscal_year as fiscal_year_label
from gxregistry.access import OrganisationScopedMixin
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.exports import csv_response
from gxregistry.pages import Check, FormPageMixin, SecondFactorForm
from gxregistry.public_cache import PublicCachedPageMixin


class ComplianceView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """One entity's compliance card for a FY, with surrender and upper-limit payment forms."""

    model = Organisation
    template_name = "accounts/compliance.html"
    forms = {"surrender": SurrenderForm, "payment": UpperLimitPaymentForm}
    checked_forms = frozenset({"surrender"})

    def get_object(self, queryset=None):
        organisation = super().get_object(queryset)
        if (organisation.kind != Organisation.Kind.REGULATED_ENTITY
                or not CompliancePeriod.objects.filter(fiscal_year=self.kwargs["fiscal_year"]).exists()):
            raise Http404  # an FY without a compliance period has no obligation to show
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

    def surrendered_units(self, data) -> dict:
        if self.account is None:
            raise RegistryError(ErrorCode.COMPLIANCE, _("The entity has no corporate holding account."))
        return {"allowances": {data["allowance_vintage"]: ledger.clean_quantity(data["allowances"], "allowances")}
                if data.get("allowances") else {},
                "credits": {data["credit_batch"]: ledger.clean_quantity(data["credits"], "credits")}
                if data.get("credits") else {}}

    def check_surrender(self, form):
        fiscal_year = self.kwargs["fiscal_year"]
        lines = compliance.surrender_check(account=self.account, fiscal_year=fiscal_year,
                                           acting_user=self.request.user, **self.surrendered_units(form.cleaned_data))
        card = compliance.compliance_card(organisation=self.object, fiscal_year=fiscal_year)
        surrendered = sum(quantity for _unit, quantity, _held in lines)
        rows = [(_("Entity"), in_reader_language(self.object)), (_("From account"), account_and_holder(self.account)),
                (_("Fiscal year"), fiscal_year_label(fiscal_year))]
        batches = CreditBatch.objects.in_bulk([unit.credit_batch_id for unit, _q, _h in lines if unit.credit_batch_id])
        rows += [(unit.label(batches.get(unit.credit_batch_id)),
                  _("%(quantity)s t-CO2 (of %(held)s held)") % {"quantity": f"{quantity:,}", "held": f"{held:,}"})
                 for unit, quantity, held in lines]
        if card.shortfall_t is not None:
            rows.append((_("Still to cover after this"), f"{max(card.shortfall_t - surrendered, 0):,} t-CO2"))
        return Check(title=_("Check the surrender"), rows=rows,
                     consequence=_("Surrendered units leave the account for the retirement account for good; "
                                   "a surrender cannot be taken back."),
                     confirm_label=_("Surrender"), form=SecondFactorForm())

    def form_valid_surrender(self, form):
        data, fiscal_year = form.cleaned_data, self.kwargs["fiscal_year"]
        record = compliance.surrender(
            account=self.account, fiscal_year=fiscal_year, **self.surrendered_units(data),
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


class RegistryReportView(PublicCachedPageMixin, TemplateView):
    """Public: per regulated entity and FY, allocated, verified, surrendered and status; CSV download."""

    content_template = "accounts/registry_report.html"

    def fiscal_year(self):
        years = list(CompliancePeriod.objects.order_by("fiscal_year").values_list("fiscal_year", flat=True))
        asked = self.request.GET.get("fiscal_year", "")
        # By default the FY whose obligation is current, not a later one opened ahead with nothing in it yet.
        chosen = int(asked) if asked.isdigit() and int(asked) in years else (compliance.compliance_year() if years
                                                                             else None)
        return chosen, years

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            fiscal_year, _years = self.fiscal_year()
            rows = compliance.registry_report(fiscal_year=fiscal_year) if fiscal_year else []
            return csv_response(compliance.REGISTRY_REPORT_HEADERS, compliance.registry_report_rows(rows),
                                f"gx-ets-registry-report-FY{fiscal_year}.csv")
        return super().get(request, *args, **kwargs)

    def get_content_context(self):
        fiscal_year, years = self.fiscal_year()
        rows = compliance.registry_report(fiscal_year=fiscal_year) if fiscal_year else []
        return {"title": _("Registry report"), "rows": rows, "fiscal_year": fiscal_year, "years": years}

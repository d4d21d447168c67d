import base64
from datetime import date

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from accounts.ledger.forms import ReasonForm
from accounts.models import CompliancePeriod, Organisation
from accounts.roles import ACT, VIEW
from accounts.templatetags.registry import fiscal_year as fiscal_year_label
from accounts.templatetags.registry import in_reader_language
from allocation import selectors, services
from allocation.engine.parameters import FIRST_PHASE_FISCAL_YEARS
from allocation.forms import (
    ApplicationEvidenceForm,
    CompliancePeriodForm,
    ComputeForm,
    FacilityDataImportForm,
    FinancialsForm,
    ReturnForm,
)
from allocation.labels import LINE_LABELS
from allocation.models import (
    AllocationApplication,
    AllocationNotice,
    AllocationParameterSet,
    EntityFinancials,
    Facility,
    SectorBenchmark,
    SectorBenchmarkOfficialValue,
)
from allocation.services import cycle, notices
from gxregistry.access import OrganisationScopedMixin, access_object
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.exports import csv_response
from gxregistry.importing import UnreadableFile
from gxregistry.pages import AdministratorRequiredMixin, Check, EmptyForm, FormPageMixin, SecondFactorForm, add_refusal
from gxregistry.replica import PublicReadMixin


class FacilityListView(LoginRequiredMixin, ListView):
    template_name = "allocation/facility_list.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.facility_list(fetched_by=self.request.user)


class FacilityDetailView(OrganisationScopedMixin, DetailView):
    model = Facility
    template_name = "allocation/facility_detail.html"

    def get_context_data(self, **kwargs):
        kwargs["processes"] = selectors.facility_detail_processes(facility=self.object)
        kwargs["events"] = self.object.events.all()
        kwargs["emissions"] = selectors.emissions_by_fiscal_year(
            fetched_by=self.request.user, facility=self.object
        )
        return super().get_context_data(**kwargs)


class FacilityDataImportView(LoginRequiredMixin, FormView):
    """A representative loads the organisation's facility data: preview first, then confirm."""

    template_name = "allocation/facility_import.html"
    form_class = FacilityDataImportForm
    SESSION_KEY = "facility_import"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.organisation = access_object(Organisation.objects, request.user, ACT, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        kind = request.GET.get("template", "")
        if kind in services.IMPORT_KINDS:
            return csv_response([name for name, _meaning in services.import_columns(kind)], [],
                                f"gx-ets-{kind}-template.csv")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        kwargs["organisation"] = self.organisation
        kwargs["kinds"] = [(kind, label, [(name, meaning, services.import_column_choices(kind).get(name, []))
                                          for name, meaning in services.import_columns(kind)])
                           for kind, (label, _resource) in services.IMPORT_KINDS.items()]
        return super().get_context_data(**kwargs)

    def post(self, request, *args, **kwargs):
        if "confirm" in request.POST:
            return self._confirm()
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["import_file"]
        data = b"".join(upload.chunks())
        kind = form.cleaned_data["kind"]
        outcome = self._run(form, kind, data, upload.extension, dry_run=True)
        if outcome is None:
            return self.form_invalid(form)
        if outcome.ok:
            self.request.session[self.SESSION_KEY] = {
                "organisation": self.organisation.pk, "kind": kind, "extension": upload.extension,
                "data": base64.b64encode(data).decode(), "name": upload.name,
            }
        return self.render_to_response(self.get_context_data(form=form, outcome=outcome))

    def _confirm(self):
        pending = self.request.session.pop(self.SESSION_KEY, None)
        if not pending or pending["organisation"] != self.organisation.pk:
            messages.error(self.request, _("Nothing to import: upload the file again."))
            return redirect("facility_import", pk=self.organisation.pk)
        form = self.get_form_class()()
        outcome = self._run(form, pending["kind"], base64.b64decode(pending["data"]), pending["extension"],
                            dry_run=False)
        if outcome is None or not outcome.ok:
            return self.render_to_response(self.get_context_data(form=form, outcome=outcome))
        totals = outcome.totals
        messages.success(self.request, _("Imported %(name)s: %(new)d new, %(update)d updated, %(skip)d unchanged.")
                         % {"name": pending["name"], "new": totals.get("new", 0),
                            "update": totals.get("update", 0), "skip": totals.get("skip", 0)})
        return redirect("organisation_detail", pk=self.organisation.pk)

    def _run(self, form, kind, data, extension, dry_run):
        try:
            return services.facility_data_import(
                acting_user=self.request.user, kind=kind, data=data, extension=extension,
                dry_run=dry_run, organisation=self.organisation,
            )
        except UnreadableFile as error:
            form.add_error("import_file", str(error))
            return None
        except RegistryError as refusal:
            add_refusal(form, refusal)
            return None


class EntityAllocationView(LoginRequiredMixin, TemplateView):
    """A regulated entity's allocation for one FY, computed now, line by line (not a notice)."""

    template_name = "allocation/entity_allocation.html"

    def get_context_data(self, **kwargs):
        organisation = access_object(
            Organisation.objects.filter(kind=Organisation.Kind.REGULATED_ENTITY), self.request.user, VIEW,
            pk=self.kwargs["pk"],
        )
        fiscal_year = self.kwargs["fiscal_year"]
        if fiscal_year not in FIRST_PHASE_FISCAL_YEARS:
            raise Http404
        results = {fy: services.allocation_compute(organisations=[organisation], fiscal_year=fy)[organisation.pk]
                   for fy in FIRST_PHASE_FISCAL_YEARS}
        allocation = results[fiscal_year]
        kwargs.update(
            organisation=organisation, fiscal_year=fiscal_year, years=FIRST_PHASE_FISCAL_YEARS,
            error=allocation if isinstance(allocation, Exception) else None,
            allocation=None if isinstance(allocation, Exception) else allocation,
            lines=[] if isinstance(allocation, Exception) else [
                (LINE_LABELS[line.kind], line) for line in allocation.lines
            ],
            path=[(fy, result.total) for fy, result in results.items() if not isinstance(result, Exception)],
        )
        return super().get_context_data(**kwargs)


# --- the FY's allocation cycle -----------------------------------------------------------------------------

class CompliancePeriodListView(AdministratorRequiredMixin, TemplateView):
    """Administrators: every FY's compliance period, and the next one to open."""

    template_name = "allocation/compliance_period_list.html"
    administrator_permission = cycle.MANAGE_PERIODS

    def get_context_data(self, **kwargs):
        periods = list(CompliancePeriod.objects.order_by("fiscal_year"))
        kwargs.update(periods=[(p, cycle.fiscal_year_allocated(p.fiscal_year)) for p in periods],
                      next_fiscal_year=(periods[-1].fiscal_year + 1) if periods else 2026)
        return super().get_context_data(**kwargs)


class CompliancePeriodEditView(AdministratorRequiredMixin, FormView):
    """Administrators open or change an FY's period: deadline, prices, credit share, parameters, official values."""

    template_name = "allocation/compliance_period_edit.html"
    form_class = CompliancePeriodForm
    administrator_permission = cycle.MANAGE_PERIODS

    @cached_property
    def period(self):
        return cycle.period_or_none(self.kwargs["fiscal_year"])

    @cached_property
    def benchmarks(self):
        return list(SectorBenchmark.objects.order_by("key"))

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "benchmarks": self.benchmarks}

    def get_initial(self):
        fiscal_year = self.kwargs["fiscal_year"]
        initial = {"surrender_deadline": date(fiscal_year + 2, 1, 31)}
        if self.period:
            initial.update({name: getattr(self.period, name) for name in (
                "surrender_deadline", "upper_limit_price_yen", "lower_limit_price_yen", "credit_cap_share")})
        changes = AllocationParameterSet.objects.filter(fiscal_year=fiscal_year).values_list("values", flat=True).first()
        changes = dict(changes or {})
        for name in CompliancePeriodForm.NAMED:
            initial[name] = changes.pop(name, "")
        initial["other_parameters"] = "\n".join(f"{name} = {value}" for name, value in changes.items())
        for official in SectorBenchmarkOfficialValue.objects.filter(fiscal_year=fiscal_year).select_related("benchmark"):
            initial[f"official_{official.benchmark.key}"] = official.value
        return initial

    def form_valid(self, form):
        data, fiscal_year = form.cleaned_data, self.kwargs["fiscal_year"]
        try:
            cycle.compliance_period_save(
                fiscal_year=fiscal_year, surrender_deadline=data["surrender_deadline"],
                upper_limit_price_yen=data["upper_limit_price_yen"], lower_limit_price_yen=data["lower_limit_price_yen"],
                credit_cap_share=data["credit_cap_share"], parameters=form.parameters(),
                official_values=form.official_values(), acting_user=self.request.user)
        except RegistryError as refusal:
            add_refusal(form, refusal)
            return self.render_to_response(self.get_context_data(form=form), status=refusal.http_status)
        messages.success(self.request, _("FY%(fy)s's compliance period is saved.") % {"fy": fiscal_year})
        return redirect("allocation_fiscal_year", fiscal_year=fiscal_year)

    def get_context_data(self, **kwargs):
        fiscal_year = self.kwargs["fiscal_year"]
        kwargs.update(fiscal_year=fiscal_year, period=self.period, allocated=cycle.fiscal_year_allocated(fiscal_year))
        return super().get_context_data(**kwargs)


class AllocationFiscalYearView(FormPageMixin, AdministratorRequiredMixin, TemplateView):
    """Administrators: the FY's applications by state, the run with its progress, and its history."""

    template_name = "allocation/fiscal_year.html"
    administrator_permission = cycle.REVIEW
    forms = {"run": SecondFactorForm}  # the code is asked on the check page
    checked_forms = frozenset({"run"})

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and cycle.period_or_none(kwargs["fiscal_year"]) is None:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if request.GET.get("progress") == "json":
            return JsonResponse(selectors.run_progress(fiscal_year=kwargs["fiscal_year"]))
        return super().get(request, *args, **kwargs)

    def build_form(self, name, data=None):
        return self.forms[name](data)

    def check_run(self, form):
        plan = cycle.run_plan(self.kwargs["fiscal_year"])
        if plan.refusal:
            raise RegistryError(ErrorCode.INVALID_STATE, plan.refusal, "fiscal_year")
        rows = [(_("Fiscal year"), fiscal_year_label(plan.fiscal_year)),
                (_("Applications to issue"), f"{len(plan.applications):,}"),
                (_("Allowances from the allocation reserve"), f"{plan.to_allocate:,}"),
                (_("Allocation reserve holds"), f"{plan.reserve_holds:,}")]
        if plan.to_return:
            rows.append((_("Allowances back to the reserve (corrections)"), f"{plan.to_return:,}"))
        return Check(title=_("Check the allocation run"), rows=rows,
                     consequence=_("Each entity's allowances are booked to its corporate holding account and its "
                                   "allocation notice is made; issued allocations change only by a correction."),
                     confirm_label=_("Start the run"), form=SecondFactorForm())

    def form_valid_run(self, form):
        cycle.allocation_run_start(fiscal_year=self.kwargs["fiscal_year"], acting_user=self.request.user,
                                   otp_token=form.cleaned_data["otp_token"])
        messages.success(self.request, _("The run has started; its progress shows below."))

    def get_context_data(self, **kwargs):
        fiscal_year = self.kwargs["fiscal_year"]
        kwargs.update(fiscal_year=fiscal_year, period=cycle.period_or_none(fiscal_year),
                      **selectors.fiscal_year_overview(fiscal_year=fiscal_year, page=self.request.GET.get("page")),
                      progress=selectors.run_progress(fiscal_year=fiscal_year), plan=cycle.run_plan(fiscal_year))
        kwargs.setdefault("run_form", self.build_form("run"))
        return super().get_context_data(**kwargs)


class AllocationApplicationView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """An entity's application for an FY: its facilities and baselines, evidence, the engine's result line by
    line, and the acts of the entity (fill in, submit) and of METI (review, return, compute, approve, correct)."""

    model = Organisation
    template_name = "allocation/application.html"
    forms = {"create": EmptyForm, "evidence": ApplicationEvidenceForm, "financials": FinancialsForm,
             "submit": EmptyForm, "review": EmptyForm,
             "return": ReturnForm, "compute": ComputeForm, "approve": SecondFactorForm, "correct": ReasonForm}
    checked_forms = frozenset({"approve"})

    def get_object(self, queryset=None):
        organisation = super().get_object(queryset)
        if organisation.kind != Organisation.Kind.REGULATED_ENTITY or cycle.period_or_none(
                self.kwargs["fiscal_year"]) is None:
            raise Http404
        return organisation

    @cached_property
    def versions(self):
        return list(AllocationApplication.objects.filter(organisation=self.object, fiscal_year=self.kwargs[
            "fiscal_year"]).select_related("reviewer", "approved_by", "submitted_by").order_by("-version"))

    @cached_property
    def application(self):
        """The version being worked on: an open correction, else the latest."""
        return self.versions[0] if self.versions else None

    def _application(self) -> AllocationApplication:
        if self.application is None:
            raise RegistryError(ErrorCode.INVALID_STATE, _("Start the application first."), "status")
        return self.application

    @cached_property
    def financials(self):
        return EntityFinancials.objects.filter(organisation=self.object,
                                               fiscal_year=self.kwargs["fiscal_year"] - 1).first()

    def build_form(self, name, data=None):
        if name == "evidence" and data is None and self.application is not None:
            return ApplicationEvidenceForm(initial={f: getattr(self.application, f) for f in cycle.EVIDENCE_FIELDS},
                                           auto_id="id_evidence_%s")
        if name == "financials" and data is None and self.financials is not None:
            return FinancialsForm(initial={f: getattr(self.financials, f) for f in cycle.FINANCIAL_FIELDS},
                                  auto_id="id_financials_%s")
        if name == "compute" and data is None:
            return ComputeForm(initial={"rd_evidence_confirmed": getattr(self.financials, "rd_evidence_confirmed",
                                                                         False)}, auto_id="id_compute_%s")
        return self.forms[name](data, auto_id=f"id_{name}_%s")

    def form_valid_financials(self, form):
        cycle.application_financials_save(application=self._application(), acting_user=self.request.user,
                                          **form.cleaned_data)
        messages.success(self.request, _("Saved."))

    def form_valid_create(self, form):
        cycle.application_create(organisation=self.object, fiscal_year=self.kwargs["fiscal_year"],
                                 acting_user=self.request.user)
        messages.success(self.request, _("Application started: check your facilities and add your evidence."))

    def form_valid_evidence(self, form):
        cycle.application_update(application=self._application(), acting_user=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Saved."))

    def form_valid_submit(self, form):
        cycle.application_submit(application=self._application(), acting_user=self.request.user)
        messages.success(self.request, _("Submitted to METI."))

    def form_valid_review(self, form):
        cycle.application_review_start(application=self._application(), acting_user=self.request.user)
        messages.success(self.request, _("You are the reviewer of this application."))

    def form_valid_return(self, form):
        cycle.application_return(application=self._application(), message=form.cleaned_data["message"],
                                 acting_user=self.request.user)
        messages.success(self.request, _("Returned to the entity with your message."))

    def form_valid_compute(self, form):
        application = cycle.application_compute(application=self._application(), acting_user=self.request.user,
                                                **form.cleaned_data)
        messages.success(self.request, _("Computed: %(total)s allowances. Another administrator approves it.")
                         % {"total": f"{application.computed_total:,}"})

    def check_approve(self, form):
        application = self._application()
        if application.status != AllocationApplication.Status.COMPUTED:
            raise RegistryError(ErrorCode.INVALID_STATE, _("This cannot be done now: it is %(state)s.")
                                % {"state": application.get_status_display()}, "status")
        rows = [(_("Entity"), in_reader_language(self.object)), (_("Fiscal year"), fiscal_year_label(application.fiscal_year)),
                (_("Reviewed and computed by"), application.reviewer.full_name),
                (_("Allocation"), _("%(total)s allowances") % {"total": f"{application.computed_total:,}"})]
        if application.supersedes_id:
            rows.append((_("Allocation in force"), _("%(total)s allowances") % {
                "total": f"{application.supersedes.computed_total:,}"}))
        return Check(title=_("Check the allocation before approving it"), rows=rows,
                     consequence=_("The next run books these allowances to the entity and makes its notice."),
                     confirm_label=_("Approve"), form=SecondFactorForm())

    def form_valid_approve(self, form):
        cycle.application_approve(application=self._application(), acting_user=self.request.user,
                                  otp_token=form.cleaned_data["otp_token"])
        messages.success(self.request, _("Approved; the FY's next run issues it."))

    def form_valid_correct(self, form):
        in_force = next((a for a in self.versions if a.status == AllocationApplication.Status.ISSUED), None)
        if in_force is None:
            raise RegistryError(ErrorCode.INVALID_STATE, _("Only an issued allocation is corrected."), "status")
        cycle.application_correct(application=in_force, reason=form.cleaned_data["reason"],
                                  acting_user=self.request.user)
        messages.success(self.request, _("Correction opened: compute it, then another administrator approves it."))

    def get_context_data(self, **kwargs):
        organisation, fiscal_year, application = self.object, self.kwargs["fiscal_year"], self.application
        user = self.request.user
        is_reviewer_role = may(user, cycle.REVIEW)
        preview = cycle.allocation_preview(application) if application and application.status in (
            AllocationApplication.EDITABLE + (AllocationApplication.Status.SUBMITTED,
                                              AllocationApplication.Status.UNDER_REVIEW)) else None
        if preview is None and application is None and may(user, ACT, organisation):
            preview = services.allocation_compute(organisations=[organisation], fiscal_year=fiscal_year)[
                organisation.pk]
        kwargs.update(
            fiscal_year=fiscal_year, application=application, versions=self.versions, financials=self.financials,
            can_act=may(user, ACT, organisation), is_administrator=is_reviewer_role,
            refusal=cycle.applicant_refusal(organisation), boundary=cycle.group_boundary(organisation),
            facilities=selectors.application_facilities(organisation=organisation, fiscal_year=fiscal_year),
            preview_error=preview if isinstance(preview, Exception) else None,
            preview_lines=[] if preview is None or isinstance(preview, Exception) else [
                (LINE_LABELS[line.kind], line) for line in preview.lines],
            preview=None if isinstance(preview, Exception) else preview,
            computed_lines=selectors.stored_lines(application) if application else [],
            notices=AllocationNotice.objects.filter(application__in=self.versions).order_by("-created_at"),
        )
        for name in self.forms:
            kwargs.setdefault(f"{name}_form", self.build_form(name))
        return super().get_context_data(**kwargs)


class NoticeDownloadView(LoginRequiredMixin, View):
    """The stored PDF of an allocation notice: the entity's users and administrators only."""

    def get(self, request, pk):
        notice = access_object(AllocationNotice.objects.select_related("application__organisation"), request.user,
                               pk=pk)
        response = HttpResponse(bytes(notice.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{notice.number}.pdf"'
        return response


class NoticeVerifyView(PublicReadMixin, TemplateView):
    """Public: was a notice with this number and SHA-256 issued, and is it superseded? (the notice's QR code)"""

    template_name = "allocation/notice_verify.html"

    def get_context_data(self, **kwargs):
        number, sha256 = self.request.GET.get("number", ""), self.request.GET.get("sha256", "")
        kwargs.update(number=number, sha256=sha256, asked=bool(number or sha256),
                      result=notices.notice_verification(number=number, sha256=sha256) if number else None)
        return super().get_context_data(**kwargs)

"""Transition plan pages (§7): the entity's plan for an FY (file, confirm; METI accepts or returns), METI's review
queue, and what the public reads (the list, a plan, its documents, an entity's registry page)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView

from accounts import compliance
from accounts.models import CompliancePeriod, Organisation, Sector
from accounts.roles import ACT, APPROVE
from accounts.templatetags.registry import fiscal_year as fiscal_year_label
from accounts.templatetags.registry import in_reader_language
from allocation import public
from allocation.charts import ChartYear, emissions_chart
from allocation.forms import (
    InvestmentsForm,
    PlanDocumentForm,
    PlanEmissionsForm,
    PlanImportForm,
    PlanTextForm,
    ResearchForm,
    ReturnForm,
)
from allocation.models import PROJECTION_YEARS, PlanDocument, PlanEmissions, TransitionPlan
from allocation.services import plans
from gxregistry.access import OrganisationScopedMixin
from gxregistry.authorization import may
from gxregistry.errors import ErrorCode, RegistryError
from gxregistry.exports import csv_response
from gxregistry.pages import AdministratorRequiredMixin, EmptyForm, FormPageMixin
from gxregistry.public_cache import PublicCachedPageMixin


def _chart_years(emissions) -> list[ChartYear]:
    """[ChartYear] from (kind, fiscal_year, direct, indirect, total) rows."""
    years = {}
    for kind, fiscal_year, direct, indirect, total in emissions:
        year = years.setdefault(fiscal_year, {})
        if kind == PlanEmissions.Kind.ACTUAL:
            year.update(actual_direct_t=direct, actual_indirect_t=indirect)
        else:
            year["projected_total_t"] = total
    return [ChartYear(fiscal_year, **values) for fiscal_year, values in sorted(years.items())]


class TransitionPlanView(FormPageMixin, OrganisationScopedMixin, DetailView):
    """An entity's transition plan for an FY: the representative fills in and files the draft, an approving
    representative confirms it to METI or sends it back, an administrator accepts or returns it."""

    model = Organisation
    template_name = "allocation/transition_plan.html"
    forms = {"create": EmptyForm, "texts": PlanTextForm, "emissions": PlanEmissionsForm,
             "investments": InvestmentsForm, "research": ResearchForm, "document": PlanDocumentForm,
             "document_remove": EmptyForm, "import": PlanImportForm, "file": EmptyForm, "confirm": EmptyForm,
             "send_back": ReturnForm, "accept": EmptyForm, "return": ReturnForm}

    def get_object(self, queryset=None):
        organisation = super().get_object(queryset)
        if (organisation.kind != Organisation.Kind.REGULATED_ENTITY
                or not CompliancePeriod.objects.filter(fiscal_year=self.kwargs["fiscal_year"]).exists()):
            raise Http404
        return organisation

    @cached_property
    def versions(self):
        return list(TransitionPlan.objects.filter(organisation=self.object, fiscal_year=self.kwargs["fiscal_year"])
                    .select_related("filed_by", "confirmed_by", "decided_by").order_by("-version"))

    @cached_property
    def plan(self):
        return self.versions[0] if self.versions else None

    def _plan(self) -> TransitionPlan:
        if self.plan is None:
            raise RegistryError(ErrorCode.INVALID_STATE, _("Start the plan first."), "status")
        return self.plan

    @cached_property
    def rd_required(self):
        return plans.rd_recipient(self.object, self.kwargs["fiscal_year"])

    def build_form(self, name, data=None):
        plan, auto_id = self.plan, f"id_{name}_%s"
        files = self.request.FILES if data is not None else None
        if name == "texts":
            initial = {f: getattr(plan, f) for f in plans.TEXT_FIELDS} if plan else {}
            return PlanTextForm(data, initial=initial, auto_id=auto_id, group=hasattr(self.object, "notified_group"),
                                rd=self.rd_required or bool(plan and (plan.rd_expenses_yen or plan.rd_initiatives)))
        if name == "emissions":
            initial = {f"{r.kind}_{r.fiscal_year}_{part}": getattr(r, f"{part}_t")
                       for r in (plan.emissions.all() if plan else []) for part in ("direct", "indirect")}
            return PlanEmissionsForm(data, initial=initial, auto_id=auto_id, projection_years=PROJECTION_YEARS,
                                     actual_years=plans.actual_years(self.kwargs["fiscal_year"]),
                                     verified=plans.verified_direct(plan) if plan else {})
        if name == "investments":
            return InvestmentsForm(data, auto_id=auto_id, initial_rows=plan.investments.values(
                "stage", "measure", "facilities", "timing", "effect_t_per_year") if plan else ())
        if name == "research":
            return ResearchForm(data, auto_id=auto_id, initial_rows=plan.research.values(
                "kind", "reference", "technology_category") if plan else ())
        if name in ("document", "import"):
            return self.forms[name](data, files, auto_id=auto_id)
        return self.forms[name](data, auto_id=auto_id)

    def _done(self, message):
        messages.success(self.request, message)

    def form_valid_create(self, form):
        plans.plan_create(organisation=self.object, fiscal_year=self.kwargs["fiscal_year"],
                          acting_user=self.request.user)
        self._done(_("Plan started from your latest figures: check each item, then file it."))

    def form_valid_texts(self, form):
        plans.plan_update(plan=self._plan(), acting_user=self.request.user, **form.cleaned_data)
        self._done(_("Saved."))

    def form_valid_emissions(self, form):
        plans.plan_emissions_save(plan=self._plan(), rows=form.rows(), acting_user=self.request.user)
        self._done(_("Saved."))

    def form_valid_investments(self, form):
        plans.plan_investments_save(plan=self._plan(), rows=form.rows(), acting_user=self.request.user)
        self._done(_("Saved."))

    def form_valid_research(self, form):
        plans.plan_research_save(plan=self._plan(), rows=form.rows(), acting_user=self.request.user)
        self._done(_("Saved."))

    def form_valid_document(self, form):
        data = form.cleaned_data
        plans.plan_document_add(plan=self._plan(), title=data["title"], url=data["url"], upload=data["file"],
                                acting_user=self.request.user)
        self._done(_("Document added."))

    def form_valid_document_remove(self, form):
        document = self._plan().documents.filter(pk=self.request.POST.get("document")).first()
        if document is None:
            raise RegistryError(ErrorCode.INVALID_INPUT, _("That document is not in this plan."), "document")
        plans.plan_document_remove(document=document, acting_user=self.request.user)
        self._done(_("Document removed."))

    def form_valid_import(self, form):
        upload = form.cleaned_data["file"]
        plans.plan_emissions_import(plan=self._plan(), data=upload.read(), filename=upload.name,
                                    acting_user=self.request.user)
        self._done(_("Figures imported: check them below before filing."))

    def form_valid_file(self, form):
        plans.plan_file(plan=self._plan(), acting_user=self.request.user)
        self._done(_("Filed: an approving representative confirms it before it goes to METI."))

    def form_valid_confirm(self, form):
        plans.plan_confirm(plan=self._plan(), acting_user=self.request.user)
        self._done(_("Confirmed and submitted to METI."))

    def form_valid_send_back(self, form):
        plans.plan_send_back(plan=self._plan(), message=form.cleaned_data["message"], acting_user=self.request.user)
        self._done(_("Sent back to the representative with your message."))

    def form_valid_accept(self, form):
        plans.plan_accept(plan=self._plan(), acting_user=self.request.user)
        self._done(_("Accepted: the plan's public items are on the public register."))

    def form_valid_return(self, form):
        plans.plan_return(plan=self._plan(), message=form.cleaned_data["message"], acting_user=self.request.user)
        self._done(_("Returned to the entity with your message."))

    def get_context_data(self, **kwargs):
        organisation, plan, user = self.object, self.plan, self.request.user
        emissions = list(plan.emissions.values_list("kind", "fiscal_year", "direct_t", "indirect_t", "total_t")
                         ) if plan else []
        kwargs.update(
            fiscal_year=self.kwargs["fiscal_year"], plan=plan, versions=self.versions, rd_required=self.rd_required,
            can_act=may(user, ACT, organisation), can_approve=may(user, APPROVE, organisation),
            is_administrator=may(user, plans.REVIEW_PLANS), files_for=plans.files_for(organisation),
            missing=plans.plan_missing(plan) if plan and plan.status == TransitionPlan.Status.DRAFT else {},
            emissions=emissions, investments=plan.investments.all() if plan else [],
            research=plan.research.all() if plan else [], documents=plan.documents.all() if plan else [],
            chart=emissions_chart(_chart_years(emissions), chart_id="plan-chart",
                                  title=_("Emissions per fiscal year (t-CO2)")) if emissions else "",
            is_public=self.kwargs["fiscal_year"] in public.plan_fiscal_years(organisation.pk))
        for name in self.forms:
            kwargs.setdefault(f"{name}_form", self.build_form(name))
        kwargs["row_forms"] = [
            ("investments", kwargs["investments_form"], _("Item 3: capital investment plans and results (not public)")),
            ("research", kwargs["research_form"], _("Item 4: GX patent applications and Green Innovation Fund "
                                                    "projects"))]
        return super().get_context_data(**kwargs)


class PlanReviewQueueView(AdministratorRequiredMixin, ListView):
    """METI's queue: plans submitted and waiting for a decision, oldest first; the FY's filing progress."""

    template_name = "allocation/plan_review_queue.html"
    paginate_by = 100
    administrator_permission = plans.REVIEW_PLANS

    def get_queryset(self):
        return (TransitionPlan.objects.filter(status=TransitionPlan.Status.SUBMITTED)
                .select_related("organisation", "confirmed_by").order_by("confirmed_at"))

    def get_context_data(self, **kwargs):
        kwargs["progress"] = plans.filing_progress(_fiscal_year_asked(self.request))
        kwargs["years"] = CompliancePeriod.objects.order_by("-fiscal_year").values_list("fiscal_year", flat=True)
        return super().get_context_data(**kwargs)


# --- public ---------------------------------------------------------------------------------------------

def _fiscal_year_asked(request) -> int | None:
    asked = request.GET.get("fiscal_year", "")
    return int(asked) if asked.isdigit() and 2026 <= int(asked) <= 2100 else None


class PublicPlanListView(PublicCachedPageMixin, TemplateView):
    """Public: every accepted plan (latest version per entity and FY), searchable by name, reading or corporate
    number, filtered by sector and FY; CSV of the same rows."""

    content_template = "allocation/public/plan_list.html"

    def rows(self):
        request = self.request
        return public.plan_list(query=request.GET.get("q", "")[:100], sector=request.GET.get("sector", "")
                                if request.GET.get("sector") in Sector.values else "",
                                fiscal_year=_fiscal_year_asked(request))

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            return csv_response(public.PLAN_LIST_HEADERS, public.plan_list_csv_rows(self.rows()),
                                "gx-ets-transition-plans.csv")
        return super().get(request, *args, **kwargs)

    def get_content_context(self):
        request = self.request
        page = Paginator(self.rows(), 50).get_page(request.GET.get("page"))
        page.object_list = [public.PlanRow.of(row) for row in page.object_list]
        query = request.GET.copy()
        query.pop("page", None)
        return {"title": _("Transition plans"), "page_obj": page, "q": request.GET.get("q", ""),
                "is_paginated": page.has_other_pages(),
                "sector": request.GET.get("sector", ""), "fiscal_year": _fiscal_year_asked(request),
                "sectors": Sector.choices, "years": public.plan_years(), "query": query.urlencode(),
                "csv_query": (query.urlencode() + "&" if query else "") + "export=csv"}


class PublicPlanView(PublicCachedPageMixin, TemplateView):
    """Public: one entity's plan for an FY, public items only, with its chart and the table beside it."""

    content_template = "allocation/public/plan.html"

    def get_content_context(self):
        plan = public.plan(organisation_id=self.kwargs["pk"], fiscal_year=self.kwargs["fiscal_year"])
        if plan is None:
            raise Http404
        years = [ChartYear(y.fiscal_year, actual_direct_t=y.direct_t, actual_indirect_t=y.indirect_t)
                 for y in plan.actuals]
        if plan.target is not None:
            years.append(ChartYear(plan.target.fiscal_year, projected_total_t=plan.target.total_t))
        name = in_reader_language(plan)
        return {"title": _("%(entity)s: transition plan %(fy)s") % {"entity": name,
                                                                    "fy": fiscal_year_label(plan.fiscal_year)},
                "plan": plan, "name": name, "sector_label": Sector(plan.sector).label if plan.sector else "",
                "chart": emissions_chart(years, chart_id="plan-chart", title=_(
                    "%(entity)s: actual emissions and the FY2030 projection (t-CO2)") % {"entity": name})}


class PlanDocumentView(View):
    """An item 5 PDF: public once a version of its plan is accepted; before that, the entity's people and METI."""

    def get(self, request, pk):
        document = PlanDocument.objects.select_related("plan__organisation").filter(pk=pk).exclude(file="").first()
        if document is None or not (public.document_is_public(document) or (
                request.user.is_authenticated and TransitionPlan.objects.restrict(request.user)
                .filter(pk=document.plan_id).exists())):
            raise Http404
        return FileResponse(document.file.open("rb"), content_type="application/pdf",
                            filename=f"{document.title[:80]}.pdf")


class PublicEntityReportView(PublicCachedPageMixin, TemplateView):
    """Public: one regulated entity across FYs (as the EU Union Registry's reports): allocation, verified
    emissions, surrendered and status per FY, with CSV and links to its transition plans."""

    content_template = "allocation/public/entity.html"

    def entity_rows(self):
        organisation = Organisation.objects.filter(pk=self.kwargs["pk"],
                                                   kind=Organisation.Kind.REGULATED_ENTITY).first()
        if organisation is None:
            raise Http404
        years = CompliancePeriod.objects.order_by("-fiscal_year").values_list("fiscal_year", flat=True)
        return organisation, [row for fiscal_year in years
                              for row in compliance.registry_report(fiscal_year=fiscal_year, organisation=organisation)]

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") == "csv":
            organisation, rows = self.entity_rows()
            return csv_response(compliance.REGISTRY_REPORT_HEADERS, compliance.registry_report_rows(rows),
                                f"gx-ets-registry-{organisation.corporate_number}.csv")
        return super().get(request, *args, **kwargs)

    def get_content_context(self):
        organisation, rows = self.entity_rows()
        return {"title": in_reader_language(organisation), "organisation": organisation, "rows": rows,
                "plan_years": public.plan_fiscal_years(organisation.pk),
                "sector_label": Sector(organisation.sector).label if organisation.sector else ""}

import base64

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, ListView, TemplateView

from accounts.models import Organisation
from accounts.roles import ACT, VIEW
from allocation import selectors, services
from allocation.engine.parameters import FIRST_PHASE_FISCAL_YEARS
from allocation.forms import FacilityDataImportForm
from allocation.labels import LINE_LABELS
from allocation.models import Facility
from gxregistry.access import OrganisationScopedMixin, access_object
from gxregistry.errors import RegistryError
from gxregistry.exports import csv_response
from gxregistry.importing import UnreadableFile


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
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal.message))
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

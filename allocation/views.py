import base64

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, ListView

from accounts.access import OrganisationScopedMixin, access_object
from accounts.importing import UnreadableFile
from accounts.models import Organisation
from accounts.roles import ACT
from allocation import selectors, services
from allocation.forms import FacilityDataImportForm
from allocation.models import Facility


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

    def get_context_data(self, **kwargs):
        kwargs["organisation"] = self.organisation
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

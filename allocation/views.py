from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import DetailView, ListView

from accounts.access import OrganisationScopedMixin
from allocation import selectors
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

from django.db.models import Prefetch

from allocation.api.serializers import FacilitySerializer
from allocation.models import Facility, Process, ProcessYear
from gxregistry.api import RestrictedReadOnlyViewSet


class FacilityViewSet(RestrictedReadOnlyViewSet):
    """Facilities of the caller's organisations, with processes and yearly data."""

    serializer_class = FacilitySerializer
    queryset = (
        Facility.objects.select_related("organisation")
        .prefetch_related(
            Prefetch("processes", queryset=Process.objects.order_by("code").prefetch_related(
                Prefetch("years", queryset=ProcessYear.objects.order_by("fiscal_year"))
            ))
        )
        .order_by("pk")
    )
    filterset_fields = ["prefecture", "code"]

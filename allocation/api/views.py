from dataclasses import asdict

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from allocation import public
from allocation.api.serializers import FacilitySerializer, PublicPlanRowSerializer, PublicPlanSerializer
from allocation.models import Facility, Process, ProcessYear
from gxregistry.api import RestrictedReadOnlyViewSet
from gxregistry.replica import PublicReadMixin


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


class PublicPlanListView(PublicReadMixin, ListAPIView):
    """Public, no sign-in: the latest accepted transition plan per entity and FY (public items only); ``q`` searches
    names, readings (kana) and corporate numbers, ``sector`` and ``fiscal_year`` filter."""

    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = PublicPlanRowSerializer
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        year = params.get("fiscal_year", "")
        return public.plan_list(query=params.get("q", "")[:100], sector=params.get("sector", "")[:32],
                                fiscal_year=int(year) if year.isdigit() and len(year) == 4 else None)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return [public.PlanRow.of(row) for row in page] if page is not None else None


class PublicPlanView(PublicReadMixin, APIView):
    """Public, no sign-in: one entity's accepted plan for an FY, its public items only."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses=PublicPlanSerializer)
    def get(self, request, pk: int, fiscal_year: int):
        plan = public.plan(organisation_id=pk, fiscal_year=fiscal_year)
        if plan is None:
            raise NotFound
        return Response(PublicPlanSerializer(asdict(plan)).data)

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from accounts.ledger.api import HoldingAccountViewSet, TransferRequestViewSet
from allocation.api.views import FacilityViewSet, PublicPlanListView, PublicPlanView
from market.api import BookView, OrderViewSet

router = DefaultRouter()
router.register("facilities", FacilityViewSet, basename="api-facility")
router.register("holding-accounts", HoldingAccountViewSet, basename="api-holding-account")
router.register("transfers", TransferRequestViewSet, basename="api-transfer")
router.register("market/orders", OrderViewSet, basename="api-market-order")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("public/transition-plans/", PublicPlanListView.as_view(), name="api-public-plan-list"),
    path("public/transition-plans/<int:pk>/<int:fiscal_year>/", PublicPlanView.as_view(),
         name="api-public-plan-detail"),
    path("market/instruments/<str:code>/book/", BookView.as_view(), name="api-market-book"),
    path("", include(router.urls)),
]

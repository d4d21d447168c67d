from django.contrib import admin
from django.urls import include, path

from gxregistry import operations, views

admin.site.site_header = "GX-ETS Registry"
admin.site.site_title = "GX-ETS Registry"

urlpatterns = [
    # Operations: no sign-in, nothing secret (gxregistry/operations.py)
    path("health/live", operations.live, name="health_live"),
    path("health/ready", operations.ReadyView.as_view(), name="health_ready"),
    path("metrics", operations.metrics, name="metrics"),
    path("i18n/setlang/", views.language_set, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("gxregistry.api_urls")),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("allocation.urls")),
    path("", include("verification.urls")),
    path("", include("market.urls")),
]

handler400 = "gxregistry.views.bad_request"
handler403 = "gxregistry.views.permission_denied"
handler404 = "gxregistry.views.page_not_found"
handler500 = "gxregistry.views.server_error"

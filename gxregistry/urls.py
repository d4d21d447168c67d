from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "GX-ETS Registry"
admin.site.site_title = "GX-ETS Registry"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("gxregistry.api_urls")),
    path("", include("accounts.urls")),
    path("", include("allocation.urls")),
]

"""Pages that draw on every app: each role's landing page; error pages (JSON for the API, /api/…,
pages within the base layout for everyone else)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views import defaults
from django.views.generic import TemplateView

from gxregistry import dashboards
from gxregistry.api import problem


class DashboardView(LoginRequiredMixin, TemplateView):
    """The landing page: one per role, built by gxregistry.dashboards."""

    def get_template_names(self):
        return [dashboards.template_for(self.request.user)]

    def get_context_data(self, **kwargs):
        kwargs.update(dashboards.context_for(self.request.user))
        return super().get_context_data(**kwargs)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _is_api(request):
        return problem("bad_request", "The request could not be understood.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return problem("permission_denied", "You may not do this.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return problem("not_found", "Not found.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return problem("server_error", "The registry could not finish the request; nothing was changed by it.", 500)
    return defaults.server_error(request)

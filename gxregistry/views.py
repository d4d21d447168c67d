"""Pages that draw on every app: each role's landing page; error pages (JSON for the API, /api/…,
pages within the base layout for everyone else)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views import defaults
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from django.views.i18n import set_language

from gxregistry import dashboards
from gxregistry.api import problem


class DashboardView(LoginRequiredMixin, TemplateView):
    """The landing page: one per role, built by gxregistry.dashboards."""

    def get_template_names(self):
        return [dashboards.template_for(self.request.user)]

    def get_context_data(self, **kwargs):
        kwargs.update(dashboards.context_for(self.request.user))
        return super().get_context_data(**kwargs)


@require_POST
def language_set(request):
    """Django's language switch, remembered for a signed-in person as the language of their e-mails."""
    from accounts.services import user_language_set
    from gxregistry.errors import RegistryError

    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language != request.user.language:
        try:
            user_language_set(user=request.user, language=language, acting_user=request.user)
        except RegistryError:
            pass  # not a language of the registry: Django's view has ignored it too
    return response


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

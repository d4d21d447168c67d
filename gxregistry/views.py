"""Error pages: JSON for the API (/api/…), pages within the base layout for everyone else."""

from django.views import defaults

from gxregistry.api import problem


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

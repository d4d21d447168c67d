from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import resolve
from django.urls.exceptions import Resolver404
from django_otp import devices_for_user
from pghistory.middleware import HistoryMiddleware

from accounts.selectors import requires_second_factor

# Pages a signed-in user may reach before passing the second factor.
SECOND_FACTOR_EXEMPT = frozenset(
    {"login", "logout", "otp_enrol", "otp_verify", "set_language", "home", "javascript-catalog"}
)


class SecondFactorRequiredMiddleware:
    """Administrators and representatives pass TOTP before reaching anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and not self._exempt(request):
            if requires_second_factor(user):
                if request.path.startswith("/api/"):
                    from gxregistry.api import problem

                    return problem("second_factor_required",
                                   "Pass the second factor in the browser first, or use an API token.", 403)
                has_device = any(True for _ in devices_for_user(user, confirmed=True))
                target = "otp_verify" if has_device else "otp_enrol"
                return redirect(f"{_url(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _exempt(request):
        if request.path.startswith(("/static/", "/i18n/")):
            return True
        try:
            return resolve(request.path_info).url_name in SECOND_FACTOR_EXEMPT
        except Resolver404:
            return True


def _url(name):
    from django.urls import reverse

    return reverse(name)


class AuditContextMiddleware(HistoryMiddleware):
    """pghistory's request context (user, URL) on every audited change."""

    def get_context(self, request):
        context = super().get_context(request)
        if request.user.is_authenticated:
            context["user_email"] = request.user.email
        return context

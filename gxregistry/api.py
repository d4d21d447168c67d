"""API base pieces shared by every app: the restricting viewsets and the one error format.

Every error the API gives is JSON with a ``code`` (from ``gxregistry.errors.ErrorCode`` for a
refused act, else DRF's own code such as ``not_found`` or ``not_authenticated``), a ``detail``
for people, and, where a field is at fault, ``field`` (and ``errors``, field by field, where several are) — including 404/405 outside DRF's views,
500, and a session that has not passed the second factor (gxregistry.views, accounts.middleware).
"""

from rest_framework import status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.roles import VIEW
from gxregistry.errors import RegistryError


class RestrictedViewSetMixin:
    """Scopes every API queryset with RestrictedQuerySet.restrict (404 outside scope)."""

    permission = VIEW

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.permission)


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


def refusal_response(error: RegistryError) -> Response:
    body = {"code": error.code.value, "detail": str(error.message), "field": error.field}
    if error.others:  # every wrong field, as a validation error lists them (the first's message where one repeats)
        body["errors"] = {refusal.field: [str(refusal.message)] for refusal in reversed(error.refusals())}
    return Response(body, status=error.http_status)


def exception_handler(exc, context):
    """DRF's handler, with a ``code`` on every error and RegistryError answered like any other."""
    if isinstance(exc, RegistryError):
        return refusal_response(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real fault: Django's handler500 answers it (as JSON for /api/)
    if isinstance(exc, ValidationError):
        field_errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        first = next(iter(field_errors), None)
        response.data = {"code": "invalid", "detail": "The request has errors; see the fields.",
                         "field": first, "errors": field_errors}
    elif isinstance(exc, APIException):
        response.data = {"code": exc.get_codes() if isinstance(exc.get_codes(), str) else "error",
                         "detail": str(exc.detail)}
    return response


def problem(code: str, detail: str, status_code: int = status.HTTP_400_BAD_REQUEST):
    """A JSON error outside DRF's views (Django's error handlers, middleware), in the API's format."""
    from django.http import JsonResponse

    return JsonResponse({"code": code, "detail": detail}, status=status_code)

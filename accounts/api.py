"""The permission mechanism for the API: the same restriction as the views."""

from rest_framework import viewsets

from accounts.roles import VIEW


class RestrictedViewSetMixin:
    """Scopes every API queryset with RestrictedQuerySet.restrict (404 outside scope)."""

    permission = VIEW

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, self.permission)


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass

"""Object access for views and the API: one rule, used everywhere.

A missing object and another organisation's object give the same 404, so the
registry never confirms that something it will not show exists. An object of
the user's own organisation that the user's role may not act on gives 403.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.roles import VIEW
from gxregistry.authorization import may


def organisation_of(obj):
    lookup = type(obj).organisation_lookup
    if lookup == "pk":
        return obj
    target = obj
    for part in lookup.split("__"):
        target = getattr(target, part)
    return target


def access_object(queryset, user, perm: str = VIEW, **lookup):
    obj = queryset.restrict(user, VIEW).filter(**lookup).first()
    if obj is None:
        raise Http404
    if perm != VIEW and not may(user, perm, organisation_of(obj)):
        raise PermissionDenied
    return obj


class OrganisationScopedMixin(LoginRequiredMixin):
    """For list and detail views over a model with a RestrictedQuerySet.

    ``permission`` is the Organisation permission the view needs on the object.
    """

    permission = VIEW

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, VIEW)

    def get_object(self, queryset=None):
        return access_object(
            queryset if queryset is not None else self.get_queryset(),
            self.request.user,
            self.permission,
            pk=self.kwargs["pk"],
        )

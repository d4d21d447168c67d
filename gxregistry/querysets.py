"""The one mechanism that scopes data to a user's organisations.

Every organisation-scoped model uses ``RestrictedQuerySet`` and names, in
``organisation_lookup``, the path from itself to its owning Organisation.
``restrict(user, perm)`` keeps the rows of organisations on which django-guardian
gives the user ``perm`` (globally for registry administrators, per object for
everyone else). Views, the API and exports all start from ``restrict``.
"""

from django.db import models

from accounts.roles import VIEW


def organisations_for(user, perm: str = VIEW):
    """Organisations on which ``user`` holds ``perm`` (an Organisation codename)."""
    from guardian.shortcuts import get_objects_for_user

    from accounts.models import Organisation

    if user is None or not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return get_objects_for_user(
        user, f"accounts.{perm}", klass=Organisation, accept_global_perms=True
    )


def holds_globally(user, perm: str = VIEW) -> bool:
    """Whether ``user`` holds ``perm`` on every organisation: registry administrators, through their group."""
    return user is not None and user.is_authenticated and user.is_active and user.has_perm(f"accounts.{perm}")


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, perm: str = VIEW):
        """Rows of organisations on which ``user`` holds ``perm``. A model that two organisations share (an
        engagement: the entity and its verification body) names the second path in ``also_visible_to``."""
        if holds_globally(user, perm):
            return self.all()  # every row, the government's own accounts (no organisation) included
        allowed = organisations_for(user, perm).values("pk")
        condition = models.Q()
        for lookup in (self.model.organisation_lookup, *getattr(self.model, "also_visible_to", ())):
            condition |= models.Q(**{"pk__in" if lookup == "pk" else f"{lookup}__in": allowed})
        return self.filter(condition)

from accounts.models import Organisation
from accounts.selectors import active_memberships, primary_role


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_role": None, "nav_memberships": [], "nav_has_facilities": False}
    memberships = list(active_memberships(fetched_by=user))
    return {
        "nav_role": primary_role(user),
        "nav_memberships": memberships,
        # Only regulated entities have facilities (a trading operator or GXA has none to list).
        "nav_has_facilities": any(m.organisation.kind == Organisation.Kind.REGULATED_ENTITY for m in memberships),
    }

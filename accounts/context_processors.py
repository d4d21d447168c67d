from accounts.selectors import active_memberships, primary_role


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_role": None, "nav_memberships": []}
    return {
        "nav_role": primary_role(user),
        "nav_memberships": list(active_memberships(fetched_by=user)),
    }

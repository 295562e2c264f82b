from . import selectors


def tenancy(request):
    """The caller's role and organization, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = selectors.user_membership(user)
    return {
        "current_role": selectors.user_role(user),
        "current_organization": membership.organization if membership else None,
    }

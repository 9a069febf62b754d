"""Header and menu data for every page: the current account and the switcher's choices."""

from .selectors import accounts_for, organizations_for


def account_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_account": getattr(request, "account", None),
        "switchable_accounts": accounts_for(user).order_by("code"),
        "has_organization_role": organizations_for(user).exists(),
    }

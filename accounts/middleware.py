"""The account context: which account a signed-in person works at, held in the session.

It also activates that account's timezone, so every date a page shows is in account time.
"""

import zoneinfo

from django.http import Http404
from django.utils import timezone

from .selectors import account_access

SESSION_KEY = "current_account_id"


def current_account_access(request):
    """The current account's AccountAccess, for pages that need one selected; else 404."""
    if request.account_access is None:
        raise Http404("Select an account first.")
    return request.account_access


class AccountContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.account = None
        request.account_access = None
        account_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if account_id and request.user.is_authenticated:
            try:
                access = account_access(request.user, account_id)
            except Http404:  # the person lost access, or the account is gone
                request.session.pop(SESSION_KEY, None)
            else:
                request.account = access.account
                request.account_access = access
        if request.account is not None:
            timezone.activate(zoneinfo.ZoneInfo(request.account.timezone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

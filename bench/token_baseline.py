"""The baseline: DRF's TokenAuthentication, answering for the benchmark's account.

DRF finds the token and its user in one query; the API then needs an account, which a
token does not name, so the account is loaded once per process and reused. The
baseline thus pays DRF's authentication and nothing more, and the comparison isolates
what API-key authentication costs.
"""

import os
from functools import cache

from rest_framework.authentication import TokenAuthentication

from accounts.models import Account
from accounts.selectors import ApiKeyActor


@cache
def _bench_account() -> Account:
    return Account.objects.select_related("organization").get(pk=int(os.environ["BENCH_ACCOUNT_ID"]))


class TokenBaselineAuthentication(TokenAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        return ApiKeyActor(account=_bench_account(), prefix="token"), result[1]

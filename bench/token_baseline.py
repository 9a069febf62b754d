"""The baseline: DRF's TokenAuthentication, answering for the benchmark's account.

DRF finds the token and its user in one query; the endpoint then needs the caller's
account, which a token does not name, so the baseline loads it per request by primary
key, as any token-based deployment of this endpoint must (an earlier version cached it
per process, which skipped work the endpoint cannot skip; both figures are in the note).
"""

import os

from rest_framework.authentication import TokenAuthentication

from accounts.models import Account
from accounts.selectors import ApiKeyActor


def _bench_account() -> Account:
    return Account.objects.select_related("organization").get(pk=int(os.environ["BENCH_ACCOUNT_ID"]))


class TokenBaselineAuthentication(TokenAuthentication):
    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        return ApiKeyActor(account=_bench_account(), prefix="token"), result[1]

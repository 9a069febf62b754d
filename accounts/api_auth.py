"""Who is calling the REST API: a per-account API key (or a browser session), and how
often each caller may call it."""

import logging
import math
import time
import zlib
from datetime import timedelta

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from django.utils.connection import ConnectionProxy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from . import api_keys
from .middleware import SESSION_KEY
from .models import Account
from .selectors import API_KEY_ROLE, AccountAccess, ApiKeyActor, account_access

log = logging.getLogger(__name__)

KEYWORD = "Api-Key"
HEADER = "X-Api-Key"
# Recording every use would write on every request; a minute is precise enough to
# tell a live key from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Real keys are ~56 characters; anything much longer is not worth hashing.
MAX_KEY_LENGTH = 128


class NoAccountSelected(exceptions.NotFound):
    default_detail = "No account is selected in this session: choose one in the portal first."
    default_code = "account_not_selected"


def request_access(request) -> AccountAccess:
    """The account a REST request acts on and what the caller may do there: the key's
    own account, or for a browser session the account selected in the portal."""
    if isinstance(request.user, ApiKeyActor):
        # Authentication has just loaded the key's (active) account.
        return AccountAccess(request.user.account, API_KEY_ROLE)
    account_id = request.session.get(SESSION_KEY)
    if not account_id:
        raise NoAccountSelected()
    return account_access(request.user, account_id)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key <key>` or `X-Api-Key: <key>`; the key's account only.

    The visible prefix finds the account by an indexed column, then the SHA-256 of
    the whole key is compared in constant time: one query, no slow KDF.
    """

    def authenticate(self, request):
        key = self._key_from_headers(request)
        if key is None:
            return None
        prefix = api_keys.split_prefix(key) if len(key) <= MAX_KEY_LENGTH else None
        account = None
        if prefix is not None:
            # Prefixes are 32 random bits, so two accounts may share one: check each.
            for candidate in Account.objects.filter(api_key_prefix=prefix, is_active=True).select_related(
                "organization"
            ):
                if api_keys.key_matches(key, candidate.api_key_hash):
                    account = candidate
                    break
        if account is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        self._record_use(account)
        return ApiKeyActor(account=account, prefix=prefix), account

    def authenticate_header(self, request):
        return f'{KEYWORD} realm="api"'

    @staticmethod
    def _key_from_headers(request) -> str | None:
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == KEYWORD.lower():
            key = credentials.strip()
        elif "HTTP_X_API_KEY" in request.META:
            key = request.META["HTTP_X_API_KEY"].strip()
        else:
            return None
        if not key or " " in key:
            raise exceptions.AuthenticationFailed(
                f"Send the key as `Authorization: {KEYWORD} <key>` or `{HEADER}: <key>`."
            )
        return key

    @staticmethod
    def _record_use(account: Account) -> None:
        now = timezone.now()
        last_used = account.api_key_last_used_at
        if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
            Account.objects.filter(pk=account.pk).update(api_key_last_used_at=now)
            account.api_key_last_used_at = now


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = ["apiKeyHeader", "apiKeyAuthorization"]

    def get_security_requirement(self, auto_schema):
        # Either header will do: alternatives, not both at once.
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": HEADER,
                "description": "The account's API key, e.g. `toms_ab12cd34_…`.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": f"`{KEYWORD} <key>`: the same key in the Authorization header.",
            },
        ]


class ApiRateThrottle(SimpleRateThrottle):
    """One budget per API key (per person for sessions), rate from REST_FRAMEWORK's
    DEFAULT_THROTTLE_RATES["api"], counted in fixed windows of the rate's period.

    DRF's UserRateThrottle keys on `user.pk`, which every API key shares (None), and
    reads the rates once at import, so tests could not change them. DRF's sliding log is
    read, appended to and written back, so concurrent requests at different workers lose
    each other's entries (measured over gunicorn -w 2 with 8 clients: 103 to 109 answered
    for a budget of 100); here one atomic increment counts each request.
    """

    scope = "api"
    # The settings' "throttle" cache (Redis when REDIS_URL is set): one count per key for
    # every process, kept across restarts. A proxy, so a test's CACHES override reaches it.
    cache = ConnectionProxy(caches, "throttle")
    # A window's counter outlives its window by this much, so an increment never meets an
    # expired key: Redis would recreate it without an expiry, a budget spent for good.
    EXPIRY_MARGIN = 60
    # While the shared cache is unreachable each process counts in its own memory (one
    # budget per process, as without Redis) and tries the shared cache again after this
    # long: a Redis blip must not answer every API request 500, nor make each one wait
    # for a dead socket's timeout.
    local_cache = LocMemCache("api-throttle-fallback", {})
    SHARED_RETRY_SECONDS = 10.0
    _shared_down_until = 0.0

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiKeyActor):
            ident = f"key:{user.prefix}:{user.account.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # Each key's windows are shifted by a phase of its own, so not every budget in the
        # house refills at the same second.
        phase = zlib.crc32(self.key.encode()) % self.duration
        window, elapsed = divmod(self.timer() + phase, self.duration)
        self.window_left = self.duration - elapsed
        return self._count(f"{self.key}:{int(window)}") <= self.num_requests

    def _count(self, counter: str) -> int:
        """This request's number in its window: in the shared cache, or in this process's
        memory while the shared cache is unreachable."""
        cls = type(self)
        if time.monotonic() >= cls._shared_down_until:
            try:
                return self._increment(self.cache, counter)
            except RedisError as error:
                cls._shared_down_until = time.monotonic() + self.SHARED_RETRY_SECONDS
                log.warning(
                    "API throttle: the shared cache is unreachable (%s); counting in this "
                    "process for the next %.0f s",
                    error,
                    self.SHARED_RETRY_SECONDS,
                )
        return self._increment(self.local_cache, counter)

    def _increment(self, cache, counter: str) -> int:
        cache.add(counter, 0, timeout=self.duration + self.EXPIRY_MARGIN)
        try:
            return cache.incr(counter)
        except ValueError:
            # Evicted between the two calls (local memory culls its oldest keys when full).
            cache.add(counter, 1, timeout=self.duration + self.EXPIRY_MARGIN)
            return 1

    def wait(self):
        # Retry-After is whole seconds; rounding down would invite a retry too early.
        return max(1, math.ceil(self.window_left))

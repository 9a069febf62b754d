"""The throttle on failed sign-ins, per account (the email tried) and per client address,
for every form that signs people in (the portal's login page and the admin's).

Failures are counted by the `user_login_failed` receiver below, so every failed
`authenticate()` counts whoever called it; the sign-in forms ask `refusal()` before they
authenticate, so a refused attempt is refused even with the right password. The counts live
in the "default" cache (Redis when REDIS_URL is set), one count for every gunicorn worker.
"""

import hashlib
import ipaddress
import logging
import math
import time
import zlib
from dataclasses import dataclass

from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Guessing one person's password gets 5 tries per window; a whole office behind one
# address (colleagues mistyping) gets 20. docs/decisions.md has the reasoning.
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60
# A window's counter outlives its window by this much, so an increment never meets an
# expired key (Redis would recreate it without an expiry: a lock-out for good).
EXPIRY_MARGIN = 60
# IPv6 clients usually hold a whole /64: counting single addresses would give each of
# them billions of budgets.
IPV6_PREFIX = 64

# What an unreachable cache raises (Redis, or a socket of another backend).
CACHE_ERRORS = (RedisError, OSError)

# The clock, replaced by tests (time is injected, never slept on).
clock = time.time


@dataclass(frozen=True)
class Refusal:
    scope: str  # "account" or "address"
    seconds_left: float

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.seconds_left / 60))
        wait = f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
        if self.scope == "account":
            return f"Too many failed sign-ins for this account; {wait}"
        return f"Too many failed sign-ins from your network address; {wait}"


def client_address(request) -> str | None:
    """The address a request came from, as counted: REMOTE_ADDR (a proxy's header is not
    trusted here), an IPv6 address reduced to its /64."""
    raw = (request.META.get("REMOTE_ADDR") or "").strip() if request is not None else ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def _counters(email: str | None, address: str | None, now: float) -> list[tuple[str, int, str, float]]:
    """(scope, limit, cache key, seconds left) of this moment's window for each known key.

    Fixed windows with a phase per key (like the API throttle), so that one atomic
    increment counts a failure and not every budget refills at the same second.
    """
    idents = []
    if email:
        # Hashed: the cache holds no email addresses, and a huge input makes a short key.
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        idents.append(("account", ACCOUNT_LIMIT, f"account:{digest}"))
    if address:
        idents.append(("address", ADDRESS_LIMIT, f"address:{address}"))
    counters = []
    for scope, limit, ident in idents:
        phase = zlib.crc32(ident.encode()) % WINDOW_SECONDS
        window, elapsed = divmod(now + phase, WINDOW_SECONDS)
        counters.append((scope, limit, f"sign-in-failures:{ident}:{int(window)}", WINDOW_SECONDS - elapsed))
    return counters


def refusal(email: str | None, address: str | None) -> Refusal | None:
    """Why a sign-in must be refused now, or None. The account's refusal comes first:
    it is the one the person can act on."""
    counters = _counters(email, address, clock())
    try:
        counts = cache.get_many([key for _, _, key, _ in counters])
    except CACHE_ERRORS as error:
        # Fail open: a Redis blip must not lock everyone out, nor answer 500.
        logger.warning("Sign-in throttle not checked, the cache is unavailable: %s", error)
        return None
    for scope, limit, key, seconds_left in counters:
        if counts.get(key, 0) >= limit:
            return Refusal(scope, seconds_left)
    return None


def record_failure(email: str | None, address: str | None) -> None:
    for _, _, key, seconds_left in _counters(email, address, clock()):
        timeout = math.ceil(seconds_left) + EXPIRY_MARGIN
        try:
            cache.add(key, 0, timeout=timeout)
            try:
                cache.incr(key)
            except ValueError:
                # Evicted between the two calls (local memory culls its oldest keys when full).
                cache.add(key, 1, timeout=timeout)
        except CACHE_ERRORS as error:
            logger.warning("Failed sign-in not counted, the cache is unavailable: %s", error)
            return


@receiver(user_login_failed, dispatch_uid="count_failed_sign_in")
def count_failure(sender, credentials, request=None, **kwargs):
    # Django's forms pass the email as "username"; a direct authenticate(email=...) as "email".
    email = credentials.get("username") or credentials.get("email")
    record_failure(email if isinstance(email, str) else None, client_address(request))

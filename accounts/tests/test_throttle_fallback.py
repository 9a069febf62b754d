"""The API throttle while its shared cache (Redis) is unreachable: requests keep their
answers, each process keeps counting on its own, and the shared cache is used again once
it answers. Redis is "down" here by pointing the throttle's cache at a closed port, so
these tests need no Redis server."""

import logging
import uuid

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.api_auth import ApiRateThrottle

pytestmark = pytest.mark.django_db

ACCOUNT = "/api/v1/account/"
# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_REDIS = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
}


@pytest.fixture(autouse=True)
def fresh_fallback(monkeypatch):
    # The fallback counts and the retry time are per process: start each test without them.
    monkeypatch.setattr(ApiRateThrottle, "_shared_down_until", 0.0)
    monkeypatch.setattr(
        ApiRateThrottle, "local_cache", type(ApiRateThrottle.local_cache)(uuid.uuid4().hex, {})
    )


def throttle_cache(settings, cache: dict) -> None:
    # Overriding CACHES makes Django drop its cache handles, so the throttle's proxy
    # connects to the new one.
    settings.CACHES = {**settings.CACHES, "throttle": cache}


def rate(settings, value: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": value}}


@pytest.fixture
def key_client(world):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=services.regenerate_api_key(None, world.acme_us))
    return client


def test_requests_are_answered_while_redis_is_down_with_a_warning(key_client, settings, caplog):
    throttle_cache(settings, UNREACHABLE_REDIS)
    with caplog.at_level(logging.WARNING, logger="accounts.api_auth"):
        statuses = [key_client.get(ACCOUNT).status_code for _ in range(5)]
    assert statuses == [200] * 5
    warnings = [r.getMessage() for r in caplog.records if r.name == "accounts.api_auth"]
    # Once per retry period, not once per request.
    assert len(warnings) == 1
    assert "shared cache is unreachable" in warnings[0]


def test_the_budget_still_holds_per_process_while_redis_is_down(key_client, settings):
    throttle_cache(settings, UNREACHABLE_REDIS)
    rate(settings, "2/minute")
    assert [key_client.get(ACCOUNT).status_code for _ in range(3)] == [200, 200, 429]


def test_the_shared_cache_counts_again_once_it_answers(key_client, settings, monkeypatch):
    monkeypatch.setattr(ApiRateThrottle, "SHARED_RETRY_SECONDS", 0.0)
    rate(settings, "2/minute")
    throttle_cache(settings, UNREACHABLE_REDIS)
    assert key_client.get(ACCOUNT).status_code == 200
    shared = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
    throttle_cache(settings, shared)
    # The request counted in memory during the outage is not in the shared count.
    assert [key_client.get(ACCOUNT).status_code for _ in range(3)] == [200, 200, 429]

"""Safe by default: DEBUG off unless the environment turns it on, weak SECRET_KEYs refused
at start-up, the proxy's header believed only when configured, and `check --deploy` clean
under production-like settings. Each case starts Django in a process of its own, since the
settings are read once per process."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from oms.security import DEVELOPMENT_SECRET_KEY, secret_key_problem

ROOT = Path(__file__).resolve().parent.parent
# Variables this file decides; the rest of the environment (DATABASE_URL, REDIS_URL) stays.
DECIDED = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TRUST_X_FORWARDED_PROTO", "DJANGO_ALLOW_ASYNC_UNSAFE")
PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps([s.DEBUG, s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT]))"
)


def strong_key() -> str:
    return secrets.token_urlsafe(48)  # 64 characters


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in DECIDED}
    environment.update(env)
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_seen(**env: str) -> list:
    result = manage("shell", "-c", PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_is_off_when_the_environment_says_nothing():
    debug, _, ssl_redirect = settings_seen(SECRET_KEY=strong_key())
    assert (debug, ssl_redirect) == (False, True)


def test_debug_is_on_only_when_turned_on():
    debug, _, _ = settings_seen(DEBUG="1")
    assert debug is True


@pytest.mark.parametrize(
    "key",
    [
        "x",
        "changeme",
        "secret",
        DEVELOPMENT_SECRET_KEY,
        "django-insecure-" + "k3y" * 20,
        "a-random-looking-key-of-only-40-chars-00",
        "ab" * 40,
    ],
)
def test_weak_secret_keys_are_refused(key):
    assert secret_key_problem(key) is not None


def test_a_random_key_of_64_characters_is_accepted():
    assert secret_key_problem(strong_key()) is None


def test_production_refuses_to_start_with_a_short_key():
    result = manage("check", DEBUG="0", SECRET_KEY=strong_key()[:49])
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is 49 characters long" in result.stderr


def test_production_refuses_to_start_with_the_development_key():
    result = manage("check", DEBUG="0", SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    assert result.returncode != 0
    assert "SECRET_KEY is a well-known value" in result.stderr


def test_production_refuses_to_start_without_a_key():
    result = manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_forwarded_proto_is_ignored_unless_configured():
    assert settings_seen(SECRET_KEY=strong_key())[1] is None
    assert settings_seen(SECRET_KEY=strong_key(), TRUST_X_FORWARDED_PROTO="1")[1] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]


@pytest.mark.parametrize("trust_proxy", ["0", "1"])
def test_deploy_check_is_clean_under_production_settings(trust_proxy):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=strong_key(),
        ALLOWED_HOSTS="oms.example.com",
        TRUST_X_FORWARDED_PROTO=trust_proxy,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout

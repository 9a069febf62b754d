"""The failed sign-in throttle on the portal's login page and the admin's: per account (the
email tried) and per client address, refused even with the right password until the
window passes, with the reason beside the form; open when the cache is down."""

import html
import http.client
import logging
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import redis
from django.test import Client

from accounts import sign_in
from accounts.models import User
from accounts.tests.test_throttle_shared import Gunicorn
from conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"
HOME = "10.1.1.1"
ELSEWHERE = "10.2.2.2"
START = 1_700_000_000.0


@pytest.fixture(autouse=True)
def own_counts(settings):
    # A key prefix of the test's own rather than clear(), which on Redis would flush the
    # whole database, the broker's queues included.
    default = {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    settings.CACHES = {**settings.CACHES, "default": default}


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand."""
    now = {"t": START}
    monkeypatch.setattr(sign_in, "clock", lambda: now["t"])

    def advance(seconds: float) -> None:
        now["t"] += seconds

    return advance


def attempt(url: str, email: str, password: str, address: str = HOME):
    """One sign-in on a fresh client: the response and whether it signed in."""
    client = Client()
    response = client.post(url, {"username": email, "password": password, "next": "/"}, REMOTE_ADDR=address)
    return response, "_auth_user_id" in client.session


def fail(url: str, email: str, times: int, address: str = HOME) -> None:
    for _ in range(times):
        _, signed_in = attempt(url, email, "wrong-password", address)
        assert not signed_in


def errors_of(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


@pytest.fixture
def staff(world):
    return User.objects.create_superuser(email="staff@techoms.test", password=PASSWORD)


# Per account ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_after_25_wrong_passwords_the_right_one_is_refused(world, staff, clock, url):
    email = staff.email
    fail(url, email, 25)
    response, signed_in = attempt(url, email, PASSWORD)
    assert not signed_in
    assert response.status_code == 200
    assert re.fullmatch(
        r"Too many failed sign-ins for this account; try again in \d+ minutes?\.", errors_of(response)[0]
    )
    assert "Too many failed sign-ins for this account" in response.content.decode()


def test_the_fifth_failure_locks_the_account_and_the_fourth_does_not(world, clock):
    email = world.account_admin.email
    fail(LOGIN, email, sign_in.ACCOUNT_LIMIT - 1)
    assert attempt(LOGIN, email, PASSWORD)[1]
    fail(LOGIN, email, 1)
    assert not attempt(LOGIN, email, PASSWORD)[1]


def test_a_locked_account_is_locked_from_every_address(world, clock):
    email = world.account_admin.email
    fail(LOGIN, email, sign_in.ACCOUNT_LIMIT, address=HOME)
    response, signed_in = attempt(LOGIN, email, PASSWORD, address=ELSEWHERE)
    assert not signed_in
    assert "for this account" in errors_of(response)[0]


def test_another_email_still_signs_in(world, clock):
    fail(LOGIN, world.account_admin.email, 25)
    assert attempt(LOGIN, world.account_user.email, PASSWORD, address=ELSEWHERE)[1]


def test_the_email_is_counted_whatever_its_case(world, clock):
    fail(LOGIN, "ADMIN@Acme-US.test", sign_in.ACCOUNT_LIMIT)
    assert not attempt(LOGIN, world.account_admin.email, PASSWORD, address=ELSEWHERE)[1]


def test_the_wait_shown_is_the_wait_that_holds(world, clock):
    email = world.account_admin.email
    fail(LOGIN, email, sign_in.ACCOUNT_LIMIT)
    response, _ = attempt(LOGIN, email, PASSWORD)
    minutes = int(re.search(r"try again in (\d+) minute", errors_of(response)[0]).group(1))
    assert 1 <= minutes <= 15
    clock(minutes * 60 - 60)
    assert not attempt(LOGIN, email, PASSWORD)[1]
    clock(60)
    assert attempt(LOGIN, email, PASSWORD)[1]


def test_after_the_window_the_right_password_signs_in_again(world, staff, clock):
    fail(ADMIN_LOGIN, staff.email, 25)
    clock(sign_in.WINDOW_SECONDS)
    response, signed_in = attempt(ADMIN_LOGIN, staff.email, PASSWORD)
    assert signed_in and response.status_code == 302


# Per address ------------------------------------------------------------------------------


def strangers(count: int) -> list[str]:
    return [f"nobody{n}@x.test" for n in range(count)]


def test_twenty_failures_from_one_address_lock_that_address(world, clock):
    for email in strangers(sign_in.ADDRESS_LIMIT):
        fail(LOGIN, email, 1)
    response, signed_in = attempt(LOGIN, world.account_user.email, PASSWORD)
    assert not signed_in
    assert re.fullmatch(
        r"Too many failed sign-ins from your network address; try again in \d+ minutes?\.",
        errors_of(response)[0],
    )
    assert attempt(LOGIN, world.account_user.email, PASSWORD, address=ELSEWHERE)[1]


def test_the_admin_login_counts_against_the_same_address(world, staff, clock):
    for email in strangers(sign_in.ADDRESS_LIMIT):
        fail(ADMIN_LOGIN, email, 1)
    assert not attempt(LOGIN, world.account_user.email, PASSWORD)[1]
    assert not attempt(ADMIN_LOGIN, staff.email, PASSWORD)[1]


def test_a_successful_sign_in_does_not_reset_the_address_count(world, clock):
    emails = strangers(sign_in.ADDRESS_LIMIT)
    for email in emails[:-1]:
        fail(LOGIN, email, 1)
    assert attempt(LOGIN, world.account_user.email, PASSWORD)[1]
    fail(LOGIN, emails[-1], 1)
    assert not attempt(LOGIN, world.org_admin.email, PASSWORD)[1]


def test_an_ipv6_client_is_counted_by_its_64(world, clock):
    for n, email in enumerate(strangers(sign_in.ADDRESS_LIMIT)):
        fail(LOGIN, email, 1, address=f"2001:db8:1:2::{n + 1:x}")
    assert not attempt(LOGIN, world.account_user.email, PASSWORD, address="2001:db8:1:2::ffff")[1]
    assert attempt(LOGIN, world.account_user.email, PASSWORD, address="2001:db8:1:3::1")[1]


# The cache down ---------------------------------------------------------------------------


def test_with_the_cache_unreachable_sign_in_works_and_warns(world, settings, clock, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Nothing listens on port 1: every call is refused at once.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    with caplog.at_level(logging.WARNING, logger="accounts.sign_in"):
        fail(LOGIN, world.account_admin.email, 25)
        response, signed_in = attempt(LOGIN, world.account_admin.email, PASSWORD)
    assert signed_in and response.status_code == 302
    assert "Failed sign-in not counted, the cache is unavailable" in caplog.text
    assert "Sign-in throttle not checked, the cache is unavailable" in caplog.text


# Shared by every worker ---------------------------------------------------------------


def post_login(port: int, email: str, password: str) -> tuple[int, str]:
    """A browser's sign-in on connections of its own (either worker may answer each):
    the login page for a CSRF token, then the post."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", LOGIN)
        page = connection.getresponse()
        cookie = page.getheader("Set-Cookie").split(";")[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    finally:
        connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password})
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", LOGIN, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, html.unescape(answer.read().decode())
    finally:
        connection.close()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the shared cache")
@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_count_one_accounts_failures_together(world, tmp_path, settings):
    # The servers know Django's default hashers, not the tests' fast MD5.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    for user in (world.account_admin, world.account_user):
        user.set_password(PASSWORD)
        user.save()
    key_prefix = f"test-{uuid.uuid4().hex}"
    server = Gunicorn(tmp_path, key_prefix)
    try:
        server.start()
        email = world.account_admin.email
        # At once, so both workers answer some (a sync worker serves one request at a
        # time, and each spends a password hash's time on it).
        with ThreadPoolExecutor(sign_in.ACCOUNT_LIMIT) as pool:
            failures = list(
                pool.map(
                    lambda _: post_login(server.port, email, "wrong-password"), range(sign_in.ACCOUNT_LIMIT)
                )
            )
        assert [status for status, _ in failures] == [200] * sign_in.ACCOUNT_LIMIT
        assert not any("Too many failed sign-ins" in page for _, page in failures)
        status, page = post_login(server.port, email, PASSWORD)
        assert status == 200 and "Too many failed sign-ins for this account; try again in" in page
        assert post_login(server.port, world.account_user.email, PASSWORD)[0] == 302
        server.stop()
        # With a single worker answering them all the test would not show that the count
        # is shared.
        posts = [line.split() for line in server.access_log.read_text().splitlines()]
        assert len({pid for pid, status in posts if status in ("200", "302")}) == 2
    finally:
        server.stop()
        # Not clear(): the database is shared with the broker (and other test runs).
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        for key in client.scan_iter(match=f"{key_prefix}:*"):
            client.delete(key)

"""Secrets shown once are never stored in clear: a new API key, a webhook signing secret and
a new person's one-time password wait for their page encrypted in the session, never in
clear in a session row or a cookie (the messages cookie is only signed), and the person
still sees each once."""

import json
import re

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.test import RequestFactory
from django.urls import reverse

from accounts import api_keys, shown_once
from accounts.models import Account, User
from channels import services as channel_services
from channels.models import Channel

pytestmark = pytest.mark.django_db


def stored_in_clear(client) -> str:
    """Everything the server stored for this browser, as someone reading the session table or
    the cookies without the server's key would see it: each session row raw and decoded,
    each cookie raw and, for the messages cookie, its (only signed) messages."""
    parts = []
    for row in Session.objects.all():
        parts += [row.session_data, json.dumps(row.get_decoded(), default=str)]
    for morsel in client.cookies.values():
        parts.append(morsel.value)
        if morsel.key == CookieStorage.cookie_name:
            parts += [str(message) for message in CookieStorage(HttpRequest())._decode(morsel.value) or []]
    return "\n".join(parts)


def secret_box(page: str, testid: str) -> str | None:
    match = re.search(rf'data-testid="{testid}"[^>]*>.*?<code>([^<]+)</code>', page, re.S)
    return match.group(1) if match else None


def test_the_check_would_see_a_secret_in_the_session_or_the_messages_cookie(world, client_for):
    # The helper above is what the tests below rely on: it finds a value left in clear.
    client = client_for(world.account_admin, account=world.acme_us)
    session = client.session
    session["left_in_clear"] = "sekrit-in-session"
    session.save()
    request = HttpRequest()
    storage = CookieStorage(request)
    storage.add(25, "sekrit-in-cookie")
    response = client.get("/")
    storage.update(response)
    client.cookies.update(response.cookies)
    seen = stored_in_clear(client)
    assert "sekrit-in-session" in seen and "sekrit-in-cookie" in seen


def test_a_regenerated_api_key_is_shown_once_and_never_stored_in_clear(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    assert client.post("/account/main/", {"action": "regenerate_key"}).status_code == 302
    stored = stored_in_clear(client)
    key = secret_box(client.get("/account/main/").content.decode(), "new-api-key")
    account = Account.objects.get(pk=world.acme_us.pk)
    assert key is not None and api_keys.key_matches(key, account.api_key_hash)
    assert key not in stored
    assert key not in stored_in_clear(client)
    assert secret_box(client.get("/account/main/").content.decode(), "new-api-key") is None


def test_a_new_accounts_first_key_is_never_stored_in_clear(world, client_for):
    client = client_for(world.org_admin)
    response = client.post(
        f"/organizations/{world.acme.pk}/",
        {"action": "add_account", "name": "Acme CA", "code": "acme-ca", "timezone": "America/Toronto"},
    )
    stored = stored_in_clear(client)
    key = secret_box(client.get(response.url).content.decode(), "new-api-key")
    assert key is not None and api_keys.key_matches(key, Account.objects.get(code="ACME-CA").api_key_hash)
    assert key not in stored


@pytest.fixture
def shop(world):
    return channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Acme Shop", platform="sandbox_marketplace"
    )


def test_a_rotated_webhook_secret_is_shown_once_and_never_stored_in_clear(world, client_for, shop):
    client = client_for(world.account_admin, account=world.acme_us)
    page_url = reverse("channel_detail", args=[shop.pk])
    assert client.post(page_url, {"action": "rotate_secret"}).status_code == 302
    stored = stored_in_clear(client)
    secret = secret_box(client.get(page_url).content.decode(), "webhook-secret")
    assert secret is not None and secret == Channel.objects.get(pk=shop.pk).webhook_secret
    assert secret not in stored
    assert secret_box(client.get(page_url).content.decode(), "webhook-secret") is None


def test_a_new_channels_secret_is_never_stored_in_clear(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    response = client.post(
        "/sales-channels/add/",
        {
            "name": "New Shop",
            "platform": "sandbox_marketplace",
            "buffer_stock": 0,
            "api_key": "k",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    stored = stored_in_clear(client)
    secret = secret_box(client.get(response.url).content.decode(), "webhook-secret")
    assert secret is not None and secret == Channel.objects.get(name="New Shop").webhook_secret
    assert secret not in stored


@pytest.mark.parametrize(
    ("who", "url", "role"),
    [
        ("account_admin", "/account/users/", "account_user"),
        ("org_admin", "/organizations/{org}/", "supervisor"),
    ],
)
def test_a_new_persons_one_time_password_is_shown_once_and_never_stored_in_clear(
    world, client_for, who, url, role
):
    client = client_for(getattr(world, who), account=world.acme_us if "account" in url else None)
    url = url.format(org=world.acme.pk)
    response = client.post(url, {"action": "grant_role", "email": "new@acme.test", "role": role})
    assert response.status_code == 302
    stored = stored_in_clear(client)
    page = client.get(url)
    password = secret_box(page.content.decode(), "one-time-password")
    assert password is not None and User.objects.get(email="new@acme.test").check_password(password)
    assert "their one-time password is shown below, once." in page.content.decode()
    assert password not in stored
    assert secret_box(client.get(url).content.decode(), "one-time-password") is None


# The encrypted wait itself ------------------------------------------------------------------


def request_with_session() -> HttpRequest:
    request = RequestFactory().get("/")
    request.session = SessionStore()
    return request


def test_a_kept_secret_is_taken_once():
    request = request_with_session()
    shown_once.keep(request, "slot", {"password": "p4ss"})
    assert "p4ss" not in json.dumps(dict(request.session))
    assert shown_once.take(request, "slot") == {"password": "p4ss"}
    assert shown_once.take(request, "slot") is None


def test_a_secret_that_waited_too_long_is_not_shown(monkeypatch):
    now = {"t": 1_700_000_000.0}
    monkeypatch.setattr(shown_once, "clock", lambda: now["t"])
    request = request_with_session()
    shown_once.keep(request, "early", "one")
    shown_once.keep(request, "late", "two")
    now["t"] += shown_once.TTL_SECONDS
    assert shown_once.take(request, "early") == "one"
    now["t"] += 1
    assert shown_once.take(request, "late") is None


def test_a_secret_kept_under_another_secret_key_is_not_shown(settings):
    request = request_with_session()
    shown_once.keep(request, "slot", "value")
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY
    assert shown_once.take(request, "slot") is None

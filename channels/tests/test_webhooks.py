"""Inbound webhooks: verification, de-duplication, size limit, and the sandbox sending them."""

import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse

from channels import services
from channels.models import WebhookEvent
from channels.webhooks import signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(world):
    return services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Shop",
        platform="sandbox_marketplace",
        credentials={"api_key": "k"},
    )


def post(client, channel, body: bytes, *, secret=None, sent_at=None, token=None, signed=None):
    """POST a delivery signed as a platform signs it; `sent_at` is the timestamp header's
    text (now by default), `signed` a different signature header."""
    sent_at = str(int(time.time())) if sent_at is None else str(sent_at)
    return client.post(
        reverse("channel_webhook", args=[token or channel.webhook_token]),
        data=body,
        content_type="application/json",
        HTTP_X_TECHOMS_SIGNATURE=signed or signature(secret or channel.webhook_secret, sent_at, body),
        HTTP_X_TECHOMS_TIMESTAMP=sent_at,
    )


def event(event_id="evt-1", topic="orders/create", ids=("1001",)) -> bytes:
    return json.dumps({"id": event_id, "topic": topic, "entity_ids": list(ids)}).encode()


def test_signed_event_is_accepted_and_stored_for_the_engine(client, channel):
    response = post(client, channel, event())
    assert response.status_code == 202
    stored = WebhookEvent.objects.get()
    assert (stored.channel, stored.event_id, stored.topic, stored.entity_ids) == (
        channel,
        "evt-1",
        "orders/create",
        ["1001"],
    )
    assert stored.processed_at is None


def test_wrong_signature_is_refused(client, channel):
    response = post(client, channel, event(), secret="whsec_not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_stale_timestamp_is_refused(client, channel):
    response = post(client, channel, event(), sent_at=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    assert not WebhookEvent.objects.exists()


def test_replayed_event_id_is_refused_and_stored_once(client, channel):
    assert post(client, channel, event()).status_code == 202
    response = post(client, channel, event())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_event"
    assert WebhookEvent.objects.count() == 1


def test_body_over_one_mebibyte_is_refused(client, channel):
    body = json.dumps({"id": "big", "topic": "orders/create", "pad": "x" * (1024 * 1024)}).encode()
    response = post(client, channel, body)
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_unknown_token_is_404(client, channel):
    response = post(client, channel, event(), token="no-such-token")
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_rotated_secret_replaces_the_old_one_at_once(client, channel):
    old = channel.webhook_secret
    new = services.rotate_webhook_secret(None, channel)
    assert post(client, channel, event("a"), secret=old).status_code == 401
    assert post(client, channel, event("b"), secret=new).status_code == 202


def test_body_without_event_id_is_400(client, channel):
    response = post(client, channel, b'{"topic": "orders/create"}')
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_fulfillment_channel_without_webhooks_has_no_endpoint(client, world):
    threepl = services.create_channel(
        None, world.acme_us, kind="fulfillment", name="W", platform="sandbox_3pl"
    )
    assert post(client, threepl, event()).status_code == 404


def test_sandbox_sends_signed_webhooks_the_portal_accepts(live_server, sandbox, settings, eager_celery):
    """A channel registers its URL and secret with the sandbox; a new order there arrives here."""
    from conftest import build_world
    from demo.sandbox.store import MARKETPLACE

    settings.PORTAL_URL = live_server.url
    world = build_world()
    shop = sandbox.store.create_shop("hook", "Hook shop", MARKETPLACE, ["MAIN"])
    sandbox.store.upsert_products(sandbox.store.shop("hook"), [{"sku": "A", "title": "A"}])
    channel = services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Hooked",
        platform="sandbox_marketplace",
        credentials={"api_key": shop["api_key"]},
    )
    assert sandbox.store.shop("hook")["webhook"]["url"].endswith(f"/webhooks/{channel.webhook_token}/")
    client_order = {"lines": [{"sku": "A", "quantity": 1}], "customer": {"name": "N"}}
    from channels.connectors import connector_for

    connector_for(channel).http.post("/api/orders", client_order)
    assert sandbox.deliveries == [
        {"topic": "orders/create", "url": sandbox.store.shop("hook")["webhook"]["url"], "status": 202}
    ]
    stored = WebhookEvent.objects.get(channel=channel)
    assert stored.topic == "orders/create"


# The signature covers the timestamp ------------------------------------------------------


def test_signature_of_the_body_alone_is_refused(client, channel):
    body = event()
    body_only = "sha256=" + hmac.new(channel.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    response = post(client, channel, body, signed=body_only)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_a_captured_delivery_sent_again_under_a_fresh_timestamp_is_refused(client, channel):
    body = event()
    earlier = str(int(time.time()) - 200)
    captured = signature(channel.webhook_secret, earlier, body)
    assert post(client, channel, body, sent_at=earlier, signed=captured).status_code == 202
    WebhookEvent.objects.all().delete()
    response = post(client, channel, body, signed=captured)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_the_documented_scheme_signs_timestamp_dot_body(channel):
    body = b'{"id": "e"}'
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_abc", "1700000000", body) == f"sha256={expected}"


# The timestamp is parsed safely before anything else --------------------------------------


@pytest.mark.parametrize(
    ("sent_at", "code"),
    [
        ("", "missing_timestamp"),
        ("soon", "missing_timestamp"),
        ("1e999", "missing_timestamp"),
        ("-1", "missing_timestamp"),
        ("1700000000.5", "missing_timestamp"),
        ("１７００００００００", "missing_timestamp"),  # full-width digits: str.isdigit() says yes
        ("²", "missing_timestamp"),
        ("1" + "0" * 400, "stale_timestamp"),  # 10^400
        ("9" * 5000, "stale_timestamp"),  # past int()'s 4,300-digit limit
        ("0", "stale_timestamp"),
    ],
)
def test_unusable_timestamps_are_refused_before_the_body_or_the_channel_is_read(
    client, channel, sent_at, code, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = post(client, channel, event(), sent_at=sent_at)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert not WebhookEvent.objects.exists()


def test_a_timestamp_ahead_within_the_tolerance_is_accepted(client, channel):
    assert post(client, channel, event(), sent_at=int(time.time()) + 200).status_code == 202


# Bodies the parser cannot walk ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": ' + b"[" * 900 + b"]" * 900 + b', "topic": "orders/create"}',
        b'{"id": "deep", "topic": "orders/create", "entity_ids": ' + b"[" * 40 + b"]" * 40 + b"}",
    ],
    ids=["100k-nested-lists", "900-deep-id", "40-deep-entity-ids"],
)
def test_deeply_nested_json_is_400(client, channel, body):
    response = post(client, channel, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    assert not WebhookEvent.objects.exists()


def test_nul_in_the_event_is_400(client, channel):
    response = post(client, channel, event(event_id="evt\x00-1"))
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()

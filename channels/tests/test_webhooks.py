"""Inbound webhooks: verification, de-duplication, size limit, and the sandbox sending them."""

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


def post(client, channel, body: bytes, *, secret=None, sent_at=None, token=None):
    return client.post(
        reverse("channel_webhook", args=[token or channel.webhook_token]),
        data=body,
        content_type="application/json",
        HTTP_X_TECHOMS_SIGNATURE=signature(secret or channel.webhook_secret, body),
        HTTP_X_TECHOMS_TIMESTAMP=str(int(sent_at if sent_at is not None else time.time())),
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
    response = post(client, channel, event(), sent_at=time.time() - 301)
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

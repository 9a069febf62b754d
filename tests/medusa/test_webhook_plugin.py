"""Our Medusa plugin (peers/medusa/plugin) against the portal's real webhook endpoint:
what the plugin signs, the portal accepts; what the portal refuses, the plugin does not
retry. Needs Node only (no Medusa, no PostgreSQL): the plugin's delivery code runs in a
`node` process of its own, as it runs inside Medusa."""

import json
import shutil
import subprocess
import time

import pytest
from django.urls import reverse

from channels import services
from channels.models import WebhookEvent
from tests.medusa.peer import PEER_DIR

PLUGIN = PEER_DIR / "plugin"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="the plugin runs on Node.js")

# Sends one event through the plugin's own code and prints its outcome. The event body
# is given (argv) so that the same event can be delivered twice.
SEND = """
const { send } = require(process.argv[1])
const [url, secret, body] = process.argv.slice(2)
send({ url, secret }, body, { backoffMs: [0, 0, 0, 0], logger: { warn() {}, error() {} } })
  .then((result) => console.log(JSON.stringify(result)))
"""


def deliver(url: str, secret: str, body: str) -> dict:
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["node", "-e", SEND, str(PLUGIN), url, secret, body],  # noqa: S607 - node from PATH
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture
def medusa_channel(transactional_db):
    from conftest import build_world

    world = build_world()
    return services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Medusa store",
        platform="medusa",
        credentials={"base_url": "http://127.0.0.1:9", "api_key": "sk_test"},
    )


@needs_node
def test_the_plugins_own_tests_pass():
    done = subprocess.run(
        ["node", "--test", "test/"],  # noqa: S607 - node from PATH
        cwd=PLUGIN,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout


@needs_node
def test_a_plugin_delivery_is_accepted_once_by_the_portal(live_server, medusa_channel):
    url = live_server.url + reverse("channel_webhook", args=[medusa_channel.webhook_token])
    body = json.dumps(
        {
            "id": "evt-1",
            "topic": "order.placed",
            "entity_ids": ["order_01"],
            "occurred_at": "2026-12-04T18:00:00.000Z",
        }
    )

    assert deliver(url, medusa_channel.webhook_secret, body) == {
        "outcome": "delivered",
        "attempts": 1,
        "status": 202,
    }
    # Sent again (a retry whose first answer was lost): 409, which the plugin counts as delivered.
    assert deliver(url, medusa_channel.webhook_secret, body)["status"] == 409

    stored = WebhookEvent.objects.get(channel=medusa_channel)
    assert (stored.event_id, stored.topic, stored.entity_ids) == ("evt-1", "order.placed", ["order_01"])


@needs_node
def test_a_delivery_signed_with_another_secret_is_refused_and_not_retried(live_server, medusa_channel):
    url = live_server.url + reverse("channel_webhook", args=[medusa_channel.webhook_token])
    body = json.dumps({"id": "evt-2", "topic": "order.placed", "entity_ids": ["order_02"]})

    assert deliver(url, "whsec_not_this_channels", body) == {
        "outcome": "failed",
        "attempts": 1,
        "status": 401,
    }
    assert not WebhookEvent.objects.exists()


def events_about(channel, entity_id: str, topic: str, timeout: float = 30.0) -> list[WebhookEvent]:
    """The channel's stored events of `topic` about `entity_id`, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            e for e in WebhookEvent.objects.filter(channel=channel, topic=topic) if entity_id in e.entity_ids
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_medusa_order_placed_and_cancelled_reaches_the_portal_signed(
    live_server, medusa_channel, medusa_webhooks, medusa_admin
):
    medusa_webhooks(
        live_server.url + reverse("channel_webhook", args=[medusa_channel.webhook_token]),
        medusa_channel.webhook_secret,
    )

    order = medusa_admin.create_order({"MUG-12OZ": 1})
    assert len(events_about(medusa_channel, order["id"], "order.placed")) == 1

    medusa_admin.cancel_order(order["id"])
    assert len(events_about(medusa_channel, order["id"], "order.canceled")) == 1


def test_no_event_is_sent_once_the_target_is_removed(live_server, medusa_channel, medusa_peer, medusa_admin):
    medusa_peer.stop_webhooks()
    logged = len(medusa_peer.log.read_text())

    order = medusa_admin.create_order({"CAP-NAVY": 1})

    # The plugin logs that it sent nothing; the log is read rather than waiting on silence.
    unsent = f"techOMS webhook for order.placed {order['id']} not sent"
    deadline = time.monotonic() + 30
    while unsent not in medusa_peer.log.read_text()[logged:]:
        assert time.monotonic() < deadline, "the plugin did not handle order.placed"
        time.sleep(0.2)
    assert not events_about(medusa_channel, order["id"], "order.placed", timeout=0)

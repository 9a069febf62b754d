"""The README's Medusa walk-through against a real Medusa: `add_medusa_channel` adds the
store, Test connection reaches it, an order placed there is announced by our plugin, arms
the channel's Webhook-mode Import Orders, and is imported with its lines."""

import io
import json
import time
from datetime import timedelta

from django.core.management import call_command

from automations.jobs.runner import run_job
from automations.models import JobRun, ScheduleEntry, ScheduleKind, row_key
from channels.models import Channel, WebhookEvent
from orders.models import SalesOrder


def test_the_readme_walk_through_brings_a_medusa_order_into_the_demo(
    live_server, transactional_db, medusa_peer, medusa_admin, tmp_path, settings
):
    settings.PORTAL_URL = live_server.url
    peer_file = tmp_path / "medusa.json"
    peer_file.write_text(
        json.dumps(
            {
                "base_url": medusa_peer.base_url,
                "api_key": medusa_peer.api_key,
                "stock_locations": medusa_peer.stock_locations,
                "webhook_config": str(medusa_peer.webhook_config),
            }
        )
    )
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    try:
        call_command("add_medusa_channel", "--peer", str(peer_file), stdout=out)
        assert "Test connection: Connected to Medusa" in out.getvalue()
        channel = Channel.objects.get(account__code="ACME-US", name="Acme Medusa Store")

        placed = medusa_admin.create_order({"TSHIRT-BLK-M": 2, "MUG-12OZ": 1}, email="shopper@example.com")

        deadline = time.monotonic() + 30
        while not any(placed["id"] in e.entity_ids for e in WebhookEvent.objects.filter(channel=channel)):
            assert time.monotonic() < deadline, "the plugin's order.placed did not arrive"
            time.sleep(0.2)
    finally:
        medusa_peer.stop_webhooks()

    # Webhook mode: the event armed Import Orders for a minute after it arrived.
    event = next(e for e in WebhookEvent.objects.filter(channel=channel) if placed["id"] in e.entity_ids)
    # The endpoint arms the job once the event's row committed (a receiver on commit, in
    # the live server's thread): wait for it rather than read in between.
    key = row_key(ScheduleKind.WEBHOOK, channel.pk, "import_orders")
    deadline = time.monotonic() + 30
    while (armed := ScheduleEntry.objects.get(key=key)).next_run_at is None:
        assert time.monotonic() < deadline, "the webhook job was not armed"
        time.sleep(0.2)
    assert armed.next_run_at == event.received_at + timedelta(minutes=1)

    run_job(
        JobRun.objects.create(
            account=channel.account, channel=channel, job_type="import_orders", trigger="manual"
        )
    )
    order = SalesOrder.objects.get(channel=channel, external_id=placed["id"])
    assert sorted((line.sku, line.quantity) for line in order.lines.all()) == [
        ("MUG-12OZ", 1),
        ("TSHIRT-BLK-M", 2),
    ]

"""The Medusa connector end to end: a real Medusa 2.21.2 (tests/medusa/conftest.py) and
the portal's own job code (run_job, the dispatcher, the webhook endpoint on a live server).

The store is shared by the session's tests: each creates the orders and products it needs
and looks only at those.
"""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services.account_settings import update_account_settings
from automations import services as automation_services
from automations.dispatcher import dispatch_due
from automations.jobs.runner import run_job
from automations.models import JobRun, Mode, RunStatus, ScheduleEntry, ScheduleKind, Trigger
from automations.reconciler import reconcile_account
from automations.tasks import execute_run
from catalog.models import AdjustmentSource, Product
from catalog.services import LedgerContext, set_on_hand
from channels import services
from channels.models import WebhookEvent
from channels.platforms import JobType
from orders.models import SalesOrder, SalesOrderStatus
from orders.services import record_shipment

LEDGER = LedgerContext(reason="cycle_count", source=AdjustmentSource.MANUAL)
# The seeded catalogue's prices in the portal (the store's own are read back by Medusa).
PRICE = Decimal("10.00")


def make_channel(world, peer, platform="medusa", api_key=None):
    channel = services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name=f"Medusa {platform}",
        platform=platform,
        credentials={"base_url": peer.base_url, "api_key": api_key or peer.api_key},
    )
    warehouses = (world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"])
    for location, warehouse in zip(sorted(peer.stock_locations), warehouses, strict=True):
        services.add_mapping(None, channel, peer.stock_locations[location], warehouse.pk)
    for sku in peer.skus:
        Product.objects.get_or_create(account=world.acme_us, sku=sku, defaults={"name": sku, "price": PRICE})
    return channel


@pytest.fixture
def shop(world, medusa_peer):
    """A stable Medusa channel of ACME-US: Newark DC ↔ DC 1, Reno DC ↔ DC 2."""
    return make_channel(world, medusa_peer)


def run(channel, job_type, trigger=Trigger.MANUAL) -> JobRun:
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=trigger
    )
    return run_job(job_run)


def stored(channel, medusa_order) -> SalesOrder:
    return SalesOrder.objects.get(channel=channel, external_id=medusa_order["id"])


@pytest.mark.django_db
def test_orders_placed_in_medusa_are_imported_once_with_lines_customer_and_address(shop, medusa_admin):
    placed = medusa_admin.create_order({"MUG-12OZ": 2, "CAP-NAVY": 1}, email="grace@example.com")
    first = run(shop, JobType.IMPORT_ORDERS)
    assert first.status in (RunStatus.SUCCESS, RunStatus.PARTIAL), first.messages
    order = stored(shop, placed)
    medusa = medusa_admin.order(placed["id"])
    assert order.number == str(medusa["display_id"])
    assert sorted((li.sku, li.quantity, li.unit_price) for li in order.lines.all()) == sorted(
        (i["variant_sku"], i["quantity"], Decimal(str(i["unit_price"]))) for i in medusa["items"]
    )
    address = medusa["shipping_address"]
    assert order.customer_email == "grace@example.com"
    assert order.customer_name == f"{address['first_name']} {address['last_name']}"
    assert (
        order.ship_address1,
        order.ship_city,
        order.ship_region,
        order.ship_postal_code,
        order.ship_country,
    ) == (
        address["address_1"],
        address["city"],
        address["province"],
        address["postal_code"],
        address["country_code"].upper(),
    )

    second = run(shop, JobType.IMPORT_ORDERS)
    assert second.counts.get("imported", 0) == 0
    assert SalesOrder.objects.filter(channel=shop, external_id=placed["id"]).count() == 1


@pytest.mark.django_db
def test_an_order_cancelled_in_medusa_is_cancelled_here(shop, medusa_admin):
    placed = medusa_admin.create_order({"TSHIRT-BLK-M": 1})
    run(shop, JobType.IMPORT_ORDERS)
    assert stored(shop, placed).status != SalesOrderStatus.CANCELLED
    medusa_admin.cancel_order(placed["id"])
    after = run(shop, JobType.IMPORT_ORDERS)
    assert after.counts.get("cancelled") == 1, after.messages
    order = stored(shop, placed)
    assert order.status == SalesOrderStatus.CANCELLED
    assert order.events.filter(detail__icontains="cancelled in").exists()


@pytest.mark.django_db
def test_stock_is_exported_per_mapped_location_and_medusa_offers_exactly_it(
    shop, world, medusa_peer, medusa_admin
):
    services.update_channel(None, shop, {"buffer_stock": 1})
    # Every SKU of the shared store keeps stock to sell for the other tests' orders.
    for product in Product.objects.filter(account=world.acme_us, sku__in=medusa_peer.skus):
        for warehouse in (world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]):
            set_on_hand(product, warehouse, 100, LEDGER)
    mug = Product.objects.get(account=world.acme_us, sku="MUG-12OZ")
    set_on_hand(mug, world.warehouses["ACME-US-1"], 17, LEDGER)
    set_on_hand(mug, world.warehouses["ACME-US-2"], 4, LEDGER)
    # Medusa holds 2 units of it reserved at the first location for an order of its own.
    item = medusa_admin.get("/admin/inventory-items", sku="MUG-12OZ", fields="id")["inventory_items"][0]
    first, second = (medusa_peer.stock_locations[name] for name in sorted(medusa_peer.stock_locations))
    medusa_admin.post(
        "/admin/reservations", {"inventory_item_id": item["id"], "location_id": first, "quantity": 2}
    )

    export = run(shop, JobType.EXPORT_INVENTORY)
    assert export.status == RunStatus.SUCCESS, export.messages
    stock = medusa_admin.stock("MUG-12OZ")
    offered = {location: level["stocked"] - level["reserved"] for location, level in stock.items()}
    assert offered == {first: 17 - 1, second: 4 - 1}
    assert stock[first]["reserved"] >= 2

    again = run(shop, JobType.EXPORT_INVENTORY)
    assert again.counts.get("updated", 0) == 0 and again.counts.get("unchanged", 0) >= 2


@pytest.mark.django_db
def test_tracking_is_exported_once_and_shown_on_the_order_in_medusa(shop, world, medusa_admin):
    placed = medusa_admin.create_order({"BOTTLE-750": 2})
    run(shop, JobType.IMPORT_ORDERS)
    order = stored(shop, placed)
    tracking = f"1Z{uuid.uuid4().hex[:16].upper()}"
    record_shipment(
        order,
        world.warehouses["ACME-US-1"],
        [("BOTTLE-750", 2)],
        LEDGER,
        carrier_code="UPS",
        service_code="03",
        tracking_number=tracking,
        shipped_at=timezone.now(),
    )
    first = run(shop, JobType.EXPORT_TRACKING)
    assert first.counts == {"exported": 1}, first.messages
    fulfilments = medusa_admin.fulfillments(placed["id"])
    assert len(fulfilments) == 1
    assert [label["tracking_number"] for label in fulfilments[0]["labels"]] == [tracking]
    assert fulfilments[0]["shipped_at"]
    assert fulfilments[0]["metadata"]["carrier_code"] == "UPS"

    # The portal forgets it exported (as if the run died before recording it): the next
    # run finds the fulfilment by its reference and adds none.
    order.shipments.update(tracking_exported_at=None)
    again = run(shop, JobType.EXPORT_TRACKING)
    assert again.counts == {"already_known": 1}, again.messages
    assert len(medusa_admin.fulfillments(placed["id"])) == 1


@pytest.mark.django_db
def test_products_are_exported_to_medusa(shop, world, medusa_admin):
    sku = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    Product.objects.create(account=world.acme_us, sku=sku, name="End to end tote", price=Decimal("15.50"))
    exported = run(shop, JobType.EXPORT_PRODUCTS)
    assert exported.counts.get("created") == 1, exported.messages
    variants = medusa_admin.get("/admin/product-variants", sku=sku, fields="id,sku,title,*prices")["variants"]
    assert [v["sku"] for v in variants] == [sku]
    assert [Decimal(str(p["amount"])) for p in variants[0]["prices"]] == [Decimal("15.50")]
    again = run(shop, JobType.EXPORT_PRODUCTS)
    assert again.counts.get("created", 0) == 0 and again.counts.get("updated", 0) == 0


@pytest.mark.django_db
def test_products_are_imported_from_medusa_as_master_and_their_changes_follow(shop, world, medusa_admin):
    update_account_settings(
        world.org_admin,
        world.acme_us,
        {"master_product_source": "sales", "master_product_channel": shop.pk},
        None,
        confirm=True,
    )
    sku = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    medusa_admin.post(
        "/admin/products",
        {
            "title": "Made in Medusa",
            "options": [{"title": "Default", "values": ["Default"]}],
            "variants": [
                {
                    "title": "Made in Medusa",
                    "sku": sku,
                    "options": {"Default": "Default"},
                    "weight": 300,
                    "prices": [{"currency_code": "usd", "amount": 12}],
                }
            ],
        },
    )
    first = run(shop, JobType.IMPORT_PRODUCTS)
    assert first.status in (RunStatus.SUCCESS, RunStatus.PARTIAL), first.messages
    product = Product.objects.get(account=world.acme_us, sku=sku)
    assert (product.name, product.price, product.weight_g) == (
        "Made in Medusa",
        Decimal("12"),
        Decimal("300"),
    )

    variant = medusa_admin.get("/admin/product-variants", sku=sku, fields="id,product_id,*prices")[
        "variants"
    ][0]
    medusa_admin.post(
        f"/admin/products/{variant['product_id']}/variants/{variant['id']}",
        {"prices": [{"id": variant["prices"][0]["id"], "currency_code": "usd", "amount": 21}]},
    )
    run(shop, JobType.IMPORT_PRODUCTS)
    product.refresh_from_db()
    assert product.price == Decimal("21")


@pytest.mark.django_db
def test_test_connection_with_a_bad_key_says_the_key_was_refused(world, medusa_peer):
    good = make_channel(world, medusa_peer)
    ok, message = services.test_connection(None, good)
    assert ok and all(location in message for location in medusa_peer.stock_locations.values())
    bad = services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Medusa, wrong key",
        platform="medusa",
        credentials={"base_url": medusa_peer.base_url, "api_key": "sk_" + "0" * 64},
    )
    ok, message = services.test_connection(None, bad)
    assert not ok
    assert "refused the secret API key" in message


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_plugin_webhooks_within_the_delay_is_one_import(
    world, medusa_peer, medusa_admin, medusa_webhooks, live_server
):
    channel = make_channel(world, medusa_peer, platform="medusa_beta")
    automation_services.save_channel_automation(
        None, channel, Mode.WEBHOOK, {"import_orders": {"enabled": True, "webhook_delay_minutes": 5}}, None
    )
    reconcile_account(world.acme_us.pk)
    medusa_webhooks(
        live_server.url + reverse("channel_webhook", args=[channel.webhook_token]), channel.webhook_secret
    )
    placed = [medusa_admin.create_order({"CAP-NAVY": 1}, email=f"burst{n}@example.com") for n in range(3)]
    wanted = {order["id"] for order in placed}

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        named = {
            i
            for ids in WebhookEvent.objects.filter(channel=channel).values_list("entity_ids", flat=True)
            for i in ids
        }
        if wanted <= named:
            break
        time.sleep(0.2)
    assert wanted <= named, "the plugin's order.placed events did not all arrive"
    # Each event arms the job once its row committed (on commit, in the live server's
    # thread): wait for the arming rather than read in between.
    while (row := ScheduleEntry.objects.get(kind=ScheduleKind.WEBHOOK, channel=channel)).next_run_at is None:
        assert time.monotonic() < deadline + 30, "the webhook job was not armed"
        time.sleep(0.2)
    first = WebhookEvent.objects.filter(channel=channel).order_by("received_at").first().received_at
    assert row.next_run_at >= first

    def publish(messages):
        for message in messages:
            execute_run(message.run_id, message.ids)

    assert dispatch_due(row.next_run_at - timedelta(seconds=1), publish=publish) == 0
    assert dispatch_due(row.next_run_at, publish=publish) == 1
    runs = list(JobRun.objects.filter(channel=channel))
    assert len(runs) == 1 and runs[0].trigger == Trigger.WEBHOOK
    # The shared store's late events of earlier tests (an order updated, cancelled) may
    # ride along: the one run takes every waiting event, ours among them.
    assert runs[0].status == RunStatus.SUCCESS and runs[0].counts.get("imported", 0) >= 3, runs[0].messages
    stored_ids = list(SalesOrder.objects.filter(channel=channel).values_list("external_id", flat=True))
    assert wanted <= set(stored_ids) and len(stored_ids) == len(set(stored_ids))
    placed_events = [
        e
        for e in WebhookEvent.objects.filter(channel=channel, topic="order.placed")
        if set(e.entity_ids) & wanted
    ]
    assert len(placed_events) == 3 and {e.job_run_id for e in placed_events} == {runs[0].pk}


@pytest.mark.django_db(transaction=True)
def test_webhooks_that_never_come_are_made_up_by_the_emergency_full_sync(world, medusa_peer, medusa_admin):
    # Webhook mode, but the plugin was never given the channel's address: no event comes.
    channel = make_channel(world, medusa_peer, platform="medusa_beta")
    automation_services.save_channel_automation(
        None,
        channel,
        Mode.WEBHOOK,
        {"import_orders": {"enabled": True, "webhook_delay_minutes": 1, "emergency_period_minutes": 15}},
        None,
    )
    reconcile_account(world.acme_us.pk, now=timezone.now())
    placed = medusa_admin.create_order({"TSHIRT-WHT-M": 2}, email="unheard@example.com")
    due = ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY, channel=channel).next_run_at

    def publish(messages):
        for message in messages:
            execute_run(message.run_id, message.ids)

    assert dispatch_due(due, publish=publish) == 1
    emergency = JobRun.objects.get(channel=channel, trigger=Trigger.EMERGENCY)
    assert emergency.status != RunStatus.FAILED, emergency.messages
    assert emergency.messages[0].startswith("Full synchronization: the webhook job had no successful run")
    order = stored(channel, placed)
    assert order.customer_email == "unheard@example.com"
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TSHIRT-WHT-M", 2)]
    # The full sync read from the start (no cursor yet) and kept its position: the next
    # one reads only what changed since, and stores nothing twice.
    assert SalesOrder.objects.filter(channel=channel, external_id=placed["id"]).count() == 1
    assert channel.sync_cursors.get(job_type=JobType.IMPORT_ORDERS).position


@pytest.mark.django_db
def test_a_stock_change_is_pushed_to_its_medusa_location_in_real_time(
    shop, world, medusa_peer, medusa_admin, monkeypatch, django_capture_on_commit_callbacks
):
    from accounts.models import Account
    from automations import tasks
    from automations.jobs.push import push_channel
    from catalog.services import adjust_inventory

    Account.objects.filter(pk=world.acme_us.pk).update(inventory_realtime_updates=True)
    services.update_channel(None, shop, {"buffer_stock": 2})
    # The push task is recorded instead of sent: the test plays the worker.
    due = []
    monkeypatch.setattr(tasks.push_inventory, "apply_async", lambda args, countdown: due.append(args))
    # Every SKU of the shared store keeps stock to sell for the other tests' orders.
    for product in Product.objects.filter(account=world.acme_us, sku__in=medusa_peer.skus):
        for warehouse in (world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]):
            set_on_hand(product, warehouse, 100, LEDGER)
    cap = Product.objects.get(account=world.acme_us, sku="CAP-NAVY")
    reno = world.warehouses["ACME-US-2"]
    set_on_hand(cap, reno, 30, LEDGER)
    run(shop, JobType.EXPORT_INVENTORY)  # Medusa starts from the portal's stock
    due.clear()

    with django_capture_on_commit_callbacks(execute=True):
        adjust_inventory(cap, reno, 9, LEDGER)
    assert [list(args) for args in due] == [[shop.pk]]
    pushed = push_channel(shop.pk)
    assert pushed.status == RunStatus.SUCCESS, pushed.messages
    location = medusa_peer.stock_locations[sorted(medusa_peer.stock_locations)[1]]
    level = medusa_admin.stock("CAP-NAVY")[location]
    # 39 on hand, 2 held back as buffer stock: Medusa offers 37 at Reno's location.
    assert level["stocked"] - level["reserved"] == 37

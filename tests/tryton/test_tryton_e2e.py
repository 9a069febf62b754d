"""End to end against a real Tryton (the project's peer, tests/tryton/conftest.py): the
portal's own job code (orders services and workflows, automations.jobs through run_job)
drives the Tryton connector over HTTP, and `tryton_warehouse` plays the warehouse.

The Tryton database is shared by the whole session: every test sends documents of its
own references (ids_from below moves the portal's order numbering past the earlier
tests') and compares quantities before and after instead of assuming the seed's.
"""

import itertools
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Account, MasterProductSource
from accounts.services.account_settings import update_account_settings
from automations.jobs.fulfillment_out import _fulfillment_request
from automations.jobs.runner import run_job
from automations.models import JobRun, RunStatus, Trigger
from catalog.models import InventoryLevel, Product
from catalog.preflight import master_source_preflight
from channels import services
from channels.connectors import connector_for
from channels.platforms import JobType
from channels.selectors import product_job_allowed, sync_cursor
from orders import workflow
from orders.models import PurchaseOrder, SalesOrder
from orders.services import create_purchase_order, create_sales_order

pytestmark = pytest.mark.django_db(transaction=False)

SKUS = ("TSHIRT-BLK-M", "TSHIRT-WHT-M", "MUG-12OZ", "CAP-NAVY", "BOTTLE-750", "LAMP-DESK")
ADDRESS = {
    "customer_name": "Grace Hopper",
    "customer_email": "grace@example.com",
    "ship_address1": "1 Navy Yard",
    "ship_city": "Arlington",
    "ship_region": "VA",
    "ship_postal_code": "22202",
    "ship_country": "US",
}
# Each test's documents are numbered from its own block, above the previous tests'.
_blocks = itertools.count(1)


def ids_from(*models) -> None:
    """Move the id sequence of `models` to a block of this test's own: on SQLite the
    rolled-back test transaction also rolls the sequence back, and SO-1 of one test would
    otherwise be SO-1 of the next, already a shipment in the shared Tryton."""
    start = 10_000 * next(_blocks) + 100_000 * (connection.vendor == "postgresql")
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "postgresql":
                # The sequence's name comes from Django's own table name, not from input.
                next_id = f"GREATEST(%s, (SELECT COALESCE(MAX(id), 1) FROM {table}))"  # noqa: S608
                cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), {next_id})", [table, start])
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start])


def run(channel, job_type) -> JobRun:
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    return run_job(job_run)


@pytest.fixture
def tryton(world, tryton_peer):
    """ACME-US with a Tryton fulfillment channel: WH1 ↔ MAIN, WH2 ↔ EAST, the seed's
    products, and the portal's stock imported from Tryton."""
    ids_from(SalesOrder, PurchaseOrder)
    account = world.acme_us
    channel = services.create_channel(
        None,
        account,
        kind="fulfillment",
        name="Tryton",
        platform="tryton",
        credentials=tryton_peer.credentials,
    )
    wh1, wh2 = world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]
    services.add_mapping(None, channel, "MAIN", wh1.pk)
    services.add_mapping(None, channel, "EAST", wh2.pk)
    for sku in SKUS:
        Product.objects.create(account=account, sku=sku, name=sku.title())
    result = run(channel, JobType.IMPORT_INVENTORY)
    assert result.status == RunStatus.SUCCESS, result.messages
    # The shared Tryton has the earlier tests' shipments: the first reads set the cursors
    # past them (naming orders this account does not have), as a new channel's would.
    run(channel, JobType.RECEIVE_SHIPMENTS)
    run(channel, JobType.RECEIVE_RECEIPTS)
    return channel


def received(result, count: int) -> None:
    """The run recorded `count` documents; anything else it read (within the cursor's
    overlap) is the earlier tests', unknown here."""
    assert result.status in (RunStatus.SUCCESS, RunStatus.PARTIAL), result.messages
    assert result.counts.get("received", 0) == count, (result.counts, result.messages)
    assert all("names no" in m for m in result.messages), result.messages


def on_hand(account, sku, warehouse) -> int:
    level = InventoryLevel.objects.filter(
        product__account=account, product__sku=sku, warehouse=warehouse
    ).first()
    return level.on_hand if level else 0


def shipments_of(tryton_rpc, model, reference) -> list[dict]:
    return tryton_rpc.search_read(model, [("reference", "=", reference)], ["state"])


def send_order(world, tryton, capture, lines, **extra) -> SalesOrder:
    Account.objects.filter(pk=world.acme_us.pk).update(auto_sales_order_workflow=True)
    data = {"number": f"T-{SalesOrder.objects.count() + 1}", **ADDRESS, "lines": lines, **extra}
    with capture(execute=True):
        order = create_sales_order(Account.objects.get(pk=world.acme_us.pk), data, source="manual")
    order.refresh_from_db()
    assert (order.status, order.fulfillment_channel) == ("sent", tryton), order.hold_reason
    return order


def test_an_order_is_sent_once_shipped_in_tryton_and_received_with_its_tracking(
    world, tryton, tryton_rpc, tryton_warehouse, eager_celery, django_capture_on_commit_callbacks
):
    account, wh1 = world.acme_us, world.warehouses["ACME-US-1"]
    before_here = on_hand(account, "MUG-12OZ", wh1)
    before_there = tryton_warehouse.quantities("Main", ["MUG-12OZ"])["MUG-12OZ"]
    assert before_here == before_there > 3  # Import Inventory made them agree

    order = send_order(
        world,
        tryton,
        django_capture_on_commit_callbacks,
        [{"sku": "MUG-12OZ", "quantity": 3}, {"sku": "CAP-NAVY", "quantity": 1}],
        carrier_code="UPS",
        service_code="03",
    )
    (shipment,) = shipments_of(tryton_rpc, "stock.shipment.out", order.reference)
    assert (str(shipment["id"]), shipment["state"]) == (order.fulfillment_external_id, "waiting")

    # A second run and a retry of the same request add nothing in Tryton.
    again = run(tryton, JobType.SEND_ORDERS)
    assert again.status == RunStatus.SUCCESS and "sent" not in again.counts
    retry = connector_for(tryton).send_orders([_fulfillment_request(order, "MAIN", list(order.lines.all()))])
    assert [(o.result, o.external_id) for o in retry.outcomes] == [("unchanged", str(shipment["id"]))]
    assert len(shipments_of(tryton_rpc, "stock.shipment.out", order.reference)) == 1

    tryton_warehouse.ship([shipment["id"]], carrier="UPS", tracking=f"1ZE2E{order.pk}")
    received(run(tryton, JobType.RECEIVE_SHIPMENTS), 1)
    order.refresh_from_db()
    assert order.status == "shipped"
    recorded = order.shipments.get()
    assert (recorded.tracking_number, recorded.carrier_code, recorded.service_code) == (
        f"1ZE2E{order.pk}",
        "UPS",
        "03",
    )
    assert sorted((li.sku, li.quantity) for li in recorded.lines.all()) == [("CAP-NAVY", 1), ("MUG-12OZ", 3)]

    # The stock followed on both sides, and Import Inventory finds them agreeing.
    after_there = tryton_warehouse.quantities("Main", ["MUG-12OZ"])["MUG-12OZ"]
    assert after_there == before_there - 3
    assert on_hand(account, "MUG-12OZ", wh1) == before_here - 3
    assert InventoryLevel.objects.get(product__sku="MUG-12OZ", warehouse=wh1).reserved == 0
    run(tryton, JobType.IMPORT_INVENTORY)
    assert on_hand(account, "MUG-12OZ", wh1) == after_there

    # The cursor was kept: the next read finds nothing new to record.
    received(run(tryton, JobType.RECEIVE_SHIPMENTS), 0)


def test_a_shipment_picked_short_comes_back_partial(
    world, tryton, tryton_rpc, tryton_warehouse, eager_celery, django_capture_on_commit_callbacks
):
    order = send_order(
        world, tryton, django_capture_on_commit_callbacks, [{"sku": "TSHIRT-WHT-M", "quantity": 3}]
    )
    shipment = int(order.fulfillment_external_id)
    (waiting,) = tryton_rpc.read("stock.shipment.out", [shipment], ["inventory_moves"])
    tryton_rpc.write("stock.move", waiting["inventory_moves"], {"quantity": 2.0})
    tryton_warehouse.ship([shipment], carrier="DHL", tracking=f"JD{order.pk}")
    received(run(tryton, JobType.RECEIVE_SHIPMENTS), 1)
    order.refresh_from_db()
    assert order.status == "partially_shipped"
    assert [(li.sku, li.quantity) for li in order.shipments.get().lines.all()] == [("TSHIRT-WHT-M", 2)]


def test_a_shipment_that_cannot_be_recorded_stops_the_run_before_the_cursor_and_a_rerun_adds_the_rest(
    world, tryton, tryton_rpc, tryton_warehouse, eager_celery, django_capture_on_commit_callbacks
):
    """Three shipments of one page, recorded in one batch: the second cannot be stored (its
    stock level would leave its range), so the batch is recorded one by one, the first is
    kept, the run fails at the second and keeps the cursor where it was; fixed, a rerun
    records the other two, none twice."""
    wh1 = world.warehouses["ACME-US-1"]
    orders = [
        send_order(world, tryton, django_capture_on_commit_callbacks, [{"sku": sku, "quantity": 1}])
        for sku in ("MUG-12OZ", "BOTTLE-750", "CAP-NAVY")
    ]
    tryton_warehouse.ship([int(o.fulfillment_external_id) for o in orders], carrier="UPS", tracking="1ZBATCH")
    level = InventoryLevel.objects.filter(product__sku="BOTTLE-750", warehouse=wh1)
    on_hand_before = level.get().on_hand
    level.update(on_hand=-(2**31))
    cursor = sync_cursor(tryton, JobType.RECEIVE_SHIPMENTS)

    failed = run(tryton, JobType.RECEIVE_SHIPMENTS)

    assert failed.status == RunStatus.FAILED, failed.messages
    assert failed.counts.get("received") == 1
    assert sync_cursor(tryton, JobType.RECEIVE_SHIPMENTS) == cursor
    assert [o.shipments.count() for o in orders] == [1, 0, 0]
    level.update(on_hand=on_hand_before)
    received(run(tryton, JobType.RECEIVE_SHIPMENTS), 2)
    assert [o.shipments.count() for o in orders] == [1, 1, 1]
    assert sync_cursor(tryton, JobType.RECEIVE_SHIPMENTS) != cursor
    assert on_hand(world.acme_us, "BOTTLE-750", wh1) == on_hand_before - 1
    received(run(tryton, JobType.RECEIVE_SHIPMENTS), 0)


def test_a_purchase_order_is_announced_received_in_tryton_and_stocked_here(
    world, tryton, tryton_rpc, tryton_warehouse, eager_celery, django_capture_on_commit_callbacks
):
    account, wh2 = world.acme_us, world.warehouses["ACME-US-2"]
    Account.objects.filter(pk=account.pk).update(auto_purchase_order_workflow=True)
    before = on_hand(account, "BOTTLE-750", wh2)
    with django_capture_on_commit_callbacks(execute=True):
        po = create_purchase_order(
            Account.objects.get(pk=account.pk),
            {
                "number": f"P-{PurchaseOrder.objects.count() + 1}",
                "warehouse": wh2,
                "lines": [{"sku": "BOTTLE-750", "quantity": 24}],
            },
        )
    po.refresh_from_db()
    if po.status == "open":  # sent by the workflow on commit, or by the recurring job
        assert run(tryton, JobType.SEND_PURCHASE_ORDERS).status == RunStatus.SUCCESS
        po.refresh_from_db()
    assert (po.status, po.fulfillment_channel) == ("sent", tryton)
    run(tryton, JobType.SEND_PURCHASE_ORDERS)
    (announced,) = shipments_of(tryton_rpc, "stock.shipment.in", po.reference)
    assert (str(announced["id"]), announced["state"]) == (po.fulfillment_external_id, "draft")

    tryton_warehouse.receive([announced["id"]])
    received(run(tryton, JobType.RECEIVE_RECEIPTS), 1)
    po.refresh_from_db()
    assert po.status == "received"
    assert on_hand(account, "BOTTLE-750", wh2) == before + 24
    assert tryton_warehouse.quantities("East", ["BOTTLE-750"])["BOTTLE-750"] == before + 24


def test_inventory_is_imported_per_mapped_warehouse(world, tryton, tryton_warehouse):
    account = world.acme_us
    for name, code in (("Main", "ACME-US-1"), ("East", "ACME-US-2")):
        there = tryton_warehouse.quantities(name)
        assert {sku: on_hand(account, sku, world.warehouses[code]) for sku in SKUS} == {
            sku: int(there[sku]) for sku in SKUS
        }
    # EAST's LAMP-DESK (none there) differs from MAIN's: each warehouse has its own.
    assert on_hand(account, "LAMP-DESK", world.warehouses["ACME-US-2"]) != on_hand(
        account, "LAMP-DESK", world.warehouses["ACME-US-1"]
    )
    # A warehouse no mapping names is skipped and said so.
    tryton.warehouse_mappings.filter(location="EAST").delete()
    result = run(tryton, JobType.IMPORT_INVENTORY)
    assert result.counts.get("unmapped_locations") == 1 and "EAST" in " ".join(result.messages)


def test_fulfillment_channel_as_master_product_source_imports_products_with_units_converted(
    world, tryton, tryton_peer
):
    account, admin = world.acme_us, world.account_admin
    # One SKU created in techOMS first: the preflight counts it as a collision.
    Product.objects.filter(account=account).exclude(sku="MUG-12OZ").delete()
    preflight = master_source_preflight(account, MasterProductSource.FULFILLMENT_CHANNEL, tryton)
    assert (preflight.products, preflight.master_skus, preflight.collisions) == (1, len(SKUS), 1)
    assert preflight.collision_sample == ["MUG-12OZ"] and not preflight.fetch_error
    assert "Import Products on Tryton" in preflight.becoming_offered

    account = update_account_settings(
        admin,
        account,
        {
            "master_product_source": MasterProductSource.FULFILLMENT_CHANNEL,
            "master_product_channel": tryton.pk,
            "size_unit": "in",
            "volume_unit": "in3",
            "weight_unit": "lb",
        },
        None,
        confirm=True,
    )
    account.refresh_from_db()
    assert (account.master_product_source, account.master_product_channel_id) == ("fulfillment", tryton.pk)
    assert product_job_allowed(account, tryton.pk, JobType.IMPORT_PRODUCTS)
    assert not product_job_allowed(account, tryton.pk, JobType.EXPORT_PRODUCTS)

    result = run(tryton, JobType.IMPORT_PRODUCTS)
    assert result.messages == ["SKU MUG-12OZ already exists (created in techOMS); left unchanged."]
    assert (result.counts.get("created"), result.counts.get("collisions")) == (len(SKUS) - 1, 1)
    lamp = Product.objects.get(account=account, sku="LAMP-DESK")
    seeded = tryton_peer.products["LAMP-DESK"]  # cm and kg in Tryton
    assert (lamp.name, lamp.source_channel, lamp.price) == ("Desk lamp", tryton, Decimal(seeded["price"]))
    assert (lamp.length_mm, lamp.weight_g) == (
        Decimal(seeded["length"]) * 10,
        Decimal(str(seeded["weight"])) * 1000,
    )
    shown = lamp.dimensions_in(account)
    assert (shown["length"], shown["weight"]) == (Decimal("15.75"), Decimal("2.756"))

    # A second run updates nothing and keeps its cursor.
    again = run(tryton, JobType.IMPORT_PRODUCTS)
    assert again.counts.get("created", 0) == 0 and again.counts.get("updated", 0) == 0


def test_test_connection_says_what_it_found_and_what_is_wrong(world, tryton, tryton_peer):
    admin = world.account_admin
    assert services.test_connection(admin, tryton) == (
        True,
        f"Connected to Tryton at {tryton_peer.url.rstrip('/')}, database {tryton_peer.database}, as "
        f"{tryton_peer.user}: company techOMS Demo Warehouse, warehouses MAIN, EAST.",
    )
    wrong = services.create_channel(
        None,
        world.acme_us,
        kind="fulfillment",
        name="Tryton, wrong password",
        platform="tryton",
        credentials={**tryton_peer.credentials, "password": "not-it"},
    )
    assert services.test_connection(admin, wrong) == (
        False,
        f"Tryton refused user {tryton_peer.user!r} on database {tryton_peer.database!r}: "
        "wrong user or password.",
    )


def test_cancel_of_an_unpicked_order_cancels_the_shipment_and_a_picked_one_is_refused(
    world, tryton, tryton_rpc, eager_celery, django_capture_on_commit_callbacks
):
    actor = workflow.Actor("admin", world.account_admin)
    unpicked = send_order(
        world, tryton, django_capture_on_commit_callbacks, [{"sku": "CAP-NAVY", "quantity": 1}]
    )
    picked = send_order(
        world, tryton, django_capture_on_commit_callbacks, [{"sku": "CAP-NAVY", "quantity": 1}]
    )
    reserved = InventoryLevel.objects.get(
        product__sku="CAP-NAVY", warehouse=world.warehouses["ACME-US-1"]
    ).reserved
    tryton_rpc.model("stock.shipment.out", "assign_try", [int(picked.fulfillment_external_id)])
    tryton_rpc.model("stock.shipment.out", "pick", [int(picked.fulfillment_external_id)])

    workflow.cancel_sales_order(unpicked, actor, "Customer called")
    unpicked.refresh_from_db()
    assert unpicked.status == "cancelled"
    assert unpicked.events.last().detail == (
        f"Cancelled at Tryton (shipment {unpicked.fulfillment_external_id}) and here: Customer called"
    )
    assert [s["state"] for s in shipments_of(tryton_rpc, "stock.shipment.out", unpicked.reference)] == [
        "cancelled"
    ]

    with pytest.raises(workflow.WorkflowConflict, match=f"Tryton already picked order {picked.number}"):
        workflow.cancel_sales_order(picked, actor)
    picked.refresh_from_db()
    assert picked.status == "sent"
    assert [s["state"] for s in shipments_of(tryton_rpc, "stock.shipment.out", picked.reference)] == [
        "picked"
    ]
    level = InventoryLevel.objects.get(product__sku="CAP-NAVY", warehouse=world.warehouses["ACME-US-1"])
    assert level.reserved == reserved - 1  # the cancelled order's unit only


def test_export_products_creates_the_product_in_tryton_then_writes_only_changes(world, tryton, tryton_rpc):
    account = world.acme_us  # Master Product Source techOMS: Export Products runs to Tryton
    assert product_job_allowed(account, tryton.pk, JobType.EXPORT_PRODUCTS)
    # The seeded SKUs' rows here carry no measurements: leave Tryton's as they are.
    Product.objects.filter(account=account).delete()
    sku = f"E2E-{uuid.uuid4().hex[:8].upper()}"
    product = Product.objects.create(
        account=account,
        sku=sku,
        name="Canvas tote",
        price=Decimal("18.00"),
        length_mm=Decimal("400.0"),
        width_mm=Decimal("350.0"),
        height_mm=Decimal("5.5"),
        weight_g=Decimal("210.0"),
    )
    result = run(tryton, JobType.EXPORT_PRODUCTS)
    assert result.status == RunStatus.SUCCESS and result.counts == {"created": 1}, (
        result.counts,
        result.messages,
    )
    fields = [
        "template.name",
        "template.length",
        "template.length_uom.symbol",
        "template.weight",
        "template.weight_uom.symbol",
    ]
    (there,) = tryton_rpc.search_read("product.product", [("code", "=", sku)], fields)
    template = there["template."]
    assert (template["name"], template["length"], template["length_uom."]["symbol"]) == (
        "Canvas tote",
        400.0,
        "mm",
    )
    assert (template["weight"], template["weight_uom."]["symbol"]) == (210.0, "g")

    Product.objects.filter(pk=product.pk).update(name="Canvas tote, natural")
    assert run(tryton, JobType.EXPORT_PRODUCTS).counts == {"updated": 1}
    assert run(tryton, JobType.EXPORT_PRODUCTS).counts == {"unchanged": 1}
    (there,) = tryton_rpc.search_read("product.product", [("code", "=", sku)], ["template.name"])
    assert there["template."]["name"] == "Canvas tote, natural"

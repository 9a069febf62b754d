"""Every job type end to end against the sandbox over HTTP, and idempotent re-runs."""

import pytest

from accounts.models import Account
from automations.jobs.runner import run_job
from automations.models import JobRun, RunStatus, Trigger
from automations.workflows import process_sales_orders, send_purchase_orders
from catalog.models import AdjustmentReason, InventoryAdjustment, InventoryLevel, Product
from channels.platforms import JobType
from orders.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    SalesOrder,
    SalesOrderStatus,
    Shipment,
)
from orders.workflow import Actor

pytestmark = pytest.mark.django_db


def run(channel, job_type, **kwargs) -> JobRun:
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    return run_job(job_run, **kwargs)


def workflows_on(linked) -> None:
    """Both order workflows on: Send Orders and Send Purchase Orders then take every new
    document (with them off, only what a person processed)."""
    Account.objects.filter(pk=linked.world.acme_us.pk).update(
        auto_sales_order_workflow=True, auto_purchase_order_workflow=True
    )


def on_hand(product, warehouse) -> int:
    level = InventoryLevel.objects.filter(product=product, warehouse=warehouse).first()
    return level.on_hand if level else 0


def test_import_orders_stores_new_orders_with_lines_and_customer(linked):
    placed = linked.place_order(quantity=3)
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"imported": 1}
    order = SalesOrder.objects.get(channel=linked.marketplace)
    assert order.external_id == placed["id"]
    assert order.status == SalesOrderStatus.PENDING
    assert (order.customer_name, order.customer_email, order.ship_city) == (
        "Jane Doe",
        "jane@example.com",
        "Newark",
    )
    line = order.lines.get()
    assert (line.sku, line.quantity, line.product) == ("SKU-1", 3, linked.products["SKU-1"])


def test_an_imported_order_whose_amounts_do_not_fit_is_refused_and_the_list_stays_readable(linked, client):
    poisoned = linked.place_order(quantity=3)
    with linked.store.lock:
        for line in linked.shop("mkt")["orders"][str(poisoned["id"])]["lines"]:
            line["price"] = "9" * 11 + ".99"  # × 3 is past the total's 12 digits
    linked.place_order(quantity=1)
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert (result.status, result.counts) == (RunStatus.PARTIAL, {"imported": 1, "rejected": 1})
    assert "unit price: Ensure that there are no more than 12 digits" in " ".join(result.messages)
    assert SalesOrder.objects.filter(channel=linked.marketplace).count() == 1
    client.force_login(linked.world.account_admin)
    assert client.get("/sales-orders/").status_code == 200


def test_import_orders_twice_imports_nothing_new(linked):
    linked.place_order()
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    second = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert second.status == RunStatus.SUCCESS
    assert second.counts == {"already_imported": 1}
    assert SalesOrder.objects.count() == 1


def test_an_order_another_run_stores_between_the_read_and_the_write_is_known_and_the_page_still_stored(
    linked, monkeypatch
):
    from automations.jobs import sales
    from orders.models import OrderSource
    from orders.services import store_sales_order

    placed = [linked.place_order() for _ in range(3)]
    prepare = sales.prepare_sales_order

    def racing(account, lines, products, **fields):
        # The second order is stored by "another run" while this one prepares its page.
        if fields["external_id"] == str(placed[1]["id"]):
            store_sales_order(
                account, lines, products, **{**fields, "source": OrderSource.CHANNEL, "number": "RACE"}
            )
        return prepare(account, lines, products, **fields)

    monkeypatch.setattr(sales, "prepare_sales_order", racing)
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"imported": 2, "already_imported": 1}
    stored = SalesOrder.objects.filter(channel=linked.marketplace)
    assert sorted(stored.values_list("external_id", flat=True)) == sorted(str(p["id"]) for p in placed)
    assert all(order.lines.count() == 1 for order in stored)


def test_import_orders_keeps_carrier_warnings_on_the_order(linked):
    linked.place_order(carrier="UPS", service="NOPE")
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    order = SalesOrder.objects.get()
    assert result.status == RunStatus.SUCCESS
    assert [w["code"] for w in order.validation_warnings] == ["invalid_service_code"]


def test_import_orders_refuses_an_order_when_the_rule_is_error(linked):
    from accounts.models import ApiValidationRule

    ApiValidationRule.objects.create(
        account=linked.world.acme_us,
        document="sales_orders",
        check_type="invalid_carrier_code",
        status="error",
    )
    linked.place_order(carrier="PIGEON", service="")
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.PARTIAL
    assert result.counts == {"rejected": 1}
    assert "Unknown carrier code 'PIGEON'" in result.messages[0]
    assert not SalesOrder.objects.exists()


def test_send_orders_with_the_workflow_on_sends_pending_orders_of_mapped_warehouses_once(linked):
    workflows_on(linked)
    linked.place_order(quantity=2)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    result = run(linked.threepl, JobType.SEND_ORDERS)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"sent": 1}
    order = SalesOrder.objects.get()
    assert order.status == SalesOrderStatus.SENT
    assert order.fulfillment_channel == linked.threepl
    assert order.warehouse == linked.world.warehouses["ACME-US-1"]
    sent = list(linked.shop("tpl")["orders"].values())
    assert [(o["reference"], o["location"]) for o in sent] == [(order.reference, "NJ1")]
    again = run(linked.threepl, JobType.SEND_ORDERS)
    assert again.counts == {}
    assert len(linked.shop("tpl")["orders"]) == 1


def test_send_orders_with_the_workflow_off_leaves_pending_orders_for_a_person(linked):
    linked.place_order(quantity=2)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    result = run(linked.threepl, JobType.SEND_ORDERS)
    assert (result.status, result.counts) == (RunStatus.SUCCESS, {"waiting_for_a_person": 1})
    assert result.messages == [
        "Not sent, waiting for a person (the Automatic Sales Order Workflow is off): 1 order."
    ]
    order = SalesOrder.objects.get()
    assert order.status == SalesOrderStatus.PENDING
    assert linked.shop("tpl")["orders"] == {}
    # A person processes it: validated, allocated and sent through the same job.
    person = linked.world.account_admin
    assert process_sales_orders(linked.world.acme_us, [order.pk], Actor(person.email, person))["sent"] == 1
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.SENT
    assert [o["reference"] for o in linked.shop("tpl")["orders"].values()] == [order.reference]


def test_send_orders_with_the_workflow_off_sends_orders_a_person_allocated(linked):
    linked.place_order(quantity=2)
    linked.place_order(quantity=1)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    allocated, pending = SalesOrder.objects.order_by("pk")
    # Processed by a person, whose send never happened (the worker was lost).
    SalesOrder.objects.filter(pk=allocated.pk).update(status=SalesOrderStatus.ALLOCATED)
    result = run(linked.threepl, JobType.SEND_ORDERS)
    assert result.counts == {"sent": 1, "waiting_for_a_person": 1}
    assert [o["reference"] for o in linked.shop("tpl")["orders"].values()] == [allocated.reference]
    pending.refresh_from_db()
    assert pending.status == SalesOrderStatus.PENDING


def test_send_purchase_orders_with_the_workflow_off_sends_only_what_a_person_sends(linked):
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us, number="PO-9", warehouse=linked.world.warehouses["ACME-US-2"]
    )
    PurchaseOrderLine.objects.create(
        purchase_order=po, line_number=1, product=linked.products["SKU-2"], sku="SKU-2", quantity=3
    )
    result = run(linked.threepl, JobType.SEND_PURCHASE_ORDERS)
    assert (result.status, result.counts) == (RunStatus.SUCCESS, {"waiting_for_a_person": 1})
    assert result.messages == [
        "Not sent, waiting for a person (the Automatic Purchase Order Workflow is off): 1 purchase order."
    ]
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.OPEN
    assert linked.shop("tpl")["purchase_orders"] == {}
    person = linked.world.account_admin
    assert send_purchase_orders(linked.world.acme_us, [po.pk], Actor(person.email, person))["sent"] == 1
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT
    assert [p["reference"] for p in linked.shop("tpl")["purchase_orders"].values()] == [po.reference]


def test_send_orders_holds_an_order_with_an_unknown_sku(linked):
    workflows_on(linked)
    order = SalesOrder.objects.create(
        account=linked.world.acme_us, source="manual", number="M-1", ordered_at="2026-01-01T00:00Z"
    )
    order.lines.create(line_number=1, sku="NOPE", quantity=1)
    result = run(linked.threepl, JobType.SEND_ORDERS)
    order.refresh_from_db()
    assert result.status == RunStatus.PARTIAL
    assert order.status == SalesOrderStatus.ON_HOLD
    assert "Unknown SKU NOPE" in order.hold_reason
    assert linked.shop("tpl")["orders"] == {}


def test_receive_shipments_records_shipment_moves_stock_and_ships_the_order(linked):
    workflows_on(linked)
    wh1 = linked.world.warehouses["ACME-US-1"]
    linked.place_order(quantity=2)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    run(linked.threepl, JobType.SEND_ORDERS)
    result = run(linked.threepl, JobType.RECEIVE_SHIPMENTS)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"received": 1}
    shipment = Shipment.objects.get()
    assert shipment.tracking_number.startswith("1Z")
    assert (shipment.carrier_code, shipment.service_code) == ("UPS", "03")
    assert shipment.sales_order.status == SalesOrderStatus.SHIPPED
    assert on_hand(linked.products["SKU-1"], wh1) == 8
    entry = InventoryAdjustment.objects.get(reason=AdjustmentReason.SHIPMENT)
    assert (entry.quantity, entry.channel, entry.job_run_id) == (-2, linked.threepl, result.pk)
    again = run(linked.threepl, JobType.RECEIVE_SHIPMENTS)
    assert again.counts == {"already_received": 1}
    assert on_hand(linked.products["SKU-1"], wh1) == 8


def test_receive_shipments_records_zero_quantities_without_error(linked):
    workflows_on(linked)
    tpl = linked.shop("tpl")
    tpl["inventory"]["NJ1"]["SKU-2"] = 0
    linked.place_order(sku="SKU-2", quantity=1)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    run(linked.threepl, JobType.SEND_ORDERS)
    result = run(linked.threepl, JobType.RECEIVE_SHIPMENTS)
    assert result.status == RunStatus.SUCCESS
    assert result.counts == {"received": 1, "zero_quantity_lines": 1}
    assert "has 0 of SKU-2" in result.messages[0]
    shipment = Shipment.objects.get()
    assert [line.quantity for line in shipment.lines.all()] == [0]
    assert shipment.sales_order.status == SalesOrderStatus.SENT
    assert not InventoryAdjustment.objects.filter(reason=AdjustmentReason.SHIPMENT).exists()


def test_a_shipment_that_cannot_be_recorded_mid_batch_keeps_the_others_whole_and_a_rerun_adds_the_rest(
    linked,
):
    """Shipments are recorded in batches: one that cannot be stored (its stock level would
    leave its range) rolls its batch back, the shipments before it are recorded one by
    one, the run fails at it, and nothing of it or after it is half-stored; once the
    cause is fixed a rerun records the rest, none twice."""
    workflows_on(linked)
    wh1 = linked.world.warehouses["ACME-US-1"]
    for sku in ("SKU-1", "SKU-2", "SKU-1"):
        linked.place_order(sku=sku, quantity=1)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    run(linked.threepl, JobType.SEND_ORDERS)
    first, poisoned, last = SalesOrder.objects.order_by("pk")
    sku2 = InventoryLevel.objects.filter(product=linked.products["SKU-2"], warehouse=wh1)
    sku2.update(on_hand=-(2**31))

    failed = run(linked.threepl, JobType.RECEIVE_SHIPMENTS)

    assert failed.status == RunStatus.FAILED
    assert "internal error (ValidationError)" in failed.messages[-1]
    assert failed.counts == {"received": 1}
    assert [s.sales_order for s in Shipment.objects.all()] == [first]

    def shipped():
        entries = InventoryAdjustment.objects.filter(reason=AdjustmentReason.SHIPMENT)
        return sorted((e.product.sku, e.quantity) for e in entries)

    assert shipped() == [("SKU-1", -1)]
    poisoned.refresh_from_db()
    last.refresh_from_db()
    assert (poisoned.status, last.status) == (SalesOrderStatus.SENT, SalesOrderStatus.SENT)

    sku2.update(on_hand=5)
    again = run(linked.threepl, JobType.RECEIVE_SHIPMENTS)
    assert (again.status, again.counts) == (RunStatus.SUCCESS, {"received": 2, "already_received": 1})
    assert sorted(s.sales_order.pk for s in Shipment.objects.all()) == [first.pk, poisoned.pk, last.pk]
    assert shipped() == [
        ("SKU-1", -1),
        ("SKU-1", -1),
        ("SKU-2", -1),
    ]
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {SalesOrderStatus.SHIPPED}
    assert run(linked.threepl, JobType.RECEIVE_SHIPMENTS).counts == {"already_received": 3}


def test_export_tracking_tells_the_marketplace_once(linked):
    workflows_on(linked)
    placed = linked.place_order(quantity=2)
    for channel, job in (
        (linked.marketplace, JobType.IMPORT_ORDERS),
        (linked.threepl, JobType.SEND_ORDERS),
        (linked.threepl, JobType.RECEIVE_SHIPMENTS),
    ):
        run(channel, job)
    result = run(linked.marketplace, JobType.EXPORT_TRACKING)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"exported": 1}
    order = linked.shop("mkt")["orders"][placed["id"]]
    assert order["status"] == "fulfilled"
    assert order["fulfillments"][0]["tracking_number"] == Shipment.objects.get().tracking_number
    again = run(linked.marketplace, JobType.EXPORT_TRACKING)
    assert again.counts == {}
    assert len(linked.shop("mkt")["orders"][placed["id"]]["fulfillments"]) == 1


def test_export_inventory_sends_available_minus_buffer_for_mapped_warehouses(linked):
    wh2 = linked.world.warehouses["ACME-US-2"]
    InventoryLevel.objects.create(product=linked.products["SKU-1"], warehouse=wh2, on_hand=100)
    InventoryLevel.objects.filter(product=linked.products["SKU-1"], warehouse__code="WH1").update(reserved=3)
    linked.marketplace.buffer_stock = 1
    linked.marketplace.save()
    result = run(linked.marketplace, JobType.EXPORT_INVENTORY)
    assert result.status == RunStatus.SUCCESS, result.messages
    # 10 on hand − 3 reserved − 1 buffer; WH2 is not mapped to this channel.
    assert linked.stock("mkt", "US-EAST", "SKU-1") == 6
    assert linked.stock("mkt", "US-EAST", "SKU-2") == 4
    assert result.counts == {"updated": 2}
    again = run(linked.marketplace, JobType.EXPORT_INVENTORY)
    assert again.counts == {"unchanged": 2}


def test_import_inventory_sets_counts_of_mapped_locations_through_the_ledger(linked):
    wh1 = linked.world.warehouses["ACME-US-1"]
    linked.shop("tpl")["inventory"]["NJ1"]["SKU-1"] = 7
    linked.shop("tpl")["inventory"].setdefault("XX", {})["SKU-1"] = 3
    result = run(linked.threepl, JobType.IMPORT_INVENTORY)
    assert result.status == RunStatus.PARTIAL
    assert result.counts == {"updated": 1, "unchanged": 1, "unmapped_locations": 1}
    assert on_hand(linked.products["SKU-1"], wh1) == 7
    entry = InventoryAdjustment.objects.get(reason=AdjustmentReason.CHANNEL_IMPORT)
    assert (entry.quantity, entry.on_hand_after) == (-3, 7)
    again = run(linked.threepl, JobType.IMPORT_INVENTORY)
    assert again.counts["unchanged"] == 2


def test_import_products_creates_updates_and_reports_collisions(linked):
    account = linked.world.acme_us
    account.master_product_source = "sales"
    account.master_product_channel = linked.marketplace
    account.save()
    linked.store.upsert_products(linked.shop("mkt"), [{"sku": "SKU-3", "title": "Gizmo", "weight_g": "80"}])
    result = run(linked.marketplace, JobType.IMPORT_PRODUCTS)
    assert result.status == RunStatus.PARTIAL
    assert result.counts == {"created": 1, "collisions": 2}
    assert any("SKU-1 already exists" in m for m in result.messages)
    gizmo = Product.objects.get(sku="SKU-3")
    assert (gizmo.source_channel, gizmo.weight_g) == (linked.marketplace, 80)
    linked.store.upsert_products(linked.shop("mkt"), [{"sku": "SKU-3", "title": "Gizmo 2"}])
    again = run(linked.marketplace, JobType.IMPORT_PRODUCTS)
    assert again.counts == {"updated": 1, "collisions": 2}
    assert Product.objects.filter(account=account).count() == 3


def test_import_products_runs_only_against_the_master_channel(linked):
    result = run(linked.marketplace, JobType.IMPORT_PRODUCTS)
    assert result.status == RunStatus.SKIPPED
    assert "Master Product Channel" in result.messages[0]


def test_export_products_creates_then_leaves_unchanged(linked):
    Product.objects.create(account=linked.world.acme_us, sku="NEW-1", name="Brand new", weight_g=500)
    result = run(linked.threepl, JobType.EXPORT_PRODUCTS)
    assert result.status == RunStatus.SUCCESS, result.messages
    assert result.counts == {"created": 1, "updated": 2}
    assert linked.shop("tpl")["products"]["NEW-1"]["title"] == "Brand new"
    again = run(linked.threepl, JobType.EXPORT_PRODUCTS)
    assert again.counts == {"unchanged": 3}


def test_purchase_order_is_sent_received_and_stocked(linked):
    workflows_on(linked)
    wh2 = linked.world.warehouses["ACME-US-2"]
    po = PurchaseOrder.objects.create(account=linked.world.acme_us, number="PO-77", warehouse=wh2)
    PurchaseOrderLine.objects.create(
        purchase_order=po, line_number=1, product=linked.products["SKU-2"], sku="SKU-2", quantity=12
    )
    sent = run(linked.threepl, JobType.SEND_PURCHASE_ORDERS)
    assert sent.counts == {"sent": 1}, sent.messages
    received = run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    assert received.status == RunStatus.SUCCESS, received.messages
    assert received.counts == {"received": 1}
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert po.lines.get().quantity_received == 12
    receipt = Receipt.objects.get()
    assert receipt.warehouse == wh2
    assert on_hand(linked.products["SKU-2"], wh2) == 12
    assert linked.stock("tpl", "NV1", "SKU-2") == 12
    assert run(linked.threepl, JobType.SEND_PURCHASE_ORDERS).counts == {}
    assert run(linked.threepl, JobType.RECEIVE_RECEIPTS).counts == {"already_received": 1}
    assert on_hand(linked.products["SKU-2"], wh2) == 12


def test_receive_receipts_records_zero_quantities(linked):
    workflows_on(linked)
    tpl = linked.shop("tpl")
    tpl["auto_receive"] = False
    wh1 = linked.world.warehouses["ACME-US-1"]
    po = PurchaseOrder.objects.create(account=linked.world.acme_us, number="PO-78", warehouse=wh1)
    PurchaseOrderLine.objects.create(
        purchase_order=po, line_number=1, product=linked.products["SKU-1"], sku="SKU-1", quantity=4
    )
    run(linked.threepl, JobType.SEND_PURCHASE_ORDERS)
    remote = next(iter(tpl["purchase_orders"].values()))
    linked.store.receive(tpl, remote["id"], {"SKU-1": 0})
    result = run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    assert result.status == RunStatus.SUCCESS
    assert result.counts == {"received": 1, "zero_quantity_lines": 1}
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT
    assert on_hand(linked.products["SKU-1"], wh1) == 10


def receive_with(linked, carrier: str, service: str) -> PurchaseOrder:
    """A purchase order sent to the 3PL and received there with these carrier codes."""
    workflows_on(linked)
    tpl = linked.shop("tpl")
    tpl["auto_receive"] = False
    po = PurchaseOrder.objects.create(
        account=linked.world.acme_us, number="PO-5", warehouse=linked.world.warehouses["ACME-US-1"]
    )
    PurchaseOrderLine.objects.create(
        purchase_order=po, line_number=1, product=linked.products["SKU-1"], sku="SKU-1", quantity=4
    )
    run(linked.threepl, JobType.SEND_PURCHASE_ORDERS)
    remote = next(iter(tpl["purchase_orders"].values()))
    linked.store.receive(tpl, remote["id"], carrier=carrier, service=service)
    return po


RECEIPT_CODES = [
    ("", "03", "missing_carrier_code", "No carrier code."),
    ("PIGEON", "03", "invalid_carrier_code", "Unknown carrier code 'PIGEON'."),
    ("UPS", "", "missing_service_code", "No service code."),
    ("UPS", "NOPE", "invalid_service_code", "Unknown service code 'NOPE' for carrier UPS."),
]


def test_receive_receipts_stores_the_delivery_carrier_and_tracking(linked):
    receive_with(linked, "UPS", "03")
    result = run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    assert (result.status, result.counts) == (RunStatus.SUCCESS, {"received": 1})
    receipt = Receipt.objects.get()
    assert (receipt.carrier_code, receipt.service_code, receipt.validation_warnings) == ("UPS", "03", [])
    assert receipt.tracking_number.startswith("1Z")


@pytest.mark.parametrize(("carrier", "service", "code", "message"), RECEIPT_CODES)
def test_receive_receipts_keeps_carrier_warnings_on_the_receipt(linked, carrier, service, code, message):
    po = receive_with(linked, carrier, service)
    result = run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    assert (result.status, result.counts) == (RunStatus.SUCCESS, {"received": 1})
    field = "carrier_code" if "carrier" in code else "service_code"
    assert Receipt.objects.get().validation_warnings == [{"field": field, "code": code, "message": message}]
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert on_hand(linked.products["SKU-1"], linked.world.warehouses["ACME-US-1"]) == 14


@pytest.mark.parametrize(("carrier", "service", "code", "message"), RECEIPT_CODES)
def test_receive_receipts_refuses_a_receipt_when_the_rule_is_error(linked, carrier, service, code, message):
    from accounts.models import ApiValidationRule

    ApiValidationRule.objects.create(
        account=linked.world.acme_us, document="receipts", check_type=code, status="error"
    )
    po = receive_with(linked, carrier, service)
    result = run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    assert (result.status, result.counts) == (RunStatus.PARTIAL, {"rejected": 1})
    field = "carrier_code" if "carrier" in code else "service_code"
    assert result.messages[0].startswith("Receipt ") and result.messages[0].endswith(
        f"of PO PO-5 was refused: {field}: {message}"
    )
    assert not Receipt.objects.exists()
    po.refresh_from_db()
    assert (po.status, po.lines.get().quantity_received) == (PurchaseOrderStatus.SENT, 0)
    assert on_hand(linked.products["SKU-1"], linked.world.warehouses["ACME-US-1"]) == 10


def test_a_receipt_rule_at_error_leaves_other_documents_alone(linked):
    from accounts.models import ApiValidationRule

    ApiValidationRule.objects.create(
        account=linked.world.acme_us, document="shipments", check_type="invalid_carrier_code", status="error"
    )
    receive_with(linked, "PIGEON", "03")
    result = run(linked.threepl, JobType.RECEIVE_RECEIPTS)
    assert result.counts == {"received": 1}
    assert [w["code"] for w in Receipt.objects.get().validation_warnings] == ["invalid_carrier_code"]


def test_demo_flow_leaves_stock_agreeing_on_every_side(linked):
    """Order in the marketplace → portal → 3PL → shipment → tracking → inventory both ways."""
    workflows_on(linked)
    linked.place_order(quantity=3)
    for channel, job in (
        (linked.marketplace, JobType.IMPORT_ORDERS),
        (linked.threepl, JobType.SEND_ORDERS),
        (linked.threepl, JobType.RECEIVE_SHIPMENTS),
        (linked.marketplace, JobType.EXPORT_TRACKING),
        (linked.threepl, JobType.IMPORT_INVENTORY),
        (linked.marketplace, JobType.EXPORT_INVENTORY),
    ):
        assert run(channel, job).status == RunStatus.SUCCESS
    portal = on_hand(linked.products["SKU-1"], linked.world.warehouses["ACME-US-1"])
    assert portal == linked.stock("tpl", "NJ1", "SKU-1") == linked.stock("mkt", "US-EAST", "SKU-1") == 7


# Failures of the platform ---------------------------------------------------------------


def test_sandbox_down_fails_the_run_with_a_readable_message(linked, settings):
    settings.SANDBOX_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.FAILED
    assert "cannot be reached" in result.messages[0]
    assert result.finished_at is not None


def test_sandbox_slower_than_the_timeout_fails_the_run(linked, settings):
    settings.CHANNEL_CONNECTOR_TIMEOUT = 0.2
    linked.sandbox.faults["delay"] = 0.5
    linked.place_order()
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.FAILED
    assert result.messages == ["The platform did not answer GET /api/orders within 0.2 s."]
    assert not SalesOrder.objects.exists()


def test_malformed_json_fails_the_run_and_stores_nothing(linked):
    linked.place_order()
    linked.sandbox.faults["malformed"] = True
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.FAILED
    assert result.messages == ["The platform's answer to GET /api/orders is not valid JSON."]
    assert not SalesOrder.objects.exists()


def test_a_platform_failing_part_way_through_a_push_keeps_what_was_done_consistent(linked, monkeypatch):
    workflows_on(linked)
    from channels.connectors.http import JsonHttpClient

    for _ in range(2):
        linked.place_order(quantity=1)
    run(linked.marketplace, JobType.IMPORT_ORDERS)
    real_post, calls = JsonHttpClient.post, []

    def post_then_fail(self, path, data):
        calls.append(path)
        if len(calls) == 2:
            linked.sandbox.faults["status"] = 503
        return real_post(self, path, data)

    monkeypatch.setattr(JsonHttpClient, "post", post_then_fail)
    result = run(linked.threepl, JobType.SEND_ORDERS)
    assert result.status == RunStatus.FAILED
    assert result.counts == {"sent": 1}
    assert "503" in result.messages[0]
    sent = SalesOrder.objects.filter(status=SalesOrderStatus.SENT)
    assert [o.reference for o in sent] == [o["reference"] for o in linked.shop("tpl")["orders"].values()]
    linked.sandbox.faults["status"] = None
    assert run(linked.threepl, JobType.SEND_ORDERS).counts == {"sent": 1}
    assert len(linked.shop("tpl")["orders"]) == 2


def test_wrong_credentials_fail_the_run(linked):
    from channels import services

    services.update_channel(None, linked.marketplace, {}, credentials={"api_key": "wrong"})
    linked.marketplace.refresh_from_db()
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.FAILED
    assert "refused the credentials (401" in result.messages[0]


def test_inactive_channel_run_is_skipped(linked):
    linked.marketplace.is_active = False
    linked.marketplace.save()
    result = run(linked.marketplace, JobType.IMPORT_ORDERS)
    assert result.status == RunStatus.SKIPPED
    assert linked.sandbox.calls == {}


def test_a_run_that_is_not_queued_is_not_run_again(linked):
    linked.place_order()
    first = run(linked.marketplace, JobType.IMPORT_ORDERS)
    calls = len(linked.sandbox.calls["mkt"])
    assert run_job(first).status == RunStatus.SUCCESS
    assert len(linked.sandbox.calls["mkt"]) == calls

"""Shipments recorded in a batch (record_shipments): the same rows, ledger and statuses as
one after the other, and one announcement."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.models import AdjustmentReason, AdjustmentSource, InventoryAdjustment, Product
from catalog.services import LedgerContext, adjust_inventory
from orders.models import OrderSource, SalesOrderStatus, Shipment
from orders.services import Arriving, record_shipment, record_shipments, store_sales_order
from orders.signals import shipments_received

pytestmark = pytest.mark.django_db

SHIPPED_AT = datetime(2026, 3, 3, 12, tzinfo=UTC)


@pytest.fixture
def products(world):
    found = {}
    for sku in ("SKU-1", "SKU-2"):
        found[sku] = Product.objects.create(account=world.acme_us, sku=sku, name=sku)
        for code in ("ACME-US-1", "ACME-US-2"):
            context = LedgerContext(AdjustmentReason.CYCLE_COUNT, AdjustmentSource.SYSTEM)
            adjust_inventory(found[sku], world.warehouses[code], 10, context)
    return found


def allocated_order(world, products, code: str, number: str):
    """An order of 2 × SKU-1 and 1 × SKU-2 with its units reserved at `code`."""
    warehouse = world.warehouses[code]
    order = store_sales_order(
        world.acme_us,
        [{"sku": "SKU-1", "quantity": 2, "unit_price": Decimal(1)}, {"sku": "sku-2", "quantity": 1}],
        products,
        source=OrderSource.API,
        number=number,
        status=SalesOrderStatus.SENT,
        warehouse=warehouse,
        ordered_at=SHIPPED_AT,
    )
    context = LedgerContext(AdjustmentReason.ALLOCATION, AdjustmentSource.SYSTEM)
    for line in order.lines.all():
        adjust_inventory(line.product, warehouse, 0, context, reserved=line.quantity)
    order.lines.update(quantity_reserved=1)
    order.lines.filter(sku="SKU-1").update(quantity_reserved=2)
    return order


def ledger_of(warehouse) -> list[tuple]:
    return list(
        InventoryAdjustment.objects.filter(warehouse=warehouse, reason=AdjustmentReason.SHIPMENT)
        .order_by("id")
        .values_list(
            "product__sku", "quantity", "reserved_quantity", "on_hand_after", "reserved_after", "note"
        )
    )


def test_a_batch_of_shipments_records_what_one_after_the_other_records(world, products):
    """Two shipments of one order (one SKU-1, then the rest) and one of another: in a
    batch at WH1, one by one at WH2; the rows, ledger and statuses agree."""
    wh1, wh2 = world.warehouses["ACME-US-1"], world.warehouses["ACME-US-2"]
    ledger = LedgerContext(AdjustmentReason.SHIPMENT, AdjustmentSource.CHANNEL, note="Shipped")
    first, partial = (
        allocated_order(world, products, "ACME-US-1", "A-1"),
        allocated_order(world, products, "ACME-US-1", "A-2"),
    )
    twin_first, twin_partial = (
        allocated_order(world, products, "ACME-US-2", "B-1"),
        allocated_order(world, products, "ACME-US-2", "B-2"),
    )
    shipments = [[("SKU-1", 1)], [("SKU-1", 1), ("SKU-2", 1)], [("SKU-2", 1)]]

    batch = record_shipments(
        [
            Arriving(order, wh1, lines, ledger, {"shipped_at": SHIPPED_AT, "tracking_number": str(n)})
            for n, (order, lines) in enumerate(zip((first, first, partial), shipments, strict=True))
        ]
    )
    for n, (order, lines) in enumerate(zip((twin_first, twin_first, twin_partial), shipments, strict=True)):
        record_shipment(order, wh2, lines, ledger, shipped_at=SHIPPED_AT, tracking_number=str(n))

    assert [s.pk for s in batch] == list(
        Shipment.objects.filter(warehouse=wh1).order_by("id").values_list("pk", flat=True)
    )
    assert ledger_of(wh1) == ledger_of(wh2) != []

    def shipped(order):
        order.refresh_from_db()
        lines = [(li.sku, li.quantity_shipped, li.quantity_reserved) for li in order.lines.all()]
        rows = [
            (s.tracking_number, [(sl.sku, sl.quantity, sl.order_line.sku) for sl in s.lines.order_by("id")])
            for s in order.shipments.order_by("id")
        ]
        return order.status, lines, rows

    assert shipped(first) == shipped(twin_first)
    assert shipped(first)[0] == SalesOrderStatus.SHIPPED
    assert shipped(partial) == shipped(twin_partial)
    assert shipped(partial)[0] == SalesOrderStatus.PARTIALLY_SHIPPED


def test_a_batch_of_shipments_is_announced_once_after_the_commit(
    world, products, django_capture_on_commit_callbacks
):
    wh1 = world.warehouses["ACME-US-1"]
    ledger = LedgerContext(AdjustmentReason.SHIPMENT, AdjustmentSource.CHANNEL)
    orders = [allocated_order(world, products, "ACME-US-1", f"A-{n}") for n in range(3)]
    heard = []

    def hear(sender, account_id, shipment_ids, **kwargs):
        heard.append((account_id, shipment_ids))

    shipments_received.connect(hear)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            recorded = record_shipments(
                [Arriving(o, wh1, [("SKU-1", 2)], ledger, {"shipped_at": SHIPPED_AT}) for o in orders]
            )
            assert heard == []
    finally:
        shipments_received.disconnect(hear)
    assert heard == [(world.acme_us.pk, tuple(s.pk for s in recorded))]

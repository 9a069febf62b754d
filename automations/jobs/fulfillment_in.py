"""Fulfillment channel jobs that bring the warehouse's news in: Receive Shipments,
Receive Receipts (each recorded by the orders service, through the API validation rules
like the API's) and Import Inventory (on-hand counts through the catalog's ledger)."""

from django.db import IntegrityError, transaction

from accounts.models import ValidationDocument
from catalog.models import AdjustmentReason
from catalog.services import products_by_sku, set_on_hand
from channels.platforms import JobType
from orders.models import PurchaseOrder, Receipt, SalesOrder, Shipment
from orders.services import record_receipt, record_shipment

from .common import carrier_check, not_yet_received, referenced
from .runner import JobContext, handles


@handles(JobType.RECEIVE_SHIPMENTS)
def receive_shipments(ctx: JobContext) -> None:
    fetched = ctx.connector.receive_shipments(ctx.ids)
    locations = ctx.location_to_warehouse()
    for incoming in not_yet_received(ctx, fetched, Shipment):
        order = referenced(ctx, SalesOrder, "SO", incoming.order_reference)
        if order is None:
            ctx.report.note(
                f"Shipment {incoming.external_id} names no order of this account "
                f"({incoming.order_reference})."
            )
            continue
        label = f"Shipment {incoming.external_id} of order {order.number}"
        check = carrier_check(ctx, ValidationDocument.SHIPMENTS, incoming, label)
        if check is None:
            continue
        try:
            with transaction.atomic():
                record_shipment(
                    order,
                    locations.get(incoming.location) or order.warehouse,
                    [(line.sku, line.quantity) for line in incoming.lines],
                    ctx.ledger(AdjustmentReason.SHIPMENT, f"Order {order.number}"),
                    channel=ctx.channel,
                    external_id=incoming.external_id,
                    carrier_code=incoming.carrier_code,
                    service_code=incoming.service_code,
                    tracking_number=incoming.tracking_number,
                    shipped_at=incoming.shipped_at,
                    validation_warnings=check.warnings_for_record(),
                )
        except IntegrityError:
            ctx.report.counts["already_received"] += 1
            continue
        ctx.report.counts["received"] += 1
        for line in incoming.lines:
            if line.quantity == 0:
                ctx.report.counts["zero_quantity_lines"] += 1
                ctx.report.note(f"{label} ships 0 of {line.sku}.", problem=False)


@handles(JobType.RECEIVE_RECEIPTS)
def receive_receipts(ctx: JobContext) -> None:
    fetched = ctx.connector.receive_receipts(ctx.ids)
    locations = ctx.location_to_warehouse()
    for incoming in not_yet_received(ctx, fetched, Receipt):
        po = referenced(ctx, PurchaseOrder, "PO", incoming.purchase_order_reference)
        if po is None:
            ctx.report.note(
                f"Receipt {incoming.external_id} names no purchase order of this account "
                f"({incoming.purchase_order_reference})."
            )
            continue
        label = f"Receipt {incoming.external_id} of PO {po.number}"
        check = carrier_check(ctx, ValidationDocument.RECEIPTS, incoming, label)
        if check is None:
            continue
        try:
            with transaction.atomic():
                record_receipt(
                    po,
                    locations.get(incoming.location) or po.warehouse,
                    [(line.sku, line.quantity) for line in incoming.lines],
                    ctx.ledger(AdjustmentReason.RECEIPT, f"PO {po.number}"),
                    channel=ctx.channel,
                    external_id=incoming.external_id,
                    carrier_code=incoming.carrier_code,
                    service_code=incoming.service_code,
                    tracking_number=incoming.tracking_number,
                    received_at=incoming.received_at,
                    validation_warnings=check.warnings_for_record(),
                )
        except IntegrityError:
            ctx.report.counts["already_received"] += 1
            continue
        ctx.report.counts["received"] += 1
        zero = [line.sku for line in incoming.lines if line.quantity == 0]
        if zero:
            ctx.report.counts["zero_quantity_lines"] += len(zero)
            ctx.report.note(f"Receipt {incoming.external_id} received 0 of {', '.join(zero)}.", problem=False)


@handles(JobType.IMPORT_INVENTORY)
def import_inventory(ctx: JobContext) -> None:
    fetched = ctx.connector.import_inventory()
    ctx.report.absorb(fetched)
    locations = ctx.location_to_warehouse()
    products = products_by_sku(ctx.account, {lv.sku for lv in fetched.items})
    unmapped, unknown = set(), set()
    for level in fetched.items:
        warehouse = locations.get(level.location)
        product = products.get(level.sku.upper())
        if warehouse is None:
            unmapped.add(level.location)
            continue
        if product is None:
            unknown.add(level.sku)
            continue
        entry = set_on_hand(product, warehouse, level.quantity, ctx.ledger(AdjustmentReason.CHANNEL_IMPORT))
        ctx.report.counts["updated" if entry else "unchanged"] += 1
    if unmapped:
        ctx.report.counts["unmapped_locations"] = len(unmapped)
        ctx.report.note(
            f"Locations without a warehouse mapping were skipped: {', '.join(sorted(map(str, unmapped)))}."
        )
    if unknown:
        ctx.report.counts["unknown_skus"] = len(unknown)
        shown = ", ".join(sorted(unknown)[:20])
        ctx.report.note(
            f"SKUs unknown to this account were skipped: {shown}{'…' if len(unknown) > 20 else ''}."
        )

"""Writes of documents arriving through the REST API (imports go through channels.sync):
each is checked against the account's API validation rules (orders.validation, the one
implementation imports use too), then stored with its lines in one transaction."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ValidationDocument, Warehouse
from catalog.models import AdjustmentReason, AdjustmentSource
from catalog.services import LedgerContext, adjust_inventory, products_by_sku

from .models import (
    OrderSource,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
    SalesOrder,
    SalesOrderLine,
    SalesOrderStatus,
    Shipment,
    ShipmentLine,
)
from .signals import purchase_orders_created, receipts_received, sales_orders_created, shipments_received
from .validation import ValidationOutcome, check_carrier_codes
from .workflow import release_shipped


class RuleViolation(ValidationError):
    """API validation rules at Error: field → [message], and the stable codes."""

    def __init__(self, outcome: ValidationOutcome):
        super().__init__({f.field: [ValidationError(f.message, code=f.code)] for f in outcome.errors})


def _checked(account: Account, document: str, data: dict) -> ValidationOutcome:
    outcome = check_carrier_codes(
        account, document, data.get("carrier_code", ""), data.get("service_code", "")
    )
    if outcome.errors:
        raise RuleViolation(outcome)
    return outcome


def _lines_with_products(account: Account, lines: list[dict], require_products: bool) -> dict:
    if not lines:
        raise ValidationError({"lines": ["At least one line is required."]})
    products = products_by_sku(account, [line["sku"] for line in lines])
    missing = [line["sku"] for line in lines if line["sku"].upper() not in products]
    if require_products and missing:
        raise ValidationError({"lines": [f"Unknown SKU {', '.join(missing)}."]})
    return products


def create_sales_order(account: Account, data: dict, source: str = OrderSource.API) -> SalesOrder:
    """`data`: the SalesOrder fields plus `lines` [{sku, quantity, unit_price?, name?}]."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.SALES_ORDERS, data)
    products = _lines_with_products(account, lines, require_products=False)
    if SalesOrder.objects.filter(account=account, channel__isnull=True, number=data.get("number")).exists():
        raise ValidationError({"number": ["An order with this number exists."]})
    with transaction.atomic():
        order = SalesOrder.objects.create(
            account=account,
            source=source,
            ordered_at=data.pop("ordered_at", None) or timezone.now(),
            validation_warnings=outcome.warnings_for_record(),
            total=sum((line.get("unit_price") or 0) * line["quantity"] for line in lines),
            **data,
        )
        SalesOrderLine.objects.bulk_create(
            SalesOrderLine(
                order=order,
                line_number=n,
                product=products.get(line["sku"].upper()),
                sku=line["sku"],
                name=line.get("name", ""),
                quantity=line["quantity"],
                unit_price=line.get("unit_price") or 0,
            )
            for n, line in enumerate(lines, start=1)
        )
        transaction.on_commit(
            lambda: sales_orders_created.send(sender=SalesOrder, account_id=account.pk, order_ids=(order.pk,))
        )
    return order


def create_purchase_order(account: Account, data: dict) -> PurchaseOrder:
    """`data`: the PurchaseOrder fields (warehouse of this account) plus `lines` [{sku, quantity}]."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.PURCHASE_ORDERS, data)
    products = _lines_with_products(account, lines, require_products=True)
    if data["warehouse"].account_id != account.pk:
        raise ValidationError({"warehouse": ["Select a warehouse of this account."]})
    if PurchaseOrder.objects.filter(account=account, number=data.get("number")).exists():
        raise ValidationError({"number": ["A purchase order with this number exists."]})
    with transaction.atomic():
        po = PurchaseOrder.objects.create(
            account=account, validation_warnings=outcome.warnings_for_record(), **data
        )
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(
                purchase_order=po,
                line_number=n,
                product=products[line["sku"].upper()],
                sku=products[line["sku"].upper()].sku,
                quantity=line["quantity"],
            )
            for n, line in enumerate(lines, start=1)
        )
        transaction.on_commit(
            lambda: purchase_orders_created.send(
                sender=PurchaseOrder, account_id=account.pk, purchase_order_ids=(po.pk,)
            )
        )
    return po


def _own_warehouse(account: Account, warehouse: Warehouse | None) -> None:
    if warehouse is not None and warehouse.account_id != account.pk:
        raise ValidationError({"warehouse": ["Select a warehouse of this account."]})


def _api_ledger(actor, reason: str, note: str) -> LedgerContext:
    return LedgerContext(reason=reason, source=AdjustmentSource.API, actor=actor, note=note)


def create_shipment(account: Account, data: dict, actor=None) -> Shipment:
    """`data`: sales_order and optional warehouse (both of this account), carrier and
    service codes, tracking_number, shipped_at?, `lines` [{sku, quantity}]. Like a
    shipment received from a fulfillment channel, it counts against the order's lines,
    moves the order to Partially Shipped/Shipped and takes the stock off the warehouse."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.SHIPMENTS, data)
    order = data["sales_order"]
    if order.account_id != account.pk:
        raise ValidationError({"sales_order": ["Select a sales order of this account."]})
    warehouse = data.get("warehouse") or order.warehouse
    _own_warehouse(account, warehouse)
    if not lines:
        raise ValidationError({"lines": ["At least one line is required."]})
    with transaction.atomic():
        shipment = Shipment.objects.create(
            account=account,
            warehouse=warehouse,
            shipped_at=data.pop("shipped_at", None) or timezone.now(),
            validation_warnings=outcome.warnings_for_record(),
            **{k: v for k, v in data.items() if k != "warehouse"},
        )
        # Lock the lines only: product is nullable (an outer join), which PostgreSQL refuses
        # to lock.
        order_lines = {
            li.sku.upper(): li for li in order.lines.select_for_update(of=("self",)).select_related("product")
        }
        for line in lines:
            order_line = order_lines.get(line["sku"].upper())
            product = order_line.product if order_line else None
            ShipmentLine.objects.create(
                shipment=shipment,
                order_line=order_line,
                product=product,
                sku=line["sku"],
                quantity=line["quantity"],
            )
            if order_line and line["quantity"]:
                order_line.quantity_shipped += line["quantity"]
                release_shipped(
                    order,
                    order_line,
                    line["quantity"],
                    _api_ledger(actor, AdjustmentReason.SHIPMENT, f"Order {order.number}"),
                )
                order_line.save(update_fields=["quantity_shipped", "quantity_reserved"])
            if product and warehouse and line["quantity"]:
                adjust_inventory(
                    product,
                    warehouse,
                    -line["quantity"],
                    _api_ledger(actor, AdjustmentReason.SHIPMENT, f"Order {order.number}"),
                )
        shipped = list(order_lines.values())
        if shipped and all(li.quantity_shipped >= li.quantity for li in shipped):
            order.status = SalesOrderStatus.SHIPPED
        elif any(li.quantity_shipped for li in shipped):
            order.status = SalesOrderStatus.PARTIALLY_SHIPPED
        order.save(update_fields=["status", "updated_at"])
        transaction.on_commit(
            lambda: shipments_received.send(
                sender=Shipment, account_id=account.pk, shipment_ids=(shipment.pk,)
            )
        )
    return shipment


def create_receipt(account: Account, data: dict, actor=None) -> Receipt:
    """`data`: purchase_order and optional warehouse (both of this account), carrier and
    service codes, tracking_number, received_at?, `lines` [{sku, quantity}]. Counts
    against the purchase order's lines and adds the stock to the warehouse."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.RECEIPTS, data)
    po = data["purchase_order"]
    if po.account_id != account.pk:
        raise ValidationError({"purchase_order": ["Select a purchase order of this account."]})
    warehouse = data.get("warehouse") or po.warehouse
    _own_warehouse(account, warehouse)
    if not lines:
        raise ValidationError({"lines": ["At least one line is required."]})
    with transaction.atomic():
        receipt = Receipt.objects.create(
            account=account,
            warehouse=warehouse,
            received_at=data.pop("received_at", None) or timezone.now(),
            validation_warnings=outcome.warnings_for_record(),
            **{k: v for k, v in data.items() if k != "warehouse"},
        )
        po_lines = {li.sku.upper(): li for li in po.lines.select_for_update().select_related("product")}
        for line in lines:
            po_line = po_lines.get(line["sku"].upper())
            ReceiptLine.objects.create(
                receipt=receipt,
                purchase_order_line=po_line,
                product=po_line.product if po_line else None,
                sku=line["sku"],
                quantity=line["quantity"],
            )
            if po_line and line["quantity"]:
                po_line.quantity_received += line["quantity"]
                po_line.save(update_fields=["quantity_received"])
                adjust_inventory(
                    po_line.product,
                    warehouse,
                    line["quantity"],
                    _api_ledger(actor, AdjustmentReason.RECEIPT, f"PO {po.number}"),
                )
        received = list(po_lines.values())
        if received and all(li.quantity_received >= li.quantity for li in received):
            po.status = PurchaseOrderStatus.RECEIVED
        elif any(li.quantity_received for li in received):
            po.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
        po.save(update_fields=["status", "updated_at"])
        transaction.on_commit(
            lambda: receipts_received.send(sender=Receipt, account_id=account.pk, receipt_ids=(receipt.pk,))
        )
    return receipt

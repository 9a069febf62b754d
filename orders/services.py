"""Writes of sales orders, purchase orders, shipments and receipts, whoever brings them:
the REST API, a person, or a channel job (automations.jobs). Documents from the API are
checked against the account's API validation rules here (orders.validation, the one
implementation channel jobs use too), then stored with their lines in one transaction;
shipments and receipts are recorded by one function each, whatever their source."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
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
    taken = SalesOrder.objects.filter(account=account, channel__isnull=True, number=data.get("number"))
    duplicate = ValidationError(
        {"number": [ValidationError("An order with this number exists.", code="unique")]}
    )
    if taken.exists():
        raise duplicate
    try:
        with transaction.atomic():
            order = store_sales_order(
                account,
                lines,
                products,
                source=source,
                ordered_at=data.pop("ordered_at", None) or timezone.now(),
                validation_warnings=outcome.warnings_for_record(),
                **data,
            )
            announce_sales_orders(account.pk, [order.pk])
    except IntegrityError:
        # Another request with this number won the race past the check above.
        if taken.exists():
            raise duplicate from None
        raise
    return order


def _check_amounts(lines: list[dict]) -> None:
    """Quantities, prices and the total (the lines' sum) must fit their columns, whoever
    sends the order (the API, a platform): PostgreSQL would refuse the order with an
    error, and SQLite would store it and then fail every read of the order list."""
    for n, line in enumerate(lines, start=1):
        for field, value in (
            ("quantity", line["quantity"]),
            ("unit_price", Decimal(line.get("unit_price") or 0)),
        ):
            try:
                SalesOrderLine._meta.get_field(field).run_validators(value)
            except ValidationError as error:
                refusal = error.error_list[0]
                message = f"Line {n} ({line['sku']}), {field.replace('_', ' ')}: {refusal.messages[0]}"
                raise ValidationError({"lines": [ValidationError(message, code=refusal.code)]}) from None
    total = sum(((line.get("unit_price") or 0) * line["quantity"] for line in lines), start=Decimal(0))
    try:
        SalesOrder._meta.get_field("total").run_validators(total)
    except ValidationError as error:
        refusal = error.error_list[0]
        message = f"The lines' total, {total}, is too large: {refusal.messages[0]}"
        raise ValidationError({"lines": [ValidationError(message, code=refusal.code)]}) from None


def store_sales_order(account: Account, lines: list[dict], products: dict, **fields) -> SalesOrder:
    """Store an order and its lines (`lines`: {sku, quantity, unit_price?, name?};
    `products` by upper-cased SKU), in the caller's transaction: the API's orders and the
    ones Import Orders brings are made here alike. The total is the lines' sum.
    ValidationError (nothing stored) when an amount does not fit its column."""
    return save_sales_orders([prepare_sales_order(account, lines, products, **fields)])[0]


def prepare_sales_order(
    account: Account, lines: list[dict], products: dict, **fields
) -> tuple[SalesOrder, list[SalesOrderLine]]:
    """The order and its lines as store_sales_order makes them, checked but not saved
    (save_sales_orders saves many in a few statements); ValidationError when an amount
    does not fit its column."""
    _check_amounts(lines)
    order = SalesOrder(
        account=account,
        total=sum(((line.get("unit_price") or 0) * line["quantity"] for line in lines), start=0),
        **fields,
    )
    order_lines = [
        SalesOrderLine(
            line_number=n,
            product=products.get(line["sku"].upper()),
            sku=line["sku"],
            name=line.get("name", ""),
            quantity=line["quantity"],
            unit_price=line.get("unit_price") or 0,
        )
        for n, line in enumerate(lines, start=1)
    ]
    return order, order_lines


def save_sales_orders(prepared: list[tuple[SalesOrder, list[SalesOrderLine]]]) -> list[SalesOrder]:
    """Insert prepared orders (prepare_sales_order) and their lines in the caller's
    transaction, one INSERT for the orders and one for the lines: a page of imported
    orders costs two statements, not two an order."""
    orders = SalesOrder.objects.bulk_create([order for order, _ in prepared])
    for order, order_lines in prepared:
        for line in order_lines:
            line.order = order
    SalesOrderLine.objects.bulk_create([line for _, order_lines in prepared for line in order_lines])
    return orders


def announce_sales_orders(account_id: int, order_ids: list[int]) -> None:
    """Tell the order workflows once these orders are committed (one message per batch)."""
    if order_ids:
        ids = tuple(order_ids)
        transaction.on_commit(
            lambda: sales_orders_created.send(sender=SalesOrder, account_id=account_id, order_ids=ids)
        )


def create_purchase_order(account: Account, data: dict) -> PurchaseOrder:
    """`data`: the PurchaseOrder fields (warehouse of this account) plus `lines` [{sku, quantity}]."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.PURCHASE_ORDERS, data)
    products = _lines_with_products(account, lines, require_products=True)
    if data["warehouse"].account_id != account.pk:
        raise ValidationError({"warehouse": ["Select a warehouse of this account."]})
    taken = PurchaseOrder.objects.filter(account=account, number=data.get("number"))
    duplicate = ValidationError(
        {"number": [ValidationError("A purchase order with this number exists.", code="unique")]}
    )
    if taken.exists():
        raise duplicate
    try:
        return _store_purchase_order(account, data, lines, products, outcome)
    except IntegrityError:
        # Another request with this number won the race past the check above.
        if taken.exists():
            raise duplicate from None
        raise


def _store_purchase_order(account: Account, data: dict, lines, products, outcome) -> PurchaseOrder:
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
    service codes, tracking_number, shipped_at?, `lines` [{sku, quantity}]."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.SHIPMENTS, data)
    order = data.pop("sales_order")
    if order.account_id != account.pk:
        raise ValidationError({"sales_order": ["Select a sales order of this account."]})
    warehouse = data.pop("warehouse", None) or order.warehouse
    _own_warehouse(account, warehouse)
    if not lines:
        raise ValidationError({"lines": ["At least one line is required."]})
    with transaction.atomic():
        return record_shipment(
            order,
            warehouse,
            [(line["sku"], line["quantity"]) for line in lines],
            _api_ledger(actor, AdjustmentReason.SHIPMENT, f"Order {order.number}"),
            shipped_at=data.pop("shipped_at", None) or timezone.now(),
            validation_warnings=outcome.warnings_for_record(),
            **data,
        )


def record_shipment(
    order: SalesOrder,
    warehouse: Warehouse | None,
    lines: list[tuple[str, int]],
    ledger: LedgerContext,
    **fields,
) -> Shipment:
    """The one way a shipment is recorded, from the API or a fulfillment channel, in the
    caller's transaction: its lines (sku, quantity) count against the order's lines, the
    units shipped give back their reservation and leave the warehouse, and the order moves
    to Partially Shipped or Shipped. `fields`: the Shipment's own (channel, external_id,
    carrier and service codes, tracking number, shipped_at, validation warnings)."""
    shipment = Shipment.objects.create(
        account_id=order.account_id, sales_order=order, warehouse=warehouse, **fields
    )
    # Lock the lines only: product is nullable (an outer join), which PostgreSQL refuses
    # to lock.
    order_lines = {
        li.sku.upper(): li for li in order.lines.select_for_update(of=("self",)).select_related("product")
    }
    for sku, quantity in lines:
        order_line = order_lines.get(sku.upper())
        product = order_line.product if order_line else None
        ShipmentLine.objects.create(
            shipment=shipment, order_line=order_line, product=product, sku=sku, quantity=quantity
        )
        if order_line and quantity:
            order_line.quantity_shipped += quantity
            release_shipped(order, order_line, quantity, ledger)
            order_line.save(update_fields=["quantity_shipped", "quantity_reserved"])
        if product and warehouse and quantity:
            adjust_inventory(product, warehouse, -quantity, ledger)
    shipped = list(order_lines.values())
    if shipped and all(li.quantity_shipped >= li.quantity for li in shipped):
        order.status = SalesOrderStatus.SHIPPED
    elif any(li.quantity_shipped for li in shipped):
        order.status = SalesOrderStatus.PARTIALLY_SHIPPED
    order.save(update_fields=["status", "updated_at"])
    transaction.on_commit(
        lambda: shipments_received.send(
            sender=Shipment, account_id=order.account_id, shipment_ids=(shipment.pk,)
        )
    )
    return shipment


def create_receipt(account: Account, data: dict, actor=None) -> Receipt:
    """`data`: purchase_order and optional warehouse (both of this account), carrier and
    service codes, tracking_number, received_at?, `lines` [{sku, quantity}]."""
    data = dict(data)
    lines = data.pop("lines", [])
    outcome = _checked(account, ValidationDocument.RECEIPTS, data)
    po = data.pop("purchase_order")
    if po.account_id != account.pk:
        raise ValidationError({"purchase_order": ["Select a purchase order of this account."]})
    warehouse = data.pop("warehouse", None) or po.warehouse
    _own_warehouse(account, warehouse)
    if not lines:
        raise ValidationError({"lines": ["At least one line is required."]})
    with transaction.atomic():
        return record_receipt(
            po,
            warehouse,
            [(line["sku"], line["quantity"]) for line in lines],
            _api_ledger(actor, AdjustmentReason.RECEIPT, f"PO {po.number}"),
            received_at=data.pop("received_at", None) or timezone.now(),
            validation_warnings=outcome.warnings_for_record(),
            **data,
        )


def record_receipt(
    po: PurchaseOrder, warehouse: Warehouse, lines: list[tuple[str, int]], ledger: LedgerContext, **fields
) -> Receipt:
    """The one way a receipt is recorded, from the API or a fulfillment channel, in the
    caller's transaction: its lines count against the purchase order's, the units arrive
    in the warehouse, and the purchase order moves to Partially Received or Received."""
    receipt = Receipt.objects.create(
        account_id=po.account_id, purchase_order=po, warehouse=warehouse, **fields
    )
    po_lines = {
        li.sku.upper(): li for li in po.lines.select_for_update(of=("self",)).select_related("product")
    }
    for sku, quantity in lines:
        po_line = po_lines.get(sku.upper())
        ReceiptLine.objects.create(
            receipt=receipt,
            purchase_order_line=po_line,
            product=po_line.product if po_line else None,
            sku=sku,
            quantity=quantity,
        )
        if po_line and quantity:
            po_line.quantity_received += quantity
            po_line.save(update_fields=["quantity_received"])
            adjust_inventory(po_line.product, warehouse, quantity, ledger)
    received = list(po_lines.values())
    if received and all(li.quantity_received >= li.quantity for li in received):
        po.status = PurchaseOrderStatus.RECEIVED
    elif any(li.quantity_received for li in received):
        po.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.save(update_fields=["status", "updated_at"])
    transaction.on_commit(
        lambda: receipts_received.send(sender=Receipt, account_id=po.account_id, receipt_ids=(receipt.pk,))
    )
    return receipt


def mark_tracking_exported(shipment_ids: list[int]) -> None:
    """The sales channel has these shipments' tracking: Export Tracking sends each once."""
    if shipment_ids:
        Shipment.objects.filter(pk__in=shipment_ids).update(tracking_exported_at=timezone.now())

"""Writes of sales orders, purchase orders, shipments and receipts, whoever brings them:
the REST API, a person, or a channel job (automations.jobs). Documents from the API are
checked against the account's API validation rules here (orders.validation, the one
implementation channel jobs use too), then stored with their lines in one transaction;
shipments and receipts are recorded by one function each, whatever their source."""

import dataclasses
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account, ValidationDocument, Warehouse
from catalog.models import AdjustmentReason, AdjustmentSource
from catalog.services import LedgerContext, LevelChange, adjust_inventory_many, products_by_sku

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


@dataclasses.dataclass(frozen=True)
class Arriving:
    """A shipment or receipt to record: the order or purchase order it belongs to, the
    warehouse, its lines (sku, quantity), the ledger's context and the record's own
    fields (channel, external_id, carrier and service codes, tracking number,
    shipped_at or received_at, validation warnings)."""

    document: SalesOrder | PurchaseOrder
    warehouse: Warehouse | None
    lines: list[tuple[str, int]]
    ledger: LedgerContext
    fields: dict = dataclasses.field(default_factory=dict)


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
    return record_shipments([Arriving(order, warehouse, lines, ledger, fields)])[0]


def record_shipments(arriving: list[Arriving]) -> list[Shipment]:
    """record_shipment for several shipments at once, in the caller's transaction, as if
    recorded one after the other (the same rows, ledger entries in the same order), in a
    few statements: the orders' lines are locked together, the shipments, their lines
    and ledger entries inserted at once, and shipments_received sent once."""
    if not arriving:
        return []
    shipments = Shipment.objects.bulk_create(
        Shipment(account_id=a.document.account_id, sales_order=a.document, warehouse=a.warehouse, **a.fields)
        for a in arriving
    )
    orders: dict[int, SalesOrder] = {}
    # Lock the lines only: product is nullable (an outer join), which PostgreSQL refuses
    # to lock.
    order_lines = _locked_lines(
        SalesOrderLine.objects.filter(order_id__in={a.document.pk for a in arriving}), "order_id"
    )
    shipment_lines, changes, touched = [], [], {}
    for arrival, shipment in zip(arriving, shipments, strict=True):
        order = orders.setdefault(arrival.document.pk, arrival.document)
        by_sku = order_lines[order.pk]
        for sku, quantity in arrival.lines:
            order_line = by_sku.get(sku.upper())
            product = order_line.product if order_line else None
            shipment_lines.append(
                ShipmentLine(
                    shipment=shipment, order_line=order_line, product=product, sku=sku, quantity=quantity
                )
            )
            if order_line and quantity:
                order_line.quantity_shipped += quantity
                released = release_shipped(order, order_line, quantity)
                if released:
                    changes.append(
                        LevelChange(order_line.product, order.warehouse, 0, arrival.ledger, -released)
                    )
                touched[order_line.pk] = order_line
            if product and arrival.warehouse and quantity:
                changes.append(LevelChange(product, arrival.warehouse, -quantity, arrival.ledger))
        shipped = list(by_sku.values())
        if shipped and all(li.quantity_shipped >= li.quantity for li in shipped):
            order.status = SalesOrderStatus.SHIPPED
        elif any(li.quantity_shipped for li in shipped):
            order.status = SalesOrderStatus.PARTIALLY_SHIPPED
    ShipmentLine.objects.bulk_create(shipment_lines)
    _save_lines(SalesOrderLine, touched.values(), ["quantity_shipped", "quantity_reserved"])
    adjust_inventory_many(changes)
    _save_statuses(SalesOrder, orders.values())
    _announce(shipments_received, Shipment, "shipment_ids", shipments)
    return shipments


def _locked_lines(lines, document_field: str) -> dict[int, dict]:
    """Document id → its lines by upper-cased SKU (the last line of a SKU wins), locked,
    in line order."""
    locked: dict[int, dict] = defaultdict(dict)
    for line in (
        lines.select_for_update(of=("self",))
        .select_related("product")
        .order_by(document_field, "line_number")
    ):
        locked[getattr(line, document_field)][line.sku.upper()] = line
    return locked


# More distinct values than this among a batch's lines: one bulk_update instead.
DISTINCT_LINE_VALUES = 20


def _save_lines(model, lines, fields: list[str]) -> None:
    """Save `fields` of these lines: one UPDATE per distinct set of values, as a batch's
    lines mostly share them (measured: bulk_update's CASE per line cost more than the
    writes themselves, 0.37 s of 0.66 s for 200 shipments)."""
    lines = list(lines)
    groups: dict[tuple, list[int]] = defaultdict(list)
    for line in lines:
        groups[tuple(getattr(line, f) for f in fields)].append(line.pk)
    if len(groups) > DISTINCT_LINE_VALUES:
        model.objects.bulk_update(lines, fields)
        return
    for values, pks in groups.items():
        model.objects.filter(pk__in=pks).update(**dict(zip(fields, values, strict=True)))


def _save_statuses(model, documents) -> None:
    """Save each document's status (and updated_at): one UPDATE per status."""
    now = timezone.now()
    by_status: dict[str, list[int]] = defaultdict(list)
    for document in documents:
        document.updated_at = now
        by_status[document.status].append(document.pk)
    for status, pks in by_status.items():
        model.objects.filter(pk__in=pks).update(status=status, updated_at=now)


def _announce(signal, sender, ids_argument: str, records) -> None:
    """Send `signal` once these records are committed, once per account."""
    by_account: dict[int, list[int]] = defaultdict(list)
    for record in records:
        by_account[record.account_id].append(record.pk)
    for account_id, pks in by_account.items():
        ids = tuple(pks)
        transaction.on_commit(
            lambda account_id=account_id, ids=ids: signal.send(
                sender=sender, account_id=account_id, **{ids_argument: ids}
            )
        )


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
    return record_receipts([Arriving(po, warehouse, lines, ledger, fields)])[0]


def record_receipts(arriving: list[Arriving]) -> list[Receipt]:
    """record_receipt for several receipts at once, as record_shipments does shipments."""
    if not arriving:
        return []
    receipts = Receipt.objects.bulk_create(
        Receipt(
            account_id=a.document.account_id, purchase_order=a.document, warehouse=a.warehouse, **a.fields
        )
        for a in arriving
    )
    pos: dict[int, PurchaseOrder] = {}
    po_lines = _locked_lines(
        PurchaseOrderLine.objects.filter(purchase_order_id__in={a.document.pk for a in arriving}),
        "purchase_order_id",
    )
    receipt_lines, changes, touched = [], [], {}
    for arrival, receipt in zip(arriving, receipts, strict=True):
        po = pos.setdefault(arrival.document.pk, arrival.document)
        by_sku = po_lines[po.pk]
        for sku, quantity in arrival.lines:
            po_line = by_sku.get(sku.upper())
            receipt_lines.append(
                ReceiptLine(
                    receipt=receipt,
                    purchase_order_line=po_line,
                    product=po_line.product if po_line else None,
                    sku=sku,
                    quantity=quantity,
                )
            )
            if po_line and quantity:
                po_line.quantity_received += quantity
                touched[po_line.pk] = po_line
                changes.append(LevelChange(po_line.product, arrival.warehouse, quantity, arrival.ledger))
        received = list(by_sku.values())
        if received and all(li.quantity_received >= li.quantity for li in received):
            po.status = PurchaseOrderStatus.RECEIVED
        elif any(li.quantity_received for li in received):
            po.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    ReceiptLine.objects.bulk_create(receipt_lines)
    _save_lines(PurchaseOrderLine, touched.values(), ["quantity_received"])
    adjust_inventory_many(changes)
    _save_statuses(PurchaseOrder, pos.values())
    _announce(receipts_received, Receipt, "receipt_ids", receipts)
    return receipts


def mark_tracking_exported(shipment_ids: list[int]) -> None:
    """The sales channel has these shipments' tracking: Export Tracking sends each once."""
    if shipment_ids:
        Shipment.objects.filter(pk__in=shipment_ids).update(tracking_exported_at=timezone.now())

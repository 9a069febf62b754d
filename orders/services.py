"""Writes of documents arriving through the REST API (imports go through channels.sync):
each is checked against the account's API validation rules, then stored with its lines
in one transaction."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, ValidationDocument
from catalog.services import products_by_sku

from .models import OrderSource, PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine
from .signals import sales_orders_created
from .validation import ValidationOutcome, check_carrier_codes


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
    return po

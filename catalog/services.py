"""Writes to products and inventory. Every change of a level goes through
`adjust_inventory` (`adjust_inventory_many` for a batch) or `set_on_hand`, which write the
ledger entry in the same transaction and announce the change on commit (for real-time
inventory pushes)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, User, Warehouse

from . import units
from .models import AdjustmentReason, AdjustmentSource, InventoryAdjustment, InventoryLevel, Product
from .signals import inventory_changed

PRODUCT_FIELDS = ("sku", "name", "description", "barcode", "price", "is_active")
# A level's columns are PostgreSQL integers there; SQLite would store more, so the
# range is checked here for both.
LEVEL_RANGE = range(-(2**31), 2**31)
DIMENSION_FIELDS = ("length", "width", "height")


@dataclass(frozen=True)
class LedgerContext:
    """Why and by whom a level changes: the ledger columns besides the quantities."""

    reason: str
    source: str
    actor: User | None = None
    channel_id: int | None = None
    job_run_id: int | None = None
    note: str = ""


def products_by_sku(account: Account, skus) -> dict[str, Product]:
    """Products of these SKUs keyed by upper-case SKU (SKUs are case-insensitive)."""
    wanted = {s.strip().upper() for s in skus if s}
    if not wanted:
        return {}
    query = Q()
    for sku in wanted:
        query |= Q(sku__iexact=sku)
    return {p.sku.upper(): p for p in Product.objects.filter(account=account).filter(query)}


def _announce(account_id: int, product_ids, warehouse_id: int) -> None:
    ids = tuple(product_ids)
    transaction.on_commit(
        lambda: inventory_changed.send(
            sender=InventoryLevel,
            account_id=account_id,
            product_ids=ids,
            warehouse_ids=(warehouse_id,),
        )
    )


@dataclass(frozen=True)
class LevelChange:
    """One change of a level: on hand by `quantity`, reserved by `reserved`."""

    product: Product
    warehouse: Warehouse
    quantity: int
    context: LedgerContext
    reserved: int = 0


def adjust_inventory(
    product: Product, warehouse: Warehouse, quantity: int, context: LedgerContext, reserved: int = 0
) -> InventoryAdjustment | None:
    """Change on hand by `quantity` (and reserved by `reserved`); None if both are 0."""
    return adjust_inventory_many([LevelChange(product, warehouse, quantity, context, reserved)])[0]


def adjust_inventory_many(changes: list[LevelChange]) -> list[InventoryAdjustment | None]:
    """Apply the changes in their order, each with its ledger entry exactly as if made
    one after the other (None for a change of 0 and 0), in one transaction and a few
    statements: the levels are locked together (product order, as allocation locks
    them), each written once, the entries inserted at once, and the change announced
    once per warehouse. A change out of range stores none of them (ValidationError)."""
    if any(c.product.account_id != c.warehouse.account_id for c in changes):
        raise ValidationError({"warehouse": ["Select a warehouse of this account."]})
    effective = [c for c in changes if c.quantity or c.reserved]
    if not effective:
        return [None] * len(changes)
    keys = {(c.product.pk, c.warehouse.pk) for c in effective}
    with transaction.atomic():
        levels = _locked_levels(keys)
        missing = keys - levels.keys()
        if missing:
            InventoryLevel.objects.bulk_create(
                [InventoryLevel(product_id=p, warehouse_id=w) for p, w in sorted(missing)],
                ignore_conflicts=True,
            )
            levels |= _locked_levels(missing)
        entries = {}
        for n, change in enumerate(changes):
            if not (change.quantity or change.reserved):
                continue
            level = levels[change.product.pk, change.warehouse.pk]
            level.on_hand += change.quantity
            level.reserved += change.reserved
            if level.on_hand not in LEVEL_RANGE or level.reserved not in LEVEL_RANGE:
                message = "The stock level would leave the range it can be stored in."
                raise ValidationError({"quantity": [ValidationError(message, code="out_of_range")]})
            entries[n] = _entry(change, level)
        now = timezone.now()
        for level in levels.values():
            level.updated_at = now
        InventoryLevel.objects.bulk_update(list(levels.values()), ["on_hand", "reserved", "updated_at"])
        InventoryAdjustment.objects.bulk_create(entries.values())
        touched: dict[tuple[int, int], set[int]] = {}
        for change in effective:
            key = (change.product.account_id, change.warehouse.pk)
            touched.setdefault(key, set()).add(change.product.pk)
        for (account_id, warehouse_id), product_ids in touched.items():
            _announce(account_id, sorted(product_ids), warehouse_id)
    return [entries.get(n) for n in range(len(changes))]


def _locked_levels(keys) -> dict[tuple[int, int], InventoryLevel]:
    query = Q()
    for product_id, warehouse_id in keys:
        query |= Q(product_id=product_id, warehouse_id=warehouse_id)
    return {
        (lv.product_id, lv.warehouse_id): lv
        for lv in InventoryLevel.objects.select_for_update()
        .filter(query)
        .order_by("product_id", "warehouse_id")
    }


def _entry(change: LevelChange, level: InventoryLevel) -> InventoryAdjustment:
    context = change.context
    return InventoryAdjustment(
        account_id=change.product.account_id,
        product=change.product,
        warehouse=change.warehouse,
        quantity=change.quantity,
        reserved_quantity=change.reserved,
        on_hand_after=level.on_hand,
        reserved_after=level.reserved,
        reason=context.reason,
        source=context.source,
        # An API key is no person: the source column says it came through the API.
        actor=context.actor if isinstance(context.actor, User) else None,
        channel_id=context.channel_id,
        job_run_id=context.job_run_id,
        note=context.note[:255],
    )


def set_on_hand(
    product: Product, warehouse: Warehouse, on_hand: int, context: LedgerContext
) -> InventoryAdjustment | None:
    """Make on hand equal to a counted quantity; the ledger records the difference."""
    with transaction.atomic():
        level, _ = InventoryLevel.objects.select_for_update().get_or_create(
            product=product, warehouse=warehouse
        )
        return adjust_inventory(product, warehouse, on_hand - level.on_hand, context)


def manual_adjustment(
    actor: User | None,
    account: Account,
    *,
    product: Product,
    warehouse: Warehouse,
    quantity: int,
    reason: str = AdjustmentReason.MANUAL,
    note: str = "",
    source: str = AdjustmentSource.MANUAL,
) -> InventoryAdjustment:
    """An adjustment a person (page) or a REST client (API) makes."""
    errors = {}
    if product.account_id != account.pk:
        errors["product"] = ["Select a product of this account."]
    if warehouse.account_id != account.pk:
        errors["warehouse"] = ["Select a warehouse of this account."]
    if reason not in AdjustmentReason.values:
        errors["reason"] = ["Select a reason."]
    if not isinstance(quantity, int) or quantity == 0:
        errors["quantity"] = ["Enter a quantity other than 0 (negative to remove stock)."]
    if errors:
        raise ValidationError(errors)
    return adjust_inventory(
        product, warehouse, quantity, LedgerContext(reason, source, actor=actor, note=note)
    )


def save_product(account: Account, values: dict, product: Product | None = None) -> Product:
    """Create or update a product from values in the account's units (length, weight…)."""
    product = product or Product(account=account)
    for field in PRODUCT_FIELDS:
        if field in values:
            setattr(product, field, values[field])
    product.sku = (product.sku or "").strip()
    for dim in DIMENSION_FIELDS:
        if dim in values:
            setattr(product, f"{dim}_mm", units.to_mm(values[dim], account.size_unit))
    if "weight" in values:
        product.weight_g = units.to_g(values["weight"], account.weight_unit)
    errors = {}
    try:
        product.full_clean(exclude=["account", "source_channel"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.error_dict)  # each rule's code (max_length, max_digits, …) kept
    clash = Product.objects.filter(account=account, sku__iexact=product.sku).exclude(pk=product.pk)
    if product.sku and clash.exists():
        message = "This account already has a product with this SKU."
        errors.setdefault("sku", []).append(ValidationError(message, code="unique"))
    if errors:
        raise ValidationError(errors)
    product.save()
    return product

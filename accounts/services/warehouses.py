"""An account's warehouses: added, edited, deactivated, each change audited.

Warehouses are deactivated, never deleted: orders, receipts and stock refer to them.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import Account, User, Warehouse
from ..selectors import account_access
from .common import Change, merge_errors, record_audit, require, yes_no

WAREHOUSE_FIELDS = ("name", "code", "address")


def _validate_warehouse(warehouse: Warehouse) -> None:
    errors: dict[str, list] = {}
    try:
        warehouse.full_clean(exclude=["account"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        merge_errors(errors, exc.error_dict)
    duplicate = Warehouse.objects.filter(
        account_id=warehouse.account_id, code__iexact=warehouse.code
    ).exclude(pk=warehouse.pk)
    if warehouse.code and duplicate.exists():
        merge_errors(
            errors,
            {
                "code": [
                    ValidationError("This account already has a warehouse with this code.", code="unique")
                ]
            },
        )
    if errors:
        raise ValidationError(errors)


def create_warehouse(actor: User, account: Account, *, dry_run: bool = False, **fields) -> Warehouse:
    """With dry_run, the warehouse is checked and returned unsaved."""
    require(account_access(actor, account.pk).can_manage_warehouses)
    warehouse = Warehouse(account=account, **{f: (fields.get(f) or "").strip() for f in WAREHOUSE_FIELDS})
    warehouse.code = warehouse.code.upper()
    _validate_warehouse(warehouse)
    if dry_run:
        return warehouse
    with transaction.atomic():
        warehouse.save()
        record_audit(
            actor,
            account,
            account.organization,
            "warehouse_created",
            [Change("Warehouse", "—", str(warehouse))],
        )
    return warehouse


def update_warehouse(actor: User, warehouse: Warehouse, *, dry_run: bool = False, **fields) -> Warehouse:
    """Applies the fields to `warehouse`; with dry_run, checks them and saves nothing."""
    account = warehouse.account
    require(account_access(actor, account.pk).can_manage_warehouses)
    before = Warehouse.objects.get(pk=warehouse.pk)
    for field in WAREHOUSE_FIELDS:
        if field in fields:
            setattr(warehouse, field, (fields[field] or "").strip())
    warehouse.code = warehouse.code.upper()
    _validate_warehouse(warehouse)
    changes = [
        Change(
            f"Warehouse {before.code}: {Warehouse._meta.get_field(f).verbose_name}",
            getattr(before, f) or "—",
            getattr(warehouse, f) or "—",
        )
        for f in WAREHOUSE_FIELDS
        if getattr(before, f) != getattr(warehouse, f)
    ]
    if changes and not dry_run:
        with transaction.atomic():
            warehouse.save()
            record_audit(actor, account, account.organization, "warehouse_changed", changes)
    return warehouse


def set_warehouse_active(
    actor: User, warehouse: Warehouse, active: bool, *, dry_run: bool = False
) -> Warehouse:
    account = warehouse.account
    require(account_access(actor, account.pk).can_manage_warehouses)
    if not active and account.default_warehouse_id == warehouse.pk:
        raise ValidationError(
            {
                "is_active": [
                    ValidationError(
                        "This is the account's Default Warehouse: choose another default first.",
                        code="default_warehouse",
                    )
                ]
            }
        )
    if warehouse.is_active != active and not dry_run:
        with transaction.atomic():
            Warehouse.objects.filter(pk=warehouse.pk).update(is_active=active)
            warehouse.is_active = active
            record_audit(
                actor,
                account,
                account.organization,
                "warehouse_changed",
                [Change(f"Warehouse {warehouse.code}: Active", yes_no(not active), yes_no(active))],
            )
    return warehouse

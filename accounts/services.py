"""Writes to organizations, accounts, warehouses and roles.

Each change is validated and applied by one function here, which the pages, the REST
API and the admin all call, so that they cannot disagree on a rule. Every saved change
writes audit entries; settings changes notify listeners (the schedule reconciler) on
commit.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from automations.reconciler import reconcile_account

from . import api_keys
from .models import (
    ACCOUNT_ROLES,
    METRIC_UNITS,
    ORGANIZATION_ROLES,
    Account,
    ApiValidationRule,
    AuditEntry,
    MasterProductSource,
    Organization,
    RoleAssignment,
    User,
    ValidationCheck,
    ValidationDocument,
    Warehouse,
)
from .selectors import Actor, ApiKeyActor, account_access, organization_access, organizations_for
from .signals import account_settings_changed

# Product jobs follow these: which are hidden, offered, and where Import Products runs.
PRODUCT_SOURCE_FIELDS = {"master_product_source", "master_product_channel"}
# The settings of the Main tab, in the order the page shows them.
ACCOUNT_SETTINGS_FIELDS = (
    "organization",
    "name",
    "code",
    "timezone",
    "license_type",
    "size_unit",
    "volume_unit",
    "weight_unit",
    "master_product_source",
    "master_product_channel",
    "default_warehouse",
    "auto_sales_order_workflow",
    "auto_purchase_order_workflow",
    "inventory_realtime_updates",
    "pii_retention_days",
)
ORGANIZATION_LEVEL_FIELDS = {"organization", "license_type"}
NOT_ALLOWED = "Only Organization Administrators and Supervisors can change this field."


class StaleVersionError(Exception):
    """Someone else saved the same tab since the caller read it."""

    def __init__(self, current_version: int, changed_by: str | None = None, changed_at=None):
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        who = f" by {changed_by}" if changed_by else ""
        super().__init__(
            f"These settings were changed{who} since you opened them. "
            "Nothing was saved: reload to see the current values, then make your change again."
        )


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


def _display(account: Account, field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    model_field = Account._meta.get_field(field)
    if model_field.choices and not model_field.is_relation:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


def record_audit(
    actor: Actor | None,
    account: Account | None,
    organization: Organization,
    action: str,
    changes: list[Change],
) -> None:
    now = timezone.now()
    if isinstance(actor, ApiKeyActor):
        person, label = None, actor.label
    else:
        person, label = actor, actor.email if actor else "system"
    AuditEntry.objects.bulk_create(
        AuditEntry(
            organization=organization,
            account=account,
            actor=person,
            actor_label=label,
            at=now,
            action=action,
            field=c.field,
            old_value=c.old,
            new_value=c.new,
        )
        for c in changes
    )


def _last_change_by(account: Account) -> tuple[str | None, Any]:
    entry = AuditEntry.objects.filter(account=account).first()
    return (entry.actor_label, entry.at) if entry else (None, None)


def _require(access_flag: bool) -> None:
    if not access_flag:
        raise PermissionDenied("You do not have permission to make this change.")


def require_settings_edit(actor: Actor | None, account: Account, message: str) -> None:
    """For other apps' services: the actor may change this account's configuration.
    None is the system (demo seed, jobs); another tenant's account raises Http404."""
    if actor is not None and not account_access(actor, account.pk).can_edit_settings:
        raise PermissionDenied(message)


def _resolve_relations(actor: Actor, current: Account, changes: dict, errors: dict) -> dict:
    """Turn ids of related objects into objects found inside the actor's scope."""
    scopes = {
        # The current organization always resolves: keeping it is no change, whoever saves.
        "organization": (
            Organization.objects.filter(
                Q(pk__in=organizations_for(actor).values("pk")) | Q(pk=current.organization_id)
            ),
            "Select one of your organizations.",
        ),
        "default_warehouse": (
            current.warehouses.filter(is_active=True),
            "Select an active warehouse of this account.",
        ),
        "master_product_channel": (current.channels.all(), "Select a channel of this account."),
    }
    resolved = dict(changes)
    for field, (queryset, message) in scopes.items():
        if field not in changes:
            continue
        value = changes[field]
        if value in (None, ""):
            resolved[field] = None
            continue
        pk = getattr(value, "pk", value)
        try:
            resolved[field] = queryset.get(pk=int(pk))
        except (ValueError, TypeError, queryset.model.DoesNotExist):
            errors[field] = [ValidationError(message, code="does_not_exist")]
            resolved.pop(field)
    return resolved


def _settings_rule_errors(candidate: Account) -> dict[str, list[str]]:
    """Rules between fields, which no single field can check alone."""
    errors: dict[str, list[str]] = {}
    if (candidate.size_unit in METRIC_UNITS) != (candidate.volume_unit in METRIC_UNITS):
        message = (
            "Size and Volume must be of the same system: Centimeter with Cubic Centimeter, "
            "or Inch with Cubic Inch."
        )
        errors["size_unit"] = [ValidationError(message, code="unit_system_mismatch")]
        errors["volume_unit"] = [ValidationError(message, code="unit_system_mismatch")]
    source = candidate.master_product_source
    channel = candidate.master_product_channel
    if source != MasterProductSource.TECHOMS:
        label = MasterProductSource(source).label if source in MasterProductSource.values else source
        if channel is None:
            errors["master_product_channel"] = [
                ValidationError(f"Select the master channel for the source {label}.", code="required")
            ]
        elif channel.kind != source:
            errors["master_product_channel"] = [
                ValidationError(f"Select a channel of the kind {label}.", code="wrong_channel_kind")
            ]
        elif not channel.platform_info.supports_product_import:
            errors["master_product_channel"] = [
                ValidationError(
                    "This channel's platform does not support product import.", code="no_product_import"
                )
            ]
        elif not channel.is_active:
            errors["master_product_channel"] = [
                ValidationError("This channel is inactive.", code="inactive_channel")
            ]
    code = candidate.code
    if code and Account.objects.filter(code__iexact=code).exclude(pk=candidate.pk).exists():
        errors.setdefault("code", []).append(
            ValidationError("An account with this code already exists.", code="unique")
        )
    return errors


def _merge(errors: dict, more: dict) -> None:
    for field, messages in more.items():
        errors.setdefault(field, [])
        errors[field].extend(m for m in messages if m not in errors[field])


def update_account_settings(
    actor: Actor,
    account: Account,
    changes: dict[str, Any],
    expected_version: int | None,
    *,
    dry_run: bool = False,
) -> Account:
    """Validate and apply Main-tab settings; all or nothing.

    With dry_run, everything is validated and the would-be account returned unsaved
    (the Master Product Source preflight asks before it changes anything).

    Raises ValidationError (a dict of field → messages), StaleVersionError, or
    PermissionDenied; Http404 when the account is outside the actor's scope.
    """
    access = account_access(actor, account.pk)
    _require(access.can_edit_settings)
    unknown = sorted(set(changes) - set(ACCOUNT_SETTINGS_FIELDS))
    if unknown:
        raise ValidationError(
            {
                field: [ValidationError("This field is not an account setting.", code="unknown_field")]
                for field in unknown
            }
        )

    with transaction.atomic():
        current = Account.objects.select_for_update().get(pk=account.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise StaleVersionError(current.version, *_last_change_by(current))

        errors: dict[str, list[str]] = {}
        changes = dict(changes)
        if isinstance(changes.get("code"), str):
            changes["code"] = changes["code"].strip().upper()
        if isinstance(changes.get("name"), str):
            changes["name"] = changes["name"].strip()
        changes = _resolve_relations(actor, current, changes, errors)

        candidate = Account.objects.get(pk=current.pk)
        for field, value in changes.items():
            setattr(candidate, field, value)
        if candidate.master_product_source == MasterProductSource.TECHOMS:
            candidate.master_product_channel = None

        changed = [
            f
            for f in ACCOUNT_SETTINGS_FIELDS
            if getattr(candidate, f) != getattr(current, f) and f not in errors
        ]
        for field in ORGANIZATION_LEVEL_FIELDS.intersection(changed):
            if not access.can_edit_organization_fields:
                errors[field] = [ValidationError(NOT_ALLOWED, code="organization_level_only")]

        try:
            candidate.full_clean(
                exclude=[f.name for f in Account._meta.fields if f.name not in ACCOUNT_SETTINGS_FIELDS],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            _merge(errors, exc.error_dict)
        # Rules between fields run even when a field failed, so every error shows at once.
        rule_errors = _settings_rule_errors(candidate)
        _merge(errors, {f: m for f, m in rule_errors.items() if f not in errors})
        if errors:
            raise ValidationError(errors)

        changed = [f for f in ACCOUNT_SETTINGS_FIELDS if getattr(candidate, f) != getattr(current, f)]
        if not changed:
            return current
        if dry_run:
            return candidate
        candidate.version = current.version + 1
        candidate.save(update_fields=[*changed, "version", "updated_at"])
        record_audit(
            actor,
            candidate,
            candidate.organization,
            "account_settings_changed",
            [
                Change(
                    Account._meta.get_field(f).verbose_name,
                    _display(current, f, getattr(current, f)),
                    _display(candidate, f, getattr(candidate, f)),
                )
                for f in changed
            ],
        )
        if PRODUCT_SOURCE_FIELDS.intersection(changed):
            _realign_product_jobs(candidate.pk)
        transaction.on_commit(
            lambda: account_settings_changed.send(
                sender=Account, account_id=candidate.pk, fields=tuple(changed)
            )
        )
    return candidate


def _realign_product_jobs(account_id: int) -> None:
    """Realign the account's schedule rows inside the source change's transaction, so a
    failed realignment rolls the source change back with it and the dispatcher never
    sees product jobs that contradict the committed source. The reconciler's on-commit
    pass (automations.receivers) runs too, idempotently, and finds nothing left to do."""
    reconcile_account(account_id)


def update_validation_rules(
    actor: Actor, account: Account, rules: dict[tuple[str, str], str], expected_version: int | None
) -> Account:
    """Set the enforcement status of (document, check) pairs; all or nothing."""
    access = account_access(actor, account.pk)
    _require(access.can_edit_settings)
    errors = {}
    for (document, check), status in rules.items():
        if document not in ValidationDocument.values or check not in ValidationCheck.values:
            errors[f"{document}.{check}"] = ["Unknown document or check."]
        elif status not in ("warning", "error"):
            errors[f"{document}.{check}"] = ["Choose Warning or Error."]
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        current = Account.objects.select_for_update().get(pk=account.pk)
        if expected_version is not None and int(expected_version) != current.validation_rules_version:
            raise StaleVersionError(current.validation_rules_version, *_last_change_by(current))
        existing = {(r.document, r.check_type): r for r in ApiValidationRule.objects.filter(account=current)}
        changes = []
        for (document, check), status in rules.items():
            rule = existing.get((document, check))
            old = rule.status if rule else "warning"
            if old == status:
                continue
            ApiValidationRule.objects.update_or_create(
                account=current, document=document, check_type=check, defaults={"status": status}
            )
            changes.append(
                Change(
                    f"{ValidationDocument(document).label}: {ValidationCheck(check).label}",
                    old.title(),
                    status.title(),
                )
            )
        if changes:
            current.validation_rules_version += 1
            current.save(update_fields=["validation_rules_version", "updated_at"])
            record_audit(actor, current, current.organization, "api_validation_rules_changed", changes)
    return current


def regenerate_api_key(actor: Actor | None, account: Account) -> str:
    """Issue a new key and revoke the old one at once; returns the key (shown once)."""
    if actor is not None:
        _require(account_access(actor, account.pk).can_edit_settings)
    key, prefix, digest = api_keys.new_api_key()
    with transaction.atomic():
        current = Account.objects.select_for_update().get(pk=account.pk)
        old_prefix = current.api_key_prefix
        Account.objects.filter(pk=current.pk).update(
            api_key_prefix=prefix,
            api_key_hash=digest,
            api_key_created_at=timezone.now(),
            api_key_last_used_at=None,
            updated_at=timezone.now(),
        )
        # Secrets never reach the log: only the visible prefixes.
        record_audit(
            actor,
            current,
            current.organization,
            "api_key_regenerated",
            [Change("API Key", api_keys.masked(old_prefix), api_keys.masked(prefix))],
        )
    account.refresh_from_db()
    return key


def create_account(
    actor: User, organization: Organization, *, name: str, code: str, timezone_name: str = "UTC"
) -> tuple[Account, str]:
    """A new account in one of the actor's organizations, with its first API key."""
    organization_access(actor, organization.pk)
    account = Account(
        organization=organization,
        name=(name or "").strip(),
        code=(code or "").strip().upper(),
        timezone=timezone_name,
    )
    errors: dict[str, list[str]] = {}
    try:
        account.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc.message_dict)
    if account.code and Account.objects.filter(code__iexact=account.code).exists():
        _merge(errors, {"code": ["An account with this code already exists."]})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        account.save()
        record_audit(
            actor,
            account,
            organization,
            "account_created",
            [Change("Account", "—", f"{account.name} ({account.code})")],
        )
        key = regenerate_api_key(None, account)
    return account, key


# Warehouses ---------------------------------------------------------------------------

WAREHOUSE_FIELDS = ("name", "code", "address")


def _validate_warehouse(warehouse: Warehouse) -> None:
    errors: dict[str, list[str]] = {}
    try:
        warehouse.full_clean(exclude=["account"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc.error_dict)
    duplicate = Warehouse.objects.filter(
        account_id=warehouse.account_id, code__iexact=warehouse.code
    ).exclude(pk=warehouse.pk)
    if warehouse.code and duplicate.exists():
        _merge(
            errors,
            {
                "code": [
                    ValidationError("This account already has a warehouse with this code.", code="unique")
                ]
            },
        )
    if errors:
        raise ValidationError(errors)


def create_warehouse(actor: User, account: Account, **fields) -> Warehouse:
    _require(account_access(actor, account.pk).can_manage_warehouses)
    warehouse = Warehouse(account=account, **{f: (fields.get(f) or "").strip() for f in WAREHOUSE_FIELDS})
    warehouse.code = warehouse.code.upper()
    _validate_warehouse(warehouse)
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


def update_warehouse(actor: User, warehouse: Warehouse, **fields) -> Warehouse:
    account = warehouse.account
    _require(account_access(actor, account.pk).can_manage_warehouses)
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
    if changes:
        with transaction.atomic():
            warehouse.save()
            record_audit(actor, account, account.organization, "warehouse_changed", changes)
    return warehouse


def set_warehouse_active(actor: User, warehouse: Warehouse, active: bool) -> Warehouse:
    account = warehouse.account
    _require(account_access(actor, account.pk).can_manage_warehouses)
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
    if warehouse.is_active != active:
        with transaction.atomic():
            Warehouse.objects.filter(pk=warehouse.pk).update(is_active=active)
            warehouse.is_active = active
            record_audit(
                actor,
                account,
                account.organization,
                "warehouse_changed",
                [Change(f"Warehouse {warehouse.code}: Active", _yes(not active), _yes(active))],
            )
    return warehouse


def _yes(value: bool) -> str:
    return "Yes" if value else "No"


# People and roles ---------------------------------------------------------------------


def _user_for_email(email: str) -> tuple[User, str | None]:
    """The user with this email, created with a one-time password when new."""
    email = (email or "").strip().lower()
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    user = User.objects.filter(email__iexact=email).first()
    if user:
        return user, None
    password = secrets.token_urlsafe(12)
    return User.objects.create_user(email=email, password=password), password


def grant_account_role(
    actor: User, account: Account, email: str, role: str
) -> tuple[RoleAssignment, str | None]:
    """Give a person an account-level role; returns a one-time password for a new user."""
    _require(account_access(actor, account.pk).can_manage_users)
    if role not in ACCOUNT_ROLES:
        raise ValidationError({"role": ["Choose Account Administrator or Account User."]})
    with transaction.atomic():
        user, password = _user_for_email(email)
        previous = RoleAssignment.objects.filter(user=user, account=account).first()
        old = previous.get_role_display() if previous else "—"
        assignment, _ = RoleAssignment.objects.update_or_create(
            user=user, account=account, organization=None, defaults={"role": role}
        )
        if old != assignment.get_role_display():
            record_audit(
                actor,
                account,
                account.organization,
                "role_granted",
                [Change(f"Role of {user.email}", old, assignment.get_role_display())],
            )
    return assignment, password


def revoke_account_role(actor: User, assignment: RoleAssignment) -> None:
    account = assignment.account
    if account is None:
        raise PermissionDenied("Organization roles are managed on the organization page.")
    _require(account_access(actor, account.pk).can_manage_users)
    if assignment.user_id == actor.pk:
        raise ValidationError({"role": ["You cannot remove your own access."]})
    with transaction.atomic():
        assignment.delete()
        record_audit(
            actor,
            account,
            account.organization,
            "role_revoked",
            [Change(f"Role of {assignment.user.email}", assignment.get_role_display(), "—")],
        )


def grant_organization_role(
    actor: User, organization: Organization, email: str, role: str
) -> tuple[RoleAssignment, str | None]:
    _require(organization_access(actor, organization.pk).can_grant_organization_roles)
    if role not in ORGANIZATION_ROLES:
        raise ValidationError({"role": ["Choose Organization Administrator or Supervisor."]})
    with transaction.atomic():
        user, password = _user_for_email(email)
        previous = RoleAssignment.objects.filter(user=user, organization=organization).first()
        old = previous.get_role_display() if previous else "—"
        assignment, _ = RoleAssignment.objects.update_or_create(
            user=user, organization=organization, account=None, defaults={"role": role}
        )
        if old != assignment.get_role_display():
            record_audit(
                actor,
                None,
                organization,
                "role_granted",
                [Change(f"Role of {user.email}", old, assignment.get_role_display())],
            )
    return assignment, password


def revoke_organization_role(actor: User, assignment: RoleAssignment) -> None:
    organization = assignment.organization
    _require(organization_access(actor, organization.pk).can_grant_organization_roles)
    if assignment.user_id == actor.pk:
        raise ValidationError({"role": ["You cannot remove your own access."]})
    with transaction.atomic():
        assignment.delete()
        record_audit(
            actor,
            None,
            organization,
            "role_revoked",
            [Change(f"Role of {assignment.user.email}", assignment.get_role_display(), "—")],
        )


def rename_organization(actor: User, organization: Organization, name: str) -> Organization:
    organization_access(actor, organization.pk)
    name = (name or "").strip()
    old = organization.name
    organization.name = name
    try:
        organization.full_clean()
    except ValidationError:
        organization.name = old
        raise
    if name != old:
        with transaction.atomic():
            organization.save(update_fields=["name"])
            record_audit(actor, None, organization, "organization_changed", [Change("Name", old, name)])
    return organization

"""An account's Main-tab settings and its API Validation Rules: validated, saved, audited.

A settings change notifies listeners (the schedule reconciler) on commit; a Master
Product Source change also notifies them inside its transaction, and needs confirmation
first when the account has products.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from .. import hooks
from ..models import (
    METRIC_UNITS,
    Account,
    ApiValidationRule,
    MasterProductSource,
    Organization,
    ValidationCheck,
    ValidationDocument,
)
from ..selectors import AccountAccess, Actor, account_access, organizations_for
from ..signals import account_settings_changed, master_product_source_changed
from .common import Change, StaleVersionError, last_change_by, merge_errors, record_audit, require

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


class ConfirmationRequired(Exception):
    """A Master Product Source change on an account with products, sent without confirm.

    Nothing was saved. `preflight` (what the change would do, from the app that
    registered it in accounts.hooks) is built when first read rather than when raised:
    it may read the master channel's catalogue over the network, which a caller inside
    its own transaction does after rolling back, not while the account row is locked.
    """

    def __init__(self, account: Account, new_source: str, new_channel):
        self.account = account
        self.new_source = new_source
        self.new_channel = new_channel
        super().__init__(
            "Changing the Master Product Source of an account with products can duplicate "
            "products: read what the change would do, then confirm it."
        )

    @cached_property
    def preflight(self) -> Any:
        return hooks.master_source_preflight(self.account, self.new_source, self.new_channel)


@dataclass(frozen=True)
class SettingsPreview:
    account: Account  # the would-be account, unsaved
    preflight: Any  # what a Master Product Source change would do; None without one


def _display(account: Account, field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    model_field = Account._meta.get_field(field)
    if model_field.choices and not model_field.is_relation:
        return str(dict(model_field.flatchoices).get(value, value))
    return str(value)


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


def _master_channel_errors(candidate: Account) -> list[ValidationError]:
    source = candidate.master_product_source
    channel = candidate.master_product_channel
    if source == MasterProductSource.TECHOMS:
        return []
    label = MasterProductSource(source).label if source in MasterProductSource.values else source
    if channel is None:
        return [ValidationError(f"Select the master channel for the source {label}.", code="required")]
    if channel.kind != source:
        return [ValidationError(f"Select a channel of the kind {label}.", code="wrong_channel_kind")]
    if not channel.platform_info.supports_product_import:
        return [
            ValidationError(
                "This channel's platform does not support product import.", code="no_product_import"
            )
        ]
    if not channel.is_active:
        return [ValidationError("This channel is inactive.", code="inactive_channel")]
    return []


def _settings_rule_errors(candidate: Account) -> dict[str, list[ValidationError]]:
    """Rules between fields, which no single field can check alone."""
    errors: dict[str, list[ValidationError]] = {}
    if (candidate.size_unit in METRIC_UNITS) != (candidate.volume_unit in METRIC_UNITS):
        message = (
            "Size and Volume must be of the same system: Centimeter with Cubic Centimeter, "
            "or Inch with Cubic Inch."
        )
        errors["size_unit"] = [ValidationError(message, code="unit_system_mismatch")]
        errors["volume_unit"] = [ValidationError(message, code="unit_system_mismatch")]
    if channel_errors := _master_channel_errors(candidate):
        errors["master_product_channel"] = channel_errors
    code = candidate.code
    if code and Account.objects.filter(code__iexact=code).exclude(pk=candidate.pk).exists():
        errors.setdefault("code", []).append(
            ValidationError("An account with this code already exists.", code="unique")
        )
    return errors


def _refuse_unknown_fields(changes: dict[str, Any]) -> None:
    unknown = sorted(set(changes) - set(ACCOUNT_SETTINGS_FIELDS))
    if unknown:
        raise ValidationError(
            {
                field: [ValidationError("This field is not an account setting.", code="unknown_field")]
                for field in unknown
            }
        )


def _validated_candidate(
    actor: Actor, access: AccountAccess, current: Account, changes: dict[str, Any]
) -> Account:
    """The account as it would be after the change, or ValidationError with every
    field's errors at once."""
    errors: dict[str, list] = {}
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
        f for f in ACCOUNT_SETTINGS_FIELDS if getattr(candidate, f) != getattr(current, f) and f not in errors
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
        merge_errors(errors, exc.error_dict)
    # Rules between fields run even when a field failed, so every error shows at once.
    rule_errors = _settings_rule_errors(candidate)
    merge_errors(errors, {f: m for f, m in rule_errors.items() if f not in errors})
    if errors:
        raise ValidationError(errors)
    return candidate


def update_account_settings(
    actor: Actor,
    account: Account,
    changes: dict[str, Any],
    expected_version: int | None,
    *,
    dry_run: bool = False,
    confirm: bool = False,
) -> Account:
    """Validate and apply Main-tab settings; all or nothing.

    A new Master Product Source on an account with products is applied only with
    confirm=True (page, API and admin ask the person first); without it the call raises
    ConfirmationRequired after every other rule passed, so errors come before the
    question. With dry_run, the same checks run and the would-be account is returned
    unsaved.

    Raises ValidationError (a dict of field → messages), StaleVersionError,
    ConfirmationRequired, or PermissionDenied; Http404 when the account is outside the
    actor's scope.
    """
    access = account_access(actor, account.pk)
    require(access.can_edit_settings)
    _refuse_unknown_fields(changes)

    with transaction.atomic():
        current = Account.objects.select_for_update().get(pk=account.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise StaleVersionError(current.version, *last_change_by(current))
        candidate = _validated_candidate(actor, access, current, changes)
        changed = [f for f in ACCOUNT_SETTINGS_FIELDS if getattr(candidate, f) != getattr(current, f)]
        if not changed:
            return current
        if (
            not confirm
            and "master_product_source" in changed
            and hooks.master_source_needs_confirmation(current, candidate.master_product_source)
        ):
            raise ConfirmationRequired(
                current, candidate.master_product_source, candidate.master_product_channel
            )
        if dry_run:
            return candidate
        _save_settings(actor, current, candidate, changed)
    return candidate


def _save_settings(actor: Actor, current: Account, candidate: Account, changed: list[str]) -> None:
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
        # Sent inside the transaction, not on commit: the schedule's product jobs are
        # realigned with the change, and a receiver's exception rolls the change back.
        master_product_source_changed.send(sender=Account, account_id=candidate.pk)
    fields = tuple(changed)
    transaction.on_commit(
        lambda: account_settings_changed.send(sender=Account, account_id=candidate.pk, fields=fields)
    )


def preview_account_settings(
    actor: Actor, account: Account, changes: dict[str, Any], expected_version: int | None
) -> SettingsPreview:
    """Validate a change without saving it, and say what a new Master Product Source
    would do (whether or not the account has products)."""
    candidate = update_account_settings(actor, account, changes, expected_version, dry_run=True, confirm=True)
    preflight = None
    if candidate.master_product_source != account.master_product_source:
        preflight = hooks.master_source_preflight(
            account, candidate.master_product_source, candidate.master_product_channel
        )
    return SettingsPreview(candidate, preflight)


def update_validation_rules(
    actor: Actor,
    account: Account,
    rules: dict[tuple[str, str], str],
    expected_version: int | None,
    *,
    dry_run: bool = False,
) -> Account:
    """Set the enforcement status of (document, check) pairs; all or nothing. With
    dry_run, everything is checked and nothing saved."""
    access = account_access(actor, account.pk)
    require(access.can_edit_settings)
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
            raise StaleVersionError(current.validation_rules_version, *last_change_by(current))
        if dry_run:
            return current
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

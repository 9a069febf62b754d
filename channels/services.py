"""Writes to channels: settings, credentials, warehouse mappings, webhook secrets, and
manual synchronization requests. Pages, the REST API and the demo seed all call these;
each checks the actor's permission, validates, saves and writes the audit log (secrets
never appear in it)."""

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account, User
from accounts.services import Change, StaleVersionError, record_audit, require_settings_edit

from . import crypto
from .connectors import connector_class, connector_for
from .connectors.base import ConnectorError
from .models import Channel, SyncCursor, WarehouseMapping, new_webhook_secret
from .platforms import PLATFORMS, ChannelKind
from .signals import webhook_registration_due

CHANNEL_FIELDS = ("name", "platform", "is_active", "buffer_stock", "pii_retention_days")


def _require_edit(actor, account: Account) -> None:
    require_settings_edit(actor, account, "Account Users have read-only access.")


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value in PLATFORMS:
        return PLATFORMS[value].label
    return str(value)


MAX_CREDENTIAL_LENGTH = 500


def _clean_credentials(platform: str, credentials: dict | None) -> dict:
    """Only the connector's declared fields, stripped; blank values are dropped. A value
    too long or a URL field that is not an http(s) URL is refused beside its field."""
    fields = {f.name: f for f in connector_class(platform).credential_fields}
    cleaned = {
        k: str(v).strip() for k, v in (credentials or {}).items() if k in fields and str(v or "").strip()
    }
    errors = {}
    for name, value in cleaned.items():
        if len(value) > MAX_CREDENTIAL_LENGTH:
            errors[name] = [f"Enter at most {MAX_CREDENTIAL_LENGTH} characters."]
        elif "\x00" in value:
            errors[name] = ["Remove the NUL character."]
        elif fields[name].url and not _is_http_url(value):
            errors[name] = ["Enter an http:// or https:// URL, e.g. https://shop.example.com."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _require_complete(platform: str, credentials: dict) -> None:
    """A channel holds all of its platform's credentials or none (to be entered later)."""
    if not credentials:
        return
    missing = [f for f in connector_class(platform).credential_fields if f.name not in credentials]
    if missing:
        raise ValidationError({f.name: [f"Enter the {f.label}."] for f in missing})


def _validate(channel: Channel) -> None:
    errors: dict[str, list[str]] = {}
    channel.name = (channel.name or "").strip()
    platform = PLATFORMS.get(channel.platform)
    if platform is None:
        errors["platform"] = ["Select a platform."]
    elif platform.kind != channel.kind:
        errors["platform"] = [f"Select a platform of a {ChannelKind(channel.kind).label}."]
    if channel.kind != ChannelKind.SALES and channel.pii_retention_days is not None:
        errors["pii_retention_days"] = ["Only sales channels have a PII retention override."]
    try:
        channel.full_clean(
            exclude=["account", "kind", "platform", "webhook_token"], validate_constraints=False
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    duplicate = Channel.objects.filter(account_id=channel.account_id, name__iexact=channel.name).exclude(
        pk=channel.pk
    )
    if channel.name and duplicate.exists():
        errors.setdefault("name", []).append("This account already has a channel with this name.")
    if errors:
        raise ValidationError(errors)


def create_channel(
    actor: User | None,
    account: Account,
    *,
    kind: str,
    name: str,
    platform: str,
    credentials: dict | None = None,
    buffer_stock: int = 0,
    pii_retention_days: int | None = None,
    is_active: bool = True,
) -> Channel:
    _require_edit(actor, account)
    channel = Channel(
        account=account,
        kind=kind,
        name=name,
        platform=platform,
        buffer_stock=buffer_stock if buffer_stock is not None else 0,
        pii_retention_days=pii_retention_days,
        is_active=is_active,
    )
    _validate(channel)
    cleaned = _clean_credentials(platform, credentials)
    _require_complete(platform, cleaned)
    channel.credentials_encrypted = crypto.encrypt_json(cleaned)
    channel.webhook_secret_encrypted = crypto.encrypt(new_webhook_secret())
    channel.webhook_secret_rotated_at = timezone.now()
    try:
        with transaction.atomic():
            channel.save()
            record_audit(
                actor,
                account,
                account.organization,
                "channel_created",
                [Change("Channel", "—", f"{channel.name} ({channel.platform_info.label})")],
            )
    except IntegrityError:
        raise ValidationError({"name": ["This account already has a channel with this name."]}) from None
    _register_webhook_on_commit(channel)
    return channel


def update_channel(
    actor: User | None,
    channel: Channel,
    changes: dict[str, Any],
    expected_version: int | None = None,
    credentials: dict | None = None,
) -> Channel:
    """Apply settings changes; `credentials` replaces only the fields given non-blank."""
    _require_edit(actor, channel.account)
    unknown = sorted(set(changes) - set(CHANNEL_FIELDS))
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in unknown})
    with transaction.atomic():
        current = Channel.objects.select_for_update().get(pk=channel.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise StaleVersionError(current.version)
        candidate = Channel.objects.get(pk=current.pk)
        for field, value in changes.items():
            setattr(candidate, field, value)
        if candidate.buffer_stock is None:
            candidate.buffer_stock = 0
        _validate(candidate)
        changed = [f for f in CHANNEL_FIELDS if getattr(candidate, f) != getattr(current, f)]
        audit = [
            Change(
                f"Channel {current.name}: {Channel._meta.get_field(f).verbose_name}",
                _display(getattr(current, f)),
                _display(getattr(candidate, f)),
            )
            for f in changed
        ]
        new_credentials = _clean_credentials(candidate.platform, credentials)
        if new_credentials or "platform" in changed:
            merged = {} if "platform" in changed else current.credentials
            merged.update(new_credentials)
            _require_complete(candidate.platform, merged)
            candidate.credentials_encrypted = crypto.encrypt_json(merged)
            # The audit log says credentials changed, never what they are.
            audit.append(Change(f"Channel {current.name}: Credentials", "••••", "•••• (changed)"))
        if not audit:
            return current
        candidate.version = current.version + 1
        candidate.save()
        record_audit(actor, candidate.account, candidate.account.organization, "channel_changed", audit)
    if new_credentials or {"platform", "is_active"} & set(changed):
        _register_webhook_on_commit(candidate)
    return candidate


def set_channel_active(actor: User | None, channel: Channel, active: bool) -> Channel:
    return update_channel(actor, channel, {"is_active": active})


def rotate_webhook_secret(actor: User | None, channel: Channel) -> str:
    """A new signing secret, at once the only valid one; returns it (shown once)."""
    _require_edit(actor, channel.account)
    secret = new_webhook_secret()
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(
            webhook_secret_encrypted=crypto.encrypt(secret), webhook_secret_rotated_at=timezone.now()
        )
        record_audit(
            actor,
            channel.account,
            channel.account.organization,
            "channel_webhook_secret_rotated",
            [Change(f"Channel {channel.name}: Webhook signing secret", "••••", "•••• (rotated)")],
        )
    channel.refresh_from_db()
    _register_webhook_on_commit(channel)
    return secret


def _register_webhook_on_commit(channel: Channel) -> None:
    """Tell a webhook-capable platform where to send events, in the background."""
    if not (channel.platform_info.supports_webhooks and channel.is_active and channel.has_credentials):
        return
    webhook_registration_due.send(sender=Channel, channel_id=channel.pk)


def test_connection(actor: User | None, channel: Channel, http=None) -> tuple[bool, str]:
    """Try the channel's stored credentials against its platform: (reached, a sentence
    saying what was found or plainly what is wrong). Writes nothing."""
    _require_edit(actor, channel.account)
    if not channel.has_credentials:
        return False, "The channel has no credentials: enter them, save, then test again."
    try:
        return True, connector_for(channel, http=http).test_connection()
    except (ConnectorError, crypto.SecretUnreadable) as exc:
        return False, str(exc)


def advance_cursor(channel: Channel, job_type: str, position: str) -> None:
    """Store where the channel's next read of this job type resumes (engine only, after a
    read whose records were all handled)."""
    try:
        with transaction.atomic():
            SyncCursor.objects.update_or_create(
                channel=channel, job_type=job_type, defaults={"position": position}
            )
    except IntegrityError:  # another run stored the first position meanwhile
        SyncCursor.objects.filter(channel=channel, job_type=job_type).update(position=position)


# Warehouse mappings ---------------------------------------------------------------------


def add_mapping(actor: User | None, channel: Channel, location: str, warehouse_id) -> WarehouseMapping:
    _require_edit(actor, channel.account)
    location = (location or "").strip()
    errors: dict[str, list[str]] = {}
    if not location:
        errors["location"] = ["Enter the channel's name for this location."]
    elif len(location) > 64:
        errors["location"] = ["Use at most 64 characters."]
    try:
        warehouse = channel.account.warehouses.get(pk=int(warehouse_id), is_active=True)
    except (TypeError, ValueError, channel.account.warehouses.model.DoesNotExist):
        warehouse = None
        errors["warehouse"] = ["Select an active warehouse of this account."]
    if location and channel.warehouse_mappings.filter(location=location).exists():
        errors.setdefault("location", []).append("This location is already mapped.")
    if warehouse and channel.warehouse_mappings.filter(warehouse=warehouse).exists():
        errors.setdefault("warehouse", []).append("This warehouse is already mapped to another location.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            mapping = WarehouseMapping.objects.create(channel=channel, location=location, warehouse=warehouse)
            record_audit(
                actor,
                channel.account,
                channel.account.organization,
                "channel_mapping_added",
                [Change(f"Channel {channel.name}: Warehouse Mapping", "—", f"{location} ↔ {warehouse.code}")],
            )
    except IntegrityError:
        raise ValidationError({"location": ["This location or warehouse is already mapped."]}) from None
    return mapping


def remove_mapping(actor: User | None, mapping: WarehouseMapping) -> None:
    channel = mapping.channel
    _require_edit(actor, channel.account)
    with transaction.atomic():
        mapping.delete()
        record_audit(
            actor,
            channel.account,
            channel.account.organization,
            "channel_mapping_removed",
            [
                Change(
                    f"Channel {channel.name}: Warehouse Mapping",
                    f"{mapping.location} ↔ {mapping.warehouse.code}",
                    "—",
                )
            ],
        )

"""Organizations and accounts themselves: a new account, its API key, a renamed
organization."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import api_keys
from ..models import Account, Organization, User
from ..selectors import Actor, account_access, organization_access
from .common import Change, merge_errors, record_audit, require


def regenerate_api_key(actor: Actor | None, account: Account) -> str:
    """Issue a new key and revoke the old one at once; returns the key (shown once)."""
    if actor is not None:
        require(account_access(actor, account.pk).can_edit_settings)
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
        merge_errors(errors, exc.message_dict)
    if account.code and Account.objects.filter(code__iexact=account.code).exists():
        merge_errors(errors, {"code": ["An account with this code already exists."]})
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


def create_organization(actor: User, name: str, *, dry_run: bool = False) -> Organization:
    """A new organization; no page makes one, only staff in the admin."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff create organizations.")
    organization = Organization(name=(name or "").strip())
    organization.full_clean()
    if dry_run:
        return organization
    with transaction.atomic():
        organization.save()
        created = [Change("Organization", "—", organization.name)]
        record_audit(actor, None, organization, "organization_created", created)
    return organization


def rename_organization(
    actor: User, organization: Organization, name: str, *, dry_run: bool = False
) -> Organization:
    organization_access(actor, organization.pk)
    name = (name or "").strip()
    old = organization.name
    organization.name = name
    try:
        organization.full_clean()
    except ValidationError:
        organization.name = old
        raise
    if name != old and not dry_run:
        with transaction.atomic():
            organization.save(update_fields=["name"])
            record_audit(actor, None, organization, "organization_changed", [Change("Name", old, name)])
    return organization

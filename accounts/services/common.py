"""What every accounts service shares: the audit log's writer, the refusals, and the
optimistic-locking error that other apps' services raise too."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from ..models import Account, AuditEntry, Organization
from ..selectors import Actor, ApiKeyActor, account_access


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


def last_change_by(account: Account) -> tuple[str | None, Any]:
    entry = AuditEntry.objects.filter(account=account).first()
    return (entry.actor_label, entry.at) if entry else (None, None)


def require(access_flag: bool) -> None:
    if not access_flag:
        raise PermissionDenied("You do not have permission to make this change.")


def require_settings_edit(actor: Actor | None, account: Account, message: str) -> None:
    """For other apps' services: the actor may change this account's configuration.
    None is the system (demo seed, jobs); another tenant's account raises Http404."""
    if actor is not None and not account_access(actor, account.pk).can_edit_settings:
        raise PermissionDenied(message)


def merge_errors(errors: dict, more: dict) -> None:
    for field, messages in more.items():
        errors.setdefault(field, [])
        errors[field].extend(m for m in messages if m not in errors[field])


def yes_no(value: bool) -> str:
    return "Yes" if value else "No"

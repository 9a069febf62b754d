"""PII retention: the customer's name, email, phone and address of sales orders past
their retention become "[redacted]", set-based and in batches, so millions of orders are
redacted without loading one of them into Python.

Which retention applies (the documents' PII Retention settings): a channel order uses its sales channel's
`pii_retention_days`, or the account's when the channel's is blank (the channel field's
documented fallback); orders without a channel (API, manual, imported) use the account's.
Blank everywhere keeps the data.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta, tzinfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from channels.models import Channel

from .models import PII_FIELDS, SalesOrder

REDACTED = "[redacted]"
# Each batch is one short transaction: the rows it updates are locked for one batch only,
# so pages, imports and the dispatcher touching the same orders wait at most that long.
BATCH_SIZE = 5_000


def cutoff(now: datetime, zone: tzinfo, days: int) -> datetime:
    """The first instant still inside a retention of `days` days.

    Retention counts whole days of the account's calendar, not 24-hour periods from now:
    the cut-off is local midnight `days` days before today in the account's timezone. An
    order placed on local day D keeps its PII through day D + days and is redacted by the
    first run on day D + days + 1, whatever the hour the daily job runs at.
    """
    day = now.astimezone(zone).date() - timedelta(days=days)
    return datetime.combine(day, time.min, tzinfo=zone)


def retention_scopes(account: Account) -> list[tuple[str, Q, int]]:
    """(description, orders filter, days) for every group of the account's orders with a
    retention; orders in no group are kept."""
    inherit, by_days = [], defaultdict(list)
    for pk, name, days in Channel.objects.filter(account=account).values_list(
        "pk", "name", "pii_retention_days"
    ):
        (by_days[days] if days else inherit).append((pk, name))
    scopes = []
    if account.pii_retention_days:
        scope = Q(channel__isnull=True) | Q(channel_id__in=[pk for pk, _ in inherit])
        scopes.append(("API, manual and imported orders", scope, account.pii_retention_days))
    for days, channels in sorted(by_days.items()):
        names = ", ".join(name for _, name in channels)
        scopes.append((f"Orders of {names}", Q(channel_id__in=[pk for pk, _ in channels]), days))
    return scopes


def redact_past_retention(
    account: Account, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> list[tuple[str, datetime, int]]:
    """Redact every order of the account past its retention; per scope, (description,
    cut-off, orders redacted). Idempotent: redacted orders are never selected again."""
    now = now or timezone.now()
    values = {field: REDACTED for field in PII_FIELDS}
    outcome = []
    for description, scope, days in retention_scopes(account):
        limit = cutoff(now, account.tzinfo, days)
        pending = SalesOrder.objects.filter(
            scope, account=account, pii_redacted_at__isnull=True, ordered_at__lt=limit
        ).order_by()
        redacted = 0
        while True:
            # UPDATE … WHERE id IN (SELECT id … LIMIT batch): the database picks and
            # rewrites the rows; the outer IS NULL keeps a row another run redacted
            # meanwhile from being redacted twice.
            with transaction.atomic():
                count = SalesOrder.objects.filter(
                    pk__in=pending.values("pk")[:batch_size], pii_redacted_at__isnull=True
                ).update(**values, pii_redacted_at=now)
            redacted += count
            if count < batch_size:
                break
        outcome.append((description, limit, redacted))
    return outcome

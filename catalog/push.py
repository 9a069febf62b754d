"""Inventory Real-Time Updates: every inventory change is pushed to the account's active
sales channels, coalesced per channel.

A change (announced by `inventory_changed` after its commit) marks the product dirty
for each concerned channel (a `PendingPush` row, renewed on every change) and schedules
one push task per channel unless one is already scheduled (`ChannelPush.scheduled_at`).
This module keeps that bookkeeping (the catalog's rows); the push itself, which sends the
quantities of every dirty product as they are when it runs, batched, through the
connector's `export_inventory` and the same quantity computation as the Export Inventory
job, and records a JobRun, is the engine's (automations.jobs.push).

When the task runs: a change to a channel that had no push during the last interval
(10 s) goes out after the short window (2 s), gathering what arrives meanwhile; during a
sustained burst a channel gets at most one push per interval, each carrying every
product changed since the previous one. So the calls a burst
costs grow with its duration / interval, whatever the number of changes, and a change
waits at most one interval plus one push. One push runs per channel at a time and reads
the quantities when it starts, so a later push always supersedes an older one.
Tests shorten both through the settings INVENTORY_PUSH_WINDOW_SECONDS and
INVENTORY_PUSH_INTERVAL_SECONDS.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from channels.models import Channel
from channels.platforms import ChannelKind, JobType

from .models import ChannelPush, PendingPush

# How long a lone change waits for others before its channel's push goes out.
WINDOW_SECONDS = 2.0
# The least time between the starts of two pushes of one channel. bench/push.py (10,000
# changes, 2,000 SKUs, 3 channels): 0.38 % of the naive calls with one writer over 287 s,
# where a push per 2 s window made 1.28 %.
INTERVAL_SECONDS = 10.0
# A scheduled push whose task never ran (lost message, killed worker) stops blocking
# new ones after this long; longer than the whole retry backoff of a push.
STALE_SCHEDULE = timedelta(minutes=30)
# A push still marked running after the task time limit died with its worker.
STALE_RUN = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def window_seconds() -> float:
    return getattr(settings, "INVENTORY_PUSH_WINDOW_SECONDS", WINDOW_SECONDS)


def interval_seconds() -> float:
    return getattr(settings, "INVENTORY_PUSH_INTERVAL_SECONDS", INTERVAL_SECONDS)


def push_delay(now, last_started, window: float, interval: float) -> float:
    """Seconds from `now` until a channel's next push: the short window after a quiet
    spell, else what remains of the interval since the last push started."""
    if last_started is None:
        return window
    return max(window, interval - (now - last_started).total_seconds())


def pushing_channels(account_id: int) -> list[Channel]:
    """The channels real-time updates go to: active sales channels that can take an
    inventory export and have credentials; none when the setting is off."""
    if not Account.objects.filter(pk=account_id, inventory_realtime_updates=True).exists():
        return []
    channels = Channel.objects.filter(
        account_id=account_id, kind=ChannelKind.SALES, is_active=True
    ).prefetch_related("warehouse_mappings")
    return [
        c for c in channels if JobType.EXPORT_INVENTORY in c.platform_info.job_types and c.has_credentials
    ]


def schedule_push(account_id: int, product_ids, warehouse_ids) -> list[int]:
    """Mark the products dirty for each concerned channel and claim its push schedule
    where no push is scheduled yet; the ids of the channels whose push task the caller
    must enqueue once this commits (so the task finds the products pending)."""
    enqueued = []
    # One transaction for all channels: one commit per change instead of two per channel.
    with transaction.atomic():
        for channel in pushing_channels(account_id):
            mapped = {m.warehouse_id for m in channel.warehouse_mappings.all()}
            if mapped and not mapped.intersection(warehouse_ids):
                # A channel with mappings never hears about its unmapped warehouses.
                continue
            PendingPush.objects.bulk_create(
                [PendingPush(channel=channel, product_id=pk) for pk in product_ids],
                update_conflicts=True,
                unique_fields=["channel", "product"],
                update_fields=["version"],
            )
            # Marking dirty comes first: a running push clears `scheduled_at` before it
            # reads the dirty products, so a change is either read by it or schedules the
            # next one.
            if _claim_schedule(channel.pk):
                enqueued.append(channel.pk)
    return enqueued


def _claim_schedule(channel_id: int) -> bool:
    now = timezone.now()
    claimed = (
        ChannelPush.objects.filter(channel_id=channel_id)
        .filter(Q(scheduled_at__isnull=True) | Q(scheduled_at__lt=now - STALE_SCHEDULE))
        .update(scheduled_at=now)
    )
    if claimed:
        return True
    if ChannelPush.objects.filter(channel_id=channel_id).exists():
        return False  # a push is already scheduled: this change joins it
    try:
        with transaction.atomic():
            ChannelPush.objects.create(channel_id=channel_id, scheduled_at=now)
    except IntegrityError:
        return False  # created meanwhile by another change, which scheduled the push
    return True


def next_push_delay(channel_id: int) -> float:
    last_started = (
        ChannelPush.objects.filter(channel_id=channel_id).values_list("last_started_at", flat=True).first()
    )
    return push_delay(timezone.now(), last_started, window_seconds(), interval_seconds())


def hold_schedule(channel_id: int) -> None:
    """Keep the channel marked as scheduled while its failed push waits for a retry, so
    new changes join that retry instead of starting a parallel push."""
    ChannelPush.objects.filter(channel_id=channel_id).update(scheduled_at=timezone.now())


def release_schedule(channel_id: int) -> None:
    ChannelPush.objects.filter(channel_id=channel_id).update(scheduled_at=None)


def start_push(channel_id: int) -> bool:
    """Mark the channel's push running and its schedule released, unless a push runs;
    whether this caller may push now."""
    now = timezone.now()
    # Releasing the schedule before reading the dirty products: changes from now on
    # schedule another push.
    return bool(
        ChannelPush.objects.filter(channel_id=channel_id)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_RUN))
        .update(running_since=now, last_started_at=now, scheduled_at=None)
    )


def push_was_scheduled(channel_id: int) -> bool:
    return ChannelPush.objects.filter(channel_id=channel_id).exists()


def end_push(channel_id: int) -> None:
    ChannelPush.objects.filter(channel_id=channel_id).update(running_since=None)


def pending_products(channel_id: int) -> list[tuple[int, int]]:
    """(product id, version) of the channel's dirty products, as read by one push."""
    return list(PendingPush.objects.filter(channel_id=channel_id).values_list("product_id", "version"))


def record_push_run(channel_id: int, run_id: int) -> None:
    ChannelPush.objects.filter(channel_id=channel_id).update(last_run_id=run_id)


def forget_pushed(channel_id: int, pending) -> None:
    """Drop the pending rows a push read, unless a change renewed them meanwhile."""
    PendingPush.objects.filter(channel_id=channel_id, version__in=[v for _, v in pending]).delete()


def overdue_pushes(scheduled_before) -> list[int]:
    """Channels whose push was scheduled before then and has not started since: its task
    was lost (a broker restarted without its data). Marked scheduled again now, so the
    caller sends one push each and the next check leaves them alone for a while."""
    overdue = ChannelPush.objects.filter(scheduled_at__lt=scheduled_before, running_since__isnull=True)
    channel_ids = list(overdue.values_list("channel_id", flat=True))
    ChannelPush.objects.filter(channel_id__in=channel_ids).update(scheduled_at=timezone.now())
    return channel_ids

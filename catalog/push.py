"""Inventory Real-Time Updates: every inventory change is pushed to the account's active
sales channels, coalesced per channel.

A change (announced by `inventory_changed` after its commit) marks the product dirty
for each concerned channel (a `PendingPush` row, renewed on every change) and schedules
one push task per channel unless one is already scheduled (`ChannelPush.scheduled_at`).
The task sends the quantities of every dirty product as they are when it runs, batched,
through the connector's `export_inventory` and the same quantity computation as the
Export Inventory job, and records a JobRun.

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

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Account
from automations.models import JobRun, RunStatus, Trigger
from channels import crypto
from channels.connectors import connector_for
from channels.connectors.base import ConnectorError
from channels.models import Channel
from channels.platforms import ChannelKind, JobType
from channels.sync import MAX_MESSAGES, available_stock

from .models import ChannelPush, PendingPush
from .signals import inventory_changed

log = logging.getLogger(__name__)

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


class PushFailed(Exception):
    """The platform failed the push; the products stay pending and the task retries."""


class PushBusy(Exception):
    """Another push of the channel is running; this one must wait for it."""


@receiver(inventory_changed)
def _inventory_changed(sender, account_id, product_ids, warehouse_ids, **kwargs):
    schedule_push(account_id, product_ids, warehouse_ids)


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
    """Mark the products dirty for each concerned channel and make sure a push task is
    scheduled for it; the ids of the channels whose task this call enqueues."""
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
                # Enqueued once committed, so the task finds the products pending.
                transaction.on_commit(partial(_enqueue, channel.pk))
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


def _enqueue(channel_id: int) -> None:
    from .tasks import push_inventory

    push_inventory.apply_async((channel_id,), countdown=next_push_delay(channel_id))


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


def push_channel(channel_id: int, http=None) -> JobRun | None:
    """Push the dirty products of one channel; the JobRun, or None when nothing was due.

    Raises PushBusy when another push of the channel is running, PushFailed when the
    platform failed (the products stay pending).
    """
    if not _start(channel_id):
        if ChannelPush.objects.filter(channel_id=channel_id).exists():
            raise PushBusy(channel_id)
        return None  # never scheduled: nothing is pending
    try:
        return _push(channel_id, http)
    finally:
        ChannelPush.objects.filter(channel_id=channel_id).update(running_since=None)


def _start(channel_id: int) -> bool:
    """Mark the channel's push running and its schedule released, unless a push runs."""
    now = timezone.now()
    # Releasing the schedule before reading the dirty products: changes from now on
    # schedule another push.
    return bool(
        ChannelPush.objects.filter(channel_id=channel_id)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=now - STALE_RUN))
        .update(running_since=now, last_started_at=now, scheduled_at=None)
    )


def _push(channel_id: int, http) -> JobRun | None:
    channel = Channel.objects.select_related("account").filter(pk=channel_id).first()
    pending = list(PendingPush.objects.filter(channel_id=channel_id).values_list("product_id", "version"))
    if channel is None or not pending:
        return None
    if channel not in pushing_channels(channel.account_id):
        # Setting turned off, channel deactivated or credentials removed since the
        # change: the Export Inventory job is the channel's only update now.
        _forget(channel_id, pending)
        return None
    run = JobRun.objects.create(
        account_id=channel.account_id,
        channel=channel,
        job_type=JobType.EXPORT_INVENTORY,
        # The push is started by a timer after the changes, never by a person.
        trigger=Trigger.SCHEDULE,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
    )
    ChannelPush.objects.filter(channel_id=channel_id).update(last_run=run)
    product_ids = sorted({product_id for product_id, _ in pending})
    messages = [f"Real-time push of {len(product_ids)} changed product(s)."]
    failure = ""
    counts: dict[str, int] = {}
    try:
        pushed = connector_for(channel, http=http).export_inventory(available_stock(channel, product_ids))
        counts = dict(pushed.counts)
        failure = pushed.stopped_by
        rejected = [o for o in pushed.outcomes if o.result == "rejected"]
        messages += [f"{o.key}: {o.error}" for o in rejected[:MAX_MESSAGES]]
    except (ConnectorError, crypto.SecretUnreadable) as exc:
        failure = str(exc)
    if failure:
        messages.insert(0, failure)
        status = RunStatus.FAILED
    elif counts.get("rejected"):
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.SUCCESS
    JobRun.objects.filter(pk=run.pk).update(
        status=status, counts=counts, messages=messages, finished_at=timezone.now()
    )
    if failure:
        raise PushFailed(failure)
    # Rejected items are not retried: the platform refused them, another try would too.
    _forget(channel_id, pending)
    run.refresh_from_db()
    return run


def _forget(channel_id: int, pending) -> None:
    """Drop the pending rows read, unless a change renewed them meanwhile."""
    PendingPush.objects.filter(channel_id=channel_id, version__in=[v for _, v in pending]).delete()

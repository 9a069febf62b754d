"""Inventory Real-Time Updates: every inventory change is pushed to the account's active
sales channels, coalesced per channel.

A change (announced by `inventory_changed` after its commit) marks the product dirty
for each concerned channel (a `PendingPush` row, renewed on every change) and schedules
one push task per channel, delayed by COALESCE_SECONDS, unless one is already scheduled
(`ChannelPush.scheduled_at`). The task sends the quantities of every dirty product as
they are when it runs, through the connector's `export_inventory` and the same
quantity computation as the Export Inventory job, and records a JobRun. A burst of
changes therefore costs one batched push per channel, and a later push always carries
the newest quantities.
"""

import logging
from datetime import timedelta
from functools import partial

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

# How long changes gather before a channel's push goes out.
COALESCE_SECONDS = 2.0
# A scheduled push whose task never ran (lost message, killed worker) stops blocking
# new ones after this long; longer than the whole retry backoff of a push.
STALE_SCHEDULE = timedelta(minutes=30)


class PushFailed(Exception):
    """The platform failed the push; the products stay pending and the task retries."""


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

    push_inventory.apply_async((channel_id,), countdown=COALESCE_SECONDS)


def hold_schedule(channel_id: int) -> None:
    """Keep the channel marked as scheduled while its failed push waits for a retry, so
    new changes join that retry instead of starting a parallel push."""
    ChannelPush.objects.filter(channel_id=channel_id).update(scheduled_at=timezone.now())


def release_schedule(channel_id: int) -> None:
    ChannelPush.objects.filter(channel_id=channel_id).update(scheduled_at=None)


def push_channel(channel_id: int, http=None) -> JobRun | None:
    """Push the dirty products of one channel; the JobRun, or None when nothing was due.

    Raises PushFailed when the platform failed (the products stay pending).
    """
    # Cleared before reading: changes from now on schedule another push.
    release_schedule(channel_id)
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

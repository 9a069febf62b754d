"""Inventory Real-Time Updates, the engine's half: one push of a channel's dirty products
(the catalog keeps which products are dirty and when the push is due: catalog.push),
recorded as an Export Inventory JobRun and sent with the same quantities as the Export
Inventory job (catalog.selectors.available_stock)."""

from django.db import transaction
from django.utils import timezone

from catalog import push as bookkeeping
from catalog.selectors import available_stock
from channels import crypto
from channels.connectors import connector_for
from channels.connectors.base import ConnectorError
from channels.models import Channel
from channels.platforms import JobType

from .. import leases
from ..models import JobRun, RunStatus, Trigger
from .runner import MAX_MESSAGES


class PushFailed(Exception):
    """The platform failed the push; the products stay pending and the task retries."""


class PushBusy(Exception):
    """Another push of the channel is running; this one must wait for it."""


def push_channel(channel_id: int, http=None) -> JobRun | None:
    """Push the dirty products of one channel; the JobRun, or None when nothing was due.

    Raises PushBusy when another push of the channel is running, PushFailed when the
    platform failed (the products stay pending).
    """
    if not bookkeeping.start_push(channel_id):
        if bookkeeping.push_was_scheduled(channel_id):
            raise PushBusy(channel_id)
        return None  # never scheduled: nothing is pending
    try:
        return _push(channel_id, http)
    finally:
        bookkeeping.end_push(channel_id)


def _push(channel_id: int, http) -> JobRun | None:
    channel = Channel.objects.select_related("account").filter(pk=channel_id).first()
    pending = bookkeeping.pending_products(channel_id)
    if channel is None or not pending:
        return None
    if channel not in bookkeeping.pushing_channels(channel.account_id):
        # Setting turned off, channel deactivated or credentials removed since the
        # change: the Export Inventory job is the channel's only update now.
        bookkeeping.forget_pushed(channel_id, pending)
        return None
    run = JobRun.objects.create(
        account_id=channel.account_id,
        channel=channel,
        job_type=JobType.EXPORT_INVENTORY,
        # The push is started by a timer after the changes, never by a person.
        trigger=Trigger.SCHEDULE,
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        lease_until=leases.running_lease(timezone.now()),
    )
    bookkeeping.record_push_run(channel_id, run.pk)
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

    def finish():
        # One transaction: whoever sees the run finished sees its products no longer
        # pending. Rejected items are not retried: the platform refused them, another
        # try would too.
        with transaction.atomic():
            JobRun.objects.filter(pk=run.pk).update(
                status=status, counts=counts, messages=messages, finished_at=timezone.now(), lease_until=None
            )
            if not failure:
                bookkeeping.forget_pushed(channel_id, pending)

    leases.durably(finish)
    if failure:
        raise PushFailed(failure)
    run.refresh_from_db()
    return run

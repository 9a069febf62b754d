"""Celery tasks of the automations engine: the dispatcher tick (queue `dispatch`), the
execution of one scheduled, webhook, emergency or manual run and the order workflows
(queue `jobs`), and the real-time inventory push (queue `push`)."""

import random
from collections.abc import Callable
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, User
from catalog import push as push_bookkeeping
from channels.models import WebhookEvent
from orders import workflow

from . import sweeper, workflows
from .dispatcher import dispatch_due, lock_ttl
from .jobs.push import PushBusy, PushFailed, push_channel
from .jobs.runner import RunRequeued, run_job
from .models import FINISHED_STATUSES, JobRun, RunStatus, ScheduleEntry, Trigger
from .reconciler import rearm
from .system_jobs import SYSTEM_JOBS, run_system_job


# Expires quickly: a backlog of ticks is worth one tick, not a queue of them.
@shared_task(queue="dispatch", expires=5, ignore_result=True)
def dispatch_due_jobs() -> int:
    return dispatch_due()


# Runs lost on the way (a broker away, a worker killed) and tasks the outbox still holds.
@shared_task(queue="dispatch", expires=25, ignore_result=True)
def sweep() -> dict:
    return dict(sweeper.sweep())


# Transient platform failures (channels.connectors.base.ConnectorError.transient) are
# retried: 4 attempts in all, waiting 2.5–5, 5–10 and 10–20 s between them (at most 35 s
# in all), well inside the shortest period (5 minutes) and the webhook lock's TTL.
RETRY_ATTEMPTS = 4
RETRY_BACKOFF_SECONDS = 5.0


def retry_delay(failed_attempt: int, base: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the n-th failed attempt: base · 2^(n−1), of which the upper
    half is random ("equal jitter") so runs that failed together do not retry together."""
    full = base * 2 ** (failed_attempt - 1)
    return full / 2 + rand() * full / 2


# Celery's own retry limit is off: the run counts its attempts (JobRun.counts), so a task
# delivered twice cannot buy it more.
@shared_task(bind=True, queue="jobs", acks_late=True, ignore_result=True, max_retries=None)
def execute_run(self, run_id: int, ids: list[str] | None = None) -> str | None:
    """Run one JobRun (dispatched, or a person's manual sync), then settle its webhook
    events and lock. Safe to run twice: a run that is no longer queued is left alone by
    run_job. A transient failure retries the same run after a backoff; meanwhile it keeps
    its events and its lock, and settles only when it ends."""
    run = JobRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    if run.channel_id is None and run.job_type in SYSTEM_JOBS:
        return run_system_job(run).status
    # Called as a plain function there is no worker to retry on: one attempt.
    attempts = 1 if self.request.called_directly else RETRY_ATTEMPTS
    try:
        run = run_job(run, ids=ids, attempts=attempts, task_id=self.request.id or "")
    except RunRequeued as requeued:
        # The platform's own Retry-After wins when it asks for longer than our backoff.
        countdown = max(retry_delay(requeued.attempt, RETRY_BACKOFF_SECONDS), requeued.retry_after or 0)
        keep_lock(requeued.run, countdown)
        # The sweeper leaves the run to this retry until a while after it is due.
        JobRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            lease_until=timezone.now() + timedelta(seconds=countdown) + sweeper.PUBLISH_GRACE
        )
        raise self.retry(countdown=countdown) from None
    # A run still Running here belongs to another worker (this message was a duplicate):
    # its events and its job's lock are that attempt's to settle when it ends.
    if run.status in FINISHED_STATUSES:
        settle(run)
    return run.status


def keep_lock(run: JobRun, countdown: float) -> None:
    """A webhook run waiting to retry holds its job for the wait plus a whole attempt: if
    the lock expired meanwhile, the dispatcher would take the run for crashed and start
    another with its events."""
    until = timezone.now() + timedelta(seconds=countdown) + lock_ttl()
    ScheduleEntry.objects.filter(lock_run=run).update(locked_until=until, next_run_at=until)


def settle(run: JobRun) -> None:
    """Mark the events the run took processed (By ID: only if it did not fail, so its ids
    are fetched again next time) and release the webhook job's lock."""
    now = timezone.now()
    with transaction.atomic():
        taken = WebhookEvent.objects.filter(job_run=run, processed_at__isnull=True)
        if run.trigger == Trigger.WEBHOOK or run.status != RunStatus.FAILED:
            taken.update(processed_at=now)
        else:
            taken.update(job_run=None)
        for row in ScheduleEntry.objects.select_for_update().filter(lock_run=run):
            rearm(row, now)
            row.save(update_fields=["next_run_at", "window_start", "lock_run", "locked_until", "updated_at"])


# Order workflows -----------------------------------------------------------------------


def _actor(actor_id: int | None, actor_name: str, workflow_name: str) -> workflow.Actor:
    """Neither a person nor a named client (the API): the automatic workflow itself."""
    if not actor_id and not actor_name:
        return workflow.automatic_workflow(workflow_name)
    user = User.objects.filter(pk=actor_id).first() if actor_id else None
    # A person removed since they clicked is still no workflow: say so rather than guess.
    return workflow.Actor(actor_name or (user.email if user else "A removed user"), user)


@shared_task(queue="jobs", acks_late=True, ignore_result=True)
def process_sales_orders(
    account_id: int,
    order_ids: list[int],
    actor_id: int | None = None,
    actor_name: str = "",
    progress_id: int | None = None,
) -> dict | None:
    """Validate, allocate and send these sales orders; without an actor it is the
    Automatic Sales Order Workflow. Safe to run twice: processed orders are skipped.
    `progress_id`: the Progress row a person's page watches."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    actor = _actor(actor_id, actor_name, workflow.SO_WORKFLOW)
    return dict(workflows.process_sales_orders(account, order_ids, actor, progress_id))


@shared_task(queue="jobs", acks_late=True, ignore_result=True)
def send_purchase_orders(
    account_id: int,
    purchase_order_ids: list[int],
    actor_id: int | None = None,
    actor_name: str = "",
    progress_id: int | None = None,
) -> dict | None:
    """Send these purchase orders to their warehouses' fulfillment channels; without an
    actor it is the Automatic Purchase Order Workflow. Sent ones are skipped on a rerun."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    actor = _actor(actor_id, actor_name, workflow.PO_WORKFLOW)
    return dict(workflows.send_purchase_orders(account, purchase_order_ids, actor, progress_id))


# Real-time inventory push ----------------------------------------------------------------

# Backoff of a failed push: 5 s, 10 s, 20 s … capped at 5 minutes, 8 tries in all
# (about 17 minutes, below catalog.push.STALE_SCHEDULE). After the last one the products
# stay pending and the next change pushes them again. Tests shorten the first step
# through the setting INVENTORY_PUSH_BACKOFF_SECONDS.
PUSH_MAX_RETRIES = 8
PUSH_BACKOFF_SECONDS = 5
PUSH_BACKOFF_MAX_SECONDS = 300


def push_backoff(retries: int) -> float:
    first = getattr(settings, "INVENTORY_PUSH_BACKOFF_SECONDS", PUSH_BACKOFF_SECONDS)
    return min(first * 2**retries, PUSH_BACKOFF_MAX_SECONDS)


@shared_task(bind=True, queue="push", max_retries=PUSH_MAX_RETRIES)
def push_inventory(self, channel_id: int) -> int | None:
    """Push a channel's dirty products; the JobRun's id, None when nothing was due."""
    try:
        run = push_channel(channel_id)
    except PushBusy:
        # Pushes of a channel never overlap (an older one could land last): try again
        # once the running one is done, as a new task (waiting is not a failed try).
        push_inventory.apply_async((channel_id,), countdown=push_bookkeeping.next_push_delay(channel_id))
        return None
    except PushFailed as exc:
        if self.request.retries >= self.max_retries:
            push_bookkeeping.release_schedule(channel_id)
            return None
        push_bookkeeping.hold_schedule(channel_id)
        raise self.retry(exc=exc, countdown=push_backoff(self.request.retries)) from exc
    return run.pk if run else None

"""The sweeper (every 30 s from beat): no run is lost and none is stuck.

- A Queued run whose message the broker never confirmed (the broker was away when its
  transaction committed, or the process died in between) is sent after a short grace;
  one confirmed but still not started after its lease is sent again, or after the grace
  when the runs' queue in the broker is empty (a Redis restarted without its data lost
  every message it held). Sending twice is
  safe: a worker only ever claims a queued run.
- A Running run past its lease lost its worker: it is queued and sent again (imports and
  sends are idempotent, so what the lost attempt stored is not stored twice), and fails
  with the reason once its worker was lost MAX_LOST_WORKERS times. Webhook runs holding
  their job's lock are the dispatcher's: it fails them when the lock expires and hands
  their events to a new run.
- A real-time push scheduled but not started long after its interval and backoff was
  lost with its message: it is sent again (its products are still pending).
- The outbox's messages the broker refused are sent.
Each recovery is told in the run's messages.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import ChannelError

from catalog import push as push_bookkeeping

from . import outbox
from .leases import LOST_FIELDS, note_lost_worker
from .models import JobRun, RunStatus, ScheduleEntry
from .publish import EXECUTE_RUN, QUEUED_LEASE, Message, send_runs

log = logging.getLogger(__name__)

# An unconfirmed Queued run is sent again this long after it was queued: its own
# commit hook had every chance to send it by then.
PUBLISH_GRACE = timedelta(seconds=60)
BATCH = 500


def sweep(now: datetime | None = None) -> Counter:
    """One pass; what it did, by kind."""
    now = now or timezone.now()
    done = Counter()
    # Resent first: a run the same pass re-queues was just sent.
    done["resent"] = _resend_unconfirmed(now)
    done["lost_workers"], done["failed"] = _recover_lost(now)
    done["pushes"] = _resend_lost_pushes(now)
    done["outbox"] = outbox.deliver_pending(now)
    if any(done.values()):
        log.info("sweep: %s", dict(done))
    return +done


def _recover_lost(now: datetime) -> tuple[int, int]:
    locked = ScheduleEntry.objects.filter(lock_run__isnull=False).values("lock_run_id")
    requeued, failed = [], 0
    with transaction.atomic():
        lost = (
            JobRun.objects.select_for_update(skip_locked=True)
            .filter(status=RunStatus.RUNNING, lease_until__lt=now)
            .exclude(pk__in=locked)
            .order_by("pk")[:BATCH]
        )
        for run in lost:
            if note_lost_worker(run, now):
                failed += 1
            else:
                run.status = RunStatus.QUEUED
                run.messages = [
                    *run.messages,
                    f"The worker running this job was lost (stopped or killed before it finished; "
                    f"noticed {now:%H:%M:%S} UTC): sent to the workers again.",
                ]
                requeued.append(Message(run.pk, run.target_ids))
            run.save(update_fields=LOST_FIELDS)
    if requeued:
        send_runs(requeued, now)  # refused: they are unconfirmed Queued runs for the next pass
    return len(requeued), failed


def _resend_unconfirmed(now: datetime) -> int:
    overdue = Q(lease_until__isnull=True, queued_at__lt=now - PUBLISH_GRACE) | Q(lease_until__lt=now)
    if _run_queue_is_empty():
        # Nothing waits in the broker (a Redis restarted without its data lost what it
        # held): a run queued before the grace and still not started has no message left.
        # (Not one confirmed within the grace: its message may be with a worker already.)
        overdue |= Q(queued_at__lt=now - PUBLISH_GRACE, lease_until__lt=now + QUEUED_LEASE - PUBLISH_GRACE)
    stale = list(
        JobRun.objects.filter(status=RunStatus.QUEUED)
        .filter(overdue)
        .order_by("pk")
        .only("pk", "target_ids", "lease_until", "messages")[:BATCH]
    )
    if not stale or not send_runs([Message(run.pk, run.target_ids) for run in stale], now):
        return 0
    for run in stale:
        why = (
            "the broker could not take it when it was queued"
            if run.lease_until is None
            else "its message was no longer in the broker"
        )
        JobRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            lease_until=now + QUEUED_LEASE,
            messages=[*run.messages, f"Sent to the workers again at {now:%H:%M:%S} UTC: {why}."],
        )
    return len(stale)


def _run_queue_is_empty() -> bool:
    """Whether the runs' queue holds no message (False when the broker cannot tell)."""
    try:
        with current_app.connection_for_read() as connection:
            queue = current_app.tasks[EXECUTE_RUN].queue
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count == 0
    except ChannelError:
        return True  # the broker knows no such queue (a Redis restarted empty): it holds nothing
    except Exception as exc:  # noqa: BLE001 - a broker away or a transport that cannot count
        log.info("the runs' queue could not be counted: %s", exc)
        return False


# A scheduled push starts within its interval, or waits out a failed try's backoff (at
# most 5 minutes, automations.tasks.PUSH_BACKOFF_MAX_SECONDS): one still not started
# after this was lost with its message.
PUSH_OVERDUE = timedelta(minutes=6)
PUSH_TASK = "automations.tasks.push_inventory"


def _resend_lost_pushes(now: datetime) -> int:
    with transaction.atomic():
        channel_ids = push_bookkeeping.overdue_pushes(now - PUSH_OVERDUE)
        for channel_id in channel_ids:
            outbox.send_on_commit(current_app.tasks[PUSH_TASK], channel_id)
    return len(channel_ids)

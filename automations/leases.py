"""Who holds a run, and until when.

A worker claims a run for one attempt with a lease that outlives the task's hard time
limit: a run still Running past its lease lost its worker (killed, out of memory, a
machine gone), and the sweeper sends it again. The same message delivered again after
its worker died (Celery re-queues the message of a killed pool process) takes the run
over at once: the run remembers the task id of its attempt.
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import JobRun, RunStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

# Outcome writes retried over a lost database connection: 0.5, 1, 2 s apart.
WRITE_ATTEMPTS = 4


def running_lease(now: datetime) -> datetime:
    """Past this a Running attempt is over for certain: Celery kills a task at its hard
    time limit, and a minute covers the worker's own bookkeeping."""
    return now + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# A run whose worker was lost this many times fails with the reason instead of being
# tried again (the sweeper and a redelivered message alike): a run that kills its worker
# each time (out of memory on one record, the hard time limit) would otherwise go round
# for ever, since Celery puts a lost worker's message back without counting.
MAX_LOST_WORKERS = 3


# What note_lost_worker changes.
LOST_FIELDS = ["status", "counts", "messages", "lease_until", "task_id", "finished_at"]


def lost_too_often(times: int) -> str:
    return (
        f"The worker running this job was lost {times} times (stopped or killed before it "
        "finished): the run stopped here; the job's next run tries again."
    )


def note_lost_worker(run: JobRun, now: datetime) -> bool:
    """Count a lost worker on the run (in memory; the caller saves counts, messages,
    status, finished_at, lease_until and task_id). True when that made MAX_LOST_WORKERS:
    the run is then Failed with the reason. Counted in the row, not in an attempt's
    memory: the attempt may die too."""
    times = run.counts.get("lost_workers", 0) + 1
    run.counts = {**run.counts, "lost_workers": times}
    run.lease_until, run.task_id = None, ""
    if times < MAX_LOST_WORKERS:
        return False
    run.status, run.finished_at = RunStatus.FAILED, now
    run.messages = [*run.messages, lost_too_often(times)]
    return True


def claim(run_id: int, task_id: str = "") -> str | None:
    """Take a run for one attempt: "claimed" (it was queued), "resumed" (it was Running
    but its worker was lost: the lease ran out, or this very task was delivered again),
    or None (another worker has it, or it is finished; or its worker was now lost
    MAX_LOST_WORKERS times, and it failed)."""
    now = timezone.now()
    values = {
        "status": RunStatus.RUNNING,
        # A run tried again keeps the start of its first attempt.
        "started_at": Coalesce("started_at", Value(now)),
        "lease_until": running_lease(now),
        "task_id": task_id or "",
    }
    if JobRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(**values):
        return "claimed"
    lost = Q(lease_until__lt=now)
    if task_id:
        lost |= Q(task_id=task_id)
    with transaction.atomic():
        run = (
            JobRun.objects.select_for_update()
            .filter(lost, pk=run_id, status=RunStatus.RUNNING)
            .only("counts", "messages")
            .first()
        )
        if run is None:
            return None
        if note_lost_worker(run, now):
            run.save(update_fields=LOST_FIELDS)
            return None
        JobRun.objects.filter(pk=run_id).update(counts=run.counts, **values)
    return "resumed"


def durably(write: Callable[[], T]) -> T:
    """Run a write outside any transaction, reconnecting when the database connection
    was lost (a restarted server, a terminated backend): the outcome of a run is
    recorded once the database answers again, not dropped with the old connection."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or attempt == WRITE_ATTEMPTS - 1:
                raise
            log.warning("database connection lost (%s); reconnecting", exc)
            connection.close()
            time.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")

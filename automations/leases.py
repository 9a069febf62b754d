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
from django.db import InterfaceError, OperationalError, connection
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


def claim(run_id: int, task_id: str = "") -> str | None:
    """Take a run for one attempt: "claimed" (it was queued), "resumed" (it was Running
    but its worker was lost: the lease ran out, or this very task was delivered again),
    or None (another worker has it, or it is finished)."""
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
    if JobRun.objects.filter(lost, pk=run_id, status=RunStatus.RUNNING).update(**values):
        return "resumed"
    return None


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

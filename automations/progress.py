"""Progress of long work a person watches: how many records a job run has written of those
it fetched (kept on the JobRun), and how far a person's other long work has come (a
Progress row: processing the selected orders, a Master Product Source change).

Writes are cheap: a run's progress is saved every EVERY records or SECONDS seconds,
whichever comes first, never per record; a Progress row is one small UPDATE per step.
Every write is its own statement outside the caller's record transactions, so a page
polling it sees it at once.
"""

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from .models import FINISHED_STATUSES, JobRun, Progress, ProgressKind, ProgressStatus, RunStatus

EVERY = 25
SECONDS = 1.0
# Finished Progress rows older than this are deleted when the account starts new work.
KEEP = timedelta(days=1)


def track(run: JobRun, items: Iterable, *, clock: Callable[[], float] = time.monotonic) -> Iterator:
    """Yield `items` (a sized collection), saving the run's progress on the way: 0 of n
    before the first, every EVERY items or SECONDS seconds, and n of n after the last."""
    items = list(items)
    total = len(items)
    _save_run(run, 0, total)
    saved_at, saved = clock(), 0
    for done, item in enumerate(items):
        if done - saved >= EVERY or (done > saved and clock() - saved_at >= SECONDS):
            _save_run(run, done, total)
            saved_at, saved = clock(), done
        yield item
    _save_run(run, total, total)


def track_pages(run: JobRun, pages: Iterable) -> Iterator:
    """Yield a read's `pages` (Fetched, each taken when the caller is done with the one
    before), saving the run's progress after each: the records handled of the total the
    platform announced on its first page, or of those read so far."""
    done, total = 0, 0
    _save_run(run, 0, 0)
    for page in pages:
        size = len(page.items) + len(page.messages)
        total = max(total, page.expected or 0, done + size)
        _save_run(run, done, total)
        yield page
        done += size
    _save_run(run, done, max(total, done))


def _save_run(run: JobRun, done: int, total: int) -> None:
    run.progress = {"done": done, "total": total}
    JobRun.objects.filter(pk=run.pk).update(progress=run.progress)


def start(
    account, kind: ProgressKind, total: int, step: str = "", token: uuid.UUID | None = None
) -> Progress:
    """A new Progress of `account`'s work (the token its page polls, or a new one)."""
    Progress.objects.filter(account=account, started_at__lt=timezone.now() - KEEP).delete()
    if token is not None and Progress.objects.filter(token=token).exists():
        token = None  # a page posted twice (Back, then again): the second is work of its own
    return Progress.objects.create(
        token=token or uuid.uuid4(), account=account, kind=kind, total=total, step=step
    )


def advance(progress_id: int | None, by: int = 1, step: str | None = None) -> None:
    """`by` more items done (and what is being done now); nothing without a Progress."""
    if progress_id is None:
        return
    changes = {"done": F("done") + by} if by else {}
    if step is not None:
        changes["step"] = step
    Progress.objects.filter(pk=progress_id).update(**changes)


def finish(progress_id: int | None, status: ProgressStatus, outcome: str) -> None:
    if progress_id is None:
        return
    Progress.objects.filter(pk=progress_id).update(
        status=status, step=outcome[:200], done=F("total"), finished_at=timezone.now()
    )


def outcome_text(counts: dict, labels: dict[str, str]) -> str:
    """'3 sent, 1 on hold' from a workflow's counts, in the order of `labels`."""
    parts = [f"{counts[key]} {label}" for key, label in labels.items() if counts.get(key)]
    return ", ".join(parts) or "Nothing to do"


def run_snapshot(run: JobRun) -> dict:
    """What the progress endpoint answers for a job run."""
    progress = run.progress or {}
    finished = run.status in FINISHED_STATUSES
    return {
        "label": run.get_job_type_display(),
        "status": run.status,
        "status_label": run.get_status_display(),
        "finished": finished,
        "done": progress.get("done", 0),
        "total": progress.get("total"),
        "step": "; ".join(run.messages[-3:]) if finished else _run_step(run, progress),
        "counts": run.counts if finished else {},
    }


def _run_step(run: JobRun, progress: dict) -> str:
    if run.status == RunStatus.QUEUED:
        return "Waiting for a worker"
    return "Writing records" if progress.get("total") else "Calling the platform"


def progress_snapshot(progress: Progress) -> dict:
    """What the progress endpoint answers for a Progress row."""
    return {
        "label": progress.get_kind_display(),
        "status": progress.status,
        "status_label": progress.get_status_display(),
        "finished": progress.status != ProgressStatus.RUNNING,
        "done": progress.done,
        "total": progress.total,
        "step": progress.step,
        "counts": {},
    }

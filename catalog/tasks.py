"""Celery tasks of the catalog: the real-time inventory push (queue `push`)."""

from celery import shared_task

from . import push

# Backoff of a failed push: 5 s, 10 s, 20 s … capped at 5 minutes, 8 tries in all
# (about 17 minutes, below push.STALE_SCHEDULE). After the last one the products stay
# pending and the next change pushes them again.
MAX_RETRIES = 8
BACKOFF_SECONDS = 5
BACKOFF_MAX_SECONDS = 300


def backoff(retries: int) -> int:
    return min(BACKOFF_SECONDS * 2**retries, BACKOFF_MAX_SECONDS)


@shared_task(bind=True, queue="push", max_retries=MAX_RETRIES)
def push_inventory(self, channel_id: int) -> int | None:
    """Push a channel's dirty products; the JobRun's id, None when nothing was due."""
    try:
        run = push.push_channel(channel_id)
    except push.PushFailed as exc:
        if self.request.retries >= self.max_retries:
            push.release_schedule(channel_id)
            return None
        push.hold_schedule(channel_id)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return run.pk if run else None

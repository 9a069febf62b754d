"""Celery tasks of the catalog: the real-time inventory push (queue `push`)."""

from celery import shared_task
from django.conf import settings

from . import push

# Backoff of a failed push: 5 s, 10 s, 20 s … capped at 5 minutes, 8 tries in all
# (about 17 minutes, below push.STALE_SCHEDULE). After the last one the products stay
# pending and the next change pushes them again. Tests shorten the first step through
# the setting INVENTORY_PUSH_BACKOFF_SECONDS.
MAX_RETRIES = 8
BACKOFF_SECONDS = 5
BACKOFF_MAX_SECONDS = 300


def backoff(retries: int) -> float:
    first = getattr(settings, "INVENTORY_PUSH_BACKOFF_SECONDS", BACKOFF_SECONDS)
    return min(first * 2**retries, BACKOFF_MAX_SECONDS)


@shared_task(bind=True, queue="push", max_retries=MAX_RETRIES)
def push_inventory(self, channel_id: int) -> int | None:
    """Push a channel's dirty products; the JobRun's id, None when nothing was due."""
    try:
        run = push.push_channel(channel_id)
    except push.PushBusy:
        # Pushes of a channel never overlap (an older one could land last): try again
        # once the running one is done, as a new task (waiting is not a failed try).
        push_inventory.apply_async((channel_id,), countdown=push.next_push_delay(channel_id))
        return None
    except push.PushFailed as exc:
        if self.request.retries >= self.max_retries:
            push.release_schedule(channel_id)
            return None
        push.hold_schedule(channel_id)
        raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    return run.pk if run else None

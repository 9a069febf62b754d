"""Tasks sent as part of a commit (a transactional outbox): the message is a row written
in the caller's transaction and handed to the broker once that commits. When the broker
is away the row stays, and the sweeper sends it when the broker is back; a task sent
twice (the broker took it but the row could not be deleted) must be safe to run twice,
as every task of the engine is."""

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction
from django.db.models import F

from .models import OutboxMessage

log = logging.getLogger(__name__)

# A message still here this long after its commit was not delivered by its own commit
# hook (broker away, process killed): the sweeper sends it.
DELIVERY_GRACE = timedelta(seconds=30)
SWEEP_LIMIT = 1000


def send_on_commit(task, *args, countdown: float = 0) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one)."""
    message = OutboxMessage.objects.create(task=task.name, args=list(args), countdown=countdown)
    transaction.on_commit(lambda: deliver(message.pk))


def deliver(message_id: int) -> bool:
    """Hand one message to the broker and forget it; False when the broker refused it."""
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        return True  # delivered meanwhile by the sweeper
    task = current_app.tasks[message.task]
    options = {"countdown": message.countdown} if message.countdown else {}
    if current_app.conf.task_always_eager:
        # Eager (tests, debugging): the task runs here and its errors are the caller's.
        OutboxMessage.objects.filter(pk=message_id).delete()
        task.apply_async(message.args, **options)
        return True
    try:
        task.apply_async(message.args, **options)
    except Exception as exc:  # noqa: BLE001 - any broker failure (connection, timeout, auth)
        log.warning("outbox message %s (%s) not sent: %s", message_id, message.task, exc)
        OutboxMessage.objects.filter(pk=message_id).update(
            attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]
        )
        return False
    OutboxMessage.objects.filter(pk=message_id).delete()
    return True


def deliver_pending(now: datetime) -> int:
    """Send what the commit hooks could not; the number sent. Stops at the first refusal:
    the broker is still away, the next sweep tries again."""
    sent = 0
    pending = OutboxMessage.objects.filter(created_at__lt=now - DELIVERY_GRACE).order_by("pk")
    for message_id in pending.values_list("pk", flat=True)[:SWEEP_LIMIT]:
        if not deliver(message_id):
            break
        sent += 1
    return sent

"""Publishing dispatched runs to the broker: thousands of `execute_run` tasks a second.

`apply_async` per message publishes ~700/s: each call routes the task, builds its
message through several layers and makes its own Redis round trip. Here the route is
computed once per batch and the messages are ordinary Celery task messages (workers see
plain `execute_run` tasks): on Redis, one message per batch is built by Celery and kombu
themselves and the others are copies differing only in their ids and arguments, pushed
PUBLISH_BATCH at a time with a single LPUSH; on other transports (the embedded
filesystem broker) kombu's Producer publishes each one.
"""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.utils import timezone
from kombu.entity import maybe_delivery_mode
from kombu.serialization import dumps as serialize
from kombu.utils.json import dumps as kombu_json
from kombu.utils.uuid import uuid

from .models import JobRun, RunStatus

log = logging.getLogger(__name__)

# Messages per LPUSH (Redis) or per kombu batch (other transports): one round trip per
# hundred messages is already a small share of building them.
PUBLISH_BATCH = 100
EXECUTE_RUN = "automations.tasks.execute_run"


@dataclass(frozen=True)
class Message:
    run_id: int
    ids: list[str] | None = None

    def argsrepr(self) -> str:
        # Explicit, so Celery's saferepr (a third of its cost per message) is not run.
        return f"({self.run_id}, {len(self.ids)} ids)" if self.ids else f"({self.run_id}, None)"


def publish_runs(messages: list[Message]) -> None:
    """Send the runs' `execute_run` tasks over one broker connection."""
    task = _execute_run()
    app = task._get_app()
    if app.conf.task_always_eager:
        # Eager mode (tests, debugging) runs the task in the caller: no broker involved.
        for m in messages:
            task.apply_async((m.run_id, m.ids))
        return
    queue = app.amqp.router.route({}, task.name, args=None, kwargs=None)["queue"]
    with app.producer_or_acquire() as producer:
        producer.maybe_declare(queue)
        if _plain_redis_queue(producer, queue.name, app.conf.task_compression):
            _push_to_redis(producer, task, queue, messages)
        else:
            _publish_with_kombu(producer, task, queue, messages)


def task_message(task, m: Message) -> tuple[dict, dict, tuple]:
    """Celery's own message for one run: (headers, properties, body)."""
    headers, properties, body, _ = task.app.amqp.create_task_message(
        uuid(),
        task.name,
        (m.run_id, m.ids),
        {},
        argsrepr=m.argsrepr(),
        kwargsrepr="{}",
        time_limit=task.time_limit,
        soft_time_limit=task.soft_time_limit,
        ignore_result=task.ignore_result,
    )
    return headers, properties, body


def _delivery(task, queue) -> dict:
    # What send_task_message does for a direct exchange: the default exchange, keyed by queue.
    conf = task.app.conf
    return {
        "exchange": "",
        "routing_key": queue.name,
        "serializer": conf.task_serializer,
        "compression": conf.task_compression,
        "delivery_mode": queue.exchange.delivery_mode or conf.task_default_delivery_mode,
    }


def _publish_with_kombu(producer, task, queue, messages: list[Message]) -> None:
    # Producer.publish directly rather than Celery's send_task_message, whose per-message
    # retry wrapper and publish signals do nothing for a buffered message (a failed flush
    # raises out of the batch).
    delivery = _delivery(task, queue)
    with producer.batch(max_size=PUBLISH_BATCH):
        for m in messages:
            headers, properties, body = task_message(task, m)
            producer.publish(body, headers=headers, declare=[], retry=False, **delivery, **properties)


def _plain_redis_queue(producer, queue_name: str, compression: str | None) -> bool:
    """A Redis queue without priorities or expiry, and uncompressed messages: kombu's put
    is then one LPUSH of the serialized message to a list named after the queue (the
    copies below do not compress)."""
    channel = producer.channel
    return (
        compression is None
        and producer.connection.transport.driver_type == "redis"
        and channel._q_for_pri(queue_name, 0) == queue_name
        and queue_name not in (channel._expires or {})
    )


def _push_to_redis(producer, task, queue, messages: list[Message]) -> None:
    channel, delivery = producer.channel, _delivery(task, queue)
    headers, properties, body = task_message(task, messages[0])
    embed = body[2]  # callbacks, errbacks, chain, chord: the same for every run
    template = _redis_message(producer, headers, properties, body, delivery)
    headers, properties = template["headers"], template["properties"]

    def payload(m: Message) -> str:
        task_id = uuid()
        _, _, body = serialize(((m.run_id, m.ids), {}, embed), delivery["serializer"])
        encoded, _ = channel.encode_body(body, properties["body_encoding"])
        return kombu_json(
            {
                **template,
                "body": encoded,
                "headers": {**headers, "id": task_id, "root_id": task_id, "argsrepr": m.argsrepr()},
                "properties": {**properties, "correlation_id": task_id, "delivery_tag": uuid()},
            }
        )

    with channel.conn_or_acquire() as client:
        for start in range(0, len(messages), PUBLISH_BATCH):
            # LPUSH of many values stores them as that many LPUSHes would, in order; built
            # a chunk at a time, so a batch's messages are never all in memory at once.
            client.lpush(queue.name, *map(payload, messages[start : start + PUBLISH_BATCH]))


def _redis_message(producer, headers: dict, properties: dict, body, delivery: dict) -> dict:
    """A message exactly as kombu's Redis channel stores it: serialized as
    Producer.publish does, then prepared and augmented (body encoding, delivery info,
    delivery tag) by the channel itself."""
    channel = producer.channel
    content_type, content_encoding, payload = serialize(body, delivery["serializer"])
    mode = maybe_delivery_mode(delivery["delivery_mode"] or producer.exchange.delivery_mode)
    message = channel.prepare_message(
        payload, 0, content_type, content_encoding, headers, {**properties, "delivery_mode": mode}
    )
    channel._inplace_augment_message(message, delivery["exchange"], delivery["routing_key"])
    return message


class Publisher:
    """Publishes each committed batch on a thread while the dispatcher claims the next:
    the claim mostly waits on PostgreSQL, publishing mostly builds messages, so the two
    overlap. The block ends when every batch is in the broker, confirms the runs the
    broker took (the sweeper sends the others again), and raises the first publishing
    error. In eager mode, or with a caller's own `publish`, batches go out inline: an
    eager run must use the caller's database connection, not a thread's."""

    def __init__(self, publish: Callable[[list[Message]], None] | None):
        self._publish = publish or publish_runs
        self._threaded = publish is None and not _eager()
        self._pool: ThreadPoolExecutor | None = None
        self._sent: list[tuple[Future, list[Message]]] = []
        self._confirmed: list[int] = []

    def send(self, messages: list[Message]) -> None:
        if not self._threaded:
            self._publish(messages)
            self._confirmed += [m.run_id for m in messages]
            return
        if self._pool is None:  # an idle tick starts no thread
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="dispatch-publish")
        self._sent.append((self._pool.submit(self._publish, messages), messages))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        error = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            for sent, messages in self._sent:
                if sent.exception() is None:
                    self._confirmed += [m.run_id for m in messages]
                else:
                    error = error or sent.exception()
        # The database writes stay on the caller's thread and connection.
        confirm(self._confirmed)
        if error is not None:
            raise error
        return False


# How long a run whose message the broker took may wait for a worker before it is sent
# again (the Redis transport restores an unacknowledged message after the same hour).
QUEUED_LEASE = timedelta(hours=1)
CONFIRM_BATCH = 1000


def confirm(run_ids: list[int], now: datetime | None = None) -> None:
    """The broker holds these runs' messages: the sweeper leaves them alone for a while."""
    until = (now or timezone.now()) + QUEUED_LEASE
    for start in range(0, len(run_ids), CONFIRM_BATCH):
        JobRun.objects.filter(
            pk__in=run_ids[start : start + CONFIRM_BATCH], status=RunStatus.QUEUED, lease_until__isnull=True
        ).update(lease_until=until)


def send_runs(messages: list[Message], now: datetime | None = None) -> bool:
    """Publish and confirm runs outside the dispatcher (a manual sync, the sweeper);
    False when the broker refused them (they stay unconfirmed for the sweeper)."""
    try:
        publish_runs(messages)
    except Exception as exc:  # noqa: BLE001 - any broker failure (connection, timeout, auth)
        log.warning("%s run(s) not sent to the broker: %s", len(messages), exc)
        return False
    confirm([m.run_id for m in messages], now)
    return True


def _eager() -> bool:
    return _execute_run().app.conf.task_always_eager


def _execute_run():
    # Found in Celery's task registry by name rather than imported: the tasks module
    # imports the dispatcher, which imports this one. automations.receivers (loaded by
    # the app's ready()) imports the tasks module, so the task is always registered.
    return current_app.tasks[EXECUTE_RUN]

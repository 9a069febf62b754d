"""Publishing runs: batched over one broker connection, still ordinary Celery tasks."""

import base64
import json
import os

import pytest

from automations.models import JobRun, Trigger
from automations.publish import PUBLISH_BATCH, Message, publish_runs


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the Redis broker")
def test_batched_publishing_delivers_every_run_as_an_execute_run_task():
    import redis

    from oms.celery import app

    client = redis.Redis.from_url(app.conf.broker_url)
    client.delete("jobs")
    # More than one pipeline's worth, so the batch flushes on its own and at the end.
    messages = [Message(n, [f"id-{n}"] if n % 2 else None) for n in range(2 * PUBLISH_BATCH + 7)]
    publish_runs(messages)
    raw = client.lrange("jobs", 0, -1)
    client.delete("jobs")
    tasks = [json.loads(r) for r in raw]
    assert {t["headers"]["task"] for t in tasks} == {"automations.tasks.execute_run"}
    assert len({t["headers"]["id"] for t in tasks}) == len(messages)
    args = sorted(tuple(json.loads(base64.b64decode(t["body"]))[0]) for t in tasks)
    assert args == sorted((m.run_id, m.ids) for m in messages)


@pytest.mark.django_db
def test_eager_mode_runs_the_published_runs_in_the_caller(world, eager_celery, monkeypatch):
    ran = []

    def run_job(run, ids=None, **options):
        ran.append((run.pk, ids))
        return run

    monkeypatch.setattr("automations.tasks.run_job", run_job)
    run = JobRun.objects.create(account=world.acme_us, job_type="import_orders", trigger=Trigger.SCHEDULE)
    publish_runs([Message(run.pk, ["7"])])
    assert ran == [(run.pk, ["7"])]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the Redis broker")
def test_messages_pushed_to_redis_are_those_kombu_would_store_but_for_their_ids():
    """The Redis fast path copies one message built by Celery and kombu: this keeps it
    honest if either changes how a message looks."""
    import redis

    from automations.publish import _delivery, task_message
    from automations.tasks import execute_run
    from oms.celery import app

    client = redis.Redis.from_url(app.conf.broker_url)
    client.delete("jobs")
    message = Message(41, ["a", "b"])
    publish_runs([message])  # the fast path
    task = execute_run._get_current_object()
    queue = app.amqp.router.route({}, task.name, args=None, kwargs=None)["queue"]
    headers, properties, body = task_message(task, message)
    with app.producer_or_acquire() as producer:  # kombu's own publish of the same run
        producer.publish(
            body, headers=headers, declare=[queue], retry=False, **_delivery(task, queue), **properties
        )
    ours, kombus = (json.loads(raw) for raw in client.lrange("jobs", 0, -1)[::-1])
    client.delete("jobs")

    def without_ids(stored):
        task_id = stored["headers"]["id"]
        assert stored["headers"]["root_id"] == stored["properties"]["correlation_id"] == task_id
        return {
            **stored,
            "headers": {k: v for k, v in stored["headers"].items() if k not in ("id", "root_id")},
            "properties": {
                k: v for k, v in stored["properties"].items() if k not in ("correlation_id", "delivery_tag")
            },
        }

    assert without_ids(ours) == without_ids(kombus)
    assert ours["headers"]["id"] != kombus["headers"]["id"]
    assert ours["properties"]["delivery_tag"] != kombus["properties"]["delivery_tag"]

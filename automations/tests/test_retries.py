"""Job runs retry transient platform failures with backoff on the same run; permanent
ones fail at once; a run out of attempts fails with the last error and blocks nothing.

Celery runs eagerly here: a retry runs at once (no countdown is slept on), exactly as the
worker would run it later. The real worker and Redis variant is at the end."""

import os
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from automations import tasks
from automations.dispatcher import dispatch_due, lock_ttl
from automations.models import JobRun, Mode, RunStatus, Trigger
from automations.tests.conftest import place_order
from automations.tests.test_jobs import workflows_on
from automations.tests.test_webhook_jobs import configure, deliver, webhook_row
from channels.connectors.base import (
    ConnectorAuthError,
    ConnectorHttpError,
    ConnectorProtocolError,
    ConnectorTimeout,
    ConnectorUnavailable,
)
from channels.connectors.http import JsonHttpClient
from channels.models import WebhookEvent
from channels.platforms import JobType
from orders.models import SalesOrder, SalesOrderStatus

UNAVAILABLE = "The platform answered 503 to GET /api/orders: Injected failure."


@pytest.fixture
def eager_celery(eager_celery):
    """Eager, and a retry is no error to propagate: Celery then runs it at once."""
    eager_celery.conf.task_eager_propagates = False
    return eager_celery


def queue_run(channel, job_type=JobType.IMPORT_ORDERS) -> JobRun:
    return JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )


def execute(run: JobRun) -> JobRun:
    """The task as a worker runs it (eagerly: retries follow at once)."""
    tasks.execute_run.delay(run.pk)
    run.refresh_from_db()
    return run


def order_calls(linked) -> int:
    return linked.sandbox.calls.get("mkt", []).count(("GET", "/api/orders"))


# Which failures are worth another attempt -----------------------------------------------


def test_retry_delay_doubles_per_attempt_with_the_upper_half_random():
    assert [tasks.retry_delay(n, 5, rand=lambda: 0.0) for n in (1, 2, 3)] == [2.5, 5, 10]
    assert [tasks.retry_delay(n, 5, rand=lambda: 1.0) for n in (1, 2, 3)] == [5, 10, 20]


def test_the_whole_backoff_stays_far_inside_the_webhook_lock(settings):
    longest = sum(tasks.retry_delay(n, tasks.RETRY_BACKOFF_SECONDS, rand=lambda: 1.0) for n in (1, 2, 3))
    assert tasks.RETRY_ATTEMPTS == 4 and longest == 35
    assert longest < lock_ttl().total_seconds() / 10


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectorUnavailable("down"), True),
        (ConnectorTimeout("slow"), True),
        (ConnectorHttpError(429, "busy"), True),
        (ConnectorHttpError(408, "request timeout"), True),
        (ConnectorHttpError(500, "oops"), True),
        (ConnectorHttpError(503, "unavailable"), True),
        (ConnectorHttpError(400, "bad request"), False),
        (ConnectorHttpError(404, "gone"), False),
        (ConnectorHttpError(422, "refused"), False),
        (ConnectorHttpError(501, "not implemented"), False),
        (ConnectorAuthError("wrong key"), False),
        (ConnectorProtocolError("not JSON"), False),
    ],
)
def test_only_unavailable_slow_busy_and_server_errors_are_transient(error, transient):
    assert error.transient is transient


# Retries of one run --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_platform_failing_twice_then_recovering_is_one_successful_run_telling_its_attempts(
    linked, eager_celery
):
    linked.place_order()
    linked.sandbox.faults.update(status=503, times=2)
    run = execute(queue_run(linked.marketplace))
    assert (run.status, run.counts) == (RunStatus.SUCCESS, {"imported": 1, "attempts": 3})
    assert run.messages == [f"Attempt 2 of 4 after: {UNAVAILABLE}", f"Attempt 3 of 4 after: {UNAVAILABLE}"]
    assert JobRun.objects.count() == 1
    assert SalesOrder.objects.filter(channel=linked.marketplace).count() == 1
    assert order_calls(linked) == 3


@pytest.mark.django_db
def test_too_many_requests_and_timeouts_are_retried_too(linked, eager_celery, settings):
    linked.place_order()
    linked.sandbox.faults.update(status=429, times=1)
    assert execute(queue_run(linked.marketplace)).counts == {"imported": 1, "attempts": 2}
    settings.CHANNEL_CONNECTOR_TIMEOUT = 0.2
    linked.sandbox.faults.update(delay=0.5, times=1)
    slow = execute(queue_run(linked.marketplace))
    assert (slow.status, slow.counts) == (RunStatus.SUCCESS, {"already_imported": 1, "attempts": 2})
    assert slow.messages == [
        "Attempt 2 of 4 after: The platform did not answer GET /api/orders within 0.2 s."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [400, 401, 404, 501])
def test_a_permanent_error_fails_at_once_without_retry(linked, eager_celery, status):
    linked.place_order()
    linked.sandbox.faults.update(status=status, times=1)
    run = execute(queue_run(linked.marketplace))
    assert run.status == RunStatus.FAILED
    assert run.counts == {}
    assert len(run.messages) == 1 and f"{status}" in run.messages[0]
    assert order_calls(linked) == 1
    assert not SalesOrder.objects.exists()


@pytest.mark.django_db
def test_a_malformed_answer_fails_at_once_without_retry(linked, eager_celery):
    linked.place_order()
    linked.sandbox.faults.update(malformed=True, times=1)
    run = execute(queue_run(linked.marketplace))
    assert (run.status, run.messages) == (
        RunStatus.FAILED,
        ["The platform's answer to GET /api/orders is not valid JSON."],
    )
    assert order_calls(linked) == 1


@pytest.mark.django_db
def test_a_run_out_of_attempts_fails_with_the_last_error(linked, eager_celery, settings):
    settings.SANDBOX_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    run = execute(queue_run(linked.marketplace))
    assert (run.status, run.counts) == (RunStatus.FAILED, {"attempts": 4})
    assert [m.split(":")[0] for m in run.messages] == [
        "Attempt 2 of 4 after",
        "Attempt 3 of 4 after",
        "Attempt 4 of 4 after",
        "Attempt 4 of 4",
    ]
    assert "cannot be reached" in run.messages[-1]
    assert run.finished_at is not None and run.started_at <= run.finished_at


@pytest.mark.django_db
def test_a_run_called_without_a_worker_has_one_attempt(linked):
    """Direct calls (the order workflow's sends, inline test helpers) have nobody to retry."""
    linked.place_order()
    linked.sandbox.faults.update(status=503, times=1)
    run = queue_run(linked.marketplace)
    assert tasks.execute_run(run.pk) == RunStatus.FAILED
    run.refresh_from_db()
    assert run.messages == [UNAVAILABLE]


@pytest.mark.django_db
def test_an_import_retried_after_failing_between_pages_stores_every_order_once(
    linked, eager_celery, monkeypatch
):
    for _ in range(60):  # two pages of 50
        linked.place_order(quantity=1)
    real_get = JsonHttpClient.get

    def fail_page_two_once(self, path, params=None):
        if (params or {}).get("page") == 2 and not fail_page_two_once.done:
            fail_page_two_once.done = True
            linked.sandbox.faults.update(status=502, times=1)
        return real_get(self, path, params)

    fail_page_two_once.done = False
    monkeypatch.setattr(JsonHttpClient, "get", fail_page_two_once)
    run = execute(queue_run(linked.marketplace))
    # The first attempt stored page one before page two failed; the retry knows them.
    assert (run.status, run.counts) == (
        RunStatus.SUCCESS,
        {"imported": 10, "already_imported": 50, "attempts": 2},
    )
    assert "(done before: imported 50)" in " ".join(run.messages), run.messages
    assert SalesOrder.objects.count() == 60
    assert SalesOrder.objects.values("external_id").distinct().count() == 60


@pytest.mark.django_db
def test_a_push_retried_after_failing_part_way_sends_each_order_once(linked, eager_celery, monkeypatch):
    workflows_on(linked)
    for _ in range(2):
        linked.place_order(quantity=1)
    execute(queue_run(linked.marketplace))
    real_post, posts = JsonHttpClient.post, []

    def fail_second_post_once(self, path, data):
        posts.append(data["reference"])
        if len(posts) == 2:
            linked.sandbox.faults.update(status=503, times=1)
        return real_post(self, path, data)

    monkeypatch.setattr(JsonHttpClient, "post", fail_second_post_once)
    run = execute(queue_run(linked.threepl, JobType.SEND_ORDERS))
    assert (run.status, run.counts) == (RunStatus.SUCCESS, {"sent": 1, "attempts": 2})
    assert run.messages[0].startswith("Attempt 2 of 4 after: The platform answered 503 to POST")
    assert run.messages[0].endswith("(done before: sent 1)")
    first, second = sorted(SalesOrder.objects.values_list("pk", flat=True))
    assert posts == [f"SO-{first}", f"SO-{second}", f"SO-{second}"]
    remote = sorted(o["reference"] for o in linked.shop("tpl")["orders"].values())
    assert remote == [f"SO-{first}", f"SO-{second}"]
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {SalesOrderStatus.SENT}


@pytest.mark.django_db
def test_a_manual_sync_from_the_channel_page_is_retried_the_same_way(
    client_for, linked, eager_celery, django_capture_on_commit_callbacks
):
    linked.place_order()
    linked.sandbox.faults.update(status=503, times=1)
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("channel_detail", args=[linked.marketplace.pk]),
            {"action": "sync", "job_type": "import_orders"},
        )
    run = JobRun.objects.get()
    assert (run.trigger, run.status, run.counts) == (
        Trigger.MANUAL,
        RunStatus.SUCCESS,
        {"imported": 1, "attempts": 2},
    )
    page = client.get(reverse("channel_runs", args=[linked.marketplace.pk])).content.decode()
    assert f"Attempt 2 of 4 after: {UNAVAILABLE}" in page and "attempts: 2" in page


# Webhook runs: events and lock held through the retries ---------------------------------


@pytest.mark.django_db
def test_a_retrying_webhook_run_keeps_its_events_and_lock_and_settles_when_it_ends(
    client, world, beta_shop, sandbox, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"] for _ in range(2)])
    due = webhook_row(beta_shop).next_run_at
    real_get, seen = JsonHttpClient.get, []

    def observe(self, path, params=None):
        # What the second attempt finds when it calls the platform.
        row = webhook_row(beta_shop)
        events = WebhookEvent.objects.all()
        seen.append(
            (
                row.lock_run_id,
                row.locked_until,
                {e.job_run_id for e in events},
                sum(e.processed_at is not None for e in events),
                timezone.now(),
            )
        )
        return real_get(self, path, params)

    monkeypatch.setattr(JsonHttpClient, "get", observe)
    sandbox.faults.update(status=503, times=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(due) == 1
    run = JobRun.objects.get()
    assert (run.trigger, run.status, run.counts) == (
        Trigger.WEBHOOK,
        RunStatus.SUCCESS,
        {"imported": 2, "attempts": 2},
    )
    (lock1, until1, runs1, done1, _), (lock2, until2, runs2, done2, at2) = seen
    assert lock1 == lock2 == run.pk and runs1 == runs2 == {run.pk}
    assert done1 == done2 == 0  # not settled between attempts
    # The wait extended the lock: still a whole attempt's TTL ahead when attempt 2 starts.
    assert until1 is not None and until2 - at2 >= lock_ttl()
    row = webhook_row(beta_shop)
    assert (row.lock_run_id, row.locked_until, row.next_run_at) == (None, None, None)
    assert WebhookEvent.objects.filter(job_run=run, processed_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_webhook_run_out_of_attempts_fails_and_the_next_events_run_again(
    client, world, beta_shop, sandbox, eager_celery, django_capture_on_commit_callbacks, settings
):
    configure(world, beta_shop, Mode.WEBHOOK, webhook_delay_minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"]], prefix="a")
    sandbox_url, settings.SANDBOX_URL = settings.SANDBOX_URL, "http://127.0.0.1:9"
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(webhook_row(beta_shop).next_run_at) == 1
    failed = JobRun.objects.get()
    assert (failed.status, failed.counts) == (RunStatus.FAILED, {"attempts": 4})
    row = webhook_row(beta_shop)
    assert row.lock_run_id is None and row.next_run_at is None  # released and quiet
    settings.SANDBOX_URL = sandbox_url
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, beta_shop, [place_order(sandbox)["id"]], prefix="b")
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(webhook_row(beta_shop).next_run_at) == 1
    again = JobRun.objects.exclude(pk=failed.pk).get()
    # The import fetches every open order: the failed run's order arrives with the new one.
    assert (again.status, again.counts) == (RunStatus.SUCCESS, {"imported": 2})


@pytest.mark.django_db
def test_a_failed_scheduled_run_does_not_block_the_next_window(
    world, beta_shop, sandbox, eager_celery, django_capture_on_commit_callbacks, settings
):
    from automations.models import ScheduleEntry, ScheduleKind

    configure(world, beta_shop, Mode.RECURRING, period_minutes=15)
    place_order(sandbox)
    row = ScheduleEntry.objects.get(kind=ScheduleKind.BETA, channel=beta_shop)
    sandbox_url, settings.SANDBOX_URL = settings.SANDBOX_URL, "http://127.0.0.1:9"
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(row.next_run_at) == 1
    settings.SANDBOX_URL = sandbox_url
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due(row.next_run_at) == 1
    failed, succeeded = JobRun.objects.order_by("pk")
    assert (failed.status, failed.counts) == (RunStatus.FAILED, {"attempts": 4})
    assert (succeeded.status, succeeded.counts) == (RunStatus.SUCCESS, {"imported": 1})


# A real worker and broker ---------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (REDIS_URL)")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_after_the_backoff_and_ends_with_one_successful_run(
    client_for, linked, monkeypatch
):
    from celery.contrib.testing.worker import start_worker

    from oms.celery import app

    monkeypatch.setattr(tasks, "RETRY_BACKOFF_SECONDS", 0.4)  # waits of 0.2–0.4 s, then 0.4–0.8 s
    linked.place_order()
    # Only the import's calls: the worker also registers the channels' webhooks.
    linked.sandbox.faults.update(status=503, path="/api/orders", times=2)
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    started = time.monotonic()
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, queues=["jobs"]):
        client.post(
            reverse("channel_detail", args=[linked.marketplace.pk]),
            {"action": "sync", "job_type": "import_orders"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run = JobRun.objects.get()
            if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
                break
            time.sleep(0.05)
    elapsed = time.monotonic() - started
    assert (run.status, run.counts) == (RunStatus.SUCCESS, {"imported": 1, "attempts": 3})
    assert run.messages == [f"Attempt 2 of 4 after: {UNAVAILABLE}", f"Attempt 3 of 4 after: {UNAVAILABLE}"]
    assert SalesOrder.objects.filter(channel=linked.marketplace).count() == 1
    # The countdowns were waited for (0.6 s at least), not skipped.
    assert elapsed >= 0.6
    assert run.finished_at - run.started_at >= timedelta(seconds=0.6)

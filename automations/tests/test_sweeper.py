"""Nothing lost, nothing stuck: runs the broker never took, runs whose worker died, and
tasks the outbox holds are recovered by the sweeper (time moved with an injected clock;
the real-process faults are in test_faults.py)."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.models import Account
from automations import leases, outbox, publish, sweeper
from automations.jobs.runner import run_job
from automations.models import JobRun, OutboxMessage, RunStatus, ScheduleEntry, ScheduleKind, Trigger
from automations.services import request_sync
from catalog.models import ChannelPush, PendingPush
from channels.platforms import JobType
from orders.models import SalesOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails as it does with Redis stopped; `.restore()` brings it back."""

    class Down:
        def __init__(self):
            self.real = publish.publish_runs

        def restore(self):
            monkeypatch.setattr(publish, "publish_runs", self.real)

    def refuse(messages):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    down = Down()
    monkeypatch.setattr(publish, "publish_runs", refuse)
    return down


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def swept_runs(now=None) -> dict:
    """What a sweep did to runs (the fixtures' own outbox rows, e.g. webhook
    registrations their never-committed transaction left, are not this test's)."""
    return {k: v for k, v in sweeper.sweep(now).items() if k != "outbox"}


def test_a_manual_sync_while_the_broker_is_down_waits_queued_and_runs_once_it_is_back(
    linked, eager_celery, broker_down, django_capture_on_commit_callbacks
):
    linked.place_order(quantity=1)
    with django_capture_on_commit_callbacks(execute=True):
        run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    run.refresh_from_db()
    assert (run.status, run.lease_until) == (RunStatus.QUEUED, None)
    # Still down: the sweeper tries, nothing changes, nothing is lost.
    assert swept_runs(later(61)) == {}
    broker_down.restore()
    assert swept_runs(later(30)) == {}  # within the grace, its own hook may still send it
    assert swept_runs(later(61)) == {"resent": 1}
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS and run.counts == {"imported": 1}
    assert SalesOrder.objects.filter(channel=linked.marketplace).count() == 1
    assert swept_runs(later(120)) == {}


def test_a_confirmed_run_is_left_alone_until_its_lease_then_sent_again(linked, eager_celery, monkeypatch):
    # A backlog: the broker holds messages, this run's among them.
    monkeypatch.setattr(sweeper, "_run_queue_is_empty", lambda: False)
    run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger="manual",
    )
    publish.confirm([run.pk])
    run.refresh_from_db()
    assert run.lease_until is not None
    assert swept_runs(later(600)) == {}  # the broker has it: a backlog is no reason to send twice
    assert swept_runs(run.lease_until + timedelta(seconds=1)) == {"resent": 1}
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS


def test_a_confirmed_run_is_sent_again_after_the_grace_when_the_broker_holds_nothing(
    linked, eager_celery, monkeypatch
):
    # A Redis restarted without its data: the confirmed message is gone.
    monkeypatch.setattr(sweeper, "_run_queue_is_empty", lambda: True)
    run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger="manual",
    )
    publish.confirm([run.pk])
    assert swept_runs(later(30)) == {}
    assert swept_runs(later(61)) == {"resent": 1}
    assert JobRun.objects.get(pk=run.pk).status == RunStatus.SUCCESS


def test_a_run_whose_worker_died_is_run_again_and_imports_nothing_twice(linked, eager_celery):
    linked.place_order(quantity=1)
    run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger="manual",
    )
    # A worker took it, then died before recording anything.
    assert leases.claim(run.pk, "task-1") == "claimed"
    run.refresh_from_db()
    assert swept_runs(run.lease_until - timedelta(seconds=1)) == {}  # it may still be working
    assert swept_runs(run.lease_until + timedelta(seconds=1)) == {"lost_workers": 1}
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCESS
    assert run.counts == {"imported": 1, "lost_workers": 1}
    assert any("worker running this job was lost" in m for m in run.messages)
    again = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger="manual",
    )
    assert run_job(again).counts == {"already_imported": 1}
    assert SalesOrder.objects.filter(channel=linked.marketplace).count() == 1


def test_a_run_that_keeps_losing_its_worker_fails_with_the_reason(linked):
    run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger="manual",
        status=RunStatus.RUNNING,
        lease_until=later(-1),
        counts={"lost_workers": leases.MAX_LOST_WORKERS - 1},
    )
    assert swept_runs() == {"failed": 1}
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert f"lost {leases.MAX_LOST_WORKERS} times" in run.messages[-1]


def test_the_same_message_delivered_again_takes_its_run_over_at_once(linked):
    linked.place_order(quantity=1)
    run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger="manual",
    )
    assert leases.claim(run.pk, "task-1") == "claimed"
    # Another message for the same run (a sweeper's copy) leaves a live attempt alone…
    assert leases.claim(run.pk, "task-2") is None
    # …but the message of the attempt itself, delivered again, means its process died.
    ran = run_job(JobRun.objects.get(pk=run.pk), task_id="task-1")
    assert ran.status == RunStatus.SUCCESS and ran.counts["lost_workers"] == 1
    assert "lost before it finished; it ran again" in " ".join(ran.messages)


def test_webhook_runs_holding_their_lock_are_left_to_the_dispatcher(linked):
    run = JobRun.objects.create(
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        trigger=Trigger.WEBHOOK,
        status=RunStatus.RUNNING,
        lease_until=later(-1),
    )
    ScheduleEntry.objects.create(
        key=f"webhook:{linked.marketplace.pk}:import_orders",
        kind=ScheduleKind.WEBHOOK,
        account=linked.world.acme_us,
        channel=linked.marketplace,
        job_type=JobType.IMPORT_ORDERS,
        timezone="UTC",
        enabled=True,
        lock_run=run,
        locked_until=later(60),
    )
    assert swept_runs() == {}
    assert JobRun.objects.get(pk=run.pk).status == RunStatus.RUNNING


def test_an_outbox_message_the_broker_refused_is_sent_by_the_sweeper(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    sent, broker = [], {"down": True}

    class Task:
        name = "automations.tasks.process_sales_orders"

        def apply_async(self, args, **options):
            if broker["down"]:
                raise ConnectionError("Connection refused")
            sent.append((tuple(args), options))

    task = Task()
    monkeypatch.setitem(outbox.current_app.tasks, task.name, task)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.send_on_commit(task, world.acme_us.pk, [1, 2])
    message = OutboxMessage.objects.get()
    assert (message.attempts, message.last_error) == (1, "ConnectionError: Connection refused")
    assert outbox.deliver_pending(later(10)) == 0  # within the grace
    broker["down"] = False
    assert outbox.deliver_pending(later(31)) == 1
    assert sent == [((world.acme_us.pk, [1, 2]), {})]
    assert not OutboxMessage.objects.exists()


def test_an_outcome_is_recorded_across_a_lost_database_connection(monkeypatch):
    calls = []

    class Connection:
        in_atomic_block = False

        def close(self):
            calls.append("reconnect")

    def flaky():
        calls.append("write")
        if calls.count("write") < 3:
            raise OperationalError("terminating connection due to administrator command")
        return "written"

    monkeypatch.setattr(leases.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(leases, "connection", Connection())
    assert leases.durably(flaky) == "written"
    assert calls == ["write", "reconnect", "write", "reconnect", "write"]


def test_a_push_lost_with_its_message_is_sent_again(linked, eager_celery, django_capture_on_commit_callbacks):
    account = linked.world.acme_us
    Account.objects.filter(pk=account.pk).update(inventory_realtime_updates=True)
    product = linked.products["SKU-1"]
    # Scheduled 7 minutes ago, never started: the broker lost its task.
    ChannelPush.objects.update_or_create(
        channel=linked.marketplace, defaults={"scheduled_at": later(-420), "running_since": None}
    )
    PendingPush.objects.create(channel=linked.marketplace, product=product)
    assert sweeper.sweep(later(-120)).get("pushes") is None  # seen two minutes ago: not overdue yet
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeper.sweep()["pushes"] == 1
    push = JobRun.objects.filter(channel=linked.marketplace, job_type=JobType.EXPORT_INVENTORY).latest("pk")
    assert push.status == RunStatus.SUCCESS
    assert push.messages[0] == "Real-time push of 1 changed product(s)."
    assert not PendingPush.objects.filter(channel=linked.marketplace).exists()
    assert sweeper.sweep().get("pushes") is None

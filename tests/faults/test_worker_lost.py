"""A worker killed mid-run (issue 13): SIGKILL of a whole `celery worker` (main process
and pool) or of the pool child alone, in the middle of an Import Orders of hundreds of
orders, with the real broker, PostgreSQL and the sandbox marketplace over HTTP. Each run
ends Success with every order imported exactly once, and nothing is left Queued or
Running."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from automations import sweeper
from automations.models import FINISHED_STATUSES, JobRun, RunStatus
from automations.services import request_sync
from channels.platforms import JobType
from orders.models import SalesOrder

from .conftest import jobs_queue, needs_services, restore_unacked, wait_for, waiting_on_a_lock

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

# Enough orders that the import is well under way when it reaches the held one.
ORDERS = 300


def place_orders(linked, n: int = ORDERS) -> list[str]:
    return [str(linked.place_order(quantity=1)["id"]) for _ in range(n)]


def stored(channel) -> int:
    return SalesOrder.objects.filter(channel=channel).count()


def finished(run: JobRun) -> JobRun:
    return wait_for(
        lambda: JobRun.objects.filter(pk=run.pk, status__in=FINISHED_STATUSES).first(), f"run {run.pk} to end"
    )


def assert_each_order_once(channel, placed: list[str]) -> None:
    orders = SalesOrder.objects.filter(channel=channel)
    assert not orders.values("external_id").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert sorted(orders.values_list("external_id", flat=True)) == sorted(placed)


def assert_nothing_left_behind() -> None:
    assert not JobRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists()
    # Nor anything the sweeper would still find, however late it looks.
    assert sweeper.sweep(timezone.now() + timedelta(hours=2)) == {}


def test_a_whole_worker_killed_mid_import_is_swept_and_its_run_imports_each_order_once(
    start_worker, linked, hold_order, broker
):
    placed = place_orders(linked)
    worker = start_worker()
    with hold_order(linked.marketplace, placed[ORDERS // 2]):
        run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
        wait_for(waiting_on_a_lock, "the import to reach the held order")
        before_kill = stored(linked.marketplace)
        worker.kill()
    assert 0 < before_kill < ORDERS
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    lost_task = run.task_id
    # The killed worker never acknowledged its message: it waits in Redis for an hour.
    assert jobs_queue(broker) == {"waiting": 0, "unacked": 1}
    # Within its lease the run may still be working somewhere: the sweeper leaves it.
    assert sweeper.sweep(run.lease_until - timedelta(seconds=1)) == {}

    worker = start_worker()
    assert sweeper.sweep(run.lease_until + timedelta(seconds=1)) == {"lost_workers": 1}
    run = finished(run)
    assert run.status == RunStatus.SUCCESS
    assert run.counts == {
        "imported": ORDERS - before_kill,
        "already_imported": before_kill,
        "lost_workers": 1,
    }
    assert any("worker running this job was lost" in m for m in run.messages), run.messages
    assert_each_order_once(linked.marketplace, placed)

    # An hour later kombu gives the dead worker's message back: it finds its run over and
    # imports nothing again.
    assert restore_unacked(broker) == 1
    wait_for(lambda: f"execute_run[{lost_task}] succeeded" in worker.output(), "the old message to run")
    wait_for(lambda: jobs_queue(broker) == {"waiting": 0, "unacked": 0}, "the old message acknowledged")
    again = JobRun.objects.get(pk=run.pk)
    assert (again.status, again.counts, again.finished_at) == (run.status, run.counts, run.finished_at)
    assert_each_order_once(linked.marketplace, placed)
    assert_nothing_left_behind()

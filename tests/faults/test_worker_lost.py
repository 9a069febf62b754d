"""A worker killed mid-run (issue 13): SIGKILL of a whole `celery worker` (main process
and pool) or of the pool child alone, in the middle of an Import Orders of hundreds of
orders, with the real broker, PostgreSQL and the sandbox marketplace over HTTP. Each run
ends Success with every order imported exactly once, and nothing is left Queued or
Running."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from automations import leases
from automations.models import FINISHED_STATUSES, JobRun, RunStatus
from automations.services import request_sync
from channels.platforms import JobType
from demo.sandbox.server import PAGE_SIZE
from orders.models import EventAction, SalesOrder, SalesOrderEvent

from .conftest import jobs_queue, needs_services, paused, restore_unacked, swept, wait_for

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

# Enough orders that the import is well under way when it reaches the held one.
ORDERS = 300  # six of the sandbox's pages (Import Orders stores page by page)


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
    assert swept(timezone.now() + timedelta(hours=2)) == {}


def test_a_whole_worker_killed_mid_import_is_swept_and_its_run_imports_each_order_once(
    start_worker, linked, hold_order, broker
):
    placed = place_orders(linked)
    worker = start_worker()
    held = hold_order(linked.marketplace, placed[ORDERS // 2])
    run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    paused(set())
    before_kill = stored(linked.marketplace)
    worker.kill()
    held.release()
    assert 0 < before_kill < ORDERS
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    lost_task = run.task_id
    # The killed worker never acknowledged its message: it waits in Redis for an hour.
    assert jobs_queue(broker) == {"waiting": 0, "unacked": 1}
    # Within its lease the run may still be working somewhere: the sweeper leaves it.
    assert swept(run.lease_until - timedelta(seconds=1)) == {}

    worker = start_worker()
    assert swept(run.lease_until + timedelta(seconds=1)) == {"lost_workers": 1}
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
    assert restore_unacked(broker, lost_task) == 1
    wait_for(lambda: f"execute_run[{lost_task}] succeeded" in worker.output(), "the old message to run")
    wait_for(lambda: jobs_queue(broker) == {"waiting": 0, "unacked": 0}, "the old message acknowledged")
    again = JobRun.objects.get(pk=run.pk)
    assert (again.status, again.counts, again.finished_at) == (run.status, run.counts, run.finished_at)
    assert_each_order_once(linked.marketplace, placed)
    assert_nothing_left_behind()


def test_a_pool_child_killed_mid_import_is_taken_over_at_once_by_its_redelivered_message(
    start_worker, linked, hold_order, broker
):
    placed = place_orders(linked)
    worker = start_worker()
    held = hold_order(linked.marketplace, placed[ORDERS // 2])
    run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    paused(set())
    before_kill = stored(linked.marketplace)
    task_id = JobRun.objects.get(pk=run.pk).task_id
    child = worker.kill_pool_child()
    held.release()

    # No sweep and no lease to wait for (it is 11 minutes): the main process puts the
    # message back (reject on worker lost), a new pool child takes it, and the run
    # remembers that task id as its own attempt's.
    run = finished(run)
    assert run.status == RunStatus.SUCCESS
    assert run.counts == {
        "imported": ORDERS - before_kill,
        "already_imported": before_kill,
        "lost_workers": 1,
    }
    assert any("lost before it finished; it ran again" in m for m in run.messages), run.messages
    assert worker.output().count(f"execute_run[{task_id}] received") == 2
    assert child not in worker.pool
    assert_each_order_once(linked.marketplace, placed)
    wait_for(lambda: jobs_queue(broker) == {"waiting": 0, "unacked": 0}, "the message acknowledged")
    assert_nothing_left_behind()


def test_a_run_whose_pool_child_dies_at_every_attempt_fails_with_the_reason_instead_of_looping(
    start_worker, linked, hold_order, broker
):
    """A run that kills its worker each time (out of memory on a poison record, a hard
    time limit) must not be delivered again for ever: after MAX_LOST_WORKERS lost
    workers it fails and says why, like a run the sweeper found lost that often."""
    # Four of the sandbox's pages, each stored in a transaction of its own: each attempt
    # is paused a page further on, the pages before stored.
    placed = place_orders(linked, 4 * PAGE_SIZE)
    worker = start_worker()
    seen: set[int] = set()
    held = hold_order(linked.marketplace, placed[PAGE_SIZE + 10])
    run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    for next_held in (placed[2 * PAGE_SIZE + 10], placed[3 * PAGE_SIZE + 10], None):
        paused(seen)
        worker.kill_pool_child()
        # The next attempt is paused further on (held before this one is released).
        following = hold_order(linked.marketplace, next_held) if next_held else None
        held.release()
        held = following

    run = finished(run)
    assert run.status == RunStatus.FAILED
    assert run.counts.get("lost_workers") == leases.MAX_LOST_WORKERS
    assert f"lost {leases.MAX_LOST_WORKERS} times" in run.messages[-1], run.messages
    wait_for(lambda: jobs_queue(broker) == {"waiting": 0, "unacked": 0}, "the message acknowledged")
    # What the attempts stored is there once; the next run imports the rest, once.
    assert 0 < stored(linked.marketplace) < len(placed)
    again = finished(request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS))
    assert again.status == RunStatus.SUCCESS
    assert_each_order_once(linked.marketplace, placed)
    assert_nothing_left_behind()


def test_orders_stored_by_an_attempt_whose_worker_died_still_reach_the_order_workflows(
    start_worker, linked, hold_order
):
    placed = place_orders(linked, 3 * PAGE_SIZE)
    worker = start_worker()
    # Paused in the third page: the first two were stored (and announced) by then.
    held = hold_order(linked.marketplace, placed[2 * PAGE_SIZE + 10])
    run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    paused(set())
    worker.kill_pool_child()
    held.release()
    assert finished(run).status == RunStatus.SUCCESS
    assert_each_order_once(linked.marketplace, placed)
    # The account's Automatic Sales Order Workflow is off: each new order's history says
    # so, once (with it on, the same orders would never be validated and sent).
    waiting = SalesOrderEvent.objects.filter(order__channel=linked.marketplace, action=EventAction.WAITING)
    assert sorted(waiting.values_list("order__external_id", flat=True)) == sorted(placed)

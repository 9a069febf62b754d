"""Database connections terminated mid-run (issue 13): pg_terminate_backend of every
other connection to the test database while a real worker imports orders, once while it
waits on the platform (its connection idle, outside any transaction) and once while it
writes an order (inside its transaction). The worker reconnects, records what happened
and retries; the run ends Success with every order imported exactly once, never left
Running."""

import pytest
from django.db import connection

from automations.models import JobRun, RunStatus
from automations.services import request_sync
from channels.platforms import JobType
from demo.sandbox.server import PAGE_SIZE

from .conftest import needs_services, paused, wait_for
from .test_worker_lost import (
    ORDERS,
    assert_each_order_once,
    assert_nothing_left_behind,
    finished,
    place_orders,
    stored,
)

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

LOST = "The database could not be reached; the job stopped."


def terminate_other_connections() -> int:
    """What a database restart or failover does to every client but this test: their
    backends end. The number ended."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sum(1 for (ended,) in cursor.fetchall() if ended)


def test_connections_terminated_while_the_worker_waits_on_the_platform(start_worker, linked):
    placed = place_orders(linked)
    worker = start_worker()
    linked.sandbox.faults.update(delay=1.5, path="/api/orders", times=1)
    run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    wait_for(lambda: ("GET", "/api/orders") in linked.sandbox.calls.get("mkt", []), "the fetch to start")
    assert JobRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert terminate_other_connections() >= 1

    run = finished(run)
    assert run.status == RunStatus.SUCCESS
    assert run.counts == {"imported": ORDERS, "attempts": 2}
    assert f"Attempt 2 of 4 after: {LOST}" in run.messages, run.messages
    # The failure was written on a new connection: the old one was dead.
    assert "database connection lost" in worker.output()
    assert_each_order_once(linked.marketplace, placed)
    assert_nothing_left_behind()


def test_connections_terminated_while_the_worker_writes_an_order(start_worker, linked, hold_order):
    placed = place_orders(linked)
    start_worker()
    held = hold_order(linked.marketplace, placed[ORDERS // 2])
    run = request_sync(linked.world.account_admin, linked.marketplace, JobType.IMPORT_ORDERS)
    paused(set())
    before = stored(linked.marketplace)
    # The worker's (waiting inside its order's transaction) and the holder's.
    assert terminate_other_connections() >= 2
    held.release()

    run = finished(run)
    assert run.status == RunStatus.SUCCESS
    # The first attempt stored `before` orders (whole pages) when it was seen paused;
    # when the holder's backend is terminated before the worker's, the held page's insert
    # goes through and commits one more page first. The second attempt takes the rest,
    # each once.
    done_before = run.counts["already_imported"]
    assert before and done_before in (before, before + PAGE_SIZE), run.counts
    assert run.counts == {"imported": ORDERS - done_before, "already_imported": done_before, "attempts": 2}
    assert f"Attempt 2 of 4 after: {LOST} (done before: imported {done_before})" in run.messages, run.messages
    assert_each_order_once(linked.marketplace, placed)
    assert_nothing_left_behind()

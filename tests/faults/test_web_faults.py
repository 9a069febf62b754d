"""The web side of issue 13's faults, against a real `gunicorn -w 2` as production runs it
(DEBUG off, a strong SECRET_KEY, PostgreSQL, the test's own redis-server as broker and
cache) and real workers:

- every other connection to the database terminated while both gunicorn workers keep one
  (CONN_MAX_AGE 60 s): with the health check every request after the loss answers 200;
  without it (the control) the first request of a worker after the loss answered 500;
- Redis stopped: a stock adjustment and a sales order answer 201, are stored once, and
  their tasks (a real-time push, the Automatic Sales Order Workflow) wait in the outbox
  until the sweeper sends them once Redis is back, where a worker runs them;
- Redis stopped while a worker imports: the run is recorded Success in the database and
  the worker consumes again once Redis is back."""

import http.client
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Account
from accounts.services import regenerate_api_key, update_account_settings
from automations import outbox
from automations.models import JobRun, OutboxMessage, RunStatus
from automations.services import request_sync
from catalog.models import InventoryAdjustment
from channels.platforms import JobType
from orders.models import SalesOrder
from orders.tests.test_workflow import history, order_data, tpl_orders
from orders.workflow import SO_WORKFLOW

from . import conftest
from .conftest import BASE_DIR, database_url, free_port, needs_services, paused, swept, wait_for
from .test_database_lost import terminate_other_connections
from .test_worker_lost import assert_each_order_once, assert_nothing_left_behind, finished, place_orders

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

# Bounds, not expectations: gunicorn -w 2 answers in about a second on this machine.
SERVER_START = 30.0
REQUEST_TIMEOUT = 30.0


class Gunicorn:
    """`gunicorn -w 2` with DEBUG off on a free port, reaching the test database and the
    test's own redis-server (broker and cache); its access log names the worker pid of
    each answer."""

    def __init__(self, tmp_path, redis_url: str, settings_module: str = "oms.settings"):
        self.port = free_port()
        self.access_log = tmp_path / "access.log"
        self.error_log = tmp_path / "gunicorn.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            # The settings module of the control lives in tmp_path.
            "PYTHONPATH": f"{tmp_path}:{BASE_DIR}",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
            # Channel credentials written by this process stay readable by the server.
            "CHANNEL_SECRETS_KEY": settings.CHANNEL_SECRETS_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, no proxy in front
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"web-faults-{secrets.token_hex(4)}",
            "OMS_VAR_DIR": str(tmp_path),
            "LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen | None = None
        self._log_file = None

    def start(self) -> None:
        self._log_file = self.error_log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "gunicorn", "oms.wsgi:application", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
            + ["--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(s)s %(m)s %(U)s"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._serving, f"gunicorn to answer ({self.error_log})", timeout=SERVER_START, every=0.1)

    def _serving(self) -> bool:
        assert self.process.poll() is None, f"gunicorn exited: {self.error_log.read_text()[-3000:]}"
        try:
            # Without a key: 401, no database needed beyond the start.
            return self.request("GET", "/api/v1/account/")[0] == 401
        except OSError:
            return False

    def request(self, method: str, path: str, key: str | None = None, body: dict | None = None):
        """Status and JSON body of one request on a connection of its own (either worker
        may take it)."""
        headers = {"X-Api-Key": key} if key else {}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            client.request(method, path, body=payload, headers=headers)
            response = client.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, raw.decode(errors="replace")
        finally:
            client.close()

    def answers(self) -> list[tuple[int, int, str]]:
        """(worker pid, status, path) of every keyed answer so far, in order (the
        readiness probes' 401s left out). Gunicorn writes each line as it answers."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            pid, status, _method, path = line.split(maxsplit=3)
            if status != "401":
                # %(p)s is "<pid>".
                rows.append((int(pid.strip("<>")), int(status), path))
        return rows

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self._log_file is not None:
            self._log_file.close()


@pytest.fixture
def gunicorn(tmp_path, broker):
    servers: list[Gunicorn] = []

    def start(settings_module: str = "oms.settings") -> Gunicorn:
        server = Gunicorn(tmp_path, broker.url, settings_module)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# Database connections terminated ----------------------------------------------------------

READS = ("/api/v1/account/", "/api/v1/sales-orders/")
AFTER_THE_LOSS = 30


def both_workers_hold_a_connection(server: Gunicorn, key: str) -> set[int]:
    """Keyed reads on fresh connections until each of the two workers answered one (and so
    keeps a database connection for CONN_MAX_AGE); their pids."""

    def both() -> set[int] | None:
        status, body = server.request("GET", READS[0], key)
        assert status == 200, body
        pids = {pid for pid, _, _ in server.answers()}
        return pids if len(pids) == 2 else None

    return wait_for(both, "both gunicorn workers to answer", timeout=30, every=0)


def reads_after_the_loss(
    server: Gunicorn, key: str, workers: set[int]
) -> tuple[list[int], list[tuple[int, int, str]], float]:
    """Terminate every other backend of the test database (both workers' kept connections
    among them), then reads on fresh connections, three at a time (so that a worker busy
    with one leaves the next to the other), until AFTER_THE_LOSS were answered and both
    workers answered some: their statuses, the access log's lines for them, and how long
    they took."""
    before = len(server.answers())

    def read(n: int) -> int:
        return server.request("GET", READS[n % 2], key)[0]

    def answered() -> set[int]:
        return {pid for pid, _, _ in server.answers()[before:]}

    assert terminate_other_connections() >= 2  # at least one per gunicorn worker
    started = time.monotonic()
    statuses: list[int] = []
    with ThreadPoolExecutor(3) as pool:
        while len(statuses) < AFTER_THE_LOSS or answered() != workers:
            assert len(statuses) < 10 * AFTER_THE_LOSS, f"one worker took all: {server.answers()[before:]}"
            statuses += pool.map(read, range(len(statuses), len(statuses) + 3))
            # The access line is written once the answer was sent: wait for this batch's.
            logged = before + len(statuses)
            wait_for(lambda logged=logged: len(server.answers()) >= logged, "the access log", timeout=10)
    return statuses, server.answers()[before:], time.monotonic() - started


def test_db_connections_terminated_every_request_after_the_loss_answers_200(linked, gunicorn):
    key = regenerate_api_key(None, linked.world.acme_us)
    server = gunicorn()
    workers = both_workers_hold_a_connection(server, key)

    statuses, logged, took = reads_after_the_loss(server, key, workers)
    # Both workers answered after the loss (each of them reconnected), and every answer
    # was a 200.
    assert {pid for pid, _, _ in logged} == workers, logged
    assert statuses == [200] * len(statuses), statuses
    print(f"\n{len(statuses)} reads after the loss in {took:.2f} s")


def test_control_without_the_health_check_a_workers_first_request_after_the_loss_answered_500(
    linked, gunicorn, tmp_path
):
    """The fault really reaches the workers' kept connections: the same run with Django's
    CONN_HEALTH_CHECKS off (as before issue 13) answers 500 to the first request of each
    worker after the loss, and only to that one."""
    (tmp_path / "without_health_checks.py").write_text(
        "from oms.settings import *  # noqa: F403\n"
        "DATABASES['default']['CONN_HEALTH_CHECKS'] = False  # noqa: F405\n"
    )
    key = regenerate_api_key(None, linked.world.acme_us)
    server = gunicorn("without_health_checks")
    workers = both_workers_hold_a_connection(server, key)

    statuses, logged, _ = reads_after_the_loss(server, key, workers)
    # One 500 per worker, each the first answer of its worker after the loss.
    assert Counter(statuses) == {200: len(statuses) - 2, 500: 2}, statuses
    first_of_each_worker = {}
    for n, (pid, _, _) in enumerate(logged):
        first_of_each_worker.setdefault(pid, n)
    failures = {n for n, (_, status, _) in enumerate(logged) if status == 500}
    assert failures <= set(first_of_each_worker.values()), logged


# Redis stopped: web writes answer the truth -------------------------------------------------

PUSH, PROCESS = "automations.tasks.push_inventory", "automations.tasks.process_sales_orders"


class JobsAndPushWorker(conftest.Worker):
    """The conftest's worker, consuming the `push` queue (real-time inventory pushes)
    beside `jobs`: the same process, environment and readiness wait."""

    def __init__(self, env, log, concurrency):
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "celery", "-A", "oms", "worker", "-Q", "jobs,push", "-P", "prefork"]
            + ["-c", str(concurrency), "-l", "INFO", "-n", f"faults-{log.stem}@%h"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._ready, f"the worker to start (log: {log})", timeout=conftest.WORKER_START, every=0.1)


@pytest.fixture
def realtime_off_while_linking(world):
    """Requested before `linked`: its stock set-up schedules no real-time push of its own
    (whose message the stopped Redis would lose, leaving the channel's push marked
    scheduled so that later changes join it), so the push in the test is the test's."""
    Account.objects.filter(pk=world.acme_us.pk).update(inventory_realtime_updates=False)


def test_redis_down_a_stock_adjustment_and_an_order_answer_201_and_their_tasks_run_once_it_is_back(
    realtime_off_while_linking, linked, gunicorn, broker, start_worker, monkeypatch
):
    world, account = linked.world, linked.world.acme_us
    turn_on = {"inventory_realtime_updates": True, "auto_sales_order_workflow": True}
    update_account_settings(world.org_admin, account, turn_on, None)
    key = regenerate_api_key(None, account)
    server = gunicorn()
    wh1, sku1 = world.warehouses["ACME-US-1"], linked.products["SKU-1"]
    assert not OutboxMessage.objects.exists()
    broker.stop()
    timings = {}

    # (a) A stock adjustment: stored, and the marketplace's push waits in the outbox.
    started = time.monotonic()
    status, body = server.request(
        "POST",
        "/api/v1/inventory/adjustments/",
        key,
        {"product": sku1.pk, "warehouse": wh1.pk, "quantity": 5, "note": "counted while Redis was down"},
    )
    timings["adjustment"] = time.monotonic() - started
    assert status == 201, body
    adjustment = InventoryAdjustment.objects.get(pk=body["id"])
    assert (adjustment.quantity, adjustment.on_hand_after) == (5, 15)
    push = OutboxMessage.objects.get()
    assert (push.task, push.args, push.attempts) == (PUSH, [linked.marketplace.pk], 1)
    assert push.last_error, "the outbox row says why it was not sent"

    # (b) A sales order with the Automatic Sales Order Workflow on: stored once, its
    # workflow's task waits in the outbox.
    started = time.monotonic()
    status, body = server.request("POST", "/api/v1/sales-orders/", key, order_data("REDIS-DOWN-1"))
    timings["sales order"] = time.monotonic() - started
    assert status == 201, body
    order = SalesOrder.objects.get(account=account, number="REDIS-DOWN-1")
    assert (order.pk, order.status) == (body["id"], "pending")
    process = OutboxMessage.objects.get(task=PROCESS)
    assert (process.args, process.attempts) == ([account.pk, [order.pk]], 1)
    assert OutboxMessage.objects.count() == 2
    # Reads still answer (the throttle counts in memory while its Redis cache is away).
    assert server.request("GET", "/api/v1/sales-orders/", key)[0] == 200

    # Still down: the sweeper tries, nothing is lost.
    later = timezone.now() + outbox.DELIVERY_GRACE + timedelta(seconds=1)
    started = time.monotonic()
    assert swept(later) == {}
    timings["sweep while down"] = time.monotonic() - started
    assert OutboxMessage.objects.count() == 2

    # (c) Redis back (empty): a worker on both queues, the sweeper sends what waited.
    broker.start()
    monkeypatch.setattr(conftest, "Worker", JobsAndPushWorker)
    start_worker()
    started = time.monotonic()
    assert swept(timezone.now() + outbox.DELIVERY_GRACE + timedelta(seconds=1)) == {"outbox": 2}
    assert not OutboxMessage.objects.exists()

    wait_for(lambda: order.events.filter(action="sent").exists(), "the workflow to send the order")
    timings["order sent after the sweep"] = time.monotonic() - started
    order.refresh_from_db()
    assert (order.status, order.hold_reason, order.fulfillment_channel) == ("sent", "", linked.threepl)
    assert history(order) == [("validated", SO_WORKFLOW), ("allocated", SO_WORKFLOW), ("sent", SO_WORKFLOW)]
    assert list(tpl_orders(linked)) == [order.reference]

    pushes = JobRun.objects.filter(channel=linked.marketplace, job_type=JobType.EXPORT_INVENTORY)
    pushed = wait_for(lambda: pushes.filter(status=RunStatus.SUCCESS).first(), "the real-time push")
    timings["push done after the sweep"] = time.monotonic() - started
    assert pushes.count() == 1
    assert pushed.messages[0] == "Real-time push of 1 changed product(s).", pushed.messages
    # The marketplace now shows the adjusted stock (less what the order reserved, if the
    # workflow got there first).
    assert linked.stock("mkt", "US-EAST", "SKU-1") in (15, 15 - 3)

    assert SalesOrder.objects.filter(number="REDIS-DOWN-1").count() == 1
    assert InventoryAdjustment.objects.filter(note="counted while Redis was down").count() == 1
    assert_nothing_left_behind()
    print("\n" + ", ".join(f"{what} {took:.2f} s" for what, took in timings.items()))


# Redis stopped while a worker is busy ---------------------------------------------------------


def worker_broker(broker) -> str:
    """The broker's URL as a worker's log shows it."""
    return f"redis://:**@127.0.0.1:{broker.port}/0"


def test_redis_stopped_while_a_worker_imports_the_run_is_recorded_success_and_the_worker_consumes_again(
    start_worker, linked, hold_order, broker
):
    placed = place_orders(linked, 60)
    worker = start_worker()
    held = hold_order(linked.marketplace, placed[30])
    admin, channel = linked.world.account_admin, linked.marketplace
    run = request_sync(admin, channel, JobType.IMPORT_ORDERS)
    paused(set())
    assert JobRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    broker.stop()
    held.release()

    # The outcome goes to the database, not to Redis.
    started = time.monotonic()
    run = finished(run)
    took = time.monotonic() - started
    assert run.status == RunStatus.SUCCESS, run.messages
    assert run.counts == {"imported": 60}
    assert_each_order_once(channel, placed)
    assert worker.process.poll() is None, "the worker exited when Redis went away"

    broker.start()
    more = place_orders(linked, 5)
    started = time.monotonic()
    second = finished(request_sync(admin, channel, JobType.IMPORT_ORDERS))
    took_second = time.monotonic() - started
    assert second.status == RunStatus.SUCCESS, second.messages
    assert second.counts["imported"] == 5, second.counts
    assert_each_order_once(channel, placed + more)
    # The worker did lose its broker mid-run, and connected again.
    log = worker.output()
    assert "Connection to broker lost" in log and log.count(f"Connected to {worker_broker(broker)}") == 2, log
    assert_nothing_left_behind()
    print(f"\nrun ended {took:.2f} s after the release; second sync {took_second:.2f} s after the restart")

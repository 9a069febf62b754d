"""Real processes for the fault tests: a private redis-server per test (stopped and
started again by the test), `celery -A oms worker` subprocesses on it and on the test's
own PostgreSQL database, and the Celery app of the test process pointed at that broker.

Each fault is real: SIGKILL of a worker's process group or of one pool child, a Redis
server stopped while something publishes, pg_terminate_backend of every other connection.
Everything here runs only with PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), as in
CI: SQLite cannot be shared with a worker process mid-transaction, and the broker faults
need a Redis server of our own (the shared one is never stopped)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from automations import sweeper
from oms.celery import app as celery_app
from orders.models import OrderSource, SalesOrder

BASE_DIR = Path(settings.BASE_DIR)
# Bounds of the waits, not their expected length: a worker starts in 2-4 s on this
# 2-core machine, a job of a few hundred orders takes a few seconds.
WORKER_START = 30.0
SETTLE = 45.0

needs_services = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres")
    or not os.environ.get("REDIS_URL")
    or not shutil.which("redis-server"),
    reason="real-process faults need PostgreSQL (DATABASE_URL), Redis (REDIS_URL) and redis-server",
)


def wait_for(condition, what: str, timeout: float = SETTLE, every: float = 0.05):
    """Poll until `condition()` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of this test alone, without persistence: stopping it loses what
    it held, as a restarted broker without a disk does."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
            + ["--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_for(lambda: _pings(client), f"redis-server on port {self.port}", timeout=10)

    def stop(self) -> None:
        """As `systemctl stop`: SIGTERM, and wait until the port is closed."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self):
        return redis.Redis(port=self.port, socket_connect_timeout=1)


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _drop_broker_pools() -> None:
    # The app keeps a connection pool and a producer pool per broker URL; both are built
    # again from conf.broker_url on next use. kombu's global pool groups hold producer
    # pools over the closed connection pool too: reset them, or the next test to publish
    # gets "Acquire on closed pool".
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()


@pytest.fixture(autouse=True)
def broker(redis_server):
    """The test process publishes (manual syncs, the dispatcher, the sweeper, the
    fixtures' own outbox messages) to the private Redis, from before any other fixture;
    the shared broker's settings come back afterwards."""
    previous = celery_app.conf.broker_url
    _drop_broker_pools()
    celery_app.conf.broker_url = redis_server.url
    yield redis_server
    _drop_broker_pools()
    celery_app.conf.broker_url = previous


def database_url() -> str:
    """The test database (pytest-django's test_<name>) as a URL for another process."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def children(pid: int) -> list[int]:
    """Live child processes of `pid` (a prefork worker's pool processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces, so split after its ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


class Worker:
    """`celery -A oms worker` on the `jobs` queue, in its own session so that its whole
    process group (main process and pool children) can be killed at once."""

    def __init__(self, env: dict, log: Path, concurrency: int):
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "celery", "-A", "oms", "worker", "-Q", "jobs", "-P", "prefork"]
            + ["-c", str(concurrency), "-l", "INFO", "-n", f"faults-{log.stem}@%h"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._ready, f"the worker to start (log: {log})", timeout=WORKER_START, every=0.1)

    def _ready(self) -> bool:
        assert self.process.poll() is None, f"the worker exited: {self.output()[-3000:]}"
        return " ready." in self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def pool(self) -> list[int]:
        return children(self.process.pid)

    def kill(self) -> None:
        """SIGKILL of the whole worker: main process and pool children, no goodbye."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log_file.close()

    def kill_pool_child(self) -> int:
        """SIGKILL of the pool process (concurrency 1) while the main process lives."""
        (child,) = self.pool
        os.kill(child, signal.SIGKILL)
        return child


@pytest.fixture
def start_worker(transactional_db, broker, sandbox, tmp_path):
    """Start real workers on the private broker, the test database and the sandbox;
    every one still alive is killed before the database is flushed."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker.url,
        "SANDBOX_URL": sandbox.url,
        "CHANNEL_CONNECTOR_TIMEOUT": str(settings.CHANNEL_CONNECTOR_TIMEOUT),
        # The same keys as this process: the channels' credentials are encrypted with them.
        "SECRET_KEY": settings.SECRET_KEY,
        "CHANNEL_SECRETS_KEY": settings.CHANNEL_SECRETS_KEY,
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }
    workers: list[Worker] = []

    def start(concurrency: int = 1) -> Worker:
        if not workers:
            # The fixtures built before it (channels registering their webhooks) left
            # messages that must not run against this world.
            with celery_app.connection_for_write() as conn:
                conn.default_channel.queue_purge("jobs")
        worker = Worker(env, tmp_path / f"worker{len(workers) + 1}.log", concurrency)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


class HeldOrder:
    """An uncommitted sales order with a channel order's (channel, external id), kept
    open by a connection of its own until `release()`: the worker's insert of that
    order waits on the unique index (PostgreSQL waits for the holder to end), so an
    Import Orders run is paused Running at a known order with the orders before it
    stored, whatever the machine's speed. Releasing rolls the held order back."""

    def __init__(self, channel, external_id: str):
        self._ready, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(channel, external_id), name="held-order")
        self._thread.start()
        assert self._ready.wait(SETTLE), "the held order was not stored"

    def _hold(self, channel, external_id: str) -> None:
        try:
            with transaction.atomic():
                SalesOrder.objects.create(
                    account_id=channel.account_id,
                    channel=channel,
                    source=OrderSource.CHANNEL,
                    external_id=external_id,
                    number=f"HELD-{external_id}",
                    ordered_at=timezone.now(),
                )
                self._ready.set()
                self._release.wait(SETTLE)
                transaction.set_rollback(True)
        except DatabaseError:
            pass  # its connection was terminated by the test: rolled back all the same
        finally:
            self._ready.set()
            connections.close_all()

    def release(self) -> None:
        self._release.set()
        self._thread.join(SETTLE)


@pytest.fixture
def hold_order():
    held: list[HeldOrder] = []

    def hold(channel, external_id: str) -> HeldOrder:
        held.append(HeldOrder(channel, external_id))
        return held[-1]

    yield hold
    for h in held:
        h.release()


def lock_waiters() -> set[int]:
    """Backends of the test database waiting on a lock (a worker paused by a HeldOrder)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def paused(seen: set[int]) -> int:
    """Wait until a backend not in `seen` waits on a held order; its pid (added to seen)."""
    (pid, *_) = wait_for(lambda: lock_waiters() - seen, "the import to reach the held order")
    seen.add(pid)
    return pid


def jobs_queue(server: RedisServer) -> dict:
    """The `jobs` queue in the broker: messages waiting, and taken but not acknowledged."""
    client = server.client()
    return {"waiting": client.llen("jobs"), "unacked": client.hlen("unacked")}


def restore_unacked(server: RedisServer, task_id: str) -> int:
    """What kombu's Redis transport does with a message left unacknowledged by a dead
    worker once its visibility timeout (an hour here) has passed: put it back in its
    queue (restore_visible runs restore_by_tag for each such message). Only the message
    of task `task_id` is put back: a live worker may hold another one unacknowledged for
    a moment (acks_late acknowledges after the task returns). The number put back."""
    client = server.client()
    tags = [
        tag.decode()
        for tag, raw in client.hgetall("unacked").items()
        if json.loads(raw)[0].get("headers", {}).get("id") == task_id
    ]
    with celery_app.connection_for_write() as conn:
        for tag in tags:
            conn.default_channel.qos.restore_by_tag(tag)
    return len(tags)


def swept(now) -> dict:
    """What a sweep at `now` did, but for real-time pushes: the `linked` fixture's opening
    stock schedules pushes, and these tests start no worker on the `push` queue, so a
    sweep far enough ahead finds them due (test_web_faults covers a lost push)."""
    return {kind: n for kind, n in sweeper.sweep(now).items() if kind != "pushes"}

"""The API throttle's budget is one count per key across real gunicorn worker processes and
across a restart, because the counts live in the Redis cache. CI sets REDIS_URL; without
it these tests are skipped (each process then counts alone, by design)."""

import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from accounts import services

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL) for the shared cache"
    ),
    # The servers read the key's account through connections of their own.
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
PATH = "/api/v1/account/"
BUDGET = 8
# Per day: a window of a day cannot roll over (and refill) during a test of a few seconds
# unless the test happens to straddle the key's window boundary.
RATE = f"{BUDGET}/day"
# Bounds a server that never comes up; gunicorn with two workers answers in about a second.
START_SECONDS = 15.0


def server_database_url(tmp_path) -> str:
    """A URL through which other processes reach the test's database and its committed rows."""
    if connection.vendor == "sqlite":
        # The test database lives in this process's memory: the servers get a file copy.
        path = tmp_path / "server.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(path) as copy:
            connection.connection.backup(copy)
        return f"sqlite:///{path}"
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{connection.settings_dict['NAME']}").geturl()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, headers: dict[str, str]) -> tuple[int, dict]:
    """Status and JSON body of one request on a connection of its own, so that either
    worker may accept it."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        client.request("GET", PATH, headers=headers)
        response = client.getresponse()
        return response.status, json.loads(response.read())
    finally:
        client.close()


class Gunicorn:
    """`gunicorn -w 2` on a free port; its access log names the worker pid of each answer."""

    def __init__(self, tmp_path, key_prefix: str):
        self.tmp_path = tmp_path
        self.port = free_port()
        self.access_log = tmp_path / "access.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "oms.settings",
            "REDIS_URL": settings.REDIS_URL,
            "CACHE_KEY_PREFIX": key_prefix,
            "API_THROTTLE_RATE": RATE,
            "OMS_VAR_DIR": str(tmp_path),
            "LOG_LEVEL": "ERROR",
        }
        self.process = None

    def start(self) -> None:
        # At start, so that rows the test wrote since (the key) are in an SQLite copy.
        self.env["DATABASE_URL"] = server_database_url(self.tmp_path)
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "gunicorn", "oms.wsgi:application", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"]
            + ["--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(s)s"],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + START_SECONDS
        while not self._serving():
            assert self.process.poll() is None, "gunicorn exited before serving"
            assert time.monotonic() < deadline, "gunicorn did not answer in time"
            time.sleep(0.1)

    def _serving(self) -> bool:
        # Without a key: answered 401, spending no budget.
        try:
            return get(self.port, {})[0] == 401
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the master and its workers; the access log is complete afterwards."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def workers_answering(self) -> Counter:
        """Keyed answers per worker pid (the readiness probes' 401s left out)."""
        lines = [line.split() for line in self.access_log.read_text().splitlines()]
        return Counter(pid for pid, status in lines if status != "401")


@pytest.fixture
def server(world, tmp_path):
    key_prefix = f"test-{uuid.uuid4().hex}"
    gunicorn = Gunicorn(tmp_path, key_prefix)
    yield gunicorn
    gunicorn.stop()
    # Not clear(): the database is shared with the broker (and other test runs).
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{key_prefix}:*"):
        client.delete(key)


@pytest.fixture
def key_headers(world):
    return {"X-Api-Key": services.regenerate_api_key(None, world.acme_us)}


def test_two_workers_answer_one_keys_budget_then_429(server, key_headers):
    server.start()
    # Two requests at a time, each on a fresh connection: a sync worker serves one at a
    # time, so both workers answer (one worker answering all would not show the budget
    # is shared; sent one by one, a loaded machine often left one worker idle).
    answers = []
    with ThreadPoolExecutor(2) as pool:
        for _ in range(3 * BUDGET // 2):
            answers.append(sorted(pool.map(lambda _: get(server.port, key_headers), range(2)), key=str))
    statuses = [[status for status, _ in pair] for pair in answers]
    assert statuses == [[200, 200]] * (BUDGET // 2) + [[429, 429]] * BUDGET
    assert {body["code"] for pair in answers[BUDGET // 2 :] for _, body in pair} == {"throttled"}
    server.stop()
    assert len(server.workers_answering()) == 2, server.workers_answering()


def test_concurrent_requests_at_both_workers_never_exceed_the_budget(server, key_headers):
    server.env["API_THROTTLE_RATE"] = "60/day"
    server.start()
    statuses = Counter()
    lock = threading.Lock()

    def client():
        for _ in range(15):
            status, _ = get(server.port, key_headers)
            with lock:
                statuses[status] += 1

    clients = [threading.Thread(target=client) for _ in range(8)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    assert statuses == {200: 60, 429: 60}
    server.stop()
    assert len(server.workers_answering()) == 2, server.workers_answering()


def test_a_restart_keeps_the_spent_budget(server, key_headers):
    server.start()
    assert [get(server.port, key_headers)[0] for _ in range(BUDGET)] == [200] * BUDGET
    server.stop()
    server.start()
    status, body = get(server.port, key_headers)
    assert (status, body["code"]) == (429, "throttled")

"""`make run`'s console as a person watches it: the demo's and the launcher's addresses
are the real ones (a non-default PORT and sandbox port), an idle run is quiet, and a
refused request prints one line, no traceback.

The run is the real one (scripts/run.py: web, worker, dispatcher, beat, sandbox) on SQLite
and the embedded broker in a temporary folder, so it needs no service; about 90 s.
"""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from demo.management.commands.seed_demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
READY = "Ctrl-C stops all."
# Start-up (Celery's banners, the sandbox's seeding, the webhook registrations and first
# real-time pushes of the demo's channels) ends when the console has been quiet this long.
QUIET_SECONDS = 5
START_UP_SECONDS = 60
IDLE_WINDOW_SECONDS = 30
MAX_LINES_PER_MINUTE = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """Every line the run prints (all processes share its stdout), with its arrival time."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def since(self, moment: float) -> list[str]:
        return [line for at, line in list(self.lines) if at >= moment]

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for _, line in list(self.lines)):
                return
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not printed within {timeout} s:\n" + self.text())

    def wait_until_quiet(self, quiet: float, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.lines[-1][0] if self.lines else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.5)

    def text(self) -> str:
        return "\n".join(line for _, line in list(self.lines))


def _children(pid: int) -> list[int]:
    """The launcher's processes (each in its own session, so not in its process group)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _still_ours(pid: int, var_dir: str) -> bool:
    """The pid is still one of this run's processes (not a later process given its number)."""
    try:
        return f"OMS_VAR_DIR={var_dir}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


@pytest.fixture
def run_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    port, sandbox_port = _free_port(), _free_port()
    env.update(
        OMS_VAR_DIR=str(tmp_path),
        DEBUG="1",
        HOST="127.0.0.1",
        PORT=str(port),
        SANDBOX_URL=f"http://127.0.0.1:{sandbox_port}",
        PYTHONUNBUFFERED="1",  # lines arrive when printed, so the counts are per minute
    )
    env.pop("PORTAL_URL", None)
    return env


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _refused_request(portal: str) -> int:
    """An Account User signs in and posts the Account form: 403 (read-only access)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{portal}/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = {"csrfmiddlewaretoken": token, "username": "user@acme-us.test", "password": DEMO_PASSWORD}
    opener.open(f"{portal}/login/", urllib.parse.urlencode(form).encode(), timeout=10)
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    try:
        opener.open(
            f"{portal}/account/", urllib.parse.urlencode({"csrfmiddlewaretoken": csrf}).encode(), timeout=10
        )
    except urllib.error.HTTPError as refused:
        return refused.code
    return 200


def test_make_run_prints_its_addresses_and_stays_quiet_when_idle(run_env):
    port, sandbox = run_env["PORT"], run_env["SANDBOX_URL"]
    portal = f"http://127.0.0.1:{port}"
    _manage(run_env, "migrate", "--noinput")
    # sync_schedules is left out: seed_demo's channels reconcile their schedule on commit.
    assert f"Sign in at {portal}/ with password" in _manage(run_env, "seed_demo")

    run = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    console = Console(run)
    processes = []
    try:
        console.wait_for(READY, timeout=90)
        processes = _children(run.pid)
        printed = console.text()
        assert f"techOMS portal:  {portal}/" in printed
        assert f"Sandbox (marketplace and 3PL simulator):  {sandbox}/" in printed
        assert urllib.request.urlopen(f"{portal}/login/", timeout=10).status == 200  # noqa: S310
        assert urllib.request.urlopen(f"{sandbox}/", timeout=10).status == 200  # noqa: S310

        console.wait_until_quiet(QUIET_SECONDS, START_UP_SECONDS)
        start = time.monotonic()
        time.sleep(IDLE_WINDOW_SECONDS)
        idle = console.since(start)
        per_minute = len(idle) * 60 / IDLE_WINDOW_SECONDS
        assert per_minute < MAX_LINES_PER_MINUTE, f"{per_minute:.0f} lines a minute:\n" + "\n".join(idle)

        start = time.monotonic()
        assert _refused_request(portal) == 403
        time.sleep(2)
        after = console.since(start)
        assert sum("Forbidden (Permission denied): /account/" in line for line in after) == 1, after
        assert not any("Traceback" in line for line in after), "\n".join(after)
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=45)
        except subprocess.TimeoutExpired:
            run.kill()
        for pid in processes:  # none is left when the launcher stopped them as it should
            if _still_ours(pid, run_env["OMS_VAR_DIR"]):
                os.kill(pid, signal.SIGKILL)
    assert run.returncode == 0, console.text()[-3000:]

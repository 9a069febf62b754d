"""Start web, the Celery workers (channel jobs and pushes; the dispatcher), Celery beat and
the sandbox together, and stop them cleanly.

Each process gets its own session so that Ctrl-C reaches only this launcher; it then
sends SIGTERM to each main process (not to whole process groups, which would kill
Celery's pool children mid-task) and waits up to 30 s for a warm shutdown.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
GRACE_SECONDS = 30
# Start-up (migrations checked, Celery's banners) takes a few seconds; past this the
# addresses are printed anyway, with the web process's own output above them.
READY_SECONDS = 60
# The development run: DEBUG is off unless turned on (`make run` sets it too).
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
sys.path.insert(0, str(ROOT))

from django.conf import settings  # noqa: E402 - after the environment it reads; loads no app

CELERY = [PYTHON, "-m", "celery", "-A", "oms"]

PROCESSES = {
    "web": [PYTHON, "manage.py", "runserver", f"{HOST}:{PORT}", "--noreload"],
    "worker": [
        *CELERY,
        "worker",
        "-l",
        "info",
        "-Q",
        "celery,jobs,push",
        "--concurrency",
        os.environ.get("WORKER_CONCURRENCY", "2"),
    ],
    # The dispatcher alone on its queue, so channel jobs filling the other worker's pool
    # never delay a tick (solo: one short task at a time, no pool to feed).
    "dispatcher": [
        *CELERY,
        "worker",
        "-l",
        "warning",
        "-Q",
        "dispatch",
        "--pool",
        "solo",
        "-n",
        "dispatcher@%h",
    ],
    "beat": [*CELERY, "beat", "-l", "info"],
    # The sandbox marketplace/3PL simulator the demo channels talk to.
    "sandbox": [PYTHON, "manage.py", "run_sandbox"],
}


def _wait_for_web(children: dict) -> None:
    """Until the web process accepts connections (or a process exits, or time is up)."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and all(c.poll() is None for c in children.values()):
        try:
            socket.create_connection((HOST, int(PORT)), timeout=1).close()
        except OSError:
            time.sleep(0.5)
        else:
            return


def main() -> int:
    children = {
        name: subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)  # noqa: S603 - fixed argv
        for name, cmd in PROCESSES.items()
    }
    _wait_for_web(children)
    # Last of the start-up output, so that neither address scrolls away under the banners.
    print(
        f"\ntechOMS portal:  http://{HOST}:{PORT}/\n"
        f"Sandbox (marketplace and 3PL simulator):  {settings.SANDBOX_URL}/\n"
        f"Running {', '.join(PROCESSES)}. Ctrl-C stops all.\n",
        flush=True,
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the others.", flush=True)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

"""`manage.py run_sandbox` as `make run` starts it: a separate process serving the
simulator over HTTP, seeding the demo shops once, stopping cleanly on SIGTERM."""

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from demo.data import CHANNELS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_sandbox(tmp_path):
    """Start the command on a free port with its store in tmp_path; the process and the
    URL once it says it is serving."""
    processes = []

    def start(*extra):
        port = free_port()
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "manage.py", "run_sandbox", "--port", str(port), *extra],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        # The command prints the line below once the socket is bound; reading it (with
        # the seeding lines before it) is the wait, bounded by the process's exit.
        for line in process.stdout:
            if line.startswith("Sandbox on "):
                return process, f"http://127.0.0.1:{port}"
        raise AssertionError(f"run_sandbox exited early: {process.wait()} {process.stderr.read()}")

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_run_sandbox_serves_the_demo_shops_and_stops_cleanly_on_sigterm(run_sandbox, tmp_path):
    store = tmp_path / "sandbox.json"
    process, url = run_sandbox("--store", str(store))

    with urllib.request.urlopen(f"{url}/", timeout=5) as response:  # noqa: S310 - loopback
        page = response.read().decode()
    assert response.status == 200
    for demo in CHANNELS:
        assert demo.name in page
    assert sorted(json.loads(store.read_text())["shops"]) == sorted(d.shop for d in CHANNELS)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_run_sandbox_keeps_its_store_and_seeds_only_missing_shops(run_sandbox, tmp_path):
    store = tmp_path / "sandbox.json"
    first, _ = run_sandbox("--store", str(store))
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 0
    created_first = json.loads(store.read_text())["shops"]

    second, url = run_sandbox("--store", str(store))
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=10) == 0
    assert json.loads(store.read_text())["shops"] == created_first


def test_run_sandbox_without_seed_serves_an_empty_store(run_sandbox, tmp_path):
    store = tmp_path / "sandbox.json"
    process, url = run_sandbox("--store", str(store), "--no-seed")
    with urllib.request.urlopen(f"{url}/", timeout=5) as response:  # noqa: S310 - loopback
        page = response.read().decode()
    for demo in CHANNELS:
        assert demo.name not in page
    assert not store.exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0

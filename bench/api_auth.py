"""Benchmark: authenticated `GET /api/v1/account/` with an API key versus DRF's
TokenAuthentication, over gunicorn (2 workers) on loopback.

Both kinds of request go to the same server in alternating rounds, so drift of the
machine hits both alike. The database is a fresh SQLite file (the embedded default)
unless BENCH_DATABASE_URL names another, e.g. an empty PostgreSQL database. Throttling
is off: it costs both the same and is not authentication.

Environment: BENCH_ROUNDS (6), BENCH_SECONDS per round and kind (3), BENCH_CLIENTS (4).
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/account/"
TARGET_OVERHEAD = 0.10


def _environment(var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        OMS_VAR_DIR=var_dir,
        DEBUG="0",
        SECRET_KEY="bench-only-" + "x" * 50,
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        env.pop("DATABASE_URL", None)
    return env


def _prepare_database(env: dict[str, str]) -> tuple[int, str, str]:
    """Migrate, then create one account with an API key and one person with a DRF token."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from accounts import services
    from accounts.models import Account, Organization, User

    call_command("migrate", verbosity=0, interactive=False)
    organization, _ = Organization.objects.get_or_create(name="Bench Org")
    account, _ = Account.objects.get_or_create(
        code="BENCH", defaults={"organization": organization, "name": "Bench", "timezone": "Europe/Berlin"}
    )
    key = services.regenerate_api_key(None, account)
    user, _ = User.objects.get_or_create(email="bench@example.test")
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user).key
    connections.close_all()
    return account.pk, key, token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", PATH, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_until_serving(port: int, headers: dict[str, str], server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited before serving")
        try:
            if _get(port, headers) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def _load(port: int, headers: dict[str, str], seconds: float, clients: int) -> tuple[int, float, list[float]]:
    """Requests completed, wall time, and each request's latency in seconds."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = _get(port, headers)
            mine.append(time.perf_counter() - started)
            if status != 200:
                failures.append(status)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. HTTP {failures[0]}")
    return len(latencies), elapsed, latencies


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    rounds = int(os.environ.get("BENCH_ROUNDS", "6"))
    seconds = float(os.environ.get("BENCH_SECONDS", "3"))
    clients = int(os.environ.get("BENCH_CLIENTS", "4"))
    with tempfile.TemporaryDirectory(prefix="oms-bench-") as var_dir:
        env = _environment(var_dir)
        account_id, key, token = _prepare_database(env)
        env["BENCH_ACCOUNT_ID"] = str(account_id)
        kinds = {
            "API key (Api-Key header)": {"Authorization": f"Api-Key {key}"},
            "DRF TokenAuthentication": {"Authorization": f"Token {token}"},
        }
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "oms.wsgi:application", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        try:
            for headers in kinds.values():
                _wait_until_serving(port, headers, server)
                _load(port, headers, 1.0, clients)  # warm-up
            totals = {name: [0, 0.0, []] for name in kinds}
            for round_ in range(rounds):
                # ABBA order: neither kind always runs first in a round.
                order = list(kinds) if round_ % 2 == 0 else list(reversed(kinds))
                for name in order:
                    count, elapsed, latencies = _load(port, kinds[name], seconds, clients)
                    totals[name][0] += count
                    totals[name][1] += elapsed
                    totals[name][2].extend(latencies)
        finally:
            server.terminate()
            server.wait(timeout=30)

    database = "PostgreSQL" if os.environ.get("BENCH_DATABASE_URL", "").startswith("postgres") else "SQLite"
    print(
        f"GET {PATH} over gunicorn (2 workers), {clients} clients, {database}, "
        f"{rounds} rounds x {seconds:g} s per kind"
    )
    rates = {}
    for name, (count, elapsed, latencies) in totals.items():
        rates[name] = count / elapsed
        print(
            f"  {name:<26} {rates[name]:8.1f} req/s   p50 {_percentile(latencies, 50) * 1000:6.2f} ms"
            f"   p99 {_percentile(latencies, 99) * 1000:6.2f} ms   ({count} requests)"
        )
    api_key, baseline = rates.values()
    overhead = baseline / api_key - 1
    verdict = "within" if overhead <= TARGET_OVERHEAD else "OVER"
    print(
        f"  ratio API key / token: {api_key / baseline:.3f}  "
        f"(API-key overhead {overhead * 100:+.1f} %, {verdict} the {TARGET_OVERHEAD:.0%} target)"
    )


if __name__ == "__main__":
    main()

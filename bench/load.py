"""Load benchmark: 50 concurrent API and page clients against gunicorn -w 2 (DEBUG off)
with PostgreSQL and Redis (throttle cache and broker; no Celery worker, so what the
requests enqueue just waits in Redis), beside a floor and the issue's baseline.

Two kinds of load, the same clients and the same server, taking turns in rounds (ABBA
order, as bench/api_auth.py does) so that other work on the machine hits both alike:
- the floor: every client asks a bare Django view that reads one row through the same
  stack (middleware, session and sign-in, the account context, PostgreSQL); it lives in
  the benchmark's own URLconf (bench/load_urls.py, selected by bench/load_settings.py);
- the mix: 3 clients in 5 use an API key (one of two accounts) and pick, per request,
  an order posted (40 %, `POST /api/v1/sales-orders/`, unique numbers), the account's
  settings patched with the version just read (15 %, `GET` then `PATCH /api/v1/account/`;
  a 409 for a stale version is an expected answer, counted apart), or a list read
  (`GET /api/v1/sales-orders/` 25 %, `GET /api/v1/products/` 20 %); the others are people
  signed in through the login page who view `/account/` or `/sales-orders/`.
  The first account runs the Automatic Sales Order Workflow, so its orders also go
  through the outbox to Redis; the second records that the workflow is off.

Printed: requests/s, p50/p95/p99 latency and errors (5xx, connection errors, and other
unexpected answers apart) for the floor, the mix and each kind of request; whether
every order answered 201 is stored exactly once (and nothing else stored); the mix's
ratios to the floor and to the issue's baseline (96-185 requests/s, p99 358-735 ms,
measured on this 2-core machine). The clients run in this process and share the
machine with the server, so the CPU they used is printed too, and the machine's load
average before each round (other work on the machine shows there).

Measured here (2 cores shared with other engineers' test runs, load average 4.6-9.0
during the four full runs): floor 46-108 requests/s, mix 13-32 requests/s (0.27-0.31x
the floor), mix p99 3.1-6.6 s; 0 errors, every order stored exactly once.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_load,
recreated), BENCH_REDIS_URL (default redis://127.0.0.1:6379/7, flushed),
BENCH_LOAD_SECONDS of each kind of load (60), BENCH_LOAD_ROUNDS they are cut into (6),
BENCH_LOAD_CLIENTS (50).
"""

import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_load")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
ROUNDS = int(os.environ.get("BENCH_LOAD_ROUNDS", "6"))
CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
ACCOUNTS = ("LOAD-A", "LOAD-B")
PRODUCTS = 200
# Every fifth client's third and fifth: people in the browser; the rest use an API key.
PEOPLE_EVERY = (2, 4)
API_MIX = (("order", 0.40), ("settings", 0.15), ("orders", 0.25), ("products", 0.20))
PAGES = ("/account/", "/sales-orders/")
TIMEOUT = 30
# The figures for this load before the work on it (five runs, this machine).
BASELINE_RPS = (96, 185)
BASELINE_P99_MS = (358, 735)


# ---------------------------------------------------------------- setup


def _environment(var_dir: str, static_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        DATABASE_URL=DB_URL,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX="bench-load",
        OMS_VAR_DIR=var_dir,
        BENCH_STATIC_ROOT=static_dir,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),  # 64 characters, new each run
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback, no proxy in front
        ALLOWED_HOSTS="127.0.0.1",
        # The throttle is still asked on every API request, but never refuses one.
        API_THROTTLE_RATE="1000000/minute",
        LOG_LEVEL="WARNING",
    )
    return env


def _prepare(env: dict[str, str]) -> dict:
    """A fresh migrated database, an empty Redis database, static files collected, and the
    seed: two accounts with a warehouse, products and an API key each, and one person per
    page client. Returns what the clients need."""
    import psycopg
    import redis

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connections

    from accounts import services
    from accounts.models import Account, Organization, Role, RoleAssignment, User, Warehouse
    from catalog.models import Product

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    password = secrets.token_urlsafe(12)
    hashed = make_password(password)  # one hash for every person: seeding stays quick
    people_count = sum(1 for n in range(CLIENTS) if n % 5 in PEOPLE_EVERY)
    organization = Organization.objects.create(name="Bench Load")
    accounts = []
    for code in ACCOUNTS:
        account = Account.objects.create(
            organization=organization,
            name=f"Bench {code}",
            code=code,
            timezone="Europe/Berlin",
            auto_sales_order_workflow=code == ACCOUNTS[0],
        )
        account.default_warehouse = Warehouse.objects.create(account=account, name="Main DC", code="WH1")
        account.save()
        Product.objects.bulk_create(
            Product(account=account, sku=f"SKU-{n:04d}", name=f"Product {n}") for n in range(PRODUCTS)
        )
        accounts.append({"id": account.pk, "code": code, "key": services.regenerate_api_key(None, account)})
    people = []
    for n in range(people_count):
        account = accounts[n % len(accounts)]
        user = User.objects.create(email=f"person{n}@load.test", password=hashed)
        role = Role.ACCOUNT_ADMINISTRATOR if n % 4 == 0 else Role.ACCOUNT_USER
        RoleAssignment.objects.create(user=user, role=role, account_id=account["id"])
        people.append({"email": user.email, "account_id": account["id"]})
    connections.close_all()
    return {"accounts": accounts, "people": people, "password": password}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "oms.wsgi", "-w", "2", "--bind", f"127.0.0.1:{port}"]
        + ["--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited before serving; see {log_path}")
        try:
            if _request(port, "GET", "/login/")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    _stop_server(server)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log_path}")


def _stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


# ---------------------------------------------------------------- clients


def _request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request on a new connection (gunicorn's sync workers close each one):
    status, Set-Cookie headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, response.headers.get_all("Set-Cookie") or [], data
    finally:
        connection.close()


class Recorder:
    """Each request's kind, outcome and latency, kept per client thread."""

    def __init__(self):
        self.samples: list[tuple[str, str, float]] = []

    def call(self, kind: str, expected: tuple[int, ...], port: int, method: str, path: str, **kwargs):
        started = time.perf_counter()
        try:
            status, cookies, data = _request(port, method, path, **kwargs)
        except (OSError, http.client.HTTPException) as error:
            self.samples.append((kind, f"connection: {type(error).__name__}", time.perf_counter() - started))
            return None, [], b""
        latency = time.perf_counter() - started
        if status in expected:
            outcome = "ok"
        elif status == 409 and kind == "PATCH /api/v1/account/":
            outcome = "stale"
        elif status >= 500:
            outcome = f"5xx: {status}"
        else:
            outcome = f"unexpected: {status}"
        self.samples.append((kind, outcome, latency))
        return status, cookies, data


class Person:
    """A browser's cookies: signed in through the login page, then at their account."""

    def __init__(self, port: int, email: str, password: str, account_id: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self._form("/login/", {"username": email, "password": password})
        if "sessionid" not in self.cookies:
            raise SystemExit(f"{email} could not sign in")
        self._form("/switch-account/", {"account": account_id})

    def _keep(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _form(self, path: str, fields: dict) -> None:
        if "csrftoken" not in self.cookies:
            status, set_cookies, _ = _request(self.port, "GET", "/login/", headers=self.header())
            self._keep(set_cookies)
        body = urlencode({**fields, "csrfmiddlewaretoken": self.cookies["csrftoken"]}).encode()
        headers = {**self.header(), "Content-Type": "application/x-www-form-urlencoded"}
        status, set_cookies, _ = _request(self.port, "POST", path, body=body, headers=headers)
        if status != 302:
            raise SystemExit(f"POST {path} answered {status}, not a redirect")
        self._keep(set_cookies)


class ApiClient:
    def __init__(self, port: int, account: dict, client: int, run: str, rng: random.Random):
        self.port, self.account, self.client, self.run, self.rng = port, account, client, run, rng
        self.auth = {"Authorization": f"Api-Key {account['key']}"}
        self.sent = 0
        self.posted: list[tuple[str, str]] = []  # (number, outcome of its POST)

    def step(self, rec: Recorder) -> None:
        roll, choice = self.rng.random(), API_MIX[-1][0]
        for name, share in API_MIX:
            if roll < share:
                choice = name
                break
            roll -= share
        getattr(self, f"_{choice}")(rec)

    def _json(self, body: dict) -> dict:
        return {
            "body": json.dumps(body).encode(),
            "headers": {**self.auth, "Content-Type": "application/json"},
        }

    def _order(self, rec: Recorder) -> None:
        self.sent += 1
        number = f"LOAD-{self.run}-{self.client:02d}-{self.sent:06d}"
        lines = [
            {
                "sku": f"SKU-{self.rng.randrange(PRODUCTS):04d}",
                "quantity": self.rng.randint(1, 5),
                "unit_price": f"{self.rng.randint(100, 9999) / 100:.2f}",
            }
            for _ in range(self.rng.randint(1, 3))
        ]
        order = {"number": number, "customer_name": "Load Test", "customer_email": "load@example.test"}
        status, _, _ = rec.call(
            "POST /api/v1/sales-orders/",
            (201,),
            self.port,
            "POST",
            "/api/v1/sales-orders/",
            **self._json({**order, "lines": lines}),
        )
        self.posted.append((number, status))

    def _settings(self, rec: Recorder) -> None:
        status, _, data = rec.call(
            "GET /api/v1/account/", (200,), self.port, "GET", "/api/v1/account/", headers=self.auth
        )
        if status != 200:
            return
        version = json.loads(data)["version"]
        name = f"Bench {self.account['code']} {self.client}.{self.rng.randrange(10**6)}"
        rec.call(
            "PATCH /api/v1/account/",
            (200,),
            self.port,
            "PATCH",
            "/api/v1/account/",
            **self._json({"version": version, "name": name}),
        )

    def _orders(self, rec: Recorder) -> None:
        rec.call(
            "GET /api/v1/sales-orders/", (200,), self.port, "GET", "/api/v1/sales-orders/", headers=self.auth
        )

    def _products(self, rec: Recorder) -> None:
        rec.call("GET /api/v1/products/", (200,), self.port, "GET", "/api/v1/products/", headers=self.auth)


class PageClient:
    def __init__(self, person: Person, rng: random.Random):
        self.person, self.rng = person, rng

    def step(self, rec: Recorder) -> None:
        page = self.rng.choice(PAGES)
        rec.call(f"page {page}", (200,), self.person.port, "GET", page, headers=self.person.header())


class FloorClient:
    def __init__(self, person: Person):
        self.person = person

    def step(self, rec: Recorder) -> None:
        rec.call("floor", (200,), self.person.port, "GET", "/bench/floor/", headers=self.person.header())


def _drive(clients: list, seconds: float) -> tuple[list[tuple[str, str, float]], float, float, float]:
    """Every client in its own thread, as fast as answers come, for `seconds` (a request
    started before the end completes). Samples, wall time, CPU time of this process, and
    the machine's 1-minute load average before."""
    recorders = [Recorder() for _ in clients]
    start = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def run(client, rec):
        start.wait()
        while time.perf_counter() < deadline[0]:
            client.step(rec)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(clients, recorders, strict=True)]
    for thread in threads:
        thread.start()
    load = os.getloadavg()[0]
    cpu = time.process_time()
    started = time.perf_counter()
    deadline[0] = started + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return [s for rec in recorders for s in rec.samples], elapsed, time.process_time() - cpu, load


def _warm_up(clients: list) -> None:
    """A few requests of every client (each worker loads its views and templates), unmeasured."""
    recorder = Recorder()
    for client in clients:
        for _ in range(3):
            client.step(recorder)


# ---------------------------------------------------------------- report


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _summary(samples: list[tuple[str, str, float]], elapsed: float) -> dict:
    latencies = [s[2] for s in samples]
    outcomes = Counter(s[1].split(":")[0] for s in samples)
    return {
        "requests": len(samples),
        "rps": len(samples) / elapsed,
        "p50": _percentile(latencies, 50) * 1000 if latencies else 0.0,
        "p95": _percentile(latencies, 95) * 1000 if latencies else 0.0,
        "p99": _percentile(latencies, 99) * 1000 if latencies else 0.0,
        "5xx": outcomes["5xx"],
        "conn": outcomes["connection"],
        "other": outcomes["unexpected"],
        "stale": outcomes["stale"],
    }


def _row(label: str, s: dict) -> str:
    return (
        f"  {label:<28} {s['requests']:>7} {s['rps']:>8.1f} {s['p50']:>8.1f} {s['p95']:>8.1f} "
        f"{s['p99']:>8.1f} {s['5xx']:>5} {s['conn']:>5} {s['other']:>6} {s['stale']:>6}"
    )


class Phase:
    """One kind of load over its rounds: samples, wall time, this process's CPU time and
    the machine's load average before each round."""

    def __init__(self, title: str, clients: list):
        self.title, self.clients = title, clients
        self.samples: list[tuple[str, str, float]] = []
        self.elapsed = self.cpu = 0.0
        self.loads: list[float] = []

    def round(self, seconds: float) -> None:
        samples, elapsed, cpu, load = _drive(self.clients, seconds)
        self.samples += samples
        self.elapsed += elapsed
        self.cpu += cpu
        self.loads.append(load)


def _report_phase(phase: Phase, per_kind: bool) -> dict:
    samples, elapsed, cpu = phase.samples, phase.elapsed, phase.cpu
    overall = _summary(samples, elapsed)
    print(
        f"{phase.title}: {elapsed:.1f} s in {len(phase.loads)} rounds; load average before a round "
        f"{min(phase.loads):.2f}-{max(phase.loads):.2f}; "
        f"load generator CPU {cpu:.1f} s ({cpu / elapsed:.0%} of one core)"
    )
    print(
        f"  {'kind':<28} {'requests':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'5xx':>5} "
        f"{'conn':>5} {'other':>6} {'stale':>6}"
    )
    print(_row("all", overall))
    if per_kind:
        kinds = defaultdict(list)
        for sample in samples:
            kinds[sample[0]].append(sample)
        for kind in sorted(kinds):
            print(_row(kind, _summary(kinds[kind], elapsed)))
    odd = Counter(s[1] for s in samples if s[1] not in ("ok", "stale"))
    if odd:
        print("  errors and unexpected answers: " + ", ".join(f"{k} x{n}" for k, n in odd.most_common()))
    return overall


def _verify_orders(api_clients: list, run: str) -> bool:
    """Every number answered 201 is stored exactly once; numbers not answered 201 are not stored."""
    from django.db import connections
    from django.db.models import Count

    from orders.models import SalesOrder

    stored = Counter(
        dict(
            SalesOrder.objects.filter(number__startswith=f"LOAD-{run}-")
            .values_list("number")
            .annotate(n=Count("id"))
            .values_list("number", "n")
        )
    )
    connections.close_all()
    posted = [p for client in api_clients for p in client.posted]
    created = {number for number, status in posted if status == 201}
    twice = sum(1 for n in stored.values() if n > 1)
    missing = sum(1 for number in created if number not in stored)
    unanswered = sum(1 for number in stored if number not in created)
    print(
        f"orders: {len(posted)} posted, {len(created)} answered 201, {sum(stored.values())} stored "
        f"({len(stored)} numbers); stored twice: {twice}; answered 201 but missing: {missing}; "
        f"stored without a 201: {unanswered}"
    )
    exact = twice == 0 and missing == 0 and unanswered == 0 and len(created) == sum(stored.values())
    print(f"every posted order stored exactly once: {'yes' if exact else 'NO'}")
    return exact


def _queued() -> tuple[int, int]:
    """Messages waiting in Redis, and outbox rows not handed to it."""
    import redis
    from django.db import connections

    from automations.models import OutboxMessage

    r = redis.Redis.from_url(REDIS_URL)
    pending = OutboxMessage.objects.count()
    connections.close_all()
    return sum(r.llen(key) for key in r.scan_iter() if r.type(key) == b"list"), pending


def main() -> None:
    run = secrets.token_hex(3).upper()
    with tempfile.TemporaryDirectory(prefix="oms-bench-load-") as var_dir:
        static_dir = str(Path(tempfile.gettempdir()) / "oms-bench-load-static")
        env = _environment(var_dir, static_dir)
        seed = _prepare(env)
        port = _free_port()
        log_path = Path(tempfile.gettempdir()) / "bench_load_gunicorn.log"
        server = _start_server(env, port, log_path)
        try:
            rng = random.Random(13)
            people = iter(seed["people"])
            sessions: list[Person] = []
            api_clients: list[ApiClient] = []
            mix: list = []
            # Sign-ins (a password hash each) in parallel, before anything is measured.
            slots: dict[int, Person] = {}
            refused: list[str] = []

            def sign_in(n, person):
                try:
                    slots[n] = Person(port, person["email"], seed["password"], person["account_id"])
                except (SystemExit, OSError, http.client.HTTPException) as error:
                    refused.append(f"{person['email']}: {error}")

            signing = []
            for n in range(CLIENTS):
                if n % 5 in PEOPLE_EVERY:
                    signing.append(threading.Thread(target=sign_in, args=(n, next(people))))
                    signing[-1].start()
            for thread in signing:
                thread.join()
            if refused:
                raise SystemExit(f"{len(refused)} people could not sign in, e.g. {refused[0]}")
            for n in range(CLIENTS):
                if n in slots:
                    sessions.append(slots[n])
                    mix.append(PageClient(slots[n], random.Random(rng.random())))
                else:
                    account = seed["accounts"][n % len(seed["accounts"])]
                    api_clients.append(ApiClient(port, account, n, run, random.Random(rng.random())))
                    mix.append(api_clients[-1])
            floor = [FloorClient(sessions[n % len(sessions)]) for n in range(CLIENTS)]
            _warm_up(floor)
            _warm_up(mix)

            print(
                f"{CLIENTS} clients ({len(api_clients)} API, {len(sessions)} people) against gunicorn -w 2, "
                f"DEBUG off, PostgreSQL, Redis; {SECONDS:g} s of each kind in {ROUNDS} rounds"
            )
            print("(conn: connection errors; other: any other unexpected answer; stale: 409, expected)")
            phases = [Phase("floor (bare view, one row)", floor), Phase("mix (API and pages)", mix)]
            for n in range(ROUNDS):
                for phase in phases if n % 2 == 0 else reversed(phases):
                    phase.round(SECONDS / ROUNDS)
            floor_summary = _report_phase(phases[0], per_kind=False)
            mix_summary = _report_phase(phases[1], per_kind=True)
        finally:
            _stop_server(server)
        log = log_path.read_text()
        print(
            f"server log: {log.count('Traceback')} tracebacks, {log.count('WORKER TIMEOUT')} worker timeouts"
            f" ({len(log.splitlines())} lines in {log_path})"
        )
        exact = _verify_orders(api_clients, run)
        queued, pending = _queued()
        print(f"messages waiting in Redis (no worker runs): {queued}; outbox rows not sent: {pending}")

    rps, p99 = mix_summary["rps"], mix_summary["p99"]
    print(
        f"mix / floor: {rps / floor_summary['rps']:.2f}x requests/s, "
        f"p99 {p99 / floor_summary['p99']:.2f}x ({p99:.0f} vs {floor_summary['p99']:.0f} ms)"
    )
    low, high = BASELINE_RPS
    p99_low, p99_high = BASELINE_P99_MS
    print(
        f"mix / issue baseline ({low}-{high} req/s, p99 {p99_low}-{p99_high} ms): "
        f"{rps / high:.2f}-{rps / low:.2f}x requests/s, p99 {p99 / p99_high:.2f}-{p99 / p99_low:.2f}x"
    )
    errors = mix_summary["5xx"] + mix_summary["conn"] + floor_summary["5xx"] + floor_summary["conn"]
    other = mix_summary["other"] + floor_summary["other"]
    print(f"errors (5xx + connection): {errors}; other unexpected answers: {other}")
    print("PASS" if errors == 0 and other == 0 and exact else "FAIL")


if __name__ == "__main__":
    main()

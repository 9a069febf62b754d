"""The Medusa peer of peers/medusa, started from the repository's own files, for the
end-to-end tests (tests/medusa/conftest.py) and for people (`make medusa`).

- `install()`: `npm ci` when node_modules is missing or was installed from another
  package-lock.json (a stamp in node_modules records the lock's hash).
- `ensure_template(server)`: a PostgreSQL database `medusa_template_<hash>` migrated and
  seeded once (`medusa db:migrate` ~20 s on an idle machine, the seed ~10 s), named by
  the hash of the lock file, the config and the seed script, so a change to any of them
  builds a new one. The seed's facts (ids, the secret key, shown by Medusa only once) are
  kept as the database's comment.
- `start(server, folder)`: a copy of the template (`CREATE DATABASE … TEMPLATE`, ~1 s)
  served by `medusa start` on a free port, in a process group of its own; `stop()` ends
  the group and drops the copy.

`python -m tests.medusa.peer install` and `… serve` are what the Makefile runs;
`… order MUG-12OZ=2` places an order in the store of `make medusa` (its admin dashboard
is off)."""

import argparse
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = ROOT / "peers" / "medusa"
MEDUSA = PEER_DIR / "node_modules" / ".bin" / "medusa"
STAMP = PEER_DIR / "node_modules" / ".techoms-installed"
# Files whose change means another database schema or seed.
TEMPLATE_INPUTS = ("package-lock.json", "medusa-config.ts", "src/scripts/seed-techoms.ts")
# Bounds, not expectations: on an idle machine `medusa start` answers in 8-9 s and the
# migration takes ~20 s; with five other sessions on 2 cores both took 3-6 times longer.
HEALTH_TIMEOUT = 120.0
BUILD_TIMEOUT = 900.0
INSTALL_TIMEOUT = 900.0
STOP_GRACE = 20.0
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
# A test session's copy is named <prefix><pid>_<random>.
TEST_DATABASE_PREFIX = "medusa_test_"
PR_SET_PDEATHSIG = 1
# Where `make medusa` leaves what the demo command (add_medusa_channel) reads.
DEV_FACTS = ROOT / "var" / "medusa.json"
DEV_WEBHOOK_CONFIG = ROOT / "var" / "medusa-webhook.json"


class PeerError(RuntimeError):
    """The peer could not be installed, built or started; the message says which step."""


def _log(message: str) -> None:
    print(f"[medusa peer] {message}", file=sys.stderr, flush=True)


def server_url() -> str | None:
    """The PostgreSQL server Medusa's databases go on: MEDUSA_DATABASE_URL, else
    DATABASE_URL when it is PostgreSQL; None when neither is."""
    for name in ("MEDUSA_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return None


def unavailable() -> str | None:
    """Why the peer cannot run on this machine (no node, no PostgreSQL), or None."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "the Medusa peer needs Node.js (node and npm on PATH)"
    if server_url() is None:
        return "the Medusa peer needs PostgreSQL: set MEDUSA_DATABASE_URL or a postgres DATABASE_URL"
    return None


def _database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))


def _connect(server: str) -> psycopg.Connection:
    # Always the maintenance database: advisory locks hold within one database only, and
    # every session of the machine (whatever database its URL names) must see the same lock.
    return psycopg.connect(_database_url(server, "postgres"), autocommit=True, connect_timeout=10)


def _digest(paths) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _node_env(**extra: str) -> dict:
    env = dict(os.environ, MEDUSA_DISABLE_TELEMETRY="true")
    # The portal's own settings must not leak into Medusa, whose config reads DATABASE_URL
    # and would take REDIS_URL for its own if it ever did.
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def _run(argv: list[str], what: str, timeout: float, env: dict, log: Path) -> None:
    started = time.monotonic()
    with log.open("ab") as out:
        try:
            done = subprocess.run(  # noqa: S603 - fixed argv
                argv,
                cwd=PEER_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise PeerError(f"{what} took longer than {timeout:.0f} s (log: {log})") from error
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise PeerError(f"{what} failed with exit code {done.returncode} (log: {log}):\n{tail}")
    _log(f"{what}: {time.monotonic() - started:.1f} s")


class _FileLock:
    """An exclusive lock between processes of this machine (two test sessions, or make
    and pytest) over one step."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("w")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def install(log: Path | None = None) -> bool:
    """`npm ci` unless node_modules came from this very package-lock.json; True when it ran."""
    lock_hash = _digest([PEER_DIR / "package-lock.json"])
    log = log or Path(tempfile.gettempdir()) / "techoms-medusa-npm.log"
    with _FileLock(PEER_DIR / ".install.lock"):
        if STAMP.exists() and STAMP.read_text().strip() == lock_hash and MEDUSA.exists():
            return False
        _run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            "npm ci",
            INSTALL_TIMEOUT,
            _node_env(),
            log,
        )
        STAMP.write_text(lock_hash + "\n")
        return True


def template_name() -> str:
    return "medusa_template_" + _digest(PEER_DIR / p for p in TEMPLATE_INPUTS)[:12]


def _facts_of(conn: psycopg.Connection, database: str) -> dict | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        [database],
    ).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def _drop(conn: psycopg.Connection, database: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def _advisory_lock(conn: psycopg.Connection, name: str) -> None:
    # One builder per server at a time: other sessions of this machine share PostgreSQL.
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    conn.execute("SELECT pg_advisory_lock(%s)", [key])


def ensure_template(server: str, log: Path) -> tuple[str, dict]:
    """The template database's name and seed facts, built first if missing."""
    name = template_name()
    with _connect(server) as conn:
        _advisory_lock(conn, "techoms-medusa-template")
        facts = _facts_of(conn, name)
        if facts is not None:
            return name, facts
        # A build that died half-way leaves only its _build database, never the template.
        building = name + "_build"
        _drop(conn, name)
        _drop(conn, building)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
        env = _node_env(DATABASE_URL=_database_url(server, building))
        _run([str(MEDUSA), "db:migrate"], "medusa db:migrate", BUILD_TIMEOUT, env, log)
        output = log.with_suffix(".seed.json")
        env["TECHOMS_SEED_OUTPUT"] = str(output)
        _run(
            [str(MEDUSA), "exec", "./src/scripts/seed-techoms.ts"],
            "seed",
            BUILD_TIMEOUT,
            env,
            log,
        )
        facts = json.loads(output.read_text())
        output.unlink()
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name))
        )
        _comment(conn, name, facts)
        return name, facts


def _comment(conn: psycopg.Connection, database: str, facts: dict) -> None:
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(database), sql.Literal(json.dumps(facts))
        )
    )


def copy_template(server: str, database: str, log: Path) -> dict:
    """`database` as a fresh copy of the current template; the seed facts."""
    template, facts = ensure_template(server, log)
    started = time.monotonic()
    with _connect(server) as conn:
        _drop(conn, database)
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(database), sql.Identifier(template)
            )
        )
        _comment(conn, database, facts)
    _log(f"copy of {template} into {database}: {time.monotonic() - started:.1f} s")
    return facts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(server: str, database: str, port: int, webhook_config: Path, log: Path) -> subprocess.Popen:
    """`medusa start` on `database`, in a session of its own, answering /health."""
    env = _node_env(
        DATABASE_URL=_database_url(server, database),
        PORT=str(port),
        HOST="127.0.0.1",
        JWT_SECRET=uuid.uuid4().hex,
        COOKIE_SECRET=uuid.uuid4().hex,
        TECHOMS_WEBHOOK_CONFIG=str(webhook_config),
    )
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [str(MEDUSA), "start"],
            cwd=PEER_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks taken
        )
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise PeerError(f"medusa start exited with {process.returncode} (log: {log}):\n{tail}")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() - started > HEALTH_TIMEOUT:
            terminate(process)
            raise PeerError(f"medusa start did not answer /health in {HEALTH_TIMEOUT:.0f} s (log: {log})")
        time.sleep(0.25)
    _log(f"medusa start on {url}: {time.monotonic() - started:.1f} s to /health")
    return process


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (a test
    session killed outright), so no Medusa is left serving an unknown port for ever."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def terminate(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group, SIGKILL after the grace."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class MedusaPeer:
    """A running Medusa store and what a client needs to know of it."""

    base_url: str
    api_key: str
    admin_email: str
    admin_password: str
    region_id: str
    sales_channel_id: str
    stock_locations: dict[str, str]
    shipping_option_id: str
    shipping_options: dict[str, str]
    publishable_key: str
    skus: list[str]
    database: str
    server: str = field(repr=False)
    webhook_config: Path = field(repr=False)
    log: Path = field(repr=False)
    process: subprocess.Popen = field(repr=False)

    def point_webhooks(self, url: str, secret: str) -> None:
        """Send the plugin's deliveries to `url`, signed with `secret`, from now on."""
        partial = self.webhook_config.with_suffix(".tmp")
        partial.write_text(json.dumps({"url": url, "secret": secret}))
        partial.replace(self.webhook_config)  # the plugin never reads half a file

    def stop_webhooks(self) -> None:
        self.webhook_config.unlink(missing_ok=True)

    def stop(self) -> None:
        terminate(self.process)
        with _connect(self.server) as conn:
            _drop(conn, self.database)


def _drop_orphans(server: str) -> None:
    """Drop the copies of test sessions of this machine that died without cleaning up:
    their process id (in the name) is gone and nothing is connected to them."""
    with _connect(server) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT datname FROM pg_database d WHERE datname LIKE %s AND NOT EXISTS "
                "(SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
                [TEST_DATABASE_PREFIX + "%"],
            )
        ]
        for name in names:
            pid = name.removeprefix(TEST_DATABASE_PREFIX).split("_")[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                _drop(conn, name)


def start(server: str, folder: Path) -> MedusaPeer:
    """A store of this test session: its own copy of the template, on a free port."""
    log = folder / "medusa.log"
    install(folder / "npm.log")
    _drop_orphans(server)
    database = f"{TEST_DATABASE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:6]}"
    facts = copy_template(server, database, log)
    port = free_port()
    webhook_config = folder / "webhook.json"
    try:
        process = launch(server, database, port, webhook_config, log)
    except PeerError:
        with _connect(server) as conn:
            _drop(conn, database)
        raise
    return _peer(facts, f"http://127.0.0.1:{port}", database, server, webhook_config, log, process)


def _peer(facts, base_url, database, server, webhook_config, log, process) -> MedusaPeer:
    return MedusaPeer(
        base_url=base_url,
        api_key=facts["api_key"],
        admin_email=facts["admin_email"],
        admin_password=facts["admin_password"],
        region_id=facts["region_id"],
        sales_channel_id=facts["sales_channel_id"],
        stock_locations=facts["stock_locations"],
        shipping_option_id=facts["shipping_option_id"],
        shipping_options=facts["shipping_options"],
        publishable_key=facts["publishable_key"],
        skus=facts["skus"],
        database=database,
        server=server,
        webhook_config=webhook_config,
        log=log,
        process=process,
    )


class MedusaAdminError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body):
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body


ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address_1": "12 Analytical Way",
    "city": "Newark",
    "province": "NJ",
    "postal_code": "07102",
    "country_code": "us",
    "phone": "+1 973 555 0100",
}


class MedusaAdmin:
    """The store's Admin API with the secret key, for tests to act as the merchant."""

    def __init__(self, peer: MedusaPeer | SimpleNamespace):
        self.peer = peer
        self.session = requests.Session()
        self.session.auth = (peer.api_key, "")
        self._variants: dict[str, str] = {}

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = self.session.request(method, self.peer.base_url + path, timeout=60, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if not response.ok:
            raise MedusaAdminError(method, path, response.status_code, body)
        return body

    def get(self, path: str, **params) -> dict:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: dict | None = None) -> dict:
        return self._call("POST", path, json=body or {})

    def delete(self, path: str) -> dict:
        return self._call("DELETE", path)

    def variant_id(self, sku: str) -> str:
        if sku not in self._variants:
            found = self.get("/admin/product-variants", sku=sku, fields="id")["variants"]
            if not found:
                raise LookupError(f"no variant with SKU {sku} in Medusa")
            self._variants[sku] = found[0]["id"]
        return self._variants[sku]

    def create_order(
        self,
        lines: dict[str, int],
        email: str = "ada@example.com",
        address: dict | None = None,
        shipping_option_id: str | None = None,
    ) -> dict:
        """An order of {sku: quantity}, placed as a merchant does by hand: a draft order
        converted to an order (Medusa then emits order.placed)."""
        address = address or ADDRESS
        draft = self.post(
            "/admin/draft-orders",
            {
                "email": email,
                "region_id": self.peer.region_id,
                "sales_channel_id": self.peer.sales_channel_id,
                "items": [{"variant_id": self.variant_id(s), "quantity": q} for s, q in lines.items()],
                "shipping_address": address,
                "billing_address": address,
                "shipping_methods": [
                    {
                        "shipping_option_id": shipping_option_id or self.peer.shipping_option_id,
                        "name": "Standard",
                        "amount": 5,
                    }
                ],
            },
        )["draft_order"]
        return self.post(f"/admin/draft-orders/{draft['id']}/convert-to-order")["order"]

    def cancel_order(self, order_id: str) -> dict:
        return self.post(f"/admin/orders/{order_id}/cancel")["order"]

    def order(self, order_id: str, fields: str = "*items,*shipping_address,*fulfillments") -> dict:
        return self.get(f"/admin/orders/{order_id}", fields=fields)["order"]

    def _inventory_item(self, sku: str) -> dict:
        fields = "id,sku,location_levels.location_id,location_levels.stocked_quantity,"
        fields += "location_levels.reserved_quantity"
        found = self.get("/admin/inventory-items", sku=sku, fields=fields)["inventory_items"]
        if not found:
            raise LookupError(f"no inventory item with SKU {sku} in Medusa")
        return found[0]

    def stock(self, sku: str) -> dict[str, dict[str, int]]:
        return {
            level["location_id"]: {
                "stocked": level["stocked_quantity"],
                "reserved": level["reserved_quantity"],
            }
            for level in self._inventory_item(sku)["location_levels"]
        }

    def set_stock(self, sku: str, location_id: str, quantity: int) -> None:
        item = self._inventory_item(sku)
        self.post(
            f"/admin/inventory-items/{item['id']}/location-levels/{location_id}",
            {"stocked_quantity": quantity},
        )

    def fulfillments(self, order_id: str) -> list[dict]:
        return self.order(order_id, fields="*fulfillments,*fulfillments.labels")["fulfillments"]


def serve(port: int, database: str) -> int:
    """`make medusa`: the person's store, kept between runs in its own database."""
    if shutil.which("node") is None:
        print("`make medusa` needs Node.js 20.19 or newer (node and npm on PATH).", file=sys.stderr)
        return 1
    server = server_url() or DEFAULT_SERVER
    folder = ROOT / "var" / "medusa"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "medusa.log"
    install(folder / "npm.log")
    with _connect(server) as conn:
        facts = _facts_of(conn, database)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
    if facts is None and exists:
        raise PeerError(
            f"Database {database} exists but was not made by `make medusa`: drop it, "
            "or name another with MEDUSA_DEV_DATABASE."
        )
    if facts is None:
        facts = copy_template(server, database, log)
    base_url = f"http://127.0.0.1:{port}"
    process = launch(server, database, port, DEV_WEBHOOK_CONFIG, log)
    DEV_FACTS.write_text(
        json.dumps(dict(facts, base_url=base_url, webhook_config=str(DEV_WEBHOOK_CONFIG)), indent=2)
    )
    print(
        f"Medusa is running at {base_url} (database {database}, log {log}).\n"
        f"  Secret API key: {facts['api_key']}\n"
        f"  Admin login:    {facts['admin_email']} / {facts['admin_password']}\n"
        f"  Stock locations: {', '.join(facts['stock_locations'])}\n"
        "Add it to the demo of `make run` with: make medusa-channel\n"
        "Place an order: .venv/bin/python -m tests.medusa.peer order MUG-12OZ=1\n"
        "Ctrl-C stops it; its orders stay in the database for the next `make medusa`.",
        flush=True,
    )
    # Ctrl-C, or SIGTERM from a supervisor, stops Medusa too (it runs in a session of its own).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        terminate(process)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def place_order(lines: list[str], email: str) -> int:
    """An order in the store of `make medusa`, as a shopper's would arrive."""
    try:
        facts = json.loads(DEV_FACTS.read_text())
    except FileNotFoundError:
        print(f"{DEV_FACTS} is missing: start the store with `make medusa` first.", file=sys.stderr)
        return 1
    wanted = {}
    for line in lines:
        sku, _, quantity = line.partition("=")
        if not quantity.isdigit() or int(quantity) < 1:
            print(f"{line!r}: write SKU=QUANTITY, e.g. MUG-12OZ=2", file=sys.stderr)
            return 1
        wanted[sku] = int(quantity)
    admin = MedusaAdmin(SimpleNamespace(**facts))
    try:
        order = admin.create_order(wanted, email=email)
    except (LookupError, MedusaAdminError, requests.RequestException) as exc:
        print(f"The order was not placed: {exc}", file=sys.stderr)
        return 1
    print(f"Order #{order['display_id']} ({order['id']}) placed in Medusa for {email}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.medusa.peer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="npm ci when node_modules is missing or stale (no-op without node)")
    run = commands.add_parser("serve", help="install, migrate once, and run Medusa for a person")
    run.add_argument("--port", type=int, default=int(os.environ.get("MEDUSA_PORT", "9000")))
    run.add_argument("--database", default=os.environ.get("MEDUSA_DEV_DATABASE", "medusa_dev"))
    order = commands.add_parser("order", help="place an order in the store of `make medusa`")
    order.add_argument("lines", nargs="+", metavar="SKU=QUANTITY")
    order.add_argument("--email", default="shopper@example.com")
    args = parser.parse_args(argv)
    if args.command == "order":
        return place_order(args.lines, args.email)
    try:
        if args.command == "install":
            if shutil.which("node") is None:
                _log("node is not installed: the Medusa end-to-end tests will be skipped")
                return 0
            install()
            return 0
        return serve(args.port, args.database)
    except (PeerError, psycopg.OperationalError) as exc:
        print(f"The Medusa peer did not start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

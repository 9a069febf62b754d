"""The project's Tryton peer: a real `trytond` (stock, carriers, package shipping) started
from this folder's files, for the end-to-end tests, the benchmark and the demo.

Standard library only, run with the portal's Python; Tryton itself lives in its own
virtualenv (`.venv` here) and is only ever started as a separate process:

1. `ensure_venv()`: create `.venv` and install requirements.txt when missing or when the
   requirements changed (a stamp holds their hash);
2. `ensure_template()`: once per hash of requirements + seed, `trytond-admin` initialises
   a SQLite database and seed.py (inside the venv) fills it; the file and the seed's ids
   are cached in `.cache/<hash>/`;
3. `start_peer(workdir)`: copy the template into `workdir`, start `trytond` on a free
   port, wait until JSON-RPC answers a login; `Peer.stop()` ends its process group.

For a person: `python peers/tryton/peer.py run [--port 8100] [--fresh]` (or `make tryton`)
prints the URL, database, user and password and serves until Ctrl-C.
"""

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

if __package__:
    from .rpc import TrytonRpc, TrytonRpcError, Warehouse
else:  # run as a script (`python peers/tryton/peer.py`): its folder is on the path
    from rpc import TrytonRpc, TrytonRpcError, Warehouse

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
CACHE = HERE / ".cache"
RUN_DIR = HERE / ".run"
REQUIREMENTS = HERE / "requirements.txt"
CONF_TEMPLATE = HERE / "trytond.conf"
SEED = HERE / "seed.json"
SEED_SCRIPT = HERE / "seed.py"
DATABASE = "techoms"
USER = "admin"
PASSWORD = "tryton-demo-pass"  # noqa: S105 - a local test and demo peer, printed and in the README
# Activating stock_package_shipping activates stock, carrier, product_measurements … too.
MODULES = ["stock_package_shipping"]
START_TIMEOUT = 90

# pip's words when no package index can be reached: the only case the tests may skip.
NO_NETWORK = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
    "Could not find a version that satisfies",
    "ConnectTimeoutError",
    "ReadTimeoutError",
)


class PeerError(RuntimeError):
    """The peer could not be set up or started (a bug or a broken install)."""


class PeerUnavailable(PeerError):
    """Tryton cannot be installed here (no package index reachable)."""


@dataclass
class Peer:
    url: str
    database: str
    user: str
    password: str
    info: dict
    workdir: Path
    process: subprocess.Popen | None = None
    timings: dict = field(default_factory=dict)

    @property
    def warehouses(self) -> dict:
        return self.info["warehouses"]

    @property
    def products(self) -> dict:
        return self.info["products"]

    @property
    def credentials(self) -> dict:
        return {"url": self.url, "database": self.database, "user": self.user, "password": self.password}

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # trytond was started in a session of its own: its group is only its processes.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


@contextlib.contextmanager
def _lock(name: str):
    # Test sessions, the benchmark and a person may set up at once: one at a time.
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _bin(name: str) -> str:
    return str(VENV / "bin" / name)


def ensure_venv() -> float:
    """Install the Tryton virtualenv if missing or outdated; the seconds it took (0 if not)."""
    stamp = VENV / ".requirements-hash"
    wanted = _digest(REQUIREMENTS)
    if stamp.exists() and stamp.read_text() == wanted:
        return 0.0
    with _lock("venv"):
        if stamp.exists() and stamp.read_text() == wanted:
            return 0.0
        started = time.monotonic()
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603 - fixed argv
        result = subprocess.run(  # noqa: S603 - fixed argv
            [_bin("python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            output = (result.stdout + result.stderr).strip()
            reason = "\n".join(output.splitlines()[-5:])
            if any(words in output for words in NO_NETWORK):
                raise PeerUnavailable(f"pip could not install Tryton (no package index?): {reason}")
            raise PeerError(f"pip install -r {REQUIREMENTS} failed: {reason}")
        stamp.write_text(wanted)
        return time.monotonic() - started


def _write_conf(directory: Path, port: int) -> Path:
    conf = directory / "trytond.conf"
    text = string.Template(CONF_TEMPLATE.read_text()).substitute(path=directory, port=port)
    conf.write_text(text)
    return conf


def _run(command: list[str], what: str, answer: str = "", **kwargs) -> None:
    result = subprocess.run(command, capture_output=True, text=True, input=answer, **kwargs)  # noqa: S603
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise PeerError(f"{what} failed ({result.returncode}):\n{tail}")


def _checkpoint(database_file: Path) -> None:
    # The template must be one self-contained file to copy: fold trytond's WAL journal in.
    connection = sqlite3.connect(database_file)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()


def template_key() -> str:
    return _digest(REQUIREMENTS, CONF_TEMPLATE, SEED, SEED_SCRIPT)


def ensure_template() -> tuple[Path, float]:
    """The directory holding the seeded template database and its info.json (built once
    per requirements + seed), and the seconds building it took (0 when cached)."""
    target = CACHE / template_key()
    if (target / "info.json").exists():
        return target, 0.0
    with _lock("template"):
        if (target / "info.json").exists():
            return target, 0.0
        started = time.monotonic()
        build = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE))
        try:
            conf = _write_conf(build, 0)
            passfile = build / "admin.pass"
            passfile.write_text(PASSWORD + "\n")
            env = {**os.environ, "TRYTONPASSFILE": str(passfile)}
            (build / f"{DATABASE}.sqlite").touch()
            _run(
                [_bin("trytond-admin"), "-c", str(conf), "-d", DATABASE, "-u", *MODULES]
                + ["--activate-dependencies"],
                "trytond-admin (database initialisation)",
                answer="\n",  # its prompt for the admin's email: none
                env=env,
            )
            _run(
                [_bin("python"), str(SEED_SCRIPT), str(conf), DATABASE, str(SEED), str(build / "info.json")],
                "seed.py",
            )
            passfile.unlink()
            conf.unlink()
            _checkpoint(build / f"{DATABASE}.sqlite")
            for old in CACHE.iterdir():
                if old.is_dir() and not old.name.startswith("build-") and old != target:
                    shutil.rmtree(old, ignore_errors=True)
            build.rename(target)
        finally:
            shutil.rmtree(build, ignore_errors=True)
        return target, time.monotonic() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _logged_in(url: str) -> bool:
    body = json.dumps({"id": 1, "method": "common.db.login", "params": [USER, {"password": PASSWORD}, "en"]})
    request = urllib.request.Request(  # noqa: S310 - our own peer's http URL
        f"{url}{DATABASE}/rpc/", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - local peer
            return bool(json.loads(response.read()).get("result"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_peer(workdir, port: int | None = None, fresh: bool = True) -> Peer:
    """Start a seeded Tryton in `workdir` (a copy of the template there, its log beside it).

    `fresh=False` keeps a database already in `workdir` (a person's demo peer survives a
    restart); tests always start from a fresh copy."""
    if port and not _port_free(port):
        raise PeerError(f"Port {port} is taken (another `make tryton`?): stop it or choose --port.")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    timings = {"venv_install_s": ensure_venv()}
    template, timings["template_init_s"] = ensure_template()
    started = time.monotonic()
    database_file = workdir / f"{DATABASE}.sqlite"
    if fresh or not database_file.exists():
        # trytond keeps SQLite in WAL mode: an old run's journal must not meet a new file.
        for suffix in ("-wal", "-shm"):
            database_file.with_name(database_file.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(template / f"{DATABASE}.sqlite", database_file)
        shutil.copyfile(template / "info.json", workdir / "info.json")
    info = json.loads((workdir / "info.json").read_text())
    port = port or _free_port()
    conf = _write_conf(workdir, port)
    log = open(workdir / "trytond.log", "ab")  # noqa: SIM115 - handed to the child process
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [_bin("trytond"), "-c", str(conf), "-d", DATABASE],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}/"
    peer = Peer(url, DATABASE, USER, PASSWORD, info, workdir, process, timings)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not _logged_in(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join((workdir / "trytond.log").read_text(errors="replace").splitlines()[-15:])
                raise PeerError(f"trytond did not answer on {url} (exit {process.poll()}):\n{tail}")
            time.sleep(0.2)
    except BaseException:
        # Interrupted or failed while starting: leave no trytond behind.
        peer.stop()
        raise
    timings["copy_and_start_s"] = time.monotonic() - started
    # How to reach it, for `ship` and other tools: a local peer's password is no secret.
    ready = {**peer.credentials, "warehouses": peer.warehouses, "products": peer.products, "info": info}
    (workdir / "ready.json").write_text(json.dumps(ready, indent=1))
    return peer


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="install the virtualenv and build the template database")
    run = sub.add_parser("run", help="start a seeded Tryton and serve until Ctrl-C")
    run.add_argument("--port", type=int, default=8100)
    run.add_argument("--workdir", default=str(RUN_DIR), help="where its database and log live")
    run.add_argument("--fresh", action="store_true", help="start again from the seeded template")
    run.add_argument("--ready-file", help="also write the connection and seed ids there as JSON")
    ship = sub.add_parser("ship", help="ship, as the warehouse, the open customer shipments of a reference")
    ship.add_argument("reference", nargs="?", help="the order's reference (none: list the open shipments)")
    ship.add_argument("--tracking", help="the tracking number (default: one made up from the shipment)")
    ship.add_argument("--carrier", help="DHL or UPS (default: the shipment's own, else DHL)")
    ship.add_argument("--workdir", default=str(RUN_DIR), help="the running peer's folder")
    args = parser.parse_args(argv)
    if args.command == "ship":
        return _ship(Path(args.workdir), args.reference, args.tracking, args.carrier)
    # A SIGTERM (make, a supervisor) stops trytond too, through the `finally`s below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.command == "setup":
            venv_s = ensure_venv()
            template, template_s = ensure_template()
            print(f"Tryton virtualenv: {VENV} ({venv_s:.1f} s); template: {template} ({template_s:.1f} s)")
            return 0
        peer = start_peer(args.workdir, port=args.port, fresh=args.fresh)
    except PeerUnavailable as error:
        print(error, file=sys.stderr)
        # `make test` goes on without it: the Tryton tests then skip, saying why.
        return 0 if args.command == "setup" else 1
    except PeerError as error:
        print(error, file=sys.stderr)
        return 1
    if args.ready_file:
        shutil.copyfile(peer.workdir / "ready.json", args.ready_file)
    print(f"Tryton {peer.url} is up (pid {peer.pid}, {_rss_mb(peer.pid):.0f} MB RSS)")
    print(f"  URL       {peer.url}")
    print(f"  Database  {peer.database}")
    print(f"  User      {peer.user}")
    print(f"  Password  {peer.password}")
    warehouses = ", ".join(f"{name} ({w['code']}, id {w['id']})" for name, w in peer.warehouses.items())
    print(f"  Warehouses {warehouses}")
    print(f"  Products  {', '.join(peer.products)}")
    print(f"  Data      {peer.workdir} (log: trytond.log)")
    print("  Timings   " + ", ".join(f"{key} {value:.1f}" for key, value in peer.timings.items()))
    print("Ctrl-C stops it.", flush=True)
    try:
        while peer.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        peer.stop()
    return 0


def _ship(workdir: Path, reference: str | None, tracking: str | None, carrier: str | None) -> int:
    """What a person does in Tryton's client to ship an order, from the command line."""
    try:
        ready = json.loads((workdir / "ready.json").read_text())
    except FileNotFoundError:
        print(f"No running peer in {workdir}: start it with `make tryton`.", file=sys.stderr)
        return 1
    rpc = TrytonRpc(ready["url"], ready["database"], ready["user"], ready["password"])
    domain = [("state", "in", ["draft", "waiting", "assigned", "picked", "packed"])]
    fields = ["reference", "number", "state", "warehouse.code"]
    try:
        if not reference:
            for row in rpc.search_read("stock.shipment.out", domain, fields, order=[("id", "ASC")]):
                print(f"{row['reference'] or '-':20} shipment {row['number']:6} {row['state']:9}", end=" ")
                print(f"from {row['warehouse.']['code']}")
            return 0
        found = rpc.search_read("stock.shipment.out", [*domain, ("reference", "=", reference)], fields)
        if not found:
            print(f"No open customer shipment has the reference {reference}.", file=sys.stderr)
            return 1
        numbers = {row["id"]: tracking or f"TRY{ready['database'].upper()}{row['number']}" for row in found}
        Warehouse(rpc, ready["info"]).ship(list(numbers), carrier=carrier, tracking=numbers)
    except (TrytonRpcError, OSError) as error:
        print(f"Tryton refused: {error}", file=sys.stderr)
        return 1
    for shipment_id, number in numbers.items():
        print(f"Shipped shipment {shipment_id} of {reference}, tracking {number}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

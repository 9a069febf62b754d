"""Benchmark of the Tryton connector against a real Tryton (peers/tryton): Send Orders of
1,000 orders (3 lines each), then Receive Shipments of the same 1,000 once the warehouse
shipped them, each beside a bare JSON-RPC client (peers/tryton/rpc.py) making the same
creates and reads in the same run: per batch of 100 (the connector's BATCH) a search by
reference, the addresses, the shipments with their moves, the `wait` button; then the done
shipments since a time and their moves, 500 a page.

Measured: the connector's own time (its send_orders / receive_shipments calls, what the
bare client does) and the whole job run (plus the portal's side: marking orders sent,
recording shipments with their stock moves in PostgreSQL), calls to Tryton, the time
waiting for Tryton, and memory (the process's peak RSS, and the peak of Python
allocations during each job, so growth with the number of orders shows).
Target: the connector's time at most 1.5 × the bare client's; memory flat.

Measured here (2 cores shared with other sessions, PostgreSQL), 1,000 orders, two runs:
- load 8–16: Send Orders job 292 s, connector 233 s in 69 calls vs bare 302 s in 42
  calls, 0.77×; the warehouse shipped them in 647 s; Receive Shipments job 756 s,
  connector 54 s in 13 calls vs bare 38 s in 9 calls, 1.43×;
- load 2–6 (after the jobs read carrier rules once per run): Send Orders job 171 s,
  connector 149 s vs bare 107 s, 1.40×; shipped in 169 s; Receive Shipments job 135 s,
  connector 12.2 s vs bare 11.1 s, 1.10×.
Both: the connector's time is almost all waiting for Tryton (its creates and buttons on
SQLite); Python allocations peak 8–9 MB a job (3 MB at 200 orders), RSS 104 → 117 MB
(104 → 106 MB at 200): memory grows with the run's size (every changed shipment is read
before parsing), by a few kB per order, not flat.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_tryton,
recreated), BENCH_ORDERS (1,000). Tryton: a fresh copy of the peer's template on a free
port (its virtualenv and template are built first if missing).
"""

import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_tryton")
ORDERS = int(os.environ.get("BENCH_ORDERS", "1000"))
SKUS = ["TSHIRT-BLK-M", "MUG-12OZ", "CAP-NAVY"]
TARGET = 1.5
SHIP_BATCH = 100


def _setup() -> None:
    os.environ.update(
        DATABASE_URL=DB_URL,
        DJANGO_SETTINGS_MODULE="oms.settings",
        LOG_LEVEL="WARNING",
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-" + "x" * 50,
    )
    # No worker here: the jobs run in this process, and whatever they queue stays in a
    # broker folder of the benchmark's own.
    os.environ.pop("REDIS_URL", None)
    os.environ["OMS_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-tryton-var-")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _fresh_database() -> None:
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Counted:
    """Calls to Tryton and the seconds spent waiting for its answers."""

    def __init__(self):
        self.calls = 0
        self.seconds = 0.0


def _counting_http(url: str, counted: Counted):
    from channels.connectors.http import JsonHttpClient

    class CountingHttp(JsonHttpClient):
        def request(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return super().request(*args, **kwargs)
            finally:
                counted.calls += 1
                counted.seconds += time.perf_counter() - started

    return CountingHttp(url, timeout=120)


def _timed_connector_methods(spent: dict):
    """The connector's own time inside the job: wrap the two methods the jobs call."""
    from channels.connectors.tryton import TrytonConnector

    for name in ("send_orders", "receive_shipments"):
        original = getattr(TrytonConnector, name)

        def timed(self, *args, _original=original, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - started

        setattr(TrytonConnector, name, timed)


def _seed_portal(peer):
    from accounts.models import Account, Organization, Warehouse
    from catalog.models import AdjustmentReason, AdjustmentSource, Product
    from catalog.services import LedgerContext, adjust_inventory
    from channels import services
    from orders.models import OrderSource, SalesOrderStatus
    from orders.services import store_sales_order

    account = Account.objects.create(
        organization=Organization.objects.create(name="Bench"), name="Bench", code="BENCH"
    )
    warehouse = Warehouse.objects.create(account=account, name="Main", code="MAIN")
    account.default_warehouse = warehouse
    account.save()
    context = LedgerContext(AdjustmentReason.CYCLE_COUNT, AdjustmentSource.SYSTEM, note="bench")
    products = {}
    for sku in SKUS:
        products[sku.upper()] = Product.objects.create(account=account, sku=sku, name=sku)
        adjust_inventory(products[sku.upper()], warehouse, 10 * ORDERS, context)
    channel = services.create_channel(
        None, account, kind="fulfillment", name="Tryton", platform="tryton", credentials=peer.credentials
    )
    services.add_mapping(None, channel, "MAIN", warehouse.pk)
    for n in range(ORDERS):
        store_sales_order(
            account,
            [{"sku": sku, "quantity": 1, "unit_price": Decimal("9.90")} for sku in SKUS],
            products,
            source=OrderSource.API,
            number=f"B-{n:05d}",
            status=SalesOrderStatus.ALLOCATED,
            warehouse=warehouse,
            ordered_at=django_now(),
            customer_name=f"Customer {n}",
            ship_address1=f"{n} Bench Street",
            ship_city="Newark",
            ship_region="NJ",
            ship_postal_code="07102",
            ship_country="US",
            carrier_code="UPS",
            service_code="03",
        )
    return account, channel


def django_now():
    from django.utils import timezone

    return timezone.now()


def _run(channel, job_type, http):
    from automations.jobs.runner import run_job
    from automations.models import JobRun, Trigger

    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    tracemalloc.start()
    started = time.perf_counter()
    finished = run_job(job_run, http=http)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return finished, seconds, peak


def _bare_send(rpc, info: dict, references: list[str], party: int | None = None) -> float:
    """The same creates as Send Orders, with nothing else: per 100 orders a search by
    reference, the addresses, the shipments with their moves, and `wait`."""
    started = time.perf_counter()
    products = {
        p["code"]: p
        for p in rpc.search_read("product.product", [("code", "in", SKUS)], ["code", "default_uom"])
    }
    warehouse = info["warehouses"]["Main"]
    if party is None:  # the connector's own party, as it looks it up
        party = rpc.search_read("party.party", [("name", "=", "techOMS")], ["id"])[0]["id"]
    for start in range(0, len(references), 100):
        batch = references[start : start + 100]
        rpc.search_read("stock.shipment.out", [("reference", "in", batch)], ["reference", "state"])
        addresses = rpc.create(
            "party.address",
            [
                {
                    "party": party,
                    "party_name": ref,
                    "city": "Newark",
                    "street_unstructured": f"{ref} St",
                }
                for ref in batch
            ],
        )
        moves = [
            {
                "product": products[sku]["id"],
                "unit": products[sku]["default_uom"],
                "quantity": 1.0,
                "from_location": warehouse["output"],
                "to_location": info["locations"]["customer"],
                "unit_price": Decimal("9.90"),
                "currency": info["currency"],
                "company": info["company"],
            }
            for sku in SKUS
        ]
        ids = rpc.create(
            "stock.shipment.out",
            [
                {
                    "company": info["company"],
                    "customer": party,
                    "delivery_address": address,
                    "reference": ref,
                    "warehouse": warehouse["id"],
                    "warehouse_storage": warehouse["storage"],
                    "warehouse_output": warehouse["output"],
                    "carrier": info["carriers"]["UPS"]["id"],
                    "outgoing_moves": [["create", moves]],
                }
                for ref, address in zip(batch, addresses, strict=True)
            ],
        )
        rpc.model("stock.shipment.out", "wait", ids)
    return time.perf_counter() - started


def _bare_receive(rpc, since) -> tuple[float, int]:
    """The same reads as Receive Shipments: done shipments written since a time, then
    their moves, 500 a page."""
    started = time.perf_counter()
    fields = ["write_date", "create_date", "reference", "warehouse", "shipping_reference", "outgoing_moves"]
    fields += ["root_packages", "carrier.party.name", "carrier.carrier_product.code"]
    shipments, offset = [], 0
    while True:
        page = rpc.search_read(
            "stock.shipment.out",
            [("state", "in", ["done"]), ("write_date", ">=", since)],
            fields,
            order=[["write_date", "ASC"], ["id", "ASC"]],
            limit=500,
            offset=offset,
        )
        shipments += page
        offset += 500
        if len(page) < 500:
            break
    move_ids = [m for s in shipments for m in s["outgoing_moves"]]
    for start in range(0, len(move_ids), 500):
        rpc.search_read(
            "stock.move", [("id", "in", move_ids[start : start + 500])], ["product.code", "quantity", "state"]
        )
    return time.perf_counter() - started, len(shipments)


def _ship_all(warehouse, rpc, references: list[str]) -> float:
    """The warehouse ships every shipment of these references, 100 at a time, each with
    its own tracking number."""
    started = time.perf_counter()
    ids = []
    for start in range(0, len(references), 500):
        chunk = references[start : start + 500]
        ids += [s["id"] for s in rpc.search_read("stock.shipment.out", [("reference", "in", chunk)], ["id"])]
    for start in range(0, len(ids), SHIP_BATCH):
        batch = ids[start : start + SHIP_BATCH]
        warehouse.ship(batch, tracking={i: f"1ZBENCH{i:08d}" for i in batch})
    return time.perf_counter() - started


def main() -> int:
    _setup()
    from channels.platforms import JobType
    from orders.models import SalesOrder, SalesOrderStatus
    from peers.tryton.peer import start_peer
    from peers.tryton.rpc import TrytonRpc, Warehouse

    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="bench-tryton-")
    peer = start_peer(workdir)
    print(f"Tryton {peer.url} up in {time.perf_counter() - started:.1f} s ({peer.timings})")
    try:
        _fresh_database()
        rpc = TrytonRpc(peer.url, peer.database, peer.user, peer.password)
        rpc.login()
        warehouse = Warehouse(rpc, peer.info)
        # Stock for both the connector's and the bare client's shipments.
        warehouse.add_stock("Main", {sku: 2 * ORDERS + 10 for sku in SKUS})
        # A cold Tryton answers its first creates slowly: warm it up for both sides alike.
        warm = [f"WARM-{n:03d}" for n in range(20)]
        _bare_send(rpc, peer.info, warm, party=peer.info["parties"]["customer"]["id"])
        _ship_all(warehouse, rpc, warm)
        account, channel = _seed_portal(peer)
        rss_before = _rss_mb()
        spent: dict = {}
        _timed_connector_methods(spent)

        counted = Counted()
        sent, send_s, send_peak = _run(channel, JobType.SEND_ORDERS, _counting_http(peer.url, counted))
        send_calls, send_wait = counted.calls, counted.seconds
        refs = [o.reference for o in SalesOrder.objects.filter(account=account)]
        assert sent.counts.get("sent") == ORDERS, sent.counts
        ship_s = _ship_all(warehouse, rpc, refs)

        counted = Counted()
        received, receive_s, receive_peak = _run(
            channel, JobType.RECEIVE_SHIPMENTS, _counting_http(peer.url, counted)
        )
        receive_calls, receive_wait = counted.calls, counted.seconds
        assert received.counts.get("received") == ORDERS, received.counts
        shipped = SalesOrder.objects.filter(account=account, status=SalesOrderStatus.SHIPPED).count()
        assert shipped == ORDERS, shipped
        rss_after = _rss_mb()

        bare_refs = [f"BARE-{n:05d}" for n in range(ORDERS)]
        calls_before = rpc.calls
        bare_send_s = _bare_send(rpc, peer.info, bare_refs)
        bare_send_calls = rpc.calls - calls_before
        # The bare client's cursor: just past the last shipment written so far.
        (last,) = rpc.search_read(
            "stock.shipment.out", [], ["write_date"], order=[["write_date", "DESC"]], limit=1
        )
        since = last["write_date"] + timedelta(microseconds=1)
        _ship_all(warehouse, rpc, bare_refs)
        calls_before = rpc.calls
        bare_receive_s, bare_read = _bare_receive(rpc, since)
        bare_receive_calls = rpc.calls - calls_before
        assert bare_read >= ORDERS, bare_read
    finally:
        peer.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(os.environ["OMS_VAR_DIR"], ignore_errors=True)

    def line(what, job_s, connector_s, calls, wait, bare_s, bare_calls, peak):
        ratio = connector_s / bare_s
        print(
            f"{what}: job {job_s:.1f} s (connector {connector_s:.1f} s, {calls} calls, {wait:.1f} s waiting "
            f"for Tryton; Python peak {peak:.0f} MB) | bare client {bare_s:.1f} s, {bare_calls} calls | "
            f"connector/bare {ratio:.2f} (target ≤ {TARGET})"
        )
        return ratio <= TARGET

    print(f"{ORDERS:,} orders × {len(SKUS)} lines; the warehouse shipped them in {ship_s:.1f} s")
    ok = line(
        "Send Orders",
        send_s,
        spent["send_orders"],
        send_calls,
        send_wait,
        bare_send_s,
        bare_send_calls,
        send_peak,
    )
    ok &= line(
        "Receive Shipments",
        receive_s,
        spent["receive_shipments"],
        receive_calls,
        receive_wait,
        bare_receive_s,
        bare_receive_calls,
        receive_peak,
    )
    print(f"peak RSS: {rss_before:.0f} MB before the jobs, {rss_after:.0f} MB after")
    print(f"Tryton start: {peer.timings}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

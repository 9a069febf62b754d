"""Benchmark of the Tryton connector against a real Tryton (peers/tryton): Send Orders of
1,000 orders (3 lines each), then Receive Shipments of the same 1,000 once the warehouse
shipped them, each job run whole as a user runs it (automations.jobs.runner.run_job),
beside a bare JSON-RPC client (peers/tryton/rpc.py) making the same creates and reads in
the same run.

Fair ground: Tryton slows down as its database grows (its `wait` button most), so each
side gets a Tryton of its own, both fresh copies of the peer's template, warmed up alike
(20 shipments sent and shipped), with the same stock; the sides take turns phase by
phase (the job's Send Orders, then the bare client's; both warehouses ship; the job's
Receive Shipments, then the bare client's).

The bare client makes the calls the connector makes, with the same values, batched the
same way, and nothing else: once, the products by code, the connector's party (created
the first time, as the connector does), the country and region of the addresses; then
per 100 orders a search of live shipments by reference, the addresses, the shipments
with their moves and carrier, and the `wait` button. Receiving, every done shipment (the
first run has no cursor) by (write_date, id), 100 a page, and each page's moves.
What it knows without asking (company, currency, warehouse zones, carriers) it takes from
the peer's seed description, where the connector reads them once per run.

Measured: the whole job run's time (the connector plus the portal's side: choosing and
marking orders sent, recording shipments with their lines, stock moves and order
statuses in PostgreSQL), the connector's own time inside it (its send_orders and
receive_shipment_pages calls), the bare client's time, calls to Tryton on each side, and
memory: the growth of the process's resident memory during each job (sampled every
20 ms; with BENCH_TRACEMALLOC=1 also the peak of Python allocations, which slows the
job). Target: each job at most 1.5 × the bare client's time (job/bare), memory flat (the
growth during a job does not follow the number of orders: BENCH_ORDERS=200,1000 runs
each size in a process of its own and compares them).

Measured here (2 cores, PostgreSQL; 1,000 and 200 each in a process of its own), with
Receive Shipments reading the next page while the portal records the current one:
- 1,000 orders: Send Orders job 23.6 s (connector 23.0 s in 51 calls, portal 0.6 s) vs
  bare 22.6 s in 46 calls, job/bare 1.04; shipped in 53.8 s; Receive Shipments job 3.6 s
  (connector 2.7 s in 25 calls, portal 0.9 s) vs bare 3.2 s in 22 calls, job/bare 1.10;
- 200 orders: Send Orders job 5.0 s vs bare 4.8 s, 1.05; Receive Shipments job 0.9 s vs
  bare 0.7 s, 1.23 (the connector's login, preferences and warehouse read weigh more);
- memory: RSS grew 0.1 / 1.2 MB during Send Orders and 1.1 / 1.1 MB during Receive
  Shipments at 200 / 1,000 orders, peak 108-110 MB: flat (a run holds 100 orders, or the
  page being recorded and the next one or two being read).
Before the pages were read ahead Receive Shipments was 1.46 at 1,000 (the portal's 1.1 s
after each page's read, not beside it). Before issue 15's batches the same machine gave a
job of 10 s for 200 shipments (50 ms each: a transaction, ~37 queries and 3 inventory
signals per shipment).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_tryton,
recreated), BENCH_ORDERS (1000; a comma-separated list runs each size in turn),
BENCH_TRACEMALLOC. Tryton: fresh copies of the peer's template on free ports (its
virtualenv and template are built first if missing).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script too: python bench/tryton.py
from bench.harness import RssPeak, django_setup, fresh_database  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_tryton")
SIZES = [int(n) for n in os.environ.get("BENCH_ORDERS", "1000").split(",") if n.strip()]
TRACE = os.environ.get("BENCH_TRACEMALLOC") == "1"
SKUS = ["TSHIRT-BLK-M", "MUG-12OZ", "CAP-NAVY"]
TARGET = 1.5
# Growth of memory during a job at the largest size within this of the smallest size's
# (a fraction of it, or MB, whichever is larger) counts as flat.
FLAT_FRACTION, FLAT_MB = 0.25, 2.0
SHIP_BATCH = 100
BATCH = 100  # the connector's (channels.connectors.tryton.BATCH)
PAGE = 500  # the connector's PAGE_SIZE
CHANGED_PAGE = 100  # the connector's CHANGED_PAGE_SIZE
WARM = 20
# The customer every benchmark order ships to (the portal's orders and the bare client's).
SHIP_TO = {"city": "Newark", "region": "NJ", "postal_code": "07102", "country": "US"}


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

    return CountingHttp(url, timeout=300)


def _timed_connector_methods(spent: dict):
    """The connector's own time inside the job: the methods the jobs call (a reader's
    pages count while the connector reads and parses each, not while the job writes)."""
    from channels.connectors.tryton import TrytonConnector

    original = TrytonConnector.send_orders

    def send_orders(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent["send_orders"] = spent.get("send_orders", 0.0) + time.perf_counter() - started

    pages = TrytonConnector.receive_shipment_pages

    def receive_shipment_pages(self, *args, **kwargs):
        reading = pages(self, *args, **kwargs)
        while True:
            started = time.perf_counter()
            try:
                page = next(reading)
            except StopIteration:
                return
            finally:
                spent["receive_shipments"] = (
                    spent.get("receive_shipments", 0.0) + time.perf_counter() - started
                )
            yield page

    TrytonConnector.send_orders = send_orders
    TrytonConnector.receive_shipment_pages = receive_shipment_pages


class Side:
    """A Tryton of its own, warmed up, with stock for the run."""

    def __init__(self, orders: int):
        from peers.tryton.peer import start_peer
        from peers.tryton.rpc import TrytonRpc, Warehouse

        self.workdir = tempfile.mkdtemp(prefix="bench-tryton-")
        started = time.perf_counter()
        self.peer = start_peer(self.workdir)
        self.started_in = time.perf_counter() - started
        self.rpc = TrytonRpc(self.peer.url, self.peer.database, self.peer.user, self.peer.password)
        self.rpc.login()
        self.warehouse = Warehouse(self.rpc, self.peer.info)
        self.warehouse.add_stock("Main", {sku: orders + WARM + 10 for sku in SKUS})
        # A cold Tryton answers its first creates slowly: warm it up, both sides alike.
        warm = [f"WARM-{n:03d}" for n in range(WARM)]
        BareClient(self.rpc, self.peer.info).send(warm, party=self.peer.info["parties"]["customer"]["id"])
        self.ship(warm)

    def ship(self, references: list[str]) -> float:
        """The warehouse ships every shipment of these references, SHIP_BATCH at a time,
        each with its own tracking number."""
        started = time.perf_counter()
        ids = []
        for start in range(0, len(references), 500):
            chunk = references[start : start + 500]
            found = self.rpc.search_read("stock.shipment.out", [("reference", "in", chunk)], ["id"])
            ids += [s["id"] for s in found]
        for start in range(0, len(ids), SHIP_BATCH):
            batch = ids[start : start + SHIP_BATCH]
            self.warehouse.ship(batch, tracking={i: f"1ZBENCH{i:08d}" for i in batch})
        return time.perf_counter() - started

    def stop(self):
        self.peer.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class BareClient:
    """The connector's calls and values with nothing else (see the module's docstring)."""

    def __init__(self, rpc, info: dict):
        self.rpc, self.info = rpc, info

    def send(self, references: list[str], party: int | None = None) -> float:
        rpc, info = self.rpc, self.info
        started = time.perf_counter()
        products = {
            p["code"]: p
            for p in rpc.search_read("product.product", [("code", "in", SKUS)], ["code", "default_uom"])
        }
        if party is None:  # the connector's own party, as it looks it up
            found = rpc.search_read("party.party", [("name", "=", "techOMS")], ["id"], limit=1)
            if not found:
                rpc.create("party.party", [{"name": "techOMS"}])
                found = rpc.search_read("party.party", [("name", "=", "techOMS")], ["id"], limit=1)
            party = found[0]["id"]
        country = SHIP_TO["country"]
        region = f"{country}-{SHIP_TO['region']}"
        countries = {
            r["code"]: r["id"]
            for r in rpc.search_read("country.country", [("code", "in", [country])], ["code"])
        }
        regions = {
            r["code"]: r["id"]
            for r in rpc.search_read("country.subdivision", [("code", "in", [region])], ["code"])
        }
        warehouse = info["warehouses"]["Main"]
        carrier = info["carriers"]["UPS"]["id"]
        for start in range(0, len(references), BATCH):
            batch = references[start : start + BATCH]
            rpc.search_read(
                "stock.shipment.out",
                [("reference", "in", batch), ("state", "!=", "cancelled")],
                ["reference", "state"],
                order=[("id", "ASC")],
            )
            addresses = rpc.create(
                "party.address",
                [self._address(party, start + n, countries, regions) for n in range(len(batch))],
            )
            moves = [
                {
                    "product": products[sku]["id"],
                    "unit": products[sku]["default_uom"],
                    "quantity": 1.0,
                    "from_location": warehouse["output"],
                    "to_location": info["locations"]["customer"],
                    "unit_price": Decimal(0),
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
                        "outgoing_moves": [["create", moves]],
                        "carrier": carrier,
                    }
                    for ref, address in zip(batch, addresses, strict=True)
                ],
            )
            rpc.model("stock.shipment.out", "wait", ids)
        return time.perf_counter() - started

    @staticmethod
    def _address(party: int, n: int, countries: dict, regions: dict) -> dict:
        country, region = SHIP_TO["country"], f"{SHIP_TO['country']}-{SHIP_TO['region']}"
        street = [f"{n} Bench Street"]
        address = {"party": party, "party_name": f"Customer {n}", "city": SHIP_TO["city"]}
        address["postal_code"] = SHIP_TO["postal_code"]
        if country in countries:
            address["country"] = countries[country]
        if region in regions:
            address["subdivision"] = regions[region]
        else:
            street.append(SHIP_TO["region"])
        if country not in countries:
            street.append(country)
        address["street_unstructured"] = "\n".join(street)
        return address

    def receive(self) -> tuple[float, int]:
        rpc = self.rpc
        started = time.perf_counter()
        fields = [
            "write_date",
            "create_date",
            "reference",
            "warehouse",
            "shipping_reference",
            "outgoing_moves",
        ]
        fields += ["root_packages", "carrier.party.name", "carrier.carrier_product.code"]
        read, after = 0, []
        while True:
            page = rpc.search_read(
                "stock.shipment.out",
                [("state", "in", ["done"]), *after],
                fields,
                order=[["write_date", "ASC"], ["id", "ASC"]],
                limit=CHANGED_PAGE,
            )
            move_ids = [m for s in page for m in s["outgoing_moves"]]
            for start in range(0, len(move_ids), PAGE):
                rpc.search_read(
                    "stock.move",
                    [("id", "in", move_ids[start : start + PAGE])],
                    ["product.code", "quantity", "state"],
                )
            read += len(page)
            if len(page) < CHANGED_PAGE:
                break
            last = page[-1]
            after = [
                [
                    "OR",
                    ("write_date", ">", last["write_date"]),
                    [("write_date", "=", last["write_date"]), ("id", ">", last["id"])],
                ]
            ]
        return time.perf_counter() - started, read


def _seed_portal(peer, orders: int):
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
        adjust_inventory(products[sku.upper()], warehouse, 10 * orders, context)
    channel = services.create_channel(
        None, account, kind="fulfillment", name="Tryton", platform="tryton", credentials=peer.credentials
    )
    services.add_mapping(None, channel, "MAIN", warehouse.pk)
    for n in range(orders):
        store_sales_order(
            account,
            [{"sku": sku, "quantity": 1, "unit_price": Decimal("9.90")} for sku in SKUS],
            products,
            source=OrderSource.API,
            number=f"B-{n:05d}",
            status=SalesOrderStatus.ALLOCATED,
            warehouse=warehouse,
            ordered_at=_now(),
            customer_name=f"Customer {n}",
            ship_address1=f"{n} Bench Street",
            ship_city=SHIP_TO["city"],
            ship_region=SHIP_TO["region"],
            ship_postal_code=SHIP_TO["postal_code"],
            ship_country=SHIP_TO["country"],
            carrier_code="UPS",
            service_code="03",
        )
    return account, channel


def _now():
    from django.utils import timezone

    return timezone.now()


def _run_job(channel, job_type, http) -> dict:
    from automations.jobs.runner import run_job
    from automations.models import JobRun, Trigger

    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    if TRACE:
        tracemalloc.start()
    with RssPeak() as rss:
        started = time.perf_counter()
        finished = run_job(job_run, http=http)
        seconds = time.perf_counter() - started
    result = {"seconds": seconds, "rss_growth": rss.growth, "rss_peak": rss.peak, "counts": finished.counts}
    if TRACE:
        result["python_peak"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result


def measure(orders: int) -> dict:
    """One run at `orders` orders: the figures of both jobs and of the bare client."""
    # No worker here: the jobs run in this process, and whatever they queue stays in a
    # broker folder of the benchmark's own.
    os.environ.pop("REDIS_URL", None)
    django_setup(DB_URL, OMS_VAR_DIR=tempfile.mkdtemp(prefix="bench-tryton-var-"))
    from channels.platforms import JobType
    from orders.models import SalesOrder, SalesOrderStatus

    job_side = bare_side = None
    try:
        job_side, bare_side = Side(orders), Side(orders)
        fresh_database(DB_URL)
        account, channel = _seed_portal(job_side.peer, orders)
        spent: dict = {}
        _timed_connector_methods(spent)
        bare = BareClient(bare_side.rpc, bare_side.peer.info)
        figures = {"orders": orders, "tryton_start": [job_side.started_in, bare_side.started_in]}

        counted = Counted()
        send = _run_job(channel, JobType.SEND_ORDERS, _counting_http(job_side.peer.url, counted))
        assert send["counts"].get("sent") == orders, send["counts"]
        send.update(connector=spent["send_orders"], calls=counted.calls, waiting=counted.seconds)
        calls = bare_side.rpc.calls
        send.update(
            bare=bare.send([f"BARE-{n:05d}" for n in range(orders)]), bare_calls=bare_side.rpc.calls - calls
        )
        figures["send"] = send

        refs = [o.reference for o in SalesOrder.objects.filter(account=account)]
        figures["shipped_in"] = job_side.ship(refs)
        bare_side.ship([f"BARE-{n:05d}" for n in range(orders)])

        counted = Counted()
        receive = _run_job(channel, JobType.RECEIVE_SHIPMENTS, _counting_http(job_side.peer.url, counted))
        assert receive["counts"].get("received") == orders, receive["counts"]
        shipped = SalesOrder.objects.filter(account=account, status=SalesOrderStatus.SHIPPED).count()
        assert shipped == orders, shipped
        receive.update(connector=spent["receive_shipments"], calls=counted.calls, waiting=counted.seconds)
        calls = bare_side.rpc.calls
        bare_seconds, bare_read = bare.receive()
        assert bare_read == orders + WARM, bare_read
        receive.update(bare=bare_seconds, bare_calls=bare_side.rpc.calls - calls)
        figures["receive"] = receive
    finally:
        for side in (job_side, bare_side):
            if side is not None:
                side.stop()
        shutil.rmtree(os.environ["OMS_VAR_DIR"], ignore_errors=True)
    return figures


def report(figures: dict) -> bool:
    orders = figures["orders"]
    print(
        f"{orders:,} orders × {len(SKUS)} lines; the warehouse shipped them in {figures['shipped_in']:.1f} s"
    )
    ok = True
    for key, label in (("send", "Send Orders"), ("receive", "Receive Shipments")):
        f = figures[key]
        ratio = f["seconds"] / f["bare"]
        ok &= ratio <= TARGET
        python = f" Python peak {f['python_peak']:.1f} MB;" if "python_peak" in f else ""
        print(
            f"  {label}: job {f['seconds']:.1f} s (connector {f['connector']:.1f} s, {f['calls']} calls, "
            f"{f['waiting']:.1f} s waiting for Tryton; portal {f['seconds'] - f['connector']:.1f} s) | "
            f"bare client {f['bare']:.1f} s, {f['bare_calls']} calls | job/bare {ratio:.2f} "
            f"(target ≤ {TARGET}), connector/bare {f['connector'] / f['bare']:.2f} | memory:{python} "
            f"RSS +{f['rss_growth']:.1f} MB during the job (peak {f['rss_peak']:.0f} MB)"
        )
    return ok


def flat(runs: list[dict]) -> bool:
    """Memory growth during each job at the largest size against the smallest."""
    small, large = runs[0], runs[-1]
    ok = True
    for key, label in (("send", "Send Orders"), ("receive", "Receive Shipments")):
        measure_key = "python_peak" if TRACE else "rss_growth"
        a, b = small[key][measure_key], large[key][measure_key]
        allowed = a + max(FLAT_FRACTION * a, FLAT_MB)
        ok &= b <= allowed
        what = "Python peak" if TRACE else "RSS growth"
        print(
            f"  {label} {what}: {a:.1f} MB at {small['orders']:,} orders, {b:.1f} MB at "
            f"{large['orders']:,} ({'flat' if b <= allowed else 'NOT flat'}: ≤ {allowed:.1f} MB)"
        )
    return ok


def main() -> int:
    if len(SIZES) == 1:
        figures = measure(SIZES[0])
        if os.environ.get("BENCH_RESULT"):
            Path(os.environ["BENCH_RESULT"]).write_text(json.dumps(figures))
        ok = report(figures)
        print("target met" if ok else "target NOT met")
        return 0 if ok else 1
    # Each size in a process of its own: one size's memory is not another's.
    runs = []
    for orders in sorted(SIZES):
        with tempfile.NamedTemporaryFile(suffix=".json") as result:
            env = {**os.environ, "BENCH_ORDERS": str(orders), "BENCH_RESULT": result.name}
            subprocess.run([sys.executable, __file__], env=env, check=False)
            runs.append(json.loads(Path(result.name).read_text()))
    print("Summary")
    ok = True
    for figures in runs:
        ok &= report(figures)
    ok_flat = flat(runs)
    print(f"time: {'target met' if ok else 'target NOT met'}; memory: {'flat' if ok_flat else 'NOT flat'}")
    return 0 if ok and ok_flat else 1


if __name__ == "__main__":
    sys.exit(main())

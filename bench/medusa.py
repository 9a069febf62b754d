"""Benchmark of the Medusa connector against a real Medusa 2.21.2, started by
tests/medusa/peer.py from a copy of its template database (needs node and PostgreSQL).

1. Import Orders: BENCH_ORDERS (5,000) orders of two lines each are seeded straight into
   Medusa's order module (bench/medusa_seed/seed-orders.ts; through the admin API an
   order takes seconds). Then, in the same process: a bare client pages through the same
   orders (same fields, same page size, offset paging, nothing else), Import Orders runs
   from an empty portal through run_job, the connector reads them alone holding them all
   (nothing stored), and the bare client pages again. Printed: the times and their ratio
   to the bare paging (target at most 1.5 for Import Orders), the peak RSS of each phase,
   the Python allocations at each quarter of a second Import Orders of every order (into
   a second channel, traced) beside what holding the whole read takes (flat: the last
   quarter at most 2 MB above the first), and a second Import Orders run: orders imported
   (target 0) and calls made (target at most 2).
2. Export Inventory of BENCH_SKUS (2,000) SKUs across 2 stock locations (inventory items
   seeded by bench/medusa_seed/seed-inventory.ts): the calls and time of the first export
   (levels created), of a second with every quantity changed (levels updated) and of a
   third with nothing changed, beside one call per SKU per location (measured on
   BENCH_NAIVE_SAMPLE levels and extrapolated).

Measured here (2 cores, the other session's work running beside it, 2026-12-04), 5,000
orders, Import Orders reading page N+1 while it stores page N, each page in two INSERTs:
seeding 26 s; bare paging 9.5 s and 8.1 s (mean 8.8 s); Import Orders 8.5 s = 0.97x
(target met; before the pages: 18.4 s = 1.84x on the same machine, 157.7 s = 4.78x on a
busy one); the connector's read alone holding every order 8.7 s = 0.99x; peak RSS: bare
paging 112 MB, Import Orders 114 MB (+2.4 MB over the process before it), the read holding
every order 120 MB; Python allocations during Import Orders 3.9, 4.1, 4.3, 4.4 MB at its
quarters (peak 4.4 MB) beside 8.3 MB to hold the whole read: flat; second run 0 imported,
101 known again (the 1 s overlap), 2 calls, 0.3 s. Export Inventory of 4,000 levels: 31
calls, 3.5 s creating them; 30 calls, 5.7 s updating every one; 22 calls, 1.6 s when
nothing changed; one call per level would be 4,000 calls, ~255 s (64 ms each).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_medusa,
recreated; Medusa's copy goes on the same server), BENCH_ORDERS, BENCH_SKUS,
BENCH_NAIVE_SAMPLE (100).
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script too: python bench/medusa.py
from bench.harness import RssPeak, django_setup, fresh_database, rss_mb  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_medusa")
ORDERS = int(os.environ.get("BENCH_ORDERS", "5000"))
SKUS = int(os.environ.get("BENCH_SKUS", "2000"))
NAIVE_SAMPLE = int(os.environ.get("BENCH_NAIVE_SAMPLE", "100"))
SEEDS = ROOT / "bench" / "medusa_seed"
TARGET_RATIO = 1.5
TARGET_SECOND_RUN_CALLS = 2


class CountingClient:
    """The connector's own HTTP client, counting its calls."""

    def __init__(self, client):
        self.client, self.base_url, self.calls = client, client.base_url, 0

    def request(self, *args, **kwargs):
        self.calls += 1
        return self.client.request(*args, **kwargs)


def _seed(peer_module, medusa, script: str, **env) -> float:
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(peer_module.MEDUSA), "exec", str(SEEDS / script)],
        cwd=peer_module.PEER_DIR,
        env=peer_module._node_env(
            DATABASE_URL=peer_module._database_url(medusa.server, medusa.database),
            # The script lives outside the Medusa project: its imports resolve there.
            NODE_PATH=str(peer_module.PEER_DIR / "node_modules"),
            **env,
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def _bare_paging(medusa) -> tuple[float, int, float]:
    """Seconds, rows and peak RSS of paging through every order as plainly as possible."""
    from channels.connectors import medusa as connector
    from channels.connectors.http import JsonHttpClient

    client = JsonHttpClient(medusa.base_url, timeout=120, basic_auth=(medusa.api_key, ""))
    rows, started = 0, time.monotonic()
    with RssPeak() as rss:
        while True:
            page = client.get(
                "/admin/orders",
                {
                    "order": "updated_at",
                    "fields": connector.ORDER_FIELDS,
                    "limit": connector.PAGE_SIZE,
                    "offset": rows,
                },
            )["orders"]
            rows += len(page)
            if len(page) < connector.PAGE_SIZE:
                break
    return time.monotonic() - started, rows, rss.peak


def _portal(medusa):
    from accounts.models import Account, Organization, Warehouse
    from catalog.models import Product
    from channels import services

    account = Account.objects.create(
        organization=Organization.objects.create(name="Bench"), name="Bench", code="BENCH"
    )
    warehouses = [Warehouse.objects.create(account=account, name=f"DC {n}", code=f"WH{n}") for n in (1, 2)]
    channel = services.create_channel(
        None,
        account,
        kind="sales",
        name="Medusa",
        platform="medusa",
        credentials={"base_url": medusa.base_url, "api_key": medusa.api_key},
    )
    for location, warehouse in zip(sorted(medusa.stock_locations.values()), warehouses, strict=True):
        services.add_mapping(None, channel, location, warehouse.pk)
    Product.objects.bulk_create(Product(account=account, sku=sku, name=sku) for sku in medusa.skus)
    return account, warehouses, channel


def _run(channel, job_type):
    from automations.jobs.runner import run_job
    from automations.models import JobRun, Trigger
    from channels.connectors import connector_for

    http = CountingClient(connector_for(channel).http)
    job_run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL
    )
    started = time.monotonic()
    with RssPeak() as rss:
        done = run_job(job_run, http=http)
    return done, time.monotonic() - started, http.calls, rss.peak


def bench_orders(peer_module, medusa, channel) -> bool:
    from channels.connectors import connector_for
    from channels.platforms import JobType
    from orders.models import SalesOrder

    print(f"seeding {ORDERS} orders ({2 * ORDERS} lines) into Medusa ...", flush=True)
    seeded = _seed(peer_module, medusa, "seed-orders.ts", SEED_ORDERS=str(ORDERS))
    print(f"  seeded in {seeded:.0f} s")
    bare_before, rows, bare_rss = _bare_paging(medusa)
    # Import Orders before the connector's read alone: RSS never shrinks, so the phase
    # that holds the whole read must come after the one whose peak is measured.
    rss_before = rss_mb()
    first, import_time, calls, import_rss = _run(channel, JobType.IMPORT_ORDERS)
    # The connector's read alone, every order held (what Import Orders asks of Medusa,
    # nothing stored).
    started = time.monotonic()
    with RssPeak() as read_rss:
        read = connector_for(channel).import_orders()
    read_time = time.monotonic() - started
    bare_after, _, _ = _bare_paging(medusa)
    bare = (bare_before + bare_after) / 2
    imported = SalesOrder.objects.filter(channel=channel).count()
    print(f"bare client: {rows} orders, {bare_before:.1f} s and {bare_after:.1f} s (mean {bare:.1f} s)")
    print(
        f"Import Orders: {first.status}, {first.counts.get('imported', 0)} imported ({imported} stored), "
        f"{calls} calls, {import_time:.1f} s = {import_time / bare:.2f}x the bare paging "
        f"(target <= {TARGET_RATIO})"
    )
    print(
        f"the connector's read alone, every order held: {len(read.items)} orders in {read_time:.1f} s "
        f"= {read_time / bare:.2f}x the bare paging"
    )
    print(
        f"peak RSS: bare paging {bare_rss:.0f} MB; Import Orders {import_rss:.0f} MB "
        f"(+{import_rss - rss_before:.1f} MB over the {rss_before:.0f} MB before it); "
        f"connector read holding every order {read_rss.peak:.0f} MB"
    )
    del read
    flat = _memory_over_the_run(channel)
    second, second_time, second_calls, _ = _run(channel, JobType.IMPORT_ORDERS)
    print(
        f"second run: {second.counts.get('imported', 0)} imported, "
        f"{second.counts.get('already_imported', 0)} already imported, {second_calls} calls "
        f"(target <= {TARGET_SECOND_RUN_CALLS}), {second_time:.1f} s"
    )
    return (
        imported >= ORDERS
        and import_time / bare <= TARGET_RATIO
        and flat
        and second.counts.get("imported", 0) == 0
        and second_calls <= TARGET_SECOND_RUN_CALLS
    )


def _memory_over_the_run(channel) -> bool:
    """Import Orders of every order again, into a second channel of the same store, with
    Python's allocations traced: what the run holds at each quarter of it, beside what
    holding the whole read takes. Flat: the last quarter holds at most a page's worth
    (2 MB) more than the first."""
    import tracemalloc

    from channels import services
    from channels.connectors import connector_for
    from channels.platforms import JobType

    twin = services.create_channel(
        None,
        channel.account,
        kind="sales",
        name="Medusa (memory)",
        platform="medusa",
        credentials=connector_for(channel).credentials,
    )
    samples: list[float] = []
    running = True

    def sample():
        while running:
            samples.append(tracemalloc.get_traced_memory()[0] / 2**20)
            time.sleep(0.05)

    tracemalloc.start()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    done, _, _, _ = _run(twin, JobType.IMPORT_ORDERS)
    running = False
    sampler.join()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.reset_peak()
    held = connector_for(twin).import_orders()
    whole = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    quarters = [max(samples[len(samples) * q // 4 : len(samples) * (q + 1) // 4] or [0]) for q in range(4)]
    flat = quarters[3] - quarters[0] <= 2.0
    print(
        f"memory (Python allocations, traced; {done.counts.get('imported', 0)} orders into a second "
        f"channel): highest in each quarter of Import Orders "
        f"{', '.join(f'{q:.1f}' for q in quarters)} MB, peak {peak:.1f} MB; holding the whole "
        f"read of {len(held.items)} orders: {whole:.1f} MB -> {'flat' if flat else 'NOT flat'}"
    )
    return flat


def bench_inventory(peer_module, medusa, account, warehouses, channel) -> None:
    from catalog.models import InventoryLevel, Product
    from channels.connectors import connector_for
    from channels.platforms import JobType

    print(f"seeding {SKUS} inventory items into Medusa ...", flush=True)
    print(f"  seeded in {_seed(peer_module, medusa, 'seed-inventory.ts', SEED_SKUS=str(SKUS)):.0f} s")
    skus = [f"BENCH-{n:05d}" for n in range(SKUS)]
    products = Product.objects.bulk_create(Product(account=account, sku=sku, name=sku) for sku in skus)
    InventoryLevel.objects.bulk_create(
        InventoryLevel(product=p, warehouse=w, on_hand=10 + n % 7)
        for n, p in enumerate(products)
        for w in warehouses
    )
    for label in ("levels created", "every level changed", "nothing changed"):
        done, seconds, calls, _ = _run(channel, JobType.EXPORT_INVENTORY)
        counts = {
            k: v for k, v in done.counts.items() if k in ("created", "updated", "unchanged", "rejected")
        }
        print(f"Export Inventory, {label}: {done.status} {counts}, {calls} calls, {seconds:.1f} s")
        InventoryLevel.objects.filter(product__in=products).update(on_hand=20)

    # One call per SKU per location, as a connector without the batch route would make.
    connector = connector_for(channel)
    items = connector._inventory_items(skus[:NAIVE_SAMPLE])
    locations = sorted(medusa.stock_locations.values())
    started = time.monotonic()
    for sku in skus[:NAIVE_SAMPLE]:
        for location in locations:
            connector.http.post(
                f"/admin/inventory-items/{items[sku]['id']}/location-levels/{location}",
                {"stocked_quantity": 30},
            )
    each = (time.monotonic() - started) / (NAIVE_SAMPLE * len(locations))
    naive = SKUS * len(locations)
    print(
        f"one call per SKU per location: {naive} calls, ~{naive * each:.0f} s "
        f"({each * 1000:.0f} ms each, measured on {NAIVE_SAMPLE * len(locations)})"
    )


def main() -> int:
    django_setup(
        DB_URL,
        # A busy shared machine: Medusa's batch routes may take longer than the default.
        CHANNEL_CONNECTOR_TIMEOUT=os.environ.get("CHANNEL_CONNECTOR_TIMEOUT", "60"),
    )
    from tests.medusa import peer as peer_module

    reason = peer_module.unavailable()
    if reason:
        print(f"skipped: {reason}")
        return 0
    fresh_database(DB_URL)
    folder = Path(tempfile.mkdtemp(prefix="bench-medusa-"))
    medusa = peer_module.start(DB_URL.rsplit("/", 1)[0] + "/postgres", folder)
    try:
        account, warehouses, channel = _portal(medusa)
        met = bench_orders(peer_module, medusa, channel)
        bench_inventory(peer_module, medusa, account, warehouses, channel)
    finally:
        medusa.stop()
    print("Import Orders targets met" if met else "Import Orders targets NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

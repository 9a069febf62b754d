"""Benchmark of PII retention on PostgreSQL: our batched redaction of BENCH_PII_ORDERS
sales orders (1,000,000, about 92 % past retention) beside two baselines on the same
rows: one bare SQL UPDATE (the floor) and a per-order save() loop over BENCH_PII_SAMPLE
orders (20,000), extrapolated.

While each redaction runs, a second connection measures what the portal and the
dispatcher feel: the order list query, the dispatcher's due-rows claim (FOR UPDATE SKIP
LOCKED), and a person saving an order that is about to be redacted (a row lock wait, the
longest any lock of the redaction is held against them).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_pii,
recreated), BENCH_PII_ORDERS, BENCH_PII_SAMPLE.
"""

import os
import random
import resource
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_pii")
ORDERS = int(os.environ.get("BENCH_PII_ORDERS", "1000000"))
SAMPLE = int(os.environ.get("BENCH_PII_SAMPLE", "20000"))
RETENTION_DAYS = 30
PROBE_INTERVAL = 0.05
TABLE = "orders_salesorder"


def _create_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup() -> None:
    os.environ.update(
        DATABASE_URL=DB_URL,
        DJANGO_SETTINGS_MODULE="oms.settings",
        LOG_LEVEL="WARNING",
        # DEBUG off as in production (then the settings want a real key).
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-" + "x" * 50,
    )
    sys.path.insert(0, str(ROOT))
    _create_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _seed():
    """One account (30 days' retention) with ORDERS orders over the last 400 days, and a
    due schedule row for the dispatcher probe; written by the database (generate_series)."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Account, Organization
    from automations.models import ScheduleEntry, ScheduleKind

    org = Organization.objects.create(name="Bench")
    account = Account.objects.create(
        organization=org, name="Bench", code="BENCH", timezone="America/New_York", pii_retention_days=30
    )
    ScheduleEntry.objects.create(
        key="bench:probe",
        kind=ScheduleKind.SYSTEM,
        account=account,
        next_run_at=timezone.now() + timedelta(days=1),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TABLE} (
                account_id, source, external_id, number, status, hold_reason, ordered_at, currency,
                total, customer_name, customer_email, customer_phone, ship_address1, ship_address2,
                ship_city, ship_region, ship_postal_code, ship_country, fulfillment_external_id,
                carrier_code, service_code, validation_warnings, created_at, updated_at)
            SELECT %s, 'api', '', 'B-' || g, 'shipped', '', now() - (g %% 400) * interval '1 day'
                   - (g %% 86400) * interval '1 second', 'USD', 19.99, 'Customer ' || g,
                   'customer' || g || '@example.com', '+1 555 ' || lpad((g %% 10000)::text, 4, '0'),
                   g || ' Main Street', 'Apt ' || (g %% 50), 'Springfield', 'IL',
                   lpad((g %% 99999)::text, 5, '0'), 'US', '', 'UPS', '03', '[]', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [account.pk, ORDERS],
        )
    return account


def _reset(account) -> None:
    """Un-redact (untimed) and vacuum, so every measured run starts from the same table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {TABLE} SET customer_name = 'Customer ' || id,
                customer_email = 'c' || id || '@example.com', customer_phone = '+1 555 0100',
                ship_address1 = id || ' Main Street', ship_address2 = '',
                ship_city = 'Springfield', ship_region = 'IL', ship_postal_code = '62701',
                pii_redacted_at = NULL WHERE account_id = %s""",
            [account.pk],
        )
        cursor.execute(f"VACUUM ANALYZE {TABLE}")


class Probe(threading.Thread):
    """From its own connection, every PROBE_INTERVAL: the portal's order list, the
    dispatcher's claim, and a save of an order that is still waiting for redaction."""

    def __init__(self, account_id: int, candidates: list[int]):
        super().__init__(daemon=True)
        self.account_id, self.candidates = account_id, candidates
        self.stop = threading.Event()
        self.latency = {"order list": [], "dispatcher claim": [], "order save (row lock)": []}
        self.peak_rss = _rss_mb()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(DB_URL, autocommit=True) as conn:
            while not self.stop.is_set():
                self._time("order list", conn, self._order_list)
                self._time("dispatcher claim", conn, self._claim)
                self._time("order save (row lock)", conn, self._save)
                self.peak_rss = max(self.peak_rss, _rss_mb())
                time.sleep(PROBE_INTERVAL)

    def _time(self, name, conn, probe) -> None:
        started = time.perf_counter()
        probe(conn)
        self.latency[name].append(time.perf_counter() - started)

    def _order_list(self, conn) -> None:
        conn.execute(
            f"SELECT id, number, status, customer_name FROM {TABLE} WHERE account_id = %s "
            "ORDER BY ordered_at DESC, id DESC LIMIT 100",
            [self.account_id],
        ).fetchall()

    def _claim(self, conn) -> None:
        with conn.transaction():
            conn.execute(
                "SELECT id FROM automations_scheduleentry WHERE enabled AND next_run_at <= now() "
                "ORDER BY next_run_at LIMIT 1000 FOR UPDATE SKIP LOCKED"
            ).fetchall()

    def _save(self, conn) -> None:
        conn.execute(
            f"UPDATE {TABLE} SET hold_reason = hold_reason WHERE id = %s", [random.choice(self.candidates)]
        )

    def report(self) -> str:
        lines = []
        for name, values in self.latency.items():
            values = sorted(values) or [0.0]
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            lines.append(
                f"    {name}: {len(values)} probes, median {statistics.median(values) * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms, max {values[-1] * 1000:.0f} ms"
            )
        return "\n".join(lines)


def _measured(account, work):
    """Run `work` with a probe beside it; (seconds, result, probe)."""
    from django.db import connection

    # ~2,000 orders spread over the table, picked by the database (no million ids in Python).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {TABLE} WHERE account_id = %s AND id %% %s = 0",
            [account.pk, max(1, ORDERS // 2000)],
        )
        candidates = [row[0] for row in cursor.fetchall()]
    probe = Probe(account.pk, candidates)
    probe.start()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    probe.stop.set()
    probe.join()
    return seconds, result, probe


def main() -> None:
    _setup()
    from django.db import connection
    from django.utils import timezone

    from orders.models import PII_FIELDS, SalesOrder
    from orders.retention import BATCH_SIZE, REDACTED, cutoff, redact_past_retention

    started = time.perf_counter()
    account = _seed()
    print(f"seeded {ORDERS:,} sales orders in {time.perf_counter() - started:.1f} s")
    now = timezone.now()
    limit = cutoff(now, account.tzinfo, RETENTION_DAYS)
    eligible = SalesOrder.objects.filter(account=account, ordered_at__lt=limit).count()
    print(f"past retention ({RETENTION_DAYS} days, before {limit:%Y-%m-%d %H:%M %Z}): {eligible:,}")

    _reset(account)
    rss_before = _rss_mb()
    ours_s, outcome, ours_probe = _measured(account, lambda: redact_past_retention(account, now))
    redacted = sum(n for _, _, n in outcome)
    assert redacted == eligible, (redacted, eligible)
    batches = -(-redacted // BATCH_SIZE)
    print(
        f"ours (batched UPDATE … WHERE id IN (… LIMIT {BATCH_SIZE:,})): {redacted:,} orders in {ours_s:.1f} s"
    )
    print(f"  {batches} batches, {ours_s / batches * 1000:.0f} ms per batch on average")
    print(f"  process RSS: {rss_before:.0f} MB before, {ours_probe.peak_rss:.0f} MB peak during the run")
    print(ours_probe.report())

    _reset(account)
    sets = ", ".join(f"{f} = %s" for f in PII_FIELDS)

    def bare_update():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {TABLE} SET {sets}, pii_redacted_at = %s "
                "WHERE account_id = %s AND pii_redacted_at IS NULL AND ordered_at < %s",
                [*[REDACTED] * len(PII_FIELDS), now, account.pk, limit],
            )
            return cursor.rowcount

    bare_s, bare_rows, bare_probe = _measured(account, bare_update)
    assert bare_rows == eligible, (bare_rows, eligible)
    print(f"baseline bare UPDATE (one statement): {bare_rows:,} orders in {bare_s:.1f} s")
    print(bare_probe.report())

    _reset(account)

    def save_loop():
        orders = SalesOrder.objects.filter(
            account=account, pii_redacted_at__isnull=True, ordered_at__lt=limit
        ).order_by()[:SAMPLE]
        for order in orders.iterator(chunk_size=2000):
            for field in PII_FIELDS:
                setattr(order, field, REDACTED)
            order.pii_redacted_at = now
            order.save()
        return SAMPLE

    save_s, _, _ = _measured(account, save_loop)
    save_total = save_s * eligible / SAMPLE
    print(f"baseline save() loop: {SAMPLE:,} orders in {save_s:.1f} s → {save_total:.0f} s for {eligible:,}")

    print(
        f"ours / bare UPDATE: {ours_s / bare_s:.2f}× (target ≤ 2×); "
        f"save() loop / ours: {save_total / ours_s:.0f}× (target ≥ 20×)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process over everything (incl. the save() loop): {peak:.0f} MB")
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

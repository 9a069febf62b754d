"""Benchmark of the automations engine's scheduling on PostgreSQL + Redis.

Measures our dispatcher only (the stock DatabaseScheduler and RedBeat baselines are not
implemented yet): full sync_schedules of BENCH_JOBS jobs (100,000: beta channels with 5
job types each), an idle dispatcher tick (database time), an edit dispatched after its
commit, a burst of BENCH_BURST due jobs published to Redis, and the process's peak memory.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_scheduler,
created if missing), BENCH_REDIS_URL (default redis://127.0.0.1:6379/9), BENCH_JOBS, BENCH_BURST.
"""

import os
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_scheduler")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
JOBS = int(os.environ.get("BENCH_JOBS", "100000"))
BURST = int(os.environ.get("BENCH_BURST", "10000"))
JOB_TYPES = ("import_orders", "export_inventory", "export_tracking", "import_products", "export_products")
CHANNELS_PER_ACCOUNT = 100


def _create_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup():
    os.environ.update(
        DATABASE_URL=DB_URL, REDIS_URL=REDIS_URL, DJANGO_SETTINGS_MODULE="oms.settings", LOG_LEVEL="WARNING"
    )
    sys.path.insert(0, str(ROOT))
    _create_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed(now):
    from accounts.models import Account, Organization
    from automations.models import ChannelJobSetting
    from channels.models import Channel

    channels_needed = JOBS // len(JOB_TYPES)
    org = Organization.objects.create(name="Bench")
    accounts = Account.objects.bulk_create(
        Account(organization=org, name=f"A{n}", code=f"B{n:05d}", timezone="America/New_York")
        for n in range(max(1, channels_needed // CHANNELS_PER_ACCOUNT))
    )
    channels = Channel.objects.bulk_create(
        (
            Channel(
                account=accounts[n % len(accounts)],
                name=f"C{n}",
                kind="sales",
                platform="sandbox_marketplace_beta",
                webhook_token=f"bench-{n}",
            )
            for n in range(channels_needed)
        ),
        batch_size=5000,
    )
    periods = (5, 15, 60, 240, 1440)
    ChannelJobSetting.objects.bulk_create(
        (
            ChannelJobSetting(channel=c, job_type=jt, period_minutes=periods[i % 5], enabled=True)
            for i, c in enumerate(channels)
            for jt in JOB_TYPES
            if jt != "import_products"  # not the master channel: it would be disabled
        ),
        batch_size=5000,
    )
    return accounts, channels


def _db_time(fn):
    from django.db import connection

    spent = []

    def timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - start)

    with connection.execute_wrapper(timer):
        fn()
    return sum(spent)


def main() -> None:
    _setup()
    from django.db import transaction
    from django.utils import timezone

    from automations.dispatcher import dispatch_due, publish_runs
    from automations.models import ScheduleEntry
    from automations.reconciler import reconcile_all

    now = timezone.now()
    _seed(now)
    started = time.perf_counter()
    reconcile_all(now=now)
    sync_seconds = time.perf_counter() - started
    rows = ScheduleEntry.objects.filter(enabled=True).count()
    print(f"enabled schedule rows: {rows:,}")
    print(f"full sync_schedules: {sync_seconds:.1f} s (target ≤ 15 s)")

    # Idle: nothing due before the earliest next_run_at.
    earliest = ScheduleEntry.objects.filter(enabled=True).order_by("next_run_at").first().next_run_at
    idle = [_db_time(lambda: dispatch_due(earliest - timedelta(seconds=1))) for _ in range(50)]
    print(f"idle tick database time: median {statistics.median(idle) * 1000:.2f} ms (target ≤ 1 ms)")

    # An edit that makes one job due now: commit, then the next tick publishes it.
    row = ScheduleEntry.objects.filter(enabled=True, kind="beta").last()
    with transaction.atomic():
        ScheduleEntry.objects.filter(pk=row.pk).update(next_run_at=now - timedelta(seconds=1))
    committed = time.perf_counter()
    sent = []
    dispatch_due(timezone.now(), publish=lambda m: (publish_runs(m), sent.append(time.perf_counter())))
    print(f"edit → in broker: {(sent[0] - committed) * 1000:.0f} ms after commit + ≤ 1 s beat interval")

    # A burst: BURST rows due at once, published to Redis.
    due = list(ScheduleEntry.objects.filter(enabled=True, kind="beta").values_list("pk", flat=True)[:BURST])
    ScheduleEntry.objects.filter(pk__in=due).update(next_run_at=now - timedelta(seconds=1))
    started = time.perf_counter()
    count = dispatch_due(timezone.now())
    burst_seconds = time.perf_counter() - started
    print(
        f"burst: {count:,} runs in {burst_seconds:.1f} s = {count / burst_seconds:,.0f}/s (target ≥ 5,000/s)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (seed + sync + dispatch): {peak:.0f} MB (target ≤ 80 MB)")
    print("baselines (stock DatabaseScheduler, RedBeat) and the 1,000,000-job repeat: not implemented")


if __name__ == "__main__":
    main()

"""Benchmark of the automations engine's scheduling on PostgreSQL + Redis, beside two
baselines holding the same schedules: stock django-celery-beat `DatabaseScheduler` (one
`PeriodicTask` with an `IntervalSchedule` each) and RedBeat (one entry each; the
bench-only dependency in bench/requirements.txt).

Every scheduler runs in its own subprocess (`python -m bench.scheduler child <kind>`), so
its peak RSS is the scheduling process alone, not the seeding. Ours is driven as beat
drives it in production: `dispatch_due()` at the beat entry's interval (0.5 s). The baselines run beat's own
loop (`interval = scheduler.tick(); sleep(interval)`). The parent makes the edits and
bursts and watches the `jobs` list in Redis to see when messages reach the broker.

All jobs are daily (the idle figures need nothing due while measuring): ours in a fixed
UTC offset zone where local midnight is ~12 h away, the baselines with last_run_at = now.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/bench_sched,
recreated), BENCH_REDIS_URL (default redis://127.0.0.1:6379/7, flushed), BENCH_JOBS
(100,000), BENCH_BURST (10,000), BENCH_BIG (1,000,000: our repeat; 0 skips it).
"""

import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_sched")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
JOBS = int(os.environ.get("BENCH_JOBS", "100000"))
BURST = int(os.environ.get("BENCH_BURST", "10000"))
BIG = int(os.environ.get("BENCH_BIG", "1000000"))
# Beta marketplace job types a non-master channel runs (Import Products is the master's).
JOB_TYPES = ("import_orders", "export_inventory", "export_tracking", "export_products")
CHANNELS_PER_ACCOUNT = 100
TASK = "automations.tasks.execute_run"
QUEUE = "jobs"
EDITS = 10
# How long the parent waits for a baseline before extrapolating from what it saw.
EDIT_WAIT = 30.0
BURST_WAIT = 60.0


def _env():
    # DEBUG off as in production (with it on, Django keeps every query in memory).
    os.environ.update(
        DATABASE_URL=DB_URL,
        REDIS_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="oms.settings",
        LOG_LEVEL="WARNING",
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-" + "x" * 50,
    )
    sys.path.insert(0, str(ROOT))


def _django():
    _env()
    import django

    django.setup()


def _redis():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def _configure_redbeat(app) -> None:
    app.conf.redbeat_redis_url = REDIS_URL
    # Its own (empty) options: RedBeat warns when it falls back to the broker's.
    app.conf.redbeat_redis_options = {}


def _rss_mb() -> float:
    """Peak RSS of this process since its exec. Not ru_maxrss: on Linux a child starts
    with the high-water mark of the parent it was forked from."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _zone(now: datetime) -> str:
    """A fixed-offset zone where it is about noon now: daily jobs (local midnight + a
    few minutes) stay far from due for the whole run."""
    hours = (12 - now.hour + 12) % 24 - 12  # local = UTC + hours, in [-12, 11]
    # Etc/GMT signs are inverted (POSIX): Etc/GMT-3 is UTC+3.
    return "UTC" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"


# ---------------------------------------------------------------- child processes


def _emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


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


def _child(kind: str) -> None:
    _django()
    stop = threading.Event()
    t0_wall = time.time()  # when the scheduler starts being built (after imports)
    ticks = []  # (started, seconds, sent) of every tick that sent something
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    if kind == "ours":
        from django_celery_beat.models import PeriodicTask

        from automations.dispatcher import dispatch_due

        # Beat's cadence for the dispatcher, as configured (automations migration 0006).
        entry = PeriodicTask.objects.get(task="automations.tasks.dispatch_due_jobs")
        interval = entry.interval.schedule.run_every.total_seconds()

        started = time.perf_counter()
        dispatch_due()
        start_s = time.perf_counter() - started
        walls, dbs = [], []
        for _ in range(50):
            t = time.perf_counter()
            dbs.append(_db_time(dispatch_due))
            walls.append(time.perf_counter() - t)
        _emit(
            event="ready",
            start_s=start_s,
            idle_ms=statistics.median(walls) * 1000,
            idle_db_ms=statistics.median(dbs) * 1000,
            rss_mb=_rss_mb(),
            t0=t0_wall,
        )
        while not stop.is_set():
            t = time.perf_counter()
            sent = dispatch_due()
            spent = time.perf_counter() - t
            if sent:
                ticks.append((t, spent, sent))
            stop.wait(max(0.0, interval - spent))
    else:
        from oms.celery import app

        if kind == "stock":
            from django_celery_beat.schedulers import DatabaseScheduler

            started = time.perf_counter()
            scheduler = DatabaseScheduler(app=app)
            scheduler.tick()  # the first tick loads every entry into the heap
            start_s = time.perf_counter() - started
            idle_samples = 3
        else:
            from redbeat import RedBeatScheduler

            _configure_redbeat(app)
            started = time.perf_counter()
            scheduler = RedBeatScheduler(app=app)
            scheduler.lock_key = None  # one beat only: no distributed lock to hold
            scheduler.tick()
            start_s = time.perf_counter() - started
            idle_samples = 20
        walls = []
        for _ in range(idle_samples):
            t = time.perf_counter()
            scheduler.tick()
            walls.append(time.perf_counter() - t)
        _emit(
            event="ready",
            start_s=start_s,
            idle_ms=statistics.median(walls) * 1000,
            rss_mb=_rss_mb(),
            t0=t0_wall,
        )
        while not stop.is_set():
            interval = scheduler.tick()
            _emit(event="tick", at=time.time(), sleep=interval)
            stop.wait(interval)
    _emit(event="exit", rss_mb=_rss_mb(), ticks=ticks)


class Child:
    """A scheduler subprocess; its JSON lines are read by a thread as they come."""

    def __init__(self, kind: str):
        self.kind = kind
        self.lines: list[dict] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scheduler", "child", kind],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.append(json.loads(line))

    def wait_for(self, event: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line["event"] == event:
                    return line
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.01)
        raise RuntimeError(f"{self.kind} scheduler: no {event!r} (exit code {self.proc.poll()})")

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        self.reader.join(timeout=10)
        return self.wait_for("exit", timeout=1)


def _wait_for_messages(r, count: int, timeout: float) -> tuple[float | None, int]:
    """Seconds until the `jobs` list holds `count` messages (None on timeout), and how
    many it holds then."""
    started = time.perf_counter()
    while True:
        have = r.llen(QUEUE)
        elapsed = time.perf_counter() - started
        if have >= count:
            return elapsed, have
        if elapsed > timeout:
            return None, have
        time.sleep(0.002)


# ---------------------------------------------------------------- seeding


def _create_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _seed_configuration(zone: str) -> None:
    """JOBS enabled beta jobs: JOBS / 4 channels of 4 daily job types each."""
    from accounts.models import Account, Organization
    from automations.models import ChannelJobSetting
    from channels.models import Channel

    channels_needed = JOBS // len(JOB_TYPES)
    org = Organization.objects.create(name="Bench")
    accounts = Account.objects.bulk_create(
        Account(organization=org, name=f"A{n}", code=f"B{n:05d}", timezone=zone)
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
    ChannelJobSetting.objects.bulk_create(
        (
            ChannelJobSetting(channel=c, job_type=jt, period_minutes=1440, enabled=True)
            for c in channels
            for jt in JOB_TYPES
        ),
        batch_size=5000,
    )


def _seed_stock(now: datetime) -> float:
    """One PeriodicTask per job, all on one daily IntervalSchedule; seconds taken."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    started = time.perf_counter()
    daily, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.DAYS)
    PeriodicTask.objects.bulk_create(
        (
            PeriodicTask(name=f"job-{n}", task=TASK, interval=daily, args=f"[{n}, null]", last_run_at=now)
            for n in range(JOBS)
        ),
        batch_size=5000,
    )
    PeriodicTasks.update_changed()
    return time.perf_counter() - started


def _redbeat_entry(n: int, now: datetime):
    from celery.schedules import schedule
    from redbeat import RedBeatSchedulerEntry

    from oms.celery import app

    entry = RedBeatSchedulerEntry(f"job-{n}", TASK, schedule(timedelta(days=1)), args=[n, None], app=app)
    entry.last_run_at = now
    return entry


def _seed_redbeat(now: datetime) -> tuple[float, float]:
    """RedBeat's entries: a sample saved one by one as RedBeat's API does (seconds per
    entry), the rest written with the same commands in one pipeline; total seconds."""
    from redbeat.decoder import RedBeatJSONEncoder

    from oms.celery import app

    _configure_redbeat(app)
    sample = min(2000, JOBS)
    started = time.perf_counter()
    for n in range(sample):
        _redbeat_entry(n, now).save()
    per_entry = (time.perf_counter() - started) / sample
    schedule_key = app.redbeat_conf.schedule_key
    with _redis().pipeline(transaction=False) as pipe:
        for n in range(sample, JOBS):
            e = _redbeat_entry(n, now)
            definition = {
                "name": e.name,
                "task": e.task,
                "args": e.args,
                "kwargs": e.kwargs,
                "options": e.options,
                "schedule": e.schedule,
                "enabled": e.enabled,
            }
            pipe.hset(e.key, "definition", json.dumps(definition, cls=RedBeatJSONEncoder))
            pipe.hset(e.key, "meta", json.dumps({"last_run_at": e.last_run_at}, cls=RedBeatJSONEncoder))
            pipe.zadd(schedule_key, {e.key: e.score})
            if n % 10000 == 0:
                pipe.execute()
        pipe.execute()
    return per_entry, time.perf_counter() - started


# ---------------------------------------------------------------- scenarios


def _edit_ours(r, kind: str = "beta") -> list[float | None]:
    """Make one job due now, EDITS times: seconds from commit to its message in Redis."""
    from django.db import transaction
    from django.utils import timezone

    from automations.models import ScheduleEntry

    pks = list(
        ScheduleEntry.objects.filter(enabled=True, kind=kind)
        .order_by("-pk")
        .values_list("pk", flat=True)[:EDITS]
    )
    out = []
    for pk in pks:
        # Edits come at any moment of the dispatcher's one-second cycle, not just after a tick.
        time.sleep(random.random())
        r.delete(QUEUE)
        with transaction.atomic():
            ScheduleEntry.objects.filter(pk=pk).update(next_run_at=timezone.now())
        out.append(_wait_for_messages(r, 1, EDIT_WAIT)[0])
    return out


def _burst_ours(r, child: Child) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from automations.models import ScheduleEntry

    r.delete(QUEUE)
    due = list(ScheduleEntry.objects.filter(enabled=True, kind="beta").values_list("pk", flat=True)[:BURST])
    with transaction.atomic():
        ScheduleEntry.objects.filter(pk__in=due).update(next_run_at=timezone.now())
    until_last, _ = _wait_for_messages(r, BURST, BURST_WAIT)
    exit_line = child.stop()
    sent = sum(t[2] for t in exit_line["ticks"])
    spent = sum(t[1] for t in exit_line["ticks"])
    return {
        "rate": sent / spent if spent else None,
        "until_last": until_last,
        "sent": sent,
        "rss_mb": exit_line["rss_mb"],
    }


def _run_ours(r, label: str) -> dict:
    r.delete(QUEUE)
    child = Child("ours")
    ready = child.wait_for("ready")
    edits = _edit_ours(r)
    burst = _burst_ours(r, child)
    print(f"   [{label}] ready: {ready}; edits: {edits}; burst: {burst}", flush=True)
    return {
        "start": ready["start_s"],
        "idle_ms": ready["idle_ms"],
        "idle_db_ms": ready["idle_db_ms"],
        "edit": edits,
        **burst,
    }


def _run_stock(r) -> dict:
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask, PeriodicTasks

    r.delete(QUEUE)
    child = Child("stock")
    ready = child.wait_for("ready")
    # The edit: one task due now, saved as the admin saves it (bumps PeriodicTasks).
    task = PeriodicTask.objects.get(name=f"job-{JOBS - 1}")
    task.last_run_at = timezone.now() - timedelta(days=2)
    task.save()
    edit, _ = _wait_for_messages(r, 1, EDIT_WAIT)
    # The burst: BURST tasks due at once.
    r.delete(QUEUE)
    PeriodicTask.objects.filter(name__in=[f"job-{n}" for n in range(BURST)]).update(
        last_run_at=timezone.now() - timedelta(days=2)
    )
    PeriodicTasks.update_changed()
    committed = time.perf_counter()
    until_last, sent = _wait_for_messages(r, BURST, BURST_WAIT)
    elapsed = time.perf_counter() - committed
    # Rate counted from the end of the first tick after the commit (the wait before it
    # is the edit figure's story).
    first = _first_tick_delay(child, elapsed)
    exit_line = child.stop()
    rate = sent / max(elapsed - first, 1e-9) if sent else 0.0
    result = {
        "start": ready["start_s"],
        "idle_ms": ready["idle_ms"],
        "edit": [edit],
        "rate": rate,
        "until_last": until_last,
        "sent": sent,
        "rss_mb": exit_line["rss_mb"],
        "waited": elapsed,
        "first": first,
    }
    print(f"   [stock] {result}", flush=True)
    return result


def _first_tick_delay(child: Child, elapsed: float) -> float:
    """Seconds from the burst's commit to the end of the scheduler's first tick after it,
    read from the ticks it reported (wall clock)."""
    commit_wall = time.time() - elapsed
    after = [t["at"] for t in child.lines if t["event"] == "tick" and t["at"] > commit_wall]
    return (after[0] - commit_wall) if after else 0.0


def _run_redbeat(r) -> dict:
    from oms.celery import app

    _configure_redbeat(app)
    r.delete(QUEUE)
    child = Child("redbeat")
    ready = child.wait_for("ready")
    time.sleep(0.5)
    # The edit: one entry due now, as entry.reschedule() writes it.
    _redbeat_entry(JOBS - 1, datetime.now(UTC)).reschedule(datetime.now(UTC) - timedelta(days=2))
    edit_wall = time.time()
    edit, _ = _wait_for_messages(r, 1, EDIT_WAIT)
    # The sleep beat chose on its last tick before the edit: when it would look again.
    before = [t for t in child.lines if t["event"] == "tick" and t["at"] <= edit_wall]
    wake_after = (before[-1]["at"] + before[-1]["sleep"] - edit_wall) if before else None
    idle_exit = child.stop()
    # The burst: BURST entries due, then a fresh RedBeat (a running one would sleep up to
    # beat_max_loop_interval, 300 s, before looking), timed from its construction: its
    # first tick sends every due entry.
    r.delete(QUEUE)
    _make_redbeat_due(r, datetime.now(UTC) - timedelta(days=2))
    child = Child("redbeat")
    _, sent = _wait_for_messages(r, BURST, BURST_WAIT + 30)
    done = time.time()
    loaded = child.wait_for("ready")
    burst_exit = child.stop()
    span = done - loaded["t0"]
    result = {
        "start": ready["start_s"],
        "idle_ms": ready["idle_ms"],
        "edit": [edit],
        "wake_after": wake_after,
        "rate": sent / span,
        "until_last": span if sent >= BURST else None,
        "sent": sent,
        "rss_mb": max(idle_exit["rss_mb"], burst_exit["rss_mb"]),
    }
    print(f"   [redbeat] {result}", flush=True)
    return result


def _make_redbeat_due(r, past: datetime) -> None:
    from redbeat.decoder import RedBeatJSONEncoder

    from oms.celery import app

    meta = json.dumps({"last_run_at": past}, cls=RedBeatJSONEncoder)
    with r.pipeline(transaction=False) as pipe:
        for n in range(BURST):
            key = f"{app.redbeat_conf.key_prefix}job-{n}"
            pipe.hset(key, "meta", meta)
            pipe.zadd(app.redbeat_conf.schedule_key, {key: past.timestamp()})
        pipe.execute()


def _grow_to(total: int) -> float:
    """Add synthetic enabled rows (copies of a real daily row, far from due) up to
    `total` enabled schedule rows; seconds taken."""
    from django.db import connection

    from automations.models import ScheduleEntry

    have = ScheduleEntry.objects.filter(enabled=True).count()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO automations_scheduleentry
                (key, kind, account_id, channel_id, job_type, enabled, period_minutes,
                 delay_minutes, timezone, next_run_at, window_start, updated_at)
            SELECT 'bench:' || n, kind, account_id, channel_id, job_type, true, period_minutes,
                   NULL, timezone, next_run_at + (n %% 600) * interval '1 second', window_start, now()
            FROM generate_series(1, %s) AS n,
                 LATERAL (SELECT * FROM automations_scheduleentry
                          WHERE enabled AND kind = 'beta' ORDER BY id LIMIT 1) AS model
            """,
            [total - have],
        )
        cursor.execute("ANALYZE automations_scheduleentry")
    return time.perf_counter() - started


# ---------------------------------------------------------------- report


def _fmt(value, unit: str, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f} {unit}"


def _ratio(ours, other, higher_is_better=False) -> str:
    if not ours or not other:
        return "—"
    factor = ours / other if higher_is_better else other / ours
    return f"{factor:,.0f}×" if factor >= 10 else f"{factor:,.1f}×"


def _report(sync: dict, ours: dict, stock: dict, redbeat: dict, big: dict | None, seeds: dict) -> None:
    edit = [e for e in ours["edit"] if e is not None]
    rows = [
        ("time to start (scheduler load)", ours["start"], stock["start"], redbeat["start"], "s", 3, False),
        ("one idle tick (wall)", ours["idle_ms"], stock["idle_ms"], redbeat["idle_ms"], "ms", 2, False),
        (
            "edit → message in broker (max)",
            max(edit) if edit else None,
            stock["edit"][0],
            redbeat["edit"][0],
            "s",
            2,
            False,
        ),
        ("burst: enqueued per second", ours["rate"], stock["rate"], redbeat["rate"], "/s", 0, True),
        (
            "burst: until the last is in broker",
            ours["until_last"],
            stock["until_last"],
            redbeat["until_last"],
            "s",
            1,
            False,
        ),
        (
            "peak RSS of the scheduling process",
            ours["rss_mb"],
            stock["rss_mb"],
            redbeat["rss_mb"],
            "MB",
            1,
            False,
        ),
    ]
    print(f"\n{'figure':38} {'ours':>14} {'stock':>14} {'RedBeat':>14} {'vs stock':>9} {'vs RedBeat':>10}")
    for name, o, s, b, unit, digits, higher in rows:
        print(
            f"{name:38} {_fmt(o, unit, digits):>14} {_fmt(s, unit, digits):>14} {_fmt(b, unit, digits):>14} "
            f"{_ratio(o, s, higher):>9} {_ratio(o, b, higher):>10}"
        )
    print(
        f"{'full sync / creating the schedules':38} {_fmt(sync['full'], 's'):>14} "
        f"{_fmt(seeds['stock'], 's'):>14} {_fmt(seeds['redbeat_api'], 's'):>14} "
        f"{_ratio(sync['full'], seeds['stock']):>9} {_ratio(sync['full'], seeds['redbeat_api']):>10}"
    )
    print("\nnotes:")
    print(
        f"  ours: idle tick database time {ours['idle_db_ms']:.2f} ms (target ≤ 1 ms); edits (s): "
        + ", ".join(_fmt(e, "", 2) for e in ours["edit"])
        + " (target ≤ 1 s); a second sync_schedules (nothing changed): "
        f"{sync['again']:.1f} s, {sync['drift']} rows drifted"
    )
    print(
        f"  stock: burst saw {stock['sent']:,} of {BURST:,} messages in {stock['waited']:.0f} s, the first "
        f"{stock['first']:.1f} s after the commit; 'until the last' extrapolated at that rate: "
        f"{_fmt(stock['first'] + BURST / stock['rate'] if stock['rate'] else None, 's', 0)}"
    )
    print(
        f"  RedBeat: edit seen after {_fmt(redbeat['edit'][0], 's', 1)} "
        f"(— = not within {EDIT_WAIT:.0f} s); its tick before the edit chose to sleep "
        f"{_fmt(redbeat['wake_after'], 's', 0)} more; burst timed from "
        f"a fresh start (a running RedBeat sleeps up to 300 s first); creating its {JOBS:,} entries one "
        f"by one: {seeds['redbeat_per_entry'] * 1000:.2f} ms each, {seeds['redbeat_api']:.0f} s extrapolated "
        f"from {min(2000, JOBS):,} (the rest were pipelined)"
    )
    if big:
        b_edit = [e for e in big["edit"] if e is not None]
        print(f"\nours at {big['rows']:,} schedule rows (seeded in {big['seed']:.0f} s):")
        print(
            f"  start {big['start']:.3f} s; idle tick {big['idle_ms']:.2f} ms wall, "
            f"{big['idle_db_ms']:.2f} ms database (at {JOBS:,}: {ours['idle_db_ms']:.2f} ms); edit max "
            f"{_fmt(max(b_edit) if b_edit else None, 's', 2)}; burst {big['rate']:,.0f}/s, last in broker "
            f"after {_fmt(big['until_last'], 's', 1)}; peak RSS {big['rss_mb']:.1f} MB"
        )


def main() -> None:
    _env()
    _create_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from automations.models import ScheduleEntry
    from automations.reconciler import reconcile_all

    r = _redis()
    r.flushdb()
    now = datetime.now(UTC)
    _seed_configuration(_zone(now))
    started = time.perf_counter()
    reconcile_all()
    sync = {"full": time.perf_counter() - started}
    started = time.perf_counter()
    sync["drift"] = len(reconcile_all())
    sync["again"] = time.perf_counter() - started
    enabled = ScheduleEntry.objects.filter(enabled=True).count()
    print(
        f"   {enabled:,} enabled schedule rows ({ScheduleEntry.objects.count():,} in all); "
        f"full sync {sync['full']:.1f} s",
        flush=True,
    )

    ours = _run_ours(r, f"ours {enabled:,}")
    seeds = {"stock": _seed_stock(now)}
    stock = _run_stock(r)
    per_entry, _ = _seed_redbeat(now)
    seeds.update(redbeat_per_entry=per_entry, redbeat_api=per_entry * JOBS)
    redbeat = _run_redbeat(r)

    big = None
    if BIG:
        seed = _grow_to(BIG)
        total = ScheduleEntry.objects.filter(enabled=True).count()
        big = {"rows": total, "seed": seed, **_run_ours(r, f"ours {total:,} enabled")}
    _report(sync, ours, stock, redbeat, big, seeds)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(sys.argv[2])
    else:
        main()

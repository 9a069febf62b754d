"""What the peer benchmarks (bench/medusa.py, bench/tryton.py) share: Django configured for
a database of the benchmark's own, that database made afresh, and the process's resident
memory sampled while a block runs."""

import os
import threading


def django_setup(db_url: str, **env: str) -> None:
    """Configure Django for `db_url` as production runs it (DEBUG off: with it on, Django
    keeps every query in memory), with `env` on top."""
    os.environ.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="oms.settings",
        LOG_LEVEL="WARNING",
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-" + "x" * 50,
        **env,
    )
    import django

    django.setup()


def fresh_database(db_url: str) -> None:
    """Drop and create the benchmark's database (whoever is still connected), then migrate."""
    import psycopg
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    server, name = db_url.rsplit("/", 1)
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)


def rss_mb() -> float:
    """This process's resident memory, in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssPeak:
    """The process's resident memory sampled in a thread while the block runs: where it
    started, its peak, and the growth between them."""

    def __enter__(self):
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start

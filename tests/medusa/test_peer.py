"""The Medusa peer's own housekeeping (tests/medusa/peer.py), which needs no Medusa: a
dead test session's database copy is dropped, a live one's kept; `peer.py order` says
what is wrong with its input."""

import os
import subprocess

import psycopg
import pytest

from tests.medusa import peer

needs_postgres = pytest.mark.skipif(peer.server_url() is None, reason="needs PostgreSQL (DATABASE_URL)")


def databases(server: str) -> set[str]:
    with peer._connect(server) as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


@needs_postgres
def test_a_dead_sessions_copy_is_dropped_and_a_live_or_connected_one_kept():
    server = peer.server_url()
    finished = subprocess.Popen(["true"])  # noqa: S607 - its process id, once gone
    finished.wait()
    dead = f"{peer.TEST_DATABASE_PREFIX}{finished.pid}_dead01"
    alive = f"{peer.TEST_DATABASE_PREFIX}{os.getpid()}_live01"
    with peer._connect(server) as conn:
        for name in (dead, alive):
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        peer._drop_orphans(server)
        left = databases(server)
        assert dead not in left
        assert alive in left
    finally:
        with peer._connect(server) as conn:
            for name in (dead, alive):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@needs_postgres
def test_a_dead_sessions_copy_still_in_use_is_kept():
    server = peer.server_url()
    finished = subprocess.Popen(["true"])  # noqa: S607
    finished.wait()
    name = f"{peer.TEST_DATABASE_PREFIX}{finished.pid}_used01"
    with peer._connect(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(peer._database_url(server, name)):
            peer._drop_orphans(server)
            assert name in databases(server)
    finally:
        with peer._connect(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("line", ["MUG-12OZ", "MUG-12OZ=", "MUG-12OZ=0", "MUG-12OZ=two"])
def test_an_order_line_without_a_positive_quantity_is_refused(line, tmp_path, monkeypatch, capsys):
    facts = tmp_path / "medusa.json"
    facts.write_text("{}")
    monkeypatch.setattr(peer, "DEV_FACTS", facts)

    assert peer.place_order([line], "a@example.com") == 1
    assert "write SKU=QUANTITY" in capsys.readouterr().err


def test_an_order_without_make_medusa_says_to_start_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(peer, "DEV_FACTS", tmp_path / "missing.json")

    assert peer.place_order(["MUG-12OZ=1"], "a@example.com") == 1
    assert "make medusa" in capsys.readouterr().err

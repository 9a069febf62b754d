"""Start-up rules and the demo data other tools rely on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Account, AuditEntry, Organization, RoleAssignment, User, Warehouse
from channels.models import Channel

ROOT = Path(__file__).resolve().parents[2]


def run_django(args, **env):
    dropped = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    environment.update(env)
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_django(["check"], DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY="x" * 20 + "-production-secret-for-the-check-only-0123456789",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_seed_demo_creates_the_documented_names_and_is_idempotent():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    models = (Organization, Account, Warehouse, User, RoleAssignment, AuditEntry, Channel)
    counts = [m.objects.count() for m in models]
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert [m.objects.count() for m in models] == counts
    zones = dict(Account.objects.values_list("code", "timezone"))
    assert zones == {"ACME-US": "America/New_York", "ACME-EU": "Europe/Berlin", "GLOBEX": "Asia/Tokyo"}
    assert set(Account.objects.filter(organization__name="Acme Corp").values_list("code", flat=True)) == {
        "ACME-US",
        "ACME-EU",
    }
    assert all(a.warehouses.count() == 2 for a in Account.objects.all())
    roles = {
        (r.user.email, r.role, str(r.organization or r.account.code)) for r in RoleAssignment.objects.all()
    }
    assert roles == {
        ("orgadmin@acme.test", "org_admin", "Acme Corp"),
        ("supervisor@acme.test", "supervisor", "Acme Corp"),
        ("admin@acme-us.test", "account_admin", "ACME-US"),
        ("user@acme-us.test", "account_user", "ACME-US"),
        ("orgadmin@globex.test", "org_admin", "Globex"),
    }
    assert User.objects.get(email="admin@acme-us.test").check_password("demo-pass-123")
    assert set(Channel.objects.filter(account__code="ACME-US").values_list("name", "platform")) == {
        ("Acme Marketplace", "sandbox_marketplace"),
        ("Acme Beta Shop", "sandbox_marketplace_beta"),
        ("Acme 3PL", "sandbox_3pl"),
        ("Acme 3PL Beta", "sandbox_3pl_beta"),
    }

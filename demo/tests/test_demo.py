"""The demo: seed_demo's channels and the sandbox's shops fit together, and orders flow."""

import pytest
from django.core.management import call_command

from automations.jobs.runner import run_job
from automations.models import JobRun
from channels.models import Channel
from demo.data import seed_sandbox

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_acme_us_exactly_its_four_mapped_channels_idempotently():
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - discarded output
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    channels = Channel.objects.filter(account__code="ACME-US").order_by("name")
    assert [(c.name, c.platform) for c in channels] == [
        ("Acme 3PL", "sandbox_3pl"),
        ("Acme 3PL Beta", "sandbox_3pl_beta"),
        ("Acme Beta Shop", "sandbox_marketplace_beta"),
        ("Acme Marketplace", "sandbox_marketplace"),
    ]
    for channel in channels:
        codes = {m.warehouse.code for m in channel.warehouse_mappings.all()}
        assert codes <= {"NJ", "RENO"} and codes
    assert Channel.objects.filter(account__code="ACME-US").count() == 4


def test_an_order_placed_in_the_demo_sandbox_reaches_the_portal(sandbox):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert seed_sandbox(sandbox.store)
    assert seed_sandbox(sandbox.store) == []
    shop = sandbox.store.shop("acme-marketplace")
    sandbox.store.create_order(shop, {"lines": [{"sku": "MUG-12OZ", "quantity": 1}]})
    marketplace = Channel.objects.get(name="Acme Marketplace")
    run = run_job(
        JobRun.objects.create(
            account=marketplace.account, channel=marketplace, job_type="import_orders", trigger="manual"
        )
    )
    assert (run.status, run.counts) == ("success", {"imported": 1})

"""`manage.py add_medusa_channel`: the README's one extra command that adds the store of
`make medusa` to the demo account (its run against a real Medusa is in
tests/medusa/test_demo_channel.py)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account
from automations.models import ChannelAutomation, ChannelJobSetting, Mode, StableJobSetting
from channels.models import Channel

pytestmark = pytest.mark.django_db

LOCATIONS = {"Newark DC": "sloc_newark", "Reno DC": "sloc_reno"}


@pytest.fixture
def peer_file(tmp_path):
    path = tmp_path / "medusa.json"
    path.write_text(
        json.dumps(
            {
                # Nothing listens on port 9: the store is down.
                "base_url": "http://127.0.0.1:9",
                "api_key": "sk_demo",
                "stock_locations": LOCATIONS,
                "webhook_config": str(tmp_path / "webhook.json"),
            }
        )
    )
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("add_medusa_channel", *args, stdout=out)
    return out.getvalue()


def test_the_channel_is_added_with_its_key_mappings_and_webhook_target(peer_file, settings):
    settings.PORTAL_URL = "http://127.0.0.1:8000"
    call_command("seed_demo", stdout=io.StringIO())

    output = run("--peer", str(peer_file))

    channel = Channel.objects.get(account__code="ACME-US", name="Acme Medusa Store")
    assert channel.platform == "medusa_beta"
    assert channel.credentials == {"base_url": "http://127.0.0.1:9", "api_key": "sk_demo"}
    assert {(m.location, m.warehouse.code) for m in channel.warehouse_mappings.all()} == {
        ("sloc_newark", "NJ"),
        ("sloc_reno", "RENO"),
    }
    target = json.loads((peer_file.parent / "webhook.json").read_text())
    assert target == {
        "url": f"http://127.0.0.1:8000/webhooks/{channel.webhook_token}/",
        "secret": channel.webhook_secret,
    }
    # The store being down is said, not hidden; the channel is still added.
    assert "Test connection FAILED" in output


def test_by_default_the_channel_is_in_webhook_mode_with_a_fallback(peer_file):
    call_command("seed_demo", stdout=io.StringIO())

    run("--peer", str(peer_file))

    channel = Channel.objects.get(name="Acme Medusa Store")
    assert ChannelAutomation.objects.get(channel=channel).mode == Mode.WEBHOOK
    jobs = {s.job_type: s for s in ChannelJobSetting.objects.filter(channel=channel, enabled=True)}
    assert (jobs["import_orders"].webhook_delay_minutes, jobs["import_orders"].emergency_period_minutes) == (
        1,
        60,
    )
    assert jobs["export_tracking"].emergency_period_minutes == 15
    # The account's Recurring Jobs (its stable channels') are left alone.
    assert not StableJobSetting.objects.filter(account=channel.account, enabled=True).exists()


def test_a_stable_channel_switches_on_the_accounts_recurring_jobs(peer_file):
    call_command("seed_demo", stdout=io.StringIO())

    run("--peer", str(peer_file), "--platform", "medusa")

    channel = Channel.objects.get(name="Acme Medusa Store")
    assert channel.platform == "medusa"
    enabled = StableJobSetting.objects.filter(account=channel.account, enabled=True)
    assert {(s.job_type, s.period_minutes) for s in enabled} == {("import_orders", 5), ("export_tracking", 5)}


def test_running_it_again_keeps_the_one_channel_and_repoints_the_webhooks(peer_file):
    call_command("seed_demo", stdout=io.StringIO())
    run("--peer", str(peer_file))
    (peer_file.parent / "webhook.json").unlink()

    output = run("--peer", str(peer_file))

    assert Channel.objects.filter(name="Acme Medusa Store").count() == 1
    assert "kept as it is" in output
    assert (peer_file.parent / "webhook.json").exists()


def test_a_persons_own_recurring_job_settings_are_kept(peer_file):
    call_command("seed_demo", stdout=io.StringIO())
    account = Account.objects.get(code="ACME-US")
    StableJobSetting.objects.create(
        account=account, job_type="import_orders", enabled=True, period_minutes=60
    )

    run("--peer", str(peer_file), "--platform", "medusa")

    assert StableJobSetting.objects.get(account=account, job_type="import_orders").period_minutes == 60


def test_without_make_medusa_it_says_what_to_run(tmp_path):
    call_command("seed_demo", stdout=io.StringIO())
    with pytest.raises(CommandError, match="make medusa"):
        run("--peer", str(tmp_path / "missing.json"))
    assert not Channel.objects.filter(name="Acme Medusa Store").exists()


def test_without_the_demo_account_it_says_what_to_run(peer_file):
    with pytest.raises(CommandError, match="seed_demo"):
        run("--peer", str(peer_file))

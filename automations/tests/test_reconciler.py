"""The reconciler: configuration → exact schedule rows, idempotent, drift reported."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from automations import services
from automations.models import ChannelJobSetting, Mode, ScheduleEntry, ScheduleKind
from automations.reconciler import reconcile_account
from channels import services as channel_services

pytestmark = pytest.mark.django_db(transaction=False)


def rows(account):
    """The account's channel job rows (system rows have tests of their own)."""
    return {
        r.key: (r.enabled, r.period_minutes, r.delay_minutes)
        for r in ScheduleEntry.objects.filter(account=account).exclude(kind=ScheduleKind.SYSTEM)
    }


def test_stable_settings_become_one_account_row_each(
    world, stable_channels, t0, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.save_recurring_jobs(
            world.account_admin,
            world.acme_us,
            {
                "import_orders": {"enabled": True, "period_minutes": 15, "delay_minutes": 5},
                "export_inventory": {"enabled": False, "period_minutes": 60, "delay_minutes": None},
            },
            None,
        )
    a = world.acme_us.pk
    assert rows(world.acme_us) == {
        f"stable:{a}:import_orders": (True, 15, 5),
        f"stable:{a}:export_inventory": (False, 60, None),
    }
    row = ScheduleEntry.objects.get(key=f"stable:{a}:import_orders")
    assert row.channel is None and row.next_run_at is not None
    assert ScheduleEntry.objects.get(key=f"stable:{a}:export_inventory").next_run_at is None


def test_webhook_mode_gives_webhook_and_emergency_rows(
    world, beta_channel, django_capture_on_commit_callbacks
):
    c = beta_channel.pk
    with django_capture_on_commit_callbacks(execute=True):
        services.save_channel_automation(
            world.account_admin,
            beta_channel,
            Mode.WEBHOOK,
            {"import_orders": {"enabled": True, "webhook_delay_minutes": 5, "emergency_period_minutes": 60}},
            None,
        )
    assert rows(world.acme_us) == {
        f"beta:{c}:import_orders": (False, None, None),
        f"webhook:{c}:import_orders": (True, None, 5),
        f"emergency:{c}:import_orders": (True, 60, None),
    }
    assert ScheduleEntry.objects.get(key=f"webhook:{c}:import_orders").next_run_at is None  # armed by events
    assert ScheduleEntry.objects.get(key=f"emergency:{c}:import_orders").next_run_at is not None


@pytest.mark.parametrize("trigger", ["disable_main_job", "switch_to_by_id"])
def test_emergency_fallback_is_disabled_automatically(
    world, beta_channel, trigger, django_capture_on_commit_callbacks
):
    job = {"enabled": True, "period_minutes": 60, "webhook_delay_minutes": 5, "emergency_period_minutes": 60}
    with django_capture_on_commit_callbacks(execute=True):
        services.save_channel_automation(
            world.account_admin, beta_channel, Mode.WEBHOOK, {"import_orders": job}, None
        )
    mode = Mode.WEBHOOK
    if trigger == "disable_main_job":
        job = {**job, "enabled": False}
    else:
        mode = Mode.RECURRING_BY_ID
    with django_capture_on_commit_callbacks(execute=True):
        services.save_channel_automation(
            world.account_admin, beta_channel, mode, {"import_orders": job}, None
        )
    emergency = ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY, channel=beta_channel)
    assert (emergency.enabled, emergency.next_run_at) == (False, None)
    # The configured period is kept: switching back restores the fallback.
    assert ChannelJobSetting.objects.get(channel=beta_channel).emergency_period_minutes == 60


def test_second_reconcile_changes_nothing(world, beta_channel, stable_channels, t0):
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=30)
    c = beta_channel.pk
    assert reconcile_account(world.acme_us.pk, now=t0) == [
        f"system:{world.acme_us.pk}:pii_retention: missing",
        f"beta:{c}:import_orders: missing",
        f"webhook:{c}:import_orders: missing",
        f"emergency:{c}:import_orders: missing",
    ]
    before = list(ScheduleEntry.objects.values())
    assert reconcile_account(world.acme_us.pk, now=t0 + timedelta(hours=1)) == []
    assert list(ScheduleEntry.objects.values()) == before


def test_timezone_change_rederives_next_run(world, beta_channel, t0):
    ChannelJobSetting.objects.create(
        channel=beta_channel, job_type="import_orders", period_minutes=480, delay_minutes=60
    )
    reconcile_account(world.acme_us.pk, now=t0)
    row = ScheduleEntry.objects.get(kind=ScheduleKind.BETA)
    # 07:00 in New York now: Each 8 hours + 1 hour has a window opening at 07:00 local.
    assert row.next_run_at.astimezone(world.acme_us.tzinfo).hour == 7
    world.acme_us.timezone = "Asia/Tokyo"
    world.acme_us.save(update_fields=["timezone"])
    assert f"{row.key}: timezone differ" in reconcile_account(world.acme_us.pk, now=t0)
    row.refresh_from_db()
    # Tokyo is 21:00 now; the next window of 8 h shifted 1 h earlier opens at 23:00 Tokyo.
    assert row.next_run_at.astimezone(world.acme_us.tzinfo).hour == 23


def test_deactivating_a_channel_disables_its_rows(world, beta_channel, django_capture_on_commit_callbacks):
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=30)
    reconcile_account(world.acme_us.pk)
    with django_capture_on_commit_callbacks(execute=True):
        channel_services.set_channel_active(world.account_admin, beta_channel, False)
    assert not ScheduleEntry.objects.get(kind=ScheduleKind.BETA).enabled


def test_master_product_source_realigns_product_jobs(world, stable_channels, t0):
    from accounts.models import MasterProductSource

    services.save_recurring_jobs(
        world.account_admin,
        world.acme_us,
        {"export_products": {"enabled": True, "period_minutes": 60, "delay_minutes": None}},
        None,
    )
    reconcile_account(world.acme_us.pk, now=t0)
    assert ScheduleEntry.objects.get(job_type="export_products").enabled
    # One of the two shops becomes master: export still runs for the other one.
    account = world.acme_us
    account.master_product_source = MasterProductSource.SALES_CHANNEL
    account.master_product_channel = stable_channels[0]
    account.save()
    from automations.selectors import stable_targets

    assert stable_targets(account, "export_products") == [stable_channels[1]]
    assert stable_targets(account, "import_products") == [stable_channels[0]]


def test_sync_schedules_check_reports_drift_and_fails(world, beta_channel, capsys):
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=30)
    # CommandError: exit status 1 from the command line.
    with pytest.raises(CommandError):
        call_command("sync_schedules", "--check")
    assert "import_orders: missing" in capsys.readouterr().out
    call_command("sync_schedules")
    call_command("sync_schedules", "--check")
    assert "0 drifted schedule rows" in capsys.readouterr().out


def test_sync_schedules_over_several_passes_matches_per_account_reconcile(world, monkeypatch, t0):
    from automations import reconciler

    for account in (world.acme_us, world.acme_eu):
        channel = channel_services.create_channel(
            None, account, kind="sales", name="Beta", platform="sandbox_marketplace_beta", credentials={}
        )
        services.save_channel_automation(
            None, channel, Mode.RECURRING, {"import_orders": {"enabled": True, "period_minutes": 60}}, None
        )
    for account in (world.acme_us, world.acme_eu, world.globex_jp):
        reconcile_account(account.pk, now=t0)
    expected = {r.key: (r.enabled, r.next_run_at) for r in ScheduleEntry.objects.all()}
    ScheduleEntry.objects.all().delete()
    # One account per pass: each pass must see only its own accounts' rows.
    monkeypatch.setattr(reconciler, "ACCOUNTS_PER_PASS", 1)
    report = reconciler.reconcile_all(now=t0)
    assert len(report) == len(expected) and all(line.endswith(": missing") for line in report)
    assert {r.key: (r.enabled, r.next_run_at) for r in ScheduleEntry.objects.all()} == expected
    assert {r.account_id for r in ScheduleEntry.objects.all()} == {
        world.acme_us.pk,
        world.acme_eu.pk,
        world.globex_jp.pk,
    }
    assert reconciler.reconcile_all(now=t0) == []

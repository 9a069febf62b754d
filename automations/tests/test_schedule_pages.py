"""The job rows as people read them (item 1, 4, 5, 6 of issue 16), the live preview of a
row's unsaved values, and the account's schedule of the next 24 hours."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from automations import selectors, timeline
from automations.models import ChannelJobSetting, JobRun, Mode, ScheduleEntry, ScheduleKind
from automations.reconciler import reconcile_account
from automations.services import save_channel_automation, save_recurring_jobs
from channels import services as channel_services

pytestmark = pytest.mark.django_db

# 2026-11-01 is the autumn change in New York: 02:00 EDT becomes 01:00 EST.
BEFORE_AUTUMN = datetime(2026, 10, 31, 22, 0, tzinfo=UTC)  # 18:00 EDT


@pytest.fixture
def frozen(monkeypatch):
    """Injects the previews' clock; returns a setter."""
    now = {"t": BEFORE_AUTUMN}
    monkeypatch.setattr(selectors, "clock", lambda: now["t"])
    return now


def row_html(page: str, job_type: str) -> str:
    return re.search(rf'<tr data-job="{job_type}">(.*?)</tr>', page, re.S).group(1)


def test_the_preview_shows_utc_as_utc_not_in_the_account_zone(client_for, api, world, beta_channel, frozen):
    frozen["t"] = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # 11:00 EST
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=60)
    client = client_for(world.account_admin, world.acme_us)
    page = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()
    pattern = r"(\d\d:\d\d:\d\d) (EST)</time> <small[^>]*>\((\d\d:\d\d:\d\d) UTC\)"
    items = re.findall(pattern, row_html(page, "import_orders"))
    assert len(items) == 5
    for local, _zone, utc in items:
        hours = (int(utc[:2]) - int(local[:2])) % 24
        assert (hours, utc[2:]) == (5, local[2:])  # EST is UTC−5
    jobs = api(world.acme_us).get(f"/api/v1/channels/{beta_channel.pk}/jobs/").json()["jobs"]
    runs = next(j for j in jobs if j["job_type"] == "import_orders")["next_runs"]
    assert [r["utc"][11:19] for r in runs] == [utc for _local, _zone, utc in items]


def test_an_enabled_job_without_a_period_says_it_does_not_run(client_for, world, beta_channel):
    page = client_for(world.account_admin, world.acme_us).get(
        reverse("channel_detail", args=[beta_channel.pk])
    )
    row = row_html(page.content.decode(), "import_orders")
    assert "Enabled, but with no Main Job Period it does not run in this mode." in row
    assert 'name="import_orders-enabled"' in row and "checked" in row


def test_webhook_mode_rows_do_not_contradict_themselves(client_for, world, beta_channel):
    save_channel_automation(
        world.account_admin,
        beta_channel,
        Mode.WEBHOOK,
        {"export_inventory": {"enabled": True, "emergency_period_minutes": None}},
        1,
    )
    page = client_for(world.account_admin, world.acme_us).get(
        reverse("channel_detail", args=[beta_channel.pk])
    )
    pushed = row_html(page.content.decode(), "export_inventory")
    assert "No webhook announces this job" in pushed
    assert "Runs on webhooks" not in pushed
    assert 'name="export_inventory-webhook_delay"' not in pushed  # no Delay where none applies
    announced = row_html(page.content.decode(), "import_orders")
    assert "Runs on webhooks, at once." in announced and 'name="import_orders-webhook_delay"' in announced
    assert "No webhook announces" not in announced


def test_both_pages_offer_one_delay_catalogue(client_for, world, beta_channel, stable_channels):
    client = client_for(world.account_admin, world.acme_us)
    tab = client.get(reverse("current_account_tab", args=["recurring-jobs"])).content.decode()
    channel = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()

    def delays(page):
        select = re.search(r'<select name="import_orders-delay".*?</select>', page, re.S).group(0)
        return re.findall(r"<option[^>]*>([^<]+)</option>", select)

    assert delays(tab) == delays(channel)
    assert (
        delays(tab)[:2] == ["None", "Minimal 5 minutes"]
        and "Each hour" in channel
        and "Each 1 hour" not in tab
    )


def test_channel_preview_follows_unsaved_values_and_saves_nothing(client_for, world, beta_channel, frozen):
    client = client_for(world.account_admin, world.acme_us)
    url = reverse("channel_automation_preview", args=[beta_channel.pk])
    query = {"job_type": "import_orders", "import_orders-enabled": "on"}
    answer = client.get(
        url, {**query, "import_orders-period": "480", "import_orders-delay": "60", "draft": "1"}
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    # Each 8 hours with a 1 hour Delay: windows at 07:00, 15:00, 23:00 (the documents' example).
    expected = selectors.recurring_preview(
        beta_channel,
        ChannelJobSetting(
            channel=beta_channel, job_type="import_orders", period_minutes=480, delay_minutes=60
        ),
    )
    assert [r["local"].hour for r in expected[:3]] == [23, 7, 15]
    for run in expected:
        assert f"({run['utc']:%H:%M:%S} UTC)" in html
    assert "Not saved yet" in html
    assert not ChannelJobSetting.objects.filter(channel=beta_channel).exists()

    too_long = client.get(url, {**query, "import_orders-period": "60", "import_orders-delay": "60"})
    assert (
        too_long.status_code == 200 and "Delay must be shorter than the period." in too_long.content.decode()
    )
    wrong = client.get(url, {**query, "import_orders-period": "7"})
    assert wrong.status_code == 400 and "Choose one of the listed values." in wrong.content.decode()
    assert client.get(url, {**query, "job_type": "nope"}).status_code == 404


def test_channel_preview_of_another_tenant_is_404(client_for, world):
    other = channel_services.create_channel(
        None, world.globex_jp, kind="sales", name="Globex Beta", platform="sandbox_marketplace_beta"
    )
    client = client_for(world.account_admin, world.acme_us)
    answer = client.get(
        reverse("channel_automation_preview", args=[other.pk]),
        {"job_type": "import_orders"},
    )
    assert answer.status_code == 404


def test_recurring_jobs_preview_follows_unsaved_values(client_for, world, stable_channels, frozen):
    client = client_for(world.account_user, world.acme_us)
    url = reverse("recurring_jobs_preview")
    query = {"job_type": "import_orders", "import_orders-period": "120", "import_orders-delay": "5"}
    off = client.get(url, query).content.decode()
    assert "Disabled: it does not run." in off
    on = client.get(url, {**query, "import_orders-enabled": "on"}).content.decode()
    expected = selectors.stable_draft_preview(world.acme_us, "import_orders", 120, 5)
    assert len(expected) == 5 and all(f"({r['utc']:%H:%M:%S} UTC)" in on for r in expected)
    # Windows every 2 hours of the wall clock, each run postponed by 5 minutes plus the offset.
    assert all(r["local"].hour % 2 == 0 and 5 <= r["local"].minute < 17 for r in expected)
    assert (
        client.get(url, {**query, "import_orders-enabled": "on", "import_orders-delay": "7"}).status_code
        == 400
    )
    assert client.get(url, {"job_type": "send_orders"}).status_code == 404  # no stable 3PL channel
    assert client_for(world.account_admin, world.globex_jp).get(url, query).status_code == 404


# --- the schedule of the next 24 hours ----------------------------------------------------------


def test_timeline_runs_are_the_dispatchers(world, stable_channels, beta_channel):
    now = BEFORE_AUTUMN
    save_recurring_jobs(
        world.account_admin,
        world.acme_us,
        {"import_orders": {"enabled": True, "period_minutes": 60, "delay_minutes": None}},
        0,
    )
    save_channel_automation(
        world.account_admin,
        beta_channel,
        Mode.WEBHOOK,
        {"import_orders": {"enabled": True, "emergency_period_minutes": 240}},
        1,
    )
    reconcile_account(world.acme_us.pk, now=now)
    plan = timeline.account_timeline(world.acme_us, now)
    stable = [lane for lane in plan.lanes if lane.kind == ScheduleKind.STABLE]
    assert sorted(lane.channel.name for lane in stable) == ["Shop 1", "Shop 2"]
    row = ScheduleEntry.objects.get(kind=ScheduleKind.STABLE, job_type="import_orders")
    # Hourly in real time: 24 runs although the night of the change has 25 wall-clock hours.
    assert stable[0].runs[0] == row.next_run_at and len(stable[0].runs) == 24
    assert all(b - a == timedelta(hours=1) for a, b in zip(stable[0].runs, stable[0].runs[1:], strict=False))
    emergency = next(lane for lane in plan.lanes if lane.kind == ScheduleKind.EMERGENCY)
    entry = ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY, job_type="import_orders")
    assert emergency.runs[0] == entry.next_run_at and emergency.note == "Emergency check"
    # Every 4 hours of the wall clock: the repeated 01:00 hour does not add a check.
    assert [r.astimezone(world.acme_us.tzinfo).hour for r in emergency.runs] == [20, 0, 4, 8, 12, 16]
    assert any(lane.kind == ScheduleKind.WEBHOOK and "Runs on webhooks" in lane.note for lane in plan.lanes)
    # Two stable channels fire together each hour: nothing reaches three in a quarter hour
    # except where the emergency check falls in the same quarter as both.
    assert plan.total == 24 * 2 + 6
    assert all(slot.runs >= timeline.PILE_UP for slot in plan.busiest)
    labels = [t.local.strftime("%H") for t in plan.ticks]
    assert labels.count("01") == 2  # the autumn hour is drawn twice


def test_schedule_page_shows_every_lane_and_is_the_accounts_own(client_for, world, stable_channels, frozen):
    save_recurring_jobs(
        world.account_admin,
        world.acme_us,
        {"import_orders": {"enabled": True, "period_minutes": 15, "delay_minutes": None}},
        0,
    )
    reconcile_account(world.acme_us.pk, now=frozen["t"])
    page = client_for(world.account_user, world.acme_us).get(reverse("schedule")).content.decode()
    assert page.count('data-kind="stable"') == 2 and "Shop 1" in page and "Shop 2" in page
    assert "192 runs in all" in page  # 96 quarter hours × 2 channels
    assert "Where runs pile up" not in page and "nothing piles up" in page
    other = client_for(world.globex_admin, world.globex_jp).get(reverse("schedule")).content.decode()
    assert "Shop 1" not in other and "No job is scheduled on this account" in other


def test_timeline_reports_where_runs_pile_up(world, beta_channel):
    second = channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Beta Two", platform="sandbox_marketplace_beta"
    )
    for channel in (beta_channel, second):
        save_channel_automation(
            world.account_admin,
            channel,
            Mode.RECURRING,
            {jt: {"enabled": True, "period_minutes": 1440} for jt in ("import_orders", "export_inventory")},
            1,
        )
    reconcile_account(world.acme_us.pk, now=BEFORE_AUTUMN)
    plan = timeline.account_timeline(world.acme_us, BEFORE_AUTUMN)
    # Four daily jobs open at local midnight, all within its first 10 minutes.
    assert plan.total == 4 and plan.busiest[0].runs == 4
    assert plan.busiest[0].local.strftime("%H:%M") == "00:00"
    assert not JobRun.objects.exists()


def test_rows_that_cannot_run_say_why(client_for, world, beta_channel):
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_products", period_minutes=60)
    ChannelJobSetting.objects.create(channel=beta_channel, job_type="import_orders", period_minutes=60)
    client = client_for(world.account_admin, world.acme_us)
    page = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()
    # techOMS is the Master Product Source: Import Products runs nowhere.
    assert "The Master Product Source keeps this job from running here." in row_html(page, "import_products")
    channel_services.set_channel_active(None, beta_channel, False)
    page = client.get(reverse("channel_detail", args=[beta_channel.pk])).content.decode()
    assert "The channel is inactive: its jobs do not run." in row_html(page, "import_orders")


def test_the_schedule_has_no_lane_for_a_webhook_job_no_topic_announces(world, beta_channel):
    save_channel_automation(
        world.account_admin,
        beta_channel,
        Mode.WEBHOOK,
        {jt: {"enabled": True} for jt in ("import_orders", "export_inventory")},
        1,
    )
    reconcile_account(world.acme_us.pk, now=BEFORE_AUTUMN)
    assert ScheduleEntry.objects.filter(kind=ScheduleKind.WEBHOOK, enabled=True).count() == 2
    lanes = timeline.account_timeline(world.acme_us, BEFORE_AUTUMN).lanes
    assert [(lane.job_label, lane.kind) for lane in lanes] == [("Import Orders", ScheduleKind.WEBHOOK)]


def test_the_schedule_asks_for_an_account_first(client_for, world):
    page = client_for(world.org_admin).get(reverse("schedule"))
    assert page.status_code == 200 and 'data-testid="schedule"' not in page.content.decode()

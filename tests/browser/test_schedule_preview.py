"""Next runs as a person sees them: the preview's UTC against the API across a DST change,
and the preview following a job row's fields before anything is saved."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from automations import selectors
from automations.models import ChannelJobSetting, StableJobSetting
from channels import services as channel_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# 18:00 EDT on the eve of New York's autumn change (02:00 EDT → 01:00 EST on 2026-11-01).
EVE_OF_AUTUMN = datetime(2026, 10, 31, 22, 0, tzinfo=UTC)
ITEM = re.compile(r"^\w{3} (\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d) (EDT|EST) \((\d\d):(\d\d):(\d\d) UTC\)$")


@pytest.fixture
def clock(monkeypatch):
    """The previews' clock, injected into the live server (it runs in this process)."""
    monkeypatch.setattr(selectors, "clock", lambda: EVE_OF_AUTUMN)


@pytest.fixture
def beta(world):
    return channel_services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Beta Shop",
        platform="sandbox_marketplace_beta",
        credentials={"api_key": "k"},
    )


def preview_items(row) -> list[str]:
    row.locator('[data-testid="next-runs"] summary').first.click()
    items = row.locator('[data-testid="next-runs"] li')
    expect(items).to_have_count(5)
    return [" ".join(text.split()) for text in items.all_inner_texts()]


def test_preview_matches_the_apis_utc_across_the_autumn_change(world, beta, clock, sign_in_at_account, api):
    ChannelJobSetting.objects.create(channel=beta, job_type="import_orders", period_minutes=480)
    page = sign_in_at_account(world.account_admin.email, world.acme_us)
    page.goto(f"/channels/{beta.pk}/")
    texts = preview_items(page.locator('#automations tr[data-job="import_orders"]'))

    jobs = api(world.acme_us).get(f"/api/v1/channels/{beta.pk}/jobs/").json()["jobs"]
    expected = next(j for j in jobs if j["job_type"] == "import_orders")["next_runs"]
    zones = []
    for text, run in zip(texts, expected, strict=True):
        day, hh, mm, ss, zone, uh, um, us = ITEM.match(text).groups()
        utc = datetime.fromisoformat(run["utc"]).astimezone(UTC)
        assert f"{uh}:{um}:{us}" == f"{utc:%H:%M:%S}", text
        local = datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}")
        assert utc.replace(tzinfo=None) - local == timedelta(hours=4 if zone == "EDT" else 5), text
        assert datetime.fromisoformat(run["local"]).strftime("%H:%M:%S") == f"{hh}:{mm}:{ss}"
        zones.append(zone)
    # Each 8 hours of the wall clock: 00:00 EDT, then 08:00 and 16:00 EST on the day of the change.
    assert zones[0] == "EDT" and set(zones[1:]) == {"EST"}
    assert [t.split()[2][:2] for t in texts] == ["00", "08", "16", "00", "08"]


def test_a_channel_row_previews_its_unsaved_fields(world, beta, clock, sign_in_at_account):
    page = sign_in_at_account(world.account_admin.email, world.acme_us)
    page.goto(f"/channels/{beta.pk}/")
    section = page.locator("#automations")
    row = section.locator('tr[data-job="import_orders"]')
    expect(
        row.get_by_text("Enabled, but with no Main Job Period it does not run in this mode.")
    ).to_be_visible()

    section.get_by_label("Main Job Period: Import Orders").select_option(label="Each 8 hours")
    expect(row.get_by_test_id("draft-note")).to_be_visible()
    section.get_by_label("Delay: Import Orders", exact=True).select_option(label="1 hour")
    # The documents' example: Each 8 hours with a 1 hour Delay runs near 23:00, 07:00, 15:00.
    expect(row.locator('[data-testid="next-runs"] li').first).to_contain_text(" 23:0")
    hours = [t.split()[2][:2] for t in preview_items(row)]
    assert hours == ["23", "07", "15", "23", "07"]
    assert not ChannelJobSetting.objects.filter(channel=beta).exists()

    # A Delay as long as the period cannot apply: it is not offered.
    section.get_by_label("Main Job Period: Import Orders").select_option(label="Each hour")
    expect(
        section.get_by_label("Delay: Import Orders", exact=True).locator("option", has_text="1 hour")
    ).to_be_disabled()
    expect(row.get_by_text("Delay must be shorter than the period.")).to_be_visible()

    section.get_by_label("Mode").select_option(label="Webhook")
    pushed = section.locator('tr[data-job="export_inventory"]')
    expect(pushed.get_by_test_id("webhook-lead")).to_have_text(
        "No webhook announces this job and it has no Emergency Job Period: it does not run."
    )
    expect(pushed.get_by_text("Runs on webhooks")).to_have_count(0)
    expect(pushed.get_by_label("Webhook Delay: Export Inventory")).to_have_count(0)
    section.get_by_label("Emergency Job Period: Export Inventory").select_option(label="Each 4 hours")
    expect(pushed.get_by_test_id("webhook-lead")).to_have_text(
        "No webhook announces this job: only its emergency checks run it."
    )
    expect(row.get_by_test_id("webhook-lead")).to_have_text("Runs on webhooks, at once.")


def test_a_recurring_jobs_row_previews_its_unsaved_fields(world, clock, sign_in_at_account):
    channel_services.create_channel(
        None, world.acme_us, kind="sales", name="Shop", platform="sandbox_marketplace", credentials={}
    )
    page = sign_in_at_account(world.account_admin.email, world.acme_us)
    page.goto("/account/recurring-jobs/")
    row = page.locator('tr[data-job="import_orders"]')
    expect(row.get_by_text("Disabled: it does not run.")).to_be_visible()
    page.get_by_label("Enabled: Import Orders").check()
    page.get_by_label("Period: Import Orders").select_option(label="Each 2 hours")
    page.get_by_label("Delay: Import Orders", exact=True).select_option(label="Minimal 5 minutes")
    expect(row.get_by_test_id("draft-note")).to_be_visible()
    expect(row.locator('[data-testid="next-runs"] li').first).to_contain_text(" 18:")
    # Every 2 hours of the wall clock, each run postponed by 5 minutes (plus the job's offset):
    # the 18:00 window's run is still to come at 18:00; 02:00 comes after the repeated hour.
    texts = preview_items(row)
    assert [t.split()[2][:2] for t in texts] == ["18", "20", "22", "00", "02"]
    assert all(5 <= int(t.split()[2][3:5]) < 17 for t in texts)
    assert ITEM.match(texts[-1]).group(5, 6) == ("EST", "07")
    assert not StableJobSetting.objects.exists()

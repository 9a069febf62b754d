"""The account's schedule of the next 24 hours as a person sees it: every job of every
channel, stable and beta, emergency checks included, and where runs pile up."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from automations import selectors
from automations.models import Mode, ScheduleEntry
from automations.reconciler import reconcile_account
from automations.services import save_channel_automation, save_recurring_jobs
from channels import services as channel_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# 18:00 EDT on the eve of New York's autumn change.
EVE_OF_AUTUMN = datetime(2026, 10, 31, 22, 0, tzinfo=UTC)


def channel(world, name, platform):
    return channel_services.create_channel(
        None, world.acme_us, kind="sales", name=name, platform=platform, credentials={"api_key": "k"}
    )


def test_the_schedule_shows_every_job_and_where_runs_pile_up(world, monkeypatch, sign_in_at_account):
    monkeypatch.setattr(selectors, "clock", lambda: EVE_OF_AUTUMN)
    channel(world, "Shop", "sandbox_marketplace")
    beta = channel(world, "Beta Shop", "sandbox_marketplace_beta")
    webhooks = channel(world, "Hook Shop", "sandbox_marketplace_beta")
    admin = world.account_admin
    save_recurring_jobs(admin, world.acme_us, {"import_orders": {"enabled": True, "period_minutes": 1440}}, 0)
    save_channel_automation(
        admin, beta, Mode.RECURRING, {"import_orders": {"enabled": True, "period_minutes": 1440}}, 1
    )
    save_channel_automation(
        admin,
        webhooks,
        Mode.WEBHOOK,
        {"import_orders": {"enabled": True, "emergency_period_minutes": 1440}},
        1,
    )
    # The rows as the reconciler derives them at the injected clock's time (the saves above
    # reconciled at the real time, on commit).
    ScheduleEntry.objects.all().delete()
    reconcile_account(world.acme_us.pk, now=EVE_OF_AUTUMN)

    page = sign_in_at_account(admin.email, world.acme_us)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto("/job-runs/")
    page.get_by_role("link", name="The next 24 hours").click()
    schedule = page.get_by_test_id("schedule")
    expect(schedule).to_contain_text("From Sat 2026-10-31 18:00 EDT")
    lanes = page.locator("#timeline tbody tr")
    expect(lanes.filter(has_text="Shop · Import Orders").filter(has_text="Account-wide job")).to_have_count(1)
    expect(lanes.filter(has_text="Beta Shop · Import Orders")).to_have_count(1)
    expect(lanes.filter(has_text="Emergency check")).to_have_count(1)
    expect(lanes.filter(has_text="Runs on webhooks")).to_have_count(1)
    # Three daily jobs open at local midnight: the quarter hour after it is where they pile up.
    expect(page.get_by_test_id("pile-ups")).to_contain_text("Sun 00:00 EDT, 15 minutes: 3 runs")
    expect(page.locator("#timeline tr.density rect.pile")).to_have_count(1)
    expect(schedule).to_contain_text("3 runs in all")
    emergency = lanes.filter(has_text="Emergency check")
    emergency.locator("summary").click()
    expect(emergency.locator(".run-times li")).to_have_text([re.compile(r"^Sun 00:0\d:\d\d EDT$")])
    assert refused == []  # the drawing is SVG attributes, which the policy allows

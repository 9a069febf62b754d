"""The beta channel's Automations section in a real browser."""

import pytest
from playwright.sync_api import expect

from automations.models import ChannelJobSetting, Mode, ScheduleEntry, ScheduleKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_webhook_mode_then_by_id_shows_emergency_fields_disabled(world, beta_channel, sign_in_page):
    page = sign_in_page(world.account_admin.email)
    page.get_by_label("Switch account").select_option(label=f"{world.acme_us.code} · {world.acme_us.name}")
    page.get_by_role("button", name="Switch", exact=True).click()
    page.wait_for_url("**/account/")
    page.goto(f"/channels/{beta_channel.pk}/")
    section = page.locator("#automations")
    section.get_by_label("Mode").select_option(label="Webhook")
    section.get_by_label("Webhook Delay: Import Orders").select_option(label="5 minutes")
    section.get_by_label("Emergency Job Period: Import Orders").select_option(label="Each hour")
    expect(section.get_by_label("Main Job Period: Import Orders")).to_be_hidden()
    section.get_by_role("button", name="Save automations").click()
    page.wait_for_url("**#automations")
    expect(page.get_by_text("Automations saved.")).to_be_visible()
    row = section.locator('tr[data-job="import_orders"]')
    row.get_by_text("Next runs").first.click()
    expect(row.locator('[data-testid="next-runs"] li')).to_have_count(5)
    assert ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY, job_type="import_orders").enabled

    section.get_by_label("Mode").select_option(label="Recurring Job By ID")
    emergency = section.get_by_label("Emergency Job Period: Import Orders")
    expect(emergency).to_be_visible()
    expect(emergency).to_be_disabled()
    expect(row.get_by_text("Emergency fallback jobs are off in Recurring Job By ID mode.")).to_be_visible()
    section.get_by_label("Main Job Period: Import Orders").select_option(label="Each 15 minutes")
    section.get_by_role("button", name="Save automations").click()
    page.wait_for_url("**#automations")
    expect(section.get_by_label("Emergency Job Period: Import Orders")).to_be_disabled()
    setting = ChannelJobSetting.objects.get(channel=beta_channel, job_type="import_orders")
    # The disabled field kept its value; the fallback row is off.
    assert (setting.emergency_period_minutes, setting.period_minutes) == (60, 15)
    assert not ScheduleEntry.objects.get(kind=ScheduleKind.EMERGENCY, job_type="import_orders").enabled
    assert beta_channel.automation.mode == Mode.RECURRING_BY_ID

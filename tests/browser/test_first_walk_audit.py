"""Issue 16, first walk item 8 as a person sees it: changing one field of a channel's
automations leaves one line in the Audit Log, not one per job and field."""

import pytest
from playwright.sync_api import expect

from automations.services import PERIODS
from channels import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_one_changed_field_of_a_channels_automations_is_one_audit_log_line(world, sign_in_at_account):
    channel = services.create_channel(
        None, world.acme_us, kind="sales", name="Beta Shop", platform="sandbox_marketplace_beta"
    )
    page = sign_in_at_account("orgadmin@acme.test", world.acme_us)
    page.goto(f"/channels/{channel.pk}/")
    automations = page.locator("form").filter(has=page.get_by_role("button", name="Save automations"))
    # The page posts every job's every field; only this one changes.
    expect(automations.locator("select")).not_to_have_count(0)
    page.get_by_label("Main Job Period: Import Orders").select_option(label=PERIODS[60])
    page.get_by_role("button", name="Save automations").click()
    expect(page.get_by_role("listitem").first).to_be_visible()

    page.goto("/account/audit-log/")
    # The channel's creation (by the system, above) is the log's other line.
    rows = page.get_by_test_id("audit-log").locator("tbody tr").filter(has_text="orgadmin@acme.test")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text("orgadmin@acme.test")
    expect(cells.nth(2)).to_have_text("Channel Beta Shop: Import Orders: Main Job Period")
    expect(cells.nth(3)).to_have_text("None")
    expect(cells.nth(4)).to_have_text(PERIODS[60])

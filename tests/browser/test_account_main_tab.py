"""The Account page's Main tab in a real browser, as each role uses it."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from accounts.services import ACCOUNT_SETTINGS_FIELDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_organization_administrator_edits_an_account_through_organizations(world, sign_in_page):
    page = sign_in_page("orgadmin@acme.test")

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Organizations").click()
    page.get_by_role("row", name="Acme Corp").get_by_role("link", name="Edit").click()
    page.get_by_role("row").filter(has_text="ACME-EU").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ACME-EU")

    page.get_by_label("Name", exact=True).fill("Acme Europe")
    page.get_by_label("Weight").select_option(label="Pound")
    page.get_by_role("button", name="Save").first.click()

    expect(page.get_by_role("listitem").filter(has_text="Account saved.")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Acme Europe")
    expect(page.get_by_label("Weight")).to_have_value("lb")
    stored = Account.objects.get(pk=world.acme_eu.pk)
    assert (stored.name, stored.weight_unit) == ("Acme Europe", "lb")


def _zoned(moment, zone_name):
    local = moment.astimezone(ZoneInfo(zone_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone_name})"


def test_account_administrator_changes_timezone_and_sees_dates_converted(world, sign_in_at_account):
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    expect(page.get_by_test_id("current-account")).to_contain_text("ACME-US")
    created_at = Account.objects.get(pk=world.acme_us.pk).created_at
    expect(page.get_by_test_id("created-at")).to_have_text(_zoned(created_at, "America/New_York"))

    page.get_by_label("Timezone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").first.click()

    expect(page.get_by_role("listitem").filter(has_text="Account saved.")).to_be_visible()
    stored = Account.objects.get(pk=world.acme_us.pk)
    assert stored.timezone == "Asia/Tokyo"
    # Tokyo keeps no daylight saving: UTC+9 the whole year.
    tokyo_created = created_at + timedelta(hours=9)
    expect(page.get_by_test_id("created-at")).to_have_text(f"{tokyo_created:%Y-%m-%d %H:%M} JST (Asia/Tokyo)")
    expect(page.get_by_test_id("updated-at")).to_have_text(_zoned(stored.updated_at, "Asia/Tokyo"))
    expect(page.get_by_test_id("current-account")).to_contain_text("Asia/Tokyo")


SETTINGS_SHOWN = ("name", "code", "size_unit", "volume_unit", "pii_retention_days", "version")


def _stored(account, fields=SETTINGS_SHOWN):
    return Account.objects.filter(pk=account.pk).values(*fields).get()


def test_refused_save_keeps_the_input_and_shows_each_error_beside_its_field(world, sign_in_at_account):
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    before = _stored(world.acme_us)

    page.get_by_label("Code").fill("x")
    page.get_by_label("Size").select_option(label="Inch")
    page.get_by_label("Volume").select_option(label="Cubic Centimeter")
    page.get_by_label("PII retention days").fill("0")
    page.get_by_role("button", name="Save").first.click()

    expect(page.get_by_role("alert").filter(has_text="Nothing was saved")).to_be_visible()
    expect(page.locator("#row-code .errorlist")).to_contain_text("Use 2 to 32 characters")
    for name in ("size_unit", "volume_unit"):
        expect(page.locator(f"#row-{name} .errorlist")).to_contain_text(
            "Size and Volume must be of the same system"
        )
    expect(page.locator("#row-pii_retention_days .errorlist")).to_contain_text("greater than or equal to 1")
    # Fields without a fault carry no error.
    expect(page.locator("#row-name .errorlist")).to_have_count(0)

    expect(page.get_by_label("Code")).to_have_value("x")
    expect(page.get_by_label("Size")).to_have_value("in")
    expect(page.get_by_label("Volume")).to_have_value("cm3")
    expect(page.get_by_label("PII retention days")).to_have_value("0")
    assert _stored(world.acme_us) == before


def test_second_persons_stale_save_is_refused_without_losing_the_first_save(
    world, sign_in_at_account, new_signed_in_page
):
    second = sign_in_at_account("admin@acme-us.test", world.acme_us)
    first = new_signed_in_page("orgadmin@acme.test")
    first.goto(f"/organizations/{world.acme.pk}/accounts/{world.acme_us.pk}/")

    first.get_by_label("Name", exact=True).fill("Acme USA")
    first.get_by_role("button", name="Save").first.click()
    expect(first.get_by_role("listitem").filter(has_text="Account saved.")).to_be_visible()

    second.get_by_label("Weight").select_option(label="Ounce")
    second.get_by_role("button", name="Save").first.click()

    expect(second.get_by_role("alert").filter(has_text="changed by orgadmin@acme.test")).to_contain_text(
        "Nothing was saved"
    )
    expect(second.get_by_label("Weight")).to_have_value("oz")
    stored = _stored(world.acme_us, ("name", "weight_unit"))
    assert stored == {"name": "Acme USA", "weight_unit": "kg"}


def test_account_user_sees_the_main_tab_read_only(world, sign_in_at_account):
    page = sign_in_at_account("user@acme-us.test", world.acme_us)

    expect(page.get_by_text("You have read-only access to this account.")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Regenerate")).to_have_count(0)
    controls = page.locator("#settings-form select, #settings-form input:not([type=hidden])")
    expect(controls).to_have_count(len(ACCOUNT_SETTINGS_FIELDS))
    for control in controls.all():
        expect(control).to_be_disabled()

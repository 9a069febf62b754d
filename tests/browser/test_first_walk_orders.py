"""Issue 16, first walk items 9 and 10 as a person sees them: the sales order page's
actions, address and shipping method; disabled controls that look disabled; table
times with the zone named once and each on one line."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from accounts.services import Change, record_audit
from catalog.models import Carrier
from channels import services
from orders.models import OrderSource, SalesOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# New York changes to daylight time at 07:00 UTC that day: one order either side.
BEFORE_DST = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
AFTER_DST = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def _order(account, number, ordered_at, **fields) -> SalesOrder:
    order = SalesOrder.objects.create(
        account=account,
        source=OrderSource.API,
        number=number,
        ordered_at=ordered_at,
        customer_name="Jane Doe",
        customer_email="jane@example.com",
        ship_address1="1 Demo Street",
        ship_city="Newark",
        ship_region="NJ",
        ship_postal_code="07102",
        ship_country="US",
        carrier_code="UPS",
        service_code="03",
        **fields,
    )
    order.lines.create(line_number=1, sku="SKU-1", name="Mug", quantity=1)
    return order


def _box(locator) -> dict:
    return locator.bounding_box()


def test_sales_order_page_reads_cleanly(world, sign_in_at_account):
    # Seeded by a migration, and flushed by an earlier transactional test on PostgreSQL.
    ups, _ = Carrier.objects.get_or_create(code="UPS", defaults={"name": "UPS"})
    ups.services.get_or_create(code="03", defaults={"name": "Ground"})
    order = _order(world.acme_us, "SO-1", BEFORE_DST)
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    page.goto(f"/sales-orders/{order.pk}/")

    expect(page.get_by_test_id("ship-to")).to_have_text("1 Demo StreetNewark, NJ 07102US")
    assert page.get_by_test_id("ship-to").inner_text().splitlines() == [
        "1 Demo Street",
        "Newark, NJ 07102",
        "US",
    ]
    expect(page.get_by_test_id("shipping")).to_have_text("UPS Ground (UPS 03)")
    assert " ," not in page.locator("section.card").first.inner_text()

    # The actions sit above the card, not over it.
    actions, card = page.locator(".order-actions"), page.locator("section.card").first
    assert _box(actions)["y"] + _box(actions)["height"] <= _box(card)["y"]
    for button in ("Process order", "Cancel order"):
        box = _box(page.get_by_role("button", name=button))
        assert box["y"] + box["height"] <= _box(card)["y"], button
    # The Reason's placeholder is whole: its text fits inside the field.
    reason = page.get_by_label("Reason")
    expect(reason).to_have_attribute("placeholder", "Optional, kept in the history")
    text_width, inner_width = reason.evaluate(
        """(input) => {
            const style = getComputedStyle(input);
            const context = document.createElement("canvas").getContext("2d");
            context.font = style.font;
            const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
            return [context.measureText(input.placeholder).width, input.clientWidth - padding];
        }"""
    )
    assert text_width <= inner_width


def test_unknown_carrier_codes_are_shown_as_they_came_and_said_so(world, sign_in_at_account):
    order = _order(world.acme_us, "SO-2", BEFORE_DST)
    SalesOrder.objects.filter(pk=order.pk).update(carrier_code="ACME", service_code="X1")
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    page.goto(f"/sales-orders/{order.pk}/")
    expect(page.get_by_test_id("shipping")).to_have_text("ACME X1 (not in the carrier catalogue)")


def test_disabled_controls_look_disabled(world, sign_in_at_account):
    # No credentials yet: Test connection cannot run.
    channel = services.create_channel(
        None, world.acme_us, kind="sales", name="Shop", platform="sandbox_marketplace"
    )
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    page.goto(f"/channels/{channel.pk}/")
    disabled = page.get_by_role("button", name="Test connection")
    enabled = page.get_by_role("button", name="Save", exact=True)
    expect(disabled).to_be_disabled()
    expect(enabled).to_be_enabled()

    def look(button):
        return button.evaluate(
            "(b) => { const s = getComputedStyle(b); return [parseFloat(s.opacity), s.cursor]; }"
        )

    assert look(enabled) == [1.0, "pointer"]
    opacity, cursor = look(disabled)
    assert opacity <= 0.5 and cursor == "not-allowed"


def test_table_times_name_the_zone_once_and_stay_on_one_line(world, sign_in_at_account):
    _order(world.acme_us, "SO-BEFORE", BEFORE_DST)
    _order(world.acme_us, "SO-AFTER", AFTER_DST)
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    page.set_viewport_size({"width": 900, "height": 800})
    page.goto("/sales-orders/")

    expect(page.get_by_test_id("current-account")).to_contain_text("America/New_York")
    table = page.locator("table.grid")
    expect(table).not_to_contain_text("America/New_York")
    for number, shown, instant in (
        ("SO-BEFORE", "2026-03-08 01:30 EST", "2026-03-08T06:30:00+00:00"),
        ("SO-AFTER", "2026-03-08 03:30 EDT", "2026-03-08T07:30:00+00:00"),
    ):
        time = table.get_by_role("row").filter(has_text=number).locator("time")
        expect(time).to_have_text(shown)
        expect(time).to_have_attribute("datetime", instant)
        expect(time).to_have_attribute("title", re.compile(r"\(America/New_York\)$"))
        assert time.evaluate("(t) => t.getClientRects().length") == 1, f"{number}'s time wraps"


def test_account_pages_reached_through_organizations_name_the_accounts_zone(world, sign_in_page):
    record_audit(world.org_admin, world.acme_eu, world.acme, "renamed", [Change("Name", "EU", "Acme EU")])
    page = sign_in_page("orgadmin@acme.test")
    page.goto(f"/organizations/{world.acme.pk}/accounts/{world.acme_eu.pk}/audit-log/")

    expect(page.get_by_test_id("current-account")).to_contain_text("No account selected")
    expect(page.get_by_text("Times on this page are in the account's zone, Europe/Berlin.")).to_be_visible()
    time = page.get_by_test_id("audit-log").locator("time")
    expect(time).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d CES?T$"))

"""Master Product Channel on the Main tab: shown only for a channel source, listing
only the channels that can be the master for that source."""

import pytest
from playwright.sync_api import expect

from channels.models import Channel
from channels.platforms import PLATFORMS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _option_label(channel):
    return f"{channel.name} ({channel.platform_info.label})"


def test_master_product_channel_appears_for_a_channel_source_with_only_that_kinds_channels(
    world, sign_in_at_account
):
    # One channel on every platform, so the expectation follows the platform catalogue.
    channels = [
        Channel.objects.create(
            account=world.acme_us, name=f"{platform.label} shop", kind=platform.kind, platform=key
        )
        for key, platform in PLATFORMS.items()
    ]
    Channel.objects.create(
        account=world.acme_us,
        name="Closed marketplace",
        kind="sales",
        platform="sandbox_marketplace",
        is_active=False,
    )
    Channel.objects.create(
        account=world.acme_eu, name="EU marketplace", kind="sales", platform="sandbox_marketplace"
    )

    def offered(kind):
        return sorted(
            _option_label(c) for c in channels if c.kind == kind and c.platform_info.supports_product_import
        )

    assert offered("sales"), "the catalogue has a sales platform that imports products"
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)
    source = page.get_by_label("Master Product Source")
    row = page.locator("#row-master_product_channel")
    options = page.get_by_label("Master Product Channel").locator("option")
    expect(row).to_be_hidden()

    source.select_option(label="Sales Channel")
    expect(row).to_be_visible()
    expect(options).to_have_text(["---------", *offered("sales")])

    source.select_option(label="Fulfillment Channel")
    expect(options).to_have_text(["---------", *offered("fulfillment")])
    # With nothing to offer, the page says why instead of showing an empty list.
    nothing_offered = row.get_by_text("This account has no Fulfillment Channel that can import products.")
    if offered("fulfillment"):
        expect(nothing_offered).to_be_hidden()
    else:
        expect(nothing_offered).to_be_visible()

    source.select_option(label="techOMS")
    expect(row).to_be_hidden()


def test_master_product_channel_chosen_in_the_page_is_stored(world, sign_in_at_account):
    marketplace = Channel.objects.create(
        account=world.acme_us, name="Marketplace", kind="sales", platform="sandbox_marketplace"
    )
    page = sign_in_at_account("admin@acme-us.test", world.acme_us)

    page.get_by_label("Master Product Source").select_option(label="Sales Channel")
    page.get_by_label("Master Product Channel").select_option(label=_option_label(marketplace))
    page.get_by_role("button", name="Save").first.click()

    expect(page.get_by_role("listitem").filter(has_text="Account saved.")).to_be_visible()
    expect(page.get_by_label("Master Product Channel")).to_have_value(str(marketplace.pk))
    world.acme_us.refresh_from_db()
    assert world.acme_us.master_product_source == "sales"
    assert world.acme_us.master_product_channel == marketplace

"""Channel pages: lists per kind, add, settings, mappings, webhook secret, manual sync,
and who may see or change what."""

import pytest
from django.urls import reverse

from automations.models import JobRun, RunStatus
from channels import services
from channels.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(world):
    return services.create_channel(
        None,
        world.acme_us,
        kind="sales",
        name="Acme Shop",
        platform="sandbox_marketplace",
        credentials={"api_key": "sbx_super_secret_key"},
    )


def detail(channel):
    return reverse("channel_detail", args=[channel.pk])


def test_lists_show_the_current_accounts_channels_of_that_kind(client_for, world, shop):
    services.create_channel(None, world.acme_us, kind="fulfillment", name="Acme WMS", platform="sandbox_3pl")
    services.create_channel(None, world.acme_eu, kind="sales", name="EU Shop", platform="sandbox_marketplace")
    client = client_for(world.account_user, world.acme_us)
    sales = client.get("/sales-channels/").content.decode()
    fulfillment = client.get("/fulfillment-channels/").content.decode()
    assert "Acme Shop" in sales and "Acme WMS" not in sales and "EU Shop" not in sales
    assert "Acme WMS" in fulfillment and "Acme Shop" not in fulfillment


def test_menu_shows_both_channel_sections_at_an_account(client_for, world):
    page = client_for(world.account_user, world.acme_us).get("/sales-channels/").content.decode()
    assert "Sales Channels" in page and "Fulfillment Channels" in page


@pytest.mark.parametrize("url_name", ["channel_detail", "channel_runs"])
def test_another_tenants_channel_is_404(client_for, world, shop, url_name):
    url = reverse(url_name, args=[shop.pk])
    assert client_for(world.globex_admin, world.globex_jp).get(url).status_code == 404


def test_a_channel_of_another_account_of_the_same_organization_is_404_at_this_account(
    client_for, world, shop
):
    client = client_for(world.org_admin, world.acme_eu)
    assert client.get(detail(shop)).status_code == 404
    assert client.post(detail(shop), {"action": "rotate_secret"}).status_code == 404


def test_account_user_reads_but_cannot_change(client_for, world, shop):
    client = client_for(world.account_user, world.acme_us)
    assert client.get(detail(shop)).status_code == 200
    assert client.get("/sales-channels/add/").status_code == 403
    for action in ("save", "rotate_secret", "add_mapping", "deactivate", "sync"):
        assert client.post(detail(shop), {"action": action, "job_type": "import_orders"}).status_code == 403
    shop.refresh_from_db()
    assert shop.is_active and shop.version == 1


def test_add_offers_only_platforms_of_that_kind_and_creates_the_channel(client_for, world):
    client = client_for(world.account_admin, world.acme_us)
    page = client.get("/fulfillment-channels/add/").content.decode()
    assert "Sandbox 3PL Beta" in page and "Sandbox Marketplace" not in page
    refused = client.post(
        "/fulfillment-channels/add/",
        {"name": "X", "platform": "sandbox_marketplace", "buffer_stock": 0, "api_key": "k"},
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    response = client.post(
        "/fulfillment-channels/add/",
        {
            "name": "Acme WMS",
            "platform": "sandbox_3pl_beta",
            "buffer_stock": 2,
            "api_key": "k",
            "is_active": "on",
        },
    )
    channel = Channel.objects.get(name="Acme WMS")
    assert response.status_code == 302 and response["Location"] == detail(channel)
    assert (channel.kind, channel.platform, channel.buffer_stock, channel.account) == (
        "fulfillment",
        "sandbox_3pl_beta",
        2,
        world.acme_us,
    )


def test_credentials_are_stored_encrypted_and_never_shown_back(client_for, world, shop):
    page = client_for(world.account_admin, world.acme_us).get(detail(shop)).content.decode()
    assert "sbx_super_secret_key" not in page
    assert "stored (encrypted, never shown)" in page
    raw = Channel.objects.filter(pk=shop.pk).values_list("credentials_encrypted", flat=True).get()
    assert "sbx_super_secret_key" not in raw
    assert shop.credentials == {"api_key": "sbx_super_secret_key"}


def test_saving_with_blank_credentials_keeps_them(client_for, world, shop):
    client = client_for(world.account_admin, world.acme_us)
    response = client.post(
        detail(shop),
        {
            "action": "save",
            "name": "Renamed",
            "platform": shop.platform,
            "buffer_stock": 3,
            "is_active": "on",
            "version": 1,
        },
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.name, shop.buffer_stock, shop.credentials) == (
        "Renamed",
        3,
        {"api_key": "sbx_super_secret_key"},
    )


def test_second_save_from_a_stale_page_is_refused(client_for, world, shop):
    client = client_for(world.account_admin, world.acme_us)
    form = {
        "action": "save",
        "name": "One",
        "platform": shop.platform,
        "buffer_stock": 0,
        "is_active": "on",
        "version": 1,
    }
    assert client.post(detail(shop), form).status_code == 302
    response = client.post(detail(shop), {**form, "name": "Two"})
    assert "changed" in response.content.decode() and "since you opened them" in response.content.decode()
    shop.refresh_from_db()
    assert shop.name == "One"


@pytest.mark.parametrize("days", ["0", "3651"])
def test_pii_retention_override_is_1_to_3650(client_for, world, shop, days):
    client = client_for(world.account_admin, world.acme_us)
    response = client.post(
        detail(shop),
        {
            "action": "save",
            "name": shop.name,
            "platform": shop.platform,
            "buffer_stock": 0,
            "pii_retention_days": days,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["pii_retention_days"]
    shop.refresh_from_db()
    assert shop.pii_retention_days is None


def test_mapping_accepts_only_this_accounts_warehouses_once(client_for, world, shop):
    client = client_for(world.account_admin, world.acme_us)
    foreign = world.warehouses["ACME-EU-1"]
    response = client.post(detail(shop), {"action": "add_mapping", "location": "EU", "warehouse": foreign.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    own = world.warehouses["ACME-US-1"]
    assert (
        client.post(
            detail(shop), {"action": "add_mapping", "location": "EAST", "warehouse": own.pk}
        ).status_code
        == 302
    )
    again = client.post(detail(shop), {"action": "add_mapping", "location": "EAST2", "warehouse": own.pk})
    assert "already mapped" in again.content.decode()
    assert [(m.location, m.warehouse) for m in shop.warehouse_mappings.all()] == [("EAST", own)]


def test_mapping_service_refuses_a_foreign_warehouse(world, shop):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        services.add_mapping(None, shop, "EU", world.warehouses["GLOBEX-1"].pk)
    assert "warehouse" in error.value.message_dict


def test_rotating_the_secret_shows_the_new_one_once(client_for, world, shop):
    client = client_for(world.account_admin, world.acme_us)
    old = shop.webhook_secret
    client.post(detail(shop), {"action": "rotate_secret"})
    shop.refresh_from_db()
    assert shop.webhook_secret != old
    first = client.get(detail(shop)).content.decode()
    assert shop.webhook_secret in first and f"/webhooks/{shop.webhook_token}/" in first
    assert shop.webhook_secret not in client.get(detail(shop)).content.decode()


def test_deactivate_then_activate(client_for, world, shop):
    client = client_for(world.account_admin, world.acme_us)
    client.post(detail(shop), {"action": "deactivate"})
    shop.refresh_from_db()
    assert not shop.is_active
    client.post(detail(shop), {"action": "activate"})
    shop.refresh_from_db()
    assert shop.is_active


def test_channel_page_has_the_automations_section_and_one_button_per_job(client_for, world, shop):
    page = client_for(world.account_admin, world.acme_us).get(detail(shop)).content.decode()
    assert 'data-testid="automations"' in page
    for label in (
        "Import Orders",
        "Export Inventory",
        "Export Tracking",
        "Import Products",
        "Export Products",
    ):
        assert label in page
    assert 'data-job="send_orders"' not in page
    assert "Import Products runs only against the Master Product Channel" in page


def test_manual_sync_runs_the_job_in_the_background_and_lists_the_run(
    client_for, linked, eager_celery, django_capture_on_commit_callbacks
):
    linked.place_order()
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail(linked.marketplace), {"action": "sync", "job_type": "import_orders"})
    assert response.status_code == 302
    run = JobRun.objects.get()
    assert (run.trigger, run.status, run.counts, run.requested_by) == (
        "manual",
        RunStatus.SUCCESS,
        {"imported": 1},
        linked.world.account_admin,
    )
    runs = client.get(reverse("channel_runs", args=[linked.marketplace.pk])).content.decode()
    assert "Import Orders" in runs and "Success" in runs and "imported: 1" in runs


def test_manual_sync_of_an_unsupported_job_is_refused(client_for, world, shop):
    client = client_for(world.account_admin, world.acme_us)
    client.post(detail(shop), {"action": "sync", "job_type": "send_orders"})
    assert not JobRun.objects.exists()

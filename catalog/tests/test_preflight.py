"""The Master Product Source preflight: real counts from the master channel, and nothing
changes until the person confirms."""

import pytest

from accounts.models import Account, AuditEntry
from accounts.tests.test_views import main_form
from catalog.models import Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue_with_collisions(linked):
    # The account's two products were made in techOMS; the marketplace lists them too,
    # plus one SKU the account does not have.
    linked.store.upsert_products(linked.shop("mkt"), [{"sku": "SKU-3", "title": "Gizmo", "price": "1"}])
    return linked


def switch_to_marketplace(client, linked, **extra):
    data = main_form(
        linked.world.acme_us,
        master_product_source="sales",
        master_product_channel=linked.marketplace.pk,
        **extra,
    )
    return client.post("/account/main/", data)


def test_changing_the_source_with_products_asks_first_with_real_counts(client_for, catalogue_with_collisions):
    linked = catalogue_with_collisions
    client = client_for(linked.world.org_admin, account=linked.world.acme_us)
    response = switch_to_marketplace(client, linked)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="master-source-preflight"' in body
    preflight = response.context["preflight"]
    assert (preflight.products, preflight.master_skus, preflight.collisions) == (2, 3, 2)
    assert preflight.collision_sample == ["SKU-1", "SKU-2"]
    assert preflight.becoming_hidden == ["Export Products on Marketplace"]
    assert preflight.becoming_offered == ["Import Products on Marketplace"]
    account = Account.objects.get(pk=linked.world.acme_us.pk)
    assert account.master_product_source == "techoms"
    assert not AuditEntry.objects.filter(field="Master Product Source").exists()


def test_confirming_the_preflight_saves_the_change(client_for, catalogue_with_collisions):
    linked = catalogue_with_collisions
    client = client_for(linked.world.org_admin, account=linked.world.acme_us)
    response = switch_to_marketplace(client, linked, confirm_master_source="1")
    assert response.status_code == 302
    account = Account.objects.get(pk=linked.world.acme_us.pk)
    assert (account.master_product_source, account.master_product_channel_id) == (
        "sales",
        linked.marketplace.pk,
    )
    assert Product.objects.filter(account=account).count() == 2


def test_an_invalid_change_shows_errors_not_the_preflight(client_for, catalogue_with_collisions):
    linked = catalogue_with_collisions
    client = client_for(linked.world.org_admin, account=linked.world.acme_us)
    response = client.post("/account/main/", main_form(linked.world.acme_us, master_product_source="sales"))
    body = response.content.decode()
    assert 'data-testid="master-source-preflight"' not in body
    assert 'id="id_master_product_channel_error"' in body


def test_an_unreachable_master_channel_is_said_on_the_preflight(client_for, catalogue_with_collisions):
    linked = catalogue_with_collisions
    linked.sandbox.faults.update(status=503)
    client = client_for(linked.world.org_admin, account=linked.world.acme_us)
    preflight = switch_to_marketplace(client, linked).context["preflight"]
    assert preflight.master_skus is None
    assert "could not be read" in preflight.fetch_error


def test_an_account_without_products_changes_the_source_at_once(client_for, catalogue_with_collisions):
    linked = catalogue_with_collisions
    Product.objects.filter(account=linked.world.acme_us).delete()
    client = client_for(linked.world.org_admin, account=linked.world.acme_us)
    assert switch_to_marketplace(client, linked).status_code == 302
    assert Account.objects.get(pk=linked.world.acme_us.pk).master_product_source == "sales"


def patch_source(api, linked, query=""):
    account = Account.objects.get(pk=linked.world.acme_us.pk)
    return api(account).patch(
        f"/api/v1/account/{query}",
        {
            "version": account.version,
            "master_product_source": "sales",
            "master_product_channel": linked.marketplace.pk,
        },
        content_type="application/json",
    )


def test_api_dry_run_previews_without_saving(api, catalogue_with_collisions):
    linked = catalogue_with_collisions
    response = patch_source(api, linked, "?dry_run=1")
    body = response.json()
    assert response.status_code == 200
    assert body["account"]["master_product_source"] == "sales"
    assert (body["preflight"]["products"], body["preflight"]["collisions"]) == (2, 2)
    assert Account.objects.get(pk=linked.world.acme_us.pk).master_product_source == "techoms"


def test_api_source_change_needs_confirmation_then_saves(api, catalogue_with_collisions):
    linked = catalogue_with_collisions
    refused = patch_source(api, linked)
    assert refused.status_code == 409
    assert refused.json()["code"] == "confirmation_required"
    assert refused.json()["preflight"]["becoming_offered"] == ["Import Products on Marketplace"]
    assert Account.objects.get(pk=linked.world.acme_us.pk).master_product_source == "techoms"
    confirmed = patch_source(api, linked, "?confirm=1")
    assert confirmed.status_code == 200
    assert Account.objects.get(pk=linked.world.acme_us.pk).master_product_source == "sales"


def test_api_dry_run_reports_invalid_input_as_400(api, catalogue_with_collisions):
    linked = catalogue_with_collisions
    account = Account.objects.get(pk=linked.world.acme_us.pk)
    response = api(account).patch(
        "/api/v1/account/?dry_run=1",
        {"version": account.version, "master_product_source": "sales"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "master_product_channel" in response.json()["errors"]

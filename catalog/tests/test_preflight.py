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

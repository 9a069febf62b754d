"""The Main tab's form posts, as a browser (or someone bypassing it) sends them."""

import pytest
from django.urls import reverse

from accounts.forms import AccountMainForm
from accounts.models import Account
from channels.models import Channel

pytestmark = pytest.mark.django_db

MAIN_TAB = reverse("current_account_tab", kwargs={"tab": "main"})


def main_tab_post(account, **changes):
    """What the page posts for `account` unchanged, with `changes` applied."""
    data = {
        name: "" if value is None else getattr(value, "pk", value)
        for name, value in AccountMainForm.initial_for(account).items()
    }
    data.update(changes)
    return data


def stored(account):
    return (
        Account.objects.filter(pk=account.pk)
        .values("master_product_source", "master_product_channel", "version")
        .get()
    )


@pytest.mark.parametrize("source", ["sales", "fulfillment"])
def test_channel_source_without_a_channel_is_refused_beside_the_field(world, client_for, source):
    client = client_for(world.account_admin, world.acme_us)
    before = stored(world.acme_us)

    response = client.post(
        MAIN_TAB, main_tab_post(world.acme_us, master_product_source=source, master_product_channel="")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["master_product_channel"] == [
        f"Select the master channel for the source {'Sales' if source == 'sales' else 'Fulfillment'} Channel."
    ]
    assert 'id="id_master_product_channel_error"' in response.content.decode()
    assert stored(world.acme_us) == before


def test_channel_that_cannot_be_the_master_is_refused(world, client_for):
    three_pl = Channel.objects.create(
        account=world.acme_us, name="3PL", kind="fulfillment", platform="sandbox_3pl"
    )
    client = client_for(world.account_admin, world.acme_us)
    before = stored(world.acme_us)

    response = client.post(
        MAIN_TAB,
        main_tab_post(world.acme_us, master_product_source="fulfillment", master_product_channel=three_pl.pk),
    )

    assert response.status_code == 200
    assert "master_product_channel" in response.context["form"].errors
    assert stored(world.acme_us) == before


def test_account_administrator_saves_without_the_fields_the_page_shows_disabled(world, client_for):
    client = client_for(world.account_admin, world.acme_us)
    # A browser does not post disabled fields: Organization and License Type here.
    data = main_tab_post(world.acme_us, name="Acme United States")
    del data["organization"], data["license_type"]

    response = client.post(MAIN_TAB, data)

    assert response.status_code == 302
    world.acme_us.refresh_from_db()
    assert world.acme_us.name == "Acme United States"
    assert world.acme_us.organization == world.acme


def test_account_administrator_posting_a_license_type_saves_the_rest_only(world, client_for):
    client = client_for(world.account_admin, world.acme_us)

    response = client.post(MAIN_TAB, main_tab_post(world.acme_us, name="Acme USA", license_type="enterprise"))

    assert response.status_code == 302
    world.acme_us.refresh_from_db()
    assert (world.acme_us.name, world.acme_us.license_type) == ("Acme USA", "standard")

"""A Tryton channel through the pages: its four credentials (URL, database and user shown
back, the password never), a bad URL refused beside its field, and nothing half-saved."""

import pytest

from channels.models import Channel

pytestmark = pytest.mark.django_db

TRYTON = {
    "name": "Tryton WH",
    "platform": "tryton",
    "buffer_stock": 0,
    "is_active": "on",
    "url": "http://127.0.0.1:8100/",
    "database": "techoms",
    "user": "admin",
    "password": "s3cret-tryton-pass",
}


def test_a_tryton_channel_is_added_with_its_credentials_and_the_password_is_never_shown(client_for, world):
    client = client_for(world.account_admin, world.acme_us)
    page = client.get("/fulfillment-channels/add/").content.decode()
    assert "Tryton (Stable)" in page
    response = client.post("/fulfillment-channels/add/", TRYTON)
    channel = Channel.objects.get(name="Tryton WH")
    assert response.status_code == 302
    assert (channel.kind, channel.platform) == ("fulfillment", "tryton")
    assert channel.credentials == {k: TRYTON[k] for k in ("url", "database", "user", "password")}
    shown = client.get(f"/channels/{channel.pk}/").content.decode()
    assert "s3cret-tryton-pass" not in shown
    assert "http://127.0.0.1:8100/" in shown and "techoms" in shown


def test_a_tryton_url_that_is_not_http_is_refused_and_nothing_is_saved(client_for, world):
    client = client_for(world.account_admin, world.acme_us)
    response = client.post("/fulfillment-channels/add/", {**TRYTON, "url": "file:///etc/passwd"})
    assert response.status_code == 200
    assert not Channel.objects.filter(name="Tryton WH").exists()
    assert "Enter an http:// or https:// URL, e.g. https://shop.example.com." in response.content.decode()

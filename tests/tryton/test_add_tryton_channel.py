"""`manage.py add_tryton_channel`, the README's demo path: a Tryton channel with Tryton's
warehouses mapped onto the demo account's, the sandbox 3PLs that held them turned off."""

import socket
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from channels.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def add(*args) -> str:
    out = StringIO()
    call_command("add_tryton_channel", *args, stdout=out)
    return out.getvalue()


def test_adds_the_channel_and_mappings_and_turns_off_the_3pls_holding_them(demo):
    url = closed_port_url()
    eu_before = list(Channel.objects.filter(account__code="ACME-EU").values_list("name", "is_active"))
    output = add("--url", url)
    channel = Channel.objects.get(account__code="ACME-US", name="Acme Tryton")
    assert (channel.platform, channel.kind) == ("tryton", "fulfillment")
    assert channel.credentials == {
        "url": url,
        "database": "techoms",
        "user": "admin",
        "password": "tryton-demo-pass",
    }
    mapped = {m.location: m.warehouse.code for m in channel.warehouse_mappings.select_related("warehouse")}
    assert mapped == {"MAIN": "NJ", "EAST": "RENO"}
    fulfillment = Channel.objects.filter(account__code="ACME-US", kind="fulfillment")
    assert {c.name for c in fulfillment if c.is_active} == {"Acme Tryton"}
    assert "Channel Acme 3PL turned off: Tryton now fulfills NJ." in output
    assert "is `make tryton` running?" in output  # nothing listens there
    # Another account of the organization is not touched.
    assert list(Channel.objects.filter(account__code="ACME-EU").values_list("name", "is_active")) == eu_before

    again = add("--url", url)
    assert "added" not in again and "turned off" not in again
    assert Channel.objects.filter(account__code="ACME-US", platform="tryton").count() == 1
    assert channel.warehouse_mappings.count() == 2


def test_reports_the_connection_to_a_running_tryton(demo, tryton_peer):
    output = add("--url", tryton_peer.url, "--map", "MAIN=NJ")
    assert "Connected to Tryton" in output
    assert "is `make tryton` running?" not in output


def test_bad_input_saves_nothing(demo):
    with pytest.raises(CommandError, match="MAIN=NJ"):
        add("--map", "MAIN")
    with pytest.raises(CommandError, match="No account NOPE"):
        add("--account", "NOPE")
    with pytest.raises(CommandError, match="no active warehouse TYO"):
        add("--url", closed_port_url(), "--map", "MAIN=NJ", "--map", "EAST=TYO")
    assert not Channel.objects.filter(platform="tryton").exists()
    assert Channel.objects.filter(account__code="ACME-US", name="Acme 3PL", is_active=True).exists()

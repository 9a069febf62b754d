"""The Tryton peer itself: it serves the seed, its warehouse moves do what the connector's
end-to-end tests rely on, and its seed agrees with the demo's catalogue."""

import json
import subprocess
import sys
import urllib.error
from decimal import Decimal

import pytest

from demo.data import CATALOG
from peers.tryton import peer as peer_module
from peers.tryton.peer import SEED
from peers.tryton.peer import __file__ as PEER_SCRIPT
from peers.tryton.rpc import TrytonRpc, TrytonRpcError


def test_seed_is_the_demo_catalogue_in_kilograms_and_centimetres():
    # The demo maps Tryton's Main and East onto warehouses that start with the catalogue's
    # units: the same SKUs, weights and sizes (in other units), the same stock.
    seeded = {row["sku"]: row for row in json.loads(SEED.read_text())["products"]}
    for sku, title, price, weight_g, (length, width, height), units in CATALOG:
        row = seeded[sku]
        assert (row["name"], Decimal(row["price"])) == (title, Decimal(price))
        assert round(row["weight_kg"] * 1000) == weight_g
        assert [round(cm * 10) for cm in row["cm"]] == [length, width, height]
        assert row["stock"] == {"Main": units, "East": units}
    assert set(seeded) - {sku for sku, *_ in CATALOG}, "a product only Tryton has, for Import Products"


def test_peer_serves_the_seeded_products_warehouses_and_carriers(tryton_peer, tryton_rpc):
    products = tryton_rpc.read(
        "product.product",
        [p["id"] for p in tryton_peer.products.values()],
        ["code", "weight", "weight_uom.symbol", "length_uom.symbol", "cost_price"],
    )
    assert {p["code"] for p in products} == set(tryton_peer.products)
    assert {p["weight_uom."]["symbol"] for p in products} == {"kg"}
    assert {p["length_uom."]["symbol"] for p in products} == {"cm"}
    assert all(p["cost_price"] > 0 for p in products)  # the company context is sent
    warehouses = tryton_rpc.search_read("stock.location", [("type", "=", "warehouse")], ["code"])
    assert {w["code"] for w in warehouses} == {"MAIN", "EAST"}
    carriers = tryton_rpc.read(
        "carrier", [c["id"] for c in tryton_peer.info["carriers"].values()], ["rec_name"]
    )
    assert {c["rec_name"] for c in carriers} == {"DHL - [EXPRESS] DHL Express", "UPS - [03] UPS Ground"}


def test_warehouse_ships_a_customer_shipment_with_its_tracking(tryton_warehouse, tryton_rpc):
    before = tryton_warehouse.quantities("Main", ["MUG-12OZ", "CAP-NAVY"])
    shipment = tryton_warehouse.create_customer_shipment("Main", {"MUG-12OZ": 3, "CAP-NAVY": 1}, "PEER-T-1")
    tryton_warehouse.ship([shipment], carrier="UPS", tracking="1ZPEER1")
    (done,) = tryton_rpc.read(
        "stock.shipment.out", [shipment], ["state", "shipping_reference", "carrier.rec_name"]
    )
    assert (done["state"], done["shipping_reference"]) == ("done", "1ZPEER1")
    assert done["carrier."]["rec_name"] == "UPS - [03] UPS Ground"
    after = tryton_warehouse.quantities("Main", ["MUG-12OZ", "CAP-NAVY"])
    assert after == {"MUG-12OZ": before["MUG-12OZ"] - 3, "CAP-NAVY": before["CAP-NAVY"] - 1}


def test_warehouse_refuses_to_ship_what_it_does_not_have(tryton_warehouse, tryton_rpc):
    on_hand = tryton_warehouse.quantities("East", ["LAMP-DESK"])["LAMP-DESK"]
    shipment = tryton_warehouse.create_customer_shipment("East", {"LAMP-DESK": on_hand + 1}, "PEER-T-2")
    with pytest.raises(TrytonRpcError, match="not enough stock"):
        tryton_warehouse.ship([shipment])
    assert tryton_rpc.read("stock.shipment.out", [shipment], ["state"])[0]["state"] == "waiting"
    tryton_warehouse.cancel_customer_shipments([shipment])
    assert tryton_rpc.read("stock.shipment.out", [shipment], ["state"])[0]["state"] == "cancelled"


def test_warehouse_receives_a_short_supplier_shipment(tryton_warehouse, tryton_rpc):
    before = tryton_warehouse.quantities("East", ["BOTTLE-750"])["BOTTLE-750"]
    shipment = tryton_warehouse.create_supplier_shipment("East", {"BOTTLE-750": 12}, "PEER-PO-1")
    (move,) = tryton_rpc.read("stock.shipment.in", [shipment], ["incoming_moves"])[0]["incoming_moves"]
    tryton_warehouse.receive([shipment], {move: 10})
    assert tryton_rpc.read("stock.shipment.in", [shipment], ["state"])[0]["state"] == "done"
    assert tryton_warehouse.quantities("East", ["BOTTLE-750"])["BOTTLE-750"] == before + 10


def test_a_wrong_password_is_refused(tryton_peer):
    rpc = TrytonRpc(tryton_peer.url, tryton_peer.database, tryton_peer.user, "not-the-password")
    with pytest.raises(urllib.error.HTTPError) as refused:
        rpc.login()
    assert refused.value.code == 401


def test_ship_command_ships_the_open_shipments_of_a_reference(tryton_peer, tryton_warehouse, tryton_rpc):
    shipment = tryton_warehouse.create_customer_shipment("Main", {"TSHIRT-WHT-M": 2}, "PEER-CLI-1")
    command = [sys.executable, str(PEER_SCRIPT), "ship", "--workdir", str(tryton_peer.workdir)]
    listed = subprocess.run(command, capture_output=True, text=True, timeout=120)  # noqa: S603 - fixed argv
    assert "PEER-CLI-1" in listed.stdout
    shipped = subprocess.run(  # noqa: S603 - fixed argv
        [*command, "PEER-CLI-1", "--tracking", "1ZCLI", "--carrier", "UPS"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shipped.returncode == 0, shipped.stderr
    (done,) = tryton_rpc.read("stock.shipment.out", [shipment], ["state", "shipping_reference", "carrier"])
    assert (done["state"], done["shipping_reference"]) == ("done", "1ZCLI")
    assert done["carrier"] == tryton_peer.info["carriers"]["UPS"]["id"]
    again = subprocess.run([*command, "PEER-CLI-1"], capture_output=True, text=True, timeout=120)  # noqa: S603
    assert again.returncode == 1
    assert "No open customer shipment has the reference PEER-CLI-1" in again.stderr


@pytest.mark.parametrize(
    ("requirement", "error"),
    [
        # No index reachable (here: none allowed): the tests may skip, saying so.
        ("trytond==8.2.1", peer_module.PeerUnavailable),
        # A broken requirements file is a failure, never a skip.
        ("-r no-such-file.txt", peer_module.PeerError),
    ],
)
def test_a_failed_install_says_whether_tryton_is_unavailable_or_broken(
    requirement, error, tmp_path, monkeypatch
):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(requirement + "\n")
    monkeypatch.setattr(peer_module, "VENV", tmp_path / "venv")
    monkeypatch.setattr(peer_module, "REQUIREMENTS", requirements)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(error) as failed:
        peer_module.ensure_venv()
    assert (type(failed.value) is peer_module.PeerUnavailable) == (error is peer_module.PeerUnavailable)
    assert not (tmp_path / "venv").exists()  # nothing half-installed is left to be trusted


def test_a_taken_port_is_refused_before_anything_is_copied(tryton_peer, tmp_path):
    port = int(tryton_peer.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(peer_module.PeerError, match=f"Port {port} is taken"):
        peer_module.start_peer(tmp_path / "second", port=port)
    assert not (tmp_path / "second").exists()


def test_warehouse_ships_in_a_box_carrying_the_tracking(tryton_warehouse, tryton_rpc):
    shipment = tryton_warehouse.create_customer_shipment("East", {"MUG-12OZ": 1, "CAP-NAVY": 2}, "PEER-BOX-1")
    tryton_warehouse.ship([shipment], tracking="1ZBOX1", packages=True)
    (done,) = tryton_rpc.read(
        "stock.shipment.out", [shipment], ["state", "shipping_reference", "root_packages"]
    )
    assert (done["state"], done["shipping_reference"]) == ("done", None)
    (box,) = tryton_rpc.read("stock.package", done["root_packages"], ["shipping_reference", "moves"])
    assert box["shipping_reference"] == "1ZBOX1"
    assert len(box["moves"]) == 2

"""A real Tryton server for the end-to-end tests of the Tryton connector.

Fixtures (all session-scoped: one Tryton for the whole test session; tests share its
database, so each test uses references of its own and compares quantities before/after):

- `tryton_peer` → `peers.tryton.peer.Peer`, a running `trytond` copied from the seeded
  template (started on a free port, stopped at the end of the session):
    - `url` ("http://127.0.0.1:<port>/"), `database`, `user` ("admin"), `password`
    - `credentials` → {"url", "database", "user", "password"}: a channel's credentials
    - `info` → the seed, by name, with Tryton ids:
        - `warehouses`: {"Main": {"id", "code": "MAIN", "input", "storage", "output"},
          "East": {... "code": "EAST" ...}} (location ids)
        - `products`: {sku: {"id" (product.product), "template", "name", "price",
          "cost", "weight" (kg), "length"/"width"/"height" (cm)}}; the demo catalogue's
          SKUs (TSHIRT-BLK-M, MUG-12OZ, …)
        - `stock`: {warehouse name: {sku: quantity on hand at start}}
        - `parties`: {"supplier": {"id", "address"}, "customer": {"id", "address"}}
        - `carriers`: {"DHL": {"id", "product", "service", "code": "EXPRESS"}, "UPS": {…
          "service": "UPS Ground", "code": "03"}} (carrier ids, their service product
          ids, names and codes)
        - `locations`: {"supplier", "customer", "lost_found"}; `company`, `currency`
          (USD id), `package_type` (the "Box" stock.package.type id); `units`: {"unit",
          "kg", "g", "cm", "mm"} (product.uom ids), `countries`: {"US": id, …}
    - `warehouses` (= info["warehouses"]), `products` (= info["products"])
    - `workdir` (its database, `trytond.log`, `ready.json`), `timings` (install,
      template, copy and start seconds), `stop()`
    Skips (with pip's reason) only when the Tryton virtualenv cannot be installed.
- `tryton_rpc` → `peers.tryton.rpc.TrytonRpc` logged in as the admin: `call(method,
  *params, context=None)`, `model(name, method, *params)`, `search_read(name, domain,
  fields, order=None, limit=None)`, `read(name, ids, fields)`, `create(name, [values])`,
  `write(name, ids, values)`; `calls` counts requests. Decimal/date values round-trip.
  Every call carries the admin's preferences as context (company!), as Tryton's client
  does; prices: `product.template.list_price`, `product.product.cost_price`. Login is
  `POST <url><db>/rpc/` `common.db.login` → [uid, session, bus]; a bad password is an
  HTTP 401 (not a JSON-RPC error).
- `tryton_warehouse` → `peers.tryton.rpc.Warehouse(tryton_rpc, info)`, acting "as the
  warehouse":
    - `ship(shipment_ids, carrier=None, tracking="1Z…" | {id: ref} | None,
      packages=False)`: wait if draft → assign_try (raises TrytonRpcError if stock is
      short) → pick → set carrier (None: keep the shipment's, DHL if it has none) and
      shipping_reference → pack → do; with `packages=True` the tracking goes on one
      stock.package per shipment (all its moves) instead of the shipment
    - `cancel_customer_shipments(ids)`
    - `create_customer_shipment(warehouse, {sku: qty}, reference)` → id (waiting)
    - `create_supplier_shipment(warehouse, {sku: qty}, reference)` → id (draft)
    - `receive(shipment_ids, quantities={move_id: qty} | None)`: receive → do
    - `quantities(warehouse, skus=None)` → {sku: on-hand float} (warehouse and children)
    - `add_stock(warehouse, {sku: qty})`: a done move supplier → storage
"""

import pytest

from peers.tryton.peer import PeerUnavailable, start_peer
from peers.tryton.rpc import TrytonRpc, Warehouse


@pytest.fixture(scope="session")
def tryton_peer(tmp_path_factory):
    try:
        peer = start_peer(tmp_path_factory.mktemp("tryton"))
    except PeerUnavailable as error:
        pytest.skip(f"Tryton peer unavailable: {error}")
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def tryton_rpc(tryton_peer):
    rpc = TrytonRpc(tryton_peer.url, tryton_peer.database, tryton_peer.user, tryton_peer.password)
    rpc.login()
    return rpc


@pytest.fixture(scope="session")
def tryton_warehouse(tryton_rpc, tryton_peer):
    return Warehouse(tryton_rpc, tryton_peer.info)

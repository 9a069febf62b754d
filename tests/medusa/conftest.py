"""A real Medusa 2.21.2 store for the Medusa connector's end-to-end tests, started from
peers/medusa by tests/medusa/peer.py: installed once (`npm ci`, stamped), migrated and
seeded once into a template database, copied per test session, served by `medusa start`
on a free port and stopped (its process group, its database) when the session ends.

Fixtures (the names the tests use):

- `medusa_peer` (session): a `peer.MedusaPeer` with
  `base_url`, `api_key` (the secret key, sent as HTTP Basic `sk_…:`), `admin_email`,
  `admin_password`, `region_id`, `sales_channel_id`, `stock_locations` ({"Newark DC": id,
  "Reno DC": id}), `shipping_option_id` (Newark's), `shipping_options` (by location name),
  `publishable_key`, `skus` (the seeded catalogue: TSHIRT-BLK-M, TSHIRT-WHT-M, MUG-12OZ,
  CAP-NAVY, BOTTLE-750, each with stock at both locations), `database`, `log` (Medusa's
  output: the plugin logs each event it could not deliver), `webhook_config`;
  `point_webhooks(url, secret)` aims our plugin's deliveries at a channel's inbound URL
  (read by the plugin at every delivery, so it applies at once) and `stop_webhooks()`
  makes the plugin send nothing (the state after start-up).
- `medusa_webhooks` (function): `medusa_peer.point_webhooks`, with `stop_webhooks()`
  after the test, so no test receives another's events.
- `medusa_admin` (session): a `peer.MedusaAdmin` on the store's Admin API:
  `get(path, **params)`, `post(path, body=None)`, `delete(path)` (the JSON answer; a
  non-2xx raises `peer.MedusaAdminError` with `.status` and `.body`), `variant_id(sku)`,
  `create_order(lines, email=…, address=…, shipping_option_id=None)` (a draft order with
  those {sku: quantity} lines, converted to an order: Medusa emits `order.placed`; returns
  the order), `cancel_order(order_id)`, `order(order_id, fields=…)`, `stock(sku)`
  ({location_id: {"stocked": n, "reserved": n}}), `set_stock(sku, location_id, quantity)`
  and `fulfillments(order_id)` (each with its `labels`).

The store lives for the whole session: tests share it, so each creates the orders it
needs and never counts on an empty store. Skipped only when `node` is missing or no
PostgreSQL is given: `MEDUSA_DATABASE_URL` (any database URL on the server to use), else
`DATABASE_URL` when it is PostgreSQL (the portal's own test database may be SQLite while
Medusa still needs the machine's PostgreSQL). CI has both. Anything else that goes wrong
(npm, the migration, the seed, the start) is an error, not a skip."""

import pytest

from tests.medusa import peer


@pytest.fixture(scope="session")
def medusa_peer(tmp_path_factory):
    reason = peer.unavailable()
    if reason:
        pytest.skip(reason)
    started = peer.start(peer.server_url(), tmp_path_factory.mktemp("medusa"))
    yield started
    started.stop()


@pytest.fixture
def medusa_webhooks(medusa_peer):
    yield medusa_peer.point_webhooks
    medusa_peer.stop_webhooks()


@pytest.fixture(scope="session")
def medusa_admin(medusa_peer):
    admin = peer.MedusaAdmin(medusa_peer)
    yield admin
    admin.close()

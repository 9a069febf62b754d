"""The sandbox's page confirms what a person did there and says how the portal hears of it."""

import re
import urllib.parse
import urllib.request

from demo.sandbox.store import THREE_PL


def _post(url: str, form: dict) -> tuple[str, str]:
    with urllib.request.urlopen(url, urllib.parse.urlencode(form).encode(), timeout=5) as answer:  # noqa: S310
        return answer.url, answer.read().decode()


def test_shipping_a_3pl_order_is_confirmed_in_its_shop(sandbox):
    store = sandbox.store
    store.create_shop("tpl", "Test 3PL", THREE_PL, ["NJ1"], auto_ship=False)
    store.upsert_products(store.shop("tpl"), [{"sku": "SKU-1", "title": "Mug"}])
    store.add_stock(store.shop("tpl"), "NJ1", "SKU-1", 5)
    order = store.create_fulfillment_order(
        store.shop("tpl"),
        {"reference": "SO-9", "location": "NJ1", "lines": [{"sku": "SKU-1", "quantity": 2}]},
    ).result["order"]

    url, page = _post(f"{sandbox.url}/ui/ship", {"shop": "tpl", "order": order["id"]})

    assert url.endswith(f"/?shipped={order['id']}&shop=tpl#shop-tpl")
    section = re.search(r"<section data-shop='tpl'.*?</section>", page, re.S)[0]
    assert "Order <strong>SO-9</strong> shipped (2 × SKU-1)" in section
    assert "No webhook is registered" in section and "Receive Shipments" in section


def test_a_confirmation_names_only_an_order_of_its_shop(sandbox):
    store = sandbox.store
    store.create_shop("tpl", "Test 3PL", THREE_PL, ["NJ1"])
    with urllib.request.urlopen(f"{sandbox.url}/?shipped=999&shop=tpl", timeout=5) as answer:  # noqa: S310
        assert "role='status'" not in answer.read().decode()

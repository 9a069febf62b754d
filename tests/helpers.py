"""Helpers for tests that talk to the sandbox simulator (the fixtures are in conftest.py)."""

from dataclasses import dataclass

from demo.sandbox.server import SandboxServer
from demo.sandbox.store import SandboxStore

# The two SKUs every side of the `linked` fixture starts with.
CATALOG = [
    {"sku": "SKU-1", "title": "Widget", "price": "9.99", "weight_g": "250", "length_mm": "100"},
    {"sku": "SKU-2", "title": "Gadget", "price": "19.50", "weight_g": "1200"},
]


@dataclass
class Linked:
    """What the `linked` fixture built: the sandbox, the world and the two channels."""

    sandbox: SandboxServer
    world: object
    marketplace: object
    threepl: object
    products: dict

    @property
    def store(self) -> SandboxStore:
        return self.sandbox.store

    def shop(self, code: str) -> dict:
        return self.store.shop(code)

    def stock(self, code: str, location: str, sku: str) -> int:
        return self.store.shop(code)["inventory"][location].get(sku, 0)

    def place_order(self, sku="SKU-1", quantity=2, carrier="UPS", service="03") -> dict:
        return self.store.create_order(
            self.shop("mkt"),
            {
                "customer": {"name": "Jane Doe", "email": "jane@example.com", "phone": "+1 555 0100"},
                "shipping_address": {
                    "address1": "1 Main St",
                    "city": "Newark",
                    "postal_code": "07102",
                    "country": "US",
                },
                "shipping": {"carrier": carrier, "service": service},
                "lines": [{"sku": sku, "quantity": quantity}],
            },
        ).result

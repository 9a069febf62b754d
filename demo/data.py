"""Demo data of the channels: sandbox shops (seeded by `run_sandbox`) and the portal's
matching channels, mappings, products and stock (seeded by `seed_demo`), so that on the
first run an order placed in the sandbox marketplace flows through the portal to the
3PL and back. Both sides are idempotent: running them again changes nothing."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from accounts.models import Account
from catalog.models import AdjustmentReason, AdjustmentSource, Product
from catalog.services import LedgerContext, adjust_inventory
from channels import services
from channels.models import Channel

from .sandbox.store import MARKETPLACE, THREE_PL, SandboxStore

CATALOG = [
    # sku, title, price, weight g, length × width × height mm, units per warehouse
    ("TSHIRT-BLK-M", "T-shirt, black, M", "19.90", 180, (300, 250, 20), 40),
    ("TSHIRT-WHT-M", "T-shirt, white, M", "19.90", 180, (300, 250, 20), 35),
    ("MUG-12OZ", "Mug 12 oz", "12.50", 350, (120, 90, 100), 60),
    ("CAP-NAVY", "Cap, navy", "24.00", 120, (280, 200, 120), 25),
    ("BOTTLE-750", "Water bottle 750 ml", "29.00", 420, (80, 80, 260), 30),
]


@dataclass(frozen=True)
class DemoChannel:
    account: str
    name: str
    platform: str
    shop: str
    # channel location → warehouse code
    mappings: dict[str, str]

    @property
    def api_key(self) -> str:
        # Sandbox-only keys, the same in the sandbox's store and the portal's channel.
        return f"sbx-demo-{self.shop}"

    @property
    def kind(self) -> str:
        return "sales" if "marketplace" in self.platform else "fulfillment"


CHANNELS = [
    DemoChannel(
        "ACME-US",
        "Acme Marketplace",
        "sandbox_marketplace",
        "acme-marketplace",
        {"US-EAST": "NJ", "US-WEST": "RENO"},
    ),
    DemoChannel("ACME-US", "Acme Beta Shop", "sandbox_marketplace_beta", "acme-beta-shop", {"MAIN": "NJ"}),
    DemoChannel("ACME-US", "Acme 3PL", "sandbox_3pl", "acme-3pl", {"NJ1": "NJ", "RNO1": "RENO"}),
    DemoChannel(
        "ACME-US", "Acme 3PL Beta", "sandbox_3pl_beta", "acme-3pl-beta", {"NJ2": "NJ", "RNO2": "RENO"}
    ),
    DemoChannel(
        "ACME-EU", "Acme EU Marketplace", "sandbox_marketplace", "acme-eu-marketplace", {"EU": "BER"}
    ),
    DemoChannel("ACME-EU", "Acme EU 3PL", "sandbox_3pl", "acme-eu-3pl", {"BER1": "BER", "AMS1": "AMS"}),
]


def _product_payload(sku, title, price, weight, dims) -> dict:
    length, width, height = dims
    return {
        "sku": sku,
        "title": title,
        "price": price,
        "weight_g": str(weight),
        "length_mm": str(length),
        "width_mm": str(width),
        "height_mm": str(height),
    }


def seed_sandbox(store: SandboxStore) -> list[str]:
    """Create the demo shops missing from the store, with catalogue and stock; their codes."""
    created = []
    for demo in CHANNELS:
        if demo.shop in store.data["shops"]:
            continue
        kind = MARKETPLACE if demo.kind == "sales" else THREE_PL
        store.create_shop(demo.shop, demo.name, kind, list(demo.mappings), api_key=demo.api_key)
        shop = store.shop(demo.shop)
        store.upsert_products(shop, [_product_payload(*row[:5]) for row in CATALOG])
        # Each location starts with its mapped warehouse's units, so both sides agree.
        for location in demo.mappings:
            for sku, *_, units in CATALOG:
                store.add_stock(shop, location, sku, units)
        created.append(demo.shop)
    return created


@transaction.atomic
def seed(stdout=None) -> None:
    """The portal side: products, stock, channels and mappings of the demo accounts."""
    for code in sorted({demo.account for demo in CHANNELS}):
        account = Account.objects.filter(code=code).first()
        if account is None:
            continue
        if not account.products.exists():
            context = LedgerContext(
                AdjustmentReason.CYCLE_COUNT, AdjustmentSource.SYSTEM, note="Demo opening stock"
            )
            for sku, title, price, weight, (length, width, height), units in CATALOG:
                product = Product.objects.create(
                    account=account,
                    sku=sku,
                    name=title,
                    price=Decimal(price),
                    weight_g=weight,
                    length_mm=length,
                    width_mm=width,
                    height_mm=height,
                )
                for warehouse in account.warehouses.filter(is_active=True):
                    adjust_inventory(product, warehouse, units, context)
        for demo in (d for d in CHANNELS if d.account == code):
            if Channel.objects.filter(account=account, name=demo.name).exists():
                continue
            channel = services.create_channel(
                None,
                account,
                kind=demo.kind,
                name=demo.name,
                platform=demo.platform,
                credentials={"api_key": demo.api_key},
            )
            for location, warehouse_code in demo.mappings.items():
                warehouse = account.warehouses.get(code=warehouse_code)
                services.add_mapping(None, channel, location, warehouse.pk)
            if stdout is not None:
                stdout.write(f"Channel {demo.name} ({channel.platform_info.label}) at {code}")

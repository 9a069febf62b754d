"""Reads of stock used by more than one caller."""

from channels.connectors.base import StockLevel
from channels.models import Channel

from .models import InventoryLevel, Product


def available_stock(channel: Channel, product_ids=None) -> list[StockLevel]:
    """What the channel is told it can sell: per active SKU and mapped location, on hand
    − reserved (summed over all active warehouses when the channel has no mappings) −
    the channel's buffer stock, never below 0. `product_ids` limits it to these products.

    Export Inventory and the real-time push both send exactly this.
    """
    buffer = channel.buffer_stock
    products = Product.objects.filter(account_id=channel.account_id, is_active=True)
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    levels = InventoryLevel.objects.filter(product__in=products)
    mappings = {m.warehouse_id: m.location for m in channel.warehouse_mappings.all()}
    available: dict[tuple[str, str | None], int] = {}
    skus = list(products.values_list("sku", flat=True))
    locations = list(mappings.values()) if mappings else [None]
    for sku in skus:
        for location in locations:
            available[(sku, location)] = 0
    if mappings:
        # A channel with mappings only hears about its mapped warehouses.
        levels = levels.filter(warehouse_id__in=mappings)
    else:
        levels = levels.filter(warehouse__is_active=True)
    for sku, warehouse_id, on_hand, reserved in levels.values_list(
        "product__sku", "warehouse_id", "on_hand", "reserved"
    ):
        key = (sku, mappings.get(warehouse_id))
        available[key] = available.get(key, 0) + on_hand - reserved
    return [
        StockLevel(sku, location, max(0, qty - buffer))
        for (sku, location), qty in sorted(available.items(), key=str)
    ]

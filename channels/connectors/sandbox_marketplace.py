"""Sandbox Marketplace (stable) and Sandbox Marketplace Beta: a sales channel."""

from collections.abc import Iterator

from ..platforms import PLATFORMS, JobType
from .base import ChannelOrder, Fetched, Outcome, Pushed, StockLevel, TrackingUpdate
from .sandbox import SandboxConnector, parse_lines, parse_time


class SandboxMarketplaceConnector(SandboxConnector):
    platform = PLATFORMS["sandbox_marketplace"]
    topic_job_types = {
        "orders/create": (JobType.IMPORT_ORDERS,),
        "products/update": (JobType.IMPORT_PRODUCTS,),
    }

    def import_orders(self, ids=None, since=None) -> Fetched[ChannelOrder]:
        return self._parse_each(self._get_all("/api/orders", "orders", ids), self._order, "order")

    def import_order_pages(self, ids=None, since=None) -> Iterator[Fetched[ChannelOrder]]:
        """One page of the sandbox's at a time, each stored before the next is read."""
        for records in self._pages("/api/orders", "orders", ids):
            yield self._parse_each(records, self._order, "order")

    @staticmethod
    def _order(raw: dict) -> ChannelOrder:
        customer = raw.get("customer") or {}
        address = raw.get("shipping_address") or {}
        shipping = raw.get("shipping") or {}
        lines = parse_lines(raw["lines"])
        if not lines:
            raise ValueError("no lines")
        return ChannelOrder(
            external_id=str(raw["id"]),
            number=str(raw.get("number") or raw["id"]),
            ordered_at=parse_time(raw["created_at"]),
            lines=lines,
            currency=str(raw.get("currency") or "USD")[:3],
            customer_name=str(customer.get("name") or ""),
            customer_email=str(customer.get("email") or ""),
            customer_phone=str(customer.get("phone") or ""),
            ship_address1=str(address.get("address1") or ""),
            ship_address2=str(address.get("address2") or ""),
            ship_city=str(address.get("city") or ""),
            ship_region=str(address.get("region") or ""),
            ship_postal_code=str(address.get("postal_code") or ""),
            ship_country=str(address.get("country") or "")[:2],
            carrier_code=str(shipping.get("carrier") or ""),
            service_code=str(shipping.get("service") or ""),
        )

    def export_inventory(self, levels: list[StockLevel]) -> Pushed:
        payloads = [{"sku": lv.sku, "location": lv.location, "quantity": lv.quantity} for lv in levels]
        return self._put_batches(
            "/api/inventory", "levels", payloads, lambda r: f"{r.get('sku')}@{r.get('location')}", batch=500
        )

    def export_tracking(self, updates: list[TrackingUpdate]) -> Pushed:
        def send(update: TrackingUpdate) -> Outcome:
            data = self.http.post(
                f"/api/orders/{update.order_external_id}/fulfillments",
                {
                    "reference": update.reference,
                    "carrier": update.carrier_code,
                    "service": update.service_code,
                    "tracking_number": update.tracking_number,
                    "lines": [{"sku": line.sku, "quantity": line.quantity} for line in update.lines],
                },
            )
            created = bool(data.get("created")) if isinstance(data, dict) else False
            return Outcome(update.reference, "created" if created else "unchanged")

        return self._push_each(updates, send, lambda u: u.reference)


class SandboxMarketplaceBetaConnector(SandboxMarketplaceConnector):
    platform = PLATFORMS["sandbox_marketplace_beta"]

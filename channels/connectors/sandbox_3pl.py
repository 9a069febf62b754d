"""Sandbox 3PL (stable) and Sandbox 3PL Beta: a fulfillment channel (third-party warehouse)."""

from ..platforms import PLATFORMS
from .base import (
    ChannelReceipt,
    ChannelShipment,
    Fetched,
    FulfillmentRequest,
    Outcome,
    PurchaseOrderRequest,
    Pushed,
    StockLevel,
)
from .sandbox import SandboxConnector, parse_lines, parse_time


def _lines(lines) -> list[dict]:
    return [{"sku": line.sku, "quantity": line.quantity} for line in lines]


class Sandbox3PLConnector(SandboxConnector):
    platform = PLATFORMS["sandbox_3pl"]

    def send_orders(self, requests: list[FulfillmentRequest]) -> Pushed:
        def send(request: FulfillmentRequest) -> Outcome:
            data = self.http.post(
                "/api/fulfillment-orders",
                {
                    "reference": request.reference,
                    "location": request.location,
                    "carrier": request.carrier_code,
                    "service": request.service_code,
                    "ship_to": request.ship_to,
                    "lines": _lines(request.lines),
                },
            )
            return Outcome(
                request.reference,
                "created" if data.get("created") else "unchanged",
                external_id=str(data["order"]["id"]),
            )

        return self._push_each(requests, send, lambda r: r.reference)

    def receive_shipments(self, ids=None, since=None) -> Fetched[ChannelShipment]:
        return self._parse_each(
            self._get_all("/api/shipments", "shipments", ids),
            lambda raw: ChannelShipment(
                external_id=str(raw["id"]),
                order_reference=str(raw["reference"]),
                location=str(raw["location"]),
                tracking_number=str(raw.get("tracking_number") or ""),
                shipped_at=parse_time(raw["shipped_at"]),
                lines=parse_lines(raw["lines"]),
                carrier_code=str(raw.get("carrier") or ""),
                service_code=str(raw.get("service") or ""),
            ),
            "shipment",
        )

    def import_inventory(self) -> Fetched[StockLevel]:
        return self._inventory()

    def send_purchase_orders(self, requests: list[PurchaseOrderRequest]) -> Pushed:
        def send(request: PurchaseOrderRequest) -> Outcome:
            data = self.http.post(
                "/api/purchase-orders",
                {
                    "reference": request.reference,
                    "number": request.number,
                    "location": request.location,
                    "expected_at": request.expected_at.isoformat() if request.expected_at else None,
                    "carrier": request.carrier_code,
                    "service": request.service_code,
                    "lines": _lines(request.lines),
                },
            )
            return Outcome(
                request.reference,
                "created" if data.get("created") else "unchanged",
                external_id=str(data["purchase_order"]["id"]),
            )

        return self._push_each(requests, send, lambda r: r.reference)

    def receive_receipts(self, ids=None, since=None) -> Fetched[ChannelReceipt]:
        return self._parse_each(
            self._get_all("/api/receipts", "receipts", ids),
            lambda raw: ChannelReceipt(
                external_id=str(raw["id"]),
                purchase_order_reference=str(raw["reference"]),
                location=str(raw["location"]),
                received_at=parse_time(raw["received_at"]),
                lines=parse_lines(raw["lines"]),
                carrier_code=str(raw.get("carrier") or ""),
                service_code=str(raw.get("service") or ""),
                tracking_number=str(raw.get("tracking_number") or ""),
            ),
            "receipt",
        )


class Sandbox3PLBetaConnector(Sandbox3PLConnector):
    platform = PLATFORMS["sandbox_3pl_beta"]

"""What the sandbox platform family shares: credentials, paging, webhooks, record parsing.

The sandbox's wire format: Bearer API key, JSON objects, lists paged with `page` and
`next_page`, ISO-8601 UTC timestamps, prices as strings or numbers.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings

from .base import (
    ChannelProduct,
    Connector,
    ConnectorError,
    ConnectorHttpError,
    ConnectorProtocolError,
    CredentialField,
    Fetched,
    Line,
    Outcome,
    Pushed,
    StockLevel,
    WebhookNotice,
)
from .http import JsonHttpClient

# Bounds a runaway paging loop (a platform that always says "there is more").
MAX_PAGES = 200


def parse_time(value) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decimal_or_none(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def parse_lines(raw) -> tuple[Line, ...]:
    lines = tuple(
        Line(
            sku=str(line["sku"]),
            quantity=int(line["quantity"]),
            name=str(line.get("title") or ""),
            unit_price=decimal_or_none(line.get("price")) or Decimal("0"),
        )
        for line in raw
    )
    if any(line.quantity < 0 for line in lines):
        raise ValueError("negative quantity")
    return lines


class SandboxConnector(Connector):
    credential_fields = (
        CredentialField(
            "api_key", "API Key", "The shop's API key from the sandbox (POST /shops answers it)."
        ),
    )

    @classmethod
    def http_client(cls, credentials: dict) -> JsonHttpClient:
        return JsonHttpClient(
            settings.SANDBOX_URL,
            timeout=settings.CHANNEL_CONNECTOR_TIMEOUT,
            headers={"Authorization": f"Bearer {credentials.get('api_key', '')}"},
        )

    # Reading -------------------------------------------------------------------------

    def _get_all(self, path: str, key: str, ids: list[str] | None = None) -> list:
        return [record for page in self._pages(path, key, ids) for record in page]

    def _pages(self, path: str, key: str, ids: list[str] | None = None) -> Iterator[list]:
        """The records of a list, one page of the sandbox's at a time."""
        page = 1
        params = {"ids": ",".join(ids)} if ids else {}
        for _ in range(MAX_PAGES):
            data = self.http.get(path, {**params, "page": page})
            if not isinstance(data, dict) or not isinstance(data.get(key), list):
                raise ConnectorProtocolError(f"The answer to GET {path} has no list of {key}.")
            yield data[key]
            page = data.get("next_page")
            if not page:
                return
        raise ConnectorProtocolError(f"GET {path} kept paging past {MAX_PAGES} pages.")

    def _parse_each(self, records: list, parse, what: str) -> Fetched:
        """Parse record by record: one unreadable record is reported, not fatal."""
        fetched = Fetched()
        for record in records:
            try:
                fetched.items.append(parse(record))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                ident = record.get("id", "?") if isinstance(record, dict) else "?"
                fetched.messages.append(f"Skipped {what} {ident}: unreadable ({exc}).")
        return fetched

    def list_locations(self) -> list[str]:
        data = self.http.get("/api/shop")
        if not isinstance(data, dict) or not isinstance(data.get("locations"), list):
            raise ConnectorProtocolError("The answer to GET /api/shop has no locations.")
        return [str(loc) for loc in data["locations"]]

    def import_products(self, ids=None, since=None) -> Fetched[ChannelProduct]:
        return self._parse_each(self._get_all("/api/products", "products", ids), self._product, "product")

    @staticmethod
    def _product(raw: dict) -> ChannelProduct:
        return ChannelProduct(
            external_id=str(raw["id"]),
            sku=str(raw["sku"]).strip(),
            name=str(raw.get("title") or raw["sku"]),
            description=str(raw.get("description") or ""),
            barcode=str(raw.get("barcode") or ""),
            price=decimal_or_none(raw.get("price")),
            length_mm=decimal_or_none(raw.get("length_mm")),
            width_mm=decimal_or_none(raw.get("width_mm")),
            height_mm=decimal_or_none(raw.get("height_mm")),
            weight_g=decimal_or_none(raw.get("weight_g")),
        )

    def _inventory(self) -> Fetched[StockLevel]:
        data = self.http.get("/api/inventory")
        if not isinstance(data, dict) or not isinstance(data.get("levels"), list):
            raise ConnectorProtocolError("The answer to GET /api/inventory has no list of levels.")
        return self._parse_each(
            data["levels"],
            lambda r: StockLevel(sku=str(r["sku"]), location=str(r["location"]), quantity=int(r["quantity"])),
            "stock level",
        )

    # Writing -------------------------------------------------------------------------

    def _push_each(self, items: list, send, key) -> Pushed:
        """Send items one by one; a rejected item is an outcome, a failed platform stops."""
        pushed = Pushed()
        for item in items:
            try:
                pushed.outcomes.append(send(item))
            except ConnectorHttpError as exc:
                # A 4xx refuses this item; 408 and 429 say nothing about it (try again later).
                if 400 <= exc.status < 500 and not exc.transient:
                    pushed.outcomes.append(Outcome(key(item), "rejected", error=str(exc)))
                else:
                    pushed.stop(exc)
                    break
            except ConnectorError as exc:
                pushed.stop(exc)
                break
        return pushed

    def export_products(self, products: list[ChannelProduct]) -> Pushed:
        def payload(p: ChannelProduct) -> dict:
            number = lambda v: None if v is None else str(v)  # noqa: E731
            return {
                "sku": p.sku,
                "title": p.name,
                "description": p.description,
                "barcode": p.barcode,
                "price": number(p.price),
                "weight_g": number(p.weight_g),
                "length_mm": number(p.length_mm),
                "width_mm": number(p.width_mm),
                "height_mm": number(p.height_mm),
            }

        return self._put_batches(
            "/api/products", "products", [payload(p) for p in products], lambda r: r["sku"]
        )

    def _put_batches(self, path: str, key: str, payloads: list[dict], ident, batch: int = 200) -> Pushed:
        pushed = Pushed()
        for start in range(0, len(payloads), batch):
            try:
                data = self.http.put(path, {key: payloads[start : start + batch]})
            except ConnectorError as exc:
                pushed.stop(exc)
                return pushed
            results = data.get("results") if isinstance(data, dict) else None
            if not isinstance(results, list):
                pushed.stop(ConnectorProtocolError(f"The answer to PUT {path} has no results."))
                return pushed
            for result in results:
                pushed.outcomes.append(
                    Outcome(
                        ident(result),
                        str(result.get("result")),
                        external_id=str(result.get("id") or ""),
                        error=str(result.get("error") or ""),
                    )
                )
        return pushed

    # Webhooks ------------------------------------------------------------------------

    def register_webhook(self, url: str, secret: str) -> None:
        self.http.put("/api/webhook", {"url": url, "secret": secret})

    @classmethod
    def parse_webhook(cls, payload: dict) -> WebhookNotice:
        try:
            return WebhookNotice(
                event_id=str(payload["id"]),
                topic=str(payload["topic"]),
                entity_ids=tuple(str(i) for i in payload.get("entity_ids") or ()),
            )
        except (KeyError, TypeError):
            raise ConnectorProtocolError("The webhook body has no id or topic.") from None

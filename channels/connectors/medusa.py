"""Medusa v2 (a sales platform), spoken through its Admin REST API with a secret API key.

Wire format: HTTP Basic `sk_…:`; JSON; lists paged with `limit`/`offset`, filtered with
operator maps (`updated_at[$gte]=…`) and narrowed with `fields`; timestamps ISO 8601 UTC
with milliseconds; amounts in major units; errors `{"type": …, "message": …}`. Medusa
sends no webhooks of its own: our plugin (peers/medusa/plugin) posts its events, signed
as every platform's deliveries are (channels/webhooks.py).

Warehouse Mappings name Medusa stock locations by id (`sloc_…`), see docs/decisions.md.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings

from ..platforms import PLATFORMS, JobType
from .base import (
    ChannelOrder,
    ChannelProduct,
    Connector,
    ConnectorAuthError,
    ConnectorError,
    ConnectorHttpError,
    ConnectorProtocolError,
    CredentialField,
    Fetched,
    Line,
    Outcome,
    Pushed,
    StockLevel,
    TrackingUpdate,
    WebhookNotice,
    read_ahead,
)
from .http import JsonHttpClient
from .sandbox import decimal_or_none, parse_time

# One page of a list. The benchmark's bare client pages with the same size.
PAGE_SIZE = 100
# Ids or SKUs named in one query string (`id[0]=…&id[1]=…`), which stays a few KB long.
IDS_PER_QUERY = 100
# Bounds a paging loop that never ends (a platform that always answers a full page).
MAX_PAGES = 2000
# Each read goes back this far before the cursor: an order written in a transaction that
# committed after a later one was read carries the earlier time. What is read twice the
# engine recognises by its external id.
CURSOR_OVERLAP = timedelta(seconds=1)
# Medusa's timestamps carry milliseconds: the smallest step between two of them.
ONE_MS = timedelta(milliseconds=1)
# The lists whose `id` filter takes operators (`id[$gt]=…`); the products list takes ids only.
ID_OPERATOR_LISTS = ("/admin/orders",)
# Location levels written in one call of the batch route.
LEVELS_PER_BATCH = 500
# Products created in one call of the products batch route.
PRODUCTS_PER_BATCH = 10
# The key our fulfilments carry in their metadata: the portal's shipment reference, which
# makes Export Tracking's retry find the fulfilment it created instead of adding one.
REFERENCE_KEY = "techoms_reference"

ORDER_FIELDS = ",".join(
    (
        "id",
        "display_id",
        "status",
        "email",
        "currency_code",
        "created_at",
        "updated_at",
        "*items",
        "*shipping_address",
        "*shipping_methods",
        "*customer",
    )
)
PRODUCT_FIELDS = ",".join(
    (
        "id",
        "title",
        "description",
        "updated_at",
        "*variants",
        "variants.prices.id",
        "variants.prices.amount",
        "variants.prices.currency_code",
    )
)


class MedusaConflict(ConnectorHttpError):
    """409: Medusa says another request held the same rows; the same request may be sent
    again (its own message says so)."""

    transient = True


def iso(moment: datetime) -> str:
    """Medusa's own spelling of an instant: UTC, milliseconds, Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value) -> str:
    return "" if value is None else str(value).strip()


class MedusaConnector(Connector):
    platform = PLATFORMS["medusa"]
    credential_fields = (
        CredentialField(
            "base_url",
            "Base URL",
            "Where the Medusa server answers, e.g. https://shop.example.com (without /admin).",
            secret=False,
            url=True,
        ),
        CredentialField(
            "api_key",
            "Secret API key",
            "A secret API key (sk_…) made in Medusa under Settings › Secret API Keys.",
        ),
    )
    topic_job_types = {
        "order.placed": (JobType.IMPORT_ORDERS,),
        "order.updated": (JobType.IMPORT_ORDERS,),
        "order.canceled": (JobType.IMPORT_ORDERS,),
        "product.created": (JobType.IMPORT_PRODUCTS,),
        "product.updated": (JobType.IMPORT_PRODUCTS,),
    }

    @classmethod
    def http_client(cls, credentials: dict) -> JsonHttpClient:
        base_url = _text(credentials.get("base_url"))
        if not base_url.startswith(("http://", "https://")):
            raise ConnectorError("The channel's Medusa base URL must start with http:// or https://.")
        return JsonHttpClient(
            base_url,
            timeout=settings.CHANNEL_CONNECTOR_TIMEOUT,
            basic_auth=(_text(credentials.get("api_key")), ""),
        )

    # Calls -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, data: dict | None = None, query=()):
        """Medusa's JSON answer; its refusals become errors that say what to do."""
        try:
            return self.http.request(method, path, data=data, params=dict(query) or None)
        except ConnectorAuthError:
            raise ConnectorAuthError(
                f"Medusa refused the secret API key ({method} {path}): enter a secret key (sk_…) "
                "of this store in the channel's credentials."
            ) from None
        except ConnectorHttpError as exc:
            if exc.status == 409:
                raise MedusaConflict(exc.status, str(exc), retry_after=exc.retry_after) from None
            raise

    def _list(self, path: str, key: str, query) -> list[dict]:
        return self._page(path, key, query)[0]

    def _page(self, path: str, key: str, query) -> tuple[list[dict], int | None]:
        """One page of a list, and how many rows the whole list holds (Medusa's count)."""
        data = self._call("GET", path, query=query)
        rows = data.get(key) if isinstance(data, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("id") for r in rows):
            raise ConnectorProtocolError(f"Medusa's answer to GET {path} has no list of {key}.")
        count = data.get("count")
        return rows, count if isinstance(count, int) and not isinstance(count, bool) else None

    def _all(self, path: str, key: str, query) -> list[dict]:
        """Every row of a list that does not change while it is read (offset paging)."""
        rows: list[dict] = []
        for _ in range(MAX_PAGES):
            page = self._list(path, key, [*query, ("limit", PAGE_SIZE), ("offset", len(rows))])
            rows.extend(page)
            if len(page) < PAGE_SIZE:
                return rows
        raise ConnectorProtocolError(f"GET {path} kept paging past {MAX_PAGES} pages.")

    def _by_ids(self, path: str, key: str, fields: str, ids: list[str]) -> Iterator[list[dict]]:
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_QUERY):
            chunk = unique[start : start + IDS_PER_QUERY]
            query = [(f"id[{i}]", value) for i, value in enumerate(chunk)]
            yield self._list(path, key, [*query, ("fields", fields), ("limit", len(chunk))])

    def _changed(
        self, path: str, key: str, fields: str, since: str | None
    ) -> Iterator[tuple[list, int | None]]:
        """Every row changed at or after `since` (all rows when None), page by page in
        change-time order, with the count Medusa gives for the whole read on the first.

        Offset paging over rows ordered by change time skips a row whenever one before
        it changes during the read (the rest shift up a place). So each page starts at
        the change time the previous one ended with instead (keyset paging): a row that
        changes moves behind the read and is met again, never jumped. The rows of that
        last instant are read again (the caller drops them); a page that is all one
        instant is read to its end by id, whose order does not move.
        """
        lower = _cursor_time(since) - CURSOR_OVERLAP if since else None
        for number in range(MAX_PAGES):
            query = [("order", "updated_at"), ("fields", fields), ("limit", PAGE_SIZE)]
            if lower is not None:
                query.insert(0, ("updated_at[$gte]", iso(lower)))
            page, count = self._page(path, key, query)
            yield page, count if number == 0 else None
            if len(page) < PAGE_SIZE:
                return
            last = max(_changed_at(row, path) for row in page)
            if lower is not None and last <= lower:
                yield self._one_instant(path, key, fields, lower), None
                lower += ONE_MS
            else:
                lower = last
        raise ConnectorProtocolError(f"GET {path} kept paging past {MAX_PAGES} pages.")

    def _one_instant(self, path: str, key: str, fields: str, moment: datetime) -> list[dict]:
        """The rows changed within one millisecond, in id order: paged after the last id
        seen where the list filters ids by operator (orders), else by offset."""
        rows: list[dict] = []
        for _ in range(MAX_PAGES):
            query = [
                ("updated_at[$gte]", iso(moment)),
                ("updated_at[$lt]", iso(moment + ONE_MS)),
                ("order", "id"),
                ("fields", fields),
                ("limit", PAGE_SIZE),
            ]
            if path in ID_OPERATOR_LISTS and rows:
                query.insert(0, ("id[$gt]", rows[-1]["id"]))
            elif rows:
                query.append(("offset", len(rows)))
            page = self._list(path, key, query)
            rows.extend(page)
            if len(page) < PAGE_SIZE:
                return rows
        raise ConnectorProtocolError(f"GET {path} kept paging past {MAX_PAGES} pages.")

    def _read(self, path, key, fields, ids, since, parse, what) -> Iterator[Fetched]:
        """The records named by `ids`, or changed since the cursor, a page at a time, each
        item (Medusa's id, the record). Records are parsed one by one (an unreadable one
        is reported, not fatal); the cursor never passes a record that could not be read,
        which is read again next time. Each page's cursor covers it and the pages before."""
        read = partial(_parse_one, parse=parse, what=what)
        if ids is not None:
            for rows in self._by_ids(path, key, fields, ids):
                yield _page(rows, read)[0]
            return
        floor = _cursor_time(since) if since else None
        newest = held = None
        # The rows of the previous page's last instant, which the next page starts with.
        boundary: dict[str, datetime] = {}
        for rows, count in self._changed(path, key, fields, since):
            changed = {row["id"]: _changed_at(row, path) for row in rows}
            page, unreadable = _page([r for r in rows if boundary.get(r["id"]) != changed[r["id"]]], read)
            page.expected = count
            held = min([changed[row_id] for row_id in unreadable] + ([held] if held else []), default=None)
            if changed:
                last = max(changed.values())
                newest = max(newest or last, last)
                boundary = {row_id: at for row_id, at in changed.items() if at == last}
            cursor = held or newest
            page.cursor = since if cursor is None or (floor and cursor < floor) else iso(cursor)
            yield page

    # Set-up ----------------------------------------------------------------------------

    def _stock_locations(self) -> list[dict]:
        return self._all(
            "/admin/stock-locations", "stock_locations", [("fields", "id,name"), ("order", "name")]
        )

    def list_locations(self) -> list[str]:
        return [row["id"] for row in self._stock_locations()]

    def test_connection(self) -> str:
        where = self.http.base_url
        store = self._store()
        channels = self._list(
            "/admin/sales-channels", "sales_channels", [("fields", "id,name"), ("limit", 50)]
        )
        if not channels:
            raise ConnectorError(
                f"Medusa at {where} has no sales channel: create one (Settings › Sales Channels) "
                "so that orders and products have somewhere to be sold."
            )
        locations = self._stock_locations()
        if not locations:
            raise ConnectorError(
                f"Medusa at {where} has no stock location: create one (Settings › Locations) "
                "to map the account's warehouses to."
            )
        names = ", ".join(f"{row.get('name') or 'unnamed'} ({row['id']})" for row in locations)
        return (
            f"Connected to Medusa at {where} (store {store.get('name') or store['id']}): "
            f"sales channel {channels[0].get('name') or channels[0]['id']}; "
            f"stock locations {names}. Warehouse Mappings take the location ids."
        )

    def _store(self) -> dict:
        stores = self._list(
            "/admin/stores",
            "stores",
            [("fields", "id,name,default_sales_channel_id,*supported_currencies"), ("limit", 1)],
        )
        if not stores:
            raise ConnectorProtocolError("Medusa answered no store to GET /admin/stores.")
        return stores[0]

    def register_webhook(self, url: str, secret: str) -> None:
        """Nothing to call: Medusa has no webhook registry. The merchant gives our plugin
        the channel's inbound URL and signing secret (peers/medusa/plugin/README.md)."""

    @classmethod
    def parse_webhook(cls, payload: dict) -> WebhookNotice:
        event_id, topic = payload.get("id"), payload.get("topic")
        ids = payload.get("entity_ids")
        if not (isinstance(event_id, str) and event_id and isinstance(topic, str) and topic):
            raise ConnectorProtocolError("The webhook body has no id or topic.")
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            raise ConnectorProtocolError("The webhook body's entity_ids is not a list of ids.")
        return WebhookNotice(event_id=event_id, topic=topic, entity_ids=tuple(ids))

    # Orders ----------------------------------------------------------------------------

    def import_orders(self, ids=None, since=None) -> Fetched[ChannelOrder]:
        fetched = Fetched.joined(self._order_pages(ids, since), key=lambda pair: pair[0])
        fetched.items = [order for _, order in fetched.items]
        return fetched

    def import_order_pages(self, ids=None, since=None) -> Iterator[Fetched[ChannelOrder]]:
        """The next page is read from Medusa while the engine stores this one."""
        for page in read_ahead(self._order_pages(ids, since)):
            page.items = [order for _, order in page.items]
            yield page

    def _order_pages(self, ids, since) -> Iterator[Fetched]:
        return self._read("/admin/orders", "orders", ORDER_FIELDS, ids, since, _order, "order")

    # Inventory -------------------------------------------------------------------------

    def export_inventory(self, levels: list[StockLevel]) -> Pushed:
        """Set each SKU's stocked quantity per stock location so that what Medusa offers
        (stocked − reserved, Medusa's own sum) is the quantity sent: the quantity plus
        what Medusa holds reserved there for its unfulfilled orders."""
        pushed = Pushed()
        try:
            known = {row["id"] for row in self._stock_locations()}
            items = self._inventory_items(sorted({level.sku for level in levels}))
        except ConnectorError as exc:
            pushed.stop(exc)
            return pushed
        only = next(iter(known)) if len(known) == 1 else None
        create, update, keys = [], [], []
        for level in levels:
            key = f"{level.sku}@{level.location or 'all'}"
            location = level.location or only
            item = items.get(level.sku.upper())
            refusal = _level_refusal(level, location, known, item)
            if refusal:
                pushed.outcomes.append(Outcome(key, "rejected", error=refusal))
                continue
            current = next(
                (lv for lv in item.get("location_levels") or () if lv.get("location_id") == location), None
            )
            entry = {"inventory_item_id": item["id"], "location_id": location}
            if current is None:
                create.append({**entry, "stocked_quantity": level.quantity})
                keys.append((key, "created", item["id"]))
                continue
            stocked = level.quantity + int(current.get("reserved_quantity") or 0)
            if stocked == int(current.get("stocked_quantity") or 0):
                pushed.outcomes.append(Outcome(key, "unchanged", external_id=item["id"]))
                continue
            update.append({**entry, "stocked_quantity": stocked})
            keys.append((key, "updated", item["id"]))
        self._write_levels(pushed, create, update, keys)
        return pushed

    def _inventory_items(self, skus: list[str]) -> dict[str, dict]:
        """The inventory items of these SKUs with their location levels, by upper-case SKU."""
        fields = (
            "id,sku,location_levels.location_id,location_levels.stocked_quantity,"
            "location_levels.reserved_quantity"
        )
        found: dict[str, dict] = {}
        for start in range(0, len(skus), IDS_PER_QUERY):
            chunk = skus[start : start + IDS_PER_QUERY]
            query = [(f"sku[{i}]", sku) for i, sku in enumerate(chunk)]
            # SKUs of inventory items are unique in Medusa: one page holds the chunk's items.
            rows = self._list(
                "/admin/inventory-items",
                "inventory_items",
                [*query, ("fields", fields), ("limit", len(chunk))],
            )
            for row in rows:
                found[_text(row.get("sku")).upper()] = row
        return found

    def _write_levels(self, pushed: Pushed, create: list, update: list, keys: list) -> None:
        """Send the levels in batches; a refused batch refuses its levels, a failing Medusa
        stops the push (the levels sent before it stand)."""
        entries = [("create", e) for e in create] + [("update", e) for e in update]
        ordered = [k for k in keys if k[1] == "created"] + [k for k in keys if k[1] == "updated"]
        for start in range(0, len(entries), LEVELS_PER_BATCH):
            batch = entries[start : start + LEVELS_PER_BATCH]
            body = {
                "create": [e for kind, e in batch if kind == "create"],
                "update": [e for kind, e in batch if kind == "update"],
            }
            try:
                self._call("POST", "/admin/inventory-items/location-levels/batch", body)
            except ConnectorHttpError as exc:
                if exc.transient:
                    pushed.stop(exc)
                    return
                for key, _, item_id in ordered[start : start + LEVELS_PER_BATCH]:
                    pushed.outcomes.append(Outcome(key, "rejected", external_id=item_id, error=str(exc)))
                continue
            except ConnectorError as exc:
                pushed.stop(exc)
                return
            for key, result, item_id in ordered[start : start + LEVELS_PER_BATCH]:
                pushed.outcomes.append(Outcome(key, result, external_id=item_id))

    # Tracking --------------------------------------------------------------------------

    def export_tracking(self, updates: list[TrackingUpdate]) -> Pushed:
        pushed = Pushed()
        for update in updates:
            try:
                pushed.outcomes.append(self._ship(update))
            except ConnectorHttpError as exc:
                if exc.transient or exc.status == 401:
                    pushed.stop(exc)
                    break
                pushed.outcomes.append(Outcome(update.reference, "rejected", error=str(exc)))
            except ConnectorError as exc:
                pushed.stop(exc)
                break
        return pushed

    def _ship(self, update: TrackingUpdate) -> Outcome:
        """A fulfilment of the shipped lines carrying our reference, then its shipment with
        the tracking number. A retry finds the fulfilment by the reference: shipped, it
        adds nothing; created but not shipped (the first try stopped between the two
        calls), it is shipped now."""
        order = self._order_for_tracking(update.order_external_id)
        ours = next(
            (
                f
                for f in order.get("fulfillments") or ()
                if (f.get("metadata") or {}).get(REFERENCE_KEY) == update.reference
            ),
            None,
        )
        if ours is not None and ours.get("shipped_at"):
            return Outcome(update.reference, "unchanged", external_id=ours["id"])
        if ours is None:
            items, refusal = _fulfilment_items(order, update.lines)
            if refusal:
                return Outcome(update.reference, "rejected", error=refusal)
            path = f"/admin/orders/{order['id']}/fulfillments"
            metadata = {
                REFERENCE_KEY: update.reference,
                "carrier_code": update.carrier_code,
                "service_code": update.service_code,
                "tracking_number": update.tracking_number,
            }
            self._call("POST", path, {"items": items, "metadata": metadata})
            order = self._order_for_tracking(order["id"])
            ours = next(
                (
                    f
                    for f in order.get("fulfillments") or ()
                    if (f.get("metadata") or {}).get(REFERENCE_KEY) == update.reference
                ),
                None,
            )
            if ours is None:
                raise ConnectorProtocolError(f"Medusa did not keep the fulfilment of {update.reference}.")
        shipped = [
            {"id": i["line_item_id"], "quantity": i["quantity"]}
            for i in ours.get("items") or ()
            if i.get("line_item_id")
        ]
        label = {"tracking_number": update.tracking_number, "tracking_url": "", "label_url": ""}
        self._call(
            "POST",
            f"/admin/orders/{order['id']}/fulfillments/{ours['id']}/shipments",
            {"items": shipped, "labels": [label]},
        )
        return Outcome(update.reference, "created", external_id=ours["id"])

    def _order_for_tracking(self, order_id: str) -> dict:
        # Narrow selections of line items come back without their ids: the whole items.
        fields = "id,status,*items,fulfillments.*,fulfillments.items.*"
        data = self._call("GET", f"/admin/orders/{order_id}", query=[("fields", fields)])
        order = data.get("order") if isinstance(data, dict) else None
        if not isinstance(order, dict) or not order.get("id"):
            raise ConnectorProtocolError(f"Medusa's answer to GET /admin/orders/{order_id} has no order.")
        order["fulfillments"] = [f for f in order.get("fulfillments") or () if not f.get("canceled_at")]
        return order

    # Products --------------------------------------------------------------------------

    def import_products(self, ids=None, since=None) -> Fetched[ChannelProduct]:
        currency = self._currency_of(self._store())
        pages = self._read(
            "/admin/products",
            "products",
            PRODUCT_FIELDS,
            ids,
            since,
            lambda row: _products(row, currency),
            "product",
        )
        fetched = Fetched.joined(pages, key=lambda pair: pair[0])
        # A product is one record of Medusa's and one per variant here.
        fetched.items = [variant for _, product in fetched.items for variant in product]
        return fetched

    def export_products(self, products: list[ChannelProduct]) -> Pushed:
        """Create the SKUs Medusa lacks (a product of one variant each, published in the
        store's default sales channel) and update the variants whose values differ."""
        pushed = Pushed()
        try:
            store = self._store()
            currency = self._currency_of(store)
            existing = self._variants_by_sku()
            profile = self._shipping_profile()
        except ConnectorError as exc:
            pushed.stop(exc)
            return pushed
        new = [p for p in products if p.sku.upper() not in existing]
        changed = []
        for product in products:
            found = existing.get(product.sku.upper())
            if found is None:
                continue
            variant, parent = found
            changes = _variant_changes(product, variant, currency)
            title = _product_changes(product, parent)
            if not changes and not title:
                pushed.outcomes.append(Outcome(product.sku, "unchanged", external_id=variant["id"]))
            else:
                changed.append((product, variant, parent, changes, title))
        try:
            self._create_products(pushed, new, currency, store, profile)
            for product, variant, parent, changes, title in changed:
                self._update_product(pushed, product, variant, parent, changes, title)
        except ConnectorError as exc:
            pushed.stop(exc)
        return pushed

    def _currency_of(self, store: dict) -> str:
        currencies = store.get("supported_currencies") or []
        default = next((c for c in currencies if c.get("is_default")), currencies[0] if currencies else None)
        if not default or not default.get("currency_code"):
            raise ConnectorError("The Medusa store has no currency: add one in Settings › Store.")
        return str(default["currency_code"]).lower()

    def _variants_by_sku(self) -> dict[str, tuple[dict, dict]]:
        found: dict[str, tuple[dict, dict]] = {}
        for product in self._all(
            "/admin/products", "products", [("fields", PRODUCT_FIELDS), ("order", "id")]
        ):
            for variant in product.get("variants") or ():
                if variant.get("sku"):
                    found[str(variant["sku"]).upper()] = (variant, product)
        return found

    def _shipping_profile(self) -> str | None:
        profiles = self._list(
            "/admin/shipping-profiles", "shipping_profiles", [("fields", "id,type"), ("limit", 50)]
        )
        chosen = next((p for p in profiles if p.get("type") == "default"), profiles[0] if profiles else None)
        return chosen["id"] if chosen else None

    def _create_products(
        self, pushed: Pushed, new: list, currency: str, store: dict, profile: str | None
    ) -> None:
        """Create in batches; Medusa refuses a batch whole, so a refused batch is sent
        again product by product to refuse only the products at fault."""
        for start in range(0, len(new), PRODUCTS_PER_BATCH):
            batch = new[start : start + PRODUCTS_PER_BATCH]
            try:
                self._create_batch(pushed, batch, currency, store, profile)
            except ConnectorHttpError as exc:
                if exc.transient:
                    raise
                if len(batch) == 1:
                    pushed.outcomes.append(Outcome(batch[0].sku, "rejected", error=str(exc)))
                    continue
                for product in batch:
                    try:
                        self._create_batch(pushed, [product], currency, store, profile)
                    except ConnectorHttpError as single:
                        if single.transient:
                            raise
                        pushed.outcomes.append(Outcome(product.sku, "rejected", error=str(single)))

    def _create_batch(self, pushed: Pushed, batch: list, currency: str, store: dict, profile) -> None:
        body = {"create": [_new_product(p, currency, store, profile) for p in batch]}
        data = self._call("POST", "/admin/products/batch", body)
        created = {
            _text(v.get("sku")).upper(): v["id"]
            for product in (data.get("created") or [] if isinstance(data, dict) else [])
            for v in product.get("variants") or ()
        }
        for product in batch:
            external_id = created.get(product.sku.upper(), "")
            pushed.outcomes.append(Outcome(product.sku, "created", external_id=external_id))

    def _update_product(self, pushed, product, variant, parent, changes: dict, title: dict) -> None:
        try:
            if title:
                self._call("POST", f"/admin/products/{parent['id']}", title)
            if changes:
                self._call("POST", f"/admin/products/{parent['id']}/variants/{variant['id']}", changes)
        except ConnectorHttpError as exc:
            if exc.transient:
                raise
            pushed.outcomes.append(
                Outcome(product.sku, "rejected", external_id=variant["id"], error=str(exc))
            )
            return
        pushed.outcomes.append(Outcome(product.sku, "updated", external_id=variant["id"]))


class MedusaBetaConnector(MedusaConnector):
    platform = PLATFORMS["medusa_beta"]


# Records -------------------------------------------------------------------------------


def _page(rows: list[dict], read) -> tuple[Fetched, list[str]]:
    """The rows read: a page of (Medusa's id, record), with a message for each row that
    could not be read, and the ids of those rows."""
    page, unreadable = Fetched(), []
    for row in rows:
        item, message = read(row)
        if item is None:
            page.messages.append(message)
            unreadable.append(row["id"])
        else:
            page.items.append((row["id"], item))
    return page, unreadable


def _parse_one(row: dict, parse, what: str) -> tuple[object, str]:
    """(the record, "") or (None, why it could not be read)."""
    try:
        return parse(row), ""
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"Skipped Medusa {what} {row['id']}: unreadable ({exc})."


def _cursor_time(cursor: str) -> datetime:
    try:
        return parse_time(cursor)
    except ValueError:
        raise ConnectorProtocolError(f"The stored position {cursor!r} is not a time.") from None


def _changed_at(row: dict, path: str) -> datetime:
    try:
        return parse_time(row["updated_at"])
    except (KeyError, TypeError, ValueError):
        raise ConnectorProtocolError(f"A row of GET {path} has no readable updated_at.") from None


def _order(raw: dict) -> ChannelOrder:
    address = raw.get("shipping_address") or {}
    customer = raw.get("customer") or {}
    lines = tuple(
        Line(
            sku=_text(item.get("variant_sku")),
            quantity=int(item["quantity"]),
            name=_text(item.get("title") or item.get("product_title")),
            unit_price=decimal_or_none(item.get("unit_price")) or Decimal("0"),
        )
        for item in raw.get("items") or ()
    )
    if not lines:
        raise ValueError("no lines")
    if any(not line.sku for line in lines):
        raise ValueError("a line without a variant SKU")
    if any(line.quantity < 0 for line in lines):
        raise ValueError("negative quantity")
    method = (raw.get("shipping_methods") or [{}])[0] or {}
    data = method.get("data") or {}
    name = " ".join(
        filter(None, (_text(address.get("first_name")), _text(address.get("last_name"))))
    ) or " ".join(filter(None, (_text(customer.get("first_name")), _text(customer.get("last_name")))))
    return ChannelOrder(
        external_id=str(raw["id"]),
        number=_text(raw.get("display_id")) or str(raw["id"]),
        ordered_at=parse_time(raw["created_at"]),
        lines=lines,
        currency=(_text(raw.get("currency_code")) or "usd").upper()[:3],
        customer_name=name,
        customer_email=_text(raw.get("email") or customer.get("email")),
        customer_phone=_text(address.get("phone") or customer.get("phone")),
        ship_address1=_text(address.get("address_1")),
        ship_address2=_text(address.get("address_2")),
        ship_city=_text(address.get("city")),
        ship_region=_text(address.get("province")),
        ship_postal_code=_text(address.get("postal_code")),
        ship_country=_text(address.get("country_code")).upper()[:2],
        carrier_code=_text(data.get("carrier_code")),
        service_code=_text(data.get("service_code")),
        cancelled=raw.get("status") == "canceled",
    )


def _products(raw: dict, currency: str) -> list[ChannelProduct]:
    variants = raw.get("variants") or []
    single = len(variants) == 1
    products = []
    for variant in variants:
        if not _text(variant.get("sku")):
            continue
        name = (
            _text(raw.get("title"))
            if single
            else f"{_text(raw.get('title'))} {_text(variant.get('title'))}".strip()
        )
        products.append(
            ChannelProduct(
                external_id=str(variant["id"]),
                sku=_text(variant["sku"]),
                name=name or _text(variant["sku"]),
                description=_text(raw.get("description")),
                barcode=_text(variant.get("barcode") or variant.get("ean") or variant.get("upc")),
                price=_price(variant, currency),
                length_mm=decimal_or_none(variant.get("length")),
                width_mm=decimal_or_none(variant.get("width")),
                height_mm=decimal_or_none(variant.get("height")),
                weight_g=decimal_or_none(variant.get("weight")),
            )
        )
    return products


def _price(variant: dict, currency: str) -> Decimal | None:
    prices = variant.get("prices") or []
    chosen = next((p for p in prices if _text(p.get("currency_code")).lower() == currency), None)
    return decimal_or_none(chosen.get("amount")) if chosen else None


def _level_refusal(level: StockLevel, location: str | None, known: set[str], item: dict | None) -> str:
    if location is None:
        return (
            "The channel has no Warehouse Mappings and Medusa has several stock locations: "
            "map each warehouse to a Medusa stock location id."
        )
    if location not in known:
        return (
            f"Medusa has no stock location {location!r} (Warehouse Mappings take the location's id, sloc_…)."
        )
    if item is None:
        return f"Medusa has no inventory item with SKU {level.sku}."
    return ""


def _fulfilment_items(order: dict, lines) -> tuple[list[dict], str]:
    """The order's line items that cover the shipped lines by SKU (what is left to fulfil
    of each), or why they cannot."""
    left = {
        item["id"]: int(item.get("quantity") or 0)
        - int((item.get("detail") or {}).get("fulfilled_quantity") or 0)
        for item in order.get("items") or ()
    }
    chosen: dict[str, int] = {}
    for line in lines:
        wanted = line.quantity
        for item in order.get("items") or ():
            if wanted and _text(item.get("variant_sku")).upper() == line.sku.upper() and left[item["id"]] > 0:
                take = min(wanted, left[item["id"]])
                left[item["id"]] -= take
                chosen[item["id"]] = chosen.get(item["id"], 0) + take
                wanted -= take
        if wanted:
            return (
                [],
                f"Medusa order {order['id']} has no {wanted} unfulfilled unit(s) of SKU {line.sku} left.",
            )
    if not chosen:
        return [], f"The shipment names no lines of Medusa order {order['id']}."
    return [{"id": item_id, "quantity": quantity} for item_id, quantity in chosen.items()], ""


def _number(value) -> float | None:
    return None if value is None else float(value)


def _new_product(product: ChannelProduct, currency: str, store: dict, profile: str | None) -> dict:
    variant = {
        "title": product.name or product.sku,
        "sku": product.sku,
        "options": {"Default": "Default"},
        "manage_inventory": True,
        "prices": [{"currency_code": currency, "amount": _number(product.price or 0)}],
        **_variant_values(product),
    }
    body = {
        "title": product.name or product.sku,
        # Medusa derives a handle from the title and refuses a second product of the same
        # title; one product per SKU here, so the SKU makes the handle.
        "handle": _handle(product.sku),
        "description": product.description or None,
        "status": "published",
        "options": [{"title": "Default", "values": ["Default"]}],
        "variants": [variant],
    }
    if store.get("default_sales_channel_id"):
        body["sales_channels"] = [{"id": store["default_sales_channel_id"]}]
    if profile:
        body["shipping_profile_id"] = profile
    return body


def _handle(sku: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", sku.lower()).strip("-") or "product"


def _variant_values(product: ChannelProduct) -> dict:
    return {
        "barcode": product.barcode or None,
        "weight": _number(product.weight_g),
        "length": _number(product.length_mm),
        "width": _number(product.width_mm),
        "height": _number(product.height_mm),
    }


def _variant_changes(product: ChannelProduct, variant: dict, currency: str) -> dict:
    """The variant values Medusa holds differently from the portal's product."""
    changes = {}
    for key, value in _variant_values(product).items():
        held = variant.get(key)
        if key == "barcode":
            if _text(held) != _text(value):
                changes[key] = value
        elif (None if held is None else Decimal(str(held))) != (
            None if value is None else Decimal(str(value))
        ):
            changes[key] = value
    if product.price is not None:
        prices = variant.get("prices") or []
        mine = next((p for p in prices if _text(p.get("currency_code")).lower() == currency), None)
        if mine is None or Decimal(str(mine.get("amount"))) != product.price:
            others = [
                {"id": p["id"], "currency_code": p["currency_code"], "amount": p["amount"]}
                for p in prices
                if p is not mine
            ]
            price = {"currency_code": currency, "amount": _number(product.price)}
            if mine is not None:
                price["id"] = mine["id"]
            changes["prices"] = [*others, price]
    return changes


def _product_changes(product: ChannelProduct, parent: dict) -> dict:
    """The product's title and description, when the product is this SKU alone."""
    if len(parent.get("variants") or ()) != 1:
        return {}
    changes = {}
    if product.name and _text(parent.get("title")) != product.name:
        changes["title"] = product.name
    if _text(parent.get("description")) != product.description:
        changes["description"] = product.description
    return changes

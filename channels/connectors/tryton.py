"""Tryton 8.2 (a warehouse: trytond with its stock modules), spoken over JSON-RPC as a
user of the server (tryton_rpc).

What the portal's documents become there:
- an order sent is a customer shipment (`stock.shipment.out`, reference = the order's
  reference, SO-n) with an outgoing move per line, waiting for the warehouse to pick it;
  its address is an address of one party named "techOMS", with the customer's name;
- a purchase order sent is a draft supplier shipment (`stock.shipment.in`, reference
  PO-n) with an incoming move per line: the advance notice the warehouse receives against;
- shipments and receipts come back when Tryton has them done (receipts from received),
  read since a cursor on `write_date`; products are Tryton's products with a code (the
  SKU); stock is each warehouse's quantity, its child locations included.

Warehouse Mappings name a Tryton warehouse by its code, or by its name when it has no
code (docs/decisions.md). Raw RPC runs no on_change: the warehouse's input, storage and
output locations are written explicitly, as the client would have filled them in.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings

from ..platforms import PLATFORMS
from .base import (
    ChannelProduct,
    ChannelReceipt,
    ChannelShipment,
    Connector,
    ConnectorError,
    CredentialField,
    Fetched,
    FulfillmentRequest,
    Line,
    Outcome,
    PurchaseOrderRequest,
    Pushed,
    StockLevel,
    read_ahead,
)
from .http import JsonHttpClient
from .tryton_rpc import TrytonSession, TrytonUserError

# Documents created (or looked up) in one call; the benchmark's bare client uses the same.
BATCH = 100
# One page of a search_read.
PAGE_SIZE = 500
# One page of shipments or receipts read since the cursor: the engine records a page
# before the next is read, so this bounds what a run holds, whatever its size (a page of
# 500 held 5 MB more at 1,000 orders than at 200; bench/tryton.py).
CHANGED_PAGE_SIZE = 100
# Bounds a paging loop that never ends.
MAX_PAGES = 2000
# Each read goes back this far before the cursor: Tryton stamps write_date with its
# transaction's start, so a shipment done in a transaction that committed after a later
# one was read carries the earlier time. The engine recognises what it reads twice.
CURSOR_OVERLAP = timedelta(seconds=60)
# The party our shipments are addressed to and received from (one per database).
PARTY_NAME = "techOMS"
# A customer shipment the warehouse has not started picking: still ours to cancel.
NOT_PICKED = ("draft", "waiting", "assigned")
DONE_SHIPMENT = ("done",)
# A supplier shipment received counts: its goods are in the warehouse's input zone.
RECEIVED_SHIPMENT = ("received", "done")
TENTH = Decimal("0.1")
MEASUREMENTS = (
    ("length", "length_mm", "mm"),
    ("width", "width_mm", "mm"),
    ("height", "height_mm", "mm"),
    ("weight", "weight_g", "g"),
)
# What a product is read with: a product's name, price and measurements are its template's.
PRODUCT_FIELDS = [
    "code",
    "name",
    "description",
    "identifiers",
    "template",
    "write_date",
    "create_date",
    "template.write_date",
    "template.list_price",
    *(f"template.{m}" for m, _, _ in MEASUREMENTS),
    *(f"template.{m}_uom" for m, _, _ in MEASUREMENTS),
]


def location_key(warehouse: dict) -> str:
    return warehouse.get("code") or warehouse.get("name") or str(warehouse["id"])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse_cursor(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise ConnectorError(
            f"The stored cursor {since!r} is not a time; clear it to read everything."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _whole(quantity, what: str) -> int:
    value = Decimal(str(quantity))
    if value != value.to_integral_value():
        raise ValueError(f"{what} has a fractional quantity {quantity}")
    return int(value)


class TrytonConnector(Connector):
    platform = PLATFORMS["tryton"]
    credential_fields = (
        CredentialField(
            "url", "Server URL", "The trytond address, e.g. http://127.0.0.1:8000.", secret=False, url=True
        ),
        CredentialField("database", "Database", "The Tryton database name.", secret=False),
        CredentialField("user", "User", "A Tryton user whose company is the warehouse's.", secret=False),
        CredentialField("password", "Password", "That user's password."),
    )

    def __init__(self, credentials: dict, http):
        super().__init__(credentials, http)
        self.rpc = TrytonSession(
            http,
            str(credentials.get("database") or ""),
            str(credentials.get("user") or ""),
            str(credentials.get("password") or ""),
        )
        self._cache: dict = {}

    @classmethod
    def http_client(cls, credentials: dict) -> JsonHttpClient:
        url = str(credentials.get("url") or "")
        try:
            return JsonHttpClient(url, timeout=settings.CHANNEL_CONNECTOR_TIMEOUT)
        except ValueError:
            raise ConnectorError(f"The Tryton URL {url!r} must start with http:// or https://.") from None

    # What every job reads once ---------------------------------------------------------

    def _once(self, key: str, read):
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def _warehouses(self) -> dict[str, dict]:
        """Location key → the warehouse's id and zones."""

        def read():
            found = self._all(
                "stock.location",
                [("type", "=", "warehouse")],
                ["code", "name", "input_location", "output_location", "storage_location", "picking_location"],
            )
            return {location_key(w): w for w in found}

        return self._once("warehouses", read)

    def _warehouse_keys(self) -> dict[int, str]:
        return {w["id"]: key for key, w in self._warehouses().items()}

    def _company(self) -> dict:
        def read():
            if self.rpc.context is None:
                self.rpc.login()
            company = self.rpc.context.get("company")
            if not company:
                raise ConnectorError(
                    f"Tryton user {self.rpc.user!r} has no company: set one on the user in Tryton."
                )
            return self.rpc.model("company.company", "read", [company], ["currency", "rec_name"])[0]

        return self._once("company", read)

    def _party(self) -> dict:
        """Our party with its customer and supplier locations, created the first time."""

        def read():
            fields = ["customer_location", "supplier_location"]
            found = self.rpc.search_read("party.party", [("name", "=", PARTY_NAME)], fields, limit=1)
            if not found:
                self.rpc.model("party.party", "create", [{"name": PARTY_NAME}])
                found = self.rpc.search_read("party.party", [("name", "=", PARTY_NAME)], fields, limit=1)
            party = found[0]
            for field, kind in (("customer_location", "customer"), ("supplier_location", "supplier")):
                if not party.get(field):
                    party[field] = self._first_location(kind)
            return party

        return self._once("party", read)

    def _first_location(self, kind: str) -> int:
        found = self.rpc.search_read("stock.location", [("type", "=", kind)], ["id"], limit=1)
        if not found:
            raise ConnectorError(f"Tryton has no {kind} location.")
        return found[0]["id"]

    def _products(self, codes) -> dict[str, dict]:
        """Code → Tryton product (id, unit) for the codes Tryton has, read once each."""
        known = self._cache.setdefault("products", {})
        missing = sorted({c for c in codes if c not in known})
        for start in range(0, len(missing), PAGE_SIZE):
            chunk = missing[start : start + PAGE_SIZE]
            for product in self.rpc.search_read(
                "product.product", [("code", "in", chunk)], ["code", "default_uom"]
            ):
                known.setdefault(product["code"], product)
            for code in chunk:
                known.setdefault(code, None)
        return {c: known[c] for c in codes if known.get(c)}

    def _all(self, model: str, domain: list, fields: list[str], context=None, by_change=False) -> list[dict]:
        """Every record of `domain` (see _pages)."""
        return [record for page in self._pages(model, domain, fields, context, by_change) for record in page]

    def _pages(
        self, model: str, domain: list, fields: list[str], context=None, by_change=False, size=None
    ) -> Iterator[list[dict]]:
        """Every record of `domain`, a page at a time as Tryton answers it. Pages follow
        each other by key, not offset: a record that changes while the pages are read
        moves in the order and would shift an offset past another. By id, or by
        (write_date, id) with `by_change`; `size` records a page (PAGE_SIZE)."""
        size = size or PAGE_SIZE
        order = [("write_date", "ASC"), ("id", "ASC")] if by_change else [("id", "ASC")]
        after: list = []
        for _ in range(MAX_PAGES):
            found = self.rpc.search_read(
                model, [*domain, *after], fields, limit=size, order=order, context=context
            )
            yield found
            if len(found) < size:
                return
            last = found[-1]
            if by_change:
                after = [
                    [
                        "OR",
                        ("write_date", ">", last["write_date"]),
                        [("write_date", "=", last["write_date"]), ("id", ">", last["id"])],
                    ]
                ]
            else:
                after = [("id", ">", last["id"])]
        raise ConnectorError(f"Reading {model} from Tryton kept paging past {MAX_PAGES} pages.")

    # Set-up ----------------------------------------------------------------------------

    def test_connection(self) -> str:
        self.rpc.login()
        company = self._company()
        warehouses = self._warehouses()
        if not warehouses:
            raise ConnectorError("Tryton has no warehouse: create a stock location of type Warehouse.")
        return (
            f"Connected to Tryton at {self.http.base_url}, database {self.rpc.database}, as "
            f"{self.rpc.user}: company {company['rec_name']}, warehouses {', '.join(warehouses)}."
        )

    def list_locations(self) -> list[str]:
        return list(self._warehouses())

    # Sending ---------------------------------------------------------------------------

    def send_orders(self, requests: list[FulfillmentRequest]) -> Pushed:
        return self._send(requests, "stock.shipment.out", self._shipment_out_values, confirm="wait")

    def send_purchase_orders(self, requests: list[PurchaseOrderRequest]) -> Pushed:
        return self._send(requests, "stock.shipment.in", self._shipment_in_values, confirm=None)

    def _send(self, requests: list, model: str, values, confirm: str | None) -> Pushed:
        """Create a shipment per request not yet in Tryton (looked up by reference first,
        so a retry or a second run adds nothing), BATCH at a time; a request Tryton refuses
        is a rejected outcome, a failing Tryton stops the run with what was done so far."""
        pushed = Pushed()
        for start in range(0, len(requests), BATCH):
            try:
                pushed.outcomes.extend(
                    self._send_batch(requests[start : start + BATCH], model, values, confirm)
                )
            except ConnectorError as exc:
                pushed.stop(exc)
                break
        return pushed

    def _send_batch(self, batch: list, model: str, values, confirm: str | None) -> list[Outcome]:
        existing: dict[str, dict] = {}
        # A cancelled shipment of the reference does not count: one sent again (released
        # after a hold) becomes a new shipment.
        found = self.rpc.search_read(
            model,
            [("reference", "in", [r.reference for r in batch]), ("state", "!=", "cancelled")],
            ["reference", "state"],
            order=[("id", "ASC")],
        )
        for shipment in found:
            existing.setdefault(shipment["reference"], shipment)
        outcomes: dict[str, Outcome] = {}
        products = self._products({line.sku for r in batch for line in r.lines})
        fresh = []
        for request in batch:
            if request.reference in existing:
                continue
            problem = self._problem(request, products)
            if problem:
                outcomes[request.reference] = Outcome(request.reference, "rejected", error=problem)
            else:
                fresh.append(request)
        created = self._create(
            model, [r.reference for r in fresh], values(fresh, products) if fresh else [], outcomes
        )
        if confirm:
            # A draft found by reference was created by an attempt that stopped before this step.
            drafts = [(ref, s["id"]) for ref, s in existing.items() if s["state"] == "draft"]
            self._button(model, confirm, [*created.items(), *drafts], outcomes)
        ids = {ref: shipment["id"] for ref, shipment in existing.items()} | created
        for ref, shipment_id in ids.items():
            if ref not in outcomes:
                result = "created" if ref in created else "unchanged"
                outcomes[ref] = Outcome(ref, result, external_id=str(shipment_id))
        return [outcomes[r.reference] for r in batch if r.reference in outcomes]

    def _problem(self, request, products: dict) -> str:
        if request.location not in self._warehouses():
            return f"Tryton has no warehouse {request.location!r}."
        unknown = sorted({line.sku for line in request.lines if line.sku not in products})
        if unknown:
            return f"Tryton has no product with code {', '.join(unknown)}."
        if not request.lines:
            return "The document has no lines."
        return ""

    def _create(self, model: str, keys: list[str], values: list[dict], outcomes: dict) -> dict[str, int]:
        """key → new id; all in one call, or one by one when Tryton refused the batch, so
        that only the records it refuses are rejected."""
        if not keys:
            return {}
        try:
            ids = self.rpc.model(model, "create", values)
            return dict(zip(keys, ids, strict=True))
        except TrytonUserError:
            if len(keys) == 1:
                raise
        created = {}
        for key, value in zip(keys, values, strict=True):
            try:
                created[key] = self.rpc.model(model, "create", [value])[0]
            except TrytonUserError as exc:
                outcomes[key] = Outcome(key, "rejected", error=str(exc))
        return created

    def _button(self, model: str, button: str, pairs: list[tuple[str, int]], outcomes: dict) -> None:
        """Press a workflow button on these shipments: all at once, or one by one when
        Tryton refused, rejecting those it refuses (they stay in draft there, found by
        reference next time)."""
        if not pairs:
            return
        try:
            self.rpc.model(model, button, [i for _, i in pairs])
            return
        except TrytonUserError as exc:
            if len(pairs) == 1:
                outcomes[pairs[0][0]] = Outcome(pairs[0][0], "rejected", error=str(exc))
                return
        for ref, shipment_id in pairs:
            try:
                self.rpc.model(model, button, [shipment_id])
            except TrytonUserError as exc:
                outcomes[ref] = Outcome(ref, "rejected", error=str(exc))

    def _move(self, product: dict, quantity: int, source: int, target: int, price: Decimal) -> dict:
        company = self._company()
        return {
            "product": product["id"],
            "unit": product["default_uom"],
            "quantity": float(quantity),
            "from_location": source,
            "to_location": target,
            "unit_price": price,
            "currency": company["currency"],
            "company": company["id"],
        }

    def _shipment_out_values(self, requests: list[FulfillmentRequest], products: dict) -> list[dict]:
        party = self._party()
        addresses = self.rpc.model(
            "party.address", "create", self._addresses(party["id"], [r.ship_to for r in requests])
        )
        carriers = self._carriers()
        values = []
        for request, address in zip(requests, addresses, strict=True):
            warehouse = self._warehouses()[request.location]
            output = warehouse["output_location"]
            shipment = {
                "company": self._company()["id"],
                "customer": party["id"],
                "delivery_address": address,
                "reference": request.reference,
                "warehouse": warehouse["id"],
                # What on_change_warehouse would fill in: picking zone if any, else storage.
                "warehouse_storage": warehouse["picking_location"] or warehouse["storage_location"],
                "warehouse_output": output,
                "outgoing_moves": [
                    [
                        "create",
                        [
                            self._move(
                                products[li.sku],
                                li.quantity,
                                output,
                                party["customer_location"],
                                li.unit_price,
                            )
                            for li in request.lines
                        ],
                    ]
                ],
            }
            carrier = carriers.get((request.carrier_code.lower(), request.service_code.lower()))
            if carrier:
                shipment["carrier"] = carrier
            values.append(shipment)
        return values

    def _shipment_in_values(self, requests: list[PurchaseOrderRequest], products: dict) -> list[dict]:
        party = self._party()
        values = []
        for request in requests:
            warehouse = self._warehouses()[request.location]
            arrival = warehouse["input_location"]
            shipment = {
                "company": self._company()["id"],
                "supplier": party["id"],
                "reference": request.reference,
                "warehouse": warehouse["id"],
                "warehouse_input": arrival,
                "warehouse_storage": warehouse["storage_location"],
                "incoming_moves": [
                    [
                        "create",
                        [
                            self._move(
                                products[li.sku], li.quantity, party["supplier_location"], arrival, Decimal(0)
                            )
                            for li in request.lines
                        ],
                    ]
                ],
            }
            if request.expected_at:
                shipment["planned_date"] = request.expected_at
            values.append(shipment)
        return values

    def _addresses(self, party: int, ship_tos: list[dict]) -> list[dict]:
        """Tryton addresses for the orders' ship-to. Country and region are Tryton's
        records when it knows the codes (countries are imported separately in Tryton);
        otherwise they are kept as text on the street lines, so nothing is lost."""
        countries = self._codes("country.country", {(s.get("country") or "").upper() for s in ship_tos})
        regions = self._codes(
            "country.subdivision",
            {f"{(s.get('country') or '').upper()}-{(s.get('region') or '').upper()}" for s in ship_tos},
        )
        addresses = []
        for ship_to in ship_tos:
            country = (ship_to.get("country") or "").upper()
            region = (ship_to.get("region") or "").upper()
            street = [ship_to.get("address1") or "", ship_to.get("address2") or ""]
            address = {
                "party": party,
                "party_name": ship_to.get("name") or "",
                "city": ship_to.get("city") or "",
                "postal_code": ship_to.get("postal_code") or "",
            }
            if country in countries:
                address["country"] = countries[country]
            if f"{country}-{region}" in regions:
                address["subdivision"] = regions[f"{country}-{region}"]
            if region and f"{country}-{region}" not in regions:
                street.append(region)
            if country and country not in countries:
                street.append(country)
            address["street_unstructured"] = "\n".join(s for s in street if s)
            addresses.append(address)
        return addresses

    def _codes(self, model: str, codes: set[str]) -> dict[str, int]:
        """Code → id of the countries or subdivisions Tryton has, each code read once a run."""
        codes = {c for c in codes if c and not c.endswith("-") and not c.startswith("-")}
        known = self._cache.setdefault(model, {})
        missing = sorted(codes - known.keys())
        if missing:
            answered = self.rpc.search_read(model, [("code", "in", missing)], ["code"])
            found = {r["code"]: r["id"] for r in answered}
            for code in missing:
                known[code] = found.get(code)
        return {c: known[c] for c in codes if known.get(c)}

    def _carriers(self) -> dict[tuple[str, str], int]:
        """(carrier code, service code) → Tryton carrier: the carrier's party name is the
        carrier code, its carrier product's code the service code (docs/decisions.md)."""

        def read():
            found = self._all("carrier", [], ["party.name", "carrier_product.code"])
            carriers = {}
            for carrier in found:
                key = (
                    (carrier.get("party.") or {}).get("name") or "",
                    (carrier.get("carrier_product.") or {}).get("code") or "",
                )
                carriers.setdefault((key[0].lower(), key[1].lower()), carrier["id"])
                # An order naming the carrier without a service gets its first service.
                carriers.setdefault((key[0].lower(), ""), carrier["id"])
            return carriers

        return self._once("carriers", read)

    # Cancelling ------------------------------------------------------------------------

    def cancel_fulfillment(self, reference: str, external_id: str) -> bool:
        """Cancel the order's customer shipment if the warehouse has not picked it yet:
        True when it is cancelled there (or already was, or is gone), False when too late."""
        fields = ["state", "reference"]
        found = []
        if str(external_id).isdigit():
            found = self.rpc.search_read(
                "stock.shipment.out", [("id", "=", int(external_id)), ("reference", "=", reference)], fields
            )
        if not found:
            found = self.rpc.search_read("stock.shipment.out", [("reference", "=", reference)], fields)
        live = [s for s in found if s["state"] != "cancelled"]
        if any(s["state"] not in NOT_PICKED for s in live):
            return False
        if live:
            self.rpc.model("stock.shipment.out", "cancel", [s["id"] for s in live])
        return True

    # Reading ---------------------------------------------------------------------------

    def _changed(
        self, model: str, states, fields: list[str], ids, since
    ) -> tuple[Iterator[list[dict]], datetime | None]:
        """Pages of shipments in `states`: exactly `ids`, or those written since the
        cursor in write order; and the cursor's time."""
        domain: list = [("state", "in", list(states))]
        start = None
        if ids is not None:
            domain.append(("id", "in", [int(i) for i in ids if str(i).isdigit()]))
        else:
            start = _parse_cursor(since)
            if start:
                domain.append(("write_date", ">=", start - CURSOR_OVERLAP))
        fields = ["write_date", "create_date", *fields]
        return self._pages(model, domain, fields, by_change=True, size=CHANGED_PAGE_SIZE), start

    def _moves(self, records: list[dict], field: str) -> dict[int, list[dict]]:
        move_ids = [m for r in records for m in r.get(field) or ()]
        by_id = {}
        for start in range(0, len(move_ids), PAGE_SIZE):
            chunk = move_ids[start : start + PAGE_SIZE]
            for move in self.rpc.search_read(
                "stock.move", [("id", "in", chunk)], ["product.code", "quantity", "state"]
            ):
                by_id[move["id"]] = move
        return {r["id"]: [by_id[m] for m in r.get(field) or () if m in by_id] for r in records}

    @staticmethod
    def _lines(moves: list[dict], label: str) -> tuple[Line, ...]:
        """Done moves summed per product code: what actually moved (a partial pick has
        fewer than the order asked for)."""
        totals: dict[str, int] = defaultdict(int)
        for move in moves:
            if move["state"] != "done":
                continue
            code = (move.get("product.") or {}).get("code")
            if not code:
                raise ValueError(f"{label} moves a product without a code")
            totals[code] += _whole(move["quantity"], label)
        return tuple(Line(sku=code, quantity=quantity) for code, quantity in totals.items())

    def _fetched(self, records, start, ids, parse, what: str) -> Fetched:
        """Records read in one go, parsed as one page of _parsed_pages."""
        return next(self._parsed_pages([records], start, ids, lambda _: parse, what))

    def _parsed_pages(self, pages, start, ids, prepare, what: str) -> Iterator[Fetched]:
        """Each page of raw records parsed record by record (`prepare(records)` reads what
        the page needs and answers the parser). A page's cursor is the latest change read
        so far, never past a record that could not be read (it is read again next time)."""
        latest, stuck = None, None
        for records in pages:
            parse = prepare(records)
            fetched = Fetched()
            for record in records:
                moment = record.get("write_date") or record.get("create_date")
                try:
                    fetched.items.append(parse(record))
                except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
                    fetched.messages.append(f"Skipped {what} {record.get('id', '?')}: unreadable ({exc}).")
                    stuck = moment if stuck is None or (moment and moment < stuck) else stuck
                    continue
                if moment and (latest is None or moment > latest):
                    latest = moment
            if ids is None:
                position = stuck - timedelta(microseconds=1) if stuck else latest
                if start and (position is None or position < start):
                    position = start
                fetched.cursor = _iso(position) if position else None
            yield fetched

    def receive_shipments(self, ids=None, since=None) -> Fetched[ChannelShipment]:
        return Fetched.joined(self.receive_shipment_pages(ids, since), key=lambda s: s.external_id)

    def receive_shipment_pages(self, ids=None, since=None) -> Iterator[Fetched[ChannelShipment]]:
        """Done customer shipments a page (CHANGED_PAGE_SIZE) at a time, each page with its moves
        and packages read and parsed before the next page is read."""
        pages, start = self._changed(
            "stock.shipment.out",
            DONE_SHIPMENT,
            [
                "reference",
                "warehouse",
                "shipping_reference",
                "outgoing_moves",
                "root_packages",
                "carrier.party.name",
                "carrier.carrier_product.code",
            ],
            ids,
            since,
        )

        def prepare(records: list[dict]):
            moves = self._moves(records, "outgoing_moves")
            tracking = self._package_tracking(records)
            keys = self._warehouse_keys()

            def parse(raw: dict) -> ChannelShipment:
                carrier = raw.get("carrier.") or {}
                return ChannelShipment(
                    external_id=str(raw["id"]),
                    order_reference=str(raw["reference"] or ""),
                    location=keys.get(raw["warehouse"], str(raw["warehouse"])),
                    tracking_number=raw.get("shipping_reference") or tracking.get(raw["id"], ""),
                    shipped_at=raw["write_date"] or raw["create_date"],
                    lines=self._lines(moves[raw["id"]], f"Shipment {raw['id']}"),
                    carrier_code=(carrier.get("party.") or {}).get("name") or "",
                    service_code=(carrier.get("carrier_product.") or {}).get("code") or "",
                )

            return parse

        # The next page is read from Tryton while the engine records this one.
        return read_ahead(self._parsed_pages(pages, start, ids, prepare, "shipment"))

    def _package_tracking(self, records: list[dict]) -> dict[int, str]:
        """Shipment id → its packages' tracking numbers, for shipments that carry none
        themselves (stock_package_shipping puts one on each package)."""
        wanted = {
            p: r["id"]
            for r in records
            if not r.get("shipping_reference")
            for p in r.get("root_packages") or ()
        }
        tracking: dict[int, list[str]] = defaultdict(list)
        ids = sorted(wanted)
        for start in range(0, len(ids), PAGE_SIZE):
            for package in self.rpc.search_read(
                "stock.package", [("id", "in", ids[start : start + PAGE_SIZE])], ["shipping_reference"]
            ):
                if package.get("shipping_reference"):
                    tracking[wanted[package["id"]]].append(package["shipping_reference"])
        return {shipment: ", ".join(numbers) for shipment, numbers in tracking.items()}

    def receive_receipts(self, ids=None, since=None) -> Fetched[ChannelReceipt]:
        return Fetched.joined(self.receive_receipt_pages(ids, since), key=lambda r: r.external_id)

    def receive_receipt_pages(self, ids=None, since=None) -> Iterator[Fetched[ChannelReceipt]]:
        pages, start = self._changed(
            "stock.shipment.in", RECEIVED_SHIPMENT, ["reference", "warehouse", "incoming_moves"], ids, since
        )

        def prepare(records: list[dict]):
            moves = self._moves(records, "incoming_moves")
            keys = self._warehouse_keys()

            def parse(raw: dict) -> ChannelReceipt:
                return ChannelReceipt(
                    external_id=str(raw["id"]),
                    purchase_order_reference=str(raw["reference"] or ""),
                    location=keys.get(raw["warehouse"], str(raw["warehouse"])),
                    received_at=raw["write_date"] or raw["create_date"],
                    lines=self._lines(moves[raw["id"]], f"Supplier shipment {raw['id']}"),
                )

            return parse

        return read_ahead(self._parsed_pages(pages, start, ids, prepare, "receipt"))

    def import_inventory(self) -> Fetched[StockLevel]:
        fetched = Fetched()
        for key, warehouse in self._warehouses().items():
            products = self._all(
                "product.product",
                [("type", "=", "goods"), ("code", "!=", None)],
                ["code", "quantity"],
                context={"locations": [warehouse["id"]], "with_childs": True},
            )
            for product in products:
                try:
                    quantity = _whole(product["quantity"], f"Product {product['code']}")
                except (ValueError, InvalidOperation) as exc:
                    fetched.messages.append(f"Skipped {product['code']} at {key}: {exc}.")
                    continue
                fetched.items.append(StockLevel(sku=product["code"], location=key, quantity=quantity))
        return fetched

    def import_products(self, ids=None, since=None) -> Fetched[ChannelProduct]:
        # Stock products only: a carrier's service product is not part of the catalogue.
        domain: list = [("code", "!=", None), ("type", "=", "goods")]
        start = None
        if ids is not None:
            domain.append(("id", "in", [int(i) for i in ids if str(i).isdigit()]))
        else:
            start = _parse_cursor(since)
            if start:
                # A product's measurements and price live on its template.
                edge = start - CURSOR_OVERLAP
                domain.append(["OR", ("write_date", ">=", edge), ("template.write_date", ">=", edge)])
        records = self._all("product.product", domain, PRODUCT_FIELDS)
        barcodes = self._barcodes(records)
        for record in records:
            template = record.get("template.") or {}
            # The product's change time is the later of its own and its template's.
            record["write_date"] = max(
                (
                    t
                    for t in (record.get("write_date"), template.get("write_date"), record.get("create_date"))
                    if t
                ),
                default=None,
            )
        return self._fetched(
            records,
            start,
            ids,
            lambda raw: self._neutral_product(raw, barcodes.get(raw["id"], "")),
            "product",
        )

    def _neutral_product(self, raw: dict, barcode: str = "") -> ChannelProduct:
        template = raw.get("template.") or {}
        price = template.get("list_price")
        factors = {"mm": self._unit_factors("mm"), "g": self._unit_factors("g")}
        return ChannelProduct(
            external_id=str(raw["id"]),
            sku=str(raw["code"]).strip(),
            name=raw.get("name") or raw["code"],
            description=raw.get("description") or "",
            barcode=barcode,
            price=Decimal(str(price)) if price is not None else None,
            **{ours: _convert(template, theirs, factors[unit]) for theirs, ours, unit in MEASUREMENTS},
        )

    def export_products(self, products: list[ChannelProduct]) -> Pushed:
        """Create the products Tryton has no code for (a goods template each, measured in
        mm and g) and write the values that differ on the others; a value the portal does
        not know (None) leaves Tryton's. Barcodes are not sent."""
        pushed = Pushed()
        for start in range(0, len(products), BATCH):
            try:
                pushed.outcomes.extend(self._export_batch(products[start : start + BATCH]))
            except ConnectorError as exc:
                pushed.stop(exc)
                break
        return pushed

    def _export_batch(self, batch: list[ChannelProduct]) -> list[Outcome]:
        found = self.rpc.search_read(
            "product.product", [("code", "in", [p.sku for p in batch])], PRODUCT_FIELDS, order=[("id", "ASC")]
        )
        existing: dict[str, dict] = {}
        for raw in found:
            existing.setdefault(raw["code"], raw)
        outcomes: dict[str, Outcome] = {}
        fresh = [p for p in batch if p.sku not in existing]
        created = self._create(
            "product.template",
            [p.sku for p in fresh],
            [self._template_values(p, new=True) for p in fresh],
            outcomes,
        )
        if created:
            # The new templates' products, whose ids are the products' external ids.
            for raw in self.rpc.search_read(
                "product.product", [("template", "in", list(created.values()))], ["code"]
            ):
                outcomes[raw["code"]] = Outcome(raw["code"], "created", external_id=str(raw["id"]))
        changes = []
        for product in batch:
            raw = existing.get(product.sku)
            if raw is None:
                continue
            template, described = self._differences(product, raw)
            if not (template or described):
                outcomes[product.sku] = Outcome(product.sku, "unchanged", external_id=str(raw["id"]))
                continue
            changes.append((product, raw, template, described))
        self._write_changes(changes, outcomes)
        return [outcomes[p.sku] for p in batch if p.sku in outcomes]

    def _template_values(self, product: ChannelProduct, new: bool = False) -> dict:
        units = {symbol: self._unit(symbol) for symbol in ("mm", "g")}
        values: dict = {"name": product.name or product.sku}
        if product.price is not None or new:
            values["list_price"] = product.price if product.price is not None else Decimal(0)
        for theirs, ours, unit in MEASUREMENTS:
            if getattr(product, ours) is not None:
                values[theirs] = float(getattr(product, ours))
                values[f"{theirs}_uom"] = units[unit]
        if new:
            values.update(
                type="goods",
                default_uom=self._unit("u"),
                products=[["create", [{"suffix_code": product.sku, "description": product.description}]]],
            )
        return values

    def _differences(self, product: ChannelProduct, raw: dict) -> tuple[dict, bool]:
        """The template values to write for `product`, and whether its description differs."""
        try:
            current = self._neutral_product(raw)
        except ValueError:  # a measurement in a unit of another kind: write ours
            current = None
        wanted = self._template_values(product)
        changed = {}
        if current is None or current.name != wanted["name"]:
            changed["name"] = wanted["name"]
        if "list_price" in wanted and (current is None or current.price != wanted["list_price"]):
            changed["list_price"] = wanted["list_price"]
        for theirs, ours, _ in MEASUREMENTS:
            if theirs in wanted and (
                current is None or getattr(current, ours) != getattr(product, ours).quantize(TENTH)
            ):
                changed[theirs], changed[f"{theirs}_uom"] = wanted[theirs], wanted[f"{theirs}_uom"]
        described = (raw.get("description") or "") != (product.description or "")
        return changed, described

    def _write_changes(self, changes: list, outcomes: dict) -> None:
        """One write for every changed template and one for the descriptions (Tryton's
        write takes (ids, values) pairs); one by one when Tryton refuses the lot."""

        def write(items) -> None:
            templates = [arg for _, raw, values, _ in items if values for arg in ([raw["template"]], values)]
            if templates:
                self.rpc.model("product.template", "write", *templates)
            described = [
                arg
                for product, raw, _, differs in items
                if differs
                for arg in ([raw["id"]], {"description": product.description})
            ]
            if described:
                self.rpc.model("product.product", "write", *described)

        if not changes:
            return
        try:
            write(changes)
            done = changes
        except TrytonUserError:
            done = []
            for change in changes:
                try:
                    write([change])
                    done.append(change)
                except TrytonUserError as exc:
                    outcomes[change[0].sku] = Outcome(change[0].sku, "rejected", error=str(exc))
        for product, raw, _, _ in done:
            outcomes[product.sku] = Outcome(product.sku, "updated", external_id=str(raw["id"]))

    def _units(self) -> list[dict]:
        return self._once("units", lambda: self._all("product.uom", [], ["symbol", "factor", "category"]))

    def _unit(self, symbol: str) -> int:
        for unit in self._units():
            if unit["symbol"] == symbol:
                return unit["id"]
        raise ConnectorError(f"Tryton has no unit {symbol!r}.")

    def _barcodes(self, records: list[dict]) -> dict[int, str]:
        wanted = sorted(i for r in records for i in r.get("identifiers") or ())
        barcodes: dict[int, str] = {}
        for start in range(0, len(wanted), PAGE_SIZE):
            for identifier in self.rpc.search_read(
                "product.identifier",
                [("id", "in", wanted[start : start + PAGE_SIZE])],
                ["product", "code"],
                order=[("sequence", "ASC"), ("id", "ASC")],
            ):
                barcodes.setdefault(identifier["product"], identifier["code"])
        return barcodes

    def _unit_factors(self, target: str) -> dict[int, Decimal]:
        """Tryton unit id → factor to `target` (mm or g) for the units of its category:
        Tryton's factor is each unit in the category's base unit (metre, kilogram)."""

        units = self._units()
        base = next((u for u in units if u["symbol"] == target), None)
        if base is None:
            raise ConnectorError(f"Tryton has no unit {target!r} to convert measurements to.")
        return {
            u["id"]: Decimal(str(u["factor"])) / Decimal(str(base["factor"]))
            for u in units
            if u["category"] == base["category"]
        }


def _convert(template: dict, dimension: str, factors: dict[int, Decimal]) -> Decimal | None:
    value, unit = template.get(dimension), template.get(f"{dimension}_uom")
    if value is None or unit is None:
        return None
    if unit not in factors:
        raise ValueError(f"its {dimension} unit is not one of its kind")
    return (Decimal(str(value)) * factors[unit]).quantize(TENTH)

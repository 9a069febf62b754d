"""A bare Tryton JSON-RPC client (standard library only) and the warehouse's own moves.

`TrytonRpc` logs in and calls model methods, counting its calls: the tests act "as the
warehouse" through it, and the benchmark measures the connector against it. `Warehouse`
adds what a warehouse person does in Tryton's client: ship a customer shipment, receive a
supplier shipment, count stock. Nothing here imports Tryton: it only speaks HTTP.
"""

import base64
import datetime as dt
import json
import urllib.error
import urllib.request
from decimal import Decimal


class TrytonRpcError(Exception):
    """Tryton answered with an error (its message and the server's error name)."""

    def __init__(self, method: str, error):
        self.method = method
        self.error = error
        super().__init__(f"{method}: {error}")


def _encode(value):
    # Tryton's JSON-RPC carries Decimal and dates as {"__class__": …} objects.
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable for Tryton")


def _decode(obj: dict):
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(obj.get("hour", 0), obj.get("minute", 0), obj.get("second", 0))
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


class TrytonRpc:
    """One logged-in user of one Tryton database; `calls` counts the requests made."""

    def __init__(self, url: str, database: str, user: str, password: str, timeout: float = 60):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Tryton URL must be http(s): {url!r}")
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.database = database
        self.user = user
        self.password = password
        self.timeout = timeout
        self.calls = 0
        self._authorization = None
        self.context = {}
        self._id = 0

    def _post(self, method: str, params: list, authorization=None):
        self._id += 1
        self.calls += 1
        body = json.dumps({"id": self._id, "method": method, "params": params}, default=_encode)
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.endpoint, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        if authorization:
            request.add_header("Authorization", authorization)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - local peer
            answer = json.loads(response.read(), object_hook=_decode)
        if answer.get("error"):
            raise TrytonRpcError(method, answer["error"])
        return answer.get("result")

    def login(self) -> None:
        # [user id, session key, bus URL]; a wrong password is an HTTP 401, too many a 429.
        uid, session, _bus = self._post("common.db.login", [self.user, {"password": self.password}, "en"])
        token = base64.b64encode(f"{self.user}:{uid}:{session}".encode()).decode()
        self._authorization = f"Session {token}"
        # As Tryton's client does: every call carries the user's preferences as context
        # (the company, without which company-dependent prices and costs read as None).
        self.context = self._post("model.res.user.get_preferences", [True, {}], self._authorization)

    def call(self, method: str, *params, context: dict | None = None):
        """`call("model.stock.shipment.out.search", domain)`: the context comes last."""
        if self._authorization is None:
            self.login()
        args = [*params, {**self.context, **(context or {})}]
        try:
            return self._post(method, args, self._authorization)
        except urllib.error.HTTPError as error:
            # 401/403: the session expired (Tryton drops idle ones): log in once more.
            if error.code not in (401, 403):
                raise
            self.login()
            return self._post(method, args, self._authorization)

    def model(self, name: str, method: str, *params, context: dict | None = None):
        return self.call(f"model.{name}.{method}", *params, context=context)

    def search_read(self, name, domain, fields, order=None, limit=None, offset=0, context=None):
        return self.model(name, "search_read", domain, offset, limit, order, fields, context=context)

    def read(self, name, ids, fields, context=None):
        return self.model(name, "read", list(ids), fields, context=context)

    def create(self, name, values: list[dict], context=None) -> list[int]:
        return self.model(name, "create", values, context=context)

    def write(self, name, ids, values: dict, context=None) -> None:
        self.model(name, "write", list(ids), values, context=context)


class Warehouse:
    """What a person does in Tryton's warehouse: the moves the end-to-end tests play.

    `info` is the peer's seed description (`Peer.info`): warehouses, products, parties,
    carriers and locations by name, with their ids.
    """

    def __init__(self, rpc: TrytonRpc, info: dict):
        self.rpc = rpc
        self.info = info

    def _warehouse(self, name: str) -> dict:
        return self.info["warehouses"][name]

    def create_customer_shipment(
        self, warehouse: str, lines: dict[str, float], reference: str, customer: str = "customer"
    ) -> int:
        """A waiting customer shipment of `lines` {sku: quantity} from `warehouse`."""
        wh = self._warehouse(warehouse)
        party = self.info["parties"][customer]
        moves = [
            {
                "product": self.info["products"][sku]["id"],
                "unit": self.info["units"]["unit"],
                "quantity": float(quantity),
                "from_location": wh["output"],
                "to_location": self.info["locations"]["customer"],
                "unit_price": Decimal(str(self.info["products"][sku]["price"])),
                "currency": self.info["currency"],
                "company": self.info["company"],
            }
            for sku, quantity in lines.items()
        ]
        (shipment,) = self.rpc.create(
            "stock.shipment.out",
            [
                {
                    "company": self.info["company"],
                    "customer": party["id"],
                    "delivery_address": party["address"],
                    "warehouse": wh["id"],
                    "warehouse_storage": wh["storage"],
                    "warehouse_output": wh["output"],
                    "reference": reference,
                    "outgoing_moves": [["create", moves]],
                }
            ],
        )
        self.rpc.model("stock.shipment.out", "wait", [shipment])
        return shipment

    def ship(
        self,
        shipment_ids: list[int],
        carrier: str | None = None,
        tracking: str | dict | None = None,
        packages: bool = False,
    ) -> None:
        """Assign, pick, pack and do customer shipments, as the warehouse ships them.

        `tracking` is one reference for all, or {shipment id: reference}. `carrier` (a
        seeded carrier's name) is set at packing; without it a shipment keeps its own, or
        gets DHL when it has none (Tryton warns at packing without one). With `packages`
        each shipment's moves go into one box that carries the tracking reference (as
        stock_package_shipping does), the shipment itself none. Raises when stock is short.
        """
        ids = list(shipment_ids)
        rows = self.rpc.read("stock.shipment.out", ids, ["state", "carrier"])
        states = {s["id"]: s["state"] for s in rows}
        if carrier is None and (bare := [s["id"] for s in rows if not s["carrier"]]):
            self.rpc.write("stock.shipment.out", bare, {"carrier": self.info["carriers"]["DHL"]["id"]})
        if waiting := [i for i, state in states.items() if state == "draft"]:
            self.rpc.model("stock.shipment.out", "wait", waiting)
        # assign_try answers nothing: the shipments it could not fully assign stay waiting.
        self.rpc.model("stock.shipment.out", "assign_try", ids)
        states = {s["id"]: s["state"] for s in self.rpc.read("stock.shipment.out", ids, ["state"])}
        if short := [i for i, state in states.items() if state != "assigned"]:
            raise TrytonRpcError("assign_try", f"not enough stock to assign shipments {short}")
        self.rpc.model("stock.shipment.out", "pick", ids)
        values = {}
        if carrier:
            values["carrier"] = self.info["carriers"][carrier]["id"]
        if packages:
            self._box(ids, tracking)
            tracking = None
        if isinstance(tracking, dict):
            # Tryton's write takes (ids, values) pairs: one call for every shipment's own number.
            pairs = [
                arg for i, ref in tracking.items() for arg in ([i], {**values, "shipping_reference": ref})
            ]
            self.rpc.model("stock.shipment.out", "write", *pairs)
        else:
            if tracking:
                values["shipping_reference"] = tracking
            if values:
                self.rpc.write("stock.shipment.out", ids, values)
        self.rpc.model("stock.shipment.out", "pack", ids)
        self.rpc.model("stock.shipment.out", "do", ids)

    def _box(self, ids: list[int], tracking: str | dict | None) -> None:
        rows = self.rpc.read("stock.shipment.out", ids, ["outgoing_moves"])
        self.rpc.create(
            "stock.package",
            [
                {
                    "company": self.info["company"],
                    "type": self.info["package_type"],
                    "shipment": f"stock.shipment.out,{row['id']}",
                    "moves": [["add", row["outgoing_moves"]]],
                    "shipping_reference": tracking.get(row["id"]) if isinstance(tracking, dict) else tracking,
                }
                for row in rows
            ],
        )

    def cancel_customer_shipments(self, shipment_ids: list[int]) -> None:
        self.rpc.model("stock.shipment.out", "cancel", list(shipment_ids))

    def create_supplier_shipment(
        self, warehouse: str, lines: dict[str, float], reference: str, supplier: str = "supplier"
    ) -> int:
        """A draft supplier shipment of `lines` {sku: quantity} into `warehouse`."""
        wh = self._warehouse(warehouse)
        moves = [
            {
                "product": self.info["products"][sku]["id"],
                "unit": self.info["units"]["unit"],
                "quantity": float(quantity),
                "from_location": self.info["locations"]["supplier"],
                "to_location": wh["input"],
                "unit_price": Decimal(str(self.info["products"][sku]["cost"])),
                "currency": self.info["currency"],
                "company": self.info["company"],
            }
            for sku, quantity in lines.items()
        ]
        (shipment,) = self.rpc.create(
            "stock.shipment.in",
            [
                {
                    "company": self.info["company"],
                    "supplier": self.info["parties"][supplier]["id"],
                    "warehouse": wh["id"],
                    "warehouse_input": wh["input"],
                    "warehouse_storage": wh["storage"],
                    "reference": reference,
                    "incoming_moves": [["create", moves]],
                }
            ],
        )
        return shipment

    def receive(self, shipment_ids: list[int], quantities: dict[int, float] | None = None) -> None:
        """Receive then do supplier shipments; `quantities` {move id: quantity} first
        changes what arrived on those incoming moves (a short or over delivery)."""
        for move_id, quantity in (quantities or {}).items():
            self.rpc.write("stock.move", [move_id], {"quantity": float(quantity)})
        self.rpc.model("stock.shipment.in", "receive", list(shipment_ids))
        self.rpc.model("stock.shipment.in", "do", list(shipment_ids))

    def quantities(self, warehouse: str, skus: list[str] | None = None) -> dict[str, float]:
        """On-hand quantity per SKU in `warehouse` (all its child locations)."""
        skus = list(skus or self.info["products"])
        ids = [self.info["products"][sku]["id"] for sku in skus]
        rows = self.rpc.read(
            "product.product",
            ids,
            ["quantity"],
            context={"locations": [self._warehouse(warehouse)["id"]], "with_childs": True},
        )
        by_id = {row["id"]: row["quantity"] for row in rows}
        return {sku: by_id[self.info["products"][sku]["id"]] for sku in skus}

    def add_stock(self, warehouse: str, lines: dict[str, float]) -> None:
        """Put `lines` {sku: quantity} on hand in `warehouse`'s storage (a done move from
        the supplier location, as a quick receipt without a shipment)."""
        wh = self._warehouse(warehouse)
        moves = self.rpc.create(
            "stock.move",
            [
                {
                    "product": self.info["products"][sku]["id"],
                    "unit": self.info["units"]["unit"],
                    "quantity": float(quantity),
                    "from_location": self.info["locations"]["supplier"],
                    "to_location": wh["storage"],
                    "unit_price": Decimal(str(self.info["products"][sku]["cost"])),
                    "currency": self.info["currency"],
                    "company": self.info["company"],
                }
                for sku, quantity in lines.items()
            ],
        )
        self.rpc.model("stock.move", "do", moves)

"""The connector interface every platform implements.

A connector speaks one platform's wire format and nothing else: it turns the platform's
records into the neutral records below and back, so that the job handlers
(automations.jobs, which read and write the portal's data) never see a platform's JSON. It is built with its
credentials and an HTTP client injected, declares its capabilities through its Platform,
and has one method per job type. Methods a platform does not support raise
NotSupported. Every failure of the peer raises a ConnectorError whose message is shown
to the user as is.
"""

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from ..platforms import Platform


class ConnectorError(Exception):
    """The platform could not do what was asked; str() is a sentence for the job log."""

    # Worth trying again in a moment (the peer is down, slow or busy): job runs retry
    # these with backoff; the others (credentials, protocol, a refused request) fail at once.
    transient = False


class ConnectorUnavailable(ConnectorError):
    """Refused connection, DNS failure, connection reset."""

    transient = True


class ConnectorTimeout(ConnectorError):
    transient = True


class ConnectorProtocolError(ConnectorError):
    """The answer is not what the platform's API promises (not JSON, wrong shape)."""


class ConnectorAuthError(ConnectorError):
    pass


# Request Timeout, Too Many Requests and server errors pass; 501 Not Implemented, 505 and
# 511 say the request itself will never be served.
PERMANENT_SERVER_STATUSES = (501, 505, 511)


class ConnectorHttpError(ConnectorError):
    def __init__(self, status: int, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        # Seconds the platform asked us to wait (Retry-After): a retry waits at least this.
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        if self.status in (408, 429):
            return True
        return 500 <= self.status < 600 and self.status not in PERMANENT_SERVER_STATUSES


class NotSupported(ConnectorError):
    pass


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    help_text: str = ""
    # A secret (key, password) is typed in a password input and never shown again; the
    # others (a base URL, a database or user name) are plain text. All are stored encrypted.
    secret: bool = True
    # An http(s) URL the connector will call.
    url: bool = False


# Neutral records -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelProduct:
    external_id: str
    sku: str
    name: str
    description: str = ""
    barcode: str = ""
    price: Decimal | None = None
    length_mm: Decimal | None = None
    width_mm: Decimal | None = None
    height_mm: Decimal | None = None
    weight_g: Decimal | None = None


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    name: str = ""
    unit_price: Decimal = Decimal("0")


@dataclass(frozen=True)
class ChannelOrder:
    external_id: str
    number: str
    ordered_at: datetime
    lines: tuple[Line, ...]
    currency: str = "USD"
    customer_name: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    ship_address1: str = ""
    ship_address2: str = ""
    ship_city: str = ""
    ship_region: str = ""
    ship_postal_code: str = ""
    ship_country: str = ""
    carrier_code: str = ""
    service_code: str = ""
    # Cancelled at the channel: Import Orders cancels the portal's order, never imports it.
    cancelled: bool = False


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location: str | None
    quantity: int


@dataclass(frozen=True)
class TrackingUpdate:
    reference: str
    order_external_id: str
    carrier_code: str
    service_code: str
    tracking_number: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class FulfillmentRequest:
    reference: str
    location: str
    lines: tuple[Line, ...]
    carrier_code: str = ""
    service_code: str = ""
    ship_to: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PurchaseOrderRequest:
    reference: str
    number: str
    location: str
    lines: tuple[Line, ...]
    expected_at: date | None = None
    carrier_code: str = ""
    service_code: str = ""


@dataclass(frozen=True)
class ChannelShipment:
    external_id: str
    order_reference: str
    location: str
    tracking_number: str
    shipped_at: datetime
    lines: tuple[Line, ...]
    carrier_code: str = ""
    service_code: str = ""


@dataclass(frozen=True)
class ChannelReceipt:
    external_id: str
    purchase_order_reference: str
    location: str
    received_at: datetime
    lines: tuple[Line, ...]
    carrier_code: str = ""
    service_code: str = ""
    tracking_number: str = ""


@dataclass(frozen=True)
class WebhookNotice:
    event_id: str
    topic: str
    entity_ids: tuple[str, ...]


# Results ---------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass
class Fetched(Generic[T]):
    """Records read from the platform; records it could not read are named in messages."""

    items: list[T] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    # Where the next read resumes (an opaque position of the platform's, e.g. a change
    # time): stored by the engine only once every item was handled (channels.SyncCursor).
    cursor: str | None = None
    # How many records the whole read is expected to bring, when the platform says so on
    # its first page (a read in pages): the run's progress shows it as the total.
    expected: int | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {"fetched": len(self.items), "unreadable": len(self.messages)}

    @classmethod
    def joined(cls, pages: "Iterator[Fetched[T]]", key) -> "Fetched[T]":
        """The pages of one read as one Fetched: each record once (`key` names it), in its
        latest version, the messages of every page and the last page's cursor."""
        items: dict = {}
        whole = cls()
        for page in pages:
            for item in page.items:
                items.pop(key(item), None)
                items[key(item)] = item
            whole.messages.extend(page.messages)
            whole.cursor = page.cursor
        whole.items = list(items.values())
        return whole


@dataclass(frozen=True)
class Outcome:
    """What the platform did with one pushed item: created, updated, unchanged or rejected."""

    key: str
    result: str
    external_id: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result != "rejected"


@dataclass
class Pushed:
    """Outcomes of the items pushed; when the platform failed part-way, `stopped_by` says
    why and the outcomes so far still count (they happened on the platform)."""

    outcomes: list[Outcome] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    stopped_by: str = ""
    # The failure that stopped it is worth retrying (ConnectorError.transient), after at
    # least this many seconds when the platform said so (Retry-After).
    stopped_transient: bool = False
    stopped_retry_after: float | None = None

    def stop(self, exc: ConnectorError) -> None:
        self.stopped_by, self.stopped_transient = str(exc), exc.transient
        self.stopped_retry_after = getattr(exc, "retry_after", None)

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.result] = counts.get(outcome.result, 0) + 1
        return counts


class Connector:
    """Base of every platform's connector."""

    platform: Platform
    credential_fields: tuple[CredentialField, ...] = ()
    # The job types an inbound webhook topic concerns: what the engine runs for it.
    topic_job_types: dict[str, tuple[str, ...]] = {}

    def __init__(self, credentials: dict, http):
        self.credentials = credentials
        self.http = http

    @classmethod
    def http_client(cls, credentials: dict):
        """The platform's default HTTP client (base URL, auth headers, timeout)."""
        raise NotImplementedError

    @classmethod
    def supports(cls, job_type: str) -> bool:
        return job_type in cls.platform.job_types

    def _unsupported(self, what: str):
        raise NotSupported(f"{self.platform.label} does not support {what}.")

    # Set-up --------------------------------------------------------------------------

    def test_connection(self) -> str:
        """A sentence saying what the credentials reach; raises ConnectorError saying
        plainly what is wrong (unreachable, refused credentials, something missing)."""
        locations = self.list_locations()
        shown = ", ".join(locations[:10]) + ("…" if len(locations) > 10 else "")
        return f"Connected to {self.platform.label}: {len(locations)} locations ({shown or 'none'})."

    def list_locations(self) -> list[str]:
        self._unsupported("listing locations")

    def register_webhook(self, url: str, secret: str) -> None:
        self._unsupported("webhooks")

    @classmethod
    def parse_webhook(cls, payload: dict) -> WebhookNotice:
        """The event in a verified webhook body; raises ConnectorProtocolError if unreadable."""
        raise NotSupported(f"{cls.platform.label} does not support webhooks.")

    # One method per job type ---------------------------------------------------------
    # The readers take `ids` (exactly these records, Recurring Job By ID) or `since` (the
    # cursor the previous read returned, None the first time); see Fetched.cursor.

    def import_orders(self, ids: list[str] | None = None, since: str | None = None) -> Fetched[ChannelOrder]:
        self._unsupported("Import Orders")

    def import_order_pages(
        self, ids: list[str] | None = None, since: str | None = None
    ) -> Iterator[Fetched[ChannelOrder]]:
        """Import Orders' read handed on page by page as it arrives, so that the engine
        stores one page while the next is read and never holds the whole read. Each
        page's `cursor` is where a read resumes once that page and every one before it
        were handled. A platform read in one go yields that one read."""
        yield self.import_orders(ids, since)

    def export_inventory(self, levels: list[StockLevel]) -> Pushed:
        self._unsupported("Export Inventory")

    def export_tracking(self, updates: list[TrackingUpdate]) -> Pushed:
        self._unsupported("Export Tracking")

    def import_products(
        self, ids: list[str] | None = None, since: str | None = None
    ) -> Fetched[ChannelProduct]:
        self._unsupported("Import Products")

    def export_products(self, products: list[ChannelProduct]) -> Pushed:
        self._unsupported("Export Products")

    def send_orders(self, requests: list[FulfillmentRequest]) -> Pushed:
        self._unsupported("Send Orders")

    def receive_shipments(
        self, ids: list[str] | None = None, since: str | None = None
    ) -> Fetched[ChannelShipment]:
        self._unsupported("Receive Shipments")

    def receive_shipment_pages(
        self, ids: list[str] | None = None, since: str | None = None
    ) -> Iterator[Fetched[ChannelShipment]]:
        """Receive Shipments' read handed on page by page as it arrives, so that the
        engine records one page before the next is read and never holds the whole read.
        Each page's `cursor` is where a read resumes once that page and every one before
        it were handled. A platform read in one go yields that one read."""
        yield self.receive_shipments(ids, since)

    def import_inventory(self) -> Fetched[StockLevel]:
        self._unsupported("Import Inventory")

    def send_purchase_orders(self, requests: list[PurchaseOrderRequest]) -> Pushed:
        self._unsupported("Send Purchase Orders")

    def receive_receipts(
        self, ids: list[str] | None = None, since: str | None = None
    ) -> Fetched[ChannelReceipt]:
        self._unsupported("Receive Receipts")

    def receive_receipt_pages(
        self, ids: list[str] | None = None, since: str | None = None
    ) -> Iterator[Fetched[ChannelReceipt]]:
        """Receive Receipts' read page by page, as receive_shipment_pages."""
        yield self.receive_receipts(ids, since)

    def cancel_fulfillment(self, reference: str, external_id: str) -> bool:
        """Cancel a sent order's fulfillment at the platform: True when it is cancelled
        there (not yet picked), False when it is too late (picked, packed or shipped)."""
        self._unsupported("cancelling a sent order")


def read_ahead(pages: Iterator[T], depth: int = 1) -> Iterator[T]:
    """`pages` with the next `depth` pages read in a thread of their own while the caller
    handles the current one: a read over the network and the portal's writes overlap.
    The reader's exception is raised where its page would have come; when the caller
    stops early the reader stops after the page it is reading. The pages' producer must
    not touch the portal's database (a connector speaks HTTP only)."""
    handed: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand(kind: str, value=None) -> bool:
        while not stop.is_set():
            try:
                handed.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for page in pages:
                if not hand("page", page):
                    return
        except BaseException as exc:  # handed to the caller, raised there
            hand("error", exc)
            return
        finally:
            getattr(pages, "close", lambda: None)()
        hand("end")

    reader = threading.Thread(target=produce, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = handed.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value
    finally:
        stop.set()
        reader.join(timeout=1)

"""Fulfillment channel jobs that bring the warehouse's news in: Receive Shipments,
Receive Receipts (each recorded by the orders service, through the API validation rules
like the API's) and Import Inventory (on-hand counts through the catalog's ledger)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from accounts.models import ValidationDocument
from catalog.models import AdjustmentReason
from catalog.services import products_by_sku, set_on_hand
from channels.platforms import JobType
from orders.models import PurchaseOrder, Receipt, SalesOrder, Shipment
from orders.services import Arriving, record_receipts, record_shipments

from .common import carrier_check, not_yet_received, referenced_documents
from .runner import JobContext, handles

# Shipments or receipts written in one transaction.
RECORD_BATCH = 100


@dataclass(frozen=True)
class Arrival:
    """What differs between a shipment and a receipt arriving from the warehouse."""

    model: type  # Shipment or Receipt
    document: type  # the SalesOrder or PurchaseOrder it belongs to
    prefix: str  # of the document's reference
    reference: str  # the incoming record's attribute naming the document
    validation: str  # the API validation rules' document
    label: str  # "Shipment 123 of order SO-1"
    unknown: str  # "names no order of this account"
    reason: str  # the ledger's reason
    ledger_note: str  # "Order {number}"
    record_many: Callable  # the orders service recording a batch of them
    moment: str  # the incoming record's date attribute, the model's date field


SHIPMENT = Arrival(
    Shipment,
    SalesOrder,
    "SO",
    "order_reference",
    ValidationDocument.SHIPMENTS,
    "Shipment {id} of order {number}",
    "names no order of this account",
    AdjustmentReason.SHIPMENT,
    "Order {number}",
    record_shipments,
    "shipped_at",
)
RECEIPT = Arrival(
    Receipt,
    PurchaseOrder,
    "PO",
    "purchase_order_reference",
    ValidationDocument.RECEIPTS,
    "Receipt {id} of PO {number}",
    "names no purchase order of this account",
    AdjustmentReason.RECEIPT,
    "PO {number}",
    record_receipts,
    "received_at",
)


@handles(JobType.RECEIVE_SHIPMENTS)
def receive_shipments(ctx: JobContext) -> None:
    _receive(ctx, ctx.connector.receive_shipment_pages(ctx.ids, since=ctx.since), SHIPMENT)


@handles(JobType.RECEIVE_RECEIPTS)
def receive_receipts(ctx: JobContext) -> None:
    _receive(ctx, ctx.connector.receive_receipt_pages(ctx.ids, since=ctx.since), RECEIPT)


def _receive(ctx: JobContext, pages, kind: Arrival) -> None:
    """Record each new shipment or receipt through the orders service, after the API
    validation rules, page by page as the platform hands them on (a run holds the page it
    records and the one or two read ahead, whatever its size). RECORD_BATCH records are
    written in one transaction; a batch that fails is rolled back and written again record
    by record, each in its own transaction, so a failure part-way stores whole records
    only. The cursor moves once a page and every page before it were handled."""
    locations = ctx.location_to_warehouse()
    for page in ctx.track_pages(pages):
        fresh = list(not_yet_received(ctx, page, kind.model))
        for start in range(0, len(fresh), RECORD_BATCH):
            batch = fresh[start : start + RECORD_BATCH]
            _record_batch(ctx, _arriving(ctx, batch, kind, locations), kind)
        ctx.keep_cursor(page)


def _arriving(ctx: JobContext, batch: list, kind: Arrival, locations: dict) -> list[tuple]:
    """(incoming record, its label, what the orders service records) for the records of
    the batch that name a document of the account and pass the validation rules."""
    documents = referenced_documents(
        ctx, kind.document, kind.prefix, [getattr(i, kind.reference) for i in batch]
    )
    arriving = []
    for incoming in batch:
        reference = getattr(incoming, kind.reference)
        document = documents.get(reference)
        if document is None:
            ctx.report.counts["unmatched"] += 1
            ctx.report.note(f"{kind.model.__name__} {incoming.external_id} {kind.unknown} ({reference}).")
            continue
        label = kind.label.format(id=incoming.external_id, number=document.number)
        check = carrier_check(ctx, kind.validation, incoming, label)
        if check is None:
            continue
        record = Arriving(
            document,
            locations.get(incoming.location) or document.warehouse,
            [(line.sku, line.quantity) for line in incoming.lines],
            ctx.ledger(kind.reason, kind.ledger_note.format(number=document.number)),
            {
                "channel": ctx.channel,
                "external_id": incoming.external_id,
                "carrier_code": incoming.carrier_code,
                "service_code": incoming.service_code,
                "tracking_number": incoming.tracking_number,
                "validation_warnings": check.warnings_for_record(),
                kind.moment: getattr(incoming, kind.moment),
            },
        )
        arriving.append((incoming, label, record))
    return arriving


def _record_batch(ctx: JobContext, arriving: list[tuple], kind: Arrival) -> None:
    if len(arriving) > 1:
        try:
            with transaction.atomic():
                kind.record_many([record for _, _, record in arriving])
        except Exception:
            # Another run recorded one of them meanwhile (IntegrityError), or one cannot
            # be stored: nothing of the batch was kept. Each again on its own, where an
            # error fails the run as it would have without batches; the documents as
            # stored, not as the rolled-back attempt left them.
            for document in {id(r.document): r.document for _, _, r in arriving}.values():
                document.refresh_from_db(fields=["status", "updated_at"])
        else:
            for item in arriving:
                _count(ctx, item, True)
            return
    for item in arriving:
        _count(ctx, item, _record_one(item, kind))


def _record_one(item: tuple, kind: Arrival) -> bool:
    """Record one; False when it was recorded by another run meanwhile."""
    try:
        with transaction.atomic():
            kind.record_many([item[2]])
    except IntegrityError:
        return False
    return True


def _count(ctx: JobContext, item: tuple, recorded: bool) -> None:
    incoming, label, _ = item
    if not recorded:
        ctx.report.counts["already_received"] += 1
        return
    ctx.report.counts["received"] += 1
    zero = [line.sku for line in incoming.lines if line.quantity == 0]
    if zero:
        ctx.report.counts["zero_quantity_lines"] += len(zero)
        ctx.report.note(f"{label} has 0 of {', '.join(zero)}.", problem=False)


@handles(JobType.IMPORT_INVENTORY)
def import_inventory(ctx: JobContext) -> None:
    fetched = ctx.connector.import_inventory()
    ctx.report.absorb(fetched)
    locations = ctx.location_to_warehouse()
    products = products_by_sku(ctx.account, {lv.sku for lv in fetched.items})
    unmapped, unknown = set(), set()
    for level in ctx.track(fetched.items):
        warehouse = locations.get(level.location)
        product = products.get(level.sku.upper())
        if warehouse is None:
            unmapped.add(level.location)
            continue
        if product is None:
            unknown.add(level.sku)
            continue
        entry = set_on_hand(product, warehouse, level.quantity, ctx.ledger(AdjustmentReason.CHANNEL_IMPORT))
        ctx.report.counts["updated" if entry else "unchanged"] += 1
    if unmapped:
        ctx.report.counts["unmapped_locations"] = len(unmapped)
        ctx.report.note(
            f"Locations without a warehouse mapping were skipped: {', '.join(sorted(map(str, unmapped)))}."
        )
    if unknown:
        ctx.report.counts["unknown_skus"] = len(unknown)
        shown = ", ".join(sorted(unknown)[:20])
        ctx.report.note(
            f"SKUs unknown to this account were skipped: {shown}{'…' if len(unknown) > 20 else ''}."
        )

"""Job execution: one function runs one JobRun of one channel, whatever started it
(manual button, schedule, webhook, emergency fallback).

Each job reads everything it needs from the platform first, then writes the portal's
data record by record, each record in its own transaction: a platform that fails
part-way leaves nothing half-written, and a re-run picks up exactly what is missing.
Every job is idempotent: channel records are keyed by (channel, external id), pushes
carry a stable reference the platform de-duplicates on.
"""

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import MasterProductSource, ValidationDocument
from automations.models import JobRun, RunStatus
from catalog.models import AdjustmentReason, AdjustmentSource, InventoryLevel, Product
from catalog.services import LedgerContext, adjust_inventory, products_by_sku, set_on_hand
from orders.models import (
    SENDABLE_STATUSES,
    EventAction,
    OrderSource,
    PurchaseOrder,
    PurchaseOrderStatus,
    Receipt,
    ReceiptLine,
    SalesOrder,
    SalesOrderLine,
    SalesOrderStatus,
    Shipment,
    ShipmentLine,
)
from orders.signals import receipts_received, sales_orders_created, shipments_received
from orders.validation import ValidationOutcome, check_carrier_codes
from orders.workflow import (
    PO_WORKFLOW,
    SO_WORKFLOW,
    job_actor,
    record_purchase_event,
    record_sales_event,
    release_shipped,
)

from . import crypto
from .connectors import connector_for
from .connectors.base import (
    ChannelProduct,
    Connector,
    ConnectorError,
    FulfillmentRequest,
    Line,
    PurchaseOrderRequest,
    StockLevel,
    TrackingUpdate,
)
from .models import Channel
from .platforms import JobType

log = logging.getLogger(__name__)
MAX_MESSAGES = 50


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    # Something was refused or unreadable: the run is partial, not a success.
    partial: bool = False
    # The platform failed: the run failed, whatever was done before counts.
    failure: str = ""
    # The failure is worth another attempt (ConnectorError.transient).
    transient: bool = False
    skipped: str = ""

    def note(self, message: str, *, problem: bool = True) -> None:
        if problem:
            self.partial = True
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)
        elif len(self.messages) == MAX_MESSAGES:
            self.messages.append("More messages were left out.")

    def fail(self, exc: ConnectorError) -> None:
        self.failure, self.transient = str(exc), exc.transient

    def absorb(self, fetched_or_pushed) -> None:
        for message in fetched_or_pushed.messages:
            self.note(message)
        if getattr(fetched_or_pushed, "stopped_by", ""):
            self.failure = fetched_or_pushed.stopped_by
            self.transient = fetched_or_pushed.stopped_transient


@dataclass
class JobContext:
    run: JobRun
    channel: Channel
    connector: Connector
    report: Report
    ids: list[str] | None = None

    @property
    def account(self):
        return self.channel.account

    def ledger(self, reason: str, note: str = "") -> LedgerContext:
        return LedgerContext(
            reason=reason,
            source=AdjustmentSource.CHANNEL,
            channel_id=self.channel.pk,
            job_run_id=self.run.pk,
            note=note,
        )

    def location_to_warehouse(self) -> dict:
        return {m.location: m.warehouse for m in self.channel.warehouse_mappings.select_related("warehouse")}

    def warehouse_to_location(self) -> dict[int, str]:
        return {m.warehouse_id: m.location for m in self.channel.warehouse_mappings.all()}


class RunRequeued(Exception):
    """run_job put the run back to queued after a transient failure: run it again after
    a backoff. `attempt` is the number of attempts made so far."""

    def __init__(self, run: JobRun, attempt: int):
        super().__init__(f"job run {run.pk}: attempt {attempt} failed, retry wanted")
        self.run, self.attempt = run, attempt


def run_job(run: JobRun, ids: list[str] | None = None, http=None, *, attempts: int = 1) -> JobRun:
    """Execute a queued job run and record its outcome on it; the run, refreshed.

    A run that is not queued (another worker took it, or it finished) is left alone, so
    a task delivered twice runs the job once. `ids` limits the job to these platform
    entity ids (Recurring Job By ID); `http` replaces the connector's HTTP client.
    Platform failures end as a failed run with a readable message, never an exception,
    except a transient one (ConnectorError.transient) while fewer than `attempts`
    attempts were made: the run goes back to queued with the attempt in its messages and
    counts, and RunRequeued tells the caller to run it again after a backoff
    (automations.tasks.execute_run).
    """
    claimed = JobRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        # A retried run keeps the start of its first attempt.
        status=RunStatus.RUNNING,
        started_at=Coalesce("started_at", Value(timezone.now())),
    )
    run = JobRun.objects.select_related("channel__account").get(pk=run.pk)
    if not claimed:
        return run
    report = Report()
    channel = run.channel
    try:
        refusal = _refusal(run, channel)
        if refusal:
            report.skipped = refusal
        else:
            connector = connector_for(channel, http=http)
            HANDLERS[run.job_type](JobContext(run, channel, connector, report, ids))
    except ConnectorError as exc:
        report.fail(exc)
    except crypto.SecretUnreadable as exc:
        report.failure = str(exc)
    except Exception as exc:
        log.exception("job run %s failed", run.pk)
        report.failure = (
            f"The job stopped on an internal error ({type(exc).__name__}); it was logged for the team."
        )
    attempt = run.counts.get("attempts", 0) + 1
    if report.failure and report.transient and attempt < attempts:
        _requeue(run, report, attempt, attempts)
        raise RunRequeued(run, attempt)
    return _finish(run, report, attempt, attempts)


def _refusal(run: JobRun, channel: Channel | None) -> str:
    if channel is None:
        return "This job run names no channel."
    if not channel.is_active:
        return f"The channel {channel.name} is inactive."
    if run.job_type not in channel.platform_info.job_types:
        return f"{channel.platform_info.label} does not support {JobType(run.job_type).label}."
    if not channel.has_credentials:
        return "The channel has no credentials: enter them on the channel page."
    if run.job_type == JobType.IMPORT_PRODUCTS:
        account = channel.account
        if account.master_product_source == MasterProductSource.TECHOMS:
            return (
                "Import Products runs only against the Master Product Channel; "
                "the Master Product Source is techOMS."
            )
        if account.master_product_channel_id != channel.pk:
            return "Import Products runs only against the Master Product Channel, which is another channel."
    return ""


def _finish(run: JobRun, report: Report, attempt: int, attempts: int) -> JobRun:
    # What the run holds already comes first: the dispatcher's reason (why an emergency
    # sync ran) and the failures of earlier attempts.
    messages = list(run.messages)
    if report.failure:
        status = RunStatus.FAILED
        messages.append(
            f"Attempt {attempt} of {attempts}: {report.failure}" if attempt > 1 else report.failure
        )
    elif report.skipped:
        status = RunStatus.SKIPPED
        messages.append(report.skipped)
    elif report.partial:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.SUCCESS
    messages.extend(report.messages)
    run.status = status
    run.counts = {k: v for k, v in report.counts.items() if v}
    if attempt > 1:
        run.counts["attempts"] = attempt
    run.messages = messages
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "messages", "finished_at"])
    return run


def _requeue(run: JobRun, report: Report, attempt: int, attempts: int) -> None:
    """Back to queued for another attempt. Its status and counts will be the last
    attempt's; this one is told in the messages, with what it did before it failed."""
    done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.counts.items()) if v)
    run.messages = [
        *run.messages,
        f"Attempt {attempt + 1} of {attempts} after: {report.failure}"
        + (f" (done before: {done})" if done else ""),
        *report.messages,
    ]
    run.counts = {"attempts": attempt}
    run.status = RunStatus.QUEUED
    run.save(update_fields=["status", "counts", "messages"])


def _reference_pk(reference: str, prefix: str) -> int | None:
    match = re.fullmatch(rf"{prefix}-(\d+)", reference or "")
    return int(match[1]) if match else None


def _reference_pks(references: list[str], prefix: str) -> list[int]:
    """Portal ids named by references: the `ids` of a push job (Send Orders, Send
    Purchase Orders) are the portal's own references, not platform ids."""
    return [pk for pk in (_reference_pk(r, prefix) for r in references) if pk is not None]


# Sales channel jobs ------------------------------------------------------------------------


def import_orders(ctx: JobContext) -> None:
    fetched = ctx.connector.import_orders(ctx.ids)
    ctx.report.absorb(fetched)
    known = set(
        SalesOrder.objects.filter(
            channel=ctx.channel, external_id__in=[o.external_id for o in fetched.items]
        ).values_list("external_id", flat=True)
    )
    products = products_by_sku(ctx.account, {line.sku for o in fetched.items for line in o.lines})
    created = []
    for order in fetched.items:
        if order.external_id in known:
            ctx.report.counts["already_imported"] += 1
            continue
        check = _carrier_check(ctx, ValidationDocument.SALES_ORDERS, order, f"Order {order.number}")
        if check is None:
            continue
        try:
            with transaction.atomic():
                sales_order = SalesOrder.objects.create(
                    account=ctx.account,
                    channel=ctx.channel,
                    source=OrderSource.CHANNEL,
                    external_id=order.external_id,
                    number=order.number,
                    ordered_at=order.ordered_at,
                    currency=order.currency,
                    total=sum((line.unit_price * line.quantity for line in order.lines), start=0),
                    customer_name=order.customer_name,
                    customer_email=order.customer_email,
                    customer_phone=order.customer_phone,
                    ship_address1=order.ship_address1,
                    ship_address2=order.ship_address2,
                    ship_city=order.ship_city,
                    ship_region=order.ship_region,
                    ship_postal_code=order.ship_postal_code,
                    ship_country=order.ship_country,
                    carrier_code=order.carrier_code,
                    service_code=order.service_code,
                    validation_warnings=check.warnings_for_record(),
                )
                SalesOrderLine.objects.bulk_create(
                    SalesOrderLine(
                        order=sales_order,
                        line_number=n,
                        product=products.get(line.sku.upper()),
                        sku=line.sku,
                        name=line.name,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                    )
                    for n, line in enumerate(order.lines, start=1)
                )
        except IntegrityError:
            # Another run stored it between our read and this write.
            ctx.report.counts["already_imported"] += 1
            continue
        created.append(sales_order.pk)
        ctx.report.counts["imported"] += 1
        unknown = [line.sku for line in order.lines if line.sku.upper() not in products]
        if unknown:
            ctx.report.note(f"Order {order.number}: unknown SKU {', '.join(unknown)}.")
    if created:
        account_id = ctx.account.pk
        transaction.on_commit(
            lambda: sales_orders_created.send(
                sender=SalesOrder, account_id=account_id, order_ids=tuple(created)
            )
        )


def available_stock(channel: Channel, product_ids=None) -> list[StockLevel]:
    """What the channel is told it can sell: per active SKU and mapped location, on hand
    − reserved (summed over all active warehouses when the channel has no mappings) −
    the channel's buffer stock, never below 0. `product_ids` limits it to these products.

    Export Inventory and the real-time push (catalog.push) both send exactly this.
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


def export_inventory(ctx: JobContext) -> None:
    pushed = ctx.connector.export_inventory(available_stock(ctx.channel))
    ctx.report.absorb(pushed)
    ctx.report.counts.update(pushed.counts)
    for outcome in pushed.outcomes:
        if outcome.result == "rejected":
            ctx.report.note(f"{outcome.key}: {outcome.error}")


def export_tracking(ctx: JobContext) -> None:
    shipments = list(
        Shipment.objects.filter(sales_order__channel=ctx.channel, tracking_exported_at__isnull=True)
        .exclude(tracking_number="")
        .annotate(units=Sum("lines__quantity"))
        .filter(units__gt=0)
        .select_related("sales_order")
        .prefetch_related("lines")
    )
    updates = {
        f"SH-{s.pk}": (
            s,
            TrackingUpdate(
                reference=f"SH-{s.pk}",
                order_external_id=s.sales_order.external_id,
                carrier_code=s.carrier_code,
                service_code=s.service_code,
                tracking_number=s.tracking_number,
                lines=tuple(Line(sku=li.sku, quantity=li.quantity) for li in s.lines.all() if li.quantity),
            ),
        )
        for s in shipments
    }
    pushed = ctx.connector.export_tracking([u for _, u in updates.values()])
    ctx.report.absorb(pushed)
    now = timezone.now()
    for outcome in pushed.outcomes:
        shipment = updates[outcome.key][0]
        if outcome.ok:
            Shipment.objects.filter(pk=shipment.pk).update(tracking_exported_at=now)
            ctx.report.counts["exported" if outcome.result == "created" else "already_known"] += 1
        else:
            ctx.report.counts["rejected"] += 1
            ctx.report.note(f"Tracking of order {shipment.sales_order.number} was refused: {outcome.error}")


# Product jobs ------------------------------------------------------------------------------

PRODUCT_VALUE_FIELDS = (
    "name",
    "description",
    "barcode",
    "price",
    "length_mm",
    "width_mm",
    "height_mm",
    "weight_g",
)


def import_products(ctx: JobContext) -> None:
    fetched = ctx.connector.import_products(ctx.ids)
    ctx.report.absorb(fetched)
    existing = products_by_sku(ctx.account, {p.sku for p in fetched.items})
    seen: set[str] = set()
    for incoming in fetched.items:
        key = incoming.sku.upper()
        if not incoming.sku or key in seen:
            ctx.report.counts["collisions"] += 1
            ctx.report.note(
                f"SKU {incoming.sku!r} appears more than once in the channel's catalogue; imported once."
            )
            continue
        seen.add(key)
        product = existing.get(key)
        values = {f: getattr(incoming, f) for f in PRODUCT_VALUE_FIELDS}
        if product is None:
            try:
                with transaction.atomic():
                    Product.objects.create(
                        account=ctx.account,
                        sku=incoming.sku,
                        source_channel=ctx.channel,
                        external_id=incoming.external_id,
                        **values,
                    )
            except IntegrityError:
                ctx.report.counts["collisions"] += 1
                ctx.report.note(f"SKU {incoming.sku} was created meanwhile by someone else; left unchanged.")
                continue
            ctx.report.counts["created"] += 1
        elif product.source_channel_id != ctx.channel.pk:
            ctx.report.counts["collisions"] += 1
            origin = (
                "created in techOMS" if product.source_channel_id is None else "imported from another channel"
            )
            ctx.report.note(f"SKU {incoming.sku} already exists ({origin}); left unchanged.")
        elif any(_differs(getattr(product, f), v) for f, v in values.items()):
            for f, v in values.items():
                setattr(product, f, v)
            product.save()
            ctx.report.counts["updated"] += 1
        else:
            ctx.report.counts["unchanged"] += 1


def _differs(current, incoming) -> bool:
    if isinstance(current, Decimal) or isinstance(incoming, Decimal):
        as_decimal = lambda v: None if v is None else Decimal(v)  # noqa: E731
        return as_decimal(current) != as_decimal(incoming)
    return (current or "") != (incoming or "")


def export_products(ctx: JobContext) -> None:
    products = Product.objects.filter(account=ctx.account, is_active=True).order_by("sku")
    pushed = ctx.connector.export_products(
        [
            ChannelProduct(
                external_id=p.external_id, sku=p.sku, **{f: getattr(p, f) for f in PRODUCT_VALUE_FIELDS}
            )
            for p in products
        ]
    )
    ctx.report.absorb(pushed)
    ctx.report.counts.update(pushed.counts)
    for outcome in pushed.outcomes:
        if not outcome.ok:
            ctx.report.note(f"Product {outcome.key} was refused: {outcome.error}")


# Fulfillment channel jobs -------------------------------------------------------------------


def send_orders(ctx: JobContext) -> None:
    mapped = ctx.warehouse_to_location()
    default_warehouse = ctx.account.default_warehouse_id
    unsent = SalesOrder.objects.filter(account=ctx.account, fulfillment_channel__isnull=True).filter(
        Q(warehouse_id__in=list(mapped)) | Q(warehouse__isnull=True)
    )
    if ctx.account.auto_sales_order_workflow:
        statuses = SENDABLE_STATUSES
    else:
        # With the workflow off a new order waits in Pending for a person (SPEC 5): only
        # orders someone processed (validated and allocated) go to the warehouse.
        statuses = (SalesOrderStatus.ALLOCATED,)
        if ctx.ids is None:
            _count_waiting(ctx, unsent.filter(status=SalesOrderStatus.PENDING), "order", SO_WORKFLOW)
    candidates = unsent.filter(status__in=statuses).prefetch_related("lines").order_by("ordered_at", "pk")
    if ctx.ids is not None:
        # The order workflows (orders.workflow) send exactly the orders they allocated.
        candidates = candidates.filter(pk__in=_reference_pks(ctx.ids, "SO"))
    actor = job_actor(ctx.run)
    requests, orders = [], {}
    for order in candidates:
        warehouse_id = order.warehouse_id or default_warehouse
        if warehouse_id not in mapped:
            continue
        lines = list(order.lines.all())
        unknown = [li.sku for li in lines if li.product_id is None]
        if unknown:
            _hold(
                order, f"Unknown SKU {', '.join(unknown)}: create the product, then release the order.", actor
            )
            ctx.report.counts["held"] += 1
            ctx.report.note(f"Order {order.number} is on hold: unknown SKU {', '.join(unknown)}.")
            continue
        orders[order.reference] = (order, warehouse_id)
        requests.append(
            FulfillmentRequest(
                reference=order.reference,
                location=mapped[warehouse_id],
                lines=tuple(Line(sku=li.sku, quantity=li.quantity, name=li.name) for li in lines),
                carrier_code=order.carrier_code,
                service_code=order.service_code,
                ship_to={
                    "name": order.customer_name,
                    "phone": order.customer_phone,
                    "address1": order.ship_address1,
                    "address2": order.ship_address2,
                    "city": order.ship_city,
                    "region": order.ship_region,
                    "postal_code": order.ship_postal_code,
                    "country": order.ship_country,
                },
            )
        )
    pushed = ctx.connector.send_orders(requests)
    ctx.report.absorb(pushed)
    now = timezone.now()
    for outcome in pushed.outcomes:
        order, warehouse_id = orders[outcome.key]
        if outcome.ok:
            _mark_sent(
                ctx,
                outcome,
                now,
                f"Order {order.number}",
                SalesOrder.objects.filter(pk=order.pk, status__in=statuses),
                lambda detail, order=order: record_sales_event(order, EventAction.SENT, actor, detail),
                status=SalesOrderStatus.SENT,
                hold_reason="",
                warehouse_id=warehouse_id,
            )
        else:
            _hold(order, f"{ctx.channel.name} refused the order: {outcome.error}", actor)
            ctx.report.counts["held"] += 1
            ctx.report.note(f"Order {order.number} is on hold: {outcome.error}")


def _mark_sent(ctx: JobContext, outcome, now, label: str, still_as_read, record_sent, **changes) -> None:
    """Mark a document the channel accepted as sent, with its history entry in the same
    transaction. Only if still as read (`still_as_read`): one cancelled while the request
    was on its way stays Cancelled, and the run says the warehouse must cancel it too."""
    with transaction.atomic():
        sent = still_as_read.update(
            fulfillment_channel=ctx.channel,
            fulfillment_external_id=outcome.external_id,
            sent_at=now,
            updated_at=now,
            **changes,
        )
        if sent:
            record_sent(f"Sent to {ctx.channel.name} as {outcome.external_id} (job run {ctx.run.pk}).")
    if sent:
        ctx.report.counts["sent"] += 1
    else:
        ctx.report.note(
            f"{label} was cancelled while {ctx.channel.name} received it "
            f"(as {outcome.external_id}): cancel it there too."
        )


def _count_waiting(ctx: JobContext, waiting, what: str, workflow: str) -> None:
    """Say how many documents this run left for a person; the run is no less a success."""
    count = waiting.count()
    if count:
        ctx.report.counts["waiting_for_a_person"] = count
        ctx.report.note(
            f"Not sent, waiting for a person (the {workflow} is off): {count} {what}{'s' * (count != 1)}.",
            problem=False,
        )


@transaction.atomic
def _hold(order: SalesOrder, reason: str, actor) -> None:
    """Put the order On Hold (not if it was cancelled meanwhile) and say why in its history."""
    held = (
        SalesOrder.objects.filter(pk=order.pk)
        .exclude(status=SalesOrderStatus.CANCELLED)
        .update(status=SalesOrderStatus.ON_HOLD, hold_reason=reason[:255], updated_at=timezone.now())
    )
    if held:
        record_sales_event(order, EventAction.HELD, actor, reason)


def _not_yet_received(ctx: JobContext, fetched, model):
    """The fetched shipments/receipts this channel has not delivered before; the others
    are counted as already received (a second run imports nothing new)."""
    ctx.report.absorb(fetched)
    known = set(
        model.objects.filter(
            channel=ctx.channel, external_id__in=[item.external_id for item in fetched.items]
        ).values_list("external_id", flat=True)
    )
    for incoming in fetched.items:
        if incoming.external_id in known:
            ctx.report.counts["already_received"] += 1
        else:
            yield incoming


def _carrier_check(ctx: JobContext, document: str, incoming, label: str) -> ValidationOutcome | None:
    """The account's API validation rules on an arriving record's carrier and service
    codes, as the REST API applies them; None when an Error rule refuses the record
    (counted and noted under `label`, nothing is stored)."""
    check = check_carrier_codes(ctx.account, document, incoming.carrier_code, incoming.service_code)
    if check.errors:
        ctx.report.counts["rejected"] += 1
        ctx.report.note(f"{label} was refused: {check.error_text()}")
        return None
    return check


def _referenced(ctx: JobContext, model, prefix: str, reference: str):
    """The account's order or purchase order a platform record refers to (SO-n / PO-n),
    or None, counted as unmatched."""
    pk = _reference_pk(reference, prefix)
    found = model.objects.filter(account=ctx.account, pk=pk).first() if pk else None
    if found is None:
        ctx.report.counts["unmatched"] += 1
    return found


def receive_shipments(ctx: JobContext) -> None:
    fetched = ctx.connector.receive_shipments(ctx.ids)
    locations = ctx.location_to_warehouse()
    created = []
    for incoming in _not_yet_received(ctx, fetched, Shipment):
        order = _referenced(ctx, SalesOrder, "SO", incoming.order_reference)
        if order is None:
            ctx.report.note(
                f"Shipment {incoming.external_id} names no order of this account "
                f"({incoming.order_reference})."
            )
            continue
        check = _carrier_check(
            ctx,
            ValidationDocument.SHIPMENTS,
            incoming,
            f"Shipment {incoming.external_id} of order {order.number}",
        )
        if check is None:
            continue
        warehouse = locations.get(incoming.location) or order.warehouse
        try:
            with transaction.atomic():
                shipment = _store_shipment(ctx, order, warehouse, incoming, check.warnings_for_record())
        except IntegrityError:
            ctx.report.counts["already_received"] += 1
            continue
        created.append(shipment.pk)
        ctx.report.counts["received"] += 1
        for line in incoming.lines:
            if line.quantity == 0:
                ctx.report.counts["zero_quantity_lines"] += 1
                ctx.report.note(
                    f"Shipment {incoming.external_id} of order {order.number} ships 0 of {line.sku}.",
                    problem=False,
                )
    if created:
        account_id = ctx.account.pk
        transaction.on_commit(
            lambda: shipments_received.send(
                sender=Shipment, account_id=account_id, shipment_ids=tuple(created)
            )
        )


def _store_shipment(ctx: JobContext, order: SalesOrder, warehouse, incoming, warnings) -> Shipment:
    shipment = Shipment.objects.create(
        account=ctx.account,
        sales_order=order,
        channel=ctx.channel,
        external_id=incoming.external_id,
        warehouse=warehouse,
        carrier_code=incoming.carrier_code,
        service_code=incoming.service_code,
        tracking_number=incoming.tracking_number,
        shipped_at=incoming.shipped_at,
        validation_warnings=warnings,
    )
    order_lines = {li.sku.upper(): li for li in order.lines.select_for_update()}
    for line in incoming.lines:
        order_line = order_lines.get(line.sku.upper())
        product = order_line.product if order_line else None
        ShipmentLine.objects.create(
            shipment=shipment, order_line=order_line, product=product, sku=line.sku, quantity=line.quantity
        )
        if order_line and line.quantity:
            order_line.quantity_shipped += line.quantity
            release_shipped(
                order,
                order_line,
                line.quantity,
                ctx.ledger(AdjustmentReason.SHIPMENT, f"Order {order.number}"),
            )
            order_line.save(update_fields=["quantity_shipped", "quantity_reserved"])
        if product and warehouse and line.quantity:
            adjust_inventory(
                product,
                warehouse,
                -line.quantity,
                ctx.ledger(AdjustmentReason.SHIPMENT, f"Order {order.number}"),
            )
    lines = list(order_lines.values())
    if lines and all(li.quantity_shipped >= li.quantity for li in lines):
        order.status = SalesOrderStatus.SHIPPED
    elif any(li.quantity_shipped for li in lines):
        order.status = SalesOrderStatus.PARTIALLY_SHIPPED
    order.save(update_fields=["status", "updated_at"])
    return shipment


def import_inventory(ctx: JobContext) -> None:
    fetched = ctx.connector.import_inventory()
    ctx.report.absorb(fetched)
    locations = ctx.location_to_warehouse()
    products = products_by_sku(ctx.account, {lv.sku for lv in fetched.items})
    unmapped, unknown = set(), set()
    for level in fetched.items:
        warehouse = locations.get(level.location)
        product = products.get(level.sku.upper())
        if warehouse is None:
            unmapped.add(level.location)
            continue
        if product is None:
            unknown.add(level.sku)
            continue
        with transaction.atomic():
            entry = set_on_hand(
                product, warehouse, level.quantity, ctx.ledger(AdjustmentReason.CHANNEL_IMPORT)
            )
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


def send_purchase_orders(ctx: JobContext) -> None:
    mapped = ctx.warehouse_to_location()
    candidates = PurchaseOrder.objects.filter(
        account=ctx.account,
        status=PurchaseOrderStatus.OPEN,
        fulfillment_channel__isnull=True,
        warehouse_id__in=list(mapped),
    ).prefetch_related("lines")
    if ctx.ids is not None:
        # The purchase order workflow sends exactly the purchase orders it was given.
        candidates = candidates.filter(pk__in=_reference_pks(ctx.ids, "PO"))
    elif not ctx.account.auto_purchase_order_workflow:
        # With the workflow off a purchase order waits (SPEC 5) until a person sends it,
        # which names it (ids above): a purchase order has no "processed" state to wait in.
        _count_waiting(ctx, candidates, "purchase order", PO_WORKFLOW)
        candidates = candidates.none()
    actor = job_actor(ctx.run)
    pos = {po.reference: po for po in candidates}
    pushed = ctx.connector.send_purchase_orders(
        [
            PurchaseOrderRequest(
                reference=po.reference,
                number=po.number,
                location=mapped[po.warehouse_id],
                lines=tuple(Line(sku=li.sku, quantity=li.quantity) for li in po.lines.all()),
                expected_at=po.expected_at,
                carrier_code=po.carrier_code,
                service_code=po.service_code,
            )
            for po in pos.values()
        ]
    )
    ctx.report.absorb(pushed)
    now = timezone.now()
    for outcome in pushed.outcomes:
        po = pos[outcome.key]
        if outcome.ok:
            _mark_sent(
                ctx,
                outcome,
                now,
                f"Purchase order {po.number}",
                PurchaseOrder.objects.filter(pk=po.pk, status=PurchaseOrderStatus.OPEN),
                lambda detail, po=po: record_purchase_event(po, EventAction.SENT, actor, detail),
                status=PurchaseOrderStatus.SENT,
            )
        else:
            ctx.report.counts["rejected"] += 1
            ctx.report.note(f"Purchase order {po.number} was refused: {outcome.error}")
            if ctx.ids is None:  # the purchase order workflow says why it did not send
                record_purchase_event(po, EventAction.NOT_SENT, actor, f"{ctx.channel.name}: {outcome.error}")


def receive_receipts(ctx: JobContext) -> None:
    fetched = ctx.connector.receive_receipts(ctx.ids)
    locations = ctx.location_to_warehouse()
    created = []
    for incoming in _not_yet_received(ctx, fetched, Receipt):
        po = _referenced(ctx, PurchaseOrder, "PO", incoming.purchase_order_reference)
        if po is None:
            ctx.report.note(
                f"Receipt {incoming.external_id} names no purchase order of this account "
                f"({incoming.purchase_order_reference})."
            )
            continue
        check = _carrier_check(
            ctx, ValidationDocument.RECEIPTS, incoming, f"Receipt {incoming.external_id} of PO {po.number}"
        )
        if check is None:
            continue
        warehouse = locations.get(incoming.location) or po.warehouse
        try:
            with transaction.atomic():
                receipt = _store_receipt(ctx, po, warehouse, incoming, check.warnings_for_record())
        except IntegrityError:
            ctx.report.counts["already_received"] += 1
            continue
        created.append(receipt.pk)
        ctx.report.counts["received"] += 1
        zero = [line.sku for line in incoming.lines if line.quantity == 0]
        if zero:
            ctx.report.counts["zero_quantity_lines"] += len(zero)
            ctx.report.note(f"Receipt {incoming.external_id} received 0 of {', '.join(zero)}.", problem=False)
    if created:
        account_id = ctx.account.pk
        transaction.on_commit(
            lambda: receipts_received.send(sender=Receipt, account_id=account_id, receipt_ids=tuple(created))
        )


def _store_receipt(ctx: JobContext, po: PurchaseOrder, warehouse, incoming, warnings) -> Receipt:
    receipt = Receipt.objects.create(
        account=ctx.account,
        purchase_order=po,
        channel=ctx.channel,
        external_id=incoming.external_id,
        warehouse=warehouse,
        carrier_code=incoming.carrier_code,
        service_code=incoming.service_code,
        tracking_number=incoming.tracking_number,
        received_at=incoming.received_at,
        validation_warnings=warnings,
    )
    po_lines = {li.sku.upper(): li for li in po.lines.select_for_update().select_related("product")}
    for line in incoming.lines:
        po_line = po_lines.get(line.sku.upper())
        ReceiptLine.objects.create(
            receipt=receipt,
            purchase_order_line=po_line,
            product=po_line.product if po_line else None,
            sku=line.sku,
            quantity=line.quantity,
        )
        if po_line and line.quantity:
            po_line.quantity_received += line.quantity
            po_line.save(update_fields=["quantity_received"])
            adjust_inventory(
                po_line.product,
                warehouse,
                line.quantity,
                ctx.ledger(AdjustmentReason.RECEIPT, f"PO {po.number}"),
            )
    lines = list(po_lines.values())
    if lines and all(li.quantity_received >= li.quantity for li in lines):
        po.status = PurchaseOrderStatus.RECEIVED
    elif any(li.quantity_received for li in lines):
        po.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.save(update_fields=["status", "updated_at"])
    return receipt


HANDLERS = {
    JobType.IMPORT_ORDERS: import_orders,
    JobType.EXPORT_INVENTORY: export_inventory,
    JobType.EXPORT_TRACKING: export_tracking,
    JobType.IMPORT_PRODUCTS: import_products,
    JobType.EXPORT_PRODUCTS: export_products,
    JobType.SEND_ORDERS: send_orders,
    JobType.RECEIVE_SHIPMENTS: receive_shipments,
    JobType.IMPORT_INVENTORY: import_inventory,
    JobType.SEND_PURCHASE_ORDERS: send_purchase_orders,
    JobType.RECEIVE_RECEIPTS: receive_receipts,
}

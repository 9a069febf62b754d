"""The order workflows of SPEC section 5, one implementation for the automatic path
(a Celery task enqueued when orders arrive) and for a person or REST client processing
orders by hand.

A sales order is validated, allocated (its units reserved in the ledger at its
warehouse) and sent to the fulfillment channel mapping that warehouse; any failure
leaves it On Hold with the reason and nothing reserved. A purchase order is sent to its
warehouse's fulfillment channel. Sending goes through the channel job itself
(`channels.sync.run_job` with the documents' references), so the connector path is the
one of Send Orders / Send Purchase Orders and every send is a JobRun in the job log.

Each step is recorded as a SalesOrderEvent / PurchaseOrderEvent naming who or what did it.
Cancel applies to documents the portal still holds (not yet sent); a sales order's
reservation then goes back to available through the ledger.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account, User
from automations.models import JobRun, RunStatus, Trigger
from catalog.models import AdjustmentReason, AdjustmentSource, InventoryLevel
from catalog.services import LedgerContext, adjust_inventory, products_by_sku
from channels.models import WarehouseMapping
from channels.platforms import ChannelKind, JobType

from .models import (
    EventAction,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderStatus,
    SalesOrder,
    SalesOrderEvent,
    SalesOrderLine,
    SalesOrderStatus,
)

# A held order is processed again once its cause is fixed; an allocated one whose send
# never happened (worker lost mid-way) is sent.
PROCESSABLE_STATUSES = (SalesOrderStatus.PENDING, SalesOrderStatus.ON_HOLD, SalesOrderStatus.ALLOCATED)
SO_WORKFLOW = "Automatic Sales Order Workflow"
PO_WORKFLOW = "Automatic Purchase Order Workflow"


# A sent order is the warehouse's to ship (no connector can recall it), and a shipped one
# is gone: only orders still in the portal's hands are cancelled here.
CANCELLABLE_STATUSES = (SalesOrderStatus.PENDING, SalesOrderStatus.ON_HOLD, SalesOrderStatus.ALLOCATED)


class WorkflowConflict(Exception):
    """The document's state does not allow the step asked for (a person's stale page, an
    API call on a sent order); the message says why."""


@dataclass(frozen=True)
class Actor:
    """Who processes: a person (user set), a REST client, or the automatic workflow."""

    name: str
    user: User | None = None
    # The Automatic Sales/Purchase Order Workflow, as opposed to someone processing by hand.
    automatic: bool = False

    @property
    def ledger_source(self) -> str:
        if self.automatic:
            return AdjustmentSource.SYSTEM
        return AdjustmentSource.MANUAL if self.user else AdjustmentSource.API

    @property
    def trigger(self) -> str:
        """The trigger of the send runs it starts: the job log tells the two apart."""
        return Trigger.WORKFLOW if self.automatic else Trigger.MANUAL


def automatic_workflow(name: str) -> Actor:
    return Actor(name, automatic=True)


def job_actor(run: JobRun) -> Actor:
    """Who a send job's outcome is recorded as in the order history: the workflow that
    started it, the person, a REST client, or else the job itself and its trigger."""
    if run.trigger == Trigger.WORKFLOW:
        return automatic_workflow(
            PO_WORKFLOW if run.job_type == JobType.SEND_PURCHASE_ORDERS else SO_WORKFLOW
        )
    if run.requested_by_id:
        return Actor(run.requested_by.email, run.requested_by)
    if run.trigger == Trigger.MANUAL:
        return Actor("API")
    return Actor(f"{run.get_job_type_display()} job ({run.get_trigger_display()})")


def fulfillment_routes(account: Account) -> dict[int, object]:
    """Warehouse id → the active fulfillment channel mapping it (the oldest channel if
    several do, so the choice is stable)."""
    routes = {}
    for mapping in (
        WarehouseMapping.objects.filter(
            channel__account=account, channel__kind=ChannelKind.FULFILLMENT, channel__is_active=True
        )
        .select_related("channel")
        .order_by("channel_id")
    ):
        routes.setdefault(mapping.warehouse_id, mapping.channel)
    return routes


# Sales orders ------------------------------------------------------------------------------


def record_sales_workflow_off(order_ids) -> None:
    """New orders of an account whose Automatic Sales Order Workflow is off: their history
    says why nothing happens to them (one INSERT however many an import brought)."""
    detail = "Off for this account: the order waits in Pending until someone processes it."
    SalesOrderEvent.objects.bulk_create(
        SalesOrderEvent(order_id=pk, action=EventAction.WAITING, actor_name=SO_WORKFLOW, detail=detail)
        for pk in order_ids
    )


def process_sales_orders(account: Account, order_ids, actor: Actor) -> Counter:
    """Validate, allocate and send these orders of the account; counts by outcome.
    Orders not in a processable state (already sent, cancelled, another worker's) are
    skipped, so a task delivered twice processes each order once."""
    counts = Counter()
    routes = fulfillment_routes(account)
    batches = defaultdict(list)
    for order_id in sorted(set(order_ids)):
        channel = _validate_and_allocate(account, order_id, actor, routes, counts)
        if channel is not None:
            batches[channel].append(order_id)
    for channel, ids in batches.items():
        _send_sales_orders(channel, ids, actor, counts)
    return counts


def _validate_and_allocate(account: Account, order_id: int, actor: Actor, routes: dict, counts: Counter):
    """The fulfillment channel to send the order to, once allocated; None if it was held
    or is not processable. One transaction: an order is held or allocated, never half."""
    with transaction.atomic():
        order = (
            SalesOrder.objects.select_for_update()
            .filter(account=account, pk=order_id, status__in=PROCESSABLE_STATUSES)
            .first()
        )
        if order is None:
            counts["skipped"] += 1
            return None
        lines = list(order.lines.select_for_update(of=("self",)).select_related("product"))
        if order.status == SalesOrderStatus.ALLOCATED and order.warehouse_id in routes:
            return routes[order.warehouse_id]
        _release(order, lines, actor)
        problems = _problems(account, order, lines)
        if problems:
            return _hold(order, " ".join(problems), actor, counts)
        record_sales_event(order, EventAction.VALIDATED, actor, "Lines, quantities and address are complete.")
        warehouse = _warehouse_for(order)
        if warehouse is None:
            return _hold(order, "No warehouse: set the account's default warehouse.", actor, counts)
        channel = routes.get(warehouse.pk)
        if channel is None:
            reason = f"No active fulfillment channel maps warehouse {warehouse.code}."
            return _hold(order, reason, actor, counts)
        shortage = _shortage(warehouse, lines)
        if shortage:
            return _hold(order, f"Insufficient stock at {warehouse.code}: {shortage}.", actor, counts)
        ledger = LedgerContext(
            AdjustmentReason.ALLOCATION, actor.ledger_source, actor=actor.user, note=f"Order {order.number}"
        )
        # Product order, as _shortage locked them: two orders never wait on each other.
        for line in sorted(lines, key=lambda li: li.product_id):
            adjust_inventory(line.product, warehouse, 0, ledger, reserved=line.quantity)
            line.quantity_reserved = line.quantity
        SalesOrderLine.objects.bulk_update(lines, ["quantity_reserved"])
        order.status = SalesOrderStatus.ALLOCATED
        order.warehouse = warehouse
        order.hold_reason = ""
        order.save(update_fields=["status", "warehouse", "hold_reason", "updated_at"])
        reserved = ", ".join(f"{li.sku} × {li.quantity}" for li in lines)
        record_sales_event(order, EventAction.ALLOCATED, actor, f"Reserved {reserved} at {warehouse.code}.")
        return channel


def _problems(account: Account, order: SalesOrder, lines: list[SalesOrderLine]) -> list[str]:
    problems = []
    if not lines:
        problems.append("The order has no lines.")
    # A product created since the order arrived counts: link its lines now.
    unlinked = [li for li in lines if li.product_id is None]
    products = products_by_sku(account, [li.sku for li in unlinked])
    for line in unlinked:
        line.product = products.get(line.sku.upper())
        if line.product:
            SalesOrderLine.objects.filter(pk=line.pk).update(product=line.product)
    unknown = [li.sku for li in lines if li.product is None]
    if unknown:
        problems.append(f"Unknown SKU {', '.join(unknown)}: create the product, then process the order.")
    zero = [li.sku for li in lines if li.quantity <= 0]
    if zero:
        problems.append(f"Quantity 0 on {', '.join(zero)}.")
    missing = [
        label
        for label, value in (
            ("address", order.ship_address1),
            ("city", order.ship_city),
            ("country", order.ship_country),
        )
        if not value.strip()
    ]
    if missing:
        problems.append(f"Shipping address incomplete: no {', '.join(missing)}.")
    return problems


def _warehouse_for(order: SalesOrder):
    """The order's own warehouse; else the one its sales channel maps (the account's
    default if it is among them, otherwise the first by location); else the default."""
    if order.warehouse_id:
        return order.warehouse
    default = order.account.default_warehouse
    if order.channel_id:
        mapped = [m.warehouse for m in order.channel.warehouse_mappings.select_related("warehouse")]
        if mapped:
            return default if default in mapped else mapped[0]
    return default


def _shortage(warehouse, lines: list[SalesOrderLine]) -> str:
    needed = Counter()
    for line in lines:
        needed[line.product_id] += line.quantity
    levels = {
        lv.product_id: lv
        for lv in InventoryLevel.objects.select_for_update()
        .filter(warehouse=warehouse, product_id__in=list(needed))
        .order_by("product_id")
    }
    short = []
    for product_id, quantity in needed.items():
        level = levels.get(product_id)
        available = level.on_hand - level.reserved if level else 0
        if quantity > available:
            sku = next(li.sku for li in lines if li.product_id == product_id)
            short.append(f"{sku} needs {quantity}, {max(available, 0)} available")
    return "; ".join(short)


def _release(order: SalesOrder, lines: list[SalesOrderLine], actor: Actor) -> None:
    """Give back what the order holds reserved (before a hold or a new allocation)."""
    held = [li for li in lines if li.quantity_reserved and li.product_id]
    if not held or order.warehouse_id is None:
        return
    ledger = LedgerContext(
        AdjustmentReason.ALLOCATION,
        actor.ledger_source,
        actor=actor.user,
        note=f"Order {order.number} released",
    )
    for line in sorted(held, key=lambda li: li.product_id):
        adjust_inventory(line.product, order.warehouse, 0, ledger, reserved=-line.quantity_reserved)
        line.quantity_reserved = 0
    SalesOrderLine.objects.bulk_update(held, ["quantity_reserved"])
    released = ", ".join(f"{li.sku} × {li.quantity}" for li in held)
    record_sales_event(order, EventAction.RELEASED, actor, f"Released {released} at {order.warehouse.code}.")


def _hold(order: SalesOrder, reason: str, actor: Actor, counts: Counter) -> None:
    counts["held"] += 1
    order.status = SalesOrderStatus.ON_HOLD
    order.hold_reason = reason[:255]
    order.save(update_fields=["status", "hold_reason", "updated_at"])
    record_sales_event(order, EventAction.HELD, actor, reason)


def record_sales_event(order: SalesOrder, action: str, actor: Actor, detail: str) -> None:
    SalesOrderEvent.objects.create(
        order=order, action=action, actor=actor.user, actor_name=actor.name, detail=detail[:500]
    )


def _send_run(channel, job_type: str, references: list[str], actor: Actor) -> JobRun:
    from channels.sync import run_job

    run = JobRun.objects.create(
        account=channel.account,
        channel=channel,
        job_type=job_type,
        trigger=actor.trigger,
        requested_by=actor.user,
    )
    return run_job(run, ids=references)


def _send_sales_orders(channel, order_ids: list[int], actor: Actor, counts: Counter) -> None:
    run = _send_run(channel, JobType.SEND_ORDERS, [f"SO-{pk}" for pk in order_ids], actor)
    failure = run.messages[0] if run.status in (RunStatus.FAILED, RunStatus.SKIPPED) else ""
    for order_id in order_ids:
        with transaction.atomic():
            # Lock the order only: warehouse is nullable (an outer join), which PostgreSQL
            # refuses to lock.
            order = (
                SalesOrder.objects.select_for_update(of=("self",))
                .select_related("warehouse")
                .get(pk=order_id)
            )
            if order.status == SalesOrderStatus.SENT:
                counts["sent"] += 1  # Send Orders wrote it into the history as it sent it
                continue
            if order.status == SalesOrderStatus.CANCELLED:
                # Cancelled by someone while the send was on its way: Send Orders left it
                # out, and the cancel already gave its stock back.
                counts["cancelled"] += 1
                continue
            lines = list(order.lines.select_for_update(of=("self",)).select_related("product"))
            if order.status == SalesOrderStatus.ON_HOLD:
                # Send Orders held it (the channel refused it) and said why: free the stock.
                counts["held"] += 1
                _release(order, lines, actor)
                continue
            # Still allocated: the run never reached the channel (failed or skipped).
            reason = f"{channel.name} could not be reached: {failure or 'the send did not run'}"
            _release(order, lines, actor)
            _hold(order, reason, actor, counts)


REASON_MAX = 255


def cancel_sales_order(order: SalesOrder, actor: Actor, reason: str = "") -> SalesOrder:
    """Cancel an order still in the portal's hands (`order` already scoped by the caller).
    What it holds reserved goes back to available through the ledger, which announces the
    change, so Inventory Real-Time Updates push the new quantity like any other change."""
    reason = _checked_reason(reason)
    with transaction.atomic():
        order = (
            SalesOrder.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=order.pk)
        )
        if order.status not in CANCELLABLE_STATUSES:
            raise WorkflowConflict(_not_cancellable(order))
        _release(order, list(order.lines.select_for_update(of=("self",)).select_related("product")), actor)
        order.status = SalesOrderStatus.CANCELLED
        order.hold_reason = ""
        order.save(update_fields=["status", "hold_reason", "updated_at"])
        record_sales_event(order, EventAction.CANCELLED, actor, reason or "Cancelled; no reason given.")
    return order


def _not_cancellable(order: SalesOrder) -> str:
    if order.status == SalesOrderStatus.SENT:
        channel = order.fulfillment_channel.name if order.fulfillment_channel_id else "fulfillment"
        return (
            f"Order {order.number} was sent to {channel}, which may already be picking it: only "
            f"{channel} can stop it now. Its reservation is released as its shipment arrives."
        )
    return f"A {order.get_status_display()} order cannot be cancelled."


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"Enter at most {REASON_MAX} characters ({len(reason)} given)."]})
    return reason


# Purchase orders ----------------------------------------------------------------------------


def record_purchase_workflow_off(po_ids) -> None:
    """New purchase orders of an account whose Automatic Purchase Order Workflow is off."""
    detail = "Off for this account: the purchase order waits, Open, until someone sends it."
    PurchaseOrderEvent.objects.bulk_create(
        PurchaseOrderEvent(
            purchase_order_id=pk, action=EventAction.WAITING, actor_name=PO_WORKFLOW, detail=detail
        )
        for pk in po_ids
    )


def send_purchase_orders(account: Account, po_ids, actor: Actor) -> Counter:
    """Send these open purchase orders of the account to their warehouses' fulfillment
    channels; counts by outcome. A purchase order that cannot be sent stays Open (it has
    no hold state) and its history says why."""
    counts = Counter()
    routes = fulfillment_routes(account)
    batches = defaultdict(list)
    for po in PurchaseOrder.objects.filter(
        account=account,
        pk__in=list(po_ids),
        status=PurchaseOrderStatus.OPEN,
        fulfillment_channel__isnull=True,
    ).select_related("warehouse"):
        channel = routes.get(po.warehouse_id)
        if channel is None:
            record_purchase_event(
                po,
                EventAction.NOT_SENT,
                actor,
                f"No active fulfillment channel maps warehouse {po.warehouse.code}.",
            )
            counts["not_sent"] += 1
        else:
            batches[channel].append(po)
    for channel, pos in batches.items():
        run = _send_run(channel, JobType.SEND_PURCHASE_ORDERS, [po.reference for po in pos], actor)
        for po in pos:
            po.refresh_from_db()
            if po.status == PurchaseOrderStatus.SENT:
                counts["sent"] += 1  # Send Purchase Orders wrote it into the history
                continue
            mine = [m for m in run.messages if f"Purchase order {po.number} " in m]
            reason = (mine or run.messages or ["the send did not run"])[0]
            record_purchase_event(po, EventAction.NOT_SENT, actor, f"{channel.name}: {reason}")
            counts["not_sent"] += 1
    return counts


def cancel_purchase_order(po: PurchaseOrder, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Cancel a purchase order not yet sent (`po` already scoped by the caller). Nothing is
    reserved for a purchase order, so the ledger does not change."""
    reason = _checked_reason(reason)
    with transaction.atomic():
        po = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
        if not po.sendable:
            raise WorkflowConflict(_po_not_cancellable(po))
        po.status = PurchaseOrderStatus.CANCELLED
        po.save(update_fields=["status", "updated_at"])
        record_purchase_event(po, EventAction.CANCELLED, actor, reason or "Cancelled; no reason given.")
    return po


def _po_not_cancellable(po: PurchaseOrder) -> str:
    if po.fulfillment_channel_id and po.status == PurchaseOrderStatus.SENT:
        # The warehouse expects the goods: receipts would still arrive and add stock.
        return (
            f"Purchase order {po.number} was sent to {po.fulfillment_channel.name}, which expects "
            f"the goods: only {po.fulfillment_channel.name} can cancel it now."
        )
    return f"A {po.get_status_display()} purchase order cannot be cancelled."


def record_purchase_event(po: PurchaseOrder, action: str, actor: Actor, detail: str) -> None:
    PurchaseOrderEvent.objects.create(
        purchase_order=po, action=action, actor=actor.user, actor_name=actor.name, detail=detail[:500]
    )


# Shipments -------------------------------------------------------------------------------


def release_shipped(
    order: SalesOrder, order_line: SalesOrderLine, quantity: int, ledger: LedgerContext
) -> None:
    """Units shipped no longer need their reservation: give back up to `quantity` of
    what the line holds at the order's warehouse (the caller saves the line)."""
    release = min(quantity, order_line.quantity_reserved)
    if release and order_line.product_id and order.warehouse_id:
        adjust_inventory(order_line.product, order.warehouse, 0, ledger, reserved=-release)
        order_line.quantity_reserved -= release

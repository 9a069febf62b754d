"""The order workflows' sends: a sales order validated and allocated by orders.workflow,
or an open purchase order, goes to the fulfillment channel mapping its warehouse through
the Send Orders / Send Purchase Orders job itself (automations.jobs with the documents'
references), so the connector path is the job's and every send is a JobRun in the log.
One implementation for the automatic path (a task enqueued when orders arrive) and for a
person or REST client processing by hand."""

from collections import Counter, defaultdict

from accounts.models import Account
from channels.platforms import JobType
from orders import workflow
from orders.models import EventAction, PurchaseOrder, PurchaseOrderStatus
from orders.workflow import Actor

from . import progress
from .actors import trigger_for
from .jobs.runner import run_job
from .models import JobRun, ProgressStatus, RunStatus

SALES_OUTCOMES = {"sent": "sent", "held": "on hold", "cancelled": "cancelled", "skipped": "skipped"}
PURCHASE_OUTCOMES = {"sent": "sent", "not_sent": "not sent"}


def process_sales_orders(
    account: Account, order_ids, actor: Actor, progress_id: int | None = None
) -> Counter:
    """Validate, allocate and send these orders of the account; counts by outcome.
    Orders not in a processable state (already sent, cancelled, another worker's) are
    skipped, so a task delivered twice processes each order once. A person's processing
    reports each order settled to its Progress row."""
    counts = Counter()
    routes = workflow.fulfillment_routes(account)
    batches = defaultdict(list)
    progress.advance(progress_id, 0, "Validating and allocating")
    for order_id in sorted(set(order_ids)):
        channel = workflow.validate_and_allocate(account, order_id, actor, routes, counts)
        if channel is not None:
            batches[channel].append(order_id)
        else:
            progress.advance(progress_id)
    for channel, ids in batches.items():
        progress.advance(progress_id, 0, f"Sending {len(ids)} to {channel.name}")
        run = _send_run(channel, JobType.SEND_ORDERS, [f"SO-{pk}" for pk in ids], actor)
        failure = run.messages[0] if run.status in (RunStatus.FAILED, RunStatus.SKIPPED) else ""
        for order_id in ids:
            workflow.settle_after_send(order_id, channel.name, failure, actor, counts)
        progress.advance(progress_id, len(ids))
    _finish(progress_id, counts, SALES_OUTCOMES, trouble=counts["held"] > 0)
    return counts


def send_purchase_orders(account: Account, po_ids, actor: Actor, progress_id: int | None = None) -> Counter:
    """Send these open purchase orders of the account to their warehouses' fulfillment
    channels; counts by outcome. A purchase order that cannot be sent stays Open (it has
    no hold state) and its history says why."""
    counts = Counter()
    routes = workflow.fulfillment_routes(account)
    batches = defaultdict(list)
    for po in PurchaseOrder.objects.filter(
        account=account,
        pk__in=list(po_ids),
        status=PurchaseOrderStatus.OPEN,
        fulfillment_channel__isnull=True,
    ).select_related("warehouse"):
        channel = routes.get(po.warehouse_id)
        if channel is None:
            workflow.record_purchase_event(
                po,
                EventAction.NOT_SENT,
                actor,
                f"No active fulfillment channel maps warehouse {po.warehouse.code}.",
            )
            counts["not_sent"] += 1
            progress.advance(progress_id)
        else:
            batches[channel].append(po)
    for channel, pos in batches.items():
        progress.advance(progress_id, 0, f"Sending {len(pos)} to {channel.name}")
        run = _send_run(channel, JobType.SEND_PURCHASE_ORDERS, [po.reference for po in pos], actor)
        for po in pos:
            po.refresh_from_db()
            if po.status == PurchaseOrderStatus.SENT:
                counts["sent"] += 1  # Send Purchase Orders wrote it into the history
                continue
            mine = [m for m in run.messages if f"Purchase order {po.number} " in m]
            reason = (mine or run.messages or ["the send did not run"])[0]
            workflow.record_purchase_event(po, EventAction.NOT_SENT, actor, f"{channel.name}: {reason}")
            counts["not_sent"] += 1
        progress.advance(progress_id, len(pos))
    _finish(progress_id, counts, PURCHASE_OUTCOMES, trouble=counts["not_sent"] > 0)
    return counts


def _finish(progress_id: int | None, counts: Counter, labels: dict, *, trouble: bool) -> None:
    """The Progress row's outcome: Partial when some documents were held or not sent."""
    status = ProgressStatus.PARTIAL if trouble else ProgressStatus.SUCCESS
    progress.finish(progress_id, status, progress.outcome_text(counts, labels))


def _send_run(channel, job_type: str, references: list[str], actor: Actor) -> JobRun:
    run = JobRun.objects.create(
        account=channel.account,
        channel=channel,
        job_type=job_type,
        trigger=trigger_for(actor),
        requested_by=actor.user,
        target_ids=references,
    )
    return run_job(run, ids=references)

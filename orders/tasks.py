"""Celery tasks of the orders app."""

from celery import shared_task

from accounts.models import Account, User
from automations.models import Trigger

from . import workflow
from .retention import run_retention


@shared_task(queue="jobs", acks_late=True, ignore_result=True)
def redact_expired_pii(account_id: int) -> int | None:
    """The daily PII retention job of one account; the id of its JobRun. Safe to run
    twice: a second run finds nothing left to redact and records 0. Inactive accounts are
    redacted too: retention is a promise about stored data, not a service to an account."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    return run_retention(account, trigger=Trigger.SCHEDULE).pk


def _actor(actor_id: int | None, actor_name: str, workflow_name: str) -> workflow.Actor:
    """Neither a person nor a named client (the API): the automatic workflow itself."""
    if not actor_id and not actor_name:
        return workflow.automatic_workflow(workflow_name)
    user = User.objects.filter(pk=actor_id).first() if actor_id else None
    # A person removed since they clicked is still no workflow: say so rather than guess.
    return workflow.Actor(actor_name or (user.email if user else "A removed user"), user)


@shared_task(queue="jobs", acks_late=True, ignore_result=True)
def process_sales_orders(
    account_id: int, order_ids: list[int], actor_id: int | None = None, actor_name: str = ""
) -> dict | None:
    """Validate, allocate and send these sales orders; without an actor it is the
    Automatic Sales Order Workflow. Safe to run twice: processed orders are skipped."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    return dict(
        workflow.process_sales_orders(account, order_ids, _actor(actor_id, actor_name, workflow.SO_WORKFLOW))
    )


@shared_task(queue="jobs", acks_late=True, ignore_result=True)
def send_purchase_orders(
    account_id: int, purchase_order_ids: list[int], actor_id: int | None = None, actor_name: str = ""
) -> dict | None:
    """Send these purchase orders to their warehouses' fulfillment channels; without an
    actor it is the Automatic Purchase Order Workflow. Sent ones are skipped on a rerun."""
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return None
    return dict(
        workflow.send_purchase_orders(
            account, purchase_order_ids, _actor(actor_id, actor_name, workflow.PO_WORKFLOW)
        )
    )

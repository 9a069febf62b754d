"""Celery tasks of the orders app."""

from celery import shared_task

from accounts.models import Account
from automations.models import Trigger

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

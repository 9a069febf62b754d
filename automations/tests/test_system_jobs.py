"""System rows: the daily PII retention job of an account, reconciled and dispatched like
the channel jobs, and executed by the redaction of the orders app."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from automations.dispatcher import dispatch_due
from automations.models import JobRun, RunStatus, ScheduleEntry, ScheduleKind
from automations.reconciler import reconcile_account
from automations.tasks import execute_run
from orders.tests.test_retention import order, redacted

pytestmark = pytest.mark.django_db


def system_row(account):
    return ScheduleEntry.objects.get(account=account, kind=ScheduleKind.SYSTEM, job_type="pii_retention")


def test_the_pii_job_is_off_until_a_retention_is_set(world, t0):
    reconcile_account(world.acme_us.pk, now=t0)
    assert system_row(world.acme_us).enabled is False


def test_setting_a_retention_turns_the_daily_pii_job_on(world, django_capture_on_commit_callbacks):
    account = world.acme_us
    with django_capture_on_commit_callbacks(execute=True):
        account_services.update_account_settings(
            world.org_admin, account, {"pii_retention_days": 30}, account.version
        )
    row = system_row(account)
    assert (row.enabled, row.period_minutes) == (True, 24 * 60)
    # Windows align to local midnight: the run falls in the first 10 minutes of a New York day.
    local = row.next_run_at.astimezone(account.tzinfo)
    assert (local.hour, local.minute < 10) == (0, True)


def test_a_dispatched_pii_run_redacts_the_accounts_old_orders_once(world):
    # The runner measures age from the real clock, so the orders are placed relative to it.
    now = timezone.now()
    account = world.acme_us
    account.pii_retention_days = 30
    account.save()
    old = order(account, "OLD", now - timedelta(days=40))
    recent = order(account, "NEW", now - timedelta(days=3))
    reconcile_account(account.pk, now=now)
    sent = []
    assert dispatch_due(now + timedelta(days=1), publish=sent.extend) == 1
    run = JobRun.objects.get(job_type="pii_retention")
    assert execute_run(run.pk) == RunStatus.SUCCESS
    assert execute_run(run.pk) == RunStatus.SUCCESS  # a redelivered task does nothing more
    run.refresh_from_db()
    assert run.counts == {"redacted": 1}
    assert redacted(old) and not redacted(recent)

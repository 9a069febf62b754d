"""Manual sync through a real Celery worker and broker (CI sets REDIS_URL)."""

import os
import time

import pytest
from django.urls import reverse

from automations.models import JobRun, RunStatus
from orders.models import SalesOrder

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis broker (REDIS_URL)")


@pytest.mark.django_db(transaction=True)
def test_manual_sync_button_runs_the_job_on_a_real_worker(client_for, linked):
    from celery.contrib.testing.worker import start_worker

    from oms.celery import app

    linked.place_order()
    client = client_for(linked.world.account_admin, linked.world.acme_us)
    # Threads, not solo: the solo pool closes the test's own database connection (Celery's
    # Django fixup on worker_process_init).
    with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, queues=["jobs"]):
        client.post(
            reverse("channel_detail", args=[linked.marketplace.pk]),
            {"action": "sync", "job_type": "import_orders"},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            run = JobRun.objects.get()
            if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
                break
            time.sleep(0.1)
    assert (run.status, run.counts, run.trigger) == (RunStatus.SUCCESS, {"imported": 1}, "manual")
    assert SalesOrder.objects.filter(channel=linked.marketplace).count() == 1

"""Confirming a Master Product Source change: product jobs are realigned by the
reconciler in the same transaction as the change, and SKUs stay unique whatever the
master channel's catalogue holds."""

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from accounts import services
from accounts.models import Account, AuditEntry, MasterProductSource
from accounts.tests.test_views import main_form
from automations import receivers
from automations.jobs.runner import run_job
from automations.models import JobRun, ScheduleEntry, StableJobSetting, Trigger
from automations.reconciler import reconcile_account
from catalog.models import Product
from channels.platforms import JobType

pytestmark = pytest.mark.django_db

HOURLY = {"enabled": True, "period_minutes": 60, "delay_minutes": None}


@pytest.fixture
def product_jobs(linked):
    """Import and Export Products enabled on the Recurring Jobs tab (kept from a time the
    source was a channel); with the techOMS source only the export runs."""
    for job_type in (JobType.IMPORT_PRODUCTS, JobType.EXPORT_PRODUCTS):
        StableJobSetting.objects.create(
            account=linked.world.acme_us, job_type=job_type, enabled=True, period_minutes=60
        )
    reconcile_account(linked.world.acme_us.pk)
    return linked


def import_row(account) -> ScheduleEntry:
    return ScheduleEntry.objects.get(account=account, job_type=JobType.IMPORT_PRODUCTS)


def schedule(account) -> set:
    return set(
        ScheduleEntry.objects.filter(account=account).values_list(
            "key", "enabled", "next_run_at", "updated_at"
        )
    )


def confirm_marketplace(linked):
    account = Account.objects.get(pk=linked.world.acme_us.pk)
    return services.update_account_settings(
        linked.world.org_admin,
        account,
        {
            "master_product_source": MasterProductSource.SALES_CHANNEL,
            "master_product_channel": linked.marketplace,
        },
        account.version,
        confirm=True,
    )


def test_an_unconfirmed_source_change_is_refused_and_nothing_changes(product_jobs):
    account = Account.objects.get(pk=product_jobs.world.acme_us.pk)
    before = schedule(account)
    with pytest.raises(services.ConfirmationRequired) as refused:
        services.update_account_settings(
            product_jobs.world.org_admin,
            account,
            {
                "master_product_source": MasterProductSource.SALES_CHANNEL,
                "master_product_channel": product_jobs.marketplace,
            },
            account.version,
        )
    assert refused.value.preflight.becoming_offered == ["Import Products on Marketplace"]
    stored = Account.objects.get(pk=account.pk)
    assert (stored.master_product_source, stored.version) == (MasterProductSource.TECHOMS, account.version)
    assert schedule(account) == before
    assert not AuditEntry.objects.filter(field="Master Product Source").exists()


def test_confirmed_source_change_realigns_product_jobs_before_commit(
    product_jobs, django_capture_on_commit_callbacks
):
    account = product_jobs.world.acme_us
    assert not import_row(account).enabled

    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        confirm_marketplace(product_jobs)
        # Nothing has committed yet, and the rows already follow the new source.
        row = import_row(account)
        assert row.enabled and row.next_run_at is not None

    # The reconciler's idempotent pass on commit (the settings-changed listener) is still
    # queued, and finds nothing left to realign.
    assert on_commit
    assert reconcile_account(account.pk, apply=False) == []


def test_confirming_on_the_page_realigns_product_jobs(product_jobs, client_for):
    client = client_for(product_jobs.world.org_admin, account=product_jobs.world.acme_us)
    response = client.post(
        "/account/main/",
        main_form(
            product_jobs.world.acme_us,
            master_product_source="sales",
            master_product_channel=product_jobs.marketplace.pk,
            confirm_master_source="1",
        ),
    )
    assert response.status_code == 302
    assert import_row(product_jobs.world.acme_us).enabled


def test_failed_realignment_keeps_the_old_source_and_schedule(
    product_jobs, monkeypatch, django_capture_on_commit_callbacks
):
    account = product_jobs.world.acme_us
    before = schedule(account)
    version = Account.objects.get(pk=account.pk).version

    def realign_then_fail(account_id):
        # The rows are rewritten first, so the rollback must undo real writes.
        reconcile_account(account_id)
        raise DatabaseError("schedule table unavailable")

    monkeypatch.setattr(receivers, "reconcile_account", realign_then_fail)
    with django_capture_on_commit_callbacks(execute=True) as on_commit, pytest.raises(DatabaseError):
        confirm_marketplace(product_jobs)

    account.refresh_from_db()
    assert (account.master_product_source, account.master_product_channel, account.version) == (
        MasterProductSource.TECHOMS,
        None,
        version,
    )
    assert schedule(account) == before
    assert not AuditEntry.objects.filter(field="Master Product Source").exists()
    # No listener hears of a change that never committed.
    assert on_commit == []


def test_settings_without_a_source_change_do_not_touch_the_schedule_in_the_transaction(
    product_jobs, monkeypatch
):
    def must_not_run(account_id):
        raise AssertionError("realigned without a source change")

    monkeypatch.setattr(receivers, "reconcile_account", must_not_run)
    account = Account.objects.get(pk=product_jobs.world.acme_us.pk)
    services.update_account_settings(
        product_jobs.world.org_admin, account, {"name": "Acme USA"}, account.version
    )
    assert Account.objects.get(pk=account.pk).name == "Acme USA"


def import_products(channel) -> JobRun:
    run = JobRun.objects.create(
        account=channel.account, channel=channel, job_type=JobType.IMPORT_PRODUCTS, trigger=Trigger.MANUAL
    )
    return run_job(run)


def test_importing_from_the_new_master_never_duplicates_a_sku(product_jobs):
    linked = product_jobs
    confirm_marketplace(linked)
    # The master lists the account's SKUs, one of them in another case, and a new one.
    linked.store.upsert_products(
        linked.shop("mkt"), [{"sku": "sku-2", "title": "Gadget"}, {"sku": "SKU-3", "title": "Gizmo"}]
    )

    first, second = import_products(linked.marketplace), import_products(linked.marketplace)

    assert first.counts == {"created": 1, "collisions": 3}
    assert any("SKU-1 already exists (created in techOMS)" in m for m in first.messages)
    assert second.counts == {"unchanged": 1, "collisions": 3}
    skus = sorted(Product.objects.filter(account=linked.world.acme_us).values_list("sku", flat=True))
    assert skus == ["SKU-1", "SKU-2", "SKU-3"]
    assert Product.objects.get(sku="SKU-3").source_channel == linked.marketplace


def test_the_database_refuses_a_sku_that_differs_only_in_case(linked):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(account=linked.world.acme_us, sku="sku-1", name="Twin")
    # Another account may hold the same SKU.
    Product.objects.create(account=linked.world.acme_eu, sku="SKU-1", name="Widget EU")

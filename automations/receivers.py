"""The engine hears what other apps announce: account settings, channel activation and
account deactivation keep the schedule in step; stored webhook events arm webhook jobs;
arriving orders start the order workflows (or are marked as waiting for a person);
inventory changes schedule real-time pushes. Signals sent on commit: a task only ever
sees committed rows."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Account
from accounts.signals import account_settings_changed, master_product_source_changed
from catalog.push import next_push_delay, schedule_push
from catalog.signals import inventory_changed
from channels.models import Channel
from channels.signals import webhook_event_received, webhook_registration_due
from channels.tasks import register_webhook
from orders import workflow
from orders.signals import purchase_orders_created, sales_orders_created

from . import outbox, tasks
from .reconciler import reconcile_account, reconcile_on_commit
from .services import arm_webhook_job

# Settings the schedule depends on: the timezone re-derives every next_run_at, the
# Master Product Source decides where product jobs run, a retention turns the daily PII
# job on or off.
SCHEDULE_FIELDS = {"timezone", "master_product_source", "master_product_channel", "pii_retention_days"}


@receiver(account_settings_changed)
def _account_settings_changed(sender, account_id, fields, **kwargs):
    if SCHEDULE_FIELDS.intersection(fields):
        reconcile_account(account_id)


@receiver(post_save, sender=Account)
def _account_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is None or "is_active" in update_fields:
        reconcile_on_commit(instance.pk)


@receiver(post_save, sender=Channel)
def _channel_saved(sender, instance, update_fields=None, **kwargs):
    # New channels, activation and deactivation change which jobs run where.
    if update_fields is None or {"is_active", "platform", "pii_retention_days"}.intersection(update_fields):
        reconcile_on_commit(instance.account_id)


@receiver(webhook_event_received)
def _webhook_event_received(sender, channel_id, event_id, **kwargs):
    transaction.on_commit(lambda: arm_webhook_job(event_id))


@receiver(master_product_source_changed)
def _master_product_source_changed(sender, account_id, **kwargs):
    # Inside the source change's transaction, so a failed realignment rolls the change
    # back and the dispatcher never sees product jobs that contradict the committed
    # source. The on-commit pass above runs too, idempotently, and finds nothing to do.
    reconcile_account(account_id)


def _workflow_on(account_id: int, setting: str) -> bool | None:
    """The account's setting; None for an inactive (or deleted) account, where no workflow
    runs and nothing is said about it."""
    return Account.objects.filter(pk=account_id, is_active=True).values_list(setting, flat=True).first()


@receiver(sales_orders_created)
def _sales_orders_created(sender, account_id, order_ids, **kwargs):
    on = _workflow_on(account_id, "auto_sales_order_workflow")
    if on:
        outbox.send_on_commit(tasks.process_sales_orders, account_id, list(order_ids))
    elif on is not None:
        workflow.record_sales_workflow_off(order_ids)


@receiver(purchase_orders_created)
def _purchase_orders_created(sender, account_id, purchase_order_ids, **kwargs):
    on = _workflow_on(account_id, "auto_purchase_order_workflow")
    if on:
        outbox.send_on_commit(tasks.send_purchase_orders, account_id, list(purchase_order_ids))
    elif on is not None:
        workflow.record_purchase_workflow_off(purchase_order_ids)


@receiver(inventory_changed)
def _inventory_changed(sender, account_id, product_ids, warehouse_ids, **kwargs):
    # Each push's outbox row commits with the claim of its channel's schedule: a claimed
    # schedule never waits without its task, and the task finds the products pending.
    with transaction.atomic():
        for channel_id in schedule_push(account_id, product_ids, warehouse_ids):
            outbox.send_on_commit(tasks.push_inventory, channel_id, countdown=next_push_delay(channel_id))


@receiver(webhook_registration_due)
def _webhook_registration_due(sender, channel_id, **kwargs):
    outbox.send_on_commit(register_webhook, channel_id)

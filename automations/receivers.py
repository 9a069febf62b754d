"""Keeps the schedule in step with what other apps change: account settings, channel
activation, account deactivation, and stored webhook events (which arm webhook jobs)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Account
from accounts.signals import account_settings_changed, master_product_source_changed
from channels.models import Channel
from channels.signals import webhook_event_received

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

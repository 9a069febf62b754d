"""Orders arriving (imported, API, manual) start the account's order workflows when they
are on: the signals are sent on commit, so the task only ever sees committed orders."""

from django.dispatch import receiver

from accounts.models import Account

from .signals import purchase_orders_created, sales_orders_created


@receiver(sales_orders_created)
def _sales_orders_created(sender, account_id, order_ids, **kwargs):
    if Account.objects.filter(pk=account_id, is_active=True, auto_sales_order_workflow=True).exists():
        from .tasks import process_sales_orders

        process_sales_orders.delay(account_id, list(order_ids))


@receiver(purchase_orders_created)
def _purchase_orders_created(sender, account_id, purchase_order_ids, **kwargs):
    if Account.objects.filter(pk=account_id, is_active=True, auto_purchase_order_workflow=True).exists():
        from .tasks import send_purchase_orders

        send_purchase_orders.delay(account_id, list(purchase_order_ids))

"""Orders arriving (imported, API, manual) start the account's order workflows when they
are on, and are marked as waiting for a person when they are off: the signals are sent on
commit, so the task only ever sees committed orders."""

from django.dispatch import receiver

from accounts.models import Account

from . import workflow
from .signals import purchase_orders_created, sales_orders_created


def _workflow_on(account_id: int, setting: str) -> bool | None:
    """The account's setting; None for an inactive (or deleted) account, where no workflow
    runs and nothing is said about it."""
    return Account.objects.filter(pk=account_id, is_active=True).values_list(setting, flat=True).first()


@receiver(sales_orders_created)
def _sales_orders_created(sender, account_id, order_ids, **kwargs):
    on = _workflow_on(account_id, "auto_sales_order_workflow")
    if on:
        from .tasks import process_sales_orders

        process_sales_orders.delay(account_id, list(order_ids))
    elif on is not None:
        workflow.record_sales_workflow_off(order_ids)


@receiver(purchase_orders_created)
def _purchase_orders_created(sender, account_id, purchase_order_ids, **kwargs):
    on = _workflow_on(account_id, "auto_purchase_order_workflow")
    if on:
        from .tasks import send_purchase_orders

        send_purchase_orders.delay(account_id, list(purchase_order_ids))
    elif on is not None:
        workflow.record_purchase_workflow_off(purchase_order_ids)

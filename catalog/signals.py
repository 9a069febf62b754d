"""Sent on commit after inventory levels change; real-time pushes listen to it."""

from django.dispatch import Signal

# kwargs: account_id, product_ids, warehouse_ids
inventory_changed = Signal()

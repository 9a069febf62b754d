"""Sent on commit when documents arrive; the order workflows listen to them."""

from django.dispatch import Signal

# kwargs: account_id, order_ids
sales_orders_created = Signal()
# kwargs: account_id, purchase_order_ids
purchase_orders_created = Signal()
# kwargs: account_id, shipment_ids
shipments_received = Signal()
# kwargs: account_id, receipt_ids
receipts_received = Signal()

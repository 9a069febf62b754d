from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Sales orders, purchase orders, shipments and receipts"

    def ready(self):
        from . import receivers  # noqa: F401 - connects the order workflows

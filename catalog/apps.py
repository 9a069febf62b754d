from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Products, inventory and carriers"

    def ready(self):
        # Connects the real-time inventory push to `inventory_changed`.
        from . import push  # noqa: F401

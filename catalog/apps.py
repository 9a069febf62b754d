from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Products, inventory and carriers"

    def ready(self):
        from accounts.hooks import register_master_source_preflight

        # Connects the real-time inventory push to `inventory_changed`.
        from . import push  # noqa: F401
        from .preflight import master_source_preflight, needs_preflight

        # accounts cannot import catalog: its settings service asks here whether a new
        # Master Product Source needs confirmation, and what the change would do.
        register_master_source_preflight(needs_preflight, master_source_preflight)

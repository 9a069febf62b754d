from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Products, inventory and carriers"

    def ready(self):
        # accounts cannot import catalog: its settings service asks here whether a new
        # Master Product Source needs confirmation, and what the change would do.
        from accounts.hooks import register_master_source_preflight

        from .preflight import master_source_preflight, needs_preflight

        register_master_source_preflight(needs_preflight, master_source_preflight)

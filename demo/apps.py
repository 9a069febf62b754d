from django.apps import AppConfig


class DemoConfig(AppConfig):
    # An app only so that `manage.py run_sandbox` and `manage.py seed_demo` are found.
    name = "demo"
    verbose_name = "Demo and sandbox"

from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Automations"

    def ready(self):
        from accounts import tabs

        from . import receivers  # noqa: F401 - connects the signal receivers

        # The Account page's Recurring Jobs tab: accounts finds it here, never by
        # importing automations.views (named by path, so ready() does not import views).
        tabs.register(
            "recurring-jobs",
            "Recurring Jobs",
            "automations.views.recurring_jobs_tab",
            order=30,
            template="accounts/account_recurring_jobs.html",
        )

"""The tabs of the Account page, registered by the apps that own them.

accounts registers its own tabs (accounts.views); an app above it adds one from its
AppConfig.ready() (automations: Recurring Jobs), so the page shows it without accounts
importing that app's views. Tabs appear in `order`: Main 10, API Validation Rules 20,
Recurring Jobs 30, Warehouses 40, Users 50, Audit Log 60.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import import_string


def _always(access) -> bool:
    return True


@dataclass(frozen=True)
class AccountTab:
    slug: str
    label: str
    # handler(request, access, here) → the tab's template context, or a response.
    # A dotted path is imported at the first request, so an app's ready() (which runs
    # in Celery processes too) does not import its views.
    handler: Callable | str
    order: int
    # None: accounts/account_<slug with underscores>.html
    template: str | None = None
    # visible(access) → whether this person sees the tab (and may open it).
    visible: Callable = _always

    def view(self) -> Callable:
        return import_string(self.handler) if isinstance(self.handler, str) else self.handler

    def template_name(self) -> str:
        return self.template or f"accounts/account_{self.slug.replace('-', '_')}.html"


_tabs: dict[str, AccountTab] = {}


def register(
    slug: str,
    label: str,
    handler: Callable | str,
    *,
    order: int,
    template: str | None = None,
    visible: Callable | None = None,
) -> None:
    _tabs[slug] = AccountTab(slug, label, handler, order, template, visible or _always)


def get(slug: str) -> AccountTab | None:
    return _tabs.get(slug)


def all_tabs() -> list[AccountTab]:
    return sorted(_tabs.values(), key=lambda tab: (tab.order, tab.slug))

"""Questions the accounts services ask of the apps above them, answered by registration.

accounts is the ground floor and cannot import catalog to learn whether an account has
products; catalog registers its Master Product Source preflight here from its
AppConfig.ready(). With nothing registered there are no products, so nothing to confirm.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import Account


@dataclass(frozen=True)
class MasterSourcePreflightProvider:
    # (account, new source) → whether the change must be confirmed first.
    needs_confirmation: Callable[[Account, str], bool]
    # (account, new source, new master channel or None) → the report a person reads.
    build: Callable[[Account, str, Any], Any]


_master_source_preflight: MasterSourcePreflightProvider | None = None


def register_master_source_preflight(
    needs_confirmation: Callable[[Account, str], bool], build: Callable[[Account, str, Any], Any]
) -> None:
    global _master_source_preflight
    _master_source_preflight = MasterSourcePreflightProvider(needs_confirmation, build)


def master_source_needs_confirmation(account: Account, new_source: str) -> bool:
    provider = _master_source_preflight
    return provider is not None and provider.needs_confirmation(account, new_source)


def master_source_preflight(account: Account, new_source: str, new_channel) -> Any:
    """What the change would do, or None when no app reports on it."""
    provider = _master_source_preflight
    return provider.build(account, new_source, new_channel) if provider is not None else None

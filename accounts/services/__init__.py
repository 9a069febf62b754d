"""Writes to organizations, accounts, warehouses and roles.

Each change is validated and applied by one function here, which the pages, the REST
API and the admin all call, so that they cannot disagree on a rule. Every saved change
writes audit entries. Callers import the names from `accounts.services`; the modules
below group them by what they change.
"""

from .account_settings import (
    ACCOUNT_SETTINGS_FIELDS,
    NOT_ALLOWED,
    ORGANIZATION_LEVEL_FIELDS,
    PRODUCT_SOURCE_FIELDS,
    ConfirmationRequired,
    SettingsPreview,
    preview_account_settings,
    update_account_settings,
    update_validation_rules,
)
from .accounts import create_account, create_organization, regenerate_api_key, rename_organization
from .common import Change, StaleVersionError, record_audit, require_settings_edit
from .people import (
    grant_account_role,
    grant_organization_role,
    revoke_account_role,
    revoke_organization_role,
)
from .warehouses import WAREHOUSE_FIELDS, create_warehouse, set_warehouse_active, update_warehouse

__all__ = [
    "ACCOUNT_SETTINGS_FIELDS",
    "NOT_ALLOWED",
    "ORGANIZATION_LEVEL_FIELDS",
    "PRODUCT_SOURCE_FIELDS",
    "WAREHOUSE_FIELDS",
    "Change",
    "ConfirmationRequired",
    "SettingsPreview",
    "StaleVersionError",
    "create_account",
    "create_organization",
    "create_warehouse",
    "grant_account_role",
    "grant_organization_role",
    "preview_account_settings",
    "record_audit",
    "regenerate_api_key",
    "rename_organization",
    "require_settings_edit",
    "revoke_account_role",
    "revoke_organization_role",
    "set_warehouse_active",
    "update_account_settings",
    "update_validation_rules",
    "update_warehouse",
]

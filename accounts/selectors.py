"""Reads scoped to the person asking: every page and endpoint starts here.

An object outside the actor's scope raises Http404, never 403, so that ids of other
tenants leak nothing.
"""

from dataclasses import dataclass
from typing import ClassVar

from django.db.models import Q, QuerySet
from django.http import Http404

from oms.ids import parse_id

from .api_keys import masked
from .models import (
    ACCOUNT_ROLES,
    ORGANIZATION_ROLES,
    Account,
    ApiValidationRule,
    EnforcementStatus,
    Organization,
    Role,
    RoleAssignment,
    User,
    ValidationCheck,
    ValidationDocument,
)

# The role an API key holds at its own account (not a person's role, so not a Role choice).
API_KEY_ROLE = "api_key"


@dataclass(frozen=True)
class ApiKeyActor:
    """A REST client holding one account's API key; it stands where a person stands.

    It reaches its own account only, with the rights of an Account Administrator
    except managing people, and is named in the audit log by its key's visible prefix.
    """

    account: Account
    prefix: str
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False
    pk: ClassVar[None] = None

    @property
    def label(self) -> str:
        return f"API key {masked(self.prefix)}"

    def __str__(self) -> str:
        return self.label


Actor = User | ApiKeyActor


def organizations_for(user: Actor) -> QuerySet[Organization]:
    """Organizations where the user holds an organization-level role."""
    if isinstance(user, ApiKeyActor) or not user.is_authenticated:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(roles__user=user, roles__role__in=ORGANIZATION_ROLES).distinct()


def accounts_for(user: Actor) -> QuerySet[Account]:
    """Every account the user can reach, through an organization or directly."""
    if isinstance(user, ApiKeyActor):
        return Account.objects.filter(pk=user.account.pk, is_active=True).select_related("organization")
    if not user.is_authenticated:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.select_related("organization")
    return (
        Account.objects.filter(
            Q(organization__in=organizations_for(user)) | Q(roles__user=user, roles__role__in=ACCOUNT_ROLES)
        )
        .select_related("organization")
        .distinct()
    )


def organization_role(user: User, organization: Organization) -> str | None:
    if user.is_superuser:
        return Role.ORGANIZATION_ADMINISTRATOR
    assignment = RoleAssignment.objects.filter(
        user=user, organization=organization, role__in=ORGANIZATION_ROLES
    ).first()
    return assignment.role if assignment else None


def account_role(user: Actor, account: Account) -> str | None:
    """The strongest role the user has at the account (organization roles win)."""
    if isinstance(user, ApiKeyActor):
        return API_KEY_ROLE if account.pk == user.account.pk else None
    org_role = organization_role(user, account.organization)
    if org_role:
        return org_role
    assignment = RoleAssignment.objects.filter(user=user, account=account).first()
    return assignment.role if assignment else None


@dataclass(frozen=True)
class OrganizationAccess:
    organization: Organization
    role: str

    @property
    def can_grant_organization_roles(self) -> bool:
        # Supervisors act like administrators except for organization-level roles.
        return self.role == Role.ORGANIZATION_ADMINISTRATOR


@dataclass(frozen=True)
class AccountAccess:
    """What one person may do at one account: the permission matrix in one place."""

    account: Account
    role: str

    @property
    def is_organization_level(self) -> bool:
        return self.role in ORGANIZATION_ROLES

    @property
    def can_edit_settings(self) -> bool:
        return self.role != Role.ACCOUNT_USER

    @property
    def can_edit_organization_fields(self) -> bool:
        """Organization and License Type."""
        return self.is_organization_level

    @property
    def can_manage_warehouses(self) -> bool:
        return self.is_organization_level

    @property
    def can_manage_users(self) -> bool:
        return self.role in (*ORGANIZATION_ROLES, Role.ACCOUNT_ADMINISTRATOR)

    @property
    def can_read_audit_log(self) -> bool:
        # A key's client is its account's integration: it may read what was changed there.
        return self.is_organization_level or self.role == API_KEY_ROLE


def organization_access(user: User, organization_id) -> OrganizationAccess:
    organization = organizations_for(user).filter(pk=organization_id).first()
    if organization is None:
        raise Http404("No such organization.")
    return OrganizationAccess(organization, organization_role(user, organization))


def account_access(user: Actor, account_id, organization_id=None) -> AccountAccess:
    """The account for this actor, or 404; optionally also within one organization."""
    pk = parse_id(account_id)
    if pk is None:
        raise Http404("No such account.")
    accounts = accounts_for(user).filter(pk=pk)
    if organization_id is not None:
        accounts = accounts.filter(organization_id=organization_id)
    account = accounts.first()
    if account is None:
        raise Http404("No such account.")
    return AccountAccess(account, account_role(user, account))


def validation_rules(account: Account) -> dict[tuple[str, str], str]:
    """Every (document, check) pair with its enforcement status, defaults included."""
    rules = {
        (document, check): EnforcementStatus.WARNING.value
        for document in ValidationDocument.values
        for check in ValidationCheck.values
    }
    for document, check, status in ApiValidationRule.objects.filter(account=account).values_list(
        "document", "check_type", "status"
    ):
        rules[(document, check)] = status
    return rules

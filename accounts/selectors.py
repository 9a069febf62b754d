"""Reads scoped to the person asking: every page and endpoint starts here.

An object outside the actor's scope raises Http404, never 403, so that ids of other
tenants leak nothing.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

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


def organizations_for(user: User) -> QuerySet[Organization]:
    """Organizations where the user holds an organization-level role."""
    if not user.is_authenticated:
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    return Organization.objects.filter(roles__user=user, roles__role__in=ORGANIZATION_ROLES).distinct()


def accounts_for(user: User) -> QuerySet[Account]:
    """Every account the user can reach, through an organization or directly."""
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


def account_role(user: User, account: Account) -> str | None:
    """The strongest role the user has at the account (organization roles win)."""
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
        return self.role != Role.ACCOUNT_USER

    @property
    def can_read_audit_log(self) -> bool:
        return self.is_organization_level


def organization_access(user: User, organization_id) -> OrganizationAccess:
    organization = organizations_for(user).filter(pk=organization_id).first()
    if organization is None:
        raise Http404("No such organization.")
    return OrganizationAccess(organization, organization_role(user, organization))


def account_access(user: User, account_id, organization_id=None) -> AccountAccess:
    """The account for this actor, or 404; optionally also within one organization."""
    accounts = accounts_for(user).filter(pk=account_id)
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

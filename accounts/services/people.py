"""People and their roles, at an organization or at one account; every grant and
revocation is audited."""

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from ..models import (
    ACCOUNT_ROLES,
    ORGANIZATION_ROLES,
    Account,
    Organization,
    Role,
    RoleAssignment,
    User,
)
from ..selectors import account_access, organization_access
from .common import Change, record_audit, require


def _checked_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    return email


# Weakest first: a grant that moves a person's own role down this list lowers it.
ROLE_RANK = [Role.ACCOUNT_USER, Role.ACCOUNT_ADMINISTRATOR, Role.SUPERVISOR, Role.ORGANIZATION_ADMINISTRATOR]


def _refuse_lowering_own_role(actor: User, held: RoleAssignment | None, role: str) -> None:
    """Nobody lowers their own role: an administrator who demotes themselves by mistake
    cannot undo it, and the organization may be left with nobody to manage its people.
    The same scope only: an account role beside an organization role lowers nothing,
    because the organization role wins (selectors.account_role)."""
    if held is not None and held.user_id == actor.pk and ROLE_RANK.index(role) < ROLE_RANK.index(held.role):
        raise ValidationError(
            {"role": [f"You cannot lower your own role (you are {held.get_role_display()} here)."]}
        )


def _user_for_email(email: str) -> tuple[User, str | None]:
    """The user with this (checked) email, created with a one-time password when new."""
    user = User.objects.filter(email__iexact=email).first()
    if user:
        return user, None
    password = secrets.token_urlsafe(12)
    return User.objects.create_user(email=email, password=password), password


def grant_account_role(
    actor: User, account: Account, email: str, role: str, *, dry_run: bool = False
) -> tuple[RoleAssignment | None, str | None]:
    """Give a person an account-level role; returns a one-time password for a new user.
    With dry_run, everything is checked, nobody is created and (None, None) returned."""
    require(account_access(actor, account.pk).can_manage_users)
    if role not in ACCOUNT_ROLES:
        raise ValidationError({"role": ["Choose Account Administrator or Account User."]})
    email = _checked_email(email)
    held = RoleAssignment.objects.filter(user__email__iexact=email, account=account).first()
    _refuse_lowering_own_role(actor, held, role)
    if dry_run:
        return None, None
    return _assign_role(actor, email, role, account=account, organization=None)


def revoke_account_role(actor: User, assignment: RoleAssignment) -> None:
    account = assignment.account
    if account is None:
        raise PermissionDenied("Organization roles are managed on the organization page.")
    require(account_access(actor, account.pk).can_manage_users)
    _remove_role(actor, assignment, account, account.organization)


def grant_organization_role(
    actor: User, organization: Organization, email: str, role: str, *, dry_run: bool = False
) -> tuple[RoleAssignment | None, str | None]:
    """Like grant_account_role, for Organization Administrators and Supervisors."""
    require(organization_access(actor, organization.pk).can_grant_organization_roles)
    if role not in ORGANIZATION_ROLES:
        raise ValidationError({"role": ["Choose Organization Administrator or Supervisor."]})
    email = _checked_email(email)
    held = RoleAssignment.objects.filter(user__email__iexact=email, organization=organization).first()
    _refuse_lowering_own_role(actor, held, role)
    if dry_run:
        return None, None
    return _assign_role(actor, email, role, account=None, organization=organization)


def _assign_role(
    actor: User, email: str, role: str, *, account, organization
) -> tuple[RoleAssignment, str | None]:
    """Give the role at an account or an organization (the other is None), creating the
    person if new; audited at the account (and its organization) or the organization."""
    with transaction.atomic():
        user, password = _user_for_email(email)
        previous = RoleAssignment.objects.filter(
            user=user, account=account, organization=organization
        ).first()
        old = previous.get_role_display() if previous else "—"
        assignment, _ = RoleAssignment.objects.update_or_create(
            user=user, account=account, organization=organization, defaults={"role": role}
        )
        if old != assignment.get_role_display():
            record_audit(
                actor,
                account,
                organization or account.organization,
                "role_granted",
                [Change(f"Role of {user.email}", old, assignment.get_role_display())],
            )
    return assignment, password


def revoke_organization_role(actor: User, assignment: RoleAssignment) -> None:
    organization = assignment.organization
    require(organization_access(actor, organization.pk).can_grant_organization_roles)
    _remove_role(actor, assignment, None, organization)


def _remove_role(actor: User, assignment: RoleAssignment, account, organization) -> None:
    """Delete the role, audited at its account (and organization) or organization;
    never one's own."""
    if assignment.user_id == actor.pk:
        raise ValidationError({"role": ["You cannot remove your own access."]})
    with transaction.atomic():
        assignment.delete()
        record_audit(
            actor,
            account,
            organization,
            "role_revoked",
            [Change(f"Role of {assignment.user.email}", assignment.get_role_display(), "—")],
        )

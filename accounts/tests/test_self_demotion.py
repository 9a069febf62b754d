"""Nobody lowers their own role: the people service refuses it beside the role field, and
the pages, the API and the admin all meet that one rule."""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuditEntry, Role, RoleAssignment, User

pytestmark = pytest.mark.django_db

ADMIN = "/admin/accounts/roleassignment"


def role_of(user, **scope) -> str:
    return RoleAssignment.objects.get(user=user, **scope).role


# The service ----------------------------------------------------------------------------


def test_the_service_refuses_an_account_administrator_demoting_themselves(world):
    with pytest.raises(ValidationError) as refusal:
        services.grant_account_role(
            world.account_admin, world.acme_us, "Admin@Acme-US.test", Role.ACCOUNT_USER
        )
    assert refusal.value.message_dict == {
        "role": ["You cannot lower your own role (you are Account Administrator here)."]
    }
    assert role_of(world.account_admin, account=world.acme_us) == Role.ACCOUNT_ADMINISTRATOR
    assert not AuditEntry.objects.filter(action="role_granted").exists()


def test_the_dry_run_refuses_it_too(world):
    with pytest.raises(ValidationError) as refusal:
        services.grant_organization_role(
            world.org_admin, world.acme, world.org_admin.email, Role.SUPERVISOR, dry_run=True
        )
    assert "role" in refusal.value.message_dict


def test_keeping_ones_own_role_is_allowed(world):
    assignment, password = services.grant_account_role(
        world.account_admin, world.acme_us, world.account_admin.email, Role.ACCOUNT_ADMINISTRATOR
    )
    assert assignment.role == Role.ACCOUNT_ADMINISTRATOR and password is None


def test_an_organization_administrator_may_add_an_account_role_for_themselves(world):
    # The organization role still wins at the account, so nothing is lowered.
    services.grant_account_role(world.org_admin, world.acme_us, world.org_admin.email, Role.ACCOUNT_USER)
    assert role_of(world.org_admin, organization=world.acme) == Role.ORGANIZATION_ADMINISTRATOR


def test_demoting_someone_else_is_still_allowed(world):
    services.grant_account_role(world.org_admin, world.acme_us, world.account_admin.email, Role.ACCOUNT_USER)
    assert role_of(world.account_admin, account=world.acme_us) == Role.ACCOUNT_USER


# The pages ------------------------------------------------------------------------------


def test_add_user_page_refuses_self_demotion_beside_the_role(world, client_for):
    client = client_for(world.account_admin, account=world.acme_us)
    response = client.post(
        "/account/users/",
        {"action": "grant_role", "email": world.account_admin.email, "role": Role.ACCOUNT_USER},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["role"] == [
        "You cannot lower your own role (you are Account Administrator here)."
    ]
    assert "You cannot lower your own role" in response.content.decode()
    assert role_of(world.account_admin, account=world.acme_us) == Role.ACCOUNT_ADMINISTRATOR


def test_organization_page_refuses_self_demotion_to_supervisor(world, client_for):
    client = client_for(world.org_admin)
    response = client.post(
        f"/organizations/{world.acme.pk}/",
        {"action": "grant_role", "email": world.org_admin.email, "role": Role.SUPERVISOR},
    )
    assert response.status_code == 200
    assert "You cannot lower your own role" in response.content.decode()
    assert role_of(world.org_admin, organization=world.acme) == Role.ORGANIZATION_ADMINISTRATOR


def test_organization_administrator_removing_their_own_role_gets_a_message_not_a_500(world, client_for):
    client = client_for(world.org_admin)
    mine = RoleAssignment.objects.get(user=world.org_admin, organization=world.acme)
    response = client.post(
        f"/organizations/{world.acme.pk}/", {"action": "revoke_role", "assignment": mine.pk}, follow=True
    )
    assert response.status_code == 200
    assert "You cannot remove your own access." in response.content.decode()
    assert RoleAssignment.objects.filter(pk=mine.pk).exists()


# The API --------------------------------------------------------------------------------


def test_the_api_offers_no_way_to_change_a_role(world):
    # People are read-only over the API; a write endpoint added later must call the service.
    client = APIClient()
    client.force_login(world.account_admin)
    session = client.session
    session["current_account_id"] = world.acme_us.pk
    session.save()
    body = {"email": world.account_admin.email, "role": Role.ACCOUNT_USER}
    for method in (client.post, client.put, client.patch):
        assert method("/api/v1/users/", body, format="json").status_code == 405
    assert role_of(world.account_admin, account=world.acme_us) == Role.ACCOUNT_ADMINISTRATOR


# The admin ------------------------------------------------------------------------------


@pytest.fixture
def staff_org_admin(world, client):
    """A superuser who also holds Organization Administrator at Acme."""
    user = User.objects.create_superuser(email="staff@techoms.test", password="x-admin-pass")
    RoleAssignment.objects.create(user=user, role=Role.ORGANIZATION_ADMINISTRATOR, organization=world.acme)
    client.force_login(user)
    return user, client


def test_the_admin_refuses_lowering_ones_own_role_beside_the_role(world, staff_org_admin):
    user, client = staff_org_admin
    mine = RoleAssignment.objects.get(user=user)
    response = client.post(f"{ADMIN}/{mine.pk}/change/", {"role": Role.SUPERVISOR})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["role"] == [
        "You cannot lower your own role (you are Organization Administrator here)."
    ]
    assert role_of(user, organization=world.acme) == Role.ORGANIZATION_ADMINISTRATOR


def test_the_admin_still_changes_other_peoples_roles(world, staff_org_admin):
    _, client = staff_org_admin
    theirs = RoleAssignment.objects.get(user=world.org_admin)
    response = client.post(f"{ADMIN}/{theirs.pk}/change/", {"role": Role.SUPERVISOR})
    assert response.status_code == 302
    assert role_of(world.org_admin, organization=world.acme) == Role.SUPERVISOR

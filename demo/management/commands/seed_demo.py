"""Idempotent demo data: the organizations, accounts, warehouses and people the README
and other tools rely on. Running it again changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.api_keys import new_api_key
from accounts.models import Account, Organization, Role, RoleAssignment, User, Warehouse
from demo import data

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - demo only, printed and in the README

ORGANIZATIONS = {
    "Acme Corp": [
        ("ACME-US", "Acme US", "America/New_York", [("NJ", "New Jersey DC"), ("RENO", "Reno DC")]),
        ("ACME-EU", "Acme EU", "Europe/Berlin", [("BER", "Berlin DC"), ("AMS", "Amsterdam DC")]),
    ],
    "Globex": [
        ("GLOBEX", "Globex Japan", "Asia/Tokyo", [("TYO", "Tokyo DC"), ("OSA", "Osaka DC")]),
    ],
}
PEOPLE = [
    ("orgadmin@acme.test", Role.ORGANIZATION_ADMINISTRATOR, "Acme Corp"),
    ("supervisor@acme.test", Role.SUPERVISOR, "Acme Corp"),
    ("admin@acme-us.test", Role.ACCOUNT_ADMINISTRATOR, "ACME-US"),
    ("user@acme-us.test", Role.ACCOUNT_USER, "ACME-US"),
    ("orgadmin@globex.test", Role.ORGANIZATION_ADMINISTRATOR, "Globex"),
]


class Command(BaseCommand):
    help = "Create the demo organizations, accounts, warehouses and users (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        for org_name, accounts in ORGANIZATIONS.items():
            organization, _ = Organization.objects.get_or_create(name=org_name)
            for code, name, tz, warehouses in accounts:
                account, created = Account.objects.get_or_create(
                    code=code, defaults={"organization": organization, "name": name, "timezone": tz}
                )
                if created:
                    key, prefix, digest = new_api_key()
                    account.api_key_prefix, account.api_key_hash = prefix, digest
                    account.api_key_created_at = account.created_at
                    self.stdout.write(f"API key of {code} (shown once): {key}")
                for wh_code, wh_name in warehouses:
                    Warehouse.objects.get_or_create(account=account, code=wh_code, defaults={"name": wh_name})
                if created:
                    account.default_warehouse = account.warehouses.order_by("pk").first()
                    account.save()
        for email, role, scope in PEOPLE:
            user, created = User.objects.get_or_create(email=email)
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            where = (
                {"organization": Organization.objects.get(name=scope), "account": None}
                if role in (Role.ORGANIZATION_ADMINISTRATOR, Role.SUPERVISOR)
                else {"account": Account.objects.get(code=scope), "organization": None}
            )
            RoleAssignment.objects.get_or_create(user=user, **where, defaults={"role": role})
        # Sandbox channels, products and stock of the demo accounts (run_sandbox seeds its side).
        data.seed(self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready. Sign in at {settings.PORTAL_URL}/ with password "
                f"'{DEMO_PASSWORD}' as: " + ", ".join(email for email, _, _ in PEOPLE)
            )
        )

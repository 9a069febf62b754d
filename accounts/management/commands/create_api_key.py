"""`manage.py create_api_key <ACCOUNT CODE>`: issue (or replace) an account's API key.

Only the key goes to stdout, so scripts can capture it: `KEY=$(manage.py create_api_key ACME)`.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Account


class Command(BaseCommand):
    help = "Create or replace the API key of the account with this code and print only the key."

    def add_arguments(self, parser):
        parser.add_argument("code", help="The account's code (any case).")

    def handle(self, *args, code, **options):
        account = Account.objects.filter(code__iexact=code.strip()).first()
        if account is None:
            raise CommandError(f"No account has the code {code!r}.")
        key = services.regenerate_api_key(None, account)
        self.stderr.write(f"Issued a new API key for {account}; any previous key no longer works.")
        self.stdout.write(key)

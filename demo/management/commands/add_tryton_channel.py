"""Add a Tryton-backed fulfillment channel to a demo account: `manage.py add_tryton_channel`.

The defaults match `make tryton` (peers/tryton/peer.py on :8100) and the demo's ACME-US:
Tryton's warehouses MAIN and EAST map onto NJ and RENO. Orders go to the oldest active
fulfillment channel mapping their warehouse, so the account's other fulfillment channels
mapping those warehouses (the sandbox 3PLs) are turned off, and said so. Running it again
changes nothing; it ends by testing the connection.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Account
from channels import services
from channels.models import Channel, WarehouseMapping
from channels.platforms import ChannelKind
from peers.tryton.peer import DATABASE, PASSWORD, USER

DEFAULT_MAPPINGS = ["MAIN=NJ", "EAST=RENO"]


def _mapping(text: str) -> tuple[str, str]:
    location, sep, warehouse = text.partition("=")
    if not sep or not location.strip() or not warehouse.strip():
        raise CommandError(
            f"--map {text!r}: write TRYTON_WAREHOUSE_CODE=ACCOUNT_WAREHOUSE_CODE, e.g. MAIN=NJ."
        )
    return location.strip(), warehouse.strip()


class Command(BaseCommand):
    help = "Add a Tryton fulfillment channel and its warehouse mappings to a demo account (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--account", default="ACME-US", help="The account's code.")
        parser.add_argument("--name", default="Acme Tryton", help="The channel's name.")
        parser.add_argument("--url", default="http://127.0.0.1:8100/", help="Tryton's URL.")
        parser.add_argument("--database", default=DATABASE)
        parser.add_argument("--user", default=USER)
        parser.add_argument("--password", default=PASSWORD)
        parser.add_argument(
            "--map",
            action="append",
            dest="mappings",
            help="Tryton warehouse code=account warehouse code (repeatable; default MAIN=NJ, EAST=RENO).",
        )

    def handle(self, *args, account, name, url, database, user, password, mappings, **options):
        pairs = [_mapping(text) for text in mappings or DEFAULT_MAPPINGS]
        found = Account.objects.filter(code=account).first()
        if found is None:
            raise CommandError(f"No account {account}: run `manage.py seed_demo` first.")
        credentials = {"url": url, "database": database, "user": user, "password": password}
        try:
            with transaction.atomic():
                channel = self._channel(found, name, credentials)
                for location, code in pairs:
                    self._map(channel, location, code)
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            ) from None
        reached, message = services.test_connection(None, channel)
        if reached:
            self.stdout.write(self.style.SUCCESS(message))
        else:
            self.stdout.write(self.style.WARNING(f"{message} (is `make tryton` running?)"))

    def _channel(self, account: Account, name: str, credentials: dict) -> Channel:
        channel = Channel.objects.filter(account=account, name=name).first()
        if channel is None:
            channel = services.create_channel(
                None,
                account,
                kind=ChannelKind.FULFILLMENT,
                name=name,
                platform="tryton",
                credentials=credentials,
            )
            self.stdout.write(f"Channel {name} (Tryton at {credentials['url']}) added to {account.code}.")
        elif channel.platform != "tryton":
            raise CommandError(f"{account.code} has a channel {name} that is not a Tryton channel.")
        elif channel.credentials != credentials:
            channel = services.update_channel(None, channel, {}, credentials=credentials)
            self.stdout.write(f"Channel {name}: credentials updated.")
        return channel

    def _map(self, channel: Channel, location: str, code: str) -> None:
        warehouse = channel.account.warehouses.filter(code=code, is_active=True).first()
        if warehouse is None:
            raise CommandError(f"{channel.account.code} has no active warehouse {code}.")
        if channel.warehouse_mappings.filter(location=location, warehouse=warehouse).exists():
            return
        services.add_mapping(None, channel, location, warehouse.pk)
        self.stdout.write(f"Tryton warehouse {location} ↔ {code}.")
        others = (
            WarehouseMapping.objects.filter(
                warehouse=warehouse, channel__kind=ChannelKind.FULFILLMENT, channel__is_active=True
            )
            .exclude(channel=channel)
            .select_related("channel")
        )
        for mapping in others:
            services.set_channel_active(None, mapping.channel, False)
            self.stdout.write(f"Channel {mapping.channel.name} turned off: Tryton now fulfills {code}.")

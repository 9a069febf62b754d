"""Add the Medusa store that `make medusa` runs to the demo account ACME-US as a sales
channel: its credentials, its two stock locations mapped to the account's warehouses, the
jobs that bring its orders in and send tracking back, and our plugin's webhooks aimed at
the channel. By default the channel is of the beta platform, in Webhook mode, so that an
order shows a minute after it is placed. Running it again changes nothing but the
webhook target."""

import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from accounts.models import Account
from automations.models import Mode
from automations.selectors import stable_job_rows
from automations.services import save_channel_automation, save_recurring_jobs
from channels import services
from channels.models import Channel
from channels.platforms import JobType, Stability

CHANNEL_NAME = "Acme Medusa Store"
# The peer's stock locations (peers/medusa/src/scripts/seed-techoms.ts) → ACME-US warehouses.
LOCATION_WAREHOUSES = {"Newark DC": "NJ", "Reno DC": "RENO"}
# Orders in, tracking out: what the README's walk-through shows.
JOBS = (JobType.IMPORT_ORDERS, JobType.EXPORT_TRACKING)
PERIOD_MINUTES = 5
# Webhook mode: Import Orders a minute after an event, and every hour in case one was
# lost; Export Tracking has no Medusa event (the shipment happens here), so its emergency
# period is what sends tracking, every 15 minutes.
WEBHOOK_JOBS = {
    JobType.IMPORT_ORDERS: {"enabled": True, "webhook_delay_minutes": 1, "emergency_period_minutes": 60},
    JobType.EXPORT_TRACKING: {"enabled": True, "webhook_delay_minutes": None, "emergency_period_minutes": 15},
}


class Command(BaseCommand):
    help = "Add the Medusa peer of `make medusa` to the demo account ACME-US as a sales channel."

    def add_arguments(self, parser):
        parser.add_argument(
            "--peer",
            default=str(Path(settings.BASE_DIR) / "var" / "medusa.json"),
            help="The file `make medusa` wrote (default: %(default)s)",
        )
        parser.add_argument("--account", default="ACME-US", help="The account's code (default: %(default)s)")
        parser.add_argument(
            "--platform",
            choices=("medusa_beta", "medusa"),
            default="medusa_beta",
            help="medusa_beta: Webhook mode; medusa: the account's Recurring Jobs (default: %(default)s)",
        )

    def handle(self, *args, **options):
        peer = self._read_peer(Path(options["peer"]))
        account = Account.objects.filter(code=options["account"]).first()
        if account is None:
            raise CommandError(f"No account {options['account']}: run `manage.py seed_demo` first.")
        try:
            channel = self._channel(account, peer, options["platform"])
        except ValidationError as exc:
            raise CommandError(f"The channel was not added: {exc.message_dict}") from exc
        reached, message = services.test_connection(None, channel)
        self.stdout.write(("Test connection: " if reached else "Test connection FAILED: ") + message)
        self._aim_webhooks(channel, Path(peer["webhook_config"]))
        self.stdout.write(
            self.style.SUCCESS(
                f"Channel {channel.name} (Medusa at {peer['base_url']}) is ready at {account.code}. "
                "Place an order in Medusa; it shows under Orders after the next Import Orders run."
            )
        )

    def _read_peer(self, path: Path) -> dict:
        try:
            peer = json.loads(path.read_text())
        except FileNotFoundError:
            raise CommandError(f"{path} is missing: start the store with `make medusa` first.") from None
        except ValueError as exc:
            raise CommandError(f"{path} is not JSON ({exc}): start `make medusa` again.") from None
        missing = {"base_url", "api_key", "stock_locations", "webhook_config"} - set(peer)
        if missing:
            raise CommandError(f"{path} lacks {', '.join(sorted(missing))}: start `make medusa` again.")
        return peer

    @transaction.atomic
    def _channel(self, account: Account, peer: dict, platform: str) -> Channel:
        channel = Channel.objects.filter(account=account, name=CHANNEL_NAME).first()
        if channel is not None:
            self.stdout.write(f"Channel {CHANNEL_NAME} exists at {account.code}: kept as it is.")
            return channel
        channel = services.create_channel(
            None,
            account,
            kind="sales",
            name=CHANNEL_NAME,
            platform=platform,
            credentials={"base_url": peer["base_url"], "api_key": peer["api_key"]},
        )
        for location, code in LOCATION_WAREHOUSES.items():
            warehouse = account.warehouses.get(code=code)
            # Warehouse Mappings name Medusa stock locations by id.
            services.add_mapping(None, channel, peer["stock_locations"][location], warehouse.pk)
            self.stdout.write(f"Mapped Medusa stock location {location} to warehouse {warehouse.name}")
        self._schedule(channel)
        return channel

    def _schedule(self, channel: Channel) -> None:
        """A beta platform's channel gets Webhook mode; a stable one follows the account's
        Recurring Jobs, whose jobs are only switched on here, never changed when a person
        already set them."""
        if channel.platform_info.stability == Stability.BETA:
            save_channel_automation(None, channel, Mode.WEBHOOK, WEBHOOK_JOBS, None)
            self.stdout.write(
                "Webhook mode: Import Orders a minute after Medusa's event, Export Tracking every 15 minutes"
            )
            return
        rows = {row.job_type: row for row in stable_job_rows(channel.account)}
        off = [jt for jt in JOBS if jt in rows and not rows[jt].setting.enabled]
        if off:
            job = {"enabled": True, "period_minutes": PERIOD_MINUTES, "delay_minutes": None}
            save_recurring_jobs(None, channel.account, dict.fromkeys(off, job), None)
            labels = " and ".join(JobType(jt).label for jt in off)
            self.stdout.write(f"Recurring Jobs: {labels} switched on, every {PERIOD_MINUTES} minutes")

    def _aim_webhooks(self, channel: Channel, config: Path) -> None:
        """What a merchant pastes into the plugin's settings, written where the peer's
        plugin reads it at each delivery."""
        url = settings.PORTAL_URL.rstrip("/") + reverse("channel_webhook", args=[channel.webhook_token])
        config.parent.mkdir(parents=True, exist_ok=True)
        partial = config.with_suffix(".tmp")
        partial.write_text(json.dumps({"url": url, "secret": channel.webhook_secret}))
        partial.replace(config)
        self.stdout.write(f"Medusa's webhooks now go to {url}")

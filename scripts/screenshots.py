"""Screenshots of the portal's main pages with the demo data, for the README.

    .venv/bin/python scripts/screenshots.py [output folder, default docs/screenshots]

Self-contained: a throwaway SQLite database and sandbox in a temporary folder, the demo
data (`seed_demo`), a few jobs run so the pages have something to show (orders placed in
the sandbox marketplace imported and sent to the 3PL, stock imported), the portal served
in this process, and Debian's Chromium signed in as the demo Account Administrator.
Nothing outside the temporary folder and the output folder is touched.
"""

import os
import socket
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(tempfile.mkdtemp(prefix="techoms-screens-"))
# Before Django reads its settings: a development run on a database of its own.
os.environ.update(DEBUG="1", OMS_VAR_DIR=str(VAR), DJANGO_SETTINGS_MODULE="oms.settings")
for name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(name, None)
sys.path.insert(0, str(ROOT))

from demo.sandbox.server import start_in_thread  # noqa: E402 - after the environment
from demo.sandbox.store import SandboxStore  # noqa: E402

SANDBOX = start_in_thread(SandboxStore(), synchronous_webhooks=True)
os.environ["SANDBOX_URL"] = f"http://127.0.0.1:{SANDBOX.server_address[1]}"

import django  # noqa: E402

django.setup()

from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from accounts.models import Account, User  # noqa: E402
from automations import progress, services, workflows  # noqa: E402
from automations.jobs.runner import run_job  # noqa: E402
from automations.models import JobRun, ProgressKind, Trigger  # noqa: E402
from channels.models import Channel  # noqa: E402
from channels.platforms import JobType  # noqa: E402
from demo import data  # noqa: E402
from demo.management.commands.seed_demo import DEMO_PASSWORD  # noqa: E402
from oms.celery import app as celery_app  # noqa: E402
from orders.models import SalesOrder  # noqa: E402
from orders.workflow import Actor  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PERSON = "admin@acme-us.test"
VIEWPORT = {"width": 1440, "height": 900}
# Demo customers' orders; the last asks more than the stock, so the workflow holds it.
ORDERS = [
    ("Ann Lee", "Newark", [("TSHIRT-BLK-M", 2)]),
    ("Bo Chen", "Trenton", [("MUG-12OZ", 1), ("TSHIRT-WHT-M", 1)]),
    ("Cy Diaz", "Princeton", [("CAP-NAVY", 3)]),
    ("Dee Ray", "Camden", [("MUG-12OZ", 500)]),
]


# The account's recurring jobs, so that the schedule has something to show.
RECURRING = {
    JobType.IMPORT_ORDERS: {"enabled": True, "period_minutes": 15, "delay_minutes": None},
    JobType.EXPORT_INVENTORY: {"enabled": True, "period_minutes": 60, "delay_minutes": None},
    JobType.IMPORT_INVENTORY: {"enabled": True, "period_minutes": 240, "delay_minutes": None},
    JobType.RECEIVE_SHIPMENTS: {"enabled": True, "period_minutes": 30, "delay_minutes": None},
}


def activity(account: Account) -> dict:
    """Orders placed in the sandbox marketplace, imported and sent to the 3PL by the
    Automatic Sales Order Workflow; the 3PL's stock imported; the held order processed
    again by the demo person (held again). What the pages then watch: {name: query}."""
    celery_app.conf.task_always_eager = True  # the workflow's tasks run here
    Account.objects.filter(pk=account.pk).update(auto_sales_order_workflow=True)
    marketplace = Channel.objects.get(account=account, platform="sandbox_marketplace")
    threepl = Channel.objects.get(account=account, platform="sandbox_3pl")
    store = SANDBOX.store
    shop = store.shop(next(d.shop for d in data.CHANNELS if d.name == marketplace.name))
    for name, city, lines in ORDERS:
        store.create_order(
            shop,
            {
                "customer": {"name": name, "email": f"{name.split()[0].lower()}@example.com"},
                "shipping_address": {
                    "address1": "1 Main St",
                    "city": city,
                    "postal_code": "07102",
                    "country": "US",
                },
                "shipping": {"carrier": "UPS", "service": "03"},
                "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            },
        )
    person = User.objects.get(email=PERSON)
    services.save_recurring_jobs(person, account, RECURRING, services.recurring_jobs_version(account))
    runs = {}
    for channel, job_type in ((marketplace, JobType.IMPORT_ORDERS), (threepl, JobType.IMPORT_INVENTORY)):
        run = JobRun.objects.create(
            account=account, channel=channel, job_type=job_type, trigger=Trigger.MANUAL, requested_by=person
        )
        runs[job_type] = run_job(run)
    held = list(SalesOrder.objects.filter(account=account, status="on_hold").values_list("pk", flat=True))
    watched = progress.start(account, ProgressKind.SALES_ORDERS, len(held))
    workflows.process_sales_orders(account, held, Actor(person.email, person), watched.pk)
    return {
        "channel": f"?run={runs[JobType.IMPORT_ORDERS].pk}#sync",
        "sales-orders": f"?progress={watched.token}",
    }


def serve() -> str:
    """The portal on a free port, in a thread of this process; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def shoot(base: str, out: Path, account: Account, queries: dict) -> list[Path]:
    from playwright.sync_api import sync_playwright

    marketplace = Channel.objects.get(account=account, platform="sandbox_marketplace")
    pages = [
        ("account", "/account/main/"),
        ("channel", f"/channels/{marketplace.pk}/"),
        ("sales-orders", "/sales-orders/"),
        ("job-runs", "/job-runs/"),
        ("schedule", "/schedule/"),
    ]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(base_url=base, viewport=VIEWPORT)
        page.goto("/login/")
        page.fill("#id_username", PERSON)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        for name, url in pages:
            if page.goto(url + queries.get(name, "")).status != 200:
                print(f"skipped {url}: not a page of this portal", file=sys.stderr)
                continue
            # A page watching finished work shows its outcome after the first poll.
            page.wait_for_selector(
                "[data-progress-url]:not([hidden]):not([data-finished=true])", state="detached"
            )
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            written.append(path)
        browser.close()
    return written


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    call_command("migrate", verbosity=0)
    data.seed_sandbox(SANDBOX.store)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - closed at exit
    call_command("sync_schedules", verbosity=0)
    account = Account.objects.get(code="ACME-US")
    queries = activity(account)
    for path in shoot(serve(), out, account, queries):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()

"""Run the sandbox marketplace/3PL simulator: `manage.py run_sandbox [--port N]`."""

import signal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.data import seed_sandbox
from demo.sandbox.server import SandboxServer
from demo.sandbox.store import SandboxStore


class Command(BaseCommand):
    help = "Serve the sandbox marketplace/3PL simulator (its own JSON store), seeding the demo shops."

    def add_arguments(self, parser):
        default = urlsplit(settings.SANDBOX_URL)
        parser.add_argument("--host", default=default.hostname or "127.0.0.1")
        parser.add_argument("--port", type=int, default=default.port or 8765)
        parser.add_argument("--store", default=str(settings.SANDBOX_STORE), help="Path of the JSON store.")
        parser.add_argument("--no-seed", action="store_true", help="Do not create the demo shops.")

    def handle(self, *args, host, port, store, no_seed, **options):
        sandbox_store = SandboxStore(store)
        if not no_seed:
            for code in seed_sandbox(sandbox_store):
                self.stdout.write(f"Sandbox shop {code} created.")
        server = SandboxServer((host, port), sandbox_store)

        def stop(*_):
            raise KeyboardInterrupt

        # The launcher stops its children with SIGTERM: leave as cleanly as on Ctrl-C.
        signal.signal(signal.SIGTERM, stop)
        try:
            # Inside the try: a SIGTERM right after this line (the launcher stopping
            # because another process failed to start) must also end cleanly.
            self.stdout.write(f"Sandbox on {server.url}/ (store {store}). Ctrl-C stops it.")
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

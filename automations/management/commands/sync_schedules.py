"""Recompute every schedule row from configuration; report drift (--check: exit 1 on it)."""

import time

from django.core.management.base import BaseCommand, CommandError

from automations.reconciler import reconcile_all


class Command(BaseCommand):
    help = "Derive the schedule table from the automation configuration and report drift."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Report drift without fixing it; exit 1 on drift."
        )

    def handle(self, *args, check=False, **options):
        started = time.perf_counter()
        drift = reconcile_all(apply=not check)
        for line in drift:
            self.stdout.write(line)
        elapsed = time.perf_counter() - started
        verb = "found" if check else "fixed"
        self.stdout.write(f"{len(drift)} drifted schedule rows {verb} in {elapsed:.1f} s.")
        if check and drift:
            raise CommandError("The schedule has drifted from the configuration.")

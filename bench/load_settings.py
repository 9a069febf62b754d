"""Settings of the load benchmark's server (bench/load.py): the portal's own, with the
benchmark's URLconf (the portal's routes plus the floor view) and the collected static
files in a directory of the benchmark's choosing."""

import os
from pathlib import Path

from oms.settings import *  # noqa: F403
from oms.settings import STATIC_ROOT

ROOT_URLCONF = "bench.load_urls"
# With DEBUG off the pages need the manifest of collected static files; the benchmark
# collects them outside the checkout.
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT") or STATIC_ROOT)

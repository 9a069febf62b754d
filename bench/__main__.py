"""Run every benchmark in turn: `python -m bench` (or `make bench`). Each runs in a
process of its own: a benchmark configures Django for its own database, which a process
can do once."""

import subprocess
import sys

BENCHMARKS = [
    "bench.api_auth",
    "bench.scheduler",
    "bench.pii",
    "bench.push",
    "bench.load",
    "bench.tryton",
    "bench.medusa",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        if subprocess.call([sys.executable, "-m", name]) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

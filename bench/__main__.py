"""Run every benchmark in turn: `python -m bench` (or `make bench`)."""

import importlib

BENCHMARKS = ["bench.api_auth", "bench.scheduler", "bench.pii", "bench.push", "bench.load"]


def main() -> None:
    for name in BENCHMARKS:
        print(f"== {name}")
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()

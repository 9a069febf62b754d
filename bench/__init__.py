"""Benchmarks run by `python -m bench` (make bench); not part of the test suite."""

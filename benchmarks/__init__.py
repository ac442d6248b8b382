"""Benchmarks for Keypool (run them as modules, e.g. ``python -m benchmarks.failover``)."""

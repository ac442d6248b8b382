"""Hypothesis profiles: the default one, and "mutation" for mutmut (docs/mutation.md).

Under mutmut every mutant reruns the tests that cover it: no deadline (a
slow mutant is not a killed one), derandomized examples (a survivor is the
same one on every run), and no executor check (mutmut calls a class's test
methods from its own harness, which that check takes for a correctness bug).
"""
from hypothesis import HealthCheck, settings

settings.register_profile(
    "mutation", deadline=None, derandomize=True, max_examples=60, database=None,
    suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow])

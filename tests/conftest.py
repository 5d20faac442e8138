"""Shared test configuration: hypothesis profiles, chosen with ``--hypothesis-profile=NAME``."""

from hypothesis import settings

# CI: the same examples on every run, and no per-example deadline on a slow runner.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
# Local exploration: many more examples.
settings.register_profile("dev", max_examples=1000)

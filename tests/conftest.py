"""Shared test configuration: hypothesis profiles.

The profile comes from ``--hypothesis-profile=NAME``, else from the
``HYPOTHESIS_PROFILE`` environment variable, else ``ci`` when ``CI`` is set
(hypothesis' own default profile otherwise).
"""

import os

from hypothesis import settings

# CI: the same examples on every run, and no per-example deadline on a slow runner.
# (The rsync differential test raises its own count to 500 under this profile.)
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
# Local exploration: many more examples.
settings.register_profile("dev", max_examples=1000)

_profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
if _profile:
    settings.load_profile(_profile)


def pytest_configure(config: "object") -> None:
    # Warnings are errors (pyproject.toml), but when a hypothesis test fails its pytest
    # plugin imports libcst for the explicit-example patch, which trips mypy_extensions'
    # own DeprecationWarning and turns a readable failure into an INTERNALERROR.
    config.addinivalue_line(  # type: ignore[attr-defined]
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )


def pytest_sessionfinish(session: "object", exitstatus: int) -> None:
    """In CI (``CI`` set) a skipped test fails the run: every component the tests need is installed
    there (scripts/test.sh), so a skip would only hide a missing one."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")  # type: ignore[attr-defined]
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and exitstatus == 0:
        reporter.write_line("")
        reporter.write_line(f"nassim CI: {len(skipped)} test(s) skipped; in CI that is a failure", red=True)
        session.exitstatus = 1  # type: ignore[attr-defined]

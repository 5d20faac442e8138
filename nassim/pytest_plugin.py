"""The pytest plugin: run your own scenario tests on any backend, and get failures that explain themselves.

Registered through the ``pytest11`` entry point, so installing nassim is enough.

Options:

- ``--nassim-backend=NAME``: where :func:`nassim_run` runs scenarios (``sim``,
  the built-in simulator, by default; ``local``; ``minikube``, a live test
  bed through kubectl, with ``--nassim-kubectl``, ``--nassim-context`` and
  ``--nassim-windows-root`` for its options);
- ``--nassim-seed=N``: run every scenario with seed ``N`` (replay a failure
  with another seed, or pin one).

Fixtures (session-scoped, so hypothesis' ``@given`` tests can use them):

- ``nassim_backend``: the backend's name;
- ``nassim_seed``: the ``--nassim-seed`` value, or None;
- ``nassim_run``: ``nassim_run(scenario, latency_bound=None)`` runs the
  scenario and returns a :class:`NassimResult` (trace, verdicts, findings).
  ``result.assert_valid("loop-freedom")`` raises an AssertionError that
  prints the seed, a one-line replay command, the scenario as YAML and the
  failing verdicts' witness lines.

Hypothesis profiles ``nassim-ci`` (derandomized, 25 examples, no deadline)
and ``nassim-dev`` (500 examples) are registered for ``--hypothesis-profile``.

Each scenario run is written to ``<pytest basetemp>/nassim-replay/<name>-<digest>.yaml``
(the path is in the failure message), so ``nassim run`` can replay it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

if TYPE_CHECKING:
    from nassim.backends.base import Backend
    from nassim.checks import Verdict
    from nassim.finding import Finding
    from nassim.scenario import Scenario
    from nassim.trace import Trace

__all__ = ["NassimResult", "NassimRunner"]

try:
    from hypothesis import settings as _settings
except ImportError:  # pragma: no cover - hypothesis is a test extra; the fixtures work without it
    pass
else:
    # Registered at import (entry-point plugins load before any pytest_configure), so
    # --hypothesis-profile=nassim-ci finds them.
    _settings.register_profile("nassim-ci", derandomize=True, max_examples=25, deadline=None, print_blob=True)
    _settings.register_profile("nassim-dev", max_examples=500, deadline=None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nassim", "nassim: the simulated multi-NAS test bed")
    group.addoption(
        "--nassim-backend",
        default="sim",
        metavar="NAME",
        help="where nassim_run runs scenarios: sim (the simulator, default), local (real rsync here), "
        "minikube (your live test bed, through kubectl)",
    )
    group.addoption(
        "--nassim-kubectl", default=None, metavar="PATH", help="minikube: the kubectl to run (default: kubectl)"
    )
    group.addoption(
        "--nassim-context", default=None, metavar="NAME", help="minikube: the kube context (default: the current one)"
    )
    group.addoption(
        "--nassim-windows-root",
        default=None,
        metavar="DIR",
        help="minikube: the host folder with one Windows folder per server (C:\\simulator-data); "
        "default: read the Windows side through each sidecar's /windows-mount",
    )
    group.addoption(
        "--nassim-seed",
        type=int,
        default=None,
        metavar="N",
        help="run every scenario with this seed instead of its own",
    )


def pytest_configure(config: pytest.Config) -> None:
    from nassim.backends.base import BACKENDS, PLANNED

    backend = config.getoption("nassim_backend")
    if backend not in BACKENDS:
        why = "is not available yet" if backend in PLANNED else "is not a backend"
        raise pytest.UsageError(f"--nassim-backend: {backend!r} {why} (valid: {', '.join(BACKENDS)})")


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("nassim_seed")
    return f"nassim: backend {config.getoption('nassim_backend')}" + (f", seed {seed}" if seed is not None else "")


# ---------------------------------------------------------------------------
# The result of one run


@attrs.frozen
class NassimResult:
    """One scenario run: the scenario as run (seed included), its trace, the verdicts of
    :func:`nassim.check_invariants` and the findings; ``replay_file`` holds the scenario as YAML."""

    scenario: Scenario
    trace: Trace
    verdicts: tuple[Verdict, ...]
    findings: tuple[Finding, ...]
    backend: str
    replay_file: Path

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def replay_command(self) -> str:
        """``nassim run <file> --seed N``: one line that runs the same scenario again."""
        backend = f" --backend {self.backend}" if self.backend != "sim" else ""
        return f"nassim run {self.replay_file} --seed {self.seed}{backend}"

    def verdict(self, name: str) -> Verdict:
        """The verdict of the check ``name`` (``latency-bound``, ``loop-freedom``, ``convergence``, ``no-loss``)."""
        for v in self.verdicts:
            if v.name == name:
                return v
        from nassim.errors import ArgumentError

        raise ArgumentError(f"no check named {name!r} (checks: {', '.join(v.name for v in self.verdicts)})")

    def finding_names(self) -> list[str]:
        return sorted({f.name for f in self.findings})

    def explain(self, verdicts: Sequence[Verdict] | None = None) -> str:
        """The seed, the replay command, the scenario as YAML, and each verdict with its witness."""
        from nassim.scenario import dump_scenario

        shown = self.verdicts if verdicts is None else verdicts
        yaml_text = dump_scenario(self.scenario).rstrip("\n")
        lines = [
            f"seed: {self.seed}",
            f"replay: {self.replay_command}",
            f"scenario ({self.replay_file}):",
            *(f"    {line}" for line in yaml_text.splitlines()),
            *(v.explain() for v in shown),
        ]
        if self.findings:
            lines.append("findings: " + ", ".join(self.finding_names()))
        return "\n".join(lines)

    def assert_valid(self, *names: str, allow_unknown: bool = False) -> None:
        """Raise an AssertionError that explains itself unless each named check (every
        check when none is named) is valid, or, with ``allow_unknown``, not invalid."""
        self._assert(names, ("valid", "unknown") if allow_unknown else ("valid",))

    def assert_invalid(self, *names: str) -> None:
        """Raise an AssertionError that explains itself unless each named check is invalid."""
        if not names:
            from nassim.errors import ArgumentError

            raise ArgumentError("assert_invalid() needs at least one check name, e.g. assert_invalid('loop-freedom')")
        self._assert(names, ("invalid",))

    def _assert(self, names: Sequence[str], wanted: Sequence[str]) -> None:
        chosen = [self.verdict(n) for n in names] if names else list(self.verdicts)
        bad = [v for v in chosen if v.status not in wanted]
        if not bad:
            return
        want = " or ".join(s.upper() for s in wanted)
        head = ", ".join(f"{v.name} {v.status.upper()}" for v in bad)
        raise AssertionError(f"nassim: {head} (expected {want}) on backend {self.backend}\n{self.explain(bad)}")


# ---------------------------------------------------------------------------
# Backends and the runner


@attrs.frozen
class NassimRunner:
    """What the ``nassim_run`` fixture is: call it with a scenario."""

    backend: str
    seed: int | None
    replay_dir: Path
    options: dict[str, Any] = attrs.field(factory=dict)  # the backend's options (minikube: kubectl, context, ...)

    def __call__(self, scenario: Scenario, *, latency_bound: float | None = None) -> NassimResult:
        from nassim.checks import check_invariants
        from nassim.findings import find_findings
        from nassim.scenario import Scenario

        if not isinstance(scenario, Scenario):
            from nassim.errors import ArgumentError

            raise ArgumentError(
                f"nassim_run() takes a Scenario (got {type(scenario).__name__}); "
                "load one with nassim.load_scenario(path) or nassim.scenario_from_dict(data)"
            )
        if self.seed is not None:
            scenario = attrs.evolve(scenario, seed=self.seed)
        path = self._write(scenario)
        trace = self._backend().run(scenario)
        verdicts = tuple(check_invariants(trace, latency_bound=latency_bound))
        result = NassimResult(scenario, trace, verdicts, tuple(find_findings(trace)), self.backend, path)
        _note(f"nassim: seed {result.seed}; replay: {result.replay_command}")
        return result

    def _backend(self) -> Backend:
        from nassim.backends.base import get_backend

        return get_backend(self.backend, **self.options)

    def _write(self, scenario: Scenario) -> Path:
        """The scenario as YAML ``nassim run`` accepts, named by its content (a rerun overwrites it)."""
        from nassim.scenario import dump_scenario

        text = dump_scenario(_portable(scenario))
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in scenario.name)[:60] or "scenario"
        self.replay_dir.mkdir(parents=True, exist_ok=True)
        path = self.replay_dir / f"{safe}-{digest}.yaml"
        path.write_text(text, encoding="utf-8")
        return path


def _portable(s: Scenario) -> Scenario:
    """Values and manifests paths made absolute: the replay file lives elsewhere than the scenario did."""
    spec = s.topology
    base = Path(s.base_dir)
    changes: dict[str, Any] = {}
    for field in ("values", "manifests"):
        p = getattr(spec, field)
        if p is not None and not os.path.isabs(p):
            changes[field] = str((base / p).resolve())
    return attrs.evolve(s, topology=attrs.evolve(spec, **changes)) if changes else s


def _note(text: str) -> None:
    """Add a line to hypothesis' report of the falsifying example (a no-op outside a hypothesis test)."""
    try:
        from hypothesis import currently_in_test_context, note
    except ImportError:  # pragma: no cover
        return
    if currently_in_test_context():
        note(text)


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def nassim_backend(pytestconfig: pytest.Config) -> str:
    """The backend ``--nassim-backend`` chose (``sim`` by default)."""
    return str(pytestconfig.getoption("nassim_backend"))


@pytest.fixture(scope="session")
def nassim_seed(pytestconfig: pytest.Config) -> int | None:
    """The ``--nassim-seed`` value, or None (each scenario keeps its own seed)."""
    seed = pytestconfig.getoption("nassim_seed")
    return None if seed is None else int(seed)


@pytest.fixture(scope="session")
def nassim_run(
    nassim_backend: str, nassim_seed: int | None, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[NassimRunner]:
    """``nassim_run(scenario)`` runs a scenario on the chosen backend and returns a :class:`NassimResult`."""
    options: dict[str, Any] = {}
    if nassim_backend == "minikube":
        for flag, key in (("nassim_kubectl", "kubectl"), ("nassim_context", "context"),
                          ("nassim_windows_root", "windows_root")):
            value = pytestconfig.getoption(flag)
            if value is not None:
                options[key] = value
    yield NassimRunner(nassim_backend, nassim_seed, tmp_path_factory.getbasetemp() / "nassim-replay", options)

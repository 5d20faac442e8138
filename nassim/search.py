"""Searches over scenarios: the tree size at which the live 60 s check starts to fail.

The sidecar's loop has period ``interval + R``, and every run pays a stat per
entry of the export on both sides (reference notes §5 "Cost of no-op scans",
§7), so ``R`` grows with the tree. A write that lands just after a run's scan
waits for the rest of that run, the sleep and the whole next run: its latency
is ``interval + 2 R``. Past some tree size that exceeds the probe's bound
(60 s in the team's script) and the check *can* fail, depending only on when
the probe happens to be written.

:func:`tree_size_threshold` finds that size by bisection on
``windows.files``, simulating each candidate. The files start in the Windows
folder; an output server's init container (``rsync -av /windows-mount/
/nfs-data/``) copies them into the export, so the sidecar scans them on every
run. Each candidate's probe is moved to the worst moment, just after a sync
run of its server starts (found by a first simulation of the same scenario),
which makes the judgement monotonic in the tree size: bisection is sound, and
the answer is the worst case, not the luck of one probe time.

Run it on a scenario with one ``nfs-to-windows`` probe::

    python3 -m nassim.search sim/scenarios/hazards/tree-size-above-threshold.yaml
"""

from __future__ import annotations

import attrs

from nassim.cluster import simulate
from nassim.errors import ScenarioError
from nassim.scenario import NfsToWindowsProbe, Scenario
from nassim.trace import ProbeResult, RsyncRun, ServerConfig, Trace

__all__ = ["ProbeStep", "Threshold", "probe_at_worst_phase", "tree_size_threshold", "worst_phase"]

#: How long after a run's start the worst-placed probe is written. The run's file list is
#: decided at its start, so any write after it waits for the next run.
AFTER_RUN_START = 0.01


@attrs.frozen
class ProbeStep:
    """One candidate tried by the search: the tree size, the probe's verdict and latency."""

    files: int
    passed: bool
    at: float  # when the probe was written (just after a sync run started)
    latency: float | None  # None: the probe's file never reached Windows
    detail: str


@attrs.frozen
class Threshold:
    """The result of :func:`tree_size_threshold`.

    ``passes`` is the largest tree size (files already in the Windows folder)
    whose worst-placed probe passed, ``fails`` the smallest that failed;
    ``fails == passes + 1`` once the search has converged. ``steps`` holds
    every candidate in the order tried.
    """

    passes: int
    fails: int
    steps: tuple[ProbeStep, ...]

    def explain(self) -> str:
        lines = [f"the worst-placed probe passes with {self.passes} files and fails with {self.fails}"]
        lines += [
            f"  {s.files:>8} files: {'PASS' if s.passed else 'FAIL'} (probe at t={s.at:.2f}: {s.detail})"
            for s in sorted(self.steps, key=lambda s: s.files)
        ]
        return "\n".join(lines)


def _the_probe(scenario: Scenario) -> NfsToWindowsProbe:
    probes = [p for p in scenario.probes if isinstance(p, NfsToWindowsProbe)]
    if len(probes) != 1:
        raise ScenarioError(
            f"{scenario.name}: probes: the search judges exactly one nfs-to-windows probe (got {len(probes)})"
        )
    return probes[0]


def worst_phase(trace: Trace, server: str, after: float) -> float | None:
    """The start of the first sync run of ``server`` at or after ``after``, if any."""
    syncs = {r.sidecar for r in trace.records if isinstance(r, ServerConfig) and r.server == server}
    starts = [r.t for r in trace.records if isinstance(r, RsyncRun) and r.server == server and r.container in syncs]
    return min((t for t in starts if t >= after), default=None)


def probe_at_worst_phase(scenario: Scenario) -> Scenario:
    """``scenario`` with its nfs-to-windows probe moved to just after the first sync run of its
    server that starts at or after the probe's ``at``: the write then waits a whole period."""
    probe = _the_probe(scenario)
    quiet = attrs.evolve(scenario, probes=tuple(p for p in scenario.probes if p is not probe))
    t0 = worst_phase(simulate(quiet), probe.server, probe.at)
    if t0 is None:
        raise ScenarioError(
            f"{scenario.name}: no sync run of {probe.server} starts between the probe's at={probe.at:g} and the "
            f"end (duration {scenario.duration:g}); lengthen the duration or move the probe earlier"
        )
    moved = attrs.evolve(probe, at=t0 + AFTER_RUN_START)
    return attrs.evolve(scenario, probes=tuple(moved if p is probe else p for p in scenario.probes))


def _judge(scenario: Scenario, files: int) -> ProbeStep:
    s = probe_at_worst_phase(attrs.evolve(scenario, windows=attrs.evolve(scenario.windows, files=files)))
    probe = _the_probe(s)
    results = [r for r in simulate(s).records if isinstance(r, ProbeResult) and r.probe == probe.type]
    (result,) = results
    if result.value is None and s.duration - probe.at < probe.within:
        raise ScenarioError(
            f"{scenario.name}: with windows.files={files} the probe written at t={probe.at:.2f} was not on Windows "
            f"when the run ended at {s.duration:g}, less than its {probe.within:g} s bound later; lengthen the "
            "duration"
        )
    return ProbeStep(files, result.passed, probe.at, result.value, result.detail)


def tree_size_threshold(scenario: Scenario, *, lo: int = 0, hi: int = 1 << 16) -> Threshold:
    """The tree size (``windows.files``) above which ``scenario``'s NFS -> Windows probe,
    placed at its worst moment, misses its bound: bisection between ``lo`` (must pass)
    and ``hi`` (must fail), one or two simulations per candidate."""
    if not 0 <= lo < hi:
        raise ValueError(f"need 0 <= lo < hi (got lo={lo}, hi={hi})")
    steps: list[ProbeStep] = []

    def judge(n: int) -> bool:
        step = _judge(scenario, n)
        steps.append(step)
        return step.passed

    if not judge(lo):
        raise ScenarioError(
            f"{scenario.name}: the probe already fails with windows.files={lo} ({steps[-1].detail}); "
            "nothing to search: lower lo or loosen the probe's bound"
        )
    if judge(hi):
        raise ScenarioError(
            f"{scenario.name}: the probe still passes with windows.files={hi} ({steps[-1].detail}); raise hi"
        )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if judge(mid):
            lo = mid
        else:
            hi = mid
    return Threshold(lo, hi, tuple(steps))


def main(argv: list[str] | None = None) -> None:
    """``python3 -m nassim.search SCENARIO [LO HI]``: print the threshold and each step."""
    import sys

    from nassim.scenario import load_scenario

    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 3):
        print("usage: python3 -m nassim.search SCENARIO [LO HI]", file=sys.stderr)
        raise SystemExit(2)
    bounds = {"lo": int(args[1]), "hi": int(args[2])} if len(args) == 3 else {}
    try:
        found = tree_size_threshold(load_scenario(args[0]), **bounds)
    except ScenarioError as exc:
        print(f"nassim: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(found.explain())


if __name__ == "__main__":
    main()

"""One scenario on two backends, side by side: does the model agree with reality?

:func:`compare` runs a scenario on two backends (``sim`` and ``local`` by
default) and puts what the same pure functions say about each trace next to
each other:

- **latency** (NFS close -> on Windows, :func:`nassim.metrics.write_fates`):
  count, p50, p90, p99, max, and the difference of each (second minus first);
- a **two-sample Kolmogorov-Smirnov test** between the two latency samples
  (:func:`ks_2samp`, pure Python): ``D``, the largest gap between the two
  empirical distribution functions, and its asymptotic p-value;
- the **verdicts**: the live test bed's checks (the probes: PASS/FAIL), the
  invariants (:func:`nassim.checks.check_invariants`: valid/invalid/unknown)
  and the findings (by name, with counts).

Which differences matter. The checks are what ``nassim run`` gates on, and
:attr:`Comparison.agree` is whether they (and the overall pass) agree: a
disagreement there means the two backends would give the team different
answers. Invariant and finding differences are shown and marked but do not
make the backends "disagree": several invariants say ``unknown`` or
``invalid`` depending on what happens in the last seconds of a run, which on
a wall-clock backend is scheduling noise, and the local backend runs the
``windows`` host preset on a plain local folder (so the Windows host's
re-copies, a loop-freedom finding in the simulator, do not happen there).

**Sim against local.** The local backend is not the world a scenario
describes: its Windows folder is a local directory whatever the host preset
says (no 9p mount: case-sensitive, nanosecond mtimes that rsync can set),
and each rsync run is a real process whose wall time counts ``speed`` times
(at speed 60, rsync's 25 ms of process start-up are 1.5 s of scenario time,
and the sidecar's shell loop adds a few more wall milliseconds a cycle).
Compared with the scenario's own world, the two sides differ by that known
mismatch (seconds of latency) and the comparison says nothing about the
model. So when one side is the simulator and the other the local backend,
:func:`compare` runs the simulator as :class:`LocalModel`: the local
backend's world at its speed, with rsync's costs calibrated on this machine
and the loop's overhead measured on a short run (a few wall seconds), and
says so in its output; ``calibrate=False`` keeps the scenario's world.

The KS p-value treats the latencies as independent draws from continuous
distributions; they are neither (writes closed in the same sidecar cycle
share its end, and a deterministic simulator produces ties). Read it as a
yardstick of how far apart the two samples are, not as a test of significance.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from nassim.backends.base import Backend, get_backend
from nassim.backends.local import LocalBackend
from nassim.backends.sim import SimBackend
from nassim.checks import Verdict
from nassim.cluster import simulate
from nassim.costs import Calibration, CostModel, SyncCosts
from nassim.costs import calibrate as calibrate_rsync
from nassim.errors import ArgumentError
from nassim.metrics import LatencySummary, write_fates
from nassim.report import Check, Report, build_report
from nassim.rsync import RsyncStats
from nassim.scenario import Scenario
from nassim.trace import RsyncRun, Trace, WriteClosed

__all__ = [
    "QUANTILES",
    "Comparison",
    "KSTest",
    "LocalModel",
    "Side",
    "compare",
    "compare_traces",
    "kolmogorov_sf",
    "ks_2samp",
    "ks_statistic",
]

#: The latency figures compared, in the order they are shown.
QUANTILES: tuple[str, ...] = ("count", "p50", "p90", "p99", "max")


# ---------------------------------------------------------------------------
# Two-sample Kolmogorov-Smirnov, without scipy


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """``D = max |F_a(x) - F_b(x)|`` over the pooled sample (``F``: the empirical CDFs).

    Ties, within a sample or across the two, are handled exactly (both CDFs
    step past every copy of a value before they are compared), and the
    arithmetic is on integers until the one division, so identical samples
    give exactly 0.0 and disjoint ones exactly 1.0. NaN when a sample is empty.
    """
    xs, ys = sorted(a), sorted(b)
    n, m = len(xs), len(ys)
    if not n or not m:
        return math.nan
    i = j = 0
    gap = 0  # |i*m - j*n| = n*m * |F_a - F_b|
    while i < n and j < m:  # past the end of either sample the gap only shrinks
        v = min(xs[i], ys[j])
        while i < n and xs[i] <= v:
            i += 1
        while j < m and ys[j] <= v:
            j += 1
        gap = max(gap, abs(i * m - j * n))
    return gap / (n * m)


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the limit of ``sqrt(n) * D``).

    Two series, each used where it converges in a few terms:
    ``1 - sqrt(2 pi)/x * sum exp(-(2k-1)^2 pi^2 / (8 x^2))`` below 1.18 and
    ``2 * sum (-1)^(k-1) exp(-2 k^2 x^2)`` above.
    """
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    total = 0.0
    if x < 1.18:
        for k in range(1, 50):
            term = math.exp(-((2 * k - 1) ** 2) * math.pi**2 / (8 * x * x))
            total += term
            if term < 1e-17:
                break
        p = 1.0 - math.sqrt(2 * math.pi) / x * total
    else:
        for k in range(1, 50):
            term = math.exp(-2 * k * k * x * x)
            total += term if k % 2 else -term
            if term < 1e-17:
                break
        p = 2.0 * total
    return min(1.0, max(0.0, p))


@attrs.frozen
class KSTest:
    """A two-sample Kolmogorov-Smirnov test: ``statistic`` D, sample sizes, asymptotic ``pvalue``.

    ``pvalue`` is ``Q(sqrt(n1 n2 / (n1 + n2)) * D)`` (:func:`kolmogorov_sf`),
    the classical limiting distribution (Smirnov), accurate for samples of some
    tens or more; NaN (both) when a sample is empty. (scipy's current
    ``ks_2samp(method="asymp")`` uses a finite-n distribution instead and
    gives somewhat smaller p-values for small samples; ``D`` is the same.)
    """

    statistic: float
    pvalue: float
    n1: int
    n2: int

    def to_json(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in attrs.asdict(self).items()}


def ks_2samp(a: Sequence[float], b: Sequence[float]) -> KSTest:
    """The two-sample KS test of ``a`` against ``b`` (two-sided, asymptotic p-value)."""
    d = ks_statistic(a, b)
    n1, n2 = len(a), len(b)
    p = math.nan if math.isnan(d) else kolmogorov_sf(math.sqrt(n1 * n2 / (n1 + n2)) * d)
    return KSTest(statistic=d, pvalue=p, n1=n1, n2=n2)


# ---------------------------------------------------------------------------
# The simulator as a model of the local backend


@attrs.frozen
class LocalModel:
    """The simulator, modelling the local backend at ``speed``: a :class:`~nassim.backends.Backend` (named ``sim``).

    It runs a scenario as the local backend really runs it: the Windows
    folder is a local directory (:meth:`scenario`), and the runs take what
    ``costs`` says (:class:`~nassim.costs.SyncCosts`): a local-disk model of
    the real rsync, times ``speed``, and the sidecar loop's own overhead.
    :meth:`calibrate` measures both on this machine.

    >>> model = LocalModel.calibrate(scenario, speed=60)   # doctest: +SKIP
    >>> compare(scenario, (model, "local"), speed=60)      # doctest: +SKIP
    """

    speed: float
    costs: SyncCosts
    #: The fit of rsync's costs the model was built from (wall seconds, before scaling), if any.
    calibration: Calibration | None = attrs.field(default=None, eq=False, repr=False)
    #: Sidecar cycles the loop overhead was measured over (0: not measured).
    cycles: int = 0

    name = "sim"  # not a field: the Backend protocol's name

    @classmethod
    def calibrate(
        cls,
        scenario: Scenario,
        speed: float = 60.0,
        *,
        rsync: str = "rsync",
        cycles: int = 6,
        calibration: Calibration | None = None,
        local: LocalBackend | None = None,
    ) -> LocalModel:
        """Measure the local backend's world on this machine (a few wall seconds).

        1. rsync's costs: :func:`nassim.costs.calibrate` (or ``calibration``),
           scaled by ``speed``. An init container is rsync itself: it pays the
           whole process (``startup_s``). The simulator starts a sidecar's run
           where rsync lists the source, so the sidecar's model has no start-up:
           the process start before the listing and its exit after the last
           write belong to the loop (step 2).
        2. The loop: ``scenario`` runs for about ``cycles`` sidecar cycles on
           the local backend (``local``, or one with this ``speed`` and
           ``rsync``), with its workloads but another seed, and without faults
           or probes. A cycle lasts ``interval + F``; ``loop_s`` is the mean
           ``F`` less what the model charges for the cycle's run. It holds
           rsync's process start and exit (its parent polls for the receiver's
           exit every 20 ms: ``wait_process_with_flush`` in rsync's main.c),
           the shell's ``date``, ``awk`` and ``sleep``, and the time the
           backend's own threads (writing, polling and reading back files on
           the same cores) take from them: the machine as loaded as it is now,
           by this scenario. Measured idle, the loop comes out ~0.5 s shorter
           at speed 60 on a 2-core machine.
        """
        if local is None:
            local = LocalBackend(speed=speed, rsync=rsync)
        elif local.speed != speed:
            raise ArgumentError(f"LocalModel.calibrate: speed {speed:g} but the local backend runs at {local.speed:g}")
        fit = calibration if calibration is not None else calibrate_rsync(local.rsync)
        wall = fit.model
        sidecar = attrs.evolve(wall.scaled(speed), startup_s=0.0)
        costs = SyncCosts(sidecar=sidecar, init=wall.scaled(speed))
        overheads = _cycle_overheads(scenario, local, cycles, sidecar)
        loop = max(statistics.fmean(overheads), 0.0) if overheads else 0.0
        return cls(speed=float(speed), costs=attrs.evolve(costs, loop_s=loop), calibration=fit, cycles=len(overheads))

    def scenario(self, scenario: Scenario) -> Scenario:
        """``scenario`` with its Windows folder as the local backend has it: a local directory
        (case-sensitive, nanosecond mtimes that can be set, owners kept), whatever its host preset."""
        local_folder = attrs.evolve(
            scenario.windows, host="linux", case_sensitive=True, can_set_times=True, owners="set",
            mtime_resolution=1e-9, stat_ms=None, mb_per_s=None,
        )
        return attrs.evolve(scenario, windows=local_folder)

    def run(self, scenario: Scenario) -> Trace:
        trace = simulate(self.scenario(scenario), costs=self.costs)
        trace.params.update(backend=self.name, models="local", speed=self.speed, loop_s=self.costs.loop_s)
        return trace

    def describe(self) -> str:
        """One line: what the model is and the figures it runs with."""
        parts = [f"sim models the local backend at speed {self.speed:g}: a local-disk Windows folder"]
        if self.calibration is not None:
            m = self.calibration.model
            parts.append(
                f"rsync's costs calibrated on this machine x {self.speed:g} "
                f"({m.startup_s * 1e3:.0f} ms start-up, {m.dst.create_s * 1e6:.0f} us a file)"
            )
        if self.cycles:
            parts.append(f"sidecar loop {self.costs.loop_s:.2f} s a cycle (measured over {self.cycles} cycles)")
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"LocalModel(speed={self.speed:g}, loop_s={self.costs.loop_s:.3g})"


def _cycle_overheads(scenario: Scenario, local: LocalBackend, cycles: int, sidecar: CostModel) -> list[float]:
    """Per sidecar cycle of a short local run of ``scenario`` (its workloads, another seed; no
    faults or probes): the seconds the cycle took beyond its interval and beyond what
    ``sidecar`` (a cost model) charges for what its run did."""
    topo = scenario.load_topology()
    sidecars = {s.name: s.sidecar for s in topo if s.sidecar is not None}
    if not sidecars or cycles < 1:
        return []
    c = scenario.cluster
    # Pods start, pull, run the init copy and start the sidecar in some seconds; then the cycles.
    warmup = c.schedule_delay + c.image_pull + 2 * c.container_start + 10.0
    short = attrs.evolve(
        scenario, seed=scenario.seed + 1, faults=(), probes=(), expect_findings=(),
        duration=warmup + (cycles + 0.5) * max(sc.interval for sc in sidecars.values()),
    )
    trace = local.run(short)
    out: list[float] = []
    for server, sc in sidecars.items():
        runs = [r for r in trace.of(RsyncRun) if r.server == server and r.container == sc.name]
        for a, b in itertools.pairwise(runs):
            did = RsyncStats(scanned=a.scanned, dst_stat=a.scanned, transferred=a.transferred, bytes=a.bytes,
                             deleted=a.deleted)
            modelled = sidecar.seconds(did)
            out.append(b.t - a.t - sc.interval - modelled)
    return out


# ---------------------------------------------------------------------------
# The comparison


@attrs.frozen
class Side:
    """What one backend's run of the scenario gave."""

    label: str  # the backend's name (with the seed when both sides run the same backend)
    backend: str
    seed: int
    report: Report
    latencies: tuple[float, ...]  # one per write that reached Windows, in the order the writes closed
    writes: int  # writes closed on an export (NFS side)

    @property
    def latency(self) -> LatencySummary:
        return self.report.latency

    def figure(self, name: str) -> float:
        """A figure of :data:`QUANTILES` (``count`` as a float)."""
        return float(getattr(self.report.latency, name))

    def to_json(self) -> dict[str, Any]:
        r = self.report
        return {
            "label": self.label,
            "backend": self.backend,
            "seed": self.seed,
            "passed": r.passed,
            "writes": self.writes,
            "latency": r.latency.to_dict(),
            "checks": [attrs.asdict(c) for c in r.checks],
            "invariants": [v.to_json() for v in r.invariants],
            "findings": dict(_finding_counts(r)),
            "records": r.records,
            "trace_digest": r.trace_digest,
        }


@attrs.frozen
class Row:
    """One line of a side-by-side table: a name, the value on each side, whether they agree."""

    name: str
    first: str | None  # None: that side has no such check
    second: str | None

    @property
    def agree(self) -> bool:
        return self.first == self.second

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "first": self.first, "second": self.second, "agree": self.agree}


@attrs.frozen
class Comparison:
    """One scenario on two backends. ``first``/``second`` are the two runs; differences are second - first."""

    scenario: str
    duration: float
    first: Side
    second: Side
    ks: KSTest
    #: What a side models, when it is not the scenario's own world (:class:`LocalModel`), else "".
    note: str = ""

    @property
    def sides(self) -> tuple[Side, Side]:
        return (self.first, self.second)

    def difference(self, name: str) -> float:
        """``second - first`` of a figure of :data:`QUANTILES` (NaN when either side has none)."""
        return self.second.figure(name) - self.first.figure(name)

    @property
    def checks(self) -> tuple[Row, ...]:
        """The live checks (probes), PASS/FAIL on each side, matched by name."""
        return _rows(
            [(c.name, _pass(c)) for c in self.first.report.checks],
            [(c.name, _pass(c)) for c in self.second.report.checks],
        )

    @property
    def invariants(self) -> tuple[Row, ...]:
        """The invariants, valid/invalid/unknown on each side."""
        return _rows(
            [(v.name, _status(v)) for v in self.first.report.invariants],
            [(v.name, _status(v)) for v in self.second.report.invariants],
        )

    @property
    def findings(self) -> tuple[Row, ...]:
        """The findings by name, with how many each side produced ("0" when none)."""
        a, b = _finding_counts(self.first.report), _finding_counts(self.second.report)
        names = list(a) + [n for n in b if n not in a]
        return tuple(Row(n, str(a.get(n, 0)), str(b.get(n, 0))) for n in names)

    @property
    def agree(self) -> bool:
        """The two runs reach the same verdict: every check the same on both sides, and the same overall pass.

        Invariants and findings are compared and shown but do not count here (see the module's notes).
        """
        return all(r.agree for r in self.checks) and self.first.report.passed == self.second.report.passed

    @property
    def same_writes(self) -> bool:
        """Both runs closed the same number of writes (the backends share the workloads' random streams)."""
        return self.first.writes == self.second.writes

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "duration": self.duration,
            "backends": [self.first.label, self.second.label],
            "note": self.note,
            "agree": self.agree,
            "latency": {
                name: {
                    self.first.label: _value(self.first, name),
                    self.second.label: _value(self.second, name),
                    "difference": _plain(self.difference(name)) if name != "count"
                    else self.second.latency.count - self.first.latency.count,
                }
                for name in QUANTILES
            },
            "ks": self.ks.to_json(),
            "checks": [r.to_json() for r in self.checks],
            "invariants": [r.to_json() for r in self.invariants],
            "findings": [r.to_json() for r in self.findings],
            "runs": [s.to_json() for s in self.sides],
        }

    def render(self) -> str:
        """The comparison as a person reads it: latency table, KS line, verdicts side by side."""
        a, b = self.first, self.second
        w = max(12, len(a.label), len(b.label))
        name_w = max([30, *(len(r.name) + 2 for r in (*self.checks, *self.invariants, *self.findings))])

        def line(name: str, x: str, y: str, z: str = "") -> str:
            return f"  {name:<{name_w}}{x:>{w}}  {y:>{w}}  {z}".rstrip()

        out = [f"nassim compare: {self.scenario} ({self.duration:g} s of scenario time), {a.label} vs {b.label}"]
        seeds = f"seed {a.seed}" if a.seed == b.seed else f"seeds {a.seed} and {b.seed}"
        out.append(f"  {seeds}; writes closed on NFS: {a.writes} and {b.writes}")
        if self.note:
            out.append(f"  {self.note}")
        out.append("")
        out.append("Latency, NFS close -> on Windows (s)")
        out.append(line("", a.label, b.label, f"{b.label} - {a.label}" if a.label != b.label else "difference"))
        for name in QUANTILES:
            if name == "count":
                x, y = a.latency.count, b.latency.count
                out.append(line("count (writes on Windows)", str(x), str(y), f"{y - x:+d}"))
            else:
                out.append(line(name, _f(a.figure(name)), _f(b.figure(name)), _f(self.difference(name), sign=True)))
        x, y = a.latency.unsynced, b.latency.unsynced
        out.append(line("not on Windows at the end", str(x), str(y), f"{y - x:+d}"))
        ks = self.ks
        if math.isnan(ks.statistic):
            out.append("  Kolmogorov-Smirnov: n/a (a side has no latencies)")
        else:
            out.append(
                f"  Kolmogorov-Smirnov: D = {ks.statistic:.3f} (n = {ks.n1}, {ks.n2}), "
                f"asymptotic p = {_p(ks.pvalue)}"
            )
        out.append("")
        out.append("Checks")
        out.extend(line(r.name, r.first or "-", r.second or "-", "" if r.agree else "DIFFERS") for r in self.checks)
        n_agree = sum(r.agree for r in self.checks)
        out.append(f"  {n_agree}/{len(self.checks)} checks agree")
        out.append("")
        out.append("Invariants (compared; a difference does not change the exit status)")
        out.extend(
            line(r.name, r.first or "-", r.second or "-", "" if r.agree else "differs") for r in self.invariants
        )
        out.append("")
        if self.findings:
            out.append("Findings (how many)")
            out.extend(line(r.name, r.first or "0", r.second or "0", "" if r.agree else "differs")
                       for r in self.findings)
        else:
            out.append("Findings: none on either side")
        out.append("")
        if self.agree:
            out.append(f"Verdict: {a.label} and {b.label} agree on every check")
        else:
            differ = [r.name for r in self.checks if not r.agree]
            what = ", ".join(differ) if differ else "the overall pass"
            out.append(f"Verdict: {a.label} and {b.label} DISAGREE: {what}")
        return "\n".join(out)


def compare_traces(
    scenario: Scenario,
    traces: Sequence[Trace],
    labels: Sequence[str],
    *,
    latency_bound: float | None = None,
) -> Comparison:
    """The comparison of two traces of ``scenario`` that are already there (``labels``: what ran them)."""
    if len(traces) != 2 or len(labels) != 2:
        raise ArgumentError(f"compare_traces needs exactly two traces and two labels (got {len(traces)})")
    sides = []
    for trace, label in zip(traces, labels):
        report = build_report(
            trace,
            scenario=scenario.name,
            duration=scenario.duration,
            expect_findings=scenario.expect_findings,
            latency_bound=latency_bound,
        )
        lat = tuple(f.latency for f in write_fates(trace) if f.latency is not None)
        writes = sum(1 for r in trace.records if isinstance(r, WriteClosed) and r.side == "nfs")
        backend = str(trace.params.get("backend", label))
        sides.append(Side(label=label, backend=backend, seed=trace.seed, report=report, latencies=lat, writes=writes))
    first, second = sides
    return Comparison(
        scenario=scenario.name,
        duration=scenario.duration,
        first=first,
        second=second,
        ks=ks_2samp(first.latencies, second.latencies),
    )


def compare(
    scenario: Scenario,
    backends: Sequence[str | Backend] = ("sim", "local"),
    *,
    seeds: Sequence[int | None] | None = None,
    speed: float | None = None,
    latency_bound: float | None = None,
    calibrate: bool = True,
) -> Comparison:
    """Run ``scenario`` on two backends, one after the other, and compare what they did.

    ``backends``: two names (:func:`~nassim.backends.get_backend`) or backend
    objects; the same one twice is allowed (two seeds of the simulator).
    ``seeds``: a seed per side (None keeps the scenario's). ``speed``: scenario
    seconds per wall second for the named backends that run in wall time
    (every one but ``sim``; objects keep their own). ``latency_bound`` replaces
    the analytic bound in the latency invariant on both sides.

    ``calibrate``: when one side is the simulator (``"sim"`` or a
    :class:`~nassim.backends.SimBackend`) and the other the local backend,
    the simulator runs as :class:`LocalModel` calibrated on this machine for
    the local backend's speed (a few wall seconds more; see the module's
    notes), and :attr:`Comparison.note` says so. ``False`` keeps the
    scenario's own world on the simulator's side.

    Every name is resolved before anything runs, so a typo fails at once with a
    :class:`~nassim.errors.BackendError`; a backend that cannot run the
    scenario raises its own error.
    """
    if len(backends) != 2:
        raise ArgumentError(f"compare needs exactly two backends (got {len(backends)}: {list(map(_name, backends))})")
    if seeds is not None and len(seeds) != 2:
        raise ArgumentError(f"compare needs one seed per backend (got {len(seeds)})")
    built: list[Backend] = []
    for b in backends:
        if isinstance(b, str):
            options: dict[str, Any] = {"speed": speed} if speed is not None and b == "local" else {}
            built.append(get_backend(b, **options))
        else:
            built.append(b)
    note = ""
    sims = [i for i, b in enumerate(built) if isinstance(b, SimBackend)]
    locals_ = [b for b in built if isinstance(b, LocalBackend)]
    if calibrate and len(sims) == 1 and len(locals_) == 1:
        local = locals_[0]
        model = LocalModel.calibrate(scenario, local.speed, local=local)
        built[sims[0]] = model
        note = model.describe()
    runs = [scenario if seed is None else attrs.evolve(scenario, seed=seed) for seed in (seeds or (None, None))]
    traces = [backend.run(s) for backend, s in zip(built, runs)]
    names = [b.name for b in built]
    labels = list(names)
    if names[0] == names[1]:
        if runs[0].seed != runs[1].seed:
            labels = [f"{n} seed {s.seed}" for n, s in zip(names, runs)]
        else:
            labels = [f"{n} #{k + 1}" for k, n in enumerate(names)]
    c = compare_traces(scenario, traces, labels, latency_bound=latency_bound)
    return attrs.evolve(c, note=note) if note else c


# ---------------------------------------------------------------------------


def _name(b: str | Backend) -> str:
    return b if isinstance(b, str) else b.name


def _pass(c: Check) -> str:
    return "PASS" if c.passed else "FAIL"


def _status(v: Verdict) -> str:
    return v.status.upper()


def _finding_counts(r: Report) -> Counter[str]:
    return Counter(f.name for f in r.findings)


def _rows(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> tuple[Row, ...]:
    """Rows matched by name (the k-th check of a name with the k-th of that name on the other side),
    in the first side's order, then what only the second side has."""

    def keyed(items: list[tuple[str, str]]) -> dict[tuple[str, int], str]:
        seen: Counter[str] = Counter()
        out = {}
        for name, value in items:
            out[(name, seen[name])] = value
            seen[name] += 1
        return out

    def label(key: tuple[str, int]) -> str:
        return key[0] if key[1] == 0 else f"{key[0]} ({key[1] + 1})"

    first, second = keyed(a), keyed(b)
    rows = [Row(label(k), v, second.get(k)) for k, v in first.items()]
    rows += [Row(label(k), None, v) for k, v in second.items() if k not in first]
    return tuple(rows)


def _value(side: Side, name: str) -> Any:
    return side.latency.count if name == "count" else _plain(side.figure(name))


def _plain(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def _f(x: float, *, sign: bool = False) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:+.1f}" if sign else f"{x:.1f}"


def _p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return f"{p:.2g}" if p >= 1e-4 else "< 1e-4"

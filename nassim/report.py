"""The report of one run: the live test bed's checks, invariants, findings, latency, rsync work, a log excerpt.

Built from a trace alone, so a simulated, a local and a live run read the same.

Three kinds of judgement, kept apart on purpose:

- **checks** are the live test bed's own probes (sidecar running, a file
  reaches Windows within 60 s): what the team's script asserts;
- **invariants** (:mod:`nassim.checks`) judge the whole trace: latency bound,
  loop freedom, convergence, no loss; each is valid, invalid (with a witness)
  or unknown;
- **findings** (:mod:`nassim.findings`) name behaviour the real design
  permits: torn copies, resurrection after a restart, the loss window, ...

Whether the run *passed* (and ``nassim run`` exits 0) depends on the checks
and on the findings the scenario expects, not on the invariants: the
reference test bed on a Windows host re-copies every file every run, so
loop freedom is invalid there although every live check passes, and a user
running the team's validation expects the team's verdict. The invariants
are reported beside it, in full. A scenario that lists ``expect_findings``
(a reproduction of a known behaviour) passes only when each listed finding
appears. Callers that want invariants to gate (CI, property tests) read
``Report.invariants`` or call :func:`nassim.checks.check_invariants`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from nassim.checks import TraceIndex, Verdict, check_invariants
from nassim.finding import Finding
from nassim.findings import find_findings
from nassim.metrics import LatencySummary, RunSummary, latency_summary, run_summary
from nassim.trace import LogLine, ProbeResult, Trace

__all__ = ["Check", "Report", "build_report"]


@attrs.frozen
class Check:
    name: str
    passed: bool
    detail: str = ""


@attrs.frozen
class Report:
    scenario: str
    seed: int
    duration: float
    checks: tuple[Check, ...]
    latency: LatencySummary
    rsync: RunSummary
    log_excerpt: tuple[str, ...]
    trace_digest: str
    records: int
    invariants: tuple[Verdict, ...] = ()
    findings: tuple[Finding, ...] = ()
    expect_findings: tuple[str, ...] = ()

    @property
    def missing_findings(self) -> tuple[str, ...]:
        """Findings the scenario expects that the run did not produce."""
        found = {f.name for f in self.findings}
        return tuple(n for n in self.expect_findings if n not in found)

    @property
    def passed(self) -> bool:
        """Every live check passed and every expected finding appeared (invariants do not gate)."""
        return all(c.passed for c in self.checks) and not self.missing_findings

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "duration": self.duration,
            "passed": self.passed,
            "checks": [attrs.asdict(c) for c in self.checks],
            "invariants": [v.to_json() for v in self.invariants],
            "findings": [f.to_json() for f in self.findings],
            "expect_findings": list(self.expect_findings),
            "missing_findings": list(self.missing_findings),
            "latency": self.latency.to_dict(),
            "rsync": self.rsync.to_dict(),
            "log_excerpt": list(self.log_excerpt),
            "trace_digest": self.trace_digest,
            "records": self.records,
        }

    def render(self) -> str:
        """The report as a person reads it in ten seconds."""
        out = [f"nassim: {self.scenario} (seed {self.seed}, {self.duration:g} s simulated, {self.records} records)"]
        out.append("")
        out.append("Checks")
        for c in self.checks:
            detail = f"  ({c.detail})" if c.detail else ""
            out.append(f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}{detail}")
        n_pass = sum(c.passed for c in self.checks)
        out.append(f"  {n_pass}/{len(self.checks)} checks passed")
        if self.invariants:
            out.append("")
            out.append("Invariants (reported; they do not change the exit status)")
            for v in self.invariants:
                out.append(f"  [{v.status.upper()}] {v.name}: {v.reason}")
                out.extend(f"      {w}" for w in v.witness)
        out.extend(self._render_findings())
        out.append("")
        lat = self.latency
        out.append(f"Latency, NFS close -> on Windows ({lat.count} writes, {lat.unsynced} not yet synced at the end)")
        if lat.count:
            out.append(
                "  " + "  ".join(f"{k} {_s(getattr(lat, k))}" for k in ("p50", "p90", "p99", "max", "mean"))
            )
        r = self.rsync
        out.append("")
        out.append(
            f"rsync (sidecars): {r.runs} runs ({r.failed} failed), {r.transferred} files, "
            f"{_bytes(r.bytes)}, {r.seconds:.1f} s running, ~{r.cpu_seconds:.2f} CPU s"
        )
        if self.log_excerpt:
            out.append("")
            out.append("Sidecar log (first lines)")
            out.extend(f"  {line}" for line in self.log_excerpt)
        out.append("")
        out.append(f"trace digest {self.trace_digest}")
        return "\n".join(out)


    def _render_findings(self, per_name: int = 2) -> list[str]:
        out = ["", f"Findings ({len(self.findings)})" if self.findings else "Findings: none"]
        by_name: dict[str, list[Finding]] = {}
        for f in self.findings:
            by_name.setdefault(f.name, []).append(f)
        for name, group in by_name.items():
            out.append(f"  {name} x{len(group)}" if len(group) > 1 else f"  {name}")
            out.extend(f"    {f}" for f in group[:per_name])
            if len(group) > per_name:
                out.append(f"    ... {len(group) - per_name} more")
        if self.expect_findings:
            found = {f.name for f in self.findings}
            marks = ", ".join(f"{n} ({'found' if n in found else 'MISSING'})" for n in self.expect_findings)
            out.append(f"  expected: {marks}")
        return out


def _s(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1f}s"


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def build_report(
    trace: Trace,
    *,
    scenario: str,
    duration: float,
    excerpt: int = 6,
    expect_findings: Sequence[str] = (),
    latency_bound: float | None = None,
) -> Report:
    """The report of ``trace``. ``expect_findings`` (the scenario's) decide ``passed`` with the checks;
    ``latency_bound`` replaces the configuration's analytic bound in the latency invariant."""
    ix = TraceIndex(trace)
    checks = tuple(
        Check(r.check, r.passed, r.detail) for r in trace.records if isinstance(r, ProbeResult)
    )
    logs = [r for r in trace.records if isinstance(r, LogLine)]
    first_pod = logs[0].pod if logs else None
    excerpt_lines = tuple(f"{r.pod} {r.line}" for r in logs if r.pod == first_pod)[:excerpt]
    return Report(
        scenario=scenario,
        seed=trace.seed,
        duration=duration,
        checks=checks,
        latency=latency_summary(trace),
        rsync=run_summary(trace),
        log_excerpt=excerpt_lines,
        trace_digest=trace.digest(),
        records=len(trace),
        invariants=tuple(check_invariants(ix, latency_bound=latency_bound)),
        findings=tuple(find_findings(ix)),
        expect_findings=tuple(expect_findings),
    )

"""The report of one run: the live test bed's checks, latency, rsync work, a log excerpt.

Built from a trace alone, so a simulated, a local and a live run read the same.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

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

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "duration": self.duration,
            "passed": self.passed,
            "checks": [attrs.asdict(c) for c in self.checks],
            "latency": self.latency.to_dict(),
            "rsync": self.rsync.to_dict(),
            "findings": [],
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


def _s(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.1f}s"


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def build_report(trace: Trace, *, scenario: str, duration: float, excerpt: int = 6) -> Report:
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
    )

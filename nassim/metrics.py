"""Metrics: pure functions of a trace, whichever backend produced it.

The headline one is the latency of each closed write on an export: from the
moment the writer closed it on NFS until the Windows folder holds that exact
content (same content, full size: a torn copy does not count).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from nassim.costs import LOCAL_DISK, CostModel
from nassim.rsync.engine import RsyncStats
from nassim.trace import FileDeleted, FileRenamed, FileSynced, RsyncRun, Trace, WriteClosed

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LatencySummary", "RunSummary", "latency_summary", "quantile", "run_summary", "write_latencies"]


@attrs.frozen
class WriteFate:
    server: str
    path: str
    version: int
    closed: float
    synced: float | None
    status: str  # synced | superseded | deleted | pending

    @property
    def latency(self) -> float | None:
        return None if self.synced is None else self.synced - self.closed


def write_fates(trace: Trace) -> list[WriteFate]:
    """What became of every closed write on an export (side ``nfs``)."""
    synced: dict[tuple[str, str], list[FileSynced]] = defaultdict(list)
    for r in trace.records:
        if isinstance(r, FileSynced) and r.side == "windows":
            synced[(r.server, r.path.casefold())].append(r)
    ends: dict[tuple[str, str], list[float]] = defaultdict(list)  # when a version stops being current
    writes = [r for r in trace.records if isinstance(r, WriteClosed) and r.side == "nfs"]
    for r in trace.records:
        if isinstance(r, WriteClosed | FileDeleted | FileRenamed) and r.side == "nfs":
            ends[(r.server, r.path)].append(r.t)
    deletes = {(r.server, r.path, r.t) for r in trace.records if isinstance(r, FileDeleted | FileRenamed)}
    out = []
    for w in writes:
        key = (w.server, w.path)
        cands = synced.get((w.server, w.path.casefold()), [])
        times = [c.t for c in cands]
        i = bisect.bisect_left(times, w.t)
        hit = next((c.t for c in cands[i:] if c.content == w.content and c.size == w.size), None)
        later = [t for t in ends[key] if t > w.t]
        end = min(later) if later else math.inf
        if hit is not None and hit <= end:
            out.append(WriteFate(w.server, w.path, w.version, w.t, hit, "synced"))
        elif hit is not None:
            # Synced after being replaced: still reached Windows, late.
            out.append(WriteFate(w.server, w.path, w.version, w.t, hit, "synced"))
        elif end < math.inf:
            status = "deleted" if any((w.server, w.path, t) in deletes for t in later) else "superseded"
            out.append(WriteFate(w.server, w.path, w.version, w.t, None, status))
        else:
            out.append(WriteFate(w.server, w.path, w.version, w.t, None, "pending"))
    return out


def write_latencies(trace: Trace) -> pd.DataFrame:
    """One row per closed write: server, path, version, closed, synced, latency, status, seed."""
    import pandas as pd

    rows = [{**attrs.asdict(f), "latency": f.latency} for f in write_fates(trace)]
    frame = pd.DataFrame(rows, columns=["server", "path", "version", "closed", "synced", "status", "latency"])
    frame["seed"] = trace.seed
    return frame


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation (numpy's default), without numpy."""
    if not values:
        return math.nan
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@attrs.frozen
class LatencySummary:
    """Latency quantiles of the writes that reached Windows, in seconds."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    unsynced: int  # closed writes still not on Windows at the end (and not replaced or deleted)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in attrs.asdict(self).items()}


def latency_summary(trace: Trace, *, servers: Sequence[str] | None = None) -> LatencySummary:
    fates = [f for f in write_fates(trace) if servers is None or f.server in servers]
    lat = [f.latency for f in fates if f.latency is not None]
    return LatencySummary(
        count=len(lat),
        p50=quantile(lat, 0.5),
        p90=quantile(lat, 0.9),
        p99=quantile(lat, 0.99),
        max=max(lat) if lat else math.nan,
        mean=sum(lat) / len(lat) if lat else math.nan,
        unsynced=sum(1 for f in fates if f.status == "pending"),
    )


@attrs.frozen
class RunSummary:
    """What the sync containers did: runs, files and bytes moved, seconds spent."""

    runs: int
    failed: int
    transferred: int
    bytes: int
    seconds: float
    cpu_seconds: float  # the same work on a local disk: what the CPU, not the 9p mount, pays

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def run_summary(trace: Trace, *, container: str | None = "sync-to-windows") -> RunSummary:
    runs = [r for r in trace.records if isinstance(r, RsyncRun) and (container is None or r.container == container)]
    cpu = CostModel(src=LOCAL_DISK, dst=LOCAL_DISK)
    return RunSummary(
        runs=len(runs),
        failed=sum(1 for r in runs if r.exit_code != 0),
        transferred=sum(r.transferred for r in runs),
        bytes=sum(r.bytes for r in runs),
        seconds=sum(r.duration for r in runs),
        cpu_seconds=sum(
            cpu.seconds(RsyncStats(scanned=r.scanned, dst_stat=r.scanned, transferred=r.transferred, bytes=r.bytes))
            for r in runs
        ),
    )

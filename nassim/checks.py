"""Invariant checks: pure functions of a trace that judge what the syncs did.

Each check reads a :class:`~nassim.trace.Trace` (whichever backend made it)
and returns a :class:`Verdict`: ``valid``, ``invalid`` with a witness (the
violating records, one explained step per line), or ``unknown`` when the
trace cannot decide, with the reason. A check never passes for want of
evidence.

- :func:`check_latency_bound`: every closed write on an output export is on
  Windows, with its content, within the bound (given, or the configuration's
  analytic bound: interval + 2 x the worst run time seen).
- :func:`check_loop_freedom`: once outside activity stops, the syncs settle
  within a bounded number of runs, and no file version is copied to Windows
  more than a bounded number of times.
- :func:`check_convergence`: an output server's Windows folder holds every
  file its export holds once the syncs settle; an input export equals its
  Windows folder after the init container (a backup export holds it).
- :func:`check_no_loss`: every closed write reaches Windows or is explained
  by a later delete or overwrite, and no sync changes a Windows file it
  should not touch.

The checks need the configuration (:class:`~nassim.trace.ServerConfig`) and
the trees at the end and after each init container
(:class:`~nassim.trace.TreeState`); a trace without them gets ``unknown``
where it matters, never a pass. The named findings of
:func:`nassim.findings.find_findings` share the index built here.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from nassim.trace import (
    ContainerState,
    FaultInjected,
    FileDeleted,
    FileRenamed,
    FileSynced,
    LogLine,
    PodPhase,
    RsyncRun,
    ServerConfig,
    Trace,
    TreeState,
    WriteClosed,
    WriteOpened,
)

__all__ = [
    "CHECKS",
    "Status",
    "Verdict",
    "check_convergence",
    "check_invariants",
    "check_latency_bound",
    "check_loop_freedom",
    "check_no_loss",
]

Status = Literal["valid", "invalid", "unknown"]

#: How many witness steps a verdict shows before it says how many it left out.
WITNESS_LINES = 12


@attrs.frozen
class Verdict:
    """A check's judgement of one trace.

    ``witness`` holds one explained step per line, in time order, e.g.
    ``t=61.2 nas-output-2: out/a.csv v2 closed on NFS (9000 bytes)``.
    """

    name: str
    status: Status = attrs.field(validator=attrs.validators.in_(("valid", "invalid", "unknown")))
    reason: str
    witness: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "valid"

    def explain(self) -> str:
        """The verdict as a person reads it: a headline and the witness, indented."""
        return "\n".join([f"{self.name}: {self.status.upper()}: {self.reason}", *(f"  {w}" for w in self.witness)])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason, "witness": list(self.witness)}


# ---------------------------------------------------------------------------
# What a trace says, indexed once


_SUMMARY = "the trace is a summary without per-write records (WriteClosed, FileSynced)"
_INTERVAL_LINE = re.compile(r"^Sync interval: ([0-9.]+)s$")


def fold(path: str) -> str:
    """The name a case-insensitive Windows folder sees."""
    return path.casefold()


def ts(t: float) -> str:
    return f"t={t:.1f}"


def num(x: float) -> str:
    """Seconds as a person writes them: ``60``, ``66.2``, ``0.04``."""
    text = f"{x:.2g}" if 0 < abs(x) < 1 else f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def index(trace: Trace | TraceIndex) -> TraceIndex:
    return trace if isinstance(trace, TraceIndex) else TraceIndex(trace)


class TraceIndex:
    """The records of a trace, indexed by server, path and content for the checks and findings."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        # A summary trace (the simulator's ``summary=True``) keeps no per-write records: the
        # write-level checks must say unknown rather than pass for want of writes.
        self.summary = bool(trace.params.get("summary"))
        recs = sorted(trace.records, key=lambda r: r.t)  # backends append out of order; stable
        self.end = max((r.t for r in recs), default=0.0)
        self.configs: dict[str, ServerConfig] = {}
        self.servers: list[str] = []
        self.runs: dict[str, list[RsyncRun]] = defaultdict(list)  # every rsync run, by server
        self.synced: dict[tuple[str, str], list[FileSynced]] = defaultdict(list)  # (server, fold) -> windows
        self.synced_nfs: dict[tuple[str, str], list[FileSynced]] = defaultdict(list)  # (server, path) -> nfs
        self.writes: list[WriteClosed] = []  # closed on NFS
        self.win_writes: list[WriteClosed] = []  # closed on Windows (by people)
        self.opened: dict[tuple[str, int], WriteOpened] = {}  # (server, content) -> open (in write order)
        self.closed: dict[tuple[str, int], WriteClosed] = {}  # (server, content) -> close
        self.ends: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)  # nfs path stops being current
        self.win_changes: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)  # by people, on Windows
        self.activity: dict[str, list[tuple[float, str]]] = defaultdict(list)  # outside activity, by server
        self.trees: dict[tuple[str, str, str], list[TreeState]] = defaultdict(list)  # (server, side, moment)
        self.pods: dict[str, list[PodPhase]] = defaultdict(list)
        self.events: dict[str, list[PodPhase | ContainerState | FaultInjected]] = defaultdict(list)
        self.containers: dict[str, list[ContainerState]] = defaultdict(list)
        self.faults: dict[str, list[FaultInjected]] = defaultdict(list)
        self.intervals: dict[str, float] = {}
        sync_seen: dict[str, str] = {}
        init_seen: dict[str, str] = {}
        for r in recs:
            if r.server not in self.configs and r.server not in self.servers:
                self.servers.append(r.server)
            if isinstance(r, ServerConfig):
                self.configs.setdefault(r.server, r)
            elif isinstance(r, RsyncRun):
                self.runs[r.server].append(r)
            elif isinstance(r, FileSynced):
                if r.side == "windows":
                    self.synced[(r.server, fold(r.path))].append(r)
                    sync_seen.setdefault(r.server, r.container)
                else:
                    self.synced_nfs[(r.server, r.path)].append(r)
                    init_seen.setdefault(r.server, r.container)
            elif isinstance(r, WriteOpened):
                self.activity[r.server].append((r.t, f"{r.path} opened for writing on {_side(r.side)}"))
            elif isinstance(r, WriteClosed):
                if r.side == "nfs":
                    self.writes.append(r)
                    self.closed.setdefault((r.server, r.content), r)
                    self.ends[(r.server, r.path)].append((r.t, "overwritten"))
                else:
                    self.win_writes.append(r)
                    self.win_changes[(r.server, fold(r.path))].append((r.t, "written"))
                self.activity[r.server].append((r.t, f"{r.path} v{r.version} closed on {_side(r.side)}"))
            elif isinstance(r, FileDeleted):
                if r.side == "nfs":
                    self.ends[(r.server, r.path)].append((r.t, "deleted"))
                else:
                    self.win_changes[(r.server, fold(r.path))].append((r.t, "deleted"))
                self.activity[r.server].append((r.t, f"{r.path} deleted on {_side(r.side)}"))
            elif isinstance(r, FileRenamed):
                if r.side == "nfs":
                    self.ends[(r.server, r.path)].append((r.t, f"renamed to {r.new_path}"))
                else:
                    self.win_changes[(r.server, fold(r.path))].append((r.t, "renamed"))
                    self.win_changes[(r.server, fold(r.new_path))].append((r.t, "written"))
                self.activity[r.server].append((r.t, f"{r.path} renamed to {r.new_path} on {_side(r.side)}"))
            elif isinstance(r, TreeState):
                self.trees[(r.server, r.side, r.moment)].append(r)
            elif isinstance(r, PodPhase):
                self.pods[r.server].append(r)
                self.events[r.server].append(r)
                if r.phase == "Deleted":
                    # A deleted pod's sidecar keeps syncing through the grace period, beside its
                    # replacement's: the deletion's effect on Windows ends only when the pod is gone.
                    self.activity[r.server].append((r.t, f"pod {r.pod} gone (end of its grace period)"))
            elif isinstance(r, ContainerState):
                self.containers[r.server].append(r)
                self.events[r.server].append(r)
            elif isinstance(r, FaultInjected):
                self.faults[r.server].append(r)
                self.events[r.server].append(r)
                self.activity[r.server].append((r.t, f"fault {r.fault}" + (f" ({r.detail})" if r.detail else "")))
            elif isinstance(r, LogLine):
                m = _INTERVAL_LINE.match(r.line)
                if m:
                    self.intervals.setdefault(r.server, float(m.group(1)))
        # WriteOpened has no content; the close of the same server, path and version has it.
        # One that never closed is still being written at the end, unless its pod went away.
        # The next NFS write on the same path, for each write: two writers on one timer can close
        # the same path at the same instant, and only record order says which one replaced which.
        self.replaced_by: dict[tuple[str, int], WriteClosed] = {}
        last: dict[tuple[str, str], WriteClosed] = {}
        for w in self.writes:
            prev = last.get((w.server, w.path))
            if prev is not None:
                self.replaced_by[(prev.server, prev.content)] = w
            last[(w.server, w.path)] = w
        by_version = {(w.server, w.path, w.version): w.content for w in self.writes}
        self.open_at_end: dict[str, list[WriteOpened]] = defaultdict(list)
        for r in recs:
            if isinstance(r, WriteOpened) and r.side == "nfs":
                content = by_version.get((r.server, r.path, r.version))
                if content is not None:
                    self.opened.setdefault((r.server, content), r)
                elif not any(p.phase == "Terminating" and p.t >= r.t for p in self.pods.get(r.server, [])):
                    self.open_at_end[r.server].append(r)
        self.servers = [*self.configs, *(s for s in self.servers if s not in self.configs)]
        self.sync_container: dict[str, str] = {}
        self.init_container: dict[str, str] = {}
        for s in self.servers:
            cfg = self.configs.get(s)
            if cfg is not None:
                if cfg.sidecar is not None:
                    self.sync_container[s] = cfg.sidecar
                self.init_container[s] = cfg.init
            else:
                if s in sync_seen:
                    self.sync_container[s] = sync_seen[s]
                if s in init_seen:
                    self.init_container[s] = init_seen[s]
        self.sync_runs: dict[str, list[RsyncRun]] = {
            s: [r for r in self.runs.get(s, []) if r.container == c] for s, c in self.sync_container.items()
        }
        self._run_starts = {s: [r.t for r in runs] for s, runs in self.sync_runs.items()}
        # Content -> (path, version, final size) of the NFS write that made it.
        self.origin: dict[tuple[str, int], WriteClosed] = dict(self.closed)
        self.win_origin: dict[tuple[str, int], WriteClosed] = {(w.server, w.content): w for w in self.win_writes}
        # Export files deleted by a run that writes into the export (an init container, or a
        # Windows -> NFS sidecar with --delete): (server, path) -> (time, run).
        self.export_deletes: dict[tuple[str, str], list[tuple[float, RsyncRun]]] = defaultdict(list)
        for s, runs in self.runs.items():
            for r in runs:
                if r.deleted and r.container != self.sync_container.get(s):
                    for path in _deleted_lines(r):
                        self.export_deletes[(s, path)].append((r.t, r))

    # --- configuration ---

    def role(self, server: str) -> str | None:
        cfg = self.configs.get(server)
        if cfg is not None:
            return cfg.role
        return "output" if server in self.sync_container else None

    def syncs_to_windows(self, server: str) -> bool:
        return server in self.sync_container

    def interval(self, server: str) -> float | None:
        cfg = self.configs.get(server)
        if cfg is not None and cfg.interval is not None:
            return cfg.interval
        return self.intervals.get(server)

    def tree(self, server: str, side: str, moment: str = "end") -> TreeState | None:
        states = self.trees.get((server, side, moment))
        return states[-1] if states else None

    # --- runs ---

    def run_of(self, fs: FileSynced) -> RsyncRun | None:
        """The run that made a FileSynced record."""
        best = None
        for r in self.runs.get(fs.server, []):
            if r.container == fs.container and r.run == fs.run and r.t <= fs.t + 1e-9:
                best = r
        return best

    def sync_runs_between(self, server: str, t0: float, t1: float) -> list[RsyncRun]:
        """Sync runs that start in [t0, t1)."""
        runs = self.sync_runs.get(server, [])
        starts = self._run_starts.get(server, [])
        return runs[bisect.bisect_left(starts, t0) : bisect.bisect_left(starts, t1)]

    # --- content labels ---

    def label(self, server: str, content: int, size: int | None = None) -> str:
        """``v2`` for a version written on NFS, ``Windows edit v3`` for one written on Windows."""
        w = self.origin.get((server, content))
        if w is not None:
            lab = f"v{w.version}"
            full = w.size
        else:
            ww = self.win_origin.get((server, content))
            if ww is None:
                o = self.opened.get((server, content))
                if o is None:
                    return f"content {content & 0xFFFF:04x}"
                lab, full = f"v{o.version}", o.size
            else:
                lab, full = f"Windows edit v{ww.version}", ww.size
        if size is not None and size < full:
            return f"{lab} (torn, {size} of {full} bytes)"
        return lab

    def named(self, server: str, content: int, path: str, size: int | None = None) -> str:
        """A version label that names its path when it came from another one."""
        w = self.origin.get((server, content)) or self.win_origin.get((server, content))
        lab = self.label(server, content, size)
        if w is not None and w.path != path:
            return f"{w.path}'s {lab}"
        return lab


def _side(side: str) -> str:
    return "NFS" if side == "nfs" else "Windows"


def _cap(lines: list[str], limit: int = WITNESS_LINES) -> tuple[str, ...]:
    if len(lines) <= limit:
        return tuple(lines)
    return (*lines[: limit - 1], f"... ({len(lines) - limit + 1} more steps)")


def _combine(name: str, parts: list[tuple[Status, str, list[str]]], valid_reason: str) -> Verdict:
    """One verdict from per-server ones: invalid wins, then unknown."""
    for status in ("invalid", "unknown"):
        hits = [p for p in parts if p[0] == status]
        if hits:
            reason = hits[0][1]
            others = [p[1].split(":", 1)[0] for p in hits[1:]]
            if others:
                reason += f"; also {', '.join(others)}"
            return Verdict(name, status, reason, _cap(hits[0][2]))
    return Verdict(name, "valid", valid_reason)


def _no_sync(name: str, ix: TraceIndex) -> Verdict:
    """No server syncs to Windows: vacuously valid if the configuration says so, else unknown."""
    if ix.configs:
        return Verdict(name, "valid", "no server in the trace syncs its export to Windows")
    return Verdict(name, "unknown", "the trace records no server configuration and no sync to Windows")


def _run_line(ix: TraceIndex, r: RsyncRun, what: str = "", first: bool = False) -> str:
    head = f"{ts(r.t)} {r.server}: " if first else f"{ts(r.t)} "
    text = f"{head}{_who(ix, r)}{what}"
    if r.exit_code != 0:
        err = f": {r.errors[0]}" if r.errors else ""
        text += f" (exit {r.exit_code}{err})"
    return text


def _who(ix: TraceIndex, r: RsyncRun) -> str:
    """``sync run 3``, ``init container X``, or ``sync-from-windows run 4`` (a Windows -> NFS sidecar)."""
    if r.container == ix.sync_container.get(r.server):
        return f"sync run {r.run}"
    if r.container == ix.init_container.get(r.server):
        return f"init container {r.container}"
    return f"{r.container} run {r.run}"


def _context(ix: TraceIndex, server: str, t0: float, t1: float) -> list[tuple[float, str]]:
    """Pod, container and fault events of a server in (t0, t1], as witness steps."""
    out: list[tuple[float, str]] = []
    sync = ix.sync_container.get(server)
    for e in ix.events.get(server, []):
        if not t0 < e.t <= t1:
            continue
        if isinstance(e, PodPhase) and e.phase in ("Terminating", "Running"):
            out.append((e.t, f"{ts(e.t)} pod {e.pod} {e.phase}"))
        elif isinstance(e, ContainerState) and e.container == sync:
            if e.state == "terminated":
                out.append((e.t, f"{ts(e.t)} {e.container} of {e.pod} exited {e.exit_code}"))
            elif e.reason == "CrashLoopBackOff":
                out.append((e.t, f"{ts(e.t)} {e.container} of {e.pod} waits in CrashLoopBackOff"))
        elif isinstance(e, FaultInjected):
            out.append((e.t, f"{ts(e.t)} fault {e.fault}" + (f" ({e.detail})" if e.detail else "")))
    return out


def _first_after(times: Sequence[tuple[float, str]], t: float) -> tuple[float, str] | None:
    return next(((u, what) for u, what in times if u > t), None)


def _end_of(ix: TraceIndex, w: WriteClosed) -> tuple[float, str] | None:
    """When ``w`` stopped being the export's version of its path (overwritten, deleted, renamed),
    counting a write that replaced it at the very same instant."""
    nxt = ix.replaced_by.get((w.server, w.content))
    if nxt is not None and nxt.t <= w.t:
        return nxt.t, "overwritten"
    return _first_after(ix.ends.get((w.server, w.path), []), w.t)


# ---------------------------------------------------------------------------
# Latency bound


def check_latency_bound(trace: Trace | TraceIndex, bound: float | None = None) -> Verdict:
    """Every closed write on an output export is on Windows, with its content, within ``bound`` seconds.

    Without ``bound``, each server's analytic bound is used: its sidecar's
    interval plus twice the longest sync run in the trace (a write that
    just misses a run's scan waits for the rest of that run, the sleep,
    and the next run). A write superseded or deleted on NFS before its
    deadline is explained; one still pending when the trace ends is unknown
    unless its deadline had passed.
    """
    return _latency(index(trace), bound)


def _bound_for(ix: TraceIndex, server: str, bound: float | None) -> tuple[float | None, str]:
    if bound is not None:
        return bound, f"{num(bound)} s bound"
    interval = ix.interval(server)
    runs = ix.sync_runs.get(server, [])
    if interval is None or not runs:
        why = "its sidecar interval" if interval is None else "any sync run"
        return None, f"{server}: no bound given and the trace does not record {why} to derive one"
    worst = max(r.duration for r in runs)
    b = interval + 2 * worst
    return b, f"{num(b)} s bound (interval {num(interval)} s + 2 x worst run {num(worst)} s)"


def _latency(ix: TraceIndex, bound: float | None) -> Verdict:
    name = "latency-bound"
    if ix.summary:
        return Verdict(name, "unknown", _SUMMARY)
    by_server: dict[str, list[WriteClosed]] = defaultdict(list)
    for w in ix.writes:
        if ix.syncs_to_windows(w.server) or ix.role(w.server) == "output":
            by_server[w.server].append(w)
    if not by_server:
        if not ix.sync_container:
            return _no_sync(name, ix)
        return Verdict(name, "valid", "no write closed on an output export")
    parts: list[tuple[Status, str, list[str]]] = []
    ok = explained = 0
    worst_ok = 0.0
    used: list[float] = []
    for server, writes in by_server.items():
        b, why = _bound_for(ix, server, bound)
        if b is None:
            parts.append(("unknown", why, []))
            continue
        used.append(b)
        late: list[tuple[float, WriteClosed, FileSynced | None]] = []
        pending = 0
        for w in writes:
            deadline = w.t + b
            hit = _first_copy(ix, w)
            end = _end_of(ix, w)
            if hit is not None and hit.t <= deadline:
                ok += 1
                worst_ok = max(worst_ok, hit.t - w.t)
            elif end is not None and end[0] <= deadline:
                explained += 1  # replaced, deleted or renamed before its deadline
            elif hit is not None:
                late.append((hit.t - w.t, w, hit))
            elif ix.end < deadline:
                pending += 1
            else:
                late.append(((end[0] if end is not None else ix.end) - w.t, w, None))
        if late:
            late.sort(key=lambda x: -x[0])
            _, w, hit = late[0]
            parts.append(
                (
                    "invalid",
                    f"{server}: {len(late)} of {plural(len(writes), 'write')} missed the {why}",
                    _latency_witness(ix, w, hit, b),
                )
            )
        elif pending:
            parts.append(
                (
                    "unknown",
                    f"{server}: {plural(pending, 'write')} closed less than the {num(b)} s bound "
                    "before the trace ended and not on Windows yet",
                    [],
                )
            )
    lo, hi = (min(used), max(used)) if used else (0.0, 0.0)
    bounds = f"bound {num(lo)} s" if num(lo) == num(hi) else f"bounds {num(lo)}-{num(hi)} s"
    valid = (
        f"{plural(ok, 'write')} reached Windows within the bound (max {num(worst_ok)} s; {bounds}), "
        f"{explained} replaced or deleted before their deadline"
    )
    return _combine(name, parts, valid)


def _first_copy(ix: TraceIndex, w: WriteClosed) -> FileSynced | None:
    """The first sync that put this write's whole content on Windows (at or after its close)."""
    for fs in ix.synced.get((w.server, fold(w.path)), []):
        if fs.t >= w.t and fs.content == w.content and fs.size == w.size:
            return fs
    return None


def _latency_witness(ix: TraceIndex, w: WriteClosed, hit: FileSynced | None, b: float) -> list[str]:
    """The write's story: its close, each sync run until it arrived (or its deadline), what else happened."""
    server, lab, deadline = w.server, ix.label(w.server, w.content), w.t + b
    steps: list[tuple[float, str]] = [(w.t, f"{ts(w.t)} {server}: {w.path} {lab} closed on NFS ({w.size} bytes)")]
    stop = hit.t if hit is not None else min(ix.end, deadline)
    copies = {(fs.container, fs.run): fs for fs in ix.synced.get((server, fold(w.path)), []) if w.t <= fs.t <= stop}
    for r in ix.sync_runs_between(server, w.t, stop + 1e-9):
        fs = copies.get((r.container, r.run))
        if hit is not None and fs is hit:
            continue
        what = f" copied {ix.named(server, fs.content, w.path, fs.size)}" if fs else " did not copy it"
        steps.append((r.t, _run_line(ix, r, what)))
    steps.extend(_context(ix, server, w.t, stop))
    end = _end_of(ix, w)
    if hit is not None:
        run = ix.run_of(hit)
        steps.append(
            (
                hit.t,
                f"{ts(hit.t)} run {run.run if run else hit.run} copied {lab}: "
                f"latency {num(hit.t - w.t)} s > bound {num(b)} s",
            )
        )
    elif end is not None:
        steps.append((deadline, f"{ts(deadline)} bound {num(b)} s elapsed: {lab} not on Windows"))
        steps.append((end[0], f"{ts(end[0])} {w.path} {end[1]} on NFS: {lab} never reached Windows"))
    else:
        steps.append((deadline, f"{ts(deadline)} bound {num(b)} s elapsed: {lab} not on Windows"))
        steps.append((ix.end, f"{ts(ix.end)} the trace ends: {lab} never reached Windows"))
    steps.sort(key=lambda s: s[0])
    return [text for _, text in steps]


# ---------------------------------------------------------------------------
# Loop freedom


def check_loop_freedom(trace: Trace | TraceIndex, *, settle_runs: int = 2, max_copies: int = 2) -> Verdict:
    """Syncs settle and stop copying once nothing changes.

    Two clauses, per server that syncs to Windows:

    - after the last outside activity (a write, delete or rename on either
      side, or a fault), at most ``settle_runs`` sync runs move anything;
      every later run moves nothing;
    - no version of a file (same path, content and size) is copied to
      Windows more than ``max_copies`` times without an outside change to
      that path in between: the perpetual re-copy of a destination that
      cannot keep mtimes (a Windows host through 9p) breaks this even while
      writers are still busy.
    """
    return _loops(index(trace), settle_runs, max_copies)


def _loops(ix: TraceIndex, settle_runs: int, max_copies: int) -> Verdict:
    name = "loop-freedom"
    if ix.summary:
        return Verdict(name, "unknown", _SUMMARY)
    if not ix.sync_container:
        return _no_sync(name, ix)
    parts: list[tuple[Status, str, list[str]]] = []
    for server in ix.sync_container:
        copies = _recopies(ix, server, max_copies)
        if copies is not None:
            parts.append(copies)
            continue
        parts.append(_settling(ix, server, settle_runs))
    return _combine(name, parts, f"every sync settled within {settle_runs} runs of the last outside activity")


def _recopies(ix: TraceIndex, server: str, max_copies: int) -> tuple[Status, str, list[str]] | None:
    # Outside changes per folded path: NFS writes, deletes and renames, Windows edits, faults.
    changes: dict[str, list[float]] = defaultdict(list)
    for (s, path), ends in ix.ends.items():
        if s == server:
            changes[fold(path)].extend(t for t, _ in ends)
    for (s, key), evs in ix.win_changes.items():
        if s == server:
            changes[key].extend(t for t, _ in evs)
    faults = sorted(f.t for f in ix.faults.get(server, []))
    sync = ix.sync_container[server]
    worst: tuple[int, list[FileSynced]] | None = None
    for (s, key), syncs in ix.synced.items():
        if s != server:
            continue
        resets = sorted([*changes.get(key, []), *faults])
        count: dict[tuple[str, int, int], list[FileSynced]] = defaultdict(list)
        for fs in syncs:
            if fs.container != sync:
                continue
            k = (fs.path, fs.content, fs.size)
            seq = count[k]
            if seq:
                last = seq[-1].t
                i = bisect.bisect_right(resets, last)
                if i < len(resets) and resets[i] <= fs.t:
                    seq.clear()
            seq.append(fs)
            if len(seq) > max_copies and (worst is None or len(seq) > worst[0]):
                worst = (len(seq), list(seq))
    if worst is None:
        return None
    total, seq = worst
    first = seq[0]
    lab = ix.label(server, first.content, first.size)
    lines: list[str] = []
    w = ix.origin.get((server, first.content))
    if w is not None:
        lines.append(f"{ts(w.t)} {server}: {w.path} {lab} closed on NFS ({w.size} bytes)")
    else:
        lines.append(f"{ts(first.t)} {server}: {first.path} {lab} ({first.size} bytes) is in the export")
    for i, fs in enumerate(seq):
        run = ix.run_of(fs)
        n_run = run.run if run else fs.run
        flags = _itemize_of(run, fs.path) if run else ""
        why = f" [{flags}]" if flags else ""
        if i == 0:
            lines.append(f"{ts(fs.t)} sync run {n_run} copied {fs.path} {lab} to Windows{why}")
        elif i < max_copies:
            lines.append(f"{ts(fs.t)} run {n_run} copied it again, unchanged since{_since(w, seq[0])}{why}")
        else:
            lines.append(
                f"{ts(fs.t)} run {n_run} copied it again{why}: copy {i + 1} of an unchanged version "
                f"(bound {max_copies}){_flag_reason(flags)}"
            )
            break
    if total > max_copies + 1:
        lines.append(f"... {total} copies of {first.path} {lab} in all, the last at {ts(seq[-1].t)}")
    reason = f"{server}: {first.path} {lab} was copied to Windows {total} times without changing (bound {max_copies})"
    return "invalid", reason, lines


def _since(w: WriteClosed | None, first: FileSynced) -> str:
    return f" {ts(w.t)}" if w is not None else f" the copy at {ts(first.t)}"


def _itemize_of(run: RsyncRun, path: str) -> str:
    for line in run.itemized:
        if line[12:] == path:
            return line[:11]
    return ""


def _flag_reason(flags: str) -> str:
    """Why rsync's quick check sent the file again, read off its itemize flags."""
    if len(flags) < 5 or flags[0] != ">":
        return ""
    size, time = flags[3] == "s", flags[4] in "tT"
    if time and not size:
        return (
            ": same size, but the Windows copy's mtime never matches the source's, so the quick check fails every run"
        )
    if size:
        return ": the Windows copy's size differs every run"
    return ""


def _settling(ix: TraceIndex, server: str, settle_runs: int) -> tuple[Status, str, list[str]]:
    still = ix.open_at_end.get(server)
    if still:
        w = still[0]
        return "unknown", f"{server}: {w.path} was still being written when the trace ended ({ts(w.t)} on)", []
    quiet, what = max(ix.activity.get(server, []), default=(0.0, "none"), key=lambda a: a[0])
    runs = [r for r in ix.sync_runs.get(server, []) if r.t >= quiet]
    late = [r for r in runs[settle_runs:] if r.transferred or r.deleted]
    if late:
        moving = sum(1 for r in runs if r.transferred or r.deleted)
        lines = [f"{ts(quiet)} {server}: last outside activity: {what}"]
        lines += [_run_line(ix, r, f" moved {_moved(r)}") for r in runs[: settle_runs + 1]]
        lines.append(
            f"{ts(late[-1].t)} run {late[-1].run} still moved {_moved(late[-1])}: "
            f"{moving} of {len(runs)} runs after the activity moved something (bound {settle_runs})"
        )
        return "invalid", f"{server}: the sync never settled after the last outside activity at {ts(quiet)}", lines
    if not runs or runs[-1].transferred or runs[-1].deleted:
        return (
            "unknown",
            f"{server}: the trace ends before the sync could settle ({plural(len(runs), 'sync run')} after the last "
            f"outside activity at {ts(quiet)}: {what})",
            [],
        )
    return "valid", "", []


def _moved(r: RsyncRun) -> str:
    parts = []
    if r.transferred:
        parts.append(f"{r.transferred} file{'s' if r.transferred != 1 else ''}")
    if r.deleted:
        parts.append(f"{r.deleted} deletion{'s' if r.deleted != 1 else ''}")
    return " and ".join(parts) or "nothing"


# ---------------------------------------------------------------------------
# Convergence


def check_convergence(trace: Trace | TraceIndex) -> Verdict:
    """Each role's folders agree once the syncs are done.

    - output: at the end, the Windows folder holds every file of the export
      with the same content (looked up case-insensitively when the exact
      name is missing). If the export changed after the last sync run
      began, the trace cannot tell: unknown.
    - input: after every completed init container, the export equals the
      Windows folder (``--delete`` makes it a mirror).
    - backup: after every completed init container, the export holds every
      Windows file (no ``--delete``).
    """
    ix = index(trace)
    parts: list[tuple[Status, str, list[str]]] = []
    for server in ix.servers:
        role = ix.role(server)
        if role == "output":
            parts.append(_converge_output(ix, server))
        elif role in ("input", "backup"):
            parts.append(_converge_seeded(ix, server, mirror=role == "input"))
        elif server in ix.configs or any(isinstance(r, RsyncRun) for r in ix.runs.get(server, [])):
            parts.append(("unknown", f"{server}: the trace does not say the server's role", []))
    if not parts:
        return Verdict("convergence", "unknown", "the trace records no server")
    return _combine("convergence", parts, "every output folder holds its export; every seeded export holds its folder")


def _describe(ix: TraceIndex, server: str, size: int, content: int, path: str) -> str:
    return f"{ix.named(server, content, path)} ({size} bytes)"


def _lookup(files: dict[str, tuple[int, int]], folded: dict[str, str], path: str) -> tuple[str, tuple[int, int]] | None:
    if path in files:
        return path, files[path]
    other = folded.get(fold(path))
    return (other, files[other]) if other is not None else None


def _converge_output(ix: TraceIndex, server: str) -> tuple[Status, str, list[str]]:
    nfs, win = ix.tree(server, "nfs"), ix.tree(server, "windows")
    if nfs is None or win is None:
        return "unknown", f"{server}: the trace has no end state of the export and the Windows folder", []
    wfiles = win.files()
    folded = {fold(p): p for p in wfiles}
    bad: list[str] = []
    for path, size, content in nfs.entries:
        got = _lookup(wfiles, folded, path)
        want = _describe(ix, server, size, content, path)
        if got is None:
            bad.append(f"{path} {want} is in the export but not on Windows")
        elif got[1] != (size, content):
            wpath, (wsize, wcontent) = got
            alias = f" as {wpath}" if wpath != path else ""
            bad.append(
                f"{path} {want} is in the export, but Windows holds{alias} "
                f"{_describe(ix, server, wsize, wcontent, wpath)}"
            )
    if not bad:
        return "valid", "", []
    still = ix.open_at_end.get(server)
    if still:
        w = still[0]
        return "unknown", f"{server}: {w.path} was still being written when the trace ended ({ts(w.t)} on)", []
    acts = [a for a in ix.activity.get(server, []) if a[0] <= nfs.t]
    last_t, last_what = max(acts, default=(0.0, "the start"), key=lambda a: a[0])
    init_copies = [fs.t for key, v in ix.synced_nfs.items() if key[0] == server for fs in v]
    if init_copies and max(init_copies) > last_t:
        last_t, last_what = max(init_copies), "the init container copied files into the export"
    after = [r for r in ix.sync_runs.get(server, []) if r.t > last_t and r.t + r.duration <= nfs.t + 1e-9]
    if not after:
        return (
            "unknown",
            f"{server}: the export changed at {ts(last_t)} ({last_what}) and no sync run completed after it",
            [],
        )
    lines = [f"{ts(last_t)} {server}: last change: {last_what}"]
    lines += [_run_line(ix, r, f" moved {_moved(r)}") for r in after[:3]]
    if len(after) > 3:
        lines.append(f"... {len(after) - 3} more sync runs")
    lines += [f"{ts(nfs.t)} end: {b}" for b in bad]
    return (
        "invalid",
        f"{server}: {plural(len(bad), 'export file')} not on Windows after {plural(len(after), 'sync run')}",
        lines,
    )


def _converge_seeded(ix: TraceIndex, server: str, *, mirror: bool) -> tuple[Status, str, list[str]]:
    nfs_states = ix.trees.get((server, "nfs", "init"), [])
    win_states = ix.trees.get((server, "windows", "init"), [])
    init = ix.init_container.get(server)
    if not nfs_states or not win_states:
        failed = [r for r in ix.runs.get(server, []) if r.container == init and r.exit_code != 0]
        if failed:
            lines = [_run_line(ix, r, " failed", first=i == 0) for i, r in enumerate(failed[:4])]
            return "invalid", f"{server}: the init container never completed ({len(failed)} failed runs)", lines
        return "unknown", f"{server}: no init container completed in the trace", []
    for nfs, win in zip(nfs_states, win_states, strict=False):
        nfiles, wfiles = nfs.files(), win.files()
        bad: list[str] = []
        for path, (size, content) in wfiles.items():
            got = nfiles.get(path)
            if got is None:
                bad.append(f"{path} {_describe(ix, server, size, content, path)} is on Windows but not in the export")
            elif got != (size, content):
                bad.append(
                    f"{path}: Windows holds {_describe(ix, server, size, content, path)}, "
                    f"the export {_describe(ix, server, got[0], got[1], path)}"
                )
        if mirror:
            for path, (size, content) in nfiles.items():
                if path not in wfiles:
                    bad.append(
                        f"{path} {_describe(ix, server, size, content, path)} is in the export but not on Windows"
                    )
        if bad:
            role = "an input export must equal" if mirror else "a backup export must hold"
            lines = [f"{ts(nfs.t)} {server}: the init container completed; {role} its Windows folder"]
            lines += [f"{ts(nfs.t)} {b}" for b in bad]
            return (
                "invalid",
                f"{server}: {plural(len(bad), 'difference')} after the init container at {ts(nfs.t)}",
                lines,
            )
    return "valid", "", []


# ---------------------------------------------------------------------------
# No loss


def check_no_loss(trace: Trace | TraceIndex) -> Verdict:
    """No closed write is lost, and no sync changes a Windows file it should not touch.

    A write on an output export is lost if it never reaches Windows, was not
    replaced, deleted or renamed on NFS first, and is no longer in the export
    (its pod's emptyDir went with the pod, or the end state lacks it). A
    write still in the export at the end is not lost (the latency check
    judges how late it is). A sync must not delete a Windows file the export
    did not delete, nor overwrite an edit made on Windows with other content.
    """
    ix = index(trace)
    if ix.summary:
        return Verdict("no-loss", "unknown", _SUMMARY)
    parts: list[tuple[Status, str, list[str]]] = []
    for server in ix.servers:
        if not ix.syncs_to_windows(server):
            continue
        parts.extend(_lost_writes(ix, server))
        parts.extend(_bad_deletes(ix, server))
        parts.extend(_overwritten_edits(ix, server))
    if not ix.sync_container:
        return _no_sync("no-loss", ix)
    return _combine(
        "no-loss", parts, "every closed write reached Windows, was replaced or deleted, or is still in the export"
    )


def lost_writes(ix: TraceIndex, server: str) -> list[tuple[WriteClosed, PodPhase | None]]:
    """Writes on ``server`` that never reached Windows and are gone: (write, the deletion of the pod
    whose emptyDir held it, or None when only the end state shows it gone)."""
    gone = [p for p in ix.pods.get(server, []) if p.phase == "Terminating"]
    cfg = ix.configs.get(server)
    persistent = cfg is not None and cfg.export == "persistent"
    end_nfs = ix.tree(server, "nfs")
    end_files = end_nfs.files() if end_nfs is not None else None
    out: list[tuple[WriteClosed, PodPhase | None]] = []
    for w in ix.writes:
        if w.server != server or _first_copy(ix, w) is not None:
            continue
        life_end = None if persistent else next((p for p in gone if p.t > w.t), None)
        end = _end_of(ix, w)
        hit = clobbered(ix, w)
        if hit is not None and (end is None or hit[0] < end[0]) and (life_end is None or hit[0] <= life_end.t):
            out.append((w, None))  # a run writing into the export replaced or deleted it first
            continue
        if end is not None and (life_end is None or end[0] <= life_end.t):
            continue  # replaced, deleted or renamed while it was still in the export
        if life_end is not None:
            out.append((w, life_end))
        elif end_files is not None and end_files.get(w.path) != (w.size, w.content):
            out.append((w, None))
    return out


def clobbered(ix: TraceIndex, w: WriteClosed) -> tuple[float, str] | None:
    """The first time a run writing into the export (an init container, a Windows -> NFS sidecar)
    replaced this NFS write with other content or deleted it, before it reached Windows: (time, how)."""
    first = _first_copy(ix, w)
    until = first.t if first is not None else float("inf")
    hits: list[tuple[float, str]] = []
    for fs in ix.synced_nfs.get((w.server, w.path), []):
        if w.t < fs.t < until and (fs.content, fs.size) != (w.content, w.size):
            run = ix.run_of(fs)
            who = _who(ix, run) if run is not None else fs.container
            hits.append((fs.t, f"{who} copied {ix.named(w.server, fs.content, fs.path, fs.size)} from Windows over it"))
            break
    for t, r in ix.export_deletes.get((w.server, w.path), []):
        if w.t < t < until:
            hits.append((t, f"{_who(ix, r)} deleted it from the export"))
            break
    return min(hits, default=None)


def _lost_writes(ix: TraceIndex, server: str) -> list[tuple[Status, str, list[str]]]:
    lost = lost_writes(ix, server)
    if lost:
        w, pod = lost[0]
        lab = ix.label(server, w.content)
        lines = [f"{ts(w.t)} {server}: {w.path} {lab} closed on NFS ({w.size} bytes)"]
        hit = clobbered(ix, w) if pod is None else None
        if hit is not None:
            runs = ix.sync_runs_between(server, w.t, hit[0])
            lines += [_run_line(ix, r, " did not copy it") for r in runs[:3]]
            lines.append(f"{ts(hit[0])} {hit[1]}: {lab} never reached Windows")
            return [("invalid", f"{server}: {plural(len(lost), 'closed write')} lost", lines)]
        runs = ix.sync_runs_between(server, w.t, pod.t if pod is not None else ix.end)
        lines += [_run_line(ix, r, " did not copy it") for r in runs[:3]]
        if pod is not None:
            lines.append(
                f"{ts(pod.t)} pod {pod.pod} deleted, and its emptyDir export with it: {lab} never reached Windows"
            )
        else:
            lines.append(f"{ts(ix.end)} the export no longer holds {lab}, and Windows never got it")
        return [("invalid", f"{server}: {plural(len(lost), 'closed write')} lost", lines)]
    end_nfs = ix.tree(server, "nfs")
    if end_nfs is None:
        pending = [
            w
            for w in ix.writes
            if w.server == server
            and _first_copy(ix, w) is None
            and _end_of(ix, w) is None
        ]
        if pending:
            return [
                (
                    "unknown",
                    f"{server}: {plural(len(pending), 'write')} never reached Windows and the trace has no end state "
                    "to show whether the export still holds them",
                    [],
                )
            ]
    return []


def _deleted_lines(r: RsyncRun) -> list[str]:
    return [line[10:].strip() for line in r.itemized if line.startswith("*deleting")]


def _bad_deletes(ix: TraceIndex, server: str) -> list[tuple[Status, str, list[str]]]:
    removed = {fold(p) for (s, p) in ix.ends if s == server}
    for r in ix.sync_runs.get(server, []):
        for path in _deleted_lines(r):
            if path.endswith("/") or fold(path) in removed:
                continue
            lines = [
                _run_line(ix, r, f" deleted {path} from Windows", first=True),
                f"{ts(r.t)} nothing deleted or renamed {path} on NFS: the export lost it some other way "
                "(a pod restart emptied it?)",
            ]
            return [
                ("invalid", f"{server}: a sync deleted {path} from Windows though the export never deleted it", lines)
            ]
    return []


def overwritten_edits(ix: TraceIndex, server: str) -> list[tuple[WriteClosed, FileSynced]]:
    """Windows-side writes a sync replaced with other content before anything carried them to NFS."""
    out: list[tuple[WriteClosed, FileSynced]] = []
    sync = ix.sync_container.get(server)
    for e in ix.win_writes:
        if e.server != server:
            continue
        key = (server, fold(e.path))
        nxt = _first_after(ix.win_changes.get(key, []), e.t)
        limit = nxt[0] if nxt is not None else float("inf")
        carried = any(fs.t > e.t and fs.content == e.content for fs in ix.synced_nfs.get((server, e.path), []))
        if carried:
            continue
        for fs in ix.synced.get(key, []):
            if e.t < fs.t < limit and fs.container == sync:
                if fs.content != e.content or fs.size != e.size:
                    out.append((e, fs))
                break
    return out


def _overwritten_edits(ix: TraceIndex, server: str) -> list[tuple[Status, str, list[str]]]:
    hits = overwritten_edits(ix, server)
    if not hits:
        return []
    e, fs = hits[0]
    run = ix.run_of(fs)
    lines = [
        f"{ts(e.t)} {server}: {e.path} Windows edit v{e.version} closed on Windows ({e.size} bytes)",
        f"{ts(fs.t)} sync run {run.run if run else fs.run} copied the export's "
        f"{_describe(ix, server, fs.size, fs.content, fs.path)} over it: the Windows edit is lost",
    ]
    return [("invalid", f"{server}: {plural(len(hits), 'Windows-side edit')} overwritten by the sidecar", lines)]


# ---------------------------------------------------------------------------
# All of them

#: The checks in report order, by name.
CHECKS = ("latency-bound", "loop-freedom", "convergence", "no-loss")


def check_invariants(trace: Trace | TraceIndex, *, latency_bound: float | None = None) -> list[Verdict]:
    """Every invariant check, in a stable order, sharing one index of the trace."""
    ix = index(trace)
    return [
        _latency(ix, latency_bound),
        _loops(ix, 2, 2),
        check_convergence(ix),
        check_no_loss(ix),
    ]

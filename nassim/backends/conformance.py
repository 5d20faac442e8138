"""The conformance suite: what any backend must do, as ``check_*`` functions.

Each check takes a backend, runs one of two small scenarios on it
(:data:`BASIC`: an input, an output and the backup server, a writer and the
three kinds of probe; :data:`RESTART`: one output server whose pod is deleted
mid-run) and raises :class:`AssertionError` with the offending records when
the backend breaks the contract. A backend object runs each scenario once:
the checks share its trace (cached per backend object, weakly).

Use it in a backend's own tests::

    @pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
    def test_my_backend_conforms(check):
        check(my_backend)

or :func:`check_backend` for all of them. The checks allow wall-clock
backends their noise: times are compared with seconds of slack, never to
the millisecond.
"""

from __future__ import annotations

import re
import weakref
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import NoReturn

from nassim.backends.base import Backend
from nassim.scenario import (
    ClusterSpec,
    NfsToWindowsProbe,
    NoSidecarProbe,
    PodDelete,
    Scenario,
    SidecarRunningProbe,
    Size,
    TopologySpec,
    WindowsSpec,
    Writer,
)
from nassim.trace import (
    ContainerState,
    FaultInjected,
    FileDeleted,
    FileRenamed,
    FileSynced,
    LogLine,
    PodPhase,
    ProbeResult,
    Record,
    RsyncRun,
    ServerConfig,
    Trace,
    TreeState,
    WriteClosed,
)

__all__ = [
    "BASIC",
    "CHECKS",
    "RESTART",
    "check_backend",
    "check_init_seeds_export",
    "check_pod_delete_restarts_pod",
    "check_pods_start",
    "check_probes_reported",
    "check_records_time_ordered",
    "check_rsync_runs_well_formed",
    "check_server_configs",
    "check_sidecar_log",
    "check_writes_reach_windows",
]

#: An input, an output and the backup server (interval 5 s, three files on each Windows folder),
#: a writer on the output server, and one probe of each kind.
BASIC = Scenario(
    name="conformance-basic",
    seed=7,
    duration=60.0,
    topology=TopologySpec(servers=("nas-input-1", "nas-output-1", "nas-backup"), interval=5.0),
    windows=WindowsSpec(host="linux", files=3, file_size=2000),
    workloads=(Writer(rate=0.5, process="fixed", size=Size(value=3000), start=2.0, stop=45.0),),
    probes=(
        SidecarRunningProbe(server="nas-output-1", at=15.0),
        NoSidecarProbe(server="nas-input-1", at=15.0),
        NoSidecarProbe(server="nas-backup", at=15.0),
        NfsToWindowsProbe(server="nas-output-1", at=20.0, path="probe/basic.txt", within=30.0),
    ),
)

#: One output server whose pod is deleted at t=25 (grace period 5 s); writes before and after.
RESTART = Scenario(
    name="conformance-restart",
    seed=11,
    duration=70.0,
    topology=TopologySpec(servers=("nas-output-1",), interval=5.0),
    windows=WindowsSpec(host="linux", files=2, file_size=1000),
    cluster=ClusterSpec(grace_period=5.0),
    workloads=(Writer(rate=0.4, process="fixed", size=Size(value=1500), start=1.0, stop=55.0),),
    faults=(PodDelete(server="nas-output-1", at=25.0),),
    probes=(
        NfsToWindowsProbe(server="nas-output-1", at=40.0, path="probe/restart.txt", within=30.0),
        SidecarRunningProbe(server="nas-output-1", at=50.0),
    ),
)

#: Seconds of slack for wall-clock noise (a backend at speed 60 turns 50 ms into 3 s).
SLACK = 5.0

_traces: weakref.WeakKeyDictionary[object, dict[Scenario, Trace]] = weakref.WeakKeyDictionary()


def trace_of(backend: Backend, scenario: Scenario) -> Trace:
    """``backend.run(scenario)``, once per backend object and scenario."""
    try:
        cache = _traces.setdefault(backend, {})
    except TypeError:  # not weakly referenceable: no cache
        return backend.run(scenario)
    if scenario not in cache:
        cache[scenario] = backend.run(scenario)
    return cache[scenario]


def _fail(backend: Backend, scenario: Scenario, what: str, records: Sequence[Record] = ()) -> NoReturn:
    lines = [f"backend {backend.name!r}, scenario {scenario.name!r}: {what}"]
    lines += [f"  {r!r}" for r in records[:8]]
    if len(records) > 8:
        lines.append(f"  ... and {len(records) - 8} more")
    raise AssertionError("\n".join(lines))


def _servers(scenario: Scenario) -> list[str]:
    return list(scenario.load_topology().names)


# ---------------------------------------------------------------------------


def check_records_time_ordered(backend: Backend) -> None:
    """Records are in time order, from 0 to about the scenario's duration."""
    for s in (BASIC, RESTART):
        tr = trace_of(backend, s)
        if not tr.records:
            _fail(backend, s, "the trace is empty")
        for a, b in zip(tr.records, tr.records[1:]):
            if b.t < a.t:
                _fail(backend, s, "records out of time order", [a, b])
        bad = [r for r in tr.records if not 0 <= r.t <= s.duration + SLACK]
        if bad:
            _fail(backend, s, f"records outside [0, duration + {SLACK:g} s]", bad)


def check_server_configs(backend: Backend) -> None:
    """One ServerConfig per server at t=0, saying what the topology says."""
    for s in (BASIC, RESTART):
        tr = trace_of(backend, s)
        configs = tr.of(ServerConfig)
        for server in s.load_topology():
            mine = [c for c in configs if c.server == server.name]
            if len(mine) != 1:
                _fail(backend, s, f"{len(mine)} ServerConfig records for {server.name} (expected 1)", mine)
            c = mine[0]
            sc = server.sidecar
            want = (
                server.role.value,
                server.init.name,
                tuple(server.init.rsync_args),
                sc.name if sc else None,
                tuple(sc.rsync_args) if sc else (),
                sc.interval if sc else None,
            )
            got = (c.role, c.init, tuple(c.init_args), c.sidecar, tuple(c.sidecar_args), c.interval)
            if got != want or c.t != 0:
                _fail(backend, s, f"{server.name}: ServerConfig {got} at t={c.t} (expected {want} at t=0)", [c])


def check_pods_start(backend: Backend) -> None:
    """Every pod goes Pending -> Running, after its init container completed with exit 0."""
    s = BASIC
    tr = trace_of(backend, s)
    for server in s.load_topology():
        phases = [p for p in tr.of(PodPhase) if p.server == server.name]
        names = [p.phase for p in phases]
        if names[:2] != ["Pending", "Running"]:
            _fail(backend, s, f"{server.name}: pod phases {names} (expected Pending, Running)", phases)
        running = phases[1]
        states = [c for c in tr.of(ContainerState) if c.server == server.name and c.pod == running.pod]
        done = [
            c for c in states
            if c.container == server.init.name and c.state == "terminated" and c.exit_code == 0 and c.t <= running.t
        ]
        if not done:
            _fail(backend, s, f"{server.name}: no init container completed (exit 0) before the pod ran", states)
        nfs = [c for c in states if c.container == server.nfs.name and c.state == "running"]
        if not nfs:
            _fail(backend, s, f"{server.name}: the NFS server container never ran", states)


def check_init_seeds_export(backend: Backend) -> None:
    """After the init container, each export holds exactly its Windows folder's files."""
    s = BASIC
    tr = trace_of(backend, s)
    for server in _servers(s):
        init = [t for t in tr.of(TreeState) if t.server == server and t.moment == "init"]
        nfs = [t for t in init if t.side == "nfs"]
        win = [t for t in init if t.side == "windows"]
        if not nfs or not win:
            _fail(backend, s, f"{server}: no TreeState of both sides after the init container", init)
        if nfs[0].files() != win[0].files() or len(nfs[0].entries) != s.windows.files:
            _fail(backend, s, f"{server}: export after the init container differs from Windows", [nfs[0], win[0]])


_BANNER = (
    "=== NAS {server} Sync Sidecar Starting ===",
    "Sync interval: {interval}s",
    "Direction: NFS export -> Windows mount",
)
_RUN_LINE = re.compile(
    r"^\[\d\d:\d\d:\d\d\] (Synced to Windows in \d+\.\d\ds|Sync to Windows failed \(rsync exit \d+\))$"
)


def check_sidecar_log(backend: Backend) -> None:
    """A sidecar's log starts with the manifest's three banner lines, then one line per run;
    servers without a sidecar log nothing from one."""
    s = BASIC
    tr = trace_of(backend, s)
    logs = tr.of(LogLine)
    for server in s.load_topology():
        mine = [r for r in logs if r.server == server.name]
        if server.sidecar is None:
            if any(r.container == "sync-to-windows" for r in mine):
                _fail(backend, s, f"{server.name} has no sidecar but logs from one", mine)
            continue
        iv = server.sidecar.interval
        want = [b.format(server=server.name, interval=int(iv) if iv.is_integer() else iv) for b in _BANNER]
        got = [r.line for r in mine[:3]]
        if got != want:
            _fail(backend, s, f"{server.name}: sidecar banner {got} (expected {want})", mine[:3])
        runs = [r for r in mine[3:] if _RUN_LINE.match(r.line)]
        odd = [r for r in mine[3:] if not _RUN_LINE.match(r.line)]
        if odd:
            _fail(backend, s, f"{server.name}: sidecar log lines that are neither banner nor run lines", odd)
        if len(runs) < 3:
            _fail(backend, s, f"{server.name}: {len(runs)} run lines in {s.duration:g} s at a 5 s interval", mine)


_ITEM = re.compile(r"^([<>ch.][fdLDS][.+?a-zA-Z ]{9}|\*deleting  ) .+$")


def check_rsync_runs_well_formed(backend: Backend) -> None:
    """Every rsync run has itemized lines in rsync's ``-i`` format, one FileSynced per file it
    transferred, inside the run's time span; sidecar runs happen on output servers only."""
    for s in (BASIC, RESTART):
        tr = trace_of(backend, s)
        runs = tr.of(RsyncRun)
        topo = s.load_topology()
        sidecars = {sv.name: sv.sidecar.name for sv in topo if sv.sidecar is not None}
        by_run: dict[tuple[str, str, int], list[FileSynced]] = defaultdict(list)
        for fs in tr.of(FileSynced):
            by_run[(fs.server, fs.container, fs.run)].append(fs)
        seen: set[tuple[str, str, int]] = set()
        for r in runs:
            key = (r.server, r.container, r.run)
            if key in seen:
                _fail(backend, s, f"two runs numbered {r.run} of {r.container} on {r.server}", [r])
            seen.add(key)
            if r.duration < 0:
                _fail(backend, s, "a run with a negative duration", [r])
            bad = [line for line in r.itemized if not _ITEM.match(line)]
            if bad:
                _fail(backend, s, f"itemized lines not in rsync's -i format: {bad[:3]}", [r])
            files = by_run.get(key, [])
            if len(files) != r.transferred:
                _fail(backend, s, f"run says {r.transferred} files transferred, {len(files)} FileSynced", [r, *files])
            outside = [f for f in files if not r.t - 1e-6 <= f.t <= r.t + r.duration + 1e-6]
            if outside:
                _fail(backend, s, "FileSynced outside its run's time span", [r, *outside])
            if r.container not in (sidecars.get(r.server), topo.server(r.server).init.name):
                _fail(backend, s, f"a run of container {r.container!r}, which {r.server} does not have", [r])
        orphans = [fs for key, f in by_run.items() if key not in seen for fs in f]
        if orphans:
            _fail(backend, s, "FileSynced records of no recorded run", orphans)
        for server in sidecars:
            n = sum(1 for r in runs if r.server == server and r.container == sidecars[server])
            if n < 3:
                _fail(backend, s, f"{server}: {n} sidecar runs in {s.duration:g} s at a 5 s interval")


def _explained(tr: Trace, w: WriteClosed) -> bool:
    """A later write, delete or rename of the path on NFS, or the pod going away, explains a write
    that never reached Windows."""
    for r in tr.records:
        if r.t < w.t or r.server != w.server:
            continue
        if isinstance(r, WriteClosed) and r.side == "nfs" and r.path == w.path and r.content != w.content:
            return True
        if isinstance(r, FileDeleted | FileRenamed) and r.side == "nfs" and r.path == w.path:
            return True
        if isinstance(r, PodPhase) and r.phase == "Terminating":
            return True
    return False


def check_writes_reach_windows(backend: Backend) -> None:
    """Every write closed on an output export reaches Windows with its content and size, or is
    explained (replaced, deleted, its pod deleted, or closed too near the end to judge)."""
    for s in (BASIC, RESTART):
        tr = trace_of(backend, s)
        end = max(r.t for r in tr.records)
        runs = [r for r in tr.of(RsyncRun) if r.container == "sync-to-windows"]
        worst = max((r.duration for r in runs), default=0.0)
        margin = 2 * 5.0 + 2 * worst + SLACK
        synced = [fs for fs in tr.of(FileSynced) if fs.side == "windows"]
        writes = [w for w in tr.of(WriteClosed) if w.side == "nfs"]
        if not writes:
            _fail(backend, s, "no write closed on NFS")
        missing = []
        for w in writes:
            hit = any(
                fs.server == w.server and fs.path == w.path and fs.content == w.content and fs.size == w.size
                and fs.t >= w.t - 1e-6
                for fs in synced
            )
            if not hit and w.t < end - margin and not _explained(tr, w):
                missing.append(w)
        if missing:
            _fail(backend, s, f"{len(missing)} closed writes never reached Windows, unexplained", missing)


def check_probes_reported(backend: Backend) -> None:
    """Each probe yields exactly one ProbeResult (server, type); the easy probes of BASIC pass."""
    for s in (BASIC, RESTART):
        tr = trace_of(backend, s)
        results = tr.of(ProbeResult)
        for p in s.probes:
            mine = [r for r in results if r.server == p.server and r.probe == p.type]
            expected = sum(1 for q in s.probes if q.server == p.server and q.type == p.type)
            if len(mine) != expected:
                _fail(backend, s, f"{len(mine)} ProbeResults for {p.type} on {p.server} (expected {expected})", mine)
        if s is BASIC:
            failed = [r for r in results if not r.passed]
            if failed:
                _fail(backend, s, "probes failed that any backend must pass", failed)
            nfs = [r for r in results if r.probe == "nfs-to-windows"]
            if any(r.value is None or r.value < 0 for r in nfs):
                _fail(backend, s, "an NFS-to-Windows probe without its measured latency", nfs)


def check_pod_delete_restarts_pod(backend: Backend) -> None:
    """A deleted pod is Terminating at the fault, Deleted after the grace period (the sidecar ran
    through it), and a new pod starts at once and reruns the init container, which brings back
    what the old sidecar had copied to Windows."""
    s = RESTART
    tr = trace_of(backend, s)
    fault = s.faults[0]
    assert isinstance(fault, PodDelete)
    injected = [f for f in tr.of(FaultInjected) if f.fault == "pod-delete"]
    if len(injected) != 1 or abs(injected[0].t - fault.at) > SLACK:
        _fail(backend, s, f"expected one pod-delete fault near t={fault.at:g}", injected)
    t = injected[0].t
    phases = tr.of(PodPhase)
    old = injected[0].detail
    old_phases = [p.phase for p in phases if p.pod == old]
    if old_phases != ["Pending", "Running", "Terminating", "Deleted"]:
        _fail(backend, s, f"the deleted pod {old}'s phases: {old_phases}", [p for p in phases if p.pod == old])
    deleted = next(p for p in phases if p.pod == old and p.phase == "Deleted")
    grace = s.cluster.grace_period
    if not t + grace - 1.0 <= deleted.t <= t + grace + SLACK:
        _fail(backend, s, f"Deleted at t={deleted.t:.1f}, not about the grace period ({grace:g} s) after t={t:.1f}",
              [deleted])
    new = [p for p in phases if p.t >= t and p.pod != old]
    if [p.phase for p in new][:2] != ["Pending", "Running"]:
        _fail(backend, s, "no replacement pod went Pending -> Running after the delete", new)
    init_name = s.load_topology().server(fault.server).init.name
    reruns = [r for r in tr.of(RsyncRun) if r.container == init_name and r.t >= t]
    if not reruns or reruns[0].exit_code != 0:
        _fail(backend, s, "the replacement pod's init container did not run (exit 0)", reruns)
    trees = [x for x in tr.of(TreeState) if x.moment == "init" and x.t >= t]
    nfs = next((x for x in trees if x.side == "nfs"), None)
    win = next((x for x in trees if x.side == "windows"), None)
    if nfs is None or win is None:
        _fail(backend, s, "no TreeState of both sides after the replacement's init container", trees)
    if nfs.files() != win.files():
        _fail(backend, s, "the new export after its init container is not the Windows folder", [nfs, win])
    synced_before = {fs.path for fs in tr.of(FileSynced) if fs.side == "windows" and fs.t < t}
    lost = sorted(synced_before - set(nfs.files()))
    if lost:
        _fail(backend, s, f"files copied to Windows before the delete did not come back: {lost[:5]}", [nfs])


#: Every check, in the order :func:`check_backend` runs them.
CHECKS: tuple[Callable[[Backend], None], ...] = (
    check_records_time_ordered,
    check_server_configs,
    check_pods_start,
    check_init_seeds_export,
    check_sidecar_log,
    check_rsync_runs_well_formed,
    check_writes_reach_windows,
    check_probes_reported,
    check_pod_delete_restarts_pod,
)


def check_backend(backend: Backend) -> None:
    """Run every check of the suite on ``backend``; the first failure raises AssertionError."""
    for check in CHECKS:
        check(backend)

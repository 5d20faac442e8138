"""The fake cluster on simpy: the NAS pods, their init containers and sidecars,
the workloads and the faults of a scenario, in virtual time.

Kubernetes rules follow ``shared/reference/kubernetes-minikube-nfs.md`` (§ numbers
below); every rsync run calls :func:`nassim.rsync.run`, the core model, and
lasts what :class:`nassim.costs.CostModel` says it lasts.

Timing of a run: the model decides the whole run at its start ``t0`` and the
trees change then; each file's ``FileSynced`` record carries the time rsync
reaches it (``t0`` plus the cost of the work before it), and a file still
being written is read as it is at that time (a torn copy). A kill scheduled
inside the run stops it after the transfers that finish before the kill.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
from collections.abc import Generator, Iterable
from typing import Any

import attrs
import simpy

from nassim import rsync
from nassim.cluster.state import BatchedWriter, Container, ContainerKind, OpenWrite, Pod, ServerState, Side
from nassim.costs import LOCAL_DISK, NINEP_WINDOWS, CostModel, Medium, SyncCosts
from nassim.rsync import Interrupt, RsyncResult
from nassim.scenario import (
    ContainerKill,
    Deleter,
    MountLoss,
    NfsToWindowsProbe,
    NoSidecarProbe,
    PodDelete,
    Reader,
    Renamer,
    Scenario,
    SidecarCrash,
    SidecarRunningProbe,
    Size,
    WindowsEditor,
    Writer,
)
from nassim.topology import ExportKind, Role, Server, Sidecar, Topology
from nassim.trace import (
    ContainerState,
    FaultInjected,
    FileDeleted,
    FileRenamed,
    FileSynced,
    FileVisible,
    LogLine,
    PodPhase,
    ProbeResult,
    Record,
    RsyncRun,
    ServerConfig,
    Trace,
    TreeState,
    WriteClosed,
    WriteOpened,
)
from nassim.tree import File, FileTree, OwnerSupport, Volume

__all__ = ["Simulation", "sidecar_backoff", "simulate"]

Proc = Generator[simpy.Event, Any, Any]

RESET_AFTER = 600.0  # §1: the back-off counter resets after 10 minutes of running
INSTANT = 1e-3  # writes shorter than this are modelled as instantaneous (no close event)


class _CountingEnvironment(simpy.Environment):
    """A simpy environment that counts the events it schedules (for the speed benchmark)."""

    events = 0

    def schedule(self, event: simpy.Event, priority: int = 1, delay: float = 0) -> None:
        self.events += 1
        super().schedule(event, priority, delay)  # type: ignore[arg-type]


def sidecar_backoff(restart: int) -> float:
    """Seconds the kubelet waits before restart number ``restart`` (1-based), §1:
    near-immediate, then 10, 20, 40, 80, 160, capped at 300."""
    if restart <= 1:
        return 0.0
    return float(min(10 * 2 ** (restart - 2), 300))


def windows_volume(s: Scenario) -> tuple[Volume, Medium]:
    """The Windows folder's traits and costs for the scenario's host."""
    w = s.windows
    if w.host == "windows":
        vol = Volume.windows_9p()
    else:
        vol = Volume(mtime_resolution_ns=10**9, owners=OwnerSupport.IGNORED)
    if w.case_sensitive is not None:
        vol = attrs.evolve(vol, case_sensitive=w.case_sensitive)
    if w.can_set_times is not None:
        vol = attrs.evolve(vol, can_set_times=w.can_set_times)
    if w.owners is not None:
        vol = attrs.evolve(vol, owners=OwnerSupport(w.owners))
    if w.mtime_resolution is not None:
        vol = attrs.evolve(vol, mtime_resolution_ns=max(1, round(w.mtime_resolution * 10**9)))
    medium = NINEP_WINDOWS
    if w.stat_ms is not None:
        medium = attrs.evolve(medium, stat_s=w.stat_ms / 1000)
    if w.mb_per_s is not None:
        medium = attrs.evolve(medium, byte_s=1 / (w.mb_per_s * 1e6))
    return vol, medium


class Simulation:
    """One run of a scenario on the fake cluster. :meth:`run` returns the trace."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        topology: Topology | None = None,
        summary: bool = False,
        batch_writes: bool = True,
        incremental: bool = True,
        costs: SyncCosts | None = None,
    ) -> None:
        """``summary=True`` keeps per-write facts out of the trace (no WriteOpened, WriteClosed
        or FileSynced records) and measures each write's latency as it happens into
        :attr:`latencies`: for month-long runs whose trace would not fit in memory.

        ``batch_writes=False`` gives every write of a Poisson writer its own simpy event;
        by default such writers are applied in batches when something looks at their
        server, with the same trace (:attr:`batched_events` counts the events saved).

        ``incremental=False`` makes every sidecar run look at the whole tree; by default a
        run looks only at the paths that changed since the last one (the same trace).

        ``costs`` prices the runs instead of the scenario's Windows host (which
        implies local disk to its medium and back, :func:`windows_volume`), and adds
        its ``loop_s`` to every sidecar cycle: :class:`nassim.costs.SyncCosts`, e.g.
        the local backend's folders at its speed (:class:`nassim.compare.LocalModel`)."""
        self.s = scenario
        self.summary = summary
        self.batch_writes = batch_writes
        self.incremental = incremental
        #: Events the per-write path would have scheduled for the writers applied in batches.
        self.batched_events = 0
        self._options: dict[tuple[str, ...], rsync.RsyncOptions] = {}
        self.latencies: list[float] = []
        self.topology = topology if topology is not None else scenario.load_topology()
        self.env = _CountingEnvironment()
        self.trace = Trace(seed=scenario.seed, params={"scenario": scenario.name, "summary": summary})
        self.start_ns = scenario.start_ns
        self.win_volume, self.win_medium = windows_volume(scenario)
        self.costs = costs if costs is not None else SyncCosts.between(self.win_medium, LOCAL_DISK)
        self.sidecar_cost = self.costs.sidecar
        self.init_cost = self.costs.init
        self.cpu_cost = CostModel(src=LOCAL_DISK, dst=LOCAL_DISK)
        self.mount_up: dict[str, bool] = {}
        self.mount_epoch: dict[str, int] = {}
        self.servers: dict[str, ServerState] = {}
        self.pulled = False
        self._seq = 0
        self._content = 0
        self.probe_writes: list[tuple[NfsToWindowsProbe, float, int]] = []
        for server in self.topology:
            self.servers[server.name] = ServerState(server=server, windows=self._initial_windows(server), export=None)
            self.mount_up[server.name] = True
            self.mount_epoch[server.name] = 0

    # --- helpers ----------------------------------------------------------------------

    def rng(self, name: str) -> random.Random:
        """A named sub-stream of the scenario's seed (str seeds hash with SHA-512: stable in any process)."""
        return random.Random(f"{self.s.seed}:{name}")

    def vm_ns(self, t: float | None = None) -> int:
        return self.start_ns + round((self.env.now if t is None else t) * 1e9)

    def host_ns(self, t: float | None = None) -> int:
        return self.vm_ns(t) + round(self.s.windows.clock_offset * 1e9)

    def clock(self, t: float | None = None) -> str:
        return time_of_day(self.vm_ns(t))

    @property
    def events(self) -> int:
        """Events simpy has scheduled so far."""
        return self.env.events

    def record(self, r: Record) -> None:
        self.trace.add(r)

    def record_write(self, r: WriteOpened | WriteClosed) -> None:
        if not self.summary:
            self.trace.add(r)
        elif isinstance(r, WriteClosed) and r.side == "nfs":
            self.servers[r.server].unsynced[r.path] = (r.t, r.content, r.size)

    def new_content(self, rng: random.Random) -> int:
        return rng.getrandbits(62)

    def _initial_windows(self, server: Server) -> Side:
        t = FileTree(self.start_ns - 86_400 * 10**9)
        side = Side(tree=t, volume=self.win_volume, medium=self.win_medium)
        w = self.s.windows
        if w.files:
            rng = self.rng(f"windows-files:{server.name}")
            mtime = self.start_ns - 3_600 * 10**9
            for i in range(w.files):
                path = f"data/d{i // 100:04d}/f{i:06d}.dat"
                side.ensure_dirs(path, mtime)
                side.put_file(path, File(w.file_size, self.win_volume.stored_mtime(mtime), rng.getrandbits(62)))
        return side

    def reachable(self, st: ServerState, pod: Pod) -> bool:
        """The pod sees the Windows folder: its mount is up and it is the mount the pod started with (§3)."""
        name = st.server.name
        return self.mount_up[name] and pod.mount_epoch == self.mount_epoch[name]

    # --- pods ---------------------------------------------------------------------------

    def create_pod(self, st: ServerState) -> Pod:
        self.flush_writes(st)
        server = st.server
        st.incarnation += 1
        if server.export is ExportKind.PERSISTENT and st.export is not None:
            export = st.export
        else:
            # §2: an emptyDir is created empty when the pod is bound, and is gone with the pod.
            export = Side(tree=FileTree(self.vm_ns()), volume=Volume.linux(), medium=LOCAL_DISK)
        containers = {server.init.name: Container(server.init.name, ContainerKind.INIT)}
        if server.sidecar is not None:
            containers[server.sidecar.name] = Container(server.sidecar.name, ContainerKind.SIDECAR)
        if server.reverse is not None:
            containers[server.reverse.name] = Container(server.reverse.name, ContainerKind.SIDECAR)
        containers[server.nfs.name] = Container(server.nfs.name, ContainerKind.APP)
        pod = Pod(
            name=f"{server.name}-{st.incarnation}",
            server=server.name,
            export=export,
            containers=containers,
            mount_epoch=self.mount_epoch[server.name] if self.mount_up[server.name] else -1,
        )
        st.pod, st.export = pod, export
        st.pending.clear()
        st.open_writes.clear()
        st.serving_event = self.env.event()
        self.record(PodPhase(self.env.now, server.name, pod.name, "Pending"))
        self.env.process(self.lifecycle(st, pod))
        return pod

    def set_state(self, pod: Pod, c: Container, state: str, reason: str = "", exit_code: int | None = None) -> None:
        c.state, c.reason, c.exit_code = state, reason, exit_code
        if state == "running":
            c.started_at = self.env.now
        self.record(
            ContainerState(self.env.now, pod.server, pod.name, c.name, state, reason, exit_code, c.restarts)
        )

    def lifecycle(self, st: ServerState, pod: Pod) -> Proc:
        """§1: scheduling, image pull, init containers in declaration order (a native sidecar
        only has to start), then the NFS server."""
        cl = self.s.cluster
        yield self.env.timeout(cl.schedule_delay)
        if not self.pulled:
            self.pulled = True
            yield self.env.timeout(cl.image_pull)
        for spec in st.server.init_containers:
            if pod.terminating:
                return
            c = pod.containers[spec.name]
            if c.kind is ContainerKind.SIDECAR:
                yield self.env.timeout(cl.container_start)
                assert isinstance(spec, Sidecar)
                c.process = self.env.process(self.sidecar(st, pod, c, spec))
            else:
                done = yield self.env.process(self.init_container(st, pod, c))
                if not done:
                    return
        if pod.terminating:
            return
        nfs = pod.containers[st.server.nfs.name]
        yield self.env.timeout(cl.container_start)
        if pod.terminating:
            return
        self.set_state(pod, nfs, "running")
        self.start_serving(st, pod)
        pod.phase = "Running"
        self.record(PodPhase(self.env.now, pod.server, pod.name, "Running"))

    def start_serving(self, st: ServerState, pod: Pod) -> None:
        self.flush_writes(st)
        pod.serving = True
        if st.serving_event is not None and not st.serving_event.triggered:
            st.serving_event.succeed()

    def stop_serving(self, st: ServerState, pod: Pod) -> None:
        self.flush_writes(st)
        pod.serving = False
        if st.pod is pod:
            st.serving_event = self.env.event()

    def init_container(self, st: ServerState, pod: Pod, c: Container) -> Proc:
        """The one-shot seed copy, Windows -> export, retried with back-off while it fails (§1, §5)."""
        cl = self.s.cluster
        server = st.server
        restarts = 0
        while True:
            yield self.env.timeout(cl.container_start)
            if pod.terminating:
                return False
            self.set_state(pod, c, "running")
            self.flush_writes(st)
            src = st.windows.tree if self.reachable(st, pod) else None
            result = rsync.run(
                src,
                pod.export.tree,
                self.options(server.init.rsync_args),
                now_ns=self.vm_ns(),
                dst_volume=pod.export.volume,
                in_place=True,
                seed=self._next_seed(),
            )
            duration = self.init_cost.seconds(result.stats)
            self.record_run(st, pod, c.name, result, duration, side="nfs")
            self.changed_by_run(st, pod.export, result)
            yield self.env.timeout(duration)
            if pod.terminating:
                return False
            if result.exit_code == 0:
                self.set_state(pod, c, "terminated", "Completed", 0)
                self.flush_writes(st)
                self.record_trees(st, pod.export, "init")
                return True
            # §5: a one-shot init container fails on exit 23 or 24 and blocks the pod.
            self.set_state(pod, c, "terminated", "Error", result.exit_code)
            restarts += 1
            c.restarts = restarts
            delay = sidecar_backoff(restarts)
            if delay:
                self.set_state(pod, c, "waiting", "CrashLoopBackOff")
                yield self.env.timeout(delay)

    def sidecar(self, st: ServerState, pod: Pod, c: Container, spec: Sidecar) -> Proc:
        """A native sidecar: restarted on any exit (§1), with back-off."""
        reverse = spec is st.server.reverse
        streak = 0
        while True:
            self.set_state(pod, c, "running")
            for line in (
                f"=== NAS {st.server.name} {'Reverse ' if reverse else ''}Sync Sidecar Starting ===",
                f"Sync interval: {_secs(spec.interval)}s",
                "Direction: Windows mount -> NFS export" if reverse else "Direction: NFS export -> Windows mount",
            ):
                self.record(LogLine(self.env.now, pod.server, pod.name, c.name, line))
            try:
                exit_code = yield from self.sync_loop(st, pod, c, spec)
            except simpy.Interrupt as stop:
                exit_code = int(stop.cause[1]) if isinstance(stop.cause, tuple) else 137
            ran = self.env.now - (c.started_at or self.env.now)
            self.set_state(pod, c, "terminated", "Error" if exit_code else "Completed", exit_code)
            if pod.terminating and pod.kill_at is not None and self.env.now >= pod.kill_at:
                return
            streak = 1 if ran >= RESET_AFTER else streak + 1
            c.restarts += 1
            delay = sidecar_backoff(streak)
            try:
                if delay:
                    self.set_state(pod, c, "waiting", "CrashLoopBackOff")
                    yield self.env.timeout(delay)
                if pod.terminating and pod.kill_at is not None and self.env.now >= pod.kill_at:
                    return
                yield self.env.timeout(self.s.cluster.container_start)
            except simpy.Interrupt:
                # Faults only hit a running container; what reaches a waiting one is the pod's end.
                return

    def sync_loop(self, st: ServerState, pod: Pod, c: Container, sidecar: Sidecar) -> Proc:
        """``while true; rsync -av /nfs-data/ /windows-mount/; sleep $INTERVAL; done``."""
        reverse = sidecar is st.server.reverse
        where = "from Windows" if reverse else "to Windows"
        full = True  # a new container's first run looks at everything
        while True:
            if c.pending_crashes:
                c.pending_crashes -= 1
                yield self.env.timeout(1.0)
                return 1
            t0 = self.env.now
            result, duration = self.sidecar_run(st, pod, c, full, sidecar)
            full = result.killed or result.exit_code not in (0, 23, 24) or not self.incremental
            yield self.env.timeout(duration)
            if result.exit_code == 0:
                line = f"[{self.clock()}] Synced {where} in {self.env.now - t0:.2f}s"
            else:
                line = f"[{self.clock()}] Sync {where} failed (rsync exit {result.exit_code})"
            self.record(LogLine(self.env.now, pod.server, pod.name, c.name, line))
            yield self.env.timeout(sidecar.interval + self.costs.loop_s)

    def sidecar_run(
        self, st: ServerState, pod: Pod, c: Container, full: bool, sidecar: Sidecar
    ) -> tuple[RsyncResult, float]:
        """One rsync run of a sidecar, decided at its start (see the module docstring)."""
        self.flush_writes(st)
        if sidecar is st.server.reverse:
            return self.reverse_run(st, pod, c, full, sidecar)
        t0 = self.env.now
        export, windows = pod.export, st.windows
        # The scan sees files being written as they are now.
        for ow in st.open_writes.values():
            cur = export.tree.get(ow.path)
            if isinstance(cur, File) and cur.content == ow.content:
                export.tree[ow.path] = File(ow.size_at(t0), self.vm_ns(t0), ow.content)
        if pod is not st.pod:
            # A deleted pod's sidecar still runs during the grace period (§1), over its own
            # emptyDir; st.pending tracks the replacement's export, so look at everything.
            changed = None
        else:
            changed = None if full else list(st.pending)
            st.pending.clear()
        reachable = self.reachable(st, pod)
        torn: set[str] = set()
        base = self.sidecar_cost.scan_seconds(export.entries) - self.sidecar_cost.startup_s

        def read_source(path: str, scanned: File, progress: rsync.RsyncStats) -> File | None:
            ow = st.open_writes.get(path)
            if ow is None or ow.content != scanned.content:
                return scanned
            t_read = t0 + self.elapsed(progress, base)
            size = ow.size_at(t_read)
            if size == scanned.size:
                return scanned
            if size < ow.size:
                torn.add(path)
            return File(size, scanned.mtime_ns, ow.content)

        kwargs: dict[str, Any] = dict(
            # Files the Windows host stamps itself (it cannot take rsync's times) get its clock.
            now_ns=self.host_ns(t0),
            dst_volume=windows.volume,
            # With nothing being written every file reads as scanned: no need to ask (it costs
            # the engine a progress snapshot per transferred file).
            read_source=read_source if st.open_writes else None,
            seed=self._next_seed(),
            dst_reachable=reachable,
            changed=changed,
        )
        kill = self.next_kill(pod, c, t0)
        interrupt = None
        if kill is not None:
            probe = rsync.run(export.tree, windows.tree, self.options((*sidecar.rsync_args, "-n")), **kwargs)
            if t0 + self.elapsed(probe.stats, base) > kill:
                done = sum(1 for tr in probe.transfers if t0 + self.elapsed(tr.done, base) <= kill)
                interrupt = Interrupt(after_transfers=done, signal="KILL")
            torn.clear()
        result = rsync.run(
            export.tree, windows.tree, self.options(sidecar.rsync_args), in_place=True, interrupt=interrupt, **kwargs
        )
        duration = self.elapsed(result.stats, base)
        if result.killed and kill is not None:
            duration = max(kill - t0, 0.0)
        st.runs += 1
        scanned = max(result.stats.scanned, export.entries)
        scan_first = base + self.sidecar_cost.startup_s  # elapsed() before the first transfer
        self.record_run(
            st, pod, c.name, result, duration, side="windows", torn=torn, t0=t0, scanned=scanned, scan_first=scan_first
        )
        # What the run settled needs no look from this sidecar's next run, unless the run
        # was a deleted pod's: the replacement's sidecar syncs another export (§1).
        self.changed_by_run(st, windows, result, st.pending if pod is st.pod else None)
        return result, duration

    def reverse_run(
        self, st: ServerState, pod: Pod, c: Container, full: bool, sidecar: Sidecar
    ) -> tuple[RsyncResult, float]:
        """One run of the deferred Windows -> NFS sidecar (the source is the 9p mount)."""
        t0 = self.env.now
        export, windows = pod.export, st.windows
        if pod is not st.pod:
            changed = None
        else:
            changed = None if full else list(st.pending_rev)
            st.pending_rev.clear()
        src = windows.tree if self.reachable(st, pod) else None
        result = rsync.run(
            src,
            export.tree,
            self.options(sidecar.rsync_args),
            now_ns=self.vm_ns(t0),
            dst_volume=export.volume,
            seed=self._next_seed(),
            changed=changed,
            in_place=True,
        )
        charged = attrs.evolve(
            result.stats, scanned=windows.entries, dst_stat=max(result.stats.dst_stat, windows.entries)
        )
        duration = self.init_cost.seconds(charged)
        scan_first = duration - self.init_cost.work_seconds(charged)
        st.runs += 1
        self.record_run(
            st, pod, c.name, result, duration, side="nfs", t0=t0, scanned=charged.scanned, scan_first=scan_first
        )
        self.changed_by_run(st, export, result, st.pending_rev if pod is st.pod else None)
        return result, duration

    def options(self, args: tuple[str, ...]) -> rsync.RsyncOptions:
        """``args`` parsed once (a sidecar passes the same arguments every run)."""
        opts = self._options.get(args)
        if opts is None:
            opts = self._options[args] = rsync.parse_args(args)
        return opts

    def elapsed(self, stats: rsync.RsyncStats, scan_base: float) -> float:
        """Seconds from a run's start until it has done ``stats``: the whole tree is scanned
        (charged up front through ``scan_base``, whatever the incremental path visited)."""
        return scan_base + self.sidecar_cost.startup_s + self.sidecar_cost.work_seconds(stats)

    def next_kill(self, pod: Pod, c: Container, t0: float) -> float | None:
        """The next known moment this sidecar will be killed (a scheduled fault or the grace period's end)."""
        times = [pod.kill_at] if pod.kill_at is not None else []
        for f in self.s.faults:
            if getattr(f, "server", None) != pod.server or f.at < t0:
                continue
            if (isinstance(f, ContainerKill) and f.container == c.name and f.signal == "KILL") or isinstance(
                f, SidecarCrash
            ):
                times.append(f.at)
        return min(times) if times else None

    def record_run(
        self,
        st: ServerState,
        pod: Pod,
        container: str,
        result: RsyncResult,
        duration: float,
        *,
        side: str,
        torn: Iterable[str] = (),
        t0: float | None = None,
        scanned: int | None = None,
        scan_first: float | None = None,
    ) -> None:
        """Record one run; ``scanned`` is the scan it was charged (default: what the engine
        looked at). A sidecar's run is charged its whole source, whatever the incremental path
        visited, and pays its start-up and that scan (``scan_first`` seconds) before its first
        transfer; an init container's run (None) pays its scan as it goes."""
        t0 = self.env.now if t0 is None else t0
        st_runs = st.runs
        torn = set(torn)
        self.record(
            RsyncRun(
                t0,
                pod.server,
                container,
                st_runs,
                duration,
                result.exit_code,
                result.stats.transferred,
                result.stats.bytes,
                result.stats.scanned if scanned is None else scanned,
                result.stats.deleted,
                # One string per distinct line (a month of runs repeats the same few thousand).
                tuple(map(sys.intern, result.itemized)),
                result.errors,
            )
        )
        if self.summary:
            if side == "windows":
                assert scan_first is not None
                self.measure_latencies(pod.server, result, t0, scan_first)
            return
        cost = self.sidecar_cost if side == "windows" else self.init_cost
        for tr in result.transfers:
            # scan_first + work, in that order: the floats of elapsed() for a sidecar's run.
            done = tr.done
            when = t0 + (cost.seconds(done) if scan_first is None else scan_first + cost.work_seconds(done))
            content = tr.content if isinstance(tr.content, int) else -1
            self.record(
                FileSynced(when, pod.server, side, tr.path, tr.size, content, container, st_runs, tr.path in torn)
            )

    def measure_latencies(self, server: str, result: RsyncResult, t0: float, scan_first: float) -> None:
        """Summary mode: each write whose exact content a sidecar run copied gets its latency."""
        unsynced = self.servers[server].unsynced
        if not unsynced:
            return
        # self.elapsed(done, base), spelled out with the same operations in the same order
        # (so the same floats): this runs once per write of a month-long run.
        cost = self.sidecar_cost
        src, dst = cost.src, cost.dst
        head = scan_first
        per_byte, per_create, per_delete = src.byte_s + dst.byte_s, dst.create_s, dst.delete_s
        latencies = self.latencies
        for path, size, content, _, counts in result.transfers:
            w = unsynced.get(path)
            # A write's content is a non-negative int: a bytes or digest content never matches it.
            if w is not None and w[1] == content and w[2] == size:
                _, _, transferred, nbytes, deleted, created_dirs, _ = counts  # RsyncStats' fields
                work = per_byte * nbytes + per_create * (transferred + created_dirs) + per_delete * deleted
                latencies.append(t0 + (head + work) - w[0])
                del unsynced[path]

    def changed_by_run(
        self, st: ServerState, side: Side, result: RsyncResult, own: dict[str, None] | None = None
    ) -> None:
        """What a run changed on its destination ``side``: the entry count follows its creations
        and deletions, and every path it itemized (``./`` and deletions aside) is pending for the
        next runs of both directions, except that ``own``, the pending paths of the direction
        that ran, leaves out the paths it settled (``RsyncResult.settled``). One pass over the
        itemized lines: they are one per write."""
        side.forget_dirs()
        pendings = (st.pending, st.pending_rev) if st.server.reverse is not None else (st.pending,)
        settled, itemized = result.settled, result.itemized
        if len(settled) == len(itemized):
            # Every line is a settled file's: each one updated a file that was there (the engine
            # settles nothing else), so the entries stay, and ``own`` needs none of them.
            for pending in pendings:
                if pending is not own:
                    pending.update(dict.fromkeys(settled))
            return
        entries = side.entries
        names: list[str] = []
        for line in itemized:
            if line[1] == "f":
                # A regular file's line (``>f``, ``cf``, ``.f``): most of them, one per write.
                if line[2] == "+":
                    entries += 1
                names.append(line[12:])
                continue
            if line.startswith("*deleting"):
                entries -= 1
                continue
            if line[2:11] == "+++++++++" and line[1] in "dL" and not line.endswith(" ./"):
                entries += 1
            name = line[12:]
            if line[1] == "L":
                name = name.split(" -> ", 1)[0]
            name = name.rstrip("/")
            if name and name != ".":
                names.append(name)
        side.entries = entries
        done = set(settled) if own is not None else set()
        for pending in pendings:
            if pending is own and done:
                pending.update(dict.fromkeys([n for n in names if n not in done]))
            else:
                pending.update(dict.fromkeys(names))

    def _next_seed(self) -> int:
        self._seq += 1
        return self.s.seed * 1_000_003 + self._seq

    # --- workloads ---------------------------------------------------------------------------

    def servers_for(self, names: tuple[str, ...] | None, role: Role | None = Role.OUTPUT) -> list[ServerState]:
        if names is not None:
            return [self.servers[n] for n in names]
        return [st for st in self.servers.values() if role is None or st.server.role is role]

    def wait_serving(self, st: ServerState) -> Proc:
        """NFS clients use hard mounts (§4): a write blocks until a server answers."""
        while st.pod is None or not st.pod.serving:
            assert st.serving_event is not None
            self.flush_writes(st)  # batched writes that arrived first wait ahead of us
            yield st.serving_event

    def draw_size(self, size: Size, rng: random.Random) -> int:
        if size.dist == "fixed":
            return size.value
        if size.dist == "uniform":
            return rng.randint(size.min, max(size.min, size.max))
        return max(0, int(rng.lognormvariate(math.log(max(size.value, 1)), size.sigma)))

    def writer(self, index: int, w: Writer, st: ServerState) -> Proc:
        rng = self.rng(f"writer:{index}:{st.server.name}")
        yield self.env.timeout(w.start)
        n = 0
        while True:
            gap = rng.expovariate(w.rate) if w.process == "poisson" else 1.0 / w.rate
            yield self.env.timeout(gap)
            if w.stop is not None and self.env.now > w.stop:
                return
            n += 1
            name = f"f{(rng.randrange(w.names) if w.names else n):06d}.dat"
            size = self.draw_size(w.size, rng)
            content = self.new_content(rng)
            write = self.write_file(st, w.prefix + name, size, content, size / w.throughput, w.mode, f"writer-{index}")
            if size / w.throughput < INSTANT and st.pod is not None and st.pod.serving:
                yield from write  # nothing to wait for: no process of its own
            else:
                self.env.process(write)

    def can_batch(self, w: Writer) -> bool:
        """A writer whose writes can be applied in batches with the same outcome: Poisson
        arrivals (a tie with another event's time has probability zero, so the order of
        simultaneous events never comes up) and writes too small to take time (each one
        happens entirely at its arrival; :data:`INSTANT`)."""
        if not self.batch_writes or w.process != "poisson":
            return False
        size = w.size
        if size.dist == "fixed":
            largest = size.value
        elif size.dist == "uniform":
            largest = max(size.min, size.max)
        else:
            return False  # lognormal: unbounded, some writes may take time
        return largest / w.throughput < INSTANT

    def batch_writer(self, index: int, w: Writer, st: ServerState) -> None:
        """Register ``w`` on ``st`` as a :class:`BatchedWriter` instead of a process.

        The per-write process schedules its start, a timeout of ``w.start``, then one
        timeout per arrival; :attr:`batched_events` counts them as the arrivals are drawn.
        """
        rng = self.rng(f"writer:{index}:{st.server.name}")
        bw = BatchedWriter(
            index, w.rate, w.stop, w.names, w.prefix, w.size, w.mode, f"writer-{index}", rng,
            t=w.start + rng.expovariate(w.rate),
        )
        self.batched_events += 3
        st.batched.append(bw)

    def flush_writes(self, st: ServerState, until: float | None = None) -> None:
        """Apply the batched writes on ``st`` that arrived by ``until`` (now by default), in time order.

        Called before anything reads or changes what a write depends on or touches:
        the export, the server's pending paths and versions, whether it serves, which
        pod it has. Between two calls none of these changed, so each write sees the
        server exactly as the per-write process would have at its arrival time.
        ``until`` is inclusive, except at the end of the run (:meth:`run`).
        """
        batched = st.batched
        if not batched:
            return
        now = self.env.now if until is None else until
        pod = st.pod
        if len(batched) == 1 and self.summary and batched[0].mode == "inplace" and pod is not None and pod.serving:
            self._arrive_all(st, batched[0], now)
            return
        while True:
            bw = batched[0] if len(batched) == 1 else min(batched, key=_arrival)
            t = bw.t
            if t > now:
                return
            self._arrive(st, bw, t)

    def _arrive(self, st: ServerState, bw: BatchedWriter, t: float) -> None:
        """One arrival of a batched writer: the body of :meth:`writer` at time ``t``."""
        if bw.stop is not None and t > bw.stop:
            bw.t = math.inf
            self.batched_events += 1  # the per-write process ends: its own event
            return
        rng = bw.rng
        bw.n += 1
        path = f"{bw.prefix}f{(rng.randrange(bw.names) if bw.names else bw.n):06d}.dat"
        size = bw.size.value if bw.size.dist == "fixed" else self.draw_size(bw.size, rng)
        content = rng.getrandbits(62)  # new_content()
        pod = st.pod
        if pod is None or not pod.serving:
            self.wait_then_write(st, path, size, content, bw.mode, bw.who)
        elif bw.mode == "inplace" and self.summary:
            # apply_write() and close_write() for the case a month-long run spends its time
            # in, inlined (tests/test_batched_writes.py holds it to them).
            versions = st.versions
            versions[path] = versions.get(path, 0) + 1
            now = self.start_ns + round(t * 1e9)
            export = pod.export
            created = export.ensure_dirs(path, now)
            if created:
                st.touch(*created)
            export.put_file(path, File(size, now, content))
            st.pending[path] = None  # st.touch(path)
            st.pending_rev[path] = None
            st.unsynced[path] = (t, content, size)
        else:
            self.apply_write(st, pod, path, size, content, bw.mode, bw.who, t)
        bw.t = t + rng.expovariate(bw.rate)
        self.batched_events += 1

    def _arrive_all(self, st: ServerState, bw: BatchedWriter, now: float) -> None:
        """Every arrival of ``bw``, the server's only batched writer, by ``now``: :meth:`_arrive`
        in summary mode, in place, on a serving pod (what a month-long run spends its time
        in), in one loop with the same draws in the same order and one tree lookup for all the
        files (tests/test_batched_writes.py holds it to the per-write path)."""
        t = bw.t
        if t > now:
            return
        rng, rate, stop, names, size_spec = bw.rng, bw.rate, bw.stop, bw.names, bw.size
        random_, randrange, getrandbits, log = rng.random, rng.randrange, rng.getrandbits, math.log
        fixed = size_spec.value if size_spec.dist == "fixed" else None
        parent, _, stem = bw.prefix.rpartition("/")
        head = f"{parent}/" if parent else ""
        pod = st.pod
        assert pod is not None
        export = pod.export
        pending, pending_rev, unsynced = st.pending, st.pending_rev, st.unsynced
        start_ns, reverse = self.start_ns, st.server.reverse is not None
        files: list[tuple[str, int, int, object]] = []
        n = n0 = bw.n
        # The pool's file names, made once (for pools of up to 65,536 names).
        table = bw.names_table
        if table is None and 0 < names <= 1 << 16:
            table = bw.names_table = [f"{stem}f{i:06d}.dat" for i in range(names)]
        bits = names.bit_length()
        # Writes arrive until ``now``, or until the writer stops (the process then ends: its own event).
        last = now if stop is None or stop >= now else stop
        if t <= last:
            created = export.ensure_dir(parent, start_ns + round(t * 1e9))  # at the first write's vm_ns(t)
            if created:
                st.touch(*created)
        # No version numbers: they only number WriteOpened and WriteClosed, which summary mode does not keep.
        while t <= last:
            n += 1
            if table is not None:
                # rng.randrange(names), spelled out as CPython's Random._randbelow draws it.
                r = getrandbits(bits)
                while r >= names:
                    r = getrandbits(bits)
                name = table[r]
            else:
                name = f"{stem}f{(randrange(names) if names else n):06d}.dat"
            size = fixed if fixed is not None else self.draw_size(size_spec, rng)
            content = getrandbits(62)  # new_content()
            path = head + name
            files.append((name, size, start_ns + round(t * 1e9), content))  # vm_ns(t)
            pending[path] = None  # st.touch(path)
            if reverse:
                pending_rev[path] = None
            unsynced[path] = (t, content, size)
            t += -log(1.0 - random_()) / rate  # rng.expovariate(rate), spelled out
        if t <= now:
            t = math.inf
            self.batched_events += 1  # the per-write process ends: its own event
        self.batched_events += n - n0
        bw.t, bw.n = t, n
        if files:
            export.put_files(parent, files)

    def wait_then_write(self, st: ServerState, path: str, size: int, content: int, mode: str, who: str) -> None:
        """A batched write that finds the server down waits for it, as :meth:`write_file` does.

        The per-write path starts a process that, at the arrival, waits on the server's
        serving event; a callback put on the same event now takes the same place in its
        queue (nothing else has joined it since the arrival: :meth:`wait_serving`
        flushes first), so the writes resume in the same order, at the same moment.
        That process schedules two events, its start and its end.
        """
        self.batched_events += 1

        def resume(_: simpy.Event) -> None:
            pod = st.pod
            if pod is None or not pod.serving:
                assert st.serving_event is not None
                st.serving_event.callbacks.append(resume)
                return
            self.flush_writes(st)
            self.apply_write(st, pod, path, size, content, mode, who, self.env.now)
            self.batched_events += 1

        assert st.serving_event is not None
        st.serving_event.callbacks.append(resume)

    def write_file(
        self, st: ServerState, path: str, size: int, content: int, duration: float, mode: str, who: str
    ) -> Proc:
        """A microservice writes a file through NFS (in place, or to a temp name it then renames)."""
        yield from self.wait_serving(st)
        self.flush_writes(st)
        pod = st.pod
        assert pod is not None
        if duration < INSTANT:
            self.apply_write(st, pod, path, size, content, mode, who, self.env.now)
            return
        export = pod.export
        version = st.versions.get(path, 0) + 1
        st.versions[path] = version
        head, _, name = path.rpartition("/")
        target = path if mode == "inplace" else (f"{head}/" if head else "") + f".{name}.tmp"
        now = self.vm_ns()
        created = export.ensure_dirs(target, now)
        if created:
            st.touch(*created)
        self.record_write(WriteOpened(self.env.now, st.server.name, "nfs", path, version, size, who))
        export.put_file(target, File(0, now, content))
        st.touch(target)
        ow = OpenWrite(target, version, size, content, self.env.now, self.env.now + duration)
        st.open_writes[target] = ow
        yield self.env.timeout(duration)
        if st.open_writes.get(target) is ow:
            del st.open_writes[target]
        if st.pod is not pod or not pod.serving:
            return  # the server went away mid-write: the client sees an error (ESTALE/EIO)
        self.flush_writes(st)
        self.close_write(st, pod.export, path, target, version, size, content, who, self.env.now)

    def apply_write(
        self, st: ServerState, pod: Pod, path: str, size: int, content: int, mode: str, who: str, t: float
    ) -> None:
        """A write too small to take time, opened and closed at ``t`` on a serving pod."""
        export = pod.export
        version = st.versions.get(path, 0) + 1
        st.versions[path] = version
        if mode == "inplace":
            target = path
        else:
            head, _, name = path.rpartition("/")
            target = (f"{head}/" if head else "") + f".{name}.tmp"
        now = self.start_ns + round(t * 1e9)  # vm_ns(t)
        created = export.ensure_dirs(target, now)
        if created:
            st.touch(*created)
        if not self.summary:
            self.trace.add(WriteOpened(t, st.server.name, "nfs", path, version, size, who))
        self.close_write(st, export, path, target, version, size, content, who, t)

    def close_write(
        self, st: ServerState, export: Side, path: str, target: str, version: int, size: int, content: int,
        who: str, t: float,
    ) -> None:
        """The write's final content lands (renamed into place when written to a temp name)."""
        final = File(size, self.start_ns + round(t * 1e9), content)
        export.put_file(target, final)
        st.touch(target)
        if target != path:
            export.delete(target)
            export.put_file(path, final)
            st.touch(path)
            self.record(FileRenamed(t, st.server.name, "nfs", target, path, who))
        if self.summary:
            st.unsynced[path] = (t, content, size)
        else:
            self.trace.add(WriteClosed(t, st.server.name, "nfs", path, version, size, content, who))

    def deleter(self, index: int, d: Deleter | Renamer, st: ServerState) -> Proc:
        rng = self.rng(f"{d.type}:{index}:{st.server.name}")
        yield self.env.timeout(d.start)
        k = 0
        while True:
            yield self.env.timeout(rng.expovariate(d.rate))
            if d.stop is not None and self.env.now > d.stop:
                return
            if d.side == "nfs":
                yield from self.wait_serving(st)
                assert st.pod is not None
                side = st.pod.export
            else:
                side = st.windows
            self.flush_writes(st)
            files = [p for p, e in side.tree.items() if isinstance(e, File) and p not in st.open_writes]
            if not files:
                continue
            victim = rng.choice(files)
            if isinstance(d, Deleter):
                side.delete(victim)
                st.touch(victim)
                self.record(FileDeleted(self.env.now, st.server.name, d.side, victim, f"deleter-{index}"))
            else:
                k += 1
                head, _, name = victim.rpartition("/")
                new = (f"{head}/" if head else "") + f"renamed-{index}-{k}-{name}"
                entry = side.tree[victim]
                assert isinstance(entry, File)
                side.delete(victim)
                side.put_file(new, entry)
                st.touch(victim, new)
                self.record(FileRenamed(self.env.now, st.server.name, d.side, victim, new, f"renamer-{index}"))

    def windows_editor(self, index: int, w: WindowsEditor, st: ServerState) -> Proc:
        """People drop or edit files in the Windows folder; the host clock stamps them."""
        rng = self.rng(f"windows-editor:{index}:{st.server.name}")
        yield self.env.timeout(w.start)
        n = 0
        while True:
            yield self.env.timeout(rng.expovariate(w.rate))
            if w.stop is not None and self.env.now > w.stop:
                return
            n += 1
            self.flush_writes(st)
            path = w.prefix + f"doc{(rng.randrange(w.names) if w.names else n):04d}.txt"
            size = self.draw_size(w.size, rng)
            content = self.new_content(rng)
            side = st.windows
            mtime = side.volume.stored_mtime(self.host_ns())
            st.touch(*side.ensure_dirs(path, mtime))
            side.put_file(path, File(size, mtime, content))
            st.touch(path)
            version = st.versions.get("windows:" + path, 0) + 1
            st.versions["windows:" + path] = version
            self.record(WriteClosed(self.env.now, st.server.name, "windows", path, version, size, content, "person"))

    def reader(self, index: int, r: Reader, st: ServerState) -> Proc:
        """An NFS client listing ``r.prefix`` every ``r.poll`` seconds through its attribute cache."""
        who = f"reader-{index}"
        yield self.env.timeout(r.start)
        known: set[str] = set()
        validity = r.acdirmin
        revalidate = self.env.now
        while True:
            yield self.env.timeout(r.poll)
            self.flush_writes(st)
            pod = st.pod
            if pod is None or not pod.serving or (not r.same_node and self.env.now < revalidate):
                continue
            head = r.prefix.rstrip("/")
            entry = pod.export.tree.get(head) if head else None
            current: set[str] = set()
            if head == "" or entry is not None:
                for name in pod.export.tree.listdir(head or "."):
                    path = f"{head}/{name}" if head else name
                    if isinstance(pod.export.tree.get(path), File) and path not in st.open_writes:
                        current.add(path)
            new = current - known
            for path in sorted(new):
                self.record(FileVisible(self.env.now, st.server.name, path, who))
            # §4: after a change the cache lives acdirmin, then doubles up to acdirmax.
            validity = r.acdirmin if (new or known - current) else min(2 * validity, r.acdirmax)
            revalidate = self.env.now + validity
            known = current

    # --- faults --------------------------------------------------------------------------------

    def fault(self, f: Any) -> Proc:
        yield self.env.timeout(f.at)
        if isinstance(f, MountLoss):
            names = [f.server] if f.server is not None else list(self.servers)
            for n in names:
                self.mount_up[n] = False
                self.mount_epoch[n] += 1
                self.record(FaultInjected(self.env.now, n, "mount-loss", f"for {_secs(f.duration)}s"))
            yield self.env.timeout(f.duration)
            for n in names:
                self.mount_up[n] = True
                self.record(FaultInjected(self.env.now, n, "mount-restored", "running pods keep the dead mount"))
            return
        st = self.servers[f.server]
        self.flush_writes(st)
        pod = st.pod
        if pod is None:
            return
        if isinstance(f, PodDelete):
            self.record(FaultInjected(self.env.now, f.server, "pod-delete", pod.name))
            self.delete_pod(st, pod)
        elif isinstance(f, SidecarCrash):
            self.record(FaultInjected(self.env.now, f.server, "sidecar-crash", f"exit {f.exit_code} x{f.times}"))
            c = next((c for c in pod.containers.values() if c.kind is ContainerKind.SIDECAR), None)
            if c is not None and c.state == "running" and c.process is not None and c.process.is_alive:
                c.pending_crashes = f.times - 1
                c.process.interrupt(("crash", f.exit_code))
        elif isinstance(f, ContainerKill):
            c = pod.containers.get(f.container)
            self.record(FaultInjected(self.env.now, f.server, "container-kill", f"{f.container} SIG{f.signal}"))
            if c is None:
                return
            if c.kind is ContainerKind.SIDECAR:
                # §1: a sh loop as PID 1 ignores SIGTERM; only SIGKILL stops it.
                if f.signal == "KILL" and c.state == "running" and c.process is not None and c.process.is_alive:
                    c.process.interrupt(("kill", 137))
            elif c.kind is ContainerKind.APP and c.state == "running":
                self.env.process(self.restart_app(st, pod, c, 137 if f.signal == "KILL" else 0))

    def restart_app(self, st: ServerState, pod: Pod, c: Container, exit_code: int) -> Proc:
        """The NFS server container exits and is restarted; the emptyDir survives (§2)."""
        self.stop_serving(st, pod)
        self.set_state(pod, c, "terminated", "Error" if exit_code else "Completed", exit_code)
        c.restarts += 1
        yield self.env.timeout(sidecar_backoff(c.restarts) + self.s.cluster.container_start)
        if pod.terminating:
            return
        self.set_state(pod, c, "running")
        self.start_serving(st, pod)

    def delete_pod(self, st: ServerState, pod: Pod) -> None:
        """§1: app containers stop first; the sidecar gets SIGTERM (ignored by a sh PID 1) and
        SIGKILL at the end of the grace period. The Deployment creates the replacement at once (§2)."""
        self.flush_writes(st)
        pod.terminating = True
        pod.phase = "Terminating"
        self.record(PodPhase(self.env.now, pod.server, pod.name, "Terminating"))
        self.stop_serving(st, pod)
        for c in pod.containers.values():
            if c.kind is ContainerKind.APP and c.state == "running":
                self.set_state(pod, c, "terminated", "Completed", 0)
        sidecar = next((c for c in pod.containers.values() if c.kind is ContainerKind.SIDECAR), None)
        alive = sidecar is not None and sidecar.process is not None and sidecar.process.is_alive
        grace = self.s.cluster.grace_period if alive else 0.0
        pod.kill_at = self.env.now + grace
        self.env.process(self.finish_pod(st, pod, sidecar, grace))
        self.create_pod(st)

    def finish_pod(self, st: ServerState, pod: Pod, sidecar: Container | None, grace: float) -> Proc:
        if grace:
            yield self.env.timeout(grace)
        if sidecar is not None and sidecar.process is not None and sidecar.process.is_alive:
            sidecar.process.interrupt(("kill", 137))
            yield self.env.timeout(0)
        pod.phase = "Deleted"
        self.record(PodPhase(self.env.now, pod.server, pod.name, "Deleted"))

    # --- probes -------------------------------------------------------------------------------------

    def probe(self, p: Any) -> Proc:
        yield self.env.timeout(p.at)
        st = self.servers[p.server]
        pod = st.pod
        if isinstance(p, SidecarRunningProbe):
            c = next((c for c in pod.containers.values() if c.kind is ContainerKind.SIDECAR), None) if pod else None
            ok = c is not None and c.state == "running"
            detail = "running" if ok else ("no sidecar container" if c is None else f"state {c.state} {c.reason}")
            self.record(ProbeResult(self.env.now, p.server, p.type, f"Sidecar running: {p.server}", ok, None, detail))
        elif isinstance(p, NoSidecarProbe):
            c = next((c for c in pod.containers.values() if c.kind is ContainerKind.SIDECAR), None) if pod else None
            ok = pod is not None and c is None
            detail = "no sidecar" if ok else "a sidecar container is present"
            self.record(ProbeResult(self.env.now, p.server, p.type, f"No sidecar: {p.server}", ok, None, detail))
        elif isinstance(p, NfsToWindowsProbe):
            rng = self.rng(f"probe:{p.server}:{p.at}:{p.path}")
            content = self.new_content(rng)
            self.probe_writes.append((p, self.env.now, content))
            yield from self.write_file(st, p.path, p.size, content, 0.0, "inplace", f"probe:{p.type}")

    def finish_probes(self) -> None:
        """Judge each NFS -> Windows probe from the trace: the first sync of its exact content."""
        synced = [r for r in self.trace.records if isinstance(r, FileSynced) and r.side == "windows"]
        closed = {
            (r.server, r.path, r.content): r.t
            for r in self.trace.records
            if isinstance(r, WriteClosed) and r.writer.startswith("probe:")
        }
        for p, _, content in self.probe_writes:
            t_close = closed.get((p.server, p.path, content))
            check = f"NFS to Windows within {_secs(p.within)}s: {p.server}"
            if t_close is None:
                self.record(ProbeResult(self.s.duration, p.server, p.type, check, False, None, "write never completed"))
                continue
            hit = next(
                (
                    r.t
                    for r in synced
                    if r.server == p.server and r.path == p.path and r.content == content and r.size == p.size
                    and r.t >= t_close
                ),
                None,
            )
            if hit is None:
                detail = f"not on Windows when the run ended ({self.s.duration - t_close:.1f}s after the write)"
                self.record(ProbeResult(self.s.duration, p.server, p.type, check, False, None, detail))
            else:
                lat = hit - t_close
                self.record(
                    ProbeResult(hit, p.server, p.type, check, lat <= p.within, lat, f"synced in {lat:.1f}s")
                )

    # --- the run ---------------------------------------------------------------------------------------

    def record_config(self, server: Server) -> None:
        sc = server.sidecar
        self.record(
            ServerConfig(
                0.0,
                server.name,
                server.role.value,
                server.export.value,
                server.init.name,
                server.init.rsync_args,
                sc.name if sc else None,
                sc.rsync_args if sc else (),
                sc.interval if sc else None,
            )
        )

    def record_trees(self, st: ServerState, export: Side, moment: str, t: float | None = None) -> None:
        """Both sides' files now (a file being written at its current size)."""
        t = self.env.now if t is None else t
        sizes = {p: ow.size_at(t) for p, ow in st.open_writes.items()}
        name = st.server.name
        self.record(TreeState.of(t, name, "nfs", moment, export.tree, sizes))
        self.record(TreeState.of(t, name, "windows", moment, st.windows.tree))

    def run(self) -> Trace:
        env = self.env
        for st in self.servers.values():
            self.record_config(st.server)
        for st in self.servers.values():
            self.create_pod(st)
        for i, w in enumerate(self.s.workloads):
            role = None if isinstance(w, Deleter | Renamer | WindowsEditor | Reader) else Role.OUTPUT
            for st in self.servers_for(w.servers, role):
                if isinstance(w, Writer):
                    if self.can_batch(w):
                        self.batch_writer(i, w, st)
                    else:
                        env.process(self.writer(i, w, st))
                elif isinstance(w, WindowsEditor):
                    env.process(self.windows_editor(i, w, st))
                elif isinstance(w, Reader):
                    env.process(self.reader(i, w, st))
                else:
                    env.process(self.deleter(i, w, st))
        for f in self.s.faults:
            env.process(self.fault(f))
        for p in self.s.probes:
            env.process(self.probe(p))
        env.run(until=self.s.duration)
        # simpy stops before events at ``duration`` itself: so do the batched writes.
        for st in self.servers.values():
            self.flush_writes(st, math.nextafter(self.s.duration, -math.inf))
        self.finish_probes()
        # The trees already hold the outcome of a run still in progress (decided at its start),
        # so the end state is stamped after that run's last record.
        end = max([self.s.duration, *(r.t for r in self.trace.records)])
        for st in self.servers.values():
            if st.export is not None:
                self.record_trees(st, st.export, "end", end)
        # Records are appended as processes run; a run's FileSynced records look ahead. Sort, stably.
        self.trace.records.sort(key=lambda r: r.t)
        return self.trace


def simulate(scenario: Scenario, *, costs: SyncCosts | None = None) -> Trace:
    """Run ``scenario`` on the built-in simulator and return its trace (``costs``: see :class:`Simulation`)."""
    return Simulation(scenario, costs=costs).run()


def _arrival(bw: BatchedWriter) -> float:
    return bw.t


def time_of_day(ns: int) -> str:
    """The UTC time of day of ``ns`` since the epoch, ``HH:MM:SS``: what the sidecar's ``date``
    prints, as ``datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%H:%M:%S")`` gives it
    (once per sync run: integer arithmetic, a tenth of datetime's cost)."""
    secs, frac = divmod(ns, 1_000_000_000)
    if not 0 <= ns < 1 << 62 or frac >= 999_999_000:
        # Within a microsecond of the next second the float rounds up to it (below 2**62 ns,
        # the year 2116, ns / 1e9 is off by less than that): let datetime decide.
        return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).strftime("%H:%M:%S")
    m, s = divmod(secs % 86_400, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def _secs(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"

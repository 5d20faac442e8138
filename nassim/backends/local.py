"""The ``local`` backend: the scenario on real folders, the real ``rsync`` and real ``sh`` loops.

Everything lives under one root (a temporary directory by default)::

    ROOT/<server>/windows/                 the Windows folder (C:\\simulator-data\\<server>)
    ROOT/<server>/<pod>/nfs-data/          the export of one pod (an emptyDir: one per pod)
    ROOT/<server>/export/nfs-data/         ... or one for every pod (``export: persistent``)
    ROOT/<server>/<pod>/logs/              what each rsync run printed

What runs, and how it maps to the test bed:

- An init container is the real ``rsync`` with exactly the topology's
  arguments, ``/windows-mount`` and ``/nfs-data`` replaced by the real folders,
  plus ``-i`` (``--itemize-changes``), which changes what rsync prints, not
  what it does. Its ``-i`` lines and exit code become the :class:`RsyncRun`.
- The sidecar is a real ``sh -c`` loop with the manifest's lines (banner,
  ``rsync ...``, the ``Synced to Windows in ...`` line, ``sleep``), the sleep
  scaled by ``speed``; the script also prints ``@nassim run N start|exit C``
  marker lines (kept out of the trace's log) and sends each run's output to a
  file instead of ``/dev/null``, so the trace has the run's itemized changes.
  Its ``[HH:MM:SS]`` stamps and elapsed seconds are the script's own wall clock.
- Writers, deleters, renamers, Windows editors and NFS-to-Windows probes act on
  the real folders, with the simulator's random streams (same seed, same names,
  sizes and contents: :func:`nassim.tree.synthetic_bytes` of the content id).
- A pod delete stops serving at once, lets the old pod's sidecar run on over
  its old export for the grace period, then kills it with SIGKILL, and starts
  the replacement pod at once (a new, empty emptyDir; the init container runs
  again). The kubelet's SIGTERM is not sent to the sidecar: in a container,
  ``sh`` is PID 1 and the kernel drops a signal PID 1 has no handler for, so
  TERM is ignored there; outside a container TERM would kill it, so the
  backend reproduces "ignored" by not sending it. ``ContainerKill`` of the
  sidecar follows the same rule (KILL kills the process group, TERM does
  nothing); an init container's rsync does get TERM (rsync handles it).

Times are the monotonic clock since the start, times ``speed`` (scenario
seconds per wall second, 60 by default: a 30 s interval sleeps 0.5 s).
``FileSynced`` comes from rsync's ``>f`` lines: the file's bytes are read
back and mapped to the write that produced them (or a prefix of it: a torn
copy); its time is when a poll of the folder first saw that content, or the
run's end. Scheduling noise of a few wall milliseconds is ``speed`` times
larger in scenario seconds: judge with generous bounds.

What the folders cannot reproduce is refused with a :class:`BackendError`
naming it (:func:`unsupported`): NFS readers, sidecar crash loops, mount loss,
a Windows -> NFS sidecar, killing containers other than the sidecar, and
explicit Windows-folder traits (case-insensitive names, coarse or unsettable
mtimes, chown, mount speed, clock offset). The ``windows``/``linux`` host
presets are both run on a local folder (case-sensitive, nanosecond mtimes);
the trace's ``params["windows_folder"]`` says so.

No process outlives :meth:`LocalBackend.run`: each container runs in its own
process group, killed with SIGKILL in a ``finally`` (KeyboardInterrupt too).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import queue
import random
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from nassim.backends import _fs
from nassim.backends._workload import PlannedWrite, draw_size, plan_writes, schedule_each, stream
from nassim.backends.base import WallClock
from nassim.cluster.simulation import sidecar_backoff
from nassim.errors import BackendError
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
    WindowsEditor,
    Writer,
)
from nassim.topology import EXPORT_MOUNT, WINDOWS_MOUNT, ExportKind, InitContainer, Role, Server, Sidecar, Topology
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
    WriteOpened,
)
from nassim.tree import Dir, File, FileTree, Symlink, content_bytes, synthetic_bytes

__all__ = ["LocalBackend", "unsupported"]

INSTANT = 1e-3  # as the simulator: writes shorter than this (scenario seconds) are one write() call
CHUNKS = 8  # a longer write is spread over this many write() calls (rsync may read it torn)
POLL = 0.005  # wall seconds between looks at processes and folders
RESET_AFTER = 600.0  # the kubelet resets a container's back-off after 10 minutes of running

_ITEM = re.compile(r"^([<>ch.][fdLDS][.+?a-zA-Z ]{9}) (.+)$")
_MOUNTS = (WINDOWS_MOUNT, EXPORT_MOUNT)


def unsupported(scenario: Scenario, topology: Topology | None = None) -> list[str]:
    """What in ``scenario`` the local backend cannot run, one reason per item (empty: it can run it)."""
    topo = topology if topology is not None else scenario.load_topology()
    out: list[str] = []
    for i, w in enumerate(scenario.workloads):
        if isinstance(w, Reader):
            out.append(f"workloads[{i}]: type 'reader' (an NFS client's attribute cache has no local equivalent)")
    for i, f in enumerate(scenario.faults):
        if isinstance(f, SidecarCrash):
            out.append(f"faults[{i}]: type 'sidecar-crash' (the real sidecar script has no way to fail on demand)")
        elif isinstance(f, MountLoss):
            out.append(f"faults[{i}]: type 'mount-loss' (a local folder cannot lose its mount)")
        elif isinstance(f, ContainerKill):
            server = topo.server(f.server) if f.server in topo.names else None
            sidecar = server.sidecar.name if server is not None and server.sidecar is not None else None
            if f.container != sidecar:
                out.append(
                    f"faults[{i}]: container-kill of {f.container!r} on {f.server} "
                    "(only the sync-to-windows sidecar can be killed locally)"
                )
    for s in topo:
        if s.reverse is not None:
            out.append(f"topology.reverse_sidecar: {s.name} (a Windows -> NFS sidecar is not run locally yet)")
            break
    win = scenario.windows
    traits = {
        "case_sensitive": win.case_sensitive,
        "can_set_times": win.can_set_times,
        "owners": win.owners,
        "mtime_resolution": win.mtime_resolution,
        "stat_ms": win.stat_ms,
        "mb_per_s": win.mb_per_s,
    }
    for key, value in traits.items():
        if value is not None:
            out.append(f"windows.{key}: {value!r} (the local Windows folders are plain local directories)")
    if win.clock_offset:
        out.append(f"windows.clock_offset: {win.clock_offset!r} (the local folders share this machine's clock)")
    return out


def _secs(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _map_args(args: tuple[str, ...], windows: str, export: str, who: str) -> list[str]:
    """The container's rsync arguments with the two mounts replaced by the real folders."""
    out = []
    for a in args:
        for mount, real in zip(_MOUNTS, (windows, export)):
            if a == mount or a.startswith(mount + "/"):
                out.append(real + a[len(mount) :])
                break
        else:
            if a.startswith("/") or "=/" in a:
                raise BackendError(
                    f"{who}: rsync argument {a!r} names a path outside /windows-mount and /nfs-data; "
                    "the local backend keeps every write under its root"
                )
            out.append(a)
    return out


_SIDECAR_SCRIPT = """\
echo "=== NAS {server} Sync Sidecar Starting ==="
echo "Sync interval: ${{SYNC_INTERVAL}}s"
echo "Direction: NFS export -> Windows mount"
N=0
while true; do
  N=$((N + 1))
  echo "@nassim run $N start"
  START=$(date +%s.%N)
  if {rsync} > {logs}/$N.out 2> {logs}/$N.err; then
    END=$(date +%s.%N)
    echo "@nassim run $N exit 0"
    ELAPSED=$(awk -v s="$START" -v e="$END" 'BEGIN {{ printf "%.2f", e - s }}')
    echo "[$(date +%H:%M:%S)] Synced to Windows in ${{ELAPSED}}s"
  else
    CODE=$?
    echo "@nassim run $N exit $CODE"
    echo "[$(date +%H:%M:%S)] Sync to Windows failed (rsync exit $CODE)"
  fi
  sleep "$NASSIM_SLEEP"
done
"""


@attrs.define(eq=False)
class _SidecarProc:
    proc: subprocess.Popen[str]
    lines: queue.Queue[tuple[float, str | None]]
    thread: threading.Thread
    logs: str
    started: float
    runs: dict[int, tuple[int, float]] = attrs.field(factory=dict)  # script's N -> (trace run, start)
    eof: bool = False


@attrs.define(eq=False)
class _Pod:
    name: str
    export: str
    base: str
    states: dict[str, str] = attrs.field(factory=dict)
    serving: bool = False
    terminating: bool = False
    init_proc: subprocess.Popen[bytes] | None = None
    init_run: tuple[int, float, str] | None = None  # (trace run, start, output file stem)
    init_restarts: int = 0
    init_next: tuple[InitContainer, list[InitContainer | Sidecar]] | None = None
    sidecar: _SidecarProc | None = None
    sidecar_restarts: int = 0
    sidecar_streak: int = 0


@attrs.define(eq=False)
class _Server:
    server: Server
    base: str
    windows: str
    incarnation: int = 0
    pod: _Pod | None = None
    runs: int = 0
    versions: dict[str, int] = attrs.field(factory=dict)
    waiting: list[Callable[[], None]] = attrs.field(factory=list)
    open_writes: set[str] = attrs.field(factory=set)
    written: dict[str, list[int]] = attrs.field(factory=dict)  # path -> contents written there


class LocalBackend:
    """Runs scenarios on real folders under ``root`` with the real ``rsync`` and ``sh``.

    ``speed``: scenario seconds per wall second (60: a 600 s scenario takes
    10 s). ``root``: where the folders go, created if missing, else it must
    be empty; by default a temporary directory, removed afterwards (``keep``
    keeps it). ``windows_trees``: server -> a :class:`~nassim.tree.FileTree`
    written into its Windows folder before the start (after
    ``scenario.windows.files``).
    """

    name = "local"

    def __init__(
        self,
        *,
        speed: float = 60.0,
        root: str | os.PathLike[str] | None = None,
        keep: bool = False,
        windows_trees: Mapping[str, FileTree] | None = None,
        rsync: str = "rsync",
    ) -> None:
        self.clock = WallClock(speed)  # validates speed
        self.speed = float(speed)
        self.root = None if root is None else os.fspath(root)
        self.keep = keep
        self.windows_trees = dict(windows_trees or {})
        self.rsync = rsync

    def __repr__(self) -> str:
        return f"LocalBackend(speed={self.speed:g}, root={self.root!r})"

    def run(self, scenario: Scenario) -> Trace:
        topo = scenario.load_topology()
        problems = unsupported(scenario, topo)
        unknown = sorted(set(self.windows_trees) - set(topo.names))
        if unknown:
            problems.append(f"windows_trees: no server {unknown[0]!r} in the topology")
        if problems:
            raise BackendError(
                f"the local backend cannot run scenario {scenario.name!r}: " + "; ".join(problems)
            )
        binary = shutil.which(self.rsync)
        if binary is None:
            raise BackendError(f"the local backend needs rsync: {self.rsync!r} is not on PATH (apt-get install rsync)")
        if self.root is None:
            root = tempfile.mkdtemp(prefix="nassim-local-")
            remove = not self.keep
        else:
            root = os.path.abspath(self.root)
            if os.path.lexists(root) and (not os.path.isdir(root) or os.path.islink(root) or os.listdir(root)):
                raise BackendError(f"{root}: the local backend's root must be an empty directory or not exist")
            os.makedirs(root, exist_ok=True)
            remove = False
        run = _LocalRun(scenario, topo, root=os.path.realpath(root), speed=self.speed, rsync=binary)
        try:
            run.prepare(self.windows_trees)
            return run.run()
        finally:
            run.close()
            if remove:
                shutil.rmtree(root, ignore_errors=True)


class _LocalRun:
    """One run: an event heap in scenario time, and a loop that polls real processes and folders."""

    def __init__(self, s: Scenario, topo: Topology, *, root: str, speed: float, rsync: str) -> None:
        self.s = s
        self.topo = topo
        self.root = root
        self.rsync = rsync
        self.clock = WallClock(speed)
        self.trace = Trace(
            seed=s.seed,
            params={
                "scenario": s.name,
                "backend": "local",
                "speed": speed,
                "root": root,
                "windows_folder": f"a local directory, not a {s.windows.host} host's (case-sensitive, ns mtimes)",
            },
        )
        self.servers: dict[str, _Server] = {}
        for server in topo:
            base = os.path.join(root, server.name)
            self.servers[server.name] = _Server(server, base, os.path.join(base, "windows"))
        self.heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.pulled = False
        self.known: dict[str, int] = {}  # sha1 of bytes -> content id
        self.probe_writes: list[tuple[NfsToWindowsProbe, int]] = []
        self.seen: dict[tuple[str, str, int], float] = {}  # (server, path, content) first seen on Windows
        self.watch: dict[tuple[str, str], tuple[int, int]] = {}  # (server, path) -> (content, size) to look for
        self.terminating: list[_Pod] = []  # deleted pods still in their grace period
        self.finishing: list[tuple[_Server, _Pod]] = []  # ... whose processes were told to stop
        self.procs: list[subprocess.Popen[Any]] = []
        self.threads: list[threading.Thread] = []
        self.signalled: set[int] = set()  # process groups sent a signal
        self.files: list[IO[bytes]] = []
        self.fds: set[int] = set()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "TZ": "UTC",
            "HOME": root,
        }

    # --- plumbing ------------------------------------------------------------------

    def rng(self, name: str) -> random.Random:
        return stream(self.s.seed, name)

    def now(self) -> float:
        return self.clock.now()

    def at(self, t: float, fn: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (t, self._seq, fn))

    def after(self, dt: float, fn: Callable[[], None]) -> None:
        self.at(self.now() + dt, fn)

    def record(self, r: Record) -> None:
        self.trace.add(r)

    def spawn(self, args: list[str], env: Mapping[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[Any]:
        # Own session and process group: one killpg stops sh, rsync and sleep together.
        proc: subprocess.Popen[Any] = subprocess.Popen(
            args, start_new_session=True, env={**self.env, **(env or {})}, cwd=self.root,
            stdin=subprocess.DEVNULL, **kwargs
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[Any] | None, sig: int = signal.SIGKILL) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the group we created for it, by its id (its leader is alive)
            self.signalled.add(proc.pid)

    def close(self) -> None:
        """Kill every process still running (their whole groups) and close every file."""
        for proc in self.procs:
            self.kill(proc)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL waits for no one
                proc.wait(timeout=5)
        # killpg returns before the signal is delivered; the group's other members (a sidecar's
        # rsync or sleep) die a moment later. Wait until no member is still running.
        deadline = time.monotonic() + 5
        for pgid in self.signalled:
            while _group_running(pgid) and time.monotonic() < deadline:
                time.sleep(0.01)
        # The pipes reach EOF once their writers are dead; let each reader thread finish
        # before its pipe is closed under it.
        for thread in self.threads:
            thread.join(timeout=5)
        for proc in self.procs:
            if proc.stdout is not None:
                proc.stdout.close()
        for fh in self.files:
            fh.close()
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()

    # --- content identity ------------------------------------------------------------

    def register(self, content: int, data: bytes) -> None:
        self.known[hashlib.sha1(data).hexdigest()] = content

    def identify(self, st: _Server, path: str, data: bytes) -> tuple[int, bool]:
        """(content id, torn): the write whose bytes these are, or whose prefix they are."""
        c = self.known.get(hashlib.sha1(data).hexdigest())
        if c is not None:
            return c, False
        for cand in reversed(st.written.get(path, [])):
            if synthetic_bytes(cand, len(data)) == data:
                return cand, True
        return int(hashlib.sha1(data).hexdigest()[:15], 16), False  # trace.content_id of bytes

    def tree_state(self, st: _Server, side: str, base: str, moment: str, t: float) -> TreeState:
        entries = []
        for path in _fs.walk_files(base):
            data = _fs.read_file(base, path)
            if data is None:
                continue
            content, _ = self.identify(st, path, data)
            entries.append((path, len(data), content))
        return TreeState(t, st.server.name, side, moment, tuple(entries))

    def record_trees(self, st: _Server, pod: _Pod, moment: str) -> None:
        t = self.now()
        self.record(self.tree_state(st, "nfs", pod.export, moment, t))
        self.record(self.tree_state(st, "windows", st.windows, moment, t))

    # --- setup -------------------------------------------------------------------------

    def prepare(self, trees: Mapping[str, FileTree]) -> None:
        w = self.s.windows
        old = time.time_ns() - 3_600 * 10**9
        for st in self.servers.values():
            os.makedirs(st.windows)
            if w.files:
                rng = self.rng(f"windows-files:{st.server.name}")
                for i in range(w.files):
                    path = f"data/d{i // 100:04d}/f{i:06d}.dat"
                    content = rng.getrandbits(62)
                    data = synthetic_bytes(content, w.file_size)
                    _fs.write_file(st.windows, path, data)
                    os.utime(os.path.join(st.windows, path), ns=(old, old))
                    self.register(content, data)
            tree = trees.get(st.server.name)
            if tree is not None:
                self._write_tree(st.windows, tree)

    def _write_tree(self, base: str, tree: FileTree) -> None:
        """A tree into a folder through the safe operations (its symlinks are created, never followed)."""
        for path, e in tree.items():
            if path == ".":
                continue
            if isinstance(e, Dir):
                _fs.make_dirs(base, path)
            elif isinstance(e, Symlink):
                fd, name = _fs.open_parent(base, path, create=True)
                try:
                    os.symlink(e.target, name, dir_fd=fd)
                finally:
                    os.close(fd)
            elif isinstance(e, File):
                data = content_bytes(e)
                _fs.write_file(base, path, data)
                if isinstance(e.content, int):
                    self.register(e.content, data)

    # --- pods ------------------------------------------------------------------------------

    def create_pod(self, st: _Server) -> None:
        st.incarnation += 1
        name = f"{st.server.name}-{st.incarnation}"
        base = os.path.join(st.base, name)
        if st.server.export is ExportKind.PERSISTENT:
            export = os.path.join(st.base, "export", "nfs-data")
        else:
            export = os.path.join(base, "nfs-data")  # an emptyDir: new and empty for every pod
        os.makedirs(export, exist_ok=True)
        os.makedirs(os.path.join(base, "logs"), exist_ok=True)
        pod = _Pod(name, export, base)
        st.pod = pod
        st.open_writes.clear()
        self.record(PodPhase(self.now(), st.server.name, name, "Pending"))
        cl = self.s.cluster
        delay = cl.schedule_delay
        if not self.pulled:
            self.pulled = True
            delay += cl.image_pull
        steps = list(st.server.init_containers)
        self.after(delay, lambda: self.next_step(st, pod, steps))

    def set_state(
        self, st: _Server, pod: _Pod, container: str, state: str, reason: str = "", exit_code: int | None = None,
        restarts: int = 0,
    ) -> None:
        pod.states[container] = state
        self.record(ContainerState(self.now(), st.server.name, pod.name, container, state, reason, exit_code, restarts))

    def next_step(self, st: _Server, pod: _Pod, steps: list[InitContainer | Sidecar]) -> None:
        """Init containers in declaration order (a native sidecar only has to start), then the NFS server."""
        if pod.terminating:
            return
        start = self.s.cluster.container_start
        if not steps:
            self.after(start, lambda: self.serve(st, pod))
            return
        spec, rest = steps[0], steps[1:]
        if isinstance(spec, Sidecar):
            def begin() -> None:
                if not pod.terminating:
                    self.start_sidecar(st, pod, spec)
                    self.next_step(st, pod, rest)

            self.after(start, begin)
        else:
            self.after(start, lambda: self.start_init(st, pod, spec, rest))

    def serve(self, st: _Server, pod: _Pod) -> None:
        if pod.terminating:
            return
        self.set_state(st, pod, st.server.nfs.name, "running")
        pod.serving = True
        self.record(PodPhase(self.now(), st.server.name, pod.name, "Running"))
        waiting, st.waiting = st.waiting, []
        for fn in waiting:  # NFS clients use hard mounts: blocked writes go through now
            fn()

    def start_init(self, st: _Server, pod: _Pod, spec: InitContainer, rest: list[InitContainer | Sidecar]) -> None:
        if pod.terminating:
            return
        self.set_state(st, pod, spec.name, "running", restarts=pod.init_restarts)
        args = _map_args(spec.rsync_args, st.windows, pod.export, f"{st.server.name} {spec.name}")
        st.runs += 1
        stem = os.path.join(pod.base, "logs", f"{spec.name}-{pod.init_restarts + 1}")
        out = open(stem + ".out", "wb")  # noqa: SIM115 - closed when the run ends, or in close()
        err = open(stem + ".err", "wb")  # noqa: SIM115
        self.files += [out, err]
        pod.init_run = (st.runs, self.now(), stem)
        pod.init_proc = self.spawn([self.rsync, "-i", *args], stdout=out, stderr=err)
        pod.init_next = (spec, rest)

    def finish_init(self, st: _Server, pod: _Pod) -> None:
        proc, run = pod.init_proc, pod.init_run
        assert proc is not None and run is not None
        pod.init_proc = None
        assert pod.init_next is not None
        spec, rest = pod.init_next
        number, t0, stem = run
        code = _exit_code(proc.returncode)
        t1 = self.now()
        self.record_run(st, spec.name, number, t0, t1, code, stem, src=st.windows, dst=pod.export, side="nfs")
        if pod.terminating:
            return
        if code == 0:
            self.set_state(st, pod, spec.name, "terminated", "Completed", 0, pod.init_restarts)
            self.record_trees(st, pod, "init")
            self.next_step(st, pod, rest)
            return
        # A one-shot init container that fails blocks the pod and is retried with back-off.
        self.set_state(st, pod, spec.name, "terminated", "Error", code, pod.init_restarts)
        pod.init_restarts += 1
        delay = sidecar_backoff(pod.init_restarts)
        if delay:
            self.set_state(st, pod, spec.name, "waiting", "CrashLoopBackOff", restarts=pod.init_restarts)
        self.after(delay + self.s.cluster.container_start, lambda: self.start_init(st, pod, spec, rest))

    def start_sidecar(self, st: _Server, pod: _Pod, spec: Sidecar) -> None:
        logs = os.path.join(pod.base, "logs", f"{spec.name}-{pod.sidecar_restarts + 1}")
        os.makedirs(logs, exist_ok=True)
        args = _map_args(spec.rsync_args, st.windows, pod.export, f"{st.server.name} {spec.name}")
        rsync = " ".join(shlex.quote(a) for a in [self.rsync, "-i", *args])
        script = _SIDECAR_SCRIPT.format(server=st.server.name, rsync=rsync, logs=shlex.quote(logs))
        env = {"SYNC_INTERVAL": _secs(spec.interval), "NASSIM_SLEEP": f"{self.clock.wall(spec.interval):.3f}"}
        proc = self.spawn(["sh", "-c", script], env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        proc.args = ["sh", "-c", "..."]  # the script is long; keep reprs short
        lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        out = proc.stdout
        assert out is not None

        def pump() -> None:
            for line in out:
                lines.put((self.now(), line.rstrip("\n")))
            lines.put((self.now(), None))

        thread = threading.Thread(target=pump, name=f"nassim-{pod.name}-{spec.name}", daemon=True)
        pod.sidecar = _SidecarProc(proc, lines, thread, logs, self.now())
        self.threads.append(thread)
        thread.start()
        self.set_state(st, pod, spec.name, "running", restarts=pod.sidecar_restarts)

    def sidecar_lines(self, st: _Server, pod: _Pod) -> None:
        sc = pod.sidecar
        spec = st.server.sidecar
        assert sc is not None and spec is not None
        while True:
            try:
                t, line = sc.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                sc.eof = True
                break
            if line.startswith("@nassim run "):
                _, _, n, what, *rest = line.split()
                if what == "start":
                    st.runs += 1
                    sc.runs[int(n)] = (st.runs, t)
                else:
                    number, t0 = sc.runs.pop(int(n))
                    stem = os.path.join(sc.logs, n)
                    self.record_run(st, spec.name, number, t0, t, int(rest[0]), stem, pod.export, st.windows, "windows")
            else:
                self.record(LogLine(t, st.server.name, pod.name, spec.name, line))
        if sc.proc.poll() is not None and sc.eof:
            self.sidecar_exited(st, pod, sc, spec)

    def sidecar_exited(self, st: _Server, pod: _Pod, sc: _SidecarProc, spec: Sidecar) -> None:
        pod.sidecar = None
        code = _exit_code(sc.proc.returncode)
        t = self.now()
        for n, (number, t0) in sorted(sc.runs.items()):  # a run cut short by the kill
            self.record_run(st, spec.name, number, t0, t, code, os.path.join(sc.logs, str(n)), pod.export,
                            st.windows, "windows")
        self.set_state(st, pod, spec.name, "terminated", "Error" if code else "Completed", code, pod.sidecar_restarts)
        if pod.terminating:
            return
        # A native sidecar restarts on any exit, with the kubelet's back-off (reset after 10 minutes up).
        pod.sidecar_streak = 1 if t - sc.started >= RESET_AFTER else pod.sidecar_streak + 1
        pod.sidecar_restarts += 1
        delay = sidecar_backoff(pod.sidecar_streak)
        if delay:
            self.set_state(st, pod, spec.name, "waiting", "CrashLoopBackOff", restarts=pod.sidecar_restarts)

        def again() -> None:
            if not pod.terminating:
                self.start_sidecar(st, pod, spec)

        self.after(delay + self.s.cluster.container_start, again)

    def record_run(
        self, st: _Server, container: str, number: int, t0: float, t1: float, code: int, stem: str,
        src: str, dst: str, side: str,
    ) -> None:
        """An rsync run from its ``-i`` output; a FileSynced for each file it wrote."""
        out = _read_text(stem + ".out")
        errors = tuple(line for line in _read_text(stem + ".err").splitlines() if line.strip())
        itemized: list[str] = []
        for line in out.splitlines():
            if line.startswith("*deleting ") or _ITEM.match(line):
                itemized.append(line)
        synced: list[FileSynced] = []
        total = 0
        for line in itemized:
            m = _ITEM.match(line)
            if m is None or not m.group(1).startswith(">f"):
                continue
            path = m.group(2)
            data = _fs.read_file(dst, path)
            if data is None:
                continue  # gone again already (or the run was killed before the rename)
            content, torn = self.identify(st, path, data)
            seen = self.seen.get((st.server.name, path, content))
            t = seen if seen is not None and t0 <= seen <= t1 else t1
            total += len(data)
            synced.append(FileSynced(t, st.server.name, side, path, len(data), content, container, number, torn))
        deleted = sum(1 for line in itemized if line.startswith("*deleting"))
        self.record(
            RsyncRun(
                t0, st.server.name, container, number, t1 - t0, code, len(synced), total,
                _fs.count_entries(src), deleted, tuple(itemized), errors,
            )
        )
        for fs in synced:
            self.record(fs)
            if side == "windows":
                self.watch.pop((st.server.name, fs.path), None)

    # --- workloads ---------------------------------------------------------------------------

    def servers_for(self, names: tuple[str, ...] | None, role: Role | None) -> list[_Server]:
        if names is not None:
            return [self.servers[n] for n in names]
        return [st for st in self.servers.values() if role is None or st.server.role is role]

    def when_serving(self, st: _Server, fn: Callable[[], None]) -> None:
        if st.pod is not None and st.pod.serving:
            fn()
        else:
            st.waiting.append(fn)

    def schedule_writer(self, index: int, w: Writer, st: _Server) -> None:
        def act(pw: PlannedWrite) -> None:
            self.when_serving(
                st, lambda: self.write(st, pw.path, pw.size, pw.content, pw.size / w.throughput, w.mode,
                                       f"writer-{index}")
            )

        schedule_each(plan_writes(w, self.rng(f"writer:{index}:{st.server.name}"), self.s.duration), self.at, act)

    def write(self, st: _Server, path: str, size: int, content: int, duration: float, mode: str, who: str) -> None:
        """A microservice writes a file through NFS: in place, or to ``.NAME.tmp`` then renamed."""
        pod = st.pod
        assert pod is not None
        export = pod.export
        version = st.versions.get(path, 0) + 1
        st.versions[path] = version
        head, _, name = path.rpartition("/")
        target = path if mode == "inplace" else (f"{head}/" if head else "") + f".{name}.tmp"
        data = synthetic_bytes(content, size)
        self.register(content, data)
        st.written.setdefault(path, []).append(content)
        server = st.server.name
        self.record(WriteOpened(self.now(), server, "nfs", path, version, size, who))

        def done() -> None:
            if target != path:
                _fs.rename(export, target, path)
                self.record(FileRenamed(self.now(), server, "nfs", target, path, who))
            self.record(WriteClosed(self.now(), server, "nfs", path, version, size, content, who))
            self.watch[(server, path)] = (content, size)

        if duration < INSTANT:
            _fs.write_file(export, target, data)
            done()
            return
        fd = _fs.open_write(export, target)
        self.fds.add(fd)
        st.open_writes.add(target)
        step = duration / CHUNKS
        start = self.now()

        def chunk(k: int) -> None:
            if st.pod is not pod or not pod.serving:
                # The server went away mid-write: the client sees an error; the write never closes.
                self.fds.discard(fd)
                os.close(fd)
                st.open_writes.discard(target)
                return
            os.write(fd, data[len(data) * k // CHUNKS : len(data) * (k + 1) // CHUNKS])
            if k + 1 < CHUNKS:
                self.at(start + (k + 1) * step, lambda: chunk(k + 1))
                return
            self.fds.discard(fd)
            os.close(fd)
            st.open_writes.discard(target)
            done()

        chunk(0)

    def schedule_changer(self, index: int, d: Deleter | Renamer, st: _Server) -> None:
        rng = self.rng(f"{d.type}:{index}:{st.server.name}")
        state = {"t": d.start, "k": 0}
        who = f"{d.type}-{index}"

        def act() -> None:
            base = st.windows if d.side == "windows" else (st.pod.export if st.pod else None)
            if base is None:
                return
            files = [p for p in _fs.walk_files(base) if d.side == "windows" or p not in st.open_writes]
            files = [p for p in files if not os.path.basename(p).startswith(".")]  # not a temp file in flight
            if not files:
                return
            victim = rng.choice(files)
            if isinstance(d, Deleter):
                _fs.unlink(base, victim)
                self.record(FileDeleted(self.now(), st.server.name, d.side, victim, who))
            else:
                state["k"] += 1
                head, _, name = victim.rpartition("/")
                new = (f"{head}/" if head else "") + f"renamed-{index}-{state['k']}-{name}"
                _fs.rename(base, victim, new)
                self.record(FileRenamed(self.now(), st.server.name, d.side, victim, new, who))

        def step() -> None:
            t = state["t"] + rng.expovariate(d.rate)
            state["t"] = t
            if (d.stop is not None and t > d.stop) or t >= self.s.duration:
                return

            def fire() -> None:
                if d.side == "nfs":
                    self.when_serving(st, act)
                else:
                    act()
                step()

            self.at(t, fire)

        step()

    def schedule_editor(self, index: int, w: WindowsEditor, st: _Server) -> None:
        rng = self.rng(f"windows-editor:{index}:{st.server.name}")
        state = {"t": w.start, "n": 0}

        def step() -> None:
            t = state["t"] + rng.expovariate(w.rate)
            state["t"] = t
            if (w.stop is not None and t > w.stop) or t >= self.s.duration:
                return
            state["n"] += 1
            path = w.prefix + f"doc{(rng.randrange(w.names) if w.names else state['n']):04d}.txt"
            size = draw_size(w.size, rng)
            content = rng.getrandbits(62)

            def fire() -> None:
                data = synthetic_bytes(content, size)
                self.register(content, data)
                _fs.write_file(st.windows, path, data)
                version = st.versions.get("windows:" + path, 0) + 1
                st.versions["windows:" + path] = version
                self.record(WriteClosed(self.now(), st.server.name, "windows", path, version, size, content, "person"))
                step()

            self.at(t, fire)

        step()

    # --- faults and probes ----------------------------------------------------------------------

    def fault(self, f: PodDelete | ContainerKill) -> None:
        st = self.servers[f.server]
        pod = st.pod
        if pod is None:
            return
        if isinstance(f, PodDelete):
            self.record(FaultInjected(self.now(), f.server, "pod-delete", pod.name))
            self.delete_pod(st, pod)
            return
        self.record(FaultInjected(self.now(), f.server, "container-kill", f"{f.container} SIG{f.signal}"))
        # sh as PID 1 ignores TERM (see the module docstring): only KILL stops the sidecar.
        if f.signal == "KILL" and pod.sidecar is not None:
            self.kill(pod.sidecar.proc)

    def delete_pod(self, st: _Server, pod: _Pod) -> None:
        """App containers stop first; the sidecar is killed at the end of the grace period;
        the Deployment creates the replacement at once."""
        pod.terminating = True
        pod.serving = False
        self.record(PodPhase(self.now(), st.server.name, pod.name, "Terminating"))
        nfs = st.server.nfs.name
        if pod.states.get(nfs) == "running":
            self.set_state(st, pod, nfs, "terminated", "Completed", 0)
        if pod.init_proc is not None:
            self.kill(pod.init_proc, signal.SIGTERM)  # rsync handles TERM; its exit is recorded by the poll
        sidecar = pod.sidecar
        grace = self.s.cluster.grace_period if sidecar is not None else 0.0
        self.terminating.append(pod)

        def finish() -> None:
            if pod.sidecar is not None:
                self.kill(pod.sidecar.proc)
            self.finishing.append((st, pod))

        self.after(grace, finish)
        self.create_pod(st)

    def probe(self, p: SidecarRunningProbe | NoSidecarProbe | NfsToWindowsProbe) -> None:
        st = self.servers[p.server]
        pod = st.pod
        t = self.now()
        sidecar = st.server.sidecar
        if isinstance(p, SidecarRunningProbe):
            state = pod.states.get(sidecar.name) if pod is not None and sidecar is not None else None
            alive = pod is not None and pod.sidecar is not None and pod.sidecar.proc.poll() is None
            ok = state == "running" and alive
            detail = "running" if ok else ("no sidecar container" if sidecar is None else f"state {state}")
            self.record(ProbeResult(t, p.server, p.type, f"Sidecar running: {p.server}", ok, None, detail))
        elif isinstance(p, NoSidecarProbe):
            ok = pod is not None and sidecar is None
            detail = "no sidecar" if ok else "a sidecar container is present"
            self.record(ProbeResult(t, p.server, p.type, f"No sidecar: {p.server}", ok, None, detail))
        else:
            content = self.rng(f"probe:{p.server}:{p.at}:{p.path}").getrandbits(62)
            self.probe_writes.append((p, content))
            self.when_serving(st, lambda: self.write(st, p.path, p.size, content, 0.0, "inplace", f"probe:{p.type}"))

    def finish_probes(self, end: float) -> None:
        """Judge each NFS -> Windows probe as the simulator does: the first sync of its exact content."""
        synced = self.trace.of(FileSynced)
        closed = {
            (r.server, r.path, r.content): r.t for r in self.trace.of(WriteClosed) if r.writer.startswith("probe:")
        }
        for p, content in self.probe_writes:
            t_close = closed.get((p.server, p.path, content))
            check = f"NFS to Windows within {_secs(p.within)}s: {p.server}"
            if t_close is None:
                self.record(ProbeResult(end, p.server, p.type, check, False, None, "write never completed"))
                continue
            hit = next(
                (
                    r.t for r in synced
                    if r.side == "windows" and r.server == p.server and r.path == p.path and r.content == content
                    and r.size == p.size and r.t >= t_close
                ),
                None,
            )
            if hit is None:
                detail = f"not on Windows when the run ended ({end - t_close:.1f}s after the write)"
                self.record(ProbeResult(end, p.server, p.type, check, False, None, detail))
            else:
                lat = hit - t_close
                self.record(ProbeResult(hit, p.server, p.type, check, lat <= p.within, lat, f"synced in {lat:.1f}s"))

    # --- the loop -------------------------------------------------------------------------------

    def poll(self) -> None:
        for st in self.servers.values():
            pods = [p for p in self.terminating if p.base.startswith(st.base + os.sep)]
            if st.pod is not None:
                pods.append(st.pod)
            for pod in pods:
                if pod.init_proc is not None and pod.init_proc.poll() is not None:
                    self.finish_init(st, pod)
                if pod.sidecar is not None:
                    self.sidecar_lines(st, pod)
        for st, pod in list(self.finishing):
            if pod.sidecar is None and pod.init_proc is None:
                self.finishing.remove((st, pod))
                self.terminating.remove(pod)
                self.record(PodPhase(self.now(), st.server.name, pod.name, "Deleted"))
                if st.server.export is ExportKind.EMPTY_DIR:
                    shutil.rmtree(pod.export, ignore_errors=True)  # an emptyDir goes with its pod
        t = self.now()
        for (server, path), (content, size) in list(self.watch.items()):
            if (server, path, content) in self.seen:
                continue
            win = self.servers[server].windows
            if _fs.size_of(win, path) == size:
                data = _fs.read_file(win, path)
                if data is not None and self.known.get(hashlib.sha1(data).hexdigest()) == content:
                    self.seen[(server, path, content)] = t

    def run(self) -> Trace:
        s = self.s
        for server in self.topo:
            sc = server.sidecar
            self.record(
                ServerConfig(
                    0.0, server.name, server.role.value, server.export.value, server.init.name,
                    server.init.rsync_args, sc.name if sc else None, sc.rsync_args if sc else (),
                    sc.interval if sc else None,
                )
            )
        self.clock.start()
        for st in self.servers.values():
            self.create_pod(st)
        for i, w in enumerate(s.workloads):
            role = None if isinstance(w, Deleter | Renamer | WindowsEditor) else Role.OUTPUT
            for st in self.servers_for(w.servers, role):
                if isinstance(w, Writer):
                    self.schedule_writer(i, w, st)
                elif isinstance(w, WindowsEditor):
                    self.schedule_editor(i, w, st)
                elif isinstance(w, Deleter | Renamer):
                    self.schedule_changer(i, w, st)
        for f in s.faults:
            assert isinstance(f, PodDelete | ContainerKill)  # unsupported() refused the others
            self.at(f.at, lambda f=f: self.fault(f))  # type: ignore[misc]
        for p in s.probes:
            self.at(p.at, lambda p=p: self.probe(p))  # type: ignore[misc]
        while True:
            now = self.now()
            if now >= s.duration:
                break
            while self.heap and self.heap[0][0] <= now:
                _, _, fn = heapq.heappop(self.heap)
                fn()
            self.poll()
            nxt = min(self.heap[0][0] if self.heap else s.duration, s.duration)
            time.sleep(min(max(self.clock.wall(nxt - self.now()), 0.0), POLL))
        end = self.now()
        # Stop every process before the end state: nothing may change the folders after it.
        for st in self.servers.values():
            for pod in [*self.terminating, *([st.pod] if st.pod else [])]:
                if pod.base.startswith(st.base + os.sep):
                    self.kill(pod.init_proc)
                    if pod.sidecar is not None:
                        self.kill(pod.sidecar.proc)
        self.finish_probes(end)
        for st in self.servers.values():
            if st.pod is not None:
                self.record(self.tree_state(st, "nfs", st.pod.export, "end", end))
                self.record(self.tree_state(st, "windows", st.windows, "end", end))
        self.trace.records.sort(key=lambda r: r.t)  # FileSynced and runs are recorded at the run's end
        return self.trace


def _group_running(pgid: int) -> bool:
    """Whether a member of process group ``pgid`` is still running. A dead member the sh left
    behind is a zombie until PID 1 reaps it, which may take seconds; it runs nothing."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    try:
        pids = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:  # no /proc: trust killpg
        return True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rpartition(")")[2].split()
        except OSError:
            continue
        # After "pid (comm)": state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _exit_code(returncode: int | None) -> int:
    """A container's exit code: 128 + the signal for a process killed by one."""
    if returncode is None:
        return 137
    return 128 - returncode if returncode < 0 else returncode


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""

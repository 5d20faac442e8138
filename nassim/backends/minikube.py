"""The minikube backend: a thin adapter that runs a scenario on a live test bed through ``kubectl``.

What it does, with the calls it makes (every call an argument list, no shell
on this side, a timeout, and ``--context`` pinned to the context checked first):

- Refuses a kube context that is not Minikube's unless ``allow_non_minikube``.
- Finds each server's pod with ``kubectl get pods -l app=<server> -o json``
  (the label the shipped manifests put on every pod) and reads the native
  sidecar's state from ``.status.initContainerStatuses``, as the live
  ``test-multi-nas.ps1`` did: the ``sidecar-running`` and ``no-sidecar`` probes.
- Writes (writer workloads, ``nfs-to-windows`` probes) through
  ``kubectl exec -i <pod> -c <nfs container> -- sh -c SCRIPT sh PATH`` into the
  export, every file under one probe prefix directory, ``nassim-<12 hex>``,
  created with a plain ``mkdir`` (it fails if the name exists). The simulator's
  random streams give the names, sizes and contents.
- Reads the Windows side from the host folder (``windows_root``, the host's
  ``C:\\simulator-data``, one subfolder per server) or, without one, through the
  sidecar's ``/windows-mount`` (``kubectl exec ... sha1sum``): a write has
  reached Windows when its exact bytes are there.
- A ``pod-delete`` fault is ``kubectl delete pod <pod> --wait=false``; the
  backend then watches the old pod go and the new one become Running. It never
  deletes a pod the scenario does not ask it to.
- The sidecar's own log lines (``kubectl logs --timestamps``), read at the end
  and before a pod is deleted, become :class:`~nassim.trace.LogLine` records
  and one :class:`~nassim.trace.RsyncRun` per ``Synced to Windows in Xs`` or
  ``Sync to Windows failed (rsync exit N)`` line. The manifest's sidecar sends
  rsync's output to ``/dev/null``, so a run carries only its timing and exit
  code; ``transferred`` counts the backend's own files that the run brought to
  Windows (the only ones it can see), ``scanned`` is 0 (unknown).

Cleanup, on success, failure, Ctrl-C or SIGTERM: ``rm -rf`` of the probe
prefix in each export it wrote to; then, where a sidecar copies that export to
Windows, it waits for a sidecar run that started after the removal (so no run
in flight can bring it back), and removes the prefix from the Windows folder.
It removes nothing else, ever: every path it touches starts with the prefix.

Refused by name before any call to the cluster (:func:`unsupported`):
deleters, renamers, Windows editors and readers, faults other than
``pod-delete``, topology overrides (it never redeploys the cluster), and
seeded Windows files.

The run ends at the scenario's ``duration``, or earlier once nothing is left
to do: every event done, every write seen on Windows, every restart complete.

Times: scenario seconds are wall seconds since the start, times ``speed`` (1
for a real cluster; a stand-in that runs its sidecar faster, as the tests'
fake cluster does, sets its own). Log timestamps come from the node's clock:
a host/VM clock offset shifts the runs' times by that offset.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from nassim.backends._workload import PlannedWrite, plan_writes, schedule_each, stream
from nassim.backends.base import WallClock
from nassim.errors import BackendError
from nassim.scenario import NfsToWindowsProbe, NoSidecarProbe, PodDelete, SidecarRunningProbe, Writer
from nassim.topology import EXPORT_MOUNT as EXPORT
from nassim.topology import WINDOWS_MOUNT, Role
from nassim.trace import (
    ContainerState,
    FaultInjected,
    FileSynced,
    LogLine,
    PodPhase,
    ProbeResult,
    Record,
    RsyncRun,
    ServerConfig,
    Trace,
    WriteClosed,
    WriteOpened,
)
from nassim.tree import synthetic_bytes

if TYPE_CHECKING:
    from nassim.scenario import Scenario
    from nassim.topology import Server, Topology

__all__ = ["MINIKUBE_CONTEXTS", "MinikubeBackend", "PodStatus", "unsupported"]

#: The kube contexts the backend accepts without ``allow_non_minikube=True``.
MINIKUBE_CONTEXTS: tuple[str, ...] = ("minikube",)

#: Where a missing test bed comes from.
_DEPLOY_HINT = "deploy the test bed: kubectl apply -f sim/manifests/multi-nas.yaml"

_RUN_OK = re.compile(r"^\[\d\d:\d\d:\d\d\] Synced to Windows in ([0-9.]+)s$")
_RUN_FAILED = re.compile(r"^\[\d\d:\d\d:\d\d\] Sync to Windows failed \(rsync exit (\d+)\)$")

# The scripts run in the containers: paths are positional arguments, never spliced into the script.
_MKDIR = 'mkdir -- "$1"'
_WRITE = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
_WRITE_RENAME = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$2" && mv -f -- "$2" "$1"'
_SHA1S = 'cd -- "$1" 2>/dev/null || exit 0; shift; sha1sum -- "$@" 2>/dev/null; exit 0'
_REMOVE = 'rm -rf -- "$1"; test ! -e "$1"'


def unsupported(scenario: Scenario, topology: Topology | None = None) -> list[str]:
    """What in ``scenario`` the minikube backend cannot run, one reason per item (empty: it can)."""
    out: list[str] = []
    for i, w in enumerate(scenario.workloads):
        if not isinstance(w, Writer):
            out.append(f"workloads[{i}]: type {w.type!r} (only writers run on a live cluster)")
    for i, f in enumerate(scenario.faults):
        if not isinstance(f, PodDelete):
            out.append(f"faults[{i}]: type {f.type!r} (only pod-delete runs on a live cluster)")
    spec = scenario.topology
    for field in ("interval", "export", "order", "sidecar_args", "reverse_sidecar"):
        if getattr(spec, field) is not None:
            out.append(f"topology.{field}: the minikube backend checks the deployed cluster and never redeploys it")
    if scenario.windows.files:
        out.append("windows.files: the minikube backend never seeds a person's Windows folders")
    return out


@attrs.frozen
class PodStatus:
    """What the backend read about one server's pod.

    ``sidecars`` are the init containers with ``restartPolicy: Always`` in the
    pod spec, plus any init container status named like the expected sidecar.
    ``sidecar_state`` is the expected sidecar's state key (``running``,
    ``waiting``, ``terminated``) or ``None`` when it has no status;
    ``sidecar_reason`` the waiting or terminated reason (``CrashLoopBackOff``).
    """

    server: str
    pod: str
    phase: str
    sidecar: str
    sidecars: tuple[str, ...]
    sidecar_state: str | None
    sidecar_reason: str = ""
    sidecar_started: bool = False
    sidecar_restarts: int = 0

    @property
    def sidecar_running(self) -> bool:
        """Whether the expected sidecar's state is ``running`` (what the live script checked)."""
        return self.sidecar_state == "running"

    @property
    def has_sidecar(self) -> bool:
        return bool(self.sidecars)

    def describe(self) -> str:
        """One line: the sidecar's state, for a probe's detail."""
        if self.sidecar_state is None:
            return f"pod {self.pod}: no {self.sidecar} status" + (
                f" (sidecars: {', '.join(self.sidecars)})" if self.sidecars else ""
            )
        reason = f": {self.sidecar_reason}" if self.sidecar_reason else ""
        return f"pod {self.pod}: {self.sidecar} {self.sidecar_state}{reason} (restarts {self.sidecar_restarts})"


class MinikubeBackend:
    """Run a scenario on a live Minikube test bed through ``kubectl`` (see the module doc).

    ``kubectl`` is the executable (a name on PATH or a path); ``context`` the
    kube context to use (default: the current one); it must be a Minikube
    context unless ``allow_non_minikube=True``. ``windows_root`` is the host
    folder holding one Windows folder per server (``C:\\simulator-data``); without
    it the Windows side is read through the sidecar's ``/windows-mount``.
    ``timeout`` bounds each kubectl call, in seconds; ``poll`` is the wall
    seconds between looks at the Windows side; ``speed`` as in the module doc.
    """

    name = "minikube"

    def __init__(
        self,
        kubectl: str = "kubectl",
        context: str | None = None,
        windows_root: str | os.PathLike[str] | None = None,
        namespace: str = "default",
        allow_non_minikube: bool = False,
        *,
        timeout: float = 30.0,
        poll: float = 0.5,
        speed: float = 1.0,
    ) -> None:
        if not timeout > 0:
            raise BackendError(f"'timeout' must be > 0 (got {timeout!r})")
        if not poll > 0:
            raise BackendError(f"'poll' must be > 0 (got {poll!r})")
        WallClock(speed)  # validates speed
        self.kubectl = kubectl
        self.context = context
        self.windows_root = None if windows_root is None else os.fspath(windows_root)
        self.namespace = namespace
        self.allow_non_minikube = allow_non_minikube
        self.timeout = float(timeout)
        self.poll = float(poll)
        self.speed = float(speed)
        self._checked: str | None = None

    def __repr__(self) -> str:
        return f"MinikubeBackend(context={self.context!r}, namespace={self.namespace!r})"

    # --- kubectl ------------------------------------------------------------------------------

    def _call(
        self, args: list[str], *, what: str, stdin: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """kubectl with ``args``; a one-line BackendError when it cannot run, or (``check``) fails."""
        cmd = [self.kubectl, *args]
        try:
            p = subprocess.run(
                cmd, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True, timeout=self.timeout, check=False,
            )
        except FileNotFoundError:
            raise BackendError(
                f"the minikube backend needs kubectl: {self.kubectl!r} is not on PATH "
                "(install kubectl, or pass kubectl=PATH)"
            ) from None
        except PermissionError:
            raise BackendError(
                f"kubectl {self.kubectl!r} is not executable (chmod +x it, or pass kubectl=PATH)"
            ) from None
        except subprocess.TimeoutExpired:
            raise BackendError(
                f"{what}: kubectl did not answer within {self.timeout:g} s "
                "(is the cluster up? 'minikube status'; or pass a larger timeout=)"
            ) from None
        if check and p.returncode != 0:
            raise BackendError(f"{what}: {_failure(p)}")
        return p

    def _kubectl(self, args: list[str], *, what: str) -> str:
        """kubectl's stdout for ``args``, as text."""
        return self._call(args, what=what).stdout.decode("utf-8", errors="replace")

    def _scoped(self, *args: str) -> list[str]:
        """``args`` pinned to the checked context and the namespace."""
        return [
            "--context", self._context(), "--namespace", self.namespace, f"--request-timeout={self.timeout:g}s", *args
        ]

    def check_context(self) -> str:
        """The kube context every later call uses; refuses one that is not Minikube's."""
        ctx = self.context
        if ctx is None:
            ctx = self._kubectl(["config", "current-context"], what="kubectl config current-context").strip()
            if not ctx:
                raise BackendError(
                    "kubectl config current-context: no current kube context (start the cluster: 'minikube start')"
                )
        if ctx not in MINIKUBE_CONTEXTS and not self.allow_non_minikube:
            raise BackendError(
                f"kube context {ctx!r} is not a Minikube context; the minikube backend only drives Minikube "
                "(switch: 'kubectl config use-context minikube', or pass allow_non_minikube=True)"
            )
        self._checked = ctx
        return ctx

    def _context(self) -> str:
        return self._checked if self._checked is not None else self.check_context()

    def pods(self, server: str) -> list[dict[str, Any]]:
        """Every pod with label ``app=<server>`` (terminating ones too), as the API server returns them."""
        what = f"kubectl get pods -l app={server}"
        out = self._kubectl(self._scoped("get", "pods", "-l", f"app={server}", "-o", "json"), what=what)
        try:
            doc = json.loads(out)
            items = doc["items"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"{what}: kubectl printed no pod list (got {out[:60]!r})") from None
        return [p for p in items if isinstance(p, dict)]

    def pod_status(self, server: str, sidecar: str = "sync-to-windows") -> PodStatus:
        """The pod of ``server`` (label ``app=<server>``) and the state of its ``sidecar``.

        Of several pods (a rollout, a pod terminating), the newest one that is
        not being deleted. Raises a one-line BackendError when there is none.
        """
        items = self.pods(server)
        live = [p for p in items if not _get(p, "metadata", "deletionTimestamp")]
        if not live:
            gone = " (only a terminating one)" if items else ""
            raise BackendError(
                f"no pod with label app={server} in namespace {self.namespace!r} of context {self._context()!r}"
                f"{gone}; {_DEPLOY_HINT}"
            )
        pod = max(live, key=lambda p: str(_get(p, "metadata", "creationTimestamp") or ""))
        return _pod_status(server, pod, sidecar)

    def exec(
        self, pod: str, container: str, script: str, *args: str, stdin: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """``sh -c script sh args...`` in ``container`` of ``pod`` (stdin piped when given)."""
        flags = ["-i"] if stdin is not None else []
        return self._call(
            self._scoped("exec", *flags, pod, "-c", container, "--", "sh", "-c", script, "sh", *args),
            what=f"kubectl exec {pod} -c {container}",
            stdin=stdin,
            check=check,
        )

    def logs(self, pod: str, container: str, since: str | None = None) -> str:
        """``container``'s log, each line prefixed by its RFC 3339 timestamp."""
        extra = [f"--since-time={since}"] if since else []
        what = f"kubectl logs {pod} -c {container}"
        return self._kubectl(self._scoped("logs", pod, "-c", container, "--timestamps", *extra), what=what)

    # --- run ----------------------------------------------------------------------------------

    def run(self, scenario: Scenario) -> Trace:
        """Run ``scenario`` on the cluster in wall time; returns the trace after cleaning up."""
        topo = scenario.load_topology()
        bad = unsupported(scenario, topo)
        if bad:
            raise BackendError(f"the minikube backend cannot run scenario {scenario.name!r}: {'; '.join(bad)}")
        named = [p.server for p in scenario.probes] + [f.server for f in scenario.faults if isinstance(f, PodDelete)]
        for w in scenario.workloads:
            named += list(w.servers or ())
        for name in named:
            if name not in topo.names:
                raise BackendError(f"server {name!r}: no such server in the topology ({', '.join(topo.names)})")
        if self.windows_root is not None and not os.path.isdir(self.windows_root):
            raise BackendError(
                f"windows_root {self.windows_root!r} does not exist or is not a directory "
                "(pass the host folder that minikube mount serves, e.g. C:\\simulator-data)"
            )
        live = _LiveRun(self, scenario, topo)
        for server in live.observed():
            live.check_observable(server)
        self.check_context()
        return live.run()


@attrs.define
class _Watch:
    """A write the backend looks for on the Windows side."""

    server: str
    path: str
    content: int
    size: int
    sha1: str
    closed: float
    seen: float | None = None
    unseen: float = 0.0  # the last look that did not find it
    synced: float | None = None  # when the run that brought it ended (or ``seen``, if earlier)


@attrs.frozen
class _LoggedRun:
    """One sidecar run, from its log line: start and duration in scenario seconds, exit code."""

    server: str
    container: str
    t0: float
    took: float
    code: int


class _Interrupted(BaseException):
    """SIGTERM, turned into an exception so that the cleanup in ``finally`` runs."""


class _LiveRun:
    """One run on the cluster: an event heap in wall-clock scenario time, a poll of the Windows side."""

    def __init__(self, backend: MinikubeBackend, s: Scenario, topo: Topology) -> None:
        self.b = backend
        self.s = s
        self.topo = topo
        self.prefix = f"nassim-{uuid.uuid4().hex[:12]}"
        self.clock = WallClock(backend.speed)
        self.epoch = 0.0  # time.time() at the start: log timestamps are wall-clock times
        self.trace = Trace(
            seed=s.seed,
            params={
                "scenario": s.name, "backend": "minikube", "context": backend.context, "namespace": backend.namespace,
                "prefix": self.prefix, "speed": backend.speed,
                "windows_side": backend.windows_root or f"kubectl exec into the sidecar's {WINDOWS_MOUNT}",
            },
        )
        self.heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self.pod: dict[str, str] = {}  # server -> the pod it runs in now
        self.restarting: dict[str, tuple[str, set[str]]] = {}  # server -> (old pod, new pods seen)
        self.departing: dict[str, str] = {}  # deleted pod, until it is gone -> its server
        self.waiting: dict[str, list[Callable[[], None]]] = {}  # writes held while a server restarts
        self.made: set[str] = set()  # servers whose export got the prefix directory
        self.versions: dict[tuple[str, str], int] = {}
        self.watches: list[_Watch] = []
        self.probe_writes: list[tuple[NfsToWindowsProbe, int]] = []
        self.old_logs: list[tuple[str, str, str]] = []  # (server, pod, log text) of deleted pods

    # --- plumbing ----------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def at(self, t: float, fn: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (t, self._seq, fn))

    def record(self, r: Record) -> None:
        self.trace.add(r)

    def server(self, name: str) -> Server:
        return self.topo.server(name)

    def observed(self) -> list[str]:
        """The servers whose Windows side the run must read."""
        out = {p.server for p in self.s.probes if isinstance(p, NfsToWindowsProbe)}
        for w in self.s.workloads:
            assert isinstance(w, Writer)
            out.update(self.writer_servers(w))
        return sorted(out)

    def writer_servers(self, w: Writer) -> list[str]:
        if w.servers is not None:
            return list(w.servers)
        return [sv.name for sv in self.topo if sv.role is Role.OUTPUT]

    def check_observable(self, name: str) -> None:
        if self.b.windows_root is not None:
            folder = self.windows_dir(name)
            if not os.path.isdir(folder):
                raise BackendError(
                    f"{name}: its Windows folder {folder!r} does not exist under windows_root "
                    f"{self.b.windows_root!r} (is it the folder minikube mount serves?)"
                )
        elif self.server(name).sidecar is None:
            raise BackendError(
                f"{name} has no sidecar to read its Windows side through; pass windows_root (the host folder)"
            )

    def windows_dir(self, name: str) -> str:
        """The server's Windows folder on this host: its last path component under ``windows_root``."""
        assert self.b.windows_root is not None
        folder = [c for c in re.split(r"[\\/]", self.server(name).windows_folder) if c][-1]
        return os.path.join(self.b.windows_root, folder)

    # --- the run -------------------------------------------------------------------------------

    def run(self) -> Trace:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _raise_interrupted)
        try:
            try:
                self.start()
                self.loop()
                self.finish()
            finally:
                self.cleanup()
        except _Interrupted:
            raise KeyboardInterrupt from None
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self.trace.records.sort(key=lambda r: r.t)
        return self.trace

    def start(self) -> None:
        for server in self.topo:
            sc = server.sidecar
            self.record(
                ServerConfig(
                    0.0, server.name, server.role.value, server.export.value, server.init.name,
                    server.init.rsync_args, sc.name if sc else None, sc.rsync_args if sc else (),
                    sc.interval if sc else None,
                )
            )
        self.trace.params["context"] = self.b._context()
        pods = {sv.name: self.b.pod_status(sv.name, self.sidecar_name(sv.name)) for sv in self.topo}
        self.clock.start()
        self.epoch = time.time()
        for name, st in pods.items():
            self.pod[name] = st.pod
            self.record(PodPhase(0.0, name, st.pod, st.phase or "Unknown"))
            if st.sidecar_state is not None:
                self.record(
                    ContainerState(0.0, name, st.pod, st.sidecar, st.sidecar_state, st.sidecar_reason, None,
                                   st.sidecar_restarts)
                )
        for i, w in enumerate(self.s.workloads):
            assert isinstance(w, Writer)
            for name in self.writer_servers(w):
                self.schedule_writer(i, w, name)
        for f in self.s.faults:
            assert isinstance(f, PodDelete)
            self.at(f.at, lambda f=f: self.delete_pod(f.server))  # type: ignore[misc]
        for p in self.s.probes:
            self.at(p.at, lambda p=p: self.probe(p))  # type: ignore[misc]

    def loop(self) -> None:
        last_poll = -1e9
        while True:
            now = self.now()
            if now >= self.s.duration or self.idle():
                break
            while self.heap and self.heap[0][0] <= self.now() < self.s.duration:
                _, _, fn = heapq.heappop(self.heap)
                fn()
            if self.restarting or self.departing or time.monotonic() - last_poll >= self.b.poll:
                last_poll = time.monotonic()
                self.watch_restarts()
                self.look()
            nxt = min(self.heap[0][0] if self.heap else self.s.duration, self.s.duration)
            time.sleep(max(0.0, min(self.clock.wall(nxt - self.now()), self.b.poll)))

    def idle(self) -> bool:
        """Nothing left to do or to wait for: a live run ends here rather than idle to ``duration``."""
        if self.heap or self.restarting or self.departing or any(w.seen is None for w in self.watches):
            return False
        # ... and the run that brought the last write has had time to print its log line.
        last = max((w.seen for w in self.watches if w.seen is not None), default=-1e9)
        return self.now() - last >= 2 * self.b.poll * self.b.speed

    def finish(self) -> None:
        self.look()
        end = self.now()
        logs = [(name, pod, self.fetch_logs(pod, name)) for name, pod in self.pod.items()
                if self.server(name).sidecar is not None]
        self.parse_runs([*self.old_logs, *logs])
        self.finish_probes(end)

    # --- probes ---------------------------------------------------------------------------------

    def sidecar_name(self, name: str) -> str:
        sc = self.server(name).sidecar
        return sc.name if sc is not None else "sync-to-windows"

    def probe(self, p: SidecarRunningProbe | NoSidecarProbe | NfsToWindowsProbe) -> None:
        if isinstance(p, NfsToWindowsProbe):
            content = stream(self.s.seed, f"probe:{p.server}:{p.at}:{p.path}").getrandbits(62)
            self.probe_writes.append((p, content))
            self.when_serving(p.server, lambda: self.write(p.server, p.path, p.size, content, "inplace",
                                                           f"probe:{p.type}"))
            return
        st = self.b.pod_status(p.server, self.sidecar_name(p.server))
        t = self.now()
        if isinstance(p, SidecarRunningProbe):
            ok = st.sidecar_running
            self.record(ProbeResult(t, p.server, p.type, f"Sidecar running: {p.server}", ok, None, st.describe()))
        else:
            ok = not st.has_sidecar
            detail = f"pod {st.pod}: no sidecar" if ok else f"pod {st.pod}: sidecar {', '.join(st.sidecars)}"
            self.record(ProbeResult(t, p.server, p.type, f"No sidecar: {p.server}", ok, None, detail))

    def finish_probes(self, end: float) -> None:
        """Each NFS -> Windows probe: when the sidecar run that brought its exact content to Windows
        ended (or the look that saw it there, if earlier)."""
        for p, content in self.probe_writes:
            check = f"NFS to Windows within {p.within:g}s: {p.server}"
            w = next((w for w in self.watches if w.server == p.server and w.path == p.path and w.content == content),
                     None)
            if w is None:
                self.record(ProbeResult(end, p.server, p.type, check, False, None, "write never completed"))
            elif w.synced is None:
                detail = f"not on Windows when the run ended ({end - w.closed:.1f}s after the write)"
                self.record(ProbeResult(end, p.server, p.type, check, False, None, detail))
            else:
                lat = w.synced - w.closed
                ok = lat <= p.within
                self.record(ProbeResult(w.synced, p.server, p.type, check, ok, lat, f"synced in {lat:.1f}s"))

    # --- writes ----------------------------------------------------------------------------------

    def schedule_writer(self, index: int, w: Writer, name: str) -> None:
        def act(pw: PlannedWrite) -> None:
            self.when_serving(name, lambda: self.write(name, pw.path, pw.size, pw.content, w.mode, f"writer-{index}"))

        schedule_each(plan_writes(w, stream(self.s.seed, f"writer:{index}:{name}"), self.s.duration), self.at, act)

    def when_serving(self, name: str, fn: Callable[[], None]) -> None:
        """Now, or once the server's replacement pod runs (an NFS client's hard mount blocks meanwhile)."""
        if name in self.restarting:
            self.waiting.setdefault(name, []).append(fn)
        else:
            fn()

    def write(self, name: str, path: str, size: int, content: int, mode: str, who: str) -> None:
        """Write ``size`` bytes of ``content`` at ``PREFIX/path`` in the server's export."""
        pod = self.pod[name]
        nfs = self.server(name).nfs.name
        if name not in self.made:
            # A plain mkdir: it fails if the name exists, so the prefix is the backend's own. Counted as
            # made before the call: an interrupt during it must still clean up.
            self.made.add(name)
            p = self.b.exec(pod, nfs, _MKDIR, f"{EXPORT}/{self.prefix}", check=False)
            if p.returncode != 0:
                self.made.discard(name)
                raise BackendError(
                    f"kubectl exec {pod} -c {nfs}: cannot create the probe directory {EXPORT}/{self.prefix} "
                    f"({_failure(p)})"
                )
        key = (name, path)
        version = self.versions.get(key, 0) + 1
        self.versions[key] = version
        data = synthetic_bytes(content, size)
        self.record(WriteOpened(self.now(), name, "nfs", path, version, size, who))
        target = f"{EXPORT}/{self.prefix}/{path}"
        if mode == "inplace":
            self.b.exec(pod, nfs, _WRITE, target, stdin=data)
        else:
            head, _, base = target.rpartition("/")
            self.b.exec(pod, nfs, _WRITE_RENAME, target, f"{head}/.{base}.tmp", stdin=data)
        t = self.now()
        self.record(WriteClosed(t, name, "nfs", path, version, size, content, who))
        self.watches.append(_Watch(name, path, content, size, hashlib.sha1(data).hexdigest(), t, unseen=t))

    # --- the Windows side ---------------------------------------------------------------------------

    def look(self) -> None:
        """Mark the writes whose exact bytes are now in their server's Windows folder."""
        pending: dict[str, list[_Watch]] = {}
        for w in self.watches:
            if w.seen is None:
                pending.setdefault(w.server, []).append(w)
        for name, watches in pending.items():
            if name in self.restarting:
                continue
            found = self.windows_sha1s(name, sorted({w.path for w in watches}))
            t = self.now()
            for w in watches:
                if found.get(w.path) == w.sha1:
                    w.seen = t
                else:
                    w.unseen = t

    def windows_sha1s(self, name: str, paths: list[str]) -> dict[str, str]:
        """path -> SHA-1 of its bytes, for those of ``paths`` (under the prefix) in the server's Windows folder."""
        out: dict[str, str] = {}
        if self.b.windows_root is not None:
            base = os.path.join(self.windows_dir(name), self.prefix)
            for path in paths:
                full = os.path.join(base, path)
                if os.path.islink(full):
                    continue  # never followed
                with contextlib.suppress(OSError), open(full, "rb") as fh:
                    out[path] = hashlib.sha1(fh.read()).hexdigest()
            return out
        p = self.b.exec(
            self.pod[name], self.sidecar_name(name), _SHA1S, f"{WINDOWS_MOUNT}/{self.prefix}", *paths, check=False
        )
        for line in p.stdout.decode("utf-8", errors="replace").splitlines():
            digest, _, path = line.partition("  ")
            out[path] = digest
        return out  # empty while the sidecar restarts: the next poll looks again

    # --- pod deletion ----------------------------------------------------------------------------------

    def delete_pod(self, name: str) -> None:
        if name in self.restarting:
            raise BackendError(f"pod-delete of {name} while its previous pod is still being replaced")
        pod = self.pod[name]
        if self.server(name).sidecar is not None:
            self.old_logs.append((name, pod, self.fetch_logs(pod, name)))
        t = self.now()
        self.record(FaultInjected(t, name, "pod-delete", pod))
        self.record(PodPhase(t, name, pod, "Terminating"))
        self.b._kubectl(self.b._scoped("delete", "pod", pod, "--wait=false"), what=f"kubectl delete pod {pod}")
        self.restarting[name] = (pod, set())
        self.departing[pod] = name

    def watch_restarts(self) -> None:
        """Follow each deleted pod until it is gone, and its replacement until it runs."""
        servers = sorted(set(self.restarting) | set(self.departing.values()))
        for name in servers:
            items = self.b.pods(name)
            t = self.now()
            names = {str(_get(p, "metadata", "name")) for p in items}
            for old, server in list(self.departing.items()):
                if server == name and old not in names:
                    del self.departing[old]
                    self.record(PodPhase(t, name, old, "Deleted"))
            if name not in self.restarting:
                continue
            old, seen = self.restarting[name]
            for p in items:
                pod = str(_get(p, "metadata", "name"))
                if pod == old or _get(p, "metadata", "deletionTimestamp"):
                    continue
                if pod not in seen:
                    seen.add(pod)
                    self.record(PodPhase(t, name, pod, "Pending"))
                st = _pod_status(name, p, self.sidecar_name(name))
                if st.phase == "Running" and _ready(p):
                    self.record(PodPhase(t, name, pod, "Running"))
                    if st.sidecar_state is not None:
                        self.record(ContainerState(t, name, pod, st.sidecar, st.sidecar_state, st.sidecar_reason,
                                                   None, st.sidecar_restarts))
                    self.pod[name] = pod
                    del self.restarting[name]
                    for fn in self.waiting.pop(name, []):
                        fn()
                    break

    # --- logs ------------------------------------------------------------------------------------------

    def since(self) -> str:
        return datetime.fromtimestamp(self.epoch).astimezone().isoformat()

    def fetch_logs(self, pod: str, name: str) -> str:
        return self.b.logs(pod, self.sidecar_name(name), since=self.since())

    def scenario_time(self, stamp: str) -> float | None:
        """Scenario seconds of an RFC 3339 log timestamp (nanoseconds allowed), or None."""
        m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", stamp)
        if m is None:
            return None
        frac = (m.group(2) or ".0")[:7]
        zone = "+00:00" if m.group(3) == "Z" else m.group(3)
        wall = datetime.fromisoformat(m.group(1) + frac + zone).timestamp()
        return (wall - self.epoch) * self.b.speed

    def log_lines(self, text: str) -> Iterator[tuple[float, str, tuple[float, int] | None]]:
        """(scenario time, line, run) for each line of ``kubectl logs --timestamps`` since the start;
        ``run`` is (duration in scenario seconds, exit code) for a sidecar's run line, else None."""
        for raw in text.splitlines():
            stamp, _, line = raw.partition(" ")
            t = self.scenario_time(stamp)
            if t is None or t < 0:
                continue
            ok, failed = _RUN_OK.match(line), _RUN_FAILED.match(line)
            if ok is not None:
                yield t, line, (min(t, float(ok.group(1)) * self.b.speed), 0)
            elif failed is not None:
                yield t, line, (0.0, int(failed.group(1)))  # the failure line gives no duration
            else:
                yield t, line, None

    def parse_runs(self, logs: list[tuple[str, str, str]]) -> None:
        """LogLine and RsyncRun records from the sidecars' logs; FileSynced for the writes each run brought."""
        runs: list[_LoggedRun] = []
        for name, pod, text in logs:
            container = self.sidecar_name(name)
            for t, line, run in self.log_lines(text):
                self.record(LogLine(t, name, pod, container, line))
                if run is not None:
                    took, code = run
                    runs.append(_LoggedRun(name, container, t - took, took, code))
        runs.sort(key=lambda r: (r.server, r.t0))
        brought: dict[int, list[_Watch]] = {}
        for w in self.watches:
            if w.seen is None:
                continue
            # The run that copied it ended after the last look that missed it and started before the
            # look that found it: the first such run of its server.
            hit = next(
                (i for i, r in enumerate(runs)
                 if r.server == w.server and r.code == 0 and r.t0 + r.took >= w.unseen and r.t0 <= w.seen),
                None,
            )
            if hit is not None:
                brought.setdefault(hit, []).append(w)
        numbers: dict[str, int] = {}
        for i, r in enumerate(runs):
            numbers[r.server] = number = numbers.get(r.server, 0) + 1
            mine = brought.get(i, [])
            for w in mine:
                t = w.synced = max(r.t0, min(w.seen or r.t0, r.t0 + r.took))
                self.record(FileSynced(t, r.server, "windows", w.path, w.size, w.content, r.container, number))
            self.record(RsyncRun(r.t0, r.server, r.container, number, r.took, r.code, len(mine),
                                 sum(w.size for w in mine), 0, 0))
        # A write seen on Windows with no run to credit (logs lost with a pod): still a sync, of no run.
        for w in self.watches:
            if w.seen is not None and w.synced is None:
                w.synced = w.seen
                self.record(FileSynced(w.seen, w.server, "windows", w.path, w.size, w.content,
                                       self.sidecar_name(w.server), 0))

    # --- cleanup ------------------------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Remove the probe prefix from every export and Windows folder it reached; nothing else."""
        if not self.made:
            return
        leftovers: dict[str, str] = {}
        removed: dict[str, float] = {}
        for name in sorted(self.made):
            if self.remove_export(name, leftovers):
                removed[name] = time.time()
        for name, t_removed in removed.items():
            sc = self.server(name).sidecar
            if sc is None:
                continue
            self.wait_for_run_after(name, sc.interval, t_removed)
            # Again: a write cut short by an interrupt may have landed after the first removal.
            self.remove_export(name, leftovers)
            if self.b.windows_root is not None:
                base = os.path.join(self.windows_dir(name), self.prefix)
                _remove_tree(base)
                if os.path.lexists(base):
                    leftovers[f"{name} windows"] = base
            else:
                pod = self.current_pod(name) or self.pod[name]
                target = f"{WINDOWS_MOUNT}/{self.prefix}"
                p = self.b.exec(pod, sc.name, _REMOVE, target, check=False)
                if p.returncode != 0:
                    leftovers[f"{name} windows"] = f"{pod}: {target} ({_failure(p)})"
        if leftovers:
            raise BackendError(
                f"could not remove the probe prefix {self.prefix!r}: {'; '.join(leftovers.values())}"
            )

    def remove_export(self, name: str, leftovers: dict[str, str]) -> bool:
        """``rm -rf`` the prefix in the server's export (its current pod); whether that worked."""
        pod = self.current_pod(name)
        if pod is None:
            leftovers[f"{name} nfs"] = f"{name}: no running pod to remove {EXPORT}/{self.prefix} from"
            return False
        p = self.b.exec(pod, self.server(name).nfs.name, _REMOVE, f"{EXPORT}/{self.prefix}", check=False)
        if p.returncode != 0:
            leftovers[f"{name} nfs"] = f"{pod}: {EXPORT}/{self.prefix} ({_failure(p)})"
            return False
        leftovers.pop(f"{name} nfs", None)
        return True

    def current_pod(self, name: str) -> str | None:
        """The server's running pod now (after a restart still in progress: its replacement)."""
        try:
            return self.b.pod_status(name, self.sidecar_name(name)).pod
        except BackendError:
            return None

    def wait_for_run_after(self, name: str, interval: float, t_removed: float) -> None:
        """Until a sidecar run that started after ``t_removed`` (epoch seconds) has ended, at most
        two sidecar periods and a minute (wall): no run in flight can then copy the prefix back."""
        deadline = time.monotonic() + (2 * interval + 60) / self.b.speed
        while time.monotonic() < deadline:
            pod = self.current_pod(name)
            if pod is not None:
                with contextlib.suppress(BackendError):
                    text = self.b.logs(pod, self.sidecar_name(name), since=self.since())
                    for t, _, run in self.log_lines(text):
                        if run is not None and self.epoch + (t - run[0]) / self.b.speed > t_removed:
                            return
            time.sleep(min(self.b.poll, interval / self.b.speed / 4))


def _ready(pod: dict[str, Any]) -> bool:
    conditions = _get(pod, "status", "conditions") or []
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _raise_interrupted(signum: int, frame: object) -> None:
    raise _Interrupted


def _failure(p: subprocess.CompletedProcess[bytes]) -> str:
    """kubectl's stderr as one line, with a hint for the failures a user can fix."""
    err = " ".join(line.strip() for line in p.stderr.decode("utf-8", errors="replace").splitlines() if line.strip())
    err = err or f"exit {p.returncode}"
    low = err.lower()
    if "current-context is not set" in low:
        return "no current kube context (start the cluster: 'minikube start')"
    if "refused" in low or "unable to connect" in low or "no such host" in low or "timeout" in low:
        return f"cannot reach the cluster ({err}); start it: 'minikube start'"
    return f"kubectl failed ({err})"


def _remove_tree(path: str) -> None:
    """Remove a directory tree the backend created; a symlink in its place is unlinked, never followed."""
    if os.path.islink(path) or os.path.isfile(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)  # rmtree never follows symlinks inside the tree


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _pod_status(server: str, pod: dict[str, Any], sidecar: str) -> PodStatus:
    specs = _get(pod, "spec", "initContainers") or []
    statuses = _get(pod, "status", "initContainerStatuses") or []
    names = [c.get("name", "") for c in specs if isinstance(c, dict) and c.get("restartPolicy") == "Always"]
    mine = next((s for s in statuses if isinstance(s, dict) and s.get("name") == sidecar), None)
    if mine is not None and sidecar not in names:
        names.append(sidecar)
    state_key: str | None = None
    reason = ""
    if mine is not None:
        state = mine.get("state") or {}
        if isinstance(state, dict) and state:
            state_key = next(iter(state))
            inner = state[state_key]
            reason = str(inner.get("reason", "")) if isinstance(inner, dict) else ""
    return PodStatus(
        server=server,
        pod=str(_get(pod, "metadata", "name") or "?"),
        phase=str(_get(pod, "status", "phase") or ""),
        sidecar=sidecar,
        sidecars=tuple(names),
        sidecar_state=state_key,
        sidecar_reason=reason,
        sidecar_started=bool(mine.get("started")) if mine is not None else False,
        sidecar_restarts=int(mine.get("restartCount") or 0) if mine is not None else 0,
    )

"""The minikube backend: a thin, read-only adapter that checks a live test bed through ``kubectl``.

What it does now: it refuses a kube context that is not Minikube's, then turns
a scenario's ``sidecar-running`` and ``no-sidecar`` probes into
:class:`~nassim.trace.ProbeResult` records, reading each server's pod with
``kubectl get pods -l app=<server> -o json`` (the label the shipped manifests
put on every pod) and looking at ``.status.initContainerStatuses``, where a
native sidecar's state lives (as the live ``test-multi-nas.ps1`` did).

What it does not do yet, and refuses by name before it calls the cluster:
workloads (writes through ``kubectl exec``), faults, NFS -> Windows probes
(reading the Windows side from the host), pre-seeded Windows files, and
topology overrides (it never redeploys the cluster). It never changes the
cluster: every call is a ``kubectl get`` or ``kubectl config current-context``.

Every kubectl call is an argument list (no shell) with a timeout, pinned to
the context checked at the start of the run (``--context``), so switching
contexts mid-run cannot redirect it.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import TYPE_CHECKING, Any

import attrs

from nassim.backends.base import WallClock
from nassim.errors import BackendError
from nassim.scenario import NoSidecarProbe, SidecarRunningProbe
from nassim.trace import ProbeResult, Trace

if TYPE_CHECKING:
    from nassim.scenario import Scenario
    from nassim.topology import Topology

__all__ = ["MINIKUBE_CONTEXTS", "MinikubeBackend", "PodStatus", "unsupported"]

#: The kube contexts the backend accepts without ``allow_non_minikube=True``.
MINIKUBE_CONTEXTS: tuple[str, ...] = ("minikube",)

#: Where a missing test bed comes from.
_DEPLOY_HINT = "deploy the test bed: kubectl apply -f sim/manifests/multi-nas.yaml"


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


def unsupported(scenario: Scenario, topology: Topology | None = None) -> list[str]:
    """What in ``scenario`` the minikube backend cannot run yet, one reason per item (empty: it can)."""
    out: list[str] = []
    for i, w in enumerate(scenario.workloads):
        out.append(f"workloads[{i}]: type {w.type!r} (writes through kubectl exec are not built yet)")
    for i, f in enumerate(scenario.faults):
        out.append(f"faults[{i}]: type {f.type!r} (fault injection on a live cluster is not built yet)")
    for i, p in enumerate(scenario.probes):
        if not isinstance(p, SidecarRunningProbe | NoSidecarProbe):
            out.append(f"probes[{i}]: type {p.type!r} (reading the Windows side is not built yet)")
    spec = scenario.topology
    for field in ("interval", "export", "order", "sidecar_args", "reverse_sidecar"):
        if getattr(spec, field) is not None:
            out.append(f"topology.{field}: the minikube backend checks the deployed cluster and never redeploys it")
    if scenario.windows.files:
        out.append("windows.files: seeding the Windows folders is not built yet")
    return out


class MinikubeBackend:
    """Run a scenario's sidecar checks against a live Minikube cluster (read-only; see the module doc).

    ``kubectl`` is the executable (a name on PATH or a path); ``context`` the
    kube context to use (default: the current one); it must be a Minikube
    context unless ``allow_non_minikube=True``. ``windows_root`` (the host's
    ``C:\\simulator-data``) is kept for the Windows-side reads that are not
    built yet. ``timeout`` bounds each kubectl call, in seconds.
    """

    name = "minikube"

    def __init__(
        self,
        kubectl: str = "kubectl",
        context: str | None = None,
        windows_root: str | None = None,
        namespace: str = "default",
        allow_non_minikube: bool = False,
        *,
        timeout: float = 30.0,
    ) -> None:
        if not timeout > 0:
            raise BackendError(f"'timeout' must be > 0 (got {timeout!r})")
        self.kubectl = kubectl
        self.context = context
        self.windows_root = windows_root
        self.namespace = namespace
        self.allow_non_minikube = allow_non_minikube
        self.timeout = float(timeout)
        self._checked: str | None = None

    # --- kubectl ------------------------------------------------------------------------------

    def _kubectl(self, args: list[str], *, what: str) -> str:
        """kubectl's stdout for ``args``; a one-line BackendError when it cannot run or fails."""
        cmd = [self.kubectl, *args]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, check=False)
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
        if p.returncode != 0:
            err = " ".join(line.strip() for line in p.stderr.splitlines() if line.strip()) or f"exit {p.returncode}"
            low = err.lower()
            if "current-context is not set" in low:
                raise BackendError(f"{what}: no current kube context (start the cluster: 'minikube start')")
            if "refused" in low or "unable to connect" in low or "no such host" in low or "timeout" in low:
                raise BackendError(f"{what}: cannot reach the cluster ({err}); start it: 'minikube start'")
            raise BackendError(f"{what}: kubectl failed ({err})")
        return p.stdout

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

    def pod_status(self, server: str, sidecar: str = "sync-to-windows") -> PodStatus:
        """The pod of ``server`` (label ``app=<server>``) and the state of its ``sidecar``.

        Of several pods (a rollout, a pod terminating), the newest one that is
        not being deleted. Raises a one-line BackendError when there is none.
        """
        ctx = self._context()
        what = f"kubectl get pods -l app={server}"
        out = self._kubectl(
            [
                "--context", ctx, "--namespace", self.namespace,
                f"--request-timeout={self.timeout:g}s",
                "get", "pods", "-l", f"app={server}", "-o", "json",
            ],
            what=what,
        )
        try:
            doc = json.loads(out)
            items = doc["items"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise BackendError(f"{what}: kubectl printed no pod list (got {out[:60]!r})") from None
        live = [p for p in items if isinstance(p, dict) and not _get(p, "metadata", "deletionTimestamp")]
        if not live:
            gone = " (only a terminating one)" if items else ""
            raise BackendError(
                f"no pod with label app={server} in namespace {self.namespace!r} of context {ctx!r}{gone}; "
                f"{_DEPLOY_HINT}"
            )
        pod = max(live, key=lambda p: str(_get(p, "metadata", "creationTimestamp") or ""))
        return _pod_status(server, pod, sidecar)

    # --- run ----------------------------------------------------------------------------------

    def run(self, scenario: Scenario) -> Trace:
        """Check the scenario's sidecar probes on the live cluster, each at its ``at`` (wall seconds).

        Returns after the last probe: nothing else happens in a read-only run.
        """
        topo = scenario.load_topology()
        bad = unsupported(scenario, topo)
        if bad:
            raise BackendError(f"the minikube backend cannot run scenario {scenario.name!r} yet: {'; '.join(bad)}")
        for p in scenario.probes:
            if p.server not in topo.names:
                raise BackendError(f"probe on {p.server!r}: no such server in the topology ({', '.join(topo.names)})")
        ctx = self.check_context()
        trace = Trace(
            seed=scenario.seed,
            params={"scenario": scenario.name, "backend": self.name, "context": ctx, "namespace": self.namespace},
        )
        clock = WallClock(1.0)
        clock.start()
        for p in sorted(scenario.probes, key=lambda p: p.at):
            wait = p.at - clock.now()
            if wait > 0:
                time.sleep(wait)
            server = topo.server(p.server)
            expected = server.sidecar.name if server.sidecar is not None else "sync-to-windows"
            st = self.pod_status(p.server, expected)
            t = clock.now()
            if isinstance(p, SidecarRunningProbe):
                ok = st.sidecar_running
                trace.add(ProbeResult(t, p.server, p.type, f"Sidecar running: {p.server}", ok, None, st.describe()))
            else:
                ok = not st.has_sidecar
                detail = f"pod {st.pod}: no sidecar" if ok else f"pod {st.pod}: sidecar {', '.join(st.sidecars)}"
                trace.add(ProbeResult(t, p.server, p.type, f"No sidecar: {p.server}", ok, None, detail))
        return trace


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

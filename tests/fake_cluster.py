#!/usr/bin/env python3
"""A stand-in Minikube cluster for the minikube backend's tests, built on the local backend.

    fake_cluster.py --scenario S.yaml --root DIR --state STATE.json [--speed 60] [--calls CALLS.jsonl]

Runs the scenario's topology on real folders with the real ``rsync`` and
``sh`` sidecar loops (the local backend's machinery, :mod:`nassim.backends.local`),
with no workloads, probes or faults of its own, until SIGTERM. After each look
at its processes it writes STATE.json, which ``tests/fake_kubectl.py`` serves:

- ``pods``: each server's pods as ``kubectl get pods -o json`` shows them
  (label ``app=<server>``, init container statuses, ``Ready`` condition,
  ``deletionTimestamp`` while a deleted pod finishes its grace period);
- ``mounts``: pod -> container -> mount path -> the real folder, for ``exec``;
- ``container_logs``: pod -> container -> a file of ``<RFC 3339> <line>`` lines:
  the sidecar's real output, without the local backend's ``@nassim`` markers;
- ``ROOT/windows/<server>``: the Windows folders, as ``minikube mount`` serves
  the host's ``C:\\simulator-data`` (pass ``ROOT/windows`` as ``windows_root``);
- ``control``: a folder where ``kubectl delete pod`` drops a request that
  this process carries out (the local backend's pod deletion: grace period,
  emptyDir gone, replacement pod and init container at once).

The tests start it, wait until every pod is Ready, and stop it with SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nassim.backends.local import _LocalRun, _Pod, _Server
from nassim.scenario import load_scenario
from nassim.topology import EXPORT_MOUNT, WINDOWS_MOUNT, Sidecar
from nassim.trace import ContainerState, LogLine, Record


def stamp(at: float | None = None) -> str:
    """An RFC 3339 UTC timestamp with microseconds: now, or the epoch seconds ``at``."""
    t = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ServedRun(_LocalRun):
    """The local backend's run, publishing its pods for the fake kubectl and taking delete requests."""

    def __init__(self, *args: Any, state: str, calls: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state_path = state
        self.calls = calls
        self.control = os.path.join(self.root, "control")
        os.makedirs(self.control)
        self.created: dict[str, str] = {}
        self.deleting: dict[str, str] = {}
        self.statuses: dict[tuple[str, str], ContainerState] = {}
        self.log_files: dict[tuple[str, str], str] = {}
        self.published = ""
        for st in self.servers.values():  # the host's C:\\simulator-data\\<server>: one folder for all
            st.windows = os.path.join(self.root, "windows", st.server.name)

    def record(self, r: Record) -> None:
        super().record(r)
        if isinstance(r, ContainerState):
            self.statuses[(r.pod, r.container)] = r
        elif isinstance(r, LogLine):
            st = self.servers[r.server]
            path = os.path.join(st.base, r.pod, "container-logs", f"{r.container}.log")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.log_files[(r.pod, r.container)] = path
            # Stamped when the sidecar printed it (the pump thread's time), as the kubelet does,
            # not when this loop got round to it.
            printed = datetime.now(UTC).timestamp() - (self.now() - r.t) / self.clock.speed
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"{stamp(printed)} {r.line}\n")

    def create_pod(self, st: _Server) -> None:
        super().create_pod(st)
        assert st.pod is not None
        self.created[st.pod.name] = stamp()

    def delete_pod(self, st: _Server, pod: _Pod) -> None:
        self.deleting[pod.name] = stamp()
        super().delete_pod(st, pod)

    def poll(self) -> None:
        super().poll()
        for name in sorted(os.listdir(self.control)):
            path = os.path.join(self.control, name)
            with open(path, encoding="utf-8") as fh:
                request = json.load(fh)
            os.unlink(path)
            for st in self.servers.values():
                if st.pod is not None and st.pod.name == request["pod"] and not st.pod.terminating:
                    self.delete_pod(st, st.pod)
        self.publish()

    def pods_of(self, st: _Server) -> list[_Pod]:
        pods = [p for p in self.terminating if p.base.startswith(st.base + os.sep)]
        return pods + ([st.pod] if st.pod is not None and st.pod not in pods else [])

    def status(self, pod: _Pod, name: str) -> dict[str, Any]:
        r = self.statuses.get((pod.name, name))
        if r is None:
            return {"name": name, "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}
        if r.state == "running":
            state: dict[str, Any] = {"running": {}}
        elif r.state == "terminated":
            state = {"terminated": {"exitCode": r.exit_code or 0, "reason": r.reason}}
        else:
            state = {"waiting": {"reason": r.reason}}
        return {"name": name, "ready": r.state == "running", "started": r.state == "running",
                "restartCount": r.restarts, "state": state}

    def pod_json(self, st: _Server, pod: _Pod) -> dict[str, Any]:
        server = st.server
        inits = [{"name": c.name, **({"restartPolicy": "Always"} if isinstance(c, Sidecar) else {})}
                 for c in server.init_containers]
        meta: dict[str, Any] = {"name": pod.name, "namespace": "default", "labels": {"app": server.name},
                                "creationTimestamp": self.created.get(pod.name, "")}
        if pod.terminating:
            meta["deletionTimestamp"] = self.deleting.get(pod.name, "")
        nfs = self.status(pod, server.nfs.name)
        sidecar_ok = server.sidecar is None or pod.states.get(server.sidecar.name) == "running"
        ready = pod.serving and sidecar_ok
        return {
            "apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"initContainers": inits, "containers": [{"name": server.nfs.name}]},
            "status": {
                "phase": "Running" if pod.serving or pod.terminating else "Pending",
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                "initContainerStatuses": [self.status(pod, c["name"]) for c in inits],
                "containerStatuses": [nfs],
            },
        }

    def publish(self) -> None:
        pods: list[dict[str, Any]] = []
        mounts: dict[str, Any] = {}
        logs: dict[str, Any] = {}
        for st in self.servers.values():
            for pod in self.pods_of(st):
                pods.append(self.pod_json(st, pod))
                both = {EXPORT_MOUNT: pod.export, WINDOWS_MOUNT: st.windows}
                mounts[pod.name] = {c.name: both for c in st.server.init_containers}
                mounts[pod.name][st.server.nfs.name] = {EXPORT_MOUNT: pod.export}
                logs[pod.name] = {c: f for (p, c), f in self.log_files.items() if p == pod.name}
        state = {
            "current_context": "minikube", "contexts": ["minikube"], "pods": pods, "mounts": mounts,
            "container_logs": logs, "control": self.control, **({"log": self.calls} if self.calls else {}),
        }
        text = json.dumps(state, sort_keys=True)
        if text != self.published:
            tmp = self.state_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.state_path)
            self.published = text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--calls")
    ap.add_argument("--windows-files", type=int, default=0, help="files seeded into each Windows folder")
    a = ap.parse_args()
    s = load_scenario(a.scenario)
    windows = attrs.evolve(s.windows, files=a.windows_files, file_size=3000)
    s = attrs.evolve(s, duration=1e9, workloads=(), probes=(), faults=(), windows=windows)
    root = os.path.realpath(a.root)
    os.makedirs(root, exist_ok=True)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    run = ServedRun(s, s.load_topology(), root=root, speed=a.speed, rsync=shutil.which("rsync") or "rsync",
                    state=os.path.abspath(a.state), calls=a.calls)
    try:
        run.prepare({})
        run.run()
    finally:
        run.close()


if __name__ == "__main__":
    main()

"""The minikube backend, end to end against a fake kubectl (tests/fake_kubectl.py).

The fake cluster's pods are built from the shipped manifests (sim/manifests/multi-nas.yaml):
each Deployment's pod template, with the statuses a real API server reports once
the test bed is up (seed copies Completed, native sidecars running). No live
cluster is involved anywhere here.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from nassim.backends.minikube import MinikubeBackend, PodStatus
from nassim.errors import BackendError
from nassim.scenario import (
    ContainerKill,
    Deleter,
    NfsToWindowsProbe,
    NoSidecarProbe,
    PodDelete,
    Renamer,
    Scenario,
    SidecarCrash,
    SidecarRunningProbe,
    TopologySpec,
    WindowsEditor,
    WindowsSpec,
    Writer,
    load_scenario,
)
from nassim.trace import ProbeResult

ROOT = Path(__file__).resolve().parent.parent
FAKE = Path(__file__).resolve().parent / "fake_kubectl.py"
OUTPUTS = ("nas-output-1", "nas-output-2", "nas-output-3")
OTHERS = ("nas-input-1", "nas-input-2", "nas-input-3", "nas-backup")


def _pods_from_manifests() -> list[dict[str, Any]]:
    """One running pod per Deployment of the shipped manifests, as ``kubectl get pods -o json`` shows it."""
    pods = []
    docs = yaml.safe_load_all((ROOT / "sim/manifests/multi-nas.yaml").read_text())
    for i, doc in enumerate(d for d in docs if d and d.get("kind") == "Deployment"):
        template = doc["spec"]["template"]
        name = doc["metadata"]["name"]
        inits = template["spec"].get("initContainers", [])
        statuses = []
        for c in inits:
            if c.get("restartPolicy") == "Always":
                state: dict[str, Any] = {"running": {"startedAt": "2026-02-01T09:00:05Z"}}
                statuses.append({"name": c["name"], "ready": True, "started": True, "restartCount": 0, "state": state})
            else:
                done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
                statuses.append({"name": c["name"], "ready": True, "started": False, "restartCount": 0, "state": done})
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-6c9d7f8b4-{i:05d}",
                    "namespace": "default",
                    "labels": dict(template["metadata"]["labels"]),
                    "creationTimestamp": "2026-02-01T09:00:00Z",
                },
                "spec": copy.deepcopy(template["spec"]),
                "status": {
                    "phase": "Running",
                    "initContainerStatuses": statuses,
                    "containerStatuses": [
                        {"name": c["name"], "ready": True, "restartCount": 0, "state": {"running": {}}}
                        for c in template["spec"]["containers"]
                    ],
                },
            }
        )
    return pods


PODS = _pods_from_manifests()


class FakeCluster:
    """A state file, a ``kubectl`` wrapper on it, and the calls the wrapper received."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "bin"
        self.dir.mkdir()
        self.state_file = tmp / "state.json"
        self.log = tmp / "calls.jsonl"
        self.kubectl = self.dir / "kubectl"
        # A shell wrapper, so the test does not depend on the script's mode bits or on python3 being on PATH.
        self.kubectl.write_text(
            f'#!/bin/sh\nFAKE_KUBECTL_STATE="{self.state_file}" exec "{sys.executable}" "{FAKE}" "$@"\n'
        )
        self.kubectl.chmod(self.kubectl.stat().st_mode | stat.S_IXUSR)
        self.state: dict[str, Any] = {
            "current_context": "minikube",
            "contexts": ["minikube", "prod-eu"],
            "pods": copy.deepcopy(PODS),
            "log": str(self.log),
        }
        self.save()

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state))

    def pod(self, server: str) -> dict[str, Any]:
        return next(p for p in self.state["pods"] if p["metadata"]["labels"]["app"] == server)

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def backend(self, **options: Any) -> MinikubeBackend:
        return MinikubeBackend(kubectl=str(self.kubectl), **options)


@pytest.fixture
def cluster(tmp_path: Path) -> FakeCluster:
    return FakeCluster(tmp_path)


def _sidecar_scenario() -> Scenario:
    """Phase 3's B1 (the seven sidecar checks of test-multi-nas.ps1), taken from the shipped scenario, at t=0."""
    s = load_scenario(ROOT / "sim/scenarios/phase3-validation.yaml")
    probes = tuple(attrs.evolve(p, at=0.0) for p in s.probes if isinstance(p, SidecarRunningProbe | NoSidecarProbe))
    return attrs.evolve(s, workloads=(), probes=probes)


def test_the_fake_cluster_mirrors_the_reference_test_bed():
    """Seven pods labelled app=<server>; only the output servers declare the sync-to-windows sidecar."""
    by_app = {p["metadata"]["labels"]["app"]: p for p in PODS}
    assert sorted(by_app) == sorted(OUTPUTS + OTHERS)
    for server, pod in by_app.items():
        sidecars = [c["name"] for c in pod["spec"].get("initContainers", []) if c.get("restartPolicy") == "Always"]
        assert sidecars == (["sync-to-windows"] if server in OUTPUTS else []), server


def test_phase3_sidecar_checks_pass_on_the_reference_test_bed(cluster):
    """The seven B1 checks: the sidecar runs on the three output servers and on no other server."""
    s = _sidecar_scenario()
    assert len(s.probes) == 7
    trace = cluster.backend().run(s)
    results = trace.of(ProbeResult)
    assert [(r.check, r.passed) for r in results] == [
        *[(f"Sidecar running: {n}", True) for n in OUTPUTS],
        *[(f"No sidecar: {n}", True) for n in OTHERS],
    ]
    assert all(0 <= r.t < 5 for r in results)
    assert trace.params["backend"] == "minikube" and trace.params["context"] == "minikube"
    assert results[0].detail == "pod nas-output-1-6c9d7f8b4-00003: sync-to-windows running (restarts 0)"
    # Only reads: the context, every server's pod at the start, one pinned `get pods` per probe, and the
    # three sidecars' logs at the end.
    calls = cluster.calls()
    assert calls[0] == ["config", "current-context"]
    assert calls[1] == [
        "--context", "minikube", "--namespace", "default", "--request-timeout=30s",
        "get", "pods", "-l", "app=nas-input-1", "-o", "json",
    ]
    verbs = [c[5] for c in calls[1:]]
    assert verbs == ["get"] * (7 + 7) + ["logs"] * 3
    assert all(c[5:7] == ["get", "pods"] for c in calls[1:15])


def test_a_sidecar_in_crash_loop_back_off_fails_its_check(cluster):
    """A sidecar waiting in CrashLoopBackOff is not running: that check fails and says why; the rest pass."""
    status = cluster.pod("nas-output-2")["status"]["initContainerStatuses"][1]
    assert status["name"] == "sync-to-windows"
    status.update(
        ready=False,
        started=False,
        restartCount=5,
        state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}},
        lastState={"terminated": {"exitCode": 1, "reason": "Error"}},
    )
    cluster.save()
    results = cluster.backend().run(_sidecar_scenario()).of(ProbeResult)
    failed = [r for r in results if not r.passed]
    assert [(r.check, r.detail) for r in failed] == [
        (
            "Sidecar running: nas-output-2",
            "pod nas-output-2-6c9d7f8b4-00004: sync-to-windows waiting: CrashLoopBackOff (restarts 5)",
        )
    ]
    assert len(results) == 7


def test_a_sidecar_on_an_input_server_fails_no_sidecar(cluster):
    pod = cluster.pod("nas-input-1")
    pod["spec"]["initContainers"].append({"name": "sync-to-windows", "image": "x", "restartPolicy": "Always"})
    cluster.save()
    results = cluster.backend().run(_sidecar_scenario()).of(ProbeResult)
    assert [(r.check, r.detail) for r in results if not r.passed] == [
        ("No sidecar: nas-input-1", "pod nas-input-1-6c9d7f8b4-00000: sidecar sync-to-windows")
    ]


def test_pod_status_reads_init_container_statuses(cluster):
    st = cluster.backend().pod_status("nas-output-1")
    assert isinstance(st, PodStatus)
    assert (st.pod, st.phase, st.sidecars, st.sidecar_running, st.sidecar_started) == (
        "nas-output-1-6c9d7f8b4-00003", "Running", ("sync-to-windows",), True, True,
    )
    assert cluster.backend().pod_status("nas-backup").sidecars == ()


def test_pod_status_prefers_the_newest_pod_not_being_deleted(cluster):
    """During a Recreate rollout the old pod, terminating, is not the one checked."""
    old = cluster.pod("nas-output-1")
    new = copy.deepcopy(old)
    old["metadata"]["deletionTimestamp"] = "2026-02-01T09:10:00Z"
    new["metadata"].update(name="nas-output-1-6c9d7f8b4-zzzzz", creationTimestamp="2026-02-01T09:10:01Z")
    cluster.state["pods"].append(new)
    cluster.save()
    assert cluster.backend().pod_status("nas-output-1").pod == "nas-output-1-6c9d7f8b4-zzzzz"


# --- refusals: one line each, naming what is wrong and the fix ------------------------------------


def test_a_context_that_is_not_minikube_is_refused(cluster):
    cluster.state["current_context"] = "prod-eu"
    cluster.save()
    with pytest.raises(BackendError) as err:
        cluster.backend().run(_sidecar_scenario())
    assert str(err.value) == (
        "kube context 'prod-eu' is not a Minikube context; the minikube backend only drives Minikube "
        "(switch: 'kubectl config use-context minikube', or pass allow_non_minikube=True)"
    )
    assert cluster.calls() == [["config", "current-context"]]  # nothing touched the cluster
    with pytest.raises(BackendError, match=r"^kube context 'prod-eu' is not a Minikube context"):
        cluster.backend(context="prod-eu").pod_status("nas-output-1")


def test_allow_non_minikube_accepts_another_context(cluster):
    cluster.state["current_context"] = "prod-eu"
    cluster.save()
    results = cluster.backend(allow_non_minikube=True).run(_sidecar_scenario()).of(ProbeResult)
    assert len(results) == 7 and all(r.passed for r in results)
    assert all(c[:2] == ["--context", "prod-eu"] for c in cluster.calls()[1:])


def test_missing_kubectl_is_one_line(tmp_path):
    missing = str(tmp_path / "no-such-kubectl")
    with pytest.raises(BackendError) as err:
        MinikubeBackend(kubectl=missing).run(_sidecar_scenario())
    assert str(err.value) == (
        f"the minikube backend needs kubectl: {missing!r} is not on PATH (install kubectl, or pass kubectl=PATH)"
    )


def test_kubectl_is_found_on_path(cluster, monkeypatch):
    monkeypatch.setenv("PATH", f"{cluster.dir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert MinikubeBackend().pod_status("nas-output-3").sidecar_running


def test_missing_pod_is_one_line(cluster):
    cluster.state["pods"] = [p for p in cluster.state["pods"] if p["metadata"]["labels"]["app"] != "nas-backup"]
    cluster.save()
    with pytest.raises(BackendError) as err:
        cluster.backend().run(_sidecar_scenario())
    assert str(err.value) == (
        "no pod with label app=nas-backup in namespace 'default' of context 'minikube'; "
        "deploy the test bed: kubectl apply -f sim/manifests/multi-nas.yaml"
    )


def test_wrong_namespace_finds_no_pod(cluster):
    with pytest.raises(BackendError, match=r"^no pod with label app=nas-output-1 in namespace 'nas' of context"):
        cluster.backend(namespace="nas").pod_status("nas-output-1")


def test_unreachable_cluster_is_one_line(cluster):
    cluster.state["unreachable"] = True
    cluster.save()
    with pytest.raises(BackendError) as err:
        cluster.backend().pod_status("nas-output-1")
    assert str(err.value) == (
        "kubectl get pods -l app=nas-output-1: cannot reach the cluster (The connection to the server "
        "127.0.0.1:32771 was refused - did you specify the right host or port?); start it: 'minikube start'"
    )


def test_no_current_context_is_one_line(cluster):
    cluster.state["current_context"] = None
    cluster.save()
    with pytest.raises(BackendError) as err:
        cluster.backend().run(_sidecar_scenario())
    assert str(err.value) == (
        "kubectl config current-context: no current kube context (start the cluster: 'minikube start')"
    )


def test_a_hanging_kubectl_times_out(cluster):
    cluster.state["hang"] = 5
    cluster.save()
    with pytest.raises(BackendError) as err:
        cluster.backend(timeout=0.5).run(_sidecar_scenario())
    assert str(err.value) == (
        "kubectl config current-context: kubectl did not answer within 0.5 s "
        "(is the cluster up? 'minikube status'; or pass a larger timeout=)"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"workloads": (Deleter(),)},
            "workloads[0]: type 'deleter' (only writers run on a live cluster)",
        ),
        (
            {"faults": (ContainerKill(server="nas-output-1", at=5.0),)},
            "faults[0]: type 'container-kill' (only pod-delete runs on a live cluster)",
        ),
        (
            {"topology": TopologySpec(interval=5.0)},
            "topology.interval: the minikube backend checks the deployed cluster and never redeploys it",
        ),
        (
            {"windows": WindowsSpec(files=10)},
            "windows.files: the minikube backend never seeds a person's Windows folders",
        ),
    ],
    ids=["deleter", "container-kill", "topology-override", "windows-files"],
)
def test_unsupported_scenario_items_are_refused_before_any_kubectl_call(cluster, change, reason):
    s = attrs.evolve(Scenario(name="x", duration=10.0, probes=(SidecarRunningProbe(server="nas-output-1"),)), **change)
    with pytest.raises(BackendError) as err:
        cluster.backend().run(s)
    assert str(err.value) == f"the minikube backend cannot run scenario 'x': {reason}"
    assert cluster.calls() == []


def test_every_unsupported_item_is_named_in_one_line(cluster):
    """Refused, never half-run: one line naming each item."""
    s = Scenario(
        name="x", duration=10.0, workloads=(Writer(), Renamer(), WindowsEditor()),
        faults=(PodDelete(server="nas-output-1", at=1.0), SidecarCrash(server="nas-output-1", at=2.0)),
    )
    with pytest.raises(BackendError) as err:
        cluster.backend().run(s)
    msg = str(err.value)
    assert "\n" not in msg
    assert [part.split(":")[0] for part in msg.split(": ", 1)[1].split("; ")] == [
        "workloads[1]", "workloads[2]", "faults[1]"
    ]
    assert cluster.calls() == []


def test_a_windows_root_that_does_not_exist_is_one_line(cluster, tmp_path):
    s = Scenario(name="x", duration=10.0, probes=(NfsToWindowsProbe(server="nas-output-1", at=0.0),))
    with pytest.raises(BackendError) as err:
        cluster.backend(windows_root=tmp_path / "nope").run(s)
    assert str(err.value) == (
        f"windows_root '{tmp_path / 'nope'}' does not exist or is not a directory "
        "(pass the host folder that minikube mount serves, e.g. C:\\simulator-data)"
    )
    assert cluster.calls() == []


def test_a_server_folder_missing_under_the_windows_root_is_one_line(cluster, tmp_path):
    s = Scenario(name="x", duration=10.0, probes=(NfsToWindowsProbe(server="nas-output-1", at=0.0),))
    with pytest.raises(BackendError) as err:
        cluster.backend(windows_root=tmp_path).run(s)
    assert str(err.value) == (
        f"nas-output-1: its Windows folder '{tmp_path / 'nas-output-1'}' does not exist under windows_root "
        f"'{tmp_path}' (is it the folder minikube mount serves?)"
    )


def test_a_probe_on_a_server_without_a_sidecar_needs_the_windows_root(cluster):
    s = Scenario(name="x", duration=10.0, probes=(NfsToWindowsProbe(server="nas-input-1", at=0.0),))
    with pytest.raises(BackendError) as err:
        cluster.backend().run(s)
    assert str(err.value) == (
        "nas-input-1 has no sidecar to read its Windows side through; pass windows_root (the host folder)"
    )

"""The minikube backend end to end, against a stand-in cluster that runs on the local backend.

``tests/fake_cluster.py`` runs the reference test bed (seven pods, real
``rsync`` and real ``sh`` sidecar loops, at 60 scenario seconds per wall
second) and ``tests/fake_kubectl.py`` serves the kubectl verbs the adapter
uses on it (get pods, exec, logs, delete pod). The adapter's real command
lines run; only the cluster underneath is a stand-in. No live Minikube runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from nassim.backends.minikube import MinikubeBackend
from nassim.errors import BackendError
from nassim.scenario import NfsToWindowsProbe, PodDelete, Size, Writer, dump_scenario, load_scenario
from nassim.trace import FileSynced, LogLine, PodPhase, ProbeResult, RsyncRun, WriteClosed

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PHASE3 = ROOT / "sim/scenarios/phase3-validation.yaml"
SPEED = 60.0

pytestmark = pytest.mark.slow


class LiveCluster:
    """A running fake cluster: its folders, a ``kubectl`` on it, and the calls it received."""

    def __init__(self, tmp: Path, windows_files: int = 4) -> None:
        self.tmp = tmp
        self.root = tmp / "cluster"
        self.state = tmp / "state.json"
        self.calls_file = tmp / "calls.jsonl"
        self.kubectl = tmp / "kubectl"
        self.kubectl.write_text(
            f'#!/bin/sh\nFAKE_KUBECTL_STATE="{self.state}" exec "{sys.executable}" "{HERE / "fake_kubectl.py"}" "$@"\n'
        )
        self.kubectl.chmod(self.kubectl.stat().st_mode | stat.S_IXUSR)
        self.proc = subprocess.Popen(
            [
                sys.executable, str(HERE / "fake_cluster.py"), "--scenario", str(PHASE3), "--root", str(self.root),
                "--state", str(self.state), "--speed", str(SPEED), "--calls", str(self.calls_file),
                "--windows-files", str(windows_files),
            ],
            start_new_session=True,
        )
        self.wait_ready()

    @property
    def windows_root(self) -> Path:
        return self.root / "windows"

    def data(self) -> dict[str, Any]:
        return json.loads(self.state.read_text())

    def ready(self) -> bool:
        if not self.state.exists():
            return False
        pods = [p for p in self.data()["pods"] if not p["metadata"].get("deletionTimestamp")]
        return len(pods) == 7 and all(p["status"]["conditions"][0]["status"] == "True" for p in pods)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the fake cluster exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the fake cluster did not become ready")
            time.sleep(0.1)
        time.sleep(1.5)  # three sidecar periods: the seed copies have reached Windows

    def export(self, server: str) -> Path:
        pod = next(p for p in self.data()["pods"] if p["metadata"]["labels"]["app"] == server
                   and not p["metadata"].get("deletionTimestamp"))
        return Path(self.data()["mounts"][pod["metadata"]["name"]]["nfs-server"]["/nfs-data"])

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()] if self.calls_file.exists() else []

    def backend(self, **options: Any) -> MinikubeBackend:
        return MinikubeBackend(kubectl=str(self.kubectl), speed=SPEED, poll=0.1, **options)

    def snapshot(self) -> dict[str, tuple[str, int, int]]:
        """Every file in the cluster's exports and Windows folders: path -> (sha1, mtime_ns, mode)."""
        out = {}
        for dirpath, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in ("logs", "container-logs", "control")]
            for f in files:
                full = os.path.join(dirpath, f)
                st = os.lstat(full)
                with open(full, "rb") as fh:
                    out[os.path.relpath(full, self.root)] = (hashlib.sha1(fh.read()).hexdigest(), st.st_mtime_ns,
                                                             st.st_mode)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    cluster = LiveCluster(tmp_path_factory.mktemp("live"))
    try:
        yield cluster
    finally:
        cluster.stop()


def _phase3(rate: float = 0.02) -> Any:
    """The shipped Phase 3 scenario with a background writer slow enough for kubectl exec at speed 60."""
    s = load_scenario(PHASE3)
    writer = attrs.evolve(s.workloads[0], rate=rate)
    return attrs.evolve(s, workloads=(writer,))


def _prefix_paths(root: Path) -> list[str]:
    return [os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files if n.startswith("nassim-")]


def test_phase3_runs_end_to_end_and_leaves_every_other_file_byte_identical(live):
    """The ten checks of test-multi-nas.ps1 through kubectl: seven sidecar checks and three files written
    with kubectl exec that reach the Windows folders within 60 s. Pre-existing files on both sides of all
    seven servers (seeded Windows files and their copies, and a file only on an export) are byte-identical
    afterwards, with their mtimes and modes, and nothing of the run is left."""
    (live.export("nas-output-2") / "app-data.bin").write_bytes(b"written by a microservice before the test" * 50)
    time.sleep(1.0)  # the sidecar copies it to Windows: part of the state before the run
    before = live.snapshot()
    assert len(before) > 40
    n_calls = len(live.calls())

    trace = live.backend(windows_root=live.windows_root).run(_phase3())

    results = trace.of(ProbeResult)
    assert len(results) == 10
    assert [r.check for r in results if not r.passed] == []
    lat = [r.value for r in results if r.probe == "nfs-to-windows"]
    assert all(v is not None and 0 < v <= 60 for v in lat)
    assert live.snapshot() == before
    assert _prefix_paths(live.root) == []
    calls = live.calls()[n_calls:]
    verbs = {c[c.index("--request-timeout=30s") + 1] for c in calls if "--request-timeout=30s" in c}
    assert verbs <= {"get", "exec", "logs"}  # never a delete the scenario did not ask for
    prefix = trace.params["prefix"]
    for c in calls:
        if "exec" in c:
            paths = c[c.index("sh", c.index("--") + 3) + 1 :]
            assert paths and all(p.startswith((f"/nfs-data/{prefix}", f"/windows-mount/{prefix}")) for p in paths), c


def test_writes_are_matched_to_the_sidecar_runs_that_brought_them(live):
    """Every write closed through kubectl exec reaches Windows with its exact content, credited to one
    sidecar run from the sidecar's own log lines, inside that run's span."""
    s = attrs.evolve(
        _phase3(), duration=240.0, probes=(),
        workloads=(Writer(servers=("nas-output-1",), rate=0.1, process="fixed", size=Size(value=5000)),),
    )
    trace = live.backend(windows_root=live.windows_root).run(s)
    writes = trace.of(WriteClosed)
    synced = trace.of(FileSynced)
    assert len(writes) >= 15
    end = max(r.t for r in trace.records)
    for w in writes:
        hits = [f for f in synced if (f.path, f.content) == (w.path, w.content)]
        assert hits or w.t > end - 60, w
    runs = {(r.server, r.run): r for r in trace.of(RsyncRun)}
    credited = [f for f in synced if f.run]
    assert sum(r.transferred for r in runs.values()) == len(credited)
    # A write is left uncredited (run 0) only when no logged run's span covers its arrival: rare.
    assert len(credited) >= 0.9 * len(synced)
    for f in credited:
        r = runs[(f.server, f.run)]
        assert r.t - 1e-6 <= f.t <= r.t + r.duration + 1e-6
    lines = [r.line for r in trace.of(LogLine) if r.server == "nas-output-1"]
    assert lines and all(line.startswith("[") and "Synced to Windows in " in line for line in lines)
    assert all(not line.startswith("@nassim") for line in lines)


def test_without_a_windows_root_the_windows_side_is_read_through_the_sidecar(live):
    s = attrs.evolve(
        _phase3(), duration=150.0, workloads=(),
        probes=(NfsToWindowsProbe(server="nas-output-3", at=10.0, path="probe/via-sidecar.txt", within=60.0),),
    )
    trace = live.backend().run(s)
    [r] = trace.of(ProbeResult)
    assert r.passed and r.value is not None
    assert any("sha1sum" in " ".join(c) for c in live.calls())
    assert _prefix_paths(live.root) == []


def test_ctrl_c_mid_run_removes_what_the_run_created(live, tmp_path):
    """SIGINT to ``nassim run --backend minikube`` while writes are under way: the prefix is removed
    from the export and the Windows folder, pre-existing files are untouched, exit status 130."""
    before = live.snapshot()
    s = attrs.evolve(_phase3(rate=0.05), duration=1200.0, probes=())
    path = tmp_path / "long.yaml"
    path.write_text(dump_scenario(attrs.evolve(s, topology=attrs.evolve(s.topology, values=str(
        ROOT / "sim/values-multi-nas.yaml")))))
    proc = subprocess.Popen(
        [sys.executable, "-m", "nassim", "run", str(path), "--backend", "minikube", "--kubectl", str(live.kubectl),
         "--windows-root", str(live.windows_root), "--speed", str(SPEED)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while not _prefix_paths(live.windows_root) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert _prefix_paths(live.windows_root), f"no write reached Windows before the interrupt: {proc.stderr}"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _prefix_paths(live.root) == []
    assert live.snapshot() == before


def test_sigterm_is_cleaned_up_like_ctrl_c(live):
    before = live.snapshot()
    s = attrs.evolve(_phase3(rate=0.05), duration=1200.0, probes=())
    b = live.backend(windows_root=live.windows_root)
    timer = subprocess.Popen(["sh", "-c", f"sleep 2; kill -TERM {os.getpid()}"])
    try:
        with pytest.raises(KeyboardInterrupt):
            b.run(s)
    finally:
        timer.wait()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored
    assert _prefix_paths(live.root) == []
    assert live.snapshot() == before


def test_a_taken_prefix_is_refused_and_nothing_is_removed(live, monkeypatch):
    """The prefix is created with a plain mkdir: if the name exists, the run stops and removes nothing."""
    taken = live.export("nas-output-1") / "nassim-000000000000"
    taken.mkdir()
    (taken / "keep.txt").write_text("not the backend's")
    monkeypatch.setattr("nassim.backends.minikube.uuid.uuid4", lambda: type("U", (), {"hex": "0" * 32})())
    s = attrs.evolve(_phase3(), duration=60.0, workloads=(),
                     probes=(NfsToWindowsProbe(server="nas-output-1", at=1.0),))
    try:
        with pytest.raises(BackendError, match="cannot create the probe directory /nfs-data/nassim-000000000000"):
            live.backend(windows_root=live.windows_root).run(s)
        assert (taken / "keep.txt").read_text() == "not the backend's"
    finally:
        (taken / "keep.txt").unlink()
        taken.rmdir()
        time.sleep(1.0)
        for p in _prefix_paths(live.windows_root):  # the sidecar copied the test's own folder meanwhile
            shutil.rmtree(p)


def test_pod_delete_restarts_the_pod_and_cleanup_follows_it(tmp_path):
    """A pod-delete fault is one ``kubectl delete pod``; the old pod goes Terminating -> Deleted, its
    replacement Pending -> Running, writes wait for it, probes after the restart pass, and the prefix the
    new pod's init container copied back from Windows is removed too."""
    cluster = LiveCluster(tmp_path, windows_files=2)
    try:
        before = cluster.snapshot()
        s = attrs.evolve(
            _phase3(), duration=420.0,
            workloads=(Writer(servers=("nas-output-1",), rate=0.05, process="fixed", size=Size(value=2000)),),
            faults=(PodDelete(server="nas-output-1", at=100.0),),
            probes=(NfsToWindowsProbe(server="nas-output-1", at=300.0, path="probe/after.txt", within=60.0),),
        )
        trace = cluster.backend(windows_root=cluster.windows_root).run(s)
        phases = trace.of(PodPhase)
        old = next(r.detail for r in trace.records if getattr(r, "fault", None) == "pod-delete")
        assert [p.phase for p in phases if p.pod == old] == ["Running", "Terminating", "Deleted"]
        new = [p.phase for p in phases if p.server == "nas-output-1" and p.pod != old]
        assert new == ["Pending", "Running"]
        [probe] = trace.of(ProbeResult)
        assert probe.passed
        deletes = [c for c in cluster.calls() if "delete" in c]
        assert len(deletes) == 1 and old in deletes[0]
        assert _prefix_paths(cluster.root) == []
        after = cluster.snapshot()
        # The replacement pod has a new emptyDir: the old export's files are gone with it, and its init
        # container copied the Windows folder back. Every Windows file is untouched.
        win_before = {k: v for k, v in before.items() if k.startswith("windows/")}
        assert {k: v for k, v in after.items() if k.startswith("windows/")} == win_before
    finally:
        cluster.stop()


def test_the_pytest_plugin_runs_a_users_test_on_the_cluster(live, tmp_path):
    """``pytest --nassim-backend=minikube --nassim-kubectl=... --nassim-windows-root=...``: a user's test
    gets the minikube backend with those options through the ``nassim_run`` fixture."""
    values = ROOT / "sim/values-multi-nas.yaml"
    (tmp_path / "test_user.py").write_text(
        "from nassim.scenario import NfsToWindowsProbe, Scenario, TopologySpec\n"
        "from nassim.trace import ProbeResult\n"
        "\n"
        "def test_probe(nassim_run, nassim_backend):\n"
        "    assert nassim_backend == 'minikube'\n"
        f"    topology = TopologySpec(values={str(values)!r})\n"
        "    probe = NfsToWindowsProbe(server='nas-output-2', at=2.0, path='user/probe.txt')\n"
        "    result = nassim_run(Scenario(name='user', duration=60.0, topology=topology, probes=(probe,)))\n"
        "    assert result.trace.params['backend'] == 'minikube'\n"
        "    [r] = result.trace.of(ProbeResult)\n"
        "    assert r.passed, r\n"
    )
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nassim-backend=minikube",
         f"--nassim-kubectl={live.kubectl}", f"--nassim-windows-root={live.windows_root}", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed" in p.stdout
    assert _prefix_paths(live.root) == []

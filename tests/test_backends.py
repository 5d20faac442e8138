"""Backends: the protocol, get_backend, the conformance suite on sim and local, the local backend's
real processes (phase 3, pod restart, symlinks, cleanup) and `nassim run --backend local`.

The local backend runs in wall time: scenarios here are short, run at 30-60 scenario seconds per
wall second, and every timing assertion leaves whole seconds (of scenario time) of slack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from nassim.backends import BACKENDS, Backend, LocalBackend, SimBackend, WallClock, conformance, get_backend
from nassim.backends.local import _LocalRun, _map_args, unsupported
from nassim.errors import BackendError, NassimError
from nassim.scenario import (
    ContainerKill,
    MountLoss,
    NfsToWindowsProbe,
    Reader,
    Scenario,
    Size,
    TopologySpec,
    WindowsSpec,
    Writer,
    load_scenario,
)
from nassim.trace import ContainerState, LogLine, ProbeResult, RsyncRun, Trace, WriteClosed
from nassim.tree import File, FileTree, Symlink

ROOT = Path(__file__).resolve().parent.parent


def _processes_in(root: Path) -> list[int]:
    """Pids of live processes whose working directory is under ``root`` (the local backend starts
    every process there)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == str(root) or cwd.startswith(str(root) + os.sep):
            pids.append(int(entry))
    return pids


# --- the protocol and get_backend ----------------------------------------------------------------


def test_get_backend_builds_each_backend_by_name():
    """get_backend returns a Backend for every name in BACKENDS, with its options."""
    assert BACKENDS == ("local", "minikube", "sim")
    sim = get_backend("sim")
    local = get_backend("local", speed=30)
    assert isinstance(sim, SimBackend) and isinstance(sim, Backend) and sim.name == "sim"
    assert isinstance(local, LocalBackend) and isinstance(local, Backend) and local.speed == 30


def test_unknown_backend_names_the_valid_ones():
    """A typo is a BackendError (also a ValueError) listing the valid backends."""
    with pytest.raises(BackendError) as err:
        get_backend("lcoal")
    assert str(err.value) == "backend 'lcoal' is not a backend (valid: local, minikube, sim)"
    assert isinstance(err.value, ValueError) and isinstance(err.value, NassimError)


def test_minikube_backend_is_built_with_its_options():
    """minikube builds without touching a cluster (kubectl runs only in run() and pod_status())."""
    from nassim.backends.minikube import MinikubeBackend

    mk = get_backend("minikube", kubectl="/no/such/kubectl", namespace="nas")
    assert isinstance(mk, MinikubeBackend) and isinstance(mk, Backend) and mk.name == "minikube"
    assert (mk.kubectl, mk.namespace, mk.allow_non_minikube) == ("/no/such/kubectl", "nas", False)


def test_wall_clock_scales_monotonic_time_by_speed():
    """Scenario time is monotonic seconds since start() times speed; a bad speed is refused."""
    now = [100.0]
    clock = WallClock(60, monotonic=lambda: now[0])
    clock.start()
    now[0] = 100.5
    assert clock.now() == 30.0
    assert clock.wall(30) == 0.5
    with pytest.raises(BackendError, match=r"^'speed' must be > 0 \(got 0\)$"):
        WallClock(0)


# --- the conformance suite -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_backend() -> LocalBackend:
    # One object for the module: the suite runs each of its two scenarios once per backend object.
    # Speed 20: a 100 ms stall of this machine is 2 s of scenario time, well inside the checks' slack.
    return LocalBackend(speed=20)


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
def test_sim_backend_conforms(check):
    """The simulator passes every conformance check."""
    check(SimBackend())


@pytest.mark.slow
@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda c: c.__name__)
def test_local_backend_conforms(check, local_backend):
    """The local backend (real rsync, real sh loops) passes every conformance check."""
    check(local_backend)


class _Shuffled:
    """A broken backend: the simulator's records in reverse order."""

    name = "shuffled"

    def run(self, scenario: Scenario) -> Trace:
        trace = SimBackend().run(scenario)
        trace.records.reverse()
        return trace


def test_conformance_rejects_a_trace_out_of_time_order():
    """The suite fails a backend whose trace is not time-ordered, naming the backend and the records."""
    with pytest.raises(AssertionError, match=r"^backend 'shuffled', scenario 'conformance-basic': records out of"):
        conformance.check_records_time_ordered(_Shuffled())


class _NoProbes:
    """A broken backend: forgets its probe results."""

    name = "no-probes"

    def run(self, scenario: Scenario) -> Trace:
        trace = SimBackend().run(scenario)
        trace.records = [r for r in trace.records if not isinstance(r, ProbeResult)]
        return trace


def test_conformance_rejects_missing_probe_results():
    """Every probe must produce a ProbeResult."""
    with pytest.raises(AssertionError, match=r"0 ProbeResults for sidecar-running on nas-output-1 \(expected 1\)"):
        conformance.check_probes_reported(_NoProbes())


# --- the local backend ---------------------------------------------------------------------------


def _phase3_short() -> Scenario:
    s = load_scenario(ROOT / "sim/scenarios/phase3-validation.yaml")
    return attrs.evolve(s, duration=200.0)  # probes at 60 and at 120-130 (within 60 s): all judged by 200


@pytest.mark.slow
def test_local_backend_passes_the_phase3_probes(tmp_path):
    """The live script's ten Phase 3 checks pass on real folders with the real rsync and sh loops."""
    s = _phase3_short()
    # Speed 20 (10 s of wall time): a probe's usual latency is at most ~35 s of its 60 s bound, so
    # only a stall of more than a wall second could fail it.
    trace = LocalBackend(speed=20, root=tmp_path / "root").run(s)
    results = trace.of(ProbeResult)
    assert len(results) == 10
    assert [r.check for r in results if not r.passed] == []
    latencies = [r.value for r in results if r.probe == "nfs-to-windows"]
    assert len(latencies) == 3 and all(v is not None and 0 <= v <= 60 for v in latencies)
    # What really ran: the init containers with the topology's arguments, and sidecar runs that copied.
    runs = trace.of(RsyncRun)
    assert {r.server for r in runs if r.container == "sync-windows-data"} == {
        "nas-input-1", "nas-input-2", "nas-input-3", "nas-output-1", "nas-output-2", "nas-output-3", "nas-backup"
    }
    assert any(line.startswith(">f+++++++++ out/") for r in runs for line in r.itemized)
    assert _processes_in(tmp_path) == []


def test_local_backend_uses_the_simulators_writes(tmp_path):
    """Same scenario and seed: the local backend writes the simulator's paths, sizes and contents."""
    s = Scenario(
        name="same-writes",
        duration=20.0,
        seed=5,
        topology=TopologySpec(servers=("nas-output-1",), interval=5.0),
        windows=WindowsSpec(host="linux"),
        workloads=(Writer(rate=0.5, size=Size(dist="uniform", min=10, max=5000), stop=15.0),),
    )
    local = LocalBackend(speed=60, root=tmp_path / "root").run(s)
    sim = SimBackend().run(s)

    def writes(trace: Trace) -> list[tuple[str, int, int]]:
        return [(w.path, w.size, w.content) for w in trace.of(WriteClosed)]

    assert writes(local) == writes(sim) and writes(sim)


def test_local_backend_refuses_what_it_cannot_run_naming_it():
    """An NFS reader, a mount loss and an explicit Windows trait are each named; nothing starts."""
    s = Scenario(
        name="unsupported",
        duration=10.0,
        windows=WindowsSpec(case_sensitive=False),
        workloads=(Reader(),),
        faults=(MountLoss(at=1.0, duration=2.0),),
    )
    assert unsupported(s) == [
        "workloads[0]: type 'reader' (an NFS client's attribute cache has no local equivalent)",
        "faults[0]: type 'mount-loss' (a local folder cannot lose its mount)",
        "windows.case_sensitive: False (the local Windows folders are plain local directories)",
    ]
    with pytest.raises(BackendError, match=r"^the local backend cannot run scenario 'unsupported': workloads\[0\]"):
        LocalBackend().run(s)


def test_local_backend_refuses_a_non_empty_root(tmp_path):
    """The root must be empty or missing: the backend never writes over someone's files."""
    (tmp_path / "mine.txt").write_text("keep me")
    s = Scenario(name="x", duration=1.0, topology=TopologySpec(servers=("nas-input-1",)))
    with pytest.raises(BackendError, match="must be an empty directory or not exist"):
        LocalBackend(root=tmp_path).run(s)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_rsync_arguments_outside_the_two_mounts_are_refused():
    """The mounts map to the real folders; any other absolute path in rsync's arguments is refused."""
    assert _map_args(("-av", "--delete", "/windows-mount/", "/nfs-data/"), "/r/w", "/r/e", "x") == [
        "-av", "--delete", "/r/w/", "/r/e/"
    ]
    with pytest.raises(BackendError, match=r"rsync argument '--backup-dir=/tmp' names a path outside"):
        _map_args(("-av", "--backup-dir=/tmp", "/nfs-data/", "/windows-mount/"), "/r/w", "/r/e", "x")


@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_symlink_in_a_tree_cannot_make_the_backend_write_outside_its_root(tmp_path, target):
    """A Windows folder holding ``out -> <outside>`` is copied into the export by the init container;
    the writer's ``out/...`` is refused, nothing is written outside the root, no process is left."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    link = str(outside) if target == "absolute" else "../../../../outside"
    # root/nas-output-1/nas-output-1-1/nfs-data/out -> ../../../../outside is tmp_path/outside.
    tree = FileTree()
    tree["out"] = Symlink(link, 0)
    tree["keep.txt"] = File(5, 0, b"hello")
    s = Scenario(
        name="symlink-escape",
        duration=30.0,
        topology=TopologySpec(servers=("nas-output-1",), interval=5.0),
        windows=WindowsSpec(host="linux"),
        workloads=(Writer(rate=1.0, process="fixed", prefix="out/", size=Size(value=100)),),
    )
    backend = LocalBackend(speed=60, root=root, windows_trees={"nas-output-1": tree})
    with pytest.raises(BackendError, match=r"'out' is a symlink or not a directory; the local backend never follows"):
        backend.run(s)
    assert list(outside.iterdir()) == []
    export_link = root / "nas-output-1" / "nas-output-1-1" / "nfs-data" / "out"
    assert export_link.is_symlink() and export_link.resolve() == outside.resolve()  # rsync -a copied the link
    assert _processes_in(tmp_path) == []


def test_killing_the_sidecar_restarts_it_and_term_is_ignored(tmp_path):
    """SIGKILL ends the sidecar loop (exit 137) and the kubelet restarts it (a second banner);
    SIGTERM changes nothing, as for sh running as PID 1."""
    s = Scenario(
        name="kill-sidecar",
        duration=40.0,
        topology=TopologySpec(servers=("nas-output-1",), interval=5.0),
        windows=WindowsSpec(host="linux"),
        faults=(
            ContainerKill(server="nas-output-1", signal="TERM", at=15.0),
            ContainerKill(server="nas-output-1", signal="KILL", at=20.0),
        ),
    )
    trace = LocalBackend(speed=60, root=tmp_path / "root").run(s)
    states = [(c.state, c.exit_code) for c in trace.of(ContainerState) if c.container == "sync-to-windows"]
    assert states == [("running", None), ("terminated", 137), ("running", None)]
    banners = [r for r in trace.of(LogLine) if r.line.startswith("=== NAS nas-output-1 Sync Sidecar Starting")]
    assert len(banners) == 2 and banners[1].t >= 20.0
    assert _processes_in(tmp_path) == []


def test_keyboard_interrupt_leaves_no_process_behind(tmp_path, monkeypatch):
    """Ctrl-C in the middle of a run kills the sidecar loop and everything it started."""
    def interrupt(self: _LocalRun, p: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_LocalRun, "probe", interrupt)
    s = Scenario(
        name="interrupted",
        duration=60.0,
        topology=TopologySpec(servers=("nas-output-1",), interval=5.0),
        windows=WindowsSpec(host="linux"),
        probes=(NfsToWindowsProbe(server="nas-output-1", at=20.0),),
    )
    with pytest.raises(KeyboardInterrupt):
        LocalBackend(speed=60, root=tmp_path / "root").run(s)
    assert _processes_in(tmp_path) == []


def test_temporary_root_is_removed_after_the_run():
    """Without a root, the backend works in a temporary directory and removes it afterwards."""
    s = Scenario(name="tmp", duration=5.0, topology=TopologySpec(servers=("nas-input-1",)))
    trace = LocalBackend(speed=60).run(s)
    root = trace.params["root"]
    assert os.path.basename(root).startswith("nassim-local-")
    assert not os.path.exists(root)


# --- the command line ----------------------------------------------------------------------------


def test_cli_run_with_the_local_backend(tmp_path):
    """`nassim run --backend local` runs the scenario on real processes and prints the same report."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(
        "name: small\nduration: 40\ntopology: {servers: [nas-output-1], interval: 5}\nwindows: {host: linux}\n"
        "probes:\n  - {type: sidecar-running, server: nas-output-1, at: 15}\n"
        "  - {type: nfs-to-windows, server: nas-output-1, at: 15, within: 30}\n"
    )
    p = subprocess.run(
        [sys.executable, "-m", "nassim", "run", "--backend", "local", "--json", str(scenario)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout)
    assert [c["passed"] for c in report["checks"]] == [True, True]


def test_cli_run_local_refuses_an_unsupported_scenario_in_one_line(tmp_path):
    """An unsupported workload is exit status 2 and one line naming it, no traceback."""
    scenario = tmp_path / "reader.yaml"
    scenario.write_text("name: reader\nduration: 10\nworkloads:\n  - {type: reader}\n")
    p = subprocess.run(
        [sys.executable, "-m", "nassim", "run", "--backend", "local", str(scenario)], capture_output=True, text=True
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "nassim: error: the local backend cannot run scenario 'reader': workloads[0]: type 'reader'" in p.stderr

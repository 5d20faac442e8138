"""The fake cluster: pods, sidecars, workloads and faults in virtual time."""

import datetime as dt
import itertools
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nassim.cluster import sidecar_backoff, simulate
from nassim.cluster.simulation import time_of_day
from nassim.metrics import write_fates
from nassim.report import build_report
from nassim.scenario import load_scenario, scenario_from_dict
from nassim.trace import ContainerState, FileSynced, FileVisible, LogLine, PodPhase, RsyncRun, WriteClosed

ROOT = Path(__file__).resolve().parent.parent
PHASE3 = ROOT / "sim" / "scenarios" / "phase3-validation.yaml"


def _scenario(**fields):
    base = {"name": "t", "duration": 300, "seed": 7, "topology": {"servers": ["nas-output-1"]}}
    base.update(fields)
    return scenario_from_dict(base)


def test_phase3_validation_passes_its_ten_checks():
    """The simulated test bed passes the live script's ten checks, as the real one did."""
    trace = simulate(load_scenario(PHASE3))
    report = build_report(trace, scenario="phase3-validation", duration=600)
    assert [c.passed for c in report.checks] == [True] * 10
    assert [c.name for c in report.checks][:3] == [f"Sidecar running: nas-output-{i}" for i in (1, 2, 3)]


def test_sidecar_logs_the_real_banner_and_run_lines():
    """The sidecar's log has the live banner and one `[HH:MM:SS] Synced to Windows in X.XXs` per run."""
    trace = simulate(_scenario(duration=100))
    lines = [r.line for r in trace.of(LogLine)]
    assert lines[:3] == [
        "=== NAS nas-output-1 Sync Sidecar Starting ===",
        "Sync interval: 30s",
        "Direction: NFS export -> Windows mount",
    ]
    runs = lines[3:]
    assert runs and all(x.startswith("[09:") and " Synced to Windows in " in x and x.endswith("s") for x in runs)


def _printed(clock: Callable[[int], str], ns: int) -> str:
    """What ``clock`` prints for ``ns``, or the error it raises."""
    try:
        return clock(ns)
    except (ValueError, OverflowError, OSError) as e:
        return type(e).__name__


def _date_prints(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).strftime("%H:%M:%S")


@pytest.mark.parametrize("second", [0, 59, 86_399, 1_764_115_199, 4_102_444_799, 2**62 // 10**9, 8_589_934_592])
@pytest.mark.parametrize("within", [0, 1, 999_998_980, 999_998_999, 999_999_000, 999_999_500, 999_999_999])
def test_log_clock_reads_as_datetime_prints_it_at_a_seconds_edges(second: int, within: int) -> None:
    """The float datetime is given rounds up to the next second within half a microsecond of
    it, and (past 2**62 ns) further off: the log's clock still reads as datetime prints it."""
    ns = second * 1_000_000_000 + within
    assert _printed(time_of_day, ns) == _printed(_date_prints, ns)


@given(st.integers(min_value=-(2**64), max_value=2**64))
def test_log_clock_reads_as_datetime_prints_it(ns: int) -> None:
    assert _printed(time_of_day, ns) == _printed(_date_prints, ns)


def test_sidecar_period_is_interval_plus_run_time():
    """Consecutive sidecar runs start `interval + run duration` apart (the loop never overlaps itself)."""
    trace = simulate(_scenario(windows={"host": "windows", "files": 2000}, duration=400))
    runs = [r for r in trace.of(RsyncRun) if r.container == "sync-to-windows"]
    assert len(runs) >= 3
    for a, b in itertools.pairwise(runs):
        assert b.t - a.t == pytest.approx(30 + a.duration, abs=1e-6)
    assert runs[1].duration > 1.0  # 2,000 files over 9p: the scan alone takes seconds


def test_windows_host_recopies_every_file_every_cycle():
    """On a Windows host (9p cannot set mtimes) every run re-transfers the whole export."""
    s = _scenario(workloads=[{"type": "writer", "rate": 1, "stop": 20, "names": 5}], duration=200)
    runs = [r for r in simulate(s).of(RsyncRun) if r.container == "sync-to-windows"]
    late = [r for r in runs if r.t > 60]
    assert late and all(r.transferred >= 5 for r in late)
    linux = attrs.evolve(s, windows=attrs.evolve(s.windows, host="linux"))
    late_linux = [r for r in simulate(linux).of(RsyncRun) if r.container == "sync-to-windows" and r.t > 60]
    assert late_linux and all(r.transferred == 0 for r in late_linux)


def test_pod_delete_loses_unsynced_writes_and_recreates_the_pod():
    """Deleting an output pod empties its emptyDir; writes not yet on Windows are gone, the pod comes back."""
    s = _scenario(
        workloads=[{"type": "writer", "rate": 2, "start": 40, "stop": 70}],
        faults=[{"type": "pod-delete", "server": "nas-output-1", "at": 70}],
        duration=300,
        cluster={"grace_period": 0},
    )
    trace = simulate(s)
    phases = [(r.pod, r.phase) for r in trace.of(PodPhase)]
    assert ("nas-output-1-1", "Deleted") in phases and ("nas-output-1-2", "Running") in phases
    fates = write_fates(trace)
    assert any(f.status == "pending" for f in fates)  # lost: never reached Windows


def test_sidecar_crash_loop_backs_off():
    """Repeated sidecar crashes wait 0, 10, 20, 40 s between restarts (CrashLoopBackOff)."""
    assert [sidecar_backoff(n) for n in range(1, 8)] == [0, 10, 20, 40, 80, 160, 300]
    s = _scenario(faults=[{"type": "sidecar-crash", "server": "nas-output-1", "at": 50, "times": 4}], duration=300)
    states = [r for r in simulate(s).of(ContainerState) if r.container == "sync-to-windows"]
    assert any(r.reason == "CrashLoopBackOff" for r in states)
    starts = [r.t for r in states if r.state == "running"]
    gaps = [round(b - a) for a, b in itertools.pairwise(starts)]
    assert gaps[1:4] == [12, 22, 42]  # 1 s until the next crash + back-off 10, 20, 40 s + 0.5 s start


def test_torn_copy_of_a_file_still_being_written():
    """A large file still being written when the run reaches it is copied torn, then fixed by the next run."""
    s = _scenario(
        windows={"host": "linux"},
        workloads=[{"type": "writer", "process": "fixed", "rate": 0.02, "size": {"value": 2_000_000_000},
                    "throughput": 50_000_000, "start": 0, "stop": 60}],
        duration=400,
    )
    synced = simulate(s).of(FileSynced)
    assert any(r.torn for r in synced)
    assert any(not r.torn and r.size == 2_000_000_000 for r in synced)


def test_mount_loss_fails_runs_until_the_pod_is_recreated():
    """After the minikube mount dies, the running pod's syncs fail even once it is back (§3)."""
    s = _scenario(faults=[{"type": "mount-loss", "at": 50, "duration": 20}], duration=200)
    runs = [r for r in simulate(s).of(RsyncRun) if r.container == "sync-to-windows"]
    assert [r.exit_code for r in runs if r.t < 50] == [0] * len([r for r in runs if r.t < 50])
    assert all(r.exit_code == 3 for r in runs if r.t > 50)


def test_same_seed_same_trace_in_another_process_and_hash_seed():
    """Determinism: the same scenario and seed give the same trace digest in a fresh process."""
    here = simulate(load_scenario(PHASE3)).digest()
    code = (
        "from nassim.cluster import simulate; from nassim.scenario import load_scenario; "
        f"print(simulate(load_scenario({str(PHASE3)!r})).digest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert there.stdout.strip() == here
    other = simulate(attrs.evolve(load_scenario(PHASE3), seed=2)).digest()
    assert other != here


def test_latency_matches_the_closed_form_of_a_periodic_sync():
    """Analytic cross-check over >= 10,000 Poisson writes into one export.

    The sidecar scans at the start s_k of each run, runs for R_k and sleeps I,
    so cycle k lasts P_k = R_k + I. A write closing at c in (s_k, s_{k+1}] is
    picked up by run k+1 and reaches Windows at s_{k+1} + d, d being its offset
    inside that run. Poisson arrivals make c uniform over the cycle it falls in,
    and a cycle is hit in proportion to its length (the inspection paradox), so

        E[latency] = E[P^2] / (2 E[P]) + E[d],    max latency -> max_k P_k + max d.

    The periods and offsets come from the trace's run records; the latencies
    from matching each closed write to the first copy of its exact content.
    """
    s = _scenario(
        windows={"host": "linux"},
        workloads=[{"type": "writer", "rate": 1.0, "size": {"value": 1000}}],
        duration=10_400,
    )
    trace = simulate(s)
    runs = [r for r in trace.of(RsyncRun) if r.container == "sync-to-windows"]
    periods = [b.t - a.t for a, b in itertools.pairwise(runs)]
    synced = {(r.path, r.content): r for r in trace.of(FileSynced) if r.side == "windows"}
    run_start = {r.run: r.t for r in runs}
    offsets = [r.t - run_start[r.run] for r in synced.values()]
    lat = [f.latency for f in write_fates(trace) if f.latency is not None]
    assert len(lat) >= 10_000
    mean_p = sum(periods) / len(periods)
    predicted_mean = sum(p * p for p in periods) / (2 * sum(periods)) + sum(offsets) / len(offsets)
    predicted_max = max(periods) + max(offsets)
    assert sum(lat) / len(lat) == pytest.approx(predicted_mean, rel=0.03)
    assert max(lat) == pytest.approx(predicted_max, rel=0.03)
    assert mean_p == pytest.approx(30 + sum(r.duration for r in runs[:-1]) / (len(runs) - 1), rel=1e-6)
    assert not math.isnan(predicted_mean)


def _read_delays(same_node: bool) -> list[float]:
    s = _scenario(
        workloads=[
            {"type": "writer", "rate": 0.05, "start": 100, "stop": 400},
            {"type": "reader", "poll": 1, "acdirmin": 30, "acdirmax": 60, "same_node": same_node},
        ],
        duration=500,
    )
    trace = simulate(s)
    closed = {r.path: r.t for r in trace.of(WriteClosed)}
    return [r.t - closed[r.path] for r in trace.of(FileVisible) if r.path in closed]


def test_nfs_reader_on_another_node_sees_new_files_late():
    """Another node's NFS client sees a new file only when its cached directory attributes
    expire (30-60 s); a pod on the export's node sees it at its next poll."""
    other, same = _read_delays(False), _read_delays(True)
    assert other and same
    assert max(same) <= 1.0
    assert max(other) > 10 and max(other) <= 60 + 1


def test_trace_to_frame_has_one_row_per_record_and_the_seed():
    """`Trace.to_frame()` gives a tidy DataFrame: one row per record, `kind` and `seed` columns."""
    trace = simulate(_scenario(duration=100))
    frame = trace.to_frame()
    assert len(frame) == len(trace)
    assert set(frame["kind"]) >= {"PodPhase", "ContainerState", "RsyncRun", "LogLine"}
    assert (frame["seed"] == 7).all()


def test_scenario_can_name_the_rendered_manifests():
    """A scenario whose topology comes from rendered manifests runs like the values-file one."""
    s = scenario_from_dict(
        {"name": "m", "duration": 120, "topology": {"manifests": str(ROOT / "sim" / "manifests" / "multi-nas.yaml")},
         "probes": [{"type": "sidecar-running", "server": "nas-output-2", "at": 60}]},
    )
    report = build_report(simulate(s), scenario="m", duration=120)
    assert [c.passed for c in report.checks] == [True]

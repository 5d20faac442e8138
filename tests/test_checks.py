"""Invariant checks: verdicts on hand-made and simulated traces, with their witnesses."""

import json
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from nassim.checks import (
    CHECKS,
    Verdict,
    check_convergence,
    check_invariants,
    check_latency_bound,
    check_loop_freedom,
    check_no_loss,
)
from nassim.cluster import simulate
from nassim.report import build_report
from nassim.scenario import load_scenario, scenario_from_dict
from nassim.trace import (
    FileDeleted,
    FileSynced,
    LogLine,
    PodPhase,
    Record,
    RsyncRun,
    ServerConfig,
    Trace,
    TreeState,
    WriteClosed,
    WriteOpened,
)

ROOT = Path(__file__).resolve().parent.parent
PHASE3 = ROOT / "sim" / "scenarios" / "phase3-validation.yaml"
S = "nas-output-2"
SIDECAR = "sync-to-windows"


# --- hand-made traces ---------------------------------------------------------------------


def config(server: str = S, role: str = "output", interval: float = 30.0) -> ServerConfig:
    out = role == "output"
    return ServerConfig(
        0.0,
        server,
        role,
        "emptyDir",
        "sync-windows-data",
        ("-av", "/windows-mount/", "/nfs-data/") if out else ("-av", "--delete", "/windows-mount/", "/nfs-data/"),
        SIDECAR if out else None,
        ("-av", "/nfs-data/", "/windows-mount/") if out else (),
        interval if out else None,
    )


def run(t: float, n: int, moved: int = 0, duration: float = 0.5, **kw: object) -> RsyncRun:
    fields: dict[str, object] = dict(exit_code=0, transferred=moved, bytes=4096 * moved, scanned=3, deleted=0)
    fields.update(kw)
    return RsyncRun(t, S, SIDECAR, n, duration, **fields)  # type: ignore[arg-type]


def closed(t: float, path: str, v: int, content: int, size: int = 4096) -> WriteClosed:
    return WriteClosed(t, S, "nfs", path, v, size, content, "writer-0")


def synced(t: float, path: str, content: int, n: int, size: int = 4096, torn: bool = False) -> FileSynced:
    return FileSynced(t, S, "windows", path, size, content, SIDECAR, n, torn)


def tree(t: float, side: str, *entries: tuple[str, int, int], moment: str = "end", server: str = S) -> TreeState:
    return TreeState(t, server, side, moment, tuple(sorted(entries)))


def trace(*records: Record) -> Trace:
    return Trace(records=sorted(records, key=lambda r: r.t))


def _scenario(**fields: object):
    base: dict[str, object] = {"name": "t", "duration": 200, "seed": 7, "topology": {"servers": ["nas-output-1"]}}
    base.update(fields)
    return scenario_from_dict(base)


# --- the Verdict ---------------------------------------------------------------------------


def test_verdict_status_is_validated_and_explains_itself():
    """A verdict's status is one of valid, invalid, unknown; explain() is the headline and the steps."""
    with pytest.raises(ValueError, match="'status' must be in"):
        Verdict("x", "failed", "why")  # type: ignore[arg-type]
    v = Verdict("latency-bound", "invalid", "late", ("t=1.0 a", "t=2.0 b"))
    assert v.explain() == "latency-bound: INVALID: late\n  t=1.0 a\n  t=2.0 b"
    assert not v.ok and Verdict("x", "valid", "fine").ok
    assert v.to_json() == {"name": "latency-bound", "status": "invalid", "reason": "late", "witness": ["t=1.0 a", "t=2.0 b"]}


# --- latency bound -------------------------------------------------------------------------


def test_latency_witness_tells_the_story_of_a_late_write():
    """A write that reaches Windows after the bound is invalid; the witness walks through each run."""
    t = trace(
        config(),
        closed(30.0, "out/a.csv", 1, 11, 9000),
        closed(61.2, "out/a.csv", 2, 22, 9000),
        run(95.0, 3, 1),
        synced(95.0, "out/a.csv", 11, 3, size=4096, torn=True),
        run(127.4, 4, 1),
        synced(127.4, "out/a.csv", 22, 4, size=9000),
    )
    v = check_latency_bound(t, bound=60)
    assert v.status == "invalid"
    assert v.reason == "nas-output-2: 1 of 2 writes missed the 60 s bound"
    assert v.witness == (
        "t=61.2 nas-output-2: out/a.csv v2 closed on NFS (9000 bytes)",
        "t=95.0 sync run 3 copied v1 (torn, 4096 of 9000 bytes)",
        "t=127.4 run 4 copied v2: latency 66.2 s > bound 60 s",
    )


def test_latency_within_bound_and_superseded_writes_are_valid():
    """A write replaced before its deadline is explained, not a violation."""
    t = trace(
        config(),
        closed(10.0, "out/a.csv", 1, 11),
        closed(20.0, "out/a.csv", 2, 22),
        run(31.0, 2, 1),
        synced(31.1, "out/a.csv", 22, 2),
        run(61.6, 3),
    )
    v = check_latency_bound(t, bound=60)
    assert (v.status, v.reason) == (
        "valid",
        "1 write reached Windows within the bound (max 11.1 s; bound 60 s), 1 replaced or deleted before their deadline",
    )


def test_latency_bound_is_derived_from_interval_and_worst_run():
    """Without a bound, interval + 2 x the longest run: 30 + 2 x 5 = 40 s here."""
    t = trace(config(), run(3.0, 1, duration=5.0), closed(10.0, "out/a", 1, 1), run(38.0, 2, 1), synced(38.5, "out/a", 1, 2))
    assert "bound 40 s" in check_latency_bound(t).reason
    late = trace(config(), run(3.0, 1, duration=5.0), closed(10.0, "out/a", 1, 1), run(58.0, 2, 1), synced(58.5, "out/a", 1, 2))
    v = check_latency_bound(late)
    assert v.reason == "nas-output-2: 1 of 1 write missed the 40 s bound (interval 30 s + 2 x worst run 5 s)"
    assert v.witness[-1] == "t=58.5 run 2 copied v1: latency 48.5 s > bound 40 s"


def test_latency_reads_the_interval_from_the_sidecar_banner_without_a_config():
    """A trace with no ServerConfig still has the sidecar's `Sync interval: 30s` log line."""
    banner = LogLine(0.5, S, "nas-output-2-1", SIDECAR, "Sync interval: 30s")
    t = trace(banner, run(1.0, 1), closed(10.0, "out/a", 1, 1), run(31.5, 2, 1), synced(31.6, "out/a", 1, 2))
    assert check_latency_bound(t).status == "valid"
    no_banner = trace(run(1.0, 1), closed(10.0, "out/a", 1, 1), run(31.5, 2, 1), synced(31.6, "out/a", 1, 2))
    v = check_latency_bound(no_banner)
    assert (v.status, v.reason) == (
        "unknown",
        "nas-output-2: no bound given and the trace does not record its sidecar interval to derive one",
    )


def test_latency_of_a_write_pending_at_the_end_is_unknown_until_its_deadline():
    """Not yet synced, closed 20 s before the end: unknown; closed 100 s before: invalid."""
    recent = trace(config(), closed(180.0, "out/a", 1, 1), run(181.0, 7), PodPhase(200.0, S, "p", "Running"))
    v = check_latency_bound(recent, bound=60)
    assert (v.status, v.reason) == (
        "unknown",
        "nas-output-2: 1 write closed less than the 60 s bound before the trace ended and not on Windows yet",
    )
    old = trace(config(), closed(100.0, "out/a", 1, 1), run(120.0, 4), PodPhase(200.0, S, "p", "Running"))
    v = check_latency_bound(old, bound=60)
    assert v.status == "invalid"
    assert v.witness == (
        "t=100.0 nas-output-2: out/a v1 closed on NFS (4096 bytes)",
        "t=120.0 sync run 4 did not copy it",
        "t=160.0 bound 60 s elapsed: v1 not on Windows",
        "t=200.0 the trace ends: v1 never reached Windows",
    )


def test_latency_of_a_summary_trace_is_unknown():
    """A trace without per-write records cannot pass a per-write check."""
    t = Trace(records=[config(), run(1.0, 1)], params={"summary": True})
    assert check_latency_bound(t, bound=60).status == "unknown"
    assert check_no_loss(t).status == "unknown"


# --- loop freedom --------------------------------------------------------------------------


def test_loop_freedom_catches_the_same_version_copied_run_after_run():
    """An unchanged file re-sent every run (`>f..t......`) is a loop, with the quick check's reason."""
    recs: list[Record] = [config(), closed(5.0, "out/a.dat", 1, 7)]
    for n, t0 in ((2, 33.5), (3, 63.6), (4, 93.7), (5, 123.8)):
        flags = ">f+++++++++" if n == 2 else ">f..t......"
        recs += [run(t0, n, 1, itemized=(f"{flags} out/a.dat",)), synced(t0 + 0.1, "out/a.dat", 7, n)]
    v = check_loop_freedom(trace(*recs))
    assert v.status == "invalid"
    assert v.reason == "nas-output-2: out/a.dat v1 was copied to Windows 4 times without changing (bound 2)"
    assert v.witness == (
        "t=5.0 nas-output-2: out/a.dat v1 closed on NFS (4096 bytes)",
        "t=33.6 sync run 2 copied out/a.dat v1 to Windows [>f+++++++++]",
        "t=63.7 run 3 copied it again, unchanged since t=5.0 [>f..t......]",
        "t=93.8 run 4 copied it again [>f..t......]: copy 3 of an unchanged version (bound 2): same size, but the "
        "Windows copy's mtime never matches the source's, so the quick check fails every run",
        "... 4 copies of out/a.dat v1 in all, the last at t=123.9",
    )


def test_loop_freedom_resets_the_count_when_windows_changes_the_file():
    """A copy after someone deleted the Windows file is a repair, not a loop."""
    recs: list[Record] = [config(), closed(5.0, "out/a.dat", 1, 7)]
    recs += [run(30.0, 2, 1), synced(30.1, "out/a.dat", 7, 2), run(60.0, 3), run(90.0, 4)]
    recs += [FileDeleted(100.0, S, "windows", "out/a.dat", "person")]
    recs += [run(120.0, 5, 1), synced(120.1, "out/a.dat", 7, 5), run(150.0, 6)]
    recs += [FileDeleted(160.0, S, "windows", "out/a.dat", "person")]
    recs += [run(180.0, 7, 1), synced(180.1, "out/a.dat", 7, 7), run(210.0, 8)]
    assert check_loop_freedom(trace(*recs)).status == "valid"


def test_loop_freedom_requires_runs_to_go_quiet_after_activity_stops():
    """Runs that keep moving (different) files after the last write never settle."""
    recs: list[Record] = [config(), closed(10.0, "out/a", 1, 1)]
    for n, t0 in ((2, 30.0), (3, 60.0), (4, 90.0)):
        recs += [run(t0, n, 1), synced(t0 + 0.1, f"out/x{n}", 100 + n, n)]
    v = check_loop_freedom(trace(*recs))
    assert v.status == "invalid"
    assert v.witness == (
        "t=10.0 nas-output-2: last outside activity: out/a v1 closed on NFS",
        "t=30.0 sync run 2 moved 1 file",
        "t=60.0 sync run 3 moved 1 file",
        "t=90.0 sync run 4 moved 1 file",
        "t=90.0 run 4 still moved 1 file: 3 of 3 runs after the activity moved something (bound 2)",
    )


def test_loop_freedom_is_unknown_before_a_quiet_run_is_seen():
    """One run after the last write, and it moved: the trace cannot tell whether the sync settles."""
    t = trace(config(), closed(10.0, "out/a", 1, 1), run(30.0, 2, 1), synced(30.1, "out/a", 1, 2))
    v = check_loop_freedom(t)
    assert (v.status, v.reason) == (
        "unknown",
        "nas-output-2: the trace ends before the sync could settle (1 sync run after the last outside activity "
        "at t=10.0: out/a v1 closed on NFS)",
    )
    quiet = trace(config(), closed(10.0, "out/a", 1, 1), run(30.0, 2, 1), synced(30.1, "out/a", 1, 2), run(60.0, 3))
    assert check_loop_freedom(quiet).status == "valid"


def test_windows_host_loops_where_a_linux_host_settles():
    """A writer that stops early: on a Windows host (9p cannot keep mtimes) the sidecar re-copies forever."""
    s = _scenario(windows={"host": "windows"}, workloads=[{"type": "writer", "rate": 1, "stop": 20, "names": 5}])
    v = check_loop_freedom(simulate(s))
    assert v.status == "invalid"
    assert v.witness[1].startswith("t=33.5 sync run 2 copied out/f000000.dat v2 to Windows")
    assert v.witness[2] == "t=63.6 run 3 copied it again, unchanged since t=15.3 [>f..t......]"
    linux = attrs.evolve(s, windows=attrs.evolve(s.windows, host="linux"))
    assert check_loop_freedom(simulate(linux)) == Verdict(
        "loop-freedom", "valid", "every sync settled within 2 runs of the last outside activity"
    )


# --- convergence ---------------------------------------------------------------------------


def test_output_folder_missing_an_export_file_after_a_quiet_run_is_invalid():
    """The export holds a file Windows lacks, and a sync ran after the last change: not converged."""
    t = trace(
        config(),
        closed(10.0, "out/a", 1, 1),
        run(30.0, 2, exit_code=3, errors=('rsync: [Receiver] change_dir#3 "/windows-mount" failed: Input/output error (5)',)),
        tree(60.0, "nfs", ("out/a", 4096, 1)),
        tree(60.0, "windows"),
    )
    v = check_convergence(t)
    assert v.status == "invalid"
    assert v.reason == "nas-output-2: 1 export file not on Windows after 1 sync run"
    assert v.witness == (
        "t=10.0 nas-output-2: last change: out/a v1 closed on NFS",
        't=30.0 sync run 2 moved nothing (exit 3: rsync: [Receiver] change_dir#3 "/windows-mount" failed: '
        "Input/output error (5))",
        "t=60.0 end: out/a v1 (4096 bytes) is in the export but not on Windows",
    )


def test_output_folder_is_unknown_while_the_export_changed_after_the_last_run():
    """A write after the last sync run began: the trace cannot tell whether it would converge."""
    t = trace(config(), run(30.0, 2), closed(40.0, "out/a", 1, 1), tree(50.0, "nfs", ("out/a", 4096, 1)), tree(50.0, "windows"))
    v = check_convergence(t)
    assert (v.status, v.reason) == (
        "unknown",
        "nas-output-2: the export changed at t=40.0 (out/a v1 closed on NFS) and no sync run completed after it",
    )


def test_output_folder_holding_every_export_file_converged_and_extra_windows_files_are_fine():
    """Windows may hold more than the export (no --delete); it must hold every export file."""
    t = trace(
        config(),
        tree(60.0, "nfs", ("out/a", 4096, 1)),
        tree(60.0, "windows", ("out/a", 4096, 1), ("old/b", 10, 2)),
    )
    assert check_convergence(t).status == "valid"
    assert check_convergence(trace(config())).status == "unknown"


def test_input_export_must_equal_its_windows_folder_after_the_init_container():
    """--delete makes the input export a mirror; a stray file there is a difference."""
    inp = "nas-input-1"
    ok = trace(
        config(inp, "input"),
        tree(3.0, "nfs", ("a", 1, 1), moment="init", server=inp),
        tree(3.0, "windows", ("a", 1, 1), moment="init", server=inp),
    )
    assert check_convergence(ok).status == "valid"
    bad = trace(
        config(inp, "input"),
        tree(3.0, "nfs", ("a", 1, 1), ("stray", 5, 9), moment="init", server=inp),
        tree(3.0, "windows", ("a", 1, 1), moment="init", server=inp),
    )
    v = check_convergence(bad)
    assert v.status == "invalid"
    assert v.witness == (
        "t=3.0 nas-input-1: the init container completed; an input export must equal its Windows folder",
        "t=3.0 stray content 0009 (5 bytes) is in the export but not on Windows",
    )


def test_case_collision_fails_convergence_on_a_windows_host():
    """Out/x and out/x in one export land on one Windows file: one of them is never on Windows."""
    s = _scenario(
        windows={"host": "windows"},
        duration=150,
        workloads=[
            {"type": "writer", "prefix": "out/", "rate": 0.1, "process": "fixed", "stop": 15, "names": 1},
            {"type": "writer", "prefix": "Out/", "rate": 0.1, "process": "fixed", "stop": 15, "names": 1, "start": 1},
        ],
    )
    v = check_convergence(simulate(s))
    assert v.status == "invalid"
    assert v.witness[-1] == (
        "t=150.0 end: Out/f000000.dat v1 (4096 bytes) is in the export, but Windows holds "
        "out/f000000.dat's v1 (4096 bytes)"
    )


# --- no loss -------------------------------------------------------------------------------


def test_write_lost_with_its_pods_emptydir_is_invalid():
    """Closed, never synced, and the pod whose emptyDir held it was deleted: lost."""
    t = trace(
        config(),
        run(33.5, 2),
        closed(37.4, "out/a", 1, 1),
        PodPhase(60.0, S, "nas-output-2-1", "Terminating"),
        run(61.5, 3),
        tree(100.0, "nfs"),
        tree(100.0, "windows"),
    )
    v = check_no_loss(t)
    assert (v.status, v.reason) == ("invalid", "nas-output-2: 1 closed write lost")
    assert v.witness == (
        "t=37.4 nas-output-2: out/a v1 closed on NFS (4096 bytes)",
        "t=60.0 pod nas-output-2-1 deleted, and its emptyDir export with it: v1 never reached Windows",
    )


def test_write_still_in_the_export_or_replaced_is_not_lost():
    """Unsynced but still in the export at the end, or overwritten before any sync: no loss."""
    t = trace(
        config(),
        closed(10.0, "out/a", 1, 1),
        closed(12.0, "out/a", 2, 2),
        closed(50.0, "out/b", 1, 3),
        run(30.0, 2, 1),
        synced(30.1, "out/a", 2, 2),
        tree(60.0, "nfs", ("out/a", 4096, 2), ("out/b", 4096, 3)),
        tree(60.0, "windows", ("out/a", 4096, 2)),
    )
    assert check_no_loss(t).status == "valid"
    no_end = Trace(records=[r for r in t.records if not isinstance(r, TreeState)])
    v = check_no_loss(no_end)
    assert (v.status, v.reason) == (
        "unknown",
        "nas-output-2: 1 write never reached Windows and the trace has no end state to show whether the export "
        "still holds them",
    )


def test_sync_deleting_a_windows_file_the_export_never_deleted_is_invalid():
    """A sidecar with --delete after a restart emptied the export wipes Windows: a loss."""
    t = trace(config(), run(90.0, 4, deleted=1, itemized=("*deleting   out/a.dat",)))
    v = check_no_loss(t)
    assert v.status == "invalid"
    assert v.witness == (
        "t=90.0 nas-output-2: sync run 4 deleted out/a.dat from Windows",
        "t=90.0 nothing deleted or renamed out/a.dat on NFS: the export lost it some other way (a pod restart "
        "emptied it?)",
    )
    deleted_on_nfs = trace(config(), FileDeleted(80.0, S, "nfs", "out/a.dat"), *t.records)
    assert check_no_loss(deleted_on_nfs).status == "valid"


def test_windows_edit_overwritten_by_the_sidecar_is_a_loss():
    """Someone edits a Windows file the export also holds; the next run copies the export's version over it."""
    t = trace(
        config(),
        WriteClosed(64.5, S, "windows", "in/doc.txt", 6, 4096, 66, "person"),
        run(71.5, 4, 1),
        synced(71.5, "in/doc.txt", 2, 4),
    )
    v = check_no_loss(t)
    assert v.witness == (
        "t=64.5 nas-output-2: in/doc.txt Windows edit v6 closed on Windows (4096 bytes)",
        "t=71.5 sync run 4 copied the export's content 0002 (4096 bytes) over it: the Windows edit is lost",
    )


# --- all of them, and the report -----------------------------------------------------------


def test_check_invariants_runs_every_check_in_order():
    """The four invariants, in report order, on one trace."""
    verdicts = check_invariants(trace(config()))
    assert tuple(v.name for v in verdicts) == CHECKS == ("latency-bound", "loop-freedom", "convergence", "no-loss")


def test_open_write_at_the_end_makes_settling_unknown():
    """A file still being written at the end: the sync cannot have settled yet."""
    t = trace(
        config(),
        WriteOpened(10.0, S, "nfs", "out/big", 1, 10**9),
        run(30.0, 2, 1),
        synced(30.1, "out/big", 5, 2, size=1000, torn=True),
        run(60.0, 3, 1),
        run(90.0, 4, 1),
        run(120.0, 5, 1),
    )
    v = check_loop_freedom(t)
    assert (v.status, v.reason) == ("unknown", "nas-output-2: out/big was still being written when the trace ended (t=10.0 on)")


def test_phase3_report_lists_invariants_apart_and_still_exits_0():
    """On a Windows host loop freedom is INVALID, but the live checks pass, so `nassim run` exits 0."""
    trace_ = simulate(load_scenario(PHASE3))
    report = build_report(trace_, scenario="phase3-validation", duration=600)
    statuses = {v.name: v.status for v in report.invariants}
    assert statuses["loop-freedom"] == "invalid"
    assert report.passed
    text = report.render()
    assert "Invariants (reported; they do not change the exit status)" in text
    assert "  [INVALID] loop-freedom: nas-output-1: out/f000001.dat v1 was copied to Windows 19 times" in text
    p = subprocess.run(
        [sys.executable, "-m", "nassim", "run", str(PHASE3), "--json"], capture_output=True, text=True, cwd=ROOT
    )
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert [v["name"] for v in data["invariants"]] == list(CHECKS)
    assert data["invariants"][1]["status"] == "invalid"
    assert data["invariants"][1]["witness"][0] == "t=2.0 nas-output-1: out/f000001.dat v1 closed on NFS (122505 bytes)"

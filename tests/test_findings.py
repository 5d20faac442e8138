"""Named findings: small scenarios that reproduce each behaviour the real design permits."""

import pytest

import nassim.topology
from nassim.cluster import simulate
from nassim.finding import Finding
from nassim.findings import FINDINGS, find_findings, windows_name_problem
from nassim.report import build_report
from nassim.scenario import scenario_from_dict
from nassim.trace import FileSynced, ServerConfig, Trace, WriteClosed, WriteOpened

OUT = "nas-output-1"


def _scenario(**fields: object):
    base: dict[str, object] = {"name": "t", "duration": 120, "seed": 7, "topology": {"servers": [OUT]}}
    base.update(fields)
    return scenario_from_dict(base)


def _found(scenario, name: str) -> list[Finding]:
    return [f for f in find_findings(simulate(scenario)) if f.name == name]


# --- the Finding class ----------------------------------------------------------------------


def test_one_finding_class_serves_static_checks_and_traces():
    """nassim.topology.Finding is nassim.finding.Finding; path and time are optional."""
    assert nassim.topology.Finding is Finding
    static = Finding("sidecar-missing", OUT, "no sidecar")
    assert (static.path, static.time) == (None, None)
    assert str(static) == "nas-output-1: no sidecar [sidecar-missing]"
    found = Finding("torn-copy", OUT, "copied while written", "out/a", 40.44)
    assert str(found) == "t=40.4 nas-output-1: copied while written [torn-copy]"
    assert found.to_json() == {
        "name": "torn-copy",
        "server": OUT,
        "path": "out/a",
        "time": 40.44,
        "explanation": "copied while written",
    }


# --- each finding from a small scenario -----------------------------------------------------


def test_torn_copy_of_a_file_still_being_written():
    """A 2 GB file written over 40 s is copied half-written by the run that starts meanwhile."""
    s = _scenario(
        windows={"host": "linux"},
        duration=150,
        workloads=[
            {"type": "writer", "process": "fixed", "rate": 0.05, "size": {"value": 2_000_000_000},
             "throughput": 50_000_000, "stop": 30}
        ],
    )
    (f,) = _found(s, "torn-copy")
    assert (f.server, f.path, round(f.time or 0, 1)) == (OUT, "out/f000001.dat", 68.0)
    assert f.explanation == (
        "sync run 2 copied out/f000001.dat while it was being written: 676200499 of 2000000000 bytes of "
        "out/f000001.dat v1, closed at t=60.0; the whole file reached Windows at t=200.0 (run 3), 132 s later"
    )


def test_deleted_file_resurrected_after_a_pod_restart():
    """Deleted on NFS, kept on Windows (no --delete), copied back by the next pod's init container."""
    s = _scenario(
        windows={"host": "linux"},
        workloads=[
            {"type": "writer", "rate": 0.2, "stop": 20},
            {"type": "deleter", "rate": 0.2, "start": 40, "stop": 60},
        ],
        faults=[{"type": "pod-delete", "server": OUT, "at": 80}],
        cluster={"grace_period": 0},
    )
    found = _found(s, "resurrected-after-restart")
    assert len(found) == 5
    assert found[0].explanation == (
        "out/f000001.dat was deleted on NFS at t=54.0, but the Windows copy stayed (the sidecar runs without "
        "--delete); pod nas-output-1-1 was deleted at t=80.0; the init container sync-windows-data copied it "
        "back into the export at t=81.0"
    )


def test_writes_lost_in_the_window_before_a_pod_deletion():
    """Writes closed after the last sync run are gone with the pod's emptyDir."""
    s = _scenario(
        windows={"host": "linux"},
        workloads=[{"type": "writer", "rate": 0.1, "start": 35, "stop": 60}],
        faults=[{"type": "pod-delete", "server": OUT, "at": 60}],
        cluster={"grace_period": 0},
    )
    found = _found(s, "lost-on-pod-deletion")
    assert [(f.path, f.time) for f in found] == [(f"out/f00000{i}.dat", 60.0) for i in (1, 2, 3)]
    assert found[0].explanation == (
        "out/f000001.dat v1 closed at t=47.1 (the last sync run before it started at t=33.5); it was only on "
        "NFS when pod nas-output-1-1 was deleted at t=60.0, taking its emptyDir export with it: lost after "
        "12.9 s in the loss window"
    )


def test_persistent_export_loses_nothing_on_pod_deletion():
    """With a persistent export the same deletion loses no write."""
    s = _scenario(
        windows={"host": "linux"},
        topology={"servers": [OUT], "export": "persistent"},
        workloads=[{"type": "writer", "rate": 0.1, "start": 35, "stop": 60}],
        faults=[{"type": "pod-delete", "server": OUT, "at": 60}],
        cluster={"grace_period": 0},
    )
    assert _found(s, "lost-on-pod-deletion") == []


def test_windows_edit_overwritten_by_the_sidecar():
    """After a restart the export holds a Windows file; later edits of it on Windows are overwritten."""
    s = _scenario(
        windows={"host": "linux"},
        workloads=[{"type": "windows-editor", "rate": 0.1, "names": 1, "stop": 80}],
        faults=[{"type": "pod-delete", "server": OUT, "at": 40}],
        cluster={"grace_period": 0},
    )
    found = _found(s, "windows-edit-overwritten")
    assert [f.path for f in found] == ["in/doc0000.txt", "in/doc0000.txt"]
    assert found[0].explanation == (
        "in/doc0000.txt was edited on Windows at t=64.5 (v6); sync run 4 copied the export's Windows edit v2 "
        "over it at t=71.5: only the export is a source for the sidecar"
    )


def test_case_collision_on_a_windows_host_only():
    """Out/x and out/x land on one Windows file on a Windows host, on two on a Linux host."""
    writers = [
        {"type": "writer", "prefix": "out/", "rate": 0.1, "process": "fixed", "stop": 15, "names": 1},
        {"type": "writer", "prefix": "Out/", "rate": 0.1, "process": "fixed", "stop": 15, "names": 1, "start": 1},
    ]
    (f,) = _found(_scenario(windows={"host": "windows"}, duration=100, workloads=writers), "case-collision")
    assert (f.path, round(f.time or 0, 1)) == ("Out/f000000.dat", 33.5)
    assert f.explanation == (
        "the export holds Out/f000000.dat and out/f000000.dat, which differ only in case; the Windows folder is "
        "case-insensitive, so both land on one file (Out/f000000.dat) and each sync overwrites it with the "
        "other: at the end it holds out/f000000.dat's v1"
    )
    assert _found(_scenario(windows={"host": "linux"}, duration=100, workloads=writers), "case-collision") == []


def test_name_windows_cannot_store():
    """A reserved device name in an export path is reported once, at its first component."""
    s = _scenario(duration=60, workloads=[{"type": "writer", "prefix": "out/aux/", "rate": 0.1, "stop": 15}])
    (f,) = _found(s, "windows-invalid-name")
    assert (f.path, f.explanation) == (
        "out/aux",
        "out/aux/f000001.dat: 'aux' is a reserved device name on Windows; a Windows host cannot create it, so "
        "the sidecar's copy fails (rsync exit 23) or lands under another name",
    )


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("out/report.csv", None),
        ("out/a:b.csv", "'a:b.csv' contains ':'"),
        ("out/what?/x", "'what?' contains '?'"),
        ("out/trailing.", "'trailing.' ends with a dot, which Windows strips"),
        ("out/space ", "'space ' ends with a space, which Windows strips"),
        ("out/CON.txt", "'CON.txt' is a reserved device name on Windows"),
        ("lpt1/x", "'lpt1' is a reserved device name on Windows"),
        ("out/console.txt", None),
    ],
)
def test_windows_name_rules(path: str, problem: str | None):
    """Reserved characters, a trailing dot or space, and device names are refused by Windows."""
    assert windows_name_problem(path) == problem


def test_writer_temp_file_left_on_windows():
    """A writer's `.NAME.tmp`, copied while it existed, stays on Windows after the rename (no --delete)."""
    s = _scenario(
        windows={"host": "linux"},
        workloads=[
            {"type": "writer", "mode": "rename", "process": "fixed", "rate": 0.05,
             "size": {"value": 500_000_000}, "throughput": 10_000_000, "stop": 30}
        ],
    )
    found = find_findings(simulate(s))
    assert [f.name for f in found] == ["torn-copy", "temp-file-left-behind"]
    assert found[1].explanation == (
        "out/.f000001.dat.tmp is a writer's temp name (renamed to out/f000001.dat on NFS at t=70.0); a sync "
        "copied it while it existed (135240099 bytes) and, without --delete, it stays on Windows for good"
    )


def test_rsync_temp_file_left_by_a_killed_sidecar():
    """SIGKILL in the middle of a transfer leaves rsync's `.NAME.XXXXXX` on Windows for good."""
    s = _scenario(
        windows={"host": "linux", "mb_per_s": 10},
        workloads=[{"type": "writer", "process": "fixed", "rate": 0.05, "size": {"value": 300_000_000}, "stop": 30}],
        faults=[{"type": "container-kill", "server": OUT, "at": 40}],
    )
    (f,) = _found(s, "temp-file-left-behind")
    assert f.path is not None and f.path.startswith("out/.f000001.dat.")
    assert f.explanation.endswith(
        "(150000000 bytes) is an rsync temp file: sync run 2 was killed (exit 137) while writing it, and nothing "
        "ever removes it from Windows"
    )


def test_sidecar_crash_loop():
    """Repeated sidecar crashes: back-off, and no sync while it waits."""
    s = _scenario(duration=150, faults=[{"type": "sidecar-crash", "server": OUT, "at": 50, "times": 3}])
    (f,) = _found(s, "sidecar-crash-loop")
    assert (f.time, f.path) == (51.5, None)
    assert f.explanation == (
        "sync-to-windows of pod nas-output-1-1 exited 3 times (exit 1, 1, 1); the kubelet backed off 10.5 s, "
        "20.5 s before restarting it: no sync ran from t=33.5 to t=83.5; writes wait on NFS meanwhile"
    )


def test_init_container_crash_loop_blocks_the_pod():
    """An init container that cannot read the Windows mount exits 23 again and again (reference §5)."""
    s = _scenario(
        duration=60, topology={"servers": ["nas-input-1"]}, faults=[{"type": "mount-loss", "at": 0, "duration": 5}]
    )
    (f,) = _found(s, "init-crash-loop")
    assert f.server == "nas-input-1"
    assert f.explanation.endswith(
        "it was still backing off when the trace ended: the pod stays Pending (Init:CrashLoopBackOff) and its "
        "export is not served"
    )


# --- hand-made traces ---------------------------------------------------------------------


def test_torn_copy_finding_from_a_hand_made_trace():
    """Findings read records only: a torn FileSynced with its write's open and close is enough."""
    cfg = ServerConfig(0.0, OUT, "output", "emptyDir", "init", (), "sync-to-windows", (), 30.0)
    t = Trace(
        records=[
            cfg,
            WriteOpened(10.0, OUT, "nfs", "out/a", 1, 9000),
            FileSynced(12.0, OUT, "windows", "out/a", 4096, 5, "sync-to-windows", 3, torn=True),
            WriteClosed(13.0, OUT, "nfs", "out/a", 1, 9000, 5),
        ]
    )
    (f,) = find_findings(t)
    assert f.explanation == (
        "sync run 3 copied out/a while it was being written: 4096 of 9000 bytes of out/a v1, closed at t=13.0; "
        "Windows still held the torn copy at the end of the trace"
    )


def test_every_finding_name_is_listed():
    """FINDINGS names every finding find_findings can return, in a stable order."""
    assert FINDINGS == (
        "torn-copy",
        "resurrected-after-restart",
        "lost-on-pod-deletion",
        "windows-edit-overwritten",
        "case-collision",
        "windows-invalid-name",
        "temp-file-left-behind",
        "quick-check-miss",
        "sidecar-crash-loop",
        "init-crash-loop",
        "windows-regressed",
    )


def test_windows_regressed_when_an_older_version_is_copied_over_a_newer_one():
    """A sync that writes v1 over the v2 already on Windows is a windows-regressed finding."""
    t = Trace(
        records=[
            WriteClosed(1.0, OUT, "nfs", "out/a", 1, 10, 101),
            WriteClosed(2.0, OUT, "nfs", "out/a", 2, 10, 102),
            FileSynced(3.0, OUT, "windows", "out/a", 10, 102, "sync-to-windows", 1),
            FileSynced(9.0, OUT, "windows", "out/a", 10, 101, "sync-to-windows", 2),
        ]
    )
    found = [f for f in find_findings(t) if f.name == "windows-regressed"]
    assert [f.explanation for f in found] == [
        "sync-to-windows run 2 copied out/a v1 over v2, which run 1 had put on Windows at t=3.0: "
        "Windows went back to an older version"
    ]


# --- in the report -----------------------------------------------------------------------


def test_report_lists_findings_in_text_and_json():
    """`findings` in the JSON is a list of {name, server, path, time, explanation}."""
    s = _scenario(duration=60, workloads=[{"type": "writer", "prefix": "out/aux/", "rate": 0.1, "stop": 15}])
    report = build_report(simulate(s), scenario="t", duration=60)
    data = report.to_json()
    assert data["findings"] == [
        {
            "name": "windows-invalid-name",
            "server": OUT,
            "path": "out/aux",
            "time": 12.053,
            "explanation": "out/aux/f000001.dat: 'aux' is a reserved device name on Windows; a Windows host "
            "cannot create it, so the sidecar's copy fails (rsync exit 23) or lands under another name",
        }
    ]
    text = report.render()
    assert "Findings (1)\n  windows-invalid-name\n    t=12.1 nas-output-1: out/aux/f000001.dat: 'aux'" in text


def test_expected_findings_decide_whether_the_run_passed():
    """A scenario that expects a finding passes only if it appears; a missing one fails the run."""
    s = _scenario(duration=60, workloads=[{"type": "writer", "prefix": "out/aux/", "rate": 0.1, "stop": 15}])
    trace = simulate(s)
    ok = build_report(trace, scenario="t", duration=60, expect_findings=["windows-invalid-name"])
    assert ok.passed and ok.missing_findings == ()
    missing = build_report(trace, scenario="t", duration=60, expect_findings=["windows-invalid-name", "torn-copy"])
    assert not missing.passed
    assert missing.to_json()["missing_findings"] == ["torn-copy"]
    assert "  expected: windows-invalid-name (found), torn-copy (MISSING)" in missing.render()


def test_quick_check_miss_of_a_same_size_rewrite_on_a_windows_host():
    """On 9p the Windows copy's mtime is its copy time; a same-size rewrite in that second is never sent."""
    s = _scenario(
        duration=200,
        workloads=[{"type": "writer", "rate": 1.0, "size": {"value": 1000}, "names": 50}],
    )
    (f,) = _found(s, "quick-check-miss")
    assert (f.path, round(f.time or 0, 1)) == ("out/f000048.dat", 155.1)
    assert f.explanation == (
        "sync run 6 skipped out/f000048.dat v2 (closed at t=124.7): Windows held v1 of the same size (1000 bytes), "
        "and rsync's quick check compares only size and whole-second mtime, so a rewrite in the second of the last "
        "copy looks unchanged; Windows kept the stale content until run 7 copied v4 at t=186.0; v2 never reached "
        "Windows"
    )

"""docs/windows-to-nfs.md, checked: each candidate Windows -> NFS sidecar against each question.

Every "yes" cell of the document's table is a counterexample file
``sim/scenarios/hazards/windows-to-nfs-<candidate>-<question>.yaml``; every "no" cell is the
same question's scenario run with that candidate's arguments, on both hosts, showing nothing.
"""

from pathlib import Path

import attrs
import pytest

from nassim.checks import check_invariants, check_no_loss
from nassim.cluster import simulate
from nassim.findings import find_findings
from nassim.scenario import ReverseSidecar, Scenario, load_scenario
from nassim.trace import FileDeleted, FileSynced, Trace, TreeState

ROOT = Path(__file__).resolve().parent.parent
HAZARDS = ROOT / "sim" / "scenarios" / "hazards"
DOC = ROOT / "docs" / "windows-to-nfs.md"

REV = ("/windows-mount/", "/nfs-data/")
FWD = ("/nfs-data/", "/windows-mount/")
#: candidate -> (reverse sidecar options, forward sidecar options or None for the chart's -av)
CANDIDATES: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "plain": (("-av",), None),
    "delete": (("-av", "--delete"), None),
    "update": (("-avu",), None),
    "ignore-existing": (("-av", "--ignore-existing"), None),
    "update-both": (("-avu",), ("-avu",)),
}
QUESTIONS = (
    "recopy-loop",
    "nfs-delete-resurrected",
    "windows-delete-resurrected",
    "nfs-update-lost",
    "windows-edit-lost",
    "new-nfs-deleted",
)
#: (candidate, question) -> the hosts on which the hazard shows (the document's table).
YES: dict[tuple[str, str], tuple[str, ...]] = {
    ("ignore-existing", "recopy-loop"): ("windows",),
    **{
        (c, q): ("linux", "windows")
        for c, qs in {
            "plain": ("nfs-delete-resurrected", "windows-delete-resurrected", "nfs-update-lost", "windows-edit-lost"),
            "delete": (
                "nfs-delete-resurrected",
                "windows-delete-resurrected",
                "nfs-update-lost",
                "windows-edit-lost",
                "new-nfs-deleted",
            ),
            "update": ("nfs-delete-resurrected", "windows-delete-resurrected", "windows-edit-lost"),
            "ignore-existing": ("nfs-delete-resurrected", "windows-delete-resurrected", "windows-edit-lost"),
            "update-both": ("nfs-delete-resurrected", "windows-delete-resurrected"),
        }.items()
        for q in qs
    },
}


def _path(candidate: str, question: str) -> Path:
    return HAZARDS / f"windows-to-nfs-{candidate}-{question}.yaml"


def _with(s: Scenario, candidate: str, host: str) -> Scenario:
    rev, fwd = CANDIDATES[candidate]
    old = s.topology.reverse_sidecar
    assert old is not None
    topo = attrs.evolve(
        s.topology,
        reverse_sidecar=ReverseSidecar(args=(*rev, *REV), interval=old.interval),
        sidecar_args=(*fwd, *FWD) if fwd is not None else None,
    )
    return attrs.evolve(s, topology=topo, windows=attrs.evolve(s.windows, host=host))


def _base(question: str) -> Scenario:
    """The question's scenario: the first candidate's counterexample file."""
    return load_scenario(next(_path(c, question) for c in CANDIDATES if _path(c, question).exists()))


def _shows(question: str, trace: Trace) -> bool:
    """Does the trace show the hazard the question asks about?"""
    recs = trace.records
    verdicts = {v.name: v for v in check_invariants(trace)}
    found = {f.name for f in find_findings(trace)}
    if question == "recopy-loop":
        return verdicts["loop-freedom"].status == "invalid"
    if question == "nfs-delete-resurrected":
        gone = {(r.path, r.t) for r in recs if isinstance(r, FileDeleted) and r.side == "nfs"}
        back = any(
            isinstance(r, FileSynced) and r.side == "nfs" and r.container == "sync-from-windows" and r.t > t
            for p, t in gone
            for r in recs
            if getattr(r, "path", None) == p
        )
        assert back == ("resurrected-after-restart" in found)
        return back
    if question == "windows-delete-resurrected":
        gone = [r for r in recs if isinstance(r, FileDeleted) and r.side == "windows"]
        end = next(r for r in recs if isinstance(r, TreeState) and r.side == "windows" and r.moment == "end")
        return bool(gone) and all(g.path in end.files() for g in gone)
    if question == "nfs-update-lost":
        v = verdicts["no-loss"]
        return v.status == "invalid" and any("copied" in w and "sync-from-windows" in w for w in v.witness)
    if question == "windows-edit-lost":
        return "windows-edit-overwritten" in found
    assert question == "new-nfs-deleted"
    v = verdicts["no-loss"]
    return v.status == "invalid" and any("deleted it from the export" in w for w in v.witness)


def test_every_yes_cell_has_its_counterexample_file_and_no_other_file_exists():
    files = {p.stem for p in HAZARDS.glob("windows-to-nfs-*.yaml")}
    assert files == {f"windows-to-nfs-{c}-{q}" for c, q in YES}


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("candidate", list(CANDIDATES))
def test_table_cell(candidate: str, question: str):
    """Each candidate shows the hazard on exactly the hosts the table says (yes, or no on both)."""
    base = _base(question)
    shown = tuple(h for h in ("linux", "windows") if _shows(question, simulate(_with(base, candidate, h))))
    assert shown == YES.get((candidate, question), ())


@pytest.mark.parametrize("path", sorted(HAZARDS.glob("windows-to-nfs-*.yaml")), ids=lambda p: p.stem)
def test_counterexample_file_as_written(path: Path):
    """The file itself (its own host) shows its hazard and exactly its expected findings."""
    s = load_scenario(path)
    trace = simulate(s)
    assert {f.name for f in find_findings(trace)} == set(s.expect_findings)
    assert _shows(_question(path.stem), trace)


def _question(stem: str) -> str:
    return next(q for q in QUESTIONS if stem.endswith("-" + q))


def test_document_names_every_counterexample_file():
    doc = DOC.read_text(encoding="utf-8")
    missing = [f"windows-to-nfs-{c}-{q}.yaml" for c, q in YES if f"windows-to-nfs-{c}-{q}.yaml" not in doc]
    assert missing == []


# --- the no-loss check and the findings with a writing Windows -> NFS sidecar ---------------------


def test_no_loss_names_the_reverse_run_that_overwrote_an_nfs_write_even_when_a_later_write_follows():
    """v2 is overwritten in the export by the reverse sidecar's copy of v1; a later v3 on NFS does not
    explain v2's loss (before the fix it did, and the check passed), and quick-check-miss stays quiet."""
    s = load_scenario(_path("plain", "nfs-update-lost"))
    (w,) = s.workloads
    s = attrs.evolve(s, workloads=(attrs.evolve(w, stop=60),))
    trace = simulate(s)
    v = check_no_loss(trace)
    assert v.status == "invalid"
    assert any("v2 closed on NFS" in line for line in v.witness)
    assert any("sync-from-windows run" in line and "copied v1 from Windows over it" in line for line in v.witness)
    assert "quick-check-miss" not in {f.name for f in find_findings(trace)}


def test_no_loss_names_the_reverse_delete_of_a_new_nfs_file():
    trace = simulate(load_scenario(_path("delete", "new-nfs-deleted")))
    v = check_no_loss(trace)
    assert v.status == "invalid"
    assert any("sync-from-windows run" in line and "deleted it from the export" in line for line in v.witness)


def test_resurrection_by_the_reverse_sidecar_says_so():
    trace = simulate(load_scenario(_path("plain", "nfs-delete-resurrected")))
    (f,) = [f for f in find_findings(trace) if f.name == "resurrected-after-restart"]
    assert "the Windows -> NFS sidecar sync-from-windows copied it back" in f.explanation


@pytest.mark.parametrize("question", QUESTIONS)
def test_update_with_modify_window_1_behaves_as_update(question: str):
    """The document's note: `-avu --modify-window=1` gives the same cells as (c) `-avu`."""
    base = _base(question)
    CANDIDATES["update-window"] = (("-avu", "--modify-window=1"), None)
    try:
        for host in ("linux", "windows"):
            assert _shows(question, simulate(_with(base, "update-window", host))) == _shows(
                question, simulate(_with(base, "update", host))
            )
    finally:
        del CANDIDATES["update-window"]

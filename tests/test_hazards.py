"""The hazard catalogue (sim/scenarios/hazards/): each file produces exactly what its header declares.

A catalogue file starts with a comment header: ``# Hazard:``, ``# Why:`` (citing the reference
notes), ``# Avoid:`` and ``# Expect:`` in prose, then the machine-checked claims:

- ``# verdict: NAME STATUS``: the invariant check NAME (nassim.checks.CHECKS) returns STATUS;
- ``# sync-exits: SERVER CODE...``: the exit codes of SERVER's sidecar runs, repeats collapsed;
- ``# probe PATH: pass|fail``: the nfs-to-windows probe writing PATH passes or fails;
- ``# reader-delay: SERVER LO HI``: the longest delay from a write's close on NFS until an NFS
  reader listed it (FileVisible) lies within [LO, HI] seconds.

The set of finding names must equal the scenario's ``expect_findings``, exactly.
"""

import itertools
import math
import re
from pathlib import Path

import attrs
import pytest

from nassim.checks import CHECKS, check_invariants
from nassim.cluster import simulate
from nassim.costs import LOCAL_DISK, NINEP_WINDOWS, CostModel
from nassim.errors import ScenarioError
from nassim.findings import FINDINGS, find_findings
from nassim.scenario import NfsToWindowsProbe, Scenario, load_scenario, scenario_from_dict
from nassim.search import probe_at_worst_phase, tree_size_threshold
from nassim.trace import FileSynced, FileVisible, ProbeResult, RsyncRun, ServerConfig, Trace, WriteClosed

ROOT = Path(__file__).resolve().parent.parent
HAZARDS = ROOT / "sim" / "scenarios" / "hazards"
FILES = sorted(HAZARDS.glob("*.yaml"))

_CLAIM = re.compile(r"^# (verdict|sync-exits|reader-delay|probe [^:]+): (.+)$")


def _header(path: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(prose sections by key, machine claims in order) of a catalogue file's comment header."""
    prose: dict[str, str] = {}
    claims: list[tuple[str, str]] = []
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        m = _CLAIM.match(line)
        if m:
            claims.append((m.group(1), m.group(2).strip()))
            key = None
        elif line.startswith("#   ") and key is not None:
            prose[key] += " " + line[4:].strip()
        elif (m2 := re.match(r"^# (Hazard|Why|Avoid|Expect): (.+)$", line)) is not None:
            key = m2.group(1)
            prose[key] = m2.group(2).strip()
        else:
            raise AssertionError(f"{path.name}: header line not understood: {line!r}")
    return prose, claims


def test_catalogue_is_not_empty_and_covers_every_named_finding():
    """Every finding in FINDINGS is expected by at least one catalogue scenario."""
    assert len(FILES) >= 20
    expected = {n for f in FILES for n in load_scenario(f).expect_findings}
    assert set(FINDINGS) - expected == set()


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_catalogue_file_produces_exactly_what_its_header_declares(path: Path):
    """Findings equal expect_findings; declared verdicts, sidecar exit codes and probe results hold."""
    prose, claims = _header(path)
    assert set(prose) == {"Hazard", "Why", "Avoid", "Expect"}, f"{path.name}: header sections {sorted(prose)}"
    assert "reference §" in prose["Why"], f"{path.name}: Why must cite the reference notes"
    s = load_scenario(path)
    assert s.name == path.stem
    trace = simulate(s)
    found = {f.name for f in find_findings(trace)}
    assert found == set(s.expect_findings), f"{path.name}: found {sorted(found)}"
    verdicts = {v.name: v for v in check_invariants(trace)}
    syncs = {r.server: r.sidecar for r in trace.records if isinstance(r, ServerConfig)}
    for kind, value in claims:
        if kind == "verdict":
            name, status = value.split()
            assert name in CHECKS
            assert verdicts[name].status == status, f"{path.name}: {verdicts[name].explain()}"
        elif kind == "sync-exits":
            server, *codes = value.split()
            runs = [r.exit_code for r in trace.records if isinstance(r, RsyncRun) and r.container == syncs[server]]
            assert [str(c) for c, _ in itertools.groupby(runs)] == codes, f"{path.name}: exit codes {runs}"
        elif kind == "reader-delay":
            server, lo, hi = value.split()
            closed = {r.path: r.t for r in trace.records if isinstance(r, WriteClosed) and r.server == server}
            seen = [r.t - closed[r.path] for r in trace.records if isinstance(r, FileVisible) and r.server == server]
            assert seen, f"{path.name}: no reader saw a file"
            assert float(lo) <= max(seen) <= float(hi), f"{path.name}: reader delays {sorted(seen)}"
        else:
            probe_path = kind.split(" ", 1)[1]
            latency = _probe_latency(s, trace, probe_path)
            (probe,) = [p for p in s.probes if isinstance(p, NfsToWindowsProbe) and p.path == probe_path]
            passed = latency is not None and latency <= probe.within
            assert passed == (value == "pass"), f"{path.name}: {probe_path}: latency {latency}"
    # The simulator's own probe results agree with the claims counted above.
    declared = [v for k, v in claims if k.startswith("probe ")]
    results = [r.passed for r in trace.records if isinstance(r, ProbeResult) and r.probe == "nfs-to-windows"]
    assert sorted(results) == sorted(v == "pass" for v in declared)


def _probe_latency(s: Scenario, trace: Trace, path: str) -> float | None:
    """Seconds from the probe's close on NFS until its content is on Windows (None: never)."""
    closes = [r for r in trace.records if isinstance(r, WriteClosed) and r.writer.startswith("probe:") and r.path == path]
    assert len(closes) == 1, f"{s.name}: no nfs-to-windows probe writes {path}"
    w = closes[0]
    hit = next(
        (
            r.t
            for r in trace.records
            if isinstance(r, FileSynced) and r.side == "windows" and r.server == w.server and r.path == path
            and (r.content, r.size) == (w.content, w.size) and r.t >= w.t
        ),
        None,
    )
    return None if hit is None else hit - w.t


def test_docs_table_lists_every_catalogue_file():
    """docs/hazards.md has a row for each file of the catalogue."""
    doc = (ROOT / "docs" / "hazards.md").read_text(encoding="utf-8")
    missing = [f.name for f in FILES if f"`{f.name}`" not in doc]
    assert missing == []


# --- the tree-size threshold, found by search -----------------------------------------------

SMALL = {
    "name": "small-tree",
    "seed": 1,
    "duration": 200,
    "topology": {"servers": ["nas-output-1"], "interval": 10},
    "windows": {"host": "windows", "stat_ms": 20},
    "probes": [{"type": "nfs-to-windows", "server": "nas-output-1", "at": 60, "within": 20}],
}


def _entries(files: int) -> int:
    """Entries of an export seeded with ``files`` Windows files: the root, ``data/``, one
    directory per 100 files, and the files (nassim.cluster.simulation._initial_windows)."""
    return 2 + math.ceil(files / 100) + files


def test_search_finds_the_tree_size_where_interval_plus_two_runs_exceeds_the_bound():
    """Bisection on windows.files lands where interval + 2 x run time (CostModel) crosses the bound."""
    s = scenario_from_dict(SMALL)
    found = tree_size_threshold(s, lo=0, hi=4096)
    assert found.fails == found.passes + 1
    cost = CostModel(src=LOCAL_DISK, dst=attrs.evolve(NINEP_WINDOWS, stat_s=0.020))

    def bound(files: int) -> float:
        return 10 + 2 * cost.scan_seconds(_entries(files))

    analytic = max(n for n in range(4096) if bound(n) <= 20)
    # The probe's own file and directory (two entries) and its copy make the real run a little longer.
    assert analytic - 3 <= found.passes <= analytic
    assert bound(found.passes) <= 20 < bound(found.fails) + 0.1
    assert [st.passed for st in sorted(found.steps, key=lambda st: st.files)] == sorted(
        (st.passed for st in found.steps), reverse=True
    )


def test_search_needs_one_probe_and_a_bracket():
    """The search says what is wrong with its input, in one line."""
    no_probe = scenario_from_dict({**SMALL, "probes": []})
    with pytest.raises(ScenarioError, match=r"^small-tree: probes: the search judges exactly one nfs-to-windows probe \(got 0\)$"):
        tree_size_threshold(no_probe, lo=0, hi=10)
    with pytest.raises(ScenarioError, match=r"still passes with windows.files=10 .*; raise hi$"):
        tree_size_threshold(scenario_from_dict(SMALL), lo=0, hi=10)
    with pytest.raises(ValueError, match=r"^need 0 <= lo < hi \(got lo=5, hi=5\)$"):
        tree_size_threshold(scenario_from_dict(SMALL), lo=5, hi=5)


@pytest.mark.parametrize("name", ["tree-size-above-threshold", "tree-size-below-threshold"])
def test_tree_size_catalogue_probes_sit_at_the_worst_moment(name: str):
    """The catalogue's probe time is the one the search would pick (0.01 s after a run starts)."""
    s = load_scenario(HAZARDS / f"{name}.yaml")
    (probe,) = s.probes
    assert isinstance(probe, NfsToWindowsProbe)
    moved = probe_at_worst_phase(attrs.evolve(s, probes=(attrs.evolve(probe, at=probe.at - 1),)))
    assert moved.probes[0].at == pytest.approx(probe.at, abs=0.01)

"""Incremental sidecar runs: looking only at what changed gives the trace of full runs.

A sidecar run in the simulator hands the rsync model the paths that changed
since the last run (the writes, the other direction's changes, and what the
last run itemized but did not settle: ``RsyncResult.settled``). These tests
pin that this changes nothing but the speed: with the same scenario and seed,
the trace and the summary latencies equal those of ``incremental=False``, where
every run looks at the whole tree.
"""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nassim import strategies as ns
from nassim.cluster import Simulation
from nassim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = sorted((ROOT / "sim" / "scenarios").glob("**/*.yaml"))

_EXPLORE = settings.default.max_examples > 100
FAST = settings(max_examples=settings.default.max_examples if _EXPLORE else 40, derandomize=not _EXPLORE, deadline=None)


def assert_same_as_full_runs(s: Scenario) -> None:
    for summary in (False, True):
        inc = Simulation(s, summary=summary)
        full = Simulation(s, summary=summary, incremental=False)
        assert inc.run().digest() == full.run().digest(), f"summary={summary}: the trace differs from full runs"
        assert inc.latencies == full.latencies


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_catalogue_scenarios_give_the_trace_of_full_runs(path):
    assert_same_as_full_runs(load_scenario(path))


def test_benchmark_workload_gives_the_trace_of_full_runs():
    """Writes to a pool of names, copied to a Windows folder that stores whole seconds: each
    copy is settled, and the next run never looks at it unless it is written again."""
    s = scenario_from_dict(
        {
            "name": "bench-like",
            "seed": 5,
            "duration": 900,
            "windows": {"host": "linux"},
            "workloads": [{"type": "writer", "rate": 1.0, "names": 200, "size": {"value": 2048}}],
        }
    )
    assert_same_as_full_runs(s)


@pytest.mark.parametrize(
    "fields",
    [
        {"topology": {"reverse_sidecar": {"interval": 20}}},  # Windows -> NFS runs: their copies' times
        {"topology": {"sidecar_args": ["-avn", "/nfs-data/", "/windows-mount/"]}},  # a dry run settles nothing
        {"windows": {"host": "linux", "files": 300, "mtime_resolution": 0.3}},  # 4.1 s is stored as 3.9 s
        {"windows": {"host": "windows", "files": 300}},
    ],
    ids=["windows-to-nfs", "dry-run", "resolution-0.3s", "windows-host"],
)
def test_sidecar_variants_give_the_trace_of_full_runs(fields):
    """Writes into a seeded Windows folder's directories and a folder of their own, with each
    variant of the sidecars and the Windows volume that changes what a run settles."""
    s = scenario_from_dict(
        {
            "name": "variants",
            "seed": 9,
            "duration": 400,
            "windows": {"host": "linux", "files": 300},
            "workloads": [
                {"type": "writer", "rate": 3.0, "names": 500, "size": {"value": 4096}, "prefix": "data/d0001/"},
                {"type": "writer", "rate": 1.0, "size": {"value": 40960}, "prefix": "out/x/"},
            ],
            **fields,
        }
    )
    assert_same_as_full_runs(s)


@FAST
@given(scenario=ns.scenarios(max_duration=400), data=st.data())
def test_any_scenario_gives_the_trace_of_full_runs(scenario, data):
    """Drawn topologies, workloads (both directions' sidecars, deleters, renamers, editors)
    and faults (pod deletion during a run's grace period, kills, mount loss)."""
    assert_same_as_full_runs(scenario)

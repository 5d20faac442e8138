"""Batched writers: Poisson writers applied when someone looks give the per-write trace.

The simulator applies the writes of a Poisson writer of small files in batches
(``Simulation.flush_writes``) instead of one simpy event each. These tests pin
that the batches change nothing but the speed: with the same scenario and seed
the trace, the summary latencies and the number of events (counting the ones
the batches saved) equal those of ``batch_writes=False``, the event-per-write
path.
"""

from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nassim import strategies as ns
from nassim.cluster import Simulation
from nassim.scenario import Scenario, Size, Writer, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = sorted((ROOT / "sim" / "scenarios").glob("**/*.yaml"))

_EXPLORE = settings.default.max_examples > 100
FAST = settings(max_examples=settings.default.max_examples if _EXPLORE else 40, derandomize=not _EXPLORE, deadline=None)


def _run(s: Scenario, *, summary: bool, batch: bool) -> tuple[str, list[float], int, int]:
    sim = Simulation(s, summary=summary, batch_writes=batch)
    digest = sim.run().digest()
    return digest, sim.latencies, sim.events + sim.batched_events, sim.batched_events


def assert_same_as_per_write(s: Scenario) -> int:
    """Both paths, in both trace modes, agree; returns the events the batches saved."""
    saved = 0
    for summary in (False, True):
        digest, lat, events, batched = _run(s, summary=summary, batch=True)
        ref_digest, ref_lat, ref_events, ref_batched = _run(s, summary=summary, batch=False)
        assert ref_batched == 0
        assert digest == ref_digest, f"summary={summary}: the trace differs from the per-write path"
        assert lat == ref_lat
        assert events == ref_events, "the batches must account for every event the per-write path schedules"
        saved = batched
    return saved


def _small_poisson(w: object) -> object:
    if isinstance(w, Writer):
        return attrs.evolve(w, process="poisson", size=Size(value=min(w.size.value, 4096)), throughput=50e6)
    return w


def _batchable(s: Scenario) -> Scenario:
    """The scenario with every writer made Poisson with small files (so it is batched)."""
    return attrs.evolve(s, workloads=tuple(_small_poisson(w) for w in s.workloads))


def _bench(duration: float, **fields: object) -> Scenario:
    return scenario_from_dict(
        {
            "name": "bench-like",
            "seed": 3,
            "duration": duration,
            "windows": {"host": "linux"},
            "workloads": [{"type": "writer", "rate": 1.0, "names": 1000, "size": {"value": 2048}}],
            **fields,
        }
    )


def test_benchmark_workload_is_batched_with_the_per_write_trace():
    """The benchmark's writers (Poisson, 2 KB, a pool of names) are batched: almost no simpy event per write."""
    s = _bench(1800)
    saved = assert_same_as_per_write(s)
    sim = Simulation(s, summary=True)
    sim.run()
    assert saved > 3 * 1800 * 0.9
    assert sim.events < saved / 10


def test_batched_writes_wait_for_a_pod_that_is_not_serving():
    """Writes arriving while the export is down (pod deleted, NFS server killed) wait and land as per write."""
    s = _bench(
        400,
        cluster={"grace_period": 5},
        faults=[
            {"type": "container-kill", "server": "nas-output-1", "container": "nfs-server", "at": 50},
            {"type": "pod-delete", "server": "nas-output-2", "at": 90},
            {"type": "container-kill", "server": "nas-output-3", "container": "nfs-server", "at": 100},
            {"type": "pod-delete", "server": "nas-output-3", "at": 100.5},
            {"type": "mount-loss", "at": 200, "duration": 30},
        ],
        workloads=[
            {"type": "writer", "rate": 2.0, "names": 50, "size": {"value": 100}, "mode": "rename"},
            {"type": "writer", "rate": 0.5, "size": {"dist": "uniform", "min": 1, "max": 3000}, "stop": 300},
            {"type": "deleter", "rate": 0.2},
            {"type": "reader", "poll": 2},
        ],
    )
    assert assert_same_as_per_write(s) > 0


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_catalogue_scenarios_give_the_per_write_trace(path):
    """Every catalogue scenario, and its variant with batchable writers, gives the per-write trace."""
    s = load_scenario(path)
    assert_same_as_per_write(s)
    assert_same_as_per_write(_batchable(s))


@FAST
@given(scenario=ns.scenarios(max_duration=400).map(_batchable), data=st.data())
def test_any_scenario_gives_the_per_write_trace(scenario, data):
    """Drawn topologies, workloads and faults, with batchable writers: the batches change nothing."""
    assert_same_as_per_write(scenario)


def test_fixed_rate_and_slow_writers_keep_one_event_per_write():
    """Fixed-rate writers (ties with other events are possible) and writes that take time are not batched."""
    for w in ({"process": "fixed"}, {"size": {"value": 10**6}}, {"size": {"dist": "lognormal", "value": 100}}):
        s = _bench(120, workloads=[{"type": "writer", "rate": 1.0, **w}])
        sim = Simulation(s)
        sim.run()
        assert sim.batched_events == 0

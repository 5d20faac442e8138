"""Simulator speed against the physical limit of simpy, side by side in one run.

    python benchmarks/bench_sim.py [--days 1 30] [--quick]

Simulates the reference test bed (seven servers, 30 s sidecar interval) with
one write per second into each output export (Poisson, small files, a pool of
1,000 names per export so the tree stays the size of a real export), for each
number of days. In the same run it times a bare simpy loop that processes the
same number of events with no work attached: the fastest any simpy model of
this test bed could go here. Prints simulated seconds per wall second and the
ratio nassim / bare.

The bare loop's event count is what the event-per-write simulator schedules:
one event per write, plus the sidecar runs (a run and a sleep each), the pod
lifecycles and every other event. The simulator applies these writers' writes
in batches, so it schedules far fewer simpy events itself; the batches count
every event they stand for (``Simulation.batched_events``: each writer's
start, its first sleep, one per write, its end), and the bare loop runs
``Simulation.events + Simulation.batched_events`` of them, exactly the count
of ``Simulation(..., batch_writes=False)`` (``tests/test_batched_writes.py``
pins that equality). Batching never shrinks the baseline.

Target on the 2-core reference machine: 30 days in at most 3x the bare loop.

The column peak MB is the process's peak resident memory once the row's run is
done (so with the default order, 1 day then 30, the last row is the 30-day run's).

The last column, floor / bare, times the least work a write needs in plain
Python with no model around it (its three random draws, a dict write for the
export, a compare and a copy for the sync, its latency): how far below the bare
loop the per-write work itself could go, so the rest of the ratio is the
model's (trees, the rsync engine, the trace).
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nassim.cluster import Simulation
from nassim.scenario import scenario_from_dict


def scenario(days: float):  # type: ignore[no-untyped-def]
    return scenario_from_dict(
        {
            "name": f"bench-{days:g}d",
            "seed": 1,
            "duration": days * 86_400,
            "windows": {"host": "linux"},
            "workloads": [{"type": "writer", "rate": 1.0, "names": 1000, "size": {"value": 2048}}],
        }
    )


def bare_loop(events: int) -> float:
    """Wall seconds for simpy to process ``events`` timeouts in three processes."""

    def proc(env: simpy.Environment, n: int):  # type: ignore[no-untyped-def]
        for _ in range(n):
            yield env.timeout(1.0)

    env = simpy.Environment()
    per = events // 3
    for _ in range(3):
        env.process(proc(env, per))
    gc.collect()
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def floor_loop(writes: int, names: int = 1000) -> float:
    """Wall seconds for the least per-write work of the benchmark's writers, in a bare loop."""
    rng = random.Random(1)
    getrandbits, random_, log = rng.getrandbits, rng.random, math.log
    bits = names.bit_length()
    export: dict[int, tuple[int, float, int]] = {}
    windows: dict[int, tuple[int, float, int]] = {}
    latencies: list[float] = []
    t = 0.0
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(writes):
        t += -log(1.0 - random_())
        name = getrandbits(bits)
        while name >= names:
            name = getrandbits(bits)
        f = (2048, t, getrandbits(62))
        export[name] = f
        w = windows.get(name)
        if w is None or w[0] != f[0] or w[1] != f[1]:
            windows[name] = f
            latencies.append(t + 15.0 - f[1])
    return time.perf_counter() - t0


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB (NaN where ``resource`` is missing: Windows)."""
    try:
        import resource
    except ImportError:
        return math.nan
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, nargs="+", default=[1, 30])
    ap.add_argument("--quick", action="store_true", help="0.1 and 1 day, for a smoke run")
    a = ap.parse_args()
    days_list = [0.1, 1.0] if a.quick else a.days
    print(
        f"{'days':>6} {'events':>12} {'nassim s':>10} {'bare s':>8} {'ratio':>7} {'sim s / wall s':>15}"
        f" {'peak MB':>8} {'floor / bare':>13}"
    )
    for days in days_list:
        sim = Simulation(scenario(days), summary=True)
        gc.collect()
        t0 = time.perf_counter()
        sim.run()
        wall = time.perf_counter() - t0
        peak = peak_mb()
        events = sim.events + sim.batched_events  # what the event-per-write path schedules
        bare = bare_loop(events)
        floor = floor_loop(sim.batched_events)
        print(
            f"{days:>6g} {events:>12,} {wall:>10.2f} {bare:>8.2f} {wall / bare:>7.2f} {days * 86_400 / wall:>15,.0f}"
            f" {peak:>8,.0f} {floor / bare:>13.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`nassim.compare`: one scenario on two backends, side by side, and the KS test it uses."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nassim.backends import SimBackend
from nassim.compare import Comparison, compare, compare_traces, kolmogorov_sf, ks_2samp, ks_statistic
from nassim.errors import ArgumentError, BackendError
from nassim.scenario import (
    NfsToWindowsProbe,
    Scenario,
    SidecarRunningProbe,
    Size,
    TopologySpec,
    WindowsSpec,
    Writer,
)

# --- the Kolmogorov-Smirnov statistic ------------------------------------------------------------


def test_ks_identical_samples_give_zero():
    a = [3.0, 1.0, 2.0, 2.0, 5.5]
    assert ks_statistic(a, list(reversed(a))) == 0.0
    t = ks_2samp(a, a)
    assert (t.statistic, t.pvalue, t.n1, t.n2) == (0.0, 1.0, 5, 5)


def test_ks_disjoint_samples_give_one():
    assert ks_statistic([1.0, 2.0, 3.0], [10.0, 11.0]) == 1.0
    assert ks_statistic([10.0, 11.0], [1.0, 2.0, 3.0]) == 1.0


def test_ks_small_cases_by_hand():
    """[1,2,3] vs [2,3,4,5]: at x=3, F1 = 3/3 and F2 = 2/4, the largest gap: D = 1/2.
    [1,1,2] vs [1,2,2]: ties across the samples; at x=1, F1 = 2/3 and F2 = 1/3: D = 1/3
    (stepping one element at a time instead of past every copy of a value would say 2/3)."""
    assert ks_statistic([1, 2, 3], [2, 3, 4, 5]) == pytest.approx(0.5)
    assert ks_statistic([1, 1, 2], [1, 2, 2]) == pytest.approx(1 / 3)
    assert ks_statistic([0.5], [0.5, 1.5]) == pytest.approx(0.5)


def test_ks_of_an_empty_sample_is_nan():
    t = ks_2samp([], [1.0])
    assert math.isnan(t.statistic) and math.isnan(t.pvalue)
    assert t.to_json() == {"statistic": None, "pvalue": None, "n1": 0, "n2": 1}


def test_kolmogorov_distribution_matches_the_tables():
    """The classic critical values of sqrt(n)*D: 1.224 (10 %), 1.358 (5 %), 1.628 (1 %); Q(1) to 12 digits
    (scipy.stats.kstwobign.sf(1.0)); both series agree where they meet (1.18)."""
    assert kolmogorov_sf(1.224) == pytest.approx(0.10, abs=5e-4)
    assert kolmogorov_sf(1.358) == pytest.approx(0.05, abs=5e-4)
    assert kolmogorov_sf(1.628) == pytest.approx(0.01, abs=5e-4)
    assert kolmogorov_sf(1.0) == pytest.approx(0.2699996716773546, rel=1e-12)
    assert kolmogorov_sf(1.18 - 1e-12) == pytest.approx(kolmogorov_sf(1.18), rel=1e-9)
    assert kolmogorov_sf(0.0) == 1.0 and kolmogorov_sf(0.1) == 1.0 and kolmogorov_sf(10.0) < 1e-80


def test_ks_pvalue_is_the_asymptotic_one():
    """D = 1/2 with n = 8 and 10: p = Q(sqrt(80/18) / 2) (scipy.stats.kstwobign.sf: 0.21646...)."""
    a = [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]
    b = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    t = ks_2samp(a, b)
    assert t.statistic == pytest.approx(0.5)
    assert t.pvalue == pytest.approx(0.21646022494742534, rel=1e-9)


# --- the comparison ------------------------------------------------------------------------------

SMALL = Scenario(
    name="compare-small",
    seed=1,
    duration=120.0,
    topology=TopologySpec(servers=("nas-output-1", "nas-output-2"), interval=5.0),
    windows=WindowsSpec(host="linux"),
    workloads=(Writer(rate=0.3, size=Size(dist="uniform", min=100, max=5000), stop=100.0),),
    probes=(
        SidecarRunningProbe(server="nas-output-1", at=10.0),
        NfsToWindowsProbe(server="nas-output-2", at=20.0, within=60.0),
    ),
)


def test_two_sim_runs_with_different_seeds():
    """Two seeds of the simulator: labelled by seed, figures and differences from each run's latencies,
    D computed on exactly those samples, the same checks passing on both."""
    c = compare(SMALL, ("sim", "sim"), seeds=(1, 2))
    assert isinstance(c, Comparison)
    assert [s.label for s in c.sides] == ["sim seed 1", "sim seed 2"]
    assert [s.seed for s in c.sides] == [1, 2]
    for side in c.sides:
        assert side.latency.count == len(side.latencies) > 0
        assert side.writes >= side.latency.count
    assert c.first.latencies != c.second.latencies  # different seeds, different writes
    assert c.ks.statistic == ks_statistic(c.first.latencies, c.second.latencies)
    assert 0 < c.ks.statistic <= 1 and 0 <= c.ks.pvalue <= 1
    assert c.difference("p90") == pytest.approx(c.second.latency.p90 - c.first.latency.p90)
    assert c.difference("count") == c.second.latency.count - c.first.latency.count
    assert [r.name for r in c.checks] == ["Sidecar running: nas-output-1", "NFS to Windows within 60s: nas-output-2"]
    assert all(r.first == r.second == "PASS" for r in c.checks)
    assert [r.name for r in c.invariants] == ["latency-bound", "loop-freedom", "convergence", "no-loss"]
    assert c.agree

    data = json.loads(json.dumps(c.to_json()))
    assert data["backends"] == ["sim seed 1", "sim seed 2"]
    assert data["latency"]["count"] == {
        "sim seed 1": c.first.latency.count,
        "sim seed 2": c.second.latency.count,
        "difference": c.second.latency.count - c.first.latency.count,
    }
    assert data["ks"]["statistic"] == c.ks.statistic
    assert [r["agree"] for r in data["checks"]] == [True, True]
    assert [run["seed"] for run in data["runs"]] == [1, 2]

    text = c.render()
    assert "sim seed 1 vs sim seed 2" in text
    assert f"Kolmogorov-Smirnov: D = {c.ks.statistic:.3f}" in text
    assert "2/2 checks agree" in text
    assert text.endswith("agree on every check")


def test_the_same_run_twice_is_identical():
    """The simulator is deterministic: same seed, same latencies, D = 0, p = 1."""
    c = compare(SMALL, (SimBackend(), "sim"))
    assert [s.label for s in c.sides] == ["sim #1", "sim #2"]
    assert c.first.latencies == c.second.latencies
    assert (c.ks.statistic, c.ks.pvalue) == (0.0, 1.0)
    assert all(c.difference(q) == 0 for q in ("count", "p50", "p90", "p99", "max"))


def test_a_check_only_one_side_has_is_a_disagreement():
    """Checks are matched by name; one that a side lacks disagrees, and so does the comparison."""
    other = Scenario(
        name=SMALL.name,
        seed=SMALL.seed,
        duration=SMALL.duration,
        topology=SMALL.topology,
        windows=SMALL.windows,
        workloads=SMALL.workloads,
        probes=SMALL.probes[:1],
    )
    sim = SimBackend()
    c = compare_traces(SMALL, [sim.run(SMALL), sim.run(other)], ["full", "fewer"])
    assert [(r.first, r.second, r.agree) for r in c.checks] == [("PASS", "PASS", True), ("PASS", None, False)]
    assert not c.agree
    assert "DIFFERS" in c.render() and "DISAGREE: NFS to Windows within 60s: nas-output-2" in c.render()


def test_compare_refuses_bad_arguments_before_running():
    with pytest.raises(ArgumentError, match="exactly two backends"):
        compare(SMALL, ("sim",))
    with pytest.raises(ArgumentError, match="one seed per backend"):
        compare(SMALL, ("sim", "sim"), seeds=(1,))
    with pytest.raises(BackendError, match="backend 'simm' is not a backend"):
        compare(SMALL, ("sim", "simm"))


# --- sim against the real thing ------------------------------------------------------------------

# One output server, a write every 2 s until t=20, then 20 s of quiet: at speed 10 the local run
# takes 4 wall seconds. The writes are the same on both backends (shared random streams).
SHORT = Scenario(
    name="compare-short",
    seed=3,
    duration=40.0,
    topology=TopologySpec(servers=("nas-output-1",), interval=5.0),
    windows=WindowsSpec(host="linux"),
    workloads=(Writer(rate=0.5, process="fixed", size=Size(value=2000), start=1.0, stop=20.0),),
    probes=(
        SidecarRunningProbe(server="nas-output-1", at=10.0),
        NfsToWindowsProbe(server="nas-output-1", at=12.0, within=25.0),
    ),
)


@pytest.mark.slow
def test_sim_against_local_on_a_short_scenario():
    """Only what scheduling noise cannot change is asserted.

    Both backends close the same writes. The simulator syncs all of them (deterministic). On the
    local backend, a write is counted however late it reaches Windows, as long as it does so before
    the end: the last write has 20 scenario seconds (4 sidecar intervals, 2 wall seconds at speed
    10) and each earlier one 2 s more, so losing half of them needs the sidecar to make no
    progress for about 3 wall seconds: a stalled machine, not noise. Hence the tolerance of half
    the writes. Verdicts are compared by name only: whether a probe passes is a matter of timing.
    (tests/test_agreement.py holds the two to figures, on the phase-3 scenario.)
    """
    c = compare(SHORT, ("sim", "local"), speed=10)
    sim, local = c.sides
    assert (sim.label, local.label) == ("sim", "local")
    # The simulator's side models the local backend (a local folder, costs calibrated here x 10).
    assert c.note.startswith("sim models the local backend at speed 10: a local-disk Windows folder; ")
    assert c.note in c.render().splitlines()[2]
    assert c.to_json()["note"] == c.note
    assert sim.writes == local.writes >= 5
    assert c.same_writes
    assert sim.latency.count == sim.writes
    assert local.writes - local.writes // 2 <= local.latency.count <= local.writes
    assert all(x >= 0 for x in local.latencies)
    assert 0 <= c.ks.statistic <= 1
    assert [r.name for r in c.checks] == [
        "Sidecar running: nas-output-1", "NFS to Windows within 25s: nas-output-1"
    ]
    assert all(r.first is not None and r.second is not None for r in c.checks)
    assert [r.name for r in c.invariants] == ["latency-bound", "loop-freedom", "convergence", "no-loss"]
    assert all(r.first is not None and r.second is not None for r in c.invariants)


# --- the command line ----------------------------------------------------------------------------


def _nassim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nassim", *args], capture_output=True, text=True)


SMALL_YAML = (
    "name: small\nduration: 60\ntopology: {servers: [nas-output-1], interval: 5}\nwindows: {host: linux}\n"
    "workloads:\n  - {type: writer, rate: 0.2, stop: 40}\n"
    "probes:\n  - {type: sidecar-running, server: nas-output-1, at: 15}\n"
)


def test_cli_compare_two_sims_as_json(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL_YAML)
    p = _nassim("compare", str(scenario), "--backends", "sim,sim", "--json", "--seed", "4")
    assert p.returncode == 0, p.stdout + p.stderr
    data = json.loads(p.stdout)
    assert data["backends"] == ["sim #1", "sim #2"] and data["agree"] is True
    assert data["ks"]["statistic"] == 0.0
    assert [run["seed"] for run in data["runs"]] == [4, 4]


@pytest.mark.parametrize(
    ("backends", "message"),
    [
        ("sim,foo", "nassim: error: backend 'foo' is not a backend (valid: local, minikube, sim)"),
        ("sim", "nassim: error: --backends 'sim': expected two backend names, e.g. --backends sim,local"),
        ("sim,local,sim", "nassim: error: --backends 'sim,local,sim': expected two backend names"),
    ],
)
def test_cli_compare_bad_backends_are_one_line_and_exit_2(tmp_path, backends, message):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL_YAML)
    p = _nassim("compare", str(scenario), "--backends", backends)
    assert p.returncode == 2
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and p.stderr.startswith(message)


def test_cli_compare_bad_speed_is_one_line_and_exit_2(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL_YAML)
    p = _nassim("compare", str(scenario), "--speed", "0")
    assert p.returncode == 2
    assert p.stderr.strip() == "nassim: error: --speed 0: must be > 0 (scenario seconds per wall second)"


def test_cli_compare_help_documents_backends_and_exit_status():
    p = _nassim("compare", "--help")
    assert p.returncode == 0
    for text in ("--backends A,B", "--speed", "--json", "--seed", "Kolmogorov-Smirnov", "Exit status:", "0  both runs"):
        assert text in p.stdout

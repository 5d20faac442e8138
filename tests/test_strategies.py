"""The public hypothesis strategies: what they draw, what they pin, how they shrink, how they refuse."""

import attrs
import pytest
import yaml
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from nassim import strategies as ns
from nassim.checks import check_invariants
from nassim.cluster import simulate
from nassim.errors import ArgumentError, NassimError
from nassim.scenario import (
    MountLoss,
    Scenario,
    SidecarCrash,
    TopologySpec,
    WindowsSpec,
    Writer,
    dump_scenario,
    scenario_from_dict,
)
from nassim.topology import reference_topology
from nassim.trace import ContainerState
from nassim.tree import Dir, File, FileTree, Symlink

FAST = settings(max_examples=30, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REFERENCE_NAMES = reference_topology().names

# --- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ns.scenarios(max_duration=-1), "scenarios(): max_duration must be > 0 (got -1)"),
        (lambda: ns.scenarios(min_duration=0), "scenarios(): min_duration must be > 0 (got 0)"),
        (
            lambda: ns.scenarios(min_duration=100, max_duration=50),
            "scenarios(): min_duration must be <= max_duration (got 100 > 50)",
        ),
        (
            lambda: ns.scenarios(settle=True, max_duration=200),
            "scenarios(): settle=True needs max_duration >= 271 s (a quiet tail of 270 s for a 60 s interval, "
            "and a second of activity) (got 200)",
        ),
        (lambda: ns.scenarios(windows="mac"), "scenarios(): windows must be one of 'windows', 'linux' (got 'mac')"),
        (
            lambda: ns.scenarios(faults=[Writer()]),
            "scenarios(): faults[0] must be one of PodDelete, ContainerKill, SidecarCrash, MountLoss (got Writer)",
        ),
        (
            lambda: ns.scenarios(probes=True),
            "scenarios(): probes are not drawn: give a sequence of probes or a strategy (got True)",
        ),
        (lambda: ns.scenarios(seed=-3), "scenarios(): seed must be >= 0 (got -3)"),
        (lambda: ns.file_trees(max_files=-1), "file_trees(): max_files must be >= 0 (got -1)"),
        (
            lambda: ns.file_trees(names=["a/b"]),
            "file_trees(): names: 'a/b' is not a file name (no '/', not '.' or '..')",
        ),
        (lambda: ns.workloads(until=0), "workloads(): until must be > 0 (got 0)"),
        (
            lambda: ns.workloads(kinds=["writer", "reader-typo"]),
            "workloads(): kinds: unknown kind 'reader-typo' (valid: writer, deleter, renamer, windows-editor)",
        ),
        (
            lambda: ns.faults(kinds="pod-delete"),
            "faults(): kinds must be a collection of kinds, not one string (got 'pod-delete'); write kinds=['pod-delete']",
        ),
        (
            lambda: ns.topologies(servers=["nas-output-9"]),
            "topologies(): servers: no server 'nas-output-9' in the reference test bed (servers: nas-input-1, "
            "nas-input-2, nas-input-3, nas-output-1, nas-output-2, nas-output-3, nas-backup)",
        ),
        (
            lambda: ns.topologies(sidecar_args="-av /nfs-data/ /windows-mount/"),
            "topologies(): sidecar_args must be a sequence of strings, not one string (got '-av /nfs-data/ /windows-mount/')",
        ),
        (lambda: ns.topologies(interval=0), "topologies(): interval must be > 0 (got 0)"),
        (
            lambda: ns.windows_specs(host="mac"),
            "windows_specs(): host must be one of 'windows', 'linux' (got 'mac')",
        ),
    ],
)
def test_bad_arguments_fail_at_once_with_the_function_argument_and_value(call, message):
    """A wrong argument raises ArgumentError when the strategy is built, naming function, argument and value."""
    with pytest.raises(ArgumentError) as info:
        call()
    assert str(info.value) == message


def test_argument_error_is_a_nassim_error_and_a_value_error():
    """Users can catch a strategy's argument error as NassimError or as ValueError."""
    assert issubclass(ArgumentError, NassimError)
    assert issubclass(ArgumentError, ValueError)


def test_unknown_sidecar_option_names_the_option():
    """A sidecar argument the rsync model does not know is refused with the model's own reason."""
    with pytest.raises(ArgumentError, match=r"^topologies\(\): sidecar_args: .*--backup"):
        ns.topologies(sidecar_args=["-av", "--backup", "/nfs-data/", "/windows-mount/"])


# --- what they draw ------------------------------------------------------------------------------


@FAST
@given(tree=ns.file_trees(max_files=5, max_depth=1))
def test_file_trees_respect_their_bounds(tree):
    """A drawn tree has at most max_files files and links, at most max_depth directories deep."""
    leaves = [p for p, e in tree.items() if isinstance(e, File | Symlink)]
    assert len(leaves) <= 5
    assert all(p.count("/") <= 1 for p in leaves)
    assert all(isinstance(tree[p.rsplit("/", 1)[0]], Dir) for p in leaves if "/" in p)
    assert FileTree.from_json(tree.to_json()) == tree


@FAST
@given(scenario=ns.scenarios())
def test_drawn_scenarios_round_trip_through_yaml(scenario):
    """dump_scenario writes every drawn scenario as YAML that loads back to the same scenario."""
    assert scenario_from_dict(yaml.safe_load(dump_scenario(scenario))) == scenario


@FAST
@given(scenario=ns.scenarios(max_duration=300))
def test_drawn_scenarios_simulate_and_every_check_answers(scenario):
    """Any drawn scenario runs on the simulator and gets a verdict from each check."""
    verdicts = check_invariants(simulate(scenario))
    assert [v.name for v in verdicts] == ["latency-bound", "loop-freedom", "convergence", "no-loss"]


@FAST
@given(
    scenario=ns.scenarios(
        topology=TopologySpec(), windows="linux", faults=False, seed=7, name="pinned", max_duration=90
    )
)
def test_pinned_parts_are_kept(scenario):
    """Parts given as values are pinned; the rest is drawn within the bounds."""
    assert scenario.topology == TopologySpec()
    assert scenario.windows == WindowsSpec(host="linux")
    assert scenario.faults == ()
    assert (scenario.seed, scenario.name) == (7, "pinned")
    assert 10 <= scenario.duration <= 90


@FAST
@given(scenario=ns.scenarios(settle=True, max_duration=400))
def test_settled_scenarios_end_quiet(scenario):
    """With settle=True every workload stops and every fault ends settle_time(interval) before the end."""
    interval = max((s.sidecar.interval for s in scenario.load_topology() if s.sidecar), default=0.0)
    quiet_from = scenario.duration - ns.settle_time(interval)
    assert quiet_from >= 1
    for w in scenario.workloads:
        assert w.stop is not None and w.stop <= quiet_from
    for f in scenario.faults:
        end = f.at + (f.duration if isinstance(f, MountLoss) else 0)
        assert end <= quiet_from + 1


@FAST
@given(spec=ns.topologies(interval=12, export="persistent"))
def test_topologies_load_and_keep_pinned_overrides(spec):
    """A drawn topology loads; pinned overrides apply to every server; servers come from the reference test bed."""
    topo = Scenario(name="t", duration=1, topology=spec).load_topology()
    assert set(topo.names) <= set(REFERENCE_NAMES)
    assert all(s.export.value == "persistent" for s in topo)
    assert all(s.sidecar.interval == 12 for s in topo if s.sidecar)
    assert spec.sidecar_args is None or spec.sidecar_args in ns.SAFE_SIDECAR_ARGS


@FAST
@given(ws=ns.workloads(topology=TopologySpec(servers=("nas-input-1", "nas-output-2")), until=30))
def test_workloads_stay_on_the_topology_and_in_time(ws):
    """Workloads name only the topology's servers (writers only its output servers) and stop by `until`."""
    for w in ws:
        assert w.servers is None or set(w.servers) <= {"nas-input-1", "nas-output-2"}
        if isinstance(w, Writer) and w.servers is not None:
            assert w.servers == ("nas-output-2",)
        assert 0 <= w.start <= w.stop <= 30


# --- how they shrink ------------------------------------------------------------------------------


def test_scenarios_shrink_to_one_short_plain_workload():
    """The smallest scenario with a writer: the shortest duration, seed 0, no fault, one writer at the lowest rate."""
    smallest = find(
        ns.scenarios(),
        lambda s: any(isinstance(w, Writer) for w in s.workloads),
        settings=settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink]),
    )
    assert (smallest.duration, smallest.seed, smallest.faults) == (10, 0, ())
    # The seven servers as they are, or the smallest subset that syncs: both are minimal in their way.
    assert smallest.topology in (TopologySpec(), TopologySpec(servers=("nas-output-1",)))
    assert smallest.windows == WindowsSpec()
    assert smallest.workloads == (Writer(start=0, stop=0, rate=0.1),)


def test_file_trees_shrink_to_the_empty_tree():
    """The smallest tree is the empty one; the smallest with a file holds one empty file."""
    quick = settings(database=None, derandomize=True, phases=[Phase.generate, Phase.shrink])
    assert len(find(ns.file_trees(), lambda t: True, settings=quick)) == 1  # just "."
    one = find(ns.file_trees(), lambda t: any(isinstance(e, File) for _, e in t.items()), settings=quick)
    assert [(p, e.size) for p, e in one.items() if isinstance(e, File)] == [("a", 0)]


# --- a simulator bug they found -------------------------------------------------------------------


def test_two_sidecar_crashes_in_one_second_simulate():
    """Two sidecar crashes half a second apart: the second finds the container restarting and is a no-op."""
    s = Scenario(
        name="two-crashes",
        duration=120,
        topology=TopologySpec(servers=("nas-output-1",)),
        faults=(SidecarCrash(server="nas-output-1", at=50), SidecarCrash(server="nas-output-1", at=50.5)),
    )
    states = simulate(s).of(ContainerState)
    terminated = [r for r in states if r.container == "sync-to-windows" and r.state == "terminated"]
    assert len(terminated) == 1


def test_strategy_values_are_attrs_instances():
    """What the strategies draw are the scenario model's own frozen attrs classes (no dicts)."""
    s = find(ns.scenarios(), lambda s: True)
    assert attrs.has(type(s)) and attrs.has(type(s.topology)) and attrs.has(type(s.windows))
    assert isinstance(st.just(s), st.SearchStrategy)

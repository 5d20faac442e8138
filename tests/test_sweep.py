"""Parameter sweeps: nassim.sweep and `nassim sweep`."""

import importlib
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from nassim.checks import CHECKS
from nassim.errors import NassimError, SweepError
from nassim.findings import FINDINGS
from nassim.scenario import Size, dump_scenario, load_scenario, scenario_from_dict
from nassim.sweep import PARAMETERS, apply_param, apply_params, parse_param, sweep

ROOT = Path(__file__).resolve().parent.parent
VALID = "valid parameters: duration, file_size, host, interval, mount_speed, stat_ms, tree_size, write_rate"


def tiny(**extra):
    return scenario_from_dict(
        {
            "name": "tiny",
            "seed": 7,
            "duration": 120,
            "topology": {"servers": ["nas-output-1"], "interval": 10},
            "windows": {"host": "linux"},
            "workloads": [{"type": "writer", "rate": 0.2, "stop": 80}],
            **extra,
        }
    )


# --- apply_param: one name, one place ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("interval", 5, lambda s: s.topology.interval),
        ("tree_size", 300, lambda s: s.windows.files),
        ("write_rate", 2, lambda s: s.workloads[0].rate),
        ("file_size", 9000, lambda s: s.workloads[0].size),
        ("mount_speed", 12.5, lambda s: s.windows.mb_per_s),
        ("stat_ms", 4, lambda s: s.windows.stat_ms),
        ("host", "windows", lambda s: s.windows.host),
        ("duration", 60, lambda s: s.duration),
    ],
)
def test_each_parameter_lands_in_its_scenario_field(name, value, read):
    """Every short name sets the scenario field its table row names."""
    base = tiny()
    s = apply_param(base, name, value)
    expected = Size(dist="fixed", value=9000) if name == "file_size" else value
    assert read(s) == expected
    assert set(PARAMETERS) == {"interval", "tree_size", "write_rate", "file_size", "mount_speed", "stat_ms", "host", "duration"}


def test_apply_params_applies_in_order_and_leaves_the_base_alone():
    """apply_params evolves a copy: the scenario passed in is unchanged."""
    base = tiny()
    s = apply_params(base, {"interval": 60, "tree_size": 10})
    assert (s.topology.interval, s.windows.files) == (60, 10)
    assert (base.topology.interval, base.windows.files) == (10, 0)


def test_tree_size_grows_the_tree_every_sidecar_run_scans():
    """tree_size (windows.files) fills the export through the init container, so each sidecar run is slower."""
    df = sweep(tiny(), {"tree_size": [0, 3000]}, executor="serial", progress=False)
    small, big = df["rsync_seconds"]
    assert big > 10 * small
    assert df["latency_p50"].iloc[1] > df["latency_p50"].iloc[0]


# --- errors ------------------------------------------------------------------------------------


def test_unknown_parameter_names_the_likely_one_and_lists_all():
    """A typo is a SweepError (also a ValueError) with a suggestion and every valid name."""
    with pytest.raises(SweepError) as info:
        sweep(tiny(), {"intervall": [5]}, executor="serial", progress=False)
    assert str(info.value) == f"unknown sweep parameter 'intervall' (did you mean 'interval'?); {VALID}"
    assert isinstance(info.value, NassimError) and isinstance(info.value, ValueError)


def test_empty_grid_is_an_error():
    """A sweep over nothing says what to give."""
    with pytest.raises(SweepError) as info:
        sweep(tiny(), {}, executor="serial", progress=False)
    assert str(info.value) == (
        "the sweep grid is empty: give at least one parameter and its values, e.g. {'interval': [10, 30, 60]}; "
        + VALID
    )


def test_parameter_without_values_is_an_error():
    """An empty value list names the parameter."""
    with pytest.raises(SweepError, match=r"^sweep parameter 'interval' has no values: give at least one"):
        sweep(tiny(), {"interval": []}, executor="serial", progress=False)


@pytest.mark.parametrize("bad", ["fast", True, None, float("nan")])
def test_non_numeric_value_is_an_error(bad):
    """Strings, booleans, None and NaN are not numbers; the message names the parameter and its field."""
    with pytest.raises(SweepError) as info:
        sweep(tiny(), {"interval": [5, bad]}, executor="serial", progress=False)
    assert str(info.value) == f"sweep parameter 'interval' (topology.interval) must be a number (got {bad!r}); {VALID}"


def test_out_of_range_value_carries_the_field_validator_message():
    """The scenario's own validator judges the value; the sweep names the parameter."""
    with pytest.raises(SweepError) as info:
        sweep(tiny(), {"interval": [-5]}, executor="serial", progress=False)
    assert str(info.value) == "sweep parameter 'interval' (topology.interval) = -5: 'interval' must be > 0 (got -5.0)"


def test_integer_parameter_rejects_fractions_and_host_rejects_unknown_hosts():
    """tree_size counts files; host is one of two names."""
    with pytest.raises(SweepError, match=r"^sweep parameter 'tree_size' \(windows.files\) must be a whole number \(got 1.5\)$"):
        apply_param(tiny(), "tree_size", 1.5)
    with pytest.raises(SweepError) as info:
        apply_param(tiny(), "host", "mac")
    assert str(info.value) == f"sweep parameter 'host' (windows.host) must be one of 'windows', 'linux' (got 'mac'); {VALID}"


def test_writer_parameters_need_a_writer():
    """write_rate on a scenario without writers says what is missing."""
    with pytest.raises(SweepError) as info:
        apply_param(tiny(workloads=[]), "write_rate", 1)
    assert str(info.value) == (
        "sweep parameter 'write_rate' sets every writer workload's rate, and scenario 'tiny' has no writer: "
        "add a workload of type writer"
    )


@pytest.mark.parametrize("bad", [0, -1, [], ["a"], True, "3"])
def test_bad_seeds_are_an_error(bad):
    """Seeds are a count >= 1 or a non-empty list of integers."""
    with pytest.raises(SweepError, match=r"^seeds must be a count >= 1 or a"):
        sweep(tiny(), {"interval": [5]}, seeds=bad, executor="serial", progress=False)


def test_wrong_executor_is_an_error():
    """An executor the sweep cannot use lists the ones it can."""
    with pytest.raises(SweepError, match=r"^executor must be 'process', 'serial', 'dask', a distributed.Client"):
        sweep(tiny(), {"interval": [5]}, executor="threads", progress=False)


def test_parse_param_reads_the_command_line_form():
    """`interval=5,10.5` gives numbers; other words stay strings; a missing '=' is an error."""
    assert parse_param("interval=5, 10.5") == ("interval", [5, 10.5])
    assert parse_param("host=windows,linux") == ("host", ["windows", "linux"])
    with pytest.raises(SweepError) as info:
        parse_param("interval")
    assert str(info.value) == f"--param 'interval': expected NAME=VALUE,VALUE,... (e.g. --param interval=5,10,30,60); {VALID}"


# --- the DataFrame ------------------------------------------------------------------------------


def test_one_row_per_run_in_grid_then_seed_order():
    """Rows are the grid's product (last parameter fastest) times the seeds (fastest), from the scenario's seed."""
    df = sweep(tiny(), {"interval": [5, 30], "host": ["linux", "windows"]}, seeds=2, executor="serial", progress=False)
    assert list(zip(df["interval"], df["host"], df["seed"])) == [
        (i, h, s) for i in (5, 30) for h in ("linux", "windows") for s in (7, 8)
    ]
    head = ["scenario", "interval", "host", "seed", "latency_count", "latency_p50", "latency_p90", "latency_p99",
            "latency_max", "latency_mean", "unsynced", "rsync_runs", "rsync_failed", "files_moved", "bytes_moved",
            "rsync_seconds", "cpu_seconds", "cpu_percent", "probes_failed"]
    tail = [f"finding_{n.replace('-', '_')}" for n in FINDINGS] + [f"invariant_{n.replace('-', '_')}" for n in CHECKS]
    assert list(df.columns) == head + tail
    assert (df["latency_count"] > 0).all() and (df["files_moved"] > 0).all()
    assert set(df["invariant_no_loss"]) <= {"valid", "invalid", "unknown"}
    # A shorter interval means more runs and more CPU.
    by = df.groupby("interval")[["rsync_runs", "cpu_percent"]].mean()
    assert by.loc[5, "rsync_runs"] > by.loc[30, "rsync_runs"] and by.loc[5, "cpu_percent"] > by.loc[30, "cpu_percent"]


def test_findings_are_counted_per_name():
    """The lost-on-pod-deletion hazard counts its findings at interval 60 s, and none at 5 s (synced in time)."""
    s = load_scenario(ROOT / "sim/scenarios/hazards/lost-on-pod-deletion.yaml")
    df = sweep(s, {"interval": [60, 5]}, executor="serial", progress=False)
    assert list(df["finding_lost_on_pod_deletion"] > 0) == [True, False]


def test_seed_list_and_the_scenario_seed():
    """seeds=[...] runs those seeds; seeds=1 is the scenario's own run, row for row."""
    df = sweep(tiny(), {"interval": [10]}, seeds=[3, 1], executor="serial", progress=False)
    assert list(df["seed"]) == [3, 1]
    one = sweep(tiny(), {"interval": [10]}, executor="serial", progress=False)
    assert list(one["seed"]) == [7]


def test_same_frame_serial_process_pool_and_threads():
    """The executor changes nothing but the speed: same rows, same order, same values."""
    grid = {"interval": [5, 30], "tree_size": [0, 200]}
    serial = sweep(tiny(), grid, seeds=2, executor="serial", progress=False)
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = sweep(tiny(), grid, seeds=2, executor=pool, progress=False)
    with ThreadPoolExecutor(max_workers=3) as threads:
        threaded = sweep(tiny(), grid, seeds=2, executor=threads, progress=False)
    default = sweep(tiny(), grid, seeds=2, progress=False)
    for other in (pooled, threaded, default):
        pd.testing.assert_frame_equal(serial, other)


def test_progress_bar_goes_to_stderr(capsys):
    """progress=True draws a bar on stderr and leaves stdout alone."""
    sweep(tiny(), {"interval": [10]}, seeds=2, executor="serial", progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "sweep tiny" in err and "2/2" in err


def test_summary_mode_measures_latency_without_per_write_records():
    """summary=True (long runs) still gives latency quantiles; findings columns are left out."""
    df = sweep(tiny(), {"interval": [10]}, executor="serial", progress=False, summary=True)
    full = sweep(tiny(), {"interval": [10]}, executor="serial", progress=False)
    assert df["latency_count"].iloc[0] == full["latency_count"].iloc[0] > 0
    assert df["latency_max"].iloc[0] == pytest.approx(full["latency_max"].iloc[0])
    assert not any(c.startswith("finding_") for c in df.columns)


def test_a_failing_run_is_named(monkeypatch):
    """An exception inside a run carries a note naming its parameters and seed."""
    mod = importlib.import_module("nassim.sweep")  # `nassim.sweep` itself is the function

    def boom(*args, **kwargs):
        raise RuntimeError("simulator broke")

    monkeypatch.setattr(mod, "run_point", boom)
    with pytest.raises(RuntimeError) as info:
        sweep(tiny(), {"interval": [5]}, executor="serial", progress=False)
    assert info.value.__notes__ == ["in the sweep run interval=5, seed 7"]


# --- Dask -----------------------------------------------------------------------------------------


def test_dask_without_distributed_prints_the_fix(monkeypatch):
    """executor='dask' without the extra installed says exactly what to install."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ImportError) as info:
        sweep(tiny(), {"interval": [5]}, executor="dask", progress=False)
    assert str(info.value) == (
        "executor='dask' needs the 'distributed' package, which is not installed; "
        "install it with: pip install 'nassim[dask]'"
    )


def test_dask_local_cluster_gives_the_same_frame():
    """A distributed.Client on a LocalCluster runs the sweep to the same DataFrame."""
    distributed = pytest.importorskip("distributed")
    grid = {"interval": [5, 30]}
    serial = sweep(tiny(), grid, seeds=2, executor="serial", progress=False)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        pd.testing.assert_frame_equal(serial, sweep(tiny(), grid, seeds=2, executor=client, progress=False))


# --- the command ----------------------------------------------------------------------------------


def _nassim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nassim", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_sweep_writes_csv_and_plot(tmp_path):
    """`nassim sweep` prints one line per grid point, writes every run as CSV and the latency plot."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(dump_scenario(tiny()))
    out, plot = tmp_path / "results.csv", tmp_path / "latency.png"
    p = _nassim("sweep", str(scenario), "--param", "interval=5,30", "--seeds", "2", "--out", str(out),
                "--plot", str(plot), "--no-progress", "--workers", "2")
    assert p.returncode == 0, p.stderr
    assert "nassim sweep: tiny, 4 runs (2 points x 2 seeds)" in p.stdout
    df = pd.read_csv(out)
    assert list(df["interval"]) == [5, 5, 30, 30] and list(df["seed"]) == [7, 8, 7, 8]
    assert plot.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("intervl=5", f"nassim: error: unknown sweep parameter 'intervl' (did you mean 'interval'?); {VALID}\n"),
        ("interval", f"nassim: error: --param 'interval': expected NAME=VALUE,VALUE,... (e.g. --param interval=5,10,30,60); {VALID}\n"),
        ("interval=5,fast", f"nassim: error: sweep parameter 'interval' (topology.interval) must be a number (got 'fast'); {VALID}\n"),
    ],
)
def test_cli_bad_param_is_one_line_and_exit_2(tmp_path, param, message):
    """A wrong --param is one clear line on stderr, exit status 2, and no run starts."""
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(dump_scenario(tiny()))
    p = _nassim("sweep", str(scenario), "--param", param, "--no-progress")
    assert p.returncode == 2
    assert p.stderr == message
    assert p.stdout == ""


def test_cli_sweep_help_lists_every_parameter():
    """`nassim sweep --help` documents each parameter name, the options and an example."""
    p = _nassim("sweep", "--help")
    assert p.returncode == 0
    for word in [*PARAMETERS, "--param", "--seeds", "--out", "--plot", "--executor", "--workers", "Exit status"]:
        assert word in p.stdout
    assert "--param interval=5,10,30,60 --seeds 20 --out results.csv --plot latency.png" in p.stdout

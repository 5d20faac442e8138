"""Plot helpers: each renders to a PNG with labelled axes (no pixel comparisons)."""

import pytest

pytest.importorskip("matplotlib")

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nassim import plots
from nassim.cluster import simulate
from nassim.errors import ArgumentError
from nassim.metrics import write_fates
from nassim.scenario import scenario_from_dict
from nassim.sweep import sweep


def tiny(**extra):
    return scenario_from_dict(
        {
            "name": "tiny",
            "seed": 3,
            "duration": 200,
            "topology": {"servers": ["nas-output-1", "nas-output-2"], "interval": 10},
            "windows": {"host": "linux"},
            "workloads": [{"type": "writer", "rate": 0.3, "stop": 150}],
            **extra,
        }
    )


@pytest.fixture(scope="module")
def frame():
    return sweep(tiny(), {"interval": [5, 30], "tree_size": [0, 500]}, seeds=2, executor="serial", progress=False)


@pytest.fixture(scope="module")
def trace():
    return simulate(
        tiny(
            faults=[
                {"type": "pod-delete", "server": "nas-output-1", "at": 80},
                {"type": "sidecar-crash", "server": "nas-output-2", "at": 60},
            ]
        )
    )


def save(ax, tmp_path, name):
    assert isinstance(ax, Axes)
    fig = ax.figure
    assert isinstance(fig, Figure)
    out = tmp_path / f"{name}.png"
    fig.savefig(out)
    assert out.stat().st_size > 5_000
    return out


def test_latency_bands_against_interval(frame, tmp_path):
    """Quantile bands against the interval, with the 60 s line, and labelled axes in seconds."""
    ax = plots.plot_latency_vs_interval(frame)
    save(ax, tmp_path, "interval")
    assert ax.get_xlabel() == "sidecar interval (s)"
    assert ax.get_ylabel() == "latency, NFS close to on Windows (s)"
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["p50-p90", "p90-p99", "median (p50)", "worst (max)", "live check bound (60 s)"]


def test_latency_against_tree_size_split_by_interval(frame, tmp_path):
    """One set of bands per interval against the export's size, with the 60 s line."""
    ax = plots.plot_latency_vs_tree_size(frame, hue="interval")
    save(ax, tmp_path, "tree")
    assert ax.get_xlabel() == "files in the export (tree_size)"
    labels = ax.get_legend_handles_labels()[1]
    assert "interval=5: median (p50)" in labels and "interval=30: median (p50)" in labels
    assert "live check bound (60 s)" in labels


def test_cpu_against_interval(frame, tmp_path):
    """CPU percent of one core against the interval; a shorter interval costs more."""
    ax = plots.plot_cpu_vs_interval(frame)
    save(ax, tmp_path, "cpu")
    assert ax.get_xlabel() == "sidecar interval (s)"
    assert ax.get_ylabel() == "rsync CPU, all sidecars (% of one core)"
    ys = ax.get_lines()[0].get_ydata()
    assert ys[0] > ys[1]


def test_latency_cdf_of_traces_and_lists(trace, tmp_path):
    """A CDF per label from a trace or from plain latencies; it ends at 1."""
    lat = [f.latency for f in write_fates(trace) if f.latency is not None]
    ax = plots.plot_latency_cdf({"trace": trace, "list": lat})
    save(ax, tmp_path, "cdf")
    assert ax.get_xlabel() == "latency, NFS close to on Windows (s)"
    assert ax.get_ylabel() == "fraction of writes on Windows"
    first = ax.get_lines()[0]
    assert first.get_ydata()[-1] == 1.0
    assert ax.get_legend_handles_labels()[1][0] == f"trace ({len(lat)} writes)"


def test_timeline_shows_writes_runs_and_restarts(trace, tmp_path):
    """One row per server with sync runs, writes, restarts and faults in the legend."""
    ax = plots.plot_timeline(trace)
    save(ax, tmp_path, "timeline")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["nas-output-1", "nas-output-2"]
    assert ax.get_xlabel() == "time since the scenario started (s)"
    labels = set(ax.get_legend_handles_labels()[1])
    assert {"sync run", "write closed on NFS", "container stop / pod deletion", "fault injected"} <= labels


def test_helpers_draw_into_a_given_axes(frame):
    """With ax=..., a helper draws there and returns that Axes (subplots in one figure)."""
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plots.plot_latency_vs_interval(frame, ax=left) is left
    assert plots.plot_cpu_vs_interval(frame, ax=right) is right


def test_missing_column_says_what_to_sweep(frame):
    """A frame without the x column is an ArgumentError naming the column and the fix."""
    with pytest.raises(ArgumentError) as info:
        plots.plot_latency_vs_interval(frame.drop(columns="interval"))
    assert str(info.value) == (
        "a latency plot against 'interval' needs the column 'interval', which the DataFrame lacks: "
        "sweep over it, e.g. sweep(scenario, {'interval': [...]})"
    )


def test_loss_window_plot_has_one_line_per_host_and_tree_and_the_grace_line(tmp_path):
    """plot_loss_window draws the worst loss per interval for each host and tree size, plus interval - grace."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "interval": [10, 30, 60, 10, 30, 60],
            "host": ["linux"] * 3 + ["windows"] * 3,
            "tree_size": [0] * 6,
            "loss_window": [0.0, 4.0, 31.0, 0.0, 6.0, 35.0],
        }
    )
    ax = plots.plot_loss_window(frame, grace=30)
    assert ax.get_xlabel() == "sidecar interval (s)"
    assert ax.get_ylabel() == "worst loss window (s of writes lost)"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["host=linux, 0 files", "host=windows, 0 files", "interval - grace period"]
    assert list(ax.get_lines()[-1].get_ydata()) == [0.0, 0.0, 30.0]
    out = tmp_path / "loss.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 5_000

"""Plots for notebooks and reports: what an interval costs, in latency and CPU.

Needs matplotlib (``pip install 'nassim[plots]'``). Every helper draws into
``ax`` when given one, else into a new :class:`matplotlib.figure.Figure`
made without pyplot (no GUI backend, nothing left open: safe in CI and in
loops), and returns the Axes; ``ax.figure`` is the figure, so a notebook
cell ending in ``ax.figure`` shows it and ``ax.figure.savefig("x.png")``
writes it.

- :func:`plot_latency_bands`: the same bands against any swept parameter;
- :func:`plot_latency_vs_interval`: latency quantile bands of a sweep against the sidecar interval;
- :func:`plot_latency_vs_tree_size`: latency against the export's size, with the live 60 s check;
- :func:`plot_cpu_vs_interval`: what the sidecars' rsync costs in CPU against the interval;
- :func:`plot_latency_cdf`: the latency distribution of one or more runs;
- :func:`plot_timeline`: one run, server by server: writes, sync runs, restarts and faults.

The sweep helpers read the DataFrame of :func:`nassim.sweep.sweep`; with
several seeds per point, the bands are the mean over seeds of each run's
quantiles, and the worst case is the largest latency of any run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from nassim.errors import ArgumentError
from nassim.metrics import write_fates
from nassim.trace import ContainerState, FaultInjected, PodPhase, RsyncRun, ServerConfig, Trace, WriteClosed

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "plot_cpu_vs_interval",
    "plot_latency_bands",
    "plot_latency_cdf",
    "plot_latency_vs_interval",
    "plot_latency_vs_tree_size",
    "plot_loss_window",
    "plot_timeline",
]

LATENCY_LABEL = "latency, NFS close to on Windows (s)"


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "nassim.plots needs matplotlib, which is not installed; install it with: pip install 'nassim[plots]'"
        ) from exc
    fig = Figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def _need(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hint = (
            f"sweep over it, e.g. sweep(scenario, {{{missing[0]!r}: [...]}})"
            if missing[0] in ("interval", "tree_size")
            else "pass the DataFrame of nassim.sweep.sweep"
        )
        raise ArgumentError(f"{what} needs the column {missing[0]!r}, which the DataFrame lacks: {hint}")


def _hue(df: pd.DataFrame, hue: str | None) -> str | None:
    """The column that splits the lines (checked), or None."""
    if hue is not None:
        _need(df, [hue], "hue")
    return hue


def _bands(df: pd.DataFrame, x: str, xlabel: str, ax: Axes | None, bound: float | None, hue: str | None) -> Axes:
    _need(df, [x, "latency_p50", "latency_p90", "latency_p99", "latency_max"], f"a latency plot against {x!r}")
    ax = _axes(ax)
    groups = [(None, df)] if hue is None else list(df.groupby(hue, sort=True))
    for i, (key, part) in enumerate(groups):
        g = part.groupby(x, sort=True)
        q = g[["latency_p50", "latency_p90", "latency_p99"]].mean()
        worst = g["latency_max"].max()
        xs = q.index.to_numpy(dtype=float)
        color = f"C{i}"
        tag = "" if key is None else f"{hue}={key!s}: "
        ax.fill_between(xs, q["latency_p50"], q["latency_p90"], color=color, alpha=0.35, label=f"{tag}p50-p90")
        ax.fill_between(xs, q["latency_p90"], q["latency_p99"], color=color, alpha=0.15, label=f"{tag}p90-p99")
        ax.plot(xs, q["latency_p50"], color=color, marker="o", label=f"{tag}median (p50)")
        ax.plot(xs, worst.to_numpy(dtype=float), color=color, linestyle=":", marker="v", label=f"{tag}worst (max)")
    if bound is not None:
        ax.axhline(bound, color="red", linestyle="--", linewidth=1, label=f"live check bound ({bound:g} s)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(LATENCY_LABEL)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    _legend(ax, outside=hue is not None)
    return ax


def _legend(ax: Axes, *, outside: bool) -> None:
    if outside:  # one set of bands per hue value: too many entries to sit on the data
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        ax.legend(fontsize="small")


def plot_latency_bands(
    df: pd.DataFrame,
    x: str,
    *,
    ax: Axes | None = None,
    bound: float | None = 60.0,
    hue: str | None = None,
    xlabel: str | None = None,
) -> Axes:
    """Latency quantile bands against any swept column ``x`` (what the two helpers below draw)."""
    ax = _bands(df, x, xlabel or x, ax, bound, _hue(df, hue))
    ax.set_title(f"Latency against {x}")
    return ax


def plot_latency_vs_interval(
    df: pd.DataFrame, *, ax: Axes | None = None, bound: float | None = 60.0, hue: str | None = None
) -> Axes:
    """Latency quantile bands (p50-p90, p90-p99), the median and the worst case against the
    sidecar interval, from a sweep over ``interval``; ``bound`` draws the live check's limit
    (None: no line); ``hue`` names a column to split into one set of bands per value."""
    ax = _bands(df, "interval", "sidecar interval (s)", ax, bound, _hue(df, hue))
    ax.set_title("Latency against the sync interval")
    return ax


def plot_latency_vs_tree_size(
    df: pd.DataFrame, *, ax: Axes | None = None, bound: float | None = 60.0, hue: str | None = None
) -> Axes:
    """Latency against the number of files in the export (a sweep over ``tree_size``), with
    the live test's 60 s line: where a big folder makes the check fail."""
    ax = _bands(df, "tree_size", "files in the export (tree_size)", ax, bound, _hue(df, hue))
    ax.set_title("Latency against the export's size")
    return ax


def plot_cpu_vs_interval(df: pd.DataFrame, *, ax: Axes | None = None, hue: str | None = None) -> Axes:
    """The sidecars' rsync CPU cost (percent of one core, mean over seeds, with the range of
    the runs) against the interval."""
    _need(df, ["interval", "cpu_percent"], "plot_cpu_vs_interval")
    ax = _axes(ax)
    groups = [(None, df)] if _hue(df, hue) is None else list(df.groupby(hue, sort=True))
    for i, (key, part) in enumerate(groups):
        g = part.groupby("interval", sort=True)["cpu_percent"]
        mean, lo, hi = g.mean(), g.min(), g.max()
        xs = mean.index.to_numpy(dtype=float)
        label = "mean over seeds" if key is None else f"{hue}={key!s}"
        ax.fill_between(xs, lo.to_numpy(dtype=float), hi.to_numpy(dtype=float), color=f"C{i}", alpha=0.2)
        ax.plot(xs, mean.to_numpy(dtype=float), color=f"C{i}", marker="o", label=label)
    ax.set_xlabel("sidecar interval (s)")
    ax.set_ylabel("rsync CPU, all sidecars (% of one core)")
    ax.set_title("CPU cost of the sync against the interval")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_loss_window(df: pd.DataFrame, *, grace: float = 30.0, ax: Axes | None = None) -> Axes:
    """Seconds of writes lost when a pod is deleted (the worst over the runs at each interval),
    one line per host and tree size when those columns vary, against the interval; the grey
    line is where the loop's period outgrows the grace period (interval - grace)."""
    _need(df, ["interval", "loss_window"], "plot_loss_window")
    ax = _axes(ax)
    styles = ["-", "--", "-.", ":"]
    hosts = list(df.groupby("host", sort=True)) if "host" in df.columns else [(None, df)]
    for i, (host, by_host) in enumerate(hosts):
        trees = list(by_host.groupby("tree_size", sort=True)) if "tree_size" in by_host.columns else [(None, by_host)]
        for j, (tree, part) in enumerate(trees):
            worst = part.groupby("interval", sort=True)["loss_window"].max()
            parts = [f"host={host!s}" if host is not None else "", f"{tree!s} files" if tree is not None else ""]
            label = ", ".join(x for x in parts if x) or "worst run"
            ax.plot(worst.index.to_numpy(dtype=float), worst.to_numpy(dtype=float), color=f"C{i}",
                    linestyle=styles[j % len(styles)], marker="v", label=label)
    xs = sorted(float(x) for x in df["interval"].unique())
    ax.plot(xs, [max(0.0, x - grace) for x in xs], color="grey", linestyle=":", label="interval - grace period")
    ax.set_xlabel("sidecar interval (s)")
    ax.set_ylabel("worst loss window (s of writes lost)")
    ax.set_title(f"Writes lost when a pod is deleted (grace period {grace:g} s)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def _latencies(data: Trace | Sequence[float]) -> list[float]:
    if isinstance(data, Trace):
        return [f.latency for f in write_fates(data) if f.latency is not None]
    return [float(x) for x in data]


def plot_latency_cdf(
    data: Trace | Sequence[float] | Mapping[str, Trace | Sequence[float]],
    *,
    ax: Axes | None = None,
    bound: float | None = 60.0,
) -> Axes:
    """The latency CDF of a trace (or of latencies in seconds); a mapping draws one curve per
    label, e.g. ``{"interval 10 s": trace_a, "interval 30 s": trace_b}``."""
    series = dict(data) if isinstance(data, Mapping) else {"": data}
    ax = _axes(ax)
    for i, (label, values) in enumerate(series.items()):
        lat = sorted(_latencies(values))
        if not lat:
            continue
        frac = [(k + 1) / len(lat) for k in range(len(lat))]
        name = f"{label} ({len(lat)} writes)" if label else f"{len(lat)} writes"
        ax.step(lat, frac, where="post", color=f"C{i}", label=name)
    if bound is not None:
        ax.axvline(bound, color="red", linestyle="--", linewidth=1, label=f"live check bound ({bound:g} s)")
    ax.set_xlabel(LATENCY_LABEL)
    ax.set_ylabel("fraction of writes on Windows")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_title("Latency distribution")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def plot_timeline(trace: Trace, *, ax: Axes | None = None, servers: Sequence[str] | None = None) -> Axes:
    """One run, one row per server: writes closed on the export (ticks), sidecar rsync runs
    (bars, red when they failed), container restarts and pod deletions (x), faults (!)."""
    recs = trace.records
    names = list(servers) if servers is not None else sorted({r.server for r in recs if isinstance(r, RsyncRun)})
    if not names:
        names = sorted({r.server for r in recs if hasattr(r, "server")})
    row = {n: i for i, n in enumerate(names)}
    ax = _axes(ax, (9.0, 1.5 + 0.7 * max(1, len(names))))
    duration = max([r.t for r in recs] + [1.0])
    seen: set[str] = set()

    def label(kind: str) -> str:
        if kind in seen:
            return "_nolegend_"
        seen.add(kind)
        return kind

    inits = {r.server: r.init for r in recs if isinstance(r, ServerConfig)}
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in recs:
        if isinstance(r, RsyncRun) and r.server in row:
            kind = "sync run" if r.container != inits.get(r.server) else "init container copy"
            if r.exit_code != 0:
                kind += " failed"
            # A run shorter than a pixel still shows as a sliver.
            runs.setdefault((r.server, kind), []).append((r.t, max(r.duration, duration / 2000)))
    colors = {"sync run": "C0", "init container copy": "C1"}
    for (server, kind), spans in sorted(runs.items()):
        ax.broken_barh(
            spans, (row[server] - 0.3, 0.25), facecolors=colors.get(kind, "red"), label=label(kind)
        )
    writes: dict[str, list[float]] = {}
    for r in recs:
        if isinstance(r, WriteClosed) and r.side == "nfs" and r.server in row:
            writes.setdefault(r.server, []).append(r.t)
    for server, ts in writes.items():
        ax.plot(ts, [row[server] + 0.2] * len(ts), linestyle="none", marker="|", color="C2", markersize=8,
                label=label("write closed on NFS"))
    restarts: dict[str, list[float]] = {}
    for r in recs:
        restarted = isinstance(r, ContainerState) and r.state == "terminated" and r.server in row
        deleted = isinstance(r, PodPhase) and r.phase == "Terminating" and r.server in row
        if restarted or deleted:
            restarts.setdefault(r.server, []).append(r.t)
    for server, ts in restarts.items():
        ax.plot(ts, [row[server]] * len(ts), linestyle="none", marker="x", color="black", markersize=8,
                label=label("container stop / pod deletion"))
    for r in recs:
        if isinstance(r, FaultInjected) and r.server in row:
            ax.plot([r.t], [row[r.server] + 0.35], linestyle="none", marker="$!$", color="red", markersize=10,
                    label=label("fault injected"))
    ax.set_xlim(0, duration)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("time since the scenario started (s)")
    ax.set_ylabel("server")
    ax.set_title(f"Timeline of one run (seed {trace.seed})")
    ax.grid(True, axis="x", alpha=0.3)
    if seen:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


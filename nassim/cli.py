"""The ``nassim`` command.

Exit status: 0 success, 1 a check failed, 2 bad input (one clear line, no traceback).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from nassim.errors import NassimError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nassim")
def cli() -> None:
    """Simulate the multi-NAS test bed: NFS pods syncing with Windows folders by rsync."""


@cli.command()
def demo() -> None:
    """Run the rsync model on a built-in example and print the itemized changes."""
    from nassim.demo import run_demo

    run_demo(click.echo)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option(
    "--backend",
    type=click.Choice(["sim", "local", "minikube"]),
    default="sim",
    show_default=True,
    help="Where to run the scenario: sim, the built-in simulator (virtual time); local, real folders "
    "with the real rsync and sh loops on this machine (60 scenario seconds per wall second); minikube, "
    "a live Minikube test bed through kubectl (probes, writers and pod deletes; see --kubectl and below).",
)
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Scenario seconds per wall second: local [default: 60]; minikube [default: 1, a real cluster; "
    "only a stand-in cluster that runs faster sets more].",
)
@click.option("--kubectl", default=None, metavar="PATH", help="minikube: the kubectl to run [default: kubectl].")
@click.option("--context", default=None, help="minikube: the kube context [default: the current one].")
@click.option("--namespace", default=None, help="minikube: the test bed's namespace [default: default].")
@click.option(
    "--windows-root",
    type=click.Path(path_type=str),
    default=None,
    help="minikube: the host folder with one Windows folder per server (C:\\simulator-data); "
    "without it the Windows side is read through each sidecar's /windows-mount.",
)
@click.option(
    "--allow-non-minikube",
    is_flag=True,
    help="minikube: drive a kube context that is not Minikube's (refused otherwise).",
)
def run(
    scenario: str, as_json: bool, seed: int | None, backend: str, speed: float | None, kubectl: str | None,
    context: str | None, namespace: str | None, windows_root: str | None, allow_non_minikube: bool,
) -> None:
    """Run SCENARIO (a YAML file) and print the report.

    Exit status: 0 when every check passes, 1 when one fails, 2 for bad input,
    130 when interrupted (after the backend has cleaned up).
    """
    import json

    import attrs

    from nassim.backends import LocalBackend, get_backend
    from nassim.backends.minikube import MinikubeBackend
    from nassim.errors import ArgumentError
    from nassim.report import build_report
    from nassim.scenario import load_scenario

    live = {"kubectl": kubectl, "context": context, "namespace": namespace, "windows_root": windows_root}
    options: dict[str, object] = {k: v for k, v in live.items() if v is not None}
    if allow_non_minikube:
        options["allow_non_minikube"] = True
    if options and backend != "minikube":
        flags = ", ".join("--" + k.replace("_", "-") for k in options)
        raise ArgumentError(f"{flags}: only for --backend minikube (got --backend {backend})")
    if speed is not None:
        if backend == "sim":
            raise ArgumentError("--speed: the sim backend runs in virtual time; use it with --backend local")
        if not speed > 0:
            raise ArgumentError(f"--speed {speed:g}: must be > 0 (scenario seconds per wall second)")
        options["speed"] = speed
    s = load_scenario(scenario)
    if seed is not None:
        s = attrs.evolve(s, seed=seed)
    runner = get_backend(backend, **options)
    if isinstance(runner, LocalBackend) and not as_json:
        click.echo(
            f"nassim: local backend: real rsync and sh in local folders, about {s.duration / runner.speed:.0f} s "
            "of wall time; "
            "Windows folders are local directories (case-sensitive, nanosecond mtimes)",
            err=True,
        )
    if isinstance(runner, MinikubeBackend) and not as_json:
        click.echo(
            f"nassim: minikube backend: about {s.duration / runner.speed:.0f} s of wall time on the live cluster; "
            "files go under a unique nassim-<hex> folder, removed at the end (Ctrl-C too)",
            err=True,
        )
    trace = runner.run(s)
    report = build_report(trace, scenario=s.name, duration=s.duration, expect_findings=s.expect_findings)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        emit(report.render())
    if not report.passed:
        raise SystemExit(1)


_COMPARE_HELP = """Run SCENARIO (a YAML file) on two backends and show the results side by side.

\b
Backends (--backends A,B; the same one twice runs it twice):
  sim     the built-in simulator, in virtual time
  local   real folders, the real rsync and sh loops on this machine, in wall
          time scaled by --speed (a 600 s scenario takes 10 s at speed 60)

When one side is sim and the other local, the simulator models what the
local backend really is: a local-disk Windows folder, rsync's costs
calibrated against the real binary on this machine times --speed, and the
sidecar loop's own overhead measured on a short local run (a few wall
seconds more; the report's third line says so). Otherwise the sim side runs
the scenario as written.

\b
Shown for each backend, and the difference (second minus first):
  latency, NFS close -> on Windows: count, p50, p90, p99, max, and the writes
    not on Windows at the end;
  a two-sample Kolmogorov-Smirnov test between the two latency samples: D, the
    largest gap between their distribution functions (0 same, 1 disjoint), and
    its asymptotic p-value (indicative: the latencies are not independent);
  the verdicts: the scenario's checks (PASS/FAIL), the invariants
    (valid/invalid/unknown) and the findings (how many of each).

\b
Example:
  nassim compare sim/scenarios/phase3-validation.yaml --backends sim,local

\b
Exit status:
  0  both runs completed and every check has the same verdict on both
     (even if both fail it: the backends agree);
  1  a check passes on one backend and fails (or is missing) on the other,
     or one run passes overall and the other does not;
  2  bad input: an unknown backend, a scenario a backend cannot run, a
     malformed scenario (one line, no traceback).

Invariants and findings that differ are marked but do not change the exit
status: near the end of a run they hinge on the last seconds, which on a
wall-clock backend is scheduling noise, and the local backend runs the
windows host preset on a plain local folder.
"""


@cli.command(help=_COMPARE_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--backends",
    default="sim,local",
    show_default=True,
    metavar="A,B",
    help="The two backends to run, comma-separated (sim, local).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON object.")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed (on both backends).")
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Scenario seconds per wall second for the local backend [default: 60]; ignored by sim.",
)
def compare(scenario: str, backends: str, as_json: bool, seed: int | None, speed: float | None) -> None:
    import json

    import attrs

    from nassim.backends import Backend, LocalBackend, get_backend
    from nassim.compare import compare as run_compare
    from nassim.errors import ArgumentError
    from nassim.scenario import load_scenario

    names = [n.strip() for n in backends.split(",")]
    if len(names) != 2 or not all(names):
        raise ArgumentError(f"--backends {backends!r}: expected two backend names, e.g. --backends sim,local")
    if speed is not None and not speed > 0:
        raise ArgumentError(f"--speed {speed:g}: must be > 0 (scenario seconds per wall second)")
    built: list[Backend] = [
        get_backend(n, **({"speed": speed} if speed is not None and n == "local" else {})) for n in names
    ]
    s = load_scenario(scenario)
    if seed is not None:
        s = attrs.evolve(s, seed=seed)
    wall = sum(s.duration / b.speed for b in built if isinstance(b, LocalBackend))
    if wall and not as_json:
        click.echo(f"nassim: running {' and '.join(names)}; about {wall:.0f} s of wall time", err=True)
    result = run_compare(s, built)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        emit(result.render())
    if not result.agree:
        raise SystemExit(1)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--kind",
    type=click.Choice(["auto", "values", "manifests"]),
    default="auto",
    show_default=True,
    help="What CONFIG is: Helm values or rendered manifests (auto: manifests if it has a 'kind:').",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON object.")
def check(config: str, kind: str, as_json: bool) -> None:
    """Static checks of a Helm values file or rendered manifests, no simulation.

    Sidecar on output servers only, --delete only on input init containers,
    the sidecar's export mount read-only, and the pods' effective requests
    against a default Minikube VM. Exit status 1 when anything is found.
    """
    import json

    import attrs

    from nassim.topology import load_manifests, load_values, static_checks

    if kind == "auto":
        try:
            with open(config, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise click.UsageError(f"{config}: cannot read: {exc.strerror}") from None
        kind = "manifests" if any(line.startswith("kind:") for line in text.splitlines()) else "values"
    topology = load_manifests(config) if kind == "manifests" else load_values(config)
    findings = static_checks(topology)
    if as_json:
        click.echo(json.dumps({"config": config, "servers": len(topology),
                               "findings": [attrs.asdict(f) for f in findings]}, indent=2))
    else:
        lines = [f"nassim check: {config} ({kind}, {len(topology)} servers)"]
        lines += [f"  [FOUND] {f.name}{f' ({f.server})' if f.server else ''}: {f.explanation}" for f in findings]
        if not findings:
            lines.append("  no findings: sidecars, --delete flags, read-only mounts and requests look right")
        emit("\n".join(lines))
    if findings:
        raise SystemExit(1)


_SWEEP_HELP = """Run SCENARIO (a YAML file) over a grid of parameters and seeds; one row per run.

\b
Each --param NAME=V1,V2,... adds an axis; the runs are every combination
times every seed. Parameters:
  interval      seconds between sidecar runs (topology.interval)
  tree_size     files in each folder and export at the start (windows.files)
  write_rate    writes per second into each output export (every writer)
  file_size     bytes per written file, fixed (every writer)
  mount_speed   MB/s through the Windows mount (windows.mb_per_s)
  stat_ms       ms per metadata round trip on the mount (windows.stat_ms)
  host          windows or linux (windows.host)
  duration      simulated seconds per run

\b
Example:
  nassim sweep sim/scenarios/phase3-validation.yaml \\
      --param interval=5,10,30,60 --seeds 20 --out results.csv --plot latency.png

Prints the mean latency quantiles, worst case and CPU per grid point;
--out writes every run (latency p50/p90/p99/max/mean, rsync runs, files and
bytes moved, CPU, findings per name, invariant verdicts) as CSV.

Exit status: 0 when the sweep ran, 2 for bad input (one line, no traceback).
"""


@cli.command(help=_SWEEP_HELP)
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--param",
    "params",
    multiple=True,
    required=True,
    metavar="NAME=V1,V2,...",
    help="A parameter and its values; repeat for more axes.",
)
@click.option(
    "--seeds",
    default="1",
    show_default=True,
    metavar="N|S1,S2,...",
    help="How many seeds per grid point (the scenario's seed and the next ones), or a list of seeds.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), help="Write every run as CSV to this file.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=str),
    help="Save latency bands against the first swept parameter (PNG, SVG or PDF); needs nassim[plots].",
)
@click.option(
    "--executor",
    type=click.Choice(["process", "serial", "dask"]),
    default="process",
    show_default=True,
    help="process: a process pool; serial: this process; dask: a local Dask cluster (needs nassim[dask]).",
)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Process pool size [default: CPU count].")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
def sweep(
    scenario: str,
    params: tuple[str, ...],
    seeds: str,
    out: str | None,
    plot: str | None,
    executor: str,
    workers: int | None,
    progress: bool,
) -> None:
    import os
    from concurrent.futures import Executor, ProcessPoolExecutor

    from nassim.errors import SweepError
    from nassim.scenario import load_scenario
    from nassim.sweep import parse_param
    from nassim.sweep import sweep as run_sweep

    grid: dict[str, list[int | float | str]] = {}
    for text in params:
        name, values = parse_param(text)
        if name in grid:
            raise SweepError(f"--param {name!r} is given twice: list all its values in one, e.g. {name}=5,10,30")
        grid[name] = values
    try:
        seed_arg: int | list[int] = (
            [int(x) for x in seeds.split(",") if x.strip()] if "," in seeds else int(seeds)
        )
    except ValueError:
        raise SweepError(
            f"--seeds {seeds!r}: expected a count (--seeds 20) or a list of seeds (--seeds 1,2,3)"
        ) from None
    for path, what in ((out, "--out"), (plot, "--plot")):
        parent = os.path.dirname(os.path.abspath(path)) if path else None
        if parent is not None and not os.path.isdir(parent):
            raise click.ClickException(f"{what} {path}: the folder {parent} does not exist")
    if plot is not None:  # fail now, not after the sweep
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise click.ClickException(
                "--plot needs matplotlib; install it with: pip install 'nassim[plots]'"
            ) from None
    base = load_scenario(scenario)
    pool: Executor | str = executor
    if executor == "process" and workers is not None:
        pool = ProcessPoolExecutor(max_workers=workers)
    try:
        df = run_sweep(base, grid, seeds=seed_arg, executor=pool, progress=progress)
    except ImportError as exc:  # executor="dask" without distributed: the message holds the fix
        raise click.ClickException(str(exc)) from None
    finally:
        if isinstance(pool, Executor):
            pool.shutdown()
    if out is not None:
        df.to_csv(out, index=False)
    names = list(grid)
    table = df.groupby(names, sort=False).agg(
        runs=("seed", "size"),
        p50=("latency_p50", "mean"),
        p99=("latency_p99", "mean"),
        max=("latency_max", "max"),
        cpu_percent=("cpu_percent", "mean"),
    )
    click.echo(f"nassim sweep: {base.name}, {len(df)} runs ({len(table)} points x {len(df) // len(table)} seeds)")
    click.echo("latency in seconds (p50, p99: mean over seeds; max: worst run); rsync CPU in % of one core")
    if sys.stdout.isatty():
        Console().print(frame_table(table))
    else:
        click.echo(table.round(2).to_string())
    if out is not None:
        click.echo(f"wrote {len(df)} rows to {out}")
    if plot is not None:
        from nassim.plots import plot_latency_bands

        numeric = [n for n in names if n != "host"]
        x = "interval" if "interval" in numeric else ("tree_size" if "tree_size" in numeric else None)
        x = x or (numeric[0] if numeric else None)
        if x is None:
            raise click.ClickException("--plot needs a numeric parameter to put on the x axis (not only host)")
        hue = next((n for n in names if n != x and df[n].nunique() > 1), None)
        ax = plot_latency_bands(df, x, hue=hue, xlabel=_AXIS.get(x, x))
        from matplotlib.figure import Figure

        fig = ax.figure
        assert isinstance(fig, Figure)
        fig.savefig(plot, dpi=120)
        click.echo(f"wrote {plot}")


_AXIS = {
    "interval": "sidecar interval (s)",
    "tree_size": "files in the export (tree_size)",
    "write_rate": "writes per second per export",
    "file_size": "file size (bytes)",
    "mount_speed": "Windows mount speed (MB/s)",
    "stat_ms": "ms per metadata round trip",
    "duration": "simulated duration (s)",
}


# --- output: rich in a terminal, plain text when piped ---------------------------------

_VERDICT_STYLES = {
    r"\[(PASS|VALID)\]": "bold green",
    r"\[(FAIL|INVALID)\]": "bold red",
    r"\[(UNKNOWN|FOUND)\]": "bold yellow",
}


def styled(text: str) -> Text:
    """``text`` with its verdict tokens coloured, for a terminal."""
    out = Text(text)
    for pattern, style in _VERDICT_STYLES.items():
        out.highlight_regex(pattern, style)
    return out


def emit(text: str) -> None:
    """Print a report: coloured in a terminal, the same plain text when piped."""
    if sys.stdout.isatty():
        Console(highlight=False).print(styled(text), soft_wrap=True)
    else:
        click.echo(text)


def frame_table(frame: pd.DataFrame, title: str = "") -> Table:
    """A rich table of a (grouped) DataFrame, index columns first."""
    flat = frame.reset_index()
    table = Table(title=title or None)
    for col in flat.columns:
        table.add_column(str(col), justify="right" if flat[col].dtype.kind in "fiu" else "left")
    for row in flat.itertuples(index=False):
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    return table


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one line on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="nassim", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # Ctrl-C (or SIGTERM on the minikube backend): the backends have cleaned up by now.
        click.echo("nassim: interrupted", err=True)
        sys.exit(130)
    except NassimError as exc:
        click.echo(f"nassim: error: {exc}", err=True)
        sys.exit(2)

"""Parameter sweeps: run a scenario over a grid of parameter values and seeds, get one tidy DataFrame.

::

    import nassim.sweep
    from nassim.scenario import load_scenario

    base = load_scenario("sim/scenarios/phase3-validation.yaml")
    df = nassim.sweep.sweep(base, {"interval": [5, 10, 30, 60]}, seeds=20)
    df.groupby("interval")[["latency_p99", "cpu_percent"]].mean()

The grid names parameters by the short names of :data:`PARAMETERS`, each a
place in the :class:`~nassim.scenario.Scenario` (applied with
``attrs.evolve`` by :func:`apply_param`, so the scenario's own validators judge
each value):

================  ==========================  =====================================================
name              place in the scenario       meaning
================  ==========================  =====================================================
``interval``      ``topology.interval``       seconds the sidecar sleeps between rsync runs
``tree_size``     ``windows.files``           files already in each Windows folder at the start;
                                              the init container copies them into the export, and
                                              every sidecar run scans the whole export, so this is
                                              what makes each run slow
``write_rate``    every writer's ``rate``     writes per second into each output export
``file_size``     every writer's ``size``     bytes per written file (the size becomes fixed)
``mount_speed``   ``windows.mb_per_s``        MB/s through the Windows mount (9p)
``stat_ms``       ``windows.stat_ms``         ms per metadata round trip on the Windows mount
``host``          ``windows.host``            ``"windows"`` (9p on a Windows host) or ``"linux"``
``duration``      ``duration``                simulated seconds per run
================  ==========================  =====================================================

The runs are the grid's cartesian product (in the grid's order, the last
parameter varying fastest) times the seeds (fastest of all). Each run is one
row, in that order, whatever executor ran it:

- ``scenario``, then each swept parameter (its value as given), then ``seed``;
- ``latency_count``, ``latency_p50``, ``latency_p90``, ``latency_p99``,
  ``latency_max``, ``latency_mean`` (seconds from a write's close on NFS until
  Windows holds its content; NaN when no write was synced) and ``unsynced``
  (closed writes not on Windows at the end);
- ``rsync_runs``, ``rsync_failed``, ``files_moved``, ``bytes_moved``,
  ``rsync_seconds`` (wall seconds the sidecars spent in rsync),
  ``cpu_seconds`` (the same work on a local disk: what the CPU pays) and
  ``cpu_percent`` (``cpu_seconds`` as a share of one core over the run);
- ``probes_failed``: the scenario's live-check probes that failed;
- ``finding_<name>``: how many of each named finding
  (:data:`nassim.findings.FINDINGS`, ``-`` spelled ``_``), zero included;
- ``invariant_<name>``: each invariant's status (``valid``, ``invalid``,
  ``unknown``; :data:`nassim.checks.CHECKS`, ``-`` spelled ``_``).

Runs go to a :class:`concurrent.futures.ProcessPoolExecutor` (one worker per
CPU) unless ``executor`` says otherwise: ``"serial"`` (in this process),
``"dask"`` (a local Dask cluster; needs ``pip install 'nassim[dask]'``), a
``distributed.Client``, or any :class:`concurrent.futures.Executor`.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import math
import numbers
import os
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Literal

import attrs

from nassim.errors import SweepError
from nassim.scenario import Scenario, Size, Writer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PARAMETERS", "Parameter", "apply_param", "apply_params", "parse_param", "run_point", "sweep"]


@attrs.frozen
class Parameter:
    """A sweepable parameter: its short ``name``, its ``place`` in the scenario, its unit and kind."""

    name: str
    place: str
    meaning: str
    kind: Literal["number", "integer", "choice"] = "number"
    choices: tuple[str, ...] = ()


#: Every sweep parameter by its short name (the table in the module docstring).
PARAMETERS: Mapping[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("duration", "duration", "simulated seconds per run"),
        Parameter("file_size", "workloads[writer].size", "bytes per written file (fixed size)", "integer"),
        Parameter("host", "windows.host", "the Windows folder's host", "choice", ("windows", "linux")),
        Parameter("interval", "topology.interval", "seconds between sidecar runs"),
        Parameter("mount_speed", "windows.mb_per_s", "MB/s through the Windows mount"),
        Parameter("stat_ms", "windows.stat_ms", "ms per metadata round trip on the Windows mount"),
        Parameter("tree_size", "windows.files", "files in each folder (and export) at the start", "integer"),
        Parameter("write_rate", "workloads[writer].rate", "writes per second per output export"),
    )
}


def _valid_names() -> str:
    return "valid parameters: " + ", ".join(PARAMETERS)


def _parameter(name: object) -> Parameter:
    p = PARAMETERS.get(name) if isinstance(name, str) else None
    if p is None:
        close = difflib.get_close_matches(name, list(PARAMETERS), n=1) if isinstance(name, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SweepError(f"unknown sweep parameter {name!r}{hint}; {_valid_names()}")
    return p


def _number(p: Parameter, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SweepError(f"sweep parameter {p.name!r} ({p.place}) must be a number (got {value!r}); {_valid_names()}")
    return float(value)


def _integer(p: Parameter, value: object) -> int:
    x = _number(p, value)
    if not x.is_integer():
        raise SweepError(f"sweep parameter {p.name!r} ({p.place}) must be a whole number (got {value!r})")
    return int(x)


def _choice(p: Parameter, value: object) -> str:
    if not isinstance(value, str) or value not in p.choices:
        raise SweepError(
            f"sweep parameter {p.name!r} ({p.place}) must be one of "
            f"{', '.join(repr(c) for c in p.choices)} (got {value!r}); {_valid_names()}"
        )
    return value


def _writers(s: Scenario, p: Parameter, change: Callable[[Writer], Writer]) -> Scenario:
    if not any(isinstance(w, Writer) for w in s.workloads):
        raise SweepError(
            f"sweep parameter {p.name!r} sets every writer workload's {p.place.rsplit('.', 1)[1]}, and scenario "
            f"{s.name!r} has no writer: add a workload of type writer"
        )
    return attrs.evolve(s, workloads=tuple(change(w) if isinstance(w, Writer) else w for w in s.workloads))


def apply_param(scenario: Scenario, name: str, value: object) -> Scenario:
    """``scenario`` with parameter ``name`` (a key of :data:`PARAMETERS`) set to ``value``.

    The one place that maps a short name to its field; the field's own
    validator judges the value, and any error is a :class:`SweepError`
    naming the parameter.
    """
    p = _parameter(name)
    s = scenario
    try:
        if name == "duration":
            return attrs.evolve(s, duration=_number(p, value))
        if name == "interval":
            return attrs.evolve(s, topology=attrs.evolve(s.topology, interval=_number(p, value)))
        if name == "tree_size":
            return attrs.evolve(s, windows=attrs.evolve(s.windows, files=_integer(p, value)))
        if name == "mount_speed":
            return attrs.evolve(s, windows=attrs.evolve(s.windows, mb_per_s=_number(p, value)))
        if name == "stat_ms":
            return attrs.evolve(s, windows=attrs.evolve(s.windows, stat_ms=_number(p, value)))
        if name == "host":
            host = typing.cast(Literal["windows", "linux"], _choice(p, value))
            return attrs.evolve(s, windows=attrs.evolve(s.windows, host=host))
        if name == "write_rate":
            rate = _number(p, value)
            return _writers(s, p, lambda w: attrs.evolve(w, rate=rate))
        if name == "file_size":
            size = Size(dist="fixed", value=_integer(p, value))
            return _writers(s, p, lambda w: attrs.evolve(w, size=size))
    except ValueError as exc:  # an attrs validator: "'interval' must be > 0 (got -5.0)"
        if isinstance(exc, SweepError):
            raise
        raise SweepError(f"sweep parameter {name!r} ({p.place}) = {value!r}: {exc}") from None
    raise AssertionError(f"PARAMETERS names {name!r} but apply_param does not place it")  # pragma: no cover


def apply_params(scenario: Scenario, params: Mapping[str, object]) -> Scenario:
    """``scenario`` with every ``name: value`` of ``params`` applied, in order."""
    for name, value in params.items():
        scenario = apply_param(scenario, name, value)
    return scenario


def _scalar(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_param(text: str) -> tuple[str, list[int | float | str]]:
    """``"interval=5,10,30"`` -> ``("interval", [5, 10, 30])``: the command line's ``--param``.

    Numbers become int or float, anything else stays a string (``host=windows,linux``);
    the values themselves are judged by :func:`sweep`.
    """
    name, eq, values = text.partition("=")
    name = name.strip()
    if not eq or not name:
        raise SweepError(
            f"--param {text!r}: expected NAME=VALUE,VALUE,... (e.g. --param interval=5,10,30,60); {_valid_names()}"
        )
    _parameter(name)
    return name, [_scalar(v.strip()) for v in values.split(",") if v.strip()]


# --- one run ---------------------------------------------------------------------------


def _column(name: str) -> str:
    return name.replace("-", "_")


def run_point(scenario: Scenario, params: Mapping[str, object], seed: int, summary: bool = False) -> dict[str, Any]:
    """Run ``scenario`` with ``params`` and ``seed`` on the simulator; its row of the sweep.

    A module-level function of picklable arguments, so any executor (a process
    pool, a Dask cluster) can run it.
    """
    from nassim.checks import CHECKS, check_invariants, index
    from nassim.cluster import Simulation
    from nassim.findings import FINDINGS, find_findings
    from nassim.metrics import latency_summary, quantile, run_summary
    from nassim.trace import ProbeResult

    s = attrs.evolve(apply_params(scenario, params), seed=seed)
    sim = Simulation(s, summary=summary)
    trace = sim.run()
    row: dict[str, Any] = {"scenario": s.name, **params, "seed": seed}
    if summary:
        lat = sim.latencies
        row.update(
            latency_count=len(lat),
            latency_p50=quantile(lat, 0.5),
            latency_p90=quantile(lat, 0.9),
            latency_p99=quantile(lat, 0.99),
            latency_max=max(lat) if lat else math.nan,
            latency_mean=sum(lat) / len(lat) if lat else math.nan,
            unsynced=math.nan,  # a summary keeps no per-write records to tell
        )
    else:
        ls = latency_summary(trace)
        row.update(
            latency_count=ls.count,
            latency_p50=ls.p50,
            latency_p90=ls.p90,
            latency_p99=ls.p99,
            latency_max=ls.max,
            latency_mean=ls.mean,
            unsynced=ls.unsynced,
        )
    rs = run_summary(trace)
    row.update(
        rsync_runs=rs.runs,
        rsync_failed=rs.failed,
        files_moved=rs.transferred,
        bytes_moved=rs.bytes,
        rsync_seconds=rs.seconds,
        cpu_seconds=rs.cpu_seconds,
        cpu_percent=100.0 * rs.cpu_seconds / s.duration,
        probes_failed=sum(1 for r in trace.records if isinstance(r, ProbeResult) and not r.passed),
    )
    ix = index(trace)
    if not summary:
        # Findings read per-write records, which a summary trace does not keep.
        counts = dict.fromkeys(FINDINGS, 0)
        for f in find_findings(ix):
            counts[f.name] = counts.get(f.name, 0) + 1
        row.update({f"finding_{_column(n)}": c for n, c in counts.items()})
    verdicts = {v.name: v.status for v in check_invariants(ix)}
    row.update({f"invariant_{_column(n)}": verdicts.get(n, "unknown") for n in CHECKS})
    return row


# --- the sweep -------------------------------------------------------------------------


def _grid(scenario: Scenario, grid: Mapping[str, object]) -> list[dict[str, object]]:
    """The points of the grid, validated up front (a bad value fails before any run starts)."""
    if not isinstance(grid, Mapping) or not grid:
        raise SweepError(
            f"the sweep grid is empty: give at least one parameter and its values, "
            f"e.g. {{'interval': [10, 30, 60]}}; {_valid_names()}"
        )
    axes: list[tuple[str, list[object]]] = []
    for name, values in grid.items():
        p = _parameter(name)
        seq = [values] if isinstance(values, str) or not isinstance(values, Iterable) else list(values)
        if not seq:
            raise SweepError(
                f"sweep parameter {name!r} has no values: give at least one, e.g. {{{name!r}: [...]}}; "
                f"{_valid_names()}"
            )
        for v in seq:
            apply_param(scenario, p.name, v)
        axes.append((p.name, seq))
    return [dict(zip([n for n, _ in axes], combo)) for combo in itertools.product(*(vs for _, vs in axes))]


def _seeds(scenario: Scenario, seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise SweepError(f"seeds must be a count >= 1 or a list of integer seeds (got {seeds!r})")
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise SweepError(f"seeds must be a count >= 1 or a list of integer seeds (got {seeds!r})")
        # Counting from the scenario's own seed: seeds=1 reproduces `nassim run`.
        return list(range(scenario.seed, scenario.seed + int(seeds)))
    out = list(seeds) if isinstance(seeds, Iterable) and not isinstance(seeds, str) else None
    if not out or any(isinstance(x, bool) or not isinstance(x, numbers.Integral) for x in out):
        raise SweepError(f"seeds must be a count >= 1 or a non-empty list of integer seeds (got {seeds!r})")
    return [int(x) for x in out]


def _dask_executor() -> tuple[Executor, Callable[[], None]]:
    try:
        import distributed  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:
        raise ImportError(
            "executor='dask' needs the 'distributed' package, which is not installed; "
            "install it with: pip install 'nassim[dask]'"
        ) from exc
    make_client: Any = distributed.Client
    client: Any = make_client(processes=True)  # a LocalCluster, one worker process per core

    def close() -> None:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()

    executor: Executor = client.get_executor()
    return executor, close


ExecutorSpec = Executor | Literal["process", "serial", "dask"] | None


def _executor(executor: object, runs: int) -> tuple[Executor | None, Callable[[], None]]:
    """(executor or None for in-process, how to release it)."""
    if executor is None or executor == "process":
        pool = ProcessPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, runs)))
        # On an error, runs not yet started are dropped rather than waited for.
        return pool, lambda: pool.shutdown(wait=True, cancel_futures=True)
    if executor == "serial":
        return None, lambda: None
    if executor == "dask":
        return _dask_executor()
    if isinstance(executor, Executor):
        return executor, lambda: None
    get_executor: Any = getattr(executor, "get_executor", None)  # a distributed.Client
    if callable(get_executor):
        found: Executor = get_executor()
        return found, lambda: None
    raise SweepError(
        f"executor must be 'process', 'serial', 'dask', a distributed.Client or a "
        f"concurrent.futures.Executor (got {executor!r})"
    )


def sweep(
    scenario: Scenario,
    grid: Mapping[str, object],
    *,
    seeds: int | Sequence[int] = 1,
    executor: ExecutorSpec | object = None,
    progress: bool = True,
    summary: bool = False,
) -> pd.DataFrame:
    """Run ``scenario`` at every point of ``grid`` for every seed; one row per run (see the module docstring).

    ``grid`` maps parameter names (:data:`PARAMETERS`) to lists of values,
    e.g. ``{"interval": [5, 10, 30, 60], "tree_size": [0, 5000]}``.
    ``seeds`` is a count (the scenario's seed and the ones after it) or a
    list of seeds. ``executor``: None or ``"process"`` (a process pool with
    one worker per CPU, the default), ``"serial"``, ``"dask"``, a
    ``distributed.Client``, or any :class:`concurrent.futures.Executor`
    (which the caller keeps and shuts down). The rows are the same, in the
    same order, whichever runs them. ``progress`` shows a progress bar on
    stderr. ``summary=True`` runs each simulation as a summary
    (:class:`~nassim.cluster.Simulation`), for long durations: latency comes
    from the simulator's own measure, ``unsynced`` is NaN and there are no
    ``finding_*`` columns.

    Every parameter value is checked before the first run: a wrong name, an
    empty grid or a value of the wrong kind is a :class:`SweepError`.
    """
    import pandas as pd

    points = _grid(scenario, grid)
    seed_list = _seeds(scenario, seeds)
    jobs = [(point, seed) for point in points for seed in seed_list]
    pool, release = _executor(executor, len(jobs))
    try:
        rows = _run(scenario, jobs, pool, progress, summary)
    finally:
        release()
    return pd.DataFrame(rows)


def _run(
    scenario: Scenario,
    jobs: list[tuple[dict[str, object], int]],
    pool: Executor | None,
    progress: bool,
    summary: bool,
) -> list[dict[str, Any]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn(f"sweep {scenario.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not progress,
    )
    with bar:
        task = bar.add_task("runs", total=len(jobs))
        if pool is None:
            rows = []
            for point, seed in jobs:
                rows.append(_noted(functools.partial(run_point, scenario, point, seed, summary), point, seed))
                bar.advance(task)
            return rows
        futures: list[Future[dict[str, Any]]] = [
            pool.submit(run_point, scenario, point, seed, summary) for point, seed in jobs
        ]
        for fut in as_completed(futures):
            if fut.exception() is not None:
                for other in futures:
                    other.cancel()
                point, seed = jobs[futures.index(fut)]
                _noted(fut.result, point, seed)  # raises, with the run named
            bar.advance(task)
        # Rows in submission order, not completion order: the same frame whatever the executor.
        return [fut.result() for fut in futures]


def _noted(call: Callable[[], dict[str, Any]], point: Mapping[str, object], seed: int) -> dict[str, Any]:
    try:
        return call()
    except Exception as exc:
        where = ", ".join(f"{k}={v!r}" for k, v in point.items())
        exc.add_note(f"in the sweep run {where}, seed {seed}")
        raise

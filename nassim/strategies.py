"""Hypothesis strategies for nassim's data: file trees, workloads, faults, topologies, whole scenarios.

Every strategy shrinks toward the small and the plain: an empty tree, no
workloads, no faults, one output server with the reference settings, the
shortest duration allowed, seed 0. A failing property then reports a
scenario a person can read, and :func:`nassim.dump_scenario` writes it as
YAML that ``nassim run`` replays.

Each part of a scenario is drawn here when left ``None``, pinned when given
a value, and drawn your way when given a strategy::

    from hypothesis import given
    from nassim import strategies as ns
    from nassim.scenario import TopologySpec

    @given(ns.scenarios(topology=TopologySpec(), windows="linux", faults=False, settle=True))
    def test_syncs_settle(scenario): ...

Arguments are checked when the strategy is built, so a slip fails at
collection with an :class:`~nassim.errors.ArgumentError` (also a
ValueError) that names the function, the argument and what came, e.g.
``scenarios(): max_duration must be > 0 (got -1)``.

hypothesis is a test dependency, not a runtime one: ``pip install 'nassim[test]'``.
"""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Callable, Collection, Sequence
from typing import Any, Literal, NoReturn, TypeVar

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "nassim.strategies needs hypothesis, a test dependency: pip install 'nassim[test]' (or pip install hypothesis)"
    ) from exc

from nassim.errors import ArgumentError, NassimError, RsyncOptionError
from nassim.rsync.options import parse_args
from nassim.scenario import (
    ContainerKill,
    Deleter,
    Fault,
    MountLoss,
    PodDelete,
    Probe,
    Renamer,
    Scenario,
    SidecarCrash,
    Size,
    TopologySpec,
    WindowsEditor,
    WindowsSpec,
    Workload,
    Writer,
)
from nassim.topology import Role, Topology, reference_topology
from nassim.tree import Dir, File, FileTree, Symlink

__all__ = [
    "FAULT_KINDS",
    "INTERVALS",
    "SAFE_SIDECAR_ARGS",
    "TREE_NAMES",
    "WORKLOAD_KINDS",
    "faults",
    "file_trees",
    "scenarios",
    "settle_time",
    "topologies",
    "windows_specs",
    "workloads",
]

T = TypeVar("T")

#: Sidecar intervals drawn (seconds); the live default first, so failures shrink toward it.
INTERVALS = (30.0, 5.0, 10.0, 15.0, 20.0, 45.0, 60.0)

#: Sidecar rsync argument lists that keep the sync one-way and lossless: no ``--delete`` (an
#: emptied export after a pod restart would wipe Windows), no ``--size-only``, ``-u``,
#: ``--existing`` or ``--ignore-existing`` (each can skip a new version for good).
SAFE_SIDECAR_ARGS: tuple[tuple[str, ...], ...] = (
    ("-av", "/nfs-data/", "/windows-mount/"),
    ("-rtv", "/nfs-data/", "/windows-mount/"),
    ("-avc", "/nfs-data/", "/windows-mount/"),
    ("-av", "--modify-window=1", "/nfs-data/", "/windows-mount/"),
    ("-av", "--inplace", "/nfs-data/", "/windows-mount/"),
    ("-av", "--exclude=.*.tmp", "/nfs-data/", "/windows-mount/"),
)

WORKLOAD_KINDS = ("writer", "deleter", "renamer", "windows-editor")
FAULT_KINDS = ("pod-delete", "container-kill", "sidecar-crash", "mount-loss")

#: File names :func:`file_trees` draws from: case twins (one file on Windows), a dot file,
#: a name Windows reserves, a writer's temp name.
TREE_NAMES = ("a", "b", "A", "data", "report.csv", "Report.csv", ".hidden", "x.tmp", "con", "d")

_REFERENCE = reference_topology()
# Outputs first: a drawn server list shrinks toward ["nas-output-1"], the smallest server that syncs.
_SERVER_ORDER = (
    *(s.name for s in _REFERENCE.with_role(Role.OUTPUT)),
    *(s.name for s in _REFERENCE if s.role is not Role.OUTPUT),
)
_BASE_NS = 1_769_904_000 * 10**9  # 2026-02-01T00:00:00Z, the scenarios' default day


# ---------------------------------------------------------------------------
# Argument checks: at build time, one clear line each


def _fail(func: str, message: str) -> NoReturn:
    raise ArgumentError(f"{func}(): {message}")


def _int(func: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(func, f"{name} must be an int (got {value!r})")
    if value < minimum:
        _fail(func, f"{name} must be >= {minimum} (got {value!r})")
    return value


def _positive(func: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(func, f"{name} must be a number (got {value!r})")
    if not math.isfinite(value) or value <= 0:
        _fail(func, f"{name} must be > 0 (got {value!r})")
    return float(value)


def _kinds(func: str, name: str, value: Collection[str], valid: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        _fail(func, f"{name} must be a collection of kinds, not one string (got {value!r}); write {name}=[{value!r}]")
    unknown = [k for k in value if k not in valid]
    if unknown:
        _fail(func, f"{name}: unknown kind {unknown[0]!r} (valid: {', '.join(valid)})")
    return tuple(k for k in valid if k in value)


def _one_of(func: str, name: str, value: object, valid: Sequence[object]) -> None:
    if value not in valid:
        _fail(func, f"{name} must be one of {', '.join(repr(v) for v in valid)} (got {value!r})")


def _part(value: Any, drawn: st.SearchStrategy[T], check: Callable[[Any], object]) -> st.SearchStrategy[T]:
    """None: draw it here; a strategy: draw from it; a value: check it and pin it."""
    if value is None:
        return drawn
    if isinstance(value, st.SearchStrategy):
        return value
    check(value)
    return st.just(value)


def _topology_of(func: str, spec: TopologySpec | Topology | None) -> Topology:
    if spec is None:
        return _REFERENCE
    if isinstance(spec, Topology):
        return spec
    if not isinstance(spec, TopologySpec):
        _fail(func, f"topology must be a TopologySpec, a Topology or None (got {type(spec).__name__})")
    try:
        return _load(spec)
    except NassimError as exc:
        _fail(func, f"topology: {exc}")


@functools.lru_cache(maxsize=256)
def _load(spec: TopologySpec) -> Topology:
    return Scenario(name="strategies", duration=1, topology=spec).load_topology()


def _outputs_first(topo: Topology) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every server name, outputs first; the output servers' names)."""
    outputs = tuple(s.name for s in topo if s.sidecar is not None)
    return (*outputs, *(n for n in topo.names if n not in outputs)), outputs


# ---------------------------------------------------------------------------
# File trees


def file_trees(
    *,
    max_files: int = 8,
    max_depth: int = 2,
    max_size: int = 1 << 20,
    symlinks: bool = True,
    names: Sequence[str] = TREE_NAMES,
) -> st.SearchStrategy[FileTree]:
    """File trees of at most ``max_files`` files (and symlinks) up to ``max_depth`` directories deep.

    Names come from ``names`` (by default with case twins, a dot file, a
    Windows-reserved name and a temp name); contents are synthetic streams
    (an int seed), sizes up to ``max_size`` bytes, mtimes whole seconds of
    2026 plus a drawn nanosecond part. Shrinks toward the empty tree, size 0
    and one mtime.
    """
    func = "file_trees"
    _int(func, "max_files", max_files, 0)
    _int(func, "max_depth", max_depth, 0)
    _int(func, "max_size", max_size, 0)
    if not isinstance(symlinks, bool):
        _fail(func, f"symlinks must be True or False (got {symlinks!r})")
    if isinstance(names, str) or not names:
        _fail(func, f"names must be a non-empty sequence of file names (got {names!r})")
    for n in names:
        if not isinstance(n, str) or not n or "/" in n or n in (".", ".."):
            _fail(func, f"names: {n!r} is not a file name (no '/', not '.' or '..')")
    return _file_tree(max_files, max_depth, max_size, symlinks, tuple(names))


@st.composite
def _file_tree(
    draw: st.DrawFn, max_files: int, max_depth: int, max_size: int, symlinks: bool, names: tuple[str, ...]
) -> FileTree:
    path = st.lists(st.sampled_from(names), min_size=1, max_size=max_depth + 1).map("/".join)
    paths = draw(st.lists(path, max_size=max_files, unique=True))
    mtime = st.builds(
        lambda s, ns: _BASE_NS + s * 10**9 + ns,
        st.integers(0, 365 * 86_400),
        st.one_of(st.just(0), st.sampled_from((500_000_000, 999_999_999)), st.integers(0, 10**9 - 1)),
    )
    tree = FileTree(_BASE_NS)
    for p in paths:
        parts = p.split("/")
        parents = ["/".join(parts[:i]) for i in range(1, len(parts))]
        # A path under a file cannot exist; it is skipped (and shrinks away).
        if p in tree or any(not isinstance(tree.get(d), Dir | None) for d in parents):
            continue
        for d in parents:
            if d not in tree:
                tree[d] = Dir(_BASE_NS)
        if symlinks and draw(st.integers(0, 4)) == 4:  # mostly files; the rare choice on top shrinks away
            tree[p] = Symlink(draw(st.sampled_from(("a", "../a", "data/report.csv", "missing"))), draw(mtime))
        else:
            tree[p] = File(draw(st.integers(0, max_size)), draw(mtime), draw(st.integers(0, 2**62)))
    return tree


# ---------------------------------------------------------------------------
# Topologies and the Windows host


def topologies(
    *,
    servers: Sequence[str] | st.SearchStrategy[tuple[str, ...] | None] | None = None,
    interval: float | st.SearchStrategy[float | None] | None = None,
    export: Literal["emptyDir", "persistent"] | st.SearchStrategy[Any] | None = None,
    order: Literal["init-first", "sidecar-first"] | st.SearchStrategy[Any] | None = None,
    sidecar_args: Sequence[str] | st.SearchStrategy[tuple[str, ...] | None] | None = None,
) -> st.SearchStrategy[TopologySpec]:
    """The reference test bed (seven servers) with drawn overrides, as a scenario's ``topology``.

    Drawn: a subset of the reference servers (shrinking toward
    ``nas-output-1`` alone), the sidecar interval (:data:`INTERVALS`), the
    export kind, the container order and the sidecar's rsync arguments (from
    :data:`SAFE_SIDECAR_ARGS`); each override shrinks toward "keep the
    reference setting". Pin one by passing a value, e.g. ``interval=30``.
    The Windows -> NFS sidecar (``reverse_sidecar``) is never drawn: these
    topologies sync one way.
    """
    func = "topologies"

    def check_servers(v: Sequence[str]) -> None:
        if isinstance(v, str) or not v:
            _fail(func, f"servers must be a non-empty sequence of server names (got {v!r})")
        for n in v:
            if n not in _REFERENCE.names:
                _fail(
                    func, f"servers: no server {n!r} in the reference test bed (servers: {', '.join(_REFERENCE.names)})"
                )

    def check_args(v: Sequence[str]) -> None:
        if isinstance(v, str):
            _fail(func, f"sidecar_args must be a sequence of strings, not one string (got {v!r})")
        try:
            parse_args(list(v))
        except RsyncOptionError as exc:
            _fail(func, f"sidecar_args: {exc}")

    subsets = st.lists(st.sampled_from(_SERVER_ORDER), min_size=1, unique=True).map(
        lambda names: tuple(n for n in _REFERENCE.names if n in names)
    )
    parts = {
        "servers": _part(servers, st.one_of(subsets, st.just(None)), check_servers),
        "interval": _part(
            interval, st.one_of(st.just(None), st.sampled_from(INTERVALS)), lambda v: _positive(func, "interval", v)
        ),
        "export": _part(
            export,
            st.one_of(st.just(None), st.sampled_from(("emptyDir", "persistent"))),
            lambda v: _one_of(func, "export", v, ("emptyDir", "persistent")),
        ),
        "order": _part(
            order,
            st.one_of(st.just(None), st.sampled_from(("init-first", "sidecar-first"))),
            lambda v: _one_of(func, "order", v, ("init-first", "sidecar-first")),
        ),
        "sidecar_args": _part(sidecar_args, st.one_of(st.just(None), st.sampled_from(SAFE_SIDECAR_ARGS)), check_args),
    }

    def build(servers: Any, interval: Any, export: Any, order: Any, sidecar_args: Any) -> TopologySpec:
        return TopologySpec(
            servers=None if servers is None else tuple(servers),
            interval=None if interval is None else float(interval),
            export=export,
            order=order,
            sidecar_args=None if sidecar_args is None else tuple(sidecar_args),
        )

    return st.builds(build, **parts)


def windows_specs(
    *, host: Literal["windows", "linux"] | None = None, max_files: int = 100
) -> st.SearchStrategy[WindowsSpec]:
    """The Windows host: ``windows`` (9p: case-insensitive, mtimes it cannot set) or ``linux``,
    up to ``max_files`` files already in each folder, and a host clock that may be off.

    Shrinks toward the default (a Windows host, empty folders, clocks agreeing).
    """
    func = "windows_specs"
    if host is not None:
        _one_of(func, "host", host, ("windows", "linux"))
    _int(func, "max_files", max_files, 0)
    hosts = st.just(host) if host is not None else st.sampled_from(("windows", "linux"))
    return st.builds(
        WindowsSpec,
        host=hosts,
        files=st.integers(0, max_files),
        clock_offset=st.one_of(st.just(0.0), st.sampled_from((-2.0, 2.0, 3600.0))),
    )


# ---------------------------------------------------------------------------
# Workloads and faults


def workloads(
    *,
    topology: TopologySpec | Topology | None = None,
    until: float = 60.0,
    max_workloads: int = 3,
    kinds: Collection[str] = WORKLOAD_KINDS,
) -> st.SearchStrategy[tuple[Workload, ...]]:
    """Up to ``max_workloads`` workloads on ``topology``'s servers (the reference test bed by
    default), each starting and stopping within ``[0, until]`` seconds.

    ``kinds`` picks from :data:`WORKLOAD_KINDS`. Writers write into output
    exports (sizes up to 1 MB, at most 2 MB/s, in place or by rename, new names or a few
    reused ones, some under a case twin prefix); deleters and renamers act on
    either side; Windows editors drop files into Windows folders. Shrinks
    toward no workload, then the lowest rate and the shortest activity.
    """
    func = "workloads"
    topo = _topology_of(func, topology)
    end = _positive(func, "until", until)
    _int(func, "max_workloads", max_workloads, 0)
    return _workloads(topo, end, max_workloads, _kinds(func, "kinds", kinds, WORKLOAD_KINDS))


def faults(
    *,
    topology: TopologySpec | Topology | None = None,
    until: float = 60.0,
    max_faults: int = 2,
    kinds: Collection[str] = FAULT_KINDS,
) -> st.SearchStrategy[tuple[Fault, ...]]:
    """A fault schedule: up to ``max_faults`` faults on ``topology``'s servers, each injected
    within ``[0, until]`` seconds (a mount loss also ends by then), in time order.

    ``kinds`` picks from :data:`FAULT_KINDS`: pod deletions, container kills
    (the sidecar or the NFS server, TERM or KILL), sidecar crashes (1-3 in a
    row) and ``minikube mount`` losses. Shrinks toward no fault.
    """
    func = "faults"
    topo = _topology_of(func, topology)
    end = _positive(func, "until", until)
    _int(func, "max_faults", max_faults, 0)
    return _faults(topo, end, max_faults, _kinds(func, "kinds", kinds, FAULT_KINDS))


@functools.lru_cache(maxsize=512)
def _servers(names: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...] | None]:
    """None (the workload's default servers) or a non-empty subset, in topology order."""
    if not names:
        return st.just(None)
    subset = st.lists(st.sampled_from(names), min_size=1, unique=True).map(
        lambda xs: tuple(sorted(xs, key=names.index))
    )
    return st.one_of(st.just(None), subset)


# Sizes and rates keep a writer's data rate (at most 2 MB/s) well below what the 9p mount
# moves (about 20 MB/s): the syncs keep up, so a settled scenario settles. A slow writer
# keeps a 1 MB file open for a second, long enough for a run to copy it torn.
_SIZES = st.one_of(
    st.builds(Size, value=st.sampled_from((4096, 0, 100, 100_000, 1_000_000))),
    st.integers(0, 100_000).flatmap(
        lambda lo: st.builds(Size, dist=st.just("uniform"), min=st.just(lo), max=st.integers(lo, 1_000_000))
    ),
)


_WRITER = {
    "rate": st.sampled_from((0.1, 0.5, 1.0, 2.0)),
    "process": st.sampled_from(("poisson", "fixed")),
    "size": _SIZES,
    "throughput": st.sampled_from((50e6, 1e6)),
    "mode": st.sampled_from(("inplace", "rename")),
    "names": st.sampled_from((0, 1, 3)),
    "prefix": st.sampled_from(("out/", "", "out/sub/", "OUT/")),
}
_SIDES = st.sampled_from(("nfs", "windows"))
_CHURN_RATES = st.sampled_from((0.1, 0.05, 0.5))
_EDITOR = {
    "rate": st.sampled_from((0.05, 0.2, 1.0)),
    "names": st.sampled_from((10, 1, 0)),
    "prefix": st.sampled_from(("in/", "out/")),
}
_CONTAINERS = st.sampled_from(("sync-to-windows", "nfs-server"))
_SIGNALS: st.SearchStrategy[Literal["KILL", "TERM"]] = st.sampled_from(("KILL", "TERM"))

# The strategies below are composites that draw from the module-level ones above: building
# fresh strategy objects per example (for each topology and time window) made drawing, and
# so shrinking, several times slower.


def _workloads(
    topo: Topology, until: float, max_size: int, kinds: tuple[str, ...]
) -> st.SearchStrategy[tuple[Workload, ...]]:
    if not kinds or max_size == 0:
        return st.just(())
    every, outputs = _outputs_first(topo)
    # Writers make most of what the checks judge: drawn twice as often as each other kind.
    weighted = tuple(k for k in kinds for _ in range(2 if k == "writer" else 1))
    return st.lists(_workload(every, outputs, int(until), weighted), max_size=max_size).map(tuple)


@st.composite
def _workload(
    draw: st.DrawFn, every: tuple[str, ...], outputs: tuple[str, ...], end: int, kinds: tuple[str, ...]
) -> Workload:
    kind = draw(st.sampled_from(kinds))
    if kind == "writer":
        fields = {k: draw(v) for k, v in _WRITER.items()}
        servers = draw(_servers(outputs))
    else:
        servers = draw(_servers(every))
        if kind == "windows-editor":
            fields = {k: draw(v) for k, v in _EDITOR.items()}
        else:
            fields = {"side": draw(_SIDES), "rate": draw(_CHURN_RATES)}
    start = draw(st.integers(0, end))
    stop = draw(st.integers(start, end))
    cls: Any = {"writer": Writer, "deleter": Deleter, "renamer": Renamer, "windows-editor": WindowsEditor}[kind]
    return cls(servers=servers, start=start, stop=stop, **fields)  # type: ignore[no-any-return]


def _faults(
    topo: Topology, until: float, max_size: int, kinds: tuple[str, ...]
) -> st.SearchStrategy[tuple[Fault, ...]]:
    every, outputs = _outputs_first(topo)
    if not kinds or max_size == 0 or not every:
        return st.just(())
    one = _fault(every, outputs or every, int(until), kinds)
    return st.lists(one, max_size=max_size).map(lambda fs: tuple(sorted(fs, key=lambda f: f.at)))


@st.composite
def _fault(
    draw: st.DrawFn, every: tuple[str, ...], outputs: tuple[str, ...], end: int, kinds: tuple[str, ...]
) -> Fault:
    kind = draw(st.sampled_from(kinds))
    if kind == "mount-loss":
        server = draw(st.one_of(st.just(None), st.sampled_from(every)))
        at = draw(st.integers(0, max(end - 1, 0)))
        # A lost mount comes back by the end of the active part.
        return MountLoss(server=server, at=at, duration=draw(st.integers(1, max(end - at, 1))))
    if kind == "sidecar-crash":
        return SidecarCrash(
            server=draw(st.sampled_from(outputs)), at=draw(st.integers(0, end)), times=draw(st.integers(1, 3))
        )
    server = draw(st.sampled_from(every))
    at = draw(st.integers(0, end))
    if kind == "pod-delete":
        return PodDelete(server=server, at=at)
    return ContainerKill(server=server, container=draw(_CONTAINERS), signal=draw(_SIGNALS), at=at)


# ---------------------------------------------------------------------------
# Whole scenarios


def settle_time(interval: float) -> float:
    """Seconds of quiet a scenario ends with under ``settle=True``, for a sidecar ``interval``:
    three sync periods (the checks allow two runs to move something after the last
    outside activity and want a later one that moves nothing) plus room for a pod
    restart's grace period, its init container and a crash back-off."""
    return 3 * interval + 90


def scenarios(
    *,
    topology: TopologySpec | st.SearchStrategy[TopologySpec] | None = None,
    windows: WindowsSpec | Literal["windows", "linux"] | st.SearchStrategy[WindowsSpec] | None = None,
    workloads: bool | Sequence[Workload] | st.SearchStrategy[tuple[Workload, ...]] | None = None,
    faults: bool | Sequence[Fault] | st.SearchStrategy[tuple[Fault, ...]] | None = None,
    probes: Sequence[Probe] | st.SearchStrategy[tuple[Probe, ...]] = (),
    seed: int | st.SearchStrategy[int] | None = None,
    name: str = "property",
    min_duration: float = 10,
    max_duration: float = 600,
    settle: bool = False,
) -> st.SearchStrategy[Scenario]:
    """Whole scenarios, ready for :func:`nassim.simulate` and ``nassim run``.

    Each part is drawn when ``None``, pinned when given a value, drawn from
    it when given a strategy:

    - ``topology``: :func:`topologies` (pin ``TopologySpec()`` for the
      reference seven servers as they are);
    - ``windows``: :func:`windows_specs`; ``"windows"`` or ``"linux"`` pins
      ``WindowsSpec(host=...)``;
    - ``workloads``, ``faults``: :func:`workloads`, :func:`faults` on the
      drawn topology, within the active part of the run; ``False`` (or
      ``()``) for none;
    - ``probes``: none unless given; ``seed``: drawn (shrinking to 0).

    The duration is whole seconds in ``[min_duration, max_duration]``,
    shrinking toward the shortest. With ``settle=True`` the run ends with
    :func:`settle_time` seconds without workloads or faults, so the checks
    that judge what happens once activity stops (loop freedom, convergence,
    the latency of the last writes) can decide instead of saying unknown.
    Change other fields with ``.map(lambda s: attrs.evolve(s, ...))``.
    """
    func = "scenarios"
    lo = _positive(func, "min_duration", min_duration)
    hi = _positive(func, "max_duration", max_duration)
    if lo > hi:
        _fail(func, f"min_duration must be <= max_duration (got {min_duration!r} > {max_duration!r})")
    if not isinstance(settle, bool):
        _fail(func, f"settle must be True or False (got {settle!r})")
    if not isinstance(name, str) or not name:
        _fail(func, f"name must be a non-empty string (got {name!r})")

    if topology is not None and not isinstance(topology, TopologySpec | st.SearchStrategy):
        _fail(func, f"topology must be a TopologySpec, a strategy or None (got {type(topology).__name__})")
    if isinstance(topology, TopologySpec):
        _topology_of(func, topology)  # a pinned topology that does not load fails here, not in every example
    topo_st = topologies() if topology is None else _part(topology, topologies(), lambda v: None)

    if isinstance(windows, str):
        _one_of(func, "windows", windows, ("windows", "linux"))
        windows = WindowsSpec(host=windows)
    elif windows is not None and not isinstance(windows, WindowsSpec | st.SearchStrategy):
        _fail(func, f"windows must be a WindowsSpec, 'windows', 'linux', a strategy or None (got {windows!r})")
    win_st = _part(windows, windows_specs(), lambda v: None)

    def items(what: str, value: object, valid: tuple[type, ...]) -> st.SearchStrategy[Any] | None:
        """None: draw on the topology; else a fixed strategy (checked now)."""
        if value is None or value is True:
            return None
        if value is False:
            return st.just(())
        if isinstance(value, st.SearchStrategy):
            return value
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            _fail(func, f"{what} must be a sequence, a strategy, True/None (draw) or False (none) (got {value!r})")
        for i, item in enumerate(value):
            if not isinstance(item, valid):
                kinds = ", ".join(c.__name__ for c in valid)
                _fail(func, f"{what}[{i}] must be one of {kinds} (got {type(item).__name__})")
        return st.just(tuple(value))

    workload_st = items("workloads", workloads, typing.get_args(Workload))
    fault_st = items("faults", faults, typing.get_args(Fault))
    if probes is None or isinstance(probes, bool):
        _fail(func, f"probes are not drawn: give a sequence of probes or a strategy (got {probes!r})")
    probe_st = items("probes", probes, typing.get_args(Probe))
    assert probe_st is not None
    seed_st = _part(seed, st.integers(0, 2**32 - 1), lambda v: _int(func, "seed", v, 0))

    if settle and isinstance(topology, TopologySpec | None) and not isinstance(topology, st.SearchStrategy):
        worst = max(_intervals(_topology_of(func, topology))) if topology is not None else max(INTERVALS)
        need = settle_time(worst) + 1
        if hi < need:
            _fail(
                func,
                f"settle=True needs max_duration >= {need:g} s (a quiet tail of {settle_time(worst):g} s for a "
                f"{worst:g} s interval, and a second of activity) (got {max_duration!r})",
            )

    @st.composite
    def build(draw: st.DrawFn) -> Scenario:
        spec = draw(topo_st)
        topo = _topology_of(func, spec)
        tail = settle_time(max(_intervals(topo))) if settle else 0.0
        low = max(math.ceil(lo), math.ceil(tail) + 1)
        # Only a topology drawn by a user's strategy can need more than max_duration allows.
        assume(low <= hi)
        duration = draw(st.integers(low, max(low, math.floor(hi))))
        until = duration - tail
        w = draw(workload_st if workload_st is not None else _workloads(topo, until, 3, WORKLOAD_KINDS))
        f = draw(fault_st if fault_st is not None else _faults(topo, until, 2, FAULT_KINDS))
        return Scenario(
            name=name,
            seed=draw(seed_st),
            duration=duration,
            topology=spec,
            windows=draw(win_st),
            workloads=tuple(w),
            faults=tuple(f),
            probes=tuple(draw(probe_st)),
        )

    return build()


def _intervals(topo: Topology) -> list[float]:
    return [s.sidecar.interval for s in topo if s.sidecar is not None] or [0.0]

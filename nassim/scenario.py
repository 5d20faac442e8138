"""Scenarios: what to run, as data (YAML under ``sim/scenarios/`` or built in Python).

A scenario names the topology (a Helm values file, rendered manifests, or the
built-in reference test bed, with overrides), the Windows host, the cluster's
timings, the workloads (who writes, deletes, renames what, where, how fast),
the faults, the probes (write this file, expect it there within this bound),
the duration and the seed. :func:`load_scenario` turns YAML into these attrs
objects; a wrong field is a :class:`ScenarioError` naming the file, the field
path and the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
import yaml
from cattrs.strategies import configure_tagged_union

from nassim.errors import NassimError, ScenarioError
from nassim.topology import Topology, load_manifests, load_values, reference_topology

__all__ = [
    "ClusterSpec",
    "ContainerKill",
    "Deleter",
    "Fault",
    "MountLoss",
    "NfsToWindowsProbe",
    "NoSidecarProbe",
    "PodDelete",
    "Probe",
    "Reader",
    "Renamer",
    "ReverseSidecar",
    "Scenario",
    "SidecarCrash",
    "SidecarRunningProbe",
    "Size",
    "TopologySpec",
    "WindowsEditor",
    "WindowsSpec",
    "Workload",
    "Writer",
    "dump_scenario",
    "load_scenario",
]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name!r} must be > 0 (got {value!r})")


def _nonneg(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value >= 0:  # NaN too
        raise ValueError(f"{attribute.name!r} must be >= 0 (got {value!r})")


# --- topology and environment ---------------------------------------------------------


@attrs.frozen(kw_only=True)
class ReverseSidecar:
    """The deferred design: a second sidecar on each output server copying Windows -> NFS
    every ``interval`` seconds with ``args`` (see docs/windows-to-nfs.md)."""

    args: tuple[str, ...] = ("-av", "/windows-mount/", "/nfs-data/")
    interval: float = attrs.field(default=30.0, validator=_positive)
    name: str = "sync-from-windows"


@attrs.frozen(kw_only=True)
class TopologySpec:
    """Where the topology comes from, and what to change in it.

    ``values`` or ``manifests`` is a path relative to the scenario file; with
    neither, the built-in reference test bed (seven servers) is used.
    """

    values: str | None = None
    manifests: str | None = None
    servers: tuple[str, ...] | None = None  # keep only these servers
    interval: float | None = attrs.field(default=None, validator=_positive)
    export: Literal["emptyDir", "persistent"] | None = None
    order: Literal["init-first", "sidecar-first"] | None = None
    sidecar_args: tuple[str, ...] | None = None
    reverse_sidecar: ReverseSidecar | None = None

    def __attrs_post_init__(self) -> None:
        if self.values is not None and self.manifests is not None:
            raise ValueError("give 'values' or 'manifests', not both")


@attrs.frozen(kw_only=True)
class WindowsSpec:
    """The host behind ``C:\\simulator-data``: ``windows`` (minikube 9p on a Windows host:
    case-insensitive, whole-second mtimes that cannot be set, slow metadata) or
    ``linux`` (a Linux host folder: times kept to the second, fast)."""

    host: Literal["windows", "linux"] = "windows"
    case_sensitive: bool | None = None
    can_set_times: bool | None = None
    # chown on the folder: "ignored" (the 9P2000 default), "fail" (``minikube mount --9p-version=9p2000.u``
    # on a Windows host: go9p calls os.Chown, rsync -a exits 23, reference §3 and §5), "set" (a local disk).
    owners: Literal["set", "ignored", "fail"] | None = None
    mtime_resolution: float | None = attrs.field(default=None, validator=_positive)  # seconds
    stat_ms: float | None = attrs.field(default=None, validator=_nonneg)  # per metadata round trip
    mb_per_s: float | None = attrs.field(default=None, validator=_positive)
    files: int = attrs.field(default=0, validator=_nonneg)  # files already in each folder at start
    file_size: int = attrs.field(default=4096, validator=_nonneg)
    clock_offset: float = 0.0  # host clock minus VM clock, seconds


@attrs.frozen(kw_only=True)
class ClusterSpec:
    """Kubernetes timings, in seconds (reference notes §1-2)."""

    schedule_delay: float = attrs.field(default=0.5, validator=_nonneg)
    image_pull: float = attrs.field(default=2.0, validator=_nonneg)  # first start on the node only
    container_start: float = attrs.field(default=0.5, validator=_nonneg)
    grace_period: float = attrs.field(default=30.0, validator=_nonneg)


# --- workloads -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Size:
    """File sizes in bytes: ``fixed`` or ``uniform`` between min and max, or ``lognormal``."""

    dist: Literal["fixed", "uniform", "lognormal"] = "fixed"
    value: int = attrs.field(default=4096, validator=_nonneg)
    min: int = attrs.field(default=0, validator=_nonneg)
    max: int = attrs.field(default=0, validator=_nonneg)
    sigma: float = attrs.field(default=1.0, validator=_positive)


@attrs.frozen(kw_only=True)
class Writer:
    """A microservice writing files into output exports (or people into Windows folders)."""

    type: Literal["writer"] = "writer"
    servers: tuple[str, ...] | None = None  # default: every output server
    rate: float = attrs.field(default=1.0, validator=_positive)  # writes per second, per server
    process: Literal["poisson", "fixed"] = "poisson"
    size: Size = Size()
    throughput: float = attrs.field(default=50e6, validator=_positive)  # bytes per second while writing
    mode: Literal["inplace", "rename"] = "inplace"
    names: int = attrs.field(default=0, validator=_nonneg)  # 0: a new name per write; N: reuse N names
    prefix: str = "out/"
    start: float = attrs.field(default=0.0, validator=_nonneg)
    stop: float | None = attrs.field(default=None, validator=_nonneg)


@attrs.frozen(kw_only=True)
class Deleter:
    """Deletes existing files on the export (``nfs``) or in the Windows folder."""

    type: Literal["deleter"] = "deleter"
    servers: tuple[str, ...] | None = None
    side: Literal["nfs", "windows"] = "nfs"
    rate: float = attrs.field(default=0.1, validator=_positive)
    start: float = attrs.field(default=0.0, validator=_nonneg)
    stop: float | None = attrs.field(default=None, validator=_nonneg)


@attrs.frozen(kw_only=True)
class Renamer:
    """Renames existing files on the export or in the Windows folder."""

    type: Literal["renamer"] = "renamer"
    servers: tuple[str, ...] | None = None
    side: Literal["nfs", "windows"] = "nfs"
    rate: float = attrs.field(default=0.1, validator=_positive)
    start: float = attrs.field(default=0.0, validator=_nonneg)
    stop: float | None = attrs.field(default=None, validator=_nonneg)


@attrs.frozen(kw_only=True)
class WindowsEditor:
    """People dropping or editing files in Windows folders (the host clock stamps them)."""

    type: Literal["windows-editor"] = "windows-editor"
    servers: tuple[str, ...] | None = None
    rate: float = attrs.field(default=0.05, validator=_positive)
    size: Size = Size()
    names: int = attrs.field(default=10, validator=_nonneg)
    prefix: str = "in/"
    start: float = attrs.field(default=0.0, validator=_nonneg)
    stop: float | None = attrs.field(default=None, validator=_nonneg)


@attrs.frozen(kw_only=True)
class Reader:
    """An NFS client polling a directory of the export (reference notes §4).

    Another node's client sees a new file only when its cached directory
    attributes expire: ``acdirmin`` after a change, doubling while nothing
    changes, up to ``acdirmax``. Pods on the export's own node share one
    cache (``sharecache``) and see it at their next poll (``same_node``).
    """

    type: Literal["reader"] = "reader"
    servers: tuple[str, ...] | None = None
    prefix: str = "out/"
    poll: float = attrs.field(default=1.0, validator=_positive)
    acdirmin: float = attrs.field(default=30.0, validator=_nonneg)
    acdirmax: float = attrs.field(default=60.0, validator=_nonneg)
    same_node: bool = False
    start: float = attrs.field(default=0.0, validator=_nonneg)


Workload = Writer | Deleter | Renamer | WindowsEditor | Reader

# --- faults ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PodDelete:
    """``kubectl delete pod``: graceful stop, and the controller creates a replacement."""

    type: Literal["pod-delete"] = "pod-delete"
    server: str
    at: float = attrs.field(validator=_nonneg)


@attrs.frozen(kw_only=True)
class ContainerKill:
    """Signal one container (``TERM`` or ``KILL``); a ``sh`` loop as PID 1 ignores TERM."""

    type: Literal["container-kill"] = "container-kill"
    server: str
    container: str = "sync-to-windows"
    signal: Literal["TERM", "KILL"] = "KILL"
    at: float = attrs.field(validator=_nonneg)


@attrs.frozen(kw_only=True)
class SidecarCrash:
    """The sidecar exits with ``exit_code`` ``times`` times in a row (CrashLoopBackOff)."""

    type: Literal["sidecar-crash"] = "sidecar-crash"
    server: str
    at: float = attrs.field(validator=_nonneg)
    times: int = attrs.field(default=1, validator=_positive)
    exit_code: int = 1


@attrs.frozen(kw_only=True)
class MountLoss:
    """The ``minikube mount`` process dies for ``duration`` seconds: rsync onto it fails."""

    type: Literal["mount-loss"] = "mount-loss"
    server: str | None = None  # None: every server (one mount serves them all)
    at: float = attrs.field(validator=_nonneg)
    duration: float = attrs.field(validator=_positive)


Fault = PodDelete | ContainerKill | SidecarCrash | MountLoss

# --- probes ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SidecarRunningProbe:
    """The live script's Test-SidecarRunning: the sidecar container is running at ``at``."""

    type: Literal["sidecar-running"] = "sidecar-running"
    server: str
    at: float = attrs.field(default=0.0, validator=_nonneg)


@attrs.frozen(kw_only=True)
class NoSidecarProbe:
    """The live script's Test-NoSidecar: the pod has no sidecar container."""

    type: Literal["no-sidecar"] = "no-sidecar"
    server: str
    at: float = attrs.field(default=0.0, validator=_nonneg)


@attrs.frozen(kw_only=True)
class NfsToWindowsProbe:
    """The live script's Test-NFSToWindows: write ``path`` via NFS at ``at``; it must be
    on Windows, with its content, within ``within`` seconds."""

    type: Literal["nfs-to-windows"] = "nfs-to-windows"
    server: str
    at: float = attrs.field(validator=_nonneg)
    path: str = "nassim-probe/probe.txt"
    size: int = attrs.field(default=64, validator=_nonneg)
    within: float = attrs.field(default=60.0, validator=_positive)


Probe = SidecarRunningProbe | NoSidecarProbe | NfsToWindowsProbe

# --- the scenario ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Scenario:
    """Everything one run needs; the same scenario and seed give the same trace."""

    name: str
    description: str = ""
    seed: int = 0
    duration: float = attrs.field(validator=_positive)
    start: str = attrs.field(default="2026-02-01T09:00:00+00:00")
    topology: TopologySpec = TopologySpec()
    windows: WindowsSpec = WindowsSpec()
    cluster: ClusterSpec = ClusterSpec()
    workloads: tuple[Workload, ...] = ()
    faults: tuple[Fault, ...] = ()
    probes: tuple[Probe, ...] = ()
    expect_findings: tuple[str, ...] = ()
    base_dir: str = attrs.field(default=".", eq=False, repr=False)

    @start.validator
    def _check_start(self, attribute: attrs.Attribute[str], value: str) -> None:
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"must be an ISO 8601 time such as 2026-02-01T09:00:00+00:00 (got {value!r})") from None

    @property
    def start_ns(self) -> int:
        """The scenario's t=0 as Unix nanoseconds (the VM clock)."""
        when = dt.datetime.fromisoformat(self.start)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return int(when.timestamp()) * 10**9

    def load_topology(self) -> Topology:
        """The topology this scenario names, with its overrides applied."""
        spec = self.topology
        base = Path(self.base_dir)
        if spec.values is not None:
            topo = load_values(base / spec.values)
        elif spec.manifests is not None:
            topo = load_manifests(base / spec.manifests)
        else:
            topo = reference_topology()
        return _apply_overrides(topo, spec)


def _apply_overrides(topo: Topology, spec: TopologySpec) -> Topology:
    from nassim.topology import ContainerOrder, ExportKind, Sidecar

    servers = list(topo.servers)
    if spec.servers is not None:
        unknown = sorted(set(spec.servers) - set(topo.names))
        if unknown:
            raise ScenarioError(
                f"topology.servers: no server {unknown[0]!r} in the topology (servers: {', '.join(topo.names)})"
            )
        servers = [s for s in servers if s.name in spec.servers]
    out = []
    for s in servers:
        if spec.export is not None:
            s = attrs.evolve(s, export=ExportKind(spec.export))
        if spec.order is not None:
            s = attrs.evolve(s, order=ContainerOrder(spec.order))
        sidecar = s.sidecar
        if sidecar is not None:
            if spec.interval is not None:
                sidecar = attrs.evolve(sidecar, interval=spec.interval)
            if spec.sidecar_args is not None:
                sidecar = attrs.evolve(sidecar, rsync_args=spec.sidecar_args)
            s = attrs.evolve(s, sidecar=sidecar)
            rev = spec.reverse_sidecar
            if rev is not None:
                s = attrs.evolve(
                    s,
                    reverse=Sidecar(rsync_args=rev.args, interval=rev.interval, export_read_only=False, name=rev.name),
                )
        out.append(s)
    return Topology(out)


# --- loading ------------------------------------------------------------------------------

_converter = cattrs.Converter(forbid_extra_keys=True)
for _union, _members in (
    (Workload, (Writer, Deleter, Renamer, WindowsEditor, Reader)),
    (Fault, (PodDelete, ContainerKill, SidecarCrash, MountLoss)),
    (Probe, (SidecarRunningProbe, NoSidecarProbe, NfsToWindowsProbe)),
):
    configure_tagged_union(
        _union,
        _converter,
        tag_name="type",
        tag_generator=lambda cls: attrs.fields(cls).type.default,
    )


def _structure_number(value: Any, cls: type) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number (got {value!r})")
    return cls(value) if cls is float else value


def _structure_int(value: Any, cls: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer (got {value!r})")
    return value


def _structure_str(value: Any, cls: type) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string (got {value!r})")
    return value


def _structure_bool(value: Any, cls: type) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (got {value!r})")
    return value


_converter.register_structure_hook(float, _structure_number)
_converter.register_structure_hook(int, _structure_int)
_converter.register_structure_hook(str, _structure_str)
_converter.register_structure_hook(bool, _structure_bool)


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown field {sorted(exc.extra_fields)[0]!r}"
    if isinstance(exc, KeyError):
        return "required field is missing"
    if typing.get_origin(type_) is Literal:
        got = str(exc).split(" not in literal", 1)[0]
        return f"must be one of {', '.join(repr(a) for a in typing.get_args(type_))} (got {got!r})"
    if isinstance(exc, ValueError | TypeError) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, type_)


def _error_text(exc: BaseException) -> tuple[str, str]:
    """(field path, reason) of the most useful error in a cattrs exception group."""
    msgs = cattrs.transform_error(exc, path="", format_exception=_format)
    # An unknown field is the likeliest slip (a typo), and it explains a "missing" one.
    msgs.sort(key=lambda m: "unknown field" not in m)
    reason, _, where = msgs[0].rpartition(" @ ") if msgs else (str(exc), "", "")
    return where.lstrip("$").lstrip("."), reason


_TAGS = {
    "workloads": {c.__name__: c for c in (Writer, Deleter, Renamer, WindowsEditor, Reader)},
    "faults": {c.__name__: c for c in (PodDelete, ContainerKill, SidecarCrash, MountLoss)},
    "probes": {c.__name__: c for c in (SidecarRunningProbe, NoSidecarProbe, NfsToWindowsProbe)},
}


def _check_tags(data: Mapping[str, Any], source: str) -> None:
    """A wrong ``type:`` in a list item names the valid ones (cattrs would only say "missing")."""
    for field, classes in _TAGS.items():
        items = data.get(field)
        if not isinstance(items, list):
            continue
        valid = [attrs.fields(c).type.default for c in classes.values()]  # type: ignore[attr-defined]
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise ScenarioError(f"{source}: {field}[{i}]: must be a mapping with a 'type' (got {item!r})")
            tag = item.get("type")
            if tag not in valid:
                what = "is missing" if tag is None else f"{tag!r} is not one of"
                raise ScenarioError(f"{source}: {field}[{i}].type: {what} {', '.join(valid)}".replace(
                    "is missing " + ", ".join(valid), "is missing (one of: " + ", ".join(valid) + ")"))


def _suggest(reason: str, where: str) -> str:
    """Add "did you mean" to an unknown field when a known one is close."""
    import difflib

    if not reason.startswith("unknown field "):
        return reason
    name = reason.split("'")[1]
    cls: Any = Scenario
    for step in [p for p in where.replace("]", "").replace("[", ".").split(".") if p and not p.isdigit()]:
        fields = {f.name: f for f in attrs.fields(cls)} if attrs.has(cls) else {}
        f = fields.get(step)
        target = getattr(f, "type", None)
        cls = target if isinstance(target, type) and attrs.has(target) else None
        if cls is None:
            return reason
    known = [f.name for f in attrs.fields(cls) if f.name != "base_dir"]
    close = difflib.get_close_matches(name, known, n=1)
    return f"{reason} (did you mean {close[0]!r}?)" if close else f"{reason} (known: {', '.join(known)})"


def scenario_from_dict(data: object, *, source: str = "<scenario>", base_dir: str = ".") -> Scenario:
    """Build a :class:`Scenario` from plain data (what YAML gives)."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario must be a mapping of fields (got {type(data).__name__})")
    _check_tags(data, source)
    try:
        scenario = _converter.structure({**data, "base_dir": base_dir}, Scenario)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        where, reason = _error_text(exc)
        raise ScenarioError(f"{source}: {where or 'scenario'}: {_suggest(reason, where)}") from None
    _check_names(scenario, source)
    return scenario


def _check_names(s: Scenario, source: str) -> None:
    """Server names in workloads, faults and probes must exist in the topology."""
    try:
        topo = s.load_topology()
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    except NassimError as exc:
        raise ScenarioError(f"{source}: topology: {exc}") from None
    names = set(topo.names)
    for field, items in (("workloads", s.workloads), ("faults", s.faults), ("probes", s.probes)):
        for i, item in enumerate(items):
            wanted: tuple[str, ...] = ()
            servers = getattr(item, "servers", None)
            server = getattr(item, "server", None)
            if servers is not None:
                wanted = tuple(servers)
            elif server is not None:
                wanted = (server,)
            for n in wanted:
                if n not in names:
                    raise ScenarioError(
                        f"{source}: {field}[{i}].{'servers' if servers is not None else 'server'}: "
                        f"no server {n!r} in the topology (servers: {', '.join(sorted(names))})"
                    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read a scenario YAML file; any mistake is a :class:`ScenarioError` naming file, field and reason."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: scenario file not found") from None
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read the scenario file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{p}: invalid YAML{where}: {problem}") from None
    return scenario_from_dict(data, source=str(p), base_dir=str(p.parent))


def dump_scenario(s: Scenario) -> str:
    """The scenario as YAML that :func:`load_scenario` accepts, every default left out
    (at any depth: a replay file shows only what the scenario sets)."""
    return yaml.safe_dump(_slim(s), sort_keys=False)


def _slim(v: Any) -> Any:
    if attrs.has(type(v)):
        out: dict[str, Any] = {}
        for f in attrs.fields(type(v)):
            value = getattr(v, f.name)
            if f.name == "base_dir":
                continue
            default = f.default.factory() if isinstance(f.default, attrs.Factory) else f.default  # type: ignore[arg-type]
            # A tagged union member keeps its `type`; anything else equal to its default goes.
            if f.name != "type" and default is not attrs.NOTHING and value == default:
                continue
            out[f.name] = _slim(value)
        return out
    if isinstance(v, list | tuple):
        return [_slim(x) for x in v]
    return v

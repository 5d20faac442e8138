"""The test bed's topology: which NFS servers run, how each one syncs with Windows.

A :class:`Topology` holds one :class:`Server` per NAS pod. Each server has a
role (:class:`Role`), a Windows folder brought into the Minikube VM by
``minikube mount`` and into the pod by a hostPath volume, an export volume
(``/nfs-data``), a one-shot init container that seeds the export from Windows,
optionally a native sidecar that copies the export back to Windows in a
``while true; rsync ...; sleep N; done`` loop, and the NFS server itself.

Two roads lead to the same object:

- :func:`load_values` reads a Helm values file (``sim/values-multi-nas.yaml``);
- :func:`load_manifests` reads rendered Kubernetes manifests
  (``sim/manifests/multi-nas.yaml``) and recovers the rsync arguments and the
  sleep interval from the containers' shell commands.

The static checks (:func:`static_checks` and the ``check_*`` functions) need
no simulation: they read a topology and return :class:`Finding` objects.
Kubernetes facts they rely on are in ``shared/reference/kubernetes-minikube-nfs.md``
(sections 1, 2 and 6).
"""

from __future__ import annotations

import enum
import math
import os
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

import attrs
import yaml

from nassim.errors import RsyncOptionError, TopologyError
from nassim.finding import Finding
from nassim.rsync.options import RsyncOptions, parse_args

__all__ = [
    "AppContainer",
    "ContainerOrder",
    "ExportKind",
    "Finding",
    "InitContainer",
    "MinikubeVM",
    "Resources",
    "Role",
    "Server",
    "Sidecar",
    "Topology",
    "check_capacity",
    "check_delete_flags",
    "check_sidecar_read_only",
    "check_sidecar_roles",
    "effective_requests",
    "format_cpu",
    "format_memory",
    "load_manifests",
    "load_values",
    "parse_cpu",
    "parse_memory",
    "parse_quantity",
    "reference_topology",
    "static_checks",
]

Ki = 1024
Mi = 1024**2
Gi = 1024**3

#: Where the Windows folders live on the host, and where ``minikube mount`` puts them in the VM.
WINDOWS_ROOT = "C:\\simulator-data"
MOUNT_PATH = "/mnt/simulator-data"
#: Where the test bed's containers mount the export and the Windows folder.
EXPORT_MOUNT = "/nfs-data"
WINDOWS_MOUNT = "/windows-mount"

# ---------------------------------------------------------------------------
# Kubernetes quantities

# The grammar of k8s.io/apimachinery/pkg/api/resource: a decimal number, then
# a binary suffix (Ki..Ei), a decimal suffix (n u m "" k M G T P E) or a
# decimal exponent (e3, E-2). "E" alone is exa; "E3" is an exponent.
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<number>\d+(?:\.\d*)?|\.\d+)"
    r"(?:(?P<exp>[eE][+-]?\d+)|(?P<binary>[KMGTPE]i)|(?P<decimal>[numkMGTPE]))?"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY_EXAMPLES = "e.g. 32Mi, 100m, 0.5, 1Gi, 500M"


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a Kubernetes quantity.

    >>> parse_quantity("32Mi"), parse_quantity("100m"), parse_quantity("1e3")
    (Fraction(33554432, 1), Fraction(1, 10), Fraction(1000, 1))

    YAML turns ``cpu: 0.5`` into a float; numbers are read through their
    decimal text, so ``0.5`` is exactly one half.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TopologyError(f"a quantity must be a string or a number ({_QUANTITY_EXAMPLES}), got {value!r}")
    text = str(value).strip() if not isinstance(value, str) else value
    m = _QUANTITY.fullmatch(text)
    if m is None:
        hint = ""
        if re.fullmatch(r"[+-]?[\d.]+(?:[KMGTPE]B|K|[KMGTPE]iB)", text):
            hint = f"; Kubernetes spells binary units Ki, Mi, Gi and decimal ones k, M, G (e.g. {text[:-1]!r})"
            if text.endswith("iB"):
                hint = f"; Kubernetes spells binary units without the B (e.g. {text[:-1]!r})"
            elif text.endswith("K"):
                hint = f"; Kubernetes spells kilo 'k' (decimal) or 'Ki' (binary), e.g. {text[:-1] + 'Ki'!r}"
        raise TopologyError(f"{text!r} is not a Kubernetes quantity ({_QUANTITY_EXAMPLES}){hint}")
    number = Fraction(m["number"])
    if m["exp"]:
        number *= Fraction(10) ** int(m["exp"][1:])
    elif m["binary"]:
        number *= _BINARY[m["binary"]]
    elif m["decimal"]:
        number *= _DECIMAL[m["decimal"]]
    return -number if m["sign"] == "-" else number


def parse_cpu(value: str | int | float) -> int:
    """CPU millicores of a quantity, rounded up as Kubernetes does (``"0.5"`` -> 500, ``"100m"`` -> 100)."""
    q = parse_quantity(value)
    if q < 0:
        raise TopologyError(f"a CPU request must not be negative (got {value!r})")
    return math.ceil(q * 1000)


def parse_memory(value: str | int | float) -> int:
    """Bytes of a quantity, rounded up as Kubernetes does (``"32Mi"`` -> 33554432, ``"0.5"`` -> 1)."""
    q = parse_quantity(value)
    if q < 0:
        raise TopologyError(f"a memory request must not be negative (got {value!r})")
    return math.ceil(q)


def format_cpu(millis: int) -> str:
    """``850`` -> ``'850m'``, ``2000`` -> ``'2'``."""
    return str(millis // 1000) if millis % 1000 == 0 and millis else f"{millis}m"


def format_memory(n: int) -> str:
    """The shortest exact binary spelling: ``570425344`` -> ``'544Mi'``; else plain bytes."""
    for suffix, size in (("Gi", Gi), ("Mi", Mi), ("Ki", Ki)):
        if n and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


# ---------------------------------------------------------------------------
# The model


class Role(enum.Enum):
    """What a server is for; it decides the rsync flags and whether a sidecar runs."""

    INPUT = "input"  # Windows is the source of truth: the init container mirrors it with --delete
    OUTPUT = "output"  # microservices write results: the sidecar copies them to Windows
    BACKUP = "backup"  # a read-only export seeded from Windows


class ExportKind(enum.Enum):
    """The volume behind ``/nfs-data``: an emptyDir dies with the pod, a persistent one outlives it."""

    EMPTY_DIR = "emptyDir"
    PERSISTENT = "persistent"


class ContainerOrder(enum.Enum):
    """Where the sidecar is declared relative to the init container in ``initContainers``.

    Kubernetes walks ``initContainers`` in order and only waits for a sidecar
    to *start*: listed after the init container, the first upload runs once
    the seed copy has ended; listed before it, both run at the same time.
    """

    INIT_FIRST = "init-first"
    SIDECAR_FIRST = "sidecar-first"


def _nonneg_int(name: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TopologyError(f"'{name}' must be a non-negative int (got {value!r})")

    return check


@attrs.frozen
class Resources:
    """Resource requests: CPU in millicores, memory in bytes."""

    cpu_millis: int = attrs.field(default=0, validator=_nonneg_int("cpu_millis"))
    memory_bytes: int = attrs.field(default=0, validator=_nonneg_int("memory_bytes"))

    @classmethod
    def of(cls, cpu: str | int | float = 0, memory: str | int | float = 0) -> Resources:
        """From Kubernetes quantities: ``Resources.of(cpu="100m", memory="64Mi")``."""
        return cls(parse_cpu(cpu), parse_memory(memory))

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_millis + other.cpu_millis, self.memory_bytes + other.memory_bytes)

    def __str__(self) -> str:
        return f"cpu {format_cpu(self.cpu_millis)}, memory {format_memory(self.memory_bytes)}"


def _args_tuple(value: Any) -> Any:
    # A single string is left alone so that the validator can reject it with a hint.
    return value if isinstance(value, str) else tuple(value)


def _check_rsync_args(instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: Any) -> None:
    if isinstance(value, str):
        raise TopologyError(
            f"'rsync_args' must be a sequence of strings, not one string (got {value!r}); "
            f"split it first, e.g. shlex.split({value!r})"
        )
    parse_args(value)  # raises RsyncOptionError naming the option


def _check_name(instance: object, attribute: attrs.Attribute[str], value: Any) -> None:
    # Container and server names end up in DNS names and paths: Kubernetes wants an RFC 1123 label.
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        raise TopologyError(
            f"'{attribute.name}' must be a lowercase RFC 1123 label such as 'nas-output-1' (got {value!r})"
        )


@attrs.frozen
class AppContainer:
    """The NFS server container (unfs3 exporting ``/nfs-data``)."""

    name: str = attrs.field(default="nfs-server", validator=_check_name)
    resources: Resources = Resources()


@attrs.frozen
class InitContainer:
    """The one-shot seed copy, Windows -> NFS, run at every pod (sandbox) start.

    ``rsync_args`` is the argument list without the program name, e.g.
    ``("-av", "--delete", "/windows-mount/", "/nfs-data/")``.
    """

    rsync_args: tuple[str, ...] = attrs.field(converter=_args_tuple, validator=_check_rsync_args)
    name: str = attrs.field(default="sync-windows-data", validator=_check_name)
    resources: Resources = Resources()

    @property
    def options(self) -> RsyncOptions:
        return parse_args(self.rsync_args)


def _check_interval(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise TopologyError(f"'interval' must be > 0 seconds (got {value!r})")


@attrs.frozen
class Sidecar:
    """The native sidecar (``restartPolicy: Always``) that copies the export to Windows in a loop.

    The loop's real period is ``interval`` plus the duration of each rsync run.
    """

    rsync_args: tuple[str, ...] = attrs.field(
        default=("-av", "/nfs-data/", "/windows-mount/"), converter=_args_tuple, validator=_check_rsync_args
    )
    interval: float = attrs.field(default=30.0, converter=float, validator=_check_interval)
    export_read_only: bool = True
    name: str = attrs.field(default="sync-to-windows", validator=_check_name)
    resources: Resources = Resources()

    @property
    def options(self) -> RsyncOptions:
        return parse_args(self.rsync_args)


@attrs.frozen
class Server:
    """One NAS pod."""

    name: str = attrs.field(validator=_check_name)
    role: Role = attrs.field(converter=Role)
    init: InitContainer
    sidecar: Sidecar | None = None
    nfs: AppContainer = AppContainer()
    # The deferred design: a second native sidecar copying Windows -> NFS in a loop
    # (declared last; its export mount is writable). Set by scenarios, not by the chart.
    reverse: Sidecar | None = None
    export: ExportKind = attrs.field(default=ExportKind.EMPTY_DIR, converter=ExportKind)
    order: ContainerOrder = attrs.field(default=ContainerOrder.INIT_FIRST, converter=ContainerOrder)
    windows_folder: str = attrs.field()
    host_path: str = attrs.field()

    @windows_folder.default
    def _default_windows_folder(self) -> str:
        return f"{WINDOWS_ROOT}\\{self.name}\\"

    @host_path.default
    def _default_host_path(self) -> str:
        return f"{MOUNT_PATH}/{self.name}"

    @property
    def init_containers(self) -> tuple[InitContainer | Sidecar, ...]:
        """``spec.initContainers`` in declaration order (the sidecar is one of them)."""
        extra = (self.reverse,) if self.reverse is not None else ()
        if self.sidecar is None:
            return (self.init, *extra)
        if self.order is ContainerOrder.SIDECAR_FIRST:
            return (self.sidecar, self.init, *extra)
        return (self.init, self.sidecar, *extra)

    @property
    def requests(self) -> Resources:
        """The pod's effective requests, as the scheduler counts them (see :func:`effective_requests`)."""
        inits = [(c.resources, isinstance(c, Sidecar)) for c in self.init_containers]
        return effective_requests(inits, [self.nfs.resources])

    @classmethod
    def reference(cls, name: str, role: Role | str, interval: float = 30.0) -> Server:
        """A server as the reference test bed runs it (DESIGN.md, section 1)."""
        role = Role(role)
        init_args = ["-av", "/windows-mount/", "/nfs-data/"]
        if role is Role.INPUT:
            init_args.insert(1, "--delete")
        sidecar = None
        if role is Role.OUTPUT:
            sidecar = Sidecar(interval=interval, resources=Resources.of("50m", "32Mi"))
        return cls(
            name=name,
            role=role,
            init=InitContainer(tuple(init_args), resources=Resources.of("100m", "64Mi")),
            sidecar=sidecar,
            nfs=AppContainer(resources=Resources.of("100m", "64Mi")),
        )


def _servers_tuple(value: Iterable[Server]) -> tuple[Server, ...]:
    return tuple(value)


def _check_servers(instance: object, attribute: attrs.Attribute[tuple[Server, ...]], value: Any) -> None:
    seen: set[str] = set()
    for i, server in enumerate(value):
        if not isinstance(server, Server):
            raise TopologyError(f"'servers[{i}]' must be a Server (got {type(server).__name__})")
        if server.name in seen:
            raise TopologyError(f"'servers[{i}]': server name {server.name!r} appears twice")
        seen.add(server.name)


@attrs.frozen
class Topology:
    """The NAS servers of one test bed."""

    servers: tuple[Server, ...] = attrs.field(converter=_servers_tuple, validator=_check_servers)

    def __iter__(self) -> Iterator[Server]:
        return iter(self.servers)

    def __len__(self) -> int:
        return len(self.servers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.servers)

    def server(self, name: str) -> Server:
        for s in self.servers:
            if s.name == name:
                return s
        raise KeyError(f"no server {name!r} in the topology (servers: {', '.join(self.names)})")

    def with_role(self, role: Role | str) -> tuple[Server, ...]:
        role = Role(role)
        return tuple(s for s in self.servers if s.role is role)

    @property
    def requests(self) -> Resources:
        """The sum of the pods' effective requests."""
        total = Resources()
        for s in self.servers:
            total += s.requests
        return total


def reference_topology(interval: float = 30.0) -> Topology:
    """The seven-server test bed of DESIGN.md: nas-input-1..3, nas-output-1..3, nas-backup."""
    names = [(f"nas-input-{i}", Role.INPUT) for i in (1, 2, 3)]
    names += [(f"nas-output-{i}", Role.OUTPUT) for i in (1, 2, 3)]
    names += [("nas-backup", Role.BACKUP)]
    return Topology([Server.reference(n, r, interval) for n, r in names])


# ---------------------------------------------------------------------------
# Resources: the Kubernetes rule and the Minikube VM


def effective_requests(
    init_containers: Sequence[tuple[Resources, bool]], app_containers: Sequence[Resources]
) -> Resources:
    """A pod's effective requests under the native-sidecar rule (KEP-753, "Resources calculation").

    ``init_containers`` lists ``spec.initContainers`` in declaration order, each
    as ``(requests, is_sidecar)``. Per resource::

        max( max_i(init_i + sum of sidecars declared before i),
             sum(sidecars) + sum(app containers) )

    A regular init container runs alone beside the sidecars started before
    it; sidecars keep running beside the app containers, so they count on top
    of them. (Pod overhead, zero without a RuntimeClass, is left out.)
    """

    def one(pick: Callable[[Resources], int]) -> int:
        sidecars = 0
        peak = 0
        for res, is_sidecar in init_containers:
            peak = max(peak, sidecars + pick(res))
            if is_sidecar:
                sidecars += pick(res)
        return max(peak, sidecars + sum(pick(r) for r in app_containers))

    return Resources(one(lambda r: r.cpu_millis), one(lambda r: r.memory_bytes))


@attrs.frozen
class MinikubeVM:
    """The single Minikube node, with defaults from ``minikube start`` and kubeadm.

    - ``cpus``: ``minikube start --cpus`` defaults to 2.
    - ``memory_bytes``: minikube suggests 25 % of host RAM clamped to
      [3072, 6144] MB; 3072 is what a small laptop gets.
    - ``eviction_memory``: the kubelet's hard eviction threshold
      ``memory.available<100Mi`` comes off the allocatable memory.
    - ``system_requests``: the control plane's own requests on the node:
      kube-apiserver 250m, controller-manager 200m, scheduler 100m,
      etcd 100m/100Mi, CoreDNS 100m/70Mi.
    """

    cpus: int = 2
    memory_bytes: int = 3072 * Mi
    eviction_memory: int = 100 * Mi
    system_requests: Resources = Resources(750, 170 * Mi)

    @property
    def allocatable(self) -> Resources:
        return Resources(self.cpus * 1000, max(0, self.memory_bytes - self.eviction_memory))

    @property
    def available(self) -> Resources:
        """What is left for user pods once the control plane's requests are placed."""
        a, s = self.allocatable, self.system_requests
        return Resources(max(0, a.cpu_millis - s.cpu_millis), max(0, a.memory_bytes - s.memory_bytes))


# ---------------------------------------------------------------------------
# Static checks


def check_sidecar_roles(topology: Topology) -> list[Finding]:
    """A sidecar runs on every output server and on no other."""
    out: list[Finding] = []
    for s in topology:
        if s.role is Role.OUTPUT and s.sidecar is None:
            out.append(
                Finding(
                    "sidecar-missing",
                    s.name,
                    "output server has no sync-to-windows sidecar: results written to its export "
                    "reach Windows only if something else copies them",
                )
            )
        elif s.role is not Role.OUTPUT and s.sidecar is not None:
            out.append(
                Finding(
                    "sidecar-unexpected",
                    s.name,
                    f"{s.role.value} server runs sidecar {s.sidecar.name!r}: only output servers "
                    "sync their export back to Windows",
                )
            )
    return out


def check_delete_flags(topology: Topology) -> list[Finding]:
    """``--delete`` appears on the init containers of input servers, and nowhere else."""
    out: list[Finding] = []
    for s in topology:
        if s.role is Role.INPUT and s.init.options.delete is None:
            out.append(
                Finding(
                    "delete-missing",
                    s.name,
                    f"input server's init container {s.init.name!r} runs without --delete: files removed "
                    "from Windows stay in the export, which then differs from its source of truth",
                )
            )
        elif s.role is not Role.INPUT and s.init.options.delete is not None:
            out.append(
                Finding(
                    "delete-outside-input",
                    s.name,
                    f"{s.role.value} server's init container {s.init.name!r} runs with --delete: "
                    "files written to the export and not yet on Windows are deleted at every pod start",
                )
            )
        if s.sidecar is not None and s.sidecar.options.delete is not None:
            out.append(
                Finding(
                    "delete-outside-input",
                    s.name,
                    f"sidecar {s.sidecar.name!r} runs with --delete: every Windows file missing from the "
                    "export (e.g. after a pod restart empties it) is deleted from Windows",
                )
            )
    return out


def check_sidecar_read_only(topology: Topology) -> list[Finding]:
    """The sidecar mounts the export read-only, so it can never write back into it."""
    return [
        Finding(
            "sidecar-export-writable",
            s.name,
            f"sidecar {s.sidecar.name!r} mounts the export read-write: a misdirected rsync could write "
            "Windows content back into it (set readOnly: true on its /nfs-data mount)",
        )
        for s in topology
        if s.sidecar is not None and not s.sidecar.export_read_only
    ]


def check_capacity(topology: Topology, vm: MinikubeVM | None = None, other: Resources | None = None) -> list[Finding]:
    """The pods' effective requests, plus ``other`` (say, the microservices), fit the VM.

    The scheduler counts requests, not usage: a pod that does not fit stays
    ``Pending`` with "Insufficient cpu" or "Insufficient memory".
    """
    vm = vm or MinikubeVM()
    need = topology.requests + (other or Resources())
    room = vm.available
    out: list[Finding] = []
    rows = (
        (
            "cpu",
            format_cpu,
            need.cpu_millis,
            room.cpu_millis,
            vm.allocatable.cpu_millis,
            vm.system_requests.cpu_millis,
        ),
        (
            "memory",
            format_memory,
            need.memory_bytes,
            room.memory_bytes,
            vm.allocatable.memory_bytes,
            vm.system_requests.memory_bytes,
        ),
    )
    for label, fmt, need_v, room_v, alloc_v, system_v in rows:
        if need_v > room_v:
            out.append(
                Finding(
                    f"insufficient-{label}",
                    None,
                    f"the pods request {fmt(need_v)} {label} but the Minikube VM has {fmt(room_v)} left "
                    f"(allocatable {fmt(alloc_v)} minus the control plane's {fmt(system_v)}): "
                    "some pods will stay Pending",
                )
            )
    return out


def static_checks(topology: Topology, vm: MinikubeVM | None = None, other: Resources | None = None) -> list[Finding]:
    """Every static check, in a stable order."""
    return [
        *check_sidecar_roles(topology),
        *check_delete_flags(topology),
        *check_sidecar_read_only(topology),
        *check_capacity(topology, vm, other),
    ]


# ---------------------------------------------------------------------------
# Loading helpers


class _Ctx:
    """Where we are in a file, to build error messages: ``FILE: [CONTEXT: ]PATH: REASON``."""

    def __init__(self, file: str, context: str = "") -> None:
        self.file = file
        self.context = context

    def fail(self, path: str, reason: str) -> NoReturn:
        where = ": ".join(p for p in (self.file, self.context, path) if p)
        raise TopologyError(f"{where}: {reason}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _read_yaml(path: str | os.PathLike[str], multi: bool) -> tuple[str, list[Any]]:
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise TopologyError(f"{file}: is a directory, not a YAML file") from None
    except UnicodeDecodeError as exc:
        raise TopologyError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise TopologyError(f"{file}: cannot read the file: {exc.strerror}") from None
    try:
        docs = list(yaml.safe_load_all(text)) if multi else [yaml.safe_load(text)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise TopologyError(f"{file}: invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise TopologyError(f"{file}: invalid YAML: {exc}") from None
    return file, docs


def _mapping(ctx: _Ctx, value: Any, path: str, known: Sequence[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        ctx.fail(path or "(top level)", f"expected a mapping, got {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            ctx.fail(path or "(top level)", f"keys must be strings (got {key!r})")
        if known is not None and key not in known:
            ctx.fail(_join(path, key), f"unknown field (known: {', '.join(known)})")
    return value


def _list(ctx: _Ctx, value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        ctx.fail(path, f"expected a list, got {_kind(value)}")
    return value


def _str(ctx: _Ctx, value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        ctx.fail(path, f"expected a non-empty string, got {_kind(value)} {value!r}")
    return value


def _bool(ctx: _Ctx, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        ctx.fail(path, f"expected true or false, got {_kind(value)} {value!r}")
    return value


def _name(ctx: _Ctx, value: Any, path: str) -> str:
    name = _str(ctx, value, path)
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name):
        ctx.fail(path, f"{name!r} is not a lowercase RFC 1123 label such as 'nas-output-1'")
    return name


def _enum(ctx: _Ctx, value: Any, path: str, cls: type[enum.Enum]) -> Any:
    choices = [m.value for m in cls]
    if value not in choices:
        ctx.fail(path, f"expected one of {', '.join(choices)} (got {value!r})")
    return cls(value)


def _interval(ctx: _Ctx, value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        ctx.fail(path, f"expected a positive number of seconds, got {_kind(value)} {value!r}")
    return float(value)


def _requests(ctx: _Ctx, value: Any, path: str) -> Resources:
    """A container's ``resources`` block; only ``requests`` counts (limits are not scheduled on)."""
    block = _mapping(ctx, value, path, ("requests", "limits", "claims"))
    requests = _mapping(ctx, block.get("requests", {}), _join(path, "requests"))
    cpu, memory = 0, 0
    for key, raw in requests.items():
        where = _join(_join(path, "requests"), key)
        try:
            if key == "cpu":
                cpu = parse_cpu(raw)
            elif key == "memory":
                memory = parse_memory(raw)
            else:
                parse_quantity(raw)  # ephemeral-storage, hugepages, ...: checked, not modelled
        except TopologyError as exc:
            ctx.fail(where, str(exc))
    return Resources(cpu, memory)


def _rsync_args(ctx: _Ctx, value: Any, path: str) -> tuple[str, ...]:
    items = _list(ctx, value, path)
    args = tuple(_str(ctx, a, _join(path, i)) for i, a in enumerate(items))
    try:
        parse_args(args)
    except RsyncOptionError as exc:
        ctx.fail(path, str(exc))
    return args


# ---------------------------------------------------------------------------
# Helm values

_VALUES_KEYS = ("image", "windows", "exportVolume", "nfsServer", "initSync", "sidecar", "servers")
_SERVER_KEYS = ("name", "role", "windowsFolder", "hostPath", "exportVolume", "sidecar")


def load_values(path: str | os.PathLike[str]) -> Topology:
    """The topology described by a Helm values file (the shape of ``sim/values-multi-nas.yaml``).

    Blocks left out take the chart's defaults (the reference test bed), as
    ``helm install -f`` merges a values file over the chart's own values.
    Raises :class:`~nassim.errors.TopologyError` naming the file, the field
    path (e.g. ``servers[2].role``) and the reason.
    """
    file, (doc,) = _read_yaml(path, multi=False)
    ctx = _Ctx(file)
    if doc is None:
        ctx.fail("", "the file is empty; expected a mapping with at least a 'servers' list")
    top = _mapping(ctx, doc, "", _VALUES_KEYS)

    _mapping(ctx, top.get("image", {}), "image")  # for the chart's templates; nothing to model

    windows = _mapping(ctx, top.get("windows", {}), "windows", ("hostRoot", "mountPath"))
    host_root = _str(ctx, windows.get("hostRoot", WINDOWS_ROOT), "windows.hostRoot").rstrip("\\")
    mount_path = _str(ctx, windows.get("mountPath", MOUNT_PATH), "windows.mountPath").rstrip("/")
    export = _enum(ctx, top.get("exportVolume", "emptyDir"), "exportVolume", ExportKind)

    nfs_block = _mapping(ctx, top.get("nfsServer", {}), "nfsServer", ("name", "resources"))
    nfs = AppContainer(
        name=_name(ctx, nfs_block.get("name", "nfs-server"), "nfsServer.name"),
        resources=_requests(ctx, nfs_block.get("resources", {}), "nfsServer.resources"),
    )

    init_block = _mapping(ctx, top.get("initSync", {}), "initSync", ("name", "args", "resources"))
    init_name = _name(ctx, init_block.get("name", "sync-windows-data"), "initSync.name")
    init_resources = _requests(ctx, init_block.get("resources", {}), "initSync.resources")
    default_init_args: dict[str, Any] = {
        "input": ["-av", "--delete", "/windows-mount/", "/nfs-data/"],
        "output": ["-av", "/windows-mount/", "/nfs-data/"],
        "backup": ["-av", "/windows-mount/", "/nfs-data/"],
    }
    args_block = _mapping(ctx, init_block.get("args", {}), "initSync.args", [r.value for r in Role])
    init_args = {
        role: _rsync_args(ctx, args_block.get(role.value, default_init_args[role.value]), f"initSync.args.{role.value}")
        for role in Role
    }

    sc_block = _mapping(
        ctx,
        top.get("sidecar", {}),
        "sidecar",
        ("enabled", "name", "roles", "interval", "args", "readOnlyExport", "order", "resources"),
    )
    sc_enabled = _bool(ctx, sc_block.get("enabled", True), "sidecar.enabled")
    sc_roles = {
        _enum(ctx, r, f"sidecar.roles[{i}]", Role)
        for i, r in enumerate(_list(ctx, sc_block.get("roles", ["output"]), "sidecar.roles"))
    }
    sc_interval = _interval(ctx, sc_block.get("interval", 30), "sidecar.interval")
    sc_name = _name(ctx, sc_block.get("name", "sync-to-windows"), "sidecar.name")
    sc_args = _rsync_args(ctx, sc_block.get("args", ["-av", "/nfs-data/", "/windows-mount/"]), "sidecar.args")
    sc_read_only = _bool(ctx, sc_block.get("readOnlyExport", True), "sidecar.readOnlyExport")
    order = _enum(ctx, sc_block.get("order", "init-first"), "sidecar.order", ContainerOrder)
    sc_resources = _requests(ctx, sc_block.get("resources", {}), "sidecar.resources")

    if "servers" not in top:
        ctx.fail("servers", "missing; list the NAS servers, e.g. servers: [{name: nas-output-1, role: output}]")
    raw_servers = top["servers"]
    entries: list[tuple[str, dict[str, Any], Any]] = []
    if isinstance(raw_servers, dict):
        # servers: {nas-input-1: {role: input}, ...}
        for key, body in raw_servers.items():
            spath = _join("servers", str(key))
            body = _mapping(ctx, {} if body is None else body, spath, _SERVER_KEYS[1:])
            entries.append((spath, body, key))
    else:
        for i, body in enumerate(_list(ctx, raw_servers, "servers")):
            spath = f"servers[{i}]"
            body = _mapping(ctx, body, spath, _SERVER_KEYS)
            if "name" not in body:
                ctx.fail(spath, "missing field 'name'")
            entries.append((spath, body, body["name"]))
    if not entries:
        ctx.fail("servers", "empty; the test bed needs at least one server")

    servers: list[Server] = []
    seen: dict[str, str] = {}
    for spath, body, raw_name in entries:
        name = _name(ctx, raw_name, _join(spath, "name") if "name" in body else spath)
        if name in seen:
            ctx.fail(_join(spath, "name"), f"server {name!r} is already defined at {seen[name]}")
        seen[name] = spath
        if "role" not in body:
            ctx.fail(spath, "missing field 'role' (one of input, output, backup)")
        role = _enum(ctx, body["role"], _join(spath, "role"), Role)
        own_sc = _mapping(ctx, body.get("sidecar", {}), _join(spath, "sidecar"), ("enabled", "interval"))
        has_sidecar = _bool(
            ctx, own_sc.get("enabled", sc_enabled and role in sc_roles), _join(spath, "sidecar.enabled")
        )
        sidecar = None
        if has_sidecar:
            sidecar = Sidecar(
                rsync_args=sc_args,
                interval=_interval(ctx, own_sc.get("interval", sc_interval), _join(spath, "sidecar.interval")),
                export_read_only=sc_read_only,
                name=sc_name,
                resources=sc_resources,
            )
        servers.append(
            Server(
                name=name,
                role=role,
                init=InitContainer(init_args[role], name=init_name, resources=init_resources),
                sidecar=sidecar,
                nfs=nfs,
                export=_enum(ctx, body.get("exportVolume", export.value), _join(spath, "exportVolume"), ExportKind),
                order=order,
                windows_folder=_str(
                    ctx, body.get("windowsFolder", f"{host_root}\\{name}\\"), _join(spath, "windowsFolder")
                ),
                host_path=_str(ctx, body.get("hostPath", f"{mount_path}/{name}"), _join(spath, "hostPath")),
            )
        )
    return Topology(servers)


# ---------------------------------------------------------------------------
# Rendered manifests

_WORKLOADS = {"Pod", "Deployment", "StatefulSet"}
_SHELLS = {"sh", "bash", "ash", "dash", "busybox"}
# Words that may open a simple command without being the program it runs.
_PREFIX_WORDS = {"if", "then", "else", "elif", "while", "until", "do", "!", "{", "exec", "command", "time"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
_PUNCTUATION = "();<>|&\n"
_VARIABLE = re.compile(
    r"\$(?:(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\})"
)
_SLEEP = re.compile(r"(?P<n>\d+(?:\.\d*)?|\.\d+)(?P<unit>[smhd]?)")


def _simple_commands(script: str) -> list[list[str]]:
    """Split a shell script into simple commands (argument lists), shlex-style.

    Good enough for the loops charts write: separators (``;``, ``&&``, ``|``,
    newlines, parentheses of ``$(...)``) end a command, redirections and
    their targets are dropped, leading keywords (``while``, ``do``, ``exec``)
    and ``NAME=value`` assignments are skipped.
    """
    script = re.sub(r"\\\n", " ", script)  # line continuations
    # The fd of a redirection (the 2 of 2>&1) touches its operator; a word before a space does not
    # (the 30 of `sleep 30 >/dev/null`). shlex cannot tell them apart afterwards, so drop fds now.
    script = re.sub(r"(?<=\s)\d+(?=[<>])", "", script)
    lexer = shlex.shlex(script, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace = " \t\r"  # newlines end commands: keep them as punctuation
    lexer.whitespace_split = True
    commands: list[list[str]] = []
    current: list[str] = []
    skip_next = False
    for token in lexer:
        if token and all(c in _PUNCTUATION for c in token):
            if "<" in token or ">" in token:
                skip_next = True  # the redirection's target
                continue
            commands.append(current)
            current = []
            continue
        if skip_next:
            skip_next = False
            continue
        if not current and (token in _PREFIX_WORDS or _ASSIGNMENT.fullmatch(token)):
            continue
        current.append(token)
    commands.append(current)
    return [c for c in commands if c]


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


@attrs.frozen
class _Command:
    """What a container's command does, as far as the topology cares."""

    rsync: tuple[tuple[str, ...], ...]
    sleeps: tuple[tuple[str, ...], ...]


def _parse_command(ctx: _Ctx, path: str, argv: list[str]) -> _Command:
    # `sh -c SCRIPT` (or -ec, -xc, ...): the script is the next argument.
    if len(argv) >= 3 and _program(argv[0]) in _SHELLS and argv[1].startswith("-") and "c" in argv[1]:
        try:
            commands = _simple_commands(argv[2])
        except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
            ctx.fail(path, f"cannot split the shell script into words: {exc}")
    else:
        commands = [argv]
    return _Command(
        rsync=tuple(tuple(c[1:]) for c in commands if _program(c[0]) == "rsync"),
        sleeps=tuple(tuple(c[1:]) for c in commands if _program(c[0]) == "sleep"),
    )


def _resolve(ctx: _Ctx, path: str, word: str, env: Mapping[str, str | None]) -> str:
    """Expand ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` from the container's env."""

    def sub(m: re.Match[str]) -> str:
        name = m["plain"] or m["name"]
        value = env.get(name)
        if value is None:
            if m["default"] is not None:
                return m["default"]
            if name in env:
                ctx.fail(
                    path,
                    f"${name} comes from valueFrom, which nassim cannot resolve; give it a literal value",
                )
            ctx.fail(path, f"${name} is not set in the container's env")
        return value

    return _VARIABLE.sub(sub, word)


def _sleep_seconds(ctx: _Ctx, path: str, args: tuple[str, ...], env: Mapping[str, str | None]) -> float:
    if len(args) != 1:
        ctx.fail(path, f"expected one sleep argument, got {' '.join(args) or 'none'!r}")
    text = _resolve(ctx, path, args[0], env)
    m = _SLEEP.fullmatch(text)
    if m is None:
        ctx.fail(path, f"sleep {args[0]} resolves to {text!r}, which is not a number of seconds")
    seconds = float(m["n"]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m["unit"]]
    if seconds <= 0:
        ctx.fail(path, f"sleep {args[0]} resolves to {text!r}: the interval must be > 0 seconds")
    return seconds


def _under(path: str, mount: str) -> bool:
    mount = mount.rstrip("/") or "/"
    return path == mount or path.startswith(mount if mount == "/" else mount + "/")


def _mount_for(mounts: list[dict[str, Any]], path: str) -> dict[str, Any] | None:
    best: dict[str, Any] | None = None
    for m in mounts:
        mp = m.get("mountPath")
        if isinstance(mp, str) and _under(path, mp) and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    return best


def _pod_spec(ctx: _Ctx, doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if doc["kind"] == "Pod":
        return "spec", _mapping(ctx, doc.get("spec"), "spec")
    spec = _mapping(ctx, doc.get("spec"), "spec")
    replicas = spec.get("replicas", 1)
    if replicas != 1:
        ctx.fail("spec.replicas", f"must be 1 (got {replicas!r}): the model runs one pod per NAS server")
    template = _mapping(ctx, spec.get("template"), "spec.template")
    return "spec.template.spec", _mapping(ctx, template.get("spec"), "spec.template.spec")


def _documents(ctx: _Ctx, docs: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        path = f"document {i + 1}"
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            ctx.fail(path, f"expected a Kubernetes object (a mapping with apiVersion and kind), got {_kind(doc)}")
        if doc["kind"] == "List":
            for j, item in enumerate(_list(ctx, doc.get("items"), f"{path}: items")):
                if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
                    ctx.fail(f"{path}: items[{j}]", f"expected a Kubernetes object, got {_kind(item)}")
                yield i, item
        else:
            yield i, doc


def load_manifests(
    path: str | os.PathLike[str],
    *,
    windows_root: str = WINDOWS_ROOT,
    mount_path: str = MOUNT_PATH,
    role_label: str = "nas-role",
) -> Topology:
    """The topology described by rendered manifests (``helm template`` output, ``kubectl get -o yaml``).

    Each Pod, Deployment or StatefulSet is one server, named by
    ``metadata.name``, its role taken from the ``role_label`` label. In its
    pod spec: the native sidecar is the init container with
    ``restartPolicy: Always``; the other init container is the seed copy; the
    one app container is the NFS server. Each container's command (``sh -c
    SCRIPT`` or a plain argument list) is split with :mod:`shlex` to find the
    ``rsync`` arguments and, for the sidecar, the ``sleep`` interval (a
    literal, or ``$VAR``/``${VAR}`` from the container's ``env``). The export
    is the volume the init container writes to; the Windows folder is the
    hostPath the init container reads from, mapped back through the
    ``minikube mount`` of ``windows_root`` at ``mount_path``. Other kinds
    (Services, ConfigMaps) are ignored.
    """
    file, docs = _read_yaml(path, multi=True)
    ctx = _Ctx(file)
    servers: list[Server] = []
    seen: dict[str, str] = {}
    for i, doc in _documents(ctx, docs):
        if doc["kind"] not in _WORKLOADS:
            continue
        meta = _mapping(ctx, doc.get("metadata"), f"document {i + 1}: metadata")
        name = _name(ctx, meta.get("name"), f"document {i + 1}: metadata.name")
        where = f"{doc['kind']} {name} (document {i + 1})"
        if name in seen:
            ctx.fail(where, f"a second workload named {name!r} (the first is {seen[name]})")
        seen[name] = where
        servers.append(
            _server_from_workload(
                _Ctx(file, where), doc, name, windows_root.rstrip("\\"), mount_path.rstrip("/"), role_label
            )
        )
    if not servers:
        ctx.fail("", "no Pod, Deployment or StatefulSet found")
    return Topology(servers)


def _container_env(ctx: _Ctx, c: dict[str, Any], path: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    for j, item in enumerate(_list(ctx, c.get("env", []), _join(path, "env"))):
        item = _mapping(ctx, item, _join(_join(path, "env"), j))
        key = _str(ctx, item.get("name"), _join(_join(_join(path, "env"), j), "name"))
        value = item.get("value")
        env[key] = None if value is None else str(value)
    return env


def _argv(ctx: _Ctx, c: dict[str, Any], path: str) -> list[str]:
    argv: list[str] = []
    for field in ("command", "args"):
        items = _list(ctx, c.get(field, []), _join(path, field))
        argv += [_str(ctx, a, _join(_join(path, field), k)) for k, a in enumerate(items)]
    if not argv:
        ctx.fail(path, "has neither command nor args; nassim needs the rsync command spelled out")
    return argv


def _one_rsync(ctx: _Ctx, path: str, cmd: _Command) -> tuple[str, ...]:
    if len(cmd.rsync) != 1:
        found = "no rsync command" if not cmd.rsync else f"{len(cmd.rsync)} rsync commands"
        ctx.fail(path, f"expected exactly one rsync command, found {found}")
    args = cmd.rsync[0]
    try:
        parse_args(args)
    except RsyncOptionError as exc:
        ctx.fail(path, str(exc))
    return args


def _server_from_workload(
    ctx: _Ctx, doc: dict[str, Any], name: str, windows_root: str, mount_path: str, role_label: str
) -> Server:
    meta = doc["metadata"]
    spec_path, spec = _pod_spec(ctx, doc)
    labels = _mapping(ctx, meta.get("labels", {}), "metadata.labels")
    if role_label not in labels and doc["kind"] != "Pod":
        template_meta = _mapping(ctx, doc["spec"]["template"].get("metadata", {}), "spec.template.metadata")
        labels = _mapping(ctx, template_meta.get("labels", {}), "spec.template.metadata.labels")
    if role_label not in labels:
        ctx.fail(
            f"metadata.labels.{role_label}",
            "missing; label each workload with its role (input, output or backup)",
        )
    role = _enum(ctx, labels[role_label], f"metadata.labels.{role_label}", Role)

    volumes: dict[str, dict[str, Any]] = {}
    volume_paths: dict[str, str] = {}
    for j, v in enumerate(_list(ctx, spec.get("volumes", []), _join(spec_path, "volumes"))):
        v = _mapping(ctx, v, f"{spec_path}.volumes[{j}]")
        vname = _str(ctx, v.get("name"), f"{spec_path}.volumes[{j}].name")
        volumes[vname] = v
        volume_paths[vname] = f"{spec_path}.volumes[{j}]"
    claim_templates: set[str] = set()
    if doc["kind"] == "StatefulSet":
        for j, t in enumerate(_list(ctx, doc["spec"].get("volumeClaimTemplates", []), "spec.volumeClaimTemplates")):
            t = _mapping(ctx, t, f"spec.volumeClaimTemplates[{j}]")
            meta_t = _mapping(ctx, t.get("metadata"), f"spec.volumeClaimTemplates[{j}].metadata")
            claim_templates.add(_str(ctx, meta_t.get("name"), f"spec.volumeClaimTemplates[{j}].metadata.name"))

    init_path = _join(spec_path, "initContainers")
    regular: list[tuple[int, str, dict[str, Any]]] = []
    sidecars: list[tuple[int, str, dict[str, Any]]] = []
    for j, c in enumerate(_list(ctx, spec.get("initContainers", []), init_path)):
        cpath = f"{init_path}[{j}]"
        c = _mapping(ctx, c, cpath)
        policy = c.get("restartPolicy")
        if policy not in (None, "Always"):
            ctx.fail(
                _join(cpath, "restartPolicy"),
                f"only 'Always' is allowed on an init container (got {policy!r})",
            )
        (sidecars if policy == "Always" else regular).append((j, cpath, c))
    if len(regular) != 1:
        ctx.fail(
            init_path,
            f"expected exactly one regular init container (the seed copy), found {len(regular)}",
        )
    if len(sidecars) > 1:
        ctx.fail(init_path, f"expected at most one native sidecar (restartPolicy: Always), found {len(sidecars)}")
    apps = _list(ctx, spec.get("containers"), _join(spec_path, "containers"))
    if len(apps) != 1:
        ctx.fail(
            _join(spec_path, "containers"),
            f"expected exactly one container (the NFS server), found {len(apps)}",
        )
    app_path = _join(spec_path, "containers[0]")
    app = _mapping(ctx, apps[0], app_path)

    def label(cpath: str, c: dict[str, Any]) -> str:
        return f"{cpath} ({c['name']})" if isinstance(c.get("name"), str) else cpath

    def mounts(cpath: str, c: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for k, m in enumerate(_list(ctx, c.get("volumeMounts", []), _join(cpath, "volumeMounts"))):
            mpath = f"{cpath}.volumeMounts[{k}]"
            m = _mapping(ctx, m, mpath)
            _str(ctx, m.get("name"), _join(mpath, "name"))
            _str(ctx, m.get("mountPath"), _join(mpath, "mountPath"))
            _bool(ctx, m.get("readOnly", False), _join(mpath, "readOnly"))
            out.append(m)
        return out

    # The seed copy: Windows (hostPath) -> export.
    j_init, ipath, ic = regular[0]
    init_name = _name(ctx, ic.get("name"), _join(ipath, "name"))
    init_cmd_path = f"{label(ipath, ic)}.command"
    init_args = _one_rsync(ctx, init_cmd_path, _parse_command(ctx, init_cmd_path, _argv(ctx, ic, ipath)))
    init_opts = parse_args(init_args)
    if init_opts.source is None or init_opts.destination is None:
        ctx.fail(init_cmd_path, "rsync needs a source and a destination")
    init_mounts = mounts(ipath, ic)
    src_mount = _mount_for(init_mounts, init_opts.source)
    dst_mount = _mount_for(init_mounts, init_opts.destination)
    if src_mount is None:
        ctx.fail(f"{label(ipath, ic)}.volumeMounts", f"no volume is mounted at the rsync source {init_opts.source}")
    if dst_mount is None:
        ctx.fail(
            f"{label(ipath, ic)}.volumeMounts",
            f"no volume is mounted at the rsync destination {init_opts.destination}",
        )
    windows_volume = volumes.get(src_mount.get("name", ""))
    if windows_volume is None or not isinstance(windows_volume.get("hostPath"), dict):
        ctx.fail(
            f"{spec_path}.volumes",
            f"the init container reads {init_opts.source} from volume {src_mount.get('name')!r}, "
            "which must be a hostPath volume (the minikube mount of the Windows folder)",
        )
    host_path = _str(ctx, windows_volume["hostPath"].get("path"), f"{volume_paths[src_mount['name']]}.hostPath.path")
    if not _under(host_path, mount_path) or host_path.rstrip("/") == mount_path:
        ctx.fail(
            f"{volume_paths[src_mount['name']]}.hostPath.path",
            f"{host_path!r} is not under the minikube mount '{mount_path}' of '{windows_root}'; "
            "pass load_manifests(..., mount_path=..., windows_root=...) to say where Windows is mounted",
        )
    rel = host_path.rstrip("/")[len(mount_path) + 1 :]
    windows_folder = windows_root + "\\" + rel.replace("/", "\\") + "\\"
    export_name = dst_mount.get("name", "")
    export_volume = volumes.get(export_name)
    if export_volume is not None and "emptyDir" in export_volume:
        export = ExportKind.EMPTY_DIR
    elif export_name in claim_templates or (
        export_volume is not None and ("persistentVolumeClaim" in export_volume or "hostPath" in export_volume)
    ):
        export = ExportKind.PERSISTENT
    else:
        ctx.fail(
            f"{spec_path}.volumes",
            f"the export volume {export_name!r} (where the init container writes {init_opts.destination}) "
            "must be an emptyDir, a persistentVolumeClaim or a hostPath",
        )

    init = InitContainer(
        init_args,
        name=init_name,
        resources=_requests(ctx, ic.get("resources", {}), _join(ipath, "resources")),
    )

    sidecar = None
    order = ContainerOrder.INIT_FIRST
    if sidecars:
        j_sc, spath, sc = sidecars[0]
        sc_name = _name(ctx, sc.get("name"), _join(spath, "name"))
        sc_cmd_path = f"{label(spath, sc)}.command"
        cmd = _parse_command(ctx, sc_cmd_path, _argv(ctx, sc, spath))
        sc_args = _one_rsync(ctx, sc_cmd_path, cmd)
        if len(cmd.sleeps) != 1:
            ctx.fail(sc_cmd_path, f"expected exactly one sleep command in the sync loop, found {len(cmd.sleeps)}")
        interval = _sleep_seconds(ctx, sc_cmd_path, cmd.sleeps[0], _container_env(ctx, sc, spath))
        sc_opts = parse_args(sc_args)
        if sc_opts.source is None:
            ctx.fail(sc_cmd_path, "rsync needs a source and a destination")
        sc_src_mount = _mount_for(mounts(spath, sc), sc_opts.source)
        if sc_src_mount is None:
            ctx.fail(
                f"{label(spath, sc)}.volumeMounts",
                f"no volume is mounted at the rsync source {sc_opts.source}",
            )
        if sc_src_mount.get("name") != export_name:
            ctx.fail(
                f"{label(spath, sc)}.volumeMounts",
                f"the sidecar reads {sc_opts.source} from volume {sc_src_mount.get('name')!r}, "
                f"not from the export {export_name!r}",
            )
        read_only: bool = sc_src_mount.get("readOnly", False)
        sidecar = Sidecar(
            rsync_args=sc_args,
            interval=interval,
            export_read_only=read_only,
            name=sc_name,
            resources=_requests(ctx, sc.get("resources", {}), _join(spath, "resources")),
        )
        order = ContainerOrder.SIDECAR_FIRST if j_sc < j_init else ContainerOrder.INIT_FIRST

    return Server(
        name=name,
        role=role,
        init=init,
        sidecar=sidecar,
        nfs=AppContainer(
            name=_name(ctx, app.get("name"), _join(app_path, "name")),
            resources=_requests(ctx, app.get("resources", {}), _join(app_path, "resources")),
        ),
        export=export,
        order=order,
        windows_folder=windows_folder,
        host_path=host_path,
    )

"""What the fake cluster holds: volumes, the writes in flight, pods and their containers.

Plain mutable state (the simulation changes it as time passes); the
processes that change it live in :mod:`nassim.cluster.simulation`.
"""

from __future__ import annotations

import enum
import random
from typing import TYPE_CHECKING

import attrs

from nassim.costs import Medium
from nassim.tree import Dir, File, FileTree, Volume

if TYPE_CHECKING:
    import simpy

    from nassim.scenario import Size
    from nassim.topology import Server

__all__ = ["BatchedWriter", "Container", "ContainerKind", "OpenWrite", "Pod", "ServerState", "Side"]


@attrs.define(eq=False)
class Side:
    """One volume: its tree, its traits, the cost of touching it, and its entry count."""

    tree: FileTree
    volume: Volume
    medium: Medium
    entries: int = 1  # the root
    # Directories known to exist (a cache for writers; dropped whenever something else changed the tree).
    _dirs: set[str] = attrs.field(factory=set)

    def forget_dirs(self) -> None:
        self._dirs.clear()

    def ensure_dirs(self, path: str, mtime_ns: int) -> list[str]:
        """Create the missing parents of ``path``; return the ones created."""
        return self.ensure_dir(path.rpartition("/")[0], mtime_ns)

    def ensure_dir(self, head: str, mtime_ns: int) -> list[str]:
        """Create the directory ``head`` (``""``: the root) and its missing parents; return the ones created."""
        if not head or head in self._dirs:
            return []
        created: list[str] = []
        parts = head.split("/")
        for i in range(len(parts)):
            d = "/".join(parts[: i + 1])
            entry = self.tree.get(d)
            if entry is None:
                self.tree[d] = Dir(mtime_ns)
                self.entries += 1
                created.append(d)
        self._dirs.add(head)
        return created

    def put_file(self, path: str, f: File) -> bool:
        """Write a file; True if it is new."""
        new = path not in self.tree
        self.tree[path] = f
        if new:
            self.entries += 1
        return new

    def put_files(self, parent: str, files: list[tuple[str, int, int, object]]) -> None:
        """Write files into the existing directory ``parent`` (see FileTree.put_files)."""
        self.entries += self.tree.put_files(parent, files)

    def delete(self, path: str) -> int:
        """Remove an entry (a directory with its subtree); return how many entries went."""
        if path not in self.tree:
            return 0
        gone = sum(1 for p, _ in _subtree(self.tree, path))
        del self.tree[path]
        self.entries -= gone
        if gone > 1:
            self._dirs.clear()
        return gone


def _subtree(tree: FileTree, path: str) -> list[tuple[str, object]]:
    entry = tree.get(path)
    if not isinstance(entry, Dir):
        return [(path, entry)]
    prefix = path + "/"
    out: list[tuple[str, object]] = [(path, entry)]
    stack = [path]
    while stack:
        d = stack.pop()
        for name in tree.listdir(d):
            p = f"{d}/{name}"
            e = tree.get(p)
            out.append((p, e))
            if isinstance(e, Dir) and p.startswith(prefix):
                stack.append(p)
    return out


@attrs.define(eq=False)
class BatchedWriter:
    """A Poisson writer whose writes are applied when someone looks, not one simpy event each.

    Its arrivals depend only on its own random stream, never on the cluster, so
    they can be drawn ahead: ``t`` is the next arrival (``inf`` once the writer
    has stopped). The simulation applies every arrival due before anything
    reads or changes the server (see ``Simulation.flush_writes``).
    """

    index: int
    rate: float
    stop: float | None
    names: int
    prefix: str
    size: Size
    mode: str
    who: str
    rng: random.Random
    t: float
    n: int = 0
    names_table: list[str] | None = None  # the pool's file names, once made


@attrs.define(eq=False)
class OpenWrite:
    """A file being written: it grows linearly from ``opened`` to ``closes``."""

    path: str
    version: int
    size: int
    content: int
    opened: float
    closes: float

    def size_at(self, t: float) -> int:
        if t >= self.closes or self.closes <= self.opened:
            return self.size
        if t <= self.opened:
            return 0
        return int(self.size * (t - self.opened) / (self.closes - self.opened))


class ContainerKind(enum.Enum):
    INIT = "init"
    SIDECAR = "sidecar"
    APP = "app"


@attrs.define(eq=False)
class Container:
    name: str
    kind: ContainerKind
    state: str = "waiting"  # waiting | running | terminated
    reason: str = "PodInitializing"
    restarts: int = 0
    exit_code: int | None = None
    started_at: float | None = None
    process: simpy.Process | None = None
    pending_crashes: int = 0  # injected crashes still to happen (SidecarCrash.times)


@attrs.define(eq=False)
class Pod:
    """One incarnation of a server's pod (a new UID, and a new emptyDir, each time)."""

    name: str
    server: str
    export: Side
    containers: dict[str, Container]
    phase: str = "Pending"
    serving: bool = False  # the NFS server answers
    terminating: bool = False
    mount_epoch: int = 0  # which minikube mount this pod's hostPath sees
    kill_at: float | None = None  # when the sidecar will get SIGKILL (known once scheduled)


@attrs.define(eq=False)
class ServerState:
    """Everything about one server that outlives its pods."""

    server: Server
    windows: Side
    export: Side | None  # the current export (a persistent one survives pods)
    pod: Pod | None = None
    incarnation: int = 0
    pending: dict[str, None] = attrs.field(factory=dict)  # paths changed since the sidecar's last run
    # The same for a Windows -> NFS sidecar (the hot paths skip it on a server that has none).
    pending_rev: dict[str, None] = attrs.field(factory=dict)
    # Summary mode: path -> (close time, content, size) of the last write closed on NFS whose
    # exact content has not reached the Windows folder yet.
    unsynced: dict[str, tuple[float, int, int]] = attrs.field(factory=dict)
    open_writes: dict[str, OpenWrite] = attrs.field(factory=dict)
    versions: dict[str, int] = attrs.field(factory=dict)
    serving_event: simpy.Event | None = None
    runs: int = 0
    batched: list[BatchedWriter] = attrs.field(factory=list)  # writers applied lazily (flush_writes)

    def touch(self, *paths: str) -> None:
        for p in paths:
            self.pending[p] = None
            self.pending_rev[p] = None

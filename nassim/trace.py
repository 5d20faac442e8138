"""The trace: a time-ordered list of typed records of everything that happened.

Every backend (the simulator, real processes here, a live cluster) produces
the same records, so the same metrics and checks judge all of them. Times
are seconds since the scenario started (``t``); ``side`` is ``"nfs"`` (the
export) or ``"windows"`` (the Windows folder).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from nassim.tree import Blob, File, FileTree

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ContainerState",
    "FaultInjected",
    "FileDeleted",
    "FileRenamed",
    "FileSynced",
    "FileVisible",
    "LogLine",
    "PodPhase",
    "ProbeResult",
    "Record",
    "RsyncRun",
    "ServerConfig",
    "Trace",
    "TreeState",
    "WriteClosed",
    "WriteOpened",
]


@attrs.frozen
class Record:
    """Base of every record: when it happened and on which server."""

    t: float
    server: str

    @property
    def kind(self) -> str:
        return type(self).__name__


@attrs.frozen
class WriteOpened(Record):
    """A writer opened ``path`` to write ``size`` bytes (in place, or to a temp name it renames)."""

    side: str
    path: str
    version: int
    size: int
    writer: str = ""


@attrs.frozen
class WriteClosed(Record):
    """A write is complete: ``path`` holds ``size`` bytes of content ``content``."""

    side: str
    path: str
    version: int
    size: int
    content: int
    writer: str = ""


@attrs.frozen
class FileVisible(Record):
    """An NFS reader (``reader``) first saw ``path`` in its listing of the export."""

    path: str
    reader: str


@attrs.frozen
class FileDeleted(Record):
    side: str
    path: str
    writer: str = ""


@attrs.frozen
class FileRenamed(Record):
    side: str
    path: str
    new_path: str
    writer: str = ""


@attrs.frozen
class FileSynced(Record):
    """A sync run wrote ``path`` on ``side`` with this content (it is there from ``t`` on)."""

    side: str
    path: str
    size: int
    content: int
    container: str
    run: int
    torn: bool = False


@attrs.frozen
class RsyncRun(Record):
    """One rsync run, from its start ``t`` to ``t + duration``."""

    container: str
    run: int
    duration: float
    exit_code: int
    transferred: int
    bytes: int
    scanned: int
    deleted: int
    itemized: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@attrs.frozen
class PodPhase(Record):
    """A pod (one incarnation, ``pod``) entered ``phase``: Pending, Running, Terminating, Deleted."""

    pod: str
    phase: str


@attrs.frozen
class ContainerState(Record):
    """A container is ``waiting`` (with a reason), ``running``, or ``terminated`` (with an exit code)."""

    pod: str
    container: str
    state: str
    reason: str = ""
    exit_code: int | None = None
    restarts: int = 0


@attrs.frozen
class LogLine(Record):
    pod: str
    container: str
    line: str


@attrs.frozen
class FaultInjected(Record):
    fault: str
    detail: str = ""


@attrs.frozen
class ProbeResult(Record):
    """A probe's verdict: ``passed``, with the measured ``value`` when it has one."""

    probe: str
    check: str
    passed: bool
    value: float | None = None
    detail: str = ""


@attrs.frozen
class ServerConfig(Record):
    """How a server is set up, recorded once at the start so that checks need no topology.

    ``role`` is ``input``, ``output`` or ``backup``; ``interval`` is the
    sidecar's sleep (None without a sidecar). A live backend records what
    it reads from the cluster's manifests.
    """

    role: str
    export: str  # emptyDir | persistent
    init: str  # the init container's name
    init_args: tuple[str, ...]
    sidecar: str | None = None
    sidecar_args: tuple[str, ...] = ()
    interval: float | None = None


#: One file of a :class:`TreeState`: (path, size, content id).
TreeEntry = tuple[str, int, int]


def content_id(blob: Blob) -> int:
    """A compact id for a file's content: the seed itself, or 60 bits of a SHA-1 for bytes and digests."""
    if isinstance(blob, int):
        return blob
    raw = blob if isinstance(blob, bytes) else f"{blob.sha1}:{blob.length}".encode()
    return int(hashlib.sha1(raw).hexdigest()[:15], 16)


@attrs.frozen
class TreeState(Record):
    """The regular files on one side of a server at ``t``: after an init container
    completed (``moment="init"``) or at the end of the trace (``moment="end"``).

    ``entries`` are (path, size, content id) sorted by path; directories and
    symlinks are left out, and a file still being written shows its size at ``t``.
    """

    side: str
    moment: str
    entries: tuple[TreeEntry, ...] = ()

    @classmethod
    def of(
        cls, t: float, server: str, side: str, moment: str, tree: FileTree, sizes: Mapping[str, int] | None = None
    ) -> TreeState:
        """The files of ``tree``; ``sizes`` overrides the size of files still being written."""
        sizes = sizes or {}
        entries = sorted(
            (p, sizes.get(p, e.size), content_id(e.content)) for p, e in tree.items() if isinstance(e, File)
        )
        return cls(t, server, side, moment, tuple(entries))

    def files(self) -> dict[str, tuple[int, int]]:
        """path -> (size, content id)."""
        return {p: (size, content) for p, size, content in self.entries}


R = TypeVar("R", bound=Record)


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        if v and all(type(e) is tuple and not any(type(x) is float for x in e) for e in v):
            return v  # a TreeState's (path, size, content) rows: json writes them as lists, no floats to round
        return [_plain(x) for x in v]
    if isinstance(v, float):
        return repr(round(v, 9))
    return v


@attrs.define
class Trace:
    """Records in the order they happened, with the scenario's seed and parameters."""

    records: list[Record] = attrs.field(factory=list)
    seed: int = 0
    params: dict[str, Any] = attrs.field(factory=dict)

    def add(self, record: Record) -> None:
        self.records.append(record)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def of(self, *types: type[R]) -> list[R]:
        """The records of the given types, in order."""
        return [r for r in self.records if isinstance(r, types)]

    def extend(self, records: Iterable[Record]) -> None:
        self.records.extend(records)

    def digest(self) -> str:
        """SHA-256 over a canonical form of every record: equal traces, equal digests."""
        h = hashlib.sha256()
        for r in self.records:
            row = {"kind": r.kind, **{k: _plain(v) for k, v in attrs.asdict(r, recurse=False).items()}}
            h.update(json.dumps(row, sort_keys=True, separators=(",", ":")).encode())
            h.update(b"\n")
        return h.hexdigest()

    def to_frame(self) -> pd.DataFrame:
        """One row per record (``kind`` names its type), with the seed as a column."""
        import pandas as pd

        rows = [{"kind": r.kind, **attrs.asdict(r, recurse=False)} for r in self.records]
        frame = pd.DataFrame(rows)
        frame["seed"] = self.seed
        return frame

"""File trees: what a directory holds, cheaply, without real bytes.

A :class:`FileTree` maps relative POSIX paths to entries: :class:`File`,
:class:`Dir` and :class:`Symlink`. The key ``"."`` is the root directory.
A file's content is identified, not stored: ``File.content`` names a byte
stream (literal ``bytes``, an ``int`` seed for deterministic synthetic bytes,
or a :class:`Digest`) and the file holds the first ``size`` bytes of it. So
a copy taken while a writer is still writing (a torn copy) is simply the same
stream with a smaller size, and a 10 GB file costs a few dozen bytes.

A :class:`Volume` describes the traits of the file system a tree lives on
that change what rsync does to it: case sensitivity, the mtime resolution it
stores, whether times, owners and permissions can be set, read-only.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import os
import random
import stat
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import compress
from operator import is_not
from typing import Any, TypeAlias

import attrs

from nassim.errors import ContentError, TreeError

__all__ = [
    "Blob",
    "Digest",
    "Dir",
    "Entry",
    "File",
    "FileTree",
    "OwnerSupport",
    "Symlink",
    "Volume",
    "content_bytes",
    "content_sha1",
    "same_content",
    "synthetic_bytes",
    "windows_name_problem",
]

#: Files up to this size keep their bytes when read from disk; larger ones only a digest.
LITERAL_LIMIT = 1 << 20


@attrs.frozen(slots=True, weakref_slot=False)
class Digest:
    """Content known only by the SHA-1 of its ``length`` bytes (it cannot be written out)."""

    sha1: str
    length: int


#: The identity of a byte stream: literal bytes, a seed for synthetic bytes, or a digest.
Blob: TypeAlias = bytes | int | Digest


@attrs.frozen(slots=True, weakref_slot=False)
class File:
    """A regular file: the first ``size`` bytes of the stream ``content``."""

    size: int
    mtime_ns: int
    content: Blob


@attrs.frozen(slots=True, weakref_slot=False)
class Dir:
    """A directory (its children live in the tree)."""

    mtime_ns: int


@attrs.frozen(slots=True, weakref_slot=False)
class Symlink:
    """A symbolic link, never followed."""

    target: str
    mtime_ns: int


Entry: TypeAlias = File | Dir | Symlink


class OwnerSupport(enum.Enum):
    """What happens when rsync sets owners or permissions on a volume."""

    SET = "set"  # a local disk as root: chown and chmod work
    IGNORED = "ignored"  # minikube's 9p: chown "succeeds" and changes nothing
    FAIL = "fail"  # chown fails with EPERM: rsync reports it and exits 23


@attrs.frozen
class Volume:
    """Traits of the file system a tree lives on that change rsync's outcome.

    ``mtime_resolution_ns`` is the granularity the volume stores (1 for ext4,
    10**9 for a 9p mount, 2 * 10**9 for FAT); ``can_set_times=False`` means
    ``utimes`` succeeds but changes nothing, as on minikube's 9p server on a
    Windows host, so a file keeps the time it was written.
    """

    case_sensitive: bool = True
    mtime_resolution_ns: int = attrs.field(default=1)
    can_set_times: bool = True
    owners: OwnerSupport = OwnerSupport.SET
    read_only: bool = False
    windows_names: bool = False  # NTFS naming rules: see windows_name_problem()
    symlinks: bool = True  # minikube's 9p (9P2000 on a Windows host) has none

    @mtime_resolution_ns.validator
    def _check_resolution(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TreeError(f"'mtime_resolution_ns' must be a positive int (got {value!r})")

    @classmethod
    def linux(cls) -> Volume:
        """ext4 or tmpfs: case-sensitive, nanosecond times."""
        return cls()

    @classmethod
    def windows_9p(cls) -> Volume:
        """A Windows host folder through ``minikube mount``: case-insensitive,
        whole-second times that cannot be set, owners silently ignored."""
        return cls(
            case_sensitive=False,
            mtime_resolution_ns=10**9,
            can_set_times=False,
            owners=OwnerSupport.IGNORED,
            windows_names=True,
            symlinks=False,
        )

    @classmethod
    def fat(cls) -> Volume:
        """A FAT-like volume: two-second times, case-insensitive."""
        return cls(case_sensitive=False, mtime_resolution_ns=2 * 10**9, owners=OwnerSupport.IGNORED)

    def stored_mtime(self, mtime_ns: int) -> int:
        """The mtime the volume keeps when asked to store ``mtime_ns``."""
        r = self.mtime_resolution_ns
        return mtime_ns if r == 1 else mtime_ns - mtime_ns % r


_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)]
)
_WINDOWS_FORBIDDEN = frozenset('<>:"\\|?*') | frozenset(chr(i) for i in range(32))


def windows_name_problem(name: str) -> str | None:
    """Why Windows cannot store a file named ``name`` (None if it can).

    NTFS rules (reference notes §3): no ``< > : " / \\ | ? *`` or control
    characters, no reserved device name (``CON``, ``NUL.txt``, ``com1``...),
    no trailing space or dot.
    """
    bad = [repr(c) for c in sorted(set(name) & _WINDOWS_FORBIDDEN) if ord(c) >= 32]
    bad += [f"\\x{ord(c):02x}" for c in name if ord(c) < 32]
    if bad:
        return f"contains {' '.join(bad)}"
    if name.endswith((" ", ".")):
        return f"ends with {'a dot' if name.endswith('.') else 'a space'}, which Windows strips"
    if name.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        return "is a reserved device name on Windows"
    return None


# --- content -----------------------------------------------------------------


def synthetic_bytes(seed: int, size: int) -> bytes:
    """The first ``size`` bytes of the deterministic stream named by ``seed``.

    Prefix-consistent: ``synthetic_bytes(s, n)[:k] == synthetic_bytes(s, k)``.
    """
    # Random.randbytes draws whole 32-bit words, least significant first, so
    # whole words are a prefix-consistent stream; a partial last word is not.
    whole = (size + 3) & ~3
    # random.Random seeds an int by its absolute value; fold the sign in so that
    # every int names its own stream.
    key = 2 * seed if seed >= 0 else -2 * seed - 1
    return random.Random(key).randbytes(whole)[:size]


def content_bytes(f: File) -> bytes:
    """The bytes a file holds; :class:`ContentError` if only a digest is known."""
    c = f.content
    if isinstance(c, bytes):
        return c[: f.size]
    if isinstance(c, int):
        return synthetic_bytes(c, f.size)
    if f.size == c.length:
        raise ContentError(f"content known only by its sha1 {c.sha1} cannot be turned into bytes")
    raise ContentError(f"a {f.size}-byte prefix of content {c.sha1} cannot be turned into bytes")


def content_sha1(f: File) -> str:
    """SHA-1 of the file's content (for a torn prefix of a digest: a stable stand-in)."""
    c = f.content
    if isinstance(c, Digest):
        if f.size == c.length:
            return c.sha1
        # No real bytes exist; derive a stable identity that no full content shares.
        return hashlib.sha1(f"nassim-prefix:{c.sha1}:{f.size}".encode()).hexdigest()
    return hashlib.sha1(content_bytes(f)).hexdigest()


def same_content(a: File, b: File) -> bool:
    """True when two files hold the same bytes (what ``rsync --checksum`` decides)."""
    if a.size != b.size:
        return False
    if a.size == 0:
        return True
    ca, cb = a.content, b.content
    if type(ca) is type(cb):
        if isinstance(ca, bytes):
            return ca[: a.size] == cb[: a.size]  # type: ignore[index]
        if ca == cb:
            return True
        if isinstance(ca, int):
            assert isinstance(cb, int)
            # Distinct seeds are distinct streams, but short prefixes of two streams
            # can coincide (one byte: 1 in 256). Past 64 bytes that is out of reach.
            return a.size <= 64 and synthetic_bytes(ca, a.size) == synthetic_bytes(cb, a.size)
    return content_sha1(a) == content_sha1(b)


# --- paths -------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def split_path(path: str) -> tuple[str, ...]:
    """Components of a relative POSIX path; ``"."`` is the root (no components).

    Cached: a simulation names the same few thousand paths millions of times.
    """
    if path in (".", ""):
        return ()
    if path.startswith("/"):
        raise TreeError(f"{path!r}: path must be relative to the tree root, not absolute")
    try:
        # Iteration sorts names by these bytes, and no file system stores a NUL.
        encoded = os.fsencode(path)
    except UnicodeEncodeError as exc:
        raise TreeError(f"{path!r}: path cannot be encoded as a file name ({exc.reason})") from None
    if b"\0" in encoded:
        raise TreeError(f"{path!r}: path contains a NUL character")
    parts = path.split("/")
    for p in parts:
        if p in ("", ".", ".."):
            if p == "..":
                raise TreeError(f"{path!r}: path escapes the tree root with '..'")
            raise TreeError(f"{path!r}: path has an empty or '.' component")
    return tuple(parts)


def join(parent: str, name: str) -> str:
    return name if parent in (".", "") else f"{parent}/{name}"


def sort_key(name: str) -> bytes:
    """rsync sorts names bytewise (unsigned), so uppercase sorts before lowercase."""
    return os.fsencode(name)


# --- the tree ----------------------------------------------------------------


# Shared empty columns: a new directory starts with these (flagged shared) and
# copies them on its first write, so an empty directory costs no columns of its own.
_NO_INDEX: dict[str, int] = {}
_NO_ITEMS: list[object] = []
_NO_INTS = array("q")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_SHARED_INDEX = 1
_SHARED_COLUMNS = 2

_new_object = object.__new__
_set_size = File.__dict__["size"].__set__
_set_mtime = File.__dict__["mtime_ns"].__set__
_set_content = File.__dict__["content"].__set__


def _file(size: int, mtime_ns: int, content: object) -> File:
    """File(size, mtime_ns, content) without attrs' frozen __init__ (a third faster)."""
    f = _new_object(File)
    _set_size(f, size)
    _set_mtime(f, mtime_ns)
    _set_content(f, content)
    return f


def _differing_slots(items: list[object], oitems: list[object], ints: array[int], oints: array[int]) -> set[int]:
    """Slots where two directories' columns (of the same length) differ, found in C:
    items by identity (``map(is_not)``), ints by array equality and then by
    XOR-ing the arrays' bytes as big ints."""
    out: set[int] = set()
    if items is not oitems:
        out.update(compress(range(len(items)), map(is_not, items, oitems)))
    if ints is not oints and ints != oints:
        x = int.from_bytes(ints.tobytes(), "little") ^ int.from_bytes(oints.tobytes(), "little")
        while x:
            i = (x.bit_length() - 1) >> 7  # the highest differing slot (two 8-byte ints a slot)
            out.add(i)
            x &= (1 << (i << 7)) - 1
    return out


def _bytewise(names: list[str]) -> list[str]:
    """Sort ``names`` in place by their bytes (rsync's order) and return them."""
    if len(names) > 1:
        # ASCII strings compare as their bytes do, and without a key sorting is several
        # times faster. (UTF-8 keeps code point order too, but not the surrogate escapes.)
        if "".join(names).isascii():
            names.sort()
        else:
            names.sort(key=os.fsencode)
    return names


class _DirNode:
    """A directory inside a tree (mutable): its mtime, its files and symlinks, its subdirectories.

    Memory is the point (issue 2: at most 200 bytes per file at 1M entries). A
    file is not kept as a File object (56 bytes and three int objects) but as a
    slot in per-directory columns: ``_index`` maps its name to the slot,
    ``_ints`` holds its size and mtime as machine ints (at ``2 * slot`` and
    ``2 * slot + 1``: one buffer, so a look at a file touches less memory), ``_items``
    the content. An ``_items`` slot holding a File or Symlink is that entry
    itself (a symlink, or a file whose size or mtime needs more than 64 bits),
    with zeros in the int columns; a deleted slot is a hole (None, zeros) that
    is not in ``_index``, until the columns are compacted. File objects are made
    on access, so two reads of a file give equal, not identical, objects.

    Columns are shared copy-on-write (``_shared``): FileTree.copy() shares them,
    and so does the rsync engine when a destination directory ends up holding
    exactly its source's files. Directories that share their index (same names
    in the same slots) compare by C-level list and array equality, which is
    what keeps a no-change rsync run over a large tree cheap (see ``unshared``).
    """

    __slots__ = ("_dirs", "_index", "_ints", "_items", "_shared", "mtime_ns")

    def __init__(self, mtime_ns: int) -> None:
        self.mtime_ns = mtime_ns
        self._dirs: dict[str, _DirNode] = {}
        self._index = _NO_INDEX
        self._items = _NO_ITEMS
        self._ints = _NO_INTS
        self._shared = _SHARED_INDEX | _SHARED_COLUMNS

    # reading -------------------------------------------------------------------

    def get(self, name: str) -> Node | None:
        """The child called ``name`` (a File made on the spot, a Symlink, a _DirNode), or None."""
        i = self._index.get(name)
        if i is None:
            return self._dirs.get(name)
        v = self._items[i]
        if type(v) is File or type(v) is Symlink:
            return v
        f = _new_object(File)  # _file(), inlined: this is hot
        ints = self._ints
        _set_size(f, ints[2 * i])
        _set_mtime(f, ints[2 * i + 1])
        _set_content(f, v)
        return f

    def __contains__(self, name: str) -> bool:
        return name in self._index or name in self._dirs

    def __len__(self) -> int:
        return len(self._index) + len(self._dirs)

    def isdir(self, name: str) -> bool:
        return name in self._dirs

    @property
    def dirs(self) -> dict[str, _DirNode]:
        """The subdirectories by name (read only: change them through set and delete)."""
        return self._dirs

    def names(self) -> list[str]:
        """Every child's name: files and symlinks, then subdirectories (no particular order within)."""
        return [*self._index, *self._dirs]

    def ordered(self, names: Iterable[str] | None = None) -> list[str]:
        """Names (all children, or the given subset of them) in rsync's order:
        non-directories first, then directories, each bytewise."""
        if names is None:
            return _bytewise(list(self._index)) + _bytewise(list(self._dirs))
        dirs = self._dirs
        if not dirs:
            return _bytewise(list(names))
        files: list[str] = []
        subdirs: list[str] = []
        for n in names:
            (subdirs if n in dirs else files).append(n)
        return _bytewise(files) + _bytewise(subdirs)

    def items(self) -> Iterator[tuple[str, Node]]:
        """(name, child) pairs in no particular order."""
        items, ints = self._items, self._ints
        for name, i in self._index.items():
            v = items[i]
            yield name, (v if type(v) is File or type(v) is Symlink else _file(ints[2 * i], ints[2 * i + 1], v))
        yield from self._dirs.items()

    def unshared(self, other: _DirNode, *, symlinks: bool) -> tuple[list[str], int]:
        """Names of children here that ``other`` (the destination) may not hold as they are,
        and how many non-directories it holds as they are here (see ``holds_same``).

        Subdirectories are always named, and symlinks too when ``symlinks`` is set.
        """
        si, oi = self._index, other._index
        items, ints = self._items, self._ints
        oitems, oints = other._items, other._ints
        if (si is oi or si == oi) and len(items) == len(oitems):
            # The same names in the same slots: compare whole columns in C.
            slots = _differing_slots(items, oitems, ints, oints)
            if slots:
                names = list(si)
                values = list(si.values())
                if values != list(range(len(values))):
                    # Holes: map slots to names through the index.
                    by_slot = dict(zip(values, names))
                    out = [by_slot[i] for i in slots if i in by_slot]
                else:
                    out = [names[i] for i in slots]
            else:
                out = []
        else:
            oget = oi.get
            out = [
                n
                for n, i in si.items()
                if (j := oget(n)) is None
                or ints[2 * i] != oints[2 * j]
                or ints[2 * i + 1] != oints[2 * j + 1]
                or items[i] is not oitems[j]
            ]
        same = len(si) - len(out)
        if symlinks:
            links = [n for n, i in si.items() if type(items[i]) is Symlink]
            if links:
                seen = set(out)
                extra = [n for n in links if n not in seen]
                out += extra
                same -= len(extra)
        out += self._dirs
        return out, same

    def unshared_among(self, names: Iterable[str], other: _DirNode, symlinks: bool) -> list[str]:
        """Like ``unshared``, for the given names only (names not here are left out)."""
        dirs, si, oget = self._dirs, self._index, other._index.get
        items, ints = self._items, self._ints
        oitems, oints = other._items, other._ints
        out = []
        for n in names:
            i = si.get(n)
            if i is None:
                if n in dirs:
                    out.append(n)
                continue
            j = oget(n)
            if (
                j is None
                or ints[2 * i] != oints[2 * j]
                or ints[2 * i + 1] != oints[2 * j + 1]
                or (a := items[i]) is not oitems[j]
                or (symlinks and type(a) is Symlink)
            ):
                out.append(n)
        return out

    def pair(self, name: str, other: _DirNode) -> tuple[Node | None, Node | None]:
        """The non-directory ``name`` here and what ``other`` holds under that name; or
        (None, None) when ``other`` holds it as it is here (``holds_same``, and for a
        file outside the columns, the same size, mtime and content object). One call
        and no File made for an unchanged file: the incremental run's hot path."""
        i = self._index.get(name)
        assert i is not None
        v = self._items[i]
        j = other._index.get(name)
        if j is not None:
            ints, oints = self._ints, other._ints
            w = other._items[j]
            if v is w and ints[2 * i] == oints[2 * j] and ints[2 * i + 1] == oints[2 * j + 1]:
                return None, None
            if type(w) is File or type(w) is Symlink:
                theirs: Node | None = w
            else:
                theirs = _new_object(File)
                _set_size(theirs, oints[2 * j])
                _set_mtime(theirs, oints[2 * j + 1])
                _set_content(theirs, w)
        else:
            theirs = other._dirs.get(name)
        if type(v) is File:
            if (
                type(theirs) is File
                and (v.size, v.mtime_ns) == (theirs.size, theirs.mtime_ns)
                and v.content is theirs.content
            ):
                return None, None
            return v, theirs
        if type(v) is Symlink:
            return v, theirs
        ints = self._ints
        mine = _new_object(File)
        _set_size(mine, ints[2 * i])
        _set_mtime(mine, ints[2 * i + 1])
        _set_content(mine, v)
        return mine, theirs

    def holds_same(self, name: str, other: _DirNode) -> bool:
        """True when ``other`` holds the non-directory ``name`` as it is here: the same
        size and mtime, and the very same content object (or entry object, for a
        symlink). Content is compared by identity, as the shared File objects of old
        were: a copy made by rsync shares it, and comparing bytes could cost megabytes."""
        i = self._index.get(name)
        j = other._index.get(name)
        if i is None or j is None:
            return False
        return (
            self._items[i] is other._items[j]
            and self._ints[2 * i] == other._ints[2 * j]
            and self._ints[2 * i + 1] == other._ints[2 * j + 1]
        )

    def quick_check_same(self, name: str, other: _DirNode, same_time: Callable[[int, int], bool]) -> bool:
        """True when both hold a regular file ``name`` of the same size whose mtimes
        ``same_time`` finds equal: rsync's quick check (§4), on the columns, with no
        File made."""
        i = self._index.get(name)
        j = other._index.get(name)
        if i is None or j is None:
            return False
        a, b = self._items[i], other._items[j]
        if type(a) is File or type(a) is Symlink or type(b) is File or type(b) is Symlink:
            return False
        ints, oints = self._ints, other._ints
        return ints[2 * i] == oints[2 * j] and same_time(ints[2 * i + 1], oints[2 * j + 1])

    def files_equal(self, other: _DirNode) -> bool:
        """True when both hold the same non-directories, each as ``holds_same`` says."""
        si, oi = self._index, other._index
        if len(si) != len(oi):
            return False
        items, ints = self._items, self._ints
        oitems, oints = other._items, other._ints
        if (si is oi or si == oi) and len(items) == len(oitems):
            return not _differing_slots(items, oitems, ints, oints)
        oget = oi.get
        for n, i in si.items():
            j = oget(n)
            if (
                j is None
                or ints[2 * i] != oints[2 * j]
                or ints[2 * i + 1] != oints[2 * j + 1]
                or items[i] is not oitems[j]
            ):
                return False
        return True

    # writing -------------------------------------------------------------------

    def set(self, name: str, value: Node) -> None:
        """Add or replace the child ``name`` (whatever kind it was)."""
        if type(value) is _DirNode:
            if name in self._index:
                self._remove_slot(name)
            self._dirs[name] = value
            return
        if name in self._dirs:
            del self._dirs[name]
        item: object = value
        size = mtime = 0
        if type(value) is File:
            size, mtime = value.size, value.mtime_ns
            if _INT64_MIN <= size <= _INT64_MAX and _INT64_MIN <= mtime <= _INT64_MAX:
                item = value.content
            else:
                size = mtime = 0
        i = self._index.get(name)
        if i is None:
            if self._shared:
                self._own(index=True)
            self._index[name] = len(self._items)
            self._items.append(item)
            self._ints.append(size)
            self._ints.append(mtime)
        else:
            self.set_slot(i, size, mtime, item)

    def set_slot(self, i: int, size: int, mtime_ns: int, content: object) -> None:
        """Rewrite the file in slot ``i`` of the columns (``size`` and ``mtime_ns`` in 64 bits):
        how the rsync engine writes a file it sends and a simulator's writer a file it writes."""
        if self._shared & _SHARED_COLUMNS:
            self._own(index=False)
        self._items[i] = content
        ints = self._ints
        ints[2 * i] = size
        ints[2 * i + 1] = mtime_ns

    def delete(self, name: str) -> None:
        """Remove the child ``name`` (KeyError if there is none)."""
        if name in self._index:
            self._remove_slot(name)
        else:
            del self._dirs[name]

    def share_files(self, source: _DirNode) -> None:
        """Take ``source``'s columns (it must hold exactly the same files), copy-on-write."""
        self._index, self._items = source._index, source._items
        self._ints = source._ints
        self._shared = source._shared = _SHARED_INDEX | _SHARED_COLUMNS

    def copy(self) -> _DirNode:
        """An independent copy of the directory and everything below it."""
        node = _DirNode(self.mtime_ns)
        node.share_files(self)
        node._dirs = {name: child.copy() for name, child in self._dirs.items()}
        return node

    def _own(self, *, index: bool) -> None:
        """Copy shared columns before writing to them (and a shared index too, if ``index``)."""
        if self._shared & _SHARED_COLUMNS:
            self._items = self._items.copy()
            self._ints = array("q", self._ints)
            self._shared &= ~_SHARED_COLUMNS
        if index and self._shared & _SHARED_INDEX:
            self._index = self._index.copy()
            self._shared &= ~_SHARED_INDEX

    def _remove_slot(self, name: str) -> None:
        if self._shared:
            self._own(index=True)
        i = self._index.pop(name)
        items = self._items
        if i == len(items) - 1:
            items.pop()
            del self._ints[-2:]
        else:
            items[i] = None
            self._ints[2 * i] = self._ints[2 * i + 1] = 0
            if len(items) > 2 * len(self._index) + 8:
                self._compact()

    def _compact(self) -> None:
        """Drop the holes (slots renumbered in their old order)."""
        old = sorted(self._index.items(), key=lambda kv: kv[1])
        items, ints = self._items, self._ints
        self._index = {name: k for k, (name, _) in enumerate(old)}
        self._items = [items[i] for _, i in old]
        self._ints = array("q", [n for _, i in old for n in (ints[2 * i], ints[2 * i + 1])])


Node: TypeAlias = "File | Symlink | _DirNode"


class FileTree:
    """A directory tree: relative POSIX paths to :class:`File`, :class:`Dir`, :class:`Symlink`.

    Mutable like a dict (``tree["a/b"] = File(...)``, ``del tree["a"]``); every
    parent must already be a directory. Iteration yields paths in rsync's
    order: per directory, files and symlinks before subdirectories, each
    sorted bytewise, depth first; ``"."`` (the root) first.
    """

    __slots__ = ("_root",)

    def __init__(self, root_mtime_ns: int = 0) -> None:
        self._root = _DirNode(root_mtime_ns)

    # mapping protocol ---------------------------------------------------------

    def _node(self, path: str) -> Node | None:
        parts = split_path(path)
        node = self._root
        if not parts:
            return node
        for part in parts[:-1]:
            child = node.dirs.get(part)
            if child is None:
                return None
            node = child
        return node.get(parts[-1])

    def _parent(self, path: str) -> tuple[_DirNode, str]:
        parts = split_path(path)
        if not parts:
            raise TreeError("'.': the root directory has no parent")
        node = self._root
        for i, part in enumerate(parts[:-1]):
            child = node._dirs.get(part)
            if child is None:
                parent = "/".join(parts[: i + 1])
                what = "not a directory" if part in node else "missing"
                raise TreeError(f"{path!r}: parent directory {parent!r} is {what}")
            node = child
        return node, parts[-1]

    def get(self, path: str) -> Entry | None:
        """The entry at ``path``, or None."""
        node = self._node(path)
        if isinstance(node, _DirNode):
            return Dir(node.mtime_ns)
        return node

    def __getitem__(self, path: str) -> Entry:
        entry = self.get(path)
        if entry is None:
            raise KeyError(path)
        return entry

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        # _node() without making the File it would return: a simulator asks this per write.
        parts = split_path(path)
        node: _DirNode | None = self._root
        for part in parts[:-1]:
            node = node._dirs.get(part)  # type: ignore[union-attr]
            if node is None:
                return False
        return not parts or parts[-1] in node  # type: ignore[operator]

    def __setitem__(self, path: str, entry: Entry) -> None:
        """Add or replace an entry. A Dir over an existing dir only sets its mtime."""
        if type(entry) is not File and not isinstance(entry, (File, Dir, Symlink)):
            raise TreeError(f"{path!r}: entry must be File, Dir or Symlink (got {type(entry).__name__})")
        if not split_path(path):
            if not isinstance(entry, Dir):
                raise TreeError("'.': the root must be a directory")
            self._root.mtime_ns = entry.mtime_ns
            return
        parent, name = self._parent(path)
        if isinstance(entry, Dir):
            old = parent.dirs.get(name)
            if old is not None:
                old.mtime_ns = entry.mtime_ns
            else:
                parent.set(name, _DirNode(entry.mtime_ns))
        else:
            parent.set(name, entry)

    def put_files(self, parent: str, files: Iterable[tuple[str, int, int, object]]) -> int:
        """Write regular files into the directory ``parent``: ``(name, size, mtime_ns, content)``
        each, in order, as ``tree[parent/name] = File(size, mtime_ns, content)`` would; return
        how many names were new. One directory lookup for them all (a simulator's writer)."""
        node = self._node(parent)
        if type(node) is not _DirNode:
            raise TreeError(f"{parent!r}: {'missing' if node is None else 'not a directory'}")
        new = 0
        lo, hi = _INT64_MIN, _INT64_MAX
        for name, size, mtime_ns, content in files:
            i = node._index.get(name)
            if i is None or not (lo <= size <= hi and lo <= mtime_ns <= hi):
                if i is None:
                    if len(split_path(name)) != 1:
                        raise TreeError(f"{name!r}: a file name, not a path")
                    if name not in node._dirs:
                        new += 1
                node.set(name, _file(size, mtime_ns, content))
                continue
            node.set_slot(i, size, mtime_ns, content)
        return new

    def __delitem__(self, path: str) -> None:
        """Remove an entry (a directory with everything below it)."""
        parent, name = self._parent(path)
        if name not in parent:
            raise KeyError(path)
        parent.delete(name)

    def __len__(self) -> int:
        """Number of entries, the root included."""
        n = 1
        stack = [self._root]
        while stack:
            d = stack.pop()
            n += len(d)
            stack.extend(d.dirs.values())
        return n

    def __iter__(self) -> Iterator[str]:
        for path, _ in self.items():
            yield path

    def items(self) -> Iterator[tuple[str, Entry]]:
        """(path, entry) pairs in rsync's order, the root first."""
        yield ".", Dir(self._root.mtime_ns)
        yield from self._walk(self._root, "")

    def _walk(self, node: _DirNode, prefix: str) -> Iterator[tuple[str, Entry]]:
        # Straight from the columns (no get() per name): trees are iterated whole, often.
        index, items, ints = node._index, node._items, node._ints
        for name in _bytewise(list(index)):
            i = index[name]
            v = items[i]
            if type(v) is File or type(v) is Symlink:
                yield prefix + name, v
            else:
                f = _new_object(File)  # _file(), inlined
                _set_size(f, ints[2 * i])
                _set_mtime(f, ints[2 * i + 1])
                _set_content(f, v)
                yield prefix + name, f
        dirs = node._dirs
        for name in _bytewise(list(dirs)):
            child = dirs[name]
            path = prefix + name
            yield path, Dir(child.mtime_ns)
            yield from self._walk(child, path + "/")

    def listdir(self, path: str = ".") -> list[str]:
        """Names in a directory, in rsync's order."""
        node = self._node(path)
        if type(node) is not _DirNode:
            raise TreeError(f"{path!r}: not a directory")
        return node.ordered()

    def copy(self) -> FileTree:
        """An independent copy (entries are immutable values and are shared)."""
        t = FileTree.__new__(FileTree)
        t._root = self._root.copy()
        return t

    # comparison ---------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileTree):
            return NotImplemented
        return not self.diff(other, limit=1)

    __hash__ = None  # type: ignore[assignment]

    def diff(self, other: FileTree, *, limit: int | None = None) -> list[str]:
        """Human-readable differences, one per line (content compared by bytes)."""
        out: list[str] = []
        mine = dict(self.items())
        theirs = dict(other.items())
        for path in sorted(mine.keys() | theirs.keys(), key=sort_key):
            if limit is not None and len(out) >= limit:
                break
            a, b = mine.get(path), theirs.get(path)
            if a is None:
                out.append(f"{path}: only in other ({describe(b)})")
            elif b is None:
                out.append(f"{path}: only in self ({describe(a)})")
            elif type(a) is not type(b):
                out.append(f"{path}: {describe(a)} != {describe(b)}")
            elif isinstance(a, File):
                assert isinstance(b, File)
                if a.size != b.size or a.mtime_ns != b.mtime_ns or not same_content(a, b):
                    out.append(f"{path}: {describe(a)} != {describe(b)}")
            elif a != b:
                out.append(f"{path}: {describe(a)} != {describe(b)}")
        return out

    def __repr__(self) -> str:
        return f"FileTree({self.to_json()!r})"

    # JSON ---------------------------------------------------------------------

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The exchange form: ``{path: {"type": ..., ...}}`` with ``"."`` the root."""
        out: dict[str, dict[str, Any]] = {}
        for path, e in self.items():
            if isinstance(e, File):
                d: dict[str, Any] = {"type": "file", "size": e.size, "mtime_ns": e.mtime_ns}
                text = _as_text(e)
                if text is not None:
                    d["content"] = text
                else:
                    d["content_sha1"] = content_sha1(e)
            elif isinstance(e, Dir):
                d = {"type": "dir", "mtime_ns": e.mtime_ns}
            else:
                d = {"type": "symlink", "target": e.target, "mtime_ns": e.mtime_ns}
            out[path] = d
        return out

    @classmethod
    def from_json(cls, obj: object) -> FileTree:
        """Build a tree from its exchange form; a malformed entry raises :class:`TreeError`."""
        if not isinstance(obj, Mapping):
            raise TreeError(f"tree JSON must be an object mapping paths to entries (got {type(obj).__name__})")
        for path in obj:
            if not isinstance(path, str):
                raise TreeError(f"{path!r}: path must be a string")
        if "." not in obj:
            raise TreeError("'.': the root directory entry is missing")
        tree = cls()
        # Parents before children, whatever order the object lists them in.
        for path in sorted(obj, key=lambda p: 0 if p == "." else p.count("/") + 1):
            entry = _entry_from_json(path, obj[path])
            if path == "." and not isinstance(entry, Dir):
                raise TreeError("'.': 'type' must be 'dir' for the root")
            tree[path] = entry
        return tree

    # real directories -----------------------------------------------------------

    @classmethod
    def from_path(cls, root: str | os.PathLike[str]) -> FileTree:
        """Read a real directory (never following symlinks)."""
        root = os.fspath(root)
        try:
            st = os.lstat(root)
        except OSError as exc:
            raise TreeError(f"{root}: cannot read directory: {exc.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise TreeError(f"{root}: not a directory")
        tree = cls(st.st_mtime_ns)
        _read_dir(root, tree._root)
        return tree

    def to_path(self, root: str | os.PathLike[str]) -> None:
        """Write the tree into ``root`` (created if missing, else it must be empty),
        contents and mtimes included."""
        root = os.fspath(root)
        # Refuse before touching the disk, so a refusal leaves nothing half-written.
        for path, e in self.items():
            if isinstance(e, File) and isinstance(e.content, Digest):
                raise ContentError(
                    f"{path!r}: content known only by its sha1 {e.content.sha1} cannot be written to disk"
                )
        if os.path.lexists(root):
            if not os.path.isdir(root) or os.path.islink(root):
                raise TreeError(f"{root}: exists and is not a directory")
            if os.listdir(root):
                raise TreeError(f"{root}: directory is not empty; refusing to write a tree over it")
        else:
            os.mkdir(root)
        _write_dir(root, self._root)


def describe(e: Entry | None) -> str:
    if isinstance(e, File):
        return f"file size={e.size} mtime_ns={e.mtime_ns} sha1={content_sha1(e)[:10]}"
    if isinstance(e, Dir):
        return f"dir mtime_ns={e.mtime_ns}"
    if isinstance(e, Symlink):
        return f"symlink -> {e.target} mtime_ns={e.mtime_ns}"
    return "nothing"


def _as_text(f: File) -> str | None:
    if isinstance(f.content, Digest):
        return None
    if isinstance(f.content, int) and f.size > 4096:
        return None
    try:
        return content_bytes(f).decode("utf-8")
    except UnicodeDecodeError:
        return None


_FILE_KEYS = {"type", "size", "mtime_ns", "content", "content_sha1"}
_DIR_KEYS = {"type", "mtime_ns"}
_LINK_KEYS = {"type", "target", "mtime_ns"}


def _entry_from_json(path: str, d: object) -> Entry:
    if path == "":
        raise TreeError("'': empty path (the root directory is '.')")
    split_path(path)  # rejects absolute paths, '..' and empty components
    if not isinstance(d, Mapping):
        raise TreeError(f"{path!r}: entry must be an object (got {type(d).__name__})")
    kind = d.get("type")
    allowed = {"file": _FILE_KEYS, "dir": _DIR_KEYS, "symlink": _LINK_KEYS}.get(kind if isinstance(kind, str) else "")
    if allowed is None:
        raise TreeError(f"{path!r}: 'type' must be 'file', 'dir' or 'symlink' (got {kind!r})")
    extra = sorted(set(d) - allowed)
    if extra:
        raise TreeError(f"{path!r}: unknown field {extra[0]!r} for a {kind}")
    mtime = d.get("mtime_ns")
    if "mtime_ns" not in d:
        raise TreeError(f"{path!r}: 'mtime_ns' is missing")
    if not isinstance(mtime, int) or isinstance(mtime, bool):
        raise TreeError(f"{path!r}: 'mtime_ns' must be an integer (got {mtime!r})")
    if kind == "dir":
        return Dir(mtime)
    if kind == "symlink":
        target = d.get("target")
        if not isinstance(target, str) or not target:
            raise TreeError(f"{path!r}: 'target' must be a non-empty string (got {target!r})")
        return Symlink(target, mtime)
    size = d.get("size")
    if "size" not in d:
        raise TreeError(f"{path!r}: 'size' is missing")
    if not isinstance(size, int) or isinstance(size, bool):
        raise TreeError(f"{path!r}: 'size' must be an integer (got {size!r})")
    if size < 0:
        raise TreeError(f"{path!r}: 'size' must be >= 0 (got {size})")
    if ("content" in d) == ("content_sha1" in d):
        raise TreeError(f"{path!r}: a file needs exactly one of 'content' and 'content_sha1'")
    if "content" in d:
        text = d["content"]
        if not isinstance(text, str):
            raise TreeError(f"{path!r}: 'content' must be a string (got {type(text).__name__})")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TreeError(f"{path!r}: 'content' cannot be encoded as UTF-8 ({exc.reason})") from None
        if len(data) != size:
            raise TreeError(f"{path!r}: 'size' is {size} but 'content' is {len(data)} bytes")
        return File(size, mtime, data)
    sha = d["content_sha1"]
    if not isinstance(sha, str) or len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
        raise TreeError(f"{path!r}: 'content_sha1' must be 40 lowercase hex digits (got {sha!r})")
    return File(size, mtime, Digest(sha, size))


def _read_dir(path: str, node: _DirNode) -> None:
    with os.scandir(path) as it:
        entries = list(it)
    for de in entries:
        st = de.stat(follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            child = _DirNode(st.st_mtime_ns)
            node.set(de.name, child)
            _read_dir(de.path, child)
        elif stat.S_ISLNK(mode):
            node.set(de.name, Symlink(os.readlink(de.path), st.st_mtime_ns))
        elif stat.S_ISREG(mode):
            node.set(de.name, File(st.st_size, st.st_mtime_ns, _read_content(de.path, st.st_size)))
        else:
            raise TreeError(f"{de.path}: not a regular file, directory or symlink (devices are not modelled)")


def _read_content(path: str, size: int) -> Blob:
    with open(path, "rb") as fh:
        if size <= LITERAL_LIMIT:
            return fh.read()
        h = hashlib.sha1()
        n = 0
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
        return Digest(h.hexdigest(), n)


def _write_dir(path: str, node: _DirNode) -> None:
    for name, child in node.items():
        p = os.path.join(path, name)
        if type(child) is _DirNode:
            os.mkdir(p)
            _write_dir(p, child)
        elif isinstance(child, Symlink):
            os.symlink(child.target, p)
            os.utime(p, ns=(child.mtime_ns, child.mtime_ns), follow_symlinks=False)
        else:
            assert isinstance(child, File)
            with open(p, "wb") as fh:
                fh.write(content_bytes(child))
            os.utime(p, ns=(child.mtime_ns, child.mtime_ns))
    # Last: writing the children bumped this directory's mtime.
    os.utime(path, ns=(node.mtime_ns, node.mtime_ns))

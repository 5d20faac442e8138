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
from collections.abc import Iterable, Iterator, Mapping
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


class _DirNode:
    """A directory inside a tree: its mtime and its children (mutable)."""

    __slots__ = ("children", "mtime_ns")

    def __init__(self, mtime_ns: int, children: dict[str, Node] | None = None) -> None:
        self.mtime_ns = mtime_ns
        self.children: dict[str, Node] = {} if children is None else children

    def copy(self) -> _DirNode:
        children = self.children.copy()
        for name, child in children.items():
            if type(child) is _DirNode:
                children[name] = child.copy()
        return _DirNode(self.mtime_ns, children)


Node: TypeAlias = "File | Symlink | _DirNode"


def ordered(children: Mapping[str, Node], names: Iterable[str] | None = None) -> list[str]:
    """Names (all of ``children``, or the given subset of them) in rsync's order:
    non-directories first, then directories, each bytewise."""
    return sorted(
        children if names is None else names, key=lambda n: (type(children[n]) is _DirNode, os.fsencode(n))
    )


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
        node: Node = self._root
        for part in split_path(path):
            if type(node) is not _DirNode:
                return None
            child = node.children.get(part)
            if child is None:
                return None
            node = child
        return node

    def _parent(self, path: str) -> tuple[_DirNode, str]:
        parts = split_path(path)
        if not parts:
            raise TreeError("'.': the root directory has no parent")
        node: Node = self._root
        for i, part in enumerate(parts[:-1]):
            child = node.children.get(part) if type(node) is _DirNode else None
            if type(child) is not _DirNode:
                parent = "/".join(parts[: i + 1])
                what = "missing" if child is None else "not a directory"
                raise TreeError(f"{path!r}: parent directory {parent!r} is {what}")
            node = child
        assert type(node) is _DirNode
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
        return isinstance(path, str) and self._node(path) is not None

    def __setitem__(self, path: str, entry: Entry) -> None:
        """Add or replace an entry. A Dir over an existing dir only sets its mtime."""
        if not isinstance(entry, File | Dir | Symlink):
            raise TreeError(f"{path!r}: entry must be File, Dir or Symlink (got {type(entry).__name__})")
        if not split_path(path):
            if not isinstance(entry, Dir):
                raise TreeError("'.': the root must be a directory")
            self._root.mtime_ns = entry.mtime_ns
            return
        parent, name = self._parent(path)
        if isinstance(entry, Dir):
            old = parent.children.get(name)
            if type(old) is _DirNode:
                old.mtime_ns = entry.mtime_ns
            else:
                parent.children[name] = _DirNode(entry.mtime_ns)
        else:
            parent.children[name] = entry

    def __delitem__(self, path: str) -> None:
        """Remove an entry (a directory with everything below it)."""
        parent, name = self._parent(path)
        if name not in parent.children:
            raise KeyError(path)
        del parent.children[name]

    def __len__(self) -> int:
        """Number of entries, the root included."""
        n = 1
        stack = [self._root]
        while stack:
            d = stack.pop()
            n += len(d.children)
            stack.extend(c for c in d.children.values() if type(c) is _DirNode)
        return n

    def __iter__(self) -> Iterator[str]:
        for path, _ in self.items():
            yield path

    def items(self) -> Iterator[tuple[str, Entry]]:
        """(path, entry) pairs in rsync's order, the root first."""
        yield ".", Dir(self._root.mtime_ns)
        yield from self._walk(self._root, "")

    def _walk(self, node: _DirNode, prefix: str) -> Iterator[tuple[str, Entry]]:
        for name in ordered(node.children):
            child = node.children[name]
            path = prefix + name
            if type(child) is _DirNode:
                yield path, Dir(child.mtime_ns)
                yield from self._walk(child, path + "/")
            else:
                yield path, child  # type: ignore[misc]

    def listdir(self, path: str = ".") -> list[str]:
        """Names in a directory, in rsync's order."""
        node = self._node(path)
        if type(node) is not _DirNode:
            raise TreeError(f"{path!r}: not a directory")
        return ordered(node.children)

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
            node.children[de.name] = child
            _read_dir(de.path, child)
        elif stat.S_ISLNK(mode):
            node.children[de.name] = Symlink(os.readlink(de.path), st.st_mtime_ns)
        elif stat.S_ISREG(mode):
            node.children[de.name] = File(st.st_size, st.st_mtime_ns, _read_content(de.path, st.st_size))
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
    for name, child in node.children.items():
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

"""File operations that never leave a root: every path component is opened with
``O_NOFOLLOW`` relative to its parent's descriptor, so a symlink anywhere in a
tree (``out -> /etc``, ``out -> ../..``) cannot make the local backend write,
read or delete outside its folders. A symlink on the way is a :class:`BackendError`.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

from nassim.errors import BackendError, TreeError
from nassim.tree import split_path

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _components(rel: str) -> tuple[str, ...]:
    try:
        parts = split_path(rel)
    except TreeError as exc:
        raise BackendError(f"{rel!r}: not a path inside a folder ({exc})") from None
    if not parts:
        raise BackendError(f"{rel!r}: names the folder itself, not a file in it")
    return parts


def _escape(base: str, rel: str, part: str) -> BackendError:
    return BackendError(
        f"{rel!r} in {base}: {part!r} is a symlink or not a directory; "
        "the local backend never follows a symlink out of its root"
    )


def open_parent(base: str, rel: str, *, create: bool) -> tuple[int, str]:
    """A descriptor of ``rel``'s parent directory under ``base`` (created when ``create``) and the last name."""
    parts = _components(rel)
    fd = os.open(base, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, dir_fd=fd)
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _escape(base, rel, part) from None
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd, parts[-1]


def make_dirs(base: str, rel: str) -> None:
    """Create the directory ``base/rel`` and its parents; never through a symlink."""
    fd, name = open_parent(base, rel, create=True)
    try:
        try:
            os.mkdir(name, dir_fd=fd)
        except FileExistsError:
            os.close(os.open(name, _DIR_FLAGS, dir_fd=fd))  # an existing directory, not a symlink
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _escape(base, rel, name) from None
        raise
    finally:
        os.close(fd)


def open_write(base: str, rel: str) -> int:
    """Open ``base/rel`` for writing (created, truncated), parents created; never through a symlink."""
    fd, name = open_parent(base, rel, create=True)
    try:
        return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _escape(base, rel, name) from None
        raise
    finally:
        os.close(fd)


def write_file(base: str, rel: str, data: bytes) -> None:
    out = open_write(base, rel)
    try:
        os.write(out, data)
    finally:
        os.close(out)


def read_file(base: str, rel: str) -> bytes | None:
    """The bytes of the regular file ``base/rel``; None when it is missing or not a regular file."""
    try:
        fd, name = open_parent(base, rel, create=False)
    except (FileNotFoundError, BackendError):
        return None
    try:
        f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        if not stat.S_ISREG(os.fstat(f).st_mode):
            return None
        chunks = []
        while chunk := os.read(f, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(f)


def size_of(base: str, rel: str) -> int | None:
    """The size of the regular file ``base/rel`` (no symlink followed), or None."""
    try:
        fd, name = open_parent(base, rel, create=False)
    except (FileNotFoundError, BackendError):
        return None
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None
    finally:
        os.close(fd)
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def unlink(base: str, rel: str) -> None:
    """Delete the file (or symlink itself) ``base/rel``."""
    fd, name = open_parent(base, rel, create=False)
    try:
        os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def rename(base: str, old: str, new: str) -> None:
    """Rename within ``base`` (the new name's parents created)."""
    fa, na = open_parent(base, old, create=False)
    try:
        fb, nb = open_parent(base, new, create=True)
        try:
            os.rename(na, nb, src_dir_fd=fa, dst_dir_fd=fb)
        finally:
            os.close(fb)
    finally:
        os.close(fa)


def walk_files(base: str) -> Iterator[str]:
    """Relative paths of the regular files under ``base``, sorted; symlinks are not followed."""
    out: list[str] = []

    def visit(path: str, prefix: str) -> None:
        try:
            entries = list(os.scandir(path))
        except OSError:
            return
        for de in entries:
            rel = prefix + de.name
            if de.is_dir(follow_symlinks=False):
                visit(de.path, rel + "/")
            elif de.is_file(follow_symlinks=False):
                out.append(rel)

    visit(base, "")
    yield from sorted(out)


def count_entries(base: str) -> int:
    """Files, directories and symlinks under ``base`` (what rsync scans)."""
    n = 0
    for _, dirs, files in os.walk(base):
        n += len(dirs) + len(files)
    return n

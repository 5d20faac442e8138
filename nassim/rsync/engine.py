"""What one rsync run does to a destination tree: decide, itemize, apply.

The code follows rsync 3.5.0's generator and receiver (``generator.c``
``recv_generator``, ``delete.c``, ``rsync.c``) closely enough that the
differential tests can hold it to the real binary line by line; each rule
cites the section of ``shared/reference/rsync-semantics.md`` it implements.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Literal, NamedTuple

import attrs

from nassim.errors import RsyncOptionError
from nassim.rsync.filters import Filter, compile_excludes
from nassim.rsync.options import RsyncOptions, parse_args
from nassim.tree import (
    Digest,
    File,
    FileTree,
    OwnerSupport,
    Symlink,
    Volume,
    _DirNode,
    _file,
    same_content,
    split_path,
    windows_name_problem,
)

__all__ = ["Interrupt", "RsyncResult", "RsyncStats", "Transfer", "run"]

#: Called when a file's data is read (send time) with the run's progress so far:
#: the file as it is then, or None if it vanished.
SourceReader = Callable[[str, File, "RsyncStats"], "File | None"]

EXIT_OK = 0
EXIT_FILESELECT = 3  # errors selecting input/output files, dirs
EXIT_SIGNAL = 20  # SIGINT/SIGTERM/SIGHUP
EXIT_PARTIAL = 23  # partial transfer due to error
EXIT_VANISHED = 24  # partial transfer due to vanished source files
EXIT_KILLED = 137  # SIGKILL: rsync has no exit code; the shell sees 128 + 9


@attrs.frozen
class Interrupt:
    """Stop the run while it writes transfer number ``after_transfers + 1``.

    ``signal="KILL"`` leaves the ``.NAME.XXXXXX`` temp file behind (§11);
    ``"TERM"`` lets rsync clean up (or, with ``--partial``, keep the partial
    data as the file with mtime 0). ``bytes_written`` is how much of the
    interrupted file reached the disk (default: half of it).
    """

    after_transfers: int = attrs.field(validator=attrs.validators.ge(0))
    signal: Literal["TERM", "KILL"] = "KILL"
    bytes_written: int | None = None


@attrs.frozen
class RsyncStats:
    """Counts the cost model turns into seconds."""

    scanned: int = 0  # entries in the sender's file list
    dst_stat: int = 0  # destination entries looked at
    transferred: int = 0  # regular files written
    bytes: int = 0  # data bytes written
    deleted: int = 0
    created_dirs: int = 0
    attr_updates: int = 0  # items whose attributes alone changed


class Transfer(NamedTuple):
    """One file whose data the run wrote, and the run's progress once it was written.

    A named tuple rather than an attrs class: the engine makes one per file it sends
    (millions in a month-long simulation), and a tuple is made several times faster.
    """

    path: str
    size: int
    content: object  # the Blob written (see nassim.tree.File)
    mtime_ns: int
    # The run's counts once the file was written: RsyncStats' fields, in their order (see done).
    counts: tuple[int, ...]

    @property
    def done(self) -> RsyncStats:
        """The run's progress once the file was written."""
        return RsyncStats(*self.counts)


@attrs.frozen
class RsyncResult:
    """What one run printed, how it exited, and the destination afterwards.

    ``itemized`` holds the ``-i`` lines (``%i %n%L``) whether or not ``-i``
    was given; ``dst`` is None only when the destination did not exist and
    the run did not create it (``--dry-run``).
    """

    exit_code: int
    itemized: tuple[str, ...]
    dst: FileTree | None
    messages: tuple[str, ...] = ()  # informational lines on stdout
    errors: tuple[str, ...] = ()  # lines on stderr
    stats: RsyncStats = RsyncStats()
    transfers: tuple[Transfer, ...] = ()  # files whose data was written, in order
    killed: bool = False
    # Transferred paths the next incremental run need not look at again: their copy passes
    # the quick check against the source as it is, and so does every directory the run fixed
    # (see _Run.settles). Only files sent from the columns are listed: a subset of all such.
    settled: tuple[str, ...] = ()

    @property
    def transferred(self) -> tuple[str, ...]:
        """Paths whose data was written, in order."""
        return tuple(t.path for t in self.transfers)


_MISSING = object()
_new_object = object.__new__
# RsyncStats' setters, in the fields' order: one is made per file sent to a read_source,
# without attrs' frozen __init__ (see nassim.tree._file).
_STATS_FIELDS = tuple(a.name for a in attrs.fields(RsyncStats))
_s0, _s1, _s2, _s3, _s4, _s5, _s6 = (RsyncStats.__dict__[f].__set__ for f in _STATS_FIELDS)
_new_tuple = tuple.__new__  # Transfer(...) without its Python-level __new__, in the hot loop


class _Stop(Exception):
    """Unwinds the run at an interrupt."""


def run(
    src: FileTree | None,
    dst: FileTree | None,
    args: Sequence[str] | RsyncOptions,
    *,
    now_ns: int | None = None,
    dst_volume: Volume | None = None,
    src_name: str = "src",
    dst_name: str = "dst",
    read_source: SourceReader | None = None,
    interrupt: Interrupt | None = None,
    seed: int = 0,
    in_place: bool = False,
    dst_reachable: bool = True,
    changed: Iterable[str] | None = None,
) -> RsyncResult:
    """Run rsync from ``src`` to ``dst`` (None: the directory does not exist).

    ``now_ns`` is the wall clock during the run (files written without ``-t``,
    or on a volume that cannot set times, get it); ``dst_volume`` the traits
    of the destination; ``read_source`` lets a caller hand out a file's data
    as it is at send time (a writer may still be writing it); ``interrupt``
    kills the run part-way; ``seed`` makes temp-file names reproducible.
    ``src=None`` means the source directory is missing.

    ``in_place=True`` changes ``dst`` itself (and returns it) instead of a
    copy: what a simulator that owns the tree wants. ``dst_reachable=False``
    is a destination that fails with I/O errors (a dead ``minikube mount``).

    ``changed`` is the incremental path: the paths (relative to the source
    root) that changed in the source or the destination since the two were
    last in sync. The run then looks only at them and their parent
    directories, so its cost grows with the changes, not the tree; its result
    is what a full run would give provided everything else is in sync.
    ``stats.scanned`` then counts only what was looked at.
    """
    opts = args if isinstance(args, RsyncOptions) else parse_args(args)
    if opts.delete is not None and not opts.recursive:
        # rsync refuses this combination with exit 1 (a usage error), before touching anything.
        raise RsyncOptionError("rsync option '--delete' does not work without '--recursive' (-r)")
    if opts.source is not None:
        src_name, dst_name = opts.source, opts.destination or dst_name
    r = _Run(
        opts,
        dst_volume or Volume(),
        time.time_ns() if now_ns is None else now_ns,
        src_name.rstrip("/") or "/",
        dst_name.rstrip("/") or "/",
        read_source,
        interrupt,
        seed,
    )
    r.in_place = in_place
    if changed is not None:
        r.set_changed(changed)
    if not dst_reachable:
        # [inferred] The receiver cannot stat or enter the destination: rsync's
        # get_local_name() fails with RERR_FILESELECT before touching anything.
        r.errors.append(f'rsync: [Receiver] change_dir#3 "{r.dst_name}" failed: Input/output error (5)')
        r.exit_code = EXIT_FILESELECT
        return r.result(dst)
    return r.execute(src, dst)


class _Run:
    def __init__(
        self,
        opts: RsyncOptions,
        vol: Volume,
        now_ns: int,
        src_name: str,
        dst_name: str,
        read_source: SourceReader | None,
        interrupt: Interrupt | None,
        seed: int,
    ) -> None:
        self.o = opts
        self.vol = vol
        self.now = vol.stored_mtime(now_ns)
        self.src_name = src_name
        self.dst_name = dst_name
        self.read_source = read_source
        self.interrupt = interrupt
        self.seed = seed  # of the temp-file names' generator, made when one is needed
        self.filt: Filter = compile_excludes(opts.excludes)
        self.filtering = bool(self.filt)  # the filter's __bool__ is a Python call; this is hot
        self.itemized: list[str] = []
        self.messages: list[str] = []
        self.errors: list[str] = []
        self.transfers: list[Transfer] = []
        self.settled: list[str] = []
        self.in_place = False
        # The incremental path: directory -> names to look at, and the changed paths themselves.
        self.visit: dict[str, set[str]] | None = None
        self.changed: set[str] = set()
        # Identical entry objects on both sides need no look (never with --ignore-times).
        self.fast = not opts.ignore_times
        # Undo log of a dry run, which works on the caller's tree and restores it at the end.
        self.journal: list[tuple[_DirNode, str | None, object]] | None = None
        self.exit_code = EXIT_OK
        self.vanished = False
        self.killed = False
        # One counter per RsyncStats field, in the fields' order (progress() relies on it).
        self.stats = dict.fromkeys(_STATS_FIELDS, 0)
        self.io_error = False
        self.io_warned = False
        self.delayed_deletes: list[tuple[_DirNode, str, str]] = []
        # Directories whose mtime rsync fixes at the end (§10), with their source mtime.
        self.dir_fixups: list[tuple[_DirNode, int]] = []
        # Non-directories standing where a source directory is (--ignore-existing keeps them).
        self.path_fixups: list[tuple[_DirNode, str, int]] = []
        self.changed_dirs: set[int] = set()
        if opts.modify_window == 0:
            self.same_time = self._same_second  # type: ignore[method-assign]
        self.dir_times = opts.times and not opts.omit_dir_times
        # The volume's time step where times can be set (0: they cannot; see stored_time()).
        self.time_step = vol.mtime_resolution_ns if vol.can_set_times else 0
        # The incremental path decides two regular files from the columns with these
        # options (sync_changed_dir), and sends one with no File made when nothing in
        # transfer() can intervene: no read at send time, no read-only volume, no
        # interrupt, no failing chown (a Windows name is checked per file).
        self.column_quick = not (
            opts.checksum or opts.ignore_times or opts.size_only or opts.update or opts.ignore_existing
        )
        self.plain_send = (
            (read_source is None or opts.dry_run)
            and not vol.read_only
            and interrupt is None
            and not (vol.owners is OwnerSupport.FAIL and (opts.owner or opts.group))
        )
        # A file sent with its time set passes the quick check from then on (same size; the
        # stored time within the same second as the source's), and so does each directory
        # whose time fix_dir_times() sets: the run writes (no --dry-run), the volume sets
        # times and stores them in steps that divide a second (so a stored time never falls
        # into the second before), and --modify-window is not negative. Such a file is settled.
        self.settles = (
            opts.times
            and not opts.dry_run
            and vol.can_set_times
            and 1_000_000_000 % vol.mtime_resolution_ns == 0
            and opts.modify_window >= 0
        )
        # Itemize flags of a changed file by [size differs][mtime differs] (sync_file).
        t = "t" if opts.times else "T"
        u = "." if opts.times else "T"
        self.change_flags = ((f"..{u}......", f"..{t}......"), (f".s{u}......", f".s{t}......"))

    # --- output -----------------------------------------------------------------

    def item(self, code: str, name: str) -> None:
        self.itemized.append(f"{code} {name}")

    def error(self, line: str, code: int = EXIT_PARTIAL) -> None:
        self.errors.append(line)
        self.exit_code = max(self.exit_code, code) if self.exit_code != EXIT_VANISHED else code

    def full(self, rel: str) -> str:
        return self.dst_name if rel in ("", ".") else f"{self.dst_name}/{rel}"

    # --- time rules (§4) ------------------------------------------------------

    def same_time(self, a_ns: int, b_ns: int) -> bool:
        w = self.o.modify_window
        if w == 0:
            return a_ns // 1_000_000_000 == b_ns // 1_000_000_000
        if w > 0:
            return abs(a_ns // 1_000_000_000 - b_ns // 1_000_000_000) <= w
        return a_ns == b_ns

    @staticmethod
    def _same_second(a_ns: int, b_ns: int) -> bool:
        """``same_time`` for the default --modify-window=0 (bound per run: it is hot)."""
        return a_ns // 1_000_000_000 == b_ns // 1_000_000_000

    def stored_time(self, src_mtime: int) -> int:
        """The mtime an item ends with when rsync sets it to ``src_mtime``."""
        step = self.time_step
        return src_mtime - src_mtime % step if step else self.now

    # --- the run ----------------------------------------------------------------

    def execute(self, src: FileTree | None, dst: FileTree | None) -> RsyncResult:
        o = self.o
        if src is None:
            self.error(f'rsync: [sender] change_dir "{self.src_name}" failed: No such file or directory (2)')
            return self.result(dst)
        if not o.recursive and o.copies_contents:
            self.messages.append("skipping directory .")
            if dst is not None:
                return self.result(dst)
            # The receiver still creates a missing destination (§2), stamped "now".
            if self.vol.read_only:
                self.error(f'rsync: [Receiver] mkdir "{self.dst_name}" failed: Read-only file system (30)', 11)
                return self.result(dst)
            self.messages.append(f"created directory {self.dst_name}")
            return self.result(dst if o.dry_run else FileTree(self.now))
        if dst is None:
            work = FileTree()
        elif o.dry_run:
            # No copy: the run changes the caller's tree as a real run would (later
            # decisions depend on earlier ones) and undoes every change at the end.
            work = dst
            self.journal = []
        elif self.in_place:
            work = dst
        else:
            work = dst.copy()
        if dst is not None:
            self.stats["dst_stat"] += 1  # the destination root itself
        root = work._root
        created = dst is None
        if created:
            if self.vol.read_only:
                self.error(f'rsync: [Receiver] mkdir "{self.dst_name}" failed: Read-only file system (30)', 11)
                return self.result(dst)
            self.messages.append(f"created directory {self.dst_name}")
            root.mtime_ns = self.now
            if o.dry_run and o.existing and o.copies_contents:
                # §5: a dry run only pretends to create the destination, so the generator
                # finds "." missing and --existing skips it with everything below (a real
                # run made it, and prints `cd+++++++++ ./` for it).
                return self.result(dst)
        try:
            self.walk(src, root, created)
        finally:
            if self.journal is not None:
                self.undo()
        if o.dry_run:
            return self.result(dst)
        return self.result(work)

    def walk(self, src: FileTree, root: _DirNode, created: bool) -> None:
        o = self.o
        try:
            if o.delete == "before" and not created:
                self.delete_pass(src._root, root)
            if o.copies_contents:
                self.sync_dir(src._root, root, "", is_new=created, full=self.visit is None)
            else:
                name = o.source_name
                self.sync_entry(name, src._root, root, "", full=self.visit is None or name in self.changed)
            if o.delete == "after" and self.io_error:
                # §6: the after-pass lists each directory anew, and skips them all after an I/O error.
                self.skip_deletion_for_io_error()
            elif o.delete in ("after", "delay"):
                # --delete-delay runs what it recorded before any error.
                for parent, name, rel in self.delayed_deletes:
                    self.delete_item(parent, name, rel)
            self.fix_dir_times()
        except _Stop:
            pass

    def set_changed(self, paths: Iterable[str]) -> None:
        """Restrict the run to ``paths`` and their parents (see :func:`run`)."""
        prefix = "" if self.o.copies_contents else self.o.source_name
        visit: dict[str, set[str]] = {}
        changed: set[str] = set()
        steps_of = _steps_cache.get(prefix)
        if steps_of is None:
            steps_of = _steps_cache[prefix] = _StepsCache(prefix)
        for p in paths:
            step = steps_of[p]
            if step is None:
                return  # the root itself changed: look at everything
            key, parent, name, up = step
            changed.add(key)
            names = visit.get(parent)
            if names is not None:
                # Whoever added ``parent`` added the steps down to it too.
                names.add(name)
                continue
            visit[parent] = {name}
            for above, child in up:
                got = visit.get(above)
                if got is None:
                    visit[above] = {child}
                else:
                    got.add(child)
        self.visit, self.changed = visit, changed

    # --- mutations (journaled in a dry run) ------------------------------------------

    def set_child(self, d: _DirNode, name: str, value: object) -> None:
        if self.journal is not None:
            old = d.get(name)
            self.journal.append((d, name, _MISSING if old is None else old))
        d.set(name, value)  # type: ignore[arg-type]

    def del_child(self, d: _DirNode, name: str) -> None:
        if self.journal is not None:
            self.journal.append((d, name, d.get(name)))
        d.delete(name)

    def set_mtime(self, d: _DirNode, mtime_ns: int) -> None:
        if self.journal is not None:
            self.journal.append((d, None, d.mtime_ns))
        d.mtime_ns = mtime_ns

    def undo(self) -> None:
        assert self.journal is not None
        for d, name, old in reversed(self.journal):
            if name is None:
                d.mtime_ns = old  # type: ignore[assignment]
            elif old is _MISSING:
                if name in d:
                    d.delete(name)
            else:
                d.set(name, old)  # type: ignore[arg-type]
        self.journal = None

    def result(self, dst: FileTree | None) -> RsyncResult:
        code = self.exit_code
        if self.killed:
            code = EXIT_KILLED
        elif self.interrupt is not None and self.stopped:
            code = EXIT_SIGNAL
        return RsyncResult(
            exit_code=code,
            itemized=tuple(self.itemized),
            dst=dst,
            messages=tuple(self.messages),
            errors=tuple(self.errors),
            stats=RsyncStats(**self.stats),
            transfers=tuple(self.transfers),
            killed=self.killed,
            settled=tuple(self.settled),
        )

    stopped = False

    # --- directories ------------------------------------------------------------

    def sync_dir(self, snode: _DirNode, dnode: _DirNode, rel: str, *, is_new: bool, full: bool = True) -> None:
        """Process directory ``rel`` (``""`` is the transfer root): its own line,
        deletions, files, then subdirectories. ``full=False`` (the incremental
        path) looks only at the children named in ``self.visit``."""
        if not full and not is_new:
            self.sync_changed_dir(snode, dnode, rel)
            return
        o = self.o
        stats = self.stats
        stats["scanned"] += 1
        if is_new:
            self.item("cd+++++++++", rel + "/" if rel else "./")
            stats["created_dirs"] += 1
        elif self.dir_times and not self.same_time(dnode.mtime_ns, snode.mtime_ns):
            self.item(".d..t......", rel + "/" if rel else "./")
            stats["attr_updates"] += 1
        if self.dir_times:
            self.dir_fixups.append((dnode, snode.mtime_ns))
        elif is_new:
            self.set_mtime(dnode, self.now)

        sdirs = snode._dirs
        candidates: list[str] | None
        if self.fast and not is_new:
            # A non-directory the destination holds as the source does (same name, size
            # and mtime, the very same content object: _DirNode.holds_same) needs nothing
            # whatever the options (but --ignore-times): skip it without a look or a sort. Directories always get
            # their look; without -l a symlink is reported as skipped on every run, so it
            # needs one too.
            candidates, same = snode.unshared(dnode, symlinks=not o.links)
            stats["scanned"] += same
            stats["dst_stat"] += same
        else:
            candidates = None
        if candidates is None or len(candidates) > 1:
            candidates = snode.ordered(candidates)
        names = [n for n in candidates if not self.excluded(rel, n, n in sdirs)] if self.filtering else candidates
        if o.delete is not None and o.delete != "before" and not is_new:
            self.delete_in_dir(snode, dnode, rel)
        subdirs: list[str] = []
        sget, dget, plain = snode.get, dnode.get, self.vol.case_sensitive
        # With neither --checksum nor --ignore-times, a file that passes the quick check
        # on the columns needs nothing (sync_file: unchanged, and no time to set).
        quick, same_time = not (o.checksum or o.ignore_times), self.same_time
        for name in names:
            if name in sdirs:
                subdirs.append(name)
                continue
            if quick and snode.quick_check_same(name, dnode, same_time):
                # What sync_file() would find (nothing to do), without making two Files.
                stats["dst_stat"] += 1
                stats["scanned"] += 1
                continue
            child = sget(name)
            if type(child) is File and plain:
                # sync_entry() for a file on a case-sensitive volume, inlined: this loop is hot.
                stats["dst_stat"] += 1
                stats["scanned"] += 1
                dcur = dget(name)
                crel = f"{rel}/{name}" if rel else name
                self.sync_file(name, child, dnode, crel, None if dcur is None else name, dcur)
            else:
                self.sync_entry(name, child, dnode, rel)
        if not o.dry_run and dnode.files_equal(snode):
            # Share the source's columns: the next run compares this directory in C
            # (see _DirNode.unshared), and the two trees hold its files once.
            dnode.share_files(snode)
        self.sync_subdirs(snode, dnode, rel, subdirs, full)

    def sync_changed_dir(self, snode: _DirNode, dnode: _DirNode, rel: str) -> None:
        """``sync_dir(full=False)`` of a directory both sides hold: the incremental path,
        which looks only at the children ``self.visit`` names for ``rel``.

        A named child the destination holds as the source does needs nothing (as in a
        full run: see ``unshared``). A regular file both sides keep in their columns is
        decided from the columns (the quick check, §4), and with the common options
        (``self.column_quick``) it is itemized and sent with no File made: per changed
        path, this loop is most of an incremental run's cost.
        """
        o = self.o
        stats = self.stats
        stats["scanned"] += 1
        if self.dir_times:
            mtime = snode.mtime_ns
            if dnode.mtime_ns != mtime and not self.same_time(dnode.mtime_ns, mtime):
                self.item(".d..t......", rel + "/" if rel else "./")
                stats["attr_updates"] += 1
            self.dir_fixups.append((dnode, mtime))
        assert self.visit is not None
        only = self.visit.get(rel, ())
        sfiles, sdirs = snode._index, snode._dirs
        names: list[str]
        if len(only) <= 1:
            # Most directories of an incremental run hold one changed path (or none: the root).
            names = [one for one in only if one in sfiles or one in sdirs]
        else:
            names = snode.ordered([n for n in only if n in sfiles or n in sdirs])
        if self.filtering:
            names = [n for n in names if not self.excluded(rel, n, n in sdirs)]
        if o.delete is not None and o.delete != "before":
            self.delete_in_dir(snode, dnode, rel, only)
        subdirs: list[str] = []
        column_quick, same_time = self.column_quick, self.same_time
        plain_send, windows_names, change_flags = self.plain_send, self.vol.windows_names, self.change_flags
        itemized, transfers, now, settles, settled = self.itemized, self.transfers, self.now, self.settles, self.settled
        step, times, write, inplace = self.time_step, o.times, not o.dry_run, o.inplace
        # The counters in locals, in RsyncStats' order: the loop below moves the first four.
        # ``stats`` gets them back before anything else reads or moves them (the slow paths).
        scanned, dst_stat, transferred, nbytes, deleted, created_dirs, attr_updates = stats.values()
        for name in names:
            if name in sdirs:
                subdirs.append(name)
                continue
            # _DirNode.pair(), inlined for two files in the columns (see there).
            i = sfiles[name]
            v = snode._items[i]
            j = dnode._index.get(name)
            if j is not None and type(v) is not File and type(v) is not Symlink:
                w = dnode._items[j]
                if type(w) is not File and type(w) is not Symlink:
                    sints, dints = snode._ints, dnode._ints
                    size, mtime = sints[2 * i], sints[2 * i + 1]
                    dsize, dmtime = dints[2 * j], dints[2 * j + 1]
                    if v is w and size == dsize and mtime == dmtime:
                        continue  # the destination holds it as it is here
                    # sync_entry() for a file the destination holds under its own name.
                    dst_stat += 1
                    scanned += 1
                    crel = f"{rel}/{name}" if rel else name
                    if column_quick:
                        # sync_file() for two regular files, without --checksum,
                        # --ignore-times, --size-only, --update or --ignore-existing.
                        same = same_time(mtime, dmtime)  # symmetric
                        if size == dsize and same:
                            continue  # unchanged: no time to set
                        if plain_send and not (windows_names and windows_name_problem(name)):
                            # transfer() of a file the destination holds under ``name``, from the
                            # columns, when nothing can get in the way (``self.plain_send``).
                            itemized.append(f">f{change_flags[size != dsize][not same]} {crel}")
                            transferred += 1
                            nbytes += size
                            out = (mtime - mtime % step if step else now) if times else now  # stored_time()
                            counts = (scanned, dst_stat, transferred, nbytes, deleted, created_dirs, attr_updates)
                            transfers.append(_new_tuple(Transfer, (crel, size, v, out, counts)))
                            if settles:
                                settled.append(crel)
                            if write:
                                # put() of a file over the file ``name`` (no journal outside a dry
                                # run); --inplace rewrites it where it is, and the directory's mtime stays.
                                dnode.set_slot(j, size, out, v)
                                if not inplace:
                                    dnode.mtime_ns = now
                            continue
                    stats.update(scanned=scanned, dst_stat=dst_stat, transferred=transferred, bytes=nbytes)
                    self.sync_file(name, _file(size, mtime, v), dnode, crel, name, _file(dsize, dmtime, w))
                    scanned, dst_stat, transferred, nbytes, deleted, created_dirs, attr_updates = stats.values()
                    continue
            stats.update(scanned=scanned, dst_stat=dst_stat, transferred=transferred, bytes=nbytes)
            self.sync_named(snode, dnode, rel, name)
            scanned, dst_stat, transferred, nbytes, deleted, created_dirs, attr_updates = stats.values()
        stats.update(scanned=scanned, dst_stat=dst_stat, transferred=transferred, bytes=nbytes)
        self.sync_subdirs(snode, dnode, rel, subdirs, False)

    def sync_named(self, snode: _DirNode, dnode: _DirNode, rel: str, name: str) -> None:
        """``sync_changed_dir``'s look at the non-directory ``name`` outside its column fast path."""
        child, dcur = snode.pair(name, dnode)
        if child is None:
            return  # the destination holds it as it is here (see _DirNode.pair)
        if type(child) is Symlink and child == dcur and self.o.links:
            return
        if type(child) is File and self.vol.case_sensitive:
            # sync_entry() for a file on a case-sensitive volume, inlined (a writer's new files come this way).
            stats = self.stats
            stats["dst_stat"] += 1
            stats["scanned"] += 1
            crel = f"{rel}/{name}" if rel else name
            self.sync_file(name, child, dnode, crel, None if dcur is None else name, dcur)
        else:
            self.sync_entry(name, child, dnode, rel)

    def sync_subdirs(self, snode: _DirNode, dnode: _DirNode, rel: str, subdirs: list[str], full: bool) -> None:
        """The subdirectories ``subdirs`` of ``rel``, after its files: each whole (``full``, or
        a changed path itself), or through the incremental path."""
        changed, sdirs, ddirs = self.changed, snode._dirs, dnode._dirs
        for name in subdirs:
            crel = f"{rel}/{name}" if rel else name
            dchild = ddirs.get(name)
            if dchild is not None:
                # sync_entry() for a directory that exists on both sides, inlined.
                self.stats["dst_stat"] += 1
                self.sync_dir(sdirs[name], dchild, crel, is_new=False, full=full or crel in changed)
            else:
                self.sync_entry(name, sdirs[name], dnode, rel, full or crel in changed)

    def excluded(self, rel: str, name: str, is_dir: bool) -> bool:
        if not self.filtering:
            return False
        return self.filt(_join(rel, name), is_dir)

    def folded(self, dnode: _DirNode, name: str) -> tuple[str | None, object]:
        """The name under which ``name`` exists in ``dnode`` when case folds (a
        case-insensitive volume), and what is there; (None, None) for nothing."""
        folded = name.casefold()
        for other in dnode.names():
            if other.casefold() == folded:
                return other, dnode.get(other)
        return None, None

    def touch_dir(self, dnode: _DirNode) -> None:
        """An entry was created or removed inside ``dnode``: the kernel bumps its mtime."""
        if not self.o.dry_run:
            self.set_mtime(dnode, self.now)

    def fix_dir_times(self) -> None:
        # §10: rsync re-sets each synced directory's mtime at the end, but only where it
        # differs by the quick-check rule (§4): an untouched dir whose mtime is "equal"
        # within the window keeps its own sub-second ns; one whose mtime a create or
        # delete bumped gets the source mtime with full ns.
        same_time, can_set = self.same_time, self.vol.can_set_times
        for dnode, mtime in self.dir_fixups:
            if dnode.mtime_ns != mtime and not same_time(dnode.mtime_ns, mtime) and can_set:
                self.set_mtime(dnode, self.stored_time(mtime))
        for dparent, name, mtime in self.path_fixups:
            f = dparent.get(name)
            if isinstance(f, File | Symlink) and not self.same_time(f.mtime_ns, mtime) and self.vol.can_set_times:
                self.set_child(dparent, name, attrs.evolve(f, mtime_ns=self.stored_time(mtime)))

    # --- one entry -----------------------------------------------------------------

    def sync_entry(self, name: str, snode: object, dparent: _DirNode, prel: str, full: bool = True) -> None:
        o = self.o
        rel = f"{prel}/{name}" if prel else name
        self.stats["dst_stat"] += 1
        existing: str | None = name
        dcur: object = dparent._dirs.get(name) if type(snode) is _DirNode else None
        if dcur is None:
            dcur = dparent.get(name)
            if dcur is None:
                existing, dcur = (None, None) if self.vol.case_sensitive else self.folded(dparent, name)
        if type(snode) is _DirNode:
            if dcur is None:
                if o.existing:
                    return
                newdir = self.make_dir(dparent, name, rel)
                if newdir is None:
                    return
                self.sync_dir(snode, newdir, rel, is_new=True)
                return
            if type(dcur) is not _DirNode:
                if o.ignore_existing:
                    self.blocked_dir(snode, rel)
                    if o.times and not o.omit_dir_times:
                        # §10: the end-of-run touch-up of directory times goes by path (and
                        # does not follow symlinks), so the file or symlink standing where
                        # the directory should be gets the directory's mtime.
                        assert existing is not None
                        self.path_fixups.append((dparent, existing, snode.mtime_ns))
                    return
                # §8: a file or symlink in the way of a directory goes silently.
                assert existing is not None
                self.remove(dparent, existing)
                newdir = self.make_dir(dparent, name, rel)
                if newdir is None:
                    return
                self.sync_dir(snode, newdir, rel, is_new=True)
                return
            self.sync_dir(snode, dcur, rel, is_new=False, full=full)
            return

        self.stats["scanned"] += 1
        if isinstance(snode, Symlink):
            if not o.links:
                # generator.c: --existing/--ignore-existing skip silently before this check.
                if (o.existing and dcur is None) or (o.ignore_existing and dcur is not None):
                    return
                self.messages.append(f'skipping non-regular file "{rel}"')
                return
            self.sync_symlink(name, snode, dparent, rel, existing, dcur)
            return
        assert isinstance(snode, File)
        self.sync_file(name, snode, dparent, rel, existing, dcur)

    def blocked_dir(self, snode: _DirNode, rel: str) -> None:
        """§5: --ignore-existing keeps a non-directory where the source has a directory.

        The generator still walks the source directory's contents, and every lookup
        under the file fails with ENOTDIR: files cannot be stat'ed, symlinks and
        subdirectories cannot be made (a dry run only pretends to make them, so it
        itemizes them, and a pretend-missing subdirectory's contents as new).
        """
        o = self.o
        self.stats["scanned"] += 1
        if o.delete in ("during", "delay"):
            # delete-during opens every transfer directory to list it (delete-before and
            # delete-after skip paths that are not directories).
            self.error(f'rsync: [generator] opendir "{self.full(rel)}" failed: Not a directory (20)')
            self.io_error = True  # and so later directories are not cleaned (§6)
        names = [n for n in snode.ordered() if not self.excluded(rel, n, snode.isdir(n))]
        # Without -p the generator asks for the parent's default ACL, which fails here; rsync
        # reports it and falls back on the umask (not an error). It asks again whenever it comes
        # back to this directory from an entry elsewhere: in a dry run, after the contents of a
        # pretend-new subdirectory (checked against rsync 3.5.0).
        ask = not o.perms
        for n in names:
            if ask:
                self.errors.append(
                    f"default_perms_for_dir: sys_acl_get_file({rel}, ACL_TYPE_DEFAULT): "
                    "Permission denied, falling back on umask"
                )
                ask = False
            child = snode.get(n)
            crel = _join(rel, n)
            if type(child) is _DirNode:
                if o.dry_run:
                    self.sync_dir(child, _DirNode(self.now), crel, is_new=True)
                    inside = any(not self.excluded(crel, m, child.isdir(m)) for m in child.names())
                    ask = inside and not o.perms
                    continue
                self.stats["scanned"] += 1
                self.item("cd+++++++++", crel + "/")
                self.error(f'rsync: [generator] recv_generator: mkdir "{self.full(crel)}" failed: Not a directory (20)')
                self.errors.append("*** Skipping any contents from this failed directory ***")
                continue
            self.stats["scanned"] += 1
            if isinstance(child, Symlink):
                if not o.links:
                    self.messages.append(f'skipping non-regular file "{crel}"')
                elif o.dry_run:
                    self.item("cL+++++++++", f"{crel} -> {child.target}")
                else:
                    self.error(
                        f'rsync: [generator] symlink "{self.full(crel)}" -> "{child.target}" failed:'
                        " Not a directory (20)"
                    )
                continue
            self.error(f'rsync: [generator] recv_generator: failed to stat "{self.full(crel)}": Not a directory (20)')

    def make_dir(self, dparent: _DirNode, name: str, rel: str | None = None) -> _DirNode | None:
        where = self.full(name if rel is None else rel)
        if self.vol.read_only:
            self.error(f'rsync: [generator] recv_generator: mkdir "{where}" failed: Read-only file system (30)')
            return None
        if self.vol.windows_names and windows_name_problem(name):
            self.error(f'rsync: [generator] recv_generator: mkdir "{where}" failed: Invalid argument (22)')
            return None
        node = _DirNode(self.now)
        self.set_child(dparent, name, node)
        self.touch_dir(dparent)
        return node

    def remove(self, dparent: _DirNode, name: str) -> None:
        self.del_child(dparent, name)
        self.touch_dir(dparent)

    def make_room(self, dparent: _DirNode, existing: str, rel: str, what: str) -> bool:
        """§8: remove a directory standing where a non-directory must go."""
        dnode = dparent.get(existing)
        assert type(dnode) is _DirNode
        if self.o.delete is not None:
            ok = self.delete_dir_contents(dnode, _join(rel.rpartition("/")[0], existing), recurse=True)
        else:
            ok = self.delete_dir_contents(dnode, _join(rel.rpartition("/")[0], existing), recurse=False)
        if not ok:
            self.error(f"could not make way for new {what}: {rel}")
            return False
        self.remove(dparent, existing)
        return True

    # --- symlinks (§9) -------------------------------------------------------------

    def sync_symlink(
        self, name: str, s: Symlink, dparent: _DirNode, rel: str, existing: str | None, dcur: object
    ) -> None:
        o = self.o
        shown = f"{rel} -> {s.target}"
        if dcur is None and o.existing:
            return
        if not (dcur is not None and o.ignore_existing) and not self.vol.symlinks:
            # minikube's 9p on a Windows host speaks 9P2000, which has no symlinks (reference §3).
            where = self.full(rel)
            self.error(f'rsync: [generator] symlink "{where}" -> "{s.target}" failed: Operation not permitted (1)')
            return
        if dcur is None:
            self.put(dparent, name, None, Symlink(s.target, self.link_time(s)))
            self.item("cL+++++++++", shown)
            return
        assert existing is not None
        if o.ignore_existing:
            return
        if isinstance(dcur, Symlink):
            changed = dcur.target != s.target
            tflag = o.times and not self.same_time(dcur.mtime_ns, s.mtime_ns)
            if not changed:
                if tflag:
                    self.item(".L..t......", shown)
                    self.stats["attr_updates"] += 1
                    if not o.dry_run:
                        self.set_child(dparent, existing, Symlink(dcur.target, self.link_time(s)))
                return
            self.put(dparent, name, existing, Symlink(s.target, self.link_time(s)))
            # Without -t a re-created link gets "now": itemized as `T` (§15).
            self.item("cLc." + self.time_flag(dcur.mtime_ns, s.mtime_ns) + "......", shown)
            return
        if type(dcur) is _DirNode:
            if not self.make_room(dparent, existing, rel, "symlink"):
                return
            existing = None
        self.put(dparent, name, existing, Symlink(s.target, self.link_time(s)))
        self.item("cL+++++++++", shown)

    def link_time(self, s: Symlink) -> int:
        return self.stored_time(s.mtime_ns) if self.o.times else self.now

    # --- regular files (§4, §5) ----------------------------------------------------

    def sync_file(self, name: str, s: File, dparent: _DirNode, rel: str, existing: str | None, dcur: object) -> None:
        o = self.o
        if dcur is None:
            if o.existing:
                return
            self.transfer(name, s, dparent, rel, None, None, "+++++++++")
            return
        assert existing is not None
        if o.ignore_existing:
            return
        if type(dcur) is _DirNode:
            if not self.make_room(dparent, existing, rel, "regular file"):
                return
            self.transfer(name, s, dparent, rel, None, None, "+++++++++")
            return
        if isinstance(dcur, Symlink):
            # A symlink in the way is replaced like a missing file.
            self.transfer(name, s, dparent, rel, existing, None, "+++++++++")
            return
        assert isinstance(dcur, File)
        if o.update and (s.mtime_ns // 10**9) - (dcur.mtime_ns // 10**9) < o.modify_window:
            return  # §5: the destination is newer
        if s.size == dcur.size and self.unchanged(s, dcur):
            tflag = o.times and not self.same_time(dcur.mtime_ns, s.mtime_ns)
            if tflag:
                self.item(".f..t......", rel)
                self.stats["attr_updates"] += 1
            # §4: after a --checksum match rsync sets the time with full accuracy
            # (ATTRS_ACCURATE_TIME), so a mtime "equal" within the window still gets the
            # source's exact ns, silently; otherwise only a differing mtime is set.
            exact = o.checksum and o.times and dcur.mtime_ns != s.mtime_ns
            if (tflag or exact) and not o.dry_run:
                self.set_child(dparent, existing, File(dcur.size, self.stored_time(s.mtime_ns), dcur.content))
            return
        flags = (
            ("c" if o.checksum and not same_content(s, dcur) else ".")
            + ("s" if s.size != dcur.size else ".")
            + self.time_flag(dcur.mtime_ns, s.mtime_ns)
            + "......"
        )
        self.transfer(name, s, dparent, rel, existing, dcur, flags)

    def time_flag(self, d_mtime: int, s_mtime: int) -> str:
        if not self.o.times:
            return "T"
        return "." if self.same_time(d_mtime, s_mtime) else "t"

    def unchanged(self, s: File, d: File) -> bool:
        """rsync's quick check (§4)."""
        o = self.o
        if s.size != d.size:
            return False
        if o.checksum:
            return same_content(s, d)
        if o.size_only:
            return True
        if o.ignore_times:
            return False
        return self.same_time(s.mtime_ns, d.mtime_ns)

    def transfer(
        self,
        name: str,
        s: File,
        dparent: _DirNode,
        rel: str,
        existing: str | None,
        old: File | None,
        flags: str,
    ) -> None:
        o = self.o
        data = s
        if self.read_source is not None and not o.dry_run:
            now_file = self.read_source(rel, s, self.progress())
            if now_file is None:
                # §12: vanished between scan and send.
                self.errors.append(f'file has vanished: "{self.src_name}/{rel}"')
                if self.exit_code == EXIT_OK:
                    self.exit_code = EXIT_VANISHED
                return
            data = now_file
        if self.vol.read_only:
            tmp = self.full(_tmp_rel(rel))
            self.error(f'rsync: [receiver] mkstemp "{tmp}" failed: Read-only file system (30)')
            return
        if self.vol.windows_names and (problem := windows_name_problem(name)):
            # [inferred] Through 9p to NTFS: a forbidden character already fails the temp
            # file; a reserved name or trailing dot/space fails the rename into place.
            tmp = self.full(_tmp_rel(rel))
            if problem.startswith("contains"):
                self.error(f'rsync: [receiver] mkstemp "{tmp}" failed: Invalid argument (22)')
            else:
                self.error(f'rsync: [receiver] rename "{tmp}" -> "{rel}": Invalid argument (22)')
            return
        if self.interrupt is not None and self.stats["transferred"] >= self.interrupt.after_transfers:
            self.interrupted_transfer(name, data, dparent, rel, existing, old)
        self.itemized.append(f">f{flags} {rel}")
        stats = self.stats
        stats["transferred"] += 1
        stats["bytes"] += data.size
        # §12: the destination gets the scan-time mtime even if the data read later was newer.
        mtime = self.stored_time(s.mtime_ns) if o.times else self.now
        if self.vol.owners is OwnerSupport.FAIL and (o.owner or o.group):
            # §13: chown fails on the temp file; the rest of its attributes are skipped.
            self.error(f'rsync: [receiver] chown "{self.full(_tmp_rel(rel))}" failed: Operation not permitted (1)')
            mtime = self.now
        self.transfers.append(Transfer(rel, data.size, data.content, mtime, tuple(self.stats.values())))
        if not o.dry_run:
            same = data is s and mtime == s.mtime_ns
            self.put(dparent, name, existing, s if same else File(data.size, mtime, data.content))

    def progress(self) -> RsyncStats:
        """The run's counts so far (this runs once per transferred file: RsyncStats made
        without attrs' __init__, a third faster, from the counters in the fields' order)."""
        st = _new_object(RsyncStats)
        a, b, c, d, e, f, g = self.stats.values()
        _s0(st, a)
        _s1(st, b)
        _s2(st, c)
        _s3(st, d)
        _s4(st, e)
        _s5(st, f)
        _s6(st, g)
        return st

    def interrupted_transfer(
        self, name: str, data: File, dparent: _DirNode, rel: str, existing: str | None, old: File | None
    ) -> None:
        """§11: the run is stopped while writing this file."""
        assert self.interrupt is not None
        it = self.interrupt
        written = data.size // 2 if it.bytes_written is None else min(it.bytes_written, data.size)
        self.stopped = True
        if self.o.dry_run:
            raise _Stop
        partial = File(written, self.now, data.content)
        if self.o.inplace:
            base = old if old is not None else None
            if base is None or written >= base.size:
                content = partial
            else:
                mixed = Digest(f"mixed:{rel}:{written}:{base.size}", base.size)
                content = File(base.size, self.now, mixed)
            self.put(dparent, name, existing, content)
        elif it.signal == "KILL":
            self.set_child(dparent, _tmp_name(name, random.Random(self.seed)), partial)
            self.touch_dir(dparent)
        elif self.o.partial:
            self.put(dparent, name, existing, File(written, 0, data.content))
        if it.signal == "KILL":
            self.killed = True
        raise _Stop

    def put(self, dparent: _DirNode, name: str, existing: str | None, entry: File | Symlink) -> None:
        """Write ``entry`` as ``name`` (replacing ``existing``, which may differ in case)."""
        if self.o.dry_run:
            return
        # §11: --inplace rewrites an existing file's data where it is; no entry is created
        # or renamed in the directory, so the kernel leaves the directory's mtime alone.
        in_place = (
            self.o.inplace and existing == name and isinstance(entry, File) and isinstance(dparent.get(name), File)
        )
        if existing is not None and existing != name:
            self.del_child(dparent, existing)
        self.set_child(dparent, name, entry)
        if not in_place:
            self.touch_dir(dparent)

    # --- deletion (§6, delete.c) -------------------------------------------------------

    def delete_pass(self, src_root: _DirNode, dst_root: _DirNode) -> None:
        """§6 ``--delete-before``: clean every directory of the transfer before anything
        else happens. The deletions bump the directories' mtimes first, so a real run
        then itemizes those directories as ``.d..t......`` (a dry run does not)."""
        if self.o.copies_contents:
            self._delete_pass(src_root, dst_root, "")
            return
        name = self.o.source_name
        top = dst_root.dirs.get(name)
        if top is not None:
            self._delete_pass(src_root, top, name)

    def _delete_pass(self, snode: _DirNode, dnode: _DirNode, rel: str) -> None:
        names = [n for n in snode.ordered() if not self.excluded(rel, n, snode.isdir(n))]
        self.delete_in_dir(snode, dnode, rel)
        for n in names:
            schild = snode.dirs.get(n)
            dchild = dnode.dirs.get(n)
            if schild is not None and dchild is not None:
                self._delete_pass(schild, dchild, _join(rel, n))

    def skip_deletion_for_io_error(self) -> None:
        if not self.io_warned:
            self.messages.append("IO error encountered -- skipping file deletion")
            self.io_warned = True

    def delete_in_dir(self, snode: _DirNode, dnode: _DirNode, rel: str, only: Collection[str] | None = None) -> None:
        """Delete destination entries of ``rel`` that the source list lacks (reverse order);
        with ``only``, just those of these names (the incremental path)."""
        if self.io_error and self.o.delete != "after":
            # §6 (delete.c delete_in_dir): once an I/O error is flagged, no directory is
            # cleaned any more; the first skip says so.
            self.skip_deletion_for_io_error()
            return
        pool: Iterable[str] = dnode.names() if only is None else [n for n in only if n in dnode]
        # Not in the sender's list: absent from the source, or excluded there.
        sfiles, sdirs = snode._index, snode.dirs
        if self.filtering:
            extra = [n for n in pool if (n not in sfiles and n not in sdirs) or self.excluded(rel, n, n in sdirs)]
        else:
            extra = [n for n in pool if n not in sfiles and n not in sdirs]
        dnames = [n for n in dnode.ordered(extra) if not self.excluded(rel, n, dnode.isdir(n))]
        for n in reversed(dnames):
            if self.o.delete in ("after", "delay"):
                self.delayed_deletes.append((dnode, n, _join(rel, n)))
            else:
                self.delete_item(dnode, n, _join(rel, n))

    def delete_item(self, dparent: _DirNode, name: str, rel: str) -> None:
        node = dparent.get(name)
        if node is None:
            return
        if type(node) is _DirNode and not self.delete_dir_contents(node, rel, recurse=True):
            return
        self.log_delete(dparent, name, rel, node)

    def log_delete(self, dparent: _DirNode, name: str, rel: str, node: object) -> None:
        self.item("*deleting  ", rel + "/" if type(node) is _DirNode else rel)
        self.stats["deleted"] += 1
        self.remove_for_delete(dparent, name)

    def remove_for_delete(self, dparent: _DirNode, name: str) -> None:
        if name in dparent:
            self.del_child(dparent, name)
        self.touch_dir(dparent)

    def delete_dir_contents(self, dnode: _DirNode, rel: str, *, recurse: bool) -> bool:
        """delete.c ``delete_dir_contents``: True when the directory is now empty.

        Excluded (protected) children are left in place and make it non-empty;
        the dry run pretends nested ``rmdir`` calls succeed, as rsync does (§6).
        """
        kids = dnode.ordered()
        listed = [n for n in kids if not self.excluded(rel, n, dnode.isdir(n))]
        ok = len(listed) == len(kids)
        if listed and not recurse:
            ok = False
        elif listed:
            for n in reversed(listed):
                child = dnode.get(n)
                crel = _join(rel, n)
                if type(child) is _DirNode:
                    inner = self.delete_dir_contents(child, crel, recurse=True)
                    if not inner:
                        ok = False
                    if self.o.dry_run:
                        # rmdir is not really called in a dry run: it "succeeds".
                        self.item("*deleting  ", crel + "/")
                        self.stats["deleted"] += 1
                        continue
                    if len(child):
                        self.messages.append(f"cannot delete non-empty directory: {crel}")
                        ok = False
                        continue
                    self.log_delete(dnode, n, crel, child)
                else:
                    self.log_delete(dnode, n, crel, child)
        if not ok:
            self.messages.append(f"cannot delete non-empty directory: {rel}")
        return ok


_Step = tuple[str, str, str, tuple[tuple[str, str], ...]]


class _StepsCache(dict[str, "_Step | None"]):
    """path -> _visit_steps(prefix, path), bounded (a plain dict: faster than lru_cache,
    and set_changed looks up every changed path of every incremental run)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, path: str) -> _Step | None:
        if len(self) >= 1 << 16:
            self.clear()
        got = self[path] = _visit_steps(self.prefix, path)
        return got


_steps_cache: dict[str, _StepsCache] = {}


def _visit_steps(prefix: str, path: str) -> _Step | None:
    """``path`` from the transfer root, its directory and name there, and the (directory,
    child name) pairs from the transfer root down to that directory; None for the root."""
    parts = ((prefix,) if prefix else ()) + split_path(path)
    if not parts:
        return None
    steps = []
    parent = ""
    for part in parts:
        steps.append((parent, part))
        parent = f"{parent}/{part}" if parent else part
    return parent, *steps[-1], tuple(steps[:-1])


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


_TMP_CHARS = string.ascii_letters + string.digits


def _tmp_name(name: str, rng: random.Random | None) -> str:
    """§11: ``.NAME.XXXXXX`` (no second dot, trailing dot trimmed, fits 255 bytes);
    without ``rng``, the literal ``XXXXXX`` (as rsync prints in mkstemp errors)."""
    base = name.rstrip(".") if name.endswith(".") else name
    prefix = base if base.startswith(".") else "." + base
    marker = "XXXXXX" if rng is None else "".join(rng.choice(_TMP_CHARS) for _ in range(6))
    suffix = "." + marker
    limit = 255 - len(suffix.encode())
    raw = prefix.encode()
    if len(raw) > limit:
        prefix = raw[:limit].decode("utf-8", "ignore")
    return prefix + suffix


def _tmp_rel(rel: str) -> str:
    """The temp-file path rsync names in its errors for ``rel``."""
    head, _, name = rel.rpartition("/")
    return _join(head, _tmp_name(name, None))

"""The model's fast paths give exactly what a plain full run gives.

The simulator leans on three shortcuts: entries the destination shares with
the source by identity are skipped without a look; a dry run works on the
caller's tree and undoes its changes; and the incremental path looks only at
the paths that changed. Each is held here to the full run (which the
differential tests hold to the real rsync) on generated cases.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies_rsync import case_args

from nassim import rsync
from nassim.errors import RsyncOptionError
from nassim.tree import Dir, File, FileTree, Symlink, Volume

NOW = 1_700_000_000 * 10**9


def _shared(src: FileTree, dst: FileTree) -> FileTree:
    """A copy of ``dst`` whose entries equal to the source's hold the source's own values
    (the same content objects: what the engine's shortcut recognises)."""
    out = dst.copy()
    for path, entry in dst.items():
        if path != "." and not isinstance(entry, Dir) and src.get(path) == entry:
            out[path] = src[path]
    return out


def _outcome(r: rsync.RsyncResult) -> tuple[object, ...]:
    return (r.exit_code, sorted(r.itemized), sorted(r.messages), sorted(r.errors),
            None if r.dst is None else r.dst.to_json())


def _run(src: FileTree, dst: FileTree | None, args: list[str], **kw: object) -> rsync.RsyncResult | None:
    try:
        return rsync.run(src, dst, args, now_ns=NOW, **kw)  # type: ignore[arg-type]
    except RsyncOptionError:
        return None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(case_args())
def test_identity_shortcut_changes_nothing(case):
    """A destination sharing entry objects with the source gives the same run as an equal copy."""
    (src, dst), args = case
    assume(dst is not None)
    plain = _run(src, dst, args)
    assume(plain is not None)
    shared = _run(src, _shared(src, dst), args)
    assert _outcome(shared) == _outcome(plain)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(case_args())
def test_dry_run_leaves_the_callers_tree_as_it_was(case):
    """A dry run changes its work tree as it goes and restores every entry at the end."""
    (src, dst), args = case
    assume(dst is not None)
    before = dst.to_json()
    r = _run(src, dst, [*args, "-n"])
    assume(r is not None)
    assert dst.to_json() == before
    assert r.dst is dst


def _mutate(tree: FileTree, rng: random.Random, count: int) -> list[str]:
    """Change ``count`` random paths of ``tree`` (rewrite, delete, add); return them."""
    changed = []
    paths = [p for p in tree if p != "."]
    for _ in range(count):
        kind = rng.choice(["rewrite", "delete", "add", "add-dir"])
        if kind == "rewrite" and paths:
            p = rng.choice(paths)
            e = tree.get(p)
            if isinstance(e, File):
                tree[p] = File(e.size + 1, e.mtime_ns + 10**9, rng.getrandbits(40))
                changed.append(p)
        elif kind == "delete" and paths:
            p = rng.choice(paths)
            if p in tree:
                del tree[p]
                changed.append(p)
        else:
            dirs = [p for p in tree if isinstance(tree.get(p), Dir)]
            parent = rng.choice(dirs)
            name = f"n{rng.randrange(1000)}"
            p = name if parent == "." else f"{parent}/{name}"
            if p not in tree:
                tree[p] = Dir(NOW - 10**12) if kind == "add-dir" else File(3, NOW - 10**12, rng.getrandbits(40))
                changed.append(p)
                changed.append(parent)
    return changed


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(case_args(), st.integers(0, 2**32), st.integers(1, 6), st.booleans())
def test_incremental_run_equals_a_full_run(case, seed, count, on_dst):
    """After a sync, a run told which paths changed does what a full run does."""
    (src, dst), args = case
    args = [a for a in args if a not in ("-n", "--dry-run")]
    first = _run(src, dst, args)
    assume(first is not None and first.dst is not None and first.exit_code == 0)
    settled = _run(src, first.dst, args)
    # In sync: a run prints nothing at all (without -l, symlinks are reported skipped on every run).
    assume(settled is not None and settled.dst is not None and settled.exit_code == 0)
    assume(not settled.itemized and not settled.messages)
    after = settled.dst
    rng = random.Random(seed)
    changed = _mutate(after if on_dst else src, rng, count)
    full = _run(src, after, args)
    inc = _run(src, after, args, changed=changed)
    assert full is not None and inc is not None
    assert _outcome(inc)[:4] == _outcome(full)[:4]
    assert _outcome(inc)[4] == _outcome(full)[4]


def test_incremental_run_cost_follows_the_changes():
    """The incremental path looks at the changed paths, not the tree."""
    src = FileTree(NOW)
    for d in range(100):
        src[f"d{d}"] = Dir(NOW)
        for f in range(100):
            src[f"d{d}/f{f}"] = File(10, NOW, d * 1000 + f)
    dst = rsync.run(src, None, ["-a"], now_ns=NOW).dst
    src["d7/f3"] = File(11, NOW + 10**9, 1)
    src["d7/new"] = Symlink("f3", NOW)
    r = rsync.run(src, dst, ["-a"], now_ns=NOW, changed=["d7/f3", "d7/new"], in_place=True)
    assert sorted(r.itemized) == [">f.st...... d7/f3", "cL+++++++++ d7/new -> f3"]
    assert r.stats.scanned < 10 and r.dst is dst


def _retouch(tree: FileTree, rng: random.Random, count: int) -> list[str]:
    """Rewrite ``count`` random files of ``tree`` the ways the quick check (§4) tells
    apart: same size and a new mtime (in the same second or not), same size and mtime
    with new content, a new size; return their paths."""
    changed = []
    files = [p for p in tree if isinstance(tree.get(p), File)]
    for _ in range(count if files else 0):
        p = rng.choice(files)
        e = tree[p]
        assert isinstance(e, File)
        size, mtime = rng.choice([(0, 1), (0, 10**9), (0, 0), (1, 0), (2, 10**9)])
        tree[p] = File(e.size + size, e.mtime_ns + mtime, rng.getrandbits(40))
        changed.append(p)
    return changed


def _transfers(r: rsync.RsyncResult) -> list[tuple[object, ...]]:
    return [(t.path, t.size, t.content, t.mtime_ns, t.done.transferred, t.done.bytes) for t in r.transfers]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    case_args(),
    st.integers(0, 2**32),
    st.integers(1, 6),
    st.booleans(),
    st.sampled_from([Volume.linux(), Volume.windows_9p(), Volume.fat(), Volume(read_only=True)]),
    st.booleans(),
)
def test_incremental_run_sends_what_a_full_run_sends(case, seed, count, on_dst, volume, dry_run):
    """Told which files were rewritten, a run itemizes and sends the same files, with the
    same sizes, contents, mtimes and running counts of files and bytes, as a full run."""
    (src, dst), args = case
    args = [a for a in args if a not in ("-n", "--dry-run")]
    first = _run(src, dst, args, dst_volume=volume)
    assume(first is not None and first.dst is not None and first.exit_code == 0)
    settled = _run(src, first.dst, args, dst_volume=volume)
    assume(settled is not None and settled.dst is not None and settled.exit_code == 0)
    assume(not settled.itemized and not settled.messages)
    after = settled.dst
    changed = _retouch(after if on_dst else src, random.Random(seed), count)
    run_args = [*args, "-n"] if dry_run else args
    full = _run(src, after, run_args, dst_volume=volume)
    inc = _run(src, after, run_args, dst_volume=volume, changed=changed)
    assert full is not None and inc is not None
    assert _outcome(inc) == _outcome(full)
    assert _transfers(inc) == _transfers(full)
    assert (inc.stats.transferred, inc.stats.bytes, inc.stats.attr_updates) == (
        full.stats.transferred,
        full.stats.bytes,
        full.stats.attr_updates,
    )


def _itemized_paths(r: rsync.RsyncResult) -> list[str]:
    """The paths a run itemized, deletions and ``./`` aside (what a simulator marks as changed)."""
    paths = []
    for line in r.itemized:
        if line.startswith("*deleting"):
            continue
        name = line[12:].split(" -> ", 1)[0].rstrip("/")
        if name and name != ".":
            paths.append(name)
    return paths


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    case_args(),
    st.integers(0, 2**32),
    st.integers(1, 6),
    st.integers(0, 3),
    st.sampled_from([Volume.linux(), Volume.windows_9p(), Volume.fat(), Volume(mtime_resolution_ns=10**9)]),
)
def test_a_settled_path_needs_no_look_from_the_next_run(case, seed, count, more, volume):
    """From two trees in sync, the paths a run reports as settled can be left out of the next
    incremental run's changes: with everything else it itemized, and whatever changed since,
    that run gives what a full run gives."""
    (src, dst), args = case
    args = [a for a in args if a not in ("-n", "--dry-run")]
    first = _run(src, dst, args, dst_volume=volume)
    assume(first is not None and first.dst is not None and first.exit_code == 0)
    again = _run(src, first.dst, [*args, "-n"], dst_volume=volume)
    assume(again is not None and not again.itemized and not again.messages)  # the two are in sync
    rng = random.Random(seed)
    changed = _retouch(src, rng, count)
    run = _run(src, first.dst, args, dst_volume=volume, changed=changed)
    assume(run is not None and run.dst is not None)
    assert set(run.settled) <= {t.path for t in run.transfers}
    settled = set(run.settled)
    later = _retouch(src, rng, more)
    pending = [p for p in _itemized_paths(run) if p not in settled] + later
    full = _run(src, run.dst, [*args, "-n"], dst_volume=volume)
    inc = _run(src, run.dst, [*args, "-n"], dst_volume=volume, changed=pending)
    assert full is not None and inc is not None
    assert _outcome(inc) == _outcome(full)


@pytest.mark.parametrize(
    ("volume", "args", "mtime", "settles"),
    [
        (Volume.linux(), ["-a"], 3_000_000_005, True),
        (Volume(mtime_resolution_ns=10**9), ["-a"], 3_000_000_005, True),  # whole seconds: the same second
        (Volume(mtime_resolution_ns=10**8), ["-a"], 4_100_000_005, True),  # tenths divide a second
        (Volume.fat(), ["-a"], 3_000_000_005, False),  # 3 s is stored as 2 s: the next run sends it again
        (Volume(mtime_resolution_ns=3 * 10**8), ["-a"], 4_100_000_005, False),  # stored as 3.9 s
        (Volume(mtime_resolution_ns=10**9), ["-a", "--modify-window=-1"], 3_000_000_005, False),  # exact times
        (Volume.windows_9p(), ["-a"], 3_000_000_005, False),  # times cannot be set
        (Volume.linux(), ["-rlpgoD"], 3_000_000_005, False),  # no -t: the copy is stamped now
        (Volume.linux(), ["-a", "-n"], 3_000_000_005, False),  # a dry run writes nothing
    ],
)
def test_a_sent_file_is_settled_only_where_the_next_run_would_find_it_unchanged(volume, args, mtime, settles):
    src = FileTree()
    src["a"] = File(1, 2 * 10**9, 1)
    first = _run(src, FileTree(), [a for a in args if a != "-n"], dst_volume=volume)
    assert first is not None and first.dst is not None
    src["a"] = File(1, mtime, 2)
    run = _run(src, first.dst, args, dst_volume=volume, changed=["a"])
    assert run is not None and run.dst is not None
    assert run.transferred == ("a",)
    assert run.settled == (("a",) if settles else ())
    again = _run(src, run.dst, [*args, "-n"], dst_volume=volume)
    assert again is not None
    assert bool(again.itemized) is not settles

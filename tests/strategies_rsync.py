"""Hypothesis strategies for rsync differential tests: tree pairs and option lists.

Trees are drawn small and biased toward the overlaps where rsync's rules
bite: the destination starts as a mutated copy of the source (same names,
same sizes with the same or a different mtime second or sub-second part,
blind-spot content changes, type changes file<->dir<->symlink), plus
extraneous entries, some of them non-empty directories holding names the
drawn ``--exclude`` patterns protect. Names come from a small pool with
case twins (``a``/``A``), underscores and dots. Mtimes are whole seconds in
2001-2020 plus a drawn nanosecond part, so the run's "now" never collides.
"""

from __future__ import annotations

from typing import TypeAlias

from hypothesis import strategies as st

from nassim.tree import Dir, File, FileTree, Symlink

__all__ = ["case_args", "option_lists", "tree_pairs"]

# 2001-09-09T01:46:40Z; every drawn mtime is within a few seconds (or a decade) of it.
BASE_S = 1_000_000_000
NAMES = ("a", "A", "b", "B_c", "c", "x.y", "X.Y", ".h", "d", "D", "sub", "keep", "tmp")
PROTECTED = ("keep", "tmp", "x.y", ".h")
CONTENTS = (b"", b"x", b"y", b"xy", b"yx", b"xyz", b"abcd")
TARGETS = ("a", "b", "../a", "sub/x.y", "/nonexistent/path", "dangling", "d/")

# A node: ("file", content, mtime) | ("link", target, mtime) | ("dir", mtime, {name: node})
Node: TypeAlias = tuple[object, ...]


@st.composite
def mtimes(draw: st.DrawFn, near: int | None = None) -> int:
    """Whole seconds near BASE_S (collisions likely) or anywhere in 2001-2020, plus a ns part."""
    if near is not None:
        sec_ns = near
        sec, ns = divmod(sec_ns, 10**9)
        kind = draw(st.sampled_from(["same", "ns", "sec", "sec", "secs", "far"]))
        if kind == "same":
            return near
        if kind == "ns":
            return sec * 10**9 + draw(st.sampled_from([0, 1, 500_000_000, 999_999_999]))
        if kind == "sec":
            return (sec + draw(st.sampled_from([-1, 1]))) * 10**9 + ns
        if kind == "secs":
            return (sec + draw(st.integers(-3, 3))) * 10**9 + draw(st.integers(0, 10**9 - 1))
    sec = draw(
        st.one_of(
            st.integers(BASE_S, BASE_S + 4),
            st.integers(BASE_S, 1_600_000_000),
        )
    )
    ns = draw(st.one_of(st.sampled_from([0, 1, 500_000_000, 999_999_999]), st.integers(0, 10**9 - 1)))
    return sec * 10**9 + ns


def _file(draw: st.DrawFn) -> Node:
    return ("file", draw(st.sampled_from(CONTENTS)), draw(mtimes()))


def _link(draw: st.DrawFn) -> Node:
    return ("link", draw(st.sampled_from(TARGETS)), draw(mtimes()))


@st.composite
def nodes(draw: st.DrawFn, depth: int) -> Node:
    kinds = ["file", "file", "link", "dir", "dir"] if depth > 0 else ["file", "file", "link"]
    kind = draw(st.sampled_from(kinds))
    if kind == "file":
        return _file(draw)
    if kind == "link":
        return _link(draw)
    return ("dir", draw(mtimes()), draw(children(depth - 1)))


@st.composite
def children(draw: st.DrawFn, depth: int) -> dict[str, Node]:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=4, unique=True))
    return {n: draw(nodes(depth)) for n in names}


@st.composite
def mutated(draw: st.DrawFn, node: Node, depth: int) -> Node | None:
    """The destination's version of a source node (None: absent from the destination)."""
    kind = node[0]
    action = draw(st.sampled_from(["same", "same", "tweak", "tweak", "tweak", "retype", "missing"]))
    if action == "missing":
        return None
    if action == "retype":
        other = draw(st.sampled_from([k for k in ("file", "link", "dir") if k != kind]))
        if other == "file":
            return _file(draw)
        if other == "link":
            return _link(draw)
        # A dir in the way, maybe with (protected) content.
        return ("dir", draw(mtimes()), draw(extras(depth)))
    if action == "same":
        if kind == "dir":
            return ("dir", node[1], draw(mutated_children(node[2], depth)))  # type: ignore[arg-type]
        return node
    # tweak
    if kind == "file":
        content, mtime = node[1], node[2]
        assert isinstance(content, bytes) and isinstance(mtime, int)
        what = draw(st.sampled_from(["time", "blind", "size", "content+time"]))
        if what == "time":
            return ("file", content, draw(mtimes(near=mtime)))
        same_size = [c for c in CONTENTS if len(c) == len(content) and c != content]
        if what == "blind" and same_size:
            return ("file", draw(st.sampled_from(same_size)), draw(mtimes(near=mtime)))
        if what == "size":
            return ("file", draw(st.sampled_from(CONTENTS)), draw(mtimes(near=mtime)))
        return ("file", draw(st.sampled_from(CONTENTS)), draw(mtimes()))
    if kind == "link":
        target, mtime = node[1], node[2]
        assert isinstance(mtime, int)
        return ("link", draw(st.sampled_from((target, *TARGETS))), draw(mtimes(near=mtime)))
    mtime = node[1]
    assert isinstance(mtime, int)
    return ("dir", draw(mtimes(near=mtime)), draw(mutated_children(node[2], depth)))  # type: ignore[arg-type]


@st.composite
def mutated_children(draw: st.DrawFn, kids: dict[str, Node], depth: int) -> dict[str, Node]:
    out: dict[str, Node] = {}
    for name, node in kids.items():
        m = draw(mutated(node, depth - 1))
        if m is not None:
            out[name] = m
    for name, node in draw(extras(depth)).items():
        out.setdefault(name, node)
    return out


@st.composite
def extras(draw: st.DrawFn, depth: int) -> dict[str, Node]:
    """Extraneous destination entries, favouring names the excludes protect."""
    names = draw(st.lists(st.sampled_from(NAMES + PROTECTED), max_size=2, unique=True))
    return {n: draw(nodes(max(depth - 1, 0))) for n in names}


def build(root_mtime: int, kids: dict[str, Node]) -> FileTree:
    tree = FileTree(root_mtime)

    def add(prefix: str, entries: dict[str, Node]) -> None:
        for name, node in entries.items():
            path = prefix + name
            if node[0] == "file":
                content, mtime = node[1], node[2]
                assert isinstance(content, bytes) and isinstance(mtime, int)
                tree[path] = File(len(content), mtime, content)
            elif node[0] == "link":
                target, mtime = node[1], node[2]
                assert isinstance(target, str) and isinstance(mtime, int)
                tree[path] = Symlink(target, mtime)
            else:
                mtime = node[1]
                assert isinstance(mtime, int)
                tree[path] = Dir(mtime)
                add(path + "/", node[2])  # type: ignore[arg-type]

    add("", kids)
    return tree


@st.composite
def tree_pairs(draw: st.DrawFn, max_depth: int = 2) -> tuple[FileTree, FileTree | None]:
    """A source tree and a destination (None now and then: it does not exist yet)."""
    src_mtime = draw(mtimes())
    src_kids = draw(children(max_depth))
    src = build(src_mtime, src_kids)
    # (Hypothesis shrinks integers toward 0, so the rare choice sits at the top end.)
    if draw(st.integers(0, 9)) == 9:
        return src, None
    dst_mtime = draw(mtimes(near=src_mtime))
    return src, build(dst_mtime, draw(mutated_children(src_kids, max_depth + 1)))


EXCLUDES = (
    "keep",
    "tmp/",
    "/sub",
    "sub/",
    "*.y",
    "?",
    ".*",
    "**/keep",
    "sub/**",
    "d/*",
    "x.?",
    "/a",
    "B*",
    "s*/k*",
    "/D/",
    "sub/***",
    "*/keep",
    "[ab]",
    "/x.y",
)


@st.composite
def option_lists(draw: st.DrawFn) -> list[str]:
    """An argument list from the options the model supports (without -n, -i and operands)."""
    args: list[str] = []
    if draw(st.integers(0, 2)) == 0:
        args.append("-a")
    else:
        letters = draw(st.lists(st.sampled_from("rlptgoD"), unique=True))
        # Mostly recursive with times: the interesting cases need both.
        extra = draw(st.sampled_from(["rt", "rt", "r", ""]))
        flags = "".join(dict.fromkeys(extra + "".join(letters)))
        if flags:
            args.append("-" + flags)
    deletes = draw(
        st.lists(
            st.sampled_from(["--delete", "--delete-before", "--delete-during", "--delete-after", "--delete-delay"]),
            max_size=2,
        )
    )
    args += deletes
    for flag, weight in (
        ("-c", 6),
        ("--size-only", 6),
        ("-I", 8),
        ("-u", 5),
        ("--existing", 8),
        ("--ignore-existing", 8),
        ("--inplace", 6),
        ("--partial", 8),
    ):
        if draw(st.integers(0, weight - 1)) == weight - 1:
            args.append(flag)
    if draw(st.integers(0, 3)) == 3:
        args.append(f"--modify-window={draw(st.integers(-2, 3))}")
    args += [f"--exclude={p}" for p in draw(st.lists(st.sampled_from(EXCLUDES), max_size=2, unique=True))]
    return draw(st.permutations(args)) if draw(st.integers(0, 4)) == 4 else args


def case_args() -> st.SearchStrategy[tuple[tuple[FileTree, FileTree | None], list[str]]]:
    return st.tuples(tree_pairs(), option_lists())

"""Tests for nassim.tree: the file-tree model, its JSON form, content identity and real directories."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nassim.tree
from nassim.errors import ContentError, NassimError, TreeError
from nassim.tree import (
    Digest,
    Dir,
    File,
    FileTree,
    OwnerSupport,
    Symlink,
    Volume,
    content_bytes,
    content_sha1,
    same_content,
    synthetic_bytes,
)

T = 1_700_000_000_123_456_789  # a time with every nanosecond digit set


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def rooted(entries: dict[str, Any]) -> dict[str, Any]:
    """A tree JSON object: a root directory plus ``entries``."""
    return {".": {"type": "dir", "mtime_ns": 0}, **entries}


def tree_error(obj: object) -> str:
    """The message of the TreeError that ``FileTree.from_json(obj)`` raises."""
    with pytest.raises(TreeError) as info:
        FileTree.from_json(obj)
    return str(info.value)


def sample_tree() -> FileTree:
    """A small tree with every kind of entry and content that can be written to disk."""
    t = FileTree(T)
    t["notes.txt"] = File(5, T + 1, b"hello")
    t["empty"] = File(0, T + 2, b"")
    t["binary.bin"] = File(3, T + 3, b"\x00\xff\x10")
    t["out"] = Dir(T + 4)
    t["out/data.csv"] = File(9000, T + 5, 42)  # synthetic bytes from seed 42
    t["out/deep"] = Dir(T + 6)
    t["out/deep/x"] = File(1, T + 7, b"x")
    t["link"] = Symlink("out/data.csv", T + 8)
    t["dangling"] = Symlink("no/such/file", T + 9)
    return t


# --- hypothesis strategies ------------------------------------------------------

NAMES = st.text(alphabet="aAbZ_.-é0 ", min_size=1, max_size=4).filter(lambda n: n not in (".", ".."))
MTIMES = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SHA1S = st.binary(min_size=20, max_size=20).map(bytes.hex)
# An explicit alphabet (1- to 4-byte UTF-8, NUL, control, BOM): st.characters() would build
# hypothesis's Unicode tables on first use, over a second on a fresh checkout (a too_slow health check).
TEXTS = st.text(alphabet="aZ_ \n\t\x00é€\ufeff😀", max_size=20)

JSON_ENTRIES = st.one_of(
    st.builds(lambda m: {"type": "dir", "mtime_ns": m}, MTIMES),
    st.builds(
        lambda s, m: {"type": "file", "size": len(s.encode()), "mtime_ns": m, "content": s}, TEXTS, MTIMES
    ),
    st.builds(
        lambda n, m, h: {"type": "file", "size": n, "mtime_ns": m, "content_sha1": h},
        st.integers(min_value=0, max_value=2**40),
        MTIMES,
        SHA1S,
    ),
    st.builds(lambda t, m: {"type": "symlink", "target": t, "mtime_ns": m}, TEXTS.filter(bool), MTIMES),
)


@st.composite
def tree_jsons(draw: st.DrawFn) -> dict[str, Any]:
    """Valid tree JSON: entries placed under randomly chosen existing directories."""
    out: dict[str, Any] = {".": draw(st.builds(lambda m: {"type": "dir", "mtime_ns": m}, MTIMES))}
    dirs = ["."]
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        parent = draw(st.sampled_from(dirs))
        path = draw(NAMES) if parent == "." else f"{parent}/{draw(NAMES)}"
        if path in out:
            continue
        out[path] = draw(JSON_ENTRIES)
        if out[path]["type"] == "dir":
            dirs.append(path)
    return out


@st.composite
def files(draw: st.DrawFn) -> File:
    """Files of every content kind: literal bytes, synthetic seeds, digests; whole or torn."""
    mtime = draw(MTIMES)
    kind = draw(st.sampled_from(["bytes", "seed", "digest"]))
    if kind == "bytes":
        data = draw(st.binary(max_size=30))
        return File(draw(st.integers(min_value=0, max_value=len(data))), mtime, data)
    if kind == "seed":
        # Both sides of the 4096-byte limit above which seeded content goes out as a sha1.
        size = draw(st.one_of(st.integers(0, 64), st.integers(4090, 4200)))
        return File(size, mtime, draw(st.integers(min_value=0, max_value=2**64)))
    length = draw(st.integers(min_value=0, max_value=2**40))
    return File(draw(st.integers(min_value=0, max_value=length)), mtime, Digest(draw(SHA1S), length))


@st.composite
def file_trees(draw: st.DrawFn) -> FileTree:
    """Trees built through the mutable API, with any content kind."""
    t = FileTree(draw(MTIMES))
    dirs = ["."]
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        parent = draw(st.sampled_from(dirs))
        path = draw(NAMES) if parent == "." else f"{parent}/{draw(NAMES)}"
        if path in t:
            continue
        entry = draw(
            st.one_of(st.builds(Dir, MTIMES), files(), st.builds(Symlink, TEXTS.filter(bool), MTIMES))
        )
        t[path] = entry
        if isinstance(entry, Dir):
            dirs.append(path)
    return t


# --- JSON ------------------------------------------------------------------------


def test_to_json_uses_the_exchange_schema_with_dot_as_root() -> None:
    """to_json gives text content as 'content', anything else as 'content_sha1', and '.' for the root."""
    t = FileTree(T)
    t["a.txt"] = File(3, 1, b"abc")
    t["torn.txt"] = File(2, 2, b"abc")
    t["bin"] = File(2, 3, b"\xff\xfe")
    t["big"] = File(5000, 4, 7)
    t["known"] = File(10, 5, Digest("ab" * 20, 10))
    t["d"] = Dir(6)
    t["d/l"] = Symlink("../a.txt", 7)
    assert t.to_json() == {
        ".": {"type": "dir", "mtime_ns": T},
        "a.txt": {"type": "file", "size": 3, "mtime_ns": 1, "content": "abc"},
        "torn.txt": {"type": "file", "size": 2, "mtime_ns": 2, "content": "ab"},
        "bin": {"type": "file", "size": 2, "mtime_ns": 3, "content_sha1": sha1(b"\xff\xfe")},
        "big": {"type": "file", "size": 5000, "mtime_ns": 4, "content_sha1": sha1(synthetic_bytes(7, 5000))},
        "known": {"type": "file", "size": 10, "mtime_ns": 5, "content_sha1": "ab" * 20},
        "d": {"type": "dir", "mtime_ns": 6},
        "d/l": {"type": "symlink", "target": "../a.txt", "mtime_ns": 7},
    }


def test_from_json_reads_content_as_utf8_and_sha1_as_digest() -> None:
    """'content' becomes UTF-8 bytes (size counts bytes) and 'content_sha1' a Digest of 'size' bytes."""
    t = FileTree.from_json(
        rooted(
            {
                "é": {"type": "file", "size": 2, "mtime_ns": 1, "content": "é"},
                "k": {"type": "file", "size": 9, "mtime_ns": 2, "content_sha1": "0" * 40},
            }
        )
    )
    assert t["é"] == File(2, 1, "é".encode())
    assert t["k"] == File(9, 2, Digest("0" * 40, 9))


def test_from_json_accepts_children_listed_before_parents() -> None:
    """from_json does not depend on the order of the object's keys."""
    obj = {
        "a/b/c": {"type": "file", "size": 0, "mtime_ns": 3, "content": ""},
        "a/b": {"type": "dir", "mtime_ns": 2},
        "a": {"type": "dir", "mtime_ns": 1},
        ".": {"type": "dir", "mtime_ns": 0},
    }
    assert FileTree.from_json(obj).to_json() == obj


@given(tree_jsons())
def test_json_round_trip_reproduces_the_input_json(obj: dict[str, Any]) -> None:
    """For any valid tree JSON, from_json then to_json gives back the same object, and trees compare equal."""
    t = FileTree.from_json(obj)
    assert t.to_json() == obj
    assert FileTree.from_json(t.to_json()) == t
    assert len(t) == len(obj)


@given(tree_jsons())
def test_from_json_is_independent_of_key_order(obj: dict[str, Any]) -> None:
    """Listing the entries in reverse order builds the same tree."""
    assert FileTree.from_json(dict(reversed(obj.items()))) == FileTree.from_json(obj)


@given(file_trees())
def test_tree_round_trips_through_json_whatever_its_content_kind(t: FileTree) -> None:
    """from_json(t.to_json()) == t for bytes, seeds and digests, torn or whole, and to_json is then stable."""
    back = FileTree.from_json(t.to_json())
    assert back == t
    assert back.to_json() == t.to_json()


def test_tree_error_is_a_value_error_and_a_nassim_error() -> None:
    """TreeError can be caught as ValueError or as NassimError."""
    assert issubclass(TreeError, ValueError)
    assert issubclass(TreeError, NassimError)
    with pytest.raises(ValueError):
        FileTree.from_json({})


def test_from_json_rejects_a_non_object() -> None:
    """The top level must be a mapping."""
    assert tree_error([]) == "tree JSON must be an object mapping paths to entries (got list)"


def test_from_json_rejects_missing_root() -> None:
    """The key '.' must be present."""
    assert tree_error({"a": {"type": "dir", "mtime_ns": 0}}) == "'.': the root directory entry is missing"


def test_from_json_rejects_root_that_is_not_a_dir() -> None:
    """The root entry must be of type 'dir'."""
    obj = {".": {"type": "file", "size": 0, "mtime_ns": 0, "content": ""}}
    assert tree_error(obj) == "'.': 'type' must be 'dir' for the root"


def test_from_json_rejects_missing_parent() -> None:
    """An entry whose parent directory is not listed is an error."""
    obj = rooted({"a/b": {"type": "dir", "mtime_ns": 0}})
    assert tree_error(obj) == "'a/b': parent directory 'a' is missing"


def test_from_json_rejects_parent_that_is_a_file() -> None:
    """An entry below a file is an error naming the file."""
    obj = rooted(
        {
            "a": {"type": "file", "size": 0, "mtime_ns": 0, "content": ""},
            "a/b/c": {"type": "dir", "mtime_ns": 0},
        }
    )
    assert tree_error(obj) == "'a/b/c': parent directory 'a' is not a directory"


def test_from_json_rejects_bad_type() -> None:
    """'type' must be one of file, dir, symlink."""
    assert tree_error(rooted({"p": {"type": "fifo", "mtime_ns": 0}})) == (
        "'p': 'type' must be 'file', 'dir' or 'symlink' (got 'fifo')"
    )


def test_from_json_rejects_missing_type() -> None:
    """An entry without 'type' names the missing value."""
    assert (
        tree_error(rooted({"p": {"mtime_ns": 0}}))
        == "'p': 'type' must be 'file', 'dir' or 'symlink' (got None)"
    )


def test_from_json_rejects_negative_size() -> None:
    """A file size below zero is an error."""
    obj = rooted({"f": {"type": "file", "size": -1, "mtime_ns": 0, "content_sha1": "0" * 40}})
    assert tree_error(obj) == "'f': 'size' must be >= 0 (got -1)"


def test_from_json_rejects_non_int_size() -> None:
    """A file size must be an int, not a bool or a float."""
    for bad in (True, 1.0, "1"):
        obj = rooted({"f": {"type": "file", "size": bad, "mtime_ns": 0, "content_sha1": "0" * 40}})
        assert tree_error(obj) == f"'f': 'size' must be an integer (got {bad!r})"


def test_from_json_rejects_missing_size() -> None:
    """A file needs a size."""
    assert (
        tree_error(rooted({"f": {"type": "file", "mtime_ns": 0, "content": ""}})) == "'f': 'size' is missing"
    )


def test_from_json_rejects_non_int_mtime_including_bool_and_float() -> None:
    """'mtime_ns' must be an int: a string, a float or a bool is refused."""
    for bad in ("5", 1.0, 1.5, True, False, None):
        assert tree_error(rooted({"d": {"type": "dir", "mtime_ns": bad}})) == (
            f"'d': 'mtime_ns' must be an integer (got {bad!r})"
        )


def test_from_json_rejects_non_int_root_mtime() -> None:
    """The root's mtime is checked like any other."""
    assert (
        tree_error({".": {"type": "dir", "mtime_ns": 0.5}}) == "'.': 'mtime_ns' must be an integer (got 0.5)"
    )


def test_from_json_rejects_missing_mtime() -> None:
    """Every entry needs 'mtime_ns'."""
    assert tree_error(rooted({"l": {"type": "symlink", "target": "x"}})) == "'l': 'mtime_ns' is missing"


def test_from_json_rejects_size_not_matching_content() -> None:
    """'size' must equal the UTF-8 length of 'content'."""
    obj = rooted({"f": {"type": "file", "size": 1, "mtime_ns": 0, "content": "é"}})
    assert tree_error(obj) == "'f': 'size' is 1 but 'content' is 2 bytes"


def test_from_json_rejects_both_content_fields() -> None:
    """A file cannot have both 'content' and 'content_sha1'."""
    obj = rooted({"f": {"type": "file", "size": 0, "mtime_ns": 0, "content": "", "content_sha1": sha1(b"")}})
    assert tree_error(obj) == "'f': a file needs exactly one of 'content' and 'content_sha1'"


def test_from_json_rejects_neither_content_field() -> None:
    """A file must have 'content' or 'content_sha1'."""
    obj = rooted({"f": {"type": "file", "size": 0, "mtime_ns": 0}})
    assert tree_error(obj) == "'f': a file needs exactly one of 'content' and 'content_sha1'"


def test_from_json_rejects_non_string_content() -> None:
    """'content' is text, not a list of bytes."""
    obj = rooted({"f": {"type": "file", "size": 1, "mtime_ns": 0, "content": [65]}})
    assert tree_error(obj) == "'f': 'content' must be a string (got list)"


def test_from_json_rejects_content_that_is_not_encodable_as_utf8() -> None:
    """A lone surrogate in 'content' (legal in JSON) is a TreeError, not a UnicodeEncodeError."""
    obj = rooted({"f": {"type": "file", "size": 1, "mtime_ns": 0, "content": "\ud800"}})
    assert tree_error(obj) == "'f': 'content' cannot be encoded as UTF-8 (surrogates not allowed)"


@pytest.mark.parametrize("bad", ["ABCDEF" + "0" * 34, "0" * 39, "0" * 41, "g" * 40, 12])
def test_from_json_rejects_malformed_sha1(bad: object) -> None:
    """'content_sha1' must be exactly 40 lowercase hex digits."""
    obj = rooted({"f": {"type": "file", "size": 0, "mtime_ns": 0, "content_sha1": bad}})
    assert tree_error(obj) == f"'f': 'content_sha1' must be 40 lowercase hex digits (got {bad!r})"


def test_from_json_rejects_path_escaping_root_with_dotdot() -> None:
    """A '..' component anywhere in a path is refused."""
    obj = rooted({"a": {"type": "dir", "mtime_ns": 0}, "a/../../etc": {"type": "dir", "mtime_ns": 0}})
    assert tree_error(obj) == "'a/../../etc': path escapes the tree root with '..'"


def test_from_json_rejects_absolute_path() -> None:
    """Paths are relative to the tree root."""
    assert tree_error(rooted({"/etc": {"type": "dir", "mtime_ns": 0}})) == (
        "'/etc': path must be relative to the tree root, not absolute"
    )


@pytest.mark.parametrize("path", ["a//b", "a/", "./a", "a/./b"])
def test_from_json_rejects_empty_or_dot_component(path: str) -> None:
    """Doubled, trailing and '.' components are refused (paths are canonical)."""
    obj = rooted({"a": {"type": "dir", "mtime_ns": 0}, path: {"type": "dir", "mtime_ns": 0}})
    assert tree_error(obj) == f"{path!r}: path has an empty or '.' component"


def test_from_json_rejects_empty_path() -> None:
    """The empty string is not a name for the root."""
    assert (
        tree_error(rooted({"": {"type": "dir", "mtime_ns": 0}}))
        == "'': empty path (the root directory is '.')"
    )


def test_from_json_rejects_path_that_cannot_be_a_file_name() -> None:
    """A lone surrogate or a NUL in a path is refused up front rather than breaking iteration later."""
    assert tree_error(rooted({"\ud800": {"type": "dir", "mtime_ns": 0}})) == (
        "'\\ud800': path cannot be encoded as a file name (surrogates not allowed)"
    )
    assert tree_error(rooted({"a\0b": {"type": "dir", "mtime_ns": 0}})) == (
        "'a\\x00b': path contains a NUL character"
    )


def test_from_json_rejects_non_string_path() -> None:
    """Keys must be strings."""
    assert tree_error({".": {"type": "dir", "mtime_ns": 0}, 1: {"type": "dir", "mtime_ns": 0}}) == (
        "1: path must be a string"
    )


def test_from_json_rejects_non_object_entry() -> None:
    """Each entry must be a JSON object."""
    assert tree_error(rooted({"a": ["dir", 0]})) == "'a': entry must be an object (got list)"


def test_from_json_rejects_unknown_field() -> None:
    """A field that does not belong to the entry's type is refused, not ignored."""
    obj = rooted({"f": {"type": "file", "size": 0, "mtime_ns": 0, "content": "", "mode": 420}})
    assert tree_error(obj) == "'f': unknown field 'mode' for a file"
    assert tree_error(rooted({"d": {"type": "dir", "mtime_ns": 0, "size": 0}})) == (
        "'d': unknown field 'size' for a dir"
    )
    assert tree_error(rooted({"l": {"type": "symlink", "target": "x", "mtime_ns": 0, "content": ""}})) == (
        "'l': unknown field 'content' for a symlink"
    )


def test_from_json_rejects_empty_symlink_target() -> None:
    """A symlink target must be a non-empty string."""
    assert tree_error(rooted({"l": {"type": "symlink", "target": "", "mtime_ns": 0}})) == (
        "'l': 'target' must be a non-empty string (got '')"
    )


# --- content identity ---------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**64), st.integers(0, 200), st.integers(0, 200))
def test_synthetic_bytes_is_prefix_consistent(seed: int, n: int, k: int) -> None:
    """The first k bytes of a seed's stream do not depend on how many bytes were asked for."""
    assert synthetic_bytes(seed, n)[:k] == synthetic_bytes(seed, min(n, k))
    assert len(synthetic_bytes(seed, n)) == n


def test_synthetic_bytes_is_deterministic_and_differs_between_seeds() -> None:
    """The same seed gives the same bytes; different seeds give different streams."""
    assert synthetic_bytes(1, 64) == synthetic_bytes(1, 64)
    assert synthetic_bytes(1, 64) != synthetic_bytes(2, 64)


@pytest.mark.parametrize("content", [42, b"0123456789" * 900])
def test_torn_copy_is_a_prefix_of_the_final_content(content: int | bytes) -> None:
    """A copy taken mid-write (same stream, smaller size) holds a prefix of the final bytes."""
    final = File(9000, T, content)
    torn = File(4096, T, content)
    assert content_bytes(torn) == content_bytes(final)[:4096]
    assert len(content_bytes(final)) == 9000
    assert not same_content(torn, final)


def test_same_content_matches_bytes_seed_and_digest_of_the_same_bytes() -> None:
    """Literal bytes, a seed and a digest naming the same bytes are the same content."""
    data = synthetic_bytes(9, 100)
    as_bytes, as_seed, as_digest = File(100, 1, data), File(100, 2, 9), File(100, 3, Digest(sha1(data), 100))
    for a in (as_bytes, as_seed, as_digest):
        for b in (as_bytes, as_seed, as_digest):
            assert same_content(a, b)


def test_same_content_is_false_for_different_bytes_of_the_same_size() -> None:
    """Same size, different bytes: not the same content, whatever the content kinds."""
    data = synthetic_bytes(9, 100)
    other = File(100, 0, Digest(sha1(b"x" * 100), 100))
    assert not same_content(File(100, 0, data), File(100, 0, 10))
    assert not same_content(File(100, 0, 9), File(100, 0, 10))
    assert not same_content(File(100, 0, data), other)
    assert not same_content(File(100, 0, 9), other)
    assert not same_content(File(100, 0, b"a" * 100), File(100, 0, b"b" * 100))


def test_same_content_ignores_bytes_past_the_size() -> None:
    """Only the first 'size' bytes count."""
    assert same_content(File(3, 0, b"abcX"), File(3, 0, b"abcY"))
    assert same_content(File(0, 0, 1), File(0, 0, Digest("f" * 40, 0)))


def test_same_content_is_true_for_distinct_seeds_with_equal_bytes() -> None:
    """Seeds whose streams agree on the file's short prefix are the same content."""
    seed = next(k for k in range(1, 10_000) if synthetic_bytes(k, 1) == synthetic_bytes(0, 1))
    assert same_content(File(1, 0, 0), File(1, 0, seed))


def test_negative_seed_names_its_own_stream() -> None:
    """Every int seed, negative ones included, names a distinct stream."""
    assert synthetic_bytes(7, 64) != synthetic_bytes(-7, 64)
    assert not same_content(File(9000, 0, 7), File(9000, 0, -7))


def test_tree_equality_agrees_with_json_for_seeds_with_equal_bytes() -> None:
    """Trees whose JSON forms are equal compare equal, even when their files name different seeds."""
    seed = next(k for k in range(1, 10_000) if synthetic_bytes(k, 1) == synthetic_bytes(0, 1))
    a, b = FileTree(), FileTree()
    a["f"] = File(1, 0, 0)
    b["f"] = File(1, 0, seed)
    assert a.to_json() == b.to_json()
    assert a == b


def test_content_bytes_of_digest_raises_content_error() -> None:
    """Content known only by its digest cannot be turned into bytes, whole or torn."""
    whole = File(10, 0, Digest("ab" * 20, 10))
    with pytest.raises(ContentError) as info:
        content_bytes(whole)
    assert str(info.value) == f"content known only by its sha1 {'ab' * 20} cannot be turned into bytes"
    with pytest.raises(ContentError) as info:
        content_bytes(File(4, 0, Digest("ab" * 20, 10)))
    assert str(info.value) == f"a 4-byte prefix of content {'ab' * 20} cannot be turned into bytes"


def test_content_sha1_of_a_torn_digest_is_stable_and_distinct() -> None:
    """A torn prefix of digest-only content gets a stable sha1 that differs from the whole content's."""
    torn = File(4, 0, Digest("ab" * 20, 10))
    assert content_sha1(torn) == content_sha1(File(4, 9, Digest("ab" * 20, 10)))
    assert content_sha1(torn) != "ab" * 20
    assert content_sha1(File(10, 0, Digest("ab" * 20, 10))) == "ab" * 20


# --- iteration order ------------------------------------------------------------------


def test_iteration_is_rsync_order_files_first_then_dirs_bytewise_depth_first() -> None:
    """Per directory: non-directories, then subdirectories, each bytewise (A < _ < a < é), root first."""
    t = FileTree()
    for name in ["b", "é", "_x", "a", "A", "B"]:
        t[name] = File(0, 0, b"")
    t["link"] = Symlink("a", 0)
    t["a_dir"] = Dir(0)
    t["a_dir/sub"] = Dir(0)
    t["a_dir/sub/g"] = File(0, 0, b"")
    t["a_dir/zz"] = File(0, 0, b"")
    t["Z"] = Dir(0)
    t["Z/f"] = File(0, 0, b"")
    assert list(t) == [
        ".",
        "A",
        "B",
        "_x",
        "a",
        "b",
        "link",
        "é",
        "Z",
        "Z/f",
        "a_dir",
        "a_dir/zz",
        "a_dir/sub",
        "a_dir/sub/g",
    ]
    assert t.listdir() == ["A", "B", "_x", "a", "b", "link", "é", "Z", "a_dir"]
    assert t.listdir("a_dir") == ["zz", "sub"]
    assert [p for p, _ in t.items()] == list(t)


def rsync_key(t: FileTree, path: str) -> tuple[tuple[bool, bytes], ...]:
    """Reference order: per component, (is a directory, name bytes)."""
    if path == ".":
        return ()
    parts = path.split("/")
    return tuple(
        (isinstance(t["/".join(parts[: i + 1])], Dir), part.encode()) for i, part in enumerate(parts)
    )


@given(file_trees())
def test_iteration_order_matches_the_reference_key(t: FileTree) -> None:
    """Iteration order equals sorting every path by per-component (is dir, bytes) keys."""
    paths = list(t)
    assert paths == sorted(paths, key=lambda p: rsync_key(t, p))
    assert len(paths) == len(t)


def test_listdir_of_a_file_raises_tree_error() -> None:
    """listdir needs a directory."""
    t = FileTree()
    t["f"] = File(0, 0, b"")
    with pytest.raises(TreeError) as info:
        t.listdir("f")
    assert str(info.value) == "'f': not a directory"


# --- mutation ---------------------------------------------------------------------------


def test_setting_dir_over_existing_dir_keeps_children_and_sets_mtime() -> None:
    """Assigning a Dir to an existing directory only changes its mtime."""
    t = FileTree()
    t["d"] = Dir(1)
    t["d/f"] = File(1, 0, b"x")
    t["d"] = Dir(2)
    assert t["d"] == Dir(2)
    assert t["d/f"] == File(1, 0, b"x")


def test_setting_root_dir_sets_root_mtime() -> None:
    """Assigning a Dir to '.' changes the root's mtime and keeps the tree."""
    t = FileTree(1)
    t["f"] = File(0, 0, b"")
    t["."] = Dir(5)
    assert t["."] == Dir(5)
    assert "f" in t


def test_replacing_dir_by_file_drops_its_subtree() -> None:
    """A file assigned over a directory removes everything below it."""
    t = FileTree()
    t["d"] = Dir(1)
    t["d/e"] = Dir(1)
    t["d/e/f"] = File(1, 0, b"x")
    t["d"] = File(2, 0, b"ab")
    assert list(t) == [".", "d"]
    assert "d/e/f" not in t
    assert t.get("d/e") is None


def test_replacing_file_by_dir_gives_an_empty_dir() -> None:
    """A Dir assigned over a file makes a new empty directory."""
    t = FileTree()
    t["d"] = File(0, 0, b"")
    t["d"] = Dir(3)
    assert t.listdir("d") == []


def test_copy_is_independent_of_the_original() -> None:
    """Changes to a copy, even deep ones, do not reach the original, and the other way round."""
    t = sample_tree()
    c = t.copy()
    assert c == t
    c["out/deep/new"] = File(0, 0, b"")
    c["out/deep"] = Dir(1)
    del c["notes.txt"]
    t["out/deep/x"] = File(2, 0, b"yy")
    assert "out/deep/new" not in t
    assert t["out/deep"] == Dir(T + 6)
    assert "notes.txt" in t
    assert c["out/deep/x"] == File(1, T + 7, b"x")


def test_del_removes_an_entry_and_everything_below_it() -> None:
    """del on a directory removes its subtree."""
    t = sample_tree()
    del t["out"]
    assert not any(p.startswith("out") for p in t)
    del t["notes.txt"]
    assert "notes.txt" not in t


def test_del_of_missing_entry_raises_key_error() -> None:
    """Deleting what is not there is a KeyError, like a dict."""
    t = FileTree()
    with pytest.raises(KeyError):
        del t["nope"]
    with pytest.raises(KeyError):
        t.__getitem__("nope")


def test_del_of_root_raises_tree_error() -> None:
    """The root cannot be deleted."""
    with pytest.raises(TreeError) as info:
        del FileTree()["."]
    assert str(info.value) == "'.': the root directory has no parent"


def test_setting_entry_under_missing_parent_raises_tree_error() -> None:
    """Every parent must already be a directory."""
    t = FileTree()
    with pytest.raises(TreeError) as info:
        t["a/b"] = File(0, 0, b"")
    assert str(info.value) == "'a/b': parent directory 'a' is missing"


def test_setting_root_to_a_file_raises_tree_error() -> None:
    """The root is always a directory."""
    with pytest.raises(TreeError) as info:
        FileTree()["."] = File(0, 0, b"")
    assert str(info.value) == "'.': the root must be a directory"


def test_setting_a_non_entry_raises_tree_error() -> None:
    """Only File, Dir and Symlink can be stored."""
    with pytest.raises(TreeError) as info:
        FileTree()["a"] = "file"  # type: ignore[assignment]
    assert str(info.value) == "'a': entry must be File, Dir or Symlink (got str)"


def test_equality_compares_mtimes_and_diff_describes_the_difference() -> None:
    """Trees differing only in a directory mtime are unequal, and diff says where."""
    a, b = sample_tree(), sample_tree()
    b["out/deep"] = Dir(0)
    assert a != b
    assert a.diff(b) == [f"out/deep: dir mtime_ns={T + 6} != dir mtime_ns=0"]


# --- real directories -----------------------------------------------------------------


def test_to_path_then_from_path_round_trips_the_tree(tmp_path: Path) -> None:
    """Writing a tree to disk and reading it back gives an equal tree."""
    t = sample_tree()
    t.to_path(tmp_path / "out")
    assert FileTree.from_path(tmp_path / "out") == t


def test_to_path_writes_contents_sizes_and_nanosecond_mtimes(tmp_path: Path) -> None:
    """Files hold their bytes, and files, dirs and symlinks (not followed) carry their exact mtimes."""
    root = tmp_path / "out"
    sample_tree().to_path(root)
    assert (root / "notes.txt").read_bytes() == b"hello"
    assert (root / "out/data.csv").read_bytes() == synthetic_bytes(42, 9000)
    assert os.stat(root / "out/data.csv").st_size == 9000
    assert os.stat(root).st_mtime_ns == T
    assert os.stat(root / "notes.txt").st_mtime_ns == T + 1
    assert os.stat(root / "out").st_mtime_ns == T + 4
    assert os.stat(root / "out/deep").st_mtime_ns == T + 6
    assert os.stat(root / "link", follow_symlinks=False).st_mtime_ns == T + 8
    assert os.readlink(root / "link") == "out/data.csv"


def test_dangling_symlink_round_trips(tmp_path: Path) -> None:
    """A symlink to nothing is written and read back as a symlink with its target and mtime."""
    sample_tree().to_path(tmp_path / "out")
    assert not (tmp_path / "out/dangling").exists()
    assert FileTree.from_path(tmp_path / "out")["dangling"] == Symlink("no/such/file", T + 9)


def test_from_path_never_follows_symlinks(tmp_path: Path) -> None:
    """A symlink to a directory is read as a symlink, not as the directory's contents."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real/f").write_bytes(b"x")
    (tmp_path / "alias").symlink_to("real")
    t = FileTree.from_path(tmp_path)
    assert isinstance(t["alias"], Symlink)
    assert "alias/f" not in t


def test_from_path_keeps_only_a_digest_for_large_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files above LITERAL_LIMIT are read as a Digest of their bytes."""
    monkeypatch.setattr(nassim.tree, "LITERAL_LIMIT", 4)
    (tmp_path / "small").write_bytes(b"abcd")
    (tmp_path / "large").write_bytes(b"abcde")
    t = FileTree.from_path(tmp_path)
    assert t["small"] == File(4, os.stat(tmp_path / "small").st_mtime_ns, b"abcd")
    assert t["large"] == File(5, os.stat(tmp_path / "large").st_mtime_ns, Digest(sha1(b"abcde"), 5))


def test_to_path_writes_into_an_existing_empty_directory(tmp_path: Path) -> None:
    """An existing empty directory is an acceptable target."""
    sample_tree().to_path(tmp_path)
    assert FileTree.from_path(tmp_path) == sample_tree()


def test_to_path_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    """to_path never writes over existing files."""
    (tmp_path / "keep").write_bytes(b"mine")
    with pytest.raises(TreeError) as info:
        sample_tree().to_path(tmp_path)
    assert str(info.value) == f"{tmp_path}: directory is not empty; refusing to write a tree over it"
    assert os.listdir(tmp_path) == ["keep"]


def test_to_path_refuses_a_target_that_is_a_file(tmp_path: Path) -> None:
    """The target must be a directory or not exist."""
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(TreeError) as info:
        sample_tree().to_path(tmp_path / "f")
    assert str(info.value) == f"{tmp_path / 'f'}: exists and is not a directory"


def test_to_path_refuses_digest_only_content_and_writes_nothing(tmp_path: Path) -> None:
    """A file known only by its digest cannot be materialized, and the refusal leaves no partial tree."""
    t = sample_tree()
    t["out/known"] = File(10, 0, Digest("ab" * 20, 10))
    with pytest.raises(ContentError) as info:
        t.to_path(tmp_path / "out")
    assert (
        str(info.value)
        == f"'out/known': content known only by its sha1 {'ab' * 20} cannot be written to disk"
    )
    assert not (tmp_path / "out").exists()


def test_from_path_raises_tree_error_on_a_fifo(tmp_path: Path) -> None:
    """Special files are not modelled: a FIFO is an error naming it."""
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(TreeError) as info:
        FileTree.from_path(tmp_path)
    assert (
        str(info.value)
        == f"{tmp_path / 'pipe'}: not a regular file, directory or symlink (devices are not modelled)"
    )


def test_from_path_rejects_missing_root_and_non_directory(tmp_path: Path) -> None:
    """The root must exist and be a directory."""
    with pytest.raises(TreeError) as info:
        FileTree.from_path(tmp_path / "nope")
    assert str(info.value) == f"{tmp_path / 'nope'}: cannot read directory: No such file or directory"
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(TreeError) as info:
        FileTree.from_path(tmp_path / "f")
    assert str(info.value) == f"{tmp_path / 'f'}: not a directory"


# --- the same under pyfakefs ------------------------------------------------------------
# pyfakefs (5.x) stores nanosecond mtimes and sets them on symlinks with
# follow_symlinks=False, so nothing needs to be skipped here.


def test_round_trip_under_pyfakefs(fs: Any) -> None:
    """to_path then from_path on pyfakefs's fake file system gives an equal tree, mtimes to the nanosecond."""
    fs.create_dir("/data")
    t = sample_tree()
    t.to_path("/data/out")
    assert FileTree.from_path("/data/out") == t
    assert os.stat("/data/out/link", follow_symlinks=False).st_mtime_ns == T + 8
    assert os.stat("/data/out/out").st_mtime_ns == T + 4
    with open("/data/out/out/data.csv", "rb") as fh:
        assert fh.read() == synthetic_bytes(42, 9000)


def test_to_path_refuses_non_empty_directory_under_pyfakefs(fs: Any) -> None:
    """The non-empty refusal holds on the fake file system too."""
    fs.create_file("/data/keep")
    with pytest.raises(TreeError) as info:
        sample_tree().to_path("/data")
    assert str(info.value) == "/data: directory is not empty; refusing to write a tree over it"


def test_from_path_raises_tree_error_on_a_fifo_under_pyfakefs(fs: Any) -> None:
    """A FIFO on the fake file system is refused like a real one."""
    # os.mkfifo is not faked; create_file can make a node of any type.
    fs.create_file("/data/pipe", st_mode=stat.S_IFIFO | 0o644)
    with pytest.raises(TreeError) as info:
        FileTree.from_path("/data")
    assert (
        str(info.value) == "/data/pipe: not a regular file, directory or symlink (devices are not modelled)"
    )


# --- volumes ----------------------------------------------------------------------------


def test_stored_mtime_keeps_nanoseconds_at_1ns_resolution() -> None:
    """A nanosecond volume stores the time as given."""
    assert Volume(mtime_resolution_ns=1).stored_mtime(T) == T


def test_stored_mtime_truncates_to_whole_seconds_at_1s_resolution() -> None:
    """A one-second volume drops the fraction."""
    v = Volume(mtime_resolution_ns=10**9)
    assert v.stored_mtime(T) == 1_700_000_000_000_000_000
    assert v.stored_mtime(5 * 10**9) == 5 * 10**9


def test_stored_mtime_truncates_to_even_seconds_at_2s_resolution() -> None:
    """A two-second volume rounds down to an even second."""
    v = Volume(mtime_resolution_ns=2 * 10**9)
    assert v.stored_mtime(3_999_999_999) == 2_000_000_000
    assert v.stored_mtime(4_000_000_000) == 4_000_000_000
    assert v.stored_mtime(T + 10**9) == 1_700_000_000_000_000_000


def test_volume_presets() -> None:
    """linux, windows_9p and fat carry the traits of the file systems they name."""
    assert Volume.linux() == Volume()
    assert Volume.linux() == Volume(True, 1, True, OwnerSupport.SET, False)
    assert Volume.windows_9p() == Volume(
        case_sensitive=False,
        mtime_resolution_ns=10**9,
        can_set_times=False,
        owners=OwnerSupport.IGNORED,
        windows_names=True,
        symlinks=False,
    )
    assert Volume.fat() == Volume(
        case_sensitive=False, mtime_resolution_ns=2 * 10**9, owners=OwnerSupport.IGNORED
    )
    assert not Volume.fat().read_only and Volume.fat().can_set_times


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "1"])
def test_volume_rejects_invalid_mtime_resolution(bad: object) -> None:
    """The resolution must be a positive int; the error says what came."""
    with pytest.raises(TreeError) as info:
        Volume(mtime_resolution_ns=bad)  # type: ignore[arg-type]
    assert str(info.value) == f"'mtime_resolution_ns' must be a positive int (got {bad!r})"


# --- storage: the per-directory columns behind the mapping ------------------------

_NAMES = st.sampled_from(["a", "B", "c.txt", "é", "z", "\udcff", "d"])
_ENTRIES = st.one_of(
    st.builds(
        File, st.integers(0, 2**70), st.integers(-(2**70), 2**70), st.one_of(st.integers(), st.binary(max_size=4))
    ),
    st.builds(Symlink, st.just("t"), st.integers(0, 10)),
    st.builds(Dir, st.integers(0, 10)),
)
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "set", "set", "del", "copy"]), st.lists(_NAMES, min_size=1, max_size=3), _ENTRIES
    ),
    max_size=60,
)


def _rsync_order(model: dict[str, Any], path: str) -> tuple[tuple[bool, bytes], ...]:
    """Per component: directories after non-directories, then by bytes."""
    parts = [] if path == "." else path.split("/")
    return tuple((isinstance(model["/".join(parts[: k + 1])], Dir), os.fsencode(c)) for k, c in enumerate(parts))


def _model_apply(model: dict[str, Any], op: str, path: str, entry: Any) -> bool:
    """What a FileTree must do, on a dict of paths (False: the tree must refuse)."""
    parent = path.rpartition("/")[0] or "."
    if not isinstance(model.get(parent), Dir):
        return False
    if op == "del":
        if path not in model:
            return False
        for p in [p for p in model if p == path or p.startswith(path + "/")]:
            del model[p]
        return True
    if not isinstance(entry, Dir) or not isinstance(model.get(path), Dir):
        for p in [p for p in model if p.startswith(path + "/")]:
            del model[p]
    model[path] = entry
    return True


@given(_OPS)
def test_tree_behaves_like_a_dict_of_paths_through_writes_deletes_and_copies(ops) -> None:
    """Any sequence of writes, deletes and copies leaves the tree equal to a plain dict
    model, entry for entry, and a copy never sees writes to its original or back."""
    tree, model = FileTree(0), {".": Dir(0)}
    frozen: list[tuple[FileTree, dict[str, Any]]] = []
    for op, parts, entry in ops:
        if op == "copy":
            frozen.append((tree, dict(model)))
            tree = tree.copy()
            continue
        path = "/".join(parts)
        expected = dict(model)
        if _model_apply(expected, op, path, entry):
            if op == "del":
                del tree[path]
            else:
                tree[path] = entry
            model = expected
        else:
            with pytest.raises((TreeError, KeyError)):
                if op == "del":
                    del tree[path]
                else:
                    tree[path] = entry
        assert dict(tree.items()) == model
    assert list(tree) == sorted(model, key=lambda p: _rsync_order(model, p))
    for old, seen in frozen:
        assert dict(old.items()) == seen


def test_many_deletes_in_one_directory_keep_the_rest_and_allow_new_names() -> None:
    """Deleting most files of a directory (which compacts its storage) keeps the others intact."""
    t = FileTree(0)
    for i in range(200):
        t[f"f{i:03d}"] = File(i, T + i, i * 7)
    for i in range(0, 200, 4):
        del t[f"f{i:03d}"]
    for i in range(1, 200, 4):
        del t[f"f{i:03d}"]
    t["new"] = File(1, 2, 3)
    expected = {f"f{i:03d}": File(i, T + i, i * 7) for i in range(200) if i % 4 > 1}
    assert dict(t.items()) == {".": Dir(0), **expected, "new": File(1, 2, 3)}


def test_sizes_and_mtimes_beyond_64_bits_are_kept_exactly() -> None:
    """A size or mtime that a machine int cannot hold reads back unchanged."""
    t = FileTree(0)
    t["big"] = File(2**64, -(2**63) - 1, b"x")
    t["edge"] = File(2**63 - 1, -(2**63), 5)
    assert t["big"] == File(2**64, -(2**63) - 1, b"x")
    assert t["edge"] == File(2**63 - 1, -(2**63), 5)


def test_listdir_orders_non_ascii_and_undecodable_names_by_their_bytes() -> None:
    """Files before directories, each by the bytes of the name, whatever the characters."""
    t = FileTree(0)
    names = ["b", "é", "\udcff", "Z", "a\udc80", "ä", "a"]
    for n in names:
        t[n] = File(0, 0, 0)
    t["dir"] = Dir(0)
    t["Dir\udcfe"] = Dir(0)
    assert t.listdir() == [*sorted(names, key=os.fsencode), "Dir\udcfe", "dir"]


def test_put_files_writes_as_setting_each_path_does() -> None:
    """Existing files rewritten, new names counted, a directory replaced by a file, the
    last of two writes to one name kept, sizes beyond 64 bits: as tree[path] = File(...)."""
    def base() -> FileTree:
        t = FileTree()
        t["out"] = Dir(1)
        t["out/a"] = File(1, 1, 1)
        t["out/d"] = Dir(1)
        t["out/d/x"] = File(1, 1, 1)
        return t

    files = [("a", 2, 2, 2), ("b", 3, 3, 3), ("d", 4, 4, 4), ("b", 5, 5, 5), ("big", 1 << 70, 6, 6)]
    expected = base()
    for name, size, mtime, content in files:
        expected[f"out/{name}"] = File(size, mtime, content)
    got = base()
    assert got.put_files("out", files) == 2  # "b" and "big"; "d" was there (as a directory)
    assert got == expected


def test_put_files_names_a_missing_parent_or_a_path_for_a_name() -> None:
    t = FileTree()
    t["f"] = File(1, 1, 1)
    with pytest.raises(TreeError, match="'out': missing"):
        t.put_files("out", [("a", 1, 1, 1)])
    with pytest.raises(TreeError, match="'f': not a directory"):
        t.put_files("f", [("a", 1, 1, 1)])
    with pytest.raises(TreeError, match="'a/b': a file name, not a path"):
        t.put_files(".", [("a/b", 1, 1, 1)])

"""rsync's ``--exclude`` patterns (the simple, wildcard form), compiled to a predicate.

Rules (rsync(1) "INCLUDE/EXCLUDE PATTERN RULES"; reference §7):
a leading ``/`` anchors at the transfer root; a trailing ``/`` matches
directories only; a pattern with no ``/`` (or ``**``) matches the final
component at any depth; one with a ``/`` matches the last as many components
of the path; one with ``**`` matches the path or any suffix of it that starts
after a ``/``. ``*`` and ``?`` never cross a ``/``; ``**`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["Filter", "compile_excludes"]

#: ``filter(path, is_dir) -> excluded?`` with ``path`` relative to the transfer root.
Filter = Callable[[str, bool], bool]


def _wild_to_regex(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("***", i) and i + 3 == n and (i == 0 or pattern[i - 1] == "/"):
                # "dir/***" matches the directory itself and everything inside it.
                out[-1:] = ["(?:/.*)?"] if out and out[-1] == "/" else [".*"]
                i += 3
                continue
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
                continue
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class _Rule:
    __slots__ = ("anchored", "dir_only", "regex", "slash_count", "wild2")

    def __init__(self, pattern: str) -> None:
        self.dir_only = pattern.endswith("/")
        if self.dir_only:
            pattern = pattern.rstrip("/")
        self.anchored = pattern.startswith("/")
        if self.anchored:
            pattern = pattern.lstrip("/")
        self.wild2 = "**" in pattern
        self.slash_count = pattern.count("/")
        self.regex = re.compile(_wild_to_regex(pattern), re.DOTALL)

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.anchored:
            return self.regex.fullmatch(path) is not None
        if self.wild2:
            # Match the whole path or any tail that starts after a slash.
            if self.regex.fullmatch(path):
                return True
            i = path.find("/")
            while i != -1:
                if self.regex.fullmatch(path, i + 1):
                    return True
                i = path.find("/", i + 1)
            return False
        parts = path.split("/")
        if len(parts) <= self.slash_count:
            return False
        tail = "/".join(parts[len(parts) - self.slash_count - 1 :])
        return self.regex.fullmatch(tail) is not None


def compile_excludes(patterns: Sequence[str]) -> Filter:
    """A predicate that is true for paths any of ``patterns`` excludes.

    The predicate is falsy-testable: with no patterns it is an empty callable
    object, so callers can skip filtering altogether.
    """
    rules = [_Rule(p) for p in patterns if p and p.strip("/")]

    class _Compiled:
        def __call__(self, path: str, is_dir: bool) -> bool:
            return any(r.matches(path, is_dir) for r in rules)

        def __bool__(self) -> bool:
            return bool(rules)

    return _Compiled()

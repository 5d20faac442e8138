"""rsync's ``--exclude`` patterns (the simple, wildcard form), compiled to a predicate.

Rules (rsync(1) "INCLUDE/EXCLUDE PATTERN RULES"; reference §7; exclude.c
``add_rule``/``rule_matches``): a leading ``/`` anchors at the transfer root;
a trailing ``/`` matches directories only; a pattern with no ``/`` (or
``**``) matches the final component at any depth; one with a ``/`` matches
the last as many components of the path; one with ``**`` matches the path or
any suffix of it that starts after a ``/``, and a leading ``**/`` may match
zero directories (``**/keep`` matches a top-level ``keep``). ``*`` and ``?``
never cross a ``/``; ``**`` does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Filter", "compile_excludes"]

class Filter(Protocol):
    """``filter(path, is_dir) -> excluded?`` with ``path`` relative to the transfer root;
    false in a boolean context when there are no rules at all."""

    def __call__(self, path: str, is_dir: bool) -> bool: ...

    def __bool__(self) -> bool: ...


def _wild_to_regex(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                # wildmatch: a run of two or more stars matches anything, "/" included.
                out.append(".*")
                while i < n and pattern[i] == "*":
                    i += 1
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
    """One exclude rule, parsed like exclude.c ``add_rule`` and matched like ``rule_matches``."""

    __slots__ = ("anchored", "dir_only", "regex", "slash_count", "wild2", "wild2_prefix", "wild3_suffix")

    def __init__(self, pattern: str) -> None:
        # One trailing slash (not a lone "/") means "directories only".
        self.dir_only = len(pattern) > 1 and pattern.endswith("/")
        if self.dir_only:
            pattern = pattern[:-1]
        self.slash_count = pattern.count("/")  # a leading "/" counts too
        self.wild2 = "**" in pattern
        self.wild2_prefix = pattern.startswith("**")
        self.wild3_suffix = self.wild2 and pattern.endswith("***")
        self.anchored = pattern.startswith("/")
        if self.anchored:
            pattern = pattern[1:]
        self.regex = re.compile(_wild_to_regex(pattern), re.DOTALL)

    def matches(self, path: str, is_dir: bool) -> bool:
        if not path:
            return False
        if not self.slash_count and not self.wild2:
            # No "/" and no "**": only the name itself is matched.
            text = path.rpartition("/")[2]
        elif self.wild2_prefix:
            # A leading "**" may also match zero directories: match against "/" + path.
            text = "/" + path
        else:
            text = path
        if is_dir:
            if self.wild3_suffix:
                # "dir/***" matches the directory itself as well as everything inside.
                text += "/"
        elif self.dir_only:
            return False
        if not self.anchored and self.slash_count and not self.wild2:
            # An infix "/" and no "**": match the last slash_count + 1 path elements.
            parts = text.split("/")
            if len(parts) <= self.slash_count:
                return False
            return self.regex.fullmatch("/".join(parts[len(parts) - self.slash_count - 1 :])) is not None
        if not self.anchored and self.wild2 and not self.wild2_prefix:
            # An infix or trailing "**": try the whole path, then the tail after every "/".
            if self.regex.fullmatch(text):
                return True
            i = text.find("/")
            while i != -1:
                if self.regex.fullmatch(text, i + 1):
                    return True
                i = text.find("/", i + 1)
            return False
        return self.regex.fullmatch(text) is not None


def compile_excludes(patterns: Sequence[str]) -> Filter:
    """A predicate that is true for paths any of ``patterns`` excludes.

    The predicate is falsy-testable: with no patterns it is an empty callable
    object, so callers can skip filtering altogether.
    """
    return _Compiled([_Rule(p) for p in patterns if p and p.strip("/")])


class _Compiled:
    """The predicate :func:`compile_excludes` returns (falsy with no rules)."""

    __slots__ = ("rules",)

    def __init__(self, rules: list[_Rule]) -> None:
        self.rules = rules

    def __call__(self, path: str, is_dir: bool) -> bool:
        return any(r.matches(path, is_dir) for r in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

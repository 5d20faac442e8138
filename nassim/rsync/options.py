"""Parse rsync argument lists into :class:`RsyncOptions` (the subset nassim models).

An option the model does not support is an error that names it: silently
ignoring, say, ``--backup`` would make every figure built on the model wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from nassim.errors import RsyncOptionError

__all__ = ["DeleteMode", "RsyncOptions", "parse_args"]

DeleteMode = Literal["before", "during", "after", "delay"]

# Short flags that take no value, mapped to the attribute they set.
_SHORT = {
    "r": "recursive",
    "l": "links",
    "p": "perms",
    "t": "times",
    "g": "group",
    "o": "owner",
    "D": "devices",
    "v": "verbose",
    "i": "itemize",
    "n": "dry_run",
    "c": "checksum",
    "I": "ignore_times",
    "u": "update",
    "W": "whole_file",
    "O": "omit_dir_times",
    "q": "quiet",
}

# Long flags that take no value.
_LONG = {
    "recursive": "recursive",
    "links": "links",
    "perms": "perms",
    "times": "times",
    "group": "group",
    "owner": "owner",
    "devices": "devices",
    "specials": "devices",
    "verbose": "verbose",
    "itemize-changes": "itemize",
    "dry-run": "dry_run",
    "checksum": "checksum",
    "size-only": "size_only",
    "ignore-times": "ignore_times",
    "update": "update",
    "existing": "existing",
    "ignore-non-existing": "existing",
    "ignore-existing": "ignore_existing",
    "inplace": "inplace",
    "partial": "partial",
    "whole-file": "whole_file",
    "omit-dir-times": "omit_dir_times",
    "quiet": "quiet",
}

# The parts of -a that --no-X can switch off again.
_NEGATABLE = {"recursive", "links", "perms", "times", "group", "owner", "devices", "specials"}

_ARCHIVE = ("recursive", "links", "perms", "times", "group", "owner", "devices")


@attrs.frozen
class RsyncOptions:
    """The options of one rsync invocation, with the source and destination operands."""

    recursive: bool = False
    links: bool = False
    perms: bool = False
    times: bool = False
    group: bool = False
    owner: bool = False
    devices: bool = False
    verbose: int = 0
    itemize: int = 0
    dry_run: bool = False
    delete: DeleteMode | None = None
    checksum: bool = False
    size_only: bool = False
    ignore_times: bool = False
    modify_window: int = 0
    update: bool = False
    existing: bool = False
    ignore_existing: bool = False
    excludes: tuple[str, ...] = ()
    inplace: bool = False
    partial: bool = False
    whole_file: bool = False
    omit_dir_times: bool = False
    quiet: bool = False
    operands: tuple[str, ...] = ()

    @property
    def source(self) -> str | None:
        return self.operands[0] if len(self.operands) >= 2 else None

    @property
    def destination(self) -> str | None:
        return self.operands[-1] if len(self.operands) >= 2 else None

    @property
    def copies_contents(self) -> bool:
        """True for ``src/`` (copy the contents) or no operands; False for ``src`` (copy the dir)."""
        src = self.source
        return src is None or src.endswith("/") or src in (".", "..") or src.endswith("/.")

    @property
    def source_name(self) -> str:
        """The directory name a slashless source creates inside the destination."""
        src = self.source or "src"
        return src.rstrip("/").rsplit("/", 1)[-1]

    def to_args(self) -> list[str]:
        """A canonical argument list that parses back to these options."""
        out: list[str] = []
        flags = "".join(
            f for f, name in _SHORT.items() if name not in ("verbose", "itemize") and getattr(self, name)
        )
        flags += "v" * self.verbose + "i" * self.itemize
        if flags:
            out.append("-" + flags)
        for long, name in (
            ("size-only", "size_only"),
            ("existing", "existing"),
            ("ignore-existing", "ignore_existing"),
            ("inplace", "inplace"),
            ("partial", "partial"),
        ):
            if getattr(self, name):
                out.append("--" + long)
        if self.delete is not None:
            out.append("--delete" if self.delete == "during" else f"--delete-{self.delete}")
        if self.modify_window:
            out.append(f"--modify-window={self.modify_window}")
        out.extend(f"--exclude={p}" for p in self.excludes)
        out.extend(self.operands)
        return out


def parse_args(args: Sequence[str]) -> RsyncOptions:
    """Parse an rsync argument list (without the program name).

    >>> parse_args(["-av", "--delete", "/windows-mount/", "/nfs-data/"]).delete
    'during'
    """
    if isinstance(args, str):
        raise RsyncOptionError(
            f"rsync arguments must be a list of strings, not one string (got {args!r}); "
            f"split it first, e.g. shlex.split({args!r})"
        )
    values: dict[str, object] = {}
    counts = {"verbose": 0, "itemize": 0}
    excludes: list[str] = []
    operands: list[str] = []
    # --delete-before, --delete-after, and the one during/delay setting (reference §6).
    when: dict[str, DeleteMode] = {}
    delete_named = False
    it = iter(args)
    only_operands = False

    def flag(name: str) -> None:
        if name in counts:
            counts[name] += 1
        else:
            values[name] = True

    for arg in it:
        if not isinstance(arg, str):
            raise RsyncOptionError(f"rsync argument {arg!r} is not a string")
        if only_operands or not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        if arg == "--":
            only_operands = True
            continue
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")

            def need_value(name: str = name, eq: str = eq, value: str = value) -> str:
                if eq:
                    return value
                nxt = next(it, None)
                if nxt is None:
                    raise RsyncOptionError(f"rsync option '--{name}' needs a value (e.g. --{name}=VALUE)")
                return nxt

            if name == "archive":
                for n in _ARCHIVE:
                    values[n] = True
            elif name in _LONG and not eq:
                flag(_LONG[name])
            elif name == "delete" and not eq:
                delete_named = True
            elif name in ("delete-before", "delete-after") and not eq:
                when[name] = "before" if name == "delete-before" else "after"
            elif name in ("delete-during", "delete-delay", "del") and not eq:
                # One setting in rsync (options.c delete_during): the last of these wins.
                when["during"] = "delay" if name == "delete-delay" else "during"
            elif name == "modify-window":
                raw = need_value()
                try:
                    values["modify_window"] = int(raw)
                except ValueError:
                    raise RsyncOptionError(
                        f"rsync option '--modify-window' needs an integer number of seconds (got {raw!r})"
                    ) from None
            elif name == "exclude":
                excludes.append(need_value())
            elif name.startswith("no-") and name[3:] in _NEGATABLE and not eq:
                values[_LONG[name[3:]]] = False
            elif name in _LONG or name in ("delete", "archive"):
                raise RsyncOptionError(f"rsync option '--{name}' takes no value (got {arg!r})")
            else:
                raise RsyncOptionError(f"rsync option {arg!r} is not supported by the nassim rsync model")
            continue
        # Combined short flags: -av, -rlptgoD, -vvi
        for ch in arg[1:]:
            if ch == "a":
                for n in _ARCHIVE:
                    values[n] = True
            elif ch in _SHORT:
                flag(_SHORT[ch])
            else:
                where = f" in {arg!r}" if len(arg) > 2 else ""
                raise RsyncOptionError(f"rsync option '-{ch}'{where} is not supported by the nassim rsync model")

    if len(when) > 1:
        # rsync refuses this with exit 1, as a usage error.
        raise RsyncOptionError(
            "rsync options "
            + " and ".join(f"'--delete-{mode}'" for mode in when.values())
            + " choose different deletion times; give only one --delete-WHEN option"
        )
    if when:
        values["delete"] = next(iter(when.values()))
    elif delete_named:
        values["delete"] = "during"
    if len(operands) == 1:
        raise RsyncOptionError(
            f"rsync needs both a source and a destination operand, or neither (got only {operands[0]!r})"
        )
    if len(operands) > 2:
        raise RsyncOptionError(f"the nassim rsync model copies one source directory (got operands {operands!r})")
    opts = RsyncOptions(
        **values,  # type: ignore[arg-type]
        verbose=counts["verbose"],
        itemize=counts["itemize"],
        excludes=tuple(excludes),
        operands=tuple(operands),
    )
    return opts

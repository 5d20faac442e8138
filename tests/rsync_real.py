"""Run the real ``rsync`` and the model on the same trees, and compare them.

The real binary is the judge (rsync 3.5.0, ``/usr/bin/rsync``). One case is a
source tree, a destination tree (or None: the destination does not exist) and
an argument list; both sides get ``-i`` and the operands ``src/ dst/``.

Comparison rules (:func:`compare`):

- itemized lines as a multiset: a real run prints transfer lines (``>f``)
  later than generator lines, so only the dry-run order is the model's order
  (reference §3);
- every other stdout line (``created directory dst``, ``cannot delete
  non-empty directory: X``, ``skipping non-regular file``, ``IO error
  encountered -- skipping file deletion``) as a multiset;
- stderr lines, without rsync's closing ``rsync error:``/``rsync warning:``
  summary (it names a source line of main.c), as a multiset; rsync prints some
  paths absolutely (``full_fname``), so the temporary directory's prefix is
  stripped from both stdout and stderr lines;
- the exit code;
- the destination afterwards: types, sizes, content, symlink targets exactly;
  mtimes to the nanosecond, with one exception, the **"now" rule**: the model
  stamps an entry with exactly ``now_ns`` when the kernel would give it the
  wall-clock time (a file written without ``-t``, a directory whose mtime a
  create or delete bumped and that rsync does not re-set). Real rsync's
  "now" is some instant during the run that the model cannot know to the
  nanosecond, so when the model's mtime equals ``now_ns``, the real mtime
  must instead fall inside the run's wall-clock window, widened by
  :data:`NOW_SLACK_NS` (the kernel stamps with a coarse clock that may lag
  ``time.time_ns()`` by a tick). Generated mtimes lie in 2001-2020, so an
  exact ``now_ns`` cannot arise by accident.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence

import attrs

import nassim.rsync
from nassim.errors import RsyncOptionError
from nassim.tree import File, FileTree, Symlink, content_sha1, describe

__all__ = [
    "NOW_SLACK_NS",
    "RSYNC",
    "Outcome",
    "Stage",
    "assert_agrees",
    "compare",
    "format_case",
    "run_model",
    "run_real",
]

RSYNC = shutil.which("rsync") or "/usr/bin/rsync"

#: How far outside the measured run window a "now" mtime may fall (see the module docstring).
NOW_SLACK_NS = 2 * 10**9

_ITEM = re.compile(r"^(?:[<>ch.][fdLDS][.+ ?cstpoguaxTnb]{9}|\*deleting  ) ")
_SUMMARY = ("rsync error:", "rsync warning:")


@attrs.frozen
class Outcome:
    """What one run (real or model) printed, how it exited, and the destination afterwards.

    ``now_lo_ns``/``now_hi_ns`` bound the wall clock during the run (for the model both
    are the ``now_ns`` it was given); ``refused`` holds the usage error text when the
    arguments were rejected (real exit 1, or the model's :class:`RsyncOptionError`).
    """

    exit_code: int
    itemized: tuple[str, ...]
    messages: tuple[str, ...]
    errors: tuple[str, ...]
    dst: FileTree | None
    now_lo_ns: int
    now_hi_ns: int
    refused: str | None = None


def _split_stdout(lines: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    items = tuple(ln for ln in lines if _ITEM.match(ln))
    msgs = tuple(ln for ln in lines if ln and not _ITEM.match(ln))
    return items, msgs


def run_real(src: FileTree, dst: FileTree | None, args: Sequence[str]) -> Outcome:
    """Run ``rsync ARGS -i src/ dst/`` in a fresh temporary directory (the cwd) and read ``dst`` back."""
    base = tempfile.mkdtemp(prefix="nassim-rsync-")
    try:
        src.to_path(os.path.join(base, "src"))
        if dst is not None:
            dst.to_path(os.path.join(base, "dst"))
        return _invoke(base, args)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _invoke(base: str, args: Sequence[str]) -> Outcome:
    env = dict(os.environ, LC_ALL="C.UTF-8")
    env.pop("RSYNC_RSH", None)
    lo = time.time_ns()
    proc = subprocess.run(
        [RSYNC, *args, "-i", "src/", "dst/"],
        cwd=base,
        env=env,
        capture_output=True,
        check=False,
    )
    hi = time.time_ns()
    out = os.fsdecode(proc.stdout).splitlines()
    err = os.fsdecode(proc.stderr).splitlines()
    items, msgs = _split_stdout(out)
    dst_path = os.path.join(base, "dst")
    tree = FileTree.from_path(dst_path) if os.path.lexists(dst_path) else None
    # rsync names some paths absolutely (full_fname() prepends the cwd it chdir'd to):
    # the model only knows them relative to the run's cwd, so strip that prefix.
    prefix = os.path.realpath(base) + "/"
    errors = tuple(ln.replace(prefix, "") for ln in err if not ln.startswith(_SUMMARY))
    msgs = tuple(ln.replace(prefix, "") for ln in msgs)
    refused = "\n".join(err) if proc.returncode == 1 else None
    return Outcome(proc.returncode, items, msgs, errors, tree, lo, hi, refused)


def run_model(src: FileTree, dst: FileTree | None, args: Sequence[str], *, now_ns: int) -> Outcome:
    """Run the model like :func:`run_real` runs rsync (``-i`` added, operands implied)."""
    try:
        r = nassim.rsync.run(src, dst, [*args, "-i"], now_ns=now_ns)
    except RsyncOptionError as exc:
        return Outcome(1, (), (), (), dst, now_ns, now_ns, refused=str(exc))
    return Outcome(r.exit_code, r.itemized, r.messages, r.errors, r.dst, now_ns, now_ns)


# --- comparison ------------------------------------------------------------------------


def _multiset_diff(name: str, model: Sequence[str], real: Sequence[str]) -> list[str]:
    m, r = collections.Counter(model), collections.Counter(real)
    out = [f"{name}: model only: {line!r}" for line in sorted((m - r).elements())]
    out += [f"{name}: real only:  {line!r}" for line in sorted((r - m).elements())]
    return out


def _stamped_now(model_mtime: int, model: Outcome) -> bool:
    return model_mtime == model.now_lo_ns


def _mtime_ok(m_mtime: int, r_mtime: int, model: Outcome, real: Outcome) -> bool:
    if _stamped_now(m_mtime, model):
        return real.now_lo_ns - NOW_SLACK_NS <= r_mtime <= real.now_hi_ns + NOW_SLACK_NS
    return m_mtime == r_mtime


def tree_diff(model: Outcome, real: Outcome) -> list[str]:
    """Differences between the destinations, with the "now" rule for mtimes."""
    if model.dst is None or real.dst is None:
        if model.dst is None and real.dst is None:
            return []
        return [
            f"dst: model {'missing' if model.dst is None else 'present'}, "
            f"real {'missing' if real.dst is None else 'present'}"
        ]
    mine = dict(model.dst.items())
    theirs = dict(real.dst.items())
    out: list[str] = []
    for path in sorted(mine.keys() | theirs.keys(), key=os.fsencode):
        a, b = mine.get(path), theirs.get(path)
        if a is None or b is None or type(a) is not type(b):
            out.append(f"{path}: model {describe(a)} / real {describe(b)}")
            continue
        same = _mtime_ok(a.mtime_ns, b.mtime_ns, model, real)
        if isinstance(a, File):
            assert isinstance(b, File)
            same = same and a.size == b.size and content_sha1(a) == content_sha1(b)
        elif isinstance(a, Symlink):
            assert isinstance(b, Symlink)
            same = same and a.target == b.target
        if not same:
            note = " (model: now)" if _stamped_now(a.mtime_ns, model) else ""
            out.append(f"{path}: model {describe(a)}{note} / real {describe(b)}")
    return out


def compare(model: Outcome, real: Outcome) -> list[str]:
    """Every disagreement between a model run and a real run, one readable line each."""
    if (model.refused is None) != (real.refused is None):
        return [
            f"refusal: model {'raised ' + repr(model.refused) if model.refused else 'ran'}"
            f" / real exit {real.exit_code} {real.refused or ''}".rstrip()
        ]
    if model.refused is not None:
        return []
    out: list[str] = []
    if model.exit_code != real.exit_code:
        out.append(f"exit code: model {model.exit_code} / real {real.exit_code}")
    out += _multiset_diff("itemized", model.itemized, real.itemized)
    out += _multiset_diff("message", model.messages, real.messages)
    out += _multiset_diff("error", model.errors, real.errors)
    out += tree_diff(model, real)
    return out


def _side_by_side(title: str, model: Sequence[str], real: Sequence[str]) -> list[str]:
    width = max([len("model"), *(len(x) for x in model)])
    rows = [f"  {title}:", f"    {'model'.ljust(width)} | real"]
    for i in range(max(len(model), len(real))):
        a = model[i] if i < len(model) else ""
        b = real[i] if i < len(real) else ""
        rows.append(f"    {a.ljust(width)} | {b}")
    return rows


def format_case(
    src: FileTree,
    dst: FileTree | None,
    args: Sequence[str],
    model: Outcome,
    real: Outcome,
    *,
    title: str = "run",
) -> str:
    """A failing case, replayable: the trees as JSON, the args, both outputs side by side."""
    lines = [
        f"=== {title}: rsync {' '.join(args)} -i src/ dst/",
        f"args = {json.dumps(list(args))}",
        f"src = FileTree.from_json({json.dumps(src.to_json(), sort_keys=True)})",
        "dst = None" if dst is None else f"dst = FileTree.from_json({json.dumps(dst.to_json(), sort_keys=True)})",
        f"  exit: model {model.exit_code} / real {real.exit_code}",
    ]
    if model.refused or real.refused:
        lines.append(f"  refused: model {model.refused!r} / real {real.refused!r}")
    lines += _side_by_side("itemized", model.itemized, real.itemized)
    lines += _side_by_side("stdout messages", model.messages, real.messages)
    lines += _side_by_side("stderr", model.errors, real.errors)
    lines.append("  differences:")
    lines += [f"    {d}" for d in compare(model, real)]
    return "\n".join(lines)


# --- the three-stage check -----------------------------------------------------------------


@attrs.frozen
class Stage:
    """One compared invocation: its name, its input, both outcomes, and the disagreements."""

    name: str
    dst_in: FileTree | None
    args: tuple[str, ...]
    model: Outcome
    real: Outcome
    problems: tuple[str, ...]


def check_stages(src: FileTree, dst: FileTree | None, args: Sequence[str]) -> list[Stage]:
    """Dry run, real run, then a second real run on what the first left (steady state).

    Each stage gives the model the same input the real binary had: the second run
    starts from the tree real rsync left, so a difference there is about the second
    run alone. A usage error (real exit 1) ends the check after the first stage.
    """
    base = tempfile.mkdtemp(prefix="nassim-rsync-")
    stages: list[Stage] = []
    try:
        src.to_path(os.path.join(base, "src"))
        if dst is not None:
            dst.to_path(os.path.join(base, "dst"))
        current = dst
        for name, stage_args in (("dry run", [*args, "-n"]), ("real run", list(args)), ("second run", list(args))):
            real = _invoke(base, stage_args)
            model = run_model(src, current, stage_args, now_ns=real.now_lo_ns)
            problems = compare(model, real)
            stages.append(Stage(name, current, tuple(stage_args), model, real, tuple(problems)))
            if problems or real.refused is not None:
                break
            current = real.dst
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return stages


def assert_agrees(src: FileTree, dst: FileTree | None, args: Sequence[str]) -> list[Stage]:
    """Fail with a replayable report unless the model agrees with rsync in every stage."""
    stages = check_stages(src, dst, args)
    bad = [s for s in stages if s.problems]
    if bad:
        s = bad[0]
        raise AssertionError(
            f"model and real rsync disagree in the {s.name}:\n"
            + format_case(src, s.dst_in, s.args, s.model, s.real, title=s.name)
        )
    return stages

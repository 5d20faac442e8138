"""How long an rsync run takes: a linear cost model over what the run did.

A run stats every entry on both sides (that is why a no-op run over a big tree
is slow, and why the sidecar's real period is ``interval + run time``), then
pays per file it writes and per byte it moves. Each side of a run is a
:class:`Medium`: a local disk, or a slow mount such as minikube's 9p share of
a Windows folder (ms per metadata round trip, reference notes §3 and §5).

The local-disk figures come from :func:`calibrate`, which times the real
binary on this machine and fits the model (``benchmarks/calibrate_rsync.py``
runs it on bigger trees and prints the fit).

A wall-clock backend runs real processes in scaled time: at ``speed`` 60 a
real run of 25 ms counts as 1.5 s of scenario time. :meth:`CostModel.scaled`
is that model, and :class:`SyncCosts` carries it, with what the sidecar's loop
costs besides rsync, to the simulator (``Simulation(costs=...)``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

import attrs

from nassim.rsync.engine import RsyncStats

__all__ = ["LOCAL_DISK", "NINEP_WINDOWS", "Calibration", "CostModel", "Medium", "SyncCosts", "Timed", "calibrate"]


def _nonneg(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:  # NaN too
        raise ValueError(f"{attribute.name!r} must be a number >= 0 (got {value!r})")


@attrs.frozen
class Medium:
    """Per-operation costs, in seconds, of one side of a run."""

    stat_s: float = attrs.field(validator=_nonneg)  # look at one entry (lstat, readdir share)
    create_s: float = attrs.field(validator=_nonneg)  # create a temp file, set attributes, rename it in place
    byte_s: float = attrs.field(validator=_nonneg)  # move one byte (read on the source, write on the destination)
    delete_s: float = attrs.field(default=0.0, validator=_nonneg)  # unlink or rmdir one entry

    def scaled(self, factor: float) -> Medium:
        """Every cost times ``factor``."""
        _check_factor(factor)
        return Medium(self.stat_s * factor, self.create_s * factor, self.byte_s * factor, self.delete_s * factor)


#: ext4/tmpfs on this machine. A calibration run (benchmarks/calibrate_rsync.py, 2026-11-26) fitted
#: stat 2.4e-6 s, create 5.6e-5 s, byte 5.1e-10 s per side and a 23 ms process start-up; these round
#: figures are within 20% of it (start-up aside, which CostModel keeps at 2 ms for the in-process part).
LOCAL_DISK = Medium(stat_s=2.0e-6, create_s=6.0e-5, byte_s=1.0e-9, delete_s=1.0e-5)

#: A Windows folder through ``minikube mount`` (9p): ms-range metadata round trips
#: (reference §3: ~1-5 ms per stat) and a few tens of MB/s.
NINEP_WINDOWS = Medium(stat_s=2.0e-3, create_s=8.0e-3, byte_s=5.0e-8, delete_s=4.0e-3)


@attrs.frozen
class CostModel:
    """Seconds for one run from its :class:`RsyncStats`.

    ``startup_s`` is process start and file-list exchange; the source side
    pays a stat per scanned entry and a read per byte, the destination side a
    stat per looked-up entry, a create per written file, a write per byte and
    an unlink per deletion.
    """

    src: Medium = LOCAL_DISK
    dst: Medium = LOCAL_DISK
    startup_s: float = attrs.field(default=2.0e-3, validator=_nonneg)

    def seconds(self, stats: RsyncStats) -> float:
        """Duration of a run that did what ``stats`` counts."""
        scan = self.src.stat_s * stats.scanned + self.dst.stat_s * stats.dst_stat
        return self.startup_s + scan + self.work_seconds(stats)

    def work_seconds(self, stats: RsyncStats) -> float:
        """The part of a run's duration spent changing things (moving bytes, creating, deleting)."""
        s, d = self.src, self.dst
        return (
            (s.byte_s + d.byte_s) * stats.bytes
            + d.create_s * (stats.transferred + stats.created_dirs)
            + d.delete_s * stats.deleted
        )

    def scan_seconds(self, entries: int) -> float:
        """Duration of a run over ``entries`` unchanged entries (a no-op run)."""
        return self.startup_s + (self.src.stat_s + self.dst.stat_s) * entries

    def scaled(self, factor: float) -> CostModel:
        """Every figure times ``factor``: the model of real runs on a backend that runs ``factor``
        scenario seconds per wall second (``model.scaled(60)`` for the local backend's default speed)."""
        _check_factor(factor)
        return CostModel(src=self.src.scaled(factor), dst=self.dst.scaled(factor), startup_s=self.startup_s * factor)


def _check_factor(factor: float) -> None:
    if not isinstance(factor, int | float) or isinstance(factor, bool) or not factor > 0:
        raise ValueError(f"'factor' must be a number > 0 (got {factor!r})")


@attrs.frozen(kw_only=True)
class SyncCosts:
    """How long the sync containers' runs take, for the simulator (``Simulation(costs=...)``).

    By default the scenario's Windows host decides (local disk to a 9p mount
    and back, :func:`nassim.cluster.simulation.windows_volume`); a
    ``SyncCosts`` replaces that, e.g. to model the local backend's folders at
    its speed. ``sidecar`` prices the sidecar's runs (export -> Windows
    folder), ``init`` the init containers' and the reverse sidecar's (Windows
    folder -> export).

    The simulator puts a run's start where rsync lists the source and decides
    what to copy, and charges ``sidecar.startup_s`` between that and the first
    write. ``loop_s`` is the rest of a sidecar cycle that is neither the run
    nor the sleep: the loop's shell commands (``date``, ``awk``, starting
    ``sleep``), rsync's process start before its listing and its exit after
    the last write. The simulated sidecar sleeps ``interval + loop_s``. On the
    test bed it is milliseconds; at speed 60 it is seconds.
    """

    sidecar: CostModel
    init: CostModel
    loop_s: float = attrs.field(default=0.0, validator=_nonneg)

    @classmethod
    def between(cls, windows: Medium, export: Medium = LOCAL_DISK) -> SyncCosts:
        """The simulator's default: runs between a Windows folder on ``windows`` and an export on ``export``."""
        return cls(sidecar=CostModel(src=export, dst=windows), init=CostModel(src=windows, dst=export))


# ---------------------------------------------------------------------------
# Calibration against the real binary


@attrs.frozen
class Timed:
    """One kind of timed rsync run: what it did, and its duration in seconds (over the repeats)."""

    label: str
    stats: RsyncStats
    seconds: float


@attrs.frozen
class Calibration:
    """A local-disk :class:`CostModel` fitted to the real rsync binary, and the runs it was fitted to."""

    model: CostModel
    runs: tuple[Timed, ...]

    def error(self, run: Timed) -> float:
        """The model's relative error on ``run``: ``(predicted - measured) / measured``."""
        return (self.model.seconds(run.stats) - run.seconds) / run.seconds

    @property
    def worst_error(self) -> float:
        """The largest absolute relative error over :attr:`runs`."""
        return max(abs(self.error(r)) for r in self.runs)


def calibrate(
    rsync: str = "rsync",
    *,
    sizes: tuple[int, ...] = (50, 500),
    big: tuple[int, int] = (1, 8 << 20),
    repeat: int = 5,
    statistic: Literal["median", "min"] = "median",
    workdir: str | os.PathLike[str] | None = None,
) -> Calibration:
    """Fit a local-disk :class:`CostModel` to the real ``rsync -a`` on this machine (about a second).

    Least squares on no-op runs over trees of ``sizes`` empty files (the
    intercept is ``startup_s``, the slope the stat of an entry on both sides),
    then the per-file create cost (copying the smallest tree into empty
    folders), the per-entry delete cost (``--delete`` from an empty source,
    emptying such a copy) and the per-byte
    cost (copying ``big[0]`` files of ``big[1]`` bytes, read on one side and
    written on the other). Each kind of run is timed ``repeat`` times.
    ``statistic``: ``"median"`` prices what a run typically takes now, on this
    machine as loaded as it is (what a wall-clock backend will see);
    ``"min"`` the best it can do (what the machine is capable of).

    ``startup_s`` is the whole process: exec, start-up, the fork of the
    receiver and the exit (the simulator's default keeps 2 ms, the in-process
    part). A missing binary is a :class:`FileNotFoundError` naming the fix.
    """
    binary = shutil.which(rsync)
    if binary is None:
        raise FileNotFoundError(f"calibrate needs the rsync binary: {rsync!r} is not on PATH (apt-get install rsync)")
    if len(sizes) < 2 or len(set(sizes)) < 2:
        raise ValueError(f"'sizes' must hold at least two different tree sizes (got {sizes!r})")
    if repeat < 1:
        raise ValueError(f"'repeat' must be >= 1 (got {repeat!r})")
    if statistic not in ("median", "min"):
        raise ValueError(f"'statistic' must be 'median' or 'min' (got {statistic!r})")
    pick = min if statistic == "min" else statistics.median

    with tempfile.TemporaryDirectory(prefix="nassim-calibrate-", dir=workdir) as tmp:
        work = Path(tmp)
        empty = work / "empty"
        empty.mkdir()
        runs: list[Timed] = []
        # 1. No-op runs: start-up, and a stat per entry on each side.
        noop: list[tuple[int, float]] = []
        for n in sizes:
            src, dst = work / f"s{n}", work / f"d{n}"
            entries = _make_tree(src, n, 0)
            _run_rsync(binary, ("-a", f"{src}/", f"{dst}/"))
            t = pick([_time_rsync(binary, ("-a", f"{src}/", f"{dst}/")) for _ in range(repeat)])
            noop.append((entries, t))
            runs.append(Timed(f"no-op over {n} files", RsyncStats(scanned=entries, dst_stat=entries), t))
        slope, intercept = statistics.linear_regression([e for e, _ in noop], [t for _, t in noop])
        startup = max(intercept, 0.0)
        stat_each = max(slope, 0.0) / 2
        # 2. Copy the smallest tree into empty folders (a create per file and directory), then
        # delete it again with --delete from an empty source (an unlink per entry).
        n, entries = sizes[0], noop[0][0]
        src, made = work / f"s{n}", entries - 1  # every entry but the top folder
        copies, deletes = [], []
        for i in range(repeat):
            dst = work / f"copy{i}"
            copies.append(_time_rsync(binary, ("-a", f"{src}/", f"{dst}/")))
            deletes.append(_time_rsync(binary, ("-a", "--delete", f"{empty}/", f"{dst}/")))
            shutil.rmtree(dst)
        tc, td = pick(copies), pick(deletes)
        runs.append(Timed(f"copy {n} empty files",
                          RsyncStats(scanned=entries, dst_stat=entries, transferred=n, created_dirs=made - n), tc))
        runs.append(Timed(f"delete {n} files", RsyncStats(scanned=1, dst_stat=entries, deleted=made), td))
        create = max(tc - startup - 2 * stat_each * entries, 0.0) / made
        delete = max(td - startup - stat_each * (entries + 1), 0.0) / made
        # 3. Copy a few big files: a read and a write per byte.
        count, size = big
        src = work / "big"
        entries = _make_tree(src, count, size)
        copies = []
        for i in range(repeat):
            dst = work / f"bigcopy{i}"
            copies.append(_time_rsync(binary, ("-a", f"{src}/", f"{dst}/")))
            shutil.rmtree(dst)
        t = pick(copies)
        stats = RsyncStats(scanned=entries, dst_stat=entries, transferred=count, bytes=count * size,
                           created_dirs=entries - 1 - count)
        runs.append(Timed(f"copy {count} x {size >> 20} MiB", stats, t))
        rest = t - startup - 2 * stat_each * entries - create * (entries - 1)
        byte_each = max(rest, 0.0) / (count * size) / 2
    medium = Medium(stat_s=stat_each, create_s=create, byte_s=byte_each, delete_s=delete)
    return Calibration(model=CostModel(src=medium, dst=medium, startup_s=startup), runs=tuple(runs))


def _make_tree(root: Path, files: int, size: int, per_dir: int = 500) -> int:
    """``files`` files of ``size`` random bytes under ``root``, ``per_dir`` to a folder; the entry count."""
    root.mkdir(parents=True)
    blob = os.urandom(size) if size else b""
    dirs = 0
    for i in range(files):
        d = root / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir()
            dirs += 1
        (d / f"f{i:07d}.dat").write_bytes(blob)
    return files + dirs + 1


def _run_rsync(binary: str, args: tuple[str, ...]) -> None:
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL)


def _time_rsync(binary: str, args: tuple[str, ...]) -> float:
    t0 = time.perf_counter()
    _run_rsync(binary, args)
    return time.perf_counter() - t0

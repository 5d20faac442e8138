"""How long an rsync run takes: a linear cost model over what the run did.

A run stats every entry on both sides (that is why a no-op run over a big tree
is slow, and why the sidecar's real period is ``interval + run time``), then
pays per file it writes and per byte it moves. Each side of a run is a
:class:`Medium`: a local disk, or a slow mount such as minikube's 9p share of
a Windows folder (ms per metadata round trip, reference notes §3 and §5).

The local-disk figures come from ``benchmarks/calibrate_rsync.py``, which
times the real binary on this machine and prints the fitted values.
"""

from __future__ import annotations

import attrs

from nassim.rsync.engine import RsyncStats

__all__ = ["LOCAL_DISK", "NINEP_WINDOWS", "CostModel", "Medium"]


def _nonneg(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name!r} must be a number >= 0 (got {value!r})")


@attrs.frozen
class Medium:
    """Per-operation costs, in seconds, of one side of a run."""

    stat_s: float = attrs.field(validator=_nonneg)  # look at one entry (lstat, readdir share)
    create_s: float = attrs.field(validator=_nonneg)  # create a temp file, set attributes, rename it in place
    byte_s: float = attrs.field(validator=_nonneg)  # move one byte (read on the source, write on the destination)
    delete_s: float = attrs.field(default=0.0, validator=_nonneg)  # unlink or rmdir one entry


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

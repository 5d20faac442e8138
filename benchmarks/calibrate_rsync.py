"""Fit the local-disk cost model to the real rsync binary on this machine.

    python benchmarks/calibrate_rsync.py [--quick]

Times ``rsync -a`` (as the sidecar runs it) on generated trees and fits, by
least squares, the parameters of :class:`nassim.costs.CostModel` with both
sides on the local disk:

- no-change runs over n files give ``startup_s`` and the per-entry stat cost
  (split evenly between the two sides: each side stats every entry);
- runs that copy m empty files give the per-file create cost;
- runs that copy a few large files give the per-byte cost.

Prints the fitted values and the fit error (the relative error of the model's
prediction for every timed run, including runs held out of the fit).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nassim.costs import CostModel, Medium
from nassim.rsync.engine import RsyncStats


def make_tree(root: Path, files: int, size: int, per_dir: int = 500) -> None:
    root.mkdir(parents=True)
    blob = os.urandom(size) if size else b""
    for i in range(files):
        d = root / f"d{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir()
        (d / f"f{i:07d}.dat").write_bytes(blob)


def timed_rsync(src: Path, dst: Path, repeat: int) -> float:
    """Best-of-``repeat`` wall time of ``rsync -a src/ dst/``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(["rsync", "-a", f"{src}/", f"{dst}/"], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def timed_copy(src: Path, work: Path, repeat: int) -> float:
    """Best-of-``repeat`` wall time of a full copy into a fresh destination."""
    best = float("inf")
    for i in range(repeat):
        dst = work / f"copy{i}"
        t0 = time.perf_counter()
        subprocess.run(["rsync", "-a", f"{src}/", f"{dst}/"], check=True)
        best = min(best, time.perf_counter() - t0)
        shutil.rmtree(dst)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller trees, for a smoke run")
    a = ap.parse_args()
    if shutil.which("rsync") is None:
        print("calibrate_rsync: the rsync binary is missing; install it with: apt-get install -y rsync")
        return 2
    sizes = [500, 2000, 5000] if a.quick else [2000, 10000, 30000]
    repeat = 2 if a.quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs: list[tuple[str, RsyncStats, float]] = []
        # 1. No-change runs: startup + per-entry stat on both sides.
        noop: list[tuple[int, float]] = []
        for n in sizes:
            src, dst = work / f"s{n}", work / f"d{n}"
            make_tree(src, n, 0)
            subprocess.run(["rsync", "-a", f"{src}/", f"{dst}/"], check=True)
            entries = n + (n + 499) // 500 + 1
            t = timed_rsync(src, dst, repeat)
            noop.append((entries, t))
            runs.append((f"no-op {n} files", RsyncStats(scanned=entries, dst_stat=entries), t))
        slope, intercept = statistics.linear_regression([e for e, _ in noop], [t for _, t in noop])
        startup = max(intercept, 0.0)
        stat_each = max(slope, 0.0) / 2
        # 2. Copy m empty files: per-file create (after the scan cost).
        per_file: list[float] = []
        for n in sizes[:2]:
            src = work / f"s{n}"
            entries = n + (n + 499) // 500 + 1
            dirs = (n + 499) // 500
            t = timed_copy(src, work, repeat)
            runs.append(
                (f"copy {n} empty files", RsyncStats(scanned=entries, dst_stat=entries, transferred=n,
                                                     created_dirs=dirs), t)
            )
            per_file.append(max(t - startup - 2 * stat_each * entries, 0.0) / (n + dirs))
        create = statistics.mean(per_file)
        # 3. Copy a few large files: per-byte.
        big = work / "big"
        count, size = (4, 8 << 20) if a.quick else (8, 32 << 20)
        make_tree(big, count, size)
        t = timed_copy(big, work, repeat)
        entries = count + 2
        runs.append(
            (f"copy {count} x {size >> 20} MiB", RsyncStats(scanned=entries, dst_stat=entries, transferred=count,
                                                            bytes=count * size, created_dirs=1), t)
        )
        rest = t - startup - 2 * stat_each * entries - create * (count + 1)
        byte_each = max(rest, 0.0) / (count * size) / 2  # read on the source, write on the destination

    medium = Medium(stat_s=stat_each, create_s=create, byte_s=byte_each)
    model = CostModel(src=medium, dst=medium, startup_s=startup)
    print("fitted local-disk parameters (seconds):")
    print(f"  startup_s = {startup:.3e}")
    print(f"  stat_s    = {stat_each:.3e}   per entry, per side")
    print(f"  create_s  = {create:.3e}   per file or directory written")
    print(f"  byte_s    = {byte_each:.3e}   per byte, per side ({1 / (2 * byte_each) / 1e6:.0f} MB/s end to end)"
          if byte_each else "  byte_s    = 0")
    print("\nfit error (measured vs predicted):")
    errors = []
    for label, stats, measured in runs:
        predicted = model.seconds(stats)
        err = (predicted - measured) / measured
        errors.append(abs(err))
        print(f"  {label:<24} measured {measured:8.4f} s  predicted {predicted:8.4f} s  error {err:+6.1%}")
    print(f"\nmean absolute relative error: {statistics.mean(errors):.1%}; worst: {max(errors):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

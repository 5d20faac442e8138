"""Fit the local-disk cost model to the real rsync binary on this machine.

    python benchmarks/calibrate_rsync.py [--quick] [--statistic min|median]

Runs :func:`nassim.costs.calibrate` (the fit itself lives there, and the
agreement test and ``nassim compare`` use the same function) on bigger trees
than its quick default: no-op runs over n files give ``startup_s`` and the
per-entry stat cost (split evenly between the two sides), copying and deleting
a tree gives the per-file create and delete costs, copying large files the
per-byte cost. Prints the fitted values and the fit error (the relative error
of the model's prediction for every timed run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nassim.costs import calibrate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the quick default trees, for a smoke run")
    ap.add_argument("--statistic", choices=["min", "median"], default="min",
                    help="best-of (what the machine can do) or median (what a run takes now) [default: min]")
    a = ap.parse_args()
    if shutil.which("rsync") is None:
        print("calibrate_rsync: the rsync binary is missing; install it with: apt-get install -y rsync")
        return 2
    if a.quick:
        fit = calibrate(statistic=a.statistic)
    else:
        fit = calibrate(sizes=(2000, 10000, 30000), big=(8, 32 << 20), repeat=3, statistic=a.statistic)
    m = fit.model
    print("fitted local-disk parameters (seconds):")
    print(f"  startup_s = {m.startup_s:.3e}")
    print(f"  stat_s    = {m.src.stat_s:.3e}   per entry, per side")
    print(f"  create_s  = {m.dst.create_s:.3e}   per file or directory written")
    print(f"  delete_s  = {m.dst.delete_s:.3e}   per entry deleted")
    print(f"  byte_s    = {m.src.byte_s:.3e}   per byte, per side ({1 / (2 * m.src.byte_s) / 1e6:.0f} MB/s end to end)"
          if m.src.byte_s else "  byte_s    = 0")
    print("\nfit error (measured vs predicted):")
    for run in fit.runs:
        predicted = m.seconds(run.stats)
        print(f"  {run.label:<24} measured {run.seconds:8.4f} s  predicted {predicted:8.4f} s  "
              f"error {fit.error(run):+6.1%}")
    errors = [abs(fit.error(r)) for r in fit.runs]
    print(f"\nmean absolute relative error: {statistics.mean(errors):.1%}; worst: {fit.worst_error:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

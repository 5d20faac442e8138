"""The built-in demo: the output sidecar's rsync on a small export, twice, on two kinds of host.

It shows the two facts everything else in nassim builds on: a second run over
an unchanged tree moves nothing on a Linux host, and moves everything again
when the Windows folder cannot keep mtimes (minikube's 9p on a Windows host).
"""

from __future__ import annotations

from collections.abc import Callable

from nassim import rsync
from nassim.tree import Dir, File, FileTree, Volume

__all__ = ["demo_export", "run_demo"]

SIDECAR_ARGS = ("-av", "-i", "/nfs-data/", "/windows-mount/")
T0 = 1_764_000_000 * 10**9  # a fixed wall clock, so the demo prints the same every time


def demo_export() -> FileTree:
    """An output export after a microservice wrote a few results."""
    t = FileTree(T0)
    t["results"] = Dir(T0 + 3 * 10**9)
    t["results/2026-11-26"] = Dir(T0 + 3 * 10**9)
    t["results/2026-11-26/run-001.csv"] = File(18, T0 + 1_250_000_000, b"id,value\n1,0.42\n2,1\n"[:18])
    t["results/2026-11-26/run-002.csv"] = File(4096, T0 + 2_500_000_000, 2)
    t["results/summary.json"] = File(13, T0 + 3 * 10**9, b'{"runs": 2}\n ')
    t["README.txt"] = File(6, T0, b"hello\n")
    return t


def run_demo(echo: Callable[[str], object] = print) -> int:
    """Print the itemized changes of each run; return the number of runs that moved data."""
    export = demo_export()
    moving = 0
    for label, volume in (("Linux host (ext4, ns mtimes)", Volume.linux()),
                          ("Windows host (minikube 9p: times cannot be set)", Volume.windows_9p())):
        echo(f"== sidecar: rsync {' '.join(SIDECAR_ARGS)}  onto a {label}")
        windows: FileTree | None = FileTree(T0 - 60 * 10**9)
        for run_no in (1, 2, 3):
            now = T0 + run_no * 30 * 10**9
            result = rsync.run(export, windows, SIDECAR_ARGS, now_ns=now, dst_volume=volume)
            windows = result.dst
            moved = result.stats.transferred
            moving += moved > 0
            echo(f"-- run {run_no} at t={run_no * 30}s: exit {result.exit_code}, "
                 f"{moved} file(s), {result.stats.bytes} bytes")
            for line in result.itemized:
                echo(f"   {line}")
            if not result.itemized:
                echo("   (nothing to do)")
        echo("")
    return moving

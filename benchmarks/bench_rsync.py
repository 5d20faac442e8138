"""The rsync model against the real binary, side by side in one run.

    python benchmarks/bench_rsync.py [--quick]

For trees of 10k and 100k files (100 files per directory), with no change and
with 1% of the files changed, it times the real ``rsync -a --dry-run`` and the
model's planning of the same run (``nassim.rsync.run(src, dst, ["-a", "-n"])``)
and prints the ratio. Then it builds a 1M-entry tree in the model and prints
the bytes per entry (tracemalloc) and the time of the incremental path
(``nassim.rsync.run(..., changed=...)``) for 1,000 changed files.

Targets on the 2-core reference machine: model >= 30x faster than the real
dry run at 100k entries; incremental path < 10 ms for 1,000 changes in 1M
entries; <= 200 bytes per file entry at 1M entries.
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nassim import rsync
from nassim.tree import Dir, File, FileTree

T0 = 1_600_000_000 * 10**9
PER_DIR = 100


def build_tree(n: int, rng: random.Random) -> FileTree:
    """n files, PER_DIR per directory, distinct sizes, mtimes and contents."""
    t = FileTree(T0)
    for i in range(n):
        d = f"d{i // PER_DIR:05d}"
        if i % PER_DIR == 0:
            t[d] = Dir(T0)
        t[f"{d}/f{i:07d}.dat"] = File(rng.randrange(1, 1 << 16), T0 + rng.randrange(10**15), rng.getrandbits(60))
    return t


def change(t: FileTree, fraction: float, rng: random.Random) -> list[str]:
    """Rewrite ``fraction`` of the files (new size, mtime and content); return their paths."""
    files = [p for p, e in t.items() if isinstance(e, File)]
    picked = rng.sample(files, max(1, int(len(files) * fraction)))
    for p in picked:
        old = t[p]
        assert isinstance(old, File)
        t[p] = File(old.size + 1, old.mtime_ns + 10**10, rng.getrandbits(60))
    return picked


def best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def best_of_cpu(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def real_dry_run(src: Path, dst: Path) -> None:
    subprocess.run(["rsync", "-a", "--dry-run", f"{src}/", f"{dst}/"], check=True, stdout=subprocess.DEVNULL)


def side_by_side(n: int, repeat: int, work: Path) -> None:
    rng = random.Random(n)
    src = build_tree(n, rng)
    dst = rsync.run(src, None, ["-a"], now_ns=T0).dst
    assert dst is not None
    on_disk_src, on_disk_dst = work / f"src{n}", work / f"dst{n}"
    src.to_path(on_disk_src)
    dst.to_path(on_disk_dst)
    for label, fraction in (("no change", 0.0), ("1% changed", 0.01)):
        if fraction:
            changed_src = src.copy()
            change(changed_src, fraction, rng)
            shutil.rmtree(on_disk_src)
            changed_src.to_path(on_disk_src)
            model_src = changed_src
        else:
            model_src = src
        real = best_of(lambda: real_dry_run(on_disk_src, on_disk_dst), repeat)
        model = best_of(lambda s=model_src: rsync.run(s, dst, ["-a", "-n"], now_ns=T0), repeat)
        print(f"  {n:>7} files, {label:<11} real rsync -an {real * 1e3:9.1f} ms   model {model * 1e3:8.2f} ms"
              f"   model is {real / model:6.1f}x faster")
        # The same trees read back from disk share no entry objects: the model compares
        # every entry (no identity shortcut), as it would for trees built independently.
        disk_src, disk_dst = FileTree.from_path(on_disk_src), FileTree.from_path(on_disk_dst)
        cold = best_of(lambda s=disk_src, d=disk_dst: rsync.run(s, d, ["-a", "-n"], now_ns=T0), repeat)
        print(f"  {'':>7}        {'(no shared entries)':<23}{'':>16}model {cold * 1e3:8.2f} ms"
              f"   model is {real / cold:6.1f}x faster")


def million(entries: int) -> None:
    rng = random.Random(1)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tree = build_tree(entries, rng)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    files = entries
    print(f"  {len(tree):,} entries: {(after - before) / files:.0f} bytes per file entry (tracemalloc)")
    dst = rsync.run(tree, None, ["-a"], now_ns=T0).dst
    assert dst is not None
    full = best_of(lambda: rsync.run(tree, dst, ["-a", "-n"], now_ns=T0), 1)
    print(f"  full dry-run planning over {len(tree):,} entries: {full * 1e3:.0f} ms")
    src = tree
    paths = change(src, 1000 / entries, rng)
    t = best_of(lambda: rsync.run(src, dst, ["-a", "-n"], now_ns=T0, changed=paths), 3)
    print(f"  incremental planning of {len(paths):,} changed paths in {len(tree):,} entries: {t * 1e3:.2f} ms")
    # The same, in this thread's CPU time: what the code costs when other processes share the machine.
    cpu = best_of_cpu(lambda: rsync.run(src, dst, ["-a", "-n"], now_ns=T0, changed=paths), 3)
    print(f"  {'':>25}(the same in thread CPU time: {cpu * 1e3:.2f} ms)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1k/10k files and 100k entries, for a smoke run")
    a = ap.parse_args()
    if shutil.which("rsync") is None:
        print("bench_rsync: the rsync binary is missing; install it with: apt-get install -y rsync")
        return 2
    sizes = (1_000, 10_000) if a.quick else (10_000, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        print("model planning vs real rsync -a --dry-run (best of 3):")
        for n in sizes:
            side_by_side(n, 3, Path(tmp))
    print("large trees in the model:")
    million(100_000 if a.quick else 1_000_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

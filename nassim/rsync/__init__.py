"""A model of what ``rsync`` does to a destination tree, judged against the real binary.

The entry point is :func:`run`::

    result = nassim.rsync.run(src_tree, dst_tree, ["-ai", "--delete"], now_ns=...)
    result.exit_code, result.itemized, result.dst

Facts the model follows are in ``shared/reference/rsync-semantics.md``
(rsync 3.5.0); the differential tests in ``tests/test_rsync_differential.py``
hold it to the real binary.
"""

from nassim.rsync.engine import Interrupt, RsyncResult, RsyncStats, run
from nassim.rsync.options import RsyncOptions, parse_args

__all__ = ["Interrupt", "RsyncOptions", "RsyncResult", "RsyncStats", "parse_args", "run"]

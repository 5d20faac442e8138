"""The rsync model against the real binary, on random tree pairs and option lists.

Each example runs three stages (dry run, real run, second real run) in a
temporary directory and compares the model's itemized lines, messages,
errors, exit code and resulting tree with rsync's (rules in
``tests/rsync_real.py``). A failure prints the case as JSON trees plus args,
with both outputs side by side.
"""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from rsync_real import RSYNC, check_stages, format_case
from strategies_rsync import option_lists, tree_pairs

from nassim.tree import Dir, FileTree, Symlink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("rsync") is None, reason="needs the real rsync binary"),
]

# The derandomized CI profile runs this test 500 times (about a minute on 2 cores);
# other profiles keep their own count.
MAX_EXAMPLES = 500 if settings().derandomize else settings().max_examples


def symlink_blocks_dir(src: FileTree, dst: FileTree | None, args: list[str]) -> bool:
    """--ignore-existing keeps a dst symlink where src has a dir, and rsync then follows it.

    A known gap of the model (see test_ignore_existing_symlink_in_place_of_dir_is_followed
    in test_rsync_examples.py): the kernel resolves paths below the symlink, so rsync
    writes into wherever it points. Such cases are left out here and pinned there.
    """
    if dst is None or "--ignore-existing" not in args:
        return False
    return any(isinstance(e, Dir) and isinstance(dst.get(p), Symlink) for p, e in src.items())


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(pair=tree_pairs(), args=option_lists())
def test_model_agrees_with_real_rsync(pair: tuple[FileTree, FileTree | None], args: list[str]) -> None:
    """Dry run, real run and second run print, exit and leave the tree exactly as rsync does."""
    src, dst = pair
    assume(not symlink_blocks_dir(src, dst, args))
    stages = check_stages(src, dst, args)
    for s in stages:
        note(format_case(src, s.dst_in, s.args, s.model, s.real, title=s.name))
    bad = [s for s in stages if s.problems]
    if bad:
        raise AssertionError(
            f"model and real rsync ({RSYNC}) disagree in the {bad[0].name}:\n" + "\n".join(bad[0].problems)
        )

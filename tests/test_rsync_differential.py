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
from hypothesis import HealthCheck, given, note, settings

from nassim.tree import FileTree
from rsync_real import RSYNC, check_stages, format_case
from strategies_rsync import option_lists, tree_pairs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("rsync") is None, reason="needs the real rsync binary"),
]

# The derandomized CI profile runs this test 300 times (about a minute on 2 cores);
# other profiles keep their own count.
MAX_EXAMPLES = 300 if settings.default.derandomize else settings.default.max_examples


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(pair=tree_pairs(), args=option_lists())
def test_model_agrees_with_real_rsync(pair: tuple[FileTree, FileTree | None], args: list[str]) -> None:
    """Dry run, real run and second run print, exit and leave the tree exactly as rsync does."""
    src, dst = pair
    stages = check_stages(src, dst, args)
    for s in stages:
        note(format_case(src, s.dst_in, s.args, s.model, s.real, title=s.name))
    bad = [s for s in stages if s.problems]
    if bad:
        raise AssertionError(
            f"model and real rsync ({RSYNC}) disagree in the {bad[0].name}:\n" + "\n".join(bad[0].problems)
        )

"""The cost model: seconds per run from what the run did."""

import pytest

from nassim import LOCAL_DISK, NINEP_WINDOWS, CostModel, File, FileTree, Medium, rsync


def _tree(n: int) -> FileTree:
    t = FileTree(10**18)
    for i in range(n):
        t[f"f{i}"] = File(100, 10**18, i)
    return t


def test_noop_run_cost_grows_with_tree_size():
    """A run that moves nothing still pays a stat per entry on both sides."""
    model = CostModel(src=LOCAL_DISK, dst=NINEP_WINDOWS)
    small, big = _tree(10), _tree(1000)
    t_small = model.seconds(rsync.run(small, small.copy(), ["-a"], now_ns=0).stats)
    t_big = model.seconds(rsync.run(big, big.copy(), ["-a"], now_ns=0).stats)
    assert t_big > t_small
    assert t_big == pytest.approx(model.scan_seconds(1001), rel=1e-9)


def test_slow_mount_costs_more_than_local_disk():
    """The same run onto a 9p mount takes longer than onto a local disk."""
    stats = rsync.run(_tree(100), None, ["-a"], now_ns=0).stats
    assert CostModel(dst=NINEP_WINDOWS).seconds(stats) > CostModel(dst=LOCAL_DISK).seconds(stats)


@pytest.mark.parametrize(("value", "shown"), [(-1, "-1"), (float("nan"), "nan")])
def test_negative_parameter_is_refused(value: float, shown: str) -> None:
    """Costs are durations: a negative one (or NaN) is an error naming the field."""
    with pytest.raises(ValueError, match=rf"'stat_s' must be a number >= 0 \(got {shown}\)"):
        Medium(stat_s=value, create_s=0, byte_s=0)

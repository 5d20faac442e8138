"""The public API: what `import nassim` offers."""

import nassim


def test_all_is_sorted_and_pinned():
    """`nassim.__all__` lists exactly the public names, sorted; a change here is an API change."""
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert nassim.__all__ == sorted(nassim.__all__, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    assert set(nassim.__all__) == {
        "ArgumentError",
        "Backend",
        "BackendError",
        "Comparison",
        "ContentError",
        "CostModel",
        "Digest",
        "Dir",
        "Entry",
        "File",
        "FileTree",
        "Finding",
        "Interrupt",
        "LOCAL_DISK",
        "LocalBackend",
        "LocalModel",
        "Medium",
        "NINEP_WINDOWS",
        "NassimError",
        "OwnerSupport",
        "PARAMETERS",
        "Report",
        "Role",
        "RsyncOptionError",
        "RsyncOptions",
        "RsyncResult",
        "RsyncStats",
        "Scenario",
        "ScenarioError",
        "Server",
        "SimBackend",
        "SweepError",
        "Symlink",
        "SyncCosts",
        "Threshold",
        "Topology",
        "TopologyError",
        "Trace",
        "TreeError",
        "Verdict",
        "Volume",
        "build_report",
        "check_convergence",
        "check_invariants",
        "check_latency_bound",
        "check_loop_freedom",
        "check_no_loss",
        "compare",
        "content_bytes",
        "content_sha1",
        "dump_scenario",
        "find_findings",
        "get_backend",
        "latency_summary",
        "load_manifests",
        "load_scenario",
        "load_values",
        "parse_args",
        "reference_topology",
        "rsync",
        "run_summary",
        "same_content",
        "scenario_from_dict",
        "simulate",
        "static_checks",
        "sweep",
        "synthetic_bytes",
        "tree_size_threshold",
        "write_latencies",
    }


def test_every_public_name_resolves():
    """Each name in `__all__` is an attribute of the package."""
    for name in nassim.__all__:
        assert getattr(nassim, name) is not None


def test_errors_subclass_their_builtin():
    """Users can catch nassim's errors as NassimError or as the builtin they refine."""
    for cls in (nassim.TreeError, nassim.RsyncOptionError, nassim.ContentError, nassim.ScenarioError,
                nassim.TopologyError, nassim.SweepError, nassim.ArgumentError, nassim.BackendError):
        assert issubclass(cls, nassim.NassimError)
        assert issubclass(cls, ValueError)

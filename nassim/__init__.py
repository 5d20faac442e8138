"""nassim: the Kubernetes multi-NAS test bed (NFS pods syncing with Windows folders by rsync), simulated.

Layers, lowest first:

1. core semantics: file trees (:mod:`nassim.tree`), rsync (:mod:`nassim.rsync`),
   the topology (:mod:`nassim.topology`), scenarios (:mod:`nassim.scenario`),
   costs (:mod:`nassim.costs`);
2. the fake cluster on simpy (:mod:`nassim.cluster`);
3. observation: the trace (:mod:`nassim.trace`), metrics (:mod:`nassim.metrics`),
   the report (:mod:`nassim.report`);
4. front ends: the ``nassim`` command (:mod:`nassim.cli`).
"""

from nassim import rsync
from nassim.backends import Backend, LocalBackend, SimBackend, get_backend
from nassim.checks import (
    Verdict,
    check_convergence,
    check_invariants,
    check_latency_bound,
    check_loop_freedom,
    check_no_loss,
)
from nassim.cluster import simulate
from nassim.compare import Comparison, LocalModel, compare
from nassim.costs import LOCAL_DISK, NINEP_WINDOWS, CostModel, Medium, SyncCosts
from nassim.errors import (
    ArgumentError,
    BackendError,
    ContentError,
    NassimError,
    RsyncOptionError,
    ScenarioError,
    SweepError,
    TopologyError,
    TreeError,
)
from nassim.finding import Finding
from nassim.findings import find_findings
from nassim.metrics import latency_summary, run_summary, write_latencies
from nassim.report import Report, build_report
from nassim.rsync import Interrupt, RsyncOptions, RsyncResult, RsyncStats, parse_args
from nassim.scenario import Scenario, dump_scenario, load_scenario, scenario_from_dict
from nassim.search import Threshold, tree_size_threshold
from nassim.sweep import PARAMETERS, sweep
from nassim.topology import (
    Role,
    Server,
    Topology,
    load_manifests,
    load_values,
    reference_topology,
    static_checks,
)
from nassim.trace import Trace
from nassim.tree import (
    Digest,
    Dir,
    Entry,
    File,
    FileTree,
    OwnerSupport,
    Symlink,
    Volume,
    content_bytes,
    content_sha1,
    same_content,
    synthetic_bytes,
)

__all__ = [
    "LOCAL_DISK",
    "NINEP_WINDOWS",
    "PARAMETERS",
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
    "LocalBackend",
    "LocalModel",
    "Medium",
    "NassimError",
    "OwnerSupport",
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
]

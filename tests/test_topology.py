"""The topology model: quantities, the request rule, the static checks, and both loaders."""

from __future__ import annotations

import copy
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import kubernetes_validate
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from nassim.errors import NassimError, RsyncOptionError, TopologyError
from nassim.topology import (
    AppContainer,
    ContainerOrder,
    ExportKind,
    Finding,
    InitContainer,
    MinikubeVM,
    Resources,
    Role,
    Server,
    Sidecar,
    Topology,
    check_capacity,
    check_delete_flags,
    check_sidecar_read_only,
    check_sidecar_roles,
    effective_requests,
    format_cpu,
    format_memory,
    load_manifests,
    load_values,
    parse_cpu,
    parse_memory,
    parse_quantity,
    reference_topology,
    static_checks,
)

ROOT = Path(__file__).resolve().parent.parent
VALUES = ROOT / "sim" / "values-multi-nas.yaml"
MANIFESTS = ROOT / "sim" / "manifests" / "multi-nas.yaml"
Mi = 1024**2
Gi = 1024**3

# Native sidecars are beta and on by default from 1.29; 1.30 is the oldest schema set with them on.
K8S_VERSION = "1.30.0"


def write(tmp_path: Path, text: str, name: str = "values.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def shipped_docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(MANIFESTS.read_text()) if d]


def workload(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name)


def pod_spec(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = workload(docs, name)["spec"]["template"]["spec"]
    return spec


def sidecar_of(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(docs, name)["initContainers"] if c.get("restartPolicy") == "Always")


def dump(tmp_path: Path, docs: list[dict[str, Any]]) -> Path:
    return write(tmp_path, yaml.safe_dump_all(docs, sort_keys=False), "manifests.yaml")


def error_text(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TopologyError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------
# Quantities


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("100m", 100),
        ("0.5", 500),
        (0.5, 500),
        (2, 2000),
        ("1", 1000),
        ("0.0001", 1),
        ("1e-3", 1),
        ("250m", 250),
    ],
)
def test_parse_cpu_gives_millicores_rounded_up(text: str | float, millis: int) -> None:
    """CPU quantities become millicores; a fraction of a millicore rounds up, as Kubernetes does."""
    assert parse_cpu(text) == millis


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("32Mi", 32 * Mi),
        ("1Gi", Gi),
        ("1.5Gi", 3 * Gi // 2),
        ("500M", 500_000_000),
        ("128974848", 128974848),
        ("129e6", 129_000_000),
        ("1k", 1000),
        ("64Ki", 65536),
        ("100m", 1),
        (1024, 1024),
    ],
)
def test_parse_memory_gives_bytes(text: str | int, n: int) -> None:
    """Memory quantities become bytes: binary (Mi) and decimal (M) suffixes, exponents, bare numbers."""
    assert parse_memory(text) == n


def test_parse_quantity_is_exact() -> None:
    """Quantities are exact fractions: 100m is one tenth, not 0.1000000000000000055."""
    assert parse_quantity("100m") == Fraction(1, 10)
    assert parse_quantity("-2Ki") == -2048
    assert parse_quantity("1E") == 10**18  # E alone is exa, E3 an exponent
    assert parse_quantity("1E3") == 1000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "32MB",
            "'32MB' is not a Kubernetes quantity (e.g. 32Mi, 100m, 0.5, 1Gi, 500M); "
            "Kubernetes spells binary units Ki, Mi, Gi and decimal ones k, M, G (e.g. '32M')",
        ),
        (
            "32MiB",
            "'32MiB' is not a Kubernetes quantity (e.g. 32Mi, 100m, 0.5, 1Gi, 500M); "
            "Kubernetes spells binary units without the B (e.g. '32Mi')",
        ),
        (
            "64K",
            "'64K' is not a Kubernetes quantity (e.g. 32Mi, 100m, 0.5, 1Gi, 500M); "
            "Kubernetes spells kilo 'k' (decimal) or 'Ki' (binary), e.g. '64Ki'",
        ),
        ("lots", "'lots' is not a Kubernetes quantity (e.g. 32Mi, 100m, 0.5, 1Gi, 500M)"),
        ("", "'' is not a Kubernetes quantity (e.g. 32Mi, 100m, 0.5, 1Gi, 500M)"),
        (True, "a quantity must be a string or a number (e.g. 32Mi, 100m, 0.5, 1Gi, 500M), got True"),
    ],
)
def test_malformed_quantity_is_rejected_with_a_hint(value: Any, message: str) -> None:
    """A malformed quantity names itself and, for the usual slips (MB, MiB, K), the right spelling."""
    assert error_text(parse_quantity, value) == message


def test_negative_requests_are_rejected() -> None:
    """Requests cannot be negative."""
    assert error_text(parse_cpu, "-100m") == "a CPU request must not be negative (got '-100m')"
    assert error_text(parse_memory, "-1Mi") == "a memory request must not be negative (got '-1Mi')"


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([("", 1), ("k", 10**3), ("M", 10**6), ("G", 10**9), ("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30)]),
)
def test_memory_suffixes_scale_integers(n: int, suffix: tuple[str, int]) -> None:
    """An integer with a suffix is that integer times the suffix's factor."""
    assert parse_memory(f"{n}{suffix[0]}") == n * suffix[1]


@given(st.integers(min_value=0, max_value=2**50))
def test_format_memory_round_trips(n: int) -> None:
    """format_memory spells a byte count so that parse_memory reads the same count back."""
    assert parse_memory(format_memory(n)) == n


@given(st.integers(min_value=0, max_value=10**7))
def test_format_cpu_round_trips(millis: int) -> None:
    """format_cpu spells millicores so that parse_cpu reads the same millicores back."""
    assert parse_cpu(format_cpu(millis)) == millis


# ---------------------------------------------------------------------------
# The Kubernetes request rule


def test_effective_requests_follow_the_native_sidecar_rule() -> None:
    """max(max_i(init_i + sidecars before i), sidecars + apps), per resource, on a hand-made pod."""
    inits = [
        (Resources(50, 32 * Mi), True),  # sidecar A
        (Resources(500, 128 * Mi), False),  # init B: 50 + 500 = 550m, 32 + 128 = 160Mi
        (Resources(100, 64 * Mi), True),  # sidecar C
        (Resources(300, 512 * Mi), False),  # init D: 150 + 300 = 450m, 96 + 512 = 608Mi
    ]
    apps = [Resources(200, 100 * Mi), Resources(100, 50 * Mi)]  # with sidecars: 450m, 246Mi
    assert effective_requests(inits, apps) == Resources(550, 608 * Mi)


def test_sidecars_count_on_top_of_app_containers() -> None:
    """A sidecar runs beside the app containers, so their requests add up."""
    inits = [(Resources(100, 64 * Mi), False), (Resources(50, 32 * Mi), True)]
    assert effective_requests(inits, [Resources(100, 64 * Mi)]) == Resources(150, 96 * Mi)


def test_pod_without_init_containers_requests_its_app_containers() -> None:
    """With no init containers the rule is the plain sum of the app containers."""
    assert effective_requests([], [Resources(100, Mi), Resources(20, Mi)]) == Resources(120, 2 * Mi)


def test_container_order_changes_the_effective_requests() -> None:
    """A sidecar declared before a big init container runs beside it, so the pod needs both."""
    big = InitContainer(("-av", "/windows-mount/", "/nfs-data/"), resources=Resources(100, Gi))
    server = attrs.evolve(reference_topology().server("nas-output-1"), init=big)
    assert server.requests == Resources(150, Gi)
    sidecar_first = attrs.evolve(server, order=ContainerOrder.SIDECAR_FIRST)
    assert sidecar_first.requests == Resources(150, Gi + 32 * Mi)
    assert [c.name for c in sidecar_first.init_containers] == ["sync-to-windows", "sync-windows-data"]


def test_reference_test_bed_requests_544Mi() -> None:
    """Seven NFS servers at 64Mi and three sidecars at 32Mi: 544Mi, as the team measured; 850m CPU."""
    topo = reference_topology()
    assert topo.requests == Resources(850, 544 * Mi)
    assert str(topo.requests) == "cpu 850m, memory 544Mi"
    assert topo.server("nas-output-2").requests == Resources(150, 96 * Mi)
    assert topo.server("nas-input-1").requests == Resources(100, 64 * Mi)


# ---------------------------------------------------------------------------
# Static checks


def test_reference_test_bed_passes_every_static_check() -> None:
    """The reference configuration has no finding on a default Minikube VM."""
    assert static_checks(reference_topology()) == []


def test_sidecar_is_expected_on_output_servers_only() -> None:
    """A sidecar on an input server and a missing one on an output server are both findings."""
    topo = reference_topology()
    sidecar = topo.server("nas-output-1").sidecar
    servers = [
        attrs.evolve(s, sidecar=sidecar) if s.name == "nas-input-2" else s for s in topo if s.name != "nas-output-1"
    ]
    servers.append(attrs.evolve(topo.server("nas-output-1"), sidecar=None))
    assert check_sidecar_roles(Topology(servers)) == [
        Finding(
            "sidecar-unexpected",
            "nas-input-2",
            "input server runs sidecar 'sync-to-windows': only output servers sync their export back to Windows",
        ),
        Finding(
            "sidecar-missing",
            "nas-output-1",
            "output server has no sync-to-windows sidecar: results written to its export "
            "reach Windows only if something else copies them",
        ),
    ]


def test_delete_is_expected_on_input_init_containers_only() -> None:
    """--delete on an output init or a sidecar, or none on an input init, are findings."""
    topo = reference_topology()
    deleting = InitContainer(("-av", "--delete", "/windows-mount/", "/nfs-data/"))
    keeping = InitContainer(("-av", "/windows-mount/", "/nfs-data/"))
    deleting_sidecar = Sidecar(rsync_args=("-a", "--delete-after", "/nfs-data/", "/windows-mount/"))
    changed = Topology(
        [
            attrs.evolve(topo.server("nas-input-1"), init=keeping),
            attrs.evolve(topo.server("nas-output-1"), init=deleting, sidecar=deleting_sidecar),
            topo.server("nas-backup"),
        ]
    )
    assert [(f.name, f.server) for f in check_delete_flags(changed)] == [
        ("delete-missing", "nas-input-1"),
        ("delete-outside-input", "nas-output-1"),
        ("delete-outside-input", "nas-output-1"),
    ]
    assert [f.explanation for f in check_delete_flags(changed)][1:] == [
        "output server's init container 'sync-windows-data' runs with --delete: files written to the "
        "export and not yet on Windows are deleted at every pod start",
        "sidecar 'sync-to-windows' runs with --delete: every Windows file missing from the export "
        "(e.g. after a pod restart empties it) is deleted from Windows",
    ]


def test_sidecar_must_mount_the_export_read_only() -> None:
    """A sidecar that can write into the export is a finding."""
    topo = reference_topology()
    server = topo.server("nas-output-3")
    assert server.sidecar is not None
    writable = attrs.evolve(server, sidecar=attrs.evolve(server.sidecar, export_read_only=False))
    assert check_sidecar_read_only(Topology([writable])) == [
        Finding(
            "sidecar-export-writable",
            "nas-output-3",
            "sidecar 'sync-to-windows' mounts the export read-write: a misdirected rsync could write "
            "Windows content back into it (set readOnly: true on its /nfs-data mount)",
        )
    ]


def test_capacity_counts_the_control_plane_and_other_pods() -> None:
    """1850m of requests do not fit the 1250m a 2-CPU VM has left after the control plane."""
    vm = MinikubeVM()
    assert vm.allocatable == Resources(2000, 2972 * Mi)
    assert vm.available == Resources(1250, 2802 * Mi)
    findings = check_capacity(reference_topology(), vm, other=Resources(1000, 0))
    assert [str(f) for f in findings] == [
        "the pods request 1850m cpu but the Minikube VM has 1250m left "
        "(allocatable 2 minus the control plane's 750m): some pods will stay Pending [insufficient-cpu]"
    ]


def test_capacity_flags_a_small_vm_memory() -> None:
    """544Mi of requests do not fit a 512Mi VM (412Mi allocatable, 242Mi after the control plane)."""
    findings = check_capacity(reference_topology(), MinikubeVM(memory_bytes=512 * Mi))
    assert [(f.name, f.server, f.explanation) for f in findings] == [
        (
            "insufficient-memory",
            None,
            "the pods request 544Mi memory but the Minikube VM has 242Mi left "
            "(allocatable 412Mi minus the control plane's 170Mi): some pods will stay Pending",
        )
    ]


# ---------------------------------------------------------------------------
# The model's own validation


def test_topology_error_is_a_nassim_error_and_a_value_error() -> None:
    """Users can catch TopologyError as NassimError or as ValueError."""
    assert issubclass(TopologyError, NassimError)
    assert issubclass(TopologyError, ValueError)


def test_rsync_args_must_be_a_list_not_a_string() -> None:
    """A single command-line string is refused with the shlex.split fix."""
    assert error_text(InitContainer, "-av /windows-mount/ /nfs-data/") == (
        "'rsync_args' must be a sequence of strings, not one string (got '-av /windows-mount/ /nfs-data/'); "
        "split it first, e.g. shlex.split('-av /windows-mount/ /nfs-data/')"
    )


def test_unknown_rsync_option_is_refused_at_construction() -> None:
    """The rsync model's parser judges the argument list when a container is built."""
    with pytest.raises(RsyncOptionError, match="--backup"):
        InitContainer(("-av", "--backup", "/windows-mount/", "/nfs-data/"))


def test_sidecar_interval_must_be_positive() -> None:
    """A zero interval would make the loop spin."""
    assert error_text(Sidecar, interval=0) == "'interval' must be > 0 seconds (got 0.0)"


def test_server_names_must_be_dns_labels() -> None:
    """Server names end up in DNS names and paths."""
    init = InitContainer(("-av", "/windows-mount/", "/nfs-data/"))
    assert error_text(Server, "NAS_1", Role.INPUT, init) == (
        "'name' must be a lowercase RFC 1123 label such as 'nas-output-1' (got 'NAS_1')"
    )


def test_server_defaults_follow_the_minikube_mount() -> None:
    """A server's Windows folder and hostPath default to C:\\simulator-data\\<name>\\ and its mount."""
    s = Server("nas-x", "backup", InitContainer(("-av", "/windows-mount/", "/nfs-data/")))
    assert s.windows_folder == "C:\\simulator-data\\nas-x\\"
    assert s.host_path == "/mnt/simulator-data/nas-x"
    assert s.role is Role.BACKUP
    assert s.nfs == AppContainer()


def test_topology_refuses_duplicate_server_names() -> None:
    """Two servers with one name would share one Windows folder."""
    s = reference_topology().server("nas-backup")
    assert error_text(Topology, [s, s]) == "'servers[1]': server name 'nas-backup' appears twice"


def test_topology_lookup_names_the_known_servers() -> None:
    """Asking for an unknown server lists the ones there are."""
    topo = reference_topology()
    with pytest.raises(KeyError, match="no server 'nas-output-9' in the topology"):
        topo.server("nas-output-9")
    assert [s.name for s in topo.with_role("output")] == ["nas-output-1", "nas-output-2", "nas-output-3"]
    assert len(topo) == 7


# ---------------------------------------------------------------------------
# The shipped reference files


def test_values_and_manifests_describe_the_reference_test_bed() -> None:
    """The Helm values, the rendered manifests and reference_topology() are one topology."""
    from_values = load_values(VALUES)
    from_manifests = load_manifests(MANIFESTS)
    assert from_values == from_manifests == reference_topology()
    output = from_manifests.server("nas-output-1")
    assert output.sidecar == Sidecar(
        rsync_args=("-av", "/nfs-data/", "/windows-mount/"),
        interval=30,
        export_read_only=True,
        resources=Resources(50, 32 * Mi),
    )
    assert from_manifests.server("nas-input-3").init.rsync_args == (
        "-av",
        "--delete",
        "/windows-mount/",
        "/nfs-data/",
    )
    assert from_manifests.server("nas-backup").windows_folder == "C:\\simulator-data\\nas-backup\\"


def test_shipped_manifests_pass_the_kubernetes_schemas() -> None:
    """Every object in the shipped manifests validates, strictly, against the Kubernetes 1.30 schemas."""
    docs = shipped_docs()
    assert [d["kind"] for d in docs].count("Deployment") == 7
    for doc in docs:
        assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True) == "1.30"


def test_schema_check_knows_native_sidecars() -> None:
    """The schema check is not vacuous: before 1.28 an init container has no restartPolicy field."""
    with pytest.raises(kubernetes_validate.ValidationError, match="'restartPolicy' was unexpected"):
        kubernetes_validate.validate(workload(shipped_docs(), "nas-output-1"), "1.27.0", strict=True)


def test_shipped_sidecar_prints_the_real_banner() -> None:
    """The sidecar's script prints the banner and per-run line the team saw in its logs."""
    script = sidecar_of(shipped_docs(), "nas-output-2")["command"][2]
    assert 'echo "=== NAS nas-output-2 Sync Sidecar Starting ==="' in script
    assert 'echo "Sync interval: ${SYNC_INTERVAL}s"' in script
    assert 'echo "Direction: NFS export -> Windows mount"' in script
    assert 'echo "[$(date +%H:%M:%S)] Synced to Windows in ${ELAPSED}s"' in script


# ---------------------------------------------------------------------------
# load_values


def test_values_take_the_chart_defaults_for_missing_blocks(tmp_path: Path) -> None:
    """A values file that only lists the servers gets the reference configuration."""
    names = [("nas-input-1", "input"), ("nas-input-2", "input"), ("nas-input-3", "input")]
    names += [("nas-output-1", "output"), ("nas-output-2", "output"), ("nas-output-3", "output")]
    names += [("nas-backup", "backup")]
    text = "servers:\n" + "".join(f"  - {{name: {n}, role: {r}}}\n" for n, r in names)
    topo = load_values(write(tmp_path, text))
    bare = reference_topology()
    # Requests come from the chart's resources blocks; without them, nothing is requested.
    assert topo.requests == Resources()
    assert topo == Topology(
        [
            attrs.evolve(
                s,
                init=attrs.evolve(s.init, resources=Resources()),
                nfs=AppContainer(),
                sidecar=s.sidecar and attrs.evolve(s.sidecar, resources=Resources()),
            )
            for s in bare
        ]
    )


def test_values_accept_servers_as_a_map(tmp_path: Path) -> None:
    """``servers:`` may map names to settings, with per-server overrides."""
    text = """
sidecar:
  interval: 20
servers:
  nas-output-1:
    role: output
    exportVolume: persistent
    sidecar: {interval: 5}
  nas-input-1:
    role: input
    windowsFolder: 'D:\\shares\\in\\'
  nas-backup:
    role: backup
    sidecar: {enabled: true}
"""
    topo = load_values(write(tmp_path, text))
    assert topo.names == ("nas-output-1", "nas-input-1", "nas-backup")
    out = topo.server("nas-output-1")
    assert out.export is ExportKind.PERSISTENT
    assert out.sidecar is not None and out.sidecar.interval == 5
    assert topo.server("nas-input-1").windows_folder == "D:\\shares\\in\\"
    backup_sidecar = topo.server("nas-backup").sidecar
    assert backup_sidecar is not None and backup_sidecar.interval == 20
    assert [f.name for f in check_sidecar_roles(topo)] == ["sidecar-unexpected"]


def test_values_sidecar_can_be_disabled_and_reordered(tmp_path: Path) -> None:
    """``sidecar.enabled: false`` removes every sidecar; ``order`` says where it is declared."""
    off = load_values(write(tmp_path, "sidecar: {enabled: false}\nservers: [{name: a, role: output}]\n"))
    assert off.server("a").sidecar is None
    first = load_values(write(tmp_path, "sidecar: {order: sidecar-first}\nservers: [{name: a, role: output}]\n"))
    assert first.server("a").order is ContainerOrder.SIDECAR_FIRST


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "servers:\n  - {name: a, role: input}\n  - {name: b, role: output}\n  - {name: c, role: ouptut}\n",
            "servers[2].role: expected one of input, output, backup (got 'ouptut')",
        ),
        (
            "sidecar:\n  intervall: 30\nservers: []\n",
            "sidecar.intervall: unknown field (known: enabled, name, roles, interval, args, "
            "readOnlyExport, order, resources)",
        ),
        (
            "sidecar:\n  interval: 30s\nservers: [{name: a, role: output}]\n",
            "sidecar.interval: expected a positive number of seconds, got a string '30s'",
        ),
        (
            "sidecar:\n  resources: {requests: {memory: 32MB}}\nservers: [{name: a, role: output}]\n",
            "sidecar.resources.requests.memory: '32MB' is not a Kubernetes quantity "
            "(e.g. 32Mi, 100m, 0.5, 1Gi, 500M); Kubernetes spells binary units Ki, Mi, Gi "
            "and decimal ones k, M, G (e.g. '32M')",
        ),
        (
            "initSync:\n  args: {output: [-av, --backup, /windows-mount/, /nfs-data/]}\n"
            "servers: [{name: a, role: output}]\n",
            "initSync.args.output: rsync option '--backup' is not supported by the nassim rsync model",
        ),
        (
            "servers:\n  - {name: a, role: input}\n  - {name: a, role: output}\n",
            "servers[1].name: server 'a' is already defined at servers[0]",
        ),
        ("servers:\n  - {role: input}\n", "servers[0]: missing field 'name'"),
        ("servers:\n  - {name: a}\n", "servers[0]: missing field 'role' (one of input, output, backup)"),
        (
            "servers:\n  - {name: Nas_1, role: input}\n",
            "servers[0].name: 'Nas_1' is not a lowercase RFC 1123 label such as 'nas-output-1'",
        ),
        (
            "sidecar: {enabled: true}\n",
            "servers: missing; list the NAS servers, e.g. servers: [{name: nas-output-1, role: output}]",
        ),
        ("servers: []\n", "servers: empty; the test bed needs at least one server"),
        ("servers: nas-input-1\n", "servers: expected a list, got a string"),
        ("- servers\n", "(top level): expected a mapping, got a list"),
        ("", "the file is empty; expected a mapping with at least a 'servers' list"),
        (
            "servers: [{name: a, role: input, exportVolume: pvc}]\n",
            "servers[0].exportVolume: expected one of emptyDir, persistent (got 'pvc')",
        ),
        (
            "servers:\n  nas-a: {role: input, sidecar: {enabled: yes-please}}\n",
            "servers.nas-a.sidecar.enabled: expected true or false, got a string 'yes-please'",
        ),
    ],
)
def test_bad_values_name_the_file_the_field_and_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    """Each mistake in a values file is one TopologyError: FILE: FIELD PATH: REASON."""
    path = write(tmp_path, text)
    assert error_text(load_values, path) == f"{path}: {reason}"


def test_missing_values_file_is_named(tmp_path: Path) -> None:
    """A missing file is a TopologyError, not a traceback from open()."""
    path = tmp_path / "nope.yaml"
    assert error_text(load_values, path) == f"{path}: no such file"
    assert error_text(load_manifests, path) == f"{path}: no such file"


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    """A YAML syntax error points at the line and column."""
    path = write(tmp_path, "servers:\n  - name: a\n   role: input\n")
    assert error_text(load_values, path) == (
        f"{path}: invalid YAML at line 3, column 4: expected <block end>, but found '<block mapping start>'"
    )


# ---------------------------------------------------------------------------
# load_manifests


def test_manifests_ignore_other_kinds_and_read_pods(tmp_path: Path) -> None:
    """Services are skipped; a bare Pod is read like a Deployment's template."""
    dep = workload(shipped_docs(), "nas-output-1")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nas-output-1", "labels": {"nas-role": "output"}},
        "spec": dep["spec"]["template"]["spec"],
    }
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {}}
    topo = load_manifests(dump(tmp_path, [svc, pod]))
    assert topo == Topology([reference_topology().server("nas-output-1")])


def test_manifests_read_a_kubectl_list(tmp_path: Path) -> None:
    """``kubectl get -o yaml`` wraps objects in a List; its items are read."""
    docs = shipped_docs()
    lst = {"apiVersion": "v1", "kind": "List", "items": docs}
    assert load_manifests(dump(tmp_path, [lst])) == reference_topology()


@pytest.mark.parametrize(
    ("sleep", "env", "interval"),
    [
        ('sleep "${SYNC_INTERVAL}"', {"SYNC_INTERVAL": "30"}, 30),
        ("sleep $SYNC_INTERVAL", {"SYNC_INTERVAL": "12"}, 12),
        ("sleep ${SYNC_INTERVAL:-45}", {}, 45),
        ("sleep 10", {}, 10),
        ("sleep 1.5", {}, 1.5),
        ("sleep 2m", {}, 120),
    ],
)
def test_sleep_interval_is_read_from_the_loop(tmp_path: Path, sleep: str, env: dict[str, str], interval: float) -> None:
    """The interval is the sleep's argument: a literal, or a variable from the container's env."""
    docs = shipped_docs()
    sc = sidecar_of(docs, "nas-output-1")
    sc["command"][2] = sc["command"][2].replace('sleep "${SYNC_INTERVAL}"', sleep)
    sc["env"] = [{"name": k, "value": v} for k, v in env.items()]
    sidecar = load_manifests(dump(tmp_path, docs)).server("nas-output-1").sidecar
    assert sidecar is not None and sidecar.interval == interval


def test_command_split_over_command_and_args(tmp_path: Path) -> None:
    """``command: [sh, -c]`` with the script in ``args`` and backslash continuations are understood."""
    docs = shipped_docs()
    sc = sidecar_of(docs, "nas-output-1")
    sc["command"] = ["/bin/sh", "-ec"]
    sc["args"] = [
        "# upload loop\nwhile true; do\n"
        "  rsync -a --modify-window=1 \\\n    /nfs-data/ /windows-mount/ 2>&1 | tail -1\n"
        "  /bin/sleep 7 >/dev/null; done\n"
    ]
    init = pod_spec(docs, "nas-output-1")["initContainers"][0]
    init["command"] = ["rsync", "-av", "/windows-mount/", "/nfs-data/"]
    server = load_manifests(dump(tmp_path, docs)).server("nas-output-1")
    assert server.sidecar is not None
    assert server.sidecar.rsync_args == ("-a", "--modify-window=1", "/nfs-data/", "/windows-mount/")
    assert server.sidecar.interval == 7
    assert server.init.rsync_args == ("-av", "/windows-mount/", "/nfs-data/")


def test_sidecar_order_and_read_only_flag_come_from_the_pod_spec(tmp_path: Path) -> None:
    """A sidecar declared first is SIDECAR_FIRST; a mount without readOnly is writable."""
    docs = shipped_docs()
    spec = pod_spec(docs, "nas-output-2")
    spec["initContainers"].reverse()
    del spec["initContainers"][0]["volumeMounts"][0]["readOnly"]
    server = load_manifests(dump(tmp_path, docs)).server("nas-output-2")
    assert server.order is ContainerOrder.SIDECAR_FIRST
    assert server.sidecar is not None and not server.sidecar.export_read_only
    assert server.requests == Resources(150, 96 * Mi)


def test_statefulset_claim_template_is_a_persistent_export(tmp_path: Path) -> None:
    """An export from a volumeClaimTemplate outlives the pod."""
    docs = shipped_docs()
    dep = workload(docs, "nas-input-1")
    dep["kind"] = "StatefulSet"
    del dep["spec"]["strategy"]
    dep["spec"]["serviceName"] = "nas-input-1"
    dep["spec"]["template"]["spec"]["volumes"] = dep["spec"]["template"]["spec"]["volumes"][1:]
    dep["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "nfs-data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]
    kubernetes_validate.validate(dep, K8S_VERSION, strict=True)
    assert load_manifests(dump(tmp_path, docs)).server("nas-input-1").export is ExportKind.PERSISTENT


def test_windows_folder_follows_the_mount_options(tmp_path: Path) -> None:
    """The Windows folder is the hostPath mapped back through the minikube mount."""
    docs = [workload(shipped_docs(), "nas-backup")]
    pod_spec(docs, "nas-backup")["volumes"][1]["hostPath"]["path"] = "/data/win/backups/nas"
    topo = load_manifests(dump(tmp_path, docs), windows_root="E:\\share", mount_path="/data/win")
    assert topo.server("nas-backup").windows_folder == "E:\\share\\backups\\nas\\"
    assert topo.server("nas-backup").host_path == "/data/win/backups/nas"


def bad_manifest(tmp_path: Path, name: str, change: Any) -> str:
    docs = shipped_docs()
    change(workload(docs, name), docs)
    path = dump(tmp_path, docs)
    return error_text(load_manifests, path).removeprefix(f"{path}: ")


def _init(name: str, docs: list[dict[str, Any]], i: int = 0) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(docs, name)["initContainers"][i]
    return container


SPEC = "spec.template.spec"


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        (
            "nas-output-1",
            lambda d, docs: _init("nas-output-1", docs, 1)["command"].__setitem__(
                2, "while true; do rsync -av --bwlimit=100 /nfs-data/ /windows-mount/; sleep 30; done"
            ),
            f"Deployment nas-output-1 (document 8): {SPEC}.initContainers[1] (sync-to-windows).command: "
            "rsync option '--bwlimit=100' is not supported by the nassim rsync model",
        ),
        (
            "nas-input-2",
            lambda d, docs: _init("nas-input-2", docs)["command"].__setitem__(2, "cp -a /windows-mount/. /nfs-data/"),
            f"Deployment nas-input-2 (document 4): {SPEC}.initContainers[0] (sync-windows-data).command: "
            "expected exactly one rsync command, found no rsync command",
        ),
        (
            "nas-output-3",
            lambda d, docs: _init("nas-output-3", docs, 1).__setitem__("env", []),
            f"Deployment nas-output-3 (document 12): {SPEC}.initContainers[1] (sync-to-windows).command: "
            "$SYNC_INTERVAL is not set in the container's env",
        ),
        (
            "nas-output-3",
            lambda d, docs: _init("nas-output-3", docs, 1).__setitem__(
                "env",
                [{"name": "SYNC_INTERVAL", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}],
            ),
            f"Deployment nas-output-3 (document 12): {SPEC}.initContainers[1] (sync-to-windows).command: "
            "$SYNC_INTERVAL comes from valueFrom, which nassim cannot resolve; give it a literal value",
        ),
        (
            "nas-output-3",
            lambda d, docs: _init("nas-output-3", docs, 1)["env"][0].__setitem__("value", "soon"),
            f"Deployment nas-output-3 (document 12): {SPEC}.initContainers[1] (sync-to-windows).command: "
            "sleep ${SYNC_INTERVAL} resolves to 'soon', which is not a number of seconds",
        ),
        (
            "nas-output-1",
            lambda d, docs: _init("nas-output-1", docs, 1)["command"].__setitem__(
                2, 'echo "starting\nwhile true; do rsync -av /nfs-data/ /windows-mount/; sleep 30; done'
            ),
            f"Deployment nas-output-1 (document 8): {SPEC}.initContainers[1] (sync-to-windows).command: "
            "cannot split the shell script into words: No closing quotation",
        ),
        (
            "nas-output-1",
            lambda d, docs: _init("nas-output-1", docs, 1)["command"].__setitem__(
                2, "while true; do rsync -av /nfs-data/ /windows-mount/; done"
            ),
            f"Deployment nas-output-1 (document 8): {SPEC}.initContainers[1] (sync-to-windows).command: "
            "expected exactly one sleep command in the sync loop, found 0",
        ),
        (
            "nas-backup",
            lambda d, docs: (
                d["metadata"]["labels"].pop("nas-role") and d["spec"]["template"]["metadata"]["labels"].pop("nas-role")
            ),
            "Deployment nas-backup (document 14): metadata.labels.nas-role: "
            "missing; label each workload with its role (input, output or backup)",
        ),
        (
            "nas-backup",
            lambda d, docs: d["metadata"]["labels"].__setitem__("nas-role", "archive"),
            "Deployment nas-backup (document 14): metadata.labels.nas-role: "
            "expected one of input, output, backup (got 'archive')",
        ),
        (
            "nas-input-1",
            lambda d, docs: d["spec"].__setitem__("replicas", 2),
            "Deployment nas-input-1 (document 2): spec.replicas: "
            "must be 1 (got 2): the model runs one pod per NAS server",
        ),
        (
            "nas-input-1",
            lambda d, docs: pod_spec(docs, "nas-input-1")["volumes"][1]["hostPath"].__setitem__("path", "/data/x"),
            f"Deployment nas-input-1 (document 2): {SPEC}.volumes[1].hostPath.path: "
            "'/data/x' is not under the minikube mount '/mnt/simulator-data' of 'C:\\simulator-data'; "
            "pass load_manifests(..., mount_path=..., windows_root=...) to say where Windows is mounted",
        ),
        (
            "nas-input-1",
            lambda d, docs: pod_spec(docs, "nas-input-1")["volumes"].__setitem__(
                0, {"name": "nfs-data", "configMap": {"name": "x"}}
            ),
            f"Deployment nas-input-1 (document 2): {SPEC}.volumes: the export volume 'nfs-data' (where the "
            "init container writes /nfs-data/) must be an emptyDir, a persistentVolumeClaim or a hostPath",
        ),
        (
            "nas-output-2",
            lambda d, docs: _init("nas-output-2", docs, 1)["volumeMounts"][0].__setitem__("name", "windows-mount"),
            f"Deployment nas-output-2 (document 10): "
            f"{SPEC}.initContainers[1] (sync-to-windows).volumeMounts: "
            "the sidecar reads /nfs-data/ from volume 'windows-mount', not from the export 'nfs-data'",
        ),
        (
            "nas-output-2",
            lambda d, docs: pod_spec(docs, "nas-output-2")["initContainers"].append(
                copy.deepcopy(_init("nas-output-2", docs, 0))
            ),
            f"Deployment nas-output-2 (document 10): {SPEC}.initContainers: "
            "expected exactly one regular init container (the seed copy), found 2",
        ),
        (
            "nas-output-2",
            lambda d, docs: _init("nas-output-2", docs, 1).__setitem__("restartPolicy", "OnFailure"),
            f"Deployment nas-output-2 (document 10): {SPEC}.initContainers[1].restartPolicy: "
            "only 'Always' is allowed on an init container (got 'OnFailure')",
        ),
        (
            "nas-input-3",
            lambda d, docs: pod_spec(docs, "nas-input-3")["containers"][0]["resources"]["requests"].__setitem__(
                "cpu", "a lot"
            ),
            f"Deployment nas-input-3 (document 6): {SPEC}.containers[0].resources.requests.cpu: "
            "'a lot' is not a Kubernetes quantity (e.g. 32Mi, 100m, 0.5, 1Gi, 500M)",
        ),
        (
            "nas-input-3",
            lambda d, docs: docs.append(copy.deepcopy(d)),
            "Deployment nas-input-3 (document 15): "
            "a second workload named 'nas-input-3' (the first is Deployment nas-input-3 (document 6))",
        ),
    ],
)
def test_bad_manifests_name_the_file_the_object_the_field_and_the_reason(
    tmp_path: Path, name: str, change: Any, reason: str
) -> None:
    """Each mistake in the manifests is one TopologyError: FILE: OBJECT: FIELD PATH: REASON."""
    assert bad_manifest(tmp_path, name, change) == reason


def test_manifests_without_workloads_are_refused(tmp_path: Path) -> None:
    """A file with only Services describes no server."""
    path = dump(tmp_path, [d for d in shipped_docs() if d["kind"] == "Service"])
    assert error_text(load_manifests, path) == f"{path}: no Pod, Deployment or StatefulSet found"


def test_manifest_document_must_be_an_object(tmp_path: Path) -> None:
    """A stray list among the documents is named by its position."""
    path = write(tmp_path, "---\n- a\n- b\n", "m.yaml")
    assert error_text(load_manifests, path) == (
        f"{path}: document 1: expected a Kubernetes object (a mapping with apiVersion and kind), got a list"
    )


def test_invalid_manifest_yaml_names_line_and_column(tmp_path: Path) -> None:
    """A YAML syntax error in the second document points at its line."""
    path = write(tmp_path, "kind: Service\n---\nkind: [Pod\n", "m.yaml")
    assert error_text(load_manifests, path).startswith(f"{path}: invalid YAML at line 4, column 1: ")

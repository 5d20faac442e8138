"""The `nassim` command."""

import subprocess
import sys


def test_demo_prints_itemized_changes_and_the_recopy_loop():
    """`nassim demo` shows a first copy, a quiet second run on Linux, and re-copies on a Windows host."""
    out = subprocess.run([sys.executable, "-m", "nassim", "demo"], capture_output=True, text=True, check=True).stdout
    linux, windows = out.split("== sidecar")[1:]
    assert ">f+++++++++ README.txt" in linux
    assert linux.count("(nothing to do)") == 2
    assert windows.count(">f..t...... README.txt") == 2


def test_unknown_command_exits_2_without_traceback():
    """A user's typo is one clear line and exit status 2."""
    p = subprocess.run([sys.executable, "-m", "nassim", "dmeo"], capture_output=True, text=True)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert "No such command 'dmeo'" in p.stderr


def _nassim(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nassim", *args], capture_output=True, text=True, cwd=cwd)


ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def test_check_passes_the_reference_values_and_manifests():
    """`nassim check` finds nothing wrong in the shipped reference configuration (exit 0)."""
    for rel in ("sim/values-multi-nas.yaml", "sim/manifests/multi-nas.yaml"):
        p = _nassim("check", str(ROOT / rel))
        assert p.returncode == 0, p.stdout + p.stderr
        assert "no findings" in p.stdout


def test_check_reports_a_sidecar_on_an_input_server(tmp_path):
    """A values file that puts the sidecar on input servers is a finding and exit status 1."""
    text = (ROOT / "sim/values-multi-nas.yaml").read_text().replace("roles: [output]", "roles: [output, input]")
    bad = tmp_path / "values.yaml"
    bad.write_text(text)
    p = _nassim("check", str(bad), "--json")
    assert p.returncode == 1
    import json

    findings = json.loads(p.stdout)["findings"]
    assert {f["server"] for f in findings} >= {"nas-input-1", "nas-input-2", "nas-input-3"}


def test_run_json_has_the_documented_keys_and_exit_status():
    """`nassim run --json` prints checks, latency quantiles, seed and trace digest; exit 0 when all pass."""
    import json

    p = _nassim("run", str(ROOT / "sim/scenarios/phase3-validation.yaml"), "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert len(out["checks"]) == 10 and all(c["passed"] for c in out["checks"])
    assert set(out["latency"]) >= {"p50", "p90", "p99", "max", "count"}
    assert out["seed"] == 1 and len(out["trace_digest"]) == 64
    assert isinstance(out["findings"], list)


def test_run_exits_1_when_a_check_fails(tmp_path):
    """A probe that cannot pass (a 1 s bound) makes `nassim run` exit 1."""
    s = tmp_path / "s.yaml"
    s.write_text(
        "name: strict\nduration: 200\ntopology: {servers: [nas-output-1]}\n"
        "probes:\n  - {type: nfs-to-windows, server: nas-output-1, at: 50, within: 1}\n"
    )
    p = _nassim("run", str(s))
    assert p.returncode == 1
    assert "[FAIL] NFS to Windows within 1s: nas-output-1" in p.stdout


def test_bad_scenario_is_one_line_and_exit_2(tmp_path):
    """A scenario with a wrong field is one line naming file and field, exit 2, no traceback."""
    s = tmp_path / "s.yaml"
    s.write_text("name: t\nduration: -5\n")
    p = _nassim("run", str(s))
    assert p.returncode == 2
    assert p.stderr.strip() == f"nassim: error: {s}: scenario: 'duration' must be > 0 (got -5.0)"
    assert "Traceback" not in p.stderr


def test_terminal_output_colours_verdicts_and_piped_output_stays_plain():
    """In a terminal the report's [PASS]/[FAIL] tokens are coloured; piped, the text is unchanged."""
    from rich.console import Console

    from nassim.cli import frame_table, styled

    text = "  [PASS] Sidecar running: nas-output-1\n  [FAIL] NFS to Windows within 60s\n  [UNKNOWN] convergence"
    rendered = styled(text)
    assert rendered.plain == text
    spans = {(text[s.start : s.end], str(s.style)) for s in rendered.spans}
    assert ("[PASS]", "bold green") in spans and ("[FAIL]", "bold red") in spans and ("[UNKNOWN]", "bold yellow") in spans
    console = Console(force_terminal=True, color_system="standard", width=100, record=True)
    console.print(rendered)
    assert "\x1b[" in console.export_text(styles=True)
    piped = _nassim("run", str(ROOT / "sim/scenarios/phase3-validation.yaml"))
    assert "\x1b[" not in piped.stdout and "[PASS] Sidecar running: nas-output-1" in piped.stdout

    import pandas as pd

    table = frame_table(pd.DataFrame({"interval": [5, 30], "p50": [3.25, 16.0]}).set_index("interval"))
    assert [c.header for c in table.columns] == ["interval", "p50"] and table.row_count == 2


def test_minikube_options_with_another_backend_are_one_line_and_exit_2():
    p = _nassim("run", str(ROOT / "sim/scenarios/phase3-validation.yaml"), "--windows-root", "/tmp", "--context", "x")
    assert p.returncode == 2
    assert p.stderr.strip() == "nassim: error: --context, --windows-root: only for --backend minikube (got --backend sim)"


def test_speed_with_the_simulator_is_one_line_and_exit_2():
    p = _nassim("run", str(ROOT / "sim/scenarios/phase3-validation.yaml"), "--speed", "30")
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "nassim: error: --speed: the sim backend runs in virtual time; use it with --backend local"
    )


def test_minikube_without_kubectl_is_one_line_and_exit_2(tmp_path):
    p = _nassim(
        "run", str(ROOT / "sim/scenarios/phase3-validation.yaml"), "--backend", "minikube",
        "--kubectl", str(tmp_path / "no-kubectl"),
    )
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1] == (
        f"nassim: error: the minikube backend needs kubectl: '{tmp_path / 'no-kubectl'}' is not on PATH "
        "(install kubectl, or pass kubectl=PATH)"
    )
    assert "Traceback" not in p.stderr

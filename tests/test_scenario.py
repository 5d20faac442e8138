"""Scenarios: loading YAML into attrs objects, and the errors a wrong field gives."""

import shutil
from pathlib import Path

import pytest

from nassim.errors import ScenarioError
from nassim.scenario import NfsToWindowsProbe, Writer, dump_scenario, load_scenario, scenario_from_dict

SIM = Path(__file__).resolve().parent.parent / "sim"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def test_phase3_scenario_loads_with_the_reference_topology():
    """The shipped phase-3 scenario names seven servers, ten probes and a writer."""
    s = load_scenario(SIM / "scenarios" / "phase3-validation.yaml")
    assert len(s.load_topology()) == 7
    assert len(s.probes) == 10
    assert isinstance(s.workloads[0], Writer)
    assert isinstance(s.probes[-1], NfsToWindowsProbe) and s.probes[-1].within == 60


def test_dump_round_trips_through_the_loader(tmp_path):
    """`dump_scenario` writes YAML that `load_scenario` reads back to the same scenario."""
    s = load_scenario(SIM / "scenarios" / "phase3-validation.yaml")
    (tmp_path / "scenarios").mkdir()
    shutil.copy(SIM / "values-multi-nas.yaml", tmp_path / "values-multi-nas.yaml")
    p = tmp_path / "scenarios" / "again.yaml"
    p.write_text(dump_scenario(s))
    assert load_scenario(p) == s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: t\nduration: 100\nworkloads:\n  - type: writer\n    rate: -1\n",
         "workloads[0]: 'rate' must be > 0 (got -1.0)"),
        ("name: t\nduration: 100\nworkloads:\n  - type: writer\n    stop: .nan\n",
         "workloads[0]: 'stop' must be >= 0 (got nan)"),
        ("name: t\nduration: 100\nworkloads:\n  - type: writr\n",
         "workloads[0].type: 'writr' is not one of writer, deleter, renamer, windows-editor, reader"),
        ("name: t\nduraton: 100\n", "scenario: unknown field 'duraton' (did you mean 'duration'?)"),
        ("name: t\nduration: 100\nfaults:\n  - type: pod-delete\n    server: nas-output-1\n",
         "faults[0].at: required field is missing"),
        ("name: t\nduration: ten\n", "duration: must be a number (got 'ten')"),
        ("name: t\nduration: 100\nprobes:\n  - {type: nfs-to-windows, server: nas-output-9, at: 3}\n",
         "probes[0].server: no server 'nas-output-9' in the topology (servers: nas-backup, nas-input-1, "
         "nas-input-2, nas-input-3, nas-output-1, nas-output-2, nas-output-3)"),
        ("name: t\nduration: 100\nwindows: {host: mac}\n", "windows.host: must be one of 'windows', 'linux' (got 'mac')"),
        ("name: t\nduration: 100\nwindows: {hots: linux}\n", "windows: unknown field 'hots' (did you mean 'host'?)"),
        ("- just\n- a list\n", "a scenario must be a mapping of fields (got list)"),
        ("name: t\nduration: [1\n", "invalid YAML (line 3, column 1): expected ',' or ']', but got '<stream end>'"),
        ("name: t\nduration: 100\ntopology: {values: missing.yaml}\n", None),
    ],
)
def test_a_wrong_field_names_file_field_and_reason(tmp_path, text, message):
    """Every mistake is one ScenarioError naming the file, the field path and the reason."""
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    assert str(exc.value).startswith(f"{p}: ")
    if message is not None:
        assert str(exc.value) == f"{p}: {message}"
    else:
        assert "missing.yaml" in str(exc.value)


def test_missing_file_is_a_scenario_error(tmp_path):
    """A scenario path that does not exist says so."""
    with pytest.raises(ScenarioError, match=r"nope.yaml: scenario file not found$"):
        load_scenario(tmp_path / "nope.yaml")


def test_scenario_from_dict_accepts_python_data():
    """Notebook users build scenarios from dicts; the built-in topology is the default."""
    s = scenario_from_dict({"name": "n", "duration": 10, "probes": [{"type": "no-sidecar", "server": "nas-backup"}]})
    assert s.duration == 10.0 and s.load_topology().names[0] == "nas-input-1"

"""The notebooks run top to bottom with their small default parameters and show what they promise.

Each notebook is executed in a fresh kernel with ``notebooks/execute.py`` (the
script that also saves them with outputs); nothing is written back. The saved
copies are checked too: executed, with their figures, small enough to read on a
code host.
"""

import importlib.util
import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns about its path migration otherwise
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
INTERVALS = NOTEBOOKS / "interval-tradeoffs.ipynb"
HAZARDS = NOTEBOOKS / "hazards.ipynb"


def _runner():
    spec = importlib.util.spec_from_file_location("notebook_runner", NOTEBOOKS / "execute.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outputs(nb, kind=None):
    for cell in nb.cells:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if kind is None or out.output_type == kind:
                    yield out


def text(nb):
    return "".join(out.text for out in outputs(nb, "stream") if out.name == "stdout")


def figures(nb):
    return sum(1 for out in outputs(nb) if "image/png" in out.get("data", {}))


def assert_ran_clean(nb):
    errors = [out for out in outputs(nb) if out.output_type == "error"]
    assert not errors, errors[0]
    stderr = [out.text for out in outputs(nb, "stream") if out.name == "stderr"]
    assert not stderr, f"the notebook wrote to stderr (a warning?): {stderr[0]}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)


def assert_parameters_first(nb):
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []), "the first code cell must be tagged 'parameters'"


@pytest.fixture(scope="module")
def runner():
    return _runner()


@pytest.mark.slow
def test_interval_tradeoffs_runs_and_recommends(runner):
    nb = runner.execute(INTERVALS)
    assert_ran_clean(nb)
    assert_parameters_first(nb)
    # latency vs interval, vs tree size, the CDF, CPU, the loss window
    assert figures(nb) >= 5
    out = text(nb)
    assert re.search(r"Recommended sidecar interval: \d+ s", out), out
    assert re.search(r"pod deletion (at \d+ s loses|loses nothing at \d+ s)", out), out
    assert re.search(r"passes with up to \d+ files", out), out


@pytest.mark.slow
def test_hazards_runs_every_file(runner):
    nb = runner.execute(HAZARDS)
    assert_ran_clean(nb)
    assert_parameters_first(nb)
    out = text(nb)
    shown = re.findall(r"^== (\S+)\.yaml$", out, re.M)
    assert shown and "lost-on-pod-deletion" in shown
    assert figures(nb) == len(shown)  # one timeline per hazard shown
    assert "Avoid (what to change in the chart):" in out
    assert "Invariant loop-freedom: INVALID" in out  # the Windows host's re-copy loop, with its witness
    catalogue = sorted((NOTEBOOKS.parent / "sim" / "scenarios" / "hazards").glob("*.yaml"))
    m = re.search(r"^(\d+) files; (\d+) produce exactly their declared findings$", out, re.M)
    assert m is not None, out
    assert int(m.group(1)) == int(m.group(2)) == len(catalogue)


@pytest.mark.parametrize("path", [INTERVALS, HAZARDS], ids=lambda p: p.name)
def test_saved_notebooks_carry_their_outputs(path):
    assert path.stat().st_size < 1_000_000
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert_ran_clean(nb)
    assert_parameters_first(nb)
    assert figures(nb) >= 4
    for cell in nb.cells:  # no run-specific metadata to churn the diff
        assert "execution" not in cell.metadata


@pytest.mark.slow
def test_parameters_are_injected_after_the_parameters_cell(runner):
    """Injected parameters (papermill-style) override the notebook's own: here, which hazards it shows."""
    nb = runner.execute(HAZARDS, {"SHOWCASE": ["torn-copy"], "WITNESS_LINES": 2})
    assert_ran_clean(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "injected-parameters" in code[1].metadata.get("tags", [])
    assert re.findall(r"^== (\S+)\.yaml$", text(nb), re.M) == ["torn-copy"]

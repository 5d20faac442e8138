"""Execute the notebooks top to bottom and save them with their outputs.

    python notebooks/execute.py                       # every notebook here, in place
    python notebooks/execute.py notebooks/hazards.ipynb

The saved outputs are what a code host shows, so they are kept stable: no
execution timestamps, fixed seeds in the notebooks, PNG figures at a modest
DPI. ``tests/test_notebooks.py`` executes the notebooks the same way (with
:func:`execute`) without saving them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's paths, without its migration warning

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted(HERE.glob("*.ipynb"))
TIMEOUT = 300  # seconds per cell


def inject(nb: nbformat.NotebookNode, parameters: dict[str, object]) -> None:
    """Add a cell tagged ``injected-parameters`` after the ``parameters`` cell (as papermill does)."""
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cell.pop("id", None)
    nb.cells.insert(at + 1, cell)


def execute(path: Path, parameters: dict[str, object] | None = None) -> nbformat.NotebookNode:
    """The notebook at ``path``, executed in its own folder with a fresh ``python3`` kernel,
    with ``parameters`` overriding the ``parameters`` cell's values."""
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject(nb, parameters)
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def main(argv: list[str]) -> None:
    for path in [Path(a) for a in argv] or NOTEBOOKS:
        nb = execute(path)
        nbformat.write(nb, path)
        print(f"{path}: executed, {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])

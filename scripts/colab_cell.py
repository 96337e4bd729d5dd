"""Run the labs' Colab set-up cell as Colab runs it, with its release URL pointed at a wheel.

The cell (``scripts/sync_notebooks.py``'s ``setup_source``, the same text every lab's first
cell holds) runs in IPython, because its ``%pip`` lines are IPython magics, with
``google.colab`` stubbed so that the cell takes its Colab branch. Its release wheel URL is
replaced by ``--wheel`` (a local file), so the cell installs exactly what the release would.

Both the slow test ``tests/test_colab_install.py`` and the weekly workflow
``.github/workflows/colab-labs.yml`` (inside Colab's runtime image) use it, so the install
that the labs do is the install that is tested.

Usage: python scripts/colab_cell.py --wheel dist/faceleak-X-py3-none-any.whl [--python PY]

Prints ``CELL-ERROR: none`` when the cell ran, else ``CELL-ERROR: <type>: <message>``, and
exits 1 in that case.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNNER = textwrap.dedent("""
    import sys, types
    sys.modules["google.colab"] = types.ModuleType("google.colab")  # as on Colab
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    result = shell.run_cell(open(sys.argv[1]).read())
    error = result.error_in_exec or result.error_before_exec
    print("CELL-ERROR:", f"{type(error).__name__}: {error}" if error else "none")
""")


def _sync_module():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import sync_notebooks
    finally:
        sys.path.pop(0)
    return sync_notebooks


def cell_for_wheel(wheel: Path | str) -> str:
    """The set-up cell with its release URL replaced by ``wheel`` (a path or a URL)."""
    sync = _sync_module()
    cell, url = sync.setup_source(ROOT), sync.release_wheel_url(ROOT)
    if cell.count(url) != 1:
        raise RuntimeError(f"the set-up cell should name the release URL once: {url}")
    target = wheel if "://" in str(wheel) else Path(wheel).resolve().as_uri()
    return cell.replace(url, str(target))


def run_cell(python: Path | str, source: str, workdir: Path, timeout: int = 1500
             ) -> subprocess.CompletedProcess:
    """Run ``source`` as a Colab cell with ``python`` (which needs IPython) in ``workdir``."""
    cell, runner = workdir / "colab_cell.py", workdir / "colab_runner.py"
    cell.write_text(source)
    runner.write_text(RUNNER)
    # The interpreter's own environment, not this checkout's (PYTHONPATH) or venv.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(python), str(runner), str(cell)], capture_output=True,
                          text=True, timeout=timeout, cwd=workdir, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", required=True, help="the wheel (path or URL) to install")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter to install into (default: this one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="colab-cell-") as tmp:
        proc = run_cell(args.python, cell_for_wheel(args.wheel), Path(tmp))
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    ok = proc.returncode == 0 and "CELL-ERROR: none" in proc.stdout
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Execute lab notebooks top to bottom and fail loudly, naming the notebook and the cell.

The scheduled workflow ``.github/workflows/colab-labs.yml`` runs this inside Colab's runtime
image, after installing the package from the checkout the way the labs' Colab cell does;
it also runs anywhere else (``python scripts/run_labs.py`` runs every lab in quick mode).

Cells tagged ``colab-setup`` are skipped by default: on Colab they install the *released*
package from GitHub, which would replace the checkout under test. ``--run-setup-cells``
runs them (to test the released install instead).

Each failure prints the notebook, the cell number and its first source line, the error and
the traceback, as a GitHub Actions ``::error`` annotation too. Executed notebooks are saved
(``--output-dir``) so that the workflow can upload them. A Markdown summary goes to
``$GITHUB_STEP_SUMMARY`` when that is set.

``--times-json PATH`` records each lab's run time under the mode's key in a JSON file, with
the machine it ran on and whether the cache started empty. The instructor guide
(``book/instructor_guide.md``) shows ``book/measurements/lab_times.json``, made with
``--fresh-cache`` (an empty ``FACELEAK_CACHE``: every model not shipped with the package is
trained during the run, as on a first run on Colab).

Usage: python scripts/run_labs.py [NOTEBOOK ...] [--mode quick] [--timeout 1800]
       [--output-dir DIR] [--kernel python3] [--run-setup-cells]
       [--times-json PATH] [--fresh-cache]
Exit status: 0 when every notebook ran, 1 when one failed, 2 when there was nothing to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "colab-setup"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclasses.dataclass
class LabResult:
    """How one notebook ran.

    Attributes
    ----------
    path : Path
        The notebook.
    ok : bool
        True when every cell ran.
    seconds : float
        Wall-clock execution time.
    cell : int or None
        Index (in the notebook, from 0) of the failing cell.
    error : str
        ``ErrorName: message`` of the failure (empty when ``ok``).
    traceback : str
        The traceback, without terminal colours.
    source : str
        The first line of the failing cell's source.
    """

    path: Path
    ok: bool
    seconds: float
    cell: int | None = None
    error: str = ""
    traceback: str = ""
    source: str = ""


def _first_error(nb: nbformat.NotebookNode) -> tuple[int, dict] | None:
    """The index of the first cell with an error output, and that output."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return index, output
    return None


def run_notebook(path: Path, mode: str = "quick", timeout: int = 1800,
                 kernel: str = "python3", run_setup_cells: bool = False,
                 output_dir: Path | None = None) -> LabResult:
    """Execute one notebook in its own folder and report how it went.

    Parameters
    ----------
    path : Path
        The notebook.
    mode : str
        Value of ``FACELEAK_MODE`` for the kernel (``quick`` or ``full``).
    timeout : int
        Per-cell timeout in seconds.
    kernel : str
        Kernel name.
    run_setup_cells : bool
        Also run cells tagged ``colab-setup`` (skipped by default, see the module doc).
    output_dir : Path, optional
        Where to save the executed notebook (same file name).

    Returns
    -------
    LabResult
    """
    nb = nbformat.read(path, as_version=4)
    skipped: list[tuple[int, nbformat.NotebookNode]] = []
    if not run_setup_cells:
        for index, cell in enumerate(nb.cells):
            if SETUP_TAG in cell.get("metadata", {}).get("tags", []):
                skipped.append((index, cell))
        nb.cells = [c for c in nb.cells
                    if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    saved = {k: os.environ.get(k) for k in ("FACELEAK_MODE", "MPLBACKEND", "FACELEAK_LAB")}
    os.environ["FACELEAK_MODE"] = mode  # the kernel inherits this process's environment
    os.environ["FACELEAK_LAB"] = path.name  # describe_run prints the lab's expected time
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    result = LabResult(path=path, ok=True, seconds=0.0)
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        result.ok = False
        found = _first_error(nb)
        if found is not None:
            index, output = found
            result.error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
            result.traceback = ANSI.sub("", "\n".join(output.get("traceback", [])))
        else:
            index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                          and c.get("execution_count") is None), None)
            last = str(exc).strip().splitlines()
            result.error = f"{type(exc).__name__}: {last[-1] if last else ''}"
            result.traceback = ANSI.sub("", str(exc))
        if index is not None:
            # Number cells as in the file on disk, counting the skipped set-up cells.
            result.cell = index + sum(1 for i, _ in skipped if i <= index)
            source = nb.cells[index].source.strip().splitlines()
            result.source = source[0] if source else ""
    finally:
        result.seconds = time.perf_counter() - start
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if output_dir is not None:
            for index, cell in skipped:
                nb.cells.insert(index, cell)
            output_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, output_dir / path.name)
    return result


def summary_markdown(results: list[LabResult], mode: str) -> str:
    """A Markdown table of the results, for ``$GITHUB_STEP_SUMMARY``."""
    lines = [f"### Labs in {mode} mode", "", "| notebook | result | time |", "|---|---|---|"]
    for r in results:
        where = "" if r.ok else f" at cell {r.cell}: `{r.error[:120]}`"
        lines.append(f"| {r.path.name} | {'ok' if r.ok else 'FAILED' + where} | "
                     f"{r.seconds:.0f} s |")
    return "\n".join(lines) + "\n"


def machine_description() -> dict:
    """What the timings were measured on: CPU count, accelerator, torch and Python."""
    info = {"cpu_count": os.cpu_count(), "platform": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["device"] = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
                          else "CPU only")
    except ImportError:  # pragma: no cover - the labs need torch anyway
        info["device"] = "unknown (torch not importable)"
    return info


def record_times(path: Path, results: list[LabResult], mode: str, fresh_cache: bool) -> dict:
    """Write the run times of ``results`` under ``mode`` in the JSON file at ``path``.

    Other modes' entries are kept, so quick and full measurements can be made on different
    machines, and so are the entries of labs not run this time (re-measure one changed lab
    without running them all). Failed labs are recorded as failed, with no time.
    """
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    labs = dict(data.get(mode, {}).get("labs", {}))
    for r in results:
        labs[r.path.name] = ({"seconds": round(r.seconds, 1), "measured_utc": now} if r.ok
                             else {"failed": f"cell {r.cell}: {r.error[:200]}",
                                   "measured_utc": now})
    data[mode] = {
        "measured_utc": now,
        "cache": "empty at start (--fresh-cache)" if fresh_cache else "as found",
        "machine": machine_description(),
        "labs": labs,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module doc); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: labs/*.ipynb)")
    parser.add_argument("--mode", default="quick", choices=("quick", "full"))
    parser.add_argument("--timeout", type=int, default=1800, help="per-cell timeout (s)")
    parser.add_argument("--kernel", default="python3")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="save the executed notebooks here")
    parser.add_argument("--run-setup-cells", action="store_true",
                        help=f"also run cells tagged {SETUP_TAG}")
    parser.add_argument("--times-json", type=Path, default=None,
                        help="record each lab's run time (under the mode) in this JSON file")
    parser.add_argument("--fresh-cache", action="store_true",
                        help="run with an empty temporary FACELEAK_CACHE (a first run)")
    args = parser.parse_args(argv)
    if args.fresh_cache:
        fresh = tempfile.TemporaryDirectory(prefix="faceleak-cache-")
        os.environ["FACELEAK_CACHE"] = fresh.name  # the kernels inherit it
        print(f"run_labs: empty cache at {fresh.name}", flush=True)
    notebooks = args.notebooks or sorted((ROOT / "labs").glob("*.ipynb"))
    if not notebooks:
        print("run_labs: no notebooks to run", file=sys.stderr)
        return 2
    results = []
    for path in notebooks:
        print(f"=== {path} (FACELEAK_MODE={args.mode})", flush=True)
        result = run_notebook(path, args.mode, args.timeout, args.kernel,
                              args.run_setup_cells, args.output_dir)
        results.append(result)
        if result.ok:
            print(f"    ok in {result.seconds:.1f} s", flush=True)
            continue
        print(f"::error file={path},title=Lab failed::{path} failed at cell {result.cell} "
              f"({result.source!r}): {result.error}", flush=True)
        print(f"    FAILED at cell {result.cell} after {result.seconds:.1f} s", flush=True)
        print(f"    cell source starts: {result.source}", flush=True)
        print(f"    error: {result.error}", flush=True)
        print("    traceback:\n" + "\n".join("      " + ln
                                               for ln in result.traceback.splitlines()),
              flush=True)
    failed = [r for r in results if not r.ok]
    print(f"run_labs: {len(results) - len(failed)} of {len(results)} notebook(s) ran; "
          f"{len(failed)} failed" + (": " + ", ".join(str(r.path) for r in failed)
                                     if failed else ""))
    if args.times_json is not None:
        record_times(args.times_json, results, args.mode, args.fresh_cache)
        print(f"run_labs: times written to {args.times_json}")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(summary_markdown(results, args.mode))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

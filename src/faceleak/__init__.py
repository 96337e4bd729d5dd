"""faceleak: the helper package of the course *Faces, Embeddings and the Fine Print*.

The folders are the layers, each using only those before it: :mod:`faceleak.vision`
(faces and recognizers), :mod:`faceleak.privacy` (attacks, probes, defences),
:mod:`faceleak.experiments` (one experiment per chapter, shared by the labs, the CLI and
the book); :mod:`faceleak.legal` (terms of service, vendor risk) needs no torch; the
front-ends :mod:`faceleak.viz`, :mod:`faceleak.widgets` and :mod:`faceleak.cli` sit on top.

Importing the package is cheap and needs no torch: each submodule imports what it needs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from faceleak import _moved

# The same version as pyproject.toml: `make release VERSION=x.y.z` (scripts/release.py) sets
# both, and tests/test_release.py fails when they differ. A literal rather than
# importlib.metadata, which reports a stale version for a source tree whose editable
# install was made before the last release.
__version__ = "0.2.0"

__all__ = ["__version__", "describe_run", "expected_time"]

_moved.install()  # the 0.1 import paths, for one release


def describe_run(backbone: str | None = None, mode: str | None = None,
                 lab: str | None = None, plan=None) -> str:
    """One block of text that every lab prints at its top: mode, device, backbone and data.

    Folders are shown relative to a named root (``$FACELEAK_DATA``, ``~``, the shared
    folder, the package: :func:`faceleak.config.display_path`), as a reader's own run would
    show them, since this block is published in the book. In full mode the block also says
    how long the lab is expected to take (:func:`expected_time`).

    Parameters
    ----------
    backbone
        Name of the embedding backbone the lab uses, or None for labs without one.
    mode
        Explicit run mode; by default ``FACELEAK_MODE``, else ``quick``.
    lab
        The lab's notebook (``"02_leakage.ipynb"``), for its expected time; by default
        ``FACELEAK_LAB`` (``scripts/run_labs.py`` sets it) or the notebook Jupyter names in
        ``JPY_SESSION_NAME``.
    plan
        The lab's run plan (:func:`faceleak.experiments.resolve_plan`): its mode and device
        are shown (nothing is resolved again) and its one-line summary is added.
    """
    from faceleak import config
    from faceleak.vision import data

    lines = [f"faceleak {__version__}"]
    # A lab passes its plan, so the mode and the device are resolved once per run.
    resolved = plan.mode if plan is not None else config.run_mode(mode)
    lines.append(f"mode: {resolved}  ({config.MODE_ENV}={_env(config.MODE_ENV)})")
    if resolved == "full":
        lines.append(f"expected time (full mode): {expected_time(lab, 'full')}")
    try:
        import torch

        device = plan.device if plan is not None else config.device()
        lines.append(f"device: {device}  (torch {torch.__version__})")
    except ImportError:
        lines.append("device: n/a (torch is not installed; only the ToS and risk labs work)")
    if backbone is not None:
        lines.append(f"backbone: {backbone}")
    if plan is not None:
        lines.append(plan.describe())
    try:
        lines.append(f"data: {data.locate_data().describe()}")
    except data.DataError as exc:
        lines.append(f"data: NOT FOUND - {exc}")
    lines.append(f"cache: {config.display_path(config.cache_dir())}")
    return "\n".join(lines)


LAB_ENV = "FACELEAK_LAB"
LAB_TIMES = Path("book") / "measurements" / "lab_times.json"


def current_lab() -> str | None:
    """The running lab's notebook name: ``FACELEAK_LAB``, else Jupyter's session name."""
    for name in (LAB_ENV, "JPY_SESSION_NAME"):
        value = os.environ.get(name, "").strip()
        if value.endswith(".ipynb"):
            return Path(value).name
    return None


def lab_times_file() -> Path | None:
    """``book/measurements/lab_times.json`` of the checkout the lab runs from, if any.

    Looked for above the working folder (a lab runs in ``labs/``) and above the package (an
    editable install); a package installed from a wheel (Colab) has none.
    """
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / LAB_TIMES).is_file():
                return folder / LAB_TIMES
    return None


def expected_time(lab: str | None = None, mode: str = "full",
                  times: Path | None = None) -> str:
    """How long ``lab`` took in ``mode`` when measured, or why that is not known.

    Reads the measurements that ``scripts/run_labs.py --times-json`` writes and the
    instructor guide shows. Full mode has not been measured on a GPU for the labs that
    train models, so for those the answer is "not measured".
    """
    lab = lab or current_lab()
    if lab is None:
        return (f"not known for this notebook (set {LAB_ENV}=<lab>.ipynb; the instructor "
                "guide lists every lab's)")
    lab = lab if lab.endswith(".ipynb") else f"{lab}.ipynb"
    path = times or lab_times_file()
    if path is None:
        return (f"not measured here (no {LAB_TIMES.as_posix()} beside this installation; "
                "the instructor guide lists the measured times)")
    try:
        run = json.loads(path.read_text(encoding="utf-8")).get(mode) or {}
    except (OSError, ValueError) as exc:
        return f"not measured ({LAB_TIMES.as_posix()} is unreadable: {type(exc).__name__})"
    entry = run.get("labs", {}).get(lab)
    if not entry or "seconds" not in entry:
        return "not measured"
    machine = run.get("machine", {})
    seconds = float(entry["seconds"])
    took = f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"
    return (f"{took}, measured {entry.get('measured_utc', '?')} UTC "
            f"on {machine.get('cpu_count', '?')} CPU cores, {machine.get('device', '?')}")


def _env(name: str) -> str:
    return os.environ.get(name, "<unset>")

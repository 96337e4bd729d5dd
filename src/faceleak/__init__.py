"""faceleak: the helper package of the course *Faces, Embeddings and the Fine Print*.

The folders are the layers, each using only those before it: :mod:`faceleak.vision`
(faces and recognizers), :mod:`faceleak.privacy` (attacks, probes, defences),
:mod:`faceleak.experiments` (one experiment per chapter, shared by the labs, the CLI and
the book); :mod:`faceleak.legal` (terms of service, vendor risk) needs no torch; the
front-ends :mod:`faceleak.viz`, :mod:`faceleak.widgets` and :mod:`faceleak.cli` sit on top.

Importing the package is cheap and needs no torch: each submodule imports what it needs.
"""

from __future__ import annotations

from faceleak import _moved

__version__ = "0.2.0"

__all__ = ["__version__", "describe_run"]

_moved.install()  # the 0.1 import paths, for one release


def describe_run(backbone: str | None = None, mode: str | None = None) -> str:
    """One block of text that every lab prints at its top: mode, device, backbone and data.

    Parameters
    ----------
    backbone
        Name of the embedding backbone the lab uses, or None for labs without one.
    mode
        Explicit run mode; by default ``FACELEAK_MODE`` or the CUDA-based default.
    """
    from faceleak import config
    from faceleak.vision import data

    lines = [f"faceleak {__version__}"]
    resolved = config.run_mode(mode)
    lines.append(f"mode: {resolved}  ({config.MODE_ENV}={_env(config.MODE_ENV)})")
    try:
        import torch

        lines.append(f"device: {config.device()}  (torch {torch.__version__})")
    except ImportError:
        lines.append("device: n/a (torch is not installed; only the ToS and risk labs work)")
    if backbone is not None:
        lines.append(f"backbone: {backbone}")
    try:
        lines.append(f"data: {_home_relative(data.locate_data().describe())}")
    except data.DataError as exc:
        lines.append(f"data: NOT FOUND - {exc}")
    lines.append(f"cache: {_home_relative(str(config.cache_dir()))}")
    return "\n".join(lines)


def _home_relative(text: str) -> str:
    """Show the user's home as ``~``: the printed block goes into published pages."""
    from pathlib import Path

    home = str(Path.home())
    return text.replace(home, "~") if home not in ("/", "") else text


def _env(name: str) -> str:
    import os

    return os.environ.get(name, "<unset>")

"""Run configuration shared by every lab: mode, device, seeding and the cache folder.

The course runs the *same code* at two speeds. ``quick`` uses small sizes and few epochs
so that every lab runs in minutes on a 2-core CPU (CI and the book build); ``full`` uses
the sizes meant for a GPU (Colab). The mode comes from ``FACELEAK_MODE`` and is ``quick``
unless it is set, on a GPU too: full mode has not yet been run end to end on a GPU for the
labs that train models (Labs 1-4), so it is opt-in (``FACELEAK_MODE=full``) until it has.

This module imports torch lazily, so that the torch-free parts of the package
(``faceleak.legal.tos``, ``faceleak.legal.risk``) can use it on a machine without torch.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Mode = Literal["quick", "full"]

MODES: tuple[Mode, ...] = ("quick", "full")
MODE_ENV = "FACELEAK_MODE"
DEVICE_ENV = "FACELEAK_DEVICE"
CACHE_ENV = "FACELEAK_CACHE"
DEFAULT_SEED = 0
# The mode when FACELEAK_MODE is unset, on a CPU and on a GPU alike. Make it depend on
# cuda_available() again only once full mode has run end to end on a GPU for every lab.
DEFAULT_MODE: Mode = "quick"


class ConfigError(ValueError):
    """A configuration value (usually an environment variable) is invalid."""


def cuda_available() -> bool:
    """Return True when torch is importable and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def run_mode(mode: str | None = None) -> Mode:
    """Resolve the run mode.

    Parameters
    ----------
    mode
        An explicit mode. When None, ``FACELEAK_MODE`` is read; when that is unset or
        empty too, the mode is :data:`DEFAULT_MODE` (``quick``), whether or not a GPU is
        present. Full mode is opt-in: it has not been run end to end on a GPU yet, and its
        run times are not measured (``book/measurements/lab_times.json``).

    Returns
    -------
    Mode
        ``"quick"`` or ``"full"``.

    Raises
    ------
    ConfigError
        If the mode is not one of ``quick`` or ``full``.
    """
    value = mode if mode is not None else os.environ.get(MODE_ENV, "").strip()
    if not value:
        return DEFAULT_MODE
    value = value.lower()
    if value not in MODES:
        raise ConfigError(
            f"Unknown run mode {value!r} (from {'argument' if mode is not None else MODE_ENV}). "
            f"Use one of {', '.join(MODES)}, e.g. `export {MODE_ENV}=quick`."
        )
    return value  # type: ignore[return-value]


def device(name: str | None = None) -> str:
    """Choose the torch device string.

    ``FACELEAK_DEVICE`` (or ``name``) wins; otherwise ``cuda`` when available, else ``cpu``.
    Asking for ``cuda`` on a machine without it is an error rather than a silent fallback,
    because a lab timed for a GPU would otherwise run for hours on a CPU.
    """
    value = (name if name is not None else os.environ.get(DEVICE_ENV, "")).strip().lower()
    if not value:
        return "cuda" if cuda_available() else "cpu"
    if value.startswith("cuda") and not cuda_available():
        raise ConfigError(
            f"Device {value!r} was requested but no CUDA GPU is available. "
            f"Unset {DEVICE_ENV} to run on the CPU, or on Colab choose "
            "Runtime > Change runtime type > GPU."
        )
    if value != "cpu" and not value.startswith(("cuda", "mps")):
        raise ConfigError(f"Unknown device {value!r}: use 'cpu' or 'cuda'.")
    return value


def seed_everything(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and (if installed) torch, and return the seed.

    This is the one seeding helper the labs use, so a lab's numbers are reproducible
    for a given mode and seed on a given machine.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import numpy as np

        np.random.seed(seed)  # noqa: NPY002 - libraries still draw from the legacy global RNG
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        pass
    try:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    except ImportError:
        pass
    return seed


PROGRESS_ENV = "FACELEAK_PROGRESS"


def progress_bars_enabled() -> bool:
    """Whether long loops show tqdm bars: yes, unless ``FACELEAK_PROGRESS=0``.

    The book build sets it to 0: a finished notebook bar is saved as a widget that has been
    closed, which the published page shows as an empty box.
    """
    return os.environ.get(PROGRESS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir(create: bool = True) -> Path:
    """The single cache folder used by every module (weights, embeddings, results).

    ``FACELEAK_CACHE`` if set, else ``$XDG_CACHE_HOME/faceleak`` (``~/.cache/faceleak``).
    """
    raw = os.environ.get(CACHE_ENV, "").strip()
    if raw:
        path = Path(raw).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or "~/.cache"
        path = Path(base).expanduser() / "faceleak"
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"Cannot create the faceleak cache folder {path} ({exc}). "
                f"Set {CACHE_ENV} to a writable folder."
            ) from exc
    return path


# Named roots a printed path is shown under, most specific first when several hold it.
_NAMED_ROOT_ENVS = (CACHE_ENV, "FACELEAK_DATA", "TORCH_HOME", "XDG_CACHE_HOME")
PACKAGE_LABEL = "<faceleak package>"


def display_path(path: str | os.PathLike) -> str:
    """``path`` as a reader's own run would print it: relative to a named root.

    Labs print where their data, cache and weights are, and those printouts are published
    in the book; the build machine's absolute folders would mean nothing to a reader (and
    are not theirs to see). The most specific of these roots that holds ``path`` names it:
    ``$FACELEAK_CACHE``, ``$FACELEAK_DATA``, ``$TORCH_HOME``, ``$XDG_CACHE_HOME`` (when
    set), the installed package (``<faceleak package>/resources/...``), a repository's
    ``shared/`` folder (``.../shared/data/...``) and the home folder (``~``). A path under
    none of them is returned unchanged.
    """
    target = Path(os.path.abspath(Path(path).expanduser()))
    roots: list[tuple[Path, str]] = []
    for name in _NAMED_ROOT_ENVS:
        raw = os.environ.get(name, "").strip()
        if raw:
            roots.append((Path(os.path.abspath(Path(raw).expanduser())), f"${name}"))
    roots.append((Path(__file__).resolve().parent, PACKAGE_LABEL))
    if "shared" in target.parts:
        index = len(target.parts) - 1 - target.parts[::-1].index("shared")
        roots.append((Path(*target.parts[:index]), "..."))
    home = Path.home()
    if home != Path(home.anchor):
        roots.append((home, "~"))
    best: tuple[int, str] | None = None
    for root, label in roots:
        try:
            rel = target.relative_to(root)
        except ValueError:
            continue
        if best is None or len(root.parts) > best[0]:
            shown = label if rel == Path(".") else f"{label}/{rel.as_posix()}"
            best = (len(root.parts), shown)
    return best[1] if best is not None else str(target)


@dataclass(frozen=True)
class Settings:
    """Sizes that differ between quick and full mode; the code paths do not.

    Attributes
    ----------
    mode
        The run mode these sizes belong to.
    image_size
        Height and width of the face crops fed to the course's own networks.
    n_heldout_subjects
        Subjects kept out of every fit, for evaluation.
    """

    mode: Mode
    image_size: tuple[int, int]
    n_heldout_subjects: int


def settings(mode: str | None = None) -> Settings:
    """Return the :class:`Settings` for ``mode`` (resolved with :func:`run_mode`)."""
    # A plan passes its already-resolved mode; only a missing or unchecked one is resolved.
    resolved = mode if mode in MODES else run_mode(mode)
    # Same resolution in both modes: the embedded compact dataset is stored at a size
    # at least this large, so a lab gives the same kind of result whatever the data source.
    return Settings(mode=resolved, image_size=(64, 56), n_heldout_subjects=10)

"""The checkpoint store: where weights live, how they are written and read, what fails.

Every network of the course goes through here: the course's backbones and the judge
(:mod:`faceleak.vision.models`), the GAN (:mod:`faceleak.privacy.gan`), FaceNet converted
from its frozen graph (:mod:`faceleak.vision.pretrained`) and dlib's files
(:mod:`faceleak.vision.dlib_resnet`). Pretrained weights live where facenet-pytorch keeps
them, ``$TORCH_HOME/checkpoints``; the course's own in ``config.cache_dir()`` or in the
package. Files are written atomically and read with ``weights_only=True``; anything that is
not the expected checkpoint (a truncated file, an HTML page saved under the right name,
another format) raises :class:`WeightsError` with what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from faceleak.config import display_path


class WeightsError(RuntimeError):
    """Pretrained weights are missing, corrupt or do not match; the message says what to do."""


@dataclass(frozen=True)
class FacenetWeights:
    """One published facenet-pytorch checkpoint."""

    name: str
    url: str
    num_classes: int
    sha256: str | None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_RELEASE = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
FACENET_WEIGHTS: dict[str, FacenetWeights] = {
    # SHA-256 of the published file, as recorded independently by several projects that pin it.
    "vggface2": FacenetWeights(
        "vggface2", _RELEASE + "20180402-114759-vggface2.pt", 8631,
        "281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b",
    ),
    # No published SHA-256 was found for this file: it is pinned on first use instead
    # (see :func:`_pinned_sha256`), so a later change of the file is still caught.
    "casia-webface": FacenetWeights(
        "casia-webface", _RELEASE + "20180408-102900-casia-webface.pt", 10575, None,
    ),
}


def torch_home() -> Path:
    """facenet-pytorch's cache root: ``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``."""
    return Path(os.path.expanduser(os.getenv(
        "TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))))


def facenet_checkpoint_path(pretrained: str) -> Path:
    """Where the loader looks for (and facenet-pytorch downloads) a checkpoint."""
    return torch_home() / "checkpoints" / facenet_weights_info(pretrained).filename


def facenet_weights_info(pretrained: str) -> FacenetWeights:
    """The published facenet-pytorch checkpoint called ``pretrained``."""
    try:
        return FACENET_WEIGHTS[pretrained]
    except KeyError:
        raise ValueError(f"Unknown facenet weights {pretrained!r}; "
                         f"use one of {sorted(FACENET_WEIGHTS)}") from None


def save_checkpoint(ckpt: dict, path: Path | str, half: bool = False) -> Path:
    """Write a checkpoint atomically (a crash never leaves a half-written cache file).

    ``half=True`` stores floating-point weights as float16, halving the file (used for the
    checkpoints committed with the package); :func:`model_from_checkpoint` loads them back
    as float32.
    """
    path = Path(path)
    if half:
        ckpt = {**ckpt, "state_dict": {k: v.half() if v.is_floating_point() else v
                                       for k, v in ckpt["state_dict"].items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return path


def read_checkpoint_file(path: Path | str, expected_format: str, remedy: str) -> dict:
    """Read a faceleak checkpoint with ``weights_only=True`` and check its ``format``.

    Parameters
    ----------
    path
        The file.
    expected_format
        The ``format`` entry it must have, such as ``"faceleak-backbone/1"``.
    remedy
        What the user should do if it is not readable, appended to the error.

    Raises
    ------
    WeightsError
        If the file cannot be unpickled safely or is another kind of checkpoint.
    """
    with open(path, "rb") as fh:
        head = fh.read(256).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        raise WeightsError(f"{path} is a web page, not a checkpoint (a download saved the "
                           f"page instead of the file); {remedy}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        # torch's own message suggests weights_only=False, which would run arbitrary code
        # from an untrusted file: only its kind is reported.
        raise WeightsError(f"{path} is not a readable checkpoint ({type(exc).__name__}: it is "
                           f"truncated, corrupt or not a torch file); {remedy}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != expected_format:
        raise WeightsError(f"{path} is not a {expected_format} checkpoint; {remedy}")
    return ckpt


def checkpoint_meta(ckpt: dict, origin: str, path: Path | str) -> dict:
    """A checkpoint's metadata: everything but the weights, plus where it came from.

    ``origin`` is ``"cache"``, ``"package"`` or ``"trained now"``. ``path`` is the file
    as labs print it, relative to its root (``$FACELEAK_CACHE/...``, ``<faceleak
    package>/...``, ``~/...``: see :func:`faceleak.config.display_path`), and
    ``abspath`` the file itself.
    """
    meta = {k: v for k, v in ckpt.items() if k != "state_dict"}
    meta["origin"], meta["path"], meta["abspath"] = origin, display_path(path), str(path)
    return meta


def resolve_checkpoint(key: str, cache_path: Path, packaged_path: Path | None,
                       read: Callable[[Path], dict], make: Callable[[], dict] | None,
                       what: str, remedy: str) -> tuple[dict, dict]:
    """The one resolution order of every network the course trains: cache, package, make.

    Parameters
    ----------
    key
        Hash of everything the weights depend on (config, seed, training subjects); a file
        whose ``key`` differs is ignored, so a changed recipe is never served stale weights.
    cache_path
        Where the user's copy lives (``config.cache_dir()/...``); a made checkpoint is saved
        there.
    packaged_path
        The copy committed with the package, or None.
    read
        Reads and checks a file (raises :class:`WeightsError` when it is not one).
    make
        Trains (or converts) and returns a checkpoint dict with ``key``; None forbids it.
    what, remedy
        For the error when nothing matches and ``make`` is None.

    Returns
    -------
    checkpoint, meta
        The checkpoint (with its ``state_dict``) and :func:`checkpoint_meta`.
    """
    for candidate, origin in ((cache_path, "cache"), (packaged_path, "package")):
        if candidate is not None and candidate.is_file():
            ckpt = read(candidate)
            if ckpt.get("key") == key:
                return ckpt, checkpoint_meta(ckpt, origin, candidate)
    if make is None:
        raise WeightsError(f"No {what} for key {key} in {cache_path.parent} or the package; "
                           f"{remedy}")
    ckpt = make()
    if ckpt.get("key") != key:
        raise RuntimeError(f"made a checkpoint with key {ckpt.get('key')}, expected {key}")
    save_checkpoint(ckpt, cache_path)
    return ckpt, checkpoint_meta(ckpt, "trained now", cache_path)

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
from dataclasses import dataclass
from pathlib import Path

import torch


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
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise WeightsError(f"{path} is not a readable checkpoint "
                           f"({type(exc).__name__}: {exc}); {remedy}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != expected_format:
        raise WeightsError(f"{path} is not a {expected_format} checkpoint; {remedy}")
    return ckpt

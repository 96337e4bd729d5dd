"""Embedding backbones.

Pretrained FaceNet (facenet-pytorch's ``InceptionResnetV1``) is loaded from the torch
cache, ``$TORCH_HOME/checkpoints``, exactly where facenet-pytorch itself keeps it, with
``weights_only=True`` and a SHA-256 check. Offline, where the weights cannot be
downloaded, the loader stops with an error that says where to put the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from . import compat, config


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
FACENET_INPUT_SIZE = (160, 160)


def torch_home() -> Path:
    """facenet-pytorch's cache root: ``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``."""
    return Path(os.path.expanduser(os.getenv(
        "TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))))


def facenet_checkpoint_path(pretrained: str) -> Path:
    """Where the loader looks for (and facenet-pytorch downloads) a checkpoint."""
    return torch_home() / "checkpoints" / _weights_info(pretrained).filename


def _weights_info(pretrained: str) -> FacenetWeights:
    try:
        return FACENET_WEIGHTS[pretrained]
    except KeyError:
        raise ValueError(f"Unknown facenet weights {pretrained!r}; "
                         f"use one of {sorted(FACENET_WEIGHTS)}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _pinned_sha256(info: FacenetWeights, actual: str) -> str:
    """Expected SHA-256: the published one, or the one recorded the first time it loaded."""
    if info.sha256 is not None:
        return info.sha256
    pins_file = config.cache_dir() / "weights_sha256.json"
    pins = json.loads(pins_file.read_text()) if pins_file.is_file() else {}
    if info.filename not in pins:
        pins[info.filename] = actual
        pins_file.write_text(json.dumps(pins, indent=1))
    return pins[info.filename]


def _download(info: FacenetWeights, target: Path) -> None:
    compat.ensure_facenet_importable()
    from facenet_pytorch.models.utils.download import download_url_to_file

    target.parent.mkdir(parents=True, exist_ok=True)
    download_url_to_file(info.url, str(target))


def load_facenet(
    pretrained: str = "vggface2",
    device: str | None = None,
    download: bool = True,
) -> torch.nn.Module:
    """Load facenet-pytorch's ``InceptionResnetV1`` with pretrained weights, in eval mode.

    Parameters
    ----------
    pretrained
        ``"vggface2"`` or ``"casia-webface"``.
    device
        Torch device; by default :func:`faceleak.config.device`.
    download
        Try to download the checkpoint when it is not in the cache (as on Colab).

    Returns
    -------
    torch.nn.Module
        The model, producing L2-normalised 512-d embeddings from 160x160 RGB faces
        standardised to [-1, 1].

    Raises
    ------
    WeightsError
        If the checkpoint is absent and cannot be downloaded, is not a valid torch file
        (e.g. an HTML error page saved as weights), fails the SHA-256 check, or does not
        fit the architecture. The message names the file and where to put it.
    """
    info = _weights_info(pretrained)
    path = facenet_checkpoint_path(pretrained)
    if not path.is_file():
        if download:
            try:
                _download(info, path)
            except Exception as exc:  # noqa: BLE001 - any network failure means the same thing
                raise WeightsError(_missing_message(info, path, exc)) from exc
        else:
            raise WeightsError(_missing_message(info, path, None))
    actual = _sha256(path)
    expected = _pinned_sha256(info, actual)
    if actual != expected:
        raise WeightsError(
            f"{path} has SHA-256 {actual}, expected {expected}: the file is corrupt, truncated "
            f"or not the published {info.name} checkpoint. Delete it and download "
            f"{info.url} again."
        )
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip and EOF errors all mean "not weights"
        raise WeightsError(
            f"{path} is not a loadable torch checkpoint ({type(exc).__name__}: {exc}). "
            f"An HTML page or a partial download saved under that name does this: delete it "
            f"and download {info.url} again."
        ) from exc
    if not isinstance(state_dict, dict):
        raise WeightsError(f"{path} holds a {type(state_dict).__name__}, not a state dict.")

    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    # The published files carry the classifier of their training set; keep it so that
    # loading is strict and a file for another architecture is rejected.
    model.logits = torch.nn.Linear(512, info.num_classes)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path} does not fit InceptionResnetV1 ({info.name}): {exc}") from exc
    return model.eval().to(device or config.device())


def _missing_message(info: FacenetWeights, path: Path, exc: Exception | None) -> str:
    why = f" Download failed: {type(exc).__name__}: {exc}." if exc is not None else ""
    return (
        f"Pretrained facenet weights '{info.name}' are not available.{why} "
        f"Download {info.url} on a machine with internet access and put it at {path} "
        f"(set TORCH_HOME to use another cache folder). Offline, use the course's own "
        "backbone trained on Extended Yale B instead."
    )

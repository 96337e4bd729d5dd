"""dlib's face-recognition ResNet (128-d) as a forward-only backbone: the course's black box.

The model is Davis King's ``dlib_face_recognition_resnet_model_v1`` (a 29-layer ResNet,
99.38% on LFW), shipped with its 5-point landmark model by the registry package
``face-recognition-models`` (CC0) and run by ``dlib`` (prebuilt wheels: ``dlib-bin``).
dlib computes no gradients, so an attacker only *queries* it: the honest model of a
vendor's matcher behind an API.

**Alignment, stated.** dlib's recognizer expects the face *chip* that ``dlib.get_face_chip``
cuts from an image given five landmarks (eye corners and nose). The course's images are
already cropped faces, so the face box handed to the 5-point shape predictor is the whole
crop; the predictor places the landmarks, and the chip (150x150, padding 0.25) is rotated
and scaled so that the eyes sit where dlib's training faces had them. Grayscale crops are
repeated to three channels. That alignment undoes in-plane rotation and scale, which is
what Chapter 2's nuisance dial then measures.

The package ``face_recognition_models`` is never imported: its ``__init__`` needs
``pkg_resources``, which current setuptools no longer ships. Its files are found with
:func:`importlib.util.find_spec`, which locates a package without running it.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceleak.vision.checkpoints import WeightsError
from faceleak.vision.data import sha256_file

#: The two model files of ``face-recognition-models`` 0.3.0 that the backbone needs, with
#: their SHA-256 (computed from the registry's sdist).
DLIB_FILES: dict[str, str] = {
    "dlib_face_recognition_resnet_model_v1.dat":
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "shape_predictor_5_face_landmarks.dat":
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
}
CHIP_SIZE = 150
CHIP_PADDING = 0.25
EMBEDDING_DIM = 128
INSTALL_HINT = "pip install dlib-bin face-recognition-models"
#: Worker processes for large batches (dlib uses one core per process); 1 runs in-process.
WORKERS_ENV = "FACELEAK_DLIB_WORKERS"
#: Batches smaller than this run in-process: starting the pool costs about a second.
POOL_MIN_BATCH = 8


class BlackBoxError(RuntimeError):
    """A gradient was asked of dlib's network, which has none."""


@dataclass(frozen=True)
class DlibModelFiles:
    """Where the recognizer and the landmark model are, with their combined fingerprint."""

    recognizer: Path
    landmarks: Path
    fingerprint: str


def models_folder() -> Path:
    """The ``models`` folder of the installed ``face-recognition-models``.

    Raises
    ------
    WeightsError
        If the package is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "dlib's face-recognition model files are not installed: the backbone "
            f"'dlib-resnet' needs the package face-recognition-models. Run `{INSTALL_HINT}` "
            "(on Colab, in a cell: %pip install -q dlib-bin face-recognition-models).")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def check_model_files(folder: Path | None = None) -> DlibModelFiles:
    """Find dlib's two model files and verify their SHA-256.

    Parameters
    ----------
    folder
        Where the ``.dat`` files are; by default :func:`models_folder`.

    Raises
    ------
    WeightsError
        A file is missing, is an HTML page or a truncated download, or has another SHA-256.
    """
    folder = folder if folder is not None else models_folder()
    found: dict[str, Path] = {}
    for name, expected in DLIB_FILES.items():
        path = Path(folder) / name
        if not path.is_file():
            raise WeightsError(f"{path} is missing: the installation of face-recognition-models "
                               f"is incomplete. Reinstall it: `pip install --force-reinstall "
                               f"--no-deps face-recognition-models`.")
        with open(path, "rb") as fh:
            head = fh.read(512).lstrip().lower()
        if head.startswith((b"<!doctype", b"<html")):
            raise WeightsError(f"{path} is an HTML page, not dlib model weights (a download "
                               "that saved an error page). Delete it and reinstall "
                               "face-recognition-models.")
        actual = sha256_file(path)
        if actual != expected:
            raise WeightsError(f"{path} has SHA-256 {actual}, expected {expected}: the file is "
                               "corrupt, truncated or another version. Reinstall "
                               "face-recognition-models (`pip install --force-reinstall "
                               "--no-deps face-recognition-models==0.3.0`).")
        found[name] = path
    fingerprint = hashlib.sha256("".join(DLIB_FILES.values()).encode()).hexdigest()[:16]
    return DlibModelFiles(found["dlib_face_recognition_resnet_model_v1.dat"],
                          found["shape_predictor_5_face_landmarks.dat"], fingerprint)


def _import_dlib():
    try:
        import dlib
    except ImportError as exc:
        raise WeightsError(f"dlib is not installed, so 'dlib-resnet' cannot run. Run "
                           f"`{INSTALL_HINT}` (dlib-bin has prebuilt wheels for CPython "
                           "3.11 and 3.12; elsewhere `pip install dlib` compiles it).") from exc
    return dlib


class DlibResNet(torch.nn.Module):
    """dlib's 128-d face descriptor behind the same call as the course's torch backbones.

    ``forward`` takes a float tensor (N, 3, H, W) with values on the 0-255 scale (what
    :data:`DLIB_SPEC` prepares), aligns each face (see the module docstring) and returns
    the (N, 128) descriptors. It is forward only: an input that requires a gradient
    raises :class:`BlackBoxError`.

    Parameters
    ----------
    files
        The model files, by default :func:`check_model_files`.
    """

    def __init__(self, files: DlibModelFiles | None = None):
        super().__init__()
        dlib = _import_dlib()
        self.files = files or check_model_files()
        try:
            self._landmarks = dlib.shape_predictor(str(self.files.landmarks))
            self._recognizer = dlib.face_recognition_model_v1(str(self.files.recognizer))
        except RuntimeError as exc:
            raise WeightsError(f"dlib could not read its model files in "
                               f"{self.files.recognizer.parent} ({exc}). Reinstall "
                               "face-recognition-models.") from exc
        #: What :func:`faceleak.vision.embed.weights_hash` uses, since dlib's weights are not
        #: torch parameters.
        self.weights_fingerprint = f"dlib-{self.files.fingerprint}"
        # An empty buffer, so that "which device is this model on" has an answer.
        self.register_buffer("_device_anchor", torch.zeros(0), persistent=False)

    def chips(self, images: np.ndarray) -> list[np.ndarray]:
        """The aligned 150x150 RGB chips dlib's network sees, for (N, H, W, 3) uint8 images."""
        dlib = _import_dlib()
        out = []
        for image in images:
            image = np.ascontiguousarray(image)
            box = dlib.rectangle(0, 0, image.shape[1] - 1, image.shape[0] - 1)
            shape = self._landmarks(image, box)
            out.append(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
        return out

    def describe(self, pixels: np.ndarray) -> np.ndarray:
        """Descriptors (N, 128) of (N, H, W, 3) uint8 faces, in worker processes if worth it."""
        workers = dlib_workers()
        if workers > 1 and len(pixels) >= POOL_MIN_BATCH:
            from concurrent.futures.process import BrokenProcessPool

            from faceleak.vision import _dlib_worker

            pool = _pool(self.files, workers)
            parts = np.array_split(pixels, workers)
            try:
                return np.concatenate(list(pool.map(_dlib_worker.describe, parts)))
            except BrokenProcessPool:
                # A spawned worker re-imports the main script; one that cannot be re-imported
                # (code piped on standard input) kills it. Same numbers, one core.
                _close_pools()
                os.environ[WORKERS_ENV] = "1"
                warnings.warn("dlib's worker processes could not start; running dlib in this "
                              f"process (set {WORKERS_ENV}=1 to skip the attempt)", stacklevel=2)
        chips = self.chips(pixels)
        if not chips:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.asarray(self._recognizer.compute_face_descriptor(chips), dtype=np.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.requires_grad:
            raise BlackBoxError("dlib-resnet is a black box: it gives no gradients. Attack it "
                                "with queries, or use facenet-casia for white-box attacks.")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) images on the 0-255 scale, got "
                             f"{tuple(x.shape)}")
        pixels = (x.detach().float().cpu().clamp(0, 255).round().to(torch.uint8)
                  .permute(0, 2, 3, 1).numpy())
        return torch.as_tensor(self.describe(pixels)).to(x.device)


def dlib_workers() -> int:
    """Worker processes for dlib: ``FACELEAK_DLIB_WORKERS``, else one per CPU core."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{WORKERS_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


_POOLS: dict = {}


def _pool(files: DlibModelFiles, workers: int):
    """One spawned pool per (model files, size) and process, shut down at exit."""
    import concurrent.futures
    import multiprocessing

    from faceleak.vision import _dlib_worker

    key = (files.recognizer, files.landmarks, workers)
    if key not in _POOLS:
        # spawn, not fork: the parent may hold torch's thread pools, which fork would copy.
        _POOLS[key] = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_dlib_worker.start,
            initargs=(str(files.landmarks), str(files.recognizer), CHIP_SIZE, CHIP_PADDING))
    return _POOLS[key]


@atexit.register
def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _POOLS.clear()


def load_dlib_resnet() -> DlibResNet:
    """The checked dlib backbone (eval mode). WeightsError, saying what to do, if absent."""
    return DlibResNet().eval()

"""Worker side of :class:`faceleak.vision.dlib_resnet.DlibResNet`'s process pool.

dlib's descriptor runs on one core and holds the GIL, so threads do not help; processes do
(1.75x on two cores). This module imports only NumPy and dlib, so a spawned worker starts in
about a second and never imports torch.
"""

from __future__ import annotations

import signal

import numpy as np

_MODELS: dict = {}


def start(landmarks: str, recognizer: str, chip_size: int, padding: float) -> None:
    """Load dlib's two models once per worker process.

    The worker ignores Ctrl-C: an interrupt (or a Jupyter kernel shutting down) reaches the
    parent, which shuts the pool down; a worker that also caught it would print a
    traceback from inside its idle queue read.
    """
    import dlib

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    _MODELS.update(landmarks=dlib.shape_predictor(landmarks),
                   recognizer=dlib.face_recognition_model_v1(recognizer),
                   chip_size=chip_size, padding=padding)


def describe(images: np.ndarray) -> np.ndarray:
    """Descriptors (N, 128) of (N, H, W, 3) uint8 faces: 5 landmarks on the whole crop, chip."""
    import dlib

    chips = []
    for image in images:
        image = np.ascontiguousarray(image)
        box = dlib.rectangle(0, 0, image.shape[1] - 1, image.shape[0] - 1)
        chips.append(dlib.get_face_chip(image, _MODELS["landmarks"](image, box),
                                        size=_MODELS["chip_size"], padding=_MODELS["padding"]))
    if not chips:
        return np.zeros((0, 128), np.float32)
    return np.asarray(_MODELS["recognizer"].compute_face_descriptor(chips), dtype=np.float32)

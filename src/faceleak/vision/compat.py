"""Make facenet-pytorch importable where torchvision is not.

facenet-pytorch imports torchvision for two things only, both in MTCNN's
``detect_face``: ``torchvision.ops.boxes.batched_nms`` and
``torchvision.transforms.functional.to_tensor``. For torch 2.13 the only torchvision
wheels are CUDA builds, which fail to import next to the CPU torch
(``operator torchvision::nms does not exist``). :func:`ensure_facenet_importable` uses
the real torchvision when it imports, and otherwise registers a minimal pure-torch
stand-in providing exactly those two functions, under a module marked
``__faceleak_standin__ = True`` so that nothing mistakes it for the real package.
"""

from __future__ import annotations

import sys
import types
from typing import Literal

import numpy as np
import torch

Backend = Literal["torchvision", "faceleak-standin"]
_STANDIN_MODULES = (
    "torchvision",
    "torchvision.ops",
    "torchvision.ops.boxes",
    "torchvision.transforms",
    "torchvision.transforms.functional",
)


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of boxes given as (x1, y1, x2, y2); shape (N, M)."""
    area1 = (boxes1[:, 2] - boxes1[:, 0]).clamp(min=0) * (boxes1[:, 3] - boxes1[:, 1]).clamp(min=0)
    area2 = (boxes2[:, 2] - boxes2[:, 0]).clamp(min=0) * (boxes2[:, 3] - boxes2[:, 1]).clamp(min=0)
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(union))


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy non-maximum suppression with torchvision's semantics.

    Keeps boxes in decreasing score order, discarding any box whose IoU with an already
    kept box is strictly greater than ``iou_threshold``. Returns kept indices (int64),
    sorted by decreasing score.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    iou = box_iou(boxes[order], boxes[order])
    n = order.numel()
    suppressed = torch.zeros(n, dtype=torch.bool, device=boxes.device)
    keep: list[int] = []
    # The loop is over kept boxes only; each step suppresses a whole row at once.
    for i in range(n):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """NMS applied independently per category ``idxs`` (torchvision's offset trick)."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    # Shift each category's boxes far apart so that boxes of different categories never overlap.
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def to_tensor(pic) -> torch.Tensor:
    """``torchvision.transforms.functional.to_tensor`` for PIL images and ndarrays.

    HWC (or HW) becomes CHW; ``uint8`` input is scaled to [0, 1], other dtypes are kept,
    as torchvision does.
    """
    if isinstance(pic, np.ndarray):
        array = pic
    else:
        try:
            from PIL import Image
        except ImportError as exc:  # pragma: no cover - pillow is a dependency
            raise TypeError(f"Unsupported input type {type(pic)}") from exc
        if not isinstance(pic, Image.Image):
            raise TypeError(f"pic should be a PIL Image or ndarray, got {type(pic)}")
        array = np.array(pic, copy=True)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"pic should be 2 or 3 dimensional, got {array.ndim} dimensions")
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
    if tensor.dtype == torch.uint8:
        return tensor.to(torch.float32).div(255)
    return tensor


def _real_torchvision_works() -> bool:
    try:
        from torchvision.ops.boxes import batched_nms as real_batched_nms
        from torchvision.transforms.functional import to_tensor as real_to_tensor  # noqa: F401
    except Exception:  # noqa: BLE001 - a broken CUDA build raises RuntimeError, not ImportError
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        return False
    probe = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    try:
        real_batched_nms(probe, torch.ones(1), torch.zeros(1), 0.5)
    except Exception:  # noqa: BLE001
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        return False
    return True


def _install_standin() -> None:
    modules = {name: types.ModuleType(name) for name in _STANDIN_MODULES}
    for name, module in modules.items():
        module.__faceleak_standin__ = True  # type: ignore[attr-defined]
        module.__doc__ = "faceleak stand-in for the torchvision pieces facenet-pytorch uses."
        sys.modules[name] = module
    modules["torchvision.ops.boxes"].batched_nms = batched_nms  # type: ignore[attr-defined]
    modules["torchvision.ops.boxes"].nms = nms  # type: ignore[attr-defined]
    modules["torchvision.ops"].batched_nms = batched_nms  # type: ignore[attr-defined]
    modules["torchvision.ops"].nms = nms  # type: ignore[attr-defined]
    modules["torchvision.ops"].boxes = modules["torchvision.ops.boxes"]  # type: ignore[attr-defined]
    modules["torchvision.transforms.functional"].to_tensor = to_tensor  # type: ignore[attr-defined]
    modules["torchvision.transforms"].functional = modules["torchvision.transforms.functional"]  # type: ignore[attr-defined]
    modules["torchvision"].ops = modules["torchvision.ops"]  # type: ignore[attr-defined]
    modules["torchvision"].transforms = modules["torchvision.transforms"]  # type: ignore[attr-defined]


def torchvision_backend() -> Backend:
    """Which implementation ``torchvision`` currently resolves to."""
    module = sys.modules.get("torchvision")
    if module is not None and getattr(module, "__faceleak_standin__", False):
        return "faceleak-standin"
    return "torchvision"


def ensure_facenet_importable() -> Backend:
    """Make ``import facenet_pytorch`` work and say which torchvision backs it.

    Returns
    -------
    Backend
        ``"torchvision"`` if the real package works, else ``"faceleak-standin"``.
    """
    module = sys.modules.get("torchvision")
    if module is not None:
        return torchvision_backend()
    if _real_torchvision_works():
        return "torchvision"
    _install_standin()
    return "faceleak-standin"

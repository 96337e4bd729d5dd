"""Face detection as a lesson: how often MTCNN finds the faces of Extended Yale B.

A recognition pipeline starts with a detector. Run facenet-pytorch's MTCNN (Zhang et al.,
2016) on the *already cropped* Yale B faces and it misses most of them: the crops are
tight (no forehead or chin margin), and under side light half the face is black. Padding
the crop helps, but the misses stay concentrated under strong side light, so whoever is
photographed in bad light is less likely to be enrolled or recognised at all. The course
therefore uses the aligned crops directly, and reports the detector's failure as a
robustness and fairness finding rather than hiding it.

Results are cached on disk (``cache_dir()/detection``) keyed by the pixels and settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from faceleak import config
from faceleak.vision import compat, data
from faceleak.vision.data import FaceSet


@dataclass(frozen=True)
class DetectionSetting:
    """How the image is shown to the detector.

    Attributes
    ----------
    name
        Label used in tables and figures.
    pad
        Border added on every side, as a fraction of the image width (0 = the bare crop).
    pad_value
        Gray level of the border (0-255); black is what a face on a dark background
        looks like.
    """

    name: str
    pad: float = 0.0
    pad_value: int = 0


DEFAULT_SETTINGS = (
    DetectionSetting("cropped face as is", 0.0),
    DetectionSetting("padded by 25% (black border)", 0.25, 0),
)


def _mtcnn(device: str | None = None):
    compat.ensure_facenet_importable()
    from facenet_pytorch import MTCNN

    # Library defaults (min face 20 px, thresholds 0.6/0.7/0.7): what a practitioner gets.
    return MTCNN(keep_all=False, device=device or "cpu")


def _to_rgb_uint8(images: np.ndarray, setting: DetectionSetting) -> np.ndarray:
    rgb = np.repeat((np.clip(images, 0, 1) * 255).round().astype(np.uint8)[..., None], 3, -1)
    p = int(round(setting.pad * images.shape[2]))
    if p:
        rgb = np.pad(rgb, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=setting.pad_value)
    return rgb


def _cache_file(faces: FaceSet, settings: tuple[DetectionSetting, ...]):
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(faces.images, dtype=np.float32).tobytes())
    digest.update("\n".join(map(str, faces.names)).encode())
    digest.update(json.dumps([asdict(s) for s in settings]).encode())
    return config.cache_dir() / "detection" / f"mtcnn-{digest.hexdigest()[:16]}.csv"


def detect_faces(
    faces: FaceSet,
    settings: tuple[DetectionSetting, ...] = DEFAULT_SETTINGS,
    batch_size: int = 32,
    device: str | None = None,
    progress: bool = True,
    use_cache: bool = True,
):
    """Run MTCNN on every image under each setting and record whether a face was found.

    Parameters
    ----------
    faces
        Face crops; the native 192x168 crops give the numbers quoted in the course (the
        64x56 compact copy is upsampled 3x first, so its numbers differ a little).
    settings
        Ways of presenting the crop (bare, padded).
    batch_size
        Images per MTCNN call (all images in a batch have one size).
    device, progress, use_cache
        Torch device, tqdm bar, and whether to read/write the on-disk cache.

    Returns
    -------
    pandas.DataFrame
        One row per image and setting: ``name``, ``subject``, ``azimuth``, ``elevation``,
        ``setting``, ``detected`` (bool) and ``probability`` (NaN when nothing was found).
    """
    if len(faces) == 0:
        raise ValueError("no faces to detect")
    images = faces.images
    if images.shape[1] < 100:  # MTCNN's smallest face is 20 px: give it the native scale

        images = F.interpolate(torch.from_numpy(images)[:, None], scale_factor=3,
                               mode="bilinear", align_corners=False)[:, 0].numpy()
    path = _cache_file(faces, settings)
    if use_cache and path.is_file():
        return pd.read_csv(path)
    detector = _mtcnn(device)
    rows = []
    todo = [(s, b) for s in settings for b in range(0, len(images), batch_size)]
    todo = tqdm(todo, desc="MTCNN", unit="batch", leave=False,
                disable=not (progress and config.progress_bars_enabled()))
    for setting, start in todo:
        batch = _to_rgb_uint8(images[start:start + batch_size], setting)
        _, probs = detector.detect(list(batch))
        for k, prob in enumerate(probs):
            i = start + k
            p = np.nan if prob is None or (np.ndim(prob) and prob[0] is None) else \
                float(np.ravel(prob)[0])
            rows.append({"name": faces.names[i], "subject": faces.subjects[i],
                         "azimuth": faces.azimuth[i], "elevation": faces.elevation[i],
                         "setting": setting.name, "detected": bool(np.isfinite(p)),
                         "probability": p})
    table = pd.DataFrame(rows)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False)
    return table


def light_group(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """Name the light direction: frontal, moderate or strong side/overhead light.

    Angles from the camera axis ``max(|azimuth|, |elevation|)``: up to 25 degrees is
    "frontal", up to 60 "moderate", beyond that "extreme".
    """
    angle = np.maximum(np.abs(np.asarray(azimuth, float)), np.abs(np.asarray(elevation, float)))
    return np.where(angle <= 25, "frontal (<=25 deg)",
                    np.where(angle <= 60, "moderate (26-60 deg)", "extreme (>60 deg)"))


def summarize(table):
    """Detection rate per setting, overall and per light group (a DataFrame, rates in [0, 1])."""
    table = table.assign(light=light_group(table["azimuth"], table["elevation"]))
    overall = table.groupby("setting", sort=False)["detected"].mean().rename("all lights")
    by_light = table.pivot_table(index="setting", columns="light", values="detected",
                                 aggfunc="mean", sort=False)
    order = ["frontal (<=25 deg)", "moderate (26-60 deg)", "extreme (>60 deg)"]
    out = pd.concat([overall, by_light[[c for c in order if c in by_light]]], axis=1)
    out["images"] = table.groupby("setting", sort=False).size()
    return out


AZIMUTH_BINS = (0, 17, 40, 75, 100, 135)
AZIMUTH_LABELS = ("0-15", "20-35", "50-70", "85-95", "110-130")


def rates_by_azimuth(table):
    """Detection rate per setting and |light azimuth| band (left and right light pooled).

    Returns a DataFrame with columns ``setting``, ``azimuth`` (the band, e.g. ``"50-70"``),
    ``rate`` and ``n``. Bands pool neighbouring azimuths so that each rate rests on many
    images.
    """
    band = pd.cut(table["azimuth"].abs(), AZIMUTH_BINS, labels=AZIMUTH_LABELS,
                  include_lowest=True)
    grouped = table.assign(azimuth=band).groupby(["setting", "azimuth"], sort=False,
                                                  observed=True)["detected"]
    out = grouped.agg(rate="mean", n="size").reset_index()
    out["azimuth"] = out["azimuth"].astype(str)
    order = {label: k for k, label in enumerate(AZIMUTH_LABELS)}
    return out.sort_values(["setting", "azimuth"], key=lambda c: c.map(order)
                           if c.name == "azimuth" else c, kind="stable").reset_index(drop=True)


def load_for_detection(subjects=None) -> FaceSet:
    """Faces at the native 192x168 crop size when the full set is available.

    The embedded compact copy only has 64x56 crops; :func:`detect_faces` upsamples those,
    which makes detection slightly easier than on the real crops.
    """
    source = data.locate_data()
    size = data.CROP_SHAPE if source.kind != "compact" else data.COMPACT_SHAPE
    return data.load_faces(size, subjects=subjects, source=source)

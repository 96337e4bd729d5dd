"""Real pretrained recognizers next to the course's own network: data, embeddings, verification.

Chapters 1 and 2 compare three backbones on the same photos:

* ``facenet-casia``: FaceNet (Inception-ResNet-v1, 512-d) trained on CASIA-WebFace, white box;
* ``dlib-resnet``: dlib's ResNet (128-d), a black box;
* ``yale-cosface``: the course's own network, trained on the 28 training subjects.

The real recognizers never saw Extended Yale B, so every subject is new to them; the course's
network is evaluated on the held-out subjects of its split only, and so, for a fair comparison,
are the other two.

**Data.** The real recognizers get the full-resolution 192x168 crops where the full set is
present (locally and in CI), and the embedded 64x56 compact copy otherwise (Colab without the
full set); :func:`describe_real_faces` says which. The course's network always takes 64x56.

**Quick mode embeds a documented subset.** dlib embeds about 8-9 images a second on two
CPU cores, so the quick mode (CI, the book) uses 12 of the 64 light directions for every
subject (:func:`light_subset`: evenly spaced through the directions sorted by azimuth, then
elevation), 456 images in all. Full mode embeds every image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import RealFacesPlan, RunPlan
from faceleak.vision import data, detection, embed, metrics, models
from faceleak.vision.models import REAL_BACKBONES

__all__ = ["REAL_BACKBONES", "FARS", "RealFacesPlan", "VerificationRow", "backbone_input",
           "describe_real_faces", "downsized", "light_subset", "load_real_faces", "moderate_light",
           "native_size", "real_faces_plan", "recognizer_embeddings", "verification_comparison"]

#: The two false accept rates Chapter 1 reports.
FARS = (1e-2, 1e-3)
#: "Moderate light" is Lab 1's frontal and moderate groups together: the light at most 60
#: degrees from the camera axis in azimuth and in elevation (:func:`detection.light_group`).
MODERATE_MAX_DEG = 60


def real_faces_plan(plan: RunPlan | str | None = None) -> RealFacesPlan:
    """Which photos the real recognizers embed: the run plan's ``real_faces``.

    A mode name (or None) resolves a plan first, for callers that have none.
    """
    return (plan if isinstance(plan, RunPlan) else plan_mod.resolve_plan(plan)).real_faces


def light_subset(azimuth: np.ndarray, elevation: np.ndarray, n_lights: int | None) -> np.ndarray:
    """Boolean mask of the photos lit from ``n_lights`` evenly spaced directions.

    The distinct (azimuth, elevation) pairs are sorted by azimuth, then elevation, and
    ``n_lights`` of them are taken at evenly spaced ranks, so the subset spans the whole
    range from left to right. ``None`` keeps every photo.
    """
    azimuth, elevation = np.asarray(azimuth, float), np.asarray(elevation, float)
    if n_lights is None:
        return np.ones(len(azimuth), bool)
    directions = sorted(set(zip(azimuth.tolist(), elevation.tolist(), strict=True)))
    if not 1 <= n_lights <= len(directions):
        raise ValueError(f"n_lights must be between 1 and {len(directions)}, got {n_lights}")
    ranks = np.unique(np.linspace(0, len(directions) - 1, n_lights).round().astype(int))
    chosen = {directions[r] for r in ranks}
    return np.array([(a, e) in chosen for a, e in zip(azimuth, elevation, strict=True)])


def native_size(source: data.DataSource) -> tuple[int, int]:
    """The largest size a data source gives: 192x168 for the full set, 64x56 for the copy."""
    return data.COMPACT_SHAPE if source.kind == "compact" else data.CROP_SHAPE


def load_real_faces(plan: RunPlan | str | None = None,
                    source: data.DataSource | None = None) -> tuple[data.FaceSet, data.FaceSet]:
    """The photos of a run's plan, at native resolution and at the course's size.

    Returns
    -------
    native, course
        The same photos (same order) at :func:`native_size`, for the real recognizers, and
        at the course's 64x56, for the course's network and the pixel baseline.
    """
    plan = plan if isinstance(plan, RunPlan) else plan_mod.resolve_plan(plan)
    src = source or data.locate_data()
    native = data.load_faces(native_size(src), source=src)
    native = native.subset(light_subset(native.azimuth, native.elevation,
                                        plan.real_faces.lights_per_subject))
    return native, downsized(native, plan.image_size)


def downsized(faces: data.FaceSet, size: tuple[int, int]) -> data.FaceSet:
    """The same photos at a smaller ``size``, as :func:`faceleak.vision.data.load_faces` gives.

    The data are read once: each photo's 8-bit pixels go through the box filter that
    ``load_faces`` applies to each crop, so the result equals a second read at ``size``.
    """
    if tuple(faces.images.shape[1:]) == tuple(size):
        return faces
    pixels = np.rint(faces.images * 255.0).astype(np.uint8)
    small = [data.resize(image, tuple(size)) for image in pixels]
    images = (np.stack(small).astype(np.float32) / 255.0 if small
              else np.zeros((0, *size), np.float32))
    return dataclasses.replace(faces, images=images)


def describe_real_faces(native: data.FaceSet, plan: RunPlan | str | None = None) -> str:
    """One line for a lab: which photos, at which size, from which source."""
    real = real_faces_plan(plan)
    height, width = native.images.shape[1:]
    kind = "full-resolution crops" if native.source.kind != "compact" else "compact copy"
    return (f"{len(native)} photos of {len(native.subject_names)} subjects, {height}x{width} "
            f"{kind}; {real.describe()}")


def backbone_input(backbone: str, native: data.FaceSet, course: data.FaceSet) -> data.FaceSet:
    """The photos a backbone takes: native resolution for a real recognizer, else 64x56."""
    return native if models.BACKBONES[backbone].is_pretrained else course


def recognizer_embeddings(backbone: str, faces: data.FaceSet, plan: RunPlan,
                          progress: bool = False, split: data.SubjectSplit | None = None
                          ) -> np.ndarray:
    """Embeddings of ``faces`` by any backbone, cached on disk.

    The real recognizers embed every photo once per data source (their cache key hashes
    their weights and the pixels). A course network is the one trained without ``split``'s
    held-out subjects (by default the split of seed 0).
    """
    info = models.BACKBONES[backbone]
    extra = ({"heldout_subjects": list(split.heldout)}
             if split is not None and not info.is_pretrained else {})
    model, spec = models.get_backbone(backbone, plan.backbones, seed=plan.seeds.backbone,
                                      device=plan.device, **extra)
    key = embed.cache_key_for(backbone, model, faces, plan.mode)
    batch = 32 if info.is_pretrained else 256
    return embed.embed_faces(model, spec, faces, batch_size=batch, cache_key=key,
                             progress=progress, channels_last=info.kind == "facenet")


def moderate_light(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """True where the light is frontal or moderate (Lab 1's groups; at most 60 degrees)."""
    return detection.light_group(azimuth, elevation) != "extreme (>60 deg)"


@dataclass(frozen=True)
class VerificationRow:
    """One backbone under one light condition."""

    backbone: str
    light: str
    eer: float
    eer_threshold: float
    tar: dict[float, float]
    tar_threshold: dict[float, float]
    auc: float
    n_genuine: int
    n_impostor: int

    def to_dict(self) -> dict:
        out = {"backbone": self.backbone, "light": self.light, "eer": self.eer,
               "eer_threshold": self.eer_threshold, "auc": self.auc,
               "n_genuine": self.n_genuine, "n_impostor": self.n_impostor}
        for far in sorted(self.tar, reverse=True):
            out[f"tar_at_far_{far:g}"] = self.tar[far]
            out[f"threshold_at_far_{far:g}"] = self.tar_threshold[far]
        return out


def verification_comparison(embeddings: Mapping[str, np.ndarray], faces: data.FaceSet,
                            rows: np.ndarray, fars: Sequence[float] = FARS
                            ) -> tuple[list[VerificationRow], dict]:
    """EER and TAR at each FAR of several backbones on the same photos, all and moderate light.

    Parameters
    ----------
    embeddings
        Backbone name -> (N, D) embeddings of ``faces`` (same order for every backbone).
    faces
        The photos (their subjects and light directions are used).
    rows
        Boolean mask or indices of the photos to evaluate (the held-out subjects).
    fars
        False accept rates for the TAR.

    Returns
    -------
    rows, curves
        One :class:`VerificationRow` per backbone and light condition (``"all light"``,
        ``"moderate light"``), and the ROC curve of each, keyed ``(backbone, light)``.
    """
    index = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
    subset = faces.subset(index)
    conditions = {"all light": np.ones(len(index), bool),
                  "moderate light": moderate_light(subset.azimuth, subset.elevation)}
    out, curves = [], {}
    for name, emb in embeddings.items():
        emb = np.asarray(emb)
        if len(emb) != len(faces):
            raise ValueError(f"{name}: {len(emb)} embeddings for {len(faces)} photos")
        for light, mask in conditions.items():
            labels = subset.labels[mask]
            genuine, impostor = metrics.genuine_impostor_scores(emb[index][mask], labels)
            eer, eer_threshold = metrics.eer(genuine, impostor)
            tars = {far: metrics.tar_at_far(genuine, impostor, far) for far in fars}
            curve = metrics.roc(genuine, impostor)
            curves[(name, light)] = curve
            out.append(VerificationRow(name, light, eer, eer_threshold,
                                       {f: t[0] for f, t in tars.items()},
                                       {f: t[1] for f, t in tars.items()}, curve.auc,
                                       genuine.size, impostor.size))
    return out, curves

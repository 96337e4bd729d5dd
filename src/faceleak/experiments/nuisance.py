"""A nuisance dial: how much of a known image transformation an identity embedding keeps.

Chapter 2 reads the *light* from face embeddings. Light is one nuisance the photo comes
with; this module turns others up and down on purpose. Each face is transformed at a graded
strength (rotated, zoomed, blurred, JPEG-compressed, brightened, contrast-changed or
mirrored), embedded, and a probe tries to read the strength back from the embedding. The
protocol is the house one of :mod:`faceleak.privacy.probes`:

* subject-disjoint: the probe is fitted on the training subjects' images and scored on the
  held-out subjects (:func:`faceleak.vision.data.split_subjects`), over several subject splits;
* next to two baselines on the same split: raw pixels (PCA fitted on the training rows only,
  then the same probes) and chance (the training mean, or the majority class);
* linear and MLP probes, each feature set reported with its better probe, as
  :func:`faceleak.privacy.probes.leakage_table` does;
* the leakage ratio (embedding score / pixel score) and a within-subject permutation test
  of the embedding's score on the first split.

One change: the pixel PCA keeps at most a quarter as many components as there are training
rows (:func:`pixel_components_for`), because the dial's quick run trains on about a hundred
images where the house baseline has thousands.

A ratio well below 1 says the recognizer discards the nuisance (it is *invariant* to it); a
ratio near or above 1 says a third party holding the embedding can read how the photo was
taken as well as from the photo itself. The pixel baseline sees the course's 64x56 copy
(box-filtered from the transformed crop), while dlib and FaceNet see the 192x168 crop: a
Gaussian blur of sigma <= 2 (at 192x168) or JPEG blocking is mostly gone at 64x56, so for
those factors the pixels score near zero and the ratio is large or undefined. There the
embedding's own score, against chance and its p-value, is the measurement to read.

The factors are declared once, in :data:`FACTORS`. Every transformation is deterministic,
takes and returns float32 images (N, H, W) in [0, 1] of the same shape, and rounds its
output to 8-bit levels, as a saved photo would be. Randomness enters only through the draw of
strengths in :func:`dial_images`, which is seeded.
"""

from __future__ import annotations

import io
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed
from PIL import Image, ImageEnhance
from skimage.filters import gaussian
from skimage.transform import SimilarityTransform, rotate, warp
from threadpoolctl import threadpool_limits

from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import RunPlan
from faceleak.privacy import probes
from faceleak.vision import data, embed, models

__all__ = [
    "FACTORS",
    "BASE_LIGHTS",
    "DialPlan",
    "DialSet",
    "Factor",
    "apply_factor",
    "base_image_indices",
    "course_pixels",
    "draw_strengths",
    "pixel_components_for",
    "dial_images",
    "dial_leakage",
    "dial_plan",
    "factor_table",
    "native_shape",
    "run_nuisance_dial",
]

# --------------------------------------------------------------------------- transforms
#
# Each transform maps ONE image (H, W) float in [0, 1] and a strength to an image of the same
# shape. ``pixel_scale`` is H / 192: strengths in pixels are given at the full crop's scale and
# multiplied by it, so the 64x56 compact copy gets the same blur relative to the face.


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def _rotate(image: np.ndarray, degrees: float, pixel_scale: float) -> np.ndarray:
    # Positive = counter-clockwise as displayed (scikit-image's convention), about the centre.
    # Borders repeat the edge pixel: "reflect" would mirror an eye or the chin into the corner,
    # a second partial face that a landmark detector may lock on to.
    return rotate(image, float(degrees), resize=False, order=1, mode="edge",
                  preserve_range=True)


def _zoom(image: np.ndarray, zoom: float, pixel_scale: float) -> np.ndarray:
    # Zoom about the image centre, keeping the frame: > 1 crops in (the face fills more of
    # the frame), < 1 zooms out (the face shrinks, the border repeats the edge pixel).
    h, w = image.shape
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    forward = (SimilarityTransform(translation=-centre) + SimilarityTransform(scale=float(zoom))
               + SimilarityTransform(translation=centre))
    # warp() takes the map from output to input coordinates: the inverse of the zoom.
    return warp(image, forward.inverse, order=1, mode="edge", preserve_range=True)


def _blur(image: np.ndarray, sigma: float, pixel_scale: float) -> np.ndarray:
    if sigma <= 0:
        return image.copy()
    return gaussian(image, sigma=float(sigma) * pixel_scale, mode="nearest",
                    preserve_range=True)


def _jpeg(image: np.ndarray, quality: float, pixel_scale: float) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(_to_uint8(image), mode="L").save(buffer, format="JPEG",
                                                     quality=int(round(quality)))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("L"), dtype=np.float32) / 255.0


def _brightness(image: np.ndarray, gain: float, pixel_scale: float) -> np.ndarray:
    # PIL's Brightness multiplies every pixel by the gain (an exposure change), clipped at 255.
    out = ImageEnhance.Brightness(Image.fromarray(_to_uint8(image), mode="L")).enhance(gain)
    return np.asarray(out, dtype=np.float32) / 255.0


def _contrast(image: np.ndarray, gain: float, pixel_scale: float) -> np.ndarray:
    # PIL's Contrast scales each pixel's distance to the image's mean grey by the gain: the
    # mean stays, the standard deviation is multiplied by the gain (up to clipping).
    out = ImageEnhance.Contrast(Image.fromarray(_to_uint8(image), mode="L")).enhance(gain)
    return np.asarray(out, dtype=np.float32) / 255.0


def _flip(image: np.ndarray, flipped: float, pixel_scale: float) -> np.ndarray:
    return np.fliplr(image).copy() if flipped >= 0.5 else image.copy()


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Factor:
    """One nuisance factor of the dial.

    Attributes
    ----------
    name
        Key in :data:`FACTORS`.
    levels
        The graded strengths that :func:`dial_images` draws from; :func:`apply_factor`
        accepts any strength between the lowest and the highest (flip: 0 or 1 only).
    unit
        Unit of the strength, as the target of the probe.
    task
        ``"regression"`` (scored by R²) or ``"classification"`` (scored by accuracy).
    transform
        ``transform(image, strength, pixel_scale) -> image`` on one (H, W) image.
    identity
        The strength that leaves the image unchanged.
    description
        One line for tables and figures.
    """

    name: str
    levels: tuple[float, ...]
    unit: str
    task: probes.Task
    transform: Callable[[np.ndarray, float, float], np.ndarray] = field(repr=False)
    identity: float
    description: str

    @property
    def low(self) -> float:
        return float(min(self.levels))

    @property
    def high(self) -> float:
        return float(max(self.levels))

    @property
    def metric(self) -> str:
        """``"r2"`` or ``"accuracy"``: the score the leakage ratio is computed from."""
        return "r2" if self.task == "regression" else "accuracy"

    def to_dict(self) -> dict:
        """JSON-serialisable description (without the function)."""
        return {"name": self.name, "levels": [float(v) for v in self.levels],
                "unit": self.unit, "task": self.task, "metric": self.metric,
                "identity": float(self.identity), "description": self.description}


def _geometric(low: float, high: float, n: int) -> tuple[float, ...]:
    # Zoom levels are spaced evenly in log scale, so 0.8 and 1.25 are equally far from 1.
    return tuple(float(round(v, 3)) for v in np.geomspace(low, high, n))


def _linear(low: float, high: float, n: int) -> tuple[float, ...]:
    return tuple(float(round(v, 3)) for v in np.linspace(low, high, n))


#: The dial: factor name -> :class:`Factor`. Blur sigmas are in pixels of the 192x168 crop.
FACTORS: dict[str, Factor] = {
    "rotation": Factor(
        "rotation", _linear(-20, 20, 9), "degrees (counter-clockwise)", "regression",
        _rotate, 0.0, "in-plane rotation about the image centre, edge-filled borders"),
    "zoom": Factor(
        "zoom", _geometric(0.8, 1.25, 7), "zoom factor (x)", "regression", _zoom, 1.0,
        "zoom about the image centre at a fixed frame (>1 crops in, <1 zooms out)"),
    "blur": Factor(
        "blur", _linear(0, 6, 7), "Gaussian sigma (pixels at 192x168)", "regression", _blur,
        0.0, "Gaussian blur; sigma scales with the image height"),
    "jpeg": Factor(
        "jpeg", (5.0, 10.0, 20.0, 35.0, 50.0, 75.0, 95.0), "JPEG quality (PIL)", "regression",
        _jpeg, 100.0, "JPEG compression and decompression with PIL at the given quality"),
    "brightness": Factor(
        "brightness", _linear(0.5, 1.5, 7), "exposure gain (x)", "regression", _brightness,
        1.0, "every pixel multiplied by the gain (PIL ImageEnhance.Brightness), clipped"),
    "contrast": Factor(
        "contrast", _linear(0.5, 1.5, 7), "contrast gain (x)", "regression", _contrast, 1.0,
        "distance to the image's mean grey scaled by the gain (PIL ImageEnhance.Contrast)"),
    "flip": Factor(
        "flip", (0.0, 1.0), "mirrored (0/1)", "classification", _flip, 0.0,
        "horizontal mirror image"),
}


def factor_table() -> list[dict]:
    """The factors of :data:`FACTORS` as JSON-serialisable rows (for a DataFrame)."""
    return [f.to_dict() for f in FACTORS.values()]


# --------------------------------------------------------------------------- validation


def _check_images(images: np.ndarray) -> np.ndarray:
    """The one place images are validated: (N, H, W), floating, finite, within [0, 1]."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be an array (N, H, W), got shape {images.shape}")
    if images.dtype.kind != "f":
        raise ValueError(f"images must be floating point in [0, 1], got dtype {images.dtype}")
    if images.size and not np.isfinite(images).all():
        raise ValueError("images contain NaN or infinite values")
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise ValueError(f"images must lie in [0, 1], got values in "
                         f"[{float(images.min()):.3g}, {float(images.max()):.3g}]")
    return images


def _check_factor(factor: str | Factor) -> Factor:
    if isinstance(factor, Factor):
        return factor
    try:
        return FACTORS[factor]
    except (KeyError, TypeError):
        raise ValueError(f"unknown factor {factor!r}; known factors: {list(FACTORS)}") from None


def _check_strengths(strengths: float | Sequence[float] | np.ndarray, n: int,
                     factor: Factor) -> np.ndarray:
    values = np.asarray(strengths, dtype=float)
    if values.ndim == 0:
        values = np.full(n, float(values))
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"strengths must be one number or one per image: {n} images but "
                         f"strengths of shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("strengths contain NaN or infinite values")
    if factor.task == "classification":
        bad = ~np.isin(values, factor.levels)
        if bad.any():
            raise ValueError(f"{factor.name} strengths must be one of {factor.levels}, got "
                             f"{values[bad][:3].tolist()}")
    else:
        lo, hi = min(factor.low, factor.identity), max(factor.high, factor.identity)
        bad = (values < lo) | (values > hi)
        if bad.any():
            raise ValueError(f"{factor.name} strengths must lie in [{lo:g}, {hi:g}] "
                             f"({factor.unit}), got {values[bad][:3].tolist()}")
    return values


def _check_factor_names(names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(names)
    if not names:
        raise ValueError("the dial needs at least one factor")
    for name in names:
        _check_factor(name)
    if len(set(names)) != len(names):
        raise ValueError(f"factors repeat: {names}")
    return names


def apply_factor(images: np.ndarray, factor: str | Factor,
                 strengths: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Transform each image by one factor at its own strength.

    Parameters
    ----------
    images
        float array (N, H, W) with values in [0, 1].
    factor
        A name from :data:`FACTORS` (or a :class:`Factor`).
    strengths
        One strength per image, or one for all, in the factor's unit and range (flip: 0
        or 1). Pixel-valued strengths (blur sigma) are at the 192x168 scale and are scaled
        by ``H / 192`` for smaller images.

    Returns
    -------
    numpy.ndarray
        float32 (N, H, W) in [0, 1], rounded to 8-bit levels; the input is not modified.

    Raises
    ------
    ValueError
        Unknown factor, strengths of the wrong length or out of range, images that are not
        (N, H, W) floats in [0, 1].
    """
    images = _check_images(images)
    spec = _check_factor(factor)
    values = _check_strengths(strengths, len(images), spec)
    pixel_scale = images.shape[1] / data.CROP_SHAPE[0]
    out = np.empty(images.shape, dtype=np.float32)
    for i, (image, strength) in enumerate(zip(images, values, strict=True)):
        result = spec.transform(np.asarray(image, dtype=np.float64), float(strength),
                                pixel_scale)
        # Round to 8-bit levels as a saved photo would be: otherwise the identity level
        # (exact 8-bit values) would be recognisable from its pixels' quantisation alone.
        out[i] = np.round(np.clip(result, 0.0, 1.0) * 255.0) / 255.0
    return out


# --------------------------------------------------------------------------- plan


#: Lights of the base images, in order of preference (azimuth, elevation in degrees): frontal
#: first, then near-frontal in mirror pairs. Every other subject takes the pairs mirrored
#: (A-010 before A+010), so that "light from the left" is not tied to "mirrored" across
#: subjects and the flip cannot be read from the light side alone.
BASE_LIGHTS: tuple[tuple[int, int], ...] = (
    (0, 0), (10, 0), (-10, 0), (5, 10), (-5, 10), (5, -10), (-5, -10), (0, 20), (0, -20),
    (25, 0), (-25, 0), (20, 10), (-20, 10), (20, -10), (-20, -10),
)


@dataclass(frozen=True)
class DialPlan:
    """Sizes of one run of the dial.

    ========================  =========  ==========
    size                      quick      full
    ========================  =========  ==========
    subjects                  all 38     all 38
    base images per subject   1          8
    copies per base image     2          2
    images per factor         ~76        ~608
    images per backbone       ~532       ~4256
    subject splits            5          10
    held-out subjects/split   10         10
    permutation shuffles      999        9999
    ========================  =========  ==========

    Quick mode is small because dlib's network embeds about 13 images a second on two CPU
    cores with its two worker processes (FaceNet about 28): 7 factors x 76 images take about
    40 s with dlib, which keeps the book build within its budget. One base image per subject
    is the floor: with one *copy* per base image the pixel baseline read nothing, not even a
    20-degree rotation (R² ~0.06, against ~0.9 with two copies), so every leakage ratio
    divided by a near-zero score. Two copies put each training face in the probe's training
    set at two strengths. Full mode (a GPU for FaceNet; dlib stays on the CPU) takes 8 base
    images per subject.

    Attributes
    ----------
    mode
        The run mode the sizes belong to.
    n_base
        Base images per subject, chosen by :func:`base_image_indices` from :data:`BASE_LIGHTS`.
    n_copies
        Transformed copies of each base image per factor, each at its own drawn strength.
    n_splits
        Subject splits (seeds ``seed``, ``seed + 1``, ...) the intervals are taken over.
    n_heldout
        Held-out subjects per split.
    n_permutations
        Within-subject shuffles of the permutation test on the first split (0 skips it).
    factors
        The factors to run, names from :data:`FACTORS`.
    subjects
        Restrict to these subjects (None: every subject), e.g. to keep a test small.
    kinds
        Probe kinds; each feature set keeps its better one, as in ``probes.leakage_table``.
    pixel_components
        PCA components of the pixel baseline, at most; see :func:`pixel_components_for`.
    pixel_size
        (height, width) the pixel baseline sees: the course's size, whatever the embedding saw.
    """

    mode: str
    n_base: int
    n_copies: int
    n_splits: int
    n_heldout: int = 10
    n_permutations: int = 999
    factors: tuple[str, ...] = tuple(FACTORS)
    subjects: tuple[str, ...] | None = None
    kinds: tuple[str, ...] = ("linear", "mlp")
    pixel_components: int = 64
    pixel_size: tuple[int, int] = data.COMPACT_SHAPE

    def __post_init__(self) -> None:
        for name in ("n_base", "n_copies", "n_splits", "n_heldout"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_permutations < 0:
            raise ValueError(f"n_permutations must be >= 0, got {self.n_permutations}")
        _check_factor_names(self.factors)
        unknown = set(self.kinds) - {"linear", "mlp"}
        if not self.kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of ('linear', 'mlp'), "
                             f"got {self.kinds}")

    def to_dict(self) -> dict:
        out = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def dial_plan(plan: RunPlan | str | None = None, **overrides) -> DialPlan:
    """The :class:`DialPlan` of a run plan, with optional overrides (e.g. for a small test).

    Parameters
    ----------
    plan
        The run plan (its ``nuisance`` sizes, probe kinds and image size); a mode name (or
        None) resolves one first (:func:`faceleak.experiments.plan.resolve_plan`).
    **overrides
        Any :class:`DialPlan` field, e.g. ``subjects=(...)``, ``n_splits=2``.
    """
    plan = plan if isinstance(plan, RunPlan) else plan_mod.resolve_plan(plan)
    sizes = plan.nuisance
    dial = DialPlan(
        mode=plan.mode,
        n_base=sizes.n_base,
        n_copies=sizes.n_copies,
        n_splits=sizes.n_splits,
        n_heldout=plan.n_heldout_subjects,
        n_permutations=sizes.n_permutations,
        kinds=tuple(plan.probes.kinds),
        pixel_components=int(plan.probes.pixel_components),
        pixel_size=tuple(plan.image_size),
    )
    if "factors" in overrides:
        overrides["factors"] = tuple(overrides["factors"])
    if overrides.get("subjects") is not None:
        overrides["subjects"] = tuple(overrides["subjects"])
    return replace(dial, **overrides)


# --------------------------------------------------------------------------- images


class DialSet(NamedTuple):
    """The transformed images of one factor: unpacks as ``images, strengths, subjects``."""

    images: np.ndarray
    strengths: np.ndarray
    subjects: np.ndarray


def base_image_indices(faces: data.FaceSet, n_base: int,
                       subjects: Sequence[str] | None = None) -> np.ndarray:
    """Indices of each subject's base images, chosen by the light they were taken under.

    Each subject takes the first ``n_base`` lights of :data:`BASE_LIGHTS` (mirrored for every
    other subject) that it has; the set has a few missing files, so when a preferred light is
    absent the next one is used, then the subject's remaining images closest to frontal.
    A subject with fewer than ``n_base`` images gives all it has; one with none is skipped.
    """
    if n_base < 1:
        raise ValueError(f"n_base must be at least 1, got {n_base}")
    names = faces.subject_names if subjects is None else sorted(set(subjects))
    unknown = set(names) - set(faces.subject_names)
    if unknown:
        raise ValueError(f"subjects {sorted(unknown)} are not in the face set")
    chosen: list[int] = []
    for rank, subject in enumerate(names):
        rows = np.flatnonzero(faces.subjects == subject)
        az, el = faces.azimuth[rows], faces.elevation[rows]
        lit = np.isfinite(az) & np.isfinite(el)
        sign = 1 if rank % 2 == 0 else -1
        picked: list[int] = []
        for a, e in BASE_LIGHTS:
            hit = rows[lit & (az == sign * a) & (el == e)]
            if hit.size and int(hit[0]) not in picked:
                picked.append(int(hit[0]))
            if len(picked) == n_base:
                break
        if len(picked) < n_base:
            # Fall back on the subject's other images, closest to frontal light first
            # (ambient or unknown light last).
            distance = np.where(lit, np.abs(np.nan_to_num(az)) + np.abs(np.nan_to_num(el)),
                                np.inf)
            for i in rows[np.argsort(distance, kind="stable")]:
                if int(i) not in picked:
                    picked.append(int(i))
                if len(picked) == n_base:
                    break
        chosen.extend(picked)
    return np.asarray(chosen, dtype=np.int64)


def _factor_rng(seed: int, name: str) -> np.random.Generator:
    # One stream per factor, keyed by its name: adding or dropping a factor, or running them
    # in another order, leaves every other factor's strengths unchanged.
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def draw_strengths(factor: str | Factor, n: int, seed: int = 0) -> np.ndarray:
    """``n`` strengths drawn uniformly from the factor's levels, balanced and seeded.

    Every level is drawn ``n // len(levels)`` times, the remainder goes to levels chosen at
    random without repeats, and the whole is shuffled: every image's strength is uniform over
    the levels, and every level is drawn equally often (up to one), which a small run needs.
    """
    spec = _check_factor(factor)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = _factor_rng(seed, spec.name)
    levels = np.asarray(spec.levels, dtype=float)
    whole, extra = divmod(int(n), len(levels))
    draws = np.concatenate([np.tile(levels, whole),
                            rng.choice(levels, size=extra, replace=False)])
    return rng.permutation(draws)


def dial_images(faces: data.FaceSet, plan: DialPlan, seed: int = 0) -> dict[str, DialSet]:
    """The dial's transformed images: per factor, every base image at drawn strengths.

    Parameters
    ----------
    faces
        The face set, at the resolution the embeddings should see.
    plan
        Sizes (:func:`dial_plan`): base images per subject and copies per base image.
    seed
        Seed of the strength draws; the same seed gives the same images.

    Returns
    -------
    dict
        factor -> :class:`DialSet` ``(images, strengths, subjects)``: images float32
        (n_base_total x n_copies, H, W) in [0, 1], copy-major (all base images at their first
        strength, then the second copy, ...).
    """
    base = base_image_indices(faces, plan.n_base, plan.subjects)
    if base.size == 0:
        raise ValueError("no base images: the face set holds none of the plan's subjects")
    originals = _check_images(faces.images[base])
    subjects = np.asarray(faces.subjects[base], dtype=object)
    repeated = np.concatenate([originals] * plan.n_copies)
    out: dict[str, DialSet] = {}
    for name in plan.factors:
        strengths = draw_strengths(name, len(repeated), seed)
        out[name] = DialSet(apply_factor(repeated, name, strengths), strengths,
                            np.concatenate([subjects] * plan.n_copies))
    return out


def course_pixels(images: np.ndarray, size: tuple[int, int] = data.COMPACT_SHAPE) -> np.ndarray:
    """The images at the course's size for the pixel baseline, box-filtered as the course's
    own copy is made (:func:`faceleak.vision.data.resize` on 8-bit values)."""
    images = _check_images(images)
    if images.shape[1:] == tuple(size):
        return images.astype(np.float32)
    return np.stack([data.resize(_to_uint8(img), tuple(size)) for img in images]
                    ).astype(np.float32) / 255.0


# --------------------------------------------------------------------------- probes


#: Training rows per PCA component of the pixel baseline, at least.
ROWS_PER_COMPONENT = 4


def pixel_components_for(n_train: int, plan: DialPlan) -> int:
    """PCA components of the pixel baseline for ``n_train`` training rows.

    ``plan.pixel_components`` (the house 64), but no more than a quarter of the training rows.
    The house baseline fits its PCA on thousands of images; the dial's quick run has about a
    hundred training rows, and there the last components are noise that the probes'
    standardisation blows up to the scale of the first ones (with 64 components on 112 rows
    the pixels' contrast R² ran from 0.26 to 0.68 across splits; with 28, 0.45 to 0.87).
    """
    return int(max(1, min(plan.pixel_components, n_train // ROWS_PER_COMPONENT)))


def _best_score(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                task: probes.Task, kinds: Sequence[str], seed: int,
                groups: np.ndarray) -> tuple[float, str]:
    """Score of the better probe kind on the held-out rows, and which kind it was."""
    scores = {kind: probes.cross_subject(x, y, train, test, task, kind, seed, groups)[0].main
              for kind in kinds}
    best = max(scores, key=lambda k: scores[k])
    return float(scores[best]), best


def _summary(values: Sequence[float]) -> dict:
    mean, low, high = probes.mean_ci(list(values))
    return {"mean": mean, "low": low, "high": high}


def dial_leakage(
    features_by_factor: Mapping[str, np.ndarray],
    strengths: Mapping[str, np.ndarray],
    subjects: Mapping[str, np.ndarray] | np.ndarray,
    plan: DialPlan,
    pixels_by_factor: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
) -> list[dict]:
    """Read each factor's strength back from the features, subject-disjoint, over splits.

    For every factor and every split (``data.split_subjects`` with seeds ``seed``,
    ``seed + 1``, ..., ``plan.n_heldout`` held-out subjects), the probes of ``plan.kinds``
    are fitted on the training subjects' rows and scored on the held-out rows: R² for a
    regression factor, accuracy for flip. Each feature set keeps its better probe kind per
    split (as ``probes.leakage_table`` does, for embedding and pixels alike). The pixel
    baseline is a PCA fitted on the training rows only; chance predicts the training mean or
    majority class. The embedding's permutation p-value (ridge probe, targets shuffled within
    subjects) is computed on the first split.

    Parameters
    ----------
    features_by_factor
        factor -> (N, D) features of that factor's images (e.g. embeddings).
    strengths
        factor -> (N,) strength of each image.
    subjects
        factor -> (N,) subject per image, or one array shared by every factor.
    plan
        :class:`DialPlan` (splits, held-out size, probe kinds, PCA size, shuffles).
    pixels_by_factor
        factor -> (N, ...) images or pixel vectors for the baseline; without it, no pixel
        score and no leakage ratio.
    seed
        First split's seed, and the probes' seed.

    Returns
    -------
    list of dict
        One row per factor: ``factor``, ``unit``, ``task``, ``metric``, ``n_images``,
        ``n_splits``; ``embedding_mean/low/high``, ``pixels_mean/low/high``,
        ``chance_mean/low/high``, ``leakage_ratio_mean/low/high`` (mean and 95% Student-t
        interval over splits), ``leakage_ratio_n`` (splits with a ratio: the pixels scored
        above 0); ``*_by_split`` lists; ``embedding_probe`` and
        ``pixels_probe`` (the kind chosen most often); ``p_value``; ``pixel_components``.
    """
    # The probes multiply matrices of about a hundred rows: BLAS threads cost more than they
    # save there (one thread made the MLP probe ten times faster on two cores). The factors
    # are independent: they are spread over worker processes instead, one thread each, which
    # gives the same numbers as one after the other (probes.probe_workers()).
    jobs = [(name, feats, strengths, subjects, plan, pixels_by_factor, seed)
            for name, feats in features_by_factor.items()]
    n_jobs = min(probes.probe_workers(), len(jobs))
    if n_jobs <= 1:
        return [_one_thread_factor(*job) for job in jobs]
    return Parallel(n_jobs=n_jobs)(delayed(_one_thread_factor)(*job) for job in jobs)


def _one_thread_factor(*args) -> dict:
    with threadpool_limits(limits=1):
        return _factor_leakage(*args)


def _factor_leakage(name: str, feats: np.ndarray, strengths: Mapping[str, np.ndarray],
                    subjects: Mapping[str, np.ndarray] | np.ndarray, plan: DialPlan,
                    pixels_by_factor: Mapping[str, np.ndarray] | None, seed: int) -> dict:
    """One row of :func:`dial_leakage`."""
    spec = _check_factor(name)
    x = np.asarray(feats, dtype=np.float32)
    if name not in strengths:
        raise ValueError(f"no strengths given for factor {name!r}")
    y = np.asarray(strengths[name], dtype=float)
    groups = np.asarray(subjects[name] if isinstance(subjects, Mapping) else subjects,
                        dtype=object)
    if x.ndim != 2 or not (len(x) == len(y) == len(groups)):
        raise ValueError(f"{name}: features {x.shape}, {len(y)} strengths and "
                         f"{len(groups)} subjects do not match")
    if spec.task == "classification":
        y = y.astype(np.int64)  # class labels, not numbers to regress
    pixels = None
    if pixels_by_factor is not None:
        pixels = np.asarray(pixels_by_factor[name], dtype=np.float32)
        pixels = pixels.reshape(len(pixels), -1)
        if len(pixels) != len(y):
            raise ValueError(f"{name}: {len(pixels)} pixel rows for {len(y)} strengths")
    scores: dict[str, list[float]] = {"embedding": [], "pixels": [], "chance": [],
                                      "leakage_ratio": []}
    chosen: dict[str, list[str]] = {"embedding": [], "pixels": []}
    p_value = None
    zeros = np.zeros((len(y), 1), np.float32)
    for k in range(plan.n_splits):
        split = data.split_subjects(groups, n_heldout=plan.n_heldout, seed=seed + k)
        train, test = split.masks(groups)
        emb, emb_kind = _best_score(x, y, train, test, spec.task, plan.kinds, seed, groups)
        scores["embedding"].append(emb)
        chosen["embedding"].append(emb_kind)
        chance, _ = probes.cross_subject(zeros, y, train, test, spec.task, "chance", seed,
                                         groups)
        scores["chance"].append(chance.main)
        if pixels is not None:
            k_pix = pixel_components_for(int(train.sum()), plan)
            pix_x = probes.pixel_features(pixels, train, k_pix, seed=seed)
            pix, pix_kind = _best_score(pix_x, y, train, test, spec.task, plan.kinds, seed,
                                        groups)
            scores["pixels"].append(pix)
            chosen["pixels"].append(pix_kind)
            scores["leakage_ratio"].append(probes.leakage_ratio(emb, pix))
        if k == 0 and plan.n_permutations > 0:
            p_value = probes.permutation_test(x, y, groups, train, test, spec.task,
                                              plan.n_permutations, seed=seed).p_value
    row: dict = {"factor": name, "unit": spec.unit, "task": spec.task,
                 "metric": spec.metric, "n_images": int(len(y)),
                 "n_subjects": int(len(set(groups.tolist()))), "n_splits": plan.n_splits}
    for key, values in scores.items():
        if not values:
            continue
        for stat, value in _summary(values).items():
            row[f"{key}_{stat}"] = value
        row[f"{key}_by_split"] = [float(v) for v in values]
    # Splits where the pixels scored <= 0 have no ratio; the mean is over the others.
    if pixels is not None:
        row["leakage_ratio_n"] = int(np.isfinite(scores["leakage_ratio"]).sum())
    for key, kinds in chosen.items():
        if kinds:
            row[f"{key}_probe"] = Counter(kinds).most_common(1)[0][0]
    row["p_value"] = p_value
    row["pixel_components"] = (pixel_components_for(int(train.sum()), plan)
                               if pixels is not None else None)
    return row


# --------------------------------------------------------------------------- the run


def native_shape() -> tuple[int, int]:
    """The faces' own resolution: the 192x168 crops when the full set is present, else the
    embedded compact copy's 64x56."""
    return data.CROP_SHAPE if data.locate_data().kind != "compact" else data.COMPACT_SHAPE


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def run_nuisance_dial(
    backbones: Sequence[str],
    mode: str | None = None,
    seed: int = 0,
    progress: bool = False,
    faces: data.FaceSet | None = None,
    dial: DialPlan | None = None,
    plan: RunPlan | None = None,
) -> dict:
    """Run the dial for several backbones: the leakage of every factor, per backbone.

    Parameters
    ----------
    backbones
        Names for :func:`faceleak.vision.models.get_backbone` (``"dlib-resnet"``,
        ``"facenet-casia"``, ``"yale-cosface"``, ...). Every backbone embeds the same images.
    mode
        ``"quick"`` or ``"full"``, when no ``plan`` is given (a plan is resolved from it).
    seed
        Seed of the strength draws, of the first subject split and of the probes.
    progress
        Show embedding progress bars.
    faces
        An already-loaded :class:`~faceleak.vision.data.FaceSet`; by default every lit image at the
        native resolution (:func:`native_shape`).
    dial
        Overrides :func:`dial_plan` ``(plan)``, e.g. a few subjects for a test.
    plan
        The run plan (:func:`faceleak.experiments.plan.resolve_plan`): the dial's sizes, the
        course backbone's recipes and part of the embedding cache key (its mode).

    Returns
    -------
    dict
        JSON-serialisable: ``mode``, ``seed``, ``data`` (source kind, description, image
        size, subjects, base images), ``plan``, ``factors`` (the table), ``backbones``,
        ``rows`` (one per factor x backbone, factor order of the plan; see
        :func:`dial_leakage`, plus ``backbone``), ``seconds`` (``"images"``: building the
        dial; per backbone: loading and embedding; ``"probes"``: all the probing;
        ``"total"``).

    Notes
    -----
    The embeddings are cached per backbone and factor under a key that hashes the pixels
    (:func:`faceleak.vision.embed.cache_key_for`), so a second run only probes. The course's own
    backbones are trained on the training subjects of split seed 0; the dial's other splits
    may hold out subjects such a network saw in training (the probe itself never sees them).
    """
    if not backbones:
        raise ValueError("give at least one backbone name")
    unknown = [b for b in backbones if b not in models.BACKBONES]
    if unknown:
        raise ValueError(f"unknown backbones {unknown}; available: {sorted(models.BACKBONES)}")
    run = plan_mod.as_plan(plan, mode)
    plan = dial if dial is not None else dial_plan(run)
    start = time.perf_counter()
    if faces is None:
        faces = data.load_faces(native_shape())
    sets = dial_images(faces, plan, seed)
    pixels = {name: course_pixels(s.images, plan.pixel_size) for name, s in sets.items()}
    seconds: dict[str, float] = {"images": round(time.perf_counter() - start, 1)}
    rows: list[dict] = []
    probe_seconds = 0.0
    for name in backbones:
        t0 = time.perf_counter()
        model, spec = models.get_backbone(name, run.backbones, seed=run.seeds.backbone,
                                          device=run.device)
        batch = 32 if spec.channels == 3 else 256
        features = {}
        for factor, dial_set in sets.items():
            key = embed.cache_key_for(name, model, dial_set.images, run.mode)
            features[factor] = embed.embed_faces(model, spec, dial_set.images, batch_size=batch,
                                                 cache_key=key, progress=progress)
        seconds[name] = round(time.perf_counter() - t0, 1)
        t1 = time.perf_counter()
        table = dial_leakage(features, {f: s.strengths for f, s in sets.items()},
                             {f: s.subjects for f, s in sets.items()}, plan, pixels, seed)
        probe_seconds += time.perf_counter() - t1
        rows.extend({"backbone": name, **row} for row in table)
    order = {f: i for i, f in enumerate(plan.factors)}
    rows.sort(key=lambda r: (order[r["factor"]], list(backbones).index(r["backbone"])))
    seconds["probes"] = round(probe_seconds, 1)
    seconds["total"] = round(time.perf_counter() - start, 1)
    first = next(iter(sets.values()))
    return _jsonable({
        "mode": run.mode,
        "seed": seed,
        "data": {"source": faces.source.kind, "description": faces.source.describe(),
                 "image_size": list(faces.images.shape[1:]),
                 "n_subjects": len(set(first.subjects.tolist())),
                 "n_base_images": int(len(first.subjects) // plan.n_copies),
                 "images_per_factor": int(len(first.subjects))},
        "plan": plan.to_dict(),
        "factors": [FACTORS[f].to_dict() for f in plan.factors],
        "backbones": list(backbones),
        "rows": rows,
        "seconds": seconds,
    })

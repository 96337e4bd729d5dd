"""Metrics of a reconstruction attack, identical for every attack of Lab 3.

A reconstruction attack turns a target's embedding ``t`` into an image ``x``. It is judged
as a face-recognition system would judge it, and as a person would:

* **success rate** (type I): the fraction of reconstructions that the attacked embedder
  accepts as the target, ``cos(E(x), t) >= threshold``, where the threshold gives a false
  accept rate (FAR) of 1e-3 or 1e-2 on *real* impostor pairs of held-out subjects;
* **success against other images** of the same person: ``cos(E(x), E(y))`` for every other
  photo ``y`` of the target's subject. This is the realistic attack: the attacker holds
  one leaked template and wants to pass as that person against a *different* enrolment;
* **type II success**: the same test with a *second* embedder (another architecture and
  seed) that the attacker never saw, which tells a transferable face from an adversarial
  pattern fitted to one network;
* **image similarity** to the target photo: SSIM and PSNR (scikit-image's reference
  implementations, data range 1) and the cosine in the attacked embedder;
* **lighting recovered**: a ridge probe (Chapter 2) reads the light direction from the
  reconstruction's embedding; the mean absolute error in degrees against the true light.

Thresholds and success rates take plain NumPy arrays; nothing here runs a network. Pair
scores and the threshold at a FAR come from :mod:`faceleak.vision.verification` (accept
``score >= t``; the threshold is the smallest one whose FAR on the impostor scores is at
most the target), the same rule as the TAR at FAR of Lab 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from faceleak.vision.verification import (
    cosine_similarity,
    cosine_similarity_matrix,
    split_pair_scores,
    threshold_at_far,
)

__all__ = [
    "FARS", "attack_report", "cosine_to_target", "far_label", "impostor_scores", "lighting_mae",
    "other_image_scores", "psnr", "ssim", "success_curve", "success_other_images",
    "success_rate", "threshold_at_far", "thresholds_at_fars",
]

#: The operating points every table of Lab 3 reports.
FARS: tuple[float, ...] = (1e-3, 1e-2)


def far_label(far: float) -> str:
    """The suffix used in result keys: ``1e-3`` for 0.001."""
    exponent = int(round(np.log10(far)))
    if not np.isclose(far, 10.0 ** exponent):
        return f"{far:g}"
    return f"1e{exponent}"


# --------------------------------------------------------------------------- validation


def _images(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"{name} must be images (N, H, W), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


# --------------------------------------------------------------------------- thresholds


def impostor_scores(emb: np.ndarray, subjects: Sequence[str] | np.ndarray) -> np.ndarray:
    """Cosine similarities of every unordered pair of images of *different* subjects.

    The pairs are in :func:`faceleak.vision.verification.pairs` order (``i < j``).
    """
    sim = cosine_similarity_matrix(emb, name_a="emb")
    subjects = np.asarray(subjects, dtype=object)
    if subjects.shape != (len(sim),):
        raise ValueError(f"need one subject per embedding: {subjects.shape} vs {len(sim)}")
    _, impostor = split_pair_scores(sim, subjects)
    if impostor.size == 0:
        raise ValueError("need at least two subjects to form impostor pairs")
    return impostor


def thresholds_at_fars(impostor: np.ndarray, fars: Sequence[float] = FARS) -> dict[float, float]:
    """:func:`~faceleak.vision.verification.threshold_at_far` for several FARs."""
    return {float(f): threshold_at_far(impostor, f) for f in fars}


# --------------------------------------------------------------------------- success rates


def cosine_to_target(recon_emb: np.ndarray, target_emb: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of reconstructions' and targets' embeddings."""
    return cosine_similarity(recon_emb, target_emb, name_a="recon_emb", name_b="target_emb")


def success_rate(recon_emb: np.ndarray, target_emb: np.ndarray, threshold: float) -> float:
    """Fraction of reconstructions accepted as their own target (``cos >= threshold``)."""
    return float(np.mean(cosine_to_target(recon_emb, target_emb) >= threshold))


def other_image_scores(
    recon_emb: np.ndarray,
    target_index: np.ndarray,
    gallery_emb: np.ndarray,
    gallery_subjects: Sequence[str] | np.ndarray,
) -> list[np.ndarray]:
    """For each reconstruction, its cosine with every *other* gallery image of its subject.

    Parameters
    ----------
    recon_emb
        Embeddings of the reconstructions (N, D).
    target_index
        For each reconstruction, the row of ``gallery_emb`` it was made from (excluded).
    gallery_emb, gallery_subjects
        Embeddings and subjects of the real images (held-out subjects).

    Returns
    -------
    list of numpy.ndarray
        One array of scores per reconstruction.
    """
    sim = cosine_similarity_matrix(recon_emb, gallery_emb, name_a="recon_emb",
                                   name_b="gallery_emb")
    n_recon, n_gallery = sim.shape
    subjects = np.asarray(gallery_subjects, dtype=object)
    target_index = np.asarray(target_index, dtype=np.int64)
    if target_index.shape != (n_recon,):
        raise ValueError("need one target index per reconstruction")
    if subjects.shape != (n_gallery,):
        raise ValueError("need one subject per gallery embedding")
    if np.any(target_index < 0) or np.any(target_index >= n_gallery):
        raise ValueError("target_index out of range of the gallery")
    out = []
    for row, t in zip(sim, target_index, strict=True):
        others = np.flatnonzero(subjects == subjects[t])
        out.append(row[others[others != t]])
    return out


def success_other_images(scores: list[np.ndarray], threshold: float) -> float:
    """Mean over reconstructions of the fraction of other images of the person accepted.

    Each reconstruction counts once, whatever the number of other photos of its subject.
    """
    rates = [float(np.mean(s >= threshold)) for s in scores if len(s)]
    if not rates:
        raise ValueError("no reconstruction has another image of its subject")
    return float(np.mean(rates))


def success_curve(recon_emb: np.ndarray, target_emb: np.ndarray, impostor: np.ndarray,
                  fars: Sequence[float]) -> np.ndarray:
    """Success rate at each FAR in ``fars`` (for a plot of success against FAR)."""
    cos = cosine_to_target(recon_emb, target_emb)
    return np.array([np.mean(cos >= threshold_at_far(impostor, f)) for f in fars])


# --------------------------------------------------------------------------- image metrics


def _image_pairs(recon: np.ndarray, original: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated reconstructions and originals of the same shape (N, H, W)."""
    a, b = _images(recon, "recon"), _images(original, "original")
    if a.shape != b.shape:
        raise ValueError(f"recon {a.shape} and original {b.shape} differ in shape")
    return a, b


def ssim(recon: np.ndarray, original: np.ndarray) -> np.ndarray:
    """SSIM of each reconstruction with its original (scikit-image, data range 1)."""
    a, b = _image_pairs(recon, original)
    return np.array([structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b,
                                                                                  strict=True)])


def psnr(recon: np.ndarray, original: np.ndarray) -> np.ndarray:
    """PSNR in dB of each reconstruction against its original (scikit-image, data range 1)."""
    a, b = _image_pairs(recon, original)
    return np.array([peak_signal_noise_ratio(y, x, data_range=1.0) for x, y in zip(a, b,
                                                                                    strict=True)])


def lighting_mae(predicted: np.ndarray, azimuth: np.ndarray, elevation: np.ndarray) -> dict:
    """Mean absolute error, in degrees, of predicted (azimuth, elevation) pairs.

    Returns
    -------
    dict
        ``azimuth``, ``elevation`` and ``mean`` (their average) in degrees.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    truth = np.stack([np.asarray(azimuth, float), np.asarray(elevation, float)], axis=1)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted must be (N, 2) like the truth {truth.shape}, "
                         f"got {predicted.shape}")
    err = np.abs(predicted - truth).mean(axis=0)
    return {"azimuth": float(err[0]), "elevation": float(err[1]), "mean": float(err.mean())}


# --------------------------------------------------------------------------- one table row


def attack_report(
    *,
    recon: np.ndarray,
    originals: np.ndarray,
    recon_emb: np.ndarray,
    target_emb: np.ndarray,
    target_index: np.ndarray,
    gallery_emb: np.ndarray,
    gallery_subjects: Sequence[str] | np.ndarray,
    thresholds: dict[float, float],
    recon_emb2: np.ndarray | None = None,
    target_emb2: np.ndarray | None = None,
    thresholds2: dict[float, float] | None = None,
    light_pred: np.ndarray | None = None,
    azimuth: np.ndarray | None = None,
    elevation: np.ndarray | None = None,
) -> dict:
    """Every metric of one attack, as a flat JSON-serialisable dict.

    Keys: ``success_far_1e-3``, ``success_far_1e-2``, ``success_other_images_far_...``,
    ``type2_success_far_...`` (None without a second embedder), ``cosine``, ``ssim``,
    ``psnr``, ``lighting_mae_deg`` (None without light predictions), ``n_targets``.
    """
    out: dict = {"n_targets": int(len(recon))}
    cos = cosine_to_target(recon_emb, target_emb)
    others = other_image_scores(recon_emb, target_index, gallery_emb, gallery_subjects)
    for far, thr in sorted(thresholds.items()):
        label = far_label(far)
        out[f"success_far_{label}"] = float(np.mean(cos >= thr))
        out[f"success_other_images_far_{label}"] = success_other_images(others, thr)
    for far in sorted(thresholds):
        key = f"type2_success_far_{far_label(far)}"
        if recon_emb2 is None or target_emb2 is None or thresholds2 is None:
            out[key] = None
        else:
            out[key] = success_rate(recon_emb2, target_emb2, thresholds2[far])
    out["cosine"] = float(cos.mean())
    out["ssim"] = float(ssim(recon, originals).mean())
    out["psnr"] = float(psnr(recon, originals).mean())
    if light_pred is not None and azimuth is not None and elevation is not None:
        mae = lighting_mae(light_pred, azimuth, elevation)
        out["lighting_mae_deg"] = mae["mean"]
        out["lighting_mae_azimuth_deg"] = mae["azimuth"]
        out["lighting_mae_elevation_deg"] = mae["elevation"]
    else:
        out["lighting_mae_deg"] = None
    return out

"""Verification and identification metrics for face embeddings.

Verification compares two faces: accept when their cosine similarity reaches a threshold.
Its errors are the false accept rate (FAR: impostor pairs accepted) and the false reject
rate (FRR: genuine pairs rejected). The equal error rate (EER) is where they meet;
TAR at a FAR (true accept rate, ``1 - FRR``) is how a deployed system is usually quoted.

Identification compares a probe with an enrolled gallery and returns the closest
identity. On Extended Yale B the gallery is one frontal-light image per subject
(azimuth 0, elevation 0), as an enrolment photo would be. Leave-one-out nearest neighbour
is *not* identification here: a probe's nearest image is usually the same subject under a
neighbouring light, which says little about recognising a new photo.

Every function validates its input once, in :func:`_as_embeddings` or :func:`_as_scores`.
Pair scoring, FAR/FRR, the threshold at a FAR and the TAR there come from
:mod:`faceleak.vision.verification`, the course's single implementation (accept ``score >= t``;
:func:`tar_at_far` uses the smallest threshold whose FAR is at most the requested one). They
are re-exported here under their usual names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from faceleak.vision.verification import (
    check_scores,
    cosine_similarity_matrix,
    far_frr,
    pairs,
    split_pair_scores,
    tar_at_far,
)

__all__ = [
    "ROC", "Identification", "Scorer", "VerificationReport", "cosine_similarity_matrix", "eer",
    "far_frr", "frontal_gallery_mask", "genuine_impostor_scores", "pairs", "rank1_identification",
    "roc", "tar_at_far", "verification_report",
]

# --------------------------------------------------------------------------- validation


def _as_embeddings(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    emb = np.asarray(emb, dtype=np.float64)
    labels = np.asarray(labels)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (N, D), got shape {emb.shape}")
    if labels.shape != (emb.shape[0],):
        raise ValueError(f"need one label per embedding: {labels.shape} vs {emb.shape[0]} rows")
    if not np.all(np.isfinite(emb)):
        raise ValueError("embeddings contain NaN or inf")
    return emb, labels


def _as_scores(genuine: np.ndarray, impostor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return check_scores(genuine, name="genuine"), check_scores(impostor, name="impostor")


# --------------------------------------------------------------------------- pairs


Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Maps embeddings ``a`` (Na, D) and ``b`` (Nb, D) to a score matrix (Na, Nb), higher for
more alike, e.g. :meth:`faceleak.vision.scoring.ScoreBackend.score_matrix`. The default is
:func:`cosine_similarity_matrix`."""


def _score(scorer: Scorer | None, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if scorer is None:
        scores = cosine_similarity_matrix(a, b, name_a="embeddings", name_b="embeddings")
    else:
        scores = np.asarray(scorer(a, b))
    if scores.shape != (len(a), len(b)):
        raise ValueError(f"the scorer returned shape {scores.shape}, expected "
                         f"{(len(a), len(b))}")
    return scores


def genuine_impostor_scores(emb: np.ndarray, labels: np.ndarray,
                            scorer: Scorer | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores of all genuine pairs and of all impostor pairs (cosine unless ``scorer``).

    Parameters
    ----------
    emb
        Embeddings (N, D); they need not be normalised.
    labels
        Identity per row.
    scorer
        How to compare embeddings (see :data:`Scorer`); by default cosine similarity.

    Returns
    -------
    genuine, impostor
        1-D arrays of scores (each unordered pair once).
    """
    emb, labels = _as_embeddings(emb, labels)
    return split_pair_scores(_score(scorer, emb, emb), labels)


# --------------------------------------------------------------------------- ROC


@dataclass(frozen=True)
class ROC:
    """A ROC curve over decision thresholds (accept when score >= threshold)."""

    far: np.ndarray
    tar: np.ndarray
    thresholds: np.ndarray
    auc: float

    @property
    def frr(self) -> np.ndarray:
        return 1 - self.tar


def roc(genuine: np.ndarray, impostor: np.ndarray) -> ROC:
    """ROC of a verifier from its genuine and impostor scores (scikit-learn's ``roc_curve``).

    ``far`` is the false accept rate and ``tar`` the true accept rate at each threshold;
    sklearn's first threshold is ``inf`` (accept nothing).
    """
    genuine, impostor = _as_scores(genuine, impostor)
    y = np.r_[np.ones(genuine.size), np.zeros(impostor.size)]
    s = np.r_[genuine, impostor]
    far, tar, thr = roc_curve(y, s, drop_intermediate=False)
    return ROC(far=far, tar=tar, thresholds=thr, auc=float(roc_auc_score(y, s)))


def eer(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the threshold where FAR and FRR meet.

    Between two ROC points the FAR and FRR are interpolated linearly, so the EER of a
    finite sample is the crossing of the two step curves, as is usual.

    Returns
    -------
    eer, threshold
        The EER in [0, 1] and a threshold at which FAR and FRR are (nearly) equal.

    Examples
    --------
    Perfectly separated scores have EER 0:

    >>> eer(np.array([0.9, 0.8]), np.array([0.1, 0.2]))[0]
    0.0
    """
    curve = roc(genuine, impostor)
    far, frr, thr = curve.far, curve.frr, curve.thresholds
    diff = far - frr  # rises from -1 (accept nothing) to +1 (accept all)
    k = int(np.argmax(diff >= 0))
    if k == 0 or diff[k] == 0:
        finite = thr[k] if np.isfinite(thr[k]) else thr[min(k + 1, len(thr) - 1)]
        return float(far[k] if diff[k] == 0 else (far[k] + frr[k]) / 2), float(finite)
    # Linear interpolation between points k-1 and k, where far - frr changes sign.
    t = -diff[k - 1] / (diff[k] - diff[k - 1])
    rate = far[k - 1] + t * (far[k] - far[k - 1])
    lo = thr[k - 1] if np.isfinite(thr[k - 1]) else thr[k]
    threshold = lo + t * (thr[k] - lo)
    return float(rate), float(threshold)


# --------------------------------------------------------------------------- identification


def frontal_gallery_mask(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """Boolean mask of frontal-light images (azimuth 0, elevation 0): the enrolment gallery."""
    return (np.asarray(azimuth) == 0) & (np.asarray(elevation) == 0)


@dataclass(frozen=True)
class Identification:
    """Rank-1 identification result over the probes (all non-gallery images)."""

    accuracy: float
    predicted: np.ndarray
    true: np.ndarray
    probe_index: np.ndarray
    n_gallery: int

    @property
    def correct(self) -> np.ndarray:
        return self.predicted == self.true


def rank1_identification(emb: np.ndarray, labels: np.ndarray,
                         gallery_mask: np.ndarray, scorer: Scorer | None = None) -> Identification:
    """Rank-1 identification of every non-gallery image against a gallery.

    Parameters
    ----------
    emb, labels
        Embeddings (N, D) and identity per row.
    gallery_mask
        Boolean mask of the enrolled images (e.g. :func:`frontal_gallery_mask`). Every
        probe's identity must be enrolled, else rank-1 accuracy would be meaningless.
    scorer
        How to compare embeddings (see :data:`Scorer`); by default cosine similarity.

    Returns
    -------
    Identification
        Accuracy and each probe's predicted identity (label of the most similar gallery
        image).
    """
    emb, labels = _as_embeddings(emb, labels)
    gallery_mask = np.asarray(gallery_mask, dtype=bool)
    if gallery_mask.shape != labels.shape:
        raise ValueError("gallery_mask needs one entry per embedding")
    if not gallery_mask.any() or gallery_mask.all():
        raise ValueError("need at least one gallery image and one probe")
    probe = np.flatnonzero(~gallery_mask)
    missing = set(labels[probe].tolist()) - set(labels[gallery_mask].tolist())
    if missing:
        raise ValueError(f"probe identities {sorted(missing)[:5]} have no gallery image")
    sim = _score(scorer, emb[probe], emb[gallery_mask])
    predicted = labels[gallery_mask][np.argmax(sim, axis=1)]
    true = labels[probe]
    return Identification(float(np.mean(predicted == true)), predicted, true, probe,
                          int(gallery_mask.sum()))


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class VerificationReport:
    """The numbers a lab reports for one set of embeddings."""

    eer: float
    eer_threshold: float
    tar: float
    tar_threshold: float
    far: float
    auc: float
    n_genuine: int
    n_impostor: int
    rank1: float | None = None

    def summary(self) -> str:
        lines = [
            f"genuine pairs: {self.n_genuine}   impostor pairs: {self.n_impostor}",
            f"EER: {self.eer:.4f} (threshold {self.eer_threshold:.3f})   ROC AUC: {self.auc:.4f}",
            f"TAR at FAR={self.far:g}: {self.tar:.4f} (threshold {self.tar_threshold:.3f})",
        ]
        if self.rank1 is not None:
            lines.append(f"rank-1 identification (frontal-light gallery): {self.rank1:.4f}")
        return "\n".join(lines)


def verification_report(emb: np.ndarray, labels: np.ndarray, far: float = 1e-2,
                        gallery_mask: np.ndarray | None = None,
                        scorer: Scorer | None = None) -> VerificationReport:
    """EER, TAR at ``far``, AUC and (with a gallery) rank-1 accuracy in one call.

    Thresholds are in the scorer's units: cosine similarity by default.
    """
    genuine, impostor = genuine_impostor_scores(emb, labels, scorer)
    e, e_thr = eer(genuine, impostor)
    t, t_thr = tar_at_far(genuine, impostor, far)
    auc = roc(genuine, impostor).auc
    rank1 = None
    if gallery_mask is not None:
        rank1 = rank1_identification(emb, labels, gallery_mask, scorer).accuracy
    return VerificationReport(e, e_thr, t, t_thr, far, auc, genuine.size, impostor.size, rank1)

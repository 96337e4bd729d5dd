"""Judging a reconstruction as the literature does: type I, type II and cross-model success.

A reconstruction attack turns the template ``t = E(x_t)`` of a target photo ``x_t`` into an
image ``r``. A *judge* is a face recognizer ``J`` with its own threshold. Three tests, in the
terms of NbNet (Mai et al. 2019) and the work that followed:

* **type I**: ``J = E`` (the attacked recognizer) and ``r`` is matched against the template
  it came from: ``cos(E(r), E(x_t)) >= thr``;
* **type II**: ``J = E`` and ``r`` is matched against a *different photo* ``y`` of the same
  person, ``cos(E(r), E(y)) >= thr``, averaged over the other photos (each reconstruction
  counts once);
* **cross-model**: a *different* real recognizer ``J != E`` judges, against its own
  template of the target photo, ``cos(J(r), J(x_t)) >= thr_J``. A pattern fitted to ``E``
  fools ``E`` only; a recovered face passes any good recognizer, so this test tells "fooling
  the matcher" from "recovering the face". Its type II variant is reported too.

**Thresholds** come from each judge's *own* impostor scores on held-out people
(:func:`judge_thresholds`), at FAR 1e-3 and 1e-2, with the one rule of
:mod:`faceleak.vision.verification` (accept ``score >= t``).

**Ceilings**: the same rates when a real *other* photo of the person is presented instead of
the reconstruction (:func:`ceiling_rates`). A reconstruction can pass type I more often than
a real photo (it was fitted to that template), but it has recovered the face only as far as
it approaches the type II and cross-model ceilings.

Only NumPy: judges are given embeddings, never networks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from faceleak.privacy.attack_metrics import FARS, far_label, impostor_scores, thresholds_at_fars
from faceleak.vision.verification import cosine_similarity, cosine_similarity_matrix

__all__ = ["Judge", "attack_verdict", "ceiling_rates", "judge_rates", "judge_thresholds"]


@dataclass(frozen=True)
class Judge:
    """One recognizer's view of the held-out photos: its templates and its thresholds.

    Attributes
    ----------
    name
        The recognizer (a backbone name).
    gallery_emb
        Its embeddings of the real held-out photos (N, D), the templates.
    subjects
        The subject of each gallery photo (N,).
    thresholds
        FAR -> threshold, from its own impostor scores (:func:`judge_thresholds`).
    """

    name: str
    gallery_emb: np.ndarray
    subjects: np.ndarray
    thresholds: dict[float, float]

    @classmethod
    def from_gallery(cls, name: str, gallery_emb: np.ndarray,
                     subjects: Sequence[str] | np.ndarray,
                     fars: Sequence[float] = FARS) -> Judge:
        """A judge whose thresholds come from the impostor pairs of its own gallery."""
        subjects = np.asarray(subjects, dtype=object)
        return cls(name, np.asarray(gallery_emb, np.float64), subjects,
                   judge_thresholds(gallery_emb, subjects, fars))


def judge_thresholds(gallery_emb: np.ndarray, subjects: Sequence[str] | np.ndarray,
                     fars: Sequence[float] = FARS) -> dict[float, float]:
    """Thresholds at each FAR from a judge's impostor scores on (held-out) photos.

    Parameters
    ----------
    gallery_emb
        The judge's embeddings of real photos (N, D).
    subjects
        Subject per photo; at least two subjects.
    fars
        False accept rates.

    Returns
    -------
    dict
        FAR -> threshold (accept ``score >= threshold``).
    """
    return thresholds_at_fars(impostor_scores(gallery_emb, subjects), fars)


def _others(subjects: np.ndarray, t: int) -> np.ndarray:
    """Gallery rows of the same subject as row ``t``, without ``t``."""
    same = np.flatnonzero(subjects == subjects[t])
    return same[same != t]


def _check_index(target_index: np.ndarray, n_gallery: int, n_recon: int) -> np.ndarray:
    index = np.asarray(target_index, dtype=np.int64)
    if index.shape != (n_recon,):
        raise ValueError(f"need one target index per reconstruction: {index.shape} vs "
                         f"{n_recon} reconstructions")
    if np.any(index < 0) or np.any(index >= n_gallery):
        raise ValueError(f"target_index must index the judge's gallery of {n_gallery} photos")
    return index


def judge_rates(judge: Judge, recon_emb: np.ndarray, target_index: np.ndarray) -> dict:
    """Type I and type II success of reconstructions under one judge.

    Parameters
    ----------
    judge
        The recognizer's templates and thresholds.
    recon_emb
        The judge's embeddings of the reconstructions (N, D).
    target_index
        For each reconstruction, the gallery row of the photo whose template was attacked.

    Returns
    -------
    dict
        ``type1_far_<far>`` and ``type2_far_<far>`` for each of the judge's FARs, and
        ``cosine`` (mean type I score).

    Raises
    ------
    ValueError
        If a target has no other photo of its subject in the gallery (type II is undefined).
    """
    recon_emb = np.asarray(recon_emb, np.float64)
    index = _check_index(target_index, len(judge.gallery_emb), len(recon_emb))
    type1 = cosine_similarity(recon_emb, judge.gallery_emb[index], name_a="recon_emb",
                              name_b="templates")
    sim = cosine_similarity_matrix(recon_emb, judge.gallery_emb, name_a="recon_emb",
                                   name_b="gallery_emb")
    others = [sim[n, _others(judge.subjects, t)] for n, t in enumerate(index)]
    if any(len(o) == 0 for o in others):
        raise ValueError("a target has no other photo of its subject in the gallery: type II "
                         "needs at least two photos per attacked subject")
    out: dict = {}
    for far, thr in sorted(judge.thresholds.items()):
        label = far_label(far)
        out[f"type1_far_{label}"] = float(np.mean(type1 >= thr))
        out[f"type2_far_{label}"] = float(np.mean([np.mean(o >= thr) for o in others]))
    out["cosine"] = float(type1.mean())
    return out


def ceiling_rates(judge: Judge, target_index: np.ndarray) -> dict:
    """The rates of :func:`judge_rates` when a real other photo stands in for the attack.

    For target ``t`` and each other photo ``p`` of the person: type I accepts ``p`` against
    the template of ``t``; type II accepts ``p`` against the photos other than ``t`` and
    ``p``. Each target counts once (the mean over its ``p``).

    Returns
    -------
    dict
        ``type1_far_<far>`` and ``type2_far_<far>`` (type II is None where no target has
        three photos).
    """
    index = _check_index(target_index, len(judge.gallery_emb), len(target_index))
    sim = cosine_similarity_matrix(judge.gallery_emb, name_a="gallery_emb")
    out: dict = {}
    for far, thr in sorted(judge.thresholds.items()):
        label = far_label(far)
        type1, type2 = [], []
        for t in index:
            others = _others(judge.subjects, t)
            if not len(others):
                raise ValueError("a target has no other photo of its subject in the gallery")
            type1.append(np.mean(sim[others, t] >= thr))
            if len(others) >= 2:
                block = sim[np.ix_(others, others)] >= thr
                np.fill_diagonal(block, False)  # a photo is never matched with itself
                type2.append(block.sum() / (len(others) * (len(others) - 1)))
        out[f"type1_far_{label}"] = float(np.mean(type1))
        out[f"type2_far_{label}"] = float(np.mean(type2)) if type2 else None
    return out


def attack_verdict(attacked: str, judges: Mapping[str, Judge],
                   recon_emb: Mapping[str, np.ndarray], target_index: np.ndarray,
                   real_judges: Sequence[str]) -> dict:
    """Every judge's rates for one attack, with the headline type I, type II and cross-model.

    Parameters
    ----------
    attacked
        The recognizer the attack targeted (must be one of ``judges``).
    judges
        Name -> :class:`Judge`; every judge scores the attack.
    recon_emb
        Name -> that judge's embeddings of the reconstructions.
    target_index
        Gallery row of each reconstruction's target photo (the same rows for every judge).
    real_judges
        The real recognizers; the cross-model judge is the first of them that is not
        ``attacked`` (the course's network is a judge but not a "real" cross-model one).

    Returns
    -------
    dict
        ``type1_far_*``, ``type2_far_*`` (attacked judge), ``cross_model_far_*`` and
        ``cross_model_type2_far_*`` (the cross-model judge), ``cross_model_judge``, and
        ``judges``: every judge's :func:`judge_rates`.
    """
    if attacked not in judges:
        raise ValueError(f"the attacked recognizer {attacked!r} must be one of the judges "
                         f"{sorted(judges)}")
    missing = sorted(set(judges) - set(recon_emb))
    if missing:
        raise ValueError(f"no reconstruction embeddings for the judges {missing}")
    rates = {name: judge_rates(j, recon_emb[name], target_index) for name, j in judges.items()}
    cross = [name for name in real_judges if name != attacked and name in judges]
    out: dict = {}
    for key, value in rates[attacked].items():
        if key.startswith(("type1", "type2")):
            out[key] = value
    out["cross_model_judge"] = cross[0] if cross else None
    for far in sorted(judges[attacked].thresholds):
        label = far_label(far)
        out[f"cross_model_far_{label}"] = (rates[cross[0]][f"type1_far_{label}"]
                                           if cross else None)
        out[f"cross_model_type2_far_{label}"] = (rates[cross[0]][f"type2_far_{label}"]
                                                 if cross else None)
    out["judges"] = rates
    return out

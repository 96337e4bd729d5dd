"""Query-only attacks: a counted black box and an evolution-strategy refinement.

A black-box recognizer (dlib's, or a vendor's matcher behind an API) answers one query per
image: its embedding. :class:`QueryCounter` wraps any such function and counts the images it
was asked about, so an attack reports its cost honestly.

:func:`es_refine` improves reconstructions with queries only. Each target's search point
``u`` is the input of a *renderer* (a decoder from embedding to image, optionally with a
coarse pixel residual); each generation samples ``population`` antithetic perturbations
``u +- sigma * eps``, renders them, asks the black box for their embeddings and moves ``u``
along the rank-weighted perturbations (natural evolution strategies, Wierstra et al. 2014,
with the fitness shaping of Salimans et al. 2017). The best image ever queried is kept, so
the result never scores worse than the start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from faceleak.vision.verification import cosine_similarity

__all__ = ["ESResult", "QueryCounter", "es_refine", "rank_weights"]


class QueryCounter:
    """A black-box embedder that counts its queries.

    Parameters
    ----------
    embed
        Maps images (N, H, W) in [0, 1] to embeddings (N, D).
    """

    def __init__(self, embed: Callable[[np.ndarray], np.ndarray]):
        self._embed = embed
        self.queries = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if images.ndim != 3:
            raise ValueError(f"expected images (N, H, W), got shape {images.shape}")
        self.queries += len(images)
        return np.asarray(self._embed(images), np.float64)


def rank_weights(fitness: np.ndarray) -> np.ndarray:
    """Centred rank weights in [-0.5, 0.5]: scale-free, robust to outliers (ties share)."""
    fitness = np.asarray(fitness, np.float64)
    order = fitness.argsort(kind="stable").argsort(kind="stable").astype(np.float64)
    # Equal fitness gets the mean rank, so a flat landscape gives no direction at all.
    for value in np.unique(fitness):
        tied = fitness == value
        order[tied] = order[tied].mean()
    return order / max(len(fitness) - 1, 1) - 0.5


@dataclass
class ESResult:
    """What :func:`es_refine` returns.

    Attributes
    ----------
    images
        The best image found per target (N, H, W).
    scores
        Their cosine with the target in the black box (N,).
    start_scores
        The cosine of the starting images (N,).
    history
        Mean best score after each generation.
    queries
        Black-box queries spent (the start's included).
    """

    images: np.ndarray
    scores: np.ndarray
    start_scores: np.ndarray
    history: list[float]
    queries: int


def es_refine(render: Callable[[np.ndarray], np.ndarray], blackbox: QueryCounter,
              target_emb: np.ndarray, u0: np.ndarray, generations: int, population: int,
              sigma: float, lr: float, seed: int = 0) -> ESResult:
    """Refine search points ``u`` so the black box's embedding of ``render(u)`` nears ``t``.

    Parameters
    ----------
    render
        Search points (M, K) to images (M, H, W) in [0, 1]; free to call (no queries).
    blackbox
        The counted recognizer.
    target_emb
        The leaked templates (N, D), in the black box's space.
    u0
        Starting points (N, K).
    generations, population
        Generations, and perturbations per target and generation (even: antithetic pairs).
    sigma, lr
        Perturbation scale and step size in ``u``'s units.
    seed
        Seed of the perturbations.

    Returns
    -------
    ESResult
    """
    target = np.asarray(target_emb, np.float64)
    u = np.array(u0, np.float64, copy=True)
    if u.ndim != 2 or len(u) != len(target):
        raise ValueError(f"need one start point per target: u0 {u.shape}, targets "
                         f"{target.shape}")
    if population < 2 or population % 2:
        raise ValueError(f"population must be an even number >= 2, got {population}")
    if generations < 0 or sigma <= 0 or lr <= 0:
        raise ValueError("generations must be >= 0 and sigma, lr > 0")
    rng = np.random.default_rng(seed)
    start_q = blackbox.queries
    best_img = np.asarray(render(u), np.float32)
    best = cosine_similarity(blackbox(best_img), target)
    start_scores = best.copy()
    history = [float(best.mean())]
    n, k, half = len(u), u.shape[1], population // 2
    for _ in range(generations):
        eps = rng.standard_normal((n, half, k))
        eps = np.concatenate([eps, -eps], axis=1)  # antithetic: (n, population, k)
        cand = (u[:, None, :] + sigma * eps).reshape(n * population, k)
        images = np.asarray(render(cand), np.float32)
        score = cosine_similarity(blackbox(images), np.repeat(target, population, axis=0))
        score = score.reshape(n, population)
        for i in range(n):
            w = rank_weights(score[i])
            u[i] += lr / (population * sigma) * (w @ eps[i])
            j = int(score[i].argmax())
            if score[i, j] > best[i]:
                best[i] = score[i, j]
                best_img[i] = images[i * population + j]
        history.append(float(best.mean()))
    return ESResult(best_img, best, start_scores, history, blackbox.queries - start_q)

"""The one implementation of face verification scoring: normalise, compare, threshold.

A verifier compares two templates and **accepts when their score reaches a threshold,
``score >= t``**. Every module of the course (:mod:`faceleak.vision.metrics` for Lab 1,
:mod:`faceleak.privacy.attack_metrics` for Lab 3, :mod:`faceleak.privacy.defenses` for the
defences) scores pairs and sets thresholds through the functions here, so that an EER, a
TAR at a FAR and an attack's success rate are measured with the same rule.

Scores
    Cosine similarity of L2-normalised rows (:func:`cosine_similarity_matrix`,
    :func:`cosine_similarity`). Binary templates (bits 0/1, e.g. BioHash) are compared as the
    cosine of their ±1 vectors, ``1 - 2 * Hamming / n_bits``: the same operation on the
    ±1 encoding, so one scorer with a ``binary`` switch serves both.

Error rates at a threshold ``t``
    FAR (false accept rate) is the fraction of impostor scores ``>= t``; FRR (false reject
    rate) the fraction of genuine scores ``< t``; TAR = 1 - FRR. A score equal to the
    threshold is accepted, for impostors as for genuine pairs.

Threshold at a FAR
    :func:`threshold_at_far` returns the smallest threshold whose FAR is at most the
    requested one. If the sorted impostor scores are ``s_1 >= s_2 >= ... >= s_n`` and at most
    ``k`` of them may be accepted (the largest ``k`` with ``k / n <= far``), every threshold
    ``t <= s_(k+1)`` accepts at least ``k + 1`` impostors (ties at ``s_(k+1)`` included),
    and every ``t > s_(k+1)`` accepts at most ``k``. The smallest admissible threshold is
    therefore the next float above ``s_(k+1)``, ``np.nextafter(s_(k+1), inf)``; with
    ``k = 0`` it lies just above the top impostor score (no impostor accepted), and with
    ``far = 1`` (``k = n``) it is ``-inf`` (accept everything). The TAR at that threshold is
    the highest TAR of any threshold with FAR <= far, i.e. the ROC curve's value, which is
    what :func:`tar_at_far` reports.

Zero rows
    A row of zeros has no direction, so its cosine similarity with anything is undefined.
    :func:`l2_normalise` raises a :class:`ValueError` that names the input and says what to
    do. Before this module, :func:`faceleak.privacy.defenses.l2_normalise` let zero rows pass as
    zeros, which scores them 0 against every template (a silent "orthogonal to everyone").
    Nothing in the course relies on that: defences normalise embeddings of real faces
    (never zero), binary templates are compared as ±1 vectors (never zero), and a
    projected, noised or PCA-reduced template is exactly zero only when the defence has
    destroyed the face altogether (e.g. ``ScaleOnly(strength=0)``), which is an error worth
    seeing rather than a score of 0. So one rule holds everywhere: zero rows raise.

Only NumPy is needed here; ROC curves and the EER (with scikit-learn) stay in
:mod:`faceleak.vision.metrics`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_scores",
    "cosine_similarity",
    "cosine_similarity_matrix",
    "far_frr",
    "genuine_impostor_scores",
    "l2_normalise",
    "max_accepted",
    "pairs",
    "split_pair_scores",
    "tar_at_far",
    "threshold_at_far",
]

# --------------------------------------------------------------------------- validation


def _as_rows(x: ArrayLike, name: str) -> NDArray[np.float64]:
    rows = np.asarray(x, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise ValueError(f"{name} contains NaN or inf")
    return rows


def check_scores(scores: ArrayLike, *, name: str = "scores") -> NDArray[np.float64]:
    """Scores as a non-empty, finite 1-D float array.

    Parameters
    ----------
    scores
        Any array of scores; it is flattened.
    name
        What to call the scores in error messages.

    Returns
    -------
    numpy.ndarray
        The scores, 1-D, float64.

    Raises
    ------
    ValueError
        If there is no score, or a score is NaN or infinite.
    """
    out = np.asarray(scores, dtype=np.float64).ravel()
    if out.size == 0:
        raise ValueError(f"need at least one {name} score")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} scores contain NaN or inf")
    return out


def _check_far(far: float) -> float:
    far = float(far)
    if not 0.0 <= far <= 1.0:  # also refuses NaN
        raise ValueError(f"far must be in [0, 1], got {far}")
    return far


# --------------------------------------------------------------------------- normalisation


def l2_normalise(x: ArrayLike, *, name: str = "embeddings") -> NDArray[np.float64]:
    """Rows scaled to unit Euclidean length.

    Parameters
    ----------
    x
        Embeddings or templates (N, D), finite.
    name
        What to call ``x`` in error messages.

    Returns
    -------
    numpy.ndarray
        ``x / ||x||`` row by row, float64.

    Raises
    ------
    ValueError
        If ``x`` is not 2-D, holds NaN or inf, or has a row of zeros: a zero vector has no
        direction, so its cosine similarity is undefined (see the module docstring).

    Examples
    --------
    >>> l2_normalise(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    rows = _as_rows(x, name)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    zero = np.flatnonzero(norms[:, 0] == 0)
    if zero.size:
        raise ValueError(
            f"{name} has {zero.size} zero row(s) (first: row {int(zero[0])}); a zero vector "
            "has no direction, so its cosine similarity is undefined. Drop those rows or "
            "fix what produced them before comparing.")
    return rows / norms


def _signs(bits: ArrayLike, name: str) -> NDArray[np.float64]:
    """Binary templates (0/1) as ±1 vectors."""
    rows = _as_rows(bits, name)
    if not np.all((rows == 0) | (rows == 1)):
        raise ValueError(f"{name} must hold bits (0 or 1) when binary=True")
    return 2.0 * rows - 1.0


# --------------------------------------------------------------------------- scores


def cosine_similarity_matrix(a: ArrayLike, b: ArrayLike | None = None, *, binary: bool = False,
                             name_a: str = "a", name_b: str = "b") -> NDArray[np.float64]:
    """Cosine similarity between every row of ``a`` and every row of ``b``.

    Parameters
    ----------
    a
        Templates (Na, D); they need not be normalised.
    b
        Templates (Nb, D); by default ``a`` itself.
    binary
        Compare bit templates (0/1) as their ±1 vectors: ``1 - 2 * Hamming / D``, computed
        exactly as ``(±1 dot product) / D``.
    name_a, name_b
        What to call ``a`` and ``b`` in error messages.

    Returns
    -------
    numpy.ndarray
        Scores (Na, Nb) in [-1, 1], higher for more alike.

    Raises
    ------
    ValueError
        On a zero row (real-valued templates), non-bits (``binary=True``), NaN or inf, or
        rows of different lengths.

    Examples
    --------
    >>> cosine_similarity_matrix(np.array([[1.0, 0.0], [1.0, 1.0]]))[0, 1].round(4)
    np.float64(0.7071)
    >>> cosine_similarity_matrix(np.array([[1, 0, 1, 1]]), np.array([[1, 1, 1, 0]]),
    ...                          binary=True)
    array([[0.]])
    """
    if binary:
        sa = _signs(a, name_a)
        sb = sa if b is None else _signs(b, name_b)
    else:
        sa = l2_normalise(a, name=name_a)
        sb = sa if b is None else l2_normalise(b, name=name_b)
    if sa.shape[1] != sb.shape[1]:
        raise ValueError(f"{name_a} rows have {sa.shape[1]} values and {name_b} rows "
                         f"{sb.shape[1]}")
    sim = sa @ sb.T
    return sim / sa.shape[1] if binary else sim


def cosine_similarity(a: ArrayLike, b: ArrayLike, *, binary: bool = False, name_a: str = "a",
                      name_b: str = "b") -> NDArray[np.float64]:
    """Row-wise cosine similarity: row ``n`` of ``a`` against row ``n`` of ``b``.

    Same conventions as :func:`cosine_similarity_matrix` (its diagonal, without computing
    the whole matrix).

    Parameters
    ----------
    a, b
        Templates of the same shape (N, D).
    binary
        Compare bit templates as ±1 vectors (see :func:`cosine_similarity_matrix`).
    name_a, name_b
        What to call ``a`` and ``b`` in error messages.

    Returns
    -------
    numpy.ndarray
        N scores.
    """
    if binary:
        sa, sb = _signs(a, name_a), _signs(b, name_b)
    else:
        sa, sb = l2_normalise(a, name=name_a), l2_normalise(b, name=name_b)
    if sa.shape != sb.shape:
        raise ValueError(f"{name_a} {sa.shape} and {name_b} {sb.shape} differ in shape")
    sim = np.einsum("nd,nd->n", sa, sb)
    return sim / sa.shape[1] if binary else sim


def pairs(labels: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]:
    """All unordered pairs ``i < j`` and whether each is genuine (same label).

    Returns
    -------
    i, j, genuine
        Index arrays and a boolean array, each of length ``N (N - 1) / 2``, in the order of
        :func:`numpy.triu_indices`.

    Examples
    --------
    >>> i, j, g = pairs(np.array([0, 0, 1]))
    >>> list(zip(i.tolist(), j.tolist(), g.tolist()))
    [(0, 1, True), (0, 2, False), (1, 2, False)]
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    i, j = np.triu_indices(len(labels), k=1)
    return i, j, labels[i] == labels[j]


def split_pair_scores(scores: ArrayLike, labels: ArrayLike
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Genuine and impostor scores from a square score matrix of a set against itself.

    Parameters
    ----------
    scores
        Scores (N, N) of every template against every other (e.g. from
        :func:`cosine_similarity_matrix`); only the upper triangle is read.
    labels
        Identity per template (N,).

    Returns
    -------
    genuine, impostor
        1-D arrays: each unordered pair once, in :func:`pairs` order.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.ndim != 1 or scores.shape != (len(labels), len(labels)):
        raise ValueError(f"need an (N, N) score matrix and N labels: {scores.shape} vs "
                         f"{labels.shape}")
    i, j, genuine = pairs(labels)
    flat = scores[i, j]
    return flat[genuine], flat[~genuine]


def genuine_impostor_scores(emb: ArrayLike, labels: ArrayLike, *, binary: bool = False,
                            name: str = "embeddings"
                            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cosine scores of all genuine pairs and of all impostor pairs of one set.

    Parameters
    ----------
    emb
        Embeddings or templates (N, D); they need not be normalised.
    labels
        Identity per row.
    binary
        Bit templates, compared as ±1 vectors (see :func:`cosine_similarity_matrix`).
    name
        What to call ``emb`` in error messages.

    Returns
    -------
    genuine, impostor
        1-D arrays of scores (each unordered pair once).
    """
    sim = cosine_similarity_matrix(emb, binary=binary, name_a=name)
    labels = np.asarray(labels)
    if labels.shape != (len(sim),):
        raise ValueError(f"need one label per row of {name}: {labels.shape} vs {len(sim)} rows")
    return split_pair_scores(sim, labels)


# --------------------------------------------------------------------------- thresholds


def max_accepted(n: int, far: float) -> int:
    """The largest number ``k`` of ``n`` impostors that may be accepted: ``k / n <= far``.

    ``k / n`` is compared in floating point exactly as ``np.mean(impostor >= t)`` would
    compute it, so a threshold for ``far = 0.3`` over 10 impostors allows 3 of them.

    Examples
    --------
    >>> max_accepted(1000, 1e-3), max_accepted(999, 1e-3), max_accepted(10, 0.3)
    (1, 0, 3)
    """
    far = _check_far(far)
    if n < 1:
        raise ValueError(f"need at least one impostor, got n={n}")
    k = min(max(int(np.floor(far * n)), 0), n)
    while k < n and (k + 1) / n <= far:
        k += 1
    while k > 0 and k / n > far:
        k -= 1
    return k


def threshold_at_far(impostor: ArrayLike, far: float) -> float:
    """The smallest threshold whose false accept rate on ``impostor`` is at most ``far``.

    With the accept rule ``score >= t``: at most ``k = max_accepted(n, far)`` impostor
    scores may be accepted, so the ``(k + 1)``-th highest impostor score ``s`` must be
    rejected, together with every score tied with it, and the threshold is the next float
    above it, ``np.nextafter(s, inf)``.

    Parameters
    ----------
    impostor
        Impostor scores (any shape; flattened).
    far
        The false accept rate allowed, in [0, 1].

    Returns
    -------
    float
        The threshold. Just above the highest impostor score when no impostor may be
        accepted (``far < 1 / n``, including ``far = 0``); ``-inf`` when ``far = 1``
        (every impostor may be accepted, so everything is).

    Examples
    --------
    One of four impostors may pass: the second highest, 0.3, must be rejected.

    >>> imp = np.array([0.1, 0.2, 0.3, 0.4])
    >>> threshold_at_far(imp, 0.25)  # np.nextafter(0.3, np.inf)
    0.30000000000000004
    >>> threshold_at_far(imp, 0.1)  # none may pass: just above the top score
    0.4000000000000001
    """
    scores = check_scores(impostor, name="impostor")
    k = max_accepted(scores.size, far)
    if k == scores.size:
        return float("-inf")
    # The (k + 1)-th highest score, i.e. the (n - k)-th smallest (index n - 1 - k).
    rejected = np.partition(scores, scores.size - 1 - k)[scores.size - 1 - k]
    return float(np.nextafter(rejected, np.inf))


def far_frr(genuine: ArrayLike, impostor: ArrayLike, threshold: float) -> tuple[float, float]:
    """FAR and FRR when accepting ``score >= threshold``.

    Returns
    -------
    far, frr
        Fraction of impostor scores ``>= threshold`` and of genuine scores ``< threshold``.

    Examples
    --------
    >>> far_frr([0.8, 0.6, 0.4], [0.5, 0.3, 0.1], 0.5)  # the tie at 0.5 is accepted
    (0.3333333333333333, 0.3333333333333333)
    """
    genuine = check_scores(genuine, name="genuine")
    impostor = check_scores(impostor, name="impostor")
    return float(np.mean(impostor >= threshold)), float(np.mean(genuine < threshold))


def tar_at_far(genuine: ArrayLike, impostor: ArrayLike,
               far: float = 1e-2) -> tuple[float, float]:
    """True accept rate at :func:`threshold_at_far`.

    This is the ROC curve's TAR at ``far``: the highest TAR of any threshold whose FAR on
    these impostor scores is at most ``far``.

    Parameters
    ----------
    genuine, impostor
        Scores of genuine and impostor pairs.
    far
        The false accept rate allowed, in [0, 1].

    Returns
    -------
    tar, threshold
        Accepting ``score >= threshold`` accepts a fraction ``tar`` of genuine pairs and at
        most ``far`` of impostor pairs (measured on these scores).

    Examples
    --------
    >>> tar_at_far([0.8, 0.6, 0.4], [0.5, 0.3, 0.1], 0)  # threshold just above 0.5
    (0.6666666666666666, 0.5000000000000001)
    """
    genuine = check_scores(genuine, name="genuine")
    threshold = threshold_at_far(impostor, far)
    return float(np.mean(genuine >= threshold)), threshold

"""The verification back-end (WCCN + S-norm) against hand-computed reference values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from faceleak.vision import metrics, scoring


def _people(n_people: int, per_person: int, dim: int, nuisance: float, seed: int):
    """Embeddings = a person's direction + a strong nuisance shared by everybody.

    The nuisance (think: light) moves every photo along the same three directions, by far
    more than people differ, so plain cosine mostly measures the nuisance.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_people), per_person)
    identity = rng.normal(size=(n_people, dim))
    directions = np.linalg.qr(rng.normal(size=(dim, 3)))[0].T
    nuisance_part = nuisance * rng.normal(size=(len(labels), 3)) @ directions
    return identity[labels] + nuisance_part + 0.3 * rng.normal(size=(len(labels), dim)), labels


def test_wccn_without_shrinkage_whitens_the_within_person_covariance():
    emb, labels = _people(6, 40, 8, nuisance=5.0, seed=0)
    backend = scoring.fit_backend(emb, labels, shrinkage=0.0, normalise_scores=False)
    within = np.mean([np.cov(emb[labels == p], rowvar=False, bias=True)
                      for p in np.unique(labels)], axis=0)
    np.testing.assert_allclose(backend.whitener @ within @ backend.whitener, np.eye(8),
                               atol=1e-9)
    np.testing.assert_allclose(backend.whitener, backend.whitener.T)
    np.testing.assert_allclose(backend.mean, emb.mean(axis=0))


def test_full_shrinkage_is_cosine_of_centred_embeddings():
    emb, labels = _people(4, 10, 6, nuisance=2.0, seed=1)
    backend = scoring.fit_backend(emb, labels, shrinkage=1.0, normalise_scores=False)
    np.testing.assert_allclose(backend.score_matrix(emb),
                               cosine_similarity(emb - emb.mean(axis=0)), atol=1e-12)


def test_s_norm_matches_the_formula_pair_by_pair():
    emb, labels = _people(5, 8, 6, nuisance=2.0, seed=2)
    backend = scoring.fit_backend(emb, labels, shrinkage=0.1)
    probes = emb[:7] + 0.1
    scores = backend.score_matrix(probes, emb)
    white = backend.transform(probes), backend.transform(emb)
    for i in range(len(probes)):
        for j in range(len(emb)):
            a, b = white[0][i], white[1][j]
            cos = a @ b
            za = (cos - np.mean(backend.cohort @ a)) / np.std(backend.cohort @ a)
            zb = (cos - np.mean(backend.cohort @ b)) / np.std(backend.cohort @ b)
            assert scores[i, j] == pytest.approx((za + zb) / 2, abs=1e-10)
    square = backend.score_matrix(emb)
    np.testing.assert_allclose(square, square.T, atol=1e-12)
    np.testing.assert_allclose(square[:7], backend.score_matrix(emb[:7], emb), atol=1e-12)


def test_cohort_is_the_unit_mean_of_each_training_person():
    emb, labels = _people(3, 5, 4, nuisance=1.0, seed=3)
    backend = scoring.fit_backend(emb, labels)
    assert backend.cohort.shape == (3, 4) and backend.n_people == 3 and backend.n_train == 15
    white = backend.transform(emb)
    first = white[labels == 0].mean(axis=0)
    np.testing.assert_allclose(backend.cohort[0], first / np.linalg.norm(first))
    assert "S-norm against a cohort of 3" in backend.describe()


def test_back_end_recovers_identity_from_a_dominant_nuisance():
    """Fitted on some people, it helps on *other* people sharing the nuisance."""
    emb, labels = _people(30, 30, 16, nuisance=6.0, seed=4)
    train, test = labels < 20, labels >= 20
    backend = scoring.fit_backend(emb[train], labels[train])
    cosine = metrics.verification_report(emb[test], labels[test])
    backed = metrics.verification_report(emb[test], labels[test], scorer=backend.score_matrix)
    assert cosine.eer > 0.15, cosine.summary()
    assert backed.eer < cosine.eer / 3, (cosine.summary(), backed.summary())


@pytest.mark.parametrize(("emb", "labels", "message"), [
    (np.ones((4, 3)), np.zeros(4), "at least 2 people"),
    (np.ones((3, 3)), np.array([0, 0, 1]), "at least 2 embeddings"),
    (np.full((4, 3), np.nan), np.array([0, 0, 1, 1]), "NaN"),
    (np.ones(4), np.array([0, 0, 1, 1]), "2-D"),
    (np.ones((4, 3)), np.array([0, 0, 1]), "one label per embedding"),
])
def test_bad_training_sets_are_refused(emb, labels, message):
    with pytest.raises(ValueError, match=message):
        scoring.fit_backend(emb, labels)


def test_bad_inputs_to_a_fitted_back_end_are_refused():
    emb, labels = _people(3, 5, 4, nuisance=1.0, seed=5)
    with pytest.raises(ValueError, match="shrinkage"):
        scoring.fit_backend(emb, labels, shrinkage=1.5)
    backend = scoring.fit_backend(emb, labels)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        backend.score_matrix(np.ones((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        backend.transform(np.full((1, 4), np.inf))

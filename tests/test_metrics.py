"""Metrics against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from faceleak.vision import metrics


def test_pairs_enumerates_each_unordered_pair_once():
    i, j, genuine = metrics.pairs(np.array([0, 0, 1, 1]))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [
        (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert genuine.tolist() == [True, False, False, False, False, True]


def test_genuine_impostor_scores_by_hand():
    # Three unit vectors: a and b at 60 degrees (same person), c orthogonal to a.
    emb = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2], [0.0, 2.0]])  # c is not normalised
    gen, imp = metrics.genuine_impostor_scores(emb, np.array([7, 7, 9]))
    np.testing.assert_allclose(gen, [0.5])
    np.testing.assert_allclose(sorted(imp), sorted([0.0, np.sqrt(3) / 2]))


def test_eer_of_separable_scores_is_zero():
    e, thr = metrics.eer([0.9, 0.8, 0.7], [0.1, 0.2, 0.3])
    assert e == 0.0
    assert 0.3 < thr <= 0.7


def test_eer_hand_computed_interleaved():
    # genuine 0.8, 0.6, 0.4 ; impostor 0.5, 0.3, 0.1. At threshold 0.45-0.5 one genuine
    # (0.4) is rejected and one impostor (0.5) accepted at 0.5: FAR = FRR = 1/3.
    e, thr = metrics.eer([0.8, 0.6, 0.4], [0.5, 0.3, 0.1])
    assert e == pytest.approx(1 / 3)
    far, frr = metrics.far_frr([0.8, 0.6, 0.4], [0.5, 0.3, 0.1], 0.5)
    assert (far, frr) == pytest.approx((1 / 3, 1 / 3))
    assert 0.4 <= thr <= 0.6


def test_eer_of_identical_distributions_is_one_half():
    rng = np.random.default_rng(0)
    e, _ = metrics.eer(rng.normal(size=4000), rng.normal(size=4000))
    assert e == pytest.approx(0.5, abs=0.03)


def test_roc_matches_sklearn():
    rng = np.random.default_rng(1)
    gen, imp = rng.normal(1, 1, 300), rng.normal(0, 1, 500)
    curve = metrics.roc(gen, imp)
    far, tar, thr = roc_curve(np.r_[np.ones(300), np.zeros(500)], np.r_[gen, imp],
                              drop_intermediate=False)
    np.testing.assert_allclose(curve.far, far)
    np.testing.assert_allclose(curve.tar, tar)
    np.testing.assert_allclose(curve.thresholds, thr)
    # Gaussian shift of 1 standard deviation: AUC = Phi(1 / sqrt 2) ~ 0.76.
    assert curve.auc == pytest.approx(0.76, abs=0.04)


def test_eer_matches_brute_force_threshold_sweep():
    rng = np.random.default_rng(2)
    gen, imp = rng.normal(1.5, 1, 400), rng.normal(0, 1, 600)
    e, thr = metrics.eer(gen, imp)
    grid = np.sort(np.r_[gen, imp])
    rates = [metrics.far_frr(gen, imp, t) for t in grid]
    best = min(rates, key=lambda r: abs(r[0] - r[1]))
    assert e == pytest.approx((best[0] + best[1]) / 2, abs=0.01)
    far, frr = metrics.far_frr(gen, imp, thr)
    assert abs(far - e) < 0.01 and abs(frr - e) < 0.01


def test_tar_at_far_hand_computed():
    gen = [0.9, 0.8, 0.7, 0.2]
    imp = [0.75, 0.1, 0.0, -0.1]  # 4 impostors: one (0.75) is above 0.7
    # No impostor may pass: the smallest admissible threshold is just above the top one.
    tar, thr = metrics.tar_at_far(gen, imp, far=0.0)
    assert tar == pytest.approx(0.5) and thr == np.nextafter(0.75, np.inf)
    # With one false accept allowed (0.75), the second impostor (0.1) must be rejected: the
    # threshold sits just above it and accepts every genuine score, 0.2 included.
    tar, thr = metrics.tar_at_far(gen, imp, far=0.25)
    assert tar == pytest.approx(1.0) and thr == np.nextafter(0.1, np.inf)
    assert metrics.far_frr(gen, imp, thr) == pytest.approx((0.25, 0.0))


def test_tar_at_far_threshold_respects_far_on_random_scores():
    rng = np.random.default_rng(3)
    gen, imp = rng.normal(2, 1, 1000), rng.normal(0, 1, 5000)
    tar, thr = metrics.tar_at_far(gen, imp, far=1e-2)
    assert np.mean(imp >= thr) <= 1e-2
    assert tar == pytest.approx(np.mean(gen >= thr))
    # The next lower score would break the FAR budget: the threshold is the loosest allowed.
    lower = imp[imp < thr].max()
    assert np.mean(imp >= lower) > 1e-2 or np.mean(gen >= lower) == tar


def test_rank1_identification_with_frontal_gallery():
    emb = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], float)
    labels = np.array([0, 1, 0, 1, 1])
    az = np.array([0, 0, 10, 20, -50])
    el = np.array([0, 0, 0, 10, 0])
    gallery = metrics.frontal_gallery_mask(az, el)
    assert gallery.tolist() == [True, True, False, False, False]
    ident = metrics.rank1_identification(emb, labels, gallery)
    # Probe [0.6, 0.4] is closer to subject 0's gallery image: one error in three.
    assert ident.predicted.tolist() == [0, 1, 0]
    assert ident.accuracy == pytest.approx(2 / 3)
    assert ident.n_gallery == 2


def test_rank1_requires_every_probe_identity_enrolled():
    with pytest.raises(ValueError, match="no gallery image"):
        metrics.rank1_identification(np.eye(3), np.array([0, 1, 2]),
                                     np.array([True, True, False]))


@pytest.mark.parametrize("bad", [np.zeros((3,)), np.full((3, 2), np.nan)])
def test_invalid_embeddings_are_rejected(bad):
    with pytest.raises(ValueError):
        metrics.genuine_impostor_scores(bad, np.array([0, 0, 1]))


def test_empty_scores_are_rejected():
    with pytest.raises(ValueError, match="at least one"):
        metrics.eer([], [0.1])


def test_verification_report_summary():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(5, 16))
    labels = np.repeat(np.arange(5), 6)
    emb = centres[labels] + 0.1 * rng.normal(size=(30, 16))
    az = np.tile([0, 10, 20, 30, 40, 50], 5)
    rep = metrics.verification_report(emb, labels, gallery_mask=metrics.frontal_gallery_mask(
        az, np.zeros(30)))
    assert rep.eer < 0.05 and rep.rank1 == 1.0
    assert rep.n_genuine == 5 * 15 and rep.n_impostor == 30 * 29 // 2 - 75
    assert "EER" in rep.summary()


def test_a_custom_scorer_replaces_cosine_everywhere():
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(4), 5)
    emb = rng.normal(size=(4, 8))[labels] + 0.3 * rng.normal(size=(20, 8))
    gallery = np.zeros(20, bool)
    gallery[::5] = True
    default = metrics.verification_report(emb, labels, gallery_mask=gallery)
    explicit = metrics.verification_report(emb, labels, gallery_mask=gallery,
                                           scorer=metrics.cosine_similarity_matrix)
    assert default == explicit
    # A scorer that ranks pairs backwards turns a good verifier into a bad one.
    backwards = metrics.verification_report(
        emb, labels, gallery_mask=gallery,
        scorer=lambda a, b: -metrics.cosine_similarity_matrix(a, b))
    assert backwards.eer > 0.5 > default.eer
    assert backwards.rank1 < default.rank1
    np.testing.assert_allclose(backwards.auc, 1 - default.auc)


def test_a_scorer_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="scorer returned shape"):
        metrics.genuine_impostor_scores(np.eye(3), np.array([0, 0, 1]),
                                        scorer=lambda a, b: np.zeros((2, 2)))

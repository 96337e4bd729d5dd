"""The verification core: hand-computed cases, ties, edge operating points, scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from faceleak.privacy import attack_metrics, defenses
from faceleak.vision import metrics
from faceleak.vision import verification as v

UP = np.inf  # direction for np.nextafter: the next float above


# --------------------------------------------------------------------------- one implementation


def test_the_other_modules_use_this_implementation():
    assert metrics.tar_at_far is v.tar_at_far
    assert metrics.far_frr is v.far_frr
    assert metrics.pairs is v.pairs
    assert metrics.cosine_similarity_matrix is v.cosine_similarity_matrix
    assert attack_metrics.threshold_at_far is v.threshold_at_far
    assert defenses.l2_normalise is v.l2_normalise


# --------------------------------------------------------------------------- normalisation


def test_l2_normalise_by_hand():
    out = v.l2_normalise(np.array([[3.0, 4.0], [0.0, -2.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, -1.0]], rtol=0, atol=1e-15)


def test_a_zero_row_is_refused_with_the_inputs_name():
    x = np.array([[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"templates has 2 zero row\(s\) \(first: row 1\)"):
        v.l2_normalise(x, name="templates")


@pytest.mark.parametrize("call", [
    lambda z: metrics.genuine_impostor_scores(z, np.array([0, 0, 1])),
    lambda z: attack_metrics.impostor_scores(z, np.array(["a", "a", "b"], dtype=object)),
    lambda z: attack_metrics.cosine_to_target(z, np.ones((3, 2))),
    lambda z: defenses.similarity_matrix(z, z),
    lambda z: defenses.verification_scores(z, np.array([0, 0, 1])),
], ids=["metrics", "attack-impostors", "attack-cosine", "defences-matrix", "defences-scores"])
def test_every_module_refuses_zero_rows_alike(call):
    z = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="zero row"):
        call(z)


def test_a_defence_that_destroys_the_template_is_reported_not_scored():
    # ScaleOnly(0) maps every template to zeros; its cosine is undefined, not 0.
    zeros = defenses.ScaleOnly(strength=0.0).fit(np.ones((4, 3))).transform(np.ones((4, 3)))
    with pytest.raises(ValueError, match="templates has 4 zero row"):
        defenses.utility(zeros, np.array([0, 0, 1, 1]))


@pytest.mark.parametrize("bad", [np.ones(3), np.full((2, 2), np.nan), np.full((2, 2), np.inf)])
def test_l2_normalise_refuses_bad_shapes_and_values(bad):
    with pytest.raises(ValueError, match="2-D|NaN"):
        v.l2_normalise(bad)


# --------------------------------------------------------------------------- scores


def test_cosine_matrix_by_hand():
    a = np.array([[1.0, 0.0], [1.0, 1.0]])
    b = np.array([[0.0, 2.0], [-3.0, 0.0]])
    r = np.sqrt(0.5)
    np.testing.assert_allclose(v.cosine_similarity_matrix(a, b), [[0, -1], [r, -r]], atol=1e-15)
    np.testing.assert_allclose(v.cosine_similarity_matrix(a), [[1, r], [r, 1]], atol=1e-15)
    # Row-wise scores are the diagonal.
    np.testing.assert_allclose(v.cosine_similarity(a, b), [0, -r], atol=1e-15)
    with pytest.raises(ValueError, match="differ in shape"):
        v.cosine_similarity(a, b[:1])
    with pytest.raises(ValueError, match="rows have 2 values"):
        v.cosine_similarity_matrix(a, np.ones((2, 3)))


def test_binary_scores_by_hand_and_as_hamming():
    a = np.array([[1, 0, 1, 1]], dtype=np.uint8)
    b = np.array([[1, 1, 1, 0], [0, 1, 0, 0], [1, 0, 1, 1]], dtype=np.uint8)
    # Hamming distances 2, 4, 0 over 4 bits -> 1 - 2 h / 4 = 0, -1, 1.
    np.testing.assert_array_equal(v.cosine_similarity_matrix(a, b, binary=True), [[0, -1, 1]])
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (30, 24))
    hamming = np.mean(bits[:, None, :] != bits[None, :, :], axis=2)
    np.testing.assert_allclose(v.cosine_similarity_matrix(bits, binary=True), 1 - 2 * hamming,
                               rtol=0, atol=1e-15)
    # An all-zero bit string is a valid template (all -1), unlike a real-valued zero row.
    assert v.cosine_similarity(np.zeros((1, 4)), np.zeros((1, 4)), binary=True)[0] == 1.0
    with pytest.raises(ValueError, match="bits"):
        v.cosine_similarity_matrix(np.array([[0.0, 2.0]]), binary=True)


def test_genuine_impostor_split_by_hand():
    emb = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 5.0], [-1.0, 0.0]])
    labels = np.array(["x", "x", "y", "y"])
    gen, imp = v.genuine_impostor_scores(emb, labels)
    r = np.sqrt(0.5)
    # Pairs (0,1) (0,2) (0,3) (1,2) (1,3) (2,3); genuine: (0,1) and (2,3).
    np.testing.assert_allclose(gen, [r, 0.0], atol=1e-15)
    np.testing.assert_allclose(imp, [0.0, -1.0, r, -r], atol=1e-15)
    with pytest.raises(ValueError, match="one label per row"):
        v.genuine_impostor_scores(emb, labels[:3])


# --------------------------------------------------------------------------- thresholds


four_imp = np.array([0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(("far", "expected"), [
    (0.25, np.nextafter(0.3, UP)),   # one of four may pass: 0.3 must be rejected
    (0.5, np.nextafter(0.2, UP)),    # two of four
    (0.75, np.nextafter(0.1, UP)),   # three of four
    (0.2499, np.nextafter(0.4, UP)),  # just under 1/4: none may pass
])
def test_threshold_at_far_by_hand(far, expected):
    t = v.threshold_at_far(four_imp, far)
    assert t == expected
    assert np.mean(four_imp >= t) <= far
    # The next float down accepts one impostor more and breaks the budget.
    assert np.mean(four_imp >= np.nextafter(t, -np.inf)) > far


@pytest.mark.parametrize("far", [0.0, 1e-3, 0.24])
def test_no_impostor_accepted_puts_the_threshold_just_above_the_top_score(far):
    # far < 1 / n_impostor: even the top impostor (0.4) must be rejected.
    t = v.threshold_at_far(four_imp, far)
    assert t == np.nextafter(0.4, UP)
    assert v.far_frr([0.4, 0.5], four_imp, t) == (0.0, 0.5)  # a genuine 0.4 is rejected too


def test_far_one_accepts_everything():
    assert v.threshold_at_far(four_imp, 1.0) == -np.inf
    tar, t = v.tar_at_far([-5.0, 0.0, 9.0], four_imp, 1.0)
    assert tar == 1.0 and t == -np.inf
    assert v.far_frr([-5.0, 0.0, 9.0], four_imp, t) == (1.0, 0.0)


def test_tied_impostors_at_the_threshold_count_as_accepted():
    imp = np.array([0.1, 0.3, 0.3, 0.4])
    # A threshold at 0.3 accepts both tied scores: FAR 3/4, not 2/4.
    assert v.far_frr([1.0], imp, 0.3)[0] == 0.75
    # So with two of four allowed, 0.3 is out of budget; only 0.4 may pass.
    t = v.threshold_at_far(imp, 0.5)
    assert t == np.nextafter(0.3, UP)
    assert np.mean(imp >= t) == 0.25
    # With three allowed, both tied scores fit in the budget.
    t = v.threshold_at_far(imp, 0.75)
    assert t == np.nextafter(0.1, UP) and np.mean(imp >= t) == 0.75


def test_all_impostors_tied():
    imp = np.full(4, 0.5)
    assert v.threshold_at_far(imp, 0.5) == np.nextafter(0.5, UP)   # all four or none
    assert v.threshold_at_far(imp, 0.99) == np.nextafter(0.5, UP)
    assert v.threshold_at_far(imp, 1.0) == -np.inf


def test_genuine_scores_tied_with_the_threshold_are_accepted():
    # Accept is score >= t, for genuine pairs as for impostors.
    assert v.far_frr([0.5, 0.49], [0.5, 0.1], 0.5) == (0.5, 0.5)


def test_budget_is_counted_in_floating_point_like_mean():
    # 0.29 * 100 = 28.999999999999996 in floating point, yet 29 / 100 <= 0.29 holds.
    assert v.max_accepted(100, 0.29) == 29
    scores = np.arange(100) / 100.0
    t = v.threshold_at_far(scores, 0.29)
    assert np.mean(scores >= t) == 0.29
    assert v.max_accepted(1000, 1e-3) == 1 and v.max_accepted(999, 1e-3) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_is_the_smallest_admissible_on_random_tied_scores(seed):
    rng = np.random.default_rng(seed)
    imp = np.round(rng.normal(size=2000), 1)  # about 60 distinct values: heavy ties
    for far in (1e-3, 1e-2, 0.05, 0.3):
        t = v.threshold_at_far(imp, far)
        assert np.mean(imp >= t) <= far
        assert np.mean(imp >= np.nextafter(t, -np.inf)) > far


def test_tar_at_far_by_hand():
    gen, imp = [0.8, 0.6, 0.4], [0.5, 0.3, 0.1]
    assert v.tar_at_far(gen, imp, 0) == (pytest.approx(2 / 3), np.nextafter(0.5, UP))
    # One of three impostors (0.5) may pass, so 0.3 is the score to reject; 0.4 passes.
    assert v.tar_at_far(gen, imp, 1 / 3) == (1.0, np.nextafter(0.3, UP))


@pytest.mark.parametrize("bad", [-0.01, 1.01, np.nan])
def test_far_outside_the_unit_interval_is_refused(bad):
    with pytest.raises(ValueError, match="far must be"):
        v.threshold_at_far(four_imp, bad)


@pytest.mark.parametrize("bad", [[], [0.1, np.nan], [np.inf]])
def test_bad_impostor_scores_are_refused(bad):
    with pytest.raises(ValueError, match="impostor"):
        v.threshold_at_far(bad, 0.1)


# --------------------------------------------------------------------------- scikit-learn


def _scores(seed: int, decimals: int | None):
    rng = np.random.default_rng(seed)
    gen, imp = rng.normal(1.0, 1.0, 300), rng.normal(0.0, 1.0, 700)
    if decimals is not None:  # ties within and across the two classes
        gen, imp = np.round(gen, decimals), np.round(imp, decimals)
    return gen, imp


@pytest.mark.parametrize(("seed", "decimals"), [(0, None), (1, 1), (2, 2)])
def test_far_frr_reproduces_sklearn_roc_points(seed, decimals):
    gen, imp = _scores(seed, decimals)
    fpr, tpr, thr = roc_curve(np.r_[np.ones(gen.size), np.zeros(imp.size)], np.r_[gen, imp],
                              drop_intermediate=False)
    rates = np.array([v.far_frr(gen, imp, t) for t in thr])
    np.testing.assert_allclose(rates[:, 0], fpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(1 - rates[:, 1], tpr, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("seed", "decimals"), [(0, None), (1, 1), (2, 2)])
def test_tar_at_far_is_the_roc_curve_value(seed, decimals):
    gen, imp = _scores(seed, decimals)
    fpr, tpr, _ = roc_curve(np.r_[np.ones(gen.size), np.zeros(imp.size)], np.r_[gen, imp],
                            drop_intermediate=False)
    # Every ROC FAR exactly, and points between them.
    fars = np.unique(np.r_[fpr, (fpr[:-1] + fpr[1:]) / 2, 1e-3, 1e-2])
    for far in fars:
        tar, t = v.tar_at_far(gen, imp, far)
        assert tar == pytest.approx(tpr[fpr <= far].max(), abs=1e-15), far
        assert np.mean(imp >= t) <= far


def test_eer_from_these_rates_matches_metrics_eer():
    gen, imp = _scores(3, None)
    grid = np.sort(np.r_[gen, imp])
    rates = np.array([v.far_frr(gen, imp, t) for t in grid])
    k = np.argmin(np.abs(rates[:, 0] - rates[:, 1]))
    e, _ = metrics.eer(gen, imp)
    assert e == pytest.approx(rates[k].mean(), abs=1.5 / min(gen.size, imp.size))

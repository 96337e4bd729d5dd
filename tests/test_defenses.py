"""Properties of each template protection, on synthetic embeddings with a planted light signal."""

import numpy as np
import pytest

from faceleak.privacy import defenses, probes


def synthetic(n_subjects=16, per_subject=30, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per_subject)
    azimuth = rng.choice(np.arange(-120, 121, 10), len(subjects)).astype(float)
    elevation = rng.choice([-20.0, 0.0, 20.0, 45.0], len(subjects))
    identity = rng.normal(size=(n_subjects, dim))[np.repeat(np.arange(n_subjects), per_subject)]
    light_dirs = np.linalg.qr(rng.normal(size=(dim, 2)))[0]
    x = 1.0 * identity + 3.0 * np.column_stack([azimuth / 90, elevation / 45]) @ light_dirs.T
    x += 0.2 * rng.normal(size=x.shape)
    train = np.isin(subjects, [f"s{i:02d}" for i in range(10)])
    light = np.column_stack([azimuth, elevation])
    return defenses.l2_normalise(x), light, subjects, train, ~train, light_dirs


def linear_r2(features, light, train, test):
    score, _ = probes.cross_subject(features, light[:, 0], train, test, "regression", "linear")
    return score.r2


def test_projection_removes_a_planted_direction():
    x, light, subjects, train, test, dirs = synthetic()
    assert linear_r2(x, light, train, test) > 0.8
    proj = defenses.NuisanceProjection(strength=3).fit(x[train], light[train])
    z = proj.transform(x)
    assert linear_r2(z, light, train, test) < 0.1
    # The planted directions are (almost) entirely in the removed subspace.
    kept = proj.projection_ @ dirs
    assert np.linalg.norm(kept) / np.linalg.norm(dirs) < 0.2
    # A single linear removal is not enough here: that is why INLP iterates.
    once = defenses.NuisanceProjection(strength=1).fit(x[train], light[train])
    assert linear_r2(once.transform(x), light, train, test) > 0.3
    assert np.allclose(np.linalg.norm(z, axis=1), 1.0)


def test_inlp_iterations_remove_more():
    x, light, subjects, train, test, _ = synthetic(dim=48)
    one = defenses.NuisanceProjection(strength=1).fit(x[train], light[train])
    three = defenses.NuisanceProjection(strength=3).fit(x[train], light[train])
    assert three.removed_ > one.removed_
    assert linear_r2(three.transform(x), light, train, test) <= \
        linear_r2(one.transform(x), light, train, test) + 0.02


def test_projection_needs_light():
    x, *_ = synthetic()
    with pytest.raises(ValueError, match="light"):
        defenses.NuisanceProjection().fit(x)


def test_same_key_same_hash_new_key_unlinkable():
    x, light, subjects, train, test, _ = synthetic()
    a1 = defenses.BioHash(key=7, n_bits=24).fit(x[train]).transform(x[test])
    a2 = defenses.BioHash(key=7, n_bits=24).fit(x[train]).transform(x[test])
    b = defenses.BioHash(key=8, n_bits=24).fit(x[train]).transform(x[test])
    np.testing.assert_array_equal(a1, a2)
    assert set(np.unique(a1)) <= {0, 1} and a1.shape == (test.sum(), 24)
    assert np.mean(a1 != b) > 0.3  # renewed: most bits change
    link = defenses.cross_key_linkability(x[test], subjects[test], 7, 8, n_bits=24,
                                          fit_features=x[train])
    assert link["same_key_eer"] < 0.2  # still useful for verification under one key
    assert abs(link["cross_key_eer"] - 0.5) < 0.12  # close to chance across keys


def test_noise_strength_zero_changes_nothing():
    x, *_ = synthetic()
    np.testing.assert_allclose(defenses.NoiseDefence(strength=0.0).fit(x).transform(x), x)
    noisy = defenses.NoiseDefence(strength=1.0, seed=1).fit(x).transform(x)
    assert np.allclose(np.linalg.norm(noisy, axis=1), 1.0)
    assert np.mean(np.sum(noisy * x, axis=1)) < 0.9
    laplace = defenses.NoiseDefence(strength=1.0, kind="laplace").fit(x).transform(x)
    assert laplace.shape == x.shape
    with pytest.raises(ValueError):
        defenses.NoiseDefence(strength=-1).fit(x)


def test_pca_quantise():
    x, light, subjects, train, test, _ = synthetic()
    z = defenses.PCAQuantise(strength=5).fit(x[train]).transform(x)
    assert z.shape == (len(x), 5)
    q = defenses.PCAQuantise(strength=5, bits=2).fit(x[train]).transform(x[train])
    assert all(len(np.unique(q[:, j])) <= 4 for j in range(5))
    with pytest.raises(ValueError, match="strength"):
        defenses.PCAQuantise(strength=0).fit(x)


def test_similarity_conventions():
    a = np.array([[1, 0, 1, 1]], dtype=np.uint8)
    b = np.array([[1, 1, 1, 0]], dtype=np.uint8)
    assert defenses.similarity(a, b, binary=True)[0] == pytest.approx(0.0)  # 2 of 4 bits agree
    assert defenses.similarity(a, a, binary=True)[0] == pytest.approx(1.0)
    m = defenses.similarity_matrix(a, b, binary=True)
    assert m[0, 0] == pytest.approx(defenses.similarity(a, b, binary=True)[0])
    u = np.array([[3.0, 4.0]])
    assert defenses.similarity(u, 2 * u)[0] == pytest.approx(1.0)


def test_evaluation_ranks_a_useless_defence_as_useless():
    x, light, subjects, train, test, _ = synthetic()
    kinds = ("linear",)
    none = defenses.evaluate(defenses.NoiseDefence(strength=0.0), x, light, subjects, train,
                             test, kinds)
    useless = defenses.evaluate(defenses.ScaleOnly(strength=3.0), x, light, subjects, train, test,
                                kinds)
    useful = defenses.evaluate(defenses.NuisanceProjection(strength=2), x, light, subjects,
                               train, test, kinds)
    # The useless control changes neither utility nor leakage ...
    assert useless["azimuth_r2"] == pytest.approx(none["azimuth_r2"], abs=0.02)
    assert useless["eer"] == pytest.approx(none["eer"], abs=1e-9)
    # ... while projection cuts leakage at little cost in EER. The bound is relative because the
    # grouped search's choice of ridge penalty sits near a tie here (grouped-CV R^2 0.711 at
    # alpha 0.1 against 0.703 at alpha 1), and an absolute margin of 0.5 passed or failed with
    # that choice (CI, 2026-11-23). Over every penalty in the grid but the largest, which no
    # search here picks, the unprotected probe reads R^2 0.67-0.84 and the projected one
    # 0.18-0.30.
    assert useful["azimuth_r2"] < 0.5 * none["azimuth_r2"]
    points = defenses.best_operating_points([none, useless, useful], baseline_eer=none["eer"])
    best = min((p for p in points if p["ok"]), key=lambda p: p["azimuth_r2"])
    assert best["defence"] == useful["defence"]


def test_evaluation_refuses_overlapping_subjects():
    x, light, subjects, train, test, _ = synthetic()
    with pytest.raises(ValueError, match="subject-disjoint"):
        defenses.evaluate(defenses.ScaleOnly(), x, light, subjects, train, train | test)


def test_make_defence_names():
    assert isinstance(defenses.make_defence("biohash", 32), defenses.BioHash)
    assert defenses.make_defence("pca-q4", 8).bits == 4
    with pytest.raises(ValueError, match="unknown defence"):
        defenses.make_defence("magic", 1)


def test_linear_form_reproduces_the_linear_defences_only():
    rng = np.random.default_rng(0)
    x = defenses.l2_normalise(rng.normal(size=(200, 16)))
    light = np.column_stack([rng.uniform(-120, 120, 200), rng.uniform(-40, 90, 200)])
    for defence in (defenses.NuisanceProjection(strength=2), defenses.PCAQuantise(strength=6),
                    defenses.ScaleOnly(strength=3.0), defenses.NoiseDefence(strength=0.0)):
        defence.fit(x, light)
        weight, bias = defenses.linear_form(defence, 16)
        np.testing.assert_allclose(defenses.l2_normalise(x @ weight + bias),
                                   defenses.l2_normalise(defence.transform(x)), atol=1e-9)
    for defence in (defenses.BioHash(key=1, n_bits=8), defenses.PCAQuantise(strength=6, bits=4),
                    defenses.NoiseDefence(strength=0.5)):
        defence.fit(x, light)
        assert defenses.linear_form(defence, 16) is None

"""Probes on synthetic data where the answer is known."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from faceleak.privacy import probes


def synthetic(n_subjects=12, per_subject=40, dim=32, signal=3.0, seed=0):
    """Features = subject identity + `signal` x light azimuth along one planted direction."""
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per_subject)
    azimuth = rng.uniform(-120, 120, len(subjects))
    identity = rng.normal(size=(n_subjects, dim))[np.repeat(np.arange(n_subjects), per_subject)]
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    features = identity + signal * (azimuth[:, None] / 60.0) * direction \
        + 0.1 * rng.normal(size=(len(subjects), dim))
    train = np.isin(subjects, [f"s{i:02d}" for i in range(8)])
    return features.astype(np.float32), azimuth, subjects, train, ~train


def test_planted_linear_signal_is_recovered():
    x, az, groups, train, test = synthetic(signal=3.0)
    score, pred = probes.cross_subject(x, az, train, test, "regression", "linear")
    assert score.r2 > 0.9 and score.mae < 15
    assert pred.shape == (test.sum(),)
    cls = probes.lighting_class(az)
    score_c, _ = probes.cross_subject(x, cls, train, test, "classification", "linear")
    assert score_c.accuracy > 0.85


def test_pure_noise_gives_chance_and_no_significance():
    x, az, groups, train, test = synthetic(signal=0.0)
    score, _ = probes.cross_subject(x, az, train, test, "regression", "linear")
    chance, _ = probes.cross_subject(x, az, train, test, "regression", "chance")
    assert score.r2 < 0.1 and abs(score.mae - chance.mae) < 8
    result = probes.permutation_test(x, az, groups, train, test, "regression", 199, seed=1)
    assert result.p_value > 0.05


def test_permutation_test_detects_signal_at_p_below_0_001():
    x, az, groups, train, test = synthetic(signal=1.0)
    result = probes.permutation_test(x, az, groups, train, test, "regression", 999)
    assert result.p_value == pytest.approx(1 / 1000)
    assert result.observed > result.null.max()
    cls = probes.lighting_class(az)
    result_c = probes.permutation_test(x, cls, groups, train, test, "classification", 999)
    assert result_c.p_value <= 0.005


def test_permutation_statistic_matches_sklearn_ridge():
    """The closed-form statistic is the R² of scikit-learn's Ridge on standardised features."""
    x, az, groups, train, test = synthetic(signal=1.0)
    x = x.astype(np.float64)
    mean, std = x[train].mean(0), x[train].std(0)
    ridge = Ridge(alpha=10.0).fit((x[train] - mean) / std, az[train])
    expected = r2_score(az[test], ridge.predict((x[test] - mean) / std))
    result = probes.permutation_test(x, az, groups, train, test, "regression", 5, alpha=10.0)
    assert result.observed == pytest.approx(expected, abs=1e-6)


def test_permutation_is_within_subject():
    groups = np.array(["a"] * 5 + ["b"] * 7)
    order = probes._within_group_permutation(groups, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(12))
    assert (groups[order] == groups).all()


def test_permutations_are_within_subject_and_uniform():
    groups = np.array(["b", "a", "b", "a", "a", "c"])
    orders = probes._within_group_permutations(groups, np.random.default_rng(1), 6000)
    assert orders.shape == (6000, 6)
    assert (np.sort(orders, axis=1) == np.arange(6)).all()
    assert (groups[orders] == groups).all()
    # Each row of a three-member group lands on each of its positions about a third of the
    # time; the single-member group never moves.
    share = (orders[:, 1] == 4).mean()
    assert abs(share - 1 / 3) < 0.03
    assert (orders[:, 5] == 5).all()


def test_grouped_cv_recovers_signal_and_keeps_subjects_apart():
    x, az, groups, _, _ = synthetic(signal=3.0)
    assert probes.grouped_cv(x, az, groups, "regression", "linear", n_splits=4).r2 > 0.9
    assert probes.grouped_cv(x * 0, az, groups, "regression", "chance", n_splits=4).r2 < 0.05


def test_leakage_table_schema_and_ratio():
    x, az, groups, train, test = synthetic(signal=3.0)
    rng = np.random.default_rng(5)
    targets = {"azimuth": az, "lighting_class": probes.lighting_class(az)}
    feature_sets = {"embedding": x, "pixels": rng.normal(size=x.shape)}
    table = probes.leakage_table(feature_sets, targets, groups, train, test,
                                 kinds=("linear",), n_permutations=99)
    az_row = table["azimuth"]
    assert set(az_row) >= {"embedding", "pixels", "chance", "leakage_ratio", "p_value"}
    assert az_row["embedding"]["r2"] > 0.9 and az_row["embedding"]["mae_deg"] < 15
    assert az_row["p_value"] == pytest.approx(0.01)
    # pixels here are noise, so their R² is <= 0 and the ratio is undefined (NaN), not huge.
    assert np.isnan(az_row["leakage_ratio"]) or az_row["pixels"]["r2"] > 0
    assert table["lighting_class"]["chance"]["accuracy"] < 0.5


def test_leakage_table_is_the_same_with_worker_processes(monkeypatch):
    """The fits run in worker processes give exactly the scores of the sequential run."""
    x, az, groups, train, test = synthetic(signal=1.0)
    targets = {"azimuth": az, "lighting_class": probes.lighting_class(az)}
    feature_sets = {"embedding": x, "pixels": x[:, ::-1] + 0.5 * x[:, :1]}
    tables = {}
    for workers in ("1", "2"):
        monkeypatch.setenv(probes.WORKERS_ENV, workers)
        tables[workers] = probes.leakage_table(feature_sets, targets, groups, train, test,
                                               kinds=("linear", "mlp"), n_permutations=0)
    assert tables["1"] == tables["2"]
    monkeypatch.setenv(probes.WORKERS_ENV, "zero")
    with pytest.raises(ValueError, match="positive integer"):
        probes.probe_workers()


def test_leakage_table_refuses_overlapping_subjects():
    x, az, groups, train, _ = synthetic()
    overlap = train.copy()
    overlap[np.flatnonzero(train)[:3]] = True
    test = ~train
    test[np.flatnonzero(train)[0]] = True
    with pytest.raises(ValueError, match="subject-disjoint"):
        probes.leakage_table({"embedding": x}, {"azimuth": az}, groups, train, test)


def test_cross_subject_refuses_overlapping_rows():
    x, az, groups, train, test = synthetic()
    with pytest.raises(ValueError, match="overlap"):
        probes.cross_subject(x, az, train, train, "regression")


def test_input_validation():
    x, az, groups, train, test = synthetic()
    with pytest.raises(ValueError, match="2-D"):
        probes.cross_subject(x[:, 0], az, train, test, "regression")
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        probes.cross_subject(bad, az, train, test, "regression")
    with pytest.raises(ValueError, match="length mismatch"):
        probes.cross_subject(x, az[:-1], train, test, "regression")
    with pytest.raises(ValueError, match="probe kind"):
        probes.make_probe("regression", "forest")


def test_light_classes_and_targets():
    np.testing.assert_array_equal(probes.lighting_class([-130, -21, -20, 0, 20, 21]),
                                  ["left", "left", "front", "front", "front", "right"])
    np.testing.assert_array_equal(probes.vertical_class([-40, -10, 0, 10, 65]),
                                  ["below", "level", "level", "level", "above"])
    images = np.stack([np.full((4, 4), 0.25), np.full((4, 4), 0.75)])
    t = probes.lighting_targets(np.array([0, 50]), np.array([0, 20]), images)
    np.testing.assert_allclose(t["brightness"], [0.25, 0.75])


def test_mean_ci_matches_scipy():
    values = [0.61, 0.64, 0.58, 0.66, 0.63]
    mean, low, high = probes.mean_ci(values)
    ref = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values))
    assert (low, high) == pytest.approx(ref)


def test_pixel_features_fit_on_training_rows_only():
    rng = np.random.default_rng(0)
    images = rng.random((30, 8, 8)).astype(np.float32)
    train = np.arange(30) < 20
    a = probes.pixel_features(images, train, n_components=5)
    images2 = images.copy()
    images2[~train] += 5.0  # changing test images must not change the fitted projection
    b = probes.pixel_features(images2, train, n_components=5)
    np.testing.assert_allclose(a[train], b[train], atol=1e-5)
    assert a.shape == (30, 5)


def test_subject_bootstrap_interval_contains_estimate_and_widens_with_noise():
    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(10), 20)
    y = rng.uniform(-100, 100, 200)
    tight = probes.subject_bootstrap(y, y + rng.normal(0, 5, 200), subjects, "regression", 300)
    loose = probes.subject_bootstrap(y, y + rng.normal(0, 40, 200), subjects, "regression", 300)
    for ci in (tight, loose):
        est, low, high = ci["mae"]
        assert low <= est <= high
    assert (loose["mae"][2] - loose["mae"][1]) > (tight["mae"][2] - tight["mae"][1])
    acc = probes.subject_bootstrap(np.array(["a", "b"] * 50), np.array(["a", "b"] * 50),
                                   np.repeat(np.arange(10), 10), "classification", 100)
    assert acc["accuracy"] == (1.0, 1.0, 1.0)


def test_mlp_probe_reads_a_nonlinear_signal_whatever_its_unit():
    rng = np.random.default_rng(3)
    subjects = np.repeat([f"s{i:02d}" for i in range(12)], 60)
    azimuth = rng.uniform(-120, 120, len(subjects))
    code = np.stack([np.cos(np.deg2rad(azimuth)), np.sin(np.deg2rad(azimuth))], 1)
    x = np.concatenate([code, 0.05 * rng.normal(size=(len(subjects), 6))], 1) * 3
    train = np.isin(subjects, [f"s{i:02d}" for i in range(8)])
    degrees, _ = probes.cross_subject(x, azimuth, train, ~train, "regression", "mlp")
    radians, _ = probes.cross_subject(x, np.deg2rad(azimuth), train, ~train, "regression",
                                      "mlp")
    assert degrees.r2 > 0.9 and degrees.mae < 12
    assert radians.r2 == pytest.approx(degrees.r2, abs=1e-6)  # the target is standardised


def test_penalty_curve_shows_what_the_penalty_does():
    x, az, groups, train, test = synthetic(signal=3.0)
    alphas = (0.1, 10.0, 1e6)
    rows = probes.penalty_curve(x, az, train, test, alphas, groups=groups)
    assert [r["alpha"] for r in rows] == list(alphas)
    assert rows[0]["r2"] > 0.9 and rows[-1]["r2"] < 0.1  # a huge penalty reads nothing
    # The same numbers as a ridge probe fitted by hand with that penalty.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    manual = make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(x[train], az[train])
    assert rows[1]["r2"] == pytest.approx(r2_score(az[test], manual.predict(x[test])))
    assert rows[0]["grouped_cv_r2"] > 0.9 and rows[-1]["grouped_cv_r2"] < 0.1


def test_the_penalty_search_prints_no_ill_conditioning_warning():
    """Near-unregularised ridge on float32 embeddings is ill-conditioned by design; the grid
    search rejects it, and SciPy's warning (library paths on a lab's page) is not shown."""
    import warnings

    from scipy.linalg import LinAlgWarning
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, GroupKFold

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(150, 10)) @ rng.normal(size=(10, 512))).astype(np.float32)
    x = x + 1e-3 * rng.normal(size=x.shape).astype(np.float32)
    y = x[:, 0] + rng.normal(size=150).astype(np.float32)
    groups = np.repeat(np.arange(15), 10)
    grid = {"alpha": list(probes.RIDGE_ALPHAS)}
    with warnings.catch_warnings(record=True) as raw:  # the situation exists...
        warnings.simplefilter("always")
        GridSearchCV(Ridge(), grid, cv=GroupKFold(5)).fit(x, y, groups=groups)
    assert any(issubclass(w.category, LinAlgWarning) for w in raw)
    with warnings.catch_warnings():  # ...and the course's probes keep it off the page
        warnings.simplefilter("error", LinAlgWarning)
        probes.make_probe("regression", "linear", groups=groups).fit(x, y)
        probes._grouped_ridge_alpha(x, y, groups, "regression")


def test_probe_fits_run_on_one_blas_thread_and_restore_it_afterwards():
    """Small fits on one BLAS thread (see probes.one_blas_thread); the caller's setting is
    restored after the call."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    inside = probes.one_blas_thread(blas_threads)
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert inside() == {1}
        assert blas_threads() == before
    assert probes.cross_subject.__name__ == "cross_subject"  # wrapped, name kept


def test_learning_curve_fits_each_draw_as_one_probe_would(monkeypatch):
    """Every (size, repeat) row is the score of one probe fitted on that draw's subjects,
    whatever the number of worker processes; more labelled people read the light better."""
    x, az, subjects, train, test = synthetic(signal=3.0)
    cls = probes.lighting_class(az)
    sizes = [1, 4, 8]
    monkeypatch.setenv(probes.WORKERS_ENV, "2")
    rows = probes.learning_curve(x, cls, subjects, train, test, "classification", sizes,
                                 repeats=3, seed=0)
    monkeypatch.setenv(probes.WORKERS_ENV, "1")
    assert rows == probes.learning_curve(x, cls, subjects, train, test, "classification",
                                         sizes, repeats=3, seed=0)
    # Every person has photos of every light class, so no draw is skipped.
    assert [(r["n_subjects"], r["repeat"]) for r in rows] == [(k, i) for k in sizes
                                                              for i in range(3)]
    # The draws of the seeded generator, in the function's order, refitted one by one.
    rng = np.random.default_rng(0)
    pool = np.unique(subjects[train])
    for row in rows:
        chosen = rng.choice(pool, size=row["n_subjects"], replace=False)
        fit = train & np.isin(subjects, chosen)
        score, _ = probes.cross_subject(x, cls, fit, test, "classification", "linear", 0,
                                        subjects)
        assert row["accuracy"] == pytest.approx(score.accuracy)
    mean = {k: np.mean([r["accuracy"] for r in rows if r["n_subjects"] == k]) for k in sizes}
    assert mean[8] > mean[1]
    with pytest.raises(ValueError, match="outside"):
        probes.learning_curve(x, cls, subjects, train, test, "classification", [9])

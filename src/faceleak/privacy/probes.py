"""Probes: how much non-identity information can be decoded from a feature vector.

A *probe* is a small supervised model fitted from features (an embedding, or pixels) to an
attribute that is not identity, here the direction of the light. A probe measures what can
be **decoded**, not what the recognition system **uses**: a high score means that the
information is present in the vector and a third party holding the vector could read it.

Every protocol here is subject-disjoint, so that the probe never sees the person it is
tested on:

* **cross-subject**: fit on the training subjects, test on the held-out subjects;
* **grouped CV**: ``GroupKFold`` by subject.

Scores are reported next to baselines on the same split: chance (mean or majority class),
raw pixels (PCA + the same probe) and, from the caller, an untrained network.
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal, ParamSpec, TypeVar

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from scipy.linalg import LinAlgWarning
from sklearn.base import BaseEstimator, clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.decomposition import PCA
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

P = ParamSpec("P")
R = TypeVar("R")

Task = Literal["regression", "classification"]
ProbeKind = Literal["linear", "mlp", "chance"]

#: The attributes probed, and their kind. ``abs_azimuth`` is how far the light is from the
#: camera axis sideways, whichever side: a face flipped left-right keeps it, so a model that
#: has learnt to ignore *which* side can still give it away. ``brightness`` is the mean
#: pixel intensity of the photo: a second non-identity attribute that follows from the image.
TARGETS: dict[str, Task] = {
    "azimuth": "regression",
    "abs_azimuth": "regression",
    "elevation": "regression",
    "lighting_class": "classification",
    "lighting_vertical": "classification",
    "brightness": "regression",
}
#: The targets measured in degrees (their error is reported as ``mae_deg``).
ANGLE_TARGETS = ("azimuth", "abs_azimuth", "elevation")
#: Light within +-20 degrees of the camera axis is "front"; the rest "left"/"right" (a third
#: of the images each on Extended Yale B).
AZIMUTH_FRONT_DEG = 20
#: Light within +-10 degrees of the horizon is "level"; above and below that, "above"/"below".
ELEVATION_LEVEL_DEG = 10


def lighting_class(azimuth: np.ndarray, front_deg: float = AZIMUTH_FRONT_DEG) -> np.ndarray:
    """Coarse horizontal light class: ``"left"`` (azimuth < -front), ``"front"``, ``"right"``.

    Negative azimuth puts the light on the subject's right, which is the left of the image.
    """
    azimuth = np.asarray(azimuth, dtype=float)
    out = np.full(azimuth.shape, "front", dtype=object)
    out[azimuth < -front_deg] = "left"
    out[azimuth > front_deg] = "right"
    return out


def vertical_class(elevation: np.ndarray, level_deg: float = ELEVATION_LEVEL_DEG) -> np.ndarray:
    """Coarse vertical light class: ``"below"``, ``"level"`` or ``"above"``."""
    elevation = np.asarray(elevation, dtype=float)
    out = np.full(elevation.shape, "level", dtype=object)
    out[elevation < -level_deg] = "below"
    out[elevation > level_deg] = "above"
    return out


def lighting_targets(azimuth: np.ndarray, elevation: np.ndarray,
                     images: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """All probe targets for a set of images (``brightness`` only when images are given)."""
    targets = {
        "azimuth": np.asarray(azimuth, dtype=float),
        "abs_azimuth": np.abs(np.asarray(azimuth, dtype=float)),
        "elevation": np.asarray(elevation, dtype=float),
        "lighting_class": lighting_class(azimuth),
        "lighting_vertical": vertical_class(elevation),
    }
    if images is not None:
        targets["brightness"] = np.asarray(images, dtype=float).reshape(len(images), -1).mean(1)
    return targets


#: Penalties searched for the linear probes (ridge ``alpha``, logistic ``C``).
RIDGE_ALPHAS = tuple(np.logspace(-1, 4, 6))
LOGISTIC_CS = (0.01, 0.1, 1.0, 10.0)


def one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with BLAS (and OpenMP) on one thread.

    A probe multiplies small matrices: on two cores, two BLAS threads per fit were measured
    about 30% slower than one when the machine is idle and five times slower when another
    process is busy, because the threads wait on each other for every small product. One
    thread also gives the same numbers wherever a fit runs (here or in a worker of
    :func:`score_many`).
    """
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _thread_pools().limit(limits=1):
            return function(*args, **kwargs)
    return wrapper


@functools.cache
def _thread_pools() -> ThreadpoolController:
    # One inventory of the loaded thread pools, made at the first fit: a fresh
    # threadpool_limits() scans the loaded libraries each time (about 4 ms, against 0.04 ms).
    return ThreadpoolController()


def make_probe(task: Task, kind: ProbeKind = "linear", seed: int = 0,
               groups: np.ndarray | None = None) -> BaseEstimator:
    """A fresh, unfitted probe.

    ``linear`` is ridge regression or multinomial logistic regression; ``mlp`` a
    one-hidden-layer perceptron; ``chance`` predicts the training mean or majority class.
    Features are standardised inside the pipeline, so the scaler is fitted on the training
    fold only.

    When ``groups`` (the subject of each training row) is given, the linear probe's penalty is
    chosen by cross-validation **grouped by subject** within the training rows. Choosing it by
    ordinary leave-one-image-out would reward memorising each training person's images, which
    does not carry over to new people.
    """
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    if kind == "chance":
        if task == "regression":
            return DummyRegressor()
        return DummyClassifier(strategy="most_frequent")
    if kind == "linear":
        model = (Ridge() if task == "regression" else LogisticRegression(max_iter=2000))
        pipe = make_pipeline(StandardScaler(), model)
        if groups is None:
            if task == "regression":
                pipe.set_params(ridge__alpha=100.0)
            return pipe
        n_groups = len(np.unique(groups))
        grid = ({"ridge__alpha": list(RIDGE_ALPHAS)} if task == "regression"
                else {"logisticregression__C": list(LOGISTIC_CS)})
        return _GroupedSearch(pipe, grid, n_splits=min(5, n_groups), groups=groups)
    if kind == "mlp":
        common = {"hidden_layer_sizes": (128,), "alpha": 1e-3, "max_iter": 600,
                  "early_stopping": True, "random_state": seed}
        if task == "classification":
            return make_pipeline(StandardScaler(), MLPClassifier(**common))
        # The target is standardised too, so the probe does not depend on the target's unit
        # (degrees or radians): its weight decay and early stopping act on a unit scale.
        return TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor(**common)),
                                          transformer=StandardScaler())
    raise ValueError(f"probe kind must be 'linear', 'mlp' or 'chance', got {kind!r}")


@contextlib.contextmanager
def _expected_ill_conditioning() -> Iterator[None]:
    """Silence SciPy's ill-conditioning warning while a penalty grid is searched.

    The grid's smallest penalties are meant to be nearly unregularised: with 512-d
    embeddings and a few hundred training rows per fold their systems are ill-conditioned,
    and cross-validation rejects them. The warning would only print library paths into the
    lab's page; the chosen penalty is well conditioned.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        yield


class _GroupedSearch(BaseEstimator):
    """GridSearchCV with the subject groups bound at construction (fit(X, y) stays plain)."""

    def __init__(self, estimator, grid, n_splits, groups):
        self.estimator = estimator
        self.grid = grid
        self.n_splits = n_splits
        self.groups = groups

    def fit(self, x, y):
        search = GridSearchCV(self.estimator, self.grid, cv=GroupKFold(n_splits=self.n_splits))
        with _expected_ill_conditioning():
            search.fit(x, y, groups=self.groups)
        self.best_estimator_ = search.best_estimator_
        self.best_params_ = search.best_params_
        return self

    def predict(self, x):
        return self.best_estimator_.predict(x)


@dataclass(frozen=True)
class ProbeScore:
    """Scores of one probe on one test set. Unused fields are None."""

    task: Task
    r2: float | None = None
    mae: float | None = None
    accuracy: float | None = None

    @property
    def main(self) -> float:
        """The score a leakage ratio is computed from: R² or accuracy."""
        return float(self.r2 if self.task == "regression" else self.accuracy)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def score_predictions(task: Task, y_true: np.ndarray, y_pred: np.ndarray) -> ProbeScore:
    """R² and MAE (in the target's unit) for regression, accuracy for classification."""
    if task == "regression":
        return ProbeScore(task, r2=float(r2_score(y_true, y_pred)),
                          mae=float(mean_absolute_error(y_true, y_pred)))
    return ProbeScore(task, accuracy=float(accuracy_score(y_true, y_pred)))


def _validate(features: np.ndarray, target: np.ndarray, *masks_or_groups: np.ndarray) -> None:
    features = np.asarray(features)
    if features.ndim != 2:
        raise ValueError(f"features must be 2-D (n_samples, n_features), got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or infinite values")
    n = features.shape[0]
    for arr in (target, *masks_or_groups):
        if len(arr) != n:
            raise ValueError(f"length mismatch: {n} feature rows but an array of {len(arr)}")


@one_blas_thread
def cross_subject(features: np.ndarray, target: np.ndarray, train_mask: np.ndarray,
                  test_mask: np.ndarray, task: Task, kind: ProbeKind = "linear",
                  seed: int = 0, groups: np.ndarray | None = None
                  ) -> tuple[ProbeScore, np.ndarray]:
    """Fit on the training rows, score on the test rows. Returns the score and predictions.

    ``groups`` (subject per row) lets the linear probe choose its penalty by subject-grouped
    cross-validation inside the training rows (see :func:`make_probe`).
    """
    _validate(features, target, train_mask, test_mask)
    train_mask, test_mask = np.asarray(train_mask, bool), np.asarray(test_mask, bool)
    if (train_mask & test_mask).any():
        raise ValueError("train and test rows overlap")
    train_groups = None
    if groups is not None:
        groups = np.asarray(groups)
        if set(groups[train_mask]) & set(groups[test_mask]):
            raise ValueError("train and test subjects overlap: the split must be "
                             "subject-disjoint")
        if len(np.unique(groups[train_mask])) >= 2:
            train_groups = groups[train_mask]
    probe = make_probe(task, kind, seed, train_groups).fit(features[train_mask],
                                                          target[train_mask])
    pred = probe.predict(features[test_mask])
    return score_predictions(task, target[test_mask], pred), pred


#: Environment variable capping the worker processes of :func:`score_many` (1: no workers).
WORKERS_ENV = "FACELEAK_PROBE_WORKERS"


def probe_workers() -> int:
    """Worker processes for independent probe fits: the CPUs this process may use (at most
    4), or ``FACELEAK_PROBE_WORKERS`` when it is set."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{WORKERS_ENV} must be a positive integer, got {raw!r}")
        return int(raw)
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(4, available))


def _map_one_thread(function, jobs: Sequence[tuple]) -> list:
    """``[function(*job) for job in jobs]`` on one BLAS thread per call, spread over
    :func:`probe_workers` processes (the calls are independent and seeded, so the results do
    not depend on the number of workers)."""
    jobs = list(jobs)
    n_jobs = min(probe_workers(), len(jobs))
    if n_jobs <= 1:
        return [_one_thread(function, *job) for job in jobs]
    return Parallel(n_jobs=n_jobs)(delayed(_one_thread)(function, *job) for job in jobs)


def _one_thread(function, *args):
    return one_blas_thread(function)(*args)


def _one_thread_score(*args) -> ProbeScore:
    return cross_subject(*args)[0]


def score_many(jobs: Sequence[tuple]) -> list[ProbeScore]:
    """:func:`cross_subject` scores of many independent fits, spread over worker processes.

    Each job is the argument tuple of :func:`cross_subject`. The fits are independent and
    seeded, and each runs on one BLAS thread, so the scores do not depend on the number of
    workers (:func:`probe_workers`); with two cores, two workers roughly halve the time of
    a leakage table.
    """
    return _map_one_thread(_one_thread_score, jobs)


@one_blas_thread
def grouped_cv(features: np.ndarray, target: np.ndarray, groups: np.ndarray, task: Task,
               kind: ProbeKind = "linear", n_splits: int = 5, seed: int = 0) -> ProbeScore:
    """``GroupKFold`` by subject: the score of predictions pooled over all folds."""
    _validate(features, target, groups)
    pred = np.empty(len(target), dtype=np.asarray(target).dtype)
    for train, test in GroupKFold(n_splits=n_splits).split(features, target, groups):
        if set(np.asarray(groups)[train]) & set(np.asarray(groups)[test]):
            raise AssertionError("GroupKFold produced overlapping subjects")  # pragma: no cover
        probe = make_probe(task, kind, seed, np.asarray(groups)[train])
        pred[test] = probe.fit(features[train], target[train]).predict(features[test])
    return score_predictions(task, target, pred)


@one_blas_thread
def penalty_curve(features: np.ndarray, target: np.ndarray, train_mask: np.ndarray,
                  test_mask: np.ndarray, alphas: Sequence[float] = RIDGE_ALPHAS,
                  groups: np.ndarray | None = None) -> list[dict]:
    """Held-out R² and MAE of a ridge probe at each penalty: how much the choice matters.

    This is a **sensitivity analysis, not a result**: picking the best penalty by its
    held-out score uses the test subjects to tune the probe, so the best value here is an
    optimistic bound. The honest probe chooses its penalty on the training subjects only
    (:func:`make_probe` with ``groups``); ``grouped_cv_r2`` gives the score that choice sees.

    Returns
    -------
    list of dict
        One row per penalty: ``alpha``, ``r2``, ``mae`` (held-out) and, when ``groups`` is
        given, ``grouped_cv_r2`` (mean over GroupKFold folds inside the training rows).
    """
    _validate(features, target, train_mask, test_mask)
    train_mask, test_mask = np.asarray(train_mask, bool), np.asarray(test_mask, bool)
    x_train, y_train = features[train_mask], np.asarray(target, float)[train_mask]
    rows = []
    for alpha in alphas:
        probe = make_pipeline(StandardScaler(), Ridge(alpha=float(alpha))).fit(x_train, y_train)
        score = score_predictions("regression", np.asarray(target, float)[test_mask],
                                  probe.predict(features[test_mask]))
        row = {"alpha": float(alpha), "r2": score.r2, "mae": score.mae}
        if groups is not None:
            train_groups = np.asarray(groups)[train_mask]
            n_splits = min(5, len(np.unique(train_groups)))
            folds = GroupKFold(n_splits=n_splits).split(x_train, y_train, train_groups)
            fold_scores = []
            for fit_rows, val_rows in folds:
                fold_probe = make_pipeline(StandardScaler(), Ridge(alpha=float(alpha)))
                fold_probe.fit(x_train[fit_rows], y_train[fit_rows])
                fold_scores.append(r2_score(y_train[val_rows],
                                            fold_probe.predict(x_train[val_rows])))
            row["grouped_cv_r2"] = float(np.mean(fold_scores))
        rows.append(row)
    return rows


@dataclass(frozen=True)
class PermutationResult:
    """Outcome of :func:`permutation_test`."""

    observed: float
    p_value: float
    null: np.ndarray


def _within_group_permutations(groups: np.ndarray, rng: np.random.Generator,
                               n: int) -> np.ndarray:
    """``n`` row orders, each shuffling the rows within every group (shape (n, len(groups))).

    All at once: adding a uniform [0, 1) key to each row's integer group code and sorting
    orders the rows by group, and randomly within a group; writing that order back over the
    group's own positions gives each position a random member of the same group.
    """
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].astype(np.float64)
    home = np.argsort(codes, kind="stable")  # every group's positions, group after group
    shuffled = np.argsort(codes[None, :] + rng.random((n, len(codes))), axis=1)
    orders = np.empty_like(shuffled)
    orders[:, home] = shuffled
    return orders


def _within_group_permutation(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One within-group shuffle of the rows (see :func:`_within_group_permutations`)."""
    return _within_group_permutations(groups, rng, 1)[0]


@one_blas_thread
def permutation_test(features: np.ndarray, target: np.ndarray, groups: np.ndarray,
                     train_mask: np.ndarray, test_mask: np.ndarray, task: Task,
                     n_permutations: int = 999, alpha: float | None = None,
                     seed: int = 0) -> PermutationResult:
    """Permutation test of the cross-subject score of a ridge probe, shuffling within subjects.

    The training targets are shuffled **within each subject**, which keeps every subject's
    set of lights intact and breaks only the link between an image's features and its own
    light; the probe is refitted and scored on the untouched test rows. The ridge penalty is
    chosen once, on the real targets, by subject-grouped CV inside the training rows (unless
    ``alpha`` is given), and kept fixed for every shuffle. The statistic is the
    test R² (regression) or the accuracy of a ridge classifier (classification), computed in
    closed form for all shuffles at once, so 999 shuffles take well under a second. With
    ``n_permutations`` shuffles the smallest attainable p is ``1 / (n_permutations + 1)``.
    """
    _validate(features, target, groups, train_mask, test_mask)
    if n_permutations < 1:
        raise ValueError("n_permutations must be at least 1")
    train_mask, test_mask = np.asarray(train_mask, bool), np.asarray(test_mask, bool)
    groups = np.asarray(groups)
    x = np.asarray(features, dtype=np.float64)
    mean, std = x[train_mask].mean(0), x[train_mask].std(0) + 1e-12
    x_train, x_test = (x[train_mask] - mean) / std, (x[test_mask] - mean) / std
    if alpha is None:
        alpha = _grouped_ridge_alpha(x_train, np.asarray(target)[train_mask],
                                     groups[train_mask], task)
    # Ridge weights are a fixed linear map of the (centred) targets: solve once, reuse.
    gram = x_train.T @ x_train + alpha * np.eye(x.shape[1])
    solve = np.linalg.solve(gram, x_train.T)  # (d, n_train)
    project = x_test @ solve  # (n_test, n_train)
    y = np.asarray(target)
    if task == "regression":
        y_train = y[train_mask].astype(np.float64)
        y_test = y[test_mask].astype(np.float64)
        encode = y_train[:, None]
    else:
        classes = np.unique(y[train_mask])
        encode = (y[train_mask][:, None] == classes[None, :]).astype(np.float64)
        y_test = y[test_mask]

    def statistic(columns: np.ndarray) -> np.ndarray:
        # columns: (n_train, k) targets, or (n_train, P*C) stacked one-hot blocks
        centred = columns - columns.mean(0)
        pred = project @ centred + columns.mean(0)
        if task == "regression":
            resid = ((pred - y_test[:, None]) ** 2).sum(0)
            return 1.0 - resid / ((y_test - y_test.mean()) ** 2).sum()
        n_classes = encode.shape[1]
        blocks = pred.reshape(len(y_test), -1, n_classes).argmax(2)
        return (classes[blocks] == y_test[:, None]).mean(0)

    rng = np.random.default_rng(seed)
    train_groups = groups[train_mask]
    observed = float(statistic(encode)[0])
    null = np.empty(n_permutations)
    batch = 100
    for start in range(0, n_permutations, batch):
        stop = min(start + batch, n_permutations)
        orders = _within_group_permutations(train_groups, rng, stop - start)
        # (n_train, batch * k): each shuffle's encoded targets side by side
        shuffled = encode[orders.T].reshape(len(encode), -1)
        null[start:stop] = statistic(shuffled)
    p_value = (1.0 + np.count_nonzero(null >= observed)) / (n_permutations + 1.0)
    return PermutationResult(observed=observed, p_value=float(p_value), null=null)


def _grouped_ridge_alpha(x_train: np.ndarray, y_train: np.ndarray, groups: np.ndarray,
                        task: Task) -> float:
    model = Ridge() if task == "regression" else RidgeClassifier()
    n_splits = min(5, len(np.unique(groups)))
    if n_splits < 2:
        return 100.0
    search = GridSearchCV(model, {"alpha": list(RIDGE_ALPHAS)}, cv=GroupKFold(n_splits))
    with _expected_ill_conditioning():
        search.fit(x_train, y_train, groups=groups)
    return float(search.best_params_["alpha"])


def pixel_features(images: np.ndarray, train_mask: np.ndarray, n_components: int = 64,
                   seed: int = 0) -> np.ndarray:
    """Raw-pixel baseline: PCA fitted on the training rows only, applied to all rows."""
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    train_mask = np.asarray(train_mask, bool)
    k = min(n_components, int(train_mask.sum()) - 1, flat.shape[1])
    pca = PCA(n_components=k, random_state=seed).fit(flat[train_mask])
    return pca.transform(flat).astype(np.float32)


def leakage_ratio(embedding_score: float, pixel_score: float) -> float:
    """Embedding score divided by pixel score (R² or accuracy); NaN if pixels score <= 0."""
    return float(embedding_score / pixel_score) if pixel_score > 0 else float("nan")


def leakage_table(
    feature_sets: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    groups: np.ndarray,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    kinds: tuple[ProbeKind, ...] = ("linear", "mlp"),
    n_permutations: int = 999,
    seed: int = 0,
) -> dict:
    """The cross-subject leakage table for every target and feature set.

    Parameters
    ----------
    feature_sets
        Name -> (N, D) features; must include ``"embedding"`` and ``"pixels"`` for the ratio.
        ``"chance"`` is added automatically.
    targets
        Name -> (N,) target (names from :data:`TARGETS`).
    groups
        Subject of each row, for the within-subject permutation test.
    train_mask, test_mask
        Subject-disjoint rows to fit on and to test on.
    kinds
        Probe kinds; each feature set is reported with its best kind (highest main score),
        and every kind's score is kept under ``"by_probe"``.
    n_permutations
        Within-subject shuffles for the embedding's p-value (:func:`permutation_test`, ridge
        probe); 0 skips the test.

    Returns
    -------
    dict
        ``{target: {feature_set: {"mae_deg"|"mae"|"accuracy", "r2", "probe", "by_probe"},
        "leakage_ratio": float, "p_value": float}}``.
    """
    groups = np.asarray(groups)
    train_mask, test_mask = np.asarray(train_mask, bool), np.asarray(test_mask, bool)
    if set(groups[train_mask]) & set(groups[test_mask]):
        raise ValueError("train and test subjects overlap: the split must be subject-disjoint")
    for name in targets:
        if name not in TARGETS:
            raise ValueError(f"unknown target {name!r}; known: {sorted(TARGETS)}")
    # Every (target, feature set, probe kind) fit is independent: fit them all at once.
    jobs = {}
    for name, target in targets.items():
        for feat_name, feats in {**feature_sets, "chance": None}.items():
            x = np.zeros((len(target), 1), np.float32) if feats is None else np.asarray(feats)
            for k in (("chance",) if feats is None else kinds):
                jobs[(name, feat_name, k)] = (x, np.asarray(target), train_mask, test_mask,
                                              TARGETS[name], k, seed, groups)
    fitted = dict(zip(jobs, score_many(list(jobs.values())), strict=True))
    table: dict = {}
    for name, target in targets.items():
        task = TARGETS[name]
        target = np.asarray(target)
        row: dict = {}
        best_kind: dict[str, ProbeKind] = {}
        for feat_name, feats in {**feature_sets, "chance": None}.items():
            kinds_here: tuple[ProbeKind, ...] = ("chance",) if feats is None else kinds
            scores = {k: fitted[(name, feat_name, k)] for k in kinds_here}
            best = max(scores, key=lambda k: scores[k].main)
            best_kind[feat_name] = best
            row[feat_name] = _score_entry(name, scores[best], best, scores)
        if "embedding" in feature_sets and "pixels" in feature_sets:
            emb, pix = row["embedding"], row["pixels"]
            key = "r2" if task == "regression" else "accuracy"
            row["leakage_ratio"] = leakage_ratio(emb[key], pix[key])
        table[name] = row
    if "embedding" in feature_sets and n_permutations > 0:
        jobs = [(np.asarray(feature_sets["embedding"]), np.asarray(target), groups, train_mask,
                 test_mask, TARGETS[name], n_permutations, None, seed)
                for name, target in targets.items()]
        for name, p_value in zip(targets, _map_one_thread(_p_value, jobs), strict=True):
            table[name]["p_value"] = p_value
    return table


def _p_value(*args) -> float:
    return permutation_test(*args).p_value


def _score_entry(target_name: str, score: ProbeScore, kind: str,
                 all_scores: Mapping[str, ProbeScore]) -> dict:
    unit = "mae_deg" if target_name in ANGLE_TARGETS else "mae"
    entry: dict = {"probe": kind}
    if score.task == "regression":
        entry[unit] = score.mae
        entry["r2"] = score.r2
    else:
        entry["accuracy"] = score.accuracy
    entry["by_probe"] = {k: s.to_dict() for k, s in all_scores.items()}
    return entry


def mean_ci(values: np.ndarray | list[float], confidence: float = 0.95) -> tuple[float, float,
                                                                                 float]:
    """Mean and a Student-t confidence interval over repeated splits: (mean, low, high)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if values.size == 1:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1)
                 * values.std(ddof=1) / np.sqrt(values.size))
    return mean, mean - half, mean + half


@one_blas_thread
def fit_probe(features: np.ndarray, target: np.ndarray, train_mask: np.ndarray, task: Task,
              kind: ProbeKind = "linear", seed: int = 0,
              groups: np.ndarray | None = None) -> BaseEstimator:
    """A probe fitted on the training rows, e.g. to read the light from new embeddings.

    Pass ``groups`` (subject per row) to choose the penalty by subject-grouped CV.
    """
    _validate(features, target, train_mask)
    train_mask = np.asarray(train_mask, bool)
    train_groups = None if groups is None else np.asarray(groups)[train_mask]
    return clone(make_probe(task, kind, seed, train_groups)).fit(features[train_mask],
                                                                target[train_mask])


@one_blas_thread
def learning_curve(features: np.ndarray, target: np.ndarray, subjects: np.ndarray,
                   train_mask: np.ndarray, test_mask: np.ndarray, task: Task,
                   sizes: Sequence[int], repeats: int = 5, kind: ProbeKind = "linear",
                   seed: int = 0) -> list[dict]:
    """Leakage as a function of how many auxiliary subjects the attacker has labelled.

    For each size ``k``, ``repeats`` random sets of ``k`` training subjects are drawn; the
    probe is fitted on their images only and scored on the held-out subjects.

    Returns
    -------
    list of dict
        One row per (size, repeat): ``n_subjects``, ``repeat`` and the score's fields.
    """
    _validate(features, target, subjects, train_mask, test_mask)
    subjects = np.asarray(subjects)
    train_mask, test_mask = np.asarray(train_mask, bool), np.asarray(test_mask, bool)
    pool = np.unique(subjects[train_mask])
    rng = np.random.default_rng(seed)
    rows, jobs = [], []
    for k in sizes:
        if not 1 <= k <= len(pool):
            raise ValueError(f"size {k} is outside 1..{len(pool)} training subjects")
        for r in range(repeats):
            chosen = rng.choice(pool, size=k, replace=False)
            fit_rows = train_mask & np.isin(subjects, chosen)
            if task == "classification" and len(np.unique(np.asarray(target)[fit_rows])) < 2:
                continue
            rows.append({"n_subjects": int(k), "repeat": r})
            jobs.append((features, target, fit_rows, test_mask, task, kind, seed, subjects))
    # The draws are made first, in order, so the fits can share the worker processes.
    for row, score in zip(rows, score_many(jobs), strict=True):
        row.update(score.to_dict())
    return rows


def per_subject_errors(y_true: np.ndarray, y_pred: np.ndarray,
                       subjects: np.ndarray) -> dict[str, float]:
    """Mean absolute error of a regression probe for each subject, worst first."""
    y_true, y_pred, subjects = map(np.asarray, (y_true, y_pred, subjects))
    errors = {s: float(np.abs(y_true[subjects == s] - y_pred[subjects == s]).mean())
              for s in np.unique(subjects)}
    return dict(sorted(errors.items(), key=lambda kv: -kv[1]))


def subject_bootstrap(y_true: np.ndarray, y_pred: np.ndarray, subjects: np.ndarray,
                      task: Task, n_resamples: int = 1000, confidence: float = 0.95,
                      seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """Confidence intervals of a probe's test scores by resampling **subjects**.

    The held-out subjects are drawn with replacement (all images of a drawn subject come
    along), because images of one person are not independent. Returns, per score
    (``mae`` and ``r2``, or ``accuracy``), ``(estimate, low, high)`` with percentile bounds.
    """
    y_true, y_pred, subjects = map(np.asarray, (y_true, y_pred, subjects))
    if not (len(y_true) == len(y_pred) == len(subjects)):
        raise ValueError("y_true, y_pred and subjects must have the same length")
    names = np.unique(subjects)
    rows = {s: np.flatnonzero(subjects == s) for s in names}
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(n_resamples):
        idx = np.concatenate([rows[s] for s in rng.choice(names, size=len(names))])
        for key, value in score_predictions(task, y_true[idx], y_pred[idx]).to_dict().items():
            if key != "task":
                draws.setdefault(key, []).append(value)
    point = score_predictions(task, y_true, y_pred).to_dict()
    tail = (1 - confidence) / 2 * 100
    return {key: (float(point[key]), float(np.percentile(v, tail)),
                  float(np.percentile(v, 100 - tail))) for key, v in draws.items()}

"""Template protections for face embeddings, each a fitted transform with one API.

Every defence is a small class with ``fit(features, light=None)`` (fitted on the embeddings
of *auxiliary* subjects, never on the people it will protect), ``transform(features)``
returning protected templates, and a ``strength`` that a sweep can vary. Protected
templates are compared with :func:`similarity`: cosine for real-valued templates, and the
fraction of agreeing bits (mapped to [-1, 1]) for binary ones, which is the cosine of their
±1 vectors. Normalisation, scoring and thresholds are those of :mod:`faceleak.vision.verification`;
a template of zeros has no direction and is refused there rather than scored 0.

The defences:

* :class:`NuisanceProjection`: learn the light subspace and project it out; one step is a
  linear removal, several steps are INLP (iterative nullspace projection, Ravfogel et al.,
  2020).
* :class:`BioHash`: keyed random projection and binarisation (BioHashing-style cancellable
  templates); a new key renews the template.
* :class:`NoiseDefence`: calibrated Gaussian or Laplace noise on normalised embeddings.
* :class:`PCAQuantise`: PCA to ``k`` dimensions, optionally with scalar quantisation.
* :class:`ScaleOnly`: a deliberately useless "defence" (multiplies by a constant), kept
  so that the evaluation can show it is ranked as useless.

This module needs only NumPy and scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge

from faceleak.privacy import probes
from faceleak.vision import metrics
from faceleak.vision.verification import (
    cosine_similarity,
    cosine_similarity_matrix,
    genuine_impostor_scores,
    l2_normalise,
    tar_at_far,
)


def _as_features(features: np.ndarray) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"features must be a non-empty (n_samples, dim) array, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or infinite values")
    return x


def similarity(a: np.ndarray, b: np.ndarray, binary: bool = False) -> np.ndarray:
    """Row-wise similarity of two template arrays of the same shape.

    Cosine for real-valued templates; for binary templates ``1 - 2 * Hamming / n_bits``,
    which is the cosine of the corresponding ±1 vectors
    (:func:`faceleak.vision.verification.cosine_similarity`).
    """
    return cosine_similarity(a, b, binary=binary, name_a="templates a", name_b="templates b")


def similarity_matrix(a: np.ndarray, b: np.ndarray, binary: bool = False) -> np.ndarray:
    """All-pairs similarity (n_a, n_b), with the same convention as :func:`similarity`."""
    return cosine_similarity_matrix(a, b, binary=binary, name_a="templates a",
                                    name_b="templates b")


@dataclass
class NuisanceProjection:
    """Project out the directions from which a linear probe reads the light.

    Each iteration fits ridge regressions from the (already projected) auxiliary features
    to the light targets (azimuth, elevation, and their left/front/right and above/level/
    below indicators), and removes the span of their weight vectors. ``strength`` is the
    number of iterations: 1 is a single linear removal, more is INLP.
    """

    strength: int = 1
    alpha: float = 1.0
    name: str = "nuisance projection (INLP)"
    binary: bool = False
    projection_: np.ndarray | None = field(default=None, repr=False)
    removed_: int = 0

    def fit(self, features: np.ndarray, light: np.ndarray | None = None) -> NuisanceProjection:
        if light is None:
            raise ValueError("NuisanceProjection needs the auxiliary subjects' light "
                             "(an (n, 2) array of azimuth and elevation in degrees)")
        if self.strength < 0:
            raise ValueError("strength (iterations) must be >= 0")
        x = _as_features(features)
        targets = _light_design(np.asarray(light, dtype=np.float64))
        dim = x.shape[1]
        projection = np.eye(dim)
        basis = np.zeros((dim, 0))
        for _ in range(int(self.strength)):
            xp = x @ projection
            weights = Ridge(alpha=self.alpha).fit(xp - xp.mean(0), targets).coef_.T  # (dim, t)
            basis = np.linalg.qr(np.hstack([basis, weights]))[0]
            basis = basis[:, : min(basis.shape[1], dim - 1)]
            projection = np.eye(dim) - basis @ basis.T
        self.projection_ = projection
        self.removed_ = basis.shape[1]
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        if self.projection_ is None:
            raise RuntimeError("call fit() before transform()")
        return l2_normalise(_as_features(features) @ self.projection_,
                            name="projected templates")


def _light_design(light: np.ndarray) -> np.ndarray:
    if light.ndim != 2 or light.shape[1] != 2:
        raise ValueError("light must be an (n, 2) array of azimuth and elevation, "
                         f"got {light.shape}")
    az, el = light[:, 0], light[:, 1]
    columns = [az / 90, el / 90, az < -20, np.abs(az) <= 20, az > 20, el < -10, np.abs(el) <= 10,
               el > 10]
    return np.column_stack(columns).astype(np.float64)


@dataclass
class BioHash:
    """Keyed random projection followed by binarisation (a cancellable template).

    The key seeds an orthonormal projection to ``n_bits`` directions; each bit is the sign
    of one projection. Changing the key renews the template: the same face gives an
    unrelated bit string. ``strength`` is unused (the key is the secret); ``n_bits`` sets
    the template length.
    """

    key: int = 0
    n_bits: int = 64
    name: str = "BioHash (keyed, binary)"
    binary: bool = True
    strength: float = 0.0
    matrix_: np.ndarray | None = field(default=None, repr=False)
    centre_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, features: np.ndarray, light: np.ndarray | None = None) -> BioHash:
        x = _as_features(features)
        dim = x.shape[1]
        if not 1 <= self.n_bits <= dim:
            raise ValueError(f"n_bits must be in 1..{dim} (the embedding size)")
        rng = np.random.default_rng(self.key)
        self.matrix_ = np.linalg.qr(rng.normal(size=(dim, self.n_bits)))[0]
        # Centring on auxiliary data keeps the bits balanced; it is not secret.
        self.centre_ = x.mean(0)
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        if self.matrix_ is None or self.centre_ is None:
            raise RuntimeError("call fit() before transform()")
        x = l2_normalise(_as_features(features), name="features") - self.centre_
        return (x @ self.matrix_ > 0).astype(np.uint8)


@dataclass
class NoiseDefence:
    """Add calibrated noise to the normalised embedding, then renormalise.

    ``strength`` is the noise scale relative to a unit-norm embedding spread over ``dim``
    dimensions: each coordinate gets noise with standard deviation ``strength / sqrt(dim)``,
    so ``strength = 1`` adds noise about as large as the embedding itself. ``strength = 0``
    changes nothing. The noise is drawn fresh for every template (``seed`` fixes the draw).
    """

    strength: float = 0.5
    kind: Literal["gaussian", "laplace"] = "gaussian"
    seed: int = 0
    name: str = "noise"
    binary: bool = False

    def fit(self, features: np.ndarray, light: np.ndarray | None = None) -> NoiseDefence:
        if self.strength < 0:
            raise ValueError("noise strength must be >= 0")
        if self.kind not in ("gaussian", "laplace"):
            raise ValueError("kind must be 'gaussian' or 'laplace'")
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        x = l2_normalise(_as_features(features), name="features")
        if self.strength == 0:
            return x
        rng = np.random.default_rng(self.seed)
        sd = self.strength / np.sqrt(x.shape[1])
        if self.kind == "gaussian":
            noise = rng.normal(scale=sd, size=x.shape)
        else:  # Laplace with the same standard deviation
            noise = rng.laplace(scale=sd / np.sqrt(2), size=x.shape)
        return l2_normalise(x + noise, name="noised templates")


@dataclass
class PCAQuantise:
    """PCA (fitted on auxiliary subjects) to ``strength`` dimensions, optionally quantised.

    ``bits`` > 0 quantises each kept coordinate uniformly to ``2**bits`` levels over the
    auxiliary data's range.
    """

    strength: int = 16
    bits: int = 0
    name: str = "PCA reduction"
    binary: bool = False
    pca_: PCA | None = field(default=None, repr=False)
    lo_: np.ndarray | None = field(default=None, repr=False)
    hi_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, features: np.ndarray, light: np.ndarray | None = None) -> PCAQuantise:
        x = _as_features(features)
        if not 1 <= int(self.strength) <= min(x.shape):
            raise ValueError(f"strength (dimensions kept) must be in 1..{min(x.shape)}")
        if self.bits < 0:
            raise ValueError("bits must be >= 0")
        self.pca_ = PCA(n_components=int(self.strength), random_state=0).fit(x)
        z = self.pca_.transform(x)
        self.lo_, self.hi_ = z.min(0), z.max(0)
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        if self.pca_ is None:
            raise RuntimeError("call fit() before transform()")
        z = self.pca_.transform(_as_features(features))
        if self.bits:
            levels = 2 ** self.bits - 1
            span = np.where(self.hi_ > self.lo_, self.hi_ - self.lo_, 1.0)
            q = np.round(np.clip((z - self.lo_) / span, 0, 1) * levels)
            z = self.lo_ + q / levels * span
        return z


@dataclass
class ScaleOnly:
    """A deliberately useless defence: multiply the template by a constant."""

    strength: float = 2.0
    name: str = "scale only (useless control)"
    binary: bool = False

    def fit(self, features: np.ndarray, light: np.ndarray | None = None) -> ScaleOnly:
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        return _as_features(features) * float(self.strength)


def linear_form(defence, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(W, b)`` with ``transform(x) ∝ x @ W + b`` row by row, or None for a nonlinear defence.

    ``dim`` is the embedding size. An attacker can push gradients through a linear defence
    (nuisance projection, PCA without quantisation, scaling, zero noise), so gradient-based
    inversion applies to it; binarisation (BioHash), quantisation and random noise have no
    such form. Rows are equal up to a positive factor (some defences renormalise), which
    cosine similarity does not see.
    """
    if isinstance(defence, NuisanceProjection):
        if defence.projection_ is None:
            raise RuntimeError("call fit() before linear_form()")
        return defence.projection_.copy(), np.zeros(dim)
    if isinstance(defence, PCAQuantise) and not defence.bits:
        if defence.pca_ is None:
            raise RuntimeError("call fit() before linear_form()")
        w = defence.pca_.components_.T.astype(np.float64)
        return w, -defence.pca_.mean_ @ w
    if isinstance(defence, ScaleOnly) and defence.strength > 0:
        return np.eye(dim), np.zeros(dim)
    if isinstance(defence, NoiseDefence) and defence.strength == 0:
        return np.eye(dim), np.zeros(dim)
    return None


def make_defence(name: str, strength: float, seed: int = 0):
    """A defence by short name: ``nuisance``, ``biohash``, ``noise``, ``pca``, ``pca-q4``,
    ``scale``. For BioHash, ``strength`` is the number of bits."""
    if name == "nuisance":
        return NuisanceProjection(strength=int(strength))
    if name == "biohash":
        return BioHash(key=seed, n_bits=int(strength))
    if name == "noise":
        return NoiseDefence(strength=float(strength), seed=seed)
    if name == "pca":
        return PCAQuantise(strength=int(strength))
    if name == "pca-q4":
        return PCAQuantise(strength=int(strength), bits=4, name="PCA + 4-bit quantisation")
    if name == "scale":
        return ScaleOnly(strength=float(strength))
    raise ValueError(f"unknown defence {name!r}; use nuisance, biohash, noise, pca, pca-q4, scale")


# --------------------------------------------------------------------------- evaluation


def verification_scores(templates: np.ndarray, labels: np.ndarray,
                        binary: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor similarities over all pairs of templates."""
    return genuine_impostor_scores(templates, labels, binary=binary, name="templates")


def utility(templates: np.ndarray, labels: np.ndarray, binary: bool = False) -> dict:
    """Verification EER and TAR at FAR 1e-2 and 1e-3 on protected templates."""
    genuine, impostor = verification_scores(templates, labels, binary)
    eer, threshold = metrics.eer(genuine, impostor)
    tar2, _ = tar_at_far(genuine, impostor, 1e-2)
    tar3, _ = tar_at_far(genuine, impostor, 1e-3)
    return {"eer": float(eer), "eer_threshold": float(threshold), "tar_far_1e-2": float(tar2),
            "tar_far_1e-3": float(tar3)}


def leakage_jobs(train_templates: np.ndarray, train_light: np.ndarray,
                 test_templates: np.ndarray, test_light: np.ndarray,
                 kinds: tuple[str, ...] = ("linear", "mlp"), seed: int = 0,
                 train_subjects: np.ndarray | None = None) -> list[tuple]:
    """The probe fits of :func:`leakage`, as argument tuples of
    :func:`faceleak.privacy.probes.cross_subject` (azimuth, then light class, per kind)."""
    x = np.vstack([train_templates, test_templates]).astype(np.float64)
    n_train = len(train_templates)
    train = np.arange(len(x)) < n_train
    light = np.vstack([train_light, test_light])
    groups = None
    if train_subjects is not None:
        groups = np.concatenate([np.asarray(train_subjects, dtype=object),
                                 np.array(["__test__"] * len(test_templates), dtype=object)])
    az = light[:, 0]
    cls = probes.lighting_class(az)
    jobs = []
    for kind in kinds:
        jobs.append((x, az, train, ~train, "regression", kind, seed, groups))
        jobs.append((x, cls, train, ~train, "classification", kind, seed, groups))
    return jobs


def leakage_from_scores(scores: Sequence[probes.ProbeScore]) -> dict:
    """:func:`leakage`'s result from the scores of its :func:`leakage_jobs`, in their order:
    the best kind of each reading."""
    regression, classification = scores[0::2], scores[1::2]
    best = max(regression, key=lambda s: s.r2)
    return {"azimuth_r2": float(best.r2), "azimuth_mae_deg": float(best.mae),
            "lighting_class_accuracy": float(max(s.accuracy for s in classification))}


def leakage(train_templates: np.ndarray, train_light: np.ndarray, test_templates: np.ndarray,
            test_light: np.ndarray, kinds: tuple[str, ...] = ("linear", "mlp"),
            seed: int = 0, train_subjects: np.ndarray | None = None) -> dict:
    """Light read from protected templates by an attacker who retrains the probe on them.

    The attacker holds protected templates of auxiliary people with known light (the
    adaptive attacker) and fits each probe kind; the best kind is reported. With
    ``train_subjects`` the linear probe's penalty is chosen by subject-grouped CV. The fits
    are independent and run through :func:`faceleak.privacy.probes.score_many`.
    """
    jobs = leakage_jobs(train_templates, train_light, test_templates, test_light, kinds, seed,
                        train_subjects)
    return leakage_from_scores(probes.score_many(jobs))


def evaluate(defence, embedding: np.ndarray, light: np.ndarray, subjects: np.ndarray,
             train_mask: np.ndarray, test_mask: np.ndarray,
             kinds: tuple[str, ...] = ("linear", "mlp"), seed: int = 0) -> dict:
    """Fit a defence on the auxiliary (training) subjects and score it on the held-out ones.

    Returns utility (EER, TAR@FAR on held-out subjects, protected vs protected) and leakage
    (an adaptive attacker's probe, retrained on protected templates of the training
    subjects, reading the held-out subjects' light).
    """
    return evaluate_many([defence], embedding, light, subjects, train_mask, test_mask, kinds,
                         seed)[0]


def evaluate_many(defences: Sequence, embedding: np.ndarray, light: np.ndarray,
                  subjects: np.ndarray, train_mask: np.ndarray, test_mask: np.ndarray,
                  kinds: tuple[str, ...] = ("linear", "mlp"), seed: int = 0) -> list[dict]:
    """:func:`evaluate` for several defences, with every probe fit of every defence in one
    batch of :func:`faceleak.privacy.probes.score_many` (the fits are independent: a sweep of
    26 settings is about 100 small fits, which two workers share). Each defence is fitted in
    place, as by :func:`evaluate`."""
    embedding = _as_features(embedding)
    light = np.asarray(light, dtype=np.float64)
    subjects = np.asarray(subjects)
    train_mask, test_mask = np.asarray(train_mask, bool), np.asarray(test_mask, bool)
    if set(subjects[train_mask]) & set(subjects[test_mask]):
        raise ValueError("train and test subjects overlap: the split must be subject-disjoint")
    results, jobs = [], []
    for defence in defences:
        defence.fit(embedding[train_mask], light[train_mask])
        protected = defence.transform(embedding)
        result = {"defence": defence.name, "strength": float(defence.strength)
                  if not isinstance(defence, BioHash) else float(defence.n_bits)}
        result.update(utility(protected[test_mask], subjects[test_mask], defence.binary))
        results.append(result)
        jobs.append(leakage_jobs(protected[train_mask], light[train_mask],
                                 protected[test_mask], light[test_mask], kinds, seed,
                                 subjects[train_mask]))
    scores = iter(probes.score_many([job for group in jobs for job in group]))
    for result, group in zip(results, jobs, strict=True):
        result.update(leakage_from_scores([next(scores) for _ in group]))
    return results


def cross_key_linkability(embedding: np.ndarray, subjects: np.ndarray, key_a: int, key_b: int,
                          n_bits: int = 64, fit_features: np.ndarray | None = None) -> dict:
    """Can two BioHash templates made with different keys be linked to the same person?

    Returns the EER of same-person vs different-person comparisons within one key (utility)
    and across two keys (linkability: 0.5 means the keys make templates unlinkable).
    """
    fit_on = embedding if fit_features is None else fit_features
    a = BioHash(key=key_a, n_bits=n_bits).fit(fit_on).transform(embedding)
    b = BioHash(key=key_b, n_bits=n_bits).fit(fit_on).transform(embedding)
    labels = np.asarray(subjects)
    same_key = metrics.eer(*verification_scores(a, labels, binary=True))[0]
    sims = similarity_matrix(a, b, binary=True)
    mated = labels[:, None] == labels[None, :]
    np.fill_diagonal(mated, False)  # the very same image under two keys is not a fair pair
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    cross = metrics.eer(sims[mated], sims[~mated & off_diagonal])[0]
    return {"same_key_eer": float(same_key), "cross_key_eer": float(cross)}


def best_operating_points(results: list[dict], baseline_eer: float,
                          max_eer_loss: float = 0.02,
                          leakage_key: str = "azimuth_r2") -> list[dict]:
    """For each defence, the setting with the least leakage (``leakage_key``) whose EER rises
    by at most ``max_eer_loss`` over ``baseline_eer``; defences with no such setting are
    reported with ``ok=False``."""
    chosen = []
    for name in dict.fromkeys(r["defence"] for r in results):
        rows = [r for r in results if r["defence"] == name]
        ok = [r for r in rows if r["eer"] - baseline_eer <= max_eer_loss]
        if ok:
            best = min(ok, key=lambda r: r[leakage_key])
            chosen.append({**best, "ok": True, "eer_loss": best["eer"] - baseline_eer})
        else:
            best = min(rows, key=lambda r: r["eer"])
            chosen.append({**best, "ok": False, "eer_loss": best["eer"] - baseline_eer})
    return chosen

"""Verification back-end: turn two embeddings into a calibrated comparison score.

A face-recognition system rarely thresholds the raw cosine of two embeddings. Between the
embedder and the threshold sits a *back-end* fitted on labelled training data (never on
the people it will later verify). The course's back-end has two classic steps, both from
speaker verification, where embedders met the same problem of unwanted variation:

1. **Within-class covariance normalisation** (WCCN, Hatch, Kajarekar and Stolcke, 2006).
   Estimate how a person's embeddings vary around their own mean (on Yale B: mostly with
   the light), and whiten by that covariance, so directions along which one person's photos
   spread count less than directions along which people differ. The covariance is shrunk
   towards a multiple of the identity (``shrinkage``) because it is estimated from few
   people whose training embeddings are tighter than a new person's will be.
2. **Symmetric score normalisation** (S-norm; Auckenthaler et al., 2000, in the symmetric
   form of Kenny, 2010). Compare each face with a *cohort* of known people (the training
   subjects' mean embeddings) and express a pair's cosine in standard deviations above
   what each face scores against strangers, averaged over the two faces. A photo in dim
   light that resembles everybody a little no longer passes the threshold just for that.

The back-end is a linear map plus a per-face rescaling of scores: it changes how embeddings
are compared, not what they contain. Chapter 2 shows that light is still readable from them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from faceleak.vision import metrics, verification

# --------------------------------------------------------------------------- validation


def _as_training_set(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    emb, labels = metrics._as_embeddings(emb, labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError("the back-end needs training embeddings of at least 2 people; "
                         f"got {len(classes)}")
    if counts.min() < 2:
        few = classes[counts < 2][:5].tolist()
        raise ValueError(f"every training person needs at least 2 embeddings to estimate "
                         f"within-person variation; {few} have only one")
    return emb, labels


# --------------------------------------------------------------------------- back-end


@dataclass(frozen=True)
class ScoreBackend:
    """A fitted verification back-end (see the module docstring).

    Attributes
    ----------
    mean
        Mean training embedding (D,), subtracted first.
    whitener
        Symmetric (D, D) matrix ``S^{-1/2}``, ``S`` the shrunk within-person covariance.
    cohort
        Unit-length, whitened mean embedding of each training person (C, D); empty (0, D)
        when score normalisation is off.
    shrinkage
        Weight of the identity-like target in ``S``, in [0, 1].
    n_train, n_people
        Embeddings and people the back-end was fitted on.
    """

    mean: np.ndarray
    whitener: np.ndarray
    cohort: np.ndarray
    shrinkage: float
    n_train: int
    n_people: int

    @property
    def normalises_scores(self) -> bool:
        return len(self.cohort) > 0

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def transform(self, emb: np.ndarray) -> np.ndarray:
        """Centred, whitened, unit-length embeddings (N, D)."""
        emb = np.asarray(emb, dtype=np.float64)
        if emb.ndim == 1:
            emb = emb[None]
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise ValueError(f"expected embeddings (N, {self.dim}) from the backbone the "
                             f"back-end was fitted on, got shape {emb.shape}")
        if not np.all(np.isfinite(emb)):
            raise ValueError("embeddings contain NaN or inf")
        return verification.l2_normalise((emb - self.mean) @ self.whitener,
                                         name="whitened embeddings")

    def _cohort_stats(self, whitened: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        against = whitened @ self.cohort.T
        return against.mean(axis=1), against.std(axis=1)

    def score_matrix(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """Scores between the rows of ``a`` and of ``b`` (default ``a``), shape (Na, Nb).

        Without score normalisation this is the cosine of the whitened embeddings. With
        it, each face's cosine is put in standard deviations above its mean score against
        the cohort, and the two faces' views are averaged, so the matrix is symmetric.
        """
        wa = self.transform(a)
        wb = wa if b is None else self.transform(b)
        cos = wa @ wb.T
        if not self.normalises_scores:
            return cos
        mu_a, sd_a = self._cohort_stats(wa)
        mu_b, sd_b = (mu_a, sd_a) if b is None else self._cohort_stats(wb)
        return 0.5 * ((cos - mu_a[:, None]) / sd_a[:, None] + (cos - mu_b[None]) / sd_b[None])

    def describe(self) -> str:
        steps = [f"WCCN (shrinkage {self.shrinkage:g})"]
        if self.normalises_scores:
            steps.append(f"S-norm against a cohort of {len(self.cohort)} training people")
        return (f"back-end fitted on {self.n_train} embeddings of {self.n_people} training "
                f"people: " + " + ".join(steps))


# The back-end was chosen like the backbone's recipe (see faceleak/train.py): on three
# validation folds of the *training* subjects (22 to train the ensemble, 6 to validate,
# ``split_subjects(train, 6, seed=k)`` for k = 1, 2, 3; the back-end fitted on the 22).
# Validation EER per fold, then the mean (2026-11-23):
#     cosine                                        0.055 0.078 0.068   0.067
#     centring only                                 0.055 0.078 0.070   0.067
#     WCCN, shrinkage 0 / 0.1 / 0.3                                     0.059 / 0.059 / 0.060
#     WCCN + S-norm, shrinkage 0 / 0.1 / 0.3                            0.053 / 0.052 / 0.054
#     nuisance attribute projection, removing the top 4 / 8 / 16 / 32 within-person
#     directions                                    0.071 / 0.100 / 0.174 / 0.173
#     (a first look, on the held-out subjects and therefore not used to choose: PCA
#     whitening of all training embeddings made EER worse, 0.071 -> 0.11; LDA gave 0.068,
#     WCCN alone 0.060)
#     (averaging 9 copies shifted by up to 2 px before WCCN + S-norm gave 0.046, at
#     nine times the cost of every embedding, also inside Lab 3's attacks: not used)
# On the 10 held-out subjects (scripts/benchmark_backbone.py --seeds 0 1 2 --cached), for the
# ensemble's training seeds 0, 1, 2: cosine EER 0.071 0.055 0.071 (mean 0.066), with the
# back-end 0.048 0.043 0.056 (mean 0.049); the committed float16 weights of seed 0 give
# 0.0714 and 0.0486. The single-network backbone of seed 0: 0.069 and 0.051.
def fit_backend(emb: np.ndarray, labels: np.ndarray, shrinkage: float = 0.1,
                normalise_scores: bool = True) -> ScoreBackend:
    """Fit WCCN (and the S-norm cohort) on embeddings of training people.

    Parameters
    ----------
    emb, labels
        Training embeddings (N, D) and person per row: at least 2 people, each with at
        least 2 embeddings. Never the people the back-end will be evaluated on.
    shrinkage
        ``S = (1 - shrinkage) Sw + shrinkage * trace(Sw) / D * I``, ``Sw`` the within-person
        covariance averaged over people. 0 is plain WCCN. The course's 0.1 was chosen on
        validation subjects of the training set (see ``book/01_embeddings.md``).
    normalise_scores
        Keep a cohort (the whitened training people's means) for S-norm.

    Returns
    -------
    ScoreBackend
    """
    if not 0 <= shrinkage <= 1:
        raise ValueError(f"shrinkage must be in [0, 1], got {shrinkage}")
    emb, labels = _as_training_set(emb, labels)
    people = np.unique(labels)
    mean = emb.mean(axis=0)
    within = np.mean([np.cov(emb[labels == p], rowvar=False, bias=True) for p in people],
                     axis=0)
    dim = emb.shape[1]
    target = np.trace(within) / dim * np.eye(dim)
    shrunk = (1 - shrinkage) * within + shrinkage * target
    values, vectors = np.linalg.eigh(shrunk)
    floor = max(values.max(), 1e-12) * 1e-8  # a singular Sw (shrinkage 0, N < D) stays finite
    whitener = (vectors / np.sqrt(np.maximum(values, floor))) @ vectors.T
    backend = ScoreBackend(mean=mean, whitener=whitener, cohort=np.empty((0, dim)),
                           shrinkage=float(shrinkage), n_train=len(emb), n_people=len(people))
    if not normalise_scores:
        return backend
    whitened = backend.transform(emb)
    cohort = verification.l2_normalise(
        np.stack([whitened[labels == p].mean(axis=0) for p in people]), name="cohort means")
    return replace(backend, cohort=cohort)

"""Vendor and geopolitical risk on evidence: a claim ledger and a transparent scorecard.

Chapter 6 re-assesses two "risk reports" claim by claim. This module holds the method:

* a **claim ledger** (:class:`Claim`, :class:`Ledger`, :func:`load_ledger`): each claim records its
  text, sources, evidence type, verdict and the risk factor it bears on;
* **risk factors** drawn from recognised frameworks (:data:`FACTORS`, :func:`factor_table`);
* a **score** that anyone can recompute by hand (:func:`score_vendor`);
* a **sensitivity analysis** over the weights (:func:`sensitivity_oat`,
  :func:`sensitivity_dirichlet`);
* tables and a Markdown/HTML **report** (:func:`scorecard_table`, :func:`render_report`);
* a **transfer impact assessment** walk-through (:func:`transfer_impact_assessment`).

The scoring rule
----------------
Every factor starts at ``BASELINE`` (0.5): *no evidence either way*. Each claim moves its factor
by::

    delta = direction x severity x STEP x verdict_multiplier x evidence_multiplier

where ``direction`` is +1 (raises risk), -1 (lowers it) or 0 (context, no bearing on this vendor),
``severity`` is 1, 2 or 3 and ``STEP`` is 1/6, so one verified, high-severity claim from a primary
document moves a factor from 0.5 to an extreme. The factor score is clipped to [0, 1]. The risk
index is the weighted mean of factor scores, and the rating maps the index onto the seeds' 1-5
scale (1 = extremely dangerous, 5 = safe) in five equal bands.

The multipliers encode the course's rule: **only evidence moves a score**. Opinion, insinuation
and unsupported claims multiply by 0, and so does ``false``: a false claim simply stops counting,
so it can never raise risk. If the *rebuttal* of a false claim matters (for example, "the weights
can be run offline" after "the service is cloud-only" was found false), the ledger records the
rebuttal as its own claim with its own source.

The module needs only NumPy and pandas; it never imports torch or the plotting/widget modules.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from faceleak.legal import tos

__all__ = [
    "BASELINE",
    "DIRECTIONS",
    "EVIDENCE_MULTIPLIER",
    "EVIDENCE_TYPES",
    "FACTORS",
    "RATING_LABELS",
    "HYPOTHETICAL_FACE_VENDOR",
    "STEP",
    "TIA_STEPS",
    "TOS_LABEL_EFFECTS",
    "VERDICTS",
    "VERDICT_MULTIPLIER",
    "Claim",
    "Ledger",
    "ScoreResult",
    "Vendor",
    "claim_check_markdown",
    "claims_from_tos_labels",
    "claims_from_tos_text",
    "compare_ratings",
    "default_weights",
    "evidence_multiplier",
    "factor_table",
    "load_factors",
    "load_ledger",
    "rating_from_index",
    "render_report",
    "score_vendor",
    "scorecard_table",
    "sensitivity_dirichlet",
    "sensitivity_oat",
    "top_movers",
    "transfer_impact_assessment",
    "validate_weights",
]

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

EVIDENCE_TYPES: tuple[str, ...] = (
    "primary_document",
    "reputable_reporting",
    "vendor_statement",
    "inference",
    "insinuation_opinion",
)
"""Where the support for a claim comes from, strongest first."""

VERDICTS: tuple[str, ...] = ("verified", "partly", "unsupported", "false", "opinion")
"""The outcome of checking a claim against its sources."""

VERDICT_MULTIPLIER: dict[str, float] = {
    "verified": 1.0,
    # a true core with a wrong detail or misleading framing counts half
    "partly": 0.5,
    "unsupported": 0.0,
    # a false claim stops counting; its rebuttal, if it matters, is a separate claim
    "false": 0.0,
    "opinion": 0.0,
}

EVIDENCE_MULTIPLIER: dict[str, float] = {
    "primary_document": 1.0,
    # second-hand accounts can misquote; a vendor's word about itself is not an audit
    "reputable_reporting": 0.8,
    "vendor_statement": 0.8,
    # an inference is only as good as its premises, so it counts half at most
    "inference": 0.5,
    "insinuation_opinion": 0.0,
}

DIRECTIONS: tuple[int, ...] = (-1, 0, 1)
SEVERITIES: tuple[int, ...] = (1, 2, 3)
ORIGINS: tuple[str, ...] = ("seed", "assessor")

RATING_LABELS: dict[int, str] = {
    1: "1: extremely dangerous (極めて危険)",
    2: "2: high risk (危険)",
    3: "3: caution, open questions (注意)",
    4: "4: low risk (概ね安全)",
    5: "5: safe (安全)",
}

_RESOURCE_PACKAGE = "faceleak"
_LEDGER_FILE = "risk_ledger.json"
_FACTORS_FILE = "risk_factors.json"


def _resource_text(name: str) -> str:
    return resources.files(_RESOURCE_PACKAGE).joinpath("resources", name).read_text("utf-8")


def load_factors() -> dict[str, Any]:
    """Load the factor definitions, default weights and scoring constants.

    Returns
    -------
    dict
        The parsed ``resources/risk_factors.json`` (keys ``baseline``, ``step``, ``factors``).
    """
    return json.loads(_resource_text(_FACTORS_FILE))


_FACTOR_SPEC = load_factors()
FACTORS: tuple[str, ...] = tuple(f["id"] for f in _FACTOR_SPEC["factors"])
"""Identifiers of the six risk factors, in display order."""
BASELINE: float = float(_FACTOR_SPEC["baseline"])
STEP: float = float(_FACTOR_SPEC["step"])


def default_weights() -> dict[str, float]:
    """Return the documented default factor weights (normalised to sum to 1)."""
    return validate_weights({f["id"]: f["weight"] for f in _FACTOR_SPEC["factors"]})


def factor_table() -> pd.DataFrame:
    """Describe each factor: label, default weight, the question it asks and its frameworks."""
    rows = [
        {
            "factor": f["id"],
            "label": f["label"],
            "weight": f["weight"],
            "question": f["question"],
            "frameworks": f["frameworks"],
        }
        for f in _FACTOR_SPEC["factors"]
    ]
    return pd.DataFrame(rows).set_index("factor")


# ---------------------------------------------------------------------------------------------
# Validation: every check lives here so that errors read the same everywhere
# ---------------------------------------------------------------------------------------------


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Check factor weights and return them normalised to sum to 1.

    Parameters
    ----------
    weights
        One non-negative, finite number per factor in :data:`FACTORS`. Relative sizes matter,
        not the total.

    Returns
    -------
    dict
        The weights in :data:`FACTORS` order, divided by their sum.

    Raises
    ------
    ValueError
        If a factor is missing or unknown, a weight is not a finite number, is negative, or all
        weights are zero.
    """
    if not isinstance(weights, Mapping):
        raise ValueError(f"weights must be a mapping factor -> weight, got {type(weights)!r}")
    missing = [f for f in FACTORS if f not in weights]
    if missing:
        raise ValueError(f"weights are missing factor(s) {missing}; expected all of {FACTORS}")
    unknown = sorted(set(weights) - set(FACTORS))
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown}; expected only {FACTORS}")
    clean: dict[str, float] = {}
    for f in FACTORS:
        value = weights[f]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"weight for {f!r} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"weight for {f!r} must be finite, got {value!r}")
        if value < 0:
            raise ValueError(f"weight for {f!r} must be non-negative, got {value!r}")
        clean[f] = value
    total = sum(clean.values())
    if total <= 0:
        raise ValueError("at least one weight must be positive (all weights are zero)")
    return {f: v / total for f, v in clean.items()}


def _check_claim(c: Claim) -> None:
    where = f"claim {c.id!r}"
    if not c.id or not isinstance(c.id, str):
        raise ValueError("every claim needs a non-empty string id")
    if not c.vendor:
        raise ValueError(f"{where}: vendor is empty")
    if not c.text or not c.text.strip():
        raise ValueError(f"{where}: text is empty")
    if c.evidence_type not in EVIDENCE_TYPES:
        raise ValueError(f"{where}: evidence_type {c.evidence_type!r} not in {EVIDENCE_TYPES}")
    if c.verdict not in VERDICTS:
        raise ValueError(f"{where}: verdict {c.verdict!r} not in {VERDICTS}")
    if c.factor not in FACTORS:
        raise ValueError(f"{where}: factor {c.factor!r} not in {FACTORS}")
    if c.direction not in DIRECTIONS:
        raise ValueError(f"{where}: direction {c.direction!r} not in {DIRECTIONS}")
    if c.seed_direction is not None and c.seed_direction not in DIRECTIONS:
        raise ValueError(f"{where}: seed_direction {c.seed_direction!r} not in {DIRECTIONS}")
    if c.severity not in SEVERITIES:
        raise ValueError(f"{where}: severity {c.severity!r} not in {SEVERITIES}")
    if c.origin not in ORIGINS:
        raise ValueError(f"{where}: origin {c.origin!r} not in {ORIGINS}")
    if c.origin == "seed" and not c.seed_section:
        raise ValueError(f"{where}: a seed claim must name the seed section it comes from")
    if not c.sources or not all(isinstance(s, str) and s.strip() for s in c.sources):
        raise ValueError(f"{where}: needs at least one non-empty source")


# ---------------------------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One checkable statement about a vendor.

    Attributes
    ----------
    id
        Stable identifier, e.g. ``"HG-03"``.
    vendor
        Vendor id (see :class:`Vendor`).
    text
        The claim in English, paraphrasing the seed faithfully when ``origin == "seed"``.
    origin
        ``"seed"`` if the seed report makes the claim, ``"assessor"`` if the course adds it.
    seed_section
        Section of the seed report the claim comes from.
    seed_quote
        The seed's own words (Japanese), for seed claims.
    sources
        URLs of primary documents or reputable reports, or ``owner/repo:path`` of archived copies.
    evidence_type
        One of :data:`EVIDENCE_TYPES`.
    verdict
        One of :data:`VERDICTS`.
    factor
        One of :data:`FACTORS`.
    direction
        +1 raises risk if the claim holds, -1 lowers it, 0 has no bearing on this vendor.
    severity
        1 (minor) to 3 (major): how much the factor would move if the claim holds.
    seed_direction
        How the seed used the claim (for the face-value re-scoring); ``None`` means ``direction``.
    note
        What the check found, in a sentence or two.
    """

    id: str
    vendor: str
    text: str
    origin: str
    sources: tuple[str, ...]
    evidence_type: str
    verdict: str
    factor: str
    direction: int
    severity: int
    seed_section: str | None = None
    seed_quote: str | None = None
    seed_direction: int | None = None
    note: str = ""

    def __post_init__(self) -> None:
        # JSON gives lists; a frozen, hashable claim wants a tuple
        object.__setattr__(self, "sources", tuple(self.sources))
        _check_claim(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        """Build a claim from a ledger record, rejecting unknown keys."""
        allowed = set(cls.__dataclass_fields__)
        extra = set(d) - allowed
        if extra:
            raise ValueError(f"claim {d.get('id')!r}: unknown field(s) {sorted(extra)}")
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready record."""
        out = asdict(self)
        out["sources"] = list(self.sources)
        return out


@dataclass(frozen=True)
class Vendor:
    """A vendor assessed in the ledger, with the rating its seed report gave."""

    id: str
    name: str
    seed_rating: int
    seed_report: str = ""
    seed_title: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.seed_rating not in RATING_LABELS:
            raise ValueError(f"vendor {self.id!r}: seed_rating must be 1-5")


@dataclass(frozen=True)
class Ledger:
    """Vendors and the claims made about them."""

    vendors: tuple[Vendor, ...]
    claims: tuple[Claim, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.claims]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate claim id(s): {dupes}")
        known = {v.id for v in self.vendors}
        orphans = sorted({c.vendor for c in self.claims} - known)
        if orphans:
            raise ValueError(f"claims refer to unknown vendor(s): {orphans}")

    def vendor(self, vendor_id: str) -> Vendor:
        """Return the vendor with this id."""
        for v in self.vendors:
            if v.id == vendor_id:
                return v
        raise KeyError(f"unknown vendor {vendor_id!r}; known: {[v.id for v in self.vendors]}")

    def for_vendor(self, vendor_id: str) -> tuple[Claim, ...]:
        """Return the claims about one vendor, in ledger order."""
        self.vendor(vendor_id)
        return tuple(c for c in self.claims if c.vendor == vendor_id)

    def claim(self, claim_id: str) -> Claim:
        """Return one claim by id."""
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"unknown claim {claim_id!r}")

    def with_claims(self, claims: Iterable[Claim]) -> Ledger:
        """Return a ledger with the same vendors and the given claims."""
        return Ledger(self.vendors, tuple(claims), self.meta)

    def with_verdicts(self, verdicts: Mapping[str, str]) -> Ledger:
        """Return a copy where the named claims carry new verdicts (what-if analysis)."""
        unknown = sorted(set(verdicts) - {c.id for c in self.claims})
        if unknown:
            raise KeyError(f"unknown claim id(s): {unknown}")
        return self.with_claims(
            replace(c, verdict=verdicts[c.id]) if c.id in verdicts else c for c in self.claims
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per claim, with its evidence multiplier."""
        rows = []
        for c in self.claims:
            row = c.to_dict()
            row["sources"] = " | ".join(c.sources)
            row["multiplier"] = evidence_multiplier(c)
            rows.append(row)
        cols = [
            "id", "vendor", "origin", "seed_section", "text", "factor", "direction", "severity",
            "evidence_type", "verdict", "multiplier", "sources", "note", "seed_quote",
            "seed_direction",
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=cols).set_index("id")

    def summary(self) -> pd.DataFrame:
        """Count claims per vendor by verdict (rows) - a quick look at what the seeds got right."""
        df = self.to_frame()
        table = pd.crosstab(df["verdict"], df["vendor"], margins=True, margins_name="total")
        order = [v for v in VERDICTS if v in table.index] + ["total"]
        return table.loc[order]


def load_ledger(path: str | Path | None = None) -> Ledger:
    """Load a claim ledger from JSON (by default the course's ``resources/risk_ledger.json``).

    Parameters
    ----------
    path
        A JSON file with keys ``vendors`` and ``claims``; ``None`` loads the packaged ledger.

    Returns
    -------
    Ledger
        Validated vendors and claims; any malformed record raises ``ValueError``.
    """
    text = _resource_text(_LEDGER_FILE) if path is None else Path(path).read_text("utf-8")
    data = json.loads(text)
    vendors = tuple(Vendor(**v) for v in data["vendors"])
    claims = tuple(Claim.from_dict(c) for c in data["claims"])
    return Ledger(vendors, claims, data.get("meta", {}))


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def evidence_multiplier(claim: Claim) -> float:
    """How much of a claim's weight counts, from its verdict and its evidence type (0 to 1)."""
    return VERDICT_MULTIPLIER[claim.verdict] * EVIDENCE_MULTIPLIER[claim.evidence_type]


def rating_from_index(index: float) -> int:
    """Map a risk index in [0, 1] onto the 1-5 scale (1 = extremely dangerous, 5 = safe).

    Five equal bands: [0.8, 1] -> 1, [0.6, 0.8) -> 2, [0.4, 0.6) -> 3, [0.2, 0.4) -> 4,
    [0, 0.2) -> 5. The baseline index 0.5 (no evidence at all) therefore rates 3.
    """
    if not math.isfinite(index):
        raise ValueError(f"risk index must be finite, got {index!r}")
    index = min(max(index, 0.0), 1.0)
    return int(5 - min(int(index * 5 + 1e-9), 4))


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one vendor.

    Attributes
    ----------
    vendor
        Vendor id.
    mode
        ``"evidence"`` (the course's rule) or ``"face_value"`` (every seed claim taken as true).
    weights
        The normalised weights used.
    factor_scores
        Factor id -> score in [0, 1] (0.5 = no evidence either way).
    risk_index
        Weighted mean of factor scores.
    rating
        1-5, see :func:`rating_from_index`.
    contributions
        One row per claim: ``delta`` (move of its factor before weighting, after clipping is
        shared out) and ``contribution`` (weighted move of the risk index). Contributions sum
        to ``risk_index - BASELINE``.
    """

    vendor: str
    mode: str
    weights: dict[str, float]
    factor_scores: dict[str, float]
    risk_index: float
    rating: int
    contributions: pd.DataFrame

    @property
    def label(self) -> str:
        """The rating with its words."""
        return RATING_LABELS[self.rating]


def _claim_delta(claim: Claim, mode: str) -> float:
    if mode == "evidence":
        return claim.direction * claim.severity * STEP * evidence_multiplier(claim)
    # face value: the seed's own reading, every seed claim counted as fully established
    d = claim.direction if claim.seed_direction is None else claim.seed_direction
    return d * claim.severity * STEP


def score_vendor(
    ledger: Ledger,
    vendor: str,
    weights: Mapping[str, float] | None = None,
    mode: str = "evidence",
) -> ScoreResult:
    """Score one vendor from its ledger claims.

    Parameters
    ----------
    ledger
        The claim ledger.
    vendor
        Vendor id.
    weights
        Factor weights (validated and normalised); ``None`` uses :func:`default_weights`.
    mode
        ``"evidence"``: the course's rule (verdict and evidence multipliers apply; opinion,
        insinuation, unsupported and false claims count zero). ``"face_value"``: only the seed's
        own claims, each taken as true in the direction the seed used it - a way to check that
        the scoring rule reproduces the seed's alarm when nothing is checked.

    Returns
    -------
    ScoreResult
    """
    if mode not in ("evidence", "face_value"):
        raise ValueError(f"mode must be 'evidence' or 'face_value', got {mode!r}")
    w = default_weights() if weights is None else validate_weights(weights)
    claims = ledger.for_vendor(vendor)
    if mode == "face_value":
        claims = tuple(c for c in claims if c.origin == "seed")
    raw = {c.id: _claim_delta(c, mode) for c in claims}

    factor_scores: dict[str, float] = {}
    scale: dict[str, float] = {}
    for f in FACTORS:
        total = sum(raw[c.id] for c in claims if c.factor == f)
        score = min(max(BASELINE + total, 0.0), 1.0)
        factor_scores[f] = score
        # when a factor saturates, share the clipped move out in proportion, so that per-claim
        # contributions still add up exactly to the index
        scale[f] = (score - BASELINE) / total if total != 0 else 1.0
    rows = []
    for c in claims:
        delta = raw[c.id] * scale[c.factor]
        rows.append(
            {
                "id": c.id,
                "factor": c.factor,
                "origin": c.origin,
                "verdict": c.verdict,
                "evidence_type": c.evidence_type,
                "direction": c.direction,
                "severity": c.severity,
                "delta": delta,
                "contribution": w[c.factor] * delta,
                "text": c.text,
            }
        )
    contributions = pd.DataFrame(
        rows,
        columns=[
            "id",
            "factor",
            "origin",
            "verdict",
            "evidence_type",
            "direction",
            "severity",
            "delta",
            "contribution",
            "text",
        ],  # fmt: skip
    ).set_index("id")
    index = float(sum(w[f] * factor_scores[f] for f in FACTORS))
    return ScoreResult(
        vendor=vendor,
        mode=mode,
        weights=w,
        factor_scores=factor_scores,
        risk_index=index,
        rating=rating_from_index(index),
        contributions=contributions,
    )


def top_movers(result: ScoreResult, n: int = 5) -> pd.DataFrame:
    """The claims that moved the risk index most, largest absolute contribution first.

    Claims that contribute exactly zero (opinion, insinuation, unsupported, false, context) are
    left out: by construction they moved nothing.
    """
    df = result.contributions
    df = df[df["contribution"] != 0]
    order = df["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return df.loc[order].head(n)


def compare_ratings(ledger: Ledger, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Seed rating vs face-value re-scoring vs evidence-only rating, one row per vendor."""
    rows = []
    for v in ledger.vendors:
        ev = score_vendor(ledger, v.id, weights, mode="evidence")
        fv = score_vendor(ledger, v.id, weights, mode="face_value")
        claims = ledger.for_vendor(v.id)
        rows.append(
            {
                "vendor": v.id,
                "name": v.name,
                "claims": len(claims),
                "seed_claims": sum(c.origin == "seed" for c in claims),
                "seed_rating": v.seed_rating,
                "face_value_index": fv.risk_index,
                "face_value_rating": fv.rating,
                "evidence_index": ev.risk_index,
                "evidence_rating": ev.rating,
            }
        )
    return pd.DataFrame(rows).set_index("vendor")


def scorecard_table(
    ledger: Ledger, weights: Mapping[str, float] | None = None, mode: str = "evidence"
) -> pd.DataFrame:
    """Factor scores per vendor (rows = factors), with the weighted index and the rating."""
    w = default_weights() if weights is None else validate_weights(weights)
    cols = {}
    for v in ledger.vendors:
        r = score_vendor(ledger, v.id, w, mode=mode)
        cols[v.id] = {**r.factor_scores, "risk_index": r.risk_index, "rating": float(r.rating)}
    table = pd.DataFrame(cols)
    table.insert(0, "weight", pd.Series({**w, "risk_index": np.nan, "rating": np.nan}))
    return table


# ---------------------------------------------------------------------------------------------
# Sensitivity analysis
# ---------------------------------------------------------------------------------------------


def sensitivity_oat(
    ledger: Ledger,
    vendor: str,
    weights: Mapping[str, float] | None = None,
    multipliers: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 4.0),
) -> pd.DataFrame:
    """One-at-a-time sensitivity: scale one factor's weight, renormalise, re-score.

    Returns
    -------
    pandas.DataFrame
        One row per (factor, multiplier) with the risk index and rating.
    """
    base = default_weights() if weights is None else validate_weights(weights)
    rows = []
    for f in FACTORS:
        for m in multipliers:
            w = dict(base)
            w[f] = base[f] * m
            try:
                w = validate_weights(w)
            except ValueError:
                # scaling the only non-zero weight to zero leaves nothing to score
                continue
            r = score_vendor(ledger, vendor, w)
            rows.append(
                {"factor": f, "multiplier": m, "risk_index": r.risk_index, "rating": r.rating}
            )
    return pd.DataFrame(rows)


def sensitivity_dirichlet(
    ledger: Ledger,
    vendor: str,
    weights: Mapping[str, float] | None = None,
    n: int = 2000,
    concentration: float = 20.0,
    seed: int = 0,
    mode: str = "evidence",
) -> pd.DataFrame:
    """Random weights around the defaults: how often does each rating come out?

    Weights are drawn from a Dirichlet distribution with mean equal to ``weights`` and
    total concentration ``concentration`` (smaller = wilder weights). Seeded, so reproducible.

    Returns
    -------
    pandas.DataFrame
        One row per draw: the sampled weights, ``risk_index`` and ``rating``.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if not concentration > 0:
        raise ValueError("concentration must be positive")
    base = default_weights() if weights is None else validate_weights(weights)
    # a zero weight would make the Dirichlet degenerate; keep it tiny instead
    alpha = np.array([max(base[f], 1e-6) for f in FACTORS]) * concentration
    draws = np.random.default_rng(seed).dirichlet(alpha, size=n)
    scores = score_vendor(ledger, vendor, base, mode=mode).factor_scores
    s = np.array([scores[f] for f in FACTORS])
    # the factor scores do not depend on the weights, so the index is a dot product per draw
    idx = draws @ s
    out = pd.DataFrame(draws, columns=list(FACTORS))
    out["risk_index"] = idx
    out["rating"] = [rating_from_index(float(x)) for x in idx]
    return out


# ---------------------------------------------------------------------------------------------
# ToS labels -> contractual claims (faceleak.legal.tos is optional)
# ---------------------------------------------------------------------------------------------

TOS_LABEL_EFFECTS: dict[str, tuple[int, int, str]] = {
    "LICENSE_PERPETUAL_IRREVOCABLE": (1, 2, "grants a perpetual, irrevocable licence to content"),
    "SUBLICENSABLE": (1, 2, "lets the vendor sublicense user content to others"),
    "TRAINING_USE": (1, 2, "allows user inputs or outputs to train the vendor's models"),
    "BIOMETRIC_DATA": (1, 2, "mentions biometric or face data processing"),
    "THIRD_PARTY_SHARING": (1, 1, "allows sharing with third parties or affiliates"),
    "DATA_RETENTION": (1, 1, "keeps data after account closure or for open-ended periods"),
    "DELETION_RIGHT": (-1, 1, "gives users a way to delete their data"),
    "ARBITRATION": (1, 1, "sends disputes to binding arbitration"),
    "CLASS_ACTION_WAIVER": (1, 1, "waives class or representative actions"),
    "LIABILITY_CAP": (1, 1, "caps the vendor's liability"),
    "UNILATERAL_CHANGE": (1, 1, "lets the vendor change the terms unilaterally"),
    "GOVERNING_LAW": (0, 1, "names a governing law (context: check it against your own)"),
    "CROSS_BORDER_TRANSFER": (1, 1, "transfers data across borders"),
}
"""ToS label -> (direction, severity, what it means) for the contractual factor."""


def claims_from_tos_labels(
    labels: Iterable[str],
    vendor: str,
    source: str,
    *,
    prefix: str | None = None,
    verdict: str = "verified",
) -> list[Claim]:
    """Turn ToS clause labels (from ``faceleak.legal.tos`` or by hand) into contractual claims.

    Parameters
    ----------
    labels
        Label names from :data:`TOS_LABEL_EFFECTS`; duplicates are counted once.
    vendor
        Vendor id the claims are about.
    source
        Where the terms were read (URL or archive path): every claim needs one.
    prefix
        Claim id prefix; defaults to ``"<vendor>-TOS"``.
    verdict
        Verdict to record. Labels found by a classifier deserve a human check; pass
        ``"partly"`` until someone has read the clause.

    Returns
    -------
    list of Claim
        One assessor claim per distinct label, factor ``contractual``, primary-document evidence.
    """
    unknown = sorted(set(labels) - set(TOS_LABEL_EFFECTS))
    if unknown:
        raise ValueError(f"unknown ToS label(s) {unknown}; expected {sorted(TOS_LABEL_EFFECTS)}")
    prefix = prefix or f"{vendor}-TOS"
    out = []
    for label in [lab for lab in TOS_LABEL_EFFECTS if lab in set(labels)]:
        direction, severity, meaning = TOS_LABEL_EFFECTS[label]
        out.append(
            Claim(
                id=f"{prefix}-{label}",
                vendor=vendor,
                text=f"The terms contain a {label} clause: it {meaning}.",
                origin="assessor",
                sources=(source,),
                evidence_type="primary_document",
                verdict=verdict,
                factor="contractual",
                direction=direction,
                severity=severity,
                note="Generated from ToS clause labels.",
            )
        )
    return out


def claims_from_tos_text(text: str, vendor: str, source: str, **kwargs: Any) -> list[Claim]:
    """Label a ToS text with ``faceleak.legal.tos.analyze`` and turn the labels into claims.

    Classifier labels are recorded as ``"partly"`` unless ``verdict`` is given, because a
    clause found by a model has not yet been read by a person.
    """
    report = tos.analyze(text)
    labels = {lab for clause in report.clauses for lab in clause.labels}
    kwargs.setdefault("verdict", "partly")
    return claims_from_tos_labels(labels, vendor, source, **kwargs)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_report(
    ledger: Ledger,
    vendors: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
    fmt: str = "markdown",
    n_movers: int = 5,
) -> str:
    """Render a ledger-and-scorecard report as Markdown or standalone HTML.

    The report lists, per vendor, the seed's rating, the face-value and evidence-only ratings,
    the factor scores, the claims that moved the rating, and every claim with its verdict,
    evidence type and sources.

    Parameters
    ----------
    ledger
        The claim ledger.
    vendors
        Vendor ids to include (default: all).
    weights
        Factor weights (default: :func:`default_weights`).
    fmt
        ``"markdown"`` or ``"html"``.
    n_movers
        How many top movers to list per vendor.
    """
    if fmt not in ("markdown", "html"):
        raise ValueError(f"fmt must be 'markdown' or 'html', got {fmt!r}")
    w = default_weights() if weights is None else validate_weights(weights)
    ids = [v.id for v in ledger.vendors] if vendors is None else list(vendors)
    if fmt == "html":
        return _render_html(ledger, ids, w, n_movers)
    lines = ["# Vendor risk on evidence: claim ledger and scorecard", ""]
    lines.append(
        "Scoring rule: factor = 0.5 + sum(direction x severity x 1/6 x verdict multiplier x "
        "evidence multiplier), clipped to [0, 1]; index = weighted mean; rating bands of 0.2 "
        "(1 = extremely dangerous, 5 = safe). Opinion, insinuation, unsupported and false "
        "claims count zero."
    )
    lines.append("")
    lines.append("Weights: " + ", ".join(f"{f} {w[f]:.2f}" for f in FACTORS))
    for vid in ids:
        v = ledger.vendor(vid)
        ev = score_vendor(ledger, vid, w)
        fv = score_vendor(ledger, vid, w, mode="face_value")
        lines += ["", f"## {v.name}", ""]
        lines.append(f"- Seed rating: {RATING_LABELS[v.seed_rating]}")
        lines.append(f"- Face-value re-scoring of the seed's claims: {fv.label}")
        lines.append(f"- Evidence-only rating: {ev.label} (index {ev.risk_index:.2f})")
        lines += ["", "| factor | weight | score |", "|---|---:|---:|"]
        lines += [f"| {f} | {w[f]:.2f} | {ev.factor_scores[f]:.2f} |" for f in FACTORS]
        lines += ["", "Claims that moved the rating:", ""]
        for cid, row in top_movers(ev, n_movers).iterrows():
            lines.append(
                f"- **{cid}** ({row['factor']}, {row['contribution']:+.3f}): {row['text']}"
            )
        lines += [
            "",
            "| id | claim | factor | evidence | verdict | contribution | sources |",
            "|---|---|---|---|---|---:|---|",
        ]
        for c in ledger.for_vendor(vid):
            contrib = ev.contributions.loc[c.id, "contribution"]
            lines.append(
                f"| {c.id} | {_md_cell(c.text)} | {c.factor} | {c.evidence_type} | {c.verdict} "
                f"| {contrib:+.3f} | {_md_cell('; '.join(c.sources))} |"
            )
    return "\n".join(lines) + "\n"


def _render_html(ledger: Ledger, ids: Sequence[str], w: Mapping[str, float], n: int) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Vendor risk on evidence</title>",
        "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px;"
        "vertical-align:top}</style></head><body>",
        "<h1>Vendor risk on evidence: claim ledger and scorecard</h1>",
        "<p>Weights: " + e(", ".join(f"{f} {w[f]:.2f}" for f in FACTORS)) + "</p>",
    ]
    for vid in ids:
        v = ledger.vendor(vid)
        ev = score_vendor(ledger, vid, w)
        fv = score_vendor(ledger, vid, w, mode="face_value")
        parts.append(f"<h2>{e(v.name)}</h2><ul>")
        parts.append(f"<li>Seed rating: {e(RATING_LABELS[v.seed_rating])}</li>")
        parts.append(f"<li>Face-value re-scoring: {e(fv.label)}</li>")
        parts.append(
            f"<li>Evidence-only rating: {e(ev.label)} (index {ev.risk_index:.2f})</li></ul>"
        )
        parts.append("<p>Claims that moved the rating:</p><ol>")
        for cid, row in top_movers(ev, n).iterrows():
            parts.append(
                f"<li><b>{e(cid)}</b> ({e(row['factor'])}, {row['contribution']:+.3f}): "
                f"{e(row['text'])}</li>"
            )
        parts.append("</ol><table><thead><tr><th>id</th><th>claim</th><th>factor</th>")
        parts.append("<th>evidence</th><th>verdict</th><th>contribution</th><th>sources</th>")
        parts.append("</tr></thead><tbody>")
        for c in ledger.for_vendor(vid):
            contrib = ev.contributions.loc[c.id, "contribution"]
            srcs = "<br>".join(e(s) for s in c.sources)
            parts.append(
                f'<tr id="{e(c.id)}"><td>{e(c.id)}</td><td>{e(c.text)}</td><td>{e(c.factor)}</td>'
                f"<td>{e(c.evidence_type)}</td><td>{e(c.verdict)}</td>"
                f"<td>{contrib:+.3f}</td><td>{srcs}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# The published claim check (book/claim_check.md renders these tables at build time)
# ---------------------------------------------------------------------------------------------

_MYST_SPECIAL = "\\`*_{}[]<>$|#"


def _myst_text(text: Any) -> str:
    """Escape text for a MyST table cell: no roles, math, emphasis, links or cell breaks."""
    out = []
    for ch in " ".join(str(text).split()):
        out.append("\\" + ch if ch in _MYST_SPECIAL else ch)
    return "".join(out)


_SEED_FILE = re.compile(r"^shared/seeds/(\d{3})_[0-9a-f]+\.txt\s*(.*)$")


def _myst_source(source: str) -> str:
    """A source as a MyST link when it is a web address, else as escaped text.

    Seed files are named by their report number: readers of the book cannot open the
    course's working folders, so a path there would be a dead end.
    """
    source = source.strip()
    seed = _SEED_FILE.match(source)
    if seed:
        number, where = seed.groups()
        return _myst_text(f"seed report {number}" + (f", {where}" if where else ""))
    if source.startswith(("https://", "http://")) and not any(c in source for c in " <>|"):
        label = source.split("://", 1)[1].split("/", 1)[0]
        return f"[{_myst_text(label)}]({source})"
    return _myst_text(source)


def claim_check_markdown(
    ledger: Ledger, vendor: str | None = None, origin: str | None = None
) -> str:
    """Render the claim check as MyST Markdown tables, for the book's claim-check page.

    Parameters
    ----------
    ledger
        The claim ledger.
    vendor
        ``None`` renders a summary: claims per verdict (rows) and vendor (columns). A vendor id
        renders one row per claim about that vendor: id, claim, the seed's section, verdict,
        evidence type, what the check found and the sources (web addresses become links).
    origin
        ``"seed"`` (what the seed reports say), ``"assessor"`` (what the course adds) or
        ``None`` (both).

    Returns
    -------
    str
        Markdown that Sphinx/MyST can parse inside a directive: tables only, no headings. Text
        is escaped, so a claim can never turn into a role, math or a link by accident.
    """
    if origin is not None and origin not in ORIGINS:
        raise ValueError(f"origin must be one of {ORIGINS} or None, got {origin!r}")
    claims = [c for c in ledger.claims if origin is None or c.origin == origin]
    if vendor is None:
        vendors = [v for v in ledger.vendors if any(c.vendor == v.id for c in claims)]
        lines = [
            "| verdict | " + " | ".join(_myst_text(v.name) for v in vendors) + " | total |",
            "|---|" + "---:|" * (len(vendors) + 1),
        ]
        for verdict in VERDICTS:
            counts = [sum(c.vendor == v.id and c.verdict == verdict for c in claims)
                      for v in vendors]
            lines.append(f"| {verdict} | " + " | ".join(map(str, counts))
                         + f" | {sum(counts)} |")
        totals = [sum(c.vendor == v.id for c in claims) for v in vendors]
        lines.append("| **total** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
        return "\n".join(lines) + "\n"
    ledger.vendor(vendor)  # raises KeyError for an unknown vendor
    rows = [c for c in claims if c.vendor == vendor]
    if not rows:
        return "No claims of this kind are recorded for this vendor.\n"
    lines = [
        "| id | claim | seed section | verdict | evidence | what the check found | sources |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in rows:
        sources = "; ".join(_myst_source(s) for s in c.sources)
        lines.append(
            f"| {_myst_text(c.id)} | {_myst_text(c.text)} | {_myst_text(c.seed_section or '')} "
            f"| **{c.verdict}** | {c.evidence_type.replace('_', ' ')} | {_myst_text(c.note)} "
            f"| {sources} |"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Transfer impact assessment (EDPB Recommendations 01/2020, with the APPI Art. 28 counterpart)
# ---------------------------------------------------------------------------------------------

TIA_STEPS: tuple[tuple[str, str, str], ...] = (
    (
        "1. Know your transfers",
        "Which personal data (face images, templates, logs) goes to which recipient, in which "
        "country, including onward transfers to sub-processors?",
        "APPI Art. 28(2): tell the person the destination country before consent",
    ),
    (
        "2. Identify the transfer tool",
        "Adequacy decision (for a US recipient: is it an active participant on the EU-U.S. Data "
        "Privacy Framework List? Adequacy decision (EU) 2023/1795 of 10 July 2023, upheld in "
        "T-553/23, appeal C-703/25 P pending), standard contractual clauses, binding corporate "
        "rules, or an Art. 49 derogation?",
        "APPI Art. 28(1): consent, a 'standard-compliant system' (Rules Art. 16) or an "
        "adequate country (Rules Art. 15)",
    ),
    (
        "3. Assess the law and practice of the destination",
        "Can public authorities compel access (e.g. FISA 702, CLOUD Act, NIL Art. 7, SORM), and "
        "are there the European Essential Guarantees: clear rules, necessity, oversight, redress?",
        "PPC guidelines: information on the foreign country's personal-information system",
    ),
    (
        "4. Adopt supplementary measures",
        "Technical (encryption with keys held by the exporter, on-premise inference, "
        "pseudonymisation), contractual (transparency on requests, challenge clauses) and "
        "organisational measures.",
        "Rules Art. 18: ensure the recipient's measures continue; stop if they cannot",
    ),
    (
        "5. Procedural steps",
        "Sign the SCCs or other tool; consult the supervisory authority where required.",
        "Record the provision (APPI Arts 29-30) and keep the disclosure up to date",
    ),
    (
        "6. Re-evaluate at intervals",
        "Laws, sub-processors and the vendor's practice change: schedule the review.",
        "Rules Art. 18(1)(i): periodic checks of the recipient and the foreign system",
    ),
)
"""The six EDPB steps, each with its question and the Japanese (APPI/PPC) counterpart."""

HYPOTHETICAL_FACE_VENDOR: dict[str, Any] = {
    "name": "VeriFace (hypothetical)",
    "service": "Face verification for account sign-up: selfie vs ID photo, 1:1 match",
    "exporter": "A Japanese fintech with EU customers",
    "findings": {
        "1. Know your transfers": (
            "Selfies and ID photos go to the vendor's API in the US; templates are kept 30 days; "
            "the sub-processor list names a cloud host in the US and a labelling firm in a "
            "third country.",
            "answered",
        ),
        "2. Identify the transfer tool": (
            "The vendor offers the 2021 SCCs (module 2) and a DPA; EU-US DPF certification not "
            "found in the vendor's documents.",
            "answered",
        ),
        "3. Assess the law and practice of the destination": (
            "The vendor is an electronic communication service provider under FISA 702; the "
            "labelling firm's country has not been assessed.",
            "red flag",
        ),
        "4. Adopt supplementary measures": (
            "Option: run the matcher on-premise (vendor offers a container), send no images "
            "abroad; otherwise strip metadata and forbid onward transfer to the labelling firm.",
            "open",
        ),
        "5. Procedural steps": ("Not yet done.", "open"),
        "6. Re-evaluate at intervals": ("Not yet scheduled.", "open"),
    },
}
"""A worked example for Lab 6: a fictional face-verification vendor."""


def transfer_impact_assessment(case: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Walk a vendor case through the six TIA steps.

    Parameters
    ----------
    case
        A dict with a ``findings`` mapping step title -> (finding, status), where status is
        ``"answered"``, ``"open"`` or ``"red flag"``. Defaults to
        :data:`HYPOTHETICAL_FACE_VENDOR`. Steps with no finding are reported as open.

    Returns
    -------
    pandas.DataFrame
        One row per step: question, Japanese counterpart, finding and status.
    """
    case = HYPOTHETICAL_FACE_VENDOR if case is None else case
    findings = case.get("findings", {})
    unknown = sorted(set(findings) - {s[0] for s in TIA_STEPS})
    if unknown:
        raise ValueError(f"unknown TIA step(s) {unknown}")
    rows = []
    for title, question, japan in TIA_STEPS:
        finding, status = findings.get(title, ("No information yet.", "open"))
        if status not in ("answered", "open", "red flag"):
            raise ValueError(f"{title}: status must be answered, open or red flag")
        rows.append(
            {
                "step": title,
                "question": question,
                "Japan (APPI / PPC)": japan,
                "finding": finding,
                "status": status,
            }
        )
    return pd.DataFrame(rows).set_index("step")

"""Tests for faceleak.legal.risk: the claim ledger, the evidence-only scoring rule, the report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from faceleak.legal import risk

LEDGER = risk.load_ledger()
VENDORS = [v.id for v in LEDGER.vendors]
ZERO_VERDICTS = ("unsupported", "false", "opinion")


def _claim(**kw) -> risk.Claim:
    base = dict(
        id="T-1", vendor="higgsfield", text="A synthetic claim.", origin="assessor",
        sources=("https://example.org/doc",), evidence_type="primary_document",
        verdict="verified", factor="legal_exposure", direction=1, severity=3,
    )  # fmt: skip
    base.update(kw)
    return risk.Claim(**base)


def _index(ledger: risk.Ledger, vendor: str, weights=None) -> float:
    return risk.score_vendor(ledger, vendor, weights).risk_index


# ------------------------------------------------------------------ import hygiene


def test_risk_imports_without_torch_or_plotting():
    code = (
        "import sys, faceleak.legal.risk\n"
        "bad = [m for m in ('torch', 'faceleak.viz', 'faceleak.widgets', 'faceleak.cli',"
        " 'faceleak.viz.risk', 'faceleak.widgets.risk', 'matplotlib', 'ipywidgets')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ ledger integrity


def test_ledger_has_at_least_25_claims_across_two_vendors():
    assert len(LEDGER.claims) >= 25
    assert set(VENDORS) == {"higgsfield", "huggingface"}
    for v in VENDORS:
        assert len(LEDGER.for_vendor(v)) >= 10


@pytest.mark.parametrize("claim", LEDGER.claims, ids=lambda c: c.id)
def test_every_entry_has_source_evidence_type_valid_verdict_and_factor(claim):
    assert claim.sources and all(s.strip() for s in claim.sources)
    assert claim.evidence_type in risk.EVIDENCE_TYPES
    assert claim.verdict in risk.VERDICTS
    assert claim.factor in risk.FACTORS
    assert claim.direction in risk.DIRECTIONS
    assert claim.note.strip(), "every verdict should say what the check found"
    if claim.origin == "seed":
        assert claim.seed_section and claim.seed_quote


def test_ledger_covers_every_evidence_type_and_verdict():
    assert {c.evidence_type for c in LEDGER.claims} == set(risk.EVIDENCE_TYPES)
    assert {c.verdict for c in LEDGER.claims} == set(risk.VERDICTS)


def test_ledger_json_is_well_formed_and_ids_unique():
    ids = [c.id for c in LEDGER.claims]
    assert len(ids) == len(set(ids))
    json.dumps([c.to_dict() for c in LEDGER.claims])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sources": ()}, "source"),
        ({"sources": ("  ",)}, "source"),
        ({"evidence_type": "rumour"}, "evidence_type"),
        ({"verdict": "maybe"}, "verdict"),
        ({"factor": "vibes"}, "factor"),
        ({"direction": 2}, "direction"),
        ({"severity": 0}, "severity"),
        ({"origin": "seed"}, "seed section"),
    ],
)
def test_malformed_claims_are_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        _claim(**change)


def test_duplicate_ids_and_unknown_vendors_are_rejected():
    c = _claim()
    with pytest.raises(ValueError, match="duplicate"):
        LEDGER.with_claims([c, c])
    with pytest.raises(ValueError, match="unknown vendor"):
        LEDGER.with_claims([_claim(vendor="acme")])


# ------------------------------------------------------------------ weights


def test_default_weights_are_valid_and_normalised():
    w = risk.default_weights()
    assert list(w) == list(risk.FACTORS)
    assert math.isclose(sum(w.values()), 1.0)
    assert all(x > 0 for x in w.values())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda w: w.update(legal_exposure=-0.1), "non-negative"),
        (lambda w: w.update(contractual=float("nan")), "finite"),
        (lambda w: w.update(contractual=float("inf")), "finite"),
        (lambda w: w.pop("track_record"), "missing"),
        (lambda w: w.update(vibes=1.0), "unknown"),
        (lambda w: w.update(dict.fromkeys(w, 0.0)), "zero"),
        (lambda w: w.update(contractual="high"), "number"),
    ],
)
def test_bad_weights_raise_clear_errors(mutate, message):
    w = dict(risk.default_weights())
    mutate(w)
    with pytest.raises(ValueError, match=message):
        risk.validate_weights(w)
    with pytest.raises(ValueError, match=message):
        risk.score_vendor(LEDGER, "higgsfield", w)


def test_weights_are_scale_free():
    w = risk.default_weights()
    doubled = {f: 2 * x for f, x in w.items()}
    assert math.isclose(_index(LEDGER, "huggingface", w), _index(LEDGER, "huggingface", doubled))


# ------------------------------------------------------------------ the evidence rule


@pytest.mark.parametrize("vendor", ["higgsfield", "huggingface"])
def test_opinion_insinuation_and_unsupported_claims_never_move_the_score(vendor):
    """Property over the real ledger: drop every zero-evidence claim, the score is identical."""
    zero = [
        c for c in LEDGER.claims
        if c.verdict in ("opinion", "unsupported") or c.evidence_type == "insinuation_opinion"
    ]  # fmt: skip
    assert zero, "the ledger should contain insinuation to test against"
    kept = LEDGER.with_claims(c for c in LEDGER.claims if c not in zero)
    for w in (None, {f: 1.0 for f in risk.FACTORS}):
        assert _index(LEDGER, vendor, w) == pytest.approx(_index(kept, vendor, w), abs=1e-12)
    contrib = risk.score_vendor(LEDGER, vendor).contributions
    for c in zero:
        if c.vendor == vendor:
            assert contrib.loc[c.id, "contribution"] == 0


def test_synthetic_insinuation_never_moves_the_score_whatever_its_weight():
    rng = np.random.default_rng(7)
    for k in range(200):
        weights = dict(zip(risk.FACTORS, rng.dirichlet(np.ones(len(risk.FACTORS))), strict=True))
        claim = _claim(
            id=f"SYN-{k}",
            vendor=str(rng.choice(VENDORS)),
            factor=str(rng.choice(risk.FACTORS)),
            direction=int(rng.choice([-1, 1])),
            severity=int(rng.integers(1, 4)),
            evidence_type=str(rng.choice(risk.EVIDENCE_TYPES)),
            verdict=str(rng.choice(["opinion", "unsupported"])),
        )
        loud = [claim] + [replace(claim, id=f"{claim.id}-{j}") for j in range(5)]
        before = _index(LEDGER, claim.vendor, weights)
        after = _index(LEDGER.with_claims(LEDGER.claims + tuple(loud)), claim.vendor, weights)
        assert after == pytest.approx(before, abs=1e-12)
        # insinuation as evidence type counts zero even if someone marks it verified
        verified_insinuation = replace(
            claim, evidence_type="insinuation_opinion", verdict="verified"
        )
        after2 = _index(LEDGER.with_claims(LEDGER.claims + (verified_insinuation,)), claim.vendor)
        assert after2 == pytest.approx(_index(LEDGER, claim.vendor), abs=1e-12)


@pytest.mark.parametrize("claim", LEDGER.claims, ids=lambda c: c.id)
def test_a_claim_marked_false_cannot_raise_risk(claim):
    """Marking any raising claim false never increases the index; false claims contribute 0."""
    as_false = LEDGER.with_verdicts({claim.id: "false"})
    res = risk.score_vendor(as_false, claim.vendor)
    assert res.contributions.loc[claim.id, "contribution"] == 0
    if claim.direction >= 0:
        assert res.risk_index <= _index(LEDGER, claim.vendor) + 1e-12


def test_false_claims_in_the_ledger_contribute_nothing():
    false_claims = [c for c in LEDGER.claims if c.verdict == "false"]
    assert false_claims
    for c in false_claims:
        assert risk.evidence_multiplier(c) == 0
        assert risk.score_vendor(LEDGER, c.vendor).contributions.loc[c.id, "contribution"] == 0


def test_verified_evidence_does_move_the_score_in_its_direction():
    up = _claim(id="UP", factor="security_assurance", severity=2)
    down = replace(up, id="DOWN", direction=-1)
    base = _index(LEDGER, "higgsfield")
    assert _index(LEDGER.with_claims(LEDGER.claims + (up,)), "higgsfield") > base
    assert _index(LEDGER.with_claims(LEDGER.claims + (down,)), "higgsfield") < base


def test_contributions_add_up_to_the_index():
    for v in VENDORS:
        for mode in ("evidence", "face_value"):
            r = risk.score_vendor(LEDGER, v, mode=mode)
            assert r.contributions["contribution"].sum() == pytest.approx(
                r.risk_index - risk.BASELINE
            )
            assert all(0 <= s <= 1 for s in r.factor_scores.values())


def test_rating_bands():
    assert risk.rating_from_index(0.0) == 5
    assert risk.rating_from_index(0.5) == 3
    assert risk.rating_from_index(0.6) == 2
    assert risk.rating_from_index(0.8) == 1
    assert risk.rating_from_index(1.0) == 1
    with pytest.raises(ValueError):
        risk.rating_from_index(float("nan"))


def test_no_evidence_at_all_rates_three():
    empty = LEDGER.with_claims([])
    assert risk.score_vendor(empty, "higgsfield").rating == 3


# ------------------------------------------------------------------ case-study outcomes


def test_evidence_only_rating_differs_from_the_seed_and_face_value_reproduces_it():
    table = risk.compare_ratings(LEDGER)
    for v in VENDORS:
        assert table.loc[v, "seed_rating"] == 1
        assert table.loc[v, "face_value_rating"] == 1, "taking the seed at its word gives its 1"
        assert table.loc[v, "evidence_rating"] != table.loc[v, "seed_rating"]
        assert table.loc[v, "evidence_rating"] > table.loc[v, "seed_rating"]


@pytest.mark.parametrize("vendor", ["higgsfield", "huggingface"])
def test_top_movers_are_real_evidence_backed_claims(vendor):
    movers = risk.top_movers(risk.score_vendor(LEDGER, vendor), 5)
    assert len(movers) == 5
    for cid in movers.index:
        c = LEDGER.claim(cid)
        assert c.vendor == vendor
        assert c.verdict in ("verified", "partly")
        assert c.evidence_type != "insinuation_opinion"
    assert movers["contribution"].abs().is_monotonic_decreasing


def test_sensitivity_analyses():
    oat = risk.sensitivity_oat(LEDGER, "huggingface")
    assert set(oat["factor"]) == set(risk.FACTORS)
    assert oat["rating"].between(1, 5).all()
    d1 = risk.sensitivity_dirichlet(LEDGER, "higgsfield", n=300, seed=1)
    d2 = risk.sensitivity_dirichlet(LEDGER, "higgsfield", n=300, seed=1)
    assert d1.equals(d2), "seeded sampling must be reproducible"
    assert np.allclose(d1[list(risk.FACTORS)].sum(axis=1), 1.0)
    # the Dirichlet shortcut must agree with a full re-score
    row = d1.iloc[0]
    w = {f: row[f] for f in risk.FACTORS}
    assert row["risk_index"] == pytest.approx(_index(LEDGER, "higgsfield", w))
    with pytest.raises(ValueError):
        risk.sensitivity_dirichlet(LEDGER, "higgsfield", n=0)


# ------------------------------------------------------------------ ToS labels and report


def test_tos_labels_become_contractual_claims():
    labels = ["TRAINING_USE", "DELETION_RIGHT", "TRAINING_USE", "GOVERNING_LAW"]
    claims = risk.claims_from_tos_labels(labels, "higgsfield", "https://example.org/tos")
    assert [c.id.rsplit("-", 1)[-1] for c in claims] == [
        "TRAINING_USE",
        "DELETION_RIGHT",
        "GOVERNING_LAW",
    ]
    assert len(claims) == 3 and all(c.factor == "contractual" for c in claims)
    assert set(risk.TOS_LABEL_EFFECTS) == {
        "LICENSE_PERPETUAL_IRREVOCABLE", "SUBLICENSABLE", "TRAINING_USE", "BIOMETRIC_DATA",
        "THIRD_PARTY_SHARING", "DATA_RETENTION", "DELETION_RIGHT", "ARBITRATION",
        "CLASS_ACTION_WAIVER", "LIABILITY_CAP", "UNILATERAL_CHANGE", "GOVERNING_LAW",
        "CROSS_BORDER_TRANSFER",
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown ToS label"):
        risk.claims_from_tos_labels(["NOT_A_LABEL"], "higgsfield", "x")


def test_tos_text_path_when_analyzer_exists():
    tos = pytest.importorskip("faceleak.legal.tos")
    if not hasattr(tos, "analyze"):
        pytest.skip("faceleak.legal.tos.analyze not available yet")
    text = (
        "You grant us a perpetual, irrevocable licence to your content. We may use your inputs "
        "to train our models. Any dispute will be resolved by binding arbitration."
    )
    claims = risk.claims_from_tos_text(text, "higgsfield", "https://example.org/tos")
    assert all(c.factor == "contractual" and c.verdict == "partly" for c in claims)


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_report_contains_every_claim_id(fmt):
    text = risk.render_report(LEDGER, fmt=fmt)
    for c in LEDGER.claims:
        assert c.id in text
    for v in LEDGER.vendors:
        assert v.name in text
    if fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and "</html>" in text
    with pytest.raises(ValueError):
        risk.render_report(LEDGER, fmt="pdf")


def test_tables():
    table = risk.scorecard_table(LEDGER)
    assert set(risk.FACTORS) <= set(table.index)
    assert set(VENDORS) <= set(table.columns)
    assert risk.factor_table().shape[0] == len(risk.FACTORS)
    assert LEDGER.summary().loc["total", "total"] == len(LEDGER.claims)


def test_figures_and_widget_build():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from faceleak.viz import risk as viz_risk

    fig = viz_risk.plot_scorecard(LEDGER)
    assert "Vendor scorecard" in fig._suptitle.get_text()
    viz_risk.plot_movers(risk.score_vendor(LEDGER, "huggingface"))
    viz_risk.plot_sensitivity({"x": risk.sensitivity_dirichlet(LEDGER, "higgsfield", n=50)})
    pytest.importorskip("ipywidgets")
    from faceleak.widgets import risk as widgets_risk

    w = widgets_risk.scorecard_widget(LEDGER)
    assert w.children


def test_transfer_impact_assessment_walkthrough():
    tia = risk.transfer_impact_assessment()
    assert len(tia) == 6
    assert set(tia["status"]) <= {"answered", "open", "red flag"}
    partial = risk.transfer_impact_assessment({"findings": {}})
    assert (partial["status"] == "open").all()
    with pytest.raises(ValueError):
        risk.transfer_impact_assessment({"findings": {"7. Pray": ("x", "open")}})
    assert "Data Privacy Framework" in tia.loc["2. Identify the transfer tool", "question"]


# ------------------------------------------------------------------ EU-US Data Privacy Framework

DPF_LIST = "https://www.dataprivacyframework.gov/list"


@pytest.mark.parametrize("vendor", VENDORS)
def test_each_vendor_has_a_dpf_status_to_check_that_counts_zero_until_checked(vendor):
    dpf = [c for c in LEDGER.for_vendor(vendor) if DPF_LIST in c.sources]
    assert len(dpf) == 1, "one claim per vendor on its DPF status, citing the DPF List"
    claim = dpf[0]
    assert claim.origin == "assessor" and claim.factor == "data_location"
    assert claim.verdict == "unsupported", "an unconfirmed listing is not scored as a fact"
    assert "must be checked" in claim.text
    assert "2023/1795" in claim.note and "T-553/23" in claim.note and "C-703/25 P" in claim.note
    res = risk.score_vendor(LEDGER, vendor)
    assert res.contributions.loc[claim.id, "contribution"] == 0.0
    # once someone finds the vendor on the list, the claim lowers the data-location factor
    checked = risk.score_vendor(LEDGER.with_verdicts({claim.id: "verified"}), vendor)
    assert checked.factor_scores["data_location"] < res.factor_scores["data_location"]


# ------------------------------------------------------------------ the published claim check


@pytest.mark.parametrize("vendor", VENDORS)
def test_claim_check_lists_every_seed_claim_with_verdict_and_sources(vendor):
    text = risk.claim_check_markdown(LEDGER, vendor, "seed")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()[2:]}
    seed = [c for c in LEDGER.for_vendor(vendor) if c.origin == "seed"]
    assert set(rows) == {risk._myst_text(c.id) for c in seed}
    for c in seed:
        row = rows[risk._myst_text(c.id)]
        assert f"**{c.verdict}**" in row
        for s in c.sources:
            if s.startswith("https://"):
                assert f"]({s})" in row, "web sources become links"
    assert "shared/" not in text, "readers cannot open the course's working folders"
    assessor = risk.claim_check_markdown(LEDGER, vendor, "assessor")
    assessor_ids = {c.id for c in LEDGER.for_vendor(vendor) if c.origin == "assessor"}
    assert not assessor_ids & {k.replace("\\", "") for k in rows}
    assert all(f"| {risk._myst_text(i)} |" in assessor for i in assessor_ids)


def test_claim_check_summary_counts_match_the_ledger():
    text = risk.claim_check_markdown(LEDGER, origin="seed")
    total = text.splitlines()[-1]
    n_seed = sum(c.origin == "seed" for c in LEDGER.claims)
    assert total.startswith("| **total** |") and total.endswith(f"| {n_seed} |")
    for verdict in risk.VERDICTS:
        line = next(row for row in text.splitlines() if row.startswith(f"| {verdict} |"))
        n = sum(c.origin == "seed" and c.verdict == verdict for c in LEDGER.claims)
        assert line.endswith(f"| {n} |")


def test_claim_check_escapes_markup_in_claims():
    nasty = _claim(id="T-9", text="A | pipe, $x$ math, {term}`role`, *stars* and <b>tags</b>",
                   sources=("shared/seeds/000_616f9c87450cbd08.txt §3", "a | b"),
                   note="[not](a link)")
    ledger = LEDGER.with_claims([nasty])
    row = risk.claim_check_markdown(ledger, "higgsfield").splitlines()[2]
    # seven cells: the pipes inside the text are escaped, so the row keeps its shape
    cells = [c for c in row.replace("\\|", "").split("|")[1:-1]]
    assert len(cells) == 7
    assert "\\$x\\$" in row and "\\{term\\}\\`role\\`" in row and "\\*stars\\*" in row
    assert "\\[not\\](a link)" in row and "\\<b\\>" in row
    assert "seed report 000, §3" in row and "shared/" not in row


def test_claim_check_rejects_unknown_vendor_and_origin():
    with pytest.raises(KeyError):
        risk.claim_check_markdown(LEDGER, "acme")
    with pytest.raises(ValueError, match="origin"):
        risk.claim_check_markdown(LEDGER, "higgsfield", "rumour")

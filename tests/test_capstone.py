"""The capstone's fictional inputs (Chapter 7 / Lab 7), run through the real package.

FaceFable Ltd. is invented for teaching. These tests check that its terms and its evidence
ledger behave as the chapter says: the ToS analyser flags the clause kinds planted in the
terms and stays silent on the benign ones, the ledger loads and validates in the schema of
``faceleak.legal.risk``, and the evidence-only rating is milder than the blog post's claims taken at
face value, while the documents the chapter asks for would move it further.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import nbformat
import pytest

from faceleak.legal import risk, tos

ROOT = Path(__file__).resolve().parents[1]
CAPSTONE = resources.files("faceleak").joinpath("resources", "capstone")
VENDOR = "facefable"


def _terms() -> tuple[str, str]:
    header, _, body = CAPSTONE.joinpath("facefable_terms.txt").read_text("utf-8").partition("\n")
    return header, body


@pytest.fixture(scope="module")
def report() -> tos.TosReport:
    return tos.analyze(_terms()[1], source="facefable_terms.txt")


@pytest.fixture(scope="module")
def ledger() -> risk.Ledger:
    with resources.as_file(CAPSTONE.joinpath("facefable_ledger.json")) as path:
        return risk.load_ledger(path)


def _clause(report: tos.TosReport, start: str) -> tos.ClauseResult:
    found = [c for c in report.clauses if c.text.startswith(start)]
    assert len(found) == 1, f"expected one clause starting {start!r}, found {len(found)}"
    return found[0]


# ------------------------------------------------------------------ the resources ship


def test_resources_are_package_data():
    assert CAPSTONE.joinpath("facefable_terms.txt").is_file()
    assert CAPSTONE.joinpath("facefable_ledger.json").is_file()
    # pyproject.toml's package-data must ship resources/capstone/ (tomllib is 3.11+ only)
    pyproject = (ROOT / "pyproject.toml").read_text()
    found = re.search(
        r"\[tool\.setuptools\.package-data\]\s*faceleak\s*=\s*\[([^\]]*)\]", pyproject
    )
    assert found, "no package-data for faceleak in pyproject.toml"
    package_data = found.group(1)
    assert '"resources/**/*"' in package_data or '"resources/capstone/*"' in package_data


def test_both_inputs_say_they_are_fictional(ledger):
    header, _ = _terms()
    assert header.startswith("Source: FICTIONAL")
    assert "no real company" in header
    assert "FICTIONAL" in ledger.meta["about"] and "no real company" in ledger.meta["about"]
    assert "fictional" in ledger.vendor(VENDOR).name.lower()


# ------------------------------------------------------------------ Part 4: the terms


# clause opening -> labels the analyser must find in it (what was planted)
PLANTED = {
    "By uploading Your Content you grant": {"LICENSE_PERPETUAL_IRREVOCABLE", "SUBLICENSABLE"},
    "We may use Your Content to train": {"TRAINING_USE"},
    "When you turn on FaceKey": {"BIOMETRIC_DATA"},
    "We retain your face template": {"BIOMETRIC_DATA", "DATA_RETENTION"},
    "You may request deletion of your face template": {"DELETION_RIGHT"},
    "We share Your Content": {"THIRD_PARTY_SHARING"},
    "Your Content and face templates may be stored": {"CROSS_BORDER_TRANSFER"},
    "We may change these Terms": {"UNILATERAL_CHANGE"},
    "To the maximum extent permitted by law": {"LIABILITY_CAP"},
    "You and FaceFable agree that any dispute": {"ARBITRATION"},
    "You and FaceFable agree to bring claims only": {"CLASS_ACTION_WAIVER"},
    "You may opt out of this arbitration agreement": {"ARBITRATION"},
    "These Terms are governed by the laws": {"GOVERNING_LAW"},
}


@pytest.mark.parametrize("start", PLANTED, ids=lambda s: "-".join(s.split()[:4]))
def test_planted_clause_is_flagged(report, start):
    clause = _clause(report, start)
    assert PLANTED[start] <= set(clause.labels), clause.to_dict()
    for label in PLANTED[start]:
        assert clause.evidence[label], f"{label} has no evidence"


def test_every_label_of_the_taxonomy_is_planted(report):
    counts = report.label_counts()
    assert all(counts[label] >= 1 for label in tos.LABELS), counts


def test_opt_out_is_pointed_out(report):
    clause = _clause(report, "You may opt out of this arbitration agreement")
    assert "opt-out" in clause.explanations["ARBITRATION"]


def test_denial_of_sale_is_not_flagged(report):
    clause = _clause(report, "We do not sell your face template")
    assert clause.labels == ()
    # the analyser saw the biometric trigger and set it aside because the clause denies it
    assert "BIOMETRIC_DATA" in clause.negated
    assert "THIRD_PARTY_SHARING" not in clause.labels


def test_ownership_clause_is_not_retention(report):
    clause = _clause(report, "You retain ownership of the selfies")
    assert clause.labels == ()


def test_retention_and_cap_carry_their_numbers(report):
    retention = _clause(report, "We retain your face template")
    assert any(re.search(r"\d+ days", e) for e in retention.evidence["DATA_RETENTION"])
    cap = _clause(report, "To the maximum extent permitted by law")
    assert "$" in cap.text


def test_law_map_covers_every_flagged_label(report):
    for label, n in report.label_counts().items():
        if n:
            assert tos.laws_for(label), label
    keys = {law["key"] for law in tos.laws_for("BIOMETRIC_DATA")}
    assert {"gdpr_9", "bipa_15b", "appi_2_2"} <= keys


# ------------------------------------------------------------------ Part 5: the ledger


def test_ledger_loads_and_validates(ledger):
    assert [v.id for v in ledger.vendors] == [VENDOR]
    assert len(ledger.for_vendor(VENDOR)) == len(ledger.claims) > 0
    frame = ledger.to_frame()
    # a mix of verified facts, insinuations, falsehoods and unknowns
    assert set(frame["verdict"]) == set(risk.VERDICTS)
    assert {"seed", "assessor"} <= set(frame["origin"])
    assert (frame["evidence_type"] == "insinuation_opinion").any()
    assert all(c.sources for c in ledger.claims)


def test_a_broken_copy_of_the_ledger_is_refused(tmp_path):
    data = json.loads(CAPSTONE.joinpath("facefable_ledger.json").read_text("utf-8"))
    data["claims"][0]["sources"] = []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="source"):
        risk.load_ledger(bad)
    data["claims"][0]["sources"] = ["x"]
    data["claims"][0]["verdict"] = "probably"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="verdict"):
        risk.load_ledger(bad)


def test_evidence_rating_is_milder_than_the_insinuations(ledger):
    row = risk.compare_ratings(ledger).loc[VENDOR]
    # rating 1 = extremely dangerous, 5 = safe: the evidence-only rating is the higher number
    assert row["face_value_rating"] == row["seed_rating"] == 1
    assert row["evidence_rating"] > row["face_value_rating"]
    assert row["evidence_index"] < row["face_value_index"]
    # ... but it is not a clean bill of health: biometric templates and the licence stay risky
    assert row["evidence_rating"] <= 3


def test_insinuations_and_false_claims_count_zero(ledger):
    result = risk.score_vendor(ledger, VENDOR)
    zero = ledger.to_frame().query("verdict in ('unsupported', 'false', 'opinion')").index
    assert len(zero) > 0
    assert (result.contributions.loc[zero, "contribution"] == 0).all()
    # turning every opinion into "verified" changes nothing: its evidence type counts zero
    opinions = {c.id: "verified" for c in ledger.claims if c.verdict == "opinion"}
    again = risk.score_vendor(ledger.with_verdicts(opinions), VENDOR)
    assert again.risk_index == pytest.approx(result.risk_index)


def test_unknowns_would_move_the_score_once_answered(ledger):
    unknowns = [c for c in ledger.claims if c.verdict == "unsupported" and c.origin == "assessor"]
    assert unknowns
    base = risk.score_vendor(ledger, VENDOR).risk_index
    answered = ledger.with_claims(
        replace(c, verdict="verified") if c in unknowns else c for c in ledger.claims
    )
    assert risk.score_vendor(answered, VENDOR).risk_index != pytest.approx(base)


def test_what_if_conditions_improve_the_rating(ledger):
    what_if = ledger.meta["what_if"]
    ids = {c.id for c in ledger.claims}
    assert set(what_if["supersedes"]) <= ids
    conditions = [risk.Claim.from_dict(c) for c in what_if["claims"]]
    assert not ids & {c.id for c in conditions}, "hypothetical claims must stay out of the ledger"
    assert all(s.startswith("HYPOTHETICAL") for c in conditions for s in c.sources)
    kept = [c for c in ledger.claims if c.id not in what_if["supersedes"]]
    now = risk.score_vendor(ledger, VENDOR)
    then = risk.score_vendor(ledger.with_claims(kept + conditions), VENDOR)
    assert then.rating > now.rating


def test_no_single_condition_is_enough(ledger):
    """Chapter 7, exercise 4: the rating moves only when all three documents arrive."""
    what_if = ledger.meta["what_if"]
    now = risk.score_vendor(ledger, VENDOR)
    for data in what_if["claims"]:
        condition = risk.Claim.from_dict(data)
        drop = what_if["supersedes"] if condition.factor == "contractual" else []
        kept = [c for c in ledger.claims if c.id not in drop]
        alone = risk.score_vendor(ledger.with_claims(kept + [condition]), VENDOR)
        assert alone.risk_index < now.risk_index
        assert alone.rating == now.rating
    # a DPA added on top of the consumer terms cannot lower a saturated contractual factor
    dpa = risk.Claim.from_dict(what_if["claims"][0])
    on_top = risk.score_vendor(ledger.with_claims(list(ledger.claims) + [dpa]), VENDOR)
    assert now.factor_scores["contractual"] == 1.0
    assert on_top.risk_index == pytest.approx(now.risk_index)


def test_labels_alone_give_the_same_rating(report, ledger):
    """Chapter 7, Part 5: contractual claims made from the labels agree with the reading."""
    labels = [label for label, n in report.label_counts().items() if n]
    auto = risk.claims_from_tos_labels(labels, VENDOR, "facefable_terms.txt", verdict="partly")
    hand = [c for c in ledger.claims if c.factor != "contractual"]
    auto_score = risk.score_vendor(ledger.with_claims(hand + auto), VENDOR)
    assert auto_score.rating == risk.score_vendor(ledger, VENDOR).rating


def test_sensitivity_is_reproducible(ledger):
    a = risk.sensitivity_dirichlet(ledger, VENDOR, n=200, seed=0)
    b = risk.sensitivity_dirichlet(ledger, VENDOR, n=200, seed=0)
    assert a["rating"].tolist() == b["rating"].tolist()


# ------------------------------------------------------------------ chapter <-> labs


def _glued_patterns(notebook: Path) -> list[re.Pattern[str]]:
    """The glue keys a lab defines, as regexes (f-string fields match any key part)."""
    nb = nbformat.read(notebook, as_version=4)
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    out = []
    for m in re.finditer(r"glue\(\s*(f?)([\"'])(.+?)\2", source):
        key = m.group(3)
        if m.group(1):
            parts = re.split(r"\{[^}]*\}", key)
            out.append(re.compile("[a-z0-9_]+".join(re.escape(p) for p in parts) + "$"))
        else:
            out.append(re.compile(re.escape(key) + "$"))
    return out


def test_chapter_glue_keys_exist_in_the_labs():
    chapter = (ROOT / "book" / "07_capstone.md").read_text("utf-8")
    roles = re.findall(r"\{glue:text\}`([^`]+)`", chapter)
    assert roles, "the capstone chapter quotes no computed numbers"
    directives = re.findall(r"```\{glue\} (\S+)\n:doc: (\S+)", chapter)
    refs = []
    for role in roles:
        doc, _, rest = role.partition("::")
        key, sep, fmt = rest.rpartition(":")
        assert sep and fmt, f"{role}: a format spec is required"
        assert fmt[-1] in "dfs", f"{role}: unexpected format {fmt!r}"
        refs.append((doc, key))
    refs += [(doc, key) for key, doc in directives]
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for doc, key in refs:
        assert doc.startswith("../labs/"), doc
        path = ROOT / "book" / doc
        assert path.is_file(), doc
        pats = patterns.setdefault(doc, _glued_patterns(path))
        assert any(p.match(key) for p in pats), f"{key} is not glued in {doc}"


def test_chapter_has_no_en_dash_between_glue_roles():
    chapter = (ROOT / "book" / "07_capstone.md").read_text("utf-8")
    assert not re.search(r"`[ \t]*[–—][ \t]*\{glue:text\}", chapter)

"""Tests of the ToS clause analyzer, the splitter, the corpus and the law map."""

from __future__ import annotations

import pytest

from faceleak.legal import tos

# label -> (positive, negative (unrelated or near-miss), negated)
CASES = {
    "LICENSE_PERPETUAL_IRREVOCABLE": (
        "You grant us a perpetual, irrevocable, worldwide licence to use your photos.",
        "You grant us a limited, revocable licence to display your photos during the term.",
        "The licence you grant is not perpetual and you may revoke it at any time.",
    ),
    "SUBLICENSABLE": (
        "The license is transferable and sublicensable through multiple tiers.",
        "The license is transferable to our successors.",
        "This license is non-transferable and non-sublicensable.",
    ),
    "TRAINING_USE": (
        "We may use your uploads to train our machine learning models.",
        "We use your uploads only to render the edited image for you.",
        "We do not use your content to train our models.",
    ),
    "BIOMETRIC_DATA": (
        "We may extract face geometry and faceprints from the photos you upload.",
        "We may collect the file name and size of the photos you upload.",
        "We will not collect faceprints or other biometric identifiers from your photos.",
    ),
    "THIRD_PARTY_SHARING": (
        "We may share your personal information with our affiliates and advertising partners.",
        "We store your personal information on our own servers.",
        "We never share your personal information with third parties.",
    ),
    "DATA_RETENTION": (
        "We retain your photos for 30 days after your last edit.",
        "We process your photos to apply the selected filter.",
        "We do not retain your photos after the edit is complete.",
    ),
    "DELETION_RIGHT": (
        "You may request that we delete your personal information at any time.",
        "We may delete your content at any time for any reason.",
        "You cannot delete content that you have shared with other users.",
    ),
    "ARBITRATION": (
        "All disputes shall be resolved by binding arbitration administered by JAMS.",
        "All disputes shall be resolved by the courts of Tokyo.",
        "Disputes will not be resolved by binding arbitration; either party may go to court.",
    ),
    "CLASS_ACTION_WAIVER": (
        "You waive any right to participate in a class action lawsuit against us.",
        "You may bring a claim in small claims court.",
        "You do not waive your right to bring a class action.",
    ),
    "LIABILITY_CAP": (
        "Our total liability will not exceed the greater of $100 or the amount you paid us.",
        "We are not liable for indirect or consequential damages.",
        "Our liability to you is not limited to the amount you paid us.",
    ),
    "UNILATERAL_CHANGE": (
        "We may modify these Terms at any time in our sole discretion.",
        "We may modify the Services or discontinue features at any time.",
        "We will not change these Terms without your express consent.",
    ),
    "GOVERNING_LAW": (
        "These Terms are governed by the laws of the State of California.",
        "These Terms are written in English.",
        "These Terms are not governed by the laws of the State of California.",
    ),
    "CROSS_BORDER_TRANSFER": (
        "Your data may be transferred to and stored in the United States.",
        "Your data is stored on encrypted servers.",
        "Your data is never transferred outside the European Economic Area.",
    ),
}


@pytest.mark.parametrize("label", list(tos.LABELS))
def test_label_positive(label: str) -> None:
    result = tos.analyze_clause(CASES[label][0])
    assert label in result.labels
    assert result.evidence[label], "a label must come with evidence"
    assert result.explanations[label]


@pytest.mark.parametrize("label", list(tos.LABELS))
def test_label_negative(label: str) -> None:
    assert label not in tos.analyze_clause(CASES[label][1]).labels


@pytest.mark.parametrize("label", list(tos.LABELS))
def test_label_negated(label: str) -> None:
    result = tos.analyze_clause(CASES[label][2])
    assert label not in result.labels
    # The denial is reported so the reader can see why the label was withheld.
    if label != "CLASS_ACTION_WAIVER":
        assert label in result.negated


def test_all_labels_have_cases_and_laws() -> None:
    assert set(CASES) == set(tos.LABELS)
    for label in tos.LABELS:
        laws = tos.laws_for(label)
        assert laws and all(law["url"].startswith("https://") for law in laws)


def test_class_waiver_negation_is_the_waiver() -> None:
    text = "YOU MAY ONLY BRING CLAIMS ON AN INDIVIDUAL BASIS, NOT AS A PLAINTIFF OR CLASS MEMBER."
    assert "CLASS_ACTION_WAIVER" in tos.analyze_clause(text).labels


def test_opt_out_condition_is_not_negation() -> None:
    text = "If you do not want us to use your Content to train our models, you can opt out."
    assert "TRAINING_USE" in tos.analyze_clause(text).labels


def test_exception_escapes_negation() -> None:
    text = (
        "We do not disclose photographs to third parties (with the exception of uploading them "
        "to our cloud providers)."
    )
    assert "THIRD_PARTY_SHARING" in tos.analyze_clause(text).labels


def test_definition_gets_no_label() -> None:
    assert (
        tos.analyze_clause('"Dataset" refers to data used to train machine learning models.').labels
        == ()
    )


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("当社は、お客様のコンテンツをAIモデルの学習に利用することがあります。", "TRAINING_USE"),
        ("当社は、顔の特徴データを取得します。", "BIOMETRIC_DATA"),
        ("本規約の準拠法は日本法とします。", "GOVERNING_LAW"),
        ("お客様は、個人情報の削除を請求することができます。", "DELETION_RIGHT"),
    ],
)
def test_japanese_positive(text: str, label: str) -> None:
    assert label in tos.analyze_clause(text).labels


def test_japanese_negated_and_unlabelled_do_not_crash() -> None:
    assert (
        "TRAINING_USE"
        not in tos.analyze_clause("当社はお客様のデータをAIの学習に利用しません。").labels
    )
    assert tos.analyze_clause("こんにちは。今日は良い天気です。").labels == ()


def test_analyze_clause_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        tos.analyze_clause(b"bytes")  # type: ignore[arg-type]


# --- splitting ---------------------------------------------------------------------------------


def test_split_numbered_sections_and_headings() -> None:
    text = (
        "# Terms of Service\n\n"
        "1. Licence. You grant us a licence to host your content.\n"
        "2. Changes. We may change these Terms at any time.\n"
        "3.1 Disputes are resolved by binding arbitration.\n"
    )
    clauses = tos.split_clauses(text)
    assert clauses == [
        "Licence. You grant us a licence to host your content.",
        "Changes. We may change these Terms at any time.",
        "Disputes are resolved by binding arbitration.",
    ]


def test_split_bullets_and_sentences() -> None:
    text = (
        "We share data with:\n"
        "- our affiliates for support purposes;\n"
        "* advertising partners who show you ads.\n\n"
        "We keep data for 30 days. You may ask us to delete it, e.g. by email to the U.S. office."
    )
    clauses = tos.split_clauses(text)
    assert "our affiliates for support purposes;" in clauses
    assert "advertising partners who show you ads." in clauses
    assert "We keep data for 30 days." in clauses
    assert clauses[-1] == "You may ask us to delete it, e.g. by email to the U.S. office."


def test_split_japanese_sentence_endings() -> None:
    text = (
        "第1条 目的\n当社はデータを保存します。お客様は削除を請求できます。準拠法は日本法とします。"
    )
    assert tos.split_clauses(text) == [
        "当社はデータを保存します。",
        "お客様は削除を請求できます。",
        "準拠法は日本法とします。",
    ]


def test_analyze_report_and_dataframe() -> None:
    report = tos.analyze(
        "We may share your data with our affiliates.\n\nWe do not sell personal information.",
        source="t",
    )
    assert [c.labels for c in report.clauses] == [("THIRD_PARTY_SHARING",), ()]
    df = report.to_dataframe()
    assert list(df.columns) == ["index", "text", "labels", "evidence", "negated"]
    assert df.loc[1, "negated"].startswith("THIRD_PARTY_SHARING")
    assert report.label_counts()["THIRD_PARTY_SHARING"] == 1


def test_highlight_html_escapes_and_marks() -> None:
    out = tos.highlight_html("We may share <b>your</b> personal information with our affiliates.")
    assert "<mark" in out and "&lt;b&gt;" in out and "THIRD_PARTY_SHARING" in out


# --- input decoding ----------------------------------------------------------------------------


def test_decode_strips_html_and_markdown() -> None:
    html_text = tos.decode_input(
        b"<html><script>var x=1;</script><p>We retain data for 30 days.</p></html>", "a.html"
    )
    assert "var x" not in html_text and "We retain data for 30 days." in html_text
    md_text = tos.decode_input(b"## Terms\n**We** may [share](https://x.y) data.", "a.md")
    assert "We may share data." in md_text


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00\x00", b"\xff\xd8\xff\xe0 not utf8 \xc3\x28"],
)
def test_decode_rejects_bad_input(data: bytes) -> None:
    with pytest.raises(tos.TosInputError):
        tos.decode_input(data, "bad.txt")


def test_decode_rejects_oversize() -> None:
    with pytest.raises(tos.TosInputError, match="limit"):
        tos.decode_input(b"a" * 11, "big.txt", max_bytes=10)


# --- corpus and evaluation ---------------------------------------------------------------------


def test_corpus_schema() -> None:
    records = tos.load_corpus()
    assert len(records) >= 60
    assert len({r["service"] for r in records}) >= 10
    for r in records:
        for key in ("service", "source", "date", "text", "labels"):
            assert key in r, (r.get("id"), key)
        assert r["service"] and r["source"] and r["date"] and r["text"].strip()
        assert isinstance(r["labels"], list)
        assert set(r["labels"]) <= set(tos.LABELS)
        assert r["split"] in {"dev", "heldout"}
    present = {lab for r in records for lab in r["labels"]}
    assert present == set(tos.LABELS), set(tos.LABELS) - present
    assert sum(1 for r in records if not r["labels"]) >= 20, "benign clauses are needed"
    assert len({r["id"] for r in records}) == len(records)
    services = {r["service"] for r in records}
    assert {"Higgsfield", "Hugging Face"} <= services


def test_corpus_contains_seed_quotes() -> None:
    texts = " ".join(r["text"] for r in tos.load_corpus())
    assert "you grant each User a perpetual, irrevocable" in texts
    assert "(or $50 if relating to a free service)" in texts
    assert "sublicensable (through multiple tiers of sublicensees)" in texts


def test_load_corpus_rejects_unknown_split() -> None:
    with pytest.raises(ValueError):
        tos.load_corpus("train")


def test_evaluation_micro_f1() -> None:
    result = tos.evaluate()
    assert result.n_clauses == len(tos.load_corpus())
    assert result.micro_f1 >= 0.85
    heldout = tos.evaluate(tos.load_corpus("heldout"))
    assert heldout.micro_f1 >= 0.85
    assert list(result.per_label.index) == list(tos.LABELS)


def test_evaluation_detects_errors() -> None:
    wrong = [{"text": "We may share your data with our affiliates.", "labels": ["ARBITRATION"]}]
    result = tos.evaluate(wrong)
    assert result.micro_f1 == 0.0
    assert result.errors[0]["missed"] == ["ARBITRATION"]


def test_documents_and_matrix() -> None:
    names = tos.list_documents()
    assert len(names) >= 2
    reports = {}
    for name in names:
        header, body = tos.load_document(name)
        assert header.startswith("Source:")
        reports[name] = tos.analyze(tos.markdown_to_text(body), name)
    matrix = tos.service_matrix(reports)
    assert list(matrix.columns) == list(tos.LABELS)
    assert matrix.values.sum() > 0


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, faceleak.legal.tos; "
        "bad = [m for m in ('torch', 'IPython', 'ipywidgets', 'faceleak.viz', 'faceleak.cli') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0

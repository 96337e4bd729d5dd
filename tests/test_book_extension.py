"""The book's Sphinx extension (book/_ext/faceleak_book.py), in a tiny real Sphinx build."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

sphinx_app = pytest.importorskip("sphinx.application")

GLUE_CELL = """
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as plt
from myst_nb import glue
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [1, 0])
glue("line_fig", fig)
plt.close(fig)
"""


BADGE = ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
         "(https://colab.research.google.com/github/o/r/blob/main/lab.ipynb)")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("book")
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['myst_nb', 'faceleak_book']\n"
        "nb_execution_mode = 'off'\n"
        "exclude_patterns = ['_build']\n")
    (src / "index.md").write_text(
        "# Home\n\n```{toctree}\nlab\nchapter\nbook/status\ntimes\nclaims\nfactors\n```\n")
    (src / "factors.md").write_text(
        "# Factors\n\nThe lab runs in {lab-time}`02_leakage`.\n\n"
        "```{risk-factor-table}\n```\n\n## With frameworks\n\n"
        "```{risk-factor-table}\n:frameworks:\n```\n")
    (src / "claims.md").write_text(
        "# Claims\n\n```{claim-check}\n:origin: seed\n```\n\n## Higgsfield\n\n"
        "```{claim-check} higgsfield\n:origin: seed\n```\n")
    (src / "times.json").write_text(json.dumps({"quick": {
        "measured_utc": "2026-01-01 10:00", "cache": "empty at start", "labs": {
            "01_a.ipynb": {"seconds": 90.0}, "02_b.ipynb": {"failed": "cell 3: boom"}},
        "machine": {"cpu_count": 2, "device": "CPU only", "torch": "2.x", "python": "3.11"}}}))
    (src / "times.md").write_text("# Times\n\n```{lab-times} times.json\n```\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Lab\n\n{BADGE}"),
                                         nbformat.v4.new_code_cell(GLUE_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    nbformat.write(nb, src / "lab.ipynb")
    (src / "chapter.md").write_text(
        "# Chapter\n\n```{lab-figure} line_fig\n:doc: lab.ipynb\n"
        ":alt: A falling straight line.\n\nThe *caption* of the figure.\n```\n")
    (src / "book").mkdir()
    (src / "book" / "status.md").write_text(
        f"# Status\n\nThis build: FACELEAK-BUILD-INFO.\n\n{BADGE}\n")
    out = src / "_build" / "html"
    app = sphinx_app.Sphinx(str(src), str(src), str(out), str(src / "_build" / "doctrees"),
                            "html", status=None, warning=sys.stderr, freshenv=True)
    app.build()
    assert app.statuscode == 0
    return out


def test_lab_figure_has_the_image_alt_text_and_caption(built: Path):
    html = (built / "chapter.html").read_text(encoding="utf-8")
    assert "<figure" in html and "<figcaption>" in html
    assert 'alt="A falling straight line."' in html
    assert "<em>caption</em>" in html
    (tag,) = re.findall(r"<img [^>]*alt=\"A falling straight line.\"[^>]*>", html)
    (src,) = re.findall(r'src="([^"]+)"', tag)
    assert (built / src).is_file()  # the glued PNG was written


def test_build_time_is_written_into_the_status_page(built: Path):
    html = (built / "book" / "status.html").read_text(encoding="utf-8")
    assert "FACELEAK-BUILD-INFO" not in html
    info = json.loads((built / "build-info.json").read_text())
    assert info["build_seconds"] > 0 and info["cpu_count"] >= 1
    assert f"{info['build_seconds']:.0f} s" in html


def _build_one_page(tmp_path: Path, index_md: str) -> str:
    """Build a one-page book with the extension (no notebook execution); its warnings."""
    (tmp_path / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['myst_nb', 'faceleak_book']\nnb_execution_mode = 'off'\n")
    (tmp_path / "index.md").write_text(index_md)
    warnings = tmp_path / "warnings.txt"
    with warnings.open("w") as fh:
        app = sphinx_app.Sphinx(str(tmp_path), str(tmp_path), str(tmp_path / "out"),
                                str(tmp_path / "dt"), "html", status=None, warning=fh,
                                freshenv=True)
        app.build()
    return warnings.read_text()


def test_lab_figure_without_alt_text_is_an_error(tmp_path: Path):
    warnings = _build_one_page(
        tmp_path, "# Home\n\n```{lab-figure} key\n:doc: index.md\n\nCaption.\n```\n")
    assert "needs a :alt: option" in warnings


def test_lab_times_table_comes_from_the_measurements_file(built: Path):
    html = (built / "times.html").read_text(encoding="utf-8")
    assert "<table" in html
    assert "1.5 min" in html and "failed" in html  # 90 s; the failed lab is shown as failed
    assert html.count("<p>not measured</p>") == 2  # no full-mode entry for either lab
    assert "all labs together 1.5 min" in html and "full mode:</strong> not measured yet" in html


def test_claim_check_tables_come_from_the_ledger(built: Path):
    from faceleak.legal import risk

    page = (built / "claims.html").read_text(encoding="utf-8")
    ledger = risk.load_ledger()
    seed = [c for c in ledger.for_vendor("higgsfield") if c.origin == "seed"]
    assert page.count("<table") == 2
    for c in seed:
        assert f"<td><p>{c.id}</p></td>" in page
    assert 'href="https://higgsfield.ai/terms-of-use-agreement"' in page
    assert "<td><p>HG-25</p></td>" not in page, "assessor claims are not in the seed table"
    assert "shared/" not in page


def test_claim_check_with_an_unknown_vendor_is_an_error(tmp_path: Path):
    warnings = _build_one_page(tmp_path, "# Home\n\n```{claim-check} acme\n```\n")
    assert "claim-check" in warnings and "acme" in warnings


def test_the_colab_badge_points_at_the_copy_served_with_the_site(built: Path):
    # Colab's own image in the source; the site's copy, relative to each page, when built.
    lab = (built / "lab.html").read_text()
    status = (built / "book" / "status.html").read_text()
    assert 'src="vendor/colab/colab-badge.svg"' in lab
    assert 'src="../vendor/colab/colab-badge.svg"' in status
    assert "colab.research.google.com/assets" not in lab + status
    assert "colab.research.google.com/github/o/r/blob/main/lab.ipynb" in lab


def _cells(table_html: str) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table_html, flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, flags=re.S)] for r in rows]


def test_risk_factor_table_comes_from_the_package(built: Path):
    from faceleak.legal import risk

    page = (built / "factors.html").read_text(encoding="utf-8")
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    assert len(tables) == 2
    plain, with_frameworks = (_cells(t) for t in tables)
    assert plain[0] == ["factor", "default weight", "question"]
    assert with_frameworks[0][-1] == "drawn from"
    spec = risk.factor_table()
    weights = risk.default_weights()
    assert len(plain) == 1 + len(spec)  # one row per factor, in the package's order
    for row, (factor, expected) in zip(plain[1:], spec.iterrows(), strict=True):
        assert row[0] == expected["label"]
        assert float(row[1]) == pytest.approx(weights[factor], abs=0.005)
        assert row[2] == " ".join(expected["question"].split())
    assert sum(float(r[1]) for r in plain[1:]) == pytest.approx(1.0, abs=0.01)
    assert with_frameworks[1][3] == " ".join(spec.iloc[0]["frameworks"].split())


def test_factor_table_markdown_follows_the_weights_it_is_given():
    import importlib.util

    from faceleak.legal import risk

    spec = importlib.util.spec_from_file_location("faceleak_book",
                                                  ROOT / "book" / "_ext" / "faceleak_book.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    table = risk.factor_table()
    weights = dict.fromkeys(table.index, 0.0) | {table.index[0]: 1.0}
    text = ext.factor_table_markdown(table, weights)
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    assert rows[0].split(" | ")[1] == "1.00" and rows[1].split(" | ")[1] == "0.00"
    with pytest.raises(ValueError, match="no default weight"):
        ext.factor_table_markdown(table, {table.index[0]: 1.0})


def test_lab_time_role_reads_the_measurements_file(built: Path):
    import faceleak

    page = (built / "factors.html").read_text(encoding="utf-8")
    times = ROOT / "book" / "measurements" / "lab_times.json"
    expected = faceleak.expected_time("02_leakage", mode="quick", times=times)
    assert f'<span class="lab-time">{expected}</span>' in page


def test_lab_time_of_an_unknown_lab_is_an_error(tmp_path: Path):
    warnings = _build_one_page(tmp_path, "# Home\n\nIt takes {lab-time}`99_nothing`.\n")
    assert "no lab labs/99_nothing.ipynb" in warnings

"""The book's pages against the labs and the table of contents, without building the book.

A build with unexecuted labs cannot tell a missing glue key from one it has not computed yet,
so these checks read the sources: every number a page pastes from a lab names a key that the
lab glues, every lab time names a lab, and the pages that other pages link to by label are
in the table of contents.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from test_capstone import _glued_patterns

PAGES = sorted((ROOT / "book").glob("*.md"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text("utf-8"))
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def _glue_refs(text: str) -> list[tuple[str, str]]:
    refs = []
    for role in re.findall(r"\{glue:text\}`([^`]+)`", text):
        doc, _, rest = role.partition("::")
        key, sep, fmt = rest.rpartition(":")
        assert sep and fmt, f"{role}: a format spec is required"
        refs.append((doc, key))
    refs += [(doc, key) for key, doc in
             re.findall(r"```\{(?:glue|lab-figure)\} (\S+)\n:doc: (\S+)", text)]
    return refs


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_glued_value_a_page_quotes_is_glued_by_its_lab(page: Path):
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for doc, key in _glue_refs(page.read_text("utf-8")):
        lab = (page.parent / doc).resolve()
        assert lab.is_file() and lab.parent == ROOT / "labs", f"{page.name}: {doc} is not a lab"
        pats = patterns.setdefault(doc, _glued_patterns(lab))
        assert any(p.match(key) for p in pats), f"{page.name}: {key} is not glued in {doc}"


def test_lab_times_name_existing_labs_and_every_chapter_states_its_time():
    for page in PAGES:
        for lab in re.findall(r"\{lab-time\}`([^`]+)`", page.read_text("utf-8")):
            assert (ROOT / "labs" / f"{lab}.ipynb").is_file(), f"{page.name}: no lab {lab}"
    for page in sorted((ROOT / "book").glob("0[0-7]_*.md")):
        text = page.read_text("utf-8")
        if page.stem == "07_checklist":
            continue
        (lab,) = (ROOT / "labs").glob(page.stem[:3] + "*.ipynb")  # Chapter N's lab is Lab N
        assert "**Prerequisites:**" in text, f"{page.name} has no prerequisites line"
        assert f"{{lab-time}}`{lab.stem}`" in text, f"{page.name} does not state {lab.name}'s time"


def test_primers_and_the_printable_checklist_are_in_the_table_of_contents():
    files = _toc_files()
    for page in ("book/primer_ml", "book/primer_law", "book/07_checklist"):
        assert page in files
    checklist = (ROOT / "book" / "07_checklist.md").read_text("utf-8")
    assert checklist.startswith("(cap-checklist)=\n# ")  # the label names the page itself
    assert "(cap-checklist-ja)=" in checklist
    assert "(cap-checklist)=" not in (ROOT / "book" / "07_capstone.md").read_text("utf-8")


def test_every_page_in_the_book_folder_is_built():
    built = set(_toc_files())
    for page in PAGES:
        assert f"book/{page.stem}" in built, f"{page.name} is not in _toc.yml, so it is not built"

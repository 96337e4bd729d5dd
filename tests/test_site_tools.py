"""The site checker, the repository guard and the asset vendoring, on small synthetic inputs.

Each check is shown to fail on the breakage it exists for (a missing image, a traceback, a
badge to a missing lab, raw LaTeX, ...) and to pass on a clean page. The Chromium tests are
skipped where no Chromium is installed; the one with real MathJax and widgets also needs
the vendored assets (``python scripts/vendor_assets.py``, run by ``make book``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import ROOT, load_script

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5"
    "ErkJggg==")
REPO_URL = "https://github.com/example/course"
BADGE = ("https://colab.research.google.com/github/example/course/blob/main/labs/01_lab.ipynb")


check_site = load_script("check_site")
check_repo = load_script("check_repo")
vendor_assets = load_script("vendor_assets")


def page(body: str, head: str = "") -> str:
    """A page shaped like sphinx-book-theme's: the content is in article.bd-article."""
    return (f"<!doctype html><html><head><meta charset='utf-8'>{head}</head><body>"
            f"<main><article class='bd-article'>{body}</article></main></body></html>")


class Site:
    """A tiny repository with a built site under _build/html."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.html = root / "_build" / "html"
        self.html.mkdir(parents=True)
        (root / "_config.yml").write_text(
            f"title: t\nrepository:\n  url: {REPO_URL}\n  branch: main\n")
        (root / "_toc.yml").write_text(
            "format: jb-book\nroot: book/index\nparts:\n  - caption: A\n    chapters:\n"
            "      - file: book/intro\n      - file: labs/01_lab\n      - file: book/status\n")
        for rel in ("book/index.md", "book/intro.md", "book/status.md"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text("# x\n")
        (root / "labs").mkdir()
        (root / "labs" / "01_lab.ipynb").write_text("{}")
        (self.html / "_images").mkdir()
        (self.html / "_images" / "fig.png").write_bytes(PNG)
        (self.html / "index.html").write_text(page("redirect"))
        self.write("book/index.html", page("<p>Home</p>"))
        self.write("book/intro.html", page(
            "<p>Text and maths <span class='math notranslate nohighlight'>\\(a+b\\)</span>.</p>"
            "<figure><img alt='' src='../_images/fig.png'/><figcaption><p>A caption</p>"
            "</figcaption></figure>"))
        (self.html / "vendor" / "colab").mkdir(parents=True)
        shutil.copy2(ROOT / "book" / "_ext" / "site" / "vendor" / "colab" / "colab-badge.svg",
                     self.html / "vendor" / "colab" / "colab-badge.svg")
        self.write("labs/01_lab.html", page(
            f"<p><a class='reference external' href='{BADGE}'><img alt='Open In Colab' "
            "src='../vendor/colab/colab-badge.svg'/></a></p>"
            "<div class='cell_output docutils container'><img alt='Scores by factor' "
            "src='../_images/fig.png'/></div>"))
        self.write("book/status.html", page(
            "<p><strong>This build.</strong> 300 s (5.0 min), finished today.</p>"
            "<table><tr><th>Document</th><th>Run Time (s)</th></tr>"
            "<tr><td>labs/01_lab</td><td>12.5</td></tr></table>"))

    def write(self, rel: str, text: str) -> None:
        path = self.html / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def ctx(self, alt: str = "warn"):
        return check_site.SiteContext.from_repo(self.root, self.html, alt_severity=alt)

    def findings(self, rel: str, alt: str = "warn"):
        return check_site.check_page_static(rel, self.ctx(alt))


def fails(findings, check: str | None = None) -> list[str]:
    return [f.message for f in findings if f.severity == "fail"
            and (check is None or f.check == check)]


@pytest.fixture()
def site(tmp_path: Path) -> Site:
    return Site(tmp_path / "repo")


# --------------------------------------------------------------------------- static checks


def test_clean_site_passes(site: Site):
    assert check_site.toc_pages(site.root) == ["book/index.html", "book/intro.html",
                                               "labs/01_lab.html", "book/status.html"]
    for rel in check_site.toc_pages(site.root):
        assert fails(site.findings(rel)) == [], rel
    code = check_site.main(["--root", str(site.root), "--browser", "off"])
    assert code == 0


def test_missing_empty_and_fake_images_fail(site: Site):
    (site.html / "_images" / "empty.png").write_bytes(b"")
    (site.html / "_images" / "text.png").write_text("not an image")
    site.write("book/intro.html", page(
        "<img alt='a' src='../_images/missing.png'/><img alt='b' src='../_images/empty.png'/>"
        "<img alt='c' src='../_images/text.png'/><img alt='d' src='data:image/png;base64,'/>"
        "<figure id='fig-x'><p>no picture here</p></figure>"))
    messages = fails(site.findings("book/intro.html"), "images")
    assert any("missing.png does not exist" in m for m in messages)
    assert any("empty.png is an empty file" in m for m in messages)
    assert any("text.png is not a PNG" in m for m in messages)
    assert any("inline image" in m for m in messages)
    assert any("figure fig-x has no image" in m for m in messages)
    assert check_site.main(["--root", str(site.root), "--browser", "off"]) == 1


def test_figure_saved_as_text_fails(site: Site):
    site.write("book/intro.html", page(
        "<div class='highlight'><pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre></div>"))
    assert any("Figure size 640x480" in m for m in fails(site.findings("book/intro.html")))
    executed = site.root / "_build" / "jupyter_execute" / "labs"
    executed.mkdir(parents=True)
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data",
         "data": {"application/papermill.record/text/plain": "<Figure size 1100x460 with 2 Axes>"}},
        {"output_type": "display_data",
         "data": {"image/png": "iVBO", "text/plain": "<Figure size 640x480 with 1 Axes>"}}]}]}
    (executed / "01_lab.ipynb").write_text(json.dumps(nb))
    glue = {"risk_fig": {"data": {"text/plain": "<Figure size 800x360 with 1 Axes>"}},
            "ok_fig": {"data": {"image/png": "iVBO",
                                "text/plain": "<Figure size 8x3 with 1 Axes>"}},
            "n": {"data": {"text/plain": "55"}}}
    (executed / "01_lab.glue.json").write_text(json.dumps(glue))
    found = check_site.check_executed_notebooks(site.root / "_build")
    assert [(f.page, f.severity) for f in found] == [("labs/01_lab.html", "fail")] * 2
    assert "1 figure(s) saved as text" in found[0].message
    assert "1 glued figure(s) saved as text" in found[1].message


def test_tracebacks_and_build_errors_fail(site: Site):
    site.write("labs/01_lab.html", page(
        f"<a href='{BADGE}'>badge</a>"
        "<div class='cell_output docutils container'><div class='output traceback "
        "highlight-ipythontb notranslate'><div class='highlight'><pre>"
        "---------\nValueError                Traceback (most recent call last)\n"
        "ValueError: the ledger is empty</pre></div></div></div>"
        "<div class='cell_output docutils container'><div class='output stream "
        "highlight-myst-ansi notranslate'><pre>Traceback (most recent call last):\n  File x\n"
        "KeyError: 'glue'</pre></div></div>"
        "<div class='system-message'><p>Unknown interpreted text role \"trm\".</p></div>"
        "<div class='output stderr'><pre>UserWarning: something</pre></div>"))
    findings = site.findings("labs/01_lab.html")
    messages = fails(findings, "errors")
    assert any("cell error output: ValueError: the ledger is empty" in m for m in messages)
    assert any("traceback in a cell output: KeyError: 'glue'" in m for m in messages)
    assert any("Unknown interpreted text role" in m for m in messages)
    assert [f.message for f in findings if f.severity == "warn" and f.check == "errors"] == [
        "stderr output shown to readers: UserWarning: something"]


def test_execution_reports_and_jupyter_cache_tracebacks_fail(site: Site):
    reports = site.html / "reports" / "labs"
    reports.mkdir(parents=True)
    (reports / "01_lab.err.log").write_text("Traceback ...\nZeroDivisionError: division by zero\n")
    cache = site.root / "_build" / ".jupyter_cache"
    cache.mkdir()
    with sqlite3.connect(cache / "global.db") as conn:
        conn.execute("CREATE TABLE nbproject (pk INTEGER PRIMARY KEY, uri TEXT, traceback TEXT)")
        conn.execute("INSERT INTO nbproject (uri, traceback) VALUES (?, ?)",
                     (str(site.root / "labs" / "01_lab.ipynb"), "Traceback\nOSError: no data"))
        conn.execute("INSERT INTO nbproject (uri, traceback) VALUES (?, ?)",
                     ("/elsewhere/other.ipynb", "Traceback\nOSError: not ours"))
    found = check_site.check_execution_records(site.root, site.html, site.root / "_build")
    assert [(f.page, f.severity) for f in found] == [("labs/01_lab.html", "fail")] * 2
    assert "ZeroDivisionError" in found[0].message and "OSError: no data" in found[1].message


def test_colab_badges_must_point_at_existing_labs_of_this_repo(site: Site):
    wrong_repo = BADGE.replace("example/course", "someone/else")
    missing = BADGE.replace("01_lab", "99_missing")
    other_branch = BADGE.replace("/blob/main/", "/blob/dev/")
    site.write("book/intro.html", page(
        f"<a href='{missing}'>a</a><a href='{wrong_repo}'>b</a><a href='{other_branch}'>c</a>"))
    messages = fails(site.findings("book/intro.html"), "colab")
    assert any("labs/99_missing.ipynb, which is not a notebook in the repository" in m
               for m in messages)
    assert any("someone/else, not this repository" in m for m in messages)
    assert any("uses branch dev" in m for m in messages)
    # A lab page must have a badge at all.
    site.write("labs/01_lab.html", page("<p>no badge</p>"))
    assert any("without a Colab badge" in m for m in fails(site.findings("labs/01_lab.html")))


def test_the_colab_badge_image_is_served_with_the_site(site: Site):
    remote = "https://colab.research.google.com/assets/colab-badge.svg"
    site.write("labs/01_lab.html", page(
        f"<p><a href='{BADGE}'><img alt='Open In Colab' src='{remote}'/></a></p>"))
    messages = fails(site.findings("labs/01_lab.html"), "colab")
    assert len(messages) == 1 and "comes from the network" in messages[0]
    # The copy the book serves (book/_ext/site, an html_extra_path) is a real SVG badge.
    (site.html / "vendor" / "colab" / "colab-badge.svg").write_text("")
    site.write("labs/01_lab.html", page(
        f"<p><a href='{BADGE}'><img alt='Open In Colab' "
        "src='../vendor/colab/colab-badge.svg'/></a></p>"))
    assert any("empty file" in m for m in fails(site.findings("labs/01_lab.html"), "images"))
    served = ROOT / "book" / "_ext" / "site" / "vendor" / "colab" / "colab-badge.svg"
    assert check_site.image_kind(served.read_bytes()) == "svg"


def test_config_serves_the_badge_the_extension_points_at():
    import importlib.util

    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert "book/_ext/site" in config["html_extra_path"]
    spec = importlib.util.spec_from_file_location("faceleak_book",
                                                  ROOT / "book" / "_ext" / "faceleak_book.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    assert (ROOT / "book" / "_ext" / "site" / ext.LOCAL_COLAB_BADGE).is_file()
    sync = load_script("sync_notebooks")
    assert ext.COLAB_BADGE_IMAGE == sync.COLAB_BADGE_IMAGE
    assert f"({sync.COLAB_BADGE_IMAGE})" in sync.colab_badge(ROOT / "labs" / "00_setup.ipynb")


def test_build_machine_paths_on_a_page_fail(site: Site, monkeypatch):
    monkeypatch.setenv("HOME", "/home/builder")
    ctx = site.ctx()
    assert "/home/builder/" in ctx.private_paths
    assert str(site.root.parent) + "/" in ctx.private_paths
    outputs = [
        "data: full set from the shared folder: /work/shared/data/extended_yale_b/CroppedYale",
        "cache: /home/builder/.cache/faceleak",
        f"origin: package  ({site.root.parent}/src/faceleak/resources/backbones/x.pt)",
        "put it at /root/.cache/torch/checkpoints/x.pt (set TORCH_HOME",
    ]
    site.write("labs/01_lab.html", page(
        f"<p><a href='{BADGE}'><img alt='Open In Colab' src='../vendor/colab/colab-badge.svg'/>"
        "</a></p>" + "".join(f"<div class='cell_output'><pre>{o}</pre></div>"
                             for o in outputs)))
    found = [f for f in check_site.check_page_static("labs/01_lab.html", ctx)
             if f.check == "paths"]
    assert [f.severity for f in found] == ["fail"] * 4
    text = " ".join(f.message for f in found)
    for path in ("/work/shared/data/extended_yale_b/CroppedYale", "/home/builder/.cache/faceleak",
                 "/root/.cache/torch/checkpoints/x.pt", "/src/faceleak/resources/backbones/x.pt"):
        assert path in text
    # What describe_run prints now passes: paths relative to a named root.
    site.write("labs/01_lab.html", page(
        f"<p><a href='{BADGE}'><img alt='Open In Colab' src='../vendor/colab/colab-badge.svg'/>"
        "</a></p><pre>data: full set from the shared folder .../shared/data/extended_yale_b/"
        "CroppedYale\ncache: ~/.cache/faceleak\nsee /content/drive/MyDrive on Colab</pre>"))
    assert [f for f in check_site.check_page_static("labs/01_lab.html", ctx)
            if f.check == "paths"] == []


def test_raw_latex_and_prose_in_maths_fail(site: Site):
    site.write("book/intro.html", page(
        "<p>The loss is $$L = \\sum_i x_i$$ here and \\(y\\) there.</p>"
        "<pre>$$ in code is fine</pre><code>\\(fine\\)</code>"
        "<p>Damages of <span class='math notranslate nohighlight'>\\(1,000 for each negligent "
        "and \\)</span>5,000.</p>"
        "<p><span class='math notranslate nohighlight'>\\(r = \\text{hits per trial} / n"
        "\\)</span></p>"))
    messages = fails(site.findings("book/intro.html"), "maths")
    assert any("raw LaTeX" in m and "$$L" in m and "\\(y\\)" in m for m in messages)
    assert any("reads like prose ('for each negligent')" in m for m in messages)
    assert len(messages) == 2  # code, and words in \text{}, are fine


def test_glossary_links(site: Site):
    site.write("book/glossary.html", page(
        "<dl class='glossary'><dt id='term-embedding'>embedding</dt><dd>x</dd></dl>"))
    site.write("book/intro.html", page(
        "<a class='reference internal' href='glossary.html#term-embedding'>"
        "<span class='xref std std-term'>embedding</span></a>"
        "<a class='reference internal' href='glossary.html#term-template'>"
        "<span class='xref std std-term'>template</span></a>"
        "<span class='xref std std-term'>probe</span>"))
    messages = fails(site.findings("book/intro.html"), "glossary")
    assert messages == [
        "glossary link glossary.html#term-template: no entry #term-template on that page",
        "glossary term 'probe' is not linked: it is missing from the glossary "
        "(book/glossary.md) or the glossary is not in _toc.yml"]
    # Without book/glossary.md the page-level check only notes it ...
    pages = check_site.toc_pages(site.root)
    assert [f.severity for f in check_site.check_glossary_page(site.ctx(), pages)] == ["note"]
    # ... and with one that is not in the TOC, it fails.
    (site.root / "book" / "glossary.md").write_text("# Glossary\n")
    assert fails(check_site.check_glossary_page(site.ctx(), pages)) == [
        "book/glossary.md exists but was not built: add it to _toc.yml"]


def test_links_to_missing_pages_and_anchors_fail(site: Site):
    site.write("book/intro.html", page(
        "<section id='here'><a href='#here'>ok</a><a href='#nowhere'>x</a>"
        "<a href='../labs/01_lab.html'>ok</a><a href='gone.html'>y</a></section>"))
    assert fails(site.findings("book/intro.html"), "links") == [
        "link to #nowhere: no such anchor", "link to gone.html: no such file in the site"]


def test_cdn_and_missing_assets_fail(site: Site):
    site.write("book/intro.html", page("<p>x</p>", head=(
        "<script defer src='https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js'>"
        "</script><script src='../_static/../vendor/requirejs/require.js?v=1'></script>"
        "<link rel='stylesheet' href='https://unpkg.com/x.css'/>")))
    messages = fails(site.findings("book/intro.html"), "offline")
    assert len(messages) == 3
    assert any("cdn.jsdelivr.net" in m and "from a CDN" in m for m in messages)
    assert any("require.js?v=1 does not exist" in m for m in messages)
    (site.html / "vendor" / "requirejs").mkdir(parents=True)
    (site.html / "vendor" / "requirejs" / "require.js").write_text("//")
    assert len(fails(site.findings("book/intro.html"), "offline")) == 2


def test_widget_views_need_state_and_a_manager(site: Site):
    view = ("<script type='application/vnd.jupyter.widget-view+json'>"
            '{"version_major": 2, "version_minor": 0, "model_id": "abc"}</script>')
    site.write("book/intro.html", page(view))
    assert any("no saved widget state" in m for m in fails(site.findings("book/intro.html")))
    state = ("<script type='application/vnd.jupyter.widget-state+json'>"
             '{"version_major": 2, "version_minor": 0, "state": {"abc": {}}}</script>')
    static = (f"<blockquote><p><strong>{check_site.WIDGET_NOTE}; the picture below is its "
              "default state.</strong></p></blockquote><img alt='a strip' src='x.png'/>")
    site.write("book/intro.html", page(view + static, head=state))
    assert fails(site.findings("book/intro.html"), "widgets") == [
        "widget views but no widget manager script (nb_ipywidgets_js)"]


def test_each_widget_needs_the_note_and_a_static_picture_below_it(site: Site):
    def view(model: str) -> str:
        return ("<script type='application/vnd.jupyter.widget-view+json'>"
                f'{{"version_major": 2, "version_minor": 0, "model_id": "{model}"}}</script>')

    state = ("<script type='application/vnd.jupyter.widget-state+json'>"
             '{"version_major": 2, "version_minor": 0, "state": {"a": {}, "b": {}}}</script>'
             "<script src='embed-amd.js'></script>")
    note = (f"<p><strong>{check_site.WIDGET_NOTE}; the picture below is its default "
            "state.</strong></p>")
    img = "<img alt='the main states of the widget' src='x.png'/>"
    # The note and picture come only after the second widget: the first one lacks them.
    site.write("book/intro.html", page(view("a") + view("b") + note + img, head=state))
    assert fails(site.findings("book/intro.html"), "widgets") == [
        f"widget 1 has no note '{check_site.WIDGET_NOTE}' below it: in the book its controls "
        "are dead and nothing says so"]
    # A note without a picture is not enough.
    site.write("book/intro.html", page(view("a") + note + img + view("b") + note, head=state))
    assert fails(site.findings("book/intro.html"), "widgets") == [
        "widget 2 has the note but no static picture of its states after it (show a "
        "faceleak.viz strip below the note)"]
    site.write("book/intro.html", page(view("a") + note + img + view("b") + note + img,
                                       head=state))
    assert fails(site.findings("book/intro.html"), "widgets") == []
    # A text widget's static alternative is its HTML in a faceleak-static block.
    text = "<div class='faceleak-static'><p>labels: LICENSE_GRANT</p></div>"
    site.write("book/intro.html", page(view("a") + note + img + view("b") + note + text,
                                       head=state))
    assert fails(site.findings("book/intro.html"), "widgets") == []


def test_alt_text_is_reported_and_fails_only_when_asked(site: Site):
    site.write("book/intro.html", page(
        "<img src='../_images/fig.png'/>"
        "<img alt='../_images/fig.png' src='../_images/fig.png'/>"
        "<img alt='Scores by factor' src='../_images/fig.png'/>"
        "<figure><img src='../_images/fig.png'/><figcaption>Figure 1: scores</figcaption>"
        "</figure>"))
    warned = [f for f in site.findings("book/intro.html") if f.check == "alt-text"]
    assert [f.severity for f in warned] == ["warn", "warn"]
    assert "no alt text and no caption" in warned[0].message
    assert "only its file name" in warned[1].message
    assert len(fails(site.findings("book/intro.html", alt="fail"), "alt-text")) == 2
    code = check_site.main(["--root", str(site.root), "--browser", "off"])
    assert code == 0
    code = check_site.main(["--root", str(site.root), "--browser", "off", "--alt-text", "fail"])
    assert code == 1


def test_unbuilt_site_and_unbuilt_page(site: Site, capsys):
    (site.html / "book" / "intro.html").unlink()
    assert fails(site.findings("book/intro.html")) == [
        "page listed in _toc.yml was not built (source book/intro.md)"]
    shutil.rmtree(site.html)
    assert check_site.main(["--root", str(site.root), "--browser", "off"]) == 2
    assert "build the book first" in capsys.readouterr().err


# --------------------------------------------------------------------------- Chromium

CHROMIUM = check_site.find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                    "(apt-get install -y chromium; make check-site does it)")


@needs_chromium
def test_chromium_sees_broken_images_unrendered_maths_and_blank_widgets(site: Site, tmp_path):
    (site.html / "_images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    site.write("book/intro.html", page(
        "<img alt='ok' src='../_images/fig.png'/><img alt='broken' src='../_images/broken.png'/>"
        "<p>Maths <span class='math notranslate nohighlight'>\\(x^2\\)</span> and raw $$y$$.</p>"
        "<div class='output'><script type='application/vnd.jupyter.widget-view+json'>"
        '{"version_major": 2, "version_minor": 0, "model_id": "m1"}</script></div>'))
    findings, results, shots = check_site.check_rendered(
        site.ctx(), ["book/index.html", "book/intro.html"], CHROMIUM, 2, tmp_path / "shots")
    messages = fails(findings)
    assert all(r["loaded"] for r in results), results
    assert any("broken.png did not load" in m for m in messages)
    assert not any("fig.png" in m for m in messages)
    assert any("MathJax did not load" in m for m in messages)
    assert any("raw LaTeX left after MathJax ran" in m for m in messages)
    assert any("did not render" in m for m in messages)
    assert [Path(s).name for s in shots] == ["01-home.png", "02-chapter-intro-maths.png",
                                            "03-lab-intro-widget.png"]
    assert all(Path(s).read_bytes().startswith(b"\x89PNG") for s in shots)


VENDORED = ROOT / "_vendor" / "html" / "vendor"


@needs_chromium
@pytest.mark.skipif(not (VENDORED / "mathjax" / "tex-mml-chtml.js").is_file(),
                    reason="assets not vendored: python scripts/vendor_assets.py")
def test_vendored_mathjax_and_widget_manager_render_offline(site: Site, tmp_path):
    ipywidgets = pytest.importorskip("ipywidgets")
    from ipywidgets.embed import embed_data

    data = embed_data(views=[ipywidgets.IntSlider(value=3, description="probe size")])
    (site.html / "vendor").symlink_to(VENDORED, target_is_directory=True)
    head = ("<script defer src='../_static/../vendor/mathjax/tex-mml-chtml.js'></script>"
            "<script src='../_static/../vendor/requirejs/require.js'></script>"
            "<script src='../_static/../vendor/jupyter-widgets/embed-amd.js'></script>"
            "<script type='application/vnd.jupyter.widget-state+json'>"
            f"{json.dumps(data['manager_state'])}</script>")
    site.write("book/intro.html", page(
        "<p>Inline <span class='math notranslate nohighlight'>\\(\\sum_i x_i^2\\)</span>.</p>"
        "<div class='math notranslate nohighlight'>\\[\\frac{a}{b}\\]</div>"
        "<div class='output'><script type='application/vnd.jupyter.widget-view+json'>"
        f"{json.dumps(data['view_specs'][0])}</script></div>", head=head))
    static = site.findings("book/intro.html")
    assert fails(static) == [], static
    findings, results, _ = check_site.check_rendered(
        site.ctx(), ["book/intro.html"], CHROMIUM, 1, None)
    assert fails(findings) == [], (findings, results)
    result = results[0]
    assert result["mathjax"] and result["math_total"] == 2 and not result["math_unrendered"]
    assert result["widgets"][0]["rendered"] and result["widgets"][0]["height"] > 0
    assert result["widgets"][0]["text"] > 0  # the label and the readout


# --------------------------------------------------------------------------- repository guard


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _sparse(path: Path, megabytes: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.truncate(int(megabytes * 1024 * 1024))
    return path


def test_repo_guard_finds_big_files_and_stray_weights(tmp_path: Path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    (root / ".gitignore").write_text("ignored/\n")
    _sparse(root / "data" / "big.zip", 13)
    _sparse(root / "models" / "backbone.pt", 2)
    _sparse(root / "tests" / "tiny.pt", 0.1)
    _sparse(root / "src" / "faceleak" / "resources" / "gan" / "g.pt", 5)
    _sparse(root / "ignored" / "huge.bin", 20)
    _git(root, "add", "data", ".gitignore", "src")  # models/ and tests/ stay untracked
    files, source = check_repo.candidate_files(root)
    assert "ignored/huge.bin" not in files and "models/backbone.pt" in files
    assert source.startswith("git")
    found = check_repo.check_files(root, files)
    assert [(f.path, f.rule) for f in found] == [("data/big.zip", "size"),
                                                 ("models/backbone.pt", "weights")]
    assert "over the 12 MB limit" in found[0].message
    assert "src/faceleak/resources/" in found[1].message
    assert check_repo.main(["--root", str(root)]) == 1


def test_repo_guard_outside_git(tmp_path: Path):
    _sparse(tmp_path / "a" / "w.safetensors", 3)
    _sparse(tmp_path / ".venv" / "torch.bin", 30)
    files, source = check_repo.candidate_files(tmp_path)
    assert files == ["a/w.safetensors"] and "not a git repository" in source
    assert [f.rule for f in check_repo.check_files(tmp_path, files)] == ["weights"]


def test_this_repository_passes_the_guard():
    files, _ = check_repo.candidate_files(ROOT)
    assert files, "no files found"
    assert check_repo.check_files(ROOT, files) == []


def test_readme_names_the_places_for_weights():
    readme = (ROOT / "README.md").read_text()
    for folder in check_repo.ALLOWED_WEIGHT_DIRS:
        assert f"`{folder}`" in readme, f"README no longer names {folder} for weights"


# --------------------------------------------------------------------------- vendoring


def _fake_package(registry: Path, name: str, files: dict[str, bytes]):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, content in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    package = vendor_assets.Package(
        name=name, version="1.0.0",
        integrity="sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        files={"package/dist/": "lib/", "package/LICENSE": "lib/LICENSE"},
        entry="lib/main.js")
    target = registry / package.tarball_url_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return package


def test_vendoring_is_verified_and_idempotent(tmp_path: Path, monkeypatch):
    registry = tmp_path / "registry"
    package = _fake_package(registry, "@scope/lib", {
        "package/dist/main.js": b"console.log(1)", "package/dist/fonts/a.woff": b"w",
        "package/LICENSE": b"MIT", "package/README.md": b"not copied"})
    monkeypatch.setenv("npm_config_registry", registry.as_uri())
    dest = tmp_path / "_vendor"
    assert vendor_assets.vendor(dest, packages=(package,), use_npm=False) is True
    site = dest / "html" / "vendor"
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        "lib/LICENSE", "lib/fonts/a.woff", "lib/main.js"]
    assert vendor_assets.is_current(dest, (package,))
    assert vendor_assets.vendor(dest, packages=(package,), use_npm=False) is False
    # A tarball that does not match the pinned integrity is refused, and nothing changes.
    tampered = vendor_assets.Package(**{**package.__dict__, "integrity": "sha512-AAAA"})
    with pytest.raises(vendor_assets.VendorError, match="does not match the pinned"):
        vendor_assets.vendor(dest, packages=(tampered,), use_npm=False)
    assert vendor_assets.is_current(dest, (package,))
    assert not list(dest.glob(".staging-*"))


def test_config_points_at_the_vendored_entries():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    extra = f"{vendor_assets.SITE_DIR}"
    assert f"_vendor/{extra}" in config["html_extra_path"]
    prefix = f"../{vendor_assets.PREFIX}/"
    assert config["mathjax_path"] == prefix + vendor_assets.MATHJAX.entry
    assert list(config["nb_ipywidgets_js"]) == [prefix + vendor_assets.REQUIREJS.entry,
                                                prefix + vendor_assets.HTML_MANAGER.entry]
    assert "_vendor/" in (ROOT / ".gitignore").read_text().split()


def test_figure_text_pattern_is_specific():
    assert check_site.FIGURE_REPR.search("<Figure size 640x480 with 1 Axes>")
    assert check_site.FIGURE_REPR.search("<IPython.core.display.Image object>")
    assert check_site.FIGURE_REPR.search("<matplotlib.figure.Figure at 0x7f3a>")
    assert not check_site.FIGURE_REPR.search("<IPython.core.display.HTML object>")
    assert not check_site.FIGURE_REPR.search("<IPython.core.display.Markdown object>")


def test_status_page_needs_the_build_time_and_every_lab(site: Site):
    ctx = site.ctx()
    pages = check_site.toc_pages(site.root)
    assert fails(check_site.check_status_page(ctx, pages)) == []
    (site.root / "labs" / "02_new.ipynb").write_text("{}")
    site.write("book/status.html", page(
        "<p>This build. FACELEAK-BUILD-INFO.</p><table><tr><td>labs/01_lab</td></tr></table>"))
    messages = fails(check_site.check_status_page(ctx, pages), "status")
    assert any("build time was not filled in" in m for m in messages)
    assert any("does not list 02_new" in m for m in messages)
    site.write("book/status.html", page("<p>300 s</p>"))
    assert any("any notebook" in m for m in fails(check_site.check_status_page(ctx, pages)))
    assert any("no status page" in m for m in fails(check_site.check_status_page(ctx, [])))

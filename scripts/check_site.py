"""Check what readers see in the built book (``_build/html``), page by page.

Run after ``make book`` (``make check-site`` does both). Two layers of checks:

Static (the HTML files and the build's records; no browser needed)
    - images: every ``<img>`` points at a file that exists, is not empty and is a real
      image (PNG, JPEG, GIF, WebP or SVG); no figure without an image; no figure shown or
      saved as ``<Figure size ...>`` text instead of an image (on the page or in the executed
      notebooks, ``_build/jupyter_execute``);
    - errors: no traceback or error output in a cell output, no docutils error message, no
      execution report (``_build/html/reports/*.err.log``) and no traceback recorded in the
      jupyter-cache database (``_build/.jupyter_cache``);
    - glossary: every ``{term}`` link resolves to an entry of the glossary page (passes with
      a note while ``book/glossary.md`` does not exist);
    - status: the status page states the build time and lists every lab in myst-nb's
      execution table;
    - colab: every Colab link points at this repository (``repository.url`` in
      ``_config.yml``), its branch, and a notebook that exists in the repository; every lab
      page has one; the badge's image is the copy served with the site, not Colab's (which
      offline readers would see only as its alt text);
    - paths: no absolute path of the build machine on a page (its home folder, the folder
      above the repository, or any ``/home/<user>/``, ``/Users/<user>/``, ``/root/``,
      ``/work/``): labs print folders relative to a named root (``$FACELEAK_DATA``, ``~``,
      the shared folder), as a reader's own run would show them;
    - links: every link to a local page or anchor resolves;
    - offline: no script or stylesheet from the network (MathJax and the widget manager are
      vendored by ``scripts/vendor_assets.py``); every local one exists; widget views have
      their saved state and the manager;
    - maths: no ``$$``, ``\\(``, ``\\[`` or ``\\begin{`` left in the text outside maths, and
      no inline maths that reads like prose (``$1,000 for each ... and $5,000`` parsed as
      maths: three plain words in a row outside ``\\text{}``);
    - alt text (reported per page; fails only with ``--alt-text fail``): every image in the
      content has a real alt text (not its file name) or a caption.

Rendered (headless Chromium, ``chromium`` from Debian; skipped with a note when absent unless
``--browser require``)
    Chromium runs offline (every host but 127.0.0.1 fails to resolve), as a reader without a
    network would. Each page is loaded from a local HTTP server into a same-origin frame of
    a small harness page; once MathJax has typeset and the widget manager has rendered, the
    harness records what it sees and Chromium's ``--dump-dom`` hands that back: images that
    did not load
    (``naturalWidth`` 0), maths not typeset or typeset with an error, raw LaTeX left in the
    text, widgets that did not render or rendered blank. Screenshots of the home page, a
    chapter with maths and a lab with a widget go to ``_build/site-check/`` for review.

Usage: python scripts/check_site.py [--html _build/html] [--browser auto|require|off]
       [--alt-text warn|fail] [--screenshots DIR] [--jobs N]
Exit status: 0 when nothing fails, 1 when something does, 2 when the site is not built.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import dataclasses
import functools
import html
import http.server
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, Tag

ROOT = Path(__file__).resolve().parents[1]
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com")
COLAB_PREFIX = "https://colab.research.google.com/github/"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: What a lab says below each widget: the published book has no kernel behind the controls.
WIDGET_NOTE = "Interactive in Colab or Jupyter"
RAW_LATEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{")
# The text a figure leaves when it was not saved as an image.
FIGURE_REPR = re.compile(
    r"<(Figure size \d+x\d+ with \d+ Axes|IPython\.core\.display\.(Image|SVG) object"
    r"|matplotlib\.figure\.Figure (object )?at 0x[0-9a-f]+)>")
# Three words of two or more letters in a row, separated by spaces only: prose, not maths.
PROSE_IN_MATHS = re.compile(r"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")
IMAGE_NAME = re.compile(r"^[\w./-]+\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)
SKIP_TEXT_TAGS = {"pre", "code", "script", "style", "textarea", "kbd", "samp"}
SEVERITIES = ("fail", "warn", "note")
BROWSER_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    # Offline, as a reader without a network would be: only the local server resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)
HARNESS_PATH = "/__site_check__/harness.html"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing found on one page.

    Attributes
    ----------
    page : str
        The page, relative to the site root (``labs/00_setup.html``), or ``"(build)"`` for
        findings about the build as a whole.
    check : str
        Which check: ``images``, ``errors``, ``glossary``, ``colab``, ``paths``, ``links``,
        ``offline``, ``maths``, ``widgets``, ``alt-text`` or ``browser``.
    severity : str
        ``"fail"`` (makes the run fail), ``"warn"`` or ``"note"``.
    message : str
        What is wrong and, where useful, what to do.
    """

    page: str
    check: str
    severity: str
    message: str


@dataclasses.dataclass
class SiteContext:
    """What the checks need to know about the repository and the built site.

    Attributes
    ----------
    root : Path
        The repository root (where ``_config.yml`` is).
    html_dir : Path
        The built site (``_build/html``).
    repo_slug : str
        ``owner/name`` from ``repository.url`` in ``_config.yml``.
    branch : str
        ``repository.branch`` (default ``main``).
    tracked : set of str or None
        Files git tracks (relative POSIX paths), or None outside git.
    alt_severity : str
        Severity of alt-text findings (``"warn"`` or ``"fail"``).
    """

    root: Path
    html_dir: Path
    repo_slug: str
    branch: str = "main"
    tracked: set[str] | None = None
    alt_severity: str = "warn"
    private_paths: tuple[str, ...] = ()
    _ids: dict[Path, set[str]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_repo(cls, root: Path, html_dir: Path, alt_severity: str = "warn") -> SiteContext:
        """Read ``_config.yml`` (and git's file list) under ``root``."""
        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
        repository = config.get("repository") or {}
        url = str(repository.get("url", "")).rstrip("/")
        slug = url.split("github.com/", 1)[1] if "github.com/" in url else ""
        return cls(root=root, html_dir=html_dir, repo_slug=slug,
                   branch=str(repository.get("branch") or "main"),
                   tracked=git_tracked(root), alt_severity=alt_severity,
                   private_paths=build_machine_paths(root))

    def ids_of(self, page: Path) -> set[str]:
        """Return the ``id`` (and legacy ``name``) attributes of a built page, cached."""
        if page not in self._ids:
            soup = parse_html(page)
            ids = {str(t["id"]) for t in soup.find_all(id=True)}
            ids |= {str(t["name"]) for t in soup.find_all("a", attrs={"name": True})}
            self._ids[page] = ids
        return self._ids[page]


# --------------------------------------------------------------------------- helpers


# Absolute folders that only mean something on the machine that built the site.
BUILD_PATH_PATTERNS = (r"/home/[\w.-]+/", r"/Users/[\w.-]+/", r"/root/", r"/work/",
                       r"[A-Z]:\\Users\\")


def build_machine_paths(root: Path) -> tuple[str, ...]:
    """This machine's own folders that must not appear on a page: home, above the repo."""
    found = []
    for folder in (Path.home(), root.resolve().parent):
        text = str(folder).rstrip("/")
        if text and folder != Path(folder.anchor):
            found.append(text + "/")
    return tuple(dict.fromkeys(found))


def git_tracked(root: Path) -> set[str] | None:
    """Return the files git tracks under ``root``, or None if it is not a repository."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z"],
                              capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return {n for n in proc.stdout.decode().split("\0") if n}


@functools.lru_cache(maxsize=256)
def _parse_cached(path: str, mtime: float) -> BeautifulSoup:
    """Parse once per (path, modification time)."""
    return BeautifulSoup(Path(path).read_text(encoding="utf-8", errors="replace"),
                         "html.parser")


def parse_html(path: Path) -> BeautifulSoup:
    """Parse an HTML file (cached on path and modification time)."""
    return _parse_cached(str(path), path.stat().st_mtime)


def toc_pages(root: Path) -> list[str]:
    """List the pages of the book from ``_toc.yml``, as HTML paths relative to the site.

    Parameters
    ----------
    root : Path
        The repository root.

    Returns
    -------
    list of str
        ``root`` first, then every ``file`` entry in order (``book/index.html``, ...).
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(node[key])
            for value in node.values():
                if isinstance(value, list | dict):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    pages = []
    for name in files:
        stem = re.sub(r"\.(md|ipynb|rst)$", "", name)
        if f"{stem}.html" not in pages:
            pages.append(f"{stem}.html")
    return pages


def source_of(root: Path, page: str) -> Path | None:
    """Return the source file (``.md``/``.ipynb``/``.rst``) a page was built from."""
    stem = page[: -len(".html")]
    for suffix in (".ipynb", ".md", ".rst"):
        if (root / (stem + suffix)).is_file():
            return root / (stem + suffix)
    return None


def content_root(soup: BeautifulSoup) -> Tag:
    """The page's article (sphinx-book-theme's ``article.bd-article``), else main/body."""
    for selector in ("article.bd-article", "article", "main", "body"):
        found = soup.select_one(selector)
        if found is not None:
            return found
    return soup


def split_url(url: str) -> tuple[str, str]:
    """Split a URL into its path (unquoted, no query) and fragment."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.unquote(parts.path), urllib.parse.unquote(parts.fragment)


def is_remote(url: str) -> bool:
    """True for http(s) and protocol-relative URLs."""
    return url.startswith(("http://", "https://", "//"))


def resolve_local(html_dir: Path, page: str, url: str) -> Path:
    """Resolve a relative URL found on ``page`` to a path under ``html_dir``."""
    path, _ = split_url(url)
    base = (html_dir / page).parent
    return Path(os.path.normpath(base / path)) if path else html_dir / page


def image_kind(data: bytes) -> str | None:
    """Return the image format of ``data`` from its signature, or None if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:4096].lstrip().lower()
    if b"<svg" in head and (head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype"))):
        return "svg"
    return None


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _skipped_text(node: Tag, stop: Tag) -> bool:
    """True if a text node (below ``stop``) sits in code, a script or maths."""
    parent = node.parent
    while parent is not None and parent is not stop:
        if parent.name in SKIP_TEXT_TAGS or parent.name == "mjx-container":
            return True
        classes = parent.get("class") or []
        if "highlight" in classes or "math" in classes:
            return True
        parent = parent.parent
    return False


# --------------------------------------------------------------------------- static checks


def check_images(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """Every image is a real, non-empty local file; figures hold images (see module doc)."""
    for img in soup.find_all("img"):
        src = str(img.get("src") or "").strip()
        if not src:
            yield Finding(page, "images", "fail", "an <img> without a src")
            continue
        if src.startswith("data:"):
            header, _, payload = src.partition(",")
            try:
                data = (base64.b64decode(payload) if header.endswith(";base64")
                        else urllib.parse.unquote(payload).encode())
            except ValueError:
                data = b""
            if not data or image_kind(data) is None:
                yield Finding(page, "images", "fail",
                              f"inline image ({_short(src, 40)}) is empty or not an image")
            continue
        if is_remote(src):
            yield Finding(page, "images", "note",
                          f"remote image {src} (offline, readers see its alt text)")
            continue
        target = resolve_local(ctx.html_dir, page, src)
        if not target.is_file():
            yield Finding(page, "images", "fail",
                          f"image {src} does not exist in the built site")
            continue
        with target.open("rb") as fh:
            data = fh.read(4096)
        if not data:
            yield Finding(page, "images", "fail", f"image {src} is an empty file")
        elif image_kind(data) is None:
            yield Finding(page, "images", "fail",
                          f"image {src} is not a PNG, JPEG, GIF, WebP or SVG file")
    article = content_root(soup)
    for figure in article.find_all("figure"):
        if not figure.find(["img", "svg", "object", "video", "canvas"]):
            yield Finding(page, "images", "fail",
                          f"figure {figure.get('id') or ''} has no image".replace("  ", " "))
    for block in article.find_all("pre"):
        match = FIGURE_REPR.search(block.get_text())
        if match:
            yield Finding(page, "images", "fail",
                          f"the page shows {match.group(0)!r} instead of the figure (it was "
                          "saved as text: was MPLBACKEND set to a non-inline backend for the "
                          "build?)")


def check_errors(soup: BeautifulSoup, page: str) -> Iterator[Finding]:
    """No error output, traceback or docutils error message on the page."""
    article = content_root(soup)
    for output in article.select("div.cell_output"):
        error = output.select_one("div.output.traceback, div.output.error")
        text = (error or output).get_text()
        if error is None and "Traceback (most recent call last)" not in text:
            continue
        lines = [ln for ln in text.splitlines() if ln.strip()]
        kind = "cell error output" if error is not None else "traceback in a cell output"
        yield Finding(page, "errors", "fail",
                      f"{kind}: {_short(lines[-1] if lines else '(empty)')}")
    for output in article.select("div.output.stderr"):
        text = output.get_text().strip()
        if text and "Traceback" not in text:
            yield Finding(page, "errors", "warn",
                          f"stderr output shown to readers: {_short(text.splitlines()[0])}")
    for message in article.select(".system-message, .problematic"):
        yield Finding(page, "errors", "fail",
                      f"build error shown on the page: {_short(message.get_text())}")


def check_glossary(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """Every glossary term reference is a link to an existing glossary entry."""
    seen: set[int] = set()
    for term in soup.select("span.xref.std-term, a[href*='#term-']"):
        link = term if term.name == "a" else term.find_parent("a")
        if link is None or not link.get("href"):
            yield Finding(page, "glossary", "fail",
                          f"glossary term {_short(term.get_text(), 40)!r} is not linked: it is "
                          "missing from the glossary (book/glossary.md) or the glossary is not "
                          "in _toc.yml")
            continue
        if id(link) in seen:
            continue
        seen.add(id(link))
        href = str(link["href"])
        if is_remote(href):
            continue
        target = resolve_local(ctx.html_dir, page, href)
        _, fragment = split_url(href)
        if not target.is_file():
            yield Finding(page, "glossary", "fail",
                          f"glossary link {href} points at a page that does not exist")
        elif fragment and fragment not in ctx.ids_of(target):
            yield Finding(page, "glossary", "fail",
                          f"glossary link {href}: no entry #{fragment} on that page")


def check_colab(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """Every Colab link opens a notebook of this repository that exists."""
    found = 0
    for link in soup.find_all("a", href=True):
        href = str(link["href"])
        if not href.startswith(COLAB_PREFIX):
            continue
        found += 1
        rest = href[len(COLAB_PREFIX):].split("#", 1)[0].split("?", 1)[0]
        match = re.fullmatch(r"([^/]+/[^/]+)/blob/([^/]+)/(.+)", rest)
        if not match:
            yield Finding(page, "colab", "fail", f"Colab link {href} is not of the form "
                          ".../github/<owner>/<repo>/blob/<branch>/<path>")
            continue
        slug, branch, path = match.groups()
        path = urllib.parse.unquote(path)
        if slug != ctx.repo_slug:
            yield Finding(page, "colab", "fail",
                          f"Colab link points at {slug}, not this repository ({ctx.repo_slug}"
                          "): run python scripts/sync_notebooks.py")
        if branch != ctx.branch:
            yield Finding(page, "colab", "fail",
                          f"Colab link uses branch {branch}, not {ctx.branch}")
        if not path.endswith(".ipynb") or not (ctx.root / path).is_file():
            yield Finding(page, "colab", "fail",
                          f"Colab link points at {path}, which is not a notebook in the "
                          "repository")
        elif ctx.tracked is not None and path not in ctx.tracked:
            yield Finding(page, "colab", "warn",
                          f"Colab link points at {path}, which git does not track yet: it "
                          "will 404 on GitHub until it is committed")
        for img in link.find_all("img", src=True):
            if is_remote(str(img["src"])):
                yield Finding(page, "colab", "fail",
                              f"the Colab badge's image {img['src']} comes from the network: "
                              "offline readers see only its alt text. The book serves its own"
                              " copy (book/_ext/site, _config.yml html_extra_path); is "
                              "book/_ext/faceleak_book.py loaded?")
    source = source_of(ctx.root, page)
    if found == 0 and source is not None and source.suffix == ".ipynb":
        yield Finding(page, "colab", "fail",
                      "lab page without a Colab badge: run python scripts/sync_notebooks.py")


def check_paths(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """No absolute folder of the build machine on the page (see the module docstring)."""
    text = content_root(soup).get_text(" ")
    patterns = [re.escape(p) for p in ctx.private_paths] + list(BUILD_PATH_PATTERNS)
    seen: set[str] = set()
    for match in re.finditer("|".join(f"(?:{p})" for p in patterns), text):
        end = match.end()
        while end < len(text) and not text[end].isspace() and text[end] not in "'\"),;":
            end += 1
        path = text[match.start():end]
        if path in seen:
            continue
        seen.add(path)
        if len(seen) > 5:
            yield Finding(page, "paths", "fail", "... and more build-machine paths")
            return
        yield Finding(page, "paths", "fail",
                      f"the page shows the build machine's path {path}: print it relative to "
                      "a named root ($FACELEAK_DATA, $FACELEAK_CACHE, ~, the shared folder; "
                      "faceleak.config.display_path), as a reader's own run would show it")


def check_links(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """Links to local pages and anchors resolve (glossary links are checked separately)."""
    reported = set()
    for link in soup.find_all("a", href=True):
        href = str(link["href"]).strip()
        if (not href or is_remote(href) or href.startswith(("mailto:", "javascript:", "data:"))
                or "#term-" in href):
            continue
        path, fragment = split_url(href)
        target = resolve_local(ctx.html_dir, page, href)
        if href in reported:
            continue
        if not target.exists():
            reported.add(href)
            yield Finding(page, "links", "fail", f"link to {href}: no such file in the site")
        elif (fragment and target.suffix == ".html" and target.is_file()
              and fragment not in ctx.ids_of(target)):
            reported.add(href)
            yield Finding(page, "links", "fail", f"link to {href}: no such anchor")


def check_offline(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """Scripts and stylesheets are local files that exist; widget views can render."""
    assets = [(tag, "src") for tag in soup.find_all("script", src=True)]
    assets += [(tag, "href") for tag in soup.find_all("link", href=True)
               if {"stylesheet", "preload", "modulepreload"} & set(tag.get("rel") or [])]
    for tag, attr in assets:
        url = str(tag[attr])
        if is_remote(url):
            what = "a CDN" if any(h in url for h in CDN_HOSTS) else "the network"
            yield Finding(page, "offline", "fail",
                          f"<{tag.name}> loads {url} from {what}: offline it will not load "
                          "(vendor it: scripts/vendor_assets.py and _config.yml)")
        elif not resolve_local(ctx.html_dir, page, url).is_file():
            yield Finding(page, "offline", "fail",
                          f"<{tag.name}> {url} does not exist in the built site (run make book,"
                          " which vendors the assets first)")
    views = soup.find_all("script", attrs={"type": WIDGET_VIEW})
    if not views:
        return
    states = soup.find_all("script", attrs={"type": WIDGET_STATE})
    if not states:
        yield Finding(page, "widgets", "fail",
                      f"{len(views)} widget view(s) but no saved widget state: they render "
                      "blank (execute with the widget state saved)")
        return
    models: set[str] = set()
    for state in states:
        try:
            models |= set(json.loads(state.get_text()).get("state", {}))
        except ValueError:
            yield Finding(page, "widgets", "fail", "the saved widget state is not valid JSON")
    for view in views:
        try:
            model_id = json.loads(view.get_text()).get("model_id")
        except ValueError:
            model_id = None
        if model_id not in models:
            yield Finding(page, "widgets", "fail",
                          f"widget view of model {model_id} has no saved state: renders blank")
    yield from _static_alternatives(views, page)
    srcs = " ".join(str(s["src"]) for s in soup.find_all("script", src=True))
    if "embed-amd" not in srcs and "html-manager" not in srcs:
        yield Finding(page, "widgets", "fail",
                      "widget views but no widget manager script (nb_ipywidgets_js)")


def _static_alternatives(views: list[Tag], page: str) -> Iterator[Finding]:
    """Each widget view is followed, before the next one, by the note and a picture.

    A published page has no kernel: the widget's controls do not respond. The lab says so
    in a note (:data:`WIDGET_NOTE`) and shows the widget's default and main states as a
    static picture below it (an image, or for a widget that shows text, its HTML in a
    ``<div class="faceleak-static">``), so a reader of the book sees what it would show.
    """
    for k, view in enumerate(views):
        stop = views[k + 1] if k + 1 < len(views) else None
        note = view.find_next(string=lambda s: WIDGET_NOTE in s)
        if note is None or (stop is not None and _comes_after(note, stop)):
            yield Finding(page, "widgets", "fail",
                          f"widget {k + 1} has no note '{WIDGET_NOTE}' below it: in the book "
                          "its controls are dead and nothing says so")
            continue
        image = note.find_next(_is_static_picture)
        if image is None or (stop is not None and _comes_after(image, stop)):
            yield Finding(page, "widgets", "fail",
                          f"widget {k + 1} has the note but no static picture of its states "
                          "after it (show a faceleak.viz strip below the note)")


def _is_static_picture(tag: Tag) -> bool:
    """An image, or a block of pre-rendered HTML marked ``faceleak-static`` (text widgets)."""
    return tag.name == "img" or "faceleak-static" in (tag.get("class") or [])


def _comes_after(node, other: Tag) -> bool:
    """Whether ``node`` comes after ``other`` in document order."""
    return any(prev is other for prev in node.find_all_previous())


def _prose_in_maths(tex: str) -> str | None:
    """Return the words if inline TeX reads like prose (``$1,000 for each ... and $5``)."""
    tex = re.sub(r"\\(text\w*|mathrm|operatorname|mbox|mathit|mathbf)\s*\{[^{}]*\}", " ", tex)
    tex = re.sub(r"\\[a-zA-Z]+", " ", tex)
    match = PROSE_IN_MATHS.search(tex)
    return match.group(0) if match else None


def check_maths_static(soup: BeautifulSoup, page: str) -> Iterator[Finding]:
    """No LaTeX delimiters left in the text; no prose swallowed by inline maths."""
    article = content_root(soup)
    for text in article.find_all(string=RAW_LATEX):
        if _skipped_text(text, article):
            continue
        yield Finding(page, "maths", "fail",
                      f"raw LaTeX in the text (not parsed as maths): {_short(str(text), 80)}")
    for span in article.select("span.math"):
        words = _prose_in_maths(span.get_text())
        if words:
            yield Finding(page, "maths", "fail",
                          f"inline maths that reads like prose ({words!r}): two $ signs (money?)"
                          " were parsed as maths; write \\$ for a dollar sign, or \\text{} "
                          "for words in a formula")


def check_alt_text(soup: BeautifulSoup, page: str, ctx: SiteContext) -> Iterator[Finding]:
    """Every image in the content has a real alt text or a caption."""
    article = content_root(soup)
    for img in article.find_all("img"):
        src = str(img.get("src") or "")
        alt = str(img.get("alt") or "").strip()
        figure = img.find_parent("figure")
        caption = figure.find("figcaption") if figure else None
        if caption is not None and caption.get_text(strip=True):
            continue
        name = src.rsplit("/", 1)[-1]
        if not alt:
            problem = "no alt text and no caption"
        elif alt == src or alt.rsplit("/", 1)[-1] == name or IMAGE_NAME.match(alt):
            problem = "alt text is only its file name, no caption"
        else:
            continue
        shown = name if len(name) <= 40 else name[:16] + "…" + name[-12:]
        yield Finding(page, "alt-text", ctx.alt_severity, f"image {shown}: {problem}")


def check_page_static(page: str, ctx: SiteContext) -> list[Finding]:
    """Run every static check on one built page.

    Parameters
    ----------
    page : str
        The page, relative to ``ctx.html_dir``.
    ctx : SiteContext
        Repository and site information.

    Returns
    -------
    list of Finding
        What was found (empty when the page is fine).
    """
    path = ctx.html_dir / page
    if not path.is_file():
        source = source_of(ctx.root, page)
        hint = f" (source {source.relative_to(ctx.root)})" if source else ""
        return [Finding(page, "links", "fail",
                        f"page listed in _toc.yml was not built{hint}")]
    soup = parse_html(path)
    findings: list[Finding] = []
    for check in (check_images(soup, page, ctx), check_errors(soup, page),
                  check_glossary(soup, page, ctx), check_colab(soup, page, ctx),
                  check_paths(soup, page, ctx), check_links(soup, page, ctx),
                  check_offline(soup, page, ctx),
                  check_maths_static(soup, page), check_alt_text(soup, page, ctx)):
        findings.extend(check)
    return findings


def check_glossary_page(ctx: SiteContext, pages: list[str]) -> list[Finding]:
    """Note whether a glossary exists; fail if ``book/glossary.md`` exists but is not built."""
    source = next((p for p in ("book/glossary.md", "book/glossary.ipynb")
                   if (ctx.root / p).is_file()), None)
    if source is None:
        return [Finding("(build)", "glossary", "note",
                        "no glossary page yet (book/glossary.md): glossary links are only "
                        "checked for being resolved")]
    page = "book/glossary.html"
    if page not in pages or not (ctx.html_dir / page).is_file():
        return [Finding("(build)", "glossary", "fail",
                        f"{source} exists but was not built: add it to _toc.yml")]
    if not parse_html(ctx.html_dir / page).select("dl.glossary dt[id]"):
        return [Finding(page, "glossary", "fail",
                        "the glossary page has no {glossary} entries")]
    return []


STATUS_PAGE = "book/status.html"
BUILD_PLACEHOLDER = "FACELEAK-BUILD-INFO"


def check_status_page(ctx: SiteContext, pages: list[str]) -> list[Finding]:
    """The status page states the build time and lists every lab in its execution table.

    The build time is filled in by the book's extension when the build finishes
    (``book/_ext/faceleak_book.py``); a placeholder left in the page means it did not run.
    """
    path = ctx.html_dir / STATUS_PAGE
    if STATUS_PAGE not in pages or not path.is_file():
        return [Finding("(build)", "status", "fail",
                        "no status page (book/status.md in _toc.yml) with the build time and "
                        "the execution table")]
    findings = []
    soup = parse_html(path)
    text = content_root(soup).get_text(" ", strip=True)
    if BUILD_PLACEHOLDER in text:
        findings.append(Finding(STATUS_PAGE, "status", "fail",
                                "the build time was not filled in (is the faceleak_book "
                                "extension in _config.yml's local_extensions?)"))
    table = content_root(soup).find("table")
    listed = table.get_text(" ", strip=True) if table is not None else ""
    labs = sorted((ctx.root / "labs").glob("*.ipynb"))
    missing = [lab.stem for lab in labs if f"labs/{lab.stem}" not in listed]
    if table is None or missing:
        findings.append(Finding(STATUS_PAGE, "status", "fail",
                                "the execution table does not list "
                                + (", ".join(missing) if table is not None else "any notebook")))
    return findings


def _figures_as_text(bundles: Iterable[dict]) -> int:
    """Count MIME bundles whose text is a figure's repr and that hold no image."""
    count = 0
    for data in bundles:
        if not isinstance(data, dict) or any("image/" in key for key in data):
            continue
        text = "".join("".join(v) if isinstance(v, list) else str(v)
                       for k, v in data.items() if k.endswith("text/plain"))
        count += bool(FIGURE_REPR.search(text))
    return count


def check_executed_notebooks(build_dir: Path) -> list[Finding]:
    """Find figures that the build saved only as text.

    A matplotlib figure executed under a non-inline backend (``MPLBACKEND=Agg`` in the
    build's environment) has no image: the lab page silently loses it, and a glued figure is
    shown as ``<Figure size ...>``. This reads the executed notebooks and the glue records
    myst-nb keeps beside them (``<build>/jupyter_execute/**/*.ipynb`` and ``*.glue.json``).
    """
    findings = []
    executed = build_dir / "jupyter_execute"
    for path in sorted(executed.rglob("*.ipynb")) + sorted(executed.rglob("*.glue.json")):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if path.suffix == ".ipynb":
            bundles = [o.get("data") for c in content.get("cells", [])
                       for o in c.get("outputs", [])]
            page = path.relative_to(executed).with_suffix(".html").as_posix()
        else:
            bundles = [e.get("data", e) for e in content.values() if isinstance(e, dict)]
            page = path.relative_to(executed).as_posix()[: -len(".glue.json")] + ".html"
        count = _figures_as_text(bundles)
        if count:
            what = "glued figure(s)" if path.suffix == ".json" else "figure(s)"
            findings.append(Finding(page, "images", "fail",
                                    f"{count} {what} saved as text, not as images: the notebook"
                                    " ran with a non-inline matplotlib backend (unset "
                                    "MPLBACKEND for the book build)"))
    return findings


def check_execution_records(root: Path, html_dir: Path, build_dir: Path) -> list[Finding]:
    """Report notebook execution failures recorded by the build.

    Looks at the execution reports myst-nb writes when a notebook fails
    (``<html>/reports/<doc>.err.log``) and at the tracebacks jupyter-cache keeps for its
    project notebooks (``<build>/.jupyter_cache/global.db``), for notebooks in ``root``.
    """
    findings = []
    for report in sorted((html_dir / "reports").rglob("*.err.log")):
        lines = [ln for ln in report.read_text(errors="replace").splitlines() if ln.strip()]
        doc = report.relative_to(html_dir / "reports").as_posix()[: -len(".err.log")]
        findings.append(Finding(f"{doc}.html", "errors", "fail",
                                f"notebook execution failed ({report.relative_to(html_dir)}): "
                                f"{_short(lines[-1] if lines else '(empty report)')}"))
    database = build_dir / ".jupyter_cache" / "global.db"
    if database.is_file():
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT uri, traceback FROM nbproject WHERE traceback IS NOT"
                                    " NULL AND traceback != ''").fetchall()
        except sqlite3.Error as exc:
            rows = []
            findings.append(Finding("(build)", "errors", "warn",
                                    f"could not read {database}: {exc}"))
        for uri, traceback in rows:
            path = Path(uri)
            if not path.is_absolute() or root.resolve() not in path.resolve().parents:
                continue
            rel = path.resolve().relative_to(root.resolve()).with_suffix(".html").as_posix()
            lines = [ln for ln in str(traceback).splitlines() if ln.strip()]
            findings.append(Finding(rel, "errors", "fail",
                                    "jupyter-cache recorded an execution traceback: "
                                    f"{_short(lines[-1] if lines else '')}"))
    return findings


# --------------------------------------------------------------------------- rendered checks

HARNESS = """<!doctype html>
<html><head><meta charset="utf-8"><title>site check</title></head>
<body style="margin:0">
<iframe id="frame" style="width:1280px;height:2400px;border:0"></iframe>
<pre id="site-check-result"></pre>
<script>
(async () => {
  const out = document.getElementById("site-check-result");
  const page = new URLSearchParams(location.search).get("page");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const res = {page: page, loaded: false, errors: []};
  try {
    const frame = document.getElementById("frame");
    await new Promise((resolve, reject) => {
      frame.addEventListener("load", resolve, {once: true});
      setTimeout(() => reject(new Error("the page did not load within 30 s")), 30000);
      frame.src = "/" + page;
    });
    res.loaded = true;
    const win = frame.contentWindow, doc = frame.contentDocument;
    win.addEventListener("error", (e) => res.errors.push(String(e.message)));
    const mj = win.MathJax;
    res.mathjax = !!(mj && mj.version);
    if (mj && mj.startup && mj.startup.promise) {
      await Promise.race([mj.startup.promise.catch((e) => res.errors.push(String(e))),
                          sleep(20000)]);
    }
    const views = Array.from(doc.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]'));
    const area = (s) => {
      const p = s.previousElementSibling;
      return p && p.classList.contains("widget-subarea") ? p : null;
    };
    for (let i = 0; i < 200 && !views.every((s) => area(s) && area(s).childElementCount); i++) {
      await sleep(100);
    }
    await sleep(300);
    res.widgets = views.map((s) => {
      const a = area(s);
      let model = null;
      try { model = JSON.parse(s.textContent).model_id; } catch (e) { model = null; }
      if (!a) return {model: model, rendered: false, height: 0, text: 0, controls: 0};
      return {model: model, rendered: a.childElementCount > 0,
              height: Math.round(a.getBoundingClientRect().height),
              text: a.innerText.trim().length,
              controls: a.querySelectorAll("input,select,button,textarea,img,canvas,svg").length};
    });
    const imgs = Array.from(doc.querySelectorAll("img"));
    imgs.forEach((img) => { img.loading = "eager"; });
    await Promise.all(imgs.map((img) => img.complete ? null :
      Promise.race([img.decode().catch(() => null), sleep(10000)])));
    res.images = imgs.map((img) => ({src: img.getAttribute("src") || "",
      url: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth}));
    const maths = Array.from(doc.querySelectorAll(".math"));
    res.math_total = maths.length;
    res.math_unrendered = maths.filter((m) => !m.querySelector("mjx-container"))
      .map((m) => m.textContent.trim().slice(0, 80));
    res.math_errors = Array.from(doc.querySelectorAll("mjx-merror"))
      .map((e) => e.getAttribute("data-mjx-error") || e.textContent.slice(0, 80));
    const root = doc.querySelector("article.bd-article") || doc.querySelector("article") ||
      doc.querySelector("main") || doc.body;
    const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "KBD", "SAMP",
                          "MJX-CONTAINER"]);
    const pattern = /\\$\\$|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|\\\\begin\\{/;
    const raw = [];
    const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!pattern.test(node.nodeValue)) continue;
      let el = node.parentElement, skipped = false;
      while (el && el !== root.parentElement) {
        if (skip.has(el.tagName) || el.classList.contains("highlight")) { skipped = true; break; }
        el = el.parentElement;
      }
      if (!skipped) raw.push(node.nodeValue.trim().slice(0, 100));
    }
    res.raw_latex = raw.slice(0, 20);
    const top = (el) => Math.max(0, Math.round(el.getBoundingClientRect().top + win.scrollY));
    res.height = doc.documentElement.scrollHeight;
    res.math_top = maths.length ? top(maths[0]) : null;
    res.widget_top = views.length ? top(area(views[0]) || views[0].parentElement) : null;
  } catch (e) {
    res.errors.push(String((e && e.stack) || e));
  }
  out.textContent = JSON.stringify(res);
})();
</script>
</body></html>
"""


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site, plus the harness page at ``HARNESS_PATH``."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if urllib.parse.urlsplit(self.path).path == HARNESS_PATH:
            body = HARNESS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class SiteServer:
    """A local HTTP server for ``html_dir`` on 127.0.0.1 (a context manager).

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>``, set on entering.
    """

    def __init__(self, html_dir: Path) -> None:
        self.html_dir = html_dir
        self.url = ""
        self._server: http.server.ThreadingHTTPServer | None = None

    def __enter__(self) -> SiteServer:
        handler = functools.partial(_SiteHandler, directory=str(self.html_dir))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def find_chromium(explicit: str | None = None) -> str | None:
    """Return a Chromium executable: ``explicit``, ``$CHROMIUM``, or one on PATH."""
    for name in (explicit, os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome", "google-chrome-stable"):
        if name:
            found = shutil.which(name)
            if found:
                return found
    return None


def run_chromium(chromium: str, args: list[str], timeout: float) -> tuple[int, str, str]:
    """Run headless Chromium with a fresh profile; kill its process group on timeout.

    Returns
    -------
    tuple of (int, str, str)
        Exit status (-1 on timeout), stdout and stderr.
    """
    with tempfile.TemporaryDirectory(prefix="site-check-chromium-") as profile:
        cmd = [chromium, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return -1, out, err
        return proc.returncode, out, err


def render_page(chromium: str, base_url: str, page: str, timeout: float = 120,
                budget_ms: int = 60000) -> dict:
    """Load ``page`` in the harness and return what it recorded (see ``HARNESS``).

    Returns
    -------
    dict
        The harness's JSON, or ``{"page": page, "failure": "..."}`` when Chromium failed.
    """
    url = f"{base_url}{HARNESS_PATH}?page={urllib.parse.quote(page)}"
    code, out, err = run_chromium(chromium, ["--window-size=1300,2500",
                                             f"--virtual-time-budget={budget_ms}",
                                             "--dump-dom", url], timeout)
    if code == -1:
        return {"page": page, "failure": f"Chromium timed out after {timeout:.0f} s"}
    match = re.search(r'<pre id="site-check-result">(.*?)</pre>', out, re.DOTALL)
    if not match or not match.group(1).strip():
        tail = _short(" ".join(err.strip().splitlines()[-3:]), 300)
        return {"page": page,
                "failure": f"Chromium returned no result (exit {code}): {tail}"}
    try:
        return json.loads(html.unescape(match.group(1)))
    except ValueError as exc:
        return {"page": page, "failure": f"unreadable harness result: {exc}"}


def findings_from_render(result: dict) -> list[Finding]:
    """Turn one page's harness result into findings."""
    page = result.get("page", "?")
    if "failure" in result:
        return [Finding(page, "browser", "fail", result["failure"])]
    findings: list[Finding] = []
    if not result.get("loaded"):
        return [Finding(page, "browser", "fail",
                        f"page did not load: {'; '.join(result.get('errors', []))}")]
    for img in result.get("images", []):
        if is_remote(img.get("src", "")):
            continue
        if not img.get("width"):
            findings.append(Finding(page, "images", "fail",
                                    f"image {img.get('src')} did not load in Chromium "
                                    "(naturalWidth 0)"))
    total = result.get("math_total", 0)
    if total and not result.get("mathjax"):
        findings.append(Finding(page, "maths", "fail",
                                f"{total} maths element(s) but MathJax did not load"))
    elif result.get("math_unrendered"):
        first = result["math_unrendered"][0]
        findings.append(Finding(page, "maths", "fail",
                                f"{len(result['math_unrendered'])} of {total} maths element(s)"
                                f" not typeset by MathJax, e.g. {first!r}"))
    for error in result.get("math_errors", []):
        findings.append(Finding(page, "maths", "fail", f"MathJax error: {_short(error)}"))
    for raw in result.get("raw_latex", []):
        findings.append(Finding(page, "maths", "fail",
                                f"raw LaTeX left after MathJax ran: {_short(raw, 80)}"))
    for widget in result.get("widgets", []):
        if not widget.get("rendered"):
            findings.append(Finding(page, "widgets", "fail",
                                    f"widget (model {widget.get('model')}) did not render"))
        elif widget.get("height", 0) <= 0 or not (widget.get("text") or widget.get("controls")):
            findings.append(Finding(page, "widgets", "fail",
                                    f"widget (model {widget.get('model')}) rendered blank"))
    for error in result.get("errors", []):
        findings.append(Finding(page, "browser", "warn", f"JavaScript error: {_short(error)}"))
    return findings


def take_screenshot(chromium: str, url: str, out: Path, top: int = 0, height: int = 1600,
                    timeout: float = 90) -> str | None:
    """Save a 1280-pixel-wide screenshot of ``url`` from ``top`` down, ``height`` tall.

    Headless Chromium photographs the top of the window (scrolling to an anchor gives a
    blank picture), so the window is made tall enough to hold ``top + height`` and the
    picture is cropped with Pillow.

    Returns
    -------
    str or None
        An error message, or None on success.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    window = min(top + height, 16000)
    code, _, err = run_chromium(chromium, [f"--window-size=1280,{window}",
                                           "--virtual-time-budget=20000",
                                           f"--screenshot={out}", url], timeout)
    if code == -1 or not out.is_file() or out.stat().st_size == 0:
        return f"screenshot of {url} failed (exit {code}): {_short(err, 200)}"
    if top > 0:
        try:
            from PIL import Image
        except ImportError:  # keep the tall picture
            return None
        with Image.open(out) as image:
            box = (0, max(0, min(top, image.height - height)), image.width,
                   min(image.height, max(0, min(top, image.height - height)) + height))
            cropped = image.crop(box)
        cropped.save(out)
    return None


def screenshot_plan(results: list[dict], pages: list[str],
                    root: Path) -> list[tuple[str, str, int]]:
    """Choose what to photograph: the home page, a chapter's maths, a lab's widget, the
    glossary and the status page.

    Returns
    -------
    list of (str, str, int)
        ``(file name, page relative to the site, top of the picture in CSS pixels)``.
    """
    plan: list[tuple[str, str, int]] = []
    if pages:
        plan.append(("01-home.png", pages[0], 0))
    by_page = {r.get("page"): r for r in results}
    chapters = [p for p in pages[1:] if (s := source_of(root, p)) is not None
                and s.suffix == ".md"]
    chapter = next((p for p in chapters if by_page.get(p, {}).get("math_total")), None)
    if chapter is None and chapters:
        chapter = chapters[0]
    if chapter:
        math_top = by_page.get(chapter, {}).get("math_top") or 0
        plan.append((f"02-chapter-{Path(chapter).stem}-maths.png", chapter,
                     max(0, math_top - 300)))
    lab = next((p for p in pages if by_page.get(p, {}).get("widgets")), None)
    if lab:
        widget_top = by_page[lab].get("widget_top") or 0
        plan.append((f"03-lab-{Path(lab).stem}-widget.png", lab, max(0, widget_top - 300)))
    for name, page in (("04-glossary.png", "book/glossary.html"),
                       ("05-status.png", STATUS_PAGE)):
        if page in pages:
            plan.append((name, page, 0))
    return plan


def check_rendered(ctx: SiteContext, pages: list[str], chromium: str, jobs: int,
                   screenshots: Path | None) -> tuple[list[Finding], list[dict], list[str]]:
    """Render every built page in Chromium and take the screenshots.

    Returns
    -------
    findings : list of Finding
    results : list of dict
        The harness results, one per page.
    shots : list of str
        The screenshot files written.
    """
    built = [p for p in pages if (ctx.html_dir / p).is_file()]
    findings: list[Finding] = []
    shots: list[str] = []
    with SiteServer(ctx.html_dir) as server:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(lambda p: render_page(chromium, server.url, p), built))
        for result in results:
            findings.extend(findings_from_render(result))
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            for old in screenshots.glob("*.png"):
                old.unlink()
            for name, target, top in screenshot_plan(results, built, ctx.root):
                error = take_screenshot(chromium, f"{server.url}/{target}", screenshots / name,
                                        top=top)
                if error:
                    findings.append(Finding("(build)", "browser", "warn", error))
                else:
                    shots.append(str(screenshots / name))
    return findings, results, shots


# --------------------------------------------------------------------------- report


def report(findings: Iterable[Finding], pages: list[str], out=sys.stdout) -> None:
    """Print findings grouped by page, then a summary line."""
    findings = list(findings)
    by_page: dict[str, list[Finding]] = {}
    for f in findings:
        by_page.setdefault(f.page, []).append(f)
    order = ["(build)", *pages, *sorted(set(by_page) - set(pages) - {"(build)"})]
    width = max((len(p) for p in order), default=10)
    for page in order:
        items = by_page.get(page, [])
        if page == "(build)" and not items:
            continue
        fails = sum(f.severity == "fail" for f in items)
        status = "FAIL" if fails else ("ok, with remarks" if items else "ok")
        print(f"  {page:<{width}}  {status}", file=out)
        for f in sorted(items, key=lambda f: (SEVERITIES.index(f.severity), f.check)):
            print(f"      {f.severity:<4} [{f.check}] {f.message}", file=out)
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    print(f"site check: {counts['fail']} failure(s), {counts['warn']} warning(s), "
          f"{counts['note']} note(s) on {len(pages)} page(s)", file=out)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module doc); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--html", type=Path, default=None, help="built site (_build/html)")
    parser.add_argument("--build", type=Path, default=None, help="build folder (_build)")
    parser.add_argument("--browser", choices=("auto", "require", "off"), default="auto",
                        help="rendered checks: auto (when Chromium is found), require, off")
    parser.add_argument("--chromium", default=None, help="Chromium executable")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--alt-text", choices=("warn", "fail"), default="warn",
                        help="whether images without alt text or caption fail the check")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="screenshot folder (default _build/site-check)")
    parser.add_argument("--no-screenshots", action="store_true")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the findings and browser results as JSON")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    build_dir = (args.build or root / "_build").resolve()
    html_dir = (args.html or build_dir / "html").resolve()
    if not (html_dir / "index.html").is_file():
        print(f"check_site: {html_dir} has no index.html; build the book first (make book)",
              file=sys.stderr)
        return 2
    started = time.perf_counter()
    ctx = SiteContext.from_repo(root, html_dir, alt_severity=args.alt_text)
    pages = toc_pages(root)
    print(f"site check: {html_dir} ({len(pages)} pages from _toc.yml)")
    findings: list[Finding] = []
    findings += check_execution_records(root, html_dir, build_dir)
    findings += check_executed_notebooks(build_dir)
    findings += check_glossary_page(ctx, pages)
    findings += check_status_page(ctx, pages)
    for page in pages:
        findings += check_page_static(page, ctx)
    results: list[dict] = []
    shots: list[str] = []
    chromium = find_chromium(args.chromium) if args.browser != "off" else None
    if chromium:
        shot_dir = None if args.no_screenshots else (args.screenshots
                                                     or build_dir / "site-check").resolve()
        rendered, results, shots = check_rendered(ctx, pages, chromium, args.jobs, shot_dir)
        findings += rendered
    elif args.browser == "require":
        findings.append(Finding("(build)", "browser", "fail",
                                "Chromium not found: apt-get install -y chromium (or set "
                                "CHROMIUM=/path/to/chrome); make check-site installs it"))
    elif args.browser == "auto":
        findings.append(Finding("(build)", "browser", "note",
                                "Chromium not found: rendered checks (MathJax, widgets, image "
                                "loading) and screenshots skipped"))
    report(findings, pages)
    for shot in shots:
        print(f"screenshot: {shot}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"findings": [dataclasses.asdict(f) for f in findings],
                                         "browser": results, "screenshots": shots}, indent=1))
    print(f"site check took {time.perf_counter() - started:.1f} s")
    return 1 if any(f.severity == "fail" for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Sphinx extension of the course book: lab figures with alt text, and the build's own timing.

``lab-figure``
    Pastes a figure that a lab glued (myst-nb's ``{glue}`` with ``:doc:``) inside a real
    figure, with alt text and a caption. myst-nb's own ``{glue:figure}`` cannot paste from
    another document, and its ``{glue}`` directive has no ``:alt:`` option, so without this a
    chapter's figures reach readers of screen readers as hash file names::

        ```{lab-figure} ch2_polar
        :doc: ../labs/02_leakage.ipynb
        :alt: Polar plot of predicted against true light azimuth for held-out faces.

        Caption text (MyST), shown under the figure.
        ```

``lab-times``
    The instructor guide's table of lab run times, read at build time from the JSON that
    ``scripts/run_labs.py --times-json`` writes (a directive rather than a notebook cell,
    so that the guide is a plain page without a Colab button)::

        ```{lab-times} measurements/lab_times.json
        ```

``claim-check``
    The claim-check page's tables, rendered at build time from the package's claim ledger
    (``faceleak.legal.risk.claim_check_markdown``), so that the page never retypes a verdict::

        ```{claim-check} higgsfield
        :origin: seed
        ```

    Without an argument it renders the summary (claims per verdict and vendor).

``risk-factor-table``
    Chapter 6's table of risk factors and their default weights, rendered at build time from
    ``faceleak.legal.risk.factor_table`` (which reads ``resources/risk_factors.json``), so
    that the chapter shows the weights the scorecard actually uses; ``:frameworks:`` adds
    the frameworks each factor is drawn from::

        ```{risk-factor-table}
        :frameworks:
        ```

``lab-time``
    A role for a chapter's "before you start" line: a lab's measured quick-mode run time,
    read at build time through ``faceleak.expected_time`` from
    ``book/measurements/lab_times.json`` (the file the instructor guide's table reads), e.g.
    ``{lab-time}`02_leakage` ``.

The Colab badge
    Each lab's badge (written by scripts/sync_notebooks.py) names Colab's own image, which
    GitHub and Colab show; in the built pages a post-transform points it at the copy served
    with the site (``book/_ext/site/vendor/colab/colab-badge.svg``, an ``html_extra_path``),
    so that the badge shows offline too.

The checklist's print style
    ``static/faceleak_print.css`` (added to every page; its rules apply only to the capstone
    checklist's section, ``cap-checklist``) prints the checklist without the site's navigation
    and in a compact type, the Japanese version from a new page.

``build-info``
    The status page states how long the build took. The build cannot know that until it has
    finished, so the page carries a placeholder that ``build-finished`` replaces in the
    written HTML; the same figures go to ``_build/html/build-info.json``.
"""

from __future__ import annotations

import json
import os
import platform
import posixpath
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from myst_nb.ext.glue.utils import PendingGlueReferenceError, create_pending_glue_ref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    import pandas as pd
    from docutils.parsers.rst.states import Inliner
    from sphinx.config import Config

ALT_ATTRIBUTE = "faceleak_alt"
# The image of the labs' Colab badge (scripts/sync_notebooks.py writes it) and the copy of it
# served with the site (html_extra_path book/_ext/site; tests check that the two agree).
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
LOCAL_COLAB_BADGE = "vendor/colab/colab-badge.svg"
BUILD_PLACEHOLDER = "FACELEAK-BUILD-INFO"
STATUS_PAGE = "book/status"


class LabFigure(SphinxDirective):
    """A glued lab figure wrapped in a figure node with alt text and a caption."""

    required_arguments = 1
    final_argument_whitespace = False
    has_content = True
    option_spec = {
        "doc": directives.unchanged_required,
        "alt": directives.unchanged_required,
        "name": directives.unchanged,
        "width": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        for required in ("doc", "alt"):
            if not self.options.get(required, "").strip():
                raise self.error(f"lab-figure {self.arguments[0]!r} needs a :{required}: "
                                 "option (the lab that glues it, and a text description)")
        if not self.content:
            raise self.error(f"lab-figure {self.arguments[0]!r} needs a caption as content")
        try:
            ref = create_pending_glue_ref(self.state.document, self.env.docname, self.lineno,
                                          self.options["doc"], self.arguments[0])
        except PendingGlueReferenceError as exc:
            raise self.error(str(exc)) from exc
        figure = nodes.figure("", ref)
        figure[ALT_ATTRIBUTE] = " ".join(self.options["alt"].split())
        if "width" in self.options:
            figure[ALT_ATTRIBUTE + "_width"] = self.options["width"]
        self.set_source_info(figure)
        self.add_name(figure)
        parsed = nodes.Element()
        self.state.nested_parse(self.content, self.content_offset, parsed)
        first = parsed[0] if len(parsed) else None
        if not isinstance(first, nodes.paragraph):
            raise self.error("a lab-figure caption must start with a paragraph")
        figure += nodes.caption(first.rawsource, "", *first.children)
        if len(parsed) > 1:
            figure += nodes.legend("", *parsed[1:])
        return [figure]


MODES = ("quick", "full")


def lab_times_markdown(measured: dict) -> str:
    """A Markdown table (lab x mode, minutes) and one line per mode on how it was measured."""
    labs = sorted({name for run in measured.values() for name in run.get("labs", {})})
    if not labs:
        raise ValueError("no lab times recorded")
    lines = ["| lab | " + " | ".join(f"{m} mode" for m in MODES) + " |",
             "|---|" + "---|" * len(MODES)]
    for name in labs:
        cells = []
        for mode in MODES:
            entry = measured.get(mode, {}).get("labs", {}).get(name)
            if entry is None:
                cells.append("not measured")
            elif "seconds" in entry:
                cells.append(f"{entry['seconds'] / 60:.1f} min")
            else:
                cells.append("failed")
        lines.append(f"| {name.removesuffix('.ipynb')} | " + " | ".join(cells) + " |")
    lines.append("")
    for mode in MODES:
        run = measured.get(mode)
        if run is None:
            lines.append(f"**{mode} mode:** not measured yet.")
        else:
            m = run.get("machine", {})
            total = sum(e.get("seconds", 0.0) for e in run.get("labs", {}).values())
            lines.append(
                f"**{mode} mode:** measured {run.get('measured_utc', '?')} UTC on "
                f"{m.get('cpu_count', '?')} CPU cores, {m.get('device', '?')}, torch "
                f"{m.get('torch', '?')}, Python {m.get('python', '?')}; cache "
                f"{run.get('cache', '?')}; all labs together {total / 60:.1f} min.")
        lines.append("")
    return "\n".join(lines)


class _MarkdownDirective(SphinxDirective):
    """A directive that renders Markdown made at build time: one parse, one import of risk."""

    def parsed(self, text: str, source: str, css_class: str) -> list[nodes.Node]:
        """``text`` parsed as MyST into a container of class ``css_class``."""
        container = nodes.container(classes=[css_class])
        self.state.nested_parse(StringList(text.splitlines(), source=source),
                                self.content_offset, container)
        return [container]

    def risk_module(self):
        """``faceleak.legal.risk``, or an error naming this directive."""
        try:
            # imported here so that the other directives work without the course package
            from faceleak.legal import risk
        except ImportError as exc:
            raise self.error(f"{self.name} needs the faceleak package ({exc})") from exc
        self.env.note_dependency(str(Path(risk.__file__).parent.parent / "resources"
                                     / self.resource))
        return risk


class LabTimes(_MarkdownDirective):
    """Render the measured lab run times from a ``run_labs.py --times-json`` file."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        self.env.note_dependency(rel)
        try:
            measured = json.loads(Path(path).read_text(encoding="utf-8"))
            text = lab_times_markdown(measured)
        except (OSError, ValueError, AttributeError) as exc:
            raise self.error(f"lab-times: cannot read {rel} ({exc}); run "
                             "scripts/run_labs.py --fresh-cache --times-json " + rel) from exc
        return self.parsed(text, rel, "lab-times")


class ClaimCheck(_MarkdownDirective):
    """Render claim-ledger tables from ``faceleak.legal.risk`` at build time."""

    optional_arguments = 1
    has_content = False
    option_spec = {"origin": lambda arg: directives.choice(arg, ("seed", "assessor"))}
    # the ledger ships with the package: rebuild the page when it changes
    resource = "risk_ledger.json"

    def run(self) -> list[nodes.Node]:
        risk = self.risk_module()
        vendor = self.arguments[0] if self.arguments else None
        ledger = risk.load_ledger()
        try:
            text = risk.claim_check_markdown(ledger, vendor, self.options.get("origin"))
        except (KeyError, ValueError) as exc:
            raise self.error(f"claim-check: {exc}") from exc
        return self.parsed(text, self.resource, "claim-check")


def factor_table_markdown(table: pd.DataFrame, weights: dict[str, float],
                          frameworks: bool = False) -> str:
    """A Markdown table of the risk factors: label, default weight, question (and frameworks).

    ``weights`` are the normalised defaults (``risk.default_weights()``), shown to two
    decimals, so that the column reads as shares that sum to 1 whatever the file's scale.
    """
    missing = [f for f in table.index if f not in weights]
    if missing:
        raise ValueError(f"no default weight for factor(s) {missing}")
    head = ["factor", "default weight", "question"] + (["drawn from"] if frameworks else [])
    lines = ["| " + " | ".join(head) + " |", "|---|---:|---|" + ("---|" if frameworks else "")]
    for factor, row in table.iterrows():
        cells = [_md_cell(row["label"]), f"{weights[factor]:.2f}", _md_cell(row["question"])]
        if frameworks:
            cells.append(_md_cell(row["frameworks"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(text: object) -> str:
    # a table cell: one line, and a literal "|" must not split the cell
    return " ".join(str(text).split()).replace("|", "\\|")


class RiskFactorTable(_MarkdownDirective):
    """Render the risk factors and their default weights from ``faceleak.legal.risk``."""

    has_content = False
    option_spec = {"frameworks": directives.flag}
    resource = "risk_factors.json"

    def run(self) -> list[nodes.Node]:
        risk = self.risk_module()
        try:
            text = factor_table_markdown(risk.factor_table(), risk.default_weights(),
                                         frameworks="frameworks" in self.options)
        except (KeyError, ValueError) as exc:
            raise self.error(f"risk-factor-table: {exc}") from exc
        return self.parsed(text, self.resource, "risk-factor-table")


REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_TIMES_FILE = REPO_ROOT / "book" / "measurements" / "lab_times.json"


def lab_time_role(name: str, rawtext: str, text: str, lineno: int, inliner: Inliner,
                  options: dict | None = None, content: list[str] | None = None
                  ) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """``{lab-time}`02_leakage` ``: the lab's measured quick-mode run time, or why not known."""
    try:
        import faceleak
    except ImportError as exc:
        msg = inliner.reporter.error(f"lab-time needs the faceleak package ({exc})",
                                     line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    lab = text.strip()
    if not (REPO_ROOT / "labs" / f"{lab}.ipynb").is_file():
        msg = inliner.reporter.error(f"lab-time: no lab labs/{lab}.ipynb (give the lab's "
                                     "file name without .ipynb, e.g. 02_leakage)", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    env = inliner.document.settings.env
    env.note_dependency(str(LAB_TIMES_FILE))
    took = faceleak.expected_time(lab, mode="quick", times=LAB_TIMES_FILE)
    return [nodes.inline(rawtext, took, classes=["lab-time"])], []


class ApplyLabFigureAlt(SphinxPostTransform):
    """Give the image that a lab-figure's glue reference became the figure's alt text.

    Runs after myst-nb's ReplacePendingGlueReferences (priority 5) has turned the pending
    reference into an image node.
    """

    default_priority = 6

    def run(self, **kwargs) -> None:
        for figure in self.document.findall(nodes.figure):
            alt = figure.get(ALT_ATTRIBUTE)
            if not alt:
                continue
            # A glue key that could not be resolved has already been reported by myst-nb.
            for image in figure.findall(nodes.image):
                image["alt"] = alt
                width = figure.get(ALT_ATTRIBUTE + "_width")
                if width:
                    image["width"] = width


class LocalColabBadge(SphinxPostTransform):
    """Point the Colab badge's image at the copy served with the site (works offline)."""

    default_priority = 7
    formats = ("html",)

    def run(self, **kwargs) -> None:
        folder = posixpath.dirname(self.env.docname) or "."
        local = posixpath.relpath(LOCAL_COLAB_BADGE, folder)
        for image in self.document.findall(nodes.image):
            if image.get("uri") == COLAB_BADGE_IMAGE:
                # The candidates still name a remote image, so Sphinx copies nothing.
                image["uri"] = local


_BUILD_START: dict[int, float] = {}


def _build_started(app: Sphinx) -> None:
    _BUILD_START[id(app)] = time.perf_counter()


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    started = _BUILD_START.get(id(app))
    if started is None:
        return
    seconds = time.perf_counter() - started
    info = {
        "build_seconds": round(seconds, 1),
        "finished_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": os.environ.get("FACELEAK_MODE", "quick (the default)"),
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.system()} {platform.machine()}, Python "
                   f"{platform.python_version()}",
        "note": "Sphinx build time, notebook execution included; cached notebooks are "
                "not re-executed",
    }
    outdir = Path(app.outdir)
    (outdir / "build-info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    page = outdir / (STATUS_PAGE + ".html")
    if not page.is_file():
        return
    text = (f"{info['build_seconds']:.0f} s ({info['build_seconds'] / 60:.1f} min), finished "
            f"{info['finished_utc']} on {info['cpu_count']} CPU cores ({info['machine']}), "
            f"FACELEAK_MODE={info['mode']}")
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace(BUILD_PLACEHOLDER, text), encoding="utf-8")


STATIC_DIR = Path(__file__).resolve().parent / "static"


def _add_static_path(app: Sphinx, config: Config) -> None:
    # the print style sheet of the checklist page ships with the extension, not in the book
    if str(STATIC_DIR) not in config.html_static_path:
        config.html_static_path.append(str(STATIC_DIR))


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_static_path)
    app.add_css_file("faceleak_print.css")
    app.add_directive("lab-figure", LabFigure)
    app.add_directive("lab-times", LabTimes)
    app.add_directive("claim-check", ClaimCheck)
    app.add_directive("risk-factor-table", RiskFactorTable)
    app.add_role("lab-time", lab_time_role)
    app.add_post_transform(ApplyLabFigureAlt)
    app.add_post_transform(LocalColabBadge)
    app.connect("builder-inited", _build_started)
    app.connect("build-finished", _build_finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

"""An ipywidgets box for Lab 5: paste a clause, see labels, evidence, explanations and laws."""

from __future__ import annotations

import html

from faceleak.legal import tos

__all__ = ["tos_explorer", "render_clause", "static_view"]

_EXAMPLE = (
    "By using the Services, You grant to Midjourney, its affiliates, successors, and assigns a "
    "perpetual, worldwide, non-exclusive, sublicensable no-charge, royalty-free, irrevocable "
    "copyright license to reproduce, prepare derivative works of, publicly display, publicly "
    "perform, sublicense, and distribute the Content You input into the Services, as well as "
    "any Assets produced by You through the Service."
)


def render_clause(text: str) -> str:
    """HTML for one clause: highlighted evidence, explanations, and the laws for each label."""
    if not text.strip():
        return "<p><i>Paste a clause above.</i></p>"
    parts = []
    for clause in tos.analyze(text).clauses or [tos.analyze_clause(text.strip())]:
        parts.append(tos.highlight_html(clause))
        for label in clause.labels:
            items = "".join(
                f'<li><a href="{html.escape(law["url"])}" target="_blank">'
                f"{html.escape(law['law'])}, {html.escape(law['article'])}</a>: "
                f"{html.escape(law['says'])} <i>Does not: {html.escape(law['does_not'])}</i></li>"
                for law in tos.laws_for(label)
            )
            parts.append(
                f"<details><summary>Relevant law for <b>{label}</b></summary>"
                f'<ul style="font-size:90%">{items}</ul></details>'
            )
    return "\n".join(parts)


def static_view(text: str = _EXAMPLE):
    """The explorer's output for ``text`` as plain HTML, for the published book.

    The book has no kernel behind the widget, so its button does nothing there. This shows
    what the widget shows for its default clause, in a ``<div class="faceleak-static">``
    that ``scripts/check_site.py`` recognises as the widget's static alternative.

    Returns
    -------
    IPython.display.HTML
        Return it as the last expression of a notebook cell to display it.
    """
    from IPython.display import HTML

    return HTML(f'<div class="faceleak-static">{render_clause(text)}</div>')


def tos_explorer(initial: str = _EXAMPLE):
    """Build the explorer widget.

    Parameters
    ----------
    initial
        Text shown in the input box at start.

    Returns
    -------
    ipywidgets.VBox
        Return it as the last expression of a notebook cell to display it.
    """
    import ipywidgets as widgets

    box = widgets.Textarea(
        value=initial,
        placeholder="Paste a clause (English or Japanese)",
        layout=widgets.Layout(width="100%", height="9em"),
    )
    button = widgets.Button(description="Analyse", button_style="primary")
    out = widgets.HTML(value=render_clause(initial))

    def _update(_=None) -> None:
        out.value = render_clause(box.value)

    button.on_click(_update)
    return widgets.VBox([widgets.HTML("<b>Paste a clause and press Analyse</b>"), box, button, out])

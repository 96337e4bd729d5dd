"""faceleak.notebook.glue: myst-nb's glue in the book build, a plain display elsewhere."""

from __future__ import annotations

from faceleak import notebook


def test_glue_shows_the_value_without_myst_nb(monkeypatch):
    shown = []
    monkeypatch.setattr(notebook, "_myst_glue", None)
    monkeypatch.setattr(notebook, "_show", shown.append)
    notebook.glue("ratio", 0.96)
    notebook.glue("hidden", 1.5, display=False)
    assert shown == [0.96]


def test_glue_hands_over_to_myst_nb(monkeypatch):
    calls = []
    monkeypatch.setattr(notebook, "_myst_glue",
                        lambda name, value, display=True: calls.append((name, value, display)))
    monkeypatch.setattr(notebook, "_show", lambda value: calls.append(("shown", value)))
    notebook.glue("ratio", 0.96, display=False)
    assert calls == [("ratio", 0.96, False)]


def test_the_book_build_uses_myst_nb():
    from myst_nb import glue

    assert notebook._myst_glue is glue

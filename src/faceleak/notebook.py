"""What the labs share around their cells: ``glue``, on the book build and on Colab alike.

The book build runs the labs with myst-nb, whose :func:`glue` stores a value under a name so
that a chapter can quote it (every number in the book comes from executed code). On Colab
or a laptop, myst-nb is usually absent: the same call then just shows the value (or nothing
with ``display=False``), so a lab runs unchanged everywhere.
"""

from __future__ import annotations

from typing import Any

from IPython.display import display as _show

try:
    from myst_nb import glue as _myst_glue
except ImportError:  # Colab, or a plain Jupyter install
    _myst_glue = None


def glue(name: str, value: Any, display: bool = True) -> None:
    """Store ``value`` under ``name`` for the book (myst-nb), or just show it.

    Parameters
    ----------
    name
        The key a chapter quotes with ``{glue:}`` or ``{glue:figure}``.
    value
        A Python number or string, a DataFrame or a matplotlib figure. Numbers must be plain
        Python floats or ints: myst-nb cannot format numpy scalars in text.
    display
        Also show the value in the notebook.
    """
    if _myst_glue is not None:
        _myst_glue(name, value, display=display)
    elif display:
        _show(value)

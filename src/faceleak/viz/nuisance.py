"""Figure of the nuisance dial (:mod:`faceleak.experiments.nuisance`): how much of each
transformation each recognizer's embedding keeps, relative to the pixels.

Colours are from cividis, readable in grayscale and for colour-blind readers; every backbone
also has its own marker, so the figure reads without colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _number(value) -> float:
    """A row value as a float; None (NaN in the JSON) stays NaN."""
    return float("nan") if value is None else float(value)


def dial_figure(rows: Sequence[Mapping], title: str = ""):
    """Dot plot of the leakage ratio to pixels, factor x backbone, with 95% intervals.

    Parameters
    ----------
    rows
        The ``rows`` of :func:`faceleak.experiments.nuisance.run_nuisance_dial`: ``factor``,
        ``backbone``, ``metric`` and ``leakage_ratio_mean/low/high`` (None or NaN where the
        pixels scored at or below zero and no ratio exists; those are marked "n/a").
    title
        Figure title; a default one otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: a row per factor, one dot per backbone with its interval over subject
        splits, and a dashed line at 1.0, where the embedding reads the factor as well as
        the pixels do.
    """
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("no rows to plot")
    factors = list(dict.fromkeys(r["factor"] for r in rows))
    backbones = list(dict.fromkeys(r["backbone"] for r in rows))
    colours = plt.get_cmap("cividis")(np.linspace(0.0, 0.8, max(len(backbones), 1)))
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(factors) * max(1, len(backbones) / 2)
                                    + 1.8))
    step = 0.7 / max(len(backbones), 1)
    offsets = (np.arange(len(backbones)) - (len(backbones) - 1) / 2) * step
    highest = 1.0
    labelled: set[str] = set()
    for b, backbone in enumerate(backbones):
        for f, factor in enumerate(factors):
            row = next((r for r in rows if r["factor"] == factor
                        and r["backbone"] == backbone), None)
            if row is None:
                continue
            y = f + offsets[b]
            mean = _number(row.get("leakage_ratio_mean"))
            low = _number(row.get("leakage_ratio_low"))
            high = _number(row.get("leakage_ratio_high"))
            if not np.isfinite(mean):
                ax.text(0.02, y, "n/a (pixels score <= 0)", va="center", fontsize=7,
                        color=colours[b], transform=ax.get_yaxis_transform())
                continue
            if np.isfinite(low) and np.isfinite(high):
                ax.errorbar(mean, y, xerr=[[max(mean - low, 0.0)], [max(high - mean, 0.0)]],
                            fmt="none", ecolor=colours[b], elinewidth=1.4, capsize=3)
                highest = max(highest, high)
            ax.plot(mean, y, marker=MARKERS[b % len(MARKERS)], color=colours[b],
                    markersize=7, linestyle="none",
                    label=None if backbone in labelled else backbone)
            labelled.add(backbone)
            highest = max(highest, mean)
    ax.axvline(1.0, color="#444444", lw=1, ls="--", label="as much as the pixels (ratio 1)")
    labels = []
    for factor in factors:
        metric = next(r.get("metric", "") for r in rows if r["factor"] == factor)
        labels.append(f"{factor}\n({'accuracy' if metric == 'accuracy' else 'R²'})")
    ax.set_yticks(range(len(factors)))
    ax.set_yticklabels(labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(min(0.0, ax.get_xlim()[0]), highest * 1.1)
    ax.set_xlabel("leakage ratio: embedding score / pixel score (held-out subjects; "
                  "bars: 95% interval over splits)", fontsize=9)
    ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_title(title or "The nuisance dial: how much of each transformation the "
                 "embedding keeps", fontsize=11)
    fig.tight_layout()
    return fig

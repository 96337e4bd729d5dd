"""Figures for Chapter 6: the vendor scorecard, the claims that moved it, and weight sensitivity.

Every figure reads in grayscale (bars carry hatches as well as shades) and has a title that
states its finding, so that it can double as alt text.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from faceleak.legal import risk

__all__ = ["plot_movers", "plot_scorecard", "plot_sensitivity"]

# Okabe-Ito colours stay distinguishable with colour-vision deficiency; hatches survive grayscale
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
_HATCHES = ("", "//", "..", "xx", "\\\\", "++")


def plot_scorecard(
    ledger: risk.Ledger,
    weights: Mapping[str, float] | None = None,
    figsize: tuple[float, float] = (11.0, 4.6),
) -> Figure:
    """Factor scores per vendor (left) and seed vs face-value vs evidence-only ratings (right).

    Parameters
    ----------
    ledger
        The claim ledger.
    weights
        Factor weights (default: :func:`faceleak.legal.risk.default_weights`).
    figsize
        Figure size in inches.
    """
    table = risk.scorecard_table(ledger, weights)
    compare = risk.compare_ratings(ledger, weights)
    vendors = [v.id for v in ledger.vendors]
    names = {v.id: v.name for v in ledger.vendors}
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.6, 1]}, constrained_layout=True
    )

    y = np.arange(len(risk.FACTORS))
    h = 0.8 / len(vendors)
    for i, vid in enumerate(vendors):
        ax1.barh(
            y + (i - (len(vendors) - 1) / 2) * h,
            [table.loc[f, vid] for f in risk.FACTORS],
            height=h,
            color=_COLOURS[i % len(_COLOURS)],
            hatch=_HATCHES[i % len(_HATCHES)],
            edgecolor="black",
            linewidth=0.6,
            label=names[vid],
        )
    ax1.axvline(risk.BASELINE, color="black", linestyle="--", linewidth=1)
    ax1.text(risk.BASELINE, -0.55, " no evidence (0.5)", fontsize=8, va="bottom")
    labels = risk.factor_table()["label"]
    w = table["weight"]
    ax1.set_yticks(y, [f"{labels[f]}\n(weight {w[f]:.2f})" for f in risk.FACTORS], fontsize=8)
    ax1.set_ylim(len(y) - 0.5, -0.8)  # first factor on top, room for the baseline label
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("factor score (0 = low risk, 1 = high risk), evidence only")
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(vendors), fontsize=8)
    ax1.set_title("Factor scores from the claim ledger", fontsize=10)

    kinds = [
        ("seed_rating", "seed report"),
        ("face_value_rating", "seed claims at face value"),
        ("evidence_rating", "evidence only"),
    ]
    x = np.arange(len(vendors))
    bw = 0.8 / len(kinds)
    for j, (col, lab) in enumerate(kinds):
        vals = [compare.loc[vid, col] for vid in vendors]
        bars = ax2.bar(
            x + (j - 1) * bw,
            vals,
            width=bw,
            color=("0.25", "0.6", "0.95")[j],
            hatch=("", "//", "..")[j],
            edgecolor="black",
            linewidth=0.6,
            label=lab,
        )
        ax2.bar_label(bars, fmt="%d", fontsize=8)
    ax2.set_xticks(x, [names[v] for v in vendors], fontsize=8)
    ax2.set_ylim(0, 5.6)
    ax2.set_yticks(range(1, 6), ["1 extremely\ndangerous", "2", "3", "4", "5 safe"], fontsize=8)
    ax2.set_ylabel("rating (higher = safer)")
    ax2.legend(fontsize=7, loc="upper left")
    ax2.set_title("Ratings: seed vs evidence", fontsize=10)

    ev = ", ".join(f"{names[v]} {compare.loc[v, 'evidence_rating']}" for v in vendors)
    seed = ", ".join(f"{names[v]} {compare.loc[v, 'seed_rating']}" for v in vendors)
    fig.suptitle(
        f"Vendor scorecard - evidence-only ratings: {ev} (seed reports: {seed})", fontsize=11
    )
    return fig


def plot_movers(result: risk.ScoreResult, n: int = 8, figsize=(8.0, 3.8)) -> Figure:
    """Horizontal bars of the claims that moved one vendor's risk index most."""
    movers = risk.top_movers(result, n).iloc[::-1]
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    vals = movers["contribution"].to_numpy()
    ax.barh(
        movers.index,
        vals,
        color=["#D55E00" if v > 0 else "#0072B2" for v in vals],
        hatch=None,
        edgecolor="black",
        linewidth=0.6,
    )
    for bar, v in zip(ax.patches, vals, strict=True):
        bar.set_hatch("//" if v > 0 else "..")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("contribution to the risk index (+ raises risk, - lowers it)")
    ax.set_yticks(
        range(len(movers)), [f"{i} ({f})" for i, f in movers["factor"].items()], fontsize=8
    )
    ax.set_title(
        f"{result.vendor}: the {len(movers)} claims that moved the evidence-only rating "
        f"({result.rating})",
        fontsize=10,
    )
    return fig


def plot_sensitivity(
    samples: Mapping[str, pd.DataFrame], figsize: tuple[float, float] = (8.0, 3.6)
) -> Figure:
    """Histograms of the risk index under random weights, one per vendor, with rating bands.

    Parameters
    ----------
    samples
        Vendor name -> output of :func:`faceleak.legal.risk.sensitivity_dirichlet`.
    """
    fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    bins = np.linspace(0, 1, 51)
    for i, (name, df) in enumerate(samples.items()):
        ax.hist(
            df["risk_index"],
            bins=bins,
            alpha=0.55,
            color=_COLOURS[i % len(_COLOURS)],
            hatch=_HATCHES[i % len(_HATCHES)],
            edgecolor="black",
            linewidth=0.4,
            label=name,
        )
    for edge in (0.2, 0.4, 0.6, 0.8):
        ax.axvline(edge, color="black", linestyle=":", linewidth=0.8)
    for k in range(5):
        ax.text(0.1 + 0.2 * k, ax.get_ylim()[1] * 0.95, f"rating {5 - k}", ha="center", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("risk index under random weights (Dirichlet around the defaults)")
    ax.set_ylabel("draws")
    ax.legend(fontsize=8, loc="center left")
    ranges = ", ".join(
        f"{name} {int(df['rating'].min())}-{int(df['rating'].max())}"
        for name, df in samples.items()
    )
    ax.set_title(f"How the rating moves with the weights - range of ratings: {ranges}", fontsize=10)
    return fig

"""Figures of Lab 4 (defences): the privacy/utility trade-off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from faceleak.experiments.defences import EER_BUDGET

MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (1, 1)), (0, (3, 1, 1, 1))]


def tradeoff(rows: Sequence[Mapping], leakage_key: str = "lighting_class_accuracy",
             inversion_key: str = "inversion_success_other_1e-2",
             references: Mapping[str, tuple[float, float]] | None = None, title: str = "",
             eer_budget: float = EER_BUDGET):
    """Utility (EER, x) against leakage (y), one line per defence, colour = inversion success.

    A dotted vertical line marks the largest EER loss allowed (``eer_budget``).

    Marker shapes and line styles differ per defence, so the figure reads in grayscale; the
    colour scale (cividis) is readable for colour-blind readers.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.2, 5.2))
    baseline = next((r for r in rows if r["defence"] == "none"), None)
    names = [n for n in dict.fromkeys(r["defence"] for r in rows) if n != "none"]
    has_inv = any(inversion_key in r for r in rows)
    points = None
    for i, name in enumerate(names):
        series = [r for r in rows if r["defence"] == name]
        series.sort(key=lambda r: r["eer"])
        x = [r["eer"] for r in series]
        y = [r[leakage_key] for r in series]
        ax.plot(x, y, ls=LINESTYLES[i % len(LINESTYLES)], color="#555555", lw=1)
        # A colour map only when there are inversion scores to colour by: matplotlib
        # warns (to the reader of the built page) when it gets a map but a plain colour.
        colour = ({"c": [r.get(inversion_key, np.nan) for r in series], "cmap": "cividis",
                   "vmin": 0, "vmax": 1} if has_inv else {"color": "#1f4e79"})
        points = ax.scatter(x, y, s=70, marker=MARKERS[i % len(MARKERS)],
                            edgecolors="#111111", label=name, zorder=3, **colour)
    if baseline is not None:
        ax.scatter([baseline["eer"]], [baseline[leakage_key]], marker="*", s=260,
                   color="white", edgecolors="black", zorder=4, label="no defence")
        ax.axvline(baseline["eer"] + eer_budget, color="#888888", ls=":", lw=1)
        ax.text(baseline["eer"] + eer_budget * 1.05, ax.get_ylim()[1], f"EER loss {eer_budget:g}",
                fontsize=7,
                va="top", color="#555555")
    for label, (x, y) in (references or {}).items():
        ax.scatter([x], [y], marker="h", s=120, color="#bbbbbb", edgecolors="black", zorder=4,
                   label=label)
    if has_inv and points is not None:
        fig.colorbar(points, ax=ax, label="inversion success vs other photos (FAR 1e-2)")
    ax.set_xlabel("verification EER on held-out subjects (lower = more useful)")
    ax.set_ylabel({"azimuth_r2": "light azimuth R² read by the adapted probe",
                   "lighting_class_accuracy": "left/front/right accuracy of the probe"}
                  .get(leakage_key, leakage_key) + "\n(lower = more private)")
    ax.set_xscale("log")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title or "Privacy against utility for each template protection", fontsize=10)
    fig.tight_layout()
    return fig


def strength_strip(rows: Sequence[Mapping], reconstruct, original: np.ndarray,
                   defences: Sequence[str] | None = None):
    """Lab 4's explorer as a still: one row per defence, one column per strength.

    The static version of :func:`faceleak.widgets.defences.strength_explorer` for the
    published book. Each panel is the adaptive attacker's reconstruction of the held-out
    photo (first column) under that defence and strength, captioned with the EER and the
    light-class accuracy of the sweep row.

    Parameters
    ----------
    rows
        Sweep rows from :func:`faceleak.experiments.defences.defence_sweep`.
    reconstruct
        ``reconstruct(defence_id, strength) -> image``, as for the widget.
    original
        The attacked held-out photo (H, W).
    defences
        The ``defence_id`` values to show, in order (default: all but ``none``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    by_defence: dict[str, list[Mapping]] = {}
    for r in rows:
        if r["defence_id"] != "none":
            by_defence.setdefault(r["defence_id"], []).append(r)
    names = list(defences) if defences is not None else list(by_defence)
    unknown = [d for d in names if d not in by_defence]
    if not names or unknown:
        raise ValueError(f"no sweep rows for defence(s) {unknown or names}; "
                         f"the sweep has {sorted(by_defence)}")
    cols = 1 + max(len(by_defence[d]) for d in names)
    fig, axes = plt.subplots(len(names), cols, figsize=(1.45 * cols, 1.95 * len(names)),
                             squeeze=False)
    for i, name in enumerate(names):
        axes[i, 0].imshow(original, cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title("held-out photo", fontsize=7)
        axes[i, 0].set_ylabel(by_defence[name][0]["defence"], fontsize=7)
        for k, row in enumerate(by_defence[name], start=1):
            axes[i, k].imshow(reconstruct(name, row["strength"]), cmap="gray", vmin=0, vmax=1)
            axes[i, k].set_title(f"strength {row['strength']:g}\nEER {row['eer']:.3f}, "
                                 f"light {row['lighting_class_accuracy']:.2f}", fontsize=6)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
            if not ax.images:
                ax.axis("off")
    fig.suptitle("The attacker's reconstruction under each defence and strength "
                 "(light = light-class accuracy of the retrained probe)", fontsize=8)
    fig.tight_layout()
    return fig

"""Figures of Lab 2 (leakage). Colour maps are cividis/grey: readable in grayscale and for
colour-blind readers; every figure has a title and labelled axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FEATURE_STYLE = {
    "embedding": {"color": "#1f4e79", "marker": "o", "label": "identity embedding"},
    "pixels": {"color": "#8c8c8c", "marker": "s", "label": "raw pixels (PCA)"},
    "untrained": {"color": "#c9a227", "marker": "^", "label": "untrained network"},
    "chance": {"color": "#000000", "marker": "x", "label": "chance"},
}


def predicted_vs_true(true_az: np.ndarray, pred_az: np.ndarray, true_el: np.ndarray,
                      pred_el: np.ndarray, title: str = ""):
    """Scatter of the probe's reading against the true light, for azimuth and elevation."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    rng = np.random.default_rng(0)
    for ax, true, pred, name, lim in ((axes[0], true_az, pred_az, "azimuth", 140),
                                      (axes[1], true_el, pred_el, "elevation", 95)):
        jitter = rng.uniform(-1.5, 1.5, len(true))  # the true values sit on a grid
        ax.scatter(true + jitter, pred, s=9, alpha=0.45, color="#1f4e79", edgecolors="none")
        ax.plot([-lim, lim], [-lim, lim], color="#444444", lw=1, ls="--", label="perfect reading")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim * 1.25, lim * 1.25)
        ax.set_xlabel(f"true light {name} (degrees)")
        ax.set_ylabel(f"{name} read from the embedding (degrees)")
        mae = float(np.abs(np.asarray(true) - np.asarray(pred)).mean())
        ax.set_title(f"{name}: mean error {mae:.1f}°", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title or "Light direction read from identity embeddings (held-out subjects)",
                 fontsize=11)
    fig.tight_layout()
    return fig


def polar_directions(true_az: np.ndarray, pred_az: np.ndarray, true_el: np.ndarray,
                     pred_el: np.ndarray, n_show: int = 40, seed: int = 0, title: str = ""):
    """Light directions on a polar plot: angle = azimuth, radius = 90° - elevation.

    The centre is light from straight above; a line joins each true direction (circle) to
    the direction read from the embedding (cross), for a random sample of images.
    """
    import matplotlib.pyplot as plt

    true_az, pred_az, true_el, pred_el = map(np.asarray, (true_az, pred_az, true_el, pred_el))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(true_az), size=min(n_show, len(true_az)), replace=False)
    fig = plt.figure(figsize=(5.2, 5.2))
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_thetamin(-150)
    ax.set_thetamax(150)
    t_theta, p_theta = np.deg2rad(true_az[pick]), np.deg2rad(pred_az[pick])
    t_r, p_r = 90 - true_el[pick], np.clip(90 - pred_el[pick], 0, 160)
    for a, b, c, d in zip(t_theta, p_theta, t_r, p_r, strict=True):
        ax.plot([a, b], [c, d], color="#8c8c8c", lw=0.8)
    ax.scatter(t_theta, t_r, s=28, facecolors="none", edgecolors="#000000", label="true light")
    ax.scatter(p_theta, p_r, s=28, marker="x", color="#1f4e79", label="read from embedding")
    ax.set_rlim(0, 160)
    ax.set_rticks([0, 45, 90, 135])
    ax.set_yticklabels(["+90°", "+45°", "0°", "−45°"], fontsize=7)
    ax.set_xlabel("azimuth around the circle; elevation from the centre (straight above)",
                  fontsize=8)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=8)
    ax.set_title(title or f"True vs read light direction ({len(pick)} held-out images)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def learning_curve(rows: Sequence[Mapping], metric: str = "r2",
                   reference: Mapping[str, float] | None = None, title: str = ""):
    """Probe score against the number of auxiliary subjects (mean and min-max band)."""
    import matplotlib.pyplot as plt

    sizes = sorted({int(r["n_subjects"]) for r in rows})
    values = [[r[metric] for r in rows if r["n_subjects"] == k] for k in sizes]
    mean = np.array([np.mean(v) for v in values])
    low = np.array([np.min(v) for v in values])
    high = np.array([np.max(v) for v in values])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.fill_between(sizes, low, high, color="#1f4e79", alpha=0.2, label="range over draws")
    ax.plot(sizes, mean, marker="o", color="#1f4e79", label="identity embedding (mean)")
    for name, value in (reference or {}).items():
        style = FEATURE_STYLE.get(name, {"color": "#444444", "label": name})
        ax.axhline(value, ls="--", lw=1, color=style["color"],
                   label=f"{style['label']}, all training subjects")
    ax.set_xlabel("auxiliary subjects the attacker has labelled")
    ax.set_ylabel({"r2": "R² on held-out subjects", "accuracy": "accuracy",
                   "mae": "mean absolute error (degrees)"}.get(metric, metric))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_title(title or "How much labelled data does the attacker need?", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def error_by_light(true_az: np.ndarray, true_el: np.ndarray, abs_error: np.ndarray,
                   title: str = ""):
    """Mean absolute azimuth error for each light direction, as a map of the lights."""
    import matplotlib.pyplot as plt

    true_az, true_el, abs_error = map(np.asarray, (true_az, true_el, abs_error))
    keys = sorted(set(zip(true_az.tolist(), true_el.tolist(), strict=True)))
    mean_err = np.array([abs_error[(true_az == a) & (true_el == e)].mean() for a, e in keys])
    az = np.array([k[0] for k in keys])
    el = np.array([k[1] for k in keys])
    fig, ax = plt.subplots(figsize=(7, 3.8))
    points = ax.scatter(az, el, c=mean_err, s=120, cmap="cividis", edgecolors="#333333")
    fig.colorbar(points, ax=ax, label="mean |azimuth error| (degrees)")
    ax.set_xlabel("true light azimuth (degrees)")
    ax.set_ylabel("true light elevation (degrees)")
    ax.set_title(title or "Where the embedding gives the light away, and where it does not",
                 fontsize=10)
    fig.tight_layout()
    return fig


def subject_errors(errors: Mapping[str, float], faces=None, title: str = ""):
    """Bar chart of per-subject error, with each subject's frontal face when faces are given."""
    import matplotlib.pyplot as plt

    names = list(errors)
    fig = plt.figure(figsize=(max(6.0, 0.75 * len(names)), 4.2))
    bars = fig.add_axes([0.08, 0.34, 0.9, 0.56])
    bars.bar(range(len(names)), [errors[n] for n in names], color="#1f4e79")
    bars.set_xticks(range(len(names)), names, rotation=45, fontsize=8)
    bars.set_ylabel("mean |azimuth error| (°)")
    bars.set_title(title or "Per-subject error of the light probe (held-out subjects)",
                   fontsize=10)
    if faces is not None:
        width = 0.9 / len(names)
        for i, name in enumerate(names):
            try:
                img = faces.images[faces.find(name, 0, 0)]
            except KeyError:
                continue
            ax = fig.add_axes([0.08 + i * width, 0.0, width * 0.95, 0.2])
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            ax.axis("off")
    return fig


def leakage_summary(rows: Sequence[Mapping], metric_by_target: Mapping[str, str],
                    title: str = ""):
    """Bars with confidence intervals: each target's score for each feature set over splits.

    ``rows`` holds ``target``, ``feature_set``, ``mean``, ``low`` and ``high``.
    """
    import matplotlib.pyplot as plt

    targets = list(metric_by_target)
    sets = [s for s in FEATURE_STYLE if any(r["feature_set"] == s for r in rows)]
    fig, axes = plt.subplots(1, len(targets), figsize=(3.1 * len(targets), 3.8), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        for i, s in enumerate(sets):
            row = next((r for r in rows if r["target"] == target and r["feature_set"] == s),
                       None)
            if row is None:
                continue
            err = None
            if np.isfinite(row["low"]):
                err = [[row["mean"] - row["low"]], [row["high"] - row["mean"]]]
            ax.bar(i, row["mean"], yerr=err, color=FEATURE_STYLE[s]["color"], capsize=3,
                   hatch=["", "//", "..", "xx"][i % 4], edgecolor="#222222")
        ax.set_xticks(range(len(sets)), [FEATURE_STYLE[s]["label"].split(" (")[0] for s in sets],
                      rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{target}: {metric_by_target[target]}", fontsize=9)
    fig.suptitle(title or "Light read from each kind of feature (mean and 95% CI over splits)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def penalty_curves(curves: Mapping[str, Sequence[Mapping]], title: str = ""):
    """Held-out R² of a ridge probe against its penalty, one line per feature set.

    ``curves`` maps a label to the rows of :func:`faceleak.privacy.probes.penalty_curve`. Where the
    rows carry ``grouped_cv_r2`` (what the probe sees when it tunes itself on the training
    subjects), it is drawn dashed in the same colour.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    markers = ["o", "s", "^", "D"]
    colours = ["#0072B2", "#D55E00", "#009E73", "#555555"]
    for i, (label, rows) in enumerate(curves.items()):
        alphas = [r["alpha"] for r in rows]
        ax.plot(alphas, [r["r2"] for r in rows], marker=markers[i % 4],
                color=colours[i % 4], label=f"{label}: held-out subjects")
        if all("grouped_cv_r2" in r for r in rows):
            ax.plot(alphas, [r["grouped_cv_r2"] for r in rows], marker=markers[i % 4],
                    linestyle="--", color=colours[i % 4], markerfacecolor="white",
                    label=f"{label}: CV on training subjects")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ridge penalty (alpha)")
    ax.set_ylabel("R² of the azimuth reading")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title or "How much the probe's penalty matters", fontsize=10)
    fig.tight_layout()
    return fig


#: Display names of the probe targets.
TARGET_LABELS = {"azimuth": "azimuth (signed)", "abs_azimuth": "|azimuth|",
                 "elevation": "elevation", "lighting_class": "left / front / right"}


def leakage_ratios_by_model(results: Mapping[str, Mapping], title: str = ""):
    """Leakage ratio to pixels per target and model, with its 95% interval over splits.

    ``results`` maps a backbone name to the dict of
    :func:`faceleak.experiments.leakage.reproduce_leakage` (its ``intervals`` rows for the
    feature set ``leakage_ratio``). A dashed line marks 1: as much as the pixels give away.
    """
    import matplotlib.pyplot as plt

    names = list(results)
    targets = [t for t in TARGET_LABELS
               if all(t in r["targets"] for r in results.values())]
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    colours = ["#1b6ca8", "#d1495b", "#66a182", "#edae49"]
    for k, name in enumerate(names):
        rows = {r["target"]: r for r in results[name]["intervals"]
                if r["feature_set"] == "leakage_ratio"}
        means = np.array([rows[t]["mean"] if t in rows else np.nan for t in targets], float)
        low = np.array([rows[t]["low"] if t in rows else np.nan for t in targets], float)
        high = np.array([rows[t]["high"] if t in rows else np.nan for t in targets], float)
        err = np.vstack([np.nan_to_num(means - low), np.nan_to_num(high - means)])
        ax.bar(np.arange(len(targets)) + (k - (len(names) - 1) / 2) * width, means, width,
               yerr=err, capsize=3, color=colours[k % len(colours)], edgecolor="#222222",
               hatch=["", "//", "..", "xx"][k % 4],
               label=f"{name} ({results[name]['n_splits']} splits)")
    ax.axhline(1.0, color="#444444", ls="--", lw=1)
    ax.text(len(targets) - 0.5, 1.02, "as much as the pixels", ha="right", va="bottom",
            fontsize=8, color="#444444")
    ax.set_xticks(range(len(targets)), [TARGET_LABELS[t] for t in targets])
    ax.set_ylabel("leakage ratio (embedding / pixels)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or "How much of the light real recognizers keep, relative to the pixels",
                 fontsize=10)
    fig.tight_layout()
    return fig


def light_reading_strip(images: np.ndarray, true_az: np.ndarray, true_el: np.ndarray,
                        pred_az: np.ndarray, pred_el: np.ndarray,
                        captions: Sequence[str] | None = None, title: str = ""):
    """A row of faces, each with its true light and the light a probe read from its embedding.

    The static version of Lab 2's light reader widget for the published book.

    Parameters
    ----------
    images
        The photos (n, H, W).
    true_az, true_el
        Their true light direction (degrees).
    pred_az, pred_el
        The probe's reading of each, from the embedding alone (degrees).
    captions
        A first caption line per photo (e.g. the subject).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if not n or not (n == len(true_az) == len(true_el) == len(pred_az) == len(pred_el)):
        raise ValueError("give one true and one read light direction for each of >= 1 photos")
    captions = list(captions) if captions is not None else [""] * n
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n, 2.9), squeeze=False)
    for k, ax in enumerate(axes[0]):
        ax.imshow(images[k], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{captions[k]}\ntrue A{true_az[k]:+.0f}° E{true_el[k]:+.0f}°\n"
                     f"read A{pred_az[k]:+.0f}° E{pred_el[k]:+.0f}°", fontsize=7)
        ax.axis("off")
    fig.suptitle(title or "True light and the light read from the embedding", fontsize=9)
    fig.tight_layout()
    return fig

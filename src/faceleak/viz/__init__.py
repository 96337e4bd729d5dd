"""Figures for the labs (matplotlib). The core modules never import this one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceleak.vision.data import FaceSet


def light_grid(faces: FaceSet, subject: str, max_cols: int | None = None):
    """One subject's face under every light direction: azimuth across, elevation down.

    Parameters
    ----------
    faces
        A :class:`~faceleak.vision.data.FaceSet` of lit images.
    subject
        Subject name, e.g. ``"yaleB01"``.
    max_cols
        Keep at most this many azimuth columns (evenly spaced), for a narrower figure.

    Returns
    -------
    matplotlib.figure.Figure
        Grid with elevation rows (top = light from above) and azimuth columns
        (left = light from the subject's right, negative azimuth); empty cells mean the
        dataset has no image for that direction.
    """
    import matplotlib.pyplot as plt

    mask = faces.subjects == subject
    if not mask.any():
        raise KeyError(f"{subject} is not in this FaceSet (have {faces.subject_names[:3]}...)")
    az = faces.azimuth[mask].astype(int)
    el = faces.elevation[mask].astype(int)
    imgs = faces.images[mask]
    azimuths = np.unique(az)
    if max_cols is not None and len(azimuths) > max_cols:
        azimuths = azimuths[np.linspace(0, len(azimuths) - 1, max_cols).round().astype(int)]
    # Rows with no image in the kept columns would only add blank space.
    elevations = np.array([e for e in np.unique(el)[::-1] if np.isin(az[el == e], azimuths).any()])
    fig, axes = plt.subplots(len(elevations), len(azimuths),
                             figsize=(0.75 * len(azimuths) + 0.9, 0.86 * len(elevations) + 0.9),
                             squeeze=False)
    for r, e in enumerate(elevations):
        for c, a in enumerate(azimuths):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            hit = np.flatnonzero((az == a) & (el == e))
            if hit.size:
                ax.imshow(imgs[hit[0]], cmap="gray", vmin=0, vmax=1)
            if r == len(elevations) - 1:
                ax.set_xlabel(f"{a:+d}", fontsize=7)
            if c == 0:
                ax.set_ylabel(f"{e:+d}", fontsize=7, rotation=0, labelpad=12, va="center")
    fig.supxlabel("light azimuth (degrees)", fontsize=9)
    fig.supylabel("light elevation (degrees)", fontsize=9)
    fig.suptitle(f"{subject}: one face, {int(mask.sum())} light directions", fontsize=10)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


# --------------------------------------------------------------------------- verification

# Okabe-Ito: a qualitative palette that stays distinct for the common colour-vision
# deficiencies. Identities beyond eight also change marker, so the plot reads in grayscale.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]


def score_histograms(genuine: np.ndarray, impostor: np.ndarray,
                     thresholds: dict[str, float] | None = None, title: str | None = None,
                     ax=None):
    """Histograms of genuine and impostor cosine similarities, with decision thresholds.

    Parameters
    ----------
    genuine, impostor
        Scores of same-person and different-person pairs.
    thresholds
        Named thresholds drawn as vertical lines, e.g. ``{"EER": 0.41, "FAR=1e-2": 0.55}``.
    title
        Figure title.
    ax
        Draw into this axes instead of a new figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.4, 3.6))
    bins = np.linspace(min(genuine.min(), impostor.min()), 1.0, 60)
    ax.hist(impostor, bins=bins, density=True, alpha=0.6, color="#0072B2",
            label=f"impostor pairs (n={impostor.size:,})")
    ax.hist(genuine, bins=bins, density=True, alpha=0.6, color="#E69F00", hatch="//",
            edgecolor="#8a5a00", label=f"genuine pairs (n={genuine.size:,})")
    styles = ["--", ":", "-."]
    for k, (name, value) in enumerate((thresholds or {}).items()):
        ax.axvline(value, color="black", ls=styles[k % len(styles)], lw=1.2,
                   label=f"threshold {name}: {value:.3f}")
    ax.set_xlabel("cosine similarity of the two embeddings")
    ax.set_ylabel("density")
    ax.set_title(title or "Genuine vs impostor similarity")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def roc_plot(curves: dict, points: dict[str, tuple[float, float]] | None = None,
             title: str | None = None, ax=None):
    """ROC curves (TAR against FAR on a log axis) with marked operating points.

    Parameters
    ----------
    curves
        ``{label: ROC}`` (:class:`faceleak.vision.metrics.ROC`).
    points
        ``{label: (far, tar)}`` operating points to mark, e.g. the EER point.
    """
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5.2, 4.2))
    styles = ["-", "--", ":", "-."]
    for k, (label, curve) in enumerate(curves.items()):
        far = np.clip(curve.far, 1e-5, 1)
        ax.plot(far, curve.tar, styles[k % 4], color=OKABE_ITO[(4 + k) % 8], lw=2,
                label=f"{label} (AUC {curve.auc:.3f})")
    for k, (label, (far, tar)) in enumerate((points or {}).items()):
        ax.plot([max(far, 1e-5)], [tar], MARKERS[k + 1], color="black", ms=7, mfc="white",
                mew=1.5, label=f"{label}: FAR {far:.3g}, TAR {tar:.3f}")
    ax.plot([1e-5, 1], [1e-5, 1], color="0.6", lw=1, ls=":", label="chance")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false accept rate (FAR, log scale)")
    ax.set_ylabel("true accept rate (TAR = 1 - FRR)")
    ax.set_title(title or "ROC of face verification")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def project_2d(emb: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates of embeddings by PCA or t-SNE (scikit-learn)."""
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(emb)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(emb)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def embedding_map(emb: np.ndarray, subjects: np.ndarray, azimuth: np.ndarray,
                  method: str = "tsne", seed: int = 0, title: str | None = None):
    """Side by side: the 2-D map coloured by identity, and the same map coloured by light.

    Parameters
    ----------
    emb
        Embeddings (N, D).
    subjects
        Identity of each point (names).
    azimuth
        Light azimuth of each point, in degrees.
    method
        ``"pca"`` or ``"tsne"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    xy = project_2d(np.asarray(emb), method, seed)
    names = sorted(set(np.asarray(subjects).tolist()))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.8))
    for k, name in enumerate(names):
        m = np.asarray(subjects) == name
        ax1.scatter(xy[m, 0], xy[m, 1], s=14, marker=MARKERS[k % len(MARKERS)],
                    color=OKABE_ITO[k % 8], edgecolor="none" if k < 8 else None,
                    label=name, alpha=0.85)
    ax1.legend(fontsize=7, ncol=2, loc="best", markerscale=1.5, title="subject",
               title_fontsize=8)
    ax1.set_title("coloured by identity")
    sc = ax2.scatter(xy[:, 0], xy[:, 1], s=14, c=np.asarray(azimuth), cmap="cividis",
                     vmin=-130, vmax=130)
    fig.colorbar(sc, ax=ax2, label="light azimuth (degrees; negative = from subject's right)")
    ax2.set_title("same points, coloured by light azimuth")
    label = "t-SNE" if method == "tsne" else "PCA"
    for ax in (ax1, ax2):
        ax.set_xlabel(f"{label} 1")
        ax.set_ylabel(f"{label} 2")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or f"{label} map of the embeddings of held-out faces")
    fig.tight_layout()
    return fig


def training_curve(history: list[float], title: str | None = None):
    """Training loss per epoch."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.arange(1, len(history) + 1), history, "o-", color="#0072B2", ms=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("margin loss (training subjects)")
    ax.set_title(title or "Training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def face_pair(image_a: np.ndarray, image_b: np.ndarray, similarity: float, threshold: float,
              caption_a: str = "", caption_b: str = "", far: float | None = None):
    """Two faces, their cosine similarity and the accept/reject decision at a threshold."""
    import matplotlib.pyplot as plt

    accept = similarity >= threshold
    fig, axes = plt.subplots(1, 2, figsize=(4.6, 3.0))
    for ax, img, cap in zip(axes, (image_a, image_b), (caption_a, caption_b), strict=True):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_title(cap, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    at = f" (FAR {far:g})" if far is not None else ""
    verdict = "ACCEPT (judged the same person)" if accept else \
        "REJECT (judged different people)"
    fig.suptitle(f"cosine {similarity:.3f} vs threshold {threshold:.3f}{at}\n{verdict}",
                 fontsize=9, color="#006400" if accept else "#8B0000")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- detection


def detection_rates(table, title: str | None = None):
    """MTCNN detection rate by |light azimuth| band: one group of bars per band.

    Parameters
    ----------
    table
        A DataFrame from :func:`faceleak.vision.detection.rates_by_azimuth`: columns ``azimuth``
        (band label), ``setting``, ``rate`` and ``n``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    settings = list(dict.fromkeys(table["setting"]))
    bands = list(dict.fromkeys(table["azimuth"]))
    width = 0.8 / max(1, len(settings))
    hatches = ["", "//", "..", "xx"]
    for k, setting in enumerate(settings):
        part = table[table["setting"] == setting].set_index("azimuth").reindex(bands)
        x = np.arange(len(bands)) + (k - (len(settings) - 1) / 2) * width
        bars = ax.bar(x, 100 * part["rate"], width, color=OKABE_ITO[4 + k % 4],
                      hatch=hatches[k % 4], edgecolor="black", lw=0.6, label=setting)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    ax.set_xticks(np.arange(len(bands)), bands)
    ax.set_xlabel("|light azimuth| (degrees from frontal; left and right pooled)")
    ax.set_ylabel("faces detected (%)")
    ax.set_ylim(0, 108)
    ax.set_title(title or "MTCNN finds far fewer faces under side light")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def pair_strip(faces: FaceSet, embeddings: np.ndarray, pairs: Sequence[tuple[int, int]],
               threshold: float, far: float | None = None, title: str | None = None):
    """Several face pairs side by side, each with its cosine and the decision at a threshold.

    The static version of :func:`faceleak.widgets.pair_explorer` for the published book:
    it shows the states a reader would pick in the widget.

    Parameters
    ----------
    faces
        The faces the indices refer to.
    embeddings
        One embedding per face (N, D); rows are L2-normalised here.
    pairs
        ``(i, j)`` indices of the pairs to show.
    threshold
        The cosine threshold of the decision.
    far
        The FAR that gave the threshold, named in the title.
    title
        A title for the whole strip.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not pairs:
        raise ValueError("give at least one (i, j) pair to show")
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.shape[0] != len(faces):
        raise ValueError(f"need one embedding per face: {emb.shape[0]} for {len(faces)} faces")
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    fig, axes = plt.subplots(1, 2 * len(pairs), figsize=(2.1 * len(pairs) * 2, 3.0),
                             squeeze=False)
    for k, (i, j) in enumerate(pairs):
        sim = float(emb[i] @ emb[j])
        accept = sim >= threshold
        truth = "same person" if faces.subjects[i] == faces.subjects[j] else "different people"
        for ax, idx in zip(axes[0, 2 * k: 2 * k + 2], (i, j), strict=True):
            ax.imshow(faces.images[idx], cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{faces.subjects[idx]}\nA{int(faces.azimuth[idx]):+d} "
                         f"E{int(faces.elevation[idx]):+d}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, 2 * k].set_xlabel(
            f"cosine {sim:.3f}: {'ACCEPT' if accept else 'REJECT'}\n(truth: {truth})",
            fontsize=8, color="#006400" if accept else "#8B0000", loc="left")
    at = f" (FAR {far:g})" if far is not None else ""
    fig.suptitle(title or f"Pairs judged at threshold {threshold:.3f}{at}", fontsize=9)
    fig.tight_layout()
    return fig

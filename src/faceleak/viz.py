"""Figures for the labs (matplotlib). The core modules never import this one."""

from __future__ import annotations

import numpy as np

from .data import FaceSet


def light_grid(faces: FaceSet, subject: str, max_cols: int | None = None):
    """One subject's face under every light direction: azimuth across, elevation down.

    Parameters
    ----------
    faces
        A :class:`~faceleak.data.FaceSet` of lit images.
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

"""Lab 2's explorer: pick a held-out face, see where the embedding says the light was."""

from __future__ import annotations

import numpy as np


def light_reader(faces, indices: np.ndarray, predicted_azimuth: np.ndarray,
                 predicted_elevation: np.ndarray):
    """An ipywidgets box: a slider over held-out images, the face, and its true and read light.

    Parameters
    ----------
    faces
        The :class:`~faceleak.vision.data.FaceSet`.
    indices
        Indices (into ``faces``) of the held-out images the slider walks through.
    predicted_azimuth, predicted_elevation
        The probe's reading for each of ``indices``, from the embedding alone.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    indices = np.asarray(indices)
    if not (len(indices) == len(predicted_azimuth) == len(predicted_elevation)):
        raise ValueError("indices and predictions must have the same length")
    subjects = sorted(set(faces.subjects[indices].tolist()))
    subject = widgets.Dropdown(options=subjects, description="subject")
    image = widgets.IntSlider(min=0, max=0, description="image")
    out = widgets.Output()

    def rows_of(name: str) -> np.ndarray:
        return np.flatnonzero(faces.subjects[indices] == name)

    def draw(*_):
        rows = rows_of(subject.value)
        image.max = len(rows) - 1
        k = rows[min(image.value, len(rows) - 1)]
        i = indices[k]
        out.clear_output(wait=True)
        with out:
            fig = plt.figure(figsize=(7.5, 3.2))
            ax_img = fig.add_subplot(1, 2, 1)
            ax_img.imshow(faces.images[i], cmap="gray", vmin=0, vmax=1)
            ax_img.set_title(faces.names[i], fontsize=8)
            ax_img.axis("off")
            ax = fig.add_subplot(1, 2, 2, projection="polar")
            ax.set_theta_zero_location("N")
            ax.set_theta_direction(-1)
            ax.set_thetamin(-150)
            ax.set_thetamax(150)
            ax.set_rlim(0, 160)
            ax.scatter(np.deg2rad(faces.azimuth[i]), 90 - faces.elevation[i], s=80,
                       facecolors="none", edgecolors="black", label="true light")
            ax.scatter(np.deg2rad(predicted_azimuth[k]), np.clip(90 - predicted_elevation[k],
                       0, 160), s=80, marker="x", color="#1f4e79", label="read from embedding")
            ax.set_title(f"true A{faces.azimuth[i]:+.0f}° E{faces.elevation[i]:+.0f}°   "
                         f"read A{predicted_azimuth[k]:+.0f}° E{predicted_elevation[k]:+.0f}°",
                         fontsize=8)
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.3), fontsize=7, ncol=2)
            fig.tight_layout()
            plt.show()

    subject.observe(draw, names="value")
    image.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox([subject, image]), out])

"""Interactive explorers for the labs (ipywidgets). Each function returns a widget.

The core modules never import this one.
"""

from __future__ import annotations

import numpy as np

from faceleak.vision import verification
from faceleak.vision.data import FaceSet


def _label(faces: FaceSet, i: int) -> str:
    return (f"{faces.subjects[i]}  light A{int(faces.azimuth[i]):+04d} "
            f"E{int(faces.elevation[i]):+03d}")


def pair_explorer(faces: FaceSet, embeddings: np.ndarray, thresholds: dict[float, float],
                  start: tuple[int, int] | None = None):
    """Pick two faces; see both, their cosine similarity and the decision at a chosen FAR.

    Parameters
    ----------
    faces
        The faces (e.g. held-out subjects).
    embeddings
        Their embeddings (N, D), L2-normalised.
    thresholds
        ``{far: threshold}``, e.g. from :func:`faceleak.vision.metrics.tar_at_far` at a few FARs;
        the FAR dropdown picks one.
    start
        Indices of the two faces shown first.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    from faceleak import viz

    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.shape[0] != len(faces):
        raise ValueError("need one embedding per face")
    emb = verification.l2_normalise(emb)
    if not thresholds:
        raise ValueError("give at least one {far: threshold}")
    subjects = faces.subject_names

    def lights_of(subject: str) -> list[tuple[str, int]]:
        idx = np.flatnonzero(faces.subjects == subject)
        idx = idx[np.lexsort((faces.elevation[idx], faces.azimuth[idx]))]
        return [(f"A{int(faces.azimuth[i]):+04d} E{int(faces.elevation[i]):+03d}", int(i))
                for i in idx]

    a0, b0 = start if start is not None else (0, int(np.flatnonzero(
        faces.subjects != faces.subjects[0])[0]))
    pickers = []
    for i0, name in ((a0, "face A"), (b0, "face B")):
        subj = w.Dropdown(options=subjects, value=faces.subjects[i0],
                          description=f"{name}:", layout=w.Layout(width="220px"))
        light = w.Dropdown(options=lights_of(subj.value), value=i0, description="light:",
                           layout=w.Layout(width="220px"))

        def update_lights(change, light=light):
            # Keep the same light direction when switching subject, if that photo exists.
            old = {v: k for k, v in light.options}.get(light.value)
            options = lights_of(change["new"])
            light.options = options
            light.value = next((v for k, v in options if k == old), options[0][1])

        subj.observe(update_lights, names="value")
        pickers.append((subj, light))
    far = w.Dropdown(options=[(f"{f:g}", f) for f in sorted(thresholds)],
                     value=sorted(thresholds)[len(thresholds) // 2], description="FAR:",
                     layout=w.Layout(width="160px"))
    out = w.Output()

    def redraw(*_):
        i, j = pickers[0][1].value, pickers[1][1].value
        sim = float(emb[i] @ emb[j])
        with out:
            out.clear_output(wait=True)
            fig = viz.face_pair(faces.images[i], faces.images[j], sim, thresholds[far.value],
                                _label(faces, i), _label(faces, j), far=far.value)
            same = "same person" if faces.subjects[i] == faces.subjects[j] else \
                "different people"
            print(f"truth: {same}")
            display(fig)
            plt.close(fig)

    for _subj, light in pickers:
        light.observe(redraw, names="value")
    far.observe(redraw, names="value")
    redraw()
    controls = w.HBox([w.VBox([pickers[0][0], pickers[0][1]]),
                       w.VBox([pickers[1][0], pickers[1][1]]), far])
    return w.VBox([controls, out])

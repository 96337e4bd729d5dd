"""Lab 3's latent walk: a slider that moves through the GAN latent between two inversions."""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np

__all__ = ["latent_walk"]


def _png(image: np.ndarray, scale: int = 3) -> bytes:
    from PIL import Image

    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    img = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                         Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def latent_walk(run, a: int = 0, b: int = 1, steps: int = 21) -> widgets.Widget:
    """A slider from the GAN inversion of target ``a`` to that of target ``b``.

    Every position shows ``G((1 - w) z_a + w z_b)``: each intermediate image is drawn by
    the generator, so the walk stays on its face manifold (compare a pixel cross-fade,
    shown beside it, which is only a double exposure).

    Parameters
    ----------
    run
        An :class:`~faceleak.experiments.inversion.InversionRun` with its generator loaded.
    a, b
        Target indices (rows of ``run.z``).
    steps
        Positions of the slider.

    Returns
    -------
    ipywidgets.Widget
        Display it as the last expression of a cell.
    """
    from faceleak.privacy.attacks import latent_walk_frames

    _, walk, fade = latent_walk_frames(run.generator, run.z, run.recon["gan"], a, b, steps)
    label = (f"{run.target_subjects[a]} (A{int(run.target_azimuth[a]):+d} "
             f"E{int(run.target_elevation[a]):+d})  ->  {run.target_subjects[b]} "
             f"(A{int(run.target_azimuth[b]):+d} E{int(run.target_elevation[b]):+d})")
    slider = widgets.IntSlider(value=0, min=0, max=steps - 1, description="walk",
                               continuous_update=True, layout=widgets.Layout(width="420px"))
    latent_img = widgets.Image(value=_png(walk[0]), format="png")
    fade_img = widgets.Image(value=_png(fade[0]), format="png")
    caption = widgets.HTML()

    def update(change=None) -> None:
        k = slider.value
        latent_img.value = _png(walk[k])
        fade_img.value = _png(fade[k])
        caption.value = f"<small>{label}; w = {k / (steps - 1):.2f}</small>"

    slider.observe(update, names="value")
    update()
    panes = widgets.HBox([
        widgets.VBox([widgets.HTML("<b>latent walk G(z)</b>"), latent_img]),
        widgets.VBox([widgets.HTML("<b>pixel cross-fade</b>"), fade_img]),
    ])
    return widgets.VBox([caption, slider, panes])

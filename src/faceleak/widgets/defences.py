"""Lab 4's control: move along a defence's strength and watch utility, leakage and inversion."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np


def strength_explorer(rows: Sequence[Mapping], reconstruct: Callable[[str, float], np.ndarray],
                      original: np.ndarray):
    """An ipywidgets box: pick a defence and its strength; see the three numbers and an image.

    Parameters
    ----------
    rows
        Sweep rows from :func:`faceleak.experiments.defences.defence_sweep` (with ``defence_id``).
    reconstruct
        ``reconstruct(defence_id, strength) -> image`` giving the adaptive attacker's
        reconstruction of one held-out photo under that defence.
    original
        The held-out photo being attacked (H, W).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    by_defence: dict[str, list[Mapping]] = {}
    for r in rows:
        if r["defence_id"] != "none":
            by_defence.setdefault(r["defence_id"], []).append(r)
    baseline = next(r for r in rows if r["defence_id"] == "none")
    choice = widgets.Dropdown(options=list(by_defence), description="defence")
    level = widgets.SelectionSlider(options=[0], description="strength")
    out = widgets.Output()

    def set_levels(*_):
        level.options = [r["strength"] for r in by_defence[choice.value]]

    def draw(*_):
        row = next((r for r in by_defence[choice.value] if r["strength"] == level.value), None)
        if row is None:
            return
        out.clear_output(wait=True)
        with out:
            fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.0))
            axes[0].imshow(original, cmap="gray", vmin=0, vmax=1)
            axes[0].set_title("held-out photo", fontsize=8)
            axes[1].imshow(reconstruct(choice.value, level.value), cmap="gray", vmin=0, vmax=1)
            axes[1].set_title("attacker's reconstruction", fontsize=8)
            for ax in axes:
                ax.axis("off")
            plt.show()
            inv = row.get("inversion_success_other_1e-2", float("nan"))
            print(f"{row['defence']} at strength {row['strength']:g}\n"
                  f"  utility:   EER {row['eer']:.3f} (no defence {baseline['eer']:.3f})\n"
                  f"  leakage:   light-class accuracy {row['lighting_class_accuracy']:.2f} "
                  f"(no defence {baseline['lighting_class_accuracy']:.2f})\n"
                  f"  inversion: {inv:.0%} of reconstructions accepted against other photos")

    choice.observe(set_levels, names="value")
    choice.observe(draw, names="value")
    level.observe(draw, names="value")
    set_levels()
    draw()
    return widgets.VBox([widgets.HBox([choice, level]), out])

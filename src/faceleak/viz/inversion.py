"""Figures of Lab 3 (matplotlib): reconstructions, success against FAR, the adversarial panel.

Every function takes an :class:`faceleak.experiments.inversion.InversionRun` (or its
metrics dict) and returns a matplotlib figure or a pandas table; nothing here runs an attack.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Display names of the attacks, in the order of every table and figure.
ATTACK_NAMES: dict[str, str] = {
    "decoder": "Decoder (black box)",
    "gradient": "White-box pixels",
    "gan": "GAN inversion",
}


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def pick_targets(run, n_subjects: int = 4, lights: Sequence[tuple[int, int]] | None = None
                 ) -> np.ndarray:
    """Indices of targets to show: the first ``n_subjects`` subjects under each light."""
    subjects = list(dict.fromkeys(run.target_subjects.tolist()))[:n_subjects]
    keep = np.isin(run.target_subjects, subjects)
    if lights is not None:
        pairs = {(int(a), int(e)) for a, e in lights}
        keep &= np.array([(int(a), int(e)) in pairs for a, e in
                          zip(run.target_azimuth, run.target_elevation, strict=True)])
    return np.flatnonzero(keep)


def reconstruction_grid(run, index: Sequence[int] | None = None, show_init: bool = False):
    """Originals (top row) and each attack's reconstruction (rows) for chosen targets.

    Parameters
    ----------
    run
        An :class:`~faceleak.experiments.inversion.InversionRun`.
    index
        Targets to show (columns); default :func:`pick_targets`.
    show_init
        Add the GAN mapping's output before refinement as an extra row.
    """
    import matplotlib.pyplot as plt

    idx = np.asarray(pick_targets(run) if index is None else index)
    rows = [("Original (held out)", run.originals)]
    rows += [(ATTACK_NAMES[k], run.recon[k]) for k in ATTACK_NAMES]
    if show_init:
        rows.insert(3, ("GAN mapping only", run.recon["gan_init"]))
    fig, axes = plt.subplots(len(rows), len(idx), figsize=(0.78 * len(idx) + 1.6,
                                                           0.95 * len(rows) + 0.5),
                             squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c, i in enumerate(idx):
            ax = axes[r, c]
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=1)
            _bare(ax)
            if r == 0:
                ax.set_title(f"{run.target_subjects[i][-3:]}\n"
                             f"A{int(run.target_azimuth[i]):+d} E{int(run.target_elevation[i]):+d}",
                             fontsize=6.5)
            if c == 0:
                ax.set_ylabel(label, fontsize=7.5, rotation=0, ha="right", va="center")
    fig.tight_layout(pad=0.3)
    return fig


def success_table(metrics: dict):
    """The success-rate table: one row per attack (plus the references), as a DataFrame."""
    import pandas as pd

    cols = {
        "success_far_1e-3": "success @FAR 1e-3",
        "success_far_1e-2": "success @FAR 1e-2",
        "success_other_images_far_1e-3": "other photos @1e-3",
        "success_other_images_far_1e-2": "other photos @1e-2",
        "type2_success_far_1e-3": "type II @1e-3",
        "cosine": "cosine",
        "ssim": "SSIM",
        "psnr": "PSNR (dB)",
        "lighting_mae_deg": "light error, probe on E(x) (deg)",
        "lighting_mae_pixels_deg": "light error, probe on pixels (deg)",
    }
    rows = {ATTACK_NAMES[k]: metrics["attacks"][k] for k in ATTACK_NAMES}
    ref = metrics.get("reference", {})
    if "gan_mapping_only" in ref:
        rows["GAN mapping only (no refinement)"] = ref["gan_mapping_only"]
    if "mean_face" in ref:
        rows["Mean face (no attack)"] = ref["mean_face"]
    table = pd.DataFrame({name: {label: row.get(key) for key, label in cols.items()}
                          for name, row in rows.items()}).T
    return table.astype(float).round(3)


def success_vs_far(run, reference: float | None = None):
    """Success rate (on the embedding itself) against the FAR of the threshold, per attack."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    far = np.asarray(run.curves["far"])
    for key, label in ATTACK_NAMES.items():
        ax.plot(far, run.curves[key], marker="o", ms=3, label=label)
    for f in (1e-3, 1e-2):
        ax.axvline(f, color="0.7", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false accept rate of the threshold (real impostor pairs)")
    ax.set_ylabel("fraction of reconstructions accepted")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def adversarial_panel(run, i: int = 0, gain: float = 5.0):
    """One target: mean face, white-box result, its difference (amplified), GAN, original.

    The white-box image differs from the mean face by a faint pattern; amplifying the
    difference ``gain`` times shows it is high-frequency speckle, not a face.
    """
    import matplotlib.pyplot as plt

    diff = run.recon["gradient"][i] - run.mean_face
    panels = [
        ("start: mean face", run.mean_face, "gray", (0, 1)),
        ("white-box result", run.recon["gradient"][i], "gray", (0, 1)),
        (f"difference x{gain:g}", 0.5 + gain * diff, "gray", (0, 1)),
        ("GAN inversion", run.recon["gan"][i], "gray", (0, 1)),
        ("original", run.originals[i], "gray", (0, 1)),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(1.35 * len(panels), 2.0))
    for ax, (title, img, cmap, (lo, hi)) in zip(axes, panels, strict=True):
        ax.imshow(np.clip(img, lo, hi), cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=7.5)
        _bare(ax)
    fig.tight_layout(pad=0.3)
    return fig


def objective_curves(run):
    """Objective per step of the white-box and the GAN attacks (both minimise 1 - cos + prior)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 3.0))
    for key in ("gradient", "gan"):
        ax.plot(run.histories[key], label=ATTACK_NAMES[key])
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("objective (mean over targets)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def gan_samples(generator, n: int = 16, seed: int = 0):
    """Random faces from the GAN prior, to judge what the attack can draw from."""
    import matplotlib.pyplot as plt

    from faceleak.privacy.attacks import sample_gan

    _, faces = sample_gan(generator, n, seed=seed)
    cols = min(n, 8)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(0.8 * cols, 0.95 * rows), squeeze=False)
    for ax, img in zip(axes.ravel(), faces, strict=False):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    for ax in axes.ravel():
        _bare(ax)
    fig.tight_layout(pad=0.2)
    return fig


def latent_walk_strip(run, a: int = 0, b: int = 1, n: int = 5):
    """The latent walk of Lab 3 as a still: ``n`` positions, G(z) above, pixel cross-fade below.

    The static version of :func:`faceleak.widgets.inversion.latent_walk` for the published
    book: the same positions the slider would show at ``w = 0, 1/(n-1), ..., 1``.

    Parameters
    ----------
    run
        An :class:`~faceleak.experiments.inversion.InversionRun` with its generator loaded.
    a, b
        Target indices (rows of ``run.z``).
    n
        Positions shown (at least 2).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from faceleak.privacy.attacks import latent_walk_frames

    weights, walk, fade = latent_walk_frames(run.generator, run.z, run.recon["gan"], a, b, n)
    fig, axes = plt.subplots(2, n, figsize=(1.5 * n, 3.6), squeeze=False)
    for k, w in enumerate(weights):
        for row, img in ((0, walk[k]), (1, fade[k])):
            axes[row, k].imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
            _bare(axes[row, k])
        axes[0, k].set_title(f"w = {w:.2f}", fontsize=8)
    axes[0, 0].set_ylabel("latent walk G(z)", fontsize=8)
    axes[1, 0].set_ylabel("pixel cross-fade", fontsize=8)
    fig.suptitle(f"{run.target_subjects[a]} -> {run.target_subjects[b]}", fontsize=9)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- real recognizers

#: Display names of the attacks on the real recognizers, in table and figure order.
REAL_ATTACK_NAMES: dict[str, str] = {
    "decoder": "Decoder (queries only)",
    "decoder_es": "Decoder + evolution strategy",
    "gan_es": "GAN latent + evolution strategy",
    "gradient": "White-box pixels",
    "gan": "GAN prior, best random start",
    "gan_mapped": "GAN prior, mapped start (ID2image recipe)",
}


#: The reference rows of the real-recognizer table: no attack at all, and the photo itself.
REAL_REFERENCE_NAMES: dict[str, str] = {
    "mean_face": "mean face (no attack)",
    "target_64x56": "the target photo at 64x56",
}


def real_success_table(summaries: dict[str, dict]):
    """One row per attack on each real recognizer, two references, then the ceilings.

    Parameters
    ----------
    summaries
        Attacked backbone -> the summary of
        :func:`faceleak.experiments.real_inversion.run_real_inversion`.

    Returns
    -------
    pandas.DataFrame
        Type I, type II and cross-model success at FAR 1e-3 and 1e-2, SSIM, the light error
        of the pixel probe, and the queries (black box) or gradient steps (white box) per
        target. The ceiling rows are real photos of the person instead of reconstructions:
        another photo than the enrolled one, matched against the target's template (type I)
        and the person's other photos (type II) by the attacked recognizer, and against the
        target's template by the other real recognizer (cross-model); they can be below 1.
    """
    import pandas as pd

    cols = {f"{kind}_far_{far}": f"{label} @{far}" for kind, label in
            (("type1", "type I"), ("type2", "type II"), ("cross_model", "cross-model"))
            for far in ("1e-3", "1e-2")}
    rows: dict[str, dict] = {}
    for backbone, summary in summaries.items():
        for name, entry in summary["attacks"].items():
            row = {label: entry.get(key) for key, label in cols.items()}
            row["SSIM"] = entry.get("ssim")
            row["light error (deg)"] = entry.get("lighting_mae_pixels_deg")
            row["queries or steps per target"] = entry.get(
                "queries_per_target", entry.get("steps", 0))
            rows[f"{backbone}: {REAL_ATTACK_NAMES.get(name, name)}"] = row
        for name, label in REAL_REFERENCE_NAMES.items():
            entry = summary.get("reference", {}).get(name)
            if entry is not None:
                rows[f"{backbone}: {label}"] = {
                    **{lab: entry.get(key) for key, lab in cols.items()},
                    "SSIM": entry.get("ssim"),
                    "light error (deg)": entry.get("lighting_mae_pixels_deg")}
        own, cross = summary["type1_ceiling"], summary["cross_model_ceiling"]
        rows[f"{backbone}: ceiling (a real photo)"] = {
            **{f"type I @{far}": own[f"type1_far_{far}"] for far in ("1e-3", "1e-2")},
            **{f"type II @{far}": own[f"type2_far_{far}"] for far in ("1e-3", "1e-2")},
            **{f"cross-model @{far}": cross[f"type1_far_{far}"] for far in ("1e-3", "1e-2")}}
    return pd.DataFrame(rows).T.astype(float).round(3)


def real_reconstruction_grid(images: dict[str, dict[str, np.ndarray]], n: int = 6):
    """Targets (top row) and every attack's reconstruction, for each real recognizer.

    Parameters
    ----------
    images
        Attacked backbone -> what
        :func:`faceleak.experiments.real_inversion.load_reconstructions` returns.
    n
        Targets shown (columns), the first ``n``.
    """
    import matplotlib.pyplot as plt

    first = next(iter(images.values()))
    cols = min(n, len(first["target"]))
    rows = [("Original (held out)", first["target"])]
    for backbone, found in images.items():
        if len(found["target"]) < cols or not np.allclose(found["target"][:cols],
                                                          first["target"][:cols], atol=1 / 255):
            raise ValueError("the runs attacked different photos; show them one at a time")
        rows += [(f"{backbone}:\n{REAL_ATTACK_NAMES.get(k, k)}", found[k])
                 for k in REAL_ATTACK_NAMES if k in found]
    fig, axes = plt.subplots(len(rows), cols, figsize=(0.8 * cols + 2.6, 0.95 * len(rows) + 0.4),
                             squeeze=False)
    for r, (label, pics) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(pics[c], cmap="gray", vmin=0, vmax=1)
            _bare(ax)
            if r == 0:
                ax.set_title(f"{first['subjects'][c][-3:]}\nA{int(first['azimuth'][c]):+d} "
                             f"E{int(first['elevation'][c]):+d}", fontsize=6.5)
            if c == 0:
                ax.set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    fig.tight_layout(pad=0.3)
    return fig

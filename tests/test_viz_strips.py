"""The static strips that stand in for the labs' widgets in the published book."""

from dataclasses import dataclass
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from faceleak import viz  # noqa: E402
from faceleak.viz import defences as viz_defences  # noqa: E402
from faceleak.viz import inversion as viz_inversion  # noqa: E402
from faceleak.viz import leakage as viz_leakage  # noqa: E402


@dataclass
class Faces:
    images: np.ndarray
    subjects: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def faces(n: int = 4) -> Faces:
    rng = np.random.default_rng(0)
    return Faces(rng.random((n, 8, 7)), np.array(["p1", "p1", "p2", "p2"][:n]),
                 np.array([0.0, -110.0, 0.0, 50.0][:n]), np.zeros(n))


def test_pair_strip_states_each_pairs_cosine_decision_and_truth():
    emb = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0], [1.0, 1.0]])
    fig = viz.pair_strip(faces(), emb, [(0, 1), (0, 2)], threshold=0.5, far=1e-2)
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    # (0, 1): cosine 0.6 >= 0.5, same person; (0, 2): cosine 0 (rows are normalised).
    assert labels == ["cosine 0.600: ACCEPT\n(truth: same person)",
                      "cosine 0.000: REJECT\n(truth: different people)"]
    assert "FAR 0.01" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="one embedding per face"):
        viz.pair_strip(faces(), emb[:3], [(0, 1)], 0.5)
    with pytest.raises(ValueError, match="at least one"):
        viz.pair_strip(faces(), emb, [], 0.5)


def test_light_reading_strip_titles_true_and_read_light():
    f = faces(2)
    fig = viz_leakage.light_reading_strip(f.images, f.azimuth, f.elevation,
                                          np.array([4.4, -96.0]), np.array([1.0, 2.0]),
                                          captions=["p1", "p1"])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1] == "p1\ntrue A-110° E+0°\nread A-96° E+2°"
    with pytest.raises(ValueError, match="one true and one read"):
        viz_leakage.light_reading_strip(f.images, f.azimuth, f.elevation, [1.0], [1.0, 2.0])


def test_latent_walk_strip_shows_the_ends_of_the_walk_and_the_fade():
    import torch

    lin = torch.nn.Linear(2, 12, bias=False)  # a "generator": every pixel equals z[0]
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0]] * 12))
    generator = torch.nn.Sequential(lin, torch.nn.Unflatten(1, (4, 3)))
    z = np.array([[0.0, 0.0], [1.0, 0.0]], np.float32)
    recon = {"gan": np.stack([np.zeros((4, 3)), np.ones((4, 3))])}
    run = SimpleNamespace(generator=generator, z=z, recon=recon,
                          target_subjects=np.array(["a", "b"]))
    fig = viz_inversion.latent_walk_strip(run, 0, 1, n=3)
    means = [ax.images[0].get_array().mean() for ax in fig.axes]
    np.testing.assert_allclose(means, [0.0, 0.5, 1.0, 0.0, 0.5, 1.0], atol=1e-6)  # walk, fade
    with pytest.raises(ValueError, match="at least 2"):
        viz_inversion.latent_walk_strip(run, 0, 1, n=1)
    # The widget shows the same frames (one shared function computes them).
    from faceleak.privacy.attacks import latent_walk_frames
    from faceleak.widgets import inversion as widgets_inversion

    weights, walk, fade = latent_walk_frames(generator, z, recon["gan"], 0, 1, 3)
    np.testing.assert_allclose(weights, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(walk.mean(axis=(1, 2)), [0.0, 0.5, 1.0], atol=1e-6)
    np.testing.assert_allclose(fade.mean(axis=(1, 2)), [0.0, 0.5, 1.0], atol=1e-6)
    run.target_azimuth, run.target_elevation = np.array([0, 20]), np.array([0, -10])
    widgets_inversion.latent_walk(run, 0, 1, steps=3)
    with pytest.raises(IndexError, match="0..1"):
        widgets_inversion.latent_walk(run, 0, 2, steps=3)


def test_strength_strip_has_a_row_per_defence_and_a_panel_per_strength():
    rows = [{"defence_id": "none", "defence": "none", "strength": 0, "eer": 0.1,
             "lighting_class_accuracy": 0.9}]
    rows += [{"defence_id": d, "defence": d, "strength": s, "eer": 0.1 + s / 100,
              "lighting_class_accuracy": 0.5} for d, ss in (("pca", (8, 4)), ("noise", (1,)))
             for s in ss]
    calls = []

    def reconstruct(d, s):
        calls.append((d, s))
        return np.full((8, 7), 0.5)

    fig = viz_defences.strength_strip(rows, reconstruct, np.zeros((8, 7)))
    assert calls == [("pca", 8), ("pca", 4), ("noise", 1)]
    assert sum(1 for ax in fig.axes if ax.images) == 2 + 3  # two originals, three attacks
    assert "EER 0.180" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="no sweep rows"):
        viz_defences.strength_strip(rows, reconstruct, np.zeros((8, 7)), defences=["biohash"])


def test_tos_static_view_is_the_explorers_output_in_a_marked_block():
    pytest.importorskip("ipywidgets")
    from faceleak.widgets import tos as widgets_tos

    clause = "We may share your personal data with our partners for advertising."
    html = widgets_tos.static_view(clause).data
    assert html == f'<div class="faceleak-static">{widgets_tos.render_clause(clause)}</div>'
    assert "<mark" in html or "<b>" in html  # the analysis is there, not just the wrapper


@pytest.mark.parametrize("with_inversion", [False, True])
def test_tradeoff_draws_without_warnings_shown_to_readers(with_inversion, recwarn):
    # The real-recognizer sweep of Lab 4 has no inversion scores; a colour map given with a
    # plain colour made matplotlib warn into the published page.
    rows = [{"defence": "none", "eer": 0.17, "lighting_class_accuracy": 0.9}]
    for k, (eer, acc) in enumerate([(0.12, 0.6), (0.16, 0.8)]):
        row = {"defence": f"d{k}", "eer": eer, "lighting_class_accuracy": acc}
        if with_inversion:
            row["inversion_success_other_1e-2"] = 0.3 * k
        rows.append(row)
    fig = viz_defences.tradeoff(rows, title="t")
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    assert (len(fig.axes) == 2) == with_inversion  # the colour bar only with scores to show
    import matplotlib.pyplot as plt
    plt.close(fig)

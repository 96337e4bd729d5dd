"""The nuisance dial: transformations that do what they say, and the probe protocol on them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.filters import laplace

from faceleak import experiments
from faceleak.experiments import nuisance
from faceleak.vision import data


def smooth_image(shape=(64, 56), seed=0) -> np.ndarray:
    """A smooth, textured test image in [0.2, 0.8] (no clipping under mild transforms)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    image = np.zeros(shape)
    for _ in range(6):
        fy, fx, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
        image += np.sin(2 * np.pi * (fy * yy + fx * xx) + phase)
    image = (image - image.min()) / (image.max() - image.min())
    return eight_bit(0.2 + 0.6 * image)


def textured_image(shape=(192, 168), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return eight_bit(rng.uniform(0.2, 0.8, shape))


def eight_bit(image: np.ndarray) -> np.ndarray:
    """On 8-bit levels, like a photo (the dial rounds its output to them)."""
    return (np.round(np.asarray(image) * 255) / 255).astype(np.float32)


@pytest.fixture(scope="module")
def small_faces() -> data.FaceSet:
    """Ten subjects at the course's size (fast to load from any source)."""
    names = [f"yaleB{i:02d}" for i in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11)]
    return data.load_faces(data.COMPACT_SHAPE, subjects=names)


# --------------------------------------------------------------------------- transforms


def test_every_factor_keeps_shape_dtype_range_and_input():
    images = np.stack([smooth_image(seed=0), textured_image((64, 56), seed=1)])
    before = images.copy()
    for name, factor in nuisance.FACTORS.items():
        for strength in factor.levels:
            out = nuisance.apply_factor(images, name, strength)
            assert out.shape == images.shape and out.dtype == np.float32, name
            assert out.min() >= 0.0 and out.max() <= 1.0, name
            # rounded to 8-bit levels, as a saved photo
            np.testing.assert_allclose(out * 255, np.round(out * 255), atol=1e-3)
    np.testing.assert_array_equal(images, before)


def test_rotation_forth_and_back_is_identity_in_the_centre():
    image = smooth_image((96, 84))[None]
    for angle in (5.0, 12.5, 20.0):
        there = nuisance.apply_factor(image, "rotation", angle)
        back = nuisance.apply_factor(there, "rotation", -angle)
        centre = (slice(30, 66), slice(26, 58))
        assert np.abs(back[0][centre] - image[0][centre]).mean() < 0.01
        assert np.abs(there[0][centre] - image[0][centre]).mean() > 0.02


def test_positive_rotation_is_counter_clockwise():
    image = np.zeros((65, 65), np.float32)
    image[31:34, 50:53] = 1.0  # a dot right of the centre (32, 32)
    out = nuisance.apply_factor(image[None], "rotation", 20.0)[0]
    row, col = np.unravel_index(np.argmax(out), out.shape)
    assert row < 31  # moved up: counter-clockwise as displayed
    assert abs(np.hypot(row - 32, col - 32) - 19) < 2  # same distance from the centre


def test_zoom_scales_a_centred_disk_by_the_factor_squared():
    yy, xx = np.mgrid[0:96, 0:96]
    disk = ((yy - 47.5) ** 2 + (xx - 47.5) ** 2 < 20 ** 2).astype(np.float32)[None]
    area = disk.sum()
    for zoom in (0.8, 1.25):
        out = nuisance.apply_factor(disk, "zoom", zoom)
        assert out.sum() / area == pytest.approx(zoom ** 2, rel=0.05)


def test_flip_twice_is_identity_and_once_mirrors():
    image = textured_image((64, 56))[None]
    once = nuisance.apply_factor(image, "flip", 1)
    np.testing.assert_array_equal(once[0], image[0, :, ::-1])
    np.testing.assert_array_equal(nuisance.apply_factor(once, "flip", 1), image)
    np.testing.assert_array_equal(nuisance.apply_factor(image, "flip", 0), image)


def test_blur_reduces_high_frequency_energy_monotonically():
    image = textured_image((96, 84))[None]
    sigmas = nuisance.FACTORS["blur"].levels
    energy = [float(np.square(laplace(nuisance.apply_factor(image, "blur", s)[0])).mean())
              for s in sigmas]
    assert all(a > b for a, b in zip(energy, energy[1:], strict=False)), energy


def test_blur_sigma_scales_with_image_size():
    """The compact copy gets the blur of the full crop, scaled: sigma 3 at 192 is 1 at 64."""
    from skimage.filters import gaussian

    image = textured_image((64, 56))
    out = nuisance.apply_factor(image[None], "blur", 3.0)[0]
    expected = gaussian(image.astype(np.float64), sigma=1.0, mode="nearest")
    assert np.abs(out - expected).max() <= 0.5 / 255 + 1e-6


def test_lower_jpeg_quality_differs_more_from_the_original():
    image = smooth_image((96, 84))[None] * 0.5 + textured_image((96, 84))[None] * 0.5
    error = [float(np.abs(nuisance.apply_factor(image, "jpeg", q) - image).mean())
             for q in (5, 20, 50, 95)]
    assert all(a > b for a, b in zip(error, error[1:], strict=False)), error


def test_contrast_gain_scales_the_std_and_keeps_the_mean():
    image = smooth_image((64, 56))[None]
    for gain in (0.5, 0.833, 1.5):
        out = nuisance.apply_factor(image, "contrast", gain)
        assert out.std() == pytest.approx(gain * image.std(), rel=0.03)
        assert out.mean() == pytest.approx(image.mean(), abs=0.01)


def test_brightness_gain_scales_the_mean():
    image = smooth_image((64, 56))[None]
    for gain in (0.5, 1.167):
        out = nuisance.apply_factor(image, "brightness", gain)
        assert out.mean() == pytest.approx(gain * image.mean(), rel=0.02)


def test_identity_strengths_change_nothing_but_jpeg():
    image = smooth_image((64, 56))[None]
    for name, factor in nuisance.FACTORS.items():
        if name == "jpeg":
            continue
        out = nuisance.apply_factor(image, name, factor.identity)
        np.testing.assert_allclose(out, image, atol=1.01 / 255, err_msg=name)


# --------------------------------------------------------------------------- validation


def test_validation_messages():
    image = smooth_image()[None]
    with pytest.raises(ValueError, match="unknown factor 'sepia'"):
        nuisance.apply_factor(image, "sepia", 1.0)
    with pytest.raises(ValueError, match="one per image: 1 images"):
        nuisance.apply_factor(image, "rotation", [1.0, 2.0])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        nuisance.apply_factor(image * 2, "rotation", 1.0)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        nuisance.apply_factor(image[0], "rotation", 1.0)
    with pytest.raises(ValueError, match="floating point"):
        nuisance.apply_factor((image * 255).astype(np.uint8), "rotation", 1.0)
    with pytest.raises(ValueError, match=r"rotation strengths must lie in \[-20, 20\]"):
        nuisance.apply_factor(image, "rotation", 45.0)
    with pytest.raises(ValueError, match="flip strengths must be one of"):
        nuisance.apply_factor(image, "flip", 0.5)
    with pytest.raises(ValueError, match="unknown factor"):
        nuisance.dial_plan("quick", factors=("rotation", "fisheye"))
    with pytest.raises(ValueError, match="n_splits must be at least 1"):
        nuisance.dial_plan("quick", n_splits=0)


# --------------------------------------------------------------------------- plan and images


def test_plan_sizes_per_mode():
    quick, full = nuisance.dial_plan("quick"), nuisance.dial_plan("full")
    assert (quick.n_base, quick.n_copies, quick.n_splits, quick.n_heldout) == (1, 2, 5, 10)
    assert (full.n_base, full.n_copies, full.n_splits) == (8, 2, 10)
    assert set(quick.factors) == set(nuisance.FACTORS)
    json.dumps(quick.to_dict())


def test_base_images_prefer_frontal_and_mirror_the_second_light(small_faces):
    idx = nuisance.base_image_indices(small_faces, 2)
    assert len(idx) == 2 * len(small_faces.subject_names)
    az, el = small_faces.azimuth[idx], small_faces.elevation[idx]
    assert (az[0::2] == 0).all() and (el == 0).all()
    assert set(az[1::2]) == {10.0, -10.0}  # alternating sides across subjects


def test_base_images_fall_back_when_a_light_is_missing(small_faces):
    keep = ~((small_faces.subjects == "yaleB01") & (small_faces.azimuth == 0)
             & (small_faces.elevation == 0))
    faces = small_faces.subset(np.flatnonzero(keep))
    idx = nuisance.base_image_indices(faces, 3, subjects=["yaleB01"])
    assert len(idx) == 3 and len(set(idx.tolist())) == 3
    assert not ((faces.azimuth[idx] == 0) & (faces.elevation[idx] == 0)).any()


def test_dial_images_are_deterministic_and_in_range(small_faces):
    plan = nuisance.dial_plan("quick", factors=("rotation", "jpeg", "flip"), n_copies=2,
                              n_base=2)
    first = nuisance.dial_images(small_faces, plan, seed=3)
    again = nuisance.dial_images(small_faces, plan, seed=3)
    other = nuisance.dial_images(small_faces, plan, seed=4)
    n = 2 * 2 * len(small_faces.subject_names)
    for name, (images, strengths, subjects) in first.items():
        factor = nuisance.FACTORS[name]
        assert images.shape == (n, *data.COMPACT_SHAPE) and images.dtype == np.float32
        assert np.isin(strengths, factor.levels).all()
        counts = np.unique(strengths, return_counts=True)[1]
        assert counts.max() - counts.min() <= 1  # balanced over the levels
        np.testing.assert_array_equal(images, again[name].images)
        np.testing.assert_array_equal(strengths, again[name].strengths)
        assert not np.array_equal(strengths, other[name].strengths)
        assert len(subjects) == n
    # a factor's draws do not depend on which other factors run
    alone = nuisance.dial_images(small_faces, nuisance.dial_plan(
        "quick", factors=("jpeg",), n_copies=2, n_base=2), seed=3)
    np.testing.assert_array_equal(alone["jpeg"].strengths, first["jpeg"].strengths)


# --------------------------------------------------------------------------- probes


def synthetic_dial(signal: float, n_subjects=16, per_subject=6, dim=24, seed=0,
                   factor="rotation"):
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per_subject)
    strengths = nuisance.draw_strengths(factor, len(subjects), seed)
    scaled = (strengths - strengths.mean()) / strengths.std()
    identity = rng.normal(size=(n_subjects, dim))[np.repeat(np.arange(n_subjects), per_subject)]
    direction = rng.normal(size=dim)
    direction /= np.linalg.norm(direction)
    features = identity + signal * scaled[:, None] * direction \
        + 0.05 * rng.normal(size=(len(subjects), dim))
    return features.astype(np.float32), strengths, subjects


PROBE_PLAN = dict(n_splits=3, n_heldout=4, n_permutations=199, pixel_components=16)


def test_probe_reads_a_planted_strength_better_than_noisy_pixels():
    x, strengths, subjects = synthetic_dial(signal=5.0)
    rng = np.random.default_rng(1)
    scaled = (strengths - strengths.mean()) / strengths.std()
    pixels = rng.normal(size=(len(x), 200)) + 0.3 * scaled[:, None] * rng.normal(size=200)
    plan = nuisance.dial_plan("quick", factors=("rotation",), **PROBE_PLAN)
    (row,) = nuisance.dial_leakage({"rotation": x}, {"rotation": strengths}, subjects, plan,
                                   {"rotation": pixels})
    assert row["metric"] == "r2" and row["n_splits"] == 3
    assert row["embedding_mean"] > 0.9
    assert row["pixels_mean"] < row["embedding_mean"]
    assert row["leakage_ratio_mean"] > 1.0
    assert row["chance_mean"] <= 0.05
    assert row["embedding_low"] <= row["embedding_mean"] <= row["embedding_high"]
    assert len(row["embedding_by_split"]) == 3
    assert row["p_value"] == pytest.approx(1 / 200)


def test_probe_on_pure_noise_reads_nothing():
    x, strengths, subjects = synthetic_dial(signal=0.0)
    plan = nuisance.dial_plan("quick", factors=("rotation",), **PROBE_PLAN)
    (row,) = nuisance.dial_leakage({"rotation": x}, {"rotation": strengths}, subjects, plan)
    assert row["embedding_mean"] <= 0.1
    assert row["p_value"] > 0.05
    assert "pixels_mean" not in row and "leakage_ratio_mean" not in row


def test_flip_is_scored_by_accuracy():
    x, strengths, subjects = synthetic_dial(signal=3.0, factor="flip")
    plan = nuisance.dial_plan("quick", factors=("flip",), kinds=("linear",), **PROBE_PLAN)
    (row,) = nuisance.dial_leakage({"flip": x}, {"flip": strengths}, {"flip": subjects}, plan)
    assert row["metric"] == "accuracy" and row["embedding_mean"] > 0.9
    assert row["chance_mean"] == pytest.approx(0.5, abs=0.15)


def test_dial_leakage_rejects_mismatched_inputs():
    x, strengths, subjects = synthetic_dial(signal=1.0)
    plan = nuisance.dial_plan("quick", factors=("rotation",), **PROBE_PLAN)
    with pytest.raises(ValueError, match="do not match"):
        nuisance.dial_leakage({"rotation": x[:-1]}, {"rotation": strengths}, subjects, plan)
    with pytest.raises(ValueError, match="unknown factor"):
        nuisance.dial_leakage({"tilt": x}, {"tilt": strengths}, subjects, plan)


# --------------------------------------------------------------------------- end to end


def test_run_nuisance_dial_end_to_end_with_the_course_backbone(small_faces, cache):
    run = experiments.resolve_plan("quick")
    dial = nuisance.dial_plan(run, factors=("rotation", "blur", "flip"), n_base=2,
                              n_copies=3, n_splits=2, n_heldout=3, n_permutations=99,
                              pixel_components=24)
    result = nuisance.run_nuisance_dial(["yale-cosface"], faces=small_faces, dial=dial,
                                        plan=run)
    text = json.dumps(result)  # JSON-serialisable as it is
    assert json.loads(text)["mode"] == "quick"
    assert result["data"]["image_size"] == list(data.COMPACT_SHAPE)
    assert result["data"]["images_per_factor"] == 10 * 2 * 3
    assert result["backbones"] == ["yale-cosface"]
    assert [r["factor"] for r in result["rows"]] == ["rotation", "blur", "flip"]
    assert set(result["seconds"]) >= {"yale-cosface", "probes", "total"}
    for row in result["rows"]:
        assert row["backbone"] == "yale-cosface"
        for key in ("embedding_mean", "pixels_mean", "chance_mean", "leakage_ratio_mean",
                    "p_value"):
            assert key in row
    rows = {r["factor"]: r for r in result["rows"]}
    assert rows["flip"]["metric"] == "accuracy" and rows["rotation"]["metric"] == "r2"
    # the pixels read rotation strongly: the baseline works. (Not blur: at the course's
    # 64x56 the box filter has already removed most of what a blur removes.)
    assert rows["rotation"]["pixels_mean"] > 0.5
    assert rows["rotation"]["chance_mean"] < 0.05
    assert 0 <= rows["rotation"]["leakage_ratio_n"] <= 2

    from faceleak.viz import nuisance as viz_nuisance

    fig = viz_nuisance.dial_figure(result["rows"])
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == 3
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_dial_leakage_is_the_same_with_worker_processes(monkeypatch):
    """Factors probed in worker processes give exactly the rows of the sequential run."""
    x, strengths, subjects = synthetic_dial(signal=2.0)
    plan = nuisance.dial_plan("quick", factors=("rotation", "zoom"), kinds=("linear",),
                              **{**PROBE_PLAN, "n_splits": 2})
    args = ({"rotation": x, "zoom": x[:, ::-1]}, {"rotation": strengths, "zoom": strengths},
            subjects, plan)
    rows = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("FACELEAK_PROBE_WORKERS", workers)
        rows[workers] = nuisance.dial_leakage(*args)
    assert [r["factor"] for r in rows["2"]] == ["rotation", "zoom"]
    assert rows["1"] == rows["2"]

"""Attack metrics: thresholds, success rates and image metrics on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from faceleak.privacy import attack_metrics as am


def test_far_label():
    assert am.far_label(1e-3) == "1e-3"
    assert am.far_label(0.01) == "1e-2"
    assert am.far_label(0.05) == "0.05"


def test_threshold_at_far_hand_cases():
    # The smallest threshold t with mean(imp >= t) <= far: just above the highest impostor
    # score that must be rejected.
    imp = np.array([0.1, 0.2, 0.3, 0.4])
    assert am.threshold_at_far(imp, 0.25) == np.nextafter(0.3, np.inf)  # one of four may pass
    assert am.threshold_at_far(imp, 0.5) == np.nextafter(0.2, np.inf)   # two of four
    assert am.threshold_at_far(imp, 0.1) == np.nextafter(0.4, np.inf)   # none may pass
    # A tie at the boundary would let two impostors through: the threshold moves above it.
    assert np.mean(np.array([0.1, 0.3, 0.3, 0.4]) >= am.threshold_at_far(
        np.array([0.1, 0.3, 0.3, 0.4]), 0.5)) <= 0.5


@pytest.mark.parametrize("far", [1e-3, 1e-2, 0.1])
def test_threshold_is_the_lowest_admissible(far):
    rng = np.random.default_rng(0)
    imp = rng.normal(size=5000)
    thr = am.threshold_at_far(imp, far)
    assert np.mean(imp >= thr) <= far
    below = imp[imp < thr].max()
    assert np.mean(imp >= below) > far  # one step lower would exceed the FAR


def test_threshold_agrees_with_sklearn_roc():
    from faceleak.vision import metrics

    rng = np.random.default_rng(1)
    imp, gen = rng.normal(0, 0.1, 4000), rng.normal(0.5, 0.2, 300)
    _, thr_ref = metrics.tar_at_far(gen, imp, 1e-2)
    thr = am.threshold_at_far(imp, 1e-2)
    # Same accepted impostors; sklearn's threshold is a genuine or impostor score.
    assert np.mean(imp >= thr) == pytest.approx(np.mean(imp >= thr_ref))


def test_threshold_validation():
    with pytest.raises(ValueError):
        am.threshold_at_far(np.array([]), 0.1)
    for far in (-0.1, 1.5, np.nan):
        with pytest.raises(ValueError, match="far"):
            am.threshold_at_far(np.array([0.1]), far)
    # far = 0 is an operating point (no impostor accepted), not an error.
    assert am.threshold_at_far(np.array([0.1]), 0) == np.nextafter(0.1, np.inf)
    with pytest.raises(ValueError):
        am.threshold_at_far(np.array([np.nan]), 0.1)


def test_impostor_scores_pairs_only_across_subjects():
    emb = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]])
    subj = np.array(["a", "a", "b", "c"], dtype=object)
    scores = am.impostor_scores(emb, subj)
    assert len(scores) == 5  # 6 pairs minus the one genuine (0, 1)
    assert sorted(np.round(scores, 3).tolist()) == [0.0, 0.0, 0.6, 0.6, 0.8]
    with pytest.raises(ValueError):
        am.impostor_scores(emb, np.array(["a"] * 4, dtype=object))


def test_success_rate_and_cosine():
    t = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    r = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # cos 1, 0.707, 0
    np.testing.assert_allclose(am.cosine_to_target(r, t), [1, np.sqrt(0.5), 0], atol=1e-12)
    assert am.success_rate(r, t, 0.5) == pytest.approx(2 / 3)
    assert am.success_rate(r, t, 0.9) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        am.success_rate(r[:2], t, 0.5)
    with pytest.raises(ValueError):
        am.cosine_to_target(np.zeros((3, 2)), t)


def test_other_images_excludes_the_target_and_weights_each_reconstruction_once():
    gallery = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1], [0.2, 1], [-1, 0]], float)
    subjects = np.array(["a", "a", "b", "b", "b", "c"], dtype=object)
    recon = np.array([[1, 0], [0, 1]], float)
    scores = am.other_image_scores(recon, np.array([0, 2]), gallery, subjects)
    assert [len(s) for s in scores] == [1, 2]       # a: one other photo; b: two others
    rate = am.success_other_images(scores, 0.99)
    # recon 0 vs image 1: cos 0.995 (accepted); recon 1 vs images 3, 4: 0.995, 0.98
    assert rate == pytest.approx((1.0 + 0.5) / 2)
    with pytest.raises(ValueError):
        am.other_image_scores(recon, np.array([0, 9]), gallery, subjects)
    with pytest.raises(ValueError):
        am.success_other_images([np.array([])], 0.5)


def test_success_curve_is_monotone_in_far():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(40, 8))
    r = t + rng.normal(scale=1.0, size=t.shape)
    imp = rng.normal(0, 0.3, 3000)
    curve = am.success_curve(r, t, imp, [1e-3, 1e-2, 1e-1, 0.5])
    assert np.all(np.diff(curve) >= 0)


def test_ssim_psnr_match_skimage():
    rng = np.random.default_rng(0)
    a = rng.random((3, 16, 14))
    b = np.clip(a + rng.normal(scale=0.05, size=a.shape), 0, 1)
    ref_ssim = [structural_similarity(x, y, data_range=1.0) for x, y in zip(b, a, strict=True)]
    ref_psnr = [peak_signal_noise_ratio(y, x, data_range=1.0) for x, y in zip(b, a, strict=True)]
    np.testing.assert_allclose(am.ssim(b, a), ref_ssim)
    np.testing.assert_allclose(am.psnr(b, a), ref_psnr)


def test_ssim_psnr_known_values():
    x = np.full((1, 16, 16), 0.5)
    assert am.ssim(x, x)[0] == pytest.approx(1.0)
    y = x + 0.1  # MSE 0.01 -> PSNR 20 dB
    assert am.psnr(y, x)[0] == pytest.approx(20.0)
    with pytest.raises(ValueError):
        am.ssim(np.zeros((1, 16, 16)), np.zeros((1, 16, 14)))


def test_lighting_mae():
    pred = np.array([[10.0, 0.0], [-20.0, 30.0]])
    out = am.lighting_mae(pred, np.array([0.0, 0.0]), np.array([0.0, 10.0]))
    assert out == {"azimuth": 15.0, "elevation": 10.0, "mean": 12.5}
    with pytest.raises(ValueError):
        am.lighting_mae(pred[:, :1], np.zeros(2), np.zeros(2))


def test_attack_report_keys_and_values():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(12, 6))
    subjects = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 4, dtype=object)
    idx = np.array([0, 5])
    images = rng.random((2, 16, 16))
    thresholds = am.thresholds_at_fars(am.impostor_scores(gallery, subjects))
    report = am.attack_report(
        recon=images, originals=images, recon_emb=gallery[idx], target_emb=gallery[idx],
        target_index=idx, gallery_emb=gallery, gallery_subjects=subjects,
        thresholds=thresholds, light_pred=np.zeros((2, 2)), azimuth=np.zeros(2),
        elevation=np.ones(2))
    assert report["success_far_1e-3"] == 1.0 and report["success_far_1e-2"] == 1.0
    assert report["cosine"] == pytest.approx(1.0)
    assert report["ssim"] == pytest.approx(1.0)
    assert report["psnr"] == np.inf or report["psnr"] > 60
    assert report["type2_success_far_1e-3"] is None
    assert report["lighting_mae_deg"] == pytest.approx(0.5)
    for key in ("success_other_images_far_1e-3", "success_other_images_far_1e-2"):
        assert 0 <= report[key] <= 1

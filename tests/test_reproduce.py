"""The leakage experiment and its CLI, with the backbone replaced by a fast stand-in."""

import json

import numpy as np
import pytest

from faceleak import cli, experiments
from faceleak.cli import reproduce as cli_reproduce
from faceleak.experiments import common, recognizers
from faceleak.privacy import probes
from faceleak.vision import data

#: A small plan: few permutations, linear probes only, a small pixel baseline, a short sweep.
SMALL = experiments.resolve_plan(
    "quick", probes={"n_permutations": 19, "kinds": ("linear",), "pixel_components": 16},
    defences={"sweep": (("nuisance", (2,)), ("noise", (1.0,)), ("scale", (3.0,)))})
QUICK = experiments.resolve_plan("quick")


@pytest.fixture()
def fast(monkeypatch):
    """Embeddings = PCA of pixels plus noise (no training); the CLI runs the small plan."""

    def fake_backbone(faces, split, backbone, plan, seed=0, progress=False):
        train, _ = split.masks(faces.subjects)
        feats = probes.pixel_features(faces.images, train, 16)
        return feats + np.random.default_rng(0).normal(size=feats.shape).astype(np.float32)

    monkeypatch.setattr(common, "backbone_features", fake_backbone)
    monkeypatch.setattr(common, "untrained_features",
                        lambda faces, plan, seed=0, variant=None:
                        np.random.default_rng(seed).normal(size=(len(faces), 8)))
    monkeypatch.setattr(cli_reproduce, "run_plan", lambda args: SMALL)


def check_schema(result: dict, heldout: list[str] | None = None):
    assert set(result) >= {"backbone", "mode", "seed", "heldout_subjects", "targets"}
    assert result["mode"] in ("quick", "full")
    if heldout is not None:
        assert result["heldout_subjects"] == sorted(heldout)
    for target in ("azimuth", "elevation", "lighting_class"):
        entry = result["targets"][target]
        assert set(entry) >= {"embedding", "pixels", "untrained", "chance", "leakage_ratio",
                              "p_value"}
        for feature_set in ("embedding", "pixels", "untrained", "chance"):
            scores = entry[feature_set]
            if target == "lighting_class":
                assert 0.0 <= scores["accuracy"] <= 1.0
            else:
                assert scores["mae_deg"] >= 0 and scores["r2"] <= 1.0
        assert 0.0 < entry["p_value"] <= 1.0


def test_reproduce_leakage_schema(fast):
    result = experiments.reproduce_leakage(seed=3, plan=SMALL)
    check_schema(result)
    assert len(result["heldout_subjects"]) == 10
    json.dumps(result)  # JSON-serialisable, NaN-free


def test_cli_writes_json_for_explicit_heldout(fast, tmp_path):
    out = tmp_path / "leak.json"
    heldout = ["yaleB11", "yaleB03", "yaleB27"]
    code = cli.main(["reproduce", "leakage", "--mode", "quick", "--seed", "1",
                     "--heldout-subjects", ",".join(heldout), "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    check_schema(result, heldout)
    assert result["seed"] == 1


def test_cli_rejects_bad_subject_list(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["reproduce", "leakage", "--heldout-subjects", "bob,alice"])
    assert exc.value.code == 2
    assert "yaleB03,yaleB11" in capsys.readouterr().err


def test_cli_reports_unknown_subject(fast, capsys):
    code = cli.main(["reproduce", "leakage", "--heldout-subjects", "yaleB14"])
    assert code == 2 and "yaleB14" in capsys.readouterr().err  # yaleB14 does not exist


def test_split_is_the_data_layers_split():
    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    a = experiments.make_split(faces, seed=2)
    b = data.split_subjects(faces.subjects, n_heldout=10, seed=2)
    assert a == b


def test_summary_over_splits():
    t1 = {"azimuth": {"embedding": {"mae_deg": 30.0, "r2": 0.5}, "leakage_ratio": 0.6}}
    t2 = {"azimuth": {"embedding": {"mae_deg": 34.0, "r2": 0.4}, "leakage_ratio": 0.5}}
    rows = experiments.summarize_over_splits([t1, t2])
    mae = next(r for r in rows if r["metric"] == "mae_deg")
    assert mae["mean"] == pytest.approx(32.0) and mae["low"] < 32 < mae["high"]
    ratio = next(r for r in rows if r["feature_set"] == "leakage_ratio")
    assert ratio["mean"] == pytest.approx(0.55) and ratio["max"] == pytest.approx(0.6)


def test_defences_cli_schema(fast, tmp_path):
    out = tmp_path / "def.json"
    code = cli.main(["reproduce", "defences", "--mode", "quick", "--no-inversion",
                     "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert set(result) >= {"backbone", "mode", "seed", "heldout_subjects", "baseline", "sweep",
                           "operating_points", "biohash_keys"}
    assert result["baseline"]["defence"] == "none"
    assert result["decoder_at_operating_points"] is None  # --no-inversion
    assert result["gan_at_operating_points"] is None
    assert [r["defence_id"] for r in result["sweep"]] == ["none", "nuisance", "noise", "scale"]
    for row in result["sweep"]:
        assert set(row) >= {"eer", "tar_far_1e-2", "azimuth_r2", "lighting_class_accuracy"}
        assert 0.0 <= row["eer"] <= 1.0
    keys = result["biohash_keys"]
    assert keys["unknown_key"]["azimuth_mae_deg"] > keys["stolen_key"]["azimuth_mae_deg"]


def test_linear_inverter_is_adaptive_and_ranks_noise_below_no_defence():
    """The defence sweep's inversion axis on the real (packaged) backbone."""
    from faceleak.privacy import defenses
    from faceleak.vision import embed, models

    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    split = experiments.make_split(faces, seed=0)
    model, spec = models.get_backbone("yale-cosface", QUICK.backbones, train_if_missing=False,
                                      heldout_subjects=list(split.heldout))
    emb = embed.embed_faces(model, spec, faces, progress=False)
    inverter = experiments.linear_inverter(faces, split, "yale-cosface", emb, QUICK)
    clean = inverter(emb, {})
    noisy = inverter(defenses.NoiseDefence(strength=8.0).fit(emb).transform(emb), {})
    for result in (clean, noisy):
        assert set(result) == {"inversion_success_1e-2", "inversion_success_other_1e-2",
                               "inversion_ssim"}
        assert all(0.0 <= v <= 1.0 for k, v in result.items() if k != "inversion_ssim")
    assert clean["inversion_success_1e-2"] > noisy["inversion_success_1e-2"]
    image = experiments.linear_reconstruction(faces, split, emb, "none", 0.0,
                                            int(np.flatnonzero(split.masks(faces.subjects)[1])[0]))
    assert image.shape == faces.images.shape[1:] and 0.0 <= image.min() <= image.max() <= 1.0


@pytest.mark.parametrize("steps", [pytest.param(150, marks=pytest.mark.slow), 5])
def test_decoder_inverter_at_operating_points(steps, monkeypatch, cache):
    """Chapter 3's decoder, retrained on protected templates, at chosen operating points.

    150 steps (slow tier) learn enough to show that noise hurts the attack; 5 steps (fast
    tier) check the same plumbing: the config asked for, the rows and their ranges.
    """
    from faceleak.privacy import attacks, defenses
    from faceleak.vision import embed, models

    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    if steps < 150:
        # The plumbing needs few photos: 12 lights per person (a fifth of the embedding and
        # judging time, which is most of this test's).
        faces = faces.subset(recognizers.light_subset(faces.azimuth, faces.elevation, 12))
    split = experiments.make_split(faces, seed=0)
    model, spec = models.get_backbone("yale-cosface", QUICK.backbones, train_if_missing=False,
                                      heldout_subjects=list(split.heldout))
    emb = embed.embed_faces(model, spec, faces, progress=False)
    # A small plan. It asks for an identity-loss phase, which the inverter must drop: no
    # gradient through the defence is needed (the spy sees the config it trains with).
    short = QUICK.with_(inversion={"decoder_steps": steps, "decoder_id_steps": 3})
    trained = []
    original = attacks.train_decoder

    def spy(images, templates, model, spec, cfg, **kwargs):
        trained.append(cfg)
        return original(images, templates, model, spec, cfg, **kwargs)

    monkeypatch.setattr(attacks, "train_decoder", spy)
    inverter = experiments.decoder_inverter(faces, split, "yale-cosface", emb, short)
    points = [{"defence": "noise", "defence_id": "noise", "strength": 8.0, "ok": False},
              {"defence": "BioHash", "defence_id": "biohash", "strength": 32, "ok": True}]
    rows = experiments.operating_point_inversion(faces, split, emb, points, inverter)
    assert [r["defence"] for r in rows] == ["no defence", "noise", "BioHash"]
    clean, noisy, _ = rows
    assert all(0.0 <= r["inversion_success_other_1e-2"] <= 1.0 for r in rows)
    assert all(-1.0 <= r["inversion_ssim"] <= 1.0 for r in rows)
    # An empty cache and keys no committed decoder has: each one is trained here, and says so.
    assert [r["decoder_origin"] for r in rows] == ["trained now"] * 3
    assert isinstance(defenses.make_defence("biohash", 32), defenses.BioHash)
    assert [(c.decoder_steps, c.decoder_id_steps) for c in trained] == [(steps, 0)] * 3
    if steps < 150:
        return
    # Overwhelming noise leaves the decoder nothing to invert: worse faces than no defence.
    assert clean["inversion_ssim"] > noisy["inversion_ssim"]
    assert clean["inversion_success_1e-2"] >= noisy["inversion_success_1e-2"]


def test_best_protection_skips_the_control_and_points_over_budget():
    points = [{"defence_id": "scale", "ok": True, "lighting_class_accuracy": 0.1},
              {"defence_id": "biohash", "ok": False, "lighting_class_accuracy": 0.2},
              {"defence_id": "nuisance", "ok": True, "lighting_class_accuracy": 0.45},
              {"defence_id": "pca", "ok": True, "lighting_class_accuracy": 0.48}]
    assert experiments.best_protection(points)["defence_id"] == "nuisance"
    assert experiments.best_protection(points[:2]) is None


def test_gan_inverter_goes_through_linear_defences_only():
    """Chapter 3's GAN attack against protected templates, on the packaged models."""
    import torch

    from faceleak.privacy import attacks, defenses
    from faceleak.vision import embed, models

    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    split = experiments.make_split(faces, seed=0)
    model, spec = models.get_backbone("yale-cosface", QUICK.backbones, train_if_missing=False,
                                      heldout_subjects=list(split.heldout))
    emb = embed.embed_faces(model, spec, faces, progress=False)
    short = QUICK.with_(inversion={"n_gan_samples": 300, "mapping_steps": 50, "gan_steps": 5})
    inverter = experiments.gan_inverter(faces, split, "yale-cosface", emb, short, n_targets=6)
    points = [{"defence": "INLP", "defence_id": "nuisance", "strength": 2, "ok": True},
              {"defence": "BioHash", "defence_id": "biohash", "strength": 32, "ok": True}]
    rows = experiments.operating_point_inversion(faces, split, emb, points, inverter)
    assert [r["gan_applicable"] for r in rows] == [True, True, False]
    for row in rows[:2]:
        assert 0.0 <= row["inversion_success_other_1e-2"] <= 1.0
        assert 0.0 <= row["inversion_success_1e-2"] <= 1.0
    # The differentiable stand-in computes exactly the protected template.
    train, _ = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    inlp = defenses.NuisanceProjection(strength=2).fit(emb[train], light[train])
    attacked = attacks.ProtectedEmbedder(model, *defenses.linear_form(inlp, emb.shape[1]))
    with torch.no_grad():
        out = attacks.embed_tensor(attacked, spec, torch.as_tensor(faces.images[:8]))
    np.testing.assert_allclose(out.numpy(), inlp.transform(emb[:8]), atol=1e-4)


def test_leakage_experiment_reuses_an_identical_table(monkeypatch):
    """Lab 2 asks for split 0's table twice: the second call is a copy, not a recomputation,
    and any change of input (here the embedding) computes afresh."""
    from faceleak.experiments import leakage
    from faceleak.experiments.plan import resolve_plan
    from faceleak.privacy import probes
    from faceleak.vision import data

    faces = data.load_faces((64, 56), subjects=["yaleB01", "yaleB02", "yaleB03", "yaleB05"])
    split = data.split_subjects(faces.subjects, n_heldout=1, seed=0)
    emb = np.random.default_rng(0).normal(size=(len(faces), 8)).astype(np.float32)
    calls = []

    def table(feature_sets, targets, *args, **kwargs):  # stands in for the probes: a count
        calls.append(1)
        return {t: {"embedding": {"accuracy": float(len(calls))}} for t in targets}

    monkeypatch.setattr(probes, "leakage_table", table)
    monkeypatch.setattr(leakage, "_TABLES", {})
    kwargs = {"plan": resolve_plan("quick", "cpu"), "seed": 0, "targets": ("lighting_class",),
              "permutation_test": False}
    first = leakage.leakage_experiment(faces, split, emb, None, **kwargs)
    second = leakage.leakage_experiment(faces, split, emb, None, **kwargs)
    assert second == first and len(calls) == 1
    second["lighting_class"]["embedding"]["accuracy"] = -1.0  # a copy: the memo is untouched
    assert leakage.leakage_experiment(faces, split, emb, None, **kwargs) == first
    changed = leakage.leakage_experiment(faces, split, emb + 1e-3, None, **kwargs)
    assert len(calls) == 2 and changed["lighting_class"]["embedding"]["accuracy"] == 2.0

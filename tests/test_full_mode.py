"""Full mode, one step at a time, on the CPU: no full-only code path can rot unnoticed.

Full mode is opt-in (``FACELEAK_MODE=full``) and has not been run end to end on a GPU. The
labs only ever run quick mode in CI, so this file builds every experiment's full-mode
configuration and runs one training step (or one forward pass) of every network at its
full-mode size, on a tiny random batch. It checks that the code runs at those sizes, not
what it learns.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import get_args

import numpy as np
import pytest
import torch

from faceleak import config
from faceleak.experiments import inversion, leakage, nuisance, recognizers
from faceleak.experiments.plan import TABLE, resolve_plan
from faceleak.privacy import attacks, gan, probes
from faceleak.vision import models, train

FULL, QUICK = resolve_plan("full"), resolve_plan("quick")
HW = FULL.image_size
RECIPES = ("ensemble", "single")
TINY_BATCH = 8  # the networks are at full size; the batches are not


def _faces(n: int, n_subjects: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.random((n, *HW)).astype(np.float32)
    return images, np.arange(n) % n_subjects


@functools.cache
def _full_recipe(recipe: str) -> train.TrainResult:
    """A full-mode backbone recipe after one step (shared by the tests of this file)."""
    return _one_step(FULL.backbones.config(recipe))


def _one_step(cfg: train.TrainConfig) -> train.TrainResult:
    """One optimiser step of ``cfg``'s network, on one tiny batch."""
    cfg = dataclasses.replace(cfg, batch_size=TINY_BATCH)
    images, labels = _faces(cfg.batch_size)
    return train.train_backbone(images, labels, cfg, seed=0, device="cpu", max_steps=1,
                                fingerprint_step=1, progress=False, log=None)


def test_every_table_has_a_full_mode_that_is_larger_than_quick():
    assert config.MODES == ("quick", "full") and set(TABLE) == set(config.MODES)
    assert set(TABLE["quick"]) == set(TABLE["full"])
    for recipe in RECIPES:
        quick, full = QUICK.backbones.config(recipe), FULL.backbones.config(recipe)
        assert full.epochs > quick.epochs and sum(full.widths) > sum(quick.widths)
    assert FULL.gan.steps > QUICK.gan.steps
    full_inv, quick_inv = FULL.inversion, QUICK.inversion
    assert len(full_inv.target_lights) > len(quick_inv.target_lights)
    assert full_inv.decoder_width > quick_inv.decoder_width
    assert inversion.type2_config(FULL).epochs == full_inv.type2_epochs
    settings = leakage.probe_settings(FULL)
    assert settings["n_permutations"] > leakage.probe_settings(QUICK)["n_permutations"]
    plan = nuisance.dial_plan(FULL)
    assert plan.mode == "full" and plan.n_base > nuisance.dial_plan(QUICK).n_base
    assert plan.kinds == tuple(settings["kinds"]) and plan.pixel_size == HW
    faces_plan = recognizers.real_faces_plan(FULL)
    assert faces_plan.mode == "full" and faces_plan.describe()


def test_full_mode_is_chosen_only_when_asked(monkeypatch):
    monkeypatch.setattr(config, "cuda_available", lambda: True)
    monkeypatch.delenv(config.MODE_ENV, raising=False)
    assert resolve_plan() == resolve_plan("quick")
    monkeypatch.setenv(config.MODE_ENV, "full")
    assert resolve_plan() == resolve_plan("full")
    assert resolve_plan().inversion == FULL.inversion


@pytest.mark.parametrize("recipe", RECIPES)
def test_backbone_recipes_train_one_step_at_full_size(recipe):
    cfg = FULL.backbones.config(recipe)
    result = _full_recipe(recipe)
    model = result.model
    assert model.cfg == result.cfg == dataclasses.replace(cfg, batch_size=TINY_BATCH)
    assert train.count_parameters(model) > train.count_parameters(
        train.YaleFaceNet(QUICK.backbones.config(recipe)))
    assert len(result.history) == 1 and np.isfinite(result.history[0])
    spec = models.yale_spec(model)
    emb = attacks.embed_array(model, spec, _faces(3)[0])
    assert emb.shape == (3, model.output_dim) and np.allclose(np.linalg.norm(emb, axis=1), 1,
                                                              atol=1e-4)


def test_type2_judge_trains_one_step_at_full_size():
    cfg = inversion.type2_config(FULL)
    assert cfg.image_size == HW
    result = _one_step(cfg)
    assert np.isfinite(result.history[0])


@pytest.fixture(scope="module")
def full_backbone():
    """The course backbone's network at its full-mode size, after one step."""
    model = _full_recipe("ensemble").model.eval()
    return model, models.yale_spec(model)


def test_gan_trains_one_step_and_samples_at_full_size():
    cfg = dataclasses.replace(FULL.gan, batch_size=TINY_BATCH)
    images, _ = _faces(cfg.batch_size)
    result = gan.train_gan(images, cfg, seed=0, device="cpu", max_steps=1, progress=False,
                           log=None)
    z, x = attacks.sample_gan(result.generator, 3, seed=0)
    assert z.shape == (3, cfg.z_dim) and x.shape == (3, *HW)
    assert gan.Discriminator(cfg)(torch.from_numpy(x)).shape == (3,)


def test_inversion_attacks_run_one_step_at_full_size(full_backbone):
    model, spec = full_backbone
    cfg = dataclasses.replace(FULL.inversion, decoder_batch=TINY_BATCH)
    images, _ = _faces(cfg.decoder_batch)
    emb = attacks.embed_array(model, spec, images)
    # Decoder: one pixel-loss step, then one step with the identity loss (its own path).
    decoder, hist = attacks.train_decoder(
        images, emb, model, spec, dataclasses.replace(cfg, decoder_steps=1, decoder_id_steps=1),
        seed=0, device="cpu", log=None)
    assert decoder.width == cfg.decoder_width and len(hist["id"]) == 1
    assert attacks.decoder_attack(decoder, emb[:2]).shape == (2, *HW)
    # White-box pixel optimisation, one step.
    out, _ = attacks.gradient_attack(model, spec, emb[:2], images.mean(0), steps=1,
                                     lr=cfg.gradient_lr, tv_weight=cfg.gradient_tv,
                                     device="cpu")
    assert out.shape == (2, *HW)
    # The embedding-to-latent mapper and the latent refinement, with a full-size generator.
    gcfg = FULL.gan
    generator = gan.Generator(gcfg).eval()
    z = np.random.default_rng(0).standard_normal((8, gcfg.z_dim)).astype(np.float32)
    mapper, _ = attacks.train_mapper(emb[:8], z, steps=1, device="cpu")
    assert mapper(torch.from_numpy(emb[:2])).shape == (2, gcfg.z_dim)
    recon, z_out, _ = attacks.gan_attack(generator, model, spec, emb[:2], z[:2], steps=1,
                                         lr=cfg.gan_lr, prior_weight=cfg.gan_prior,
                                         device="cpu")
    assert recon.shape == (2, *HW) and z_out.shape == (2, gcfg.z_dim)


def test_probe_and_dial_sizes_of_full_mode_are_usable():
    settings = leakage.probe_settings(FULL)
    assert set(settings["kinds"]) <= set(get_args(probes.ProbeKind))
    plan = nuisance.dial_plan(FULL)
    assert plan.n_heldout == FULL.n_heldout_subjects
    assert plan.n_permutations > 0 and plan.n_splits >= 2
    # Full mode keeps every light of the real-faces experiment.
    az = np.repeat([-50.0, 0.0, 50.0], 2)
    el = np.tile([0.0, 20.0], 3)
    n_lights = FULL.real_faces.lights_per_subject
    assert recognizers.light_subset(az, el, n_lights).sum() == (
        len(az) if n_lights is None else min(n_lights, len(az)))


def test_real_inversion_attacks_run_one_step_at_full_size():
    # Chapter 3's attacks on the real recognizers at their full-mode sizes, with a stand-in
    # for the 128-d black box (dlib itself is exercised by the slow tier and the record).
    from faceleak.experiments import real_inversion
    from faceleak.privacy import blackbox

    s = FULL.real_inversion
    projection = np.random.default_rng(1).standard_normal((HW[0] * HW[1], 128))

    def black_box(images):
        e = np.asarray(images, np.float64).reshape(len(images), -1) @ projection
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    decoder = attacks.Decoder(128, s.decoder_width, HW).eval()
    targets = black_box(_faces(2)[0])
    assert attacks.decoder_attack(decoder, targets).shape == (2, *HW)
    generator = gan.Generator(FULL.gan).eval()
    one_step = dataclasses.replace(s, mapper_samples=TINY_BATCH, mapper_steps=1)
    start = real_inversion._mapped_latents(generator, black_box, targets, one_step, FULL, 0)
    assert start.shape == (2, FULL.gan.z_dim)
    counter = blackbox.QueryCounter(black_box)
    result = blackbox.es_refine(real_inversion._render(generator), counter, targets, start, 1,
                                s.latent_es_population, s.latent_es_sigma, s.latent_es_lr)
    assert result.images.shape == (2, *HW)
    assert counter.queries == 2 * (1 + s.latent_es_population)

"""Judges of a reconstruction: type I, type II, cross-model and ceilings on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from faceleak.privacy import judges as jd


def _gallery(n_subjects=40, per_subject=5, dim=64, spread=0.3, seed=0):
    """Clustered unit embeddings: one random centre per subject plus noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_subjects, dim))
    emb = np.repeat(centres, per_subject, 0) + spread * rng.normal(size=(n_subjects * per_subject,
                                                                         dim))
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], per_subject)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True), subjects


def test_identical_embeddings_pass_type1():
    emb, subjects = _gallery()
    judge = jd.Judge.from_gallery("a", emb, subjects)
    targets = np.arange(0, len(emb), 5)
    rates = jd.judge_rates(judge, emb[targets], targets)
    # The template itself scores cos = 1, above any threshold below 1.
    assert rates["type1_far_1e-3"] == 1.0 and rates["type1_far_1e-2"] == 1.0
    assert rates["cosine"] == pytest.approx(1.0)
    # A real photo of a well-separated cluster also passes type II.
    assert rates["type2_far_1e-2"] > 0.9


def test_random_reconstructions_pass_at_about_the_far():
    emb, subjects = _gallery(n_subjects=60, per_subject=4, dim=16, spread=3.0, seed=1)
    judge = jd.Judge.from_gallery("a", emb, subjects)
    rng = np.random.default_rng(2)
    # Random "reconstructions" drawn like impostors: the gallery's other subjects' photos.
    targets = np.arange(len(emb))
    impostor_rows = (targets + 4 * rng.integers(1, 59, size=len(emb))) % len(emb)
    rates = jd.judge_rates(judge, emb[impostor_rows], targets)
    assert rates["type1_far_1e-2"] <= 0.03
    assert rates["type1_far_1e-3"] <= 0.01


def test_ceiling_counts_other_photos():
    # Two subjects, three photos each; hand-made scores.
    emb = np.array([[1, 0, 0], [0.8, 0.6, 0], [0.8, -0.6, 0],
                    [0, 0, 1], [0, 0.6, 0.8], [0, -0.6, 0.8]], float)
    subjects = np.array(["a"] * 3 + ["b"] * 3)
    judge = jd.Judge(name="j", gallery_emb=emb, subjects=subjects, thresholds={0.01: 0.7})
    ceiling = jd.ceiling_rates(judge, np.array([0, 3]))
    # Photos 1 and 2 score 0.8 against photo 0; against each other 0.28: type II fails.
    assert ceiling["type1_far_1e-2"] == 1.0
    assert ceiling["type2_far_1e-2"] == 0.0
    judge = jd.Judge(name="j", gallery_emb=emb, subjects=subjects, thresholds={0.01: 0.2})
    assert jd.ceiling_rates(judge, np.array([0]))["type2_far_1e-2"] == 1.0


def test_tie_at_threshold_is_accepted():
    emb = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-0.6, 0.8]])
    subjects = np.array(["a", "a", "b", "b"])
    judge = jd.Judge(name="j", gallery_emb=emb, subjects=subjects, thresholds={0.001: 0.6})
    recon = np.array([[1.0, 0.0]])
    rates = jd.judge_rates(judge, recon, np.array([0]))
    assert rates["type2_far_1e-3"] == 1.0  # cos with photo 1 is exactly 0.6


def test_cross_model_uses_the_other_real_judge():
    emb_a, subjects = _gallery(seed=3)
    emb_b, _ = _gallery(seed=4)
    judges = {"a": jd.Judge.from_gallery("a", emb_a, subjects),
              "b": jd.Judge.from_gallery("b", emb_b, subjects),
              "course": jd.Judge.from_gallery("course", emb_b, subjects)}
    targets = np.arange(0, len(emb_a), 5)
    # Perfect for judge a, another subject's photo for judge b: fools a, recovers nothing.
    wrong = (targets + 5) % len(emb_a)
    verdict = jd.attack_verdict("a", judges, {"a": emb_a[targets], "b": emb_b[wrong],
                                              "course": emb_b[targets]},
                                targets, real_judges=("a", "b"))
    assert verdict["type1_far_1e-3"] == 1.0
    assert verdict["cross_model_judge"] == "b"
    assert verdict["cross_model_far_1e-2"] <= 0.1
    assert verdict["judges"]["course"]["type1_far_1e-3"] == 1.0


def test_bad_input_is_refused():
    emb, subjects = _gallery(n_subjects=3, per_subject=1)
    judge = jd.Judge.from_gallery("a", emb, subjects)
    with pytest.raises(ValueError, match="type II"):
        jd.judge_rates(judge, emb[:1], np.array([0]))
    with pytest.raises(ValueError, match="index"):
        jd.judge_rates(judge, emb[:1], np.array([7]))
    with pytest.raises(ValueError, match="one target index"):
        jd.judge_rates(judge, emb[:2], np.array([0]))
    with pytest.raises(ValueError, match="must be one of the judges"):
        jd.attack_verdict("z", {"a": judge}, {"a": emb}, np.array([0]), ("a",))
    with pytest.raises(ValueError, match="no reconstruction embeddings"):
        jd.attack_verdict("a", {"a": judge}, {}, np.array([0]), ("a",))

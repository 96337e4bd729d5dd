"""Query-only refinement against a fake black box whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from faceleak.privacy import blackbox


def _fake(dim=12, seed=0):
    """A linear "recognizer" of 4x3 images and a renderer that is the identity."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(size=(12, dim))

    def embed(images):
        return (images.reshape(len(images), -1) - 0.5) @ weight  # centred: cos spans [-1, 1]

    def render(u):
        return np.clip(np.asarray(u), 0, 1).reshape(len(u), 4, 3)

    return embed, render


def test_query_counter_counts_images():
    counter = blackbox.QueryCounter(lambda x: x.reshape(len(x), -1))
    counter(np.zeros((3, 2, 2)))
    counter(np.zeros((5, 2, 2)))
    assert counter.queries == 8
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        counter(np.zeros((2, 2)))


def test_rank_weights_are_centred_and_share_ties():
    w = blackbox.rank_weights(np.array([0.1, 0.5, 0.3]))
    np.testing.assert_allclose(w, [-0.5, 0.5, 0.0])
    np.testing.assert_allclose(blackbox.rank_weights(np.ones(4)), 0.0)


def test_es_improves_the_black_box_score_and_counts_queries():
    embed, render = _fake()
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.2, 0.8, size=(3, 12))
    target = embed(render(truth))
    counter = blackbox.QueryCounter(embed)
    u0 = rng.uniform(0.2, 0.8, size=(3, 12))  # another random face
    result = blackbox.es_refine(render, counter, target, u0, generations=30, population=8,
                                sigma=0.05, lr=0.05, seed=0)
    assert result.queries == 3 * (1 + 30 * 8) == counter.queries
    assert np.all(result.scores >= result.start_scores)
    assert result.scores.mean() > result.start_scores.mean() + 0.2
    assert result.history == sorted(result.history)  # the best never gets worse


def test_es_with_no_generations_returns_the_start():
    embed, render = _fake()
    counter = blackbox.QueryCounter(embed)
    u0 = np.random.default_rng(2).uniform(0.2, 0.8, size=(2, 12))
    result = blackbox.es_refine(render, counter, embed(render(u0)), u0, 0, 2, 0.1, 0.1)
    np.testing.assert_allclose(result.scores, 1.0)
    assert result.queries == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"population": 3}, "even"), ({"sigma": 0.0}, "sigma"),
    ({"u0": np.zeros((1, 12))}, "one start point")])
def test_es_refuses_bad_settings(kwargs, match):
    embed, render = _fake()
    args = {"u0": np.full((2, 12), 0.5), "population": 4, "sigma": 0.1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        blackbox.es_refine(render, blackbox.QueryCounter(embed), np.ones((2, 12)),
                           args["u0"], 1, args["population"], args["sigma"], 0.1)

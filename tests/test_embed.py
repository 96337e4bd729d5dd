"""Embedding extraction and its on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceleak.experiments.plan import resolve_plan
from faceleak.vision import data, embed, models, train


@pytest.fixture(scope="module")
def tiny_faces():
    return data.load_faces(subjects=["yaleB01", "yaleB02"]).subset(np.arange(0, 128, 8))


class CountingNet(torch.nn.Module):
    """A tiny deterministic 'backbone' that counts its forward passes."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(16 * 14, 8)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.proj(torch.nn.functional.avg_pool2d(x, 4).flatten(1))


SPEC = models.InputSpec(size=(64, 56), channels=1, offset=0.0, scale=255.0,
                        pad_to_square=False, embedding_dim=8)


def test_embed_faces_batches_and_normalises(cache):
    torch.manual_seed(0)
    net = CountingNet()
    images = np.random.default_rng(0).random((10, 64, 56), dtype=np.float32)
    emb = embed.embed_faces(net, SPEC, images, batch_size=4, progress=False)
    assert emb.shape == (10, 8) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert net.calls == 3  # 4 + 4 + 2
    # Batching must not change the result.
    again = embed.embed_faces(net, SPEC, images, batch_size=10, progress=False)
    np.testing.assert_allclose(emb, again, atol=1e-6)


def test_embed_faces_cache_hit_skips_the_model(cache):
    net = CountingNet()
    images = np.random.default_rng(1).random((6, 64, 56), dtype=np.float32)
    first = embed.embed_faces(net, SPEC, images, cache_key="unit-test", progress=False)
    assert embed.embedding_cache_path("unit-test").is_file()
    calls = net.calls
    second = embed.embed_faces(net, SPEC, images, cache_key="unit-test", progress=False)
    assert net.calls == calls
    np.testing.assert_array_equal(first, second)


def test_cache_key_is_validated(cache):
    with pytest.raises(ValueError, match="cache_key"):
        embed.embedding_cache_path("../escape")


def test_data_key_depends_on_pixels_not_only_names():
    images = np.zeros((3, 64, 56), np.float32)
    changed = images.copy()
    changed[0, 0, 0] = 0.5
    assert embed.data_key(images) != embed.data_key(changed)
    assert embed.data_key(images) == embed.data_key(images.copy())


def test_weights_hash_changes_with_weights():
    a = train.YaleFaceNet(train.TrainConfig(widths=(4, 4, 8, 8), embedding_dim=8))
    h = embed.weights_hash(a)
    with torch.no_grad():
        next(a.parameters()).add_(1e-3)
    assert embed.weights_hash(a) != h


def test_input_spec_prepare_for_facenet_and_yale():
    images = np.full((2, 64, 56), 0.5, np.float32)
    x = models.FACENET_SPEC.prepare(images)
    assert x.shape == (2, 3, 160, 160)
    # (0.5 * 255 - 127.5) / 128 == 0: a mid-gray face is zero after standardisation.
    assert torch.allclose(x, torch.zeros_like(x), atol=1e-5)
    y = SPEC.prepare(images)
    assert y.shape == (2, 1, 64, 56) and torch.allclose(y, torch.full_like(y, 0.5))
    with pytest.raises(ValueError, match="grayscale"):
        SPEC.prepare(np.zeros((2, 3, 64, 56, 1)))


def test_input_spec_prepare_is_differentiable():
    images = torch.rand(1, 64, 56, requires_grad=True)
    models.FACENET_SPEC.prepare(images).sum().backward()
    assert images.grad is not None and torch.isfinite(images.grad).all()


def test_embeddings_for_caches_by_backbone_weights_and_data(cache, monkeypatch, tiny_faces):
    net = train.YaleFaceNet(train.TrainConfig(widths=(4, 4, 8, 8), embedding_dim=8)).eval()
    calls = []

    def fake_get_backbone(name, recipes=None, seed=0):
        calls.append(name)
        return net, models.yale_spec(net)

    monkeypatch.setattr(embed, "get_backbone", fake_get_backbone)
    recipes = resolve_plan("quick").backbones
    first = embed.embeddings_for("yale-cosface", tiny_faces, recipes, progress=False)
    files = list((cache / "embeddings").glob("*.npy"))
    assert len(files) == 1 and files[0].name.startswith("yale-cosface-quick-w")
    second = embed.embeddings_for("yale-cosface", tiny_faces, recipes, progress=False)
    np.testing.assert_array_equal(first, second)
    assert len(list((cache / "embeddings").glob("*.npy"))) == 1
    # Other pixels -> another cache entry, never the stale one.
    blurred = tiny_faces.subset(np.arange(len(tiny_faces)))
    blurred.images = blurred.images * 0.5
    embed.embeddings_for("yale-cosface", blurred, recipes, progress=False)
    assert len(list((cache / "embeddings").glob("*.npy"))) == 2

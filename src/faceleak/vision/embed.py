"""Batch embedding extraction, cached on disk so that no lab recomputes another's work.

Two calls cover the labs:

* :func:`embed_faces` runs any model over images in batches (with a tqdm bar) and returns
  L2-normalised embeddings; given a ``cache_key`` it stores them.
* :func:`embeddings_for` does the same from a backbone *name*, with a cache key derived
  from the backbone's weights, the images and the mode, so Lab 1's embeddings are found
  again by Lab 2.

The cache is ``config.cache_dir()/embeddings/<key>.npy``. Keys hash the actual pixels
(not only file names), so a lab that blurs or masks the faces never gets stale
embeddings of the originals.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from faceleak import config
from faceleak.vision.data import FaceSet
from faceleak.vision.models import InputSpec, get_backbone
from faceleak.vision.train import BackboneRecipes

_KEY_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


def _as_images(faces: FaceSet | np.ndarray) -> np.ndarray:
    images = faces.images if isinstance(faces, FaceSet) else np.asarray(faces)
    if images.ndim != 3:
        raise ValueError(f"expected images (N, H, W), got shape {images.shape}")
    if images.dtype.kind not in "fu":
        raise ValueError(f"expected float images in [0, 1], got dtype {images.dtype}")
    return images


def embedding_cache_path(cache_key: str) -> Path:
    """File that holds the embeddings cached under ``cache_key``."""
    if not _KEY_RE.match(cache_key):
        raise ValueError(f"cache_key must be 1-200 characters of [A-Za-z0-9._-], "
                         f"got {cache_key!r}")
    return config.cache_dir() / "embeddings" / f"{cache_key}.npy"


def embed_faces(
    model: torch.nn.Module,
    spec: InputSpec,
    faces: FaceSet | np.ndarray,
    batch_size: int = 128,
    cache_key: str | None = None,
    progress: bool = True,
    device: str | None = None,
    channels_last: bool = False,
) -> np.ndarray:
    """Embed face images with a backbone, in batches.

    Parameters
    ----------
    model
        A backbone from :func:`faceleak.vision.models.get_backbone` (or any module mapping the
        spec's input to (N, D) embeddings).
    spec
        Its :class:`~faceleak.vision.models.InputSpec`.
    faces
        A :class:`~faceleak.vision.data.FaceSet` or an array (N, H, W) in [0, 1].
    batch_size
        Images per forward pass.
    cache_key
        When given, load the embeddings from the cache if present, else compute and store
        them. The caller is responsible for the key naming model, weights and data; use
        :func:`embeddings_for` to have it derived for you.
    progress
        Show a tqdm progress bar.
    device
        Where to run; by default the device the model's parameters are on.
    channels_last
        Feed the batches in channels-last memory order (the model is converted too): FaceNet
        runs about 25% faster so on a CPU (``scripts/benchmark_recognizers.py``).

    Returns
    -------
    numpy.ndarray
        float32 (N, D), each row of unit L2 norm.
    """
    images = _as_images(faces)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    path = embedding_cache_path(cache_key) if cache_key is not None else None
    if path is not None and path.is_file():
        cached = np.load(path, allow_pickle=False)
        if cached.shape[0] == len(images):
            return cached
    dev = torch.device(device) if device else model_device(model)
    was_training = model.training
    model.eval()
    out = np.empty((len(images), spec.embedding_dim), dtype=np.float32)
    starts = range(0, len(images), batch_size)
    starts = tqdm(starts, desc="embedding", unit="batch", leave=False,
                  disable=not (progress and config.progress_bars_enabled()))
    if channels_last:
        model.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        for s in starts:
            x = spec.prepare(images[s:s + batch_size]).to(dev)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            emb = torch.nn.functional.normalize(model(x).float(), dim=1)
            out[s:s + len(x)] = emb.cpu().numpy()
    model.train(was_training)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(path)
    return out


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (CPU for one with neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def weights_hash(model: torch.nn.Module) -> str:
    """SHA-256 (16 hex digits) of a model's parameters and buffers: names, shapes, values.

    A model whose weights live outside torch (dlib's) declares them in a
    ``weights_fingerprint`` attribute, which enters the hash.
    """
    digest = hashlib.sha256()
    fingerprint = getattr(model, "weights_fingerprint", None)
    if fingerprint is not None:
        digest.update(str(fingerprint).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        t = tensor.detach().cpu().contiguous()
        digest.update(str((tuple(t.shape), str(t.dtype))).encode())
        digest.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else
                      t.float().numpy().tobytes())
    return digest.hexdigest()[:16]


def data_key(faces: FaceSet | np.ndarray) -> str:
    """Hash of the data: source kind, image names, image size and the pixels themselves."""
    images = np.ascontiguousarray(_as_images(faces), dtype=np.float32)
    digest = hashlib.sha256()
    if isinstance(faces, FaceSet):
        digest.update(faces.source.kind.encode())
        digest.update("\n".join(map(str, faces.names)).encode())
    digest.update(str(images.shape).encode())
    digest.update(images.tobytes())
    return digest.hexdigest()[:16]


def embeddings_for(
    backbone: str,
    faces: FaceSet | np.ndarray,
    recipes: BackboneRecipes,
    seed: int = 0,
    batch_size: int | None = None,
    progress: bool = True,
    refresh: bool = False,
) -> np.ndarray:
    """Embeddings of ``faces`` by a named backbone, cached on disk.

    The cache key joins the backbone name, a hash of its weights, a hash of the data
    (:func:`data_key`) and the mode, so every lab that asks for the same thing shares one
    file.

    Parameters
    ----------
    backbone
        A name from :func:`faceleak.vision.models.available_backbones`.
    faces
        A :class:`~faceleak.vision.data.FaceSet` (or array of images).
    recipes, seed
        Passed to :func:`~faceleak.vision.models.get_backbone`: the run plan's recipes
        (``plan.backbones``, whose mode is part of the key) and the training seed.
    batch_size
        Images per batch (default 256 for the small CNN, 32 for FaceNet).
    progress
        Show progress bars.
    refresh
        Recompute even when cached.

    Raises
    ------
    faceleak.vision.models.WeightsError
        If a FaceNet backbone's weights are absent (offline).
    """
    if not isinstance(recipes, BackboneRecipes):
        raise ValueError("embeddings_for needs the run plan's recipes: pass "
                         f"experiments.resolve_plan().backbones (got {type(recipes).__name__})")
    model, spec = get_backbone(backbone, recipes, seed=seed)
    key = cache_key_for(backbone, model, faces, recipes.mode)
    if refresh:
        embedding_cache_path(key).unlink(missing_ok=True)
    size = batch_size or (32 if spec.channels == 3 else 256)
    return embed_faces(model, spec, faces, batch_size=size, cache_key=key, progress=progress)


def cache_key_for(backbone: str, model: torch.nn.Module, faces: FaceSet | np.ndarray,
                  mode: str) -> str:
    """The embedding cache key used by :func:`embeddings_for`."""
    return f"{backbone}-{mode}-w{weights_hash(model)}-d{data_key(faces)}"

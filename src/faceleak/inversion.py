"""Inverting face embeddings back into faces: three attacks, measured the same way.

Lab 3 attacks the course's backbone (Chapter 1) with three reconstructions of a held-out
person's photo from its embedding ``t`` alone:

``decoder`` (black box, NbNet-style)
    A network from embedding to image, trained on the training subjects' (image,
    embedding) pairs, plus faces sampled from the GAN below (as NbNet trained on DCGAN
    samples), with a pixel loss and an identity-preserving loss, the embedder's cosine on
    the reconstruction. At attack time it only needs ``t``: one forward pass.
``gradient`` (white box)
    Optimise the pixels of an image, starting from the mean training face, so that the
    embedder's output matches ``t``, with a total-variation prior. It reaches the
    acceptance threshold, but by adding a faint *adversarial* pattern to the mean face:
    the matcher is fooled, the face is not recovered.
``gan`` (ID2image at our scale)
    A DCGAN (:mod:`faceleak.gan`) trained on the training subjects' faces; a mapping
    network from embedding to latent ``z``, learnt on generated samples (encoder-based
    inversion); then the latent is refined by gradient descent on the embedding cosine
    (optimisation-based; together: hybrid inversion), optionally with a lighting term
    from the Chapter 2 probe, as ID2image added landmark and histogram terms. The
    reconstruction stays on the GAN's face manifold.

Every attack is scored by :func:`faceleak.attack_metrics.attack_report`. Nothing here is
fitted on a held-out subject: the GAN, the decoder, the mapping, the light probes and the
second (type II) embedder see only the backbone's training subjects; held-out subjects
provide the targets and the impostor pairs that set the thresholds.

:func:`run_inversion` returns everything the lab draws; :func:`reproduce_inversion` the
JSON summary the CLI writes. Both cache under ``config.cache_dir()/inversion``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import attack_metrics as am
from . import config
from . import gan as gan_mod

INVERSION_CODE_VERSION = 1
ATTACKS: tuple[str, ...] = ("decoder", "gradient", "gan")
Log = Callable[[str], None] | None


# =========================================================================== configuration


@dataclass(frozen=True)
class InversionConfig:
    """Sizes and weights of the three attacks (chosen on training subjects only).

    Attributes
    ----------
    target_lights
        (azimuth, elevation) of the photos attacked for each held-out subject.
    n_gan_samples
        Generated faces embedded to train the mapping network and to enlarge the
        decoder's training set.
    decoder_width, decoder_steps, decoder_id_steps, decoder_batch, decoder_lr
        Decoder size; pixel-loss steps, then steps that add the identity loss.
    decoder_id_weight
        Weight of ``1 - cos(E(D(t)), t)`` beside the L1 pixel loss.
    mapping_steps
        Steps of the embedding-to-latent MLP.
    gradient_steps, gradient_lr, gradient_tv
        White-box pixel optimisation: Adam steps, learning rate, total-variation weight.
    gan_steps, gan_lr, gan_prior
        Latent refinement: Adam steps, learning rate and the weight that keeps ``|z|`` on
        the shell where ``N(0, I)`` puts it.
    gan_light_weight
        Weight of the lighting term in the refinement (0 disables it).
    type2_epochs
        Training epochs of the second (type II) embedder.
    """

    target_lights: tuple[tuple[int, int], ...] = ((0, 0), (-35, 15), (50, 0))
    n_gan_samples: int = 3000
    decoder_width: int = 96
    decoder_steps: int = 500
    decoder_id_steps: int = 150
    decoder_batch: int = 64
    decoder_lr: float = 2e-3
    decoder_id_weight: float = 1.0
    mapping_steps: int = 1500
    gradient_steps: int = 150
    gradient_lr: float = 0.05
    gradient_tv: float = 0.02
    gan_steps: int = 150
    gan_lr: float = 0.05
    gan_prior: float = 0.1
    gan_light_weight: float = 0.0
    type2_epochs: int = 20

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


INVERSION_CONFIGS: dict[str, InversionConfig] = {
    "quick": InversionConfig(),
    "full": InversionConfig(
        target_lights=((0, 0), (-35, 15), (50, 0), (-70, 0), (20, -40), (0, 45),
                       (85, 20), (-60, -20)),
        n_gan_samples=20000, decoder_width=192, decoder_steps=4000, decoder_id_steps=1500,
        mapping_steps=5000, gradient_steps=400, gan_steps=400, type2_epochs=40),
}


def inversion_config(mode: str | None = None, **overrides) -> InversionConfig:
    """The :class:`InversionConfig` of a run mode, optionally with fields replaced."""
    base = INVERSION_CONFIGS[config.run_mode(mode)]
    return replace(base, **overrides) if overrides else base


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Eval mode and no parameter gradients inside the block; restore both afterwards.

    Attacks need gradients with respect to the *input* only; freezing the networks' own
    weights halves the backward pass and guarantees an attack never changes them.
    """
    saved = [(m.training, [p.requires_grad for p in m.parameters()]) for m in modules]
    try:
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)
        yield
    finally:
        for m, (training, flags) in zip(modules, saved, strict=True):
            m.train(training)
            for p, flag in zip(m.parameters(), flags, strict=True):
                p.requires_grad_(flag)


def embed_tensor(model: nn.Module, spec, images: torch.Tensor) -> torch.Tensor:
    """Differentiable embedding of images (N, H, W) in [0, 1]: unit-norm rows."""
    return F.normalize(model(spec.prepare(images)), dim=1)


def embed_array(model: nn.Module, spec, images: np.ndarray, batch_size: int = 256,
                device: str | None = None) -> np.ndarray:
    """Embeddings of a NumPy batch of images, without gradients (float32, unit rows)."""
    dev = torch.device(device or next(model.parameters()).device)
    out = []
    with frozen(model), torch.no_grad():
        for s in range(0, len(images), batch_size):
            x = torch.as_tensor(np.asarray(images[s:s + batch_size], np.float32), device=dev)
            out.append(embed_tensor(model, spec, x).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, spec.embedding_dim), np.float32)


# =========================================================================== light probes


@dataclass
class LinearMap:
    """``y = (x - mean) @ weight + bias``: a ridge regression usable in torch and NumPy."""

    mean: np.ndarray
    weight: np.ndarray
    bias: np.ndarray

    def __call__(self, x):
        if isinstance(x, torch.Tensor):
            mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device)
            weight = torch.as_tensor(self.weight, dtype=x.dtype, device=x.device)
            bias = torch.as_tensor(self.bias, dtype=x.dtype, device=x.device)
            return (x - mean) @ weight + bias
        return (np.asarray(x, np.float64) - self.mean) @ self.weight + self.bias


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> LinearMap:
    """Closed-form ridge regression (intercept unpenalised)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"need x (N, D) and y (N, K), got {x.shape} and {y.shape}")
    mean = x.mean(0)
    xc = x - mean
    weight = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - y.mean(0)))
    return LinearMap(mean, weight, y.mean(0))


def pixel_light_features(images):
    """4x4 average pooling of images (N, H, W): the pixel-level light probe's input.

    Pooling keeps the shading and discards fine texture, so a faint adversarial pattern
    does not fool this probe the way it fools the embedder.
    """
    if isinstance(images, torch.Tensor):
        return F.avg_pool2d(images[:, None], 4).flatten(1)
    x = np.asarray(images, np.float64)
    n, h, w = x.shape
    return x.reshape(n, h // 4, 4, w // 4, 4).mean(axis=(2, 4)).reshape(n, -1)


def _choose_alpha(x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas) -> float:
    """Ridge penalty chosen by leave-subjects-out validation *within* the training subjects."""
    names = np.array(sorted(set(groups.tolist())))
    folds = np.array_split(names, min(4, len(names)))
    best, best_err = float(alphas[0]), np.inf
    for alpha in alphas:
        err = []
        for fold in folds:
            val = np.isin(groups, fold)
            pred = fit_ridge(x[~val], y[~val], alpha)(x[val])
            err.append(np.abs(pred - y[val]).mean())
        if np.mean(err) < best_err:
            best, best_err = float(alpha), float(np.mean(err))
    return best


# =========================================================================== decoder (NbNet)


class Decoder(nn.Module):
    """Embedding (N, D) to face image (N, H, W) in [0, 1]: upsample-and-convolve decoder."""

    def __init__(self, emb_dim: int, width: int = 96, image_size: tuple[int, int] = (64, 56)):
        super().__init__()
        h, w = image_size
        if h % 8 or w % 8:
            raise ValueError(f"image_size must be multiples of 8, got {image_size}")
        self.width, self.start = width, (h // 8, w // 8)
        self.fc = nn.Sequential(nn.Linear(emb_dim, width * self.start[0] * self.start[1]),
                                nn.BatchNorm1d(width * self.start[0] * self.start[1]),
                                nn.ReLU())
        layers: list[nn.Module] = []
        c = width
        for _ in range(3):
            # Nearest upsampling + convolution avoids the checkerboard of transposed convs.
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(c, c // 2, 3, 1, 1, bias=False), nn.BatchNorm2d(c // 2),
                       nn.ReLU()]
            c //= 2
        layers.append(nn.Conv2d(c, 1, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        x = self.fc(emb).view(len(emb), self.width, *self.start)
        return torch.sigmoid(self.body(x))[:, 0]


def train_decoder(
    images: np.ndarray,
    embeddings: np.ndarray,
    embedder: nn.Module,
    spec,
    cfg: InversionConfig,
    seed: int = 0,
    device: str | None = None,
    log: Log = print,
) -> tuple[Decoder, dict]:
    """Train the NbNet-style decoder on (image, embedding) pairs of training subjects.

    The first ``cfg.decoder_steps`` steps use the L1 pixel loss; the last
    ``cfg.decoder_id_steps`` add ``decoder_id_weight * (1 - cos(E(D(t)), t))`` on a quarter
    of each batch (the embedder's backward pass is the expensive part).

    Returns
    -------
    decoder, history
        The eval-mode decoder and ``{"pixel": [...], "id": [...], "seconds": s}``.
    """
    images = np.asarray(images, np.float32)
    embeddings = np.asarray(embeddings, np.float32)
    if images.ndim != 3 or len(images) != len(embeddings):
        raise ValueError("need one embedding per image (N, H, W)")
    dev = torch.device(device or config.device())
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    dec = Decoder(embeddings.shape[1], cfg.decoder_width, images.shape[1:]).to(dev)
    total = cfg.decoder_steps + cfg.decoder_id_steps
    opt = torch.optim.Adam(dec.parameters(), lr=cfg.decoder_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.decoder_lr, total_steps=total,
                                                pct_start=0.1)
    x_all, e_all = torch.from_numpy(images), torch.from_numpy(embeddings)
    hist: dict = {"pixel": [], "id": []}
    start = time.perf_counter()
    batch = min(cfg.decoder_batch, len(images))
    dec.train()
    with frozen(embedder):
        for step in range(total):
            idx = torch.randint(len(x_all), (batch,), generator=gen)
            x, e = x_all[idx].to(dev), e_all[idx].to(dev)
            out = dec(e)
            pixel = F.l1_loss(out, x)
            loss = pixel
            if step >= cfg.decoder_steps and cfg.decoder_id_weight > 0:
                k = max(2, batch // 4)
                id_loss = 1 - (embed_tensor(embedder, spec, out[:k]) * e[:k]).sum(1).mean()
                loss = loss + cfg.decoder_id_weight * id_loss
                hist["id"].append(id_loss.item())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            hist["pixel"].append(pixel.item())
    hist["seconds"] = time.perf_counter() - start
    if log is not None:
        log(f"decoder: {total} steps on {len(images)} pairs in {hist['seconds']:.0f} s; "
            f"L1 {np.mean(hist['pixel'][:20]):.3f} -> {np.mean(hist['pixel'][-20:]):.3f}")
    return dec.eval(), hist


def decoder_attack(decoder: Decoder, target_emb: np.ndarray,
                   device: str | None = None) -> np.ndarray:
    """Reconstructions (N, H, W) from target embeddings: one forward pass, no gradients."""
    dev = torch.device(device or next(decoder.parameters()).device)
    with frozen(decoder), torch.no_grad():
        return decoder(torch.as_tensor(np.asarray(target_emb, np.float32), device=dev)
                       ).cpu().numpy()


# =========================================================================== white-box pixels


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels, per image (N,)."""
    return ((x[:, 1:, :] - x[:, :-1, :]).abs().mean((1, 2))
            + (x[:, :, 1:] - x[:, :, :-1]).abs().mean((1, 2)))


def gradient_attack(
    embedder: nn.Module,
    spec,
    target_emb: np.ndarray,
    start_image: np.ndarray,
    steps: int = 150,
    lr: float = 0.05,
    tv_weight: float = 0.02,
    device: str | None = None,
) -> tuple[np.ndarray, list[float]]:
    """White-box inversion: optimise pixels so the embedding matches each target.

    The image is parametrised as ``sigmoid(u)`` (stays in [0, 1]) and starts from
    ``start_image`` (the mean training face). The objective per image is
    ``1 - cos(E(x), t) + tv_weight * TV(x)``.

    Returns
    -------
    images, history
        Reconstructions (N, H, W) and the mean objective at each step.
    """
    target = np.asarray(target_emb, np.float32)
    start = np.asarray(start_image, np.float32)
    if target.ndim != 2 or start.ndim != 2:
        raise ValueError("need target_emb (N, D) and one start image (H, W)")
    dev = torch.device(device or next(embedder.parameters()).device)
    t = torch.as_tensor(target, device=dev)
    init = torch.logit(torch.as_tensor(start, device=dev).clamp(1e-3, 1 - 1e-3))
    u = init.expand(len(t), -1, -1).clone().requires_grad_(True)
    opt = torch.optim.Adam([u], lr=lr)
    history: list[float] = []
    with frozen(embedder):
        for _ in range(steps):
            x = torch.sigmoid(u)
            cos = (embed_tensor(embedder, spec, x) * t).sum(1)
            loss = (1 - cos + tv_weight * total_variation(x)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(loss.item())
    return torch.sigmoid(u).detach().cpu().numpy(), history


# =========================================================================== GAN inversion


class LatentMapper(nn.Module):
    """MLP from an embedding to a GAN latent ``z`` (the encoder of hybrid inversion)."""

    def __init__(self, emb_dim: int, z_dim: int, hidden: int = 512):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(emb_dim, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, z_dim))

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.net(emb)


class ProtectedEmbedder(nn.Module):
    """An embedder followed by a linear template protection ``x @ W + b``, differentiable.

    Lets the gradient-based attacks (:func:`gan_attack`, :func:`gradient_attack`) target a
    protected template, for the defences that have a linear form
    (:func:`faceleak.defenses.linear_form`).
    """

    def __init__(self, embedder: nn.Module, weight: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.embedder = embedder
        self.register_buffer("weight", torch.as_tensor(np.asarray(weight, np.float32)))
        self.register_buffer("bias", torch.as_tensor(np.asarray(bias, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embedder(x), dim=1) @ self.weight + self.bias


def sample_gan(generator: nn.Module, n: int, seed: int = 0, batch_size: int = 256,
               device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` latents ``z ~ N(0, I)`` and their generated faces (no gradients)."""
    dev = torch.device(device or next(generator.parameters()).device)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.cfg.z_dim, generator=gen)
    out = []
    with frozen(generator), torch.no_grad():
        for s in range(0, n, batch_size):
            out.append(generator(z[s:s + batch_size].to(dev)).cpu())
    return z.numpy(), torch.cat(out).numpy()


def train_mapper(embeddings: np.ndarray, latents: np.ndarray, steps: int = 1500,
                 seed: int = 0, device: str | None = None) -> tuple[LatentMapper, list[float]]:
    """Fit the embedding-to-latent MLP on generated samples (MSE on ``z``)."""
    dev = torch.device(device or config.device())
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    e_all = torch.as_tensor(np.asarray(embeddings, np.float32))
    z_all = torch.as_tensor(np.asarray(latents, np.float32))
    mapper = LatentMapper(e_all.shape[1], z_all.shape[1]).to(dev)
    opt = torch.optim.Adam(mapper.parameters(), lr=1e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    hist: list[float] = []
    for _ in range(steps):
        idx = torch.randint(len(e_all), (min(256, len(e_all)),), generator=gen)
        loss = F.mse_loss(mapper(e_all[idx].to(dev)), z_all[idx].to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        hist.append(loss.item())
    return mapper.eval(), hist


def gan_attack(
    generator: nn.Module,
    embedder: nn.Module,
    spec,
    target_emb: np.ndarray,
    z_init: np.ndarray,
    steps: int = 150,
    lr: float = 0.05,
    prior_weight: float = 0.1,
    light_weight: float = 0.0,
    light_from_emb: LinearMap | None = None,
    light_from_pixels: LinearMap | None = None,
    device: str | None = None,
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Optimisation-based GAN inversion: refine latents so ``E(G(z))`` matches the targets.

    Objective per target: ``1 - cos(E(G(z)), t) + prior_weight * (|z| / sqrt(d) - 1)^2``
    and, when ``light_weight > 0``, ``light_weight * mean(((P(G(z)) - L(t)) / 90)^2)``:
    the pixel-level light of the image (``light_from_pixels``) should match the light
    that the Chapter 2 probe reads from the target embedding (``light_from_emb``).

    Returns
    -------
    images, z, history
        Reconstructions (N, H, W), refined latents (N, z_dim), mean objective per step.
    """
    target = np.asarray(target_emb, np.float32)
    z0 = np.asarray(z_init, np.float32)
    if target.ndim != 2 or z0.shape != (len(target), generator.cfg.z_dim):
        raise ValueError(f"need target_emb (N, D) and z_init (N, {generator.cfg.z_dim})")
    if light_weight > 0 and (light_from_emb is None or light_from_pixels is None):
        raise ValueError("the lighting term needs light_from_emb and light_from_pixels")
    dev = torch.device(device or next(embedder.parameters()).device)
    t = torch.as_tensor(target, device=dev)
    z = torch.as_tensor(z0, device=dev).clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    sqrt_d = float(np.sqrt(z0.shape[1]))
    light_target = None
    if light_weight > 0:
        light_target = light_from_emb(t).detach()  # type: ignore[misc]
    history: list[float] = []
    with frozen(generator, embedder):
        for _ in range(steps):
            x = generator(z)
            cos = (embed_tensor(embedder, spec, x) * t).sum(1)
            loss = 1 - cos + prior_weight * (z.norm(dim=1) / sqrt_d - 1) ** 2
            if light_target is not None:
                light = light_from_pixels(pixel_light_features(x))  # type: ignore[misc]
                loss = loss + light_weight * (((light - light_target) / 90) ** 2).mean(1)
            loss = loss.mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(loss.item())
        with torch.no_grad():
            images = generator(z).cpu().numpy()
    return images, z.detach().cpu().numpy(), history


def interpolate_latents(generator: nn.Module, z_a: np.ndarray, z_b: np.ndarray,
                        n: int = 9) -> np.ndarray:
    """Faces along the straight line from latent ``z_a`` to ``z_b`` (n, H, W)."""
    dev = next(generator.parameters()).device
    w = torch.linspace(0, 1, n)[:, None]
    z = (1 - w) * torch.as_tensor(z_a, dtype=torch.float32) + w * torch.as_tensor(
        z_b, dtype=torch.float32)
    with frozen(generator), torch.no_grad():
        return generator(z.to(dev)).cpu().numpy()


# =========================================================================== type II embedder


def type2_config(mode: str | None = None, epochs: int | None = None):
    """Config of the second embedder: narrower ResNet, ArcFace instead of CosFace, and plain
    per-image standardisation instead of the main backbone's illumination normalisation."""
    from . import train

    cfg = inversion_config(mode)
    # Every field is spelled out, so a change of the main backbone's defaults in
    # faceleak.train never silently changes (and retrains) the judge.
    return train.TrainConfig(
        widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), embedding_dim=64, loss="arcface",
        scale=30.0, margin=0.3, epochs=epochs if epochs is not None else cfg.type2_epochs,
        batch_size=64, lr=3e-3, weight_decay=5e-4, dropout=0.2, shift=4.0, scale_jitter=0.08,
        rotation=5.0, gamma_jitter=0.4, image_size=config.settings(mode).image_size,
        preprocess="standardize")


def load_type2_backbone(train_subjects: Sequence[str], images: np.ndarray | None,
                        labels: np.ndarray | None, mode: str | None = None, seed: int = 1,
                        device: str | None = None, log: Log = print):
    """The type II judge: another architecture, loss and seed, same training subjects.

    Cached under ``cache_dir()/inversion``; a copy committed in ``resources/gan`` (made by
    ``scripts/train_inversion_models.py``) is used when its key matches.

    Returns
    -------
    model, spec, meta
    """
    from . import models, train

    resolved = config.run_mode(mode)
    cfg = type2_config(resolved)
    key = train.cache_key(cfg, seed, train_subjects)
    path = config.cache_dir() / "inversion" / f"type2-{key}.pt"
    dev = device or config.device()
    packaged = gan_mod.packaged_gan_path(resolved, seed).with_name(
        f"type2-{resolved}-seed{seed}.pt")
    for candidate, origin in ((path, "cache"), (packaged, "package")):
        if candidate.is_file():
            ckpt = models.read_checkpoint(candidate)
            if ckpt["key"] == key:
                model = models.model_from_checkpoint(ckpt).to(dev)
                if log is not None:
                    log(f"type II embedder: loaded from the {origin} ({candidate.name})")
                meta = {k: v for k, v in ckpt.items() if k != "state_dict"}
                meta["origin"] = origin
                return model, models.yale_spec(model), meta
    if images is None or labels is None:
        raise ValueError("the type II embedder must be trained: pass images and labels")
    result = train.train_backbone(images, labels, cfg, seed=seed, device=dev, log=log)
    ckpt = {
        "format": models.CHECKPOINT_FORMAT, "name": "type2-" + models.YALE_BACKBONE,
        "key": key, "mode": resolved, "config": cfg.to_dict(), "seed": seed,
        "train_subjects": sorted(train_subjects), "train_seconds": float(result.seconds),
        "loss_history": [float(v) for v in result.history],
        "state_dict": {k: (v.detach().cpu().half() if v.is_floating_point() else v.cpu())
                       for k, v in result.model.state_dict().items()},
    }
    models.save_checkpoint(ckpt, path)
    model = models.model_from_checkpoint(ckpt).to(dev)
    meta = {k: v for k, v in ckpt.items() if k != "state_dict"}
    meta["origin"] = "trained now"
    return model, models.yale_spec(model), meta


# =========================================================================== the whole lab


@dataclass
class InversionRun:
    """Everything Lab 3 shows: targets, reconstructions, metrics and the trained parts.

    Attributes
    ----------
    metrics
        The JSON summary (see :func:`reproduce_inversion`).
    originals, target_subjects, target_azimuth, target_elevation
        The attacked photos of held-out subjects and their light.
    recon
        ``{"decoder": (N, H, W), "gradient": ..., "gan": ..., "gan_init": ...}``.
    mean_face
        The gradient attack's starting image.
    z
        Refined GAN latents of the targets (N, z_dim).
    curves
        Success rate against FAR per attack, for the plot: ``{"far": [...], name: [...]}``.
    generator
        The GAN's generator (for the latent walk).
    histories
        Objective per step of each attack.
    """

    metrics: dict
    originals: np.ndarray
    target_subjects: np.ndarray
    target_azimuth: np.ndarray
    target_elevation: np.ndarray
    recon: dict[str, np.ndarray]
    mean_face: np.ndarray
    z: np.ndarray
    curves: dict[str, list[float]]
    generator: nn.Module | None = None
    histories: dict[str, list[float]] = field(default_factory=dict)


def _validate_heldout(heldout_subjects: Sequence[str] | None, backbone_heldout: Sequence[str]
                      ) -> list[str]:
    if heldout_subjects is None:
        return sorted(backbone_heldout)
    chosen = sorted(set(heldout_subjects))
    unseen = set(backbone_heldout)
    bad = [s for s in chosen if s not in unseen]
    if not chosen or bad:
        raise ValueError(
            f"held-out subjects must be a non-empty subset of the backbone's held-out "
            f"subjects {sorted(unseen)}; {bad or 'none'} given. An attack on a subject the "
            "embedder (or the GAN) was trained on would overstate the leak.")
    return chosen


def _result_path(key: str) -> Path:
    return config.cache_dir() / "inversion" / f"run-{key}"


def _save_run(run: InversionRun, key: str) -> None:
    path = _result_path(key)
    path.mkdir(parents=True, exist_ok=True)
    arrays = {f"recon_{k}": v for k, v in run.recon.items()}
    np.savez_compressed(path / "arrays.tmp.npz", originals=run.originals, mean_face=run.mean_face,
                        z=run.z, target_subjects=run.target_subjects.astype(str),
                        target_azimuth=run.target_azimuth,
                        target_elevation=run.target_elevation, **arrays)
    (path / "arrays.tmp.npz").replace(path / "arrays.npz")
    (path / "summary.json").write_text(json.dumps(
        {"metrics": run.metrics, "curves": run.curves, "histories": run.histories}))


def _load_run(key: str) -> InversionRun | None:
    path = _result_path(key)
    if not (path / "summary.json").is_file() or not (path / "arrays.npz").is_file():
        return None
    summary = json.loads((path / "summary.json").read_text())
    with np.load(path / "arrays.npz", allow_pickle=False) as arr:
        recon = {k[len("recon_"):]: arr[k] for k in arr.files if k.startswith("recon_")}
        return InversionRun(summary["metrics"], arr["originals"],
                            arr["target_subjects"].astype(object), arr["target_azimuth"],
                            arr["target_elevation"], recon, arr["mean_face"], arr["z"],
                            summary["curves"], None, summary["histories"])


def run_inversion(
    mode: str | None = None,
    seed: int = 0,
    heldout_subjects: Sequence[str] | None = None,
    backbone: str = "yale-cosface",
    cfg: InversionConfig | None = None,
    use_cache: bool = True,
    log: Log = print,
) -> InversionRun:
    """Run the three attacks on held-out subjects and measure them identically.

    Parameters
    ----------
    mode
        ``quick`` or ``full`` (sizes); default from :func:`faceleak.config.run_mode`.
    seed
        Seeds every random choice of the attacks, the decoder and the mapping network.
        The GAN and the backbone use their own seeds (0; the type II judge: 1).
    heldout_subjects
        Subjects to attack: a subset of the backbone's held-out subjects (default all).
    backbone
        The attacked embedder: ``yale-cosface`` (offline) or a FaceNet backbone when its
        weights are present (:class:`faceleak.models.WeightsError` otherwise).
    cfg
        Attack sizes (default: :func:`inversion_config` of the mode).
    use_cache
        Reuse a cached run with the same key (config, seed, weights, subjects).
    log
        Progress messages (None: silent).

    Returns
    -------
    InversionRun
    """
    from . import data, embed, models

    resolved = config.run_mode(mode)
    config.seed_everything(seed)
    cfg = cfg or inversion_config(resolved)
    dev = config.device()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    model, spec = models.get_backbone(backbone, mode=resolved, seed=0, device=dev)
    _, split, _ = models.yale_training_plan(resolved, 0, 0)
    heldout = _validate_heldout(heldout_subjects, split.heldout)
    faces = data.load_faces(config.settings(resolved).image_size)
    train_mask, _ = split.masks(faces.subjects)
    heldout_mask = np.isin(faces.subjects, heldout)
    timings["backbone_s"] = time.perf_counter() - t0

    generator, gan_meta = gan_mod.load_generator(
        split.train, mode=resolved, seed=0, device=dev, images=faces.images[train_mask],
        data_source=faces.source.kind, log=log)
    timings["gan_s"] = time.perf_counter() - t0 - sum(timings.values())
    model2, spec2, type2_meta = load_type2_backbone(
        split.train, faces.images[train_mask], faces.labels[train_mask], mode=resolved,
        device=dev, log=log)
    timings["type2_s"] = time.perf_counter() - t0 - sum(timings.values())

    key = _hash({"cfg": cfg.to_dict(), "seed": seed, "heldout": heldout, "backbone": backbone,
                 "w": embed.weights_hash(model), "w2": embed.weights_hash(model2),
                 "gan": gan_meta["key"], "data": faces.source.kind, "mode": resolved,
                 "code": INVERSION_CODE_VERSION})
    if use_cache:
        cached = _load_run(key)
        if cached is not None:
            cached.generator = generator
            if log is not None:
                log(f"inversion: loaded the cached run {key}")
            return cached

    # ----- embeddings of real images (training subjects fit; held-out subjects judge)
    emb = embed_array(model, spec, faces.images)
    emb2 = embed_array(model2, spec2, faces.images)
    thresholds = am.thresholds_at_fars(am.impostor_scores(emb[heldout_mask],
                                                          faces.subjects[heldout_mask]))
    thresholds2 = am.thresholds_at_fars(am.impostor_scores(emb2[heldout_mask],
                                                           faces.subjects[heldout_mask]))
    light = np.stack([faces.azimuth, faces.elevation], 1)
    groups = faces.subjects[train_mask]
    alphas = np.logspace(-3, 3, 7)
    a_emb = _choose_alpha(emb[train_mask], light[train_mask], groups, alphas)
    light_from_emb = fit_ridge(emb[train_mask], light[train_mask], a_emb)
    pix = pixel_light_features(faces.images)
    a_pix = _choose_alpha(pix[train_mask], light[train_mask], groups, alphas)
    light_from_pixels = fit_ridge(pix[train_mask], light[train_mask], a_pix)
    mean_face = faces.images[train_mask].mean(0)

    # ----- targets: each held-out subject under each chosen light
    target_idx = []
    for subject in heldout:
        for az, el in cfg.target_lights:
            with contextlib.suppress(KeyError):
                target_idx.append(faces.find(subject, az, el))
    target_idx = np.array(target_idx, dtype=np.int64)
    if target_idx.size == 0:
        raise ValueError("no held-out image has one of the configured target lights")
    gallery_idx = np.flatnonzero(heldout_mask)
    target_in_gallery = np.searchsorted(gallery_idx, target_idx)
    originals = faces.images[target_idx]
    t_emb = emb[target_idx]
    timings["setup_s"] = time.perf_counter() - t0 - sum(timings.values())

    # ----- GAN samples: the mapping's training set and the decoder's extra faces
    z_s, x_s = sample_gan(generator, cfg.n_gan_samples, seed=seed + 1)
    e_s = embed_array(model, spec, x_s)
    timings["gan_samples_s"] = time.perf_counter() - t0 - sum(timings.values())

    recon: dict[str, np.ndarray] = {}
    histories: dict[str, list[float]] = {}
    # 1. decoder (black box at attack time)
    dec_images = np.concatenate([faces.images[train_mask], x_s])
    dec_emb = np.concatenate([emb[train_mask], e_s])
    decoder, dec_hist = train_decoder(dec_images, dec_emb, model, spec, cfg, seed=seed,
                                      device=dev, log=log)
    recon["decoder"] = decoder_attack(decoder, t_emb)
    histories["decoder_pixel"] = dec_hist["pixel"]
    histories["decoder_id"] = dec_hist["id"]
    timings["decoder_s"] = time.perf_counter() - t0 - sum(timings.values())

    # 2. white-box pixels from the mean face
    recon["gradient"], histories["gradient"] = gradient_attack(
        model, spec, t_emb, mean_face, cfg.gradient_steps, cfg.gradient_lr, cfg.gradient_tv)
    timings["gradient_s"] = time.perf_counter() - t0 - sum(timings.values())

    # 3. GAN: mapping (encoder) + latent refinement (optimisation) = hybrid
    mapper, map_hist = train_mapper(e_s, z_s, cfg.mapping_steps, seed=seed, device=dev)
    histories["mapping"] = map_hist
    with torch.no_grad():
        z0 = mapper(torch.as_tensor(t_emb, device=dev)).cpu().numpy()
    with frozen(generator), torch.no_grad():
        recon["gan_init"] = generator(torch.as_tensor(z0, device=dev)).cpu().numpy()
    recon["gan"], z_gan, histories["gan"] = gan_attack(
        generator, model, spec, t_emb, z0, cfg.gan_steps, cfg.gan_lr, cfg.gan_prior,
        cfg.gan_light_weight, light_from_emb, light_from_pixels)
    timings["gan_attack_s"] = time.perf_counter() - t0 - sum(timings.values())

    # ----- identical metrics for every attack
    impostor = am.impostor_scores(emb[heldout_mask], faces.subjects[heldout_mask])
    fars = np.logspace(-4, -0.5, 15)
    curves: dict[str, list[float]] = {"far": fars.tolist()}
    attacks: dict[str, dict] = {}
    rows = dict(recon)
    rows["mean_face"] = np.repeat(mean_face[None], len(target_idx), 0)
    for name, images in rows.items():
        r_emb = embed_array(model, spec, images)
        r_emb2 = embed_array(model2, spec2, images)
        report = am.attack_report(
            recon=images, originals=originals, recon_emb=r_emb, target_emb=t_emb,
            target_index=target_in_gallery, gallery_emb=emb[gallery_idx],
            gallery_subjects=faces.subjects[gallery_idx], thresholds=thresholds,
            recon_emb2=r_emb2, target_emb2=emb2[target_idx], thresholds2=thresholds2,
            light_pred=light_from_emb(r_emb), azimuth=faces.azimuth[target_idx],
            elevation=faces.elevation[target_idx])
        pix_mae = am.lighting_mae(light_from_pixels(pixel_light_features(images)),
                                  faces.azimuth[target_idx], faces.elevation[target_idx])
        report["lighting_mae_pixels_deg"] = pix_mae["mean"]
        report["distance_from_mean_face_rms"] = float(
            np.sqrt(((images - mean_face) ** 2).mean()))
        attacks[name] = report
        curves[name] = am.success_curve(r_emb, t_emb, impostor, fars).tolist()
    timings["metrics_s"] = time.perf_counter() - t0 - sum(timings.values())

    # Real photos as "reconstructions": the ceiling any attack on other images can reach.
    genuine_other = am.other_image_scores(t_emb, target_in_gallery, emb[gallery_idx],
                                          faces.subjects[gallery_idx])
    reference = {
        f"real_other_images_far_{am.far_label(f)}": am.success_other_images(genuine_other, thr)
        for f, thr in sorted(thresholds.items())}
    reference["lighting_mae_deg_real"] = am.lighting_mae(
        light_from_emb(t_emb), faces.azimuth[target_idx], faces.elevation[target_idx])["mean"]
    reference["lighting_mae_pixels_deg_real"] = am.lighting_mae(
        light_from_pixels(pixel_light_features(originals)), faces.azimuth[target_idx],
        faces.elevation[target_idx])["mean"]
    reference["mean_face"] = attacks.pop("mean_face")
    reference["gan_mapping_only"] = attacks.pop("gan_init")
    curves.pop("mean_face")

    timings["total_s"] = time.perf_counter() - t0
    metrics = {
        "backbone": backbone,
        "type2_backbone": f"{type2_meta['name']} ({type2_meta['config']['loss']}, widths "
                          f"{type2_meta['config']['widths']}, seed {type2_meta['seed']})",
        "mode": resolved,
        "seed": seed,
        "device": dev,
        "heldout_subjects": heldout,
        "target_lights": [list(v) for v in cfg.target_lights],
        "n_targets": int(len(target_idx)),
        "thresholds": {am.far_label(f): v for f, v in thresholds.items()},
        "type2_thresholds": {am.far_label(f): v for f, v in thresholds2.items()},
        "attacks": {name: attacks[name] for name in ATTACKS},
        "reference": reference,
        "gan": {"origin": gan_meta["origin"], "steps": gan_meta["steps"],
                "train_seconds": gan_meta["train_seconds"], "key": gan_meta["key"]},
        "config": cfg.to_dict(),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
    }
    run = InversionRun(metrics, originals, faces.subjects[target_idx],
                       faces.azimuth[target_idx], faces.elevation[target_idx], recon,
                       mean_face, z_gan, curves, generator, histories)
    if use_cache:
        _save_run(run, key)
    return run


def reproduce_inversion(
    mode: str | None = None,
    seed: int = 0,
    heldout_subjects: Sequence[str] | None = None,
    backbone: str = "yale-cosface",
    log: Log = print,
) -> dict:
    """The JSON summary of :func:`run_inversion` (what ``reproduce inversion`` writes).

    Returns
    -------
    dict
        ``backbone``, ``mode``, ``seed``, ``heldout_subjects`` and ``attacks`` with one entry
        per attack (``decoder``, ``gradient``, ``gan``), each holding ``success_far_1e-3``,
        ``success_far_1e-2``, ``success_other_images_far_1e-3``,
        ``success_other_images_far_1e-2``, ``type2_success_far_1e-3``, ``cosine``,
        ``ssim``, ``psnr`` and ``lighting_mae_deg``; plus thresholds, references
        (real photos, the mean face, the mapping alone) and timings.
    """
    return run_inversion(mode, seed, heldout_subjects, backbone, log=log).metrics


REQUIRED_ATTACK_KEYS: tuple[str, ...] = (
    "success_far_1e-3", "success_far_1e-2", "success_other_images_far_1e-3",
    "success_other_images_far_1e-2", "type2_success_far_1e-3", "cosine", "ssim", "psnr",
    "lighting_mae_deg")


def validate_summary(summary: dict) -> None:
    """Raise ValueError unless ``summary`` has the schema of :func:`reproduce_inversion`."""
    for k in ("backbone", "mode", "seed", "heldout_subjects", "attacks"):
        if k not in summary:
            raise ValueError(f"summary lacks {k!r}")
    for name in ATTACKS:
        entry = summary["attacks"].get(name)
        if not isinstance(entry, dict):
            raise ValueError(f"summary lacks attacks.{name}")
        missing = [k for k in REQUIRED_ATTACK_KEYS if k not in entry]
        if missing:
            raise ValueError(f"attacks.{name} lacks {missing}")
        for k in REQUIRED_ATTACK_KEYS:
            v = entry[k]
            if v is not None and not isinstance(v, (int, float)):
                raise ValueError(f"attacks.{name}.{k} must be a number, got {v!r}")
    json.dumps(summary)  # must be JSON-serialisable

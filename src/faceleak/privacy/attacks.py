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
    A DCGAN (:mod:`faceleak.privacy.gan`) trained on the training subjects' faces; a mapping
    network from embedding to latent ``z``, learnt on generated samples (encoder-based
    inversion); then the latent is refined by gradient descent on the embedding cosine
    (optimisation-based; together: hybrid inversion), optionally with a lighting term
    from the Chapter 2 probe, as ID2image added landmark and histogram terms. The
    reconstruction stays on the GAN's face manifold.

Every attack is scored by :func:`faceleak.privacy.attack_metrics.attack_report`. Nothing here is
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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from faceleak import config
from faceleak.vision.checkpoints import read_checkpoint_file, resolve_checkpoint

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


# The sizes of both modes are in faceleak.experiments.plan.TABLE (InversionConfig() is
# quick mode's).


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


# =========================================================================== decoder store
#
# A trained decoder depends only on what it was trained from (the attacked embedder, the
# training subjects, the GAN samples, the defence, the sizes and seeds), so, like the
# course's backbones and the GAN, the quick-mode decoders of Labs 3 and 4 are committed with
# the package (``resources/decoders``, written by ``scripts/train_inversion_models.py
# --decoders``) and looked up by a key that hashes those inputs: cache, package, train.

DECODER_FORMAT = "faceleak-decoder/1"
DECODER_RESOURCE_DIR = "decoders"


def decoder_key(payload: dict) -> str:
    """Key of a decoder: a hash of everything it is trained from (see :func:`resolve_decoder`)."""
    text = json.dumps({**payload, "format": DECODER_FORMAT, "code": INVERSION_CODE_VERSION},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def packaged_decoder_path(key: str) -> Path:
    """The decoder committed with the package under ``key`` (may not exist)."""
    return Path(str(resources.files("faceleak") / "resources" / DECODER_RESOURCE_DIR
                    / f"decoder-{key}.pt"))


def _read_decoder(path: Path) -> dict:
    return read_checkpoint_file(path, DECODER_FORMAT,
                                "delete it; the decoder is retrained on the next run.")


def resolve_decoder(key: str, train: Callable[[], tuple[Decoder, dict]], mode: str,
                    log: Log = print) -> tuple[Decoder, dict, dict]:
    """The decoder of ``key``: from the cache, else the package, else ``train()`` it.

    Parameters
    ----------
    key
        :func:`decoder_key` of the inputs ``train`` uses.
    train
        Trains the decoder: returns ``(decoder, history)`` as :func:`train_decoder` does.
    mode
        Run mode, recorded in a new checkpoint.
    log
        Where the decoder came from is reported here (None: silent).

    Returns
    -------
    decoder, history, meta
        The eval-mode decoder (float32, read back from float16 weights, so that a decoder
        trained now and one loaded later give the same reconstructions), its training
        history and :func:`faceleak.vision.checkpoints.checkpoint_meta` (``origin``, ``path``).
    """
    def make() -> dict:
        decoder, history = train()
        return {"format": DECODER_FORMAT, "key": key, "mode": mode,
                "config": {"emb_dim": int(decoder.fc[0].in_features), "width": decoder.width,
                           "image_size": [8 * decoder.start[0], 8 * decoder.start[1]]},
                "history": {"pixel": [float(v) for v in history["pixel"]],
                            "id": [float(v) for v in history["id"]],
                            "seconds": float(history.get("seconds", 0.0))},
                "torch_version": str(torch.__version__),
                "state_dict": {k: (v.detach().cpu().half() if v.is_floating_point()
                                   else v.detach().cpu())
                               for k, v in decoder.state_dict().items()}}

    cache = config.cache_dir() / "inversion" / f"decoder-{key}.pt"
    ckpt, meta = resolve_checkpoint(key, cache, packaged_decoder_path(key), _read_decoder, make,
                                    what="decoder", remedy="train it (pass train).")
    cfg = ckpt["config"]
    decoder = Decoder(cfg["emb_dim"], cfg["width"], tuple(cfg["image_size"]))
    decoder.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in ckpt["state_dict"].items()})
    if log is not None and meta["origin"] != "trained now":
        log(f"decoder: loaded from the {meta['origin']} ({Path(meta['path']).name}); trained "
            f"in {ckpt['history']['seconds']:.0f} s")
    return decoder.eval(), dict(ckpt["history"]), meta


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


def choose_alpha(x: np.ndarray, y: np.ndarray, groups: np.ndarray, alphas) -> float:
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
    (:func:`faceleak.privacy.defenses.linear_form`).
    """

    def __init__(self, embedder: nn.Module, weight: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.embedder = embedder
        self.register_buffer("weight", torch.as_tensor(np.asarray(weight, np.float32)))
        self.register_buffer("bias", torch.as_tensor(np.asarray(bias, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embedder(x), dim=1) @ self.weight + self.bias


def generate(generator: nn.Module, z: np.ndarray | torch.Tensor, batch_size: int = 256,
             device: str | None = None) -> np.ndarray:
    """The generator's faces (N, H, W) for latents ``z`` (N, z_dim), in batches, no gradients."""
    dev = torch.device(device or next(generator.parameters()).device)
    z = torch.as_tensor(np.asarray(z, np.float32) if not torch.is_tensor(z) else z)
    out = []
    with frozen(generator), torch.no_grad():
        for s in range(0, len(z), batch_size):
            out.append(generator(z[s:s + batch_size].to(dev)).cpu())
    return torch.cat(out).numpy()


def sample_gan(generator: nn.Module, n: int, seed: int = 0, batch_size: int = 256,
               device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` latents ``z ~ N(0, I)`` and their generated faces (no gradients)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.cfg.z_dim, generator=gen)
    return z.numpy(), generate(generator, z, batch_size, device)


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


def latent_walk_frames(generator: nn.Module | None, z: np.ndarray, gan_images: np.ndarray,
                       a: int, b: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames of Lab 3's latent walk from target ``a`` to target ``b``.

    Returns the weights ``w`` (n,), the generator's faces ``G((1 - w) z_a + w z_b)`` and
    the pixel cross-fade of the two GAN reconstructions ``gan_images[a]``, ``gan_images[b]``
    at the same weights (both (n, H, W)). The slider of :mod:`faceleak.widgets.inversion`
    and the still of :mod:`faceleak.viz.inversion` show these frames.

    Raises
    ------
    ValueError
        No generator is loaded, or fewer than 2 positions.
    IndexError
        ``a`` or ``b`` is not a row of ``z``.
    """
    if generator is None:
        raise ValueError("this run has no generator loaded; call inversion.run_inversion again")
    if n < 2:
        raise ValueError("show at least 2 positions (the two ends)")
    if not (0 <= a < len(z) and 0 <= b < len(z)):
        raise IndexError(f"targets must be in 0..{len(z) - 1}")
    weights = np.linspace(0, 1, n)
    walk = interpolate_latents(generator, z[a], z[b], n)
    fade = np.stack([(1 - w) * gan_images[a] + w * gan_images[b] for w in weights])
    return weights, walk, fade

"""A small DCGAN of the training subjects' faces: the face prior of the GAN-inversion attack.

ID2image inverts a face descriptor into the latent space of StyleGAN trained on FFHQ
(70 000 faces at 1024x1024). At the course's scale the prior is a DCGAN (Radford et al.,
2016) trained on the 64x56 grayscale crops of the *training* subjects of Extended Yale B:
about 1 800 images of 28 people under 64 lights. It is small enough to train on a CPU and
still keeps an optimiser on something that looks like a face.

Design choices, and why:

* the generator maps ``z ~ N(0, I)`` through a linear layer to an 8x7 map and upsamples
  three times to 64x56, the crop size, so no padding or cropping distorts the face;
* the discriminator uses spectral normalisation and the hinge loss, the most forgiving
  recipe for a short CPU run;
* both real and generated images are randomly *shifted* (never flipped: a flip mirrors
  the light) before the discriminator sees them (differentiable augmentation), because
  1 800 images are few enough for the discriminator to memorise;
* an exponential moving average (EMA) of the generator's weights is what is saved: it
  gives smoother faces than the last training step at no extra cost.

Checkpoints are cached in ``config.cache_dir()/inversion`` under a key that hashes the
config, the seed and the training subjects. The key does not depend on any embedder, so a
generator trained by ``scripts/train_inversion_models.py`` can be committed with the
package (``faceleak/resources/gan``) and reused by the lab.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from faceleak import config
from faceleak.vision.checkpoints import read_checkpoint_file, resolve_checkpoint

GAN_FORMAT = "faceleak-gan/1"
# Bump when a change here changes what a given config trains, so old caches miss.
GAN_CODE_VERSION = 1
RESOURCE_DIR = "gan"


@dataclass(frozen=True)
class GanConfig:
    """Everything that decides the trained generator, apart from the seed and the subjects.

    Attributes
    ----------
    z_dim
        Size of the latent vector ``z``.
    g_width, d_width
        Channels of the generator's first map and of the discriminator's first layer
        (each later layer halves or doubles them).
    steps, batch_size
        Optimiser steps and images per step.
    lr, betas
        Adam settings for both networks (TTUR is not needed at this size).
    shift
        Maximal random shift, in pixels, of the images the discriminator sees.
    ema
        Decay of the moving average of the generator's weights.
    image_size
        (height, width) of the faces; height and width must be multiples of 8.
    """

    z_dim: int = 64
    g_width: int = 96
    d_width: int = 32
    steps: int = 1500
    batch_size: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.9)
    shift: float = 4.0
    ema: float = 0.995
    image_size: tuple[int, int] = (64, 56)

    def __post_init__(self) -> None:
        h, w = self.image_size
        if h % 8 or w % 8:
            raise ValueError(f"image_size must be multiples of 8, got {self.image_size}")
        if self.z_dim < 1 or self.g_width < 8 or self.d_width < 4:
            raise ValueError("z_dim >= 1, g_width >= 8 and d_width >= 4 are required")
        if self.steps < 1 or self.batch_size < 2:
            raise ValueError("steps >= 1 and batch_size >= 2 are required")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> GanConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


# The sizes of both modes (quick: a few CPU minutes, or the committed checkpoint; full:
# wider and longer, for a GPU) are in faceleak.experiments.plan.TABLE.


# --------------------------------------------------------------------------- networks


class Generator(nn.Module):
    """DCGAN generator: ``z`` (N, z_dim) to images (N, H, W) in [0, 1]."""

    def __init__(self, cfg: GanConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.g_width
        h, w = cfg.image_size
        self.start = (h // 8, w // 8)
        self.fc = nn.Sequential(nn.Linear(cfg.z_dim, c * self.start[0] * self.start[1]),
                                nn.BatchNorm1d(c * self.start[0] * self.start[1]), nn.ReLU())
        layers: list[nn.Module] = []
        for _ in range(3):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.Conv2d(c, 1, 3, 1, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(len(z), self.cfg.g_width, *self.start)
        return torch.sigmoid(self.body(x))[:, 0]


class Discriminator(nn.Module):
    """Spectrally normalised DCGAN discriminator: images (N, H, W) to one score each."""

    def __init__(self, cfg: GanConfig):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        c = cfg.d_width
        self.body = nn.Sequential(
            sn(nn.Conv2d(1, c, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c, 2 * c, 4, 2, 1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * c, 4 * c, 4, 2, 1)), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        h, w = cfg.image_size
        self.head = sn(nn.Linear(4 * c * (h // 8) * (w // 8), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x[:, None] * 2 - 1))[:, 0]


def random_shift(x: torch.Tensor, max_shift: float, gen: torch.Generator) -> torch.Tensor:
    """Shift each image (N, H, W) by up to ``max_shift`` pixels, differentiably.

    Border pixels are replicated. There is deliberately no flip: it would mirror the light.
    """
    if max_shift <= 0:
        return x
    n, h, w = x.shape
    t = (torch.rand(n, 2, generator=gen) * 2 - 1).to(x.device) * max_shift
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    theta[:, 0, 2] = 2 * t[:, 0] / w
    theta[:, 1, 2] = 2 * t[:, 1] / h
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    return F.grid_sample(x[:, None], grid, padding_mode="border", align_corners=False)[:, 0]


# --------------------------------------------------------------------------- training


@dataclass
class GanResult:
    """A trained generator (the EMA weights, eval mode) and how it was made."""

    generator: Generator
    cfg: GanConfig
    seed: int
    seconds: float
    steps: int
    d_loss: list[float]
    g_loss: list[float]


def train_gan(
    images: np.ndarray,
    cfg: GanConfig,
    seed: int = 0,
    device: str | None = None,
    max_steps: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
) -> GanResult:
    """Train the DCGAN on face images with the hinge loss.

    Parameters
    ----------
    images
        Float array (N, H, W) in [0, 1] at ``cfg.image_size``: training subjects only.
    cfg
        The config.
    seed
        Seeds the initialisation, the batches, the latents and the augmentation.
    device
        Torch device; by default :func:`faceleak.config.device`.
    max_steps, max_seconds
        Stop earlier (tests; a time-boxed run). A stopped run is recorded as such.
    progress
        Show a tqdm bar.
    log
        Where to print the one-line summary (None: silent).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != tuple(cfg.image_size):
        raise ValueError(f"images must be (N, {cfg.image_size[0]}, {cfg.image_size[1]}), "
                         f"got {images.shape}")
    if len(images) < cfg.batch_size:
        raise ValueError(f"need at least batch_size={cfg.batch_size} images, got {len(images)}")
    dev = torch.device(device or config.device())
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    g_net, d_net = Generator(cfg).to(dev), Discriminator(cfg).to(dev)
    ema = copy.deepcopy(g_net).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(g_net.parameters(), lr=cfg.lr, betas=cfg.betas)
    opt_d = torch.optim.Adam(d_net.parameters(), lr=cfg.lr, betas=cfg.betas)
    real_all = torch.from_numpy(images)
    total = min(cfg.steps, max_steps or cfg.steps)
    steps = range(total)
    steps = tqdm(steps, desc="training GAN", unit="step", leave=False, mininterval=2,
                 disable=not (progress and config.progress_bars_enabled()))
    d_hist: list[float] = []
    g_hist: list[float] = []
    start = time.perf_counter()
    done = 0
    for step in steps:
        idx = torch.randint(len(real_all), (cfg.batch_size,), generator=gen)
        real = real_all[idx].to(dev)
        z = torch.randn(cfg.batch_size, cfg.z_dim, generator=gen).to(dev)
        fake = g_net(z)
        d_real = d_net(random_shift(real, cfg.shift, gen))
        d_fake = d_net(random_shift(fake.detach(), cfg.shift, gen))
        d_loss = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = -d_net(random_shift(fake, cfg.shift, gen)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        with torch.no_grad():
            # Warm-up: a plain copy for the first steps, so the average does not keep the
            # random initialisation.
            decay = min(cfg.ema, step / (step + 10))
            for pe, p in zip(ema.parameters(), g_net.parameters(), strict=True):
                pe.lerp_(p, 1 - decay)
            for be, b in zip(ema.buffers(), g_net.buffers(), strict=True):
                be.copy_(b)
        d_hist.append(d_loss.item())
        g_hist.append(g_loss.item())
        done = step + 1
        if step % 50 == 0:  # a disabled bar ignores the postfix
            steps.set_postfix(d=f"{np.mean(d_hist[-50:]):.2f}",
                              g=f"{np.mean(g_hist[-50:]):.2f}")
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    seconds = time.perf_counter() - start
    if log is not None:
        log(f"trained DCGAN ({sum(p.numel() for p in g_net.parameters()) / 1e6:.2f}M generator "
            f"parameters) on {len(images)} images: {done} steps in {seconds:.0f} s on {dev}")
    return GanResult(ema.cpu().eval(), cfg, seed, seconds, done, d_hist, g_hist)


# --------------------------------------------------------------------------- checkpoints


def gan_key(cfg: GanConfig, seed: int, train_subjects: Sequence[str]) -> str:
    """Hash of everything that decides the generator (config, seed, subjects, code)."""
    payload = json.dumps({"cfg": cfg.to_dict(), "seed": seed,
                          "train_subjects": sorted(train_subjects),
                          "code": GAN_CODE_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def gan_cache_path(key: str) -> Path:
    """Where a trained generator with this key is cached."""
    return config.cache_dir() / "inversion" / f"dcgan-{key}.pt"


def packaged_gan_path(mode: str, seed: int = 0) -> Path:
    """The generator committed with the package for a mode and seed (may not exist)."""
    return Path(str(resources.files("faceleak") / "resources" / RESOURCE_DIR
                    / f"dcgan-{mode}-seed{seed}.pt"))


def gan_checkpoint(result: GanResult, key: str, train_subjects: Sequence[str], mode: str,
                   data_source: str, command: str = "") -> dict:
    """The checkpoint dict of a trained generator (weights in float16 to stay small)."""
    return {
        "format": GAN_FORMAT,
        "key": key,
        "mode": mode,
        "config": result.cfg.to_dict(),
        "seed": result.seed,
        "train_subjects": sorted(train_subjects),
        "data_source": data_source,
        "steps": result.steps,
        "train_seconds": float(result.seconds),
        "d_loss": [float(v) for v in result.d_loss[::10]],
        "g_loss": [float(v) for v in result.g_loss[::10]],
        "torch_version": str(torch.__version__),
        "command": command,
        "state_dict": {k: (v.detach().cpu().half() if v.is_floating_point() else v.cpu())
                       for k, v in result.generator.state_dict().items()},
    }


def read_checkpoint(path: Path | str) -> dict:
    """Read a generator checkpoint with ``weights_only=True``; WeightsError if it is not one."""
    return read_checkpoint_file(path, GAN_FORMAT, "delete it and it will be retrained.")


def generator_from_checkpoint(ckpt: dict) -> Generator:
    """Build the generator a checkpoint describes and load its weights strictly (eval mode)."""
    g_net = Generator(GanConfig.from_dict(ckpt["config"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    g_net.load_state_dict(state, strict=True)
    for p in g_net.parameters():
        p.requires_grad_(False)
    return g_net.eval()


def load_generator(
    train_subjects: Sequence[str],
    cfg: GanConfig,
    mode: str,
    seed: int = 0,
    device: str | None = None,
    images: np.ndarray | None = None,
    data_source: str = "",
    train_if_missing: bool = True,
    log: Callable[[str], None] | None = print,
) -> tuple[Generator, dict]:
    """Load the face GAN's generator: cache, then the package, then train it.

    Parameters
    ----------
    train_subjects
        The subjects it is (or was) trained on; part of the key.
    cfg
        The generator's config (the run plan's ``plan.gan``).
    mode
        The run plan's mode: it names the checkpoint committed with the package.
    seed
        Training seed.
    device
        Where to put the generator.
    images
        Training-subject images, needed only when the generator must be trained.
    data_source
        Recorded in a new checkpoint (``"shared"``, ``"compact"``...).
    train_if_missing
        Train when nothing matches (else raise :class:`~faceleak.vision.checkpoints.WeightsError`).
    log
        Where to say where the weights came from.

    Returns
    -------
    generator, meta
        The eval-mode generator (parameters frozen) and the checkpoint's metadata.
    """
    if mode not in config.MODES:
        raise ValueError(f"mode must be one of {config.MODES}, got {mode!r}")
    resolved = mode
    key = gan_key(cfg, seed, train_subjects)
    dev = device or config.device()

    def train_now() -> dict:
        if images is None:
            raise ValueError("the generator must be trained: pass the training-subject images")
        result = train_gan(images, cfg, seed=seed, device=dev, log=log)
        return gan_checkpoint(result, key, train_subjects, resolved, data_source)

    ckpt, meta = resolve_checkpoint(
        key, gan_cache_path(key), packaged_gan_path(resolved, seed), read_checkpoint,
        train_now if train_if_missing else None, what="trained generator",
        remedy="run scripts/train_inversion_models.py.")
    if log is not None and meta["origin"] != "trained now":
        log(f"DCGAN: loaded the generator from the {meta['origin']} "
            f"({Path(meta['path']).name}); {meta['steps']} steps, trained in "
            f"{meta['train_seconds']:.0f} s")
    return generator_from_checkpoint(ckpt).to(dev), meta

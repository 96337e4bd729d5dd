"""Chapter 3's experiment: three inversion attacks on one backbone, judged the same way.

:func:`run_inversion` returns everything Lab 3 draws (an :class:`InversionRun`);
:func:`reproduce_inversion` the JSON summary that ``python -m faceleak reproduce inversion``
writes. Both cache under ``config.cache_dir()/inversion``. The attacks are in
:mod:`faceleak.privacy.attacks`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from faceleak import config
from faceleak.experiments import common
from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import RunPlan
from faceleak.privacy import attack_metrics as am
from faceleak.privacy import gan as gan_mod
from faceleak.privacy.attacks import (
    ATTACKS,
    INVERSION_CODE_VERSION,
    InversionConfig,
    LinearMap,
    Log,
    choose_alpha,
    decoder_attack,
    decoder_key,
    embed_array,
    fit_ridge,
    frozen,
    gan_attack,
    gradient_attack,
    pixel_light_features,
    resolve_decoder,
    sample_gan,
    train_decoder,
    train_mapper,
)
from faceleak.vision import data, embed, models, train
from faceleak.vision.checkpoints import resolve_checkpoint
from faceleak.vision.models import InputSpec


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


# =========================================================================== type II embedder


def type2_config(plan: RunPlan, epochs: int | None = None) -> train.TrainConfig:
    """Config of the second embedder: narrower ResNet, ArcFace instead of CosFace, and plain
    per-image standardisation instead of the main backbone's illumination normalisation.

    Its epochs are the plan's ``inversion.type2_epochs`` unless ``epochs`` is given.
    """
    cfg = plan.inversion
    # Every field is spelled out, so a change of the main backbone's defaults in
    # faceleak.vision.train never silently changes (and retrains) the judge.
    return train.TrainConfig(
        widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1), embedding_dim=64, loss="arcface",
        scale=30.0, margin=0.3, epochs=epochs if epochs is not None else cfg.type2_epochs,
        batch_size=64, lr=3e-3, weight_decay=5e-4, dropout=0.2, shift=4.0, scale_jitter=0.08,
        rotation=5.0, gamma_jitter=0.4, image_size=plan.image_size,
        preprocess="standardize")


def load_type2_backbone(train_subjects: Sequence[str], images: np.ndarray | None,
                        labels: np.ndarray | None, plan: RunPlan, log: Log = print):
    """The type II judge: another architecture, loss and seed, same training subjects.

    Cached under ``cache_dir()/inversion``; a copy committed in ``resources/gan`` (made by
    ``scripts/train_inversion_models.py``) is used when its key matches.

    Returns
    -------
    model, spec, meta
        The judge's training seed and device are the plan's (``seeds.type2``, ``device``).
    """
    resolved, seed, dev = plan.mode, plan.seeds.type2, plan.device
    cfg = type2_config(plan)
    key = train.cache_key(cfg, seed, train_subjects)

    def train_now() -> dict:
        if images is None or labels is None:
            raise ValueError("the type II embedder must be trained: pass images and labels")
        result = train.train_backbone(images, labels, cfg, seed=seed, device=dev, log=log)
        return {
            "format": models.CHECKPOINT_FORMAT, "name": "type2-" + models.YALE_BACKBONE,
            "key": key, "mode": resolved, "config": cfg.to_dict(), "seed": seed,
            "train_subjects": sorted(train_subjects), "train_seconds": float(result.seconds),
            "loss_history": [float(v) for v in result.history],
            "state_dict": {k: (v.detach().cpu().half() if v.is_floating_point() else v.cpu())
                           for k, v in result.model.state_dict().items()},
        }

    packaged = gan_mod.packaged_gan_path(resolved, seed).with_name(
        f"type2-{resolved}-seed{seed}.pt")
    ckpt, meta = resolve_checkpoint(
        key, config.cache_dir() / "inversion" / f"type2-{key}.pt", packaged,
        models.read_checkpoint, train_now, what="type II embedder",
        remedy="pass images and labels to train it.")
    if log is not None and meta["origin"] != "trained now":
        log(f"type II embedder: loaded from the {meta['origin']} ({Path(meta['path']).name})")
    model = models.model_from_checkpoint(ckpt).to(dev)
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


def _check_attack_subjects(attack_subjects: Sequence[str] | None,
                           split_heldout: Sequence[str]) -> list[str]:
    """The subjects to attack: all held-out ones, or a subset of them (checked)."""
    if attack_subjects is None:
        return sorted(split_heldout)
    chosen = sorted(set(attack_subjects))
    unseen = set(split_heldout)
    bad = [s for s in chosen if s not in unseen]
    if not chosen or bad:
        raise ValueError(
            f"attacked subjects must be a non-empty subset of the split's held-out "
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


@dataclass
class _Models:
    """What every attack is run against: the data, the split and the trained parts."""

    faces: data.FaceSet
    heldout: list[str]  # the attacked subjects
    split_heldout: list[str]  # every subject no trained part has seen
    train_mask: np.ndarray
    heldout_mask: np.ndarray
    model: nn.Module
    spec: InputSpec
    generator: nn.Module
    gan_meta: dict
    judge: nn.Module
    judge_spec: InputSpec
    judge_meta: dict


@dataclass
class _Targets:
    """The attacked photos and what scores them: thresholds, light probes, the gallery."""

    emb: np.ndarray
    judge_emb: np.ndarray
    thresholds: dict[float, float]
    judge_thresholds: dict[float, float]
    light_from_emb: LinearMap
    light_from_pixels: LinearMap
    mean_face: np.ndarray
    index: np.ndarray
    gallery_index: np.ndarray
    in_gallery: np.ndarray

    @property
    def embeddings(self) -> np.ndarray:
        return self.emb[self.index]


def _prepare_models(plan: RunPlan, backbone: str, seed: int,
                    heldout_subjects: Sequence[str] | None,
                    attack_subjects: Sequence[str] | None, timer: common.PhaseTimer,
                    log: Log) -> _Models:
    """The subject split, the attacked backbone, the GAN and the type II judge.

    The split is every experiment's (:func:`faceleak.experiments.common.make_split`): no
    trained part sees its held-out people. Split 0 uses the packaged models; another split
    trains them (or reads them from the cache).
    """
    with timer("backbone_s"):
        faces = data.load_faces(plan.image_size)
        split = common.make_split(faces, seed, heldout_subjects)
        model, spec = common.split_backbone(backbone, split, plan)
        attacked = _check_attack_subjects(attack_subjects, split.heldout)
        train_mask, _ = split.masks(faces.subjects)
    with timer("gan_s"):
        generator, gan_meta = gan_mod.load_generator(
            split.train, plan.gan, plan.mode, seed=plan.seeds.gan, device=plan.device,
            images=faces.images[train_mask],
            data_source=faces.source.kind, log=log)
    with timer("type2_s"):
        judge, judge_spec, judge_meta = load_type2_backbone(
            split.train, faces.images[train_mask], faces.labels[train_mask], plan, log=log)
    return _Models(faces, attacked, list(split.heldout), train_mask,
                   np.isin(faces.subjects, attacked), model, spec, generator, gan_meta, judge,
                   judge_spec, judge_meta)


def _run_key(setup: _Models, cfg: InversionConfig, attack_seed: int, backbone: str,
             mode: str) -> str:
    """The cache key of a run: everything its numbers depend on."""
    return _hash({"cfg": cfg.to_dict(), "seed": attack_seed, "heldout": setup.heldout,
                  "split": setup.split_heldout,
                  "backbone": backbone, "w": embed.weights_hash(setup.model),
                  "w2": embed.weights_hash(setup.judge), "gan": setup.gan_meta["key"],
                  "data": setup.faces.source.kind, "mode": mode,
                  "code": INVERSION_CODE_VERSION})


def _prepare_targets(setup: _Models, cfg: InversionConfig) -> _Targets:
    """Embed the real photos; fit the light probes on training subjects; pick the targets.

    Training subjects fit; held-out subjects set the thresholds and provide the targets:
    each held-out subject under each of ``cfg.target_lights``.
    """
    faces, train, heldout_mask = setup.faces, setup.train_mask, setup.heldout_mask
    emb = embed_array(setup.model, setup.spec, faces.images)
    judge_emb = embed_array(setup.judge, setup.judge_spec, faces.images)
    thresholds = am.thresholds_at_fars(am.impostor_scores(emb[heldout_mask],
                                                          faces.subjects[heldout_mask]))
    judge_thresholds = am.thresholds_at_fars(am.impostor_scores(judge_emb[heldout_mask],
                                                                faces.subjects[heldout_mask]))
    light = np.stack([faces.azimuth, faces.elevation], 1)
    groups = faces.subjects[train]
    alphas = np.logspace(-3, 3, 7)
    light_from_emb = fit_ridge(emb[train], light[train],
                               choose_alpha(emb[train], light[train], groups, alphas))
    pix = pixel_light_features(faces.images)
    light_from_pixels = fit_ridge(pix[train], light[train],
                                  choose_alpha(pix[train], light[train], groups, alphas))
    index = []
    for subject in setup.heldout:
        for az, el in cfg.target_lights:
            with contextlib.suppress(KeyError):
                index.append(faces.find(subject, az, el))
    if not index:
        raise ValueError("no held-out image has one of the configured target lights")
    index_arr = np.array(index, dtype=np.int64)
    gallery = np.flatnonzero(heldout_mask)
    return _Targets(emb, judge_emb, thresholds, judge_thresholds, light_from_emb,
                    light_from_pixels, faces.images[train].mean(0), index_arr, gallery,
                    np.searchsorted(gallery, index_arr))


def _attack(setup: _Models, targets: _Targets, cfg: InversionConfig, seed: int, dev: str,
            timer: common.PhaseTimer, log: Log, decoder_key: str, mode: str
            ) -> tuple[dict[str, np.ndarray], np.ndarray, dict, dict]:
    """The three attacks on the targets' embeddings: reconstructions, GAN latents, histories,
    and where the decoder came from (``decoder_key`` names it: cache, package or trained)."""
    model, spec, generator = setup.model, setup.spec, setup.generator
    t_emb = targets.embeddings
    with timer("gan_samples_s"):  # the mapping's training set and the decoder's extra faces
        z_s, x_s = sample_gan(generator, cfg.n_gan_samples, seed=seed + 1)
        e_s = embed_array(model, spec, x_s)
    recon: dict[str, np.ndarray] = {}
    histories: dict[str, list[float]] = {}
    with timer("decoder_s"):  # 1. decoder (black box at attack time)
        train = setup.train_mask

        def train_now():
            return train_decoder(
                np.concatenate([setup.faces.images[train], x_s]),
                np.concatenate([targets.emb[train], e_s]), model, spec, cfg, seed=seed,
                device=dev, log=log)

        decoder, dec_hist, dec_meta = resolve_decoder(decoder_key, train_now, mode, log)
        recon["decoder"] = decoder_attack(decoder.to(dev), t_emb)
        histories["decoder_pixel"] = dec_hist["pixel"]
        histories["decoder_id"] = dec_hist["id"]
    with timer("gradient_s"):  # 2. white-box pixels from the mean face
        recon["gradient"], histories["gradient"] = gradient_attack(
            model, spec, t_emb, targets.mean_face, cfg.gradient_steps, cfg.gradient_lr,
            cfg.gradient_tv)
    with timer("gan_attack_s"):  # 3. GAN: mapping (encoder) + latent refinement = hybrid
        mapper, histories["mapping"] = train_mapper(e_s, z_s, cfg.mapping_steps, seed=seed,
                                                    device=dev)
        with torch.no_grad():
            z0 = mapper(torch.as_tensor(t_emb, device=dev)).cpu().numpy()
        with frozen(generator), torch.no_grad():
            recon["gan_init"] = generator(torch.as_tensor(z0, device=dev)).cpu().numpy()
        recon["gan"], z_gan, histories["gan"] = gan_attack(
            generator, model, spec, t_emb, z0, cfg.gan_steps, cfg.gan_lr, cfg.gan_prior,
            cfg.gan_light_weight, targets.light_from_emb, targets.light_from_pixels)
    return recon, z_gan, histories, dec_meta


def _measure(setup: _Models, targets: _Targets, recon: dict[str, np.ndarray]
             ) -> tuple[dict[str, dict], dict[str, list[float]], dict]:
    """Identical metrics for every attack, the success curves, and the real-photo ceiling."""
    faces, t = setup.faces, targets
    idx, gallery = t.index, t.gallery_index
    azimuth, elevation = faces.azimuth[idx], faces.elevation[idx]
    impostor = am.impostor_scores(t.emb[setup.heldout_mask], faces.subjects[setup.heldout_mask])
    fars = np.logspace(-4, -0.5, 15)
    curves: dict[str, list[float]] = {"far": fars.tolist()}
    reports: dict[str, dict] = {}
    rows = {**recon, "mean_face": np.repeat(t.mean_face[None], len(idx), 0)}
    for name, images in rows.items():
        r_emb = embed_array(setup.model, setup.spec, images)
        report = am.attack_report(
            recon=images, originals=faces.images[idx], recon_emb=r_emb,
            target_emb=t.embeddings, target_index=t.in_gallery, gallery_emb=t.emb[gallery],
            gallery_subjects=faces.subjects[gallery], thresholds=t.thresholds,
            recon_emb2=embed_array(setup.judge, setup.judge_spec, images),
            target_emb2=t.judge_emb[idx], thresholds2=t.judge_thresholds,
            light_pred=t.light_from_emb(r_emb), azimuth=azimuth, elevation=elevation)
        report["lighting_mae_pixels_deg"] = am.lighting_mae(
            t.light_from_pixels(pixel_light_features(images)), azimuth, elevation)["mean"]
        report["distance_from_mean_face_rms"] = float(
            np.sqrt(((images - t.mean_face) ** 2).mean()))
        reports[name] = report
        if name != "mean_face":
            curves[name] = am.success_curve(r_emb, t.embeddings, impostor, fars).tolist()
    # Real photos as "reconstructions": the ceiling any attack on other images can reach.
    genuine_other = am.other_image_scores(t.embeddings, t.in_gallery, t.emb[gallery],
                                          faces.subjects[gallery])
    reference = {
        f"real_other_images_far_{am.far_label(f)}": am.success_other_images(genuine_other, thr)
        for f, thr in sorted(t.thresholds.items())}
    reference["lighting_mae_deg_real"] = am.lighting_mae(
        t.light_from_emb(t.embeddings), azimuth, elevation)["mean"]
    reference["lighting_mae_pixels_deg_real"] = am.lighting_mae(
        t.light_from_pixels(pixel_light_features(faces.images[idx])), azimuth,
        elevation)["mean"]
    reference["mean_face"] = reports.pop("mean_face")
    reference["gan_mapping_only"] = reports.pop("gan_init")
    return reports, curves, reference


def _summarise(setup: _Models, targets: _Targets, cfg: InversionConfig, reports: dict,
               reference: dict, backbone: str, mode: str, seed: int, attack_seed: int,
               dev: str, timings: dict[str, float]) -> dict:
    """The JSON summary of a run (see :func:`reproduce_inversion`)."""
    judge_cfg = setup.judge_meta["config"]
    gan_meta = setup.gan_meta
    return {
        "backbone": backbone,
        "type2_backbone": f"{setup.judge_meta['name']} ({judge_cfg['loss']}, widths "
                          f"{judge_cfg['widths']}, seed {setup.judge_meta['seed']})",
        "mode": mode,
        "seed": seed,
        "attack_seed": attack_seed,
        "device": dev,
        "split_heldout_subjects": setup.split_heldout,
        "heldout_subjects": setup.heldout,
        "target_lights": [list(v) for v in cfg.target_lights],
        "n_targets": int(len(targets.index)),
        "thresholds": {am.far_label(f): v for f, v in targets.thresholds.items()},
        "type2_thresholds": {am.far_label(f): v for f, v in targets.judge_thresholds.items()},
        "attacks": {name: reports[name] for name in ATTACKS},
        "reference": reference,
        "gan": {"origin": gan_meta["origin"], "steps": gan_meta["steps"],
                "train_seconds": gan_meta["train_seconds"], "key": gan_meta["key"]},
        "config": cfg.to_dict(),
        "timings_s": timings,
    }


def run_inversion(
    mode: str | None = None,
    seed: int = 0,
    heldout_subjects: Sequence[str] | None = None,
    backbone: str = "yale-cosface",
    cfg: InversionConfig | None = None,
    use_cache: bool = True,
    log: Log = print,
    attack_seed: int = 0,
    attack_subjects: Sequence[str] | None = None,
    plan: RunPlan | None = None,
) -> InversionRun:
    """Run the three attacks on held-out subjects and measure them identically.

    Four phases: prepare (the models and the targets), attack, measure, summarise; the
    seconds of each are in ``metrics["timings_s"]``.

    Parameters
    ----------
    mode
        ``quick`` or ``full``, when no ``plan`` is given (a plan is resolved from it).
    plan
        The run plan (:func:`faceleak.experiments.plan.resolve_plan`): sizes, device and the
        training seeds of the backbone, the GAN and the type II judge.
    seed
        Seed of the subject split, as in every experiment. The backbone, the GAN and the
        type II judge are trained without the split's held-out people (split 0: the
        packaged models; another split trains them, or reads them from the cache).
    heldout_subjects
        Explicit held-out subjects (overrides the seeded draw), as in every experiment.
    backbone
        The attacked embedder: ``yale-cosface`` (offline) or a FaceNet backbone when its
        weights are present (:class:`faceleak.vision.models.WeightsError` otherwise).
    cfg
        Attack sizes (default: the plan's ``inversion``).
    use_cache
        Reuse a cached run with the same key (config, seed, weights, subjects).
    log
        Progress messages (None: silent).
    attack_seed
        Seeds every random choice of the attacks, the decoder and the mapping network.
        The GAN, the backbone and the type II judge use the plan's ``seeds``.
    attack_subjects
        Attack only these held-out subjects (default: all of the split's held-out people).

    Returns
    -------
    InversionRun
    """
    plan = plan_mod.as_plan(plan, mode)
    resolved, dev = plan.mode, plan.device
    config.seed_everything(attack_seed)
    cfg = cfg or plan.inversion
    timer = common.PhaseTimer()
    setup = _prepare_models(plan, backbone, seed, heldout_subjects, attack_subjects, timer, log)
    key = _run_key(setup, cfg, attack_seed, backbone, resolved)
    if use_cache and (cached := _load_run(key)) is not None:
        cached.generator = setup.generator
        if log is not None:
            log(f"inversion: loaded the cached run {key}")
        return cached
    with timer("setup_s"):
        targets = _prepare_targets(setup, cfg)
    # The decoder depends on everything the run does but the judge; the run key covers it.
    recon, z_gan, histories, dec_meta = _attack(
        setup, targets, cfg, attack_seed, dev, timer, log,
        decoder_key({"part": "inversion-decoder", "run": key}), resolved)
    with timer("metrics_s"):
        reports, curves, reference = _measure(setup, targets, recon)
    metrics = _summarise(setup, targets, cfg, reports, reference, backbone, resolved, seed,
                         attack_seed, dev, timer.summary())
    metrics["decoder"] = {"origin": dec_meta["origin"], "key": dec_meta["key"],
                          "file": Path(dec_meta["path"]).name}
    faces, idx = setup.faces, targets.index
    run = InversionRun(metrics, faces.images[idx], faces.subjects[idx], faces.azimuth[idx],
                       faces.elevation[idx], recon, targets.mean_face, z_gan, curves,
                       setup.generator, histories)
    if use_cache:
        _save_run(run, key)
    return run


def reproduce_inversion(
    mode: str | None = None,
    seed: int = 0,
    heldout_subjects: Sequence[str] | None = None,
    backbone: str = "yale-cosface",
    log: Log = print,
    attack_seed: int = 0,
    attack_subjects: Sequence[str] | None = None,
    plan: RunPlan | None = None,
) -> dict:
    """The JSON summary of :func:`run_inversion` (what ``reproduce inversion`` writes).

    ``seed`` and ``heldout_subjects`` define the subject split as in every experiment;
    ``attack_seed`` and ``attack_subjects`` are those of :func:`run_inversion`.

    Returns
    -------
    dict
        ``backbone``, ``mode``, ``seed`` (of the split), ``attack_seed``,
        ``split_heldout_subjects``, ``heldout_subjects`` (the attacked ones) and ``attacks``
        with one entry
        per attack (``decoder``, ``gradient``, ``gan``), each holding ``success_far_1e-3``,
        ``success_far_1e-2``, ``success_other_images_far_1e-3``,
        ``success_other_images_far_1e-2``, ``type2_success_far_1e-3``, ``cosine``,
        ``ssim``, ``psnr`` and ``lighting_mae_deg``; plus thresholds, references
        (real photos, the mean face, the mapping alone) and timings.
    """
    return run_inversion(mode, seed, heldout_subjects, backbone, log=log, attack_seed=attack_seed,
                         attack_subjects=attack_subjects, plan=plan).metrics


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

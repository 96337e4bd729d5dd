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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from faceleak import config
from faceleak.privacy import attack_metrics as am
from faceleak.privacy import gan as gan_mod
from faceleak.privacy.attacks import (
    ATTACKS,
    INVERSION_CODE_VERSION,
    InversionConfig,
    Log,
    choose_alpha,
    decoder_attack,
    embed_array,
    fit_ridge,
    frozen,
    gan_attack,
    gradient_attack,
    inversion_config,
    pixel_light_features,
    sample_gan,
    train_decoder,
    train_mapper,
)


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


# =========================================================================== type II embedder


def type2_config(mode: str | None = None, epochs: int | None = None):
    """Config of the second embedder: narrower ResNet, ArcFace instead of CosFace, and plain
    per-image standardisation instead of the main backbone's illumination normalisation."""
    from faceleak.vision import train

    cfg = inversion_config(mode)
    # Every field is spelled out, so a change of the main backbone's defaults in
    # faceleak.vision.train never silently changes (and retrains) the judge.
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
    from faceleak.vision import models, train

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
        weights are present (:class:`faceleak.vision.models.WeightsError` otherwise).
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
    from faceleak.vision import data, embed, models

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
    a_emb = choose_alpha(emb[train_mask], light[train_mask], groups, alphas)
    light_from_emb = fit_ridge(emb[train_mask], light[train_mask], a_emb)
    pix = pixel_light_features(faces.images)
    a_pix = choose_alpha(pix[train_mask], light[train_mask], groups, alphas)
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

"""Chapter 3 on real recognizers: invert dlib's ResNet (black box) and FaceNet (white box).

:func:`run_real_inversion` attacks the templates of held-out people's photos made by one of
the two real recognizers and judges every reconstruction with both real recognizers and the
course's network (:mod:`faceleak.privacy.judges`: type I, type II, cross-model, ceilings).

Attacks on ``dlib-resnet`` (queries only; every query is counted):

``decoder``
    An NbNet/Shafkat-style decoder from dlib embedding to a 64x56 face, trained with a pixel
    loss on (photo, dlib embedding) pairs of the *training* people only; the mirrored photos
    are added (their embeddings are queried, and counted as training queries).
``decoder_es``
    The decoder's output refined by a natural evolution strategy in the decoder's input
    space (:func:`faceleak.privacy.blackbox.es_refine`), with queries to dlib only.
``gan_es``
    The ID2image recipe made query-only: faces drawn from the course's GAN are shown to dlib
    (training queries), an MLP maps dlib embedding to GAN latent, and its latent for each
    leaked template is refined by the evolution strategy in the GAN's latent space: every
    candidate is a face of the prior (cf. the genetic search over a GAN prior of Dong et al.).

Attacks on ``facenet-casia`` (gradients):

``gradient``
    Pixels optimised from the mean training face, no face prior (Lab 3's attack).
``gan``
    The course's face GAN as prior: the best of ``gan_candidates`` random latents, then the
    latent refined by gradient descent through FaceNet (Lab 3's GAN attack without the
    mapping network).
``gan_mapped``
    The ID2image recipe at the course's scale: an MLP from FaceNet embedding to GAN latent,
    fitted on generated faces, gives the start; gradient descent refines it.

Reconstructions are 64x56 (the size of the course's decoder and GAN); the real recognizers
see them upscaled 3x to the 192x168 of the photos they enrolled, and the reference
``target_64x56`` (the target photo itself, downscaled to 64x56 and back) shows what that
resolution alone costs. All sizes are in the run plan (``plan.real_inversion``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

import faceleak
from faceleak import config
from faceleak.experiments import common, recognizers
from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import JUDGE_LIGHTS, RealInversionSettings, RunPlan
from faceleak.privacy import attack_metrics as am
from faceleak.privacy import blackbox, judges
from faceleak.privacy import gan as gan_mod
from faceleak.privacy.attacks import (
    Log,
    choose_alpha,
    decoder_attack,
    decoder_key,
    embed_array,
    fit_ridge,
    gan_attack,
    generate,
    gradient_attack,
    pixel_light_features,
    resolve_decoder,
    sample_gan,
    train_decoder,
    train_mapper,
)
from faceleak.vision import data, models

__all__ = ["REAL_ATTACKS", "REAL_INVERSION_SETTINGS", "RealInversionSettings",
           "RECORDED_SPLITS", "load_reconstructions", "real_inversion_settings",
           "record_paths",
           "recorded_real_inversion", "run_real_inversion",
           "save_reconstructions", "validate_real_summary"]

#: The attacks run against each real recognizer.
REAL_ATTACKS: dict[str, tuple[str, ...]] = {
    models.DLIB_RESNET: ("decoder", "decoder_es", "gan_es"),
    models.FACENET_CASIA: ("gradient", "gan", "gan_mapped"),
}
#: The course network that judges beside the two real recognizers.
COURSE_JUDGE = models.YALE_BACKBONE


#: Each mode's settings, as in the run plan's table (:data:`faceleak.experiments.plan.TABLE`).
REAL_INVERSION_SETTINGS: dict[str, RealInversionSettings] = {
    mode: row["real_inversion"] for mode, row in plan_mod.TABLE.items()}


def real_inversion_settings(plan: RunPlan | str | None = None,
                            **overrides) -> RealInversionSettings:
    """The settings of a run plan's mode, optionally with fields replaced.

    A mode name (or None) resolves a plan first, for callers that have none.
    """
    plan = plan if isinstance(plan, RunPlan) else plan_mod.resolve_plan(plan)
    base = plan.real_inversion
    return replace(base, **overrides) if overrides else base


# =========================================================================== the judges


def _upscale(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Images (N, h, w) resized to ``size`` (bilinear): what a real recognizer is shown."""
    x = torch.as_tensor(np.asarray(images, np.float32))[:, None]
    if tuple(x.shape[-2:]) == tuple(size):
        return x[:, 0].numpy()
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)[:, 0].numpy()


def _dlib_embed(model: torch.nn.Module, size: tuple[int, int]) -> Callable:
    """dlib's embedding of 64x56 images (upscaled to ``size``), unit rows, for a counter."""
    def embed(images: np.ndarray) -> np.ndarray:
        out = []
        for s in range(0, len(images), 64):
            x = models.DLIB_SPEC.prepare(_upscale(images[s:s + 64], size))
            with torch.no_grad():
                out.append(F.normalize(model(x).float(), dim=1).numpy())
        return np.concatenate(out)
    return embed


@dataclass
class _Setup:
    """The photos, the split, the recognizers and their judges."""

    native: data.FaceSet
    course: data.FaceSet
    split: data.SubjectSplit
    train: np.ndarray  # mask over the photos
    gallery: np.ndarray  # indices of the held-out photos the judges enrol (judge_light)
    targets: np.ndarray  # indices into ``gallery`` of the attacked photos
    emb: dict[str, np.ndarray]  # judge -> embeddings of every photo
    nets: dict[str, tuple[torch.nn.Module, models.InputSpec]]
    judges: dict[str, judges.Judge]


def _choose_targets(faces: data.FaceSet, gallery: np.ndarray, subjects: Sequence[str],
                    per_subject: int) -> np.ndarray:
    """Rows of ``gallery``: each subject's ``per_subject`` most frontally lit photos."""
    out = []
    for subject in subjects:
        rows = np.flatnonzero(faces.subjects[gallery] == subject)
        light = np.abs(faces.azimuth[gallery][rows]) + np.abs(faces.elevation[gallery][rows])
        out.extend(rows[np.argsort(light, kind="stable")[:per_subject]].tolist())
    return np.array(out, dtype=np.int64)


def judge_gallery(faces: data.FaceSet, heldout: np.ndarray, judge_light: str) -> np.ndarray:
    """Indices of the held-out photos that the judges enrol (see ``judge_light``)."""
    if judge_light not in JUDGE_LIGHTS:
        raise ValueError(f"judge_light must be one of {JUDGE_LIGHTS}, got {judge_light!r}")
    keep = np.asarray(heldout, dtype=bool)
    if judge_light == "moderate":
        keep = keep & recognizers.moderate_light(faces.azimuth, faces.elevation)
    return np.flatnonzero(keep)


def _prepare(plan: RunPlan, seed: int, heldout_subjects: Sequence[str] | None,
             attack_subjects: Sequence[str] | None, s: RealInversionSettings,
             log: Log) -> _Setup:
    """Load the photos, draw the split, embed with the three judges, set the thresholds."""
    native, course = recognizers.load_real_faces(plan)
    split = common.make_split(course, seed, heldout_subjects)
    train, heldout = split.masks(course.subjects)
    gallery = judge_gallery(course, heldout, s.judge_light)
    attacked = sorted(split.heldout)[:s.max_attacked_subjects]
    if attack_subjects is not None:
        bad = sorted(set(attack_subjects) - set(split.heldout))
        if bad or not attack_subjects:
            raise ValueError(f"attacked subjects must be held-out ones {sorted(split.heldout)}; "
                             f"got {bad or 'none'}: an attack on a training person would "
                             "overstate the leak")
        attacked = sorted(set(attack_subjects))
    targets = _choose_targets(course, gallery, attacked, s.targets_per_subject)
    emb, nets = {}, {}
    for name in (*recognizers.REAL_BACKBONES, COURSE_JUDGE):
        faces = recognizers.backbone_input(name, native, course)
        emb[name] = recognizers.recognizer_embeddings(name, faces, plan, split=split)
        extra = {} if models.BACKBONES[name].is_pretrained else {
            "heldout_subjects": list(split.heldout)}
        nets[name] = models.get_backbone(name, plan.backbones, seed=plan.seeds.backbone,
                                         device=plan.device, **extra)
    subjects = course.subjects[gallery]
    judge_set = {name: judges.Judge.from_gallery(name, e[gallery], subjects)
                 for name, e in emb.items()}
    if log is not None:
        log(f"real inversion: {len(gallery)} held-out photos ({s.judge_light} light) enrolled "
            f"by the judges, {len(targets)} targets")
    return _Setup(native, course, split, train, gallery, targets, emb, nets, judge_set)


def _judge_embeddings(setup: _Setup, images: np.ndarray,
                      dlib: blackbox.QueryCounter) -> dict[str, np.ndarray]:
    """Every judge's embeddings of 64x56 images (dlib's through a judging-only counter)."""
    size = recognizers.native_size(setup.course.source)
    net, spec = setup.nets[models.FACENET_CASIA]
    big = _upscale(images, size)
    course_net, course_spec = setup.nets[COURSE_JUDGE]
    return {models.DLIB_RESNET: dlib(images),
            models.FACENET_CASIA: embed_array(net, spec, big, batch_size=32),
            COURSE_JUDGE: embed_array(course_net, course_spec, images)}


# =========================================================================== the attacks


def _load_gan(setup: _Setup, plan: RunPlan, log: Log) -> torch.nn.Module:
    """The course's face GAN, trained on the split's training people only."""
    full = data.load_faces(plan.image_size, source=setup.course.source)
    generator, _ = gan_mod.load_generator(
        setup.split.train, plan.gan, plan.mode, seed=plan.seeds.gan, device=plan.device,
        images=full.images[np.isin(full.subjects, setup.split.train)],
        data_source=full.source.kind, log=log)
    return generator


def _render(generator: torch.nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """Latents (N, z_dim) to the generator's faces (N, H, W): the search's renderer."""
    return lambda z: generate(generator, z)


def _mapped_latents(generator: torch.nn.Module, embed: Callable[[np.ndarray], np.ndarray],
                    target_emb: np.ndarray, s: RealInversionSettings, plan: RunPlan,
                    seed: int) -> np.ndarray:
    """ID2image's start: an embedding-to-latent MLP fitted on generated faces.

    ``embed`` is the attacked recognizer (for dlib, a query counter: the
    ``mapper_samples`` generated faces are the attack's training queries).
    """
    z, faces = sample_gan(generator, s.mapper_samples, seed=seed + 2)
    mapper, _ = train_mapper(embed(faces), z, s.mapper_steps, seed=seed, device=plan.device)
    with torch.no_grad():
        start = mapper(torch.as_tensor(np.asarray(target_emb, np.float32),
                                       device=next(mapper.parameters()).device))
    return start.cpu().numpy()


def _attack_dlib(setup: _Setup, s: RealInversionSettings, plan: RunPlan, seed: int,
                 timer: common.PhaseTimer, log: Log) -> tuple[dict, dict]:
    """The decoder and its query-only refinement; reconstructions and their costs."""
    course, native, train = setup.course, setup.native, setup.train
    target_emb = setup.emb[models.DLIB_RESNET][setup.gallery[setup.targets]]
    images = course.images[train]
    emb = setup.emb[models.DLIB_RESNET][train]
    with timer("decoder_data_s"):
        if s.decoder_flips:
            # Mirrored photos are new queries to dlib (cached on disk like every embedding).
            mirrored = replace(native.subset(train),
                               images=np.ascontiguousarray(native.images[train][:, :, ::-1]))
            images = np.concatenate([images, images[:, :, ::-1]])
            emb = np.concatenate([emb, recognizers.recognizer_embeddings(
                models.DLIB_RESNET, mirrored, plan)])
    net = setup.nets[models.DLIB_RESNET][0]
    cfg = replace(plan.inversion, decoder_width=s.decoder_width,
                  decoder_steps=s.decoder_steps, decoder_id_steps=0,
                  decoder_batch=s.decoder_batch, decoder_lr=s.decoder_lr)
    # Through the one checkpoint store: a second run on the same split and sizes (the lab
    # after the CLI, or the other way round) loads the decoder instead of retraining it.
    key = decoder_key({"part": "real-inversion-decoder", "backbone": models.DLIB_RESNET,
                       "train_subjects": sorted(setup.split.train), "seed": seed,
                       "data": course.source.kind, "flips": s.decoder_flips,
                       "width": s.decoder_width, "steps": s.decoder_steps,
                       "lr": s.decoder_lr, "batch": s.decoder_batch, "n_pairs": len(images)})
    with timer("decoder_s"):
        decoder, history, meta = resolve_decoder(
            key, lambda: train_decoder(images, emb, net, models.DLIB_SPEC, cfg, seed=seed,
                                       log=log), plan.mode, log)
        recon = {"decoder": decoder_attack(decoder, target_emb)}
    size = recognizers.native_size(course.source)
    counter = blackbox.QueryCounter(_dlib_embed(net, size))
    with timer("decoder_es_s"):
        result = blackbox.es_refine(lambda u: decoder_attack(decoder, u), counter, target_emb,
                                    target_emb, s.es_generations, s.es_population,
                                    s.es_sigma, s.es_lr, seed=seed)
    recon["decoder_es"] = result.images
    if log is not None:
        log(f"decoder + ES: dlib cosine {result.start_scores.mean():.3f} -> "
            f"{result.scores.mean():.3f} in {result.queries} queries")
    with timer("gan_es_s"):
        generator = _load_gan(setup, plan, log)
        mapping_counter = blackbox.QueryCounter(_dlib_embed(net, size))
        z0 = _mapped_latents(generator, mapping_counter, target_emb, s, plan, seed)
        latent = blackbox.es_refine(_render(generator), counter, target_emb, z0,
                                    s.latent_es_generations, s.latent_es_population,
                                    s.latent_es_sigma, s.latent_es_lr, seed=seed + 1)
    recon["gan_es"] = latent.images
    if log is not None:
        log(f"GAN latent + ES: dlib cosine {latent.start_scores.mean():.3f} -> "
            f"{latent.scores.mean():.3f} in {latent.queries} queries "
            f"({mapping_counter.queries} to fit the mapping)")
    # The decoder's cost is its training time, also when this run loaded it from the store.
    trained_s = float(history.get("seconds", timer.seconds["decoder_s"]))
    costs = {"decoder": {"training_queries": int(len(images)), "attack_queries": 0,
                         "seconds": trained_s, "decoder_origin": meta["origin"]},
             "decoder_es": {"training_queries": int(len(images)),
                            "attack_queries": int(result.queries),
                            "queries_per_target": int(result.queries // len(target_emb)),
                            "seconds": trained_s + timer.seconds["decoder_es_s"]},
             "gan_es": {"training_queries": int(mapping_counter.queries),
                        "attack_queries": int(latent.queries),
                        "queries_per_target": int(latent.queries // len(target_emb)),
                        "seconds": timer.seconds["gan_es_s"]}}
    return recon, costs


def _attack_facenet(setup: _Setup, s: RealInversionSettings, plan: RunPlan, seed: int,
                    timer: common.PhaseTimer, log: Log) -> tuple[dict, dict]:
    """White-box attacks on FaceNet: pixels without a prior, GAN latent with the prior."""
    net, spec = setup.nets[models.FACENET_CASIA]
    target_emb = setup.emb[models.FACENET_CASIA][setup.gallery[setup.targets]]
    mean_face = setup.course.images[setup.train].mean(0)
    recon: dict[str, np.ndarray] = {}
    with timer("gradient_s"):
        recon["gradient"], _ = gradient_attack(net, spec, target_emb, mean_face,
                                               s.gradient_steps, s.gradient_lr, s.gradient_tv)
    with timer("gan_s"):
        generator = _load_gan(setup, plan, log)
        z, x = sample_gan(generator, s.gan_candidates, seed=seed + 1)
        cand = embed_array(net, spec, x, batch_size=32)
        z0 = z[(target_emb @ cand.T).argmax(1)]
        recon["gan"], _, _ = gan_attack(generator, net, spec, target_emb, z0, s.gan_steps,
                                        s.gan_lr, s.gan_prior)
    with timer("gan_mapped_s"):
        z0 = _mapped_latents(generator, lambda faces: embed_array(net, spec, faces,
                                                                  batch_size=32),
                             target_emb, s, plan, seed)
        recon["gan_mapped"], _, _ = gan_attack(generator, net, spec, target_emb, z0,
                                               s.gan_steps, s.gan_lr, s.gan_prior)
    costs = {"gradient": {"steps": s.gradient_steps, "seconds": timer.seconds["gradient_s"]},
             "gan": {"steps": s.gan_steps, "candidates": s.gan_candidates,
                     "seconds": timer.seconds["gan_s"]},
             "gan_mapped": {"steps": s.gan_steps, "mapping_samples": s.mapper_samples,
                            "seconds": timer.seconds["gan_mapped_s"]}}
    return recon, costs


# =========================================================================== measuring


def _light_probe(setup: _Setup):
    """Chapter 2's pixel light probe, fitted on training people's photos."""
    faces, train = setup.course, setup.train
    light = np.stack([faces.azimuth, faces.elevation], 1)[train]
    pix = pixel_light_features(faces.images[train])
    alpha = choose_alpha(pix, light, faces.subjects[train], np.logspace(-3, 3, 7))
    return fit_ridge(pix, light, alpha)


def _measure(setup: _Setup, attacked: str, recon: dict[str, np.ndarray], costs: dict,
             judge_counter: blackbox.QueryCounter) -> dict:
    """Every judge's verdict, SSIM and light error of each attack (and of the reference)."""
    rows = setup.gallery[setup.targets]
    originals = setup.course.images[rows]
    probe = _light_probe(setup)
    az, el = setup.course.azimuth[rows], setup.course.elevation[rows]
    out = {}
    # Two references: the target photo itself at the attacks' resolution, and the training
    # people's mean face (no attack: what a reconstruction that learnt nothing would score).
    mean_face = np.repeat(setup.course.images[setup.train].mean(0)[None], len(rows), axis=0)
    for name, images in {**recon, "target_64x56": originals, "mean_face": mean_face}.items():
        verdict = judges.attack_verdict(attacked, setup.judges,
                                        _judge_embeddings(setup, images, judge_counter),
                                        setup.targets, recognizers.REAL_BACKBONES)
        verdict["ssim"] = float(am.ssim(images, originals).mean())
        verdict["lighting_mae_pixels_deg"] = am.lighting_mae(
            probe(pixel_light_features(images)), az, el)["mean"]
        verdict.update(costs.get(name, {}))
        out[name] = verdict
    return out


def run_real_inversion(mode: str | None = None, seed: int = 0,
                       heldout_subjects: Sequence[str] | None = None,
                       backbone: str = models.DLIB_RESNET, attack_seed: int = 0,
                       attack_subjects: Sequence[str] | None = None,
                       settings: RealInversionSettings | None = None, log: Log = print,
                       plan: RunPlan | None = None,
                       images_path: str | Path | None = None) -> dict:
    """Attack a real recognizer's templates of held-out people and judge with three models.

    Parameters
    ----------
    mode
        ``quick`` or ``full``, when no ``plan`` is given (a plan is resolved from it).
    plan
        The run plan (:func:`faceleak.experiments.plan.resolve_plan`); its
        ``real_inversion`` settings are the sizes.
    seed, heldout_subjects
        The subject split, as in every experiment: nothing is trained on held-out people.
    backbone
        ``dlib-resnet`` (black-box attacks) or ``facenet-casia`` (white-box attacks).
    attack_seed
        Seed of the attacks' random choices.
    attack_subjects
        Attack only these held-out subjects (default: the settings' first
        ``max_attacked_subjects`` of them, all when None).
    settings
        Sizes (default: the mode's).
    log
        Progress messages (None: silent).
    images_path
        Where to save the targets and every attack's reconstructions (``.npz``, 8-bit, read
        back by :func:`load_reconstructions`); None saves nothing.

    Returns
    -------
    dict
        JSON-ready: ``attacks`` (per attack: ``type1_far_1e-3``/``1e-2``,
        ``type2_far_*``, ``cross_model_far_*``, ``cross_model_type2_far_*``, every judge's
        rates, SSIM, light error, queries or steps, seconds), ``reference.target_64x56``
        (the target photo at 64x56) and ``reference.mean_face`` (no attack),
        ``ceilings`` (per judge), ``thresholds`` (per judge) and ``timings_s``.
    """
    if backbone not in REAL_ATTACKS:
        raise ValueError(f"run_real_inversion attacks {sorted(REAL_ATTACKS)}; for the course's "
                         f"networks use faceleak.experiments.inversion.run_inversion "
                         f"(got {backbone!r})")
    plan = plan_mod.as_plan(plan, mode)
    resolved = plan.mode
    s = settings or real_inversion_settings(plan)
    config.seed_everything(attack_seed)
    timer = common.PhaseTimer()
    with timer("setup_s"):
        setup = _prepare(plan, seed, heldout_subjects, attack_subjects, s, log)
    attack = _attack_dlib if backbone == models.DLIB_RESNET else _attack_facenet
    recon, costs = attack(setup, s, plan, attack_seed, timer, log)
    judge_counter = blackbox.QueryCounter(_dlib_embed(
        setup.nets[models.DLIB_RESNET][0], recognizers.native_size(setup.course.source)))
    with timer("judging_s"):
        measured = _measure(setup, backbone, recon, costs, judge_counter)
    if images_path is not None:
        save_reconstructions(images_path, setup, recon)
    ceilings = {name: judges.ceiling_rates(j, setup.targets) for name, j in setup.judges.items()}
    cross = measured[REAL_ATTACKS[backbone][0]]["cross_model_judge"]
    return common.jsonable({
        "backbone": backbone, "mode": resolved, "seed": seed, "attack_seed": attack_seed,
        "split_heldout_subjects": sorted(setup.split.heldout),
        "heldout_subjects": sorted(set(setup.course.subjects[setup.gallery[setup.targets]])),
        "n_targets": int(len(setup.targets)),
        "thresholds": {name: {am.far_label(f): t for f, t in j.thresholds.items()}
                       for name, j in setup.judges.items()},
        "attacks": {name: measured[name] for name in REAL_ATTACKS[backbone]},
        "reference": {"target_64x56": measured["target_64x56"],
                      "mean_face": measured["mean_face"]},
        "ceilings": ceilings,
        "cross_model_judge": cross,
        "type1_ceiling": ceilings[backbone], "cross_model_ceiling": ceilings[cross],
        "judging_queries": judge_counter.queries,
        "settings": s.to_dict(), "timings_s": timer.summary(),
        "faceleak_version": faceleak.__version__,
        "command": (f"python -m faceleak reproduce inversion --backbone {backbone} --mode "
                    f"{resolved} --seed {seed} --attack-seed {attack_seed}"
                    + (f" --attack-subjects {','.join(sorted(set(attack_subjects)))}"
                       if attack_subjects is not None else ""))})


def save_reconstructions(path: str | Path, setup: _Setup, recon: dict[str, np.ndarray]) -> None:
    """Save the targets and reconstructions (8-bit) with each target's subject and light."""
    rows = setup.gallery[setup.targets]
    faces = setup.course
    arrays = {f"recon_{name}": images for name, images in recon.items()}
    arrays["target"] = faces.images[rows]
    to_uint8 = {key: np.round(np.clip(v, 0, 1) * 255).astype(np.uint8)
                for key, v in arrays.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, subjects=np.asarray(faces.subjects[rows]).astype(str),
                        azimuth=faces.azimuth[rows], elevation=faces.elevation[rows],
                        **to_uint8)


def load_reconstructions(path: str | Path) -> dict[str, np.ndarray]:
    """Read what :func:`save_reconstructions` wrote: ``target``, one array per attack
    (images in [0, 1]), and ``subjects``, ``azimuth``, ``elevation`` per target."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no reconstructions at {path}; write them with `python -m "
                                "faceleak reproduce inversion --backbone dlib-resnet --images "
                                "PATH.npz`")
    try:
        with np.load(path, allow_pickle=False) as f:
            raw = {key: f[key] for key in f.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a reconstructions file (.npz written by "
                         f"save_reconstructions): {exc}") from exc
    missing = {"target", "subjects", "azimuth", "elevation"} - set(raw)
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}: not written by save_reconstructions")
    out = {key: v for key, v in raw.items() if not key.startswith("recon_")}
    out["target"] = raw["target"].astype(np.float32) / 255
    for key, v in raw.items():
        if key.startswith("recon_"):
            out[key[len("recon_"):]] = v.astype(np.float32) / 255
    return out


#: Where the package keeps the recorded quick-mode runs that Lab 3 shows (see
#: :func:`recorded_real_inversion`; ``make record-real-inversion`` rewrites them).
RECORD_RESOURCE_DIR = "measurements"
#: The recorded splits: split 0 (the lab's) and a second split whose attacked people the lab
#: never attacks (held out by split 1, not by split 0), so that a result can be replicated.
RECORDED_SPLITS: dict[int, tuple[str, ...] | None] = {
    0: None,
    1: ("yaleB05", "yaleB10", "yaleB12", "yaleB15", "yaleB25", "yaleB30"),
}


def record_paths(backbone: str, seed: int = 0) -> tuple[Path, Path]:
    """The recorded summary (``.json``) and reconstructions (``.npz``) of ``backbone`` on the
    subject split ``seed``."""
    if backbone not in REAL_ATTACKS:
        raise ValueError(f"runs are recorded for {sorted(REAL_ATTACKS)}, not {backbone!r}")
    if seed not in RECORDED_SPLITS:
        raise ValueError(f"runs are recorded for the splits {sorted(RECORDED_SPLITS)}, not "
                         f"{seed}; measure others with run_real_inversion(seed={seed})")
    folder = Path(str(resources.files("faceleak") / "resources" / RECORD_RESOURCE_DIR))
    stem = f"real-inversion-{backbone}-seed{seed}"
    return folder / f"{stem}.json", folder / f"{stem}.npz"


def recorded_real_inversion(backbone: str, seed: int = 0
                            ) -> tuple[dict, dict[str, np.ndarray]]:
    """The recorded run of :func:`run_real_inversion` on ``backbone`` and split ``seed``.

    Both attacks together take several minutes on 2 CPU cores, more than a lab's quick
    budget, so the package ships runs of each (:data:`RECORDED_SPLITS`), made by the command
    in the summary's ``command`` (the same function, quick mode). Lab 3 shows them and can
    measure its own instead.

    Returns
    -------
    summary, images
        The summary, and what :func:`load_reconstructions` reads from its images.

    Raises
    ------
    FileNotFoundError, ValueError
        When the record is missing, or not a summary of this function (what to run is said).
    """
    summary_path, images_path = record_paths(backbone, seed)
    remedy = (f"rebuild it with `make record-real-inversion`, or measure it with "
              f"run_real_inversion(backbone={backbone!r}, seed={seed})")
    if not summary_path.is_file():
        raise FileNotFoundError(f"no recorded run of {backbone} at {summary_path}: {remedy}")
    try:
        summary = json.loads(summary_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{summary_path} is not a JSON summary ({exc}): {remedy}") from exc
    validate_real_summary(summary)
    if summary["backbone"] != backbone or summary.get("seed") != seed:
        raise ValueError(f"{summary_path} records {summary['backbone']} on split "
                         f"{summary.get('seed')}, not {backbone} on split {seed}: {remedy}")
    images = load_reconstructions(images_path)
    missing = sorted(set(summary["attacks"]) - set(images))
    if missing or len(images["target"]) != summary["n_targets"]:
        raise ValueError(f"{images_path} does not match {summary_path.name} (missing "
                         f"{missing or 'nothing'}, {len(images['target'])} targets for "
                         f"{summary['n_targets']}): {remedy}")
    return summary, images


REQUIRED_REAL_KEYS: tuple[str, ...] = tuple(
    f"{kind}_far_{far}" for kind in ("type1", "type2", "cross_model") for far in ("1e-3", "1e-2"))


def validate_real_summary(summary: dict) -> None:
    """Raise ValueError unless ``summary`` has the schema of :func:`run_real_inversion`."""
    for key in ("backbone", "attacks", "ceilings", "thresholds", "cross_model_ceiling"):
        if key not in summary:
            raise ValueError(f"summary lacks {key!r}")
    for name in REAL_ATTACKS[summary["backbone"]]:
        entry = summary["attacks"].get(name, {})
        missing = [k for k in REQUIRED_REAL_KEYS if not isinstance(entry.get(k), (int, float))]
        if missing:
            raise ValueError(f"attacks.{name} lacks numbers for {missing}")
    json.dumps(summary)

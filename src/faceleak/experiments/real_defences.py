"""Chapter 4's defences on a real recognizer: FaceNet's templates, protected and attacked.

:func:`reproduce_real_defences` runs Chapter 4's sweep (:func:`faceleak.experiments.defences.
defence_sweep`: utility, light leakage) on the templates that a real pretrained recognizer
makes of the real-face photo set (:func:`faceleak.experiments.recognizers.load_real_faces`,
embeddings cached on disk), chooses the operating points within the EER budget, and attacks
every one of them with Chapter 3's white-box GAN-prior attack on FaceNet
(:mod:`faceleak.experiments.real_inversion`), *through the defence*: the attacker knows the
defence and its parameters (Kerckhoffs), so the attacked model is FaceNet followed by the
defence. Each defence reaches the attack as a linear map (:func:`attack_form`):

``exact``
    nuisance projection (INLP), PCA and the scale control are linear: the attack follows
    their gradient exactly (:func:`faceleak.privacy.defenses.linear_form`);
``straight-through``
    PCA with quantisation: the attack goes through the PCA and matches the dequantised
    template (the rounding has no gradient; its error is at most half a level);
``noise ignored``
    noise: the noise is fresh and zero-mean, so the attacker matches the noisy template
    through the identity;
``sign surrogate``
    BioHash with the key known: the attack maximises the cosine between the keyed
    projection and the template's bits mapped to ±1, which pushes every projection to the
    right sign.

Every reconstruction is judged by the *unprotected* recognizer (:mod:`faceleak.privacy.
judges`): type I against the target photo's own template, type II against the person's
other photos, at FAR 1e-3 and 1e-2 (thresholds from the judge's own held-out impostor
pairs), next to the undefended attack and the ceilings (a real other photo in place of the
reconstruction). Sizes are in the run plan (``plan.real_defences``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from faceleak import config
from faceleak.experiments import common, defences, recognizers
from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import RealDefenceSettings, RunPlan
from faceleak.experiments.real_inversion import _choose_targets, _upscale, judge_gallery
from faceleak.privacy import attack_metrics as am
from faceleak.privacy import defenses, judges
from faceleak.privacy import gan as gan_mod
from faceleak.privacy.attacks import ProtectedEmbedder, embed_array, gan_attack, sample_gan
from faceleak.vision import data, models

__all__ = ["ATTACKED_RECOGNIZERS", "REAL_DEFENCE_KEYS", "attack_form", "attack_through",
           "attacked_points",
           "reproduce_real_defences", "validate_real_defences"]

#: The real recognizers whose protected templates can be attacked here (white box: the
#: attack needs gradients through the recognizer). dlib's ResNet is a black box to this
#: course; its sweep runs with ``attack=False``.
ATTACKED_RECOGNIZERS: tuple[str, ...] = (models.FACENET_CASIA,)


def attack_form(defence, dim: int, protected: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """How an attacker who knows ``defence`` attacks its protected templates by gradient.

    Parameters
    ----------
    defence
        A fitted defence of :mod:`faceleak.privacy.defenses`, or None (no defence).
    dim
        The embedding size.
    protected
        The protected templates to attack (n, k).

    Returns
    -------
    weight, bias, targets, how
        The attacked model is ``normalise(E(x)) @ weight + bias``
        (:class:`faceleak.privacy.attacks.ProtectedEmbedder`); ``targets`` (n, k') are the unit
        vectors its output should point to; ``how`` names the form (see the module's
        docstring).
    """
    protected = np.asarray(protected, np.float64)
    if defence is None:
        return np.eye(dim), np.zeros(dim), defenses.l2_normalise(protected), "no defence"
    exact = defenses.linear_form(defence, dim)
    if exact is not None:
        return (*exact, defenses.l2_normalise(protected), "exact")
    if isinstance(defence, defenses.PCAQuantise):
        w = defence.pca_.components_.T.astype(np.float64)
        return w, -defence.pca_.mean_ @ w, defenses.l2_normalise(protected), "straight-through"
    if isinstance(defence, defenses.NoiseDefence):
        return np.eye(dim), np.zeros(dim), defenses.l2_normalise(protected), "noise ignored"
    if isinstance(defence, defenses.BioHash):
        w = defence.matrix_
        signs = 2.0 * protected - 1.0
        return w, -defence.centre_ @ w, defenses.l2_normalise(signs), "sign surrogate"
    raise ValueError(f"no attack form for {type(defence).__name__}: add one to attack_form "
                     "before sweeping it")


def attack_through(generator: torch.nn.Module, net: torch.nn.Module, spec: models.InputSpec,
                   defence, protected: np.ndarray, latents: np.ndarray,
                   candidates: np.ndarray, s: RealDefenceSettings
                   ) -> tuple[np.ndarray, str]:
    """The GAN-prior attack on ``net`` followed by ``defence``, against protected templates.

    The start of each target is the candidate latent whose image's *protected* template is
    closest to the target (``candidates``: the unprotected embeddings of ``latents``'
    images), then the latents are refined by gradients through ``net`` and the defence
    (:func:`faceleak.privacy.attacks.gan_attack`).

    Returns
    -------
    images, how
        The reconstructions (n, 64, 56) and the attack form (:func:`attack_form`).
    """
    dim = candidates.shape[1]
    weight, bias, targets, how = attack_form(defence, dim, protected)
    start = defenses.l2_normalise(defenses.l2_normalise(candidates) @ weight + bias)
    z0 = latents[(targets @ start.T).argmax(1)]
    images, _, _ = gan_attack(generator, ProtectedEmbedder(net, weight, bias), spec, targets,
                              z0, s.gan_steps, s.gan_lr, s.gan_prior)
    return images, how


def attacked_points(points: Sequence[dict], which: str = "best") -> list[dict]:
    """The operating points the adaptive attack runs at (besides no defence).

    ``"best"``: the least leaky operating point within the EER budget
    (:func:`faceleak.experiments.defences.best_protection`); ``"all"``: every one within the
    budget (:func:`faceleak.experiments.defences.protections_within_budget`). The scale
    control is never attacked, and a point outside the budget never is: none may be.
    """
    if which == "all":
        return defences.protections_within_budget(points)
    if which == "best":
        best = defences.best_protection(points)
        return [best] if best is not None else []
    raise ValueError(f"which must be 'best' or 'all', got {which!r}")


@dataclass
class _Attack:
    """What the attacks at every operating point share: targets, judge, models, latents."""

    targets: np.ndarray  # rows of ``gallery`` attacked
    gallery: np.ndarray  # photos the judge enrols
    judge: judges.Judge
    net: torch.nn.Module
    spec: models.InputSpec
    generator: torch.nn.Module
    latents: np.ndarray
    candidates: np.ndarray
    size: tuple[int, int]


def _attack_setup(native: data.FaceSet, course: data.FaceSet, split: data.SubjectSplit,
                  emb: np.ndarray, backbone: str, plan: RunPlan, seed: int) -> _Attack:
    """The unprotected judge, the targets, the recognizer, the GAN and its scored samples."""
    s = plan.real_defences
    _, heldout = split.masks(course.subjects)
    gallery = judge_gallery(course, heldout, s.light)
    attacked = sorted(split.heldout)[:s.max_attacked_subjects]
    targets = _choose_targets(course, gallery, attacked, s.targets_per_subject)
    judge = judges.Judge.from_gallery(backbone, emb[gallery], course.subjects[gallery])
    net, spec = models.get_backbone(backbone, plan.backbones, device=plan.device)
    full = data.load_faces(plan.image_size, source=course.source)
    generator, _ = gan_mod.load_generator(
        split.train, plan.gan, plan.mode, seed=plan.seeds.gan, device=plan.device,
        images=full.images[np.isin(full.subjects, split.train)],
        data_source=full.source.kind, log=None)
    latents, samples = sample_gan(generator, s.gan_candidates, seed=seed + 1)
    candidates = embed_array(net, spec, samples, batch_size=32)
    return _Attack(targets, gallery, judge, net, spec, generator, latents, candidates,
                   recognizers.native_size(native.source))


def _verdict(a: _Attack, images: np.ndarray, originals: np.ndarray) -> dict:
    """The unprotected judge's type I and type II rates of 64x56 images, and their SSIM."""
    recon_emb = embed_array(a.net, a.spec, _upscale(images, a.size), batch_size=32)
    return {**judges.judge_rates(a.judge, recon_emb, a.targets),
            "ssim": float(am.ssim(images, originals).mean())}


def _attack_rows(course: data.FaceSet, split: data.SubjectSplit, emb: np.ndarray,
                 points: Sequence[dict], a: _Attack, plan: RunPlan, seed: int) -> list[dict]:
    """The attack with no defence and at each operating point, judged without defence."""
    train, _ = split.masks(course.subjects)
    light = np.column_stack([course.azimuth, course.elevation])
    rows = a.gallery[a.targets]
    originals = course.images[rows]
    plan_rows = [("no defence", float("nan"), None)]
    for point in points:
        defence = defenses.make_defence(point["defence_id"], point["strength"], seed)
        plan_rows.append((point["defence"], point["strength"],
                          defence.fit(emb[train], light[train])))
    out = []
    for name, strength, defence in plan_rows:
        protected = emb if defence is None else defence.transform(emb)
        images, how = attack_through(a.generator, a.net, a.spec, defence, protected[rows],
                                     a.latents, a.candidates, plan.real_defences)
        out.append({"defence": name, "strength": strength, "attack_form": how,
                    **_verdict(a, images, originals)})
    return out


def reproduce_real_defences(plan: RunPlan | None = None, mode: str | None = None,
                            seed: int = 0, heldout_subjects: Sequence[str] | None = None,
                            backbone: str = models.FACENET_CASIA, attack: bool = True,
                            eer_budget: float | None = None, attack_seed: int = 0) -> dict:
    """Chapter 4's defences on a real recognizer: utility, light leakage, adaptive attack.

    Parameters
    ----------
    plan, mode
        The run plan (or a mode to resolve one); its ``real_defences`` are the sweep, the
        budget and the attack's sizes, its ``real_faces`` the photos.
    seed, heldout_subjects
        The subject split (defences, probes and the GAN are fitted on the others).
    backbone
        A real recognizer (``facenet-casia``; ``dlib-resnet`` with ``attack=False``).
    attack
        Run the adaptive attack at the operating points (the slow part).
    eer_budget
        The largest EER loss an operating point may cost (default the plan's).
    attack_seed
        Seed of the attack's random choices.

    Returns
    -------
    dict
        JSON-ready: ``sweep`` (rows of :func:`faceleak.experiments.defences.defence_sweep`,
        ``baseline`` first), ``operating_points`` (the best of each defence within the
        budget, ``ok`` False where none is), ``best`` (the least leaky of those,
        :func:`faceleak.experiments.defences.best_protection`), ``attacks`` (no defence,
        then the best operating point, or every one within the budget but the scale control
        with ``attack_points="all"``: ``type1_far_*``, ``type2_far_*``, ``cosine``,
        ``attack_form``, SSIM; None with ``attack=False``),
        ``ceilings``, ``thresholds``, ``eer_budget`` and ``timings_s``.

    Raises
    ------
    ValueError
        A course backbone (use :func:`faceleak.experiments.defences.reproduce_defences`), or
        an attack on a recognizer without gradients.
    """
    if backbone not in recognizers.REAL_BACKBONES:
        raise ValueError(f"reproduce_real_defences protects a real recognizer's templates "
                         f"{sorted(recognizers.REAL_BACKBONES)}; for the course's networks "
                         f"use faceleak.experiments.reproduce_defences (got {backbone!r})")
    if attack and backbone not in ATTACKED_RECOGNIZERS:
        raise ValueError(f"the adaptive attack needs gradients through the recognizer "
                         f"({', '.join(ATTACKED_RECOGNIZERS)}); {backbone} is a black box "
                         "here: pass attack=False for its utility and leakage sweep")
    plan = plan_mod.as_plan(plan, mode)
    s = plan.real_defences
    eer_budget = s.eer_budget if eer_budget is None else eer_budget
    config.seed_everything(attack_seed)
    timer = common.PhaseTimer()
    with timer("features_s"):
        native, course = recognizers.load_real_faces(plan)
        split = common.make_split(course, seed, heldout_subjects)
        emb = recognizers.recognizer_embeddings(backbone, native, plan)
        # Every axis on the same photos as the judges (``s.light``).
        keep = judge_gallery(course, np.ones(len(course), bool), s.light)
        native, course, emb = native.subset(keep), course.subset(keep), emb[keep]
    with timer("sweep_s"):
        rows = defences.defence_sweep(course, split, emb, s.sweep_dict(), seed=seed,
                                      kinds=s.probe_kinds)
    points = defenses.best_operating_points(rows[1:], rows[0]["eer"], eer_budget,
                                            defences.LEAKAGE_KEY)
    attacked = ceilings = thresholds = None
    n_targets = 0
    if attack:
        with timer("attack_setup_s"):
            a = _attack_setup(native, course, split, emb, backbone, plan, attack_seed)
        with timer("attack_s"):
            attacked = _attack_rows(course, split, emb, attacked_points(points,
                                                                        s.attack_points),
                                    a, plan, seed)
        ceilings = judges.ceiling_rates(a.judge, a.targets)
        thresholds = {am.far_label(f): t for f, t in a.judge.thresholds.items()}
        n_targets = len(a.targets)
    return common.jsonable({
        "backbone": backbone, "mode": plan.mode, "seed": seed, "attack_seed": attack_seed,
        "heldout_subjects": list(split.heldout), "light": s.light, "n_photos": len(course),
        "data": recognizers.describe_real_faces(native, plan),
        "baseline": rows[0], "sweep": rows, "operating_points": points,
        "best": defences.best_protection(points), "attacks": attacked,
        "n_targets": n_targets, "ceilings": ceilings, "thresholds": thresholds,
        "eer_budget": eer_budget,
        "settings": {**dataclasses.asdict(s), "sweep": s.sweep_dict()},
        "seconds": timer.summary()["total_s"], "timings_s": timer.summary()})


#: The rates every attack row of :func:`reproduce_real_defences` reports.
REAL_DEFENCE_KEYS: tuple[str, ...] = tuple(
    f"{kind}_far_{far}" for kind in ("type1", "type2") for far in ("1e-3", "1e-2"))


def validate_real_defences(summary: dict) -> None:
    """Raise ValueError unless ``summary`` has the schema of :func:`reproduce_real_defences`."""
    for key in ("backbone", "baseline", "sweep", "operating_points", "eer_budget", "attacks"):
        if key not in summary:
            raise ValueError(f"summary lacks {key!r}")
    for row in summary["sweep"]:
        missing = [k for k in ("eer", "tar_far_1e-2", defences.LEAKAGE_KEY)
                   if not isinstance(row.get(k), (int, float))]
        if missing:
            raise ValueError(f"sweep row {row.get('defence')!r} lacks numbers for {missing}")
    if summary["attacks"] is not None:
        if not summary["attacks"] or summary["attacks"][0].get("defence") != "no defence":
            raise ValueError("attacks must start with the undefended attack ('no defence')")
        for row in summary["attacks"]:
            missing = [k for k in REAL_DEFENCE_KEYS if not isinstance(row.get(k), (int, float))]
            if missing:
                raise ValueError(f"attack on {row.get('defence')!r} lacks numbers for {missing}")
        if not isinstance(summary.get("ceilings"), dict):
            raise ValueError("summary lacks the ceilings of its attacks")
    json.dumps(summary)

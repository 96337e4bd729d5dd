"""Chapter 4's experiment: every defence measured on utility, leakage and inversion.

:func:`reproduce_defences` is what Lab 4 and ``python -m faceleak reproduce defences`` call.
The defences themselves are in :mod:`faceleak.privacy.defenses`; the attacks in
:mod:`faceleak.privacy.attacks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import Ridge

from faceleak.experiments import common
from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import RunPlan
from faceleak.privacy import attack_metrics, attacks, defenses, gan, probes
from faceleak.vision import data, embed

#: The sweep of every defence: name -> strengths (iterations, bits, noise scale, dimensions),
#: and Chapter 4's utility budget (an operating point may raise the EER by at most this much
#: over no defence). Both are the quick plan's (``faceleak.experiments.plan.TABLE``), kept as
#: names for the figures; a run uses its own ``plan.defences``.
DEFENCE_SWEEP: dict[str, tuple[float, ...]] = plan_mod.TABLE["quick"]["defences"].sweep_dict()
EER_BUDGET: float = plan_mod.TABLE["quick"]["defences"].eer_budget
#: The leakage an operating point minimises (and the best protection is chosen by).
LEAKAGE_KEY = "lighting_class_accuracy"


def defence_sweep(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                  sweep: dict[str, tuple[float, ...]] | None = None, seed: int = 0,
                  kinds: tuple[str, ...] = ("linear", "mlp"), inverter=None) -> list[dict]:
    """Evaluate every defence at every strength on one split (see :mod:`faceleak.privacy.defenses`).

    The first row is the unprotected baseline (``defence == "none"``). ``inverter``, when
    given, is called as ``inverter(protected, defence_row)`` and returns a dict of inversion
    metrics that is merged into the row.
    """
    train, test = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    baseline = defenses.NoiseDefence(strength=0.0, name="none")
    settings = [("none", baseline)] + [
        (name, defenses.make_defence(name, s, seed))
        for name, strengths in (sweep or DEFENCE_SWEEP).items() for s in strengths]
    rows = defenses.evaluate_many([defence for _, defence in settings], embedding, light,
                                  faces.subjects, train, test, kinds, seed)
    for (short, defence), row in zip(settings, rows, strict=True):
        row["defence_id"] = short
        if inverter is not None:
            row.update(inverter(defence.transform(embedding), row))
    return rows


def biohash_key_scenarios(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                          n_bits: int = 64, seed: int = 0) -> dict:
    """BioHash against three attackers: key stolen, key unknown, and cross-key linkage.

    * stolen key: the attacker makes protected templates of auxiliary people with the
      victim's key and trains the light probe on them;
    * unknown key: the attacker trains on templates made with a key of their own;
    * linkability: EER of same-person comparisons across two keys (0.5 = unlinkable).
    """
    train, test = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    victim = defenses.BioHash(key=1000 + seed, n_bits=n_bits).fit(embedding[train])
    attacker = defenses.BioHash(key=2000 + seed, n_bits=n_bits).fit(embedding[train])
    stolen = defenses.leakage(victim.transform(embedding[train]), light[train],
                              victim.transform(embedding[test]), light[test], ("linear",), seed,
                              faces.subjects[train])
    unknown = defenses.leakage(attacker.transform(embedding[train]), light[train],
                               victim.transform(embedding[test]), light[test], ("linear",), seed,
                               faces.subjects[train])
    link = defenses.cross_key_linkability(embedding[test], faces.subjects[test], 1000 + seed,
                                          2000 + seed, n_bits, fit_features=embedding[train])
    zeros = np.zeros((len(faces), 1))
    chance, _ = probes.cross_subject(zeros, faces.azimuth, train, test, "regression", "chance")
    chance_cls, _ = probes.cross_subject(zeros, probes.lighting_class(faces.azimuth), train,
                                         test, "classification", "chance")
    return {"n_bits": n_bits, "stolen_key": stolen, "unknown_key": unknown, **link,
            "chance_azimuth_mae_deg": chance.mae,
            "chance_lighting_class_accuracy": chance_cls.accuracy}


def reproduce_defences(mode: str | None = None, seed: int = 0,
                       heldout_subjects: Sequence[str] | None = None,
                       backbone: str = "yale-cosface-plain", inversion: bool = True,
                       reference_backbone: str | None = "yale-cosface-single",
                       eer_budget: float | None = None, plan: RunPlan | None = None) -> dict:
    """Chapter 4's measurements: every defence on utility, leakage and inversion.

    Parameters
    ----------
    mode, seed, heldout_subjects
        Run mode (when no ``plan`` is given), seed of the subject split (and of the
        defences), explicit held-out list.
    plan
        The run plan (:func:`faceleak.experiments.plan.resolve_plan`): backbone, sweep,
        budget and attack sizes.
    backbone
        The embedder whose templates are protected.
    inversion
        Run the adaptive inversion attacks (the slow part).
    reference_backbone
        A backbone evaluated with no template defence, for comparison (the course's
        Tan-Triggs network removes light before the embedding); None to skip.
    eer_budget
        The largest EER loss an operating point may cost (default ``plan.defences``).

    Returns
    -------
    dict
        JSON-serialisable: the sweep rows (inversion by the adaptive linear decoder;
        ``baseline`` is the first), the best operating point of each defence within the
        budget (``operating_points``, ``ok`` False where none is), Chapter 3's decoder
        retrained with no defence and at the best operating point (:func:`best_protection`),
        Chapter 3's GAN attack through every operating point within the budget whose
        defence is differentiable (:func:`gan_inverter`; both ``None`` with
        ``inversion=False``), probes retrained against INLP (``adaptive_inlp``), the BioHash
        key scenarios, the ``reference`` row and the ``eer_budget``.
    """
    timer = common.PhaseTimer()
    plan = plan_mod.as_plan(plan, mode)
    eer_budget = plan.defences.eer_budget if eer_budget is None else eer_budget
    with timer("features_s"):
        faces = data.load_faces(plan.image_size)
        split = common.make_split(faces, seed, heldout_subjects)
        embedding = common.backbone_features(faces, split, backbone, plan, seed)
    with timer("sweep_s"):
        inverter = (_default_inverter(faces, split, backbone, plan, embedding) if inversion
                    else None)
        rows = defence_sweep(faces, split, embedding, plan.defences.sweep_dict(), seed=seed,
                             inverter=inverter)
    points = defenses.best_operating_points(rows[1:], rows[0]["eer"], eer_budget, LEAKAGE_KEY)
    decoder_rows = gan_rows = None
    if inversion:
        best = best_protection(points)
        with timer("decoder_s"):
            decoder_rows = operating_point_inversion(
                faces, split, embedding, [best] if best else [],
                decoder_inverter(faces, split, backbone, embedding, plan, seed=seed), seed)
        with timer("gan_s"):
            gan_rows = operating_point_inversion(
                faces, split, embedding, protections_within_budget(points),
                gan_inverter(faces, split, backbone, embedding, plan, seed=seed,
                             n_targets=plan.defences.gan_targets), seed)
    with timer("biohash_s"):
        keys = biohash_key_scenarios(faces, split, embedding, min(64, embedding.shape[1]), seed)
    with timer("inlp_s"):
        inlp = adaptive_inlp(faces, split, embedding, plan.defences.sweep_dict()["nuisance"],
                             seed=seed)
    with timer("reference_s"):
        reference = (reference_row(faces, split, reference_backbone, plan, seed)
                     if reference_backbone else None)
    timings = timer.summary()
    return common.jsonable({
        "backbone": backbone, "mode": plan.mode, "seed": seed,
        "heldout_subjects": list(split.heldout), "data": faces.source.describe(),
        "baseline": rows[0], "sweep": rows,
        "operating_points": points,
        "decoder_at_operating_points": decoder_rows,
        "gan_at_operating_points": gan_rows,
        "biohash_keys": keys,
        "adaptive_inlp": inlp,
        "reference": reference,
        "eer_budget": eer_budget,
        "gan_targets": plan.defences.gan_targets if inversion else None,
        "seconds": timings["total_s"],
        "timings_s": timings,
    })


def reference_row(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                  plan: RunPlan, seed: int = 0) -> dict:
    """Utility and leakage of another backbone's templates with no defence at all."""
    embedding = common.backbone_features(faces, split, backbone, plan, seed)
    train, test = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    none = defenses.NoiseDefence(strength=0.0, name=f"{backbone} (no template defence)")
    return {**defenses.evaluate(none, embedding, light, faces.subjects, train, test),
            "backbone": backbone}


def adaptive_inlp(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                  strengths: Sequence[int] = DEFENCE_SWEEP["nuisance"],
                  kinds: Sequence[str] = ("linear", "mlp"), seed: int = 0) -> list[dict]:
    """The light probes retrained on INLP-protected templates, one row per strength and kind.

    INLP removes the directions a *linear* probe finds; an attacker who retrains a
    non-linear probe on protected templates measures what is left.
    """
    train, test = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    rows, jobs = [], []
    for strength in strengths:
        protected = defenses.make_defence("nuisance", strength).fit(
            embedding[train], light[train]).transform(embedding)
        for kind in kinds:
            rows.append({"iterations": strength, "probe": kind})
            jobs.append(defenses.leakage_jobs(protected[train], light[train], protected[test],
                                              light[test], (kind,), seed,
                                              faces.subjects[train]))
    # Every fit of every strength and kind in one batch of worker processes.
    scores = iter(probes.score_many([job for group in jobs for job in group]))
    for row, group in zip(rows, jobs, strict=True):
        row.update(defenses.leakage_from_scores([next(scores) for _ in group]))
    return rows


def _inversion_judge(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                     model, spec, far: float):
    """How the defence sweep scores reconstructions of the held-out subjects.

    A reconstruction succeeds when the *unprotected* matcher accepts it against the target's
    own embedding, or against another photo of the same person, at ``far`` (threshold from
    the held-out subjects' real impostor pairs).

    Returns
    -------
    judge, test_idx
        ``judge(reconstructions) -> dict`` of metrics, and the held-out rows it expects.
    """
    _, test = split.masks(faces.subjects)
    test_idx = np.flatnonzero(test)
    base = embedding[test_idx]
    subjects = faces.subjects[test_idx]
    threshold = attack_metrics.threshold_at_far(attack_metrics.impostor_scores(base, subjects),
                                                far)
    label = attack_metrics.far_label(far)

    def judge(recon: np.ndarray, positions: np.ndarray | None = None) -> dict:
        """Score reconstructions of the held-out rows (or of ``test_idx[positions]``)."""
        pos = np.arange(len(test_idx)) if positions is None else np.asarray(positions)
        recon = np.clip(np.asarray(recon, np.float32), 0, 1)
        recon_emb = embed.embed_faces(model, spec, recon, progress=False)
        others = attack_metrics.other_image_scores(recon_emb, pos, base, subjects)
        return {
            f"inversion_success_{label}": attack_metrics.success_rate(recon_emb, base[pos],
                                                                      threshold),
            f"inversion_success_other_{label}": attack_metrics.success_other_images(
                others, threshold),
            "inversion_ssim": float(np.mean(attack_metrics.ssim(
                recon, faces.images[test_idx[pos]]))),
        }

    return judge, test_idx


def linear_inverter(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                    embedding: np.ndarray, plan: RunPlan, far: float = 1e-2,
                    alpha: float = 1.0):
    """An adaptive inversion attack for the defence sweep: a linear decoder per defence.

    The attacker holds protected templates and photos of the training subjects, fits a
    ridge regression from template to pixels, and applies it to the held-out subjects'
    protected templates. A reconstruction succeeds when the *unprotected* matcher accepts it
    against another photo of the same person at ``far`` (threshold from the held-out
    subjects' real impostor pairs). It is weaker than Chapter 3's attacks but cheap enough
    to retrain for every defence and strength, which is the point of an adaptive attacker;
    :func:`decoder_inverter` retrains Chapter 3's decoder instead, at the operating points.

    Returns
    -------
    callable
        ``inverter(protected_templates, row) -> dict`` for :func:`defence_sweep`.
    """
    model, spec = common.split_backbone(backbone, split, plan)
    judge, test_idx = _inversion_judge(faces, split, embedding, model, spec, far)
    train, _ = split.masks(faces.subjects)
    pixels = faces.images.reshape(len(faces), -1)

    def inverter(protected: np.ndarray, row: dict) -> dict:
        x = np.asarray(protected, dtype=np.float64)
        decoder = Ridge(alpha=alpha).fit(x[train], pixels[train])
        recon = decoder.predict(x[test_idx]).reshape(len(test_idx), *faces.images.shape[1:])
        return judge(recon)

    return inverter


def decoder_inverter(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                     embedding: np.ndarray, plan: RunPlan, far: float = 1e-2,
                     seed: int = 0):
    """Chapter 3's decoder attack, retrained on protected templates (the adaptive attacker).

    The NbNet-style decoder of :func:`faceleak.privacy.attacks.train_decoder` is trained from the
    training subjects' *protected* templates to their photos and applied to the held-out
    subjects' protected templates, scored like :func:`linear_inverter`. It is trained with
    the pixel loss only: its identity-loss phase needs gradients through the defence, which
    binarisation and quantisation do not have. About ten times slower than the linear
    decoder, so the lab runs it with no defence and at the best operating point only.
    Each decoder is resolved by :func:`faceleak.privacy.attacks.resolve_decoder` (cache,
    package, train), keyed by the backbone's weights, the split, the sizes, the seed and the
    defence; the row says where it came from (``decoder_origin``, ``decoder_file``).
    """
    model, spec = common.split_backbone(backbone, split, plan)
    judge, test_idx = _inversion_judge(faces, split, embedding, model, spec, far)
    train, _ = split.masks(faces.subjects)
    cfg = replace(plan.inversion, decoder_id_steps=0)
    # What a decoder is trained from, but the defence: the key adds the defence and strength.
    recipe = {"part": "defence-decoder", "backbone": backbone, "mode": plan.mode,
              "w": embed.weights_hash(model), "split": sorted(split.heldout),
              "data": faces.source.kind, "n_images": len(faces), "cfg": cfg.to_dict(),
              "seed": seed}

    def inverter(protected: np.ndarray, row: dict) -> dict:
        x = np.asarray(protected, dtype=np.float32)
        defence = ("none", 0.0) if row.get("fitted_defence") is None else (
            str(row["defence_id"]), float(row["strength"]))
        key = attacks.decoder_key({**recipe, "defence": defence})
        decoder, _, meta = attacks.resolve_decoder(
            key, lambda: attacks.train_decoder(faces.images[train], x[train], model, spec, cfg,
                                               seed=seed, device=plan.device, log=None),
            plan.mode, log=None)
        return {**judge(attacks.decoder_attack(decoder, x[test_idx])),
                "decoder_origin": meta["origin"], "decoder_file": Path(meta["path"]).name}

    return inverter


def gan_inverter(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                 embedding: np.ndarray, plan: RunPlan, far: float = 1e-2,
                 seed: int = 0, n_targets: int = 40):
    """Chapter 3's GAN attack against protected templates, where the defence allows it.

    The attacker knows the defence. The mapping network is retrained from *protected*
    templates of GAN samples to their latents, and the latents are refined so that the
    protected template of ``G(z)`` matches the target's, with gradients through the
    embedder and the defence (:class:`faceleak.privacy.attacks.ProtectedEmbedder`). That needs a
    differentiable defence (:func:`faceleak.privacy.defenses.linear_form`); for the others the
    result is ``{"gan_applicable": False}``. ``n_targets`` held-out images, evenly spaced,
    are attacked (Chapter 3 attacks a similar number).

    The inverter is called as ``inverter(protected, row)`` with the fitted defence in
    ``row["fitted_defence"]`` (None: no defence), as :func:`operating_point_inversion` does.
    """
    model, spec = common.split_backbone(backbone, split, plan)
    judge, test_idx = _inversion_judge(faces, split, embedding, model, spec, far)
    train, _ = split.masks(faces.subjects)
    cfg = plan.inversion
    generator, _ = gan.load_generator(split.train, plan.gan, plan.mode, seed=plan.seeds.gan,
                                      device=plan.device, images=faces.images[train],
                                      data_source=faces.source.kind, log=None)
    z_samples, x_samples = attacks.sample_gan(generator, cfg.n_gan_samples, seed=seed + 1)
    e_samples = attacks.embed_array(model, spec, x_samples)
    positions = np.unique(np.linspace(0, len(test_idx) - 1, n_targets).round().astype(int))
    dim = embedding.shape[1]

    def inverter(protected: np.ndarray, row: dict) -> dict:
        fitted = row.get("fitted_defence")
        form = (np.eye(dim), np.zeros(dim)) if fitted is None else defenses.linear_form(fitted,
                                                                                         dim)
        if form is None:
            return {"gan_applicable": False}
        weight, bias = form
        targets = defenses.l2_normalise(np.asarray(protected, np.float64)[test_idx[positions]])
        sample_templates = defenses.l2_normalise(e_samples @ weight + bias)
        mapper, _ = attacks.train_mapper(sample_templates, z_samples, cfg.mapping_steps,
                                           seed=seed, device=plan.device)
        with torch.no_grad():
            z0 = mapper(torch.as_tensor(targets, dtype=torch.float32)).numpy()
        attacked = attacks.ProtectedEmbedder(model, weight, bias)
        images, _, _ = attacks.gan_attack(generator, attacked, spec, targets, z0,
                                            cfg.gan_steps, cfg.gan_lr, cfg.gan_prior)
        return {"gan_applicable": True, **judge(images, positions)}

    return inverter


def protections_within_budget(points: Sequence[dict]) -> list[dict]:
    """The operating points inside the EER budget, the useless control (``scale``) aside.

    ``points`` come from :func:`faceleak.privacy.defenses.best_operating_points`.
    """
    return [p for p in points if p["ok"] and p.get("defence_id") != "scale"]


def best_protection(points: Sequence[dict],
                    leakage_key: str = "lighting_class_accuracy") -> dict | None:
    """The operating point with the least leakage among :func:`protections_within_budget`.

    None when no defence qualifies.
    """
    ok = protections_within_budget(points)
    return min(ok, key=lambda p: p[leakage_key]) if ok else None


def operating_point_inversion(faces: data.FaceSet, split: data.SubjectSplit,
                              embedding: np.ndarray, points: Sequence[dict], inverter,
                              seed: int = 0) -> list[dict]:
    """Run an (expensive) adaptive inverter on no defence and on each operating point.

    ``points`` are rows of :func:`faceleak.privacy.defenses.best_operating_points` (they carry
    ``defence_id`` and ``strength``); each defence is refitted on the training subjects
    exactly as in :func:`defence_sweep`, and handed to the inverter in
    ``row["fitted_defence"]`` (None for no defence).
    """
    train, _ = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    out = [{"defence": "no defence", "strength": float("nan"), "ok": True,
            **inverter(embedding, {"fitted_defence": None})}]
    for point in points:
        defence = defenses.make_defence(point["defence_id"], point["strength"], seed)
        defence.fit(embedding[train], light[train])
        out.append({"defence": point["defence"], "strength": point["strength"],
                    "ok": point["ok"],
                    **inverter(defence.transform(embedding), {**point, "fitted_defence": defence})})
    return out


def _default_inverter(faces, split, backbone, plan, embedding):
    """The adaptive inversion attack used in the defence sweep."""
    return linear_inverter(faces, split, backbone, embedding, plan)


def linear_reconstruction(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                          defence_id: str, strength: float, index: int, seed: int = 0,
                          alpha: float = 1.0) -> np.ndarray:
    """One held-out image reconstructed by the adaptive linear decoder under a defence.

    ``defence_id`` is a name for :func:`faceleak.privacy.defenses.make_defence` or ``"none"``.
    """
    train, _ = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    if defence_id == "none":
        defence = defenses.NoiseDefence(strength=0.0)
    else:
        defence = defenses.make_defence(defence_id, strength, seed)
    protected = defence.fit(embedding[train], light[train]).transform(embedding)
    pixels = faces.images.reshape(len(faces), -1)
    decoder = Ridge(alpha=alpha).fit(np.asarray(protected[train], float), pixels[train])
    recon = decoder.predict(np.asarray(protected[index : index + 1], float))[0]
    return np.clip(recon, 0, 1).reshape(faces.images.shape[1:])

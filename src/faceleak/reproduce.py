"""End-to-end experiments shared by the labs and ``python -m faceleak reproduce``.

Each function takes the run mode, a seed and (optionally) an explicit list of held-out
subjects, and returns a JSON-serialisable dict. The labs call these functions and plot
their results; the CLI writes the same dicts to disk.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from . import config, data, probes

LEAKAGE_TARGETS = ("azimuth", "abs_azimuth", "elevation", "lighting_class", "lighting_vertical",
                   "brightness")
#: The targets of the headline reproduction on the real recognizers (Chapter 2).
REAL_TARGETS = ("azimuth", "abs_azimuth", "elevation", "lighting_class")
#: Subject splits the intervals of a real recognizer's leakage are taken over: its
#: embeddings do not depend on the split, so more splits cost only probes.
INTERVAL_SPLITS = 5
FEATURE_SETS = ("embedding", "pixels", "untrained", "chance")


def probe_settings(mode: str | None = None) -> dict:
    """Probe sizes per mode: quick mode skips nothing, it only uses fewer shuffles."""
    resolved = config.run_mode(mode)
    return {"n_permutations": 1999 if resolved == "quick" else 9999,
            "kinds": ("linear", "mlp"), "pixel_components": 64}


def make_split(faces: data.FaceSet, seed: int = 0,
               heldout_subjects: Sequence[str] | None = None) -> data.SubjectSplit:
    """The subject split of an experiment: drawn with ``seed`` unless a list is given."""
    n_heldout = config.settings().n_heldout_subjects
    return data.split_subjects(faces.subjects, n_heldout=n_heldout, seed=seed,
                               heldout=list(heldout_subjects) if heldout_subjects else None)


def backbone_features(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                      mode: str | None = None, seed: int = 0,
                      progress: bool = False) -> np.ndarray:
    """Embeddings of all faces by a backbone that never saw the split's held-out subjects.

    The course's own backbone is trained (or loaded from the cache) on ``split.train``;
    pretrained FaceNet never saw Extended Yale B at all.
    """
    from . import embed

    resolved = config.run_mode(mode)
    model, spec = _split_backbone(backbone, split, resolved)
    key = embed.cache_key_for(backbone, model, faces, resolved)
    return embed.embed_faces(model, spec, faces, cache_key=key, progress=progress)


def _split_backbone(backbone: str, split: data.SubjectSplit, mode: str | None):
    """The backbone and its input spec, trained on exactly ``split``'s complement.

    For a course backbone the held-out list is passed explicitly (not the seed), so it can
    never have seen a held-out subject, whatever subset of faces the split was drawn from;
    for the full set the cache key is the same as for the seeded split.
    """
    from . import models

    heldout = ({"heldout_subjects": list(split.heldout)}
               if models.BACKBONES[backbone].kind == "yale" else {})
    return models.get_backbone(backbone, mode=config.run_mode(mode), seed=0, **heldout)


def untrained_features(faces: data.FaceSet, mode: str | None = None, seed: int = 0,
                       variant: str = "yale-cosface") -> np.ndarray | None:
    """Embeddings from the same architecture with random weights: what structure alone gives.

    ``variant`` picks the backbone whose architecture (and input preprocessing) is copied:
    a course network, or FaceNet's Inception-ResNet-v1 (cached, since it costs as much as
    the real one). dlib's network cannot be re-initialised from Python: None.
    """
    import torch

    from . import embed, models, train

    resolved = config.run_mode(mode)
    kind = models.BACKBONES[variant].kind
    if kind == "dlib":
        return None
    config.seed_everything(seed)
    if kind == "facenet":
        from . import compat

        compat.ensure_facenet_importable()
        from facenet_pytorch import InceptionResnetV1

        model = InceptionResnetV1(pretrained=None, classify=False).eval()
        key = f"untrained-facenet-s{seed}-w{embed.weights_hash(model)}-d{embed.data_key(faces)}"
        return embed.embed_faces(model, models.FACENET_SPEC, faces, batch_size=32,
                                 cache_key=key, progress=False)
    cfg = train.train_config(resolved, **models.YALE_VARIANTS[variant])
    model = train.YaleFaceNet(cfg).eval()
    with torch.no_grad():
        return embed.embed_faces(model, models.yale_spec(model), faces, progress=False)


def leakage_experiment(
    faces: data.FaceSet,
    split: data.SubjectSplit,
    embedding: np.ndarray,
    untrained: np.ndarray | None = None,
    mode: str | None = None,
    seed: int = 0,
    targets: Sequence[str] = LEAKAGE_TARGETS,
    permutation_test: bool = True,
) -> dict:
    """The leakage table for one split, given the embeddings (see :func:`reproduce_leakage`).

    ``faces`` are the photos at the course's size: the pixel baseline and the brightness
    target come from them, whatever resolution the embedding was computed from.
    ``permutation_test=False`` skips the p-values (the extra splits of an interval need
    only the scores).
    """
    settings = probe_settings(mode)
    train_mask, test_mask = split.masks(faces.subjects)
    all_targets = probes.lighting_targets(faces.azimuth, faces.elevation, faces.images)
    feature_sets = {
        "embedding": embedding,
        "pixels": probes.pixel_features(faces.images, train_mask, settings["pixel_components"],
                                        seed=seed),
    }
    if untrained is not None:
        feature_sets["untrained"] = untrained
    # Many small scikit-learn fits: with BLAS on one thread they run about 30% faster on two
    # cores than with the threads fighting over each small matrix.
    with threadpool_limits(limits=1):
        return probes.leakage_table(
            feature_sets, {t: all_targets[t] for t in targets}, faces.subjects, train_mask,
            test_mask, kinds=settings["kinds"],
            n_permutations=settings["n_permutations"] if permutation_test else 0, seed=seed)


def reproduce_leakage(
    mode: str | None = None,
    seed: int = 0,
    heldout_subjects: Sequence[str] | None = None,
    backbone: str = "yale-cosface",
    progress: bool = False,
    n_splits: int | None = None,
) -> dict:
    """Chapter 2's leakage table: how well light direction is read from identity embeddings.

    Parameters
    ----------
    mode
        ``quick`` or ``full`` (sizes of the backbone, of the photo set of the real
        recognizers and of the permutation test).
    seed
        Seed of the subject split (and of the probes).
    heldout_subjects
        Explicit held-out subjects (overrides the seeded draw) for the main split.
    backbone
        Embedding backbone. A real recognizer (``facenet-casia``, ``dlib-resnet``) embeds the
        photos of :func:`faceleak.recognizers.load_real_faces` at native resolution; the
        course's own network is trained on the split's training subjects and embeds 64x56.
    n_splits
        Subject splits for the intervals: the main split and the splits of seeds
        ``seed + 1``, ``seed + 2``, ... Default :data:`INTERVAL_SPLITS` for a real recognizer
        (its embeddings do not change with the split) and 1 for a course network (each
        split needs its own trained network).

    Returns
    -------
    dict
        ``backbone``, ``mode``, ``seed``, ``heldout_subjects``, ``data``, ``n_images``,
        ``seconds``; ``targets``: per target and feature set (``embedding``, ``pixels``,
        ``untrained``, ``chance``) of the main split the scores (``mae_deg`` and ``r2``, or
        ``accuracy``), plus ``leakage_ratio`` and ``p_value``; ``intervals``: mean and 95%
        interval of every score and of the leakage ratio over the ``n_splits`` splits (the
        within-subject permutation test runs on the main split only).
    """
    from . import models, recognizers

    start = time.perf_counter()
    resolved = config.run_mode(mode)
    pretrained = models.BACKBONES[backbone].is_pretrained
    if pretrained:
        native, faces = recognizers.load_real_faces(resolved)
        data_text = recognizers.describe_real_faces(native, resolved)
        targets = REAL_TARGETS
    else:
        native = faces = data.load_faces(config.settings(resolved).image_size)
        data_text = faces.source.describe()
        targets = LEAKAGE_TARGETS
    split = make_split(faces, seed, heldout_subjects)
    if pretrained:
        embedding = recognizers.recognizer_embeddings(backbone, native, resolved, progress)
    else:
        embedding = backbone_features(faces, split, backbone, resolved, seed, progress=progress)
    untrained = untrained_features(native, resolved, seed, variant=backbone)
    table = leakage_experiment(faces, split, embedding, untrained, resolved, seed, targets)
    tables = [table]
    for extra in range(1, n_splits if n_splits is not None else
                       (INTERVAL_SPLITS if pretrained else 1)):
        split_k = make_split(faces, seed + extra)
        emb_k = embedding if pretrained else backbone_features(faces, split_k, backbone,
                                                               resolved, seed)
        tables.append(leakage_experiment(faces, split_k, emb_k, untrained, resolved, seed,
                                         targets, permutation_test=False))
    train_rows, test_rows = split.masks(faces.subjects)
    return _jsonable({
        "backbone": backbone,
        "mode": resolved,
        "seed": seed,
        "heldout_subjects": list(split.heldout),
        "data": data_text,
        "n_images": {"train": int(train_rows.sum()), "heldout": int(test_rows.sum())},
        "targets": table,
        "n_splits": len(tables),
        "intervals": summarize_over_splits(tables),
        "seconds": round(time.perf_counter() - start, 1),
    })


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def main_metric(target: str) -> str:
    """The score a target is summarised by: MAE in degrees for angles, R² for brightness,
    accuracy for classes."""
    task = probes.TARGETS[target]
    if task == "classification":
        return "accuracy"
    return "mae_deg" if target in probes.ANGLE_TARGETS else "r2"


def leakage_rows(table: dict) -> list[dict]:
    """Flatten a leakage table into one row per (target, feature set), for a DataFrame."""
    rows = []
    for target, entry in table.items():
        for feature_set in FEATURE_SETS:
            if feature_set not in entry:
                continue
            scores = entry[feature_set]
            rows.append({
                "target": target,
                "feature_set": feature_set,
                "probe": scores.get("probe"),
                "mae_deg": scores.get("mae_deg"),
                "r2": scores.get("r2"),
                "accuracy": scores.get("accuracy"),
                "leakage_ratio": entry.get("leakage_ratio") if feature_set == "embedding" else None,
                "p_value": entry.get("p_value") if feature_set == "embedding" else None,
            })
    return rows


def summarize_over_splits(tables: Sequence[dict]) -> list[dict]:
    """Mean and 95% CI of every (target, feature set, metric) over repeated splits."""
    summary = []
    targets = tables[0].keys()
    for target in targets:
        for feature_set in (*FEATURE_SETS, "leakage_ratio", "p_value"):
            entries = [t[target].get(feature_set) for t in tables]
            if any(e is None for e in entries):
                continue
            metrics = (["value"] if not isinstance(entries[0], dict)
                       else [m for m in ("mae_deg", "r2", "accuracy") if m in entries[0]])
            for metric in metrics:
                values = [e if metric == "value" else e[metric] for e in entries]
                mean, low, high = probes.mean_ci(values)
                summary.append({"target": target, "feature_set": feature_set, "metric": metric,
                                "mean": mean, "low": low, "high": high,
                                "n_splits": len(values), "max": float(np.nanmax(values))})
    return summary


#: The sweep of every defence: name -> strengths (iterations, bits, noise scale, dimensions).
DEFENCE_SWEEP: dict[str, tuple[float, ...]] = {
    "nuisance": (1, 2, 4, 8, 16),
    "biohash": (64, 32, 16, 8),
    "noise": (0.25, 0.5, 1.0, 2.0, 4.0),
    "pca": (48, 32, 16, 8, 4),
    "pca-q4": (32, 16, 8),
    "scale": (3.0,),
}


def defence_sweep(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                  sweep: dict[str, tuple[float, ...]] | None = None, seed: int = 0,
                  kinds: tuple[str, ...] = ("linear", "mlp"), inverter=None) -> list[dict]:
    """Evaluate every defence at every strength on one split (see :mod:`faceleak.defenses`).

    The first row is the unprotected baseline (``defence == "none"``). ``inverter``, when
    given, is called as ``inverter(protected, defence_row)`` and returns a dict of inversion
    metrics that is merged into the row.
    """
    from . import defenses

    train, test = split.masks(faces.subjects)
    light = np.column_stack([faces.azimuth, faces.elevation])
    rows = []
    baseline = defenses.NoiseDefence(strength=0.0, name="none")
    plan = [("none", baseline)] + [
        (name, defenses.make_defence(name, s, seed))
        for name, strengths in (sweep or DEFENCE_SWEEP).items() for s in strengths]
    for short, defence in plan:
        row = defenses.evaluate(defence, embedding, light, faces.subjects, train, test, kinds,
                                seed)
        row["defence_id"] = short
        if inverter is not None:
            row.update(inverter(defence.transform(embedding), row))
        rows.append(row)
    return rows


def biohash_key_scenarios(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                          n_bits: int = 64, seed: int = 0) -> dict:
    """BioHash against three attackers: key stolen, key unknown, and cross-key linkage.

    * stolen key: the attacker makes protected templates of auxiliary people with the
      victim's key and trains the light probe on them;
    * unknown key: the attacker trains on templates made with a key of their own;
    * linkability: EER of same-person comparisons across two keys (0.5 = unlinkable).
    """
    from . import defenses, probes

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
                       backbone: str = "yale-cosface-plain", inversion: bool = True) -> dict:
    """Chapter 4's measurements: every defence on utility, leakage and inversion.

    Returns a JSON-serialisable dict with the sweep rows (inversion by the adaptive linear
    decoder), the best operating point of each defence at an EER loss of at most 0.02,
    Chapter 3's decoder retrained with no defence and at the best operating point
    (:func:`best_protection`), Chapter 3's GAN attack through every operating point within
    the budget whose defence is differentiable (:func:`gan_inverter`; both ``None`` with
    ``inversion=False``), and the BioHash key scenarios.
    """
    from . import defenses

    start = time.perf_counter()
    resolved = config.run_mode(mode)
    faces = data.load_faces(config.settings(resolved).image_size)
    split = make_split(faces, seed, heldout_subjects)
    embedding = backbone_features(faces, split, backbone, resolved, seed)
    inverter = (_default_inverter(faces, split, backbone, resolved, embedding) if inversion
                else None)
    rows = defence_sweep(faces, split, embedding, seed=seed, inverter=inverter)
    baseline_eer = rows[0]["eer"]
    points = defenses.best_operating_points(rows[1:], baseline_eer, 0.02,
                                            "lighting_class_accuracy")
    decoder_rows = gan_rows = None
    if inversion:
        best = best_protection(points)
        decoder_rows = operating_point_inversion(
            faces, split, embedding, [best] if best else [],
            decoder_inverter(faces, split, backbone, embedding, resolved, seed=seed), seed)
        gan_rows = operating_point_inversion(
            faces, split, embedding, protections_within_budget(points),
            gan_inverter(faces, split, backbone, embedding, resolved, seed=seed), seed)
    return _jsonable({
        "backbone": backbone, "mode": resolved, "seed": seed,
        "heldout_subjects": list(split.heldout), "data": faces.source.describe(),
        "baseline": rows[0], "sweep": rows,
        "operating_points": points,
        "decoder_at_operating_points": decoder_rows,
        "gan_at_operating_points": gan_rows,
        "biohash_keys": biohash_key_scenarios(faces, split, embedding,
                                              min(64, embedding.shape[1]), seed),
        "seconds": round(time.perf_counter() - start, 1),
    })


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
    from . import attack_metrics, embed

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
                    embedding: np.ndarray, mode: str | None = None, far: float = 1e-2,
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
    from sklearn.linear_model import Ridge

    model, spec = _split_backbone(backbone, split, mode)
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
                     embedding: np.ndarray, mode: str | None = None, far: float = 1e-2,
                     seed: int = 0):
    """Chapter 3's decoder attack, retrained on protected templates (the adaptive attacker).

    The NbNet-style decoder of :func:`faceleak.inversion.train_decoder` is trained from the
    training subjects' *protected* templates to their photos and applied to the held-out
    subjects' protected templates, scored like :func:`linear_inverter`. It is trained with
    the pixel loss only: its identity-loss phase needs gradients through the defence, which
    binarisation and quantisation do not have. About ten times slower than the linear
    decoder, so the lab runs it with no defence and at the best operating point only.
    """
    from . import inversion

    model, spec = _split_backbone(backbone, split, mode)
    judge, test_idx = _inversion_judge(faces, split, embedding, model, spec, far)
    train, _ = split.masks(faces.subjects)
    cfg = inversion.inversion_config(mode, decoder_id_steps=0)

    def inverter(protected: np.ndarray, row: dict) -> dict:
        x = np.asarray(protected, dtype=np.float32)
        decoder, _ = inversion.train_decoder(faces.images[train], x[train], model, spec, cfg,
                                             seed=seed, log=None)
        return judge(inversion.decoder_attack(decoder, x[test_idx]))

    return inverter


def gan_inverter(faces: data.FaceSet, split: data.SubjectSplit, backbone: str,
                 embedding: np.ndarray, mode: str | None = None, far: float = 1e-2,
                 seed: int = 0, n_targets: int = 40):
    """Chapter 3's GAN attack against protected templates, where the defence allows it.

    The attacker knows the defence. The mapping network is retrained from *protected*
    templates of GAN samples to their latents, and the latents are refined so that the
    protected template of ``G(z)`` matches the target's, with gradients through the
    embedder and the defence (:class:`faceleak.inversion.ProtectedEmbedder`). That needs a
    differentiable defence (:func:`faceleak.defenses.linear_form`); for the others the
    result is ``{"gan_applicable": False}``. ``n_targets`` held-out images, evenly spaced,
    are attacked (Chapter 3 attacks a similar number).

    The inverter is called as ``inverter(protected, row)`` with the fitted defence in
    ``row["fitted_defence"]`` (None: no defence), as :func:`operating_point_inversion` does.
    """
    import torch

    from . import defenses, gan, inversion

    resolved = config.run_mode(mode)
    model, spec = _split_backbone(backbone, split, resolved)
    judge, test_idx = _inversion_judge(faces, split, embedding, model, spec, far)
    train, _ = split.masks(faces.subjects)
    cfg = inversion.inversion_config(resolved)
    generator, _ = gan.load_generator(split.train, mode=resolved, seed=0,
                                      images=faces.images[train],
                                      data_source=faces.source.kind, log=None)
    z_samples, x_samples = inversion.sample_gan(generator, cfg.n_gan_samples, seed=seed + 1)
    e_samples = inversion.embed_array(model, spec, x_samples)
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
        mapper, _ = inversion.train_mapper(sample_templates, z_samples, cfg.mapping_steps,
                                           seed=seed)
        with torch.no_grad():
            z0 = mapper(torch.as_tensor(targets, dtype=torch.float32)).numpy()
        attacked = inversion.ProtectedEmbedder(model, weight, bias)
        images, _, _ = inversion.gan_attack(generator, attacked, spec, targets, z0,
                                            cfg.gan_steps, cfg.gan_lr, cfg.gan_prior)
        return {"gan_applicable": True, **judge(images, positions)}

    return inverter


def protections_within_budget(points: Sequence[dict]) -> list[dict]:
    """The operating points inside the EER budget, the useless control (``scale``) aside.

    ``points`` come from :func:`faceleak.defenses.best_operating_points`.
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

    ``points`` are rows of :func:`faceleak.defenses.best_operating_points` (they carry
    ``defence_id`` and ``strength``); each defence is refitted on the training subjects
    exactly as in :func:`defence_sweep`, and handed to the inverter in
    ``row["fitted_defence"]`` (None for no defence).
    """
    from . import defenses

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


def _default_inverter(faces, split, backbone, mode, embedding):
    """The adaptive inversion attack used in the defence sweep."""
    return linear_inverter(faces, split, backbone, embedding, mode)


def linear_reconstruction(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
                          defence_id: str, strength: float, index: int, seed: int = 0,
                          alpha: float = 1.0) -> np.ndarray:
    """One held-out image reconstructed by the adaptive linear decoder under a defence.

    ``defence_id`` is a name for :func:`faceleak.defenses.make_defence` or ``"none"``.
    """
    from sklearn.linear_model import Ridge

    from . import defenses

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

"""Chapter 2's experiment: how much of the light an identity embedding keeps.

:func:`reproduce_leakage` is what Lab 2 and ``python -m faceleak reproduce leakage`` call;
it returns a JSON-serialisable dict (see its docstring).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import time
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from faceleak.experiments import common, recognizers
from faceleak.experiments import plan as plan_mod
from faceleak.experiments.plan import RunPlan
from faceleak.privacy import probes
from faceleak.vision import data, models

LEAKAGE_TARGETS = ("azimuth", "abs_azimuth", "elevation", "lighting_class", "lighting_vertical",
                   "brightness")
#: The targets of the headline reproduction on the real recognizers (Chapter 2).
REAL_TARGETS = ("azimuth", "abs_azimuth", "elevation", "lighting_class")
#: Subject splits the intervals of a real recognizer's leakage are taken over: its
#: embeddings do not depend on the split, so more splits cost only probes.
INTERVAL_SPLITS = 5
FEATURE_SETS = ("embedding", "pixels", "untrained", "chance")
#: Tables already computed in this process, by a hash of everything they depend on (see
#: :func:`_table_key`). Lab 2 measures split 0 of a course backbone once in its own cell and
#: again as the first split of :func:`reproduce_leakage`: the second is a copy of the first
#: (the probes and the permutation test are deterministic given these inputs).
_TABLES: dict[str, dict] = {}
_TABLES_MAX = 16


def probe_settings(plan: RunPlan) -> dict:
    """The plan's probe sizes as a dict: quick mode skips nothing, it only uses fewer
    shuffles (``plan.probes``)."""
    return dataclasses.asdict(plan.probes)


def leakage_experiment(
    faces: data.FaceSet,
    split: data.SubjectSplit,
    embedding: np.ndarray,
    untrained: np.ndarray | None = None,
    plan: RunPlan | None = None,
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
    settings = probe_settings(plan_mod.as_plan(plan))
    key = _table_key(faces, split, embedding, untrained, settings, seed, targets,
                     permutation_test)
    if key in _TABLES:
        return copy.deepcopy(_TABLES[key])
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
        table = probes.leakage_table(
            feature_sets, {t: all_targets[t] for t in targets}, faces.subjects, train_mask,
            test_mask, kinds=settings["kinds"],
            n_permutations=settings["n_permutations"] if permutation_test else 0, seed=seed)
    if len(_TABLES) >= _TABLES_MAX:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = copy.deepcopy(table)
    return table


def _table_key(faces: data.FaceSet, split: data.SubjectSplit, embedding: np.ndarray,
               untrained: np.ndarray | None, settings: dict, seed: int,
               targets: Sequence[str], permutation_test: bool) -> str:
    """Hash of every input of :func:`leakage_experiment`: the photos (names and pixels), the
    split, both feature arrays, the probe settings, the seed and the targets."""
    digest = hashlib.sha256()
    for array in (faces.images, embedding, untrained):
        if array is None:
            digest.update(b"none")
            continue
        a = np.ascontiguousarray(array)
        digest.update(f"{a.shape}{a.dtype}".encode())
        digest.update(a.tobytes())
    digest.update(repr((list(map(str, faces.names)), list(split.heldout), sorted(settings.items()),
                        seed, tuple(targets), permutation_test)).encode())
    return digest.hexdigest()


def reproduce_leakage(
    mode: str | None = None,
    seed: int = 0,
    heldout_subjects: Sequence[str] | None = None,
    backbone: str = "yale-cosface",
    progress: bool = False,
    n_splits: int | None = None,
    p_values: str = "main",
    plan: RunPlan | None = None,
) -> dict:
    """Chapter 2's leakage table: how well light direction is read from identity embeddings.

    Parameters
    ----------
    mode
        ``quick`` or ``full``, when no ``plan`` is given (a plan is resolved from it).
    plan
        The run plan (:func:`faceleak.experiments.plan.resolve_plan`): sizes of the
        backbone, of the photo set of the real recognizers and of the permutation test.
    seed
        Seed of the subject split (and of the probes).
    heldout_subjects
        Explicit held-out subjects (overrides the seeded draw) for the main split.
    backbone
        Embedding backbone. A real recognizer (``facenet-casia``, ``dlib-resnet``) embeds the
        photos of :func:`faceleak.experiments.recognizers.load_real_faces` at native resolution; the
        course's own network is trained on the split's training subjects and embeds 64x56.
    n_splits
        Subject splits for the intervals: the main split and the splits of seeds
        ``seed + 1``, ``seed + 2``, ... Default :data:`INTERVAL_SPLITS` for a real recognizer
        (its embeddings do not change with the split) and 1 for a course network (each
        split needs its own trained network). Split ``k`` draws its subjects *and* seeds
        its probes with ``seed + k``: each split is an independent replicate.
    p_values
        ``"main"``: the within-subject permutation test on the main split only (the other
        splits give the intervals of the scores); ``"every"``: on every split, so that
        ``intervals`` also holds the p-values' mean and maximum over splits.

    Returns
    -------
    dict
        ``backbone``, ``mode``, ``seed``, ``heldout_subjects``, ``data``, ``n_images``,
        ``seconds``; ``targets``: per target and feature set (``embedding``, ``pixels``,
        ``untrained``, ``chance``) of the main split the scores (``mae_deg`` and ``r2``, or
        ``accuracy``), plus ``leakage_ratio`` and ``p_value``; ``intervals``: mean and 95%
        interval of every score and of the leakage ratio over the ``n_splits`` splits;
        ``splits``: the held-out subjects of each split.
    """
    if p_values not in ("main", "every"):
        raise ValueError(f"p_values must be 'main' or 'every', not {p_values!r}")
    start = time.perf_counter()
    plan = plan_mod.as_plan(plan, mode)
    pretrained = models.BACKBONES[backbone].is_pretrained
    if pretrained:
        native, faces = recognizers.load_real_faces(plan)
        data_text = recognizers.describe_real_faces(native, plan)
        targets = REAL_TARGETS
    else:
        native = faces = data.load_faces(plan.image_size)
        data_text = faces.source.describe()
        targets = LEAKAGE_TARGETS
    split = common.make_split(faces, seed, heldout_subjects)
    if pretrained:
        embedding = recognizers.recognizer_embeddings(backbone, native, plan, progress)
    else:
        embedding = common.backbone_features(faces, split, backbone, plan, seed,
                                             progress=progress)
    untrained = common.untrained_features(native, plan, seed, variant=backbone)
    table = leakage_experiment(faces, split, embedding, untrained, plan, seed, targets)
    tables, splits = [table], [split]
    for extra in range(1, n_splits if n_splits is not None else
                       (INTERVAL_SPLITS if pretrained else 1)):
        split_k = common.make_split(faces, seed + extra)
        emb_k = embedding if pretrained else common.backbone_features(faces, split_k, backbone,
                                                                      plan, seed)
        tables.append(leakage_experiment(faces, split_k, emb_k, untrained, plan,
                                         seed + extra, targets,
                                         permutation_test=p_values == "every"))
        splits.append(split_k)
    train_rows, test_rows = split.masks(faces.subjects)
    return common.jsonable({
        "backbone": backbone,
        "mode": plan.mode,
        "seed": seed,
        "heldout_subjects": list(split.heldout),
        "data": data_text,
        "n_images": {"train": int(train_rows.sum()), "heldout": int(test_rows.sum())},
        "targets": table,
        "n_splits": len(tables),
        "splits": [list(k.heldout) for k in splits],
        "intervals": summarize_over_splits(tables),
        "seconds": round(time.perf_counter() - start, 1),
    })



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

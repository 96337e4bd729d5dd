"""Benchmark the course's offline backbone: train it (timed) and evaluate on held-out subjects.

Prints the training time and the held-out verification and identification numbers:
EER, TAR at FAR = 1e-2 (with thresholds), ROC AUC and rank-1 identification against a
frontal-light gallery, twice: with plain cosine similarity, and with the verification
back-end (:mod:`faceleak.vision.scoring`: WCCN and S-norm fitted on the training subjects'
embeddings). Training and the back-end use only the training subjects of
``split_subjects(seed=0)``; evaluation uses only its 10 held-out subjects.

Usage::

    python scripts/benchmark_backbone.py                # quick mode: retrain, then evaluate
    python scripts/benchmark_backbone.py --cached       # evaluate the cached/packaged weights
    python scripts/benchmark_backbone.py --seeds 0 1 2  # spread over training seeds
    python scripts/benchmark_backbone.py --variant yale-cosface-single  # the one-network recipe
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from faceleak import config, experiments
from faceleak.vision import data, embed, metrics, models, scoring


def evaluate(model: torch.nn.Module, split: data.SubjectSplit
             ) -> tuple[metrics.VerificationReport, metrics.VerificationReport, str]:
    """Held-out reports of a Yale backbone: cosine, then with the fitted back-end."""
    size = config.settings().image_size
    spec = models.yale_spec(model)
    train_faces = data.load_faces(size, subjects=list(split.train))
    backend = scoring.fit_backend(embed.embed_faces(model, spec, train_faces, progress=False),
                                  train_faces.labels)
    faces = data.load_faces(size, subjects=list(split.heldout))
    emb = embed.embed_faces(model, spec, faces, progress=False)
    gallery = metrics.frontal_gallery_mask(faces.azimuth, faces.elevation)
    cosine = metrics.verification_report(emb, faces.labels, far=1e-2, gallery_mask=gallery)
    with_backend = metrics.verification_report(emb, faces.labels, far=1e-2,
                                               gallery_mask=gallery,
                                               scorer=backend.score_matrix)
    return cosine, with_backend, backend.describe()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=config.MODES, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--variant", choices=sorted(models.YALE_VARIANTS),
                        default=models.YALE_BACKBONE,
                        help="which course backbone (default: %(default)s)")
    parser.add_argument("--cached", action="store_true",
                        help="use cached or packaged weights instead of retraining")
    args = parser.parse_args(argv)
    plan = experiments.resolve_plan(args.mode)
    mode = plan.mode
    print(f"mode {mode}, device {plan.device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    rows = []
    for seed in args.seeds:
        cfg, split, key = models.yale_training_plan(plan.backbones, seed, variant=args.variant)
        print(f"\n== seed {seed}  config {cfg}")
        print(f"held-out subjects: {', '.join(split.heldout)}")
        start = time.perf_counter()
        if args.cached:
            model, meta = models.load_yale_backbone(plan.backbones, seed, variant=args.variant)
            seconds = meta["train_seconds"]
            print(f"(weights from the {meta['origin']}; training took {seconds:.0f} s when made)")
        else:
            ckpt = models.train_yale_checkpoint(plan.backbones, seed, progress=False,
                                                variant=args.variant)
            models.save_checkpoint(ckpt, models.backbone_cache_path(key))
            model = models.model_from_checkpoint(ckpt)
            seconds = ckpt["train_seconds"]
            print(f"wall time including data loading: {time.perf_counter() - start:.0f} s")
        report, backed, how = evaluate(model, split)
        print(f"training time: {seconds:.1f} s")
        print("-- cosine similarity")
        print(report.summary())
        print(f"-- with the {how}")
        print(backed.summary())
        rows.append((seconds, report.eer, report.tar, report.rank1,
                     backed.eer, backed.tar, backed.rank1))
    if len(rows) > 1:
        arr = np.array(rows, float)
        print(f"\nmean +- sd over seeds: train {arr[:, 0].mean():.0f} s")
        for name, first in (("cosine", 1), ("back-end", 4)):
            print(f"  {name:8s} EER {arr[:, first].mean():.4f} +- {arr[:, first].std():.4f}, "
                  f"TAR@1e-2 {arr[:, first + 1].mean():.4f} +- {arr[:, first + 1].std():.4f}, "
                  f"rank-1 {arr[:, first + 2].mean():.4f} +- {arr[:, first + 2].std():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

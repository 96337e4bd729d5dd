"""Train the course's offline backbones and cache them, or write the packaged copies.

A backbone is trained only on the training subjects of ``split_subjects(seed=SPLIT)`` (28
of the 38 subjects), with the sizes of the chosen mode and the variant's recipe and preprocessing
(``faceleak.vision.models.YALE_VARIANTS``: the default ``yale-cosface`` uses
``faceleak.experiments.plan.TABLE`` (``recipes``), a two-network ensemble with light mixing;
``yale-cosface-single`` and ``yale-cosface-plain`` the one-network
``faceleak.vision.train.SINGLE_NETWORK_CONFIGS``).

Usage::

    python scripts/train_backbone.py                 # quick mode, seed 0, into the cache
    FACELEAK_MODE=full python scripts/train_backbone.py
    python scripts/train_backbone.py --variant yale-cosface-plain --split-seed 3
    python scripts/train_backbone.py --package       # also write the committed checkpoint

The checkpoints committed in ``src/faceleak/resources/backbones/`` (named
``<variant>-quick-<cache key>.pt``, weights stored as float16) were made with::

    FACELEAK_MODE=quick python scripts/train_backbone.py --package
    FACELEAK_MODE=quick python scripts/train_backbone.py --package --variant yale-cosface-single
    for s in 0 1 2 3 4; do
      FACELEAK_MODE=quick python scripts/train_backbone.py --package \
          --variant yale-cosface-plain --split-seed $s
    done

The default backbone and the single network for the book's split, and the plain variant
for the five subject splits over which Lab 2 reports its intervals, so that the book build
does not spend fifteen minutes retraining them. ``tests/test_models.py`` retrains each
briefly and checks that the committed files still match this code (same cache key, same
early training trajectory, held-out EER).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceleak import config, experiments
from faceleak.vision import models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=config.MODES, default=None,
                        help="quick or full (default: FACELEAK_MODE, else quick)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the subject split (which 10 subjects are held out)")
    parser.add_argument("--variant", choices=sorted(models.YALE_VARIANTS),
                        default=models.YALE_BACKBONE)
    parser.add_argument("--package", action="store_true",
                        help="also write the checkpoint committed with the package "
                             "(quick mode, seed 0 only)")
    args = parser.parse_args(argv)
    plan = experiments.resolve_plan(args.mode)
    mode = plan.mode
    if args.package and (mode != "quick" or args.seed != 0):
        parser.error("--package is for quick mode and seed 0 only")
    config.seed_everything(args.seed)
    options = [f"--variant {args.variant}"] if args.variant != models.YALE_BACKBONE else []
    options += [f"--split-seed {args.split_seed}"] if args.split_seed else []
    command = " ".join(["FACELEAK_MODE=quick python scripts/train_backbone.py --package",
                        *options]) if args.package \
        else " ".join(["python", "scripts/train_backbone.py", *(argv or sys.argv[1:])])
    ckpt = models.train_yale_checkpoint(plan.backbones, args.seed, args.split_seed, command=command,
                                        variant=args.variant)
    cached = models.save_checkpoint(ckpt, models.backbone_cache_path(ckpt["key"]))
    print(f"cached: {cached}")
    if args.package:
        target = models.packaged_checkpoint_path(ckpt["key"], mode, args.variant)
        models.save_checkpoint(ckpt, target, half=True)
        print(f"packaged: {target} ({Path(target).stat().st_size / 1e6:.2f} MB)")
    print(f"key {ckpt['key']}: trained in {ckpt['train_seconds']:.0f} s on "
          f"{len(ckpt['train_subjects'])} subjects; "
          f"held out: {', '.join(ckpt['heldout_subjects'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the course's offline backbone (``yale-cosface``) and cache it, or write the packaged copy.

The backbone is trained only on the training subjects of ``split_subjects(seed=0)`` (28 of
the 38 subjects), with the sizes of the chosen mode (``faceleak.train.TRAIN_CONFIGS``).

Usage::

    python scripts/train_backbone.py                 # quick mode, seed 0, into the cache
    FACELEAK_MODE=full python scripts/train_backbone.py
    python scripts/train_backbone.py --package       # also write the committed checkpoint

The committed checkpoint ``src/faceleak/resources/backbones/yale-cosface-quick-seed0.pt``
was made with::

    FACELEAK_MODE=quick python scripts/train_backbone.py --package

``tests/test_models.py`` retrains briefly and checks that the committed file still matches
this code (same cache key, same early training trajectory, held-out EER).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceleak import config, models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=config.MODES, default=None,
                        help="quick or full (default: FACELEAK_MODE, else by CUDA)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--package", action="store_true",
                        help="also write the checkpoint committed with the package "
                             "(quick mode, seed 0 only)")
    args = parser.parse_args(argv)
    mode = config.run_mode(args.mode)
    config.seed_everything(args.seed)
    command = "FACELEAK_MODE=quick python scripts/train_backbone.py --package" if args.package \
        else " ".join(["python", "scripts/train_backbone.py", *(argv or sys.argv[1:])])
    ckpt = models.train_yale_checkpoint(mode, args.seed, command=command)
    cached = models.save_checkpoint(ckpt, models.backbone_cache_path(ckpt["key"]))
    print(f"cached: {cached}")
    if args.package:
        if mode != "quick" or args.seed != 0:
            parser.error("--package is for quick mode and seed 0 only")
        target = models.packaged_checkpoint_path(mode)
        models.save_checkpoint(ckpt, target)
        print(f"packaged: {target} ({Path(target).stat().st_size / 1e6:.2f} MB)")
    print(f"key {ckpt['key']}: trained in {ckpt['train_seconds']:.0f} s on "
          f"{len(ckpt['train_subjects'])} subjects; "
          f"held out: {', '.join(ckpt['heldout_subjects'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

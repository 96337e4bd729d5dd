"""Train the backbone-independent models of Lab 3 and write them into the package.

Two networks of the inversion lab depend only on the training subjects, not on the
attacked embedder, so they can be trained once and committed, keeping the book build fast:

* the DCGAN face prior (``faceleak/resources/gan/dcgan-<mode>-seed0.pt``);
* the type II judge, a second embedder with another architecture, loss and seed
  (``faceleak/resources/gan/type2-<mode>-seed1.pt``).

Each is cached under ``config.cache_dir()/inversion`` first, then copied. The decoder and
the embedding-to-latent mapping depend on the attacked embedder's weights and are trained
by the lab itself (about a minute on two CPU cores in quick mode).

Usage::

    python scripts/train_inversion_models.py --mode quick [--threads 2] [--retrain]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: torch's default)")
    parser.add_argument("--retrain", action="store_true",
                        help="ignore cached and committed checkpoints")
    parser.add_argument("--no-copy", action="store_true",
                        help="train into the cache only; do not write into the package")
    args = parser.parse_args(argv)

    import torch

    from faceleak import config, experiments
    from faceleak.privacy import gan
    from faceleak.vision import data, models

    if args.threads:
        torch.set_num_threads(args.threads)
    config.seed_everything(0)
    plan = experiments.resolve_plan(args.mode)
    _, split, _ = models.yale_training_plan(plan.backbones, 0, 0)
    faces = data.load_faces(plan.image_size, subjects=list(split.train))
    print(f"training subjects: {len(split.train)} ({len(faces)} images, {faces.source.kind} data)")
    command = "python scripts/train_inversion_models.py " + " ".join(sys.argv[1:])

    key = gan.gan_key(plan.gan, plan.seeds.gan, split.train)
    cache_path = gan.gan_cache_path(key)
    if args.retrain or not cache_path.is_file():
        start = time.perf_counter()
        result = gan.train_gan(faces.images, plan.gan, seed=plan.seeds.gan)
        ckpt = gan.gan_checkpoint(result, key, split.train, args.mode, faces.source.kind,
                                  command=command)
        gan.save_checkpoint(ckpt, cache_path)
        print(f"GAN: {time.perf_counter() - start:.0f} s -> {cache_path}")
    if not args.no_copy:
        target = gan.packaged_gan_path(args.mode, 0)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache_path, target)
        print(f"GAN: copied to {target} ({target.stat().st_size / 1e6:.2f} MB)")

    t2_cfg = experiments.type2_config(plan)
    from faceleak.vision import train

    t2_key = train.cache_key(t2_cfg, plan.seeds.type2, split.train)
    t2_path = config.cache_dir() / "inversion" / f"type2-{t2_key}.pt"
    if args.retrain and t2_path.is_file():
        t2_path.unlink()
    start = time.perf_counter()
    experiments.load_type2_backbone(split.train, faces.images, faces.labels, plan)
    print(f"type II embedder: {time.perf_counter() - start:.0f} s -> {t2_path}")
    if not args.no_copy:
        target = gan.packaged_gan_path(args.mode, 1).with_name(f"type2-{args.mode}-seed1.pt")
        shutil.copyfile(t2_path, target)
        print(f"type II: copied to {target} ({target.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

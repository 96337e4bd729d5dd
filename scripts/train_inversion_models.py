"""Train the backbone-independent models of Lab 3 and write them into the package.

Two networks of the inversion lab depend only on the training subjects, not on the
attacked embedder, so they can be trained once and committed, keeping the book build fast:

* the DCGAN face prior (``faceleak/resources/gan/dcgan-<mode>-seed0.pt``);
* the type II judge, a second embedder with another architecture, loss and seed
  (``faceleak/resources/gan/type2-<mode>-seed1.pt``).

Each is cached under ``config.cache_dir()/inversion`` first, then copied. The embedding-to-
latent mapping depends on the attacked embedder's weights and is trained by the lab itself.

``--decoders`` writes the decoders instead (``faceleak/resources/decoders/decoder-<key>.pt``):
Lab 3's decoder (the run of :func:`faceleak.experiments.run_inversion`) and Lab 4's two
decoders retrained on protected templates (:func:`faceleak.experiments.reproduce_defences`),
about 2.5 minutes of training each on two CPU cores in quick mode. They are trained in an
empty temporary cache, so what is copied is what this run trained. A decoder's key hashes
what it is trained from (:func:`faceleak.privacy.attacks.decoder_key`); when any of that
changes, the lab trains a new one and the committed file is simply unused.

Usage::

    python scripts/train_inversion_models.py --mode quick [--threads 2] [--retrain]
    python scripts/train_inversion_models.py --mode quick --decoders all  # or lab3, lab4
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
    parser.add_argument("--decoders", choices=["lab3", "lab4", "all"],
                        help="train Lab 3's or Lab 4's decoders (or both) and write them into "
                             "the package, instead of the GAN and the type II judge")
    args = parser.parse_args(argv)
    if args.decoders:
        return write_decoders(args.mode, args.threads, args.no_copy, args.decoders)

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


def write_decoders(mode: str, threads: int, no_copy: bool, which: str = "all") -> int:
    """Train the decoders of Labs 3 and 4 in an empty cache and copy them into the package."""
    import os
    import tempfile

    import torch

    from faceleak import config

    if threads:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="faceleak-decoders-") as tmp:
        os.environ[config.CACHE_ENV] = tmp  # read by config.cache_dir() at each call
        from faceleak import experiments
        from faceleak.privacy import attacks

        keys = []
        if which in ("lab3", "all"):
            run = experiments.run_inversion(mode, seed=0, use_cache=False)
            keys.append(run.metrics["decoder"]["key"])
        if which in ("lab4", "all"):
            result = experiments.reproduce_defences(mode, seed=0, backbone="yale-cosface-plain",
                                                    reference_backbone=None)
            files = [row["decoder_file"] for row in result["decoder_at_operating_points"]]
            keys += [name[len("decoder-"):-len(".pt")] for name in files]
        for key in keys:
            source = config.cache_dir() / "inversion" / f"decoder-{key}.pt"
            target = attacks.packaged_decoder_path(key)
            if not source.is_file():
                print(f"decoder {key}: not trained in this run (it was found in the package)")
                continue
            if no_copy:
                print(f"decoder {key}: trained ({source.stat().st_size / 1e6:.2f} MB)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            print(f"decoder {key}: copied to {target} ({target.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

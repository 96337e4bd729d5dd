"""Print Lab 3's success rates and timings for one or more attack seeds (split 0).

Usage::

    python scripts/benchmark_inversion.py --mode quick --seeds 0 1 [--no-cache] [--json out.json]
    python scripts/benchmark_inversion.py --mode quick --real dlib-resnet facenet-casia

Each seed runs :func:`faceleak.experiments.inversion.run_inversion` (the function behind the lab and
``python -m faceleak reproduce inversion``) and prints one table row per attack: success at
FAR 1e-3 and 1e-2 on the target embedding and against other photos of the person, type II
success, cosine, SSIM, PSNR and the light errors, followed by the wall-clock timings.

With ``--real``, each named real recognizer is attacked instead by
:func:`faceleak.experiments.real_inversion.run_real_inversion` (split 0, one run per attack
seed), and each attack's row gives type I, type II and cross-model success at both FARs, the
seconds it took and the black-box queries (or gradient steps) it spent.
"""

from __future__ import annotations

import argparse
import json
import time

REAL_KEYS = [(f"{kind}_far_{far}", f"{label}@{far}") for kind, label in
             (("type1", "I"), ("type2", "II"), ("cross_model", "X")) for far in ("1e-3", "1e-2")]

KEYS = [("success_far_1e-3", "ok@1e-3"), ("success_far_1e-2", "ok@1e-2"),
        ("success_other_images_far_1e-3", "other@1e-3"),
        ("success_other_images_far_1e-2", "other@1e-2"),
        ("type2_success_far_1e-3", "typeII@1e-3"), ("cosine", "cos"), ("ssim", "SSIM"),
        ("psnr", "PSNR"), ("lighting_mae_deg", "light(E)"),
        ("lighting_mae_pixels_deg", "light(px)")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--no-cache", action="store_true", help="recompute cached runs")
    parser.add_argument("--json", default=None, help="also write all summaries to this file")
    parser.add_argument("--real", nargs="+", default=None,
                        choices=["dlib-resnet", "facenet-casia"],
                        help="attack these real recognizers instead of the course's network")
    args = parser.parse_args(argv)
    if args.real:
        return _real(args)

    from faceleak import experiments

    summaries = []
    for seed in args.seeds:
        start = time.perf_counter()
        run = experiments.run_inversion(args.mode, attack_seed=seed, use_cache=not args.no_cache)
        wall = time.perf_counter() - start
        m = run.metrics
        summaries.append(m)
        print(f"\nseed {seed}, {m['n_targets']} targets, thresholds {m['thresholds']}")
        print(f"{'attack':<22}" + "".join(f"{label:>12}" for _, label in KEYS))
        rows = dict(m["attacks"])
        rows["(mapping only)"] = m["reference"]["gan_mapping_only"]
        rows["(mean face)"] = m["reference"]["mean_face"]
        for name, row in rows.items():
            cells = _cells(row, KEYS, 12)
            print(f"{name:<22}{cells}")
        ref = m["reference"]
        print(f"real photo vs other photos: {ref['real_other_images_far_1e-3']:.3f} @1e-3, "
              f"{ref['real_other_images_far_1e-2']:.3f} @1e-2")
        print(f"timings (s): {m['timings_s']}; this call: {wall:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summaries, fh, indent=1)
    return 0


def _cells(row: dict, keys, width: int) -> str:
    """A table row's rates, three decimals, right-aligned; '-' where a rate is missing."""
    return "".join(f"{'-' if row.get(k) is None else f'{row[k]:.3f}':>{width}}"
                   for k, _ in keys)


def _real(args: argparse.Namespace) -> int:
    """Rows of type I / II / cross-model success, seconds and queries per real attack."""
    from faceleak.experiments import real_inversion

    summaries = []
    for backbone in args.real:
        for seed in args.seeds:
            start = time.perf_counter()
            m = real_inversion.run_real_inversion(args.mode, backbone=backbone,
                                                  attack_seed=seed)
            summaries.append(m)
            print(f"\n{backbone}, attack seed {seed}, {m['n_targets']} targets, "
                  f"{time.perf_counter() - start:.0f} s")
            print(f"{'attack':<16}" + "".join(f"{label:>10}" for _, label in REAL_KEYS)
                  + f"{'seconds':>10}{'queries':>10}{'steps':>8}")
            rows = {**m["attacks"], **m["reference"], "(ceiling I)": m["type1_ceiling"]}
            for name, row in rows.items():
                cells = _cells(row, REAL_KEYS, 10)
                cost = (f"{row.get('seconds', float('nan')):>10.1f}"
                        f"{row.get('attack_queries', '-'):>10}{row.get('steps', '-'):>8}")
                print(f"{name:<16}{cells}{cost}")
            cross = m["cross_model_ceiling"]
            print(f"cross-model ceiling ({m['cross_model_judge']}"
                  f"): {cross['type1_far_1e-3']:.3f} @1e-3, {cross['type1_far_1e-2']:.3f} @1e-2")
            print(f"timings (s): {m['timings_s']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summaries, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m faceleak reproduce inversion``: Lab 3's three reconstruction attacks as JSON.

Example::

    python -m faceleak reproduce inversion --mode quick --seed 0 --json inversion.json

The JSON holds one entry per attack under ``attacks.decoder``, ``attacks.gradient`` and
``attacks.gan`` (success rates at FAR 1e-3 and 1e-2 on the embedding itself and against
other photos of the same person, type II success, cosine, SSIM, PSNR, lighting error),
computed by :func:`faceleak.experiments.inversion.reproduce_inversion`, the function the lab calls.

With a real recognizer, ``--backbone dlib-resnet`` (black box: a decoder, and query-only
evolution strategies around its output and in the GAN's latent space) or ``--backbone
facenet-casia`` (white box: pixels, and the GAN prior from a random or a mapped start),
the command runs :func:`faceleak.experiments.real_inversion.run_real_inversion` instead: for
each attack, type I, type II and cross-model success at FAR 1e-3 and 1e-2, judged by both
real recognizers and the course's network, with the real-photo ceilings and the queries or
steps spent::

    python -m faceleak reproduce inversion --backbone dlib-resnet --seed 0 --json dlib.json

``--images PATH.npz`` also saves the targets and every reconstruction (Lab 3 shows the
package's recorded run, made this way by ``make record-real-inversion``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from faceleak.cli.arguments import (
    add_common_arguments,
    backbone_names,
    heldout_list,
    run_plan,
    write_result,
)


def add_inversion_command(reproduce_subparsers: Any) -> argparse.ArgumentParser:
    """Register ``inversion`` on the sub-parsers of ``reproduce``.

    Parameters
    ----------
    reproduce_subparsers
        The object returned by ``add_subparsers()`` of the ``reproduce`` parser.

    Returns
    -------
    argparse.ArgumentParser
        The ``inversion`` parser (its ``func`` default is :func:`run_inversion_cli`).
    """
    parser = reproduce_subparsers.add_parser(
        "inversion",
        help="Chapter 3: reconstruct faces from embeddings (decoder, white-box, GAN)",
        description="Run the three inversion attacks of Lab 3 on held-out subjects and "
                    "report identical metrics for each.",
    )
    add_common_arguments(parser)
    parser.add_argument("--attack-seed", type=int, default=0,
                        help="seed of the attacks, the decoder and the mapping network")
    parser.add_argument("--attack-subjects", type=heldout_list, default=None,
                        metavar="yaleB03,yaleB11,...",
                        help="attack only these held-out subjects (default: all of them)")
    parser.add_argument("--backbone", default="yale-cosface", choices=backbone_names(),
                        help="attacked embedder, a name of the backbone registry "
                             "(default yale-cosface)")
    parser.add_argument("--images", type=Path, default=None, metavar="PATH.npz",
                        help="real recognizers only: also save the targets and every "
                             "attack's reconstructions (8-bit .npz)")
    parser.set_defaults(func=run_inversion_cli)
    return parser


def run_inversion_cli(args: argparse.Namespace) -> int:
    """Run :func:`faceleak.experiments.inversion.reproduce_inversion` and write its JSON; return 0.

    A FaceNet backbone without its weights is reported on stderr (exit code 2), as is an
    invalid subject list.
    """
    from faceleak.experiments import inversion
    from faceleak.experiments.real_inversion import REAL_ATTACKS
    from faceleak.vision.models import WeightsError

    if args.seed < 0 or args.attack_seed < 0:
        print("faceleak: error: --seed and --attack-seed must be >= 0", file=sys.stderr)
        return 2
    if args.backbone in REAL_ATTACKS:
        return _run_real(args)
    if getattr(args, "images", None) is not None:
        print("faceleak: error: --images saves the reconstructions of the real recognizers "
              f"(--backbone {' or '.join(REAL_ATTACKS)}); Lab 3's own run keeps them in its "
              "result object", file=sys.stderr)
        return 2
    try:
        result = inversion.reproduce_inversion(
            plan=run_plan(args), seed=args.seed, heldout_subjects=args.heldout_subjects,
            backbone=args.backbone, log=lambda msg: print(msg, file=sys.stderr),
            attack_seed=args.attack_seed, attack_subjects=args.attack_subjects)
    except WeightsError as exc:
        print(f"faceleak: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # attacked subjects outside the held-out ones
        print(f"faceleak: error: {exc}", file=sys.stderr)
        return 2
    inversion.validate_summary(result)
    write_result(result, args.json)
    return 0


def _run_real(args: argparse.Namespace) -> int:
    """A real recognizer: :func:`faceleak.experiments.real_inversion.run_real_inversion`."""
    from faceleak.experiments import real_inversion
    from faceleak.vision.models import WeightsError

    try:
        result = real_inversion.run_real_inversion(
            plan=run_plan(args), seed=args.seed, heldout_subjects=args.heldout_subjects,
            backbone=args.backbone, attack_seed=args.attack_seed,
            attack_subjects=args.attack_subjects, log=lambda msg: print(msg, file=sys.stderr),
            images_path=args.images)
    except (WeightsError, ValueError) as exc:
        print(f"faceleak: error: {exc}", file=sys.stderr)
        return 2
    real_inversion.validate_real_summary(result)
    write_result(result, args.json)
    return 0

"""``python -m faceleak reproduce leakage|inversion|defences``: the experiments of the labs."""

from __future__ import annotations

import argparse

from faceleak.cli.arguments import add_common_arguments, backbone_names, run_plan, write_result


def _run_leakage(args: argparse.Namespace) -> int:
    from faceleak.experiments import leakage

    result = leakage.reproduce_leakage(plan=run_plan(args), seed=args.seed,
                                         heldout_subjects=args.heldout_subjects,
                                         backbone=args.backbone, progress=True,
                                         n_splits=args.splits)
    write_result(result, args.json)
    return 0


def _run_defences(args: argparse.Namespace) -> int:
    from faceleak.experiments import defences
    from faceleak.vision.models import REAL_BACKBONES

    if args.backbone in REAL_BACKBONES:
        return _run_real_defences(args)
    result = defences.reproduce_defences(plan=run_plan(args), seed=args.seed,
                                          heldout_subjects=args.heldout_subjects,
                                          backbone=args.backbone,
                                          inversion=not args.no_inversion)
    write_result(result, args.json)
    return 0


def _run_real_defences(args: argparse.Namespace) -> int:
    """A real recognizer: :func:`faceleak.experiments.real_defences.reproduce_real_defences`."""
    import sys

    from faceleak.experiments import real_defences
    from faceleak.vision.models import WeightsError

    try:
        result = real_defences.reproduce_real_defences(
            plan=run_plan(args), seed=args.seed, heldout_subjects=args.heldout_subjects,
            backbone=args.backbone, attack=not args.no_inversion)
    except (WeightsError, ValueError) as exc:
        print(f"faceleak: error: {exc}", file=sys.stderr)
        return 2
    real_defences.validate_real_defences(result)
    write_result(result, args.json)
    return 0


def add_reproduce_parser(commands) -> None:
    """Register ``reproduce`` and its experiments on the top-level sub-parsers."""
    parser = commands.add_parser("reproduce", help="run a lab's experiment and write its JSON")
    experiments = parser.add_subparsers(dest="experiment", required=True)
    leakage = experiments.add_parser(
        "leakage", help="Chapter 2: how much light direction identity embeddings leak")
    add_common_arguments(leakage)
    leakage.add_argument("--backbone", default="yale-cosface", choices=backbone_names(),
                         help="embedding backbone: a real recognizer (facenet-casia, "
                              "dlib-resnet) or the course's own (default yale-cosface)")
    leakage.add_argument("--splits", type=int, default=None, metavar="K",
                         help="subject splits for the intervals (default: 5 for a real "
                              "recognizer, 1 for a course network, which is trained per split)")
    leakage.set_defaults(func=_run_leakage)
    defences = experiments.add_parser(
        "defences", help="Chapter 4: template protections on utility, leakage and inversion")
    add_common_arguments(defences)
    defences.add_argument("--backbone", default="yale-cosface-plain", choices=backbone_names(),
                          help="embedding backbone (default: yale-cosface-plain, which leaks); "
                               "facenet-casia: the same defences on FaceNet's templates, "
                               "attacked through the defence")
    defences.add_argument("--no-inversion", action="store_true",
                          help="skip the (slower) inversion axis (for a real recognizer: the "
                               "adaptive attack)")
    defences.set_defaults(func=_run_defences)
    for register in _more_experiments():
        register(experiments)


def _more_experiments():
    found = []
    try:
        from faceleak.cli.inversion import add_inversion_command
    except ImportError:
        pass
    else:
        found.append(add_inversion_command)
    return found

"""``python -m faceleak reproduce leakage|inversion|defences``: the experiments of the labs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def heldout_list(text: str) -> list[str]:
    """Parse ``yaleB03,yaleB11`` into a list; an argparse type with a clear error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not (n.startswith("yaleB") and n[5:].isdigit() and len(n) == 7)]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"expected subject names such as yaleB03,yaleB11; got {text!r}")
    return names


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=["quick", "full"], default=None,
                        help="run mode (default: FACELEAK_MODE, else full with CUDA, else quick)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the subject split")
    parser.add_argument("--heldout-subjects", type=heldout_list, default=None,
                        metavar="yaleB03,yaleB11,...",
                        help="explicit held-out subjects (overrides the seeded draw)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write the result as JSON to PATH ('-' for standard output)")


def write_result(result: dict, path: Path | None) -> None:
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if path is None or str(path) == "-":
        print(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"wrote {path}", file=sys.stderr)


def _run_leakage(args: argparse.Namespace) -> int:
    from . import reproduce

    result = reproduce.reproduce_leakage(mode=args.mode, seed=args.seed,
                                         heldout_subjects=args.heldout_subjects,
                                         backbone=args.backbone, progress=True,
                                         n_splits=args.splits)
    write_result(result, args.json)
    return 0


def _run_defences(args: argparse.Namespace) -> int:
    from . import reproduce

    result = reproduce.reproduce_defences(mode=args.mode, seed=args.seed,
                                          heldout_subjects=args.heldout_subjects,
                                          backbone=args.backbone,
                                          inversion=not args.no_inversion)
    write_result(result, args.json)
    return 0


def _backbone_names() -> list[str]:
    from .models import BACKBONES

    return list(BACKBONES)


def add_reproduce_parser(commands) -> None:
    """Register ``reproduce`` and its experiments on the top-level sub-parsers."""
    parser = commands.add_parser("reproduce", help="run a lab's experiment and write its JSON")
    experiments = parser.add_subparsers(dest="experiment", required=True)
    leakage = experiments.add_parser(
        "leakage", help="Chapter 2: how much light direction identity embeddings leak")
    add_common_arguments(leakage)
    leakage.add_argument("--backbone", default="yale-cosface", choices=_backbone_names(),
                         help="embedding backbone: a real recognizer (facenet-casia, "
                              "dlib-resnet) or the course's own (default yale-cosface)")
    leakage.add_argument("--splits", type=int, default=None, metavar="K",
                         help="subject splits for the intervals (default: 5 for a real "
                              "recognizer, 1 for a course network, which is trained per split)")
    leakage.set_defaults(func=_run_leakage)
    defences = experiments.add_parser(
        "defences", help="Chapter 4: template protections on utility, leakage and inversion")
    add_common_arguments(defences)
    defences.add_argument("--backbone", default="yale-cosface-plain", choices=_backbone_names(),
                          help="embedding backbone (default: yale-cosface-plain, which leaks)")
    defences.add_argument("--no-inversion", action="store_true",
                          help="skip the (slower) inversion axis")
    defences.set_defaults(func=_run_defences)
    for register in _more_experiments():
        register(experiments)


def _more_experiments():
    found = []
    try:
        from .cli_inversion import add_inversion_command
    except ImportError:
        pass
    else:
        found.append(add_inversion_command)
    return found

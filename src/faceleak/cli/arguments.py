"""Arguments shared by the ``reproduce`` commands, with one meaning each, and their output."""

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
    """``--mode``, ``--seed``, ``--heldout-subjects`` and ``--json``, one meaning each.

    In every ``reproduce`` command, ``--seed`` draws the subject split and
    ``--heldout-subjects`` replaces the draw: nothing is trained or fitted on the held-out
    people, and every score is measured on them. Seeds of other random choices have their
    own names (``--attack-seed``).
    """
    parser.add_argument("--mode", choices=["quick", "full"], default=None,
                        help="run mode (default: FACELEAK_MODE, else quick; full is opt-in)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the subject split (the same people in every experiment)")
    parser.add_argument("--heldout-subjects", type=heldout_list, default=None,
                        metavar="yaleB03,yaleB11,...",
                        help="explicit held-out subjects, instead of the seeded draw: nothing "
                             "is trained on them and every score is measured on them")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write the result as JSON to PATH ('-' for standard output)")


def run_plan(args: argparse.Namespace):
    """The run plan of a command: resolved once from ``--mode`` (else ``FACELEAK_MODE``).

    Every experiment the command runs gets this plan; nothing below resolves the mode again.
    """
    from faceleak.experiments.plan import resolve_plan

    return resolve_plan(args.mode)


def write_result(result: dict, path: Path | None) -> None:
    """Write an experiment's JSON to ``path``, or to standard output for None or ``-``."""
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if path is None or str(path) == "-":
        print(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"wrote {path}", file=sys.stderr)


def backbone_names() -> list[str]:
    """The names of the backbone registry, for ``--backbone`` (loads torch: call it late)."""
    from faceleak.vision.models import BACKBONES

    return list(BACKBONES)

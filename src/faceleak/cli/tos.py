"""Command line for the ToS analyzer: ``python -m faceleak tos analyze PATH|- [--json]``.

Supported input: UTF-8 (or UTF-16 with BOM) plain text, Markdown or HTML, up to
:data:`faceleak.legal.tos.MAX_INPUT_BYTES`; English and Japanese text. PDFs and other binary formats
must be converted to text first.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from faceleak.legal import tos

EXIT_OK = 0
EXIT_BAD_INPUT = 2

_SUPPORTED = (
    "Input: a file path or '-' for stdin; UTF-8 plain text, Markdown (.md) or HTML (.html), "
    f"at most {tos.MAX_INPUT_BYTES // 1_000_000} MB; English and Japanese clauses are "
    "recognised. Convert PDFs to text first."
)


def add_tos_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``tos analyze`` on an argparse sub-parser collection.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The ``tos`` parser.
    """
    tos_parser = subparsers.add_parser(
        "tos",
        help="read Terms of Service: tag clauses with labels and evidence",
        description="Read Terms of Service and privacy policies clause by clause.",
    )
    commands = tos_parser.add_subparsers(dest="tos_command", required=True)
    analyze = commands.add_parser(
        "analyze",
        help="split a document into clauses and label them",
        description="Split a document into clauses and label each one. " + _SUPPORTED,
    )
    analyze.add_argument("path", help="file to read, or '-' to read standard input")
    analyze.add_argument(
        "--json",
        action="store_true",
        help='print a JSON list of {"text", "labels", "evidence"} for every clause',
    )
    analyze.add_argument(
        "--all",
        action="store_true",
        help="also list clauses without labels in the table output",
    )
    analyze.set_defaults(func=run_tos)
    return tos_parser


def _read(path: str) -> tuple[bytes, str]:
    if path == "-":
        # Read one byte past the limit so an oversize stream is detected without reading it all.
        return sys.stdin.buffer.read(tos.MAX_INPUT_BYTES + 1), "<stdin>"
    p = Path(path)
    if not p.exists():
        raise tos.TosInputError(f"{path}: no such file; check the path or use '-' for stdin")
    if p.is_dir():
        raise tos.TosInputError(f"{path}: is a directory; pass a text, Markdown or HTML file")
    if p.stat().st_size > tos.MAX_INPUT_BYTES:
        raise tos.TosInputError(
            f"{path}: {p.stat().st_size:,} bytes is over the {tos.MAX_INPUT_BYTES:,}-byte limit; "
            "split the document or pass only the relevant part"
        )
    return p.read_bytes(), p.name


def _table(report: tos.TosReport, show_all: bool) -> str:
    rows = report.clauses if show_all else report.flagged
    lines = [f"{report.source}: {len(report.clauses)} clauses, {len(report.flagged)} labelled"]
    width = 96
    for clause in rows:
        lines.append("-" * width)
        lines.append(f"[{clause.index}] " + (", ".join(clause.labels) or "(no label)"))
        lines.extend(
            textwrap.wrap(clause.text, width=width, initial_indent="    ", subsequent_indent="    ")
        )
        for label in clause.labels:
            ev = " | ".join(clause.evidence[label])
            lines.append(f'    {label}: "{ev}" - {clause.explanations[label]}')
        for label, spans in clause.negated.items():
            lines.append(f'    (not {label}: negated by "{" | ".join(spans)}")')
    lines.append("-" * width)
    counts = {k: v for k, v in report.label_counts().items() if v}
    lines.append("label counts: " + (", ".join(f"{k}={v}" for k, v in counts.items()) or "none"))
    return "\n".join(lines)


def run_tos(args: argparse.Namespace) -> int:
    """Run ``tos analyze``; return the exit code (0 on success, 2 on bad input).

    Errors are printed to stderr with a hint on what to do.
    """
    if getattr(args, "tos_command", "analyze") != "analyze":
        print(f"faceleak tos: unknown command {args.tos_command!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        data, name = _read(args.path)
        text = tos.decode_input(data, name)
    except tos.TosInputError as exc:
        print(f"faceleak tos: error: {exc}", file=sys.stderr)
        print(f"faceleak tos: {_SUPPORTED}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"faceleak tos: error: cannot read {args.path}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    report = tos.analyze(text, source=name)
    if not report.clauses:
        print(f"faceleak tos: error: {name}: no clauses found in the text", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        payload = [
            {"text": c.text, "labels": list(c.labels), "evidence": c.evidence}
            for c in report.clauses
        ]
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(_table(report, getattr(args, "all", False)))
    return EXIT_OK

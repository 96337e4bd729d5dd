"""Command-line interface: ``python -m faceleak ...`` (or the ``faceleak`` script).

The labs and the CLI call the same package functions; the CLI only parses arguments,
prints, and turns errors into a message on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from faceleak import __version__

EXIT_USAGE = 2


def _data_summary(args: argparse.Namespace) -> int:
    from faceleak.vision import data

    source = data.locate_data(prefer=args.source)
    faces = data.load_faces(source=source)
    report = faces.report
    if args.json:
        print(json.dumps({"source": source.kind, "path": str(source.path),
                          "n_images": len(faces), **report.to_dict()}, indent=1))
    else:
        print(report.summary())
    return 0


def _data_download(args: argparse.Namespace) -> int:
    from faceleak.vision import data

    path = data.download(args.dest, url=args.url, archive_sha256=args.sha256)
    print(f"Verified {path}. Use it with: export {data.DATA_ENV}={path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceleak",
        description="Tools of the course 'Faces, Embeddings and the Fine Print'.",
    )
    parser.add_argument("--version", action="version", version=f"faceleak {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    data_parser = commands.add_parser("data", help="Extended Yale B: summary and download")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    summary = data_commands.add_parser("summary", help="scan the dataset and report its quirks")
    summary.add_argument("--source", choices=["env", "shared", "compact"], default=None,
                         help="force a data source (default: the first one found)")
    summary.add_argument("--json", action="store_true", help="print the report as JSON")
    summary.set_defaults(func=_data_summary)
    download = data_commands.add_parser(
        "download", help="download the full cropped set and verify every file's SHA-256")
    download.add_argument("dest", help="folder to unpack into (creates DEST/CroppedYale)")
    from faceleak.vision.data import YALE_URL

    download.add_argument("--url", default=YALE_URL, help=f"archive URL (default {YALE_URL})")
    download.add_argument("--sha256", default=None, help="expected SHA-256 of the archive")
    download.set_defaults(func=_data_download)

    for register in _optional_registrations():
        register(commands)
    return parser


def _optional_registrations():
    """Sub-commands contributed by other modules of the package, registered when present."""
    registrations = []
    try:
        from faceleak.cli.tos import add_tos_parser
    except ImportError:
        pass
    else:
        registrations.append(add_tos_parser)
    try:
        from faceleak.cli.weights import add_weights_parser
    except ImportError:
        pass
    else:
        registrations.append(add_weights_parser)
    try:
        from faceleak.cli.reproduce import add_reproduce_parser
    except ImportError:
        pass
    else:
        registrations.append(add_reproduce_parser)
    return registrations


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(func(args) or 0)
    except BrokenPipeError:
        # The reader (e.g. `| head`) closed the pipe: not an error of ours.
        sys.stderr.close()
        return 0
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"faceleak: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

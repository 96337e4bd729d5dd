"""Repository guard: no file over 12 MB, and no model weights outside the package resources.

The README promises that "no model weights are kept in the repository except under
``src/faceleak/resources/``", and a course repository that people clone (and that Colab
installs from) must stay small. This checks every file git would commit: the tracked files
plus the untracked ones that are not ignored (what ``git add -A`` would add).

Usage: python scripts/check_repo.py [--root .] [--max-mb 12] [--weights-min-mb 1]
Exit status 1 when a file breaks a rule; each finding says what to do.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
MAX_FILE_MB = 12.0
# Model weights, by suffix. A file with one of these suffixes and over WEIGHTS_MIN_MB is
# treated as weights.
WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors", ".onnx", ".bin")
WEIGHTS_MIN_MB = 1.0
# The only places the README allows weights in (tests/test_site_tools.py checks that the
# README still names each of them).
ALLOWED_WEIGHT_DIRS = ("src/faceleak/resources/",)
# Folders never looked at when the root is not a git repository.
SKIP_DIRS = {".git", ".venv", "_build", "_vendor", "node_modules", ".ci-cache",
             "__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}


@dataclasses.dataclass(frozen=True)
class RepoFinding:
    """One file that breaks a rule.

    Attributes
    ----------
    path : str
        The file, relative to the repository root (POSIX separators).
    rule : str
        ``"size"`` or ``"weights"``.
    message : str
        What is wrong and what to do.
    """

    path: str
    rule: str
    message: str


def candidate_files(root: Path) -> tuple[list[str], str]:
    """List the files to check, relative to ``root``.

    Parameters
    ----------
    root : Path
        The repository root.

    Returns
    -------
    files : list of str
        Tracked files plus untracked, non-ignored ones (or, outside git, every file except
        the build and environment folders in ``SKIP_DIRS``).
    source : str
        A short description of where the list came from, for the report.
    """
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"],
            capture_output=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        files = []
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if any(part in SKIP_DIRS for part in rel.parts) or not path.is_file():
                continue
            files.append(rel.as_posix())
        return sorted(files), "all files (not a git repository)"
    names = sorted({n for n in proc.stdout.decode().split("\0") if n})
    return names, "git: tracked and untracked-not-ignored files"


def check_files(root: Path, files: list[str], max_mb: float = MAX_FILE_MB,
                weights_min_mb: float = WEIGHTS_MIN_MB,
                allowed: tuple[str, ...] = ALLOWED_WEIGHT_DIRS) -> list[RepoFinding]:
    """Apply the size and weights rules to ``files``.

    Parameters
    ----------
    root : Path
        The repository root.
    files : list of str
        Paths relative to ``root``; missing ones (deleted in the working tree) are skipped.
    max_mb : float
        Largest allowed file, in MiB.
    weights_min_mb : float
        Files with a weights suffix larger than this (MiB) count as model weights.
    allowed : tuple of str
        Folders (relative, ending in ``/``) where model weights may live.

    Returns
    -------
    list of RepoFinding
        One per broken rule, in path order.
    """
    findings: list[RepoFinding] = []
    for rel in files:
        path = root / rel
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        if size > max_mb * MB:
            findings.append(RepoFinding(
                rel, "size",
                f"{size / MB:.1f} MB, over the {max_mb:g} MB limit: keep large data out of "
                "git (the package ships a compact copy; publish big files as release assets "
                "or download them at run time)"))
        if (rel.lower().endswith(WEIGHT_SUFFIXES) and size > weights_min_mb * MB
                and not rel.startswith(allowed)):
            findings.append(RepoFinding(
                rel, "weights",
                f"model weights ({size / MB:.1f} MB) outside {', '.join(allowed)}: move them "
                "there (the README names it as the only place for weights) or do not commit "
                "them"))
    return findings


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module doc); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--max-mb", type=float, default=MAX_FILE_MB)
    parser.add_argument("--weights-min-mb", type=float, default=WEIGHTS_MIN_MB)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    files, source = candidate_files(root)
    findings = check_files(root, files, args.max_mb, args.weights_min_mb)
    print(f"repo check: {len(files)} files ({source}) under {root}")
    for finding in findings:
        print(f"  FAIL [{finding.rule}] {finding.path}: {finding.message}")
    if findings:
        print(f"repo check: {len(findings)} problem(s)")
        return 1
    print(f"repo check: ok (no file over {args.max_mb:g} MB; no model weights over "
          f"{args.weights_min_mb:g} MB outside {', '.join(ALLOWED_WEIGHT_DIRS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

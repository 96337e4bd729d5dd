"""Vendor the book's browser assets (MathJax, the ipywidgets HTML manager, RequireJS).

Out of the box the built site loads MathJax and the ipywidgets embed manager from CDNs, so
offline the maths shows as raw LaTeX and the widgets render blank. This script fetches pinned
versions from the npm registry into ``_vendor/`` (git-ignored) and ``_config.yml`` points the
build at them:

- ``sphinx.config.html_extra_path: ["_vendor/html"]`` copies ``_vendor/html/vendor/`` to
  ``_build/html/vendor/``. It is deliberately not an ``html_static_path``: Jupyter Book 1 adds a
  ``<script>`` tag for every ``.js`` file under the static paths (as soon as the book has a
  ``_static/`` folder), which would load all of MathJax's components on every page.
- ``mathjax_path`` and ``nb_ipywidgets_js`` name the files relative to ``_static/`` (Sphinx
  prefixes relative script paths with ``_static/``), hence their leading ``../vendor/``.

``make book`` runs this first. It is idempotent: when ``_vendor/vendor.json`` records the
pinned versions and the files are present, it does nothing. Every tarball is checked against
the npm registry's SHA-512 integrity pinned below, whether it was fetched with ``npm pack``
(used when npm is installed, so the user's npm configuration applies) or, without npm,
downloaded directly from the registry (``$npm_config_registry`` or registry.npmjs.org).

Usage: python scripts/vendor_assets.py [--dest _vendor] [--force | --check]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = ROOT / "_vendor"
STAMP_NAME = "vendor.json"
SITE_DIR = "html"  # _vendor/html is the html_extra_path; its content lands in _build/html
PREFIX = "vendor"  # ... under this folder: _build/html/vendor/
DEFAULT_REGISTRY = "https://registry.npmjs.org/"


@dataclasses.dataclass(frozen=True)
class Package:
    """One pinned npm package and what to take from its tarball.

    Attributes
    ----------
    name : str
        The npm package name, e.g. ``"mathjax"`` or ``"@jupyter-widgets/html-manager"``.
    version : str
        The exact version.
    integrity : str
        The registry's ``dist.integrity`` (``sha512-<base64>``) for that version.
    files : dict of str to str
        Tarball member (or folder, ending in ``/``) -> destination under ``vendor/``.
    entry : str
        The file the book loads, relative to ``vendor/`` (checked after extraction).
    """

    name: str
    version: str
    integrity: str
    files: dict[str, str]
    entry: str

    @property
    def spec(self) -> str:
        """``name@version``, as npm takes it."""
        return f"{self.name}@{self.version}"

    @property
    def tarball_url_path(self) -> str:
        """The tarball's path under the registry URL (``name/-/base-version.tgz``)."""
        basename = self.name.rsplit("/", 1)[-1]
        return f"{self.name}/-/{basename}-{self.version}.tgz"


# MathJax 3 (Sphinx 7's default is mathjax@3 tex-mml-chtml from jsDelivr). The whole es5/
# folder is kept: tex-mml-chtml.js loads its fonts, TeX extensions and menu components from
# beside itself on demand.
MATHJAX = Package(
    name="mathjax",
    version="3.2.2",
    integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1v"
              "O+geW0OhGw==",
    files={"package/es5/": "mathjax/", "package/LICENSE": "mathjax/LICENSE"},
    entry="mathjax/tex-mml-chtml.js",
)
# The embed manager for ipywidgets 8 (widget state with @jupyter-widgets/controls 2.0.0).
# myst-nb 1.4 defaults to html-manager 1.0.6 from jsDelivr; embed-amd.js bundles base,
# controls and output, so the course's widgets need nothing else.
HTML_MANAGER = Package(
    name="@jupyter-widgets/html-manager",
    version="1.0.15",
    integrity="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1y"
              "p47bCrJ3CQA==",
    files={"package/dist/embed-amd.js": "jupyter-widgets/embed-amd.js",
           "package/package.json": "jupyter-widgets/package.json"},
    entry="jupyter-widgets/embed-amd.js",
)
# embed-amd.js is a set of AMD modules: it needs RequireJS loaded before it.
REQUIREJS = Package(
    name="requirejs",
    version="2.3.8",
    integrity="sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFl"
              "yQXSowL6Mw==",
    files={"package/require.js": "requirejs/require.js",
           "package/package.json": "requirejs/package.json"},  # no LICENSE file: MIT
    entry="requirejs/require.js",
)
PACKAGES: tuple[Package, ...] = (MATHJAX, HTML_MANAGER, REQUIREJS)


class VendorError(RuntimeError):
    """Raised when an asset cannot be fetched or does not match its pinned integrity."""


def stamp_payload(packages: tuple[Package, ...] = PACKAGES) -> dict:
    """Return what ``vendor.json`` records: each package's version and integrity."""
    return {"packages": {p.name: {"version": p.version, "integrity": p.integrity}
                         for p in packages}}


def is_current(dest: Path, packages: tuple[Package, ...] = PACKAGES) -> bool:
    """Return True when ``dest`` already holds exactly the pinned assets.

    Parameters
    ----------
    dest : Path
        The vendor folder (``_vendor``).
    packages : tuple of Package
        The pins to compare with.
    """
    stamp = dest / STAMP_NAME
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    if recorded != stamp_payload(packages):
        return False
    site = dest / SITE_DIR / PREFIX
    return all((site / p.entry).is_file() and (site / p.entry).stat().st_size > 0
               for p in packages)


def sri_sha512(path: Path) -> str:
    """Return the ``sha512-<base64>`` subresource-integrity string of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _registry() -> str:
    """The npm registry URL, from npm's environment variable or the public default."""
    # npm reads its settings from npm_config_* variables, lower case by convention.
    registry = os.environ.get("npm_config_registry") or os.environ.get(  # noqa: SIM112
        "NPM_CONFIG_REGISTRY")
    return (registry or DEFAULT_REGISTRY).rstrip("/") + "/"


def fetch_tarball(package: Package, workdir: Path, use_npm: bool | None = None) -> Path:
    """Fetch a package tarball into ``workdir`` and check its integrity.

    Parameters
    ----------
    package : Package
        What to fetch.
    workdir : Path
        An existing folder for the tarball.
    use_npm : bool, optional
        Use ``npm pack`` (default: when npm is on PATH) or download from the registry.

    Returns
    -------
    Path
        The verified tarball.

    Raises
    ------
    VendorError
        If the download fails or the tarball does not match the pinned integrity.
    """
    if use_npm is None:
        use_npm = shutil.which("npm") is not None
    if use_npm:
        proc = subprocess.run(
            ["npm", "pack", package.spec, "--json", "--pack-destination", str(workdir)],
            capture_output=True, text=True, cwd=workdir,
        )
        if proc.returncode != 0:
            raise VendorError(
                f"`npm pack {package.spec}` failed (exit {proc.returncode}):\n{proc.stderr}\n"
                "Check that the npm registry is reachable (npm config get registry).")
        filename = json.loads(proc.stdout)[0]["filename"].replace("@", "").replace("/", "-")
        tarball = workdir / filename
        if not tarball.is_file():  # npm's naming of scoped tarballs changed over versions
            found = sorted(workdir.glob("*.tgz"), key=lambda p: p.stat().st_mtime)
            if not found:
                raise VendorError(f"`npm pack {package.spec}` wrote no tarball in {workdir}")
            tarball = found[-1]
    else:
        url = _registry() + package.tarball_url_path
        tarball = workdir / (package.tarball_url_path.rsplit("/", 1)[-1])
        try:
            with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310
                tarball.write_bytes(response.read())
        except OSError as exc:
            raise VendorError(
                f"could not download {url}: {exc}. Install npm (it honours your registry "
                "configuration) or set npm_config_registry to a reachable registry.") from exc
    got = sri_sha512(tarball)
    if got != package.integrity:
        raise VendorError(
            f"{package.spec}: tarball integrity {got} does not match the pinned "
            f"{package.integrity}. Do not use it; if the pin is wrong, update it in "
            f"scripts/vendor_assets.py from `npm view {package.spec} dist.integrity`.")
    return tarball


def extract(package: Package, tarball: Path, site: Path) -> list[Path]:
    """Copy the wanted members of ``tarball`` under ``site`` (the ``vendor/`` folder).

    Returns
    -------
    list of Path
        The files written.
    """
    written: list[Path] = []
    with tarfile.open(tarball, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        for source, target in package.files.items():
            if source.endswith("/"):
                chosen = [(m, target + m.name[len(source):]) for m in members
                          if m.name.startswith(source)]
            else:
                chosen = [(m, target) for m in members if m.name == source]
            if not chosen:
                raise VendorError(f"{package.spec}: {source} is not in the tarball")
            for member, rel in chosen:
                out = (site / rel).resolve()
                if site.resolve() not in out.parents:
                    raise VendorError(f"{package.spec}: unsafe path {member.name}")
                out.parent.mkdir(parents=True, exist_ok=True)
                handle = tar.extractfile(member)
                if handle is None:
                    raise VendorError(f"{package.spec}: cannot read {member.name}")
                out.write_bytes(handle.read())
                written.append(out)
    entry = site / package.entry
    if not entry.is_file() or entry.stat().st_size == 0:
        raise VendorError(f"{package.spec}: {package.entry} missing after extraction")
    return written


def vendor(dest: Path = DEFAULT_DEST, force: bool = False,
           packages: tuple[Package, ...] = PACKAGES, use_npm: bool | None = None) -> bool:
    """Fetch and unpack every pinned package into ``dest``.

    Parameters
    ----------
    dest : Path
        The vendor folder; ``dest/html/vendor/`` receives the files.
    force : bool
        Fetch again even when ``dest`` is current.
    packages : tuple of Package
        The pins (the default is the book's).
    use_npm : bool, optional
        Passed to :func:`fetch_tarball`.

    Returns
    -------
    bool
        True if anything was fetched, False if ``dest`` was already current.
    """
    if not force and is_current(dest, packages):
        return False
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=dest))
    try:
        site = staging / SITE_DIR / PREFIX
        site.mkdir(parents=True)
        tarballs = staging / "tarballs"
        tarballs.mkdir()
        for package in packages:
            workdir = tarballs / package.name.replace("/", "__")
            workdir.mkdir()
            files = extract(package, fetch_tarball(package, workdir, use_npm), site)
            print(f"vendored {package.spec}: {len(files)} files")
        final = dest / SITE_DIR
        if final.exists():
            shutil.rmtree(final)
        (staging / SITE_DIR).rename(final)
        (dest / STAMP_NAME).write_text(json.dumps(stamp_payload(packages), indent=2) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line: vendor (default), ``--force`` or ``--check``; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help="vendor folder (default: _vendor beside _config.yml)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--force", action="store_true", help="fetch even if current")
    group.add_argument("--check", action="store_true",
                       help="fetch nothing; exit 1 unless the pinned assets are present")
    args = parser.parse_args(argv)
    if args.check:
        if is_current(args.dest):
            print(f"{args.dest}: vendored assets are current")
            return 0
        print(f"{args.dest}: vendored assets missing or stale; run "
              "python scripts/vendor_assets.py", file=sys.stderr)
        return 1
    try:
        changed = vendor(args.dest, force=args.force)
    except VendorError as exc:
        print(f"vendor_assets: {exc}", file=sys.stderr)
        return 1
    if not changed:
        versions = ", ".join(p.spec for p in PACKAGES)
        print(f"{args.dest}: vendored assets are current ({versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

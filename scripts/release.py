"""Make a release that the labs' Colab cell installs: version, labs, wheel, tag.

``make release VERSION=x.y.z`` runs ``python scripts/release.py x.y.z``, which

1. refuses to run on a dirty working tree, when the tag ``vx.y.z`` exists already, or when
   the version is not of the form ``x.y.z``;
2. sets the version in pyproject.toml and in ``src/faceleak/__init__.py`` (the only two
   places that hold it; tests/test_release.py fails when they differ);
3. rewrites every lab's install cell and Colab badge (scripts/sync_notebooks.py), so that
   the labs install the wheel of this release;
4. builds the wheel and the sdist from the tracked files (a copy of them, so that nothing
   untracked gets in) into ``dist/``, and checks the wheel: its version, and every tracked
   file of ``src/faceleak/resources/`` (the committed checkpoints and data) inside it;
5. commits the changes ("Release x.y.z") and tags that commit ``vx.y.z``.

It pushes nothing: ``git push origin HEAD vx.y.z`` then makes the publish workflow
(.github/workflows/release.yml) build the wheel again on GitHub and attach it to the
GitHub release ``vx.y.z``, which is the URL the labs install. If a step fails, the files
it changed are restored and no commit or tag is made.

``python scripts/release.py --check-dist DIR`` only checks built files (the workflow uses
it on what it built).

Usage: python scripts/release.py VERSION [--dist-dir dist]
       python scripts/release.py --check-dist DIR [--version VERSION]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
INIT = Path("src/faceleak/__init__.py")
PYPROJECT = Path("pyproject.toml")
RESOURCES = "src/faceleak/resources/"
INIT_VERSION_RE = re.compile(r'^__version__ = "([^"]*)"$', re.MULTILINE)
PYPROJECT_VERSION_RE = re.compile(r'^(version\s*=\s*)"([^"]*)"', re.MULTILINE)


class ReleaseError(RuntimeError):
    """A release cannot be made; the message says why and what to do."""


def _sync_module():
    spec = importlib.util.spec_from_file_location("sync_notebooks",
                                                  Path(__file__).with_name("sync_notebooks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run git in ``root`` and return the finished process (text output)."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ReleaseError(f"`git {' '.join(args)}` failed: {proc.stderr.strip()}")
    return proc


def versions(root: Path) -> tuple[str, str]:
    """The version in pyproject.toml and the one in ``faceleak/__init__.py``."""
    project = tomllib.loads((root / PYPROJECT).read_text())["project"]["version"]
    match = INIT_VERSION_RE.search((root / INIT).read_text())
    if match is None:
        raise ReleaseError(f"{INIT} has no line `__version__ = \"...\"`")
    return project, match.group(1)


def check_version(version: str) -> str:
    """Return ``version`` if it is ``x.y.z``, else raise :class:`ReleaseError`."""
    if not VERSION_RE.match(version):
        raise ReleaseError(f"version {version!r} is not of the form x.y.z (e.g. 0.3.0); the "
                           "tag is v<version>")
    return version


def check_can_release(root: Path, version: str) -> None:
    """Refuse a dirty tree, an existing tag, or a version that is not ``x.y.z``."""
    check_version(version)
    status = git(root, "status", "--porcelain", "--untracked-files=normal").stdout
    if status.strip():
        raise ReleaseError("the working tree is not clean; commit or stash these first:\n"
                           + status.rstrip())
    tag = f"v{version}"
    if git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False).returncode == 0:
        raise ReleaseError(f"tag {tag} exists already: choose the next version, or delete the "
                           f"tag (`git tag -d {tag}`) if it was never pushed")


def set_version(root: Path, version: str) -> list[Path]:
    """Write ``version`` into pyproject.toml and ``faceleak/__init__.py``; return them."""
    pyproject = root / PYPROJECT
    text, count = PYPROJECT_VERSION_RE.subn(rf'\g<1>"{version}"', pyproject.read_text(), 1)
    if count != 1:
        raise ReleaseError(f"{PYPROJECT}: no `version = \"...\"` line under [project]")
    pyproject.write_text(text)
    init = root / INIT
    init.write_text(INIT_VERSION_RE.sub(f'__version__ = "{version}"', init.read_text(), 1))
    if versions(root) != (version, version):
        raise ReleaseError(f"could not set the version to {version}: {versions(root)}")
    return [pyproject, init]


def sync_labs(root: Path) -> list[Path]:
    """Rewrite the labs' install cells and badges for the current version; return changed."""
    sync = _sync_module()
    return [nb for nb in sorted((root / "labs").glob("*.ipynb")) if sync.sync(nb, root)]


def build(root: Path, dist: Path) -> tuple[Path, Path]:
    """Build the sdist and the wheel of the tracked files of ``root`` into ``dist``.

    The files git tracks (as they are in the working tree) are copied to a temporary folder
    and built there without build isolation (setuptools' PEP 517 hooks, with the
    interpreter running this script), so the build needs no network and leaves no
    ``build/`` or ``*.egg-info`` behind.
    """
    tracked = git(root, "ls-files", "-z").stdout.split("\0")
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faceleak-release-") as tmp:
        for rel in filter(None, tracked):
            source = root / rel
            if source.is_file():
                target = Path(tmp) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        # setuptools rewrites sys.argv while it builds: read the output folder first.
        code = ("import sys; out = sys.argv[1]; from setuptools import build_meta as b; "
                "s = b.build_sdist(out); w = b.build_wheel(out); print(f'BUILT {s} {w}')")
        proc = subprocess.run([sys.executable, "-c", code, str(dist.resolve())], cwd=tmp,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise ReleaseError("building the wheel failed (is setuptools>=77 installed in "
                               f"this interpreter?):\n{proc.stderr[-3000:]}")
    built = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("BUILT ")]
    if not built:
        raise ReleaseError(f"the build printed no file names:\n{proc.stdout[-2000:]}")
    sdist_name, wheel_file = built[-1]
    return dist / sdist_name, dist / wheel_file


def wheel_name(version: str) -> str:
    """The file name of the release's wheel (pure Python, any platform)."""
    return f"faceleak-{version}-py3-none-any.whl"


def check_dist(root: Path, dist: Path, version: str | None = None) -> list[str]:
    """Problems with the built wheel and sdist in ``dist`` (an empty list when none).

    Checks that the wheel carries ``version`` (default: pyproject.toml's) in its file name,
    metadata and ``faceleak.__version__``, and holds every tracked file of
    ``src/faceleak/resources/``; and that the sdist holds them too.
    """
    version = version or versions(root)[0]
    problems: list[str] = []
    wheel = dist / wheel_name(version)
    sdist = dist / f"faceleak-{version}.tar.gz"
    if not wheel.is_file():
        return [f"no {wheel.name} in {dist} (found: "
                f"{', '.join(p.name for p in sorted(dist.glob('*'))) or 'nothing'})"]
    resources = [rel for rel in git(root, "ls-files", RESOURCES).stdout.splitlines() if rel]
    if not resources:
        problems.append(f"git tracks no file under {RESOURCES}")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(f"faceleak-{version}.dist-info/METADATA").decode()
        init = zf.read("faceleak/__init__.py").decode()
    if f"\nVersion: {version}\n" not in metadata:
        problems.append(f"{wheel.name}: its METADATA does not say Version: {version}")
    match = INIT_VERSION_RE.search(init)
    if match is None or match.group(1) != version:
        problems.append(f"{wheel.name}: faceleak.__version__ is not {version}")
    missing = [rel for rel in resources if rel.removeprefix("src/") not in names]
    if missing:
        problems.append(f"{wheel.name} lacks {len(missing)} committed resource(s), e.g. "
                        f"{missing[0]}: check [tool.setuptools.package-data] in pyproject.toml")
    if not sdist.is_file():
        problems.append(f"no {sdist.name} in {dist}")
    else:
        with tarfile.open(sdist) as tf:
            in_sdist = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
        lacking = [rel for rel in resources if rel not in in_sdist]
        if lacking:
            problems.append(f"{sdist.name} lacks {len(lacking)} committed resource(s), e.g. "
                            f"{lacking[0]}")
    return problems


def release(root: Path, version: str, dist: Path | None = None) -> Path:
    """Make release ``version`` of the repository at ``root`` (see the module docstring).

    Returns
    -------
    Path
        The wheel built.

    Raises
    ------
    ReleaseError
        If the release cannot be made; the working tree is then as it was.
    """
    check_can_release(root, version)
    dist = dist or root / "dist"
    changed: list[Path] = []
    try:
        changed = set_version(root, version) + sync_labs(root)
        _, wheel = build(root, dist)
        problems = check_dist(root, dist, version)
        if problems:
            raise ReleaseError("the built files are not releasable:\n- " + "\n- ".join(problems))
        paths = [str(p.relative_to(root)) for p in changed]
        if git(root, "status", "--porcelain", "--", *paths).stdout.strip():
            git(root, "add", "--", *paths)
            git(root, "commit", "-q", "-m", f"Release {version}", "--", *paths)
    except BaseException:
        if changed:
            git(root, "reset", "-q", "--", *(str(p.relative_to(root)) for p in changed),
                check=False)
            git(root, "checkout", "HEAD", "--", *(str(p.relative_to(root)) for p in changed),
                check=False)
        raise
    git(root, "tag", f"v{version}")
    return wheel


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", nargs="?", help="the new version, x.y.z (tag vx.y.z)")
    parser.add_argument("--dist-dir", type=Path, default=ROOT / "dist",
                        help="where the wheel and sdist go (default: dist/)")
    parser.add_argument("--check-dist", type=Path, metavar="DIR",
                        help="only check the wheel and sdist built in DIR")
    args = parser.parse_args(argv)
    try:
        if args.check_dist is not None:
            problems = check_dist(ROOT, args.check_dist, args.version)
            for problem in problems:
                print(f"release: {problem}", file=sys.stderr)
            if not problems:
                print(f"{args.check_dist}: wheel and sdist of faceleak "
                      f"{args.version or versions(ROOT)[0]} hold every committed resource")
            return 1 if problems else 0
        if not args.version:
            parser.error("give the version, e.g. `make release VERSION=0.3.0`")
        wheel = release(ROOT, args.version, args.dist_dir)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    tag = f"v{args.version}"
    print(f"built {wheel.relative_to(ROOT) if wheel.is_relative_to(ROOT) else wheel}; "
          f"committed and tagged {tag}.\nNext: git push origin HEAD {tag} (the publish "
          "workflow attaches the wheel to the GitHub release, which the labs install).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

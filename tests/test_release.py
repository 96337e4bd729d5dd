"""scripts/release.py: one version, synced labs, a wheel with the checkpoints, a tag."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest

import faceleak
from conftest import ROOT, load_script

release = load_script("release")
sync = load_script("sync_notebooks")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_version_is_the_same_in_both_places():
    project, init = release.versions(ROOT)
    assert project == init == faceleak.__version__
    release.check_version(project)


@pytest.mark.parametrize("bad", ["1.2", "v1.2.3", "1.2.3rc1", ""])
def test_versions_must_be_x_y_z(bad):
    with pytest.raises(release.ReleaseError, match="x.y.z"):
        release.check_version(bad)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git repository with what a release needs: the package, the labs, the config."""
    root = tmp_path_factory.mktemp("release") / "repo"
    tracked = git(ROOT, "ls-files", "pyproject.toml", "README.md", "LICENSE", "_config.yml",
                  "src/faceleak", "labs").splitlines()
    for rel in tracked:
        if (ROOT / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, root / rel)
    (root / ".gitignore").write_text("dist/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.invalid")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def test_release_refuses_a_dirty_tree_and_an_existing_tag(repo: Path):
    (repo / "stray.txt").write_text("x")
    try:
        with pytest.raises(release.ReleaseError, match=r"(?s)not clean.*stray.txt"):
            release.check_can_release(repo, "9.9.9")
    finally:
        (repo / "stray.txt").unlink()
    git(repo, "tag", "v9.9.8")
    try:
        with pytest.raises(release.ReleaseError, match="tag v9.9.8 exists already"):
            release.check_can_release(repo, "9.9.8")
    finally:
        git(repo, "tag", "-d", "v9.9.8")
    release.check_can_release(repo, "9.9.9")


def test_a_failed_build_leaves_the_tree_untouched(repo: Path, monkeypatch):
    head = git(repo, "rev-parse", "HEAD")

    def broken(root, dist):
        raise release.ReleaseError("building the wheel failed")

    monkeypatch.setattr(release, "build", broken)
    with pytest.raises(release.ReleaseError, match="building the wheel failed"):
        release.release(repo, "9.9.7", repo / "dist")
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "tag") == ""
    assert release.versions(repo) == release.versions(ROOT)


@pytest.fixture(scope="module")
def released(repo: Path) -> Path:
    """Release 9.9.9 of the copy (a real build: about 5 s)."""
    return release.release(repo, "9.9.9", repo / "dist")


def test_release_sets_the_version_syncs_the_labs_builds_and_tags(repo: Path, released: Path):
    assert released.name == "faceleak-9.9.9-py3-none-any.whl" and released.is_file()
    assert release.versions(repo) == ("9.9.9", "9.9.9")
    assert git(repo, "log", "-1", "--format=%s") == "Release 9.9.9"
    assert git(repo, "rev-parse", "v9.9.9^{commit}") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "status", "--porcelain") == ""  # dist/ is ignored, all else committed
    wheel_url = sync.release_wheel_url(repo)
    assert wheel_url.endswith("/releases/download/v9.9.9/faceleak-9.9.9-py3-none-any.whl")
    for lab in sorted((repo / "labs").glob("*.ipynb")):
        setup = nbformat.read(lab, as_version=4).cells[1]
        assert f'WHEEL = "{wheel_url}"' in setup.source, lab.name
    # The wheel holds every committed checkpoint and data file, and says its version.
    with zipfile.ZipFile(released) as zf:
        names = set(zf.namelist())
    resources = git(repo, "ls-files", "src/faceleak/resources").splitlines()
    assert any(r.endswith(".pt") for r in resources)
    assert {r.removeprefix("src/") for r in resources} <= names
    assert release.check_dist(repo, repo / "dist") == []
    # Releasing the same version again is refused.
    with pytest.raises(release.ReleaseError, match="tag v9.9.9 exists already"):
        release.release(repo, "9.9.9", repo / "dist")


def test_check_dist_finds_a_wheel_without_the_checkpoints(repo: Path, released: Path,
                                                          tmp_path: Path):
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy2(released.with_name("faceleak-9.9.9.tar.gz"), dist)
    with zipfile.ZipFile(released) as src, \
            zipfile.ZipFile(dist / released.name, "w") as dst:
        for item in src.infolist():
            if not item.filename.endswith(".pt"):
                dst.writestr(item, src.read(item))
    problems = release.check_dist(repo, dist, "9.9.9")
    assert len(problems) == 1 and "lacks" in problems[0] and "package-data" in problems[0]
    assert release.check_dist(repo, dist, "9.9.10")[0].startswith(
        "no faceleak-9.9.10-py3-none-any.whl")

"""The GitHub Actions workflows, checked offline: schema, wiring, and a dry run.

GitHub cannot run here, so this validates both workflow files against the GitHub workflow
JSON schema (vendored in check-jsonschema), checks that what they run exists (Makefile
targets, scripts, the install the labs' Colab cell does), that every ``run:`` block is valid
bash, that ``make -n`` accepts the targets they call, and runs the Colab workflow's notebook
runner on small notebooks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT, load_script

WORKFLOWS = ROOT / ".github" / "workflows"
PUBLISH = WORKFLOWS / "publish.yml"
COLAB = WORKFLOWS / "colab-labs.yml"
RELEASE = WORKFLOWS / "release.yml"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def run_blocks(workflow: dict) -> list[str]:
    return [step["run"] for step in steps(workflow) if "run" in step]


def uses(workflow: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in steps(workflow) if "uses" in step]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", text, flags=re.MULTILINE))


@pytest.mark.parametrize("path", [PUBLISH, COLAB, RELEASE], ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(path: Path):
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (test extra)")
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path):
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (test extra)")
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  build:\n    steps:\n      - uses: 3\n"
                      "        shell: bash\n")
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(broken)],
                          capture_output=True, text=True)
    assert proc.returncode != 0


@pytest.mark.parametrize("path", [PUBLISH, COLAB, RELEASE], ids=lambda p: p.name)
def test_run_blocks_are_valid_bash(path: Path, tmp_path: Path):
    for index, block in enumerate(run_blocks(load(path))):
        script = tmp_path / f"step{index}.sh"
        script.write_text(EXPRESSION.sub("placeholder", block))
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path.name} run block {index}: {proc.stderr}\n{block}"


def test_the_script_run_inside_the_colab_image_is_valid_bash(tmp_path: Path):
    scripts = [m.group(1) for block in run_blocks(load(COLAB))
               for m in re.finditer(r"-c '\n(.*?)\n\s*'", block, flags=re.DOTALL)]
    assert len(scripts) == 1, "expected one `bash -c '...'` script for the container"
    script = tmp_path / "inside.sh"
    script.write_text(scripts[0])
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "'" not in scripts[0], "a single quote would end the bash -c '...' string"


@pytest.mark.parametrize("path", [PUBLISH, COLAB, RELEASE], ids=lambda p: p.name)
def test_scripts_and_make_targets_named_in_workflows_exist(path: Path):
    text = "\n".join(run_blocks(load(path)))
    for script in re.findall(r"scripts/[\w./-]+\.py", text):
        assert (ROOT / script).is_file(), f"{path.name} runs {script}, which does not exist"
    for target in re.findall(r"\bmake\s+([a-z][\w-]*)", text):
        assert target in make_targets(), f"{path.name} runs make {target}: no such target"


def test_publish_builds_checks_and_deploys_to_pages():
    workflow = load(PUBLISH)
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in workflow["on"]
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    run = "\n".join(run_blocks({"jobs": {"build": build}}))
    assert "make check-site TORCH_SPEC=torch" in run
    # torch comes from PyTorch's CPU index, installed before make (whose TORCH_SPEC is quoted
    # as one requirement and cannot carry --index-url).
    assert "--index-url https://download.pytorch.org/whl/cpu" in run
    assert run.index("download.pytorch.org") < run.index("make check-site")
    assert "check-site" in make_targets() and "book" in make_targets()
    upload = next(s for s in build["steps"]
                  if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert "actions/deploy-pages" in uses({"jobs": {"deploy": deploy}})
    assert workflow["permissions"] == {"contents": "read"}


def test_colab_workflow_runs_the_labs_in_the_colab_image_like_the_colab_cell():
    workflow = load(COLAB)
    assert "workflow_dispatch" in workflow["on"]
    cron = workflow["on"]["schedule"][0]["cron"]
    assert len(cron.split()) == 5
    assert workflow["env"]["COLAB_IMAGE"].startswith(
        "us-docker.pkg.dev/colab-images/public/runtime")
    run = "\n".join(run_blocks(workflow))
    # The labs' own Colab cell installs the package (scripts/colab_cell.py), from a wheel of
    # the checkout, with Colab's torch left alone (checked before and after).
    wheel = run.index("pip wheel -q --no-deps -w dist .")
    assert wheel < run.index("scripts/colab_cell.py --wheel dist/faceleak-")
    assert "pip install -q -e ." not in run
    assert "installing the package changed Colab torch" in run
    assert "scripts/run_labs.py --mode quick" in run and "labs/*.ipynb" in run
    assert "FACELEAK_MODE=quick" in run
    assert '"$COLAB_IMAGE"' in run


def test_colab_cell_runner_installs_the_given_wheel_with_the_labs_own_cell(tmp_path):
    colab_cell, sync = load_script("colab_cell"), load_script("sync_notebooks")
    wheel = tmp_path / "faceleak-9.9.9-py3-none-any.whl"
    cell = colab_cell.cell_for_wheel(wheel)
    setup, release = sync.setup_source(), sync.release_wheel_url()
    # The cell is the labs' cell, with the release URL (only) swapped for the wheel.
    assert cell == setup.replace(release, wheel.resolve().as_uri())
    assert release not in cell and "--no-deps facenet-pytorch==" in cell
    url = "https://example.org/x.whl"
    assert colab_cell.cell_for_wheel(url).count(url) == 1


def test_colab_cell_stops_and_says_what_to_do_when_the_release_is_missing(tmp_path):
    """The fast half of tests/test_colab_install.py (slow: it installs into a fresh venv):
    the labs' own cell, run as on Colab, against a release that does not exist."""
    colab_cell = load_script("colab_cell")
    missing = colab_cell.cell_for_wheel(tmp_path / "faceleak-0.0.0-py3-none-any.whl")
    proc = colab_cell.run_cell(sys.executable, missing, tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "CELL-ERROR: RuntimeError: Release v" in proc.stdout, proc.stdout
    assert "@main" in proc.stdout and "%pip install" in proc.stdout  # what to run instead
    assert "Successfully installed" not in proc.stdout + proc.stderr  # nothing was installed


def test_release_workflow_attaches_the_checked_wheel_to_the_tag_release():
    workflow = load(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v*.*.*"]}}
    job = workflow["jobs"]["release"]
    assert job["permissions"] == {"contents": "write"}
    assert workflow["permissions"] == {"contents": "read"}
    run = "\n".join(run_blocks(workflow))
    # The tag must be the version of pyproject.toml, and the labs synced to it.
    assert '"$GITHUB_REF_NAME" != "v$version"' in run
    assert "scripts/sync_notebooks.py --check" in run
    # Built, then checked (resources in the wheel), then attached: in that order.
    built, checked = run.index("python -m build --outdir dist"), run.index(
        "scripts/release.py --check-dist dist")
    assert built < checked < run.index("gh release create")
    assert checked < run.index("gh release upload")
    assert "dist/*" in run
    # What the release attaches is the file the labs' first cell installs.
    sync = load_script("sync_notebooks")
    wheel = sync.release_wheel_url().rsplit("/", 1)[1]
    version = sync.package_version()
    assert wheel == load_script("release").wheel_name(version)
    assert "releases/download/$GITHUB_REF_NAME/faceleak-$VERSION-py3-none-any.whl" in run


def test_make_release_needs_a_version_and_calls_the_script():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "-W", ".venv/.installed", "release",
                           "VERSION=9.8.7"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert 'scripts/release.py "9.8.7"' in proc.stdout
    proc = subprocess.run(["make", "-s", "-o", ".venv/.installed", "release"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "usage: make release VERSION=x.y.z" in proc.stdout


def test_make_dry_run_accepts_the_targets_the_workflows_call():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "check-site", "TORCH_SPEC=torch"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "scripts/vendor_assets.py" in proc.stdout
    assert "jupyter-book build" in proc.stdout
    assert "scripts/check_site.py --browser require" in proc.stdout
    assert "scripts/check_repo.py" in proc.stdout


# --------------------------------------------------------------------------- notebook runner


def _notebook(path: Path, *sources: str, setup: str | None = None) -> Path:
    cells = [nbformat.v4.new_markdown_cell("# Lab x")]
    if setup is not None:
        cells.append(nbformat.v4.new_code_cell(setup, metadata={"tags": ["colab-setup"]}))
    cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _run_labs(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "run_labs.py"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_run_labs_executes_notebooks_in_quick_mode(tmp_path: Path):
    good = _notebook(tmp_path / "ok.ipynb",
                     "import os\nprint('mode:', os.environ['FACELEAK_MODE'])",
                     setup="raise RuntimeError('the Colab set-up cell must be skipped')")
    out = tmp_path / "executed"
    summary = tmp_path / "summary.md"
    proc = _run_labs(str(good), "--output-dir", str(out),
                     env_extra={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 notebook(s) ran; 0 failed" in proc.stdout
    executed = nbformat.read(out / "ok.ipynb", as_version=4)
    assert len(executed.cells) == 3  # the skipped set-up cell is kept, unexecuted
    assert "mode: quick" in executed.cells[2].outputs[0]["text"]
    assert "| ok.ipynb | ok |" in summary.read_text()


def test_run_labs_fails_loudly_naming_the_notebook_and_cell(tmp_path: Path):
    good = _notebook(tmp_path / "a_good.ipynb", "x = 1")
    bad = _notebook(tmp_path / "b_bad.ipynb", "y = 2", "ledger = []\nledger[3]",
                    setup="pass")
    proc = _run_labs(str(good), str(bad))
    assert proc.returncode == 1
    out = proc.stdout
    assert f"::error file={bad},title=Lab failed::{bad} failed at cell 3" in out
    assert "IndexError: list index out of range" in out
    assert "cell source starts: ledger = []" in out
    assert "1 of 2 notebook(s) ran; 1 failed" in out


def test_run_labs_with_nothing_to_run(tmp_path: Path, monkeypatch):
    module = load_script("run_labs")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    assert module.main([]) == 2


def test_run_labs_records_times_per_mode(tmp_path: Path):
    good = _notebook(tmp_path / "ok.ipynb", "import os\nprint(os.environ['FACELEAK_CACHE'])")
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('broken lab')")
    times = tmp_path / "times.json"
    times.write_text('{"full": {"labs": {"ok.ipynb": {"seconds": 12.0}}}}')
    proc = _run_labs(str(good), str(bad), "--times-json", str(times), "--fresh-cache")
    assert proc.returncode == 1
    import json

    recorded = json.loads(times.read_text())
    assert recorded["full"] == {"labs": {"ok.ipynb": {"seconds": 12.0}}}  # other mode kept
    quick = recorded["quick"]
    # Re-measuring one lab keeps the others' entries.
    again = _run_labs(str(good), "--times-json", str(times), "--fresh-cache")
    assert again.returncode == 0
    updated = json.loads(times.read_text())["quick"]["labs"]
    assert updated["bad.ipynb"] == quick["labs"]["bad.ipynb"]
    assert updated["ok.ipynb"]["seconds"] > 0
    assert quick["cache"].startswith("empty at start")
    assert quick["labs"]["ok.ipynb"]["seconds"] > 0
    assert "ValueError: broken lab" in quick["labs"]["bad.ipynb"]["failed"]
    assert quick["machine"]["cpu_count"] >= 1 and quick["machine"]["device"]
    assert "faceleak-cache-" in proc.stdout  # the kernel saw the fresh cache

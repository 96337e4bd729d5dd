"""The package's architecture, checked on the real import graph.

The folders are the layers: ``vision`` (data and recognizers) < ``privacy`` (attacks,
probes, defences) < ``experiments`` (one per chapter); ``legal`` stands apart and needs no
torch; the front-ends ``viz``, ``widgets`` and ``cli`` sit on top and nothing below imports
them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "faceleak"
FRONTENDS = ("viz", "widgets", "cli", "notebook")
#: Which top-level parts of faceleak each part may import (besides itself).
ALLOWED = {
    "root": {"root", "vision"},  # faceleak/__init__ (describe_run), config, _moved
    "vision": {"root", "vision"},
    "privacy": {"root", "vision", "privacy"},
    "experiments": {"root", "vision", "privacy", "experiments"},
    "legal": {"root", "legal"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _part(module: str) -> str:
    """``faceleak.vision.data`` -> ``vision``; modules directly in faceleak -> ``root``."""
    parts = module.split(".")
    if module == "faceleak.__main__":
        return "cli"  # ``python -m faceleak`` is the command line
    if module == "faceleak.notebook":
        return "notebook"  # what the labs share around their cells
    return parts[1] if len(parts) > 1 and (SRC / parts[1]).is_dir() else "root"


def _static_imports(module: str) -> set[str]:
    """faceleak modules that ``module`` imports anywhere in its code (function bodies too)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{module}: relative import; use absolute faceleak.* imports")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("faceleak"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("faceleak")}
    return {m for m in found if m in MODULES and m != module}


GRAPH = {m: _static_imports(m) for m in MODULES}


def _imports_after(module: str, setup: str = "") -> set[str]:
    code = (f"{setup}\nimport sys, importlib\nimportlib.import_module('{module}')\n"
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_folders_are_the_layers():
    assert {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == {
        "vision", "privacy", "experiments", "legal", "viz", "widgets", "cli"}
    # Directly in faceleak: the package, its entry point, the run settings, the labs' helper
    # and the 0.1 aliases.
    assert {p.name for p in SRC.glob("*.py")} == {"__init__.py", "__main__.py", "config.py",
                                                  "notebook.py", "_moved.py"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) in ALLOWED))
def test_each_layer_imports_only_those_below(module):
    bad = sorted(d for d in GRAPH[module] if _part(d) not in ALLOWED[_part(module)])
    assert not bad, f"{module} ({_part(module)}) imports {bad}"


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return circles


def test_no_import_circles():
    assert not _circles(GRAPH), f"import circles: {_circles(GRAPH)}"


def test_the_circle_check_can_fail():
    assert "faceleak.vision.data" in GRAPH["faceleak.vision.embed"]  # the graph has edges
    planted = {**GRAPH, "faceleak.vision.data": {*GRAPH["faceleak.vision.data"],
                                                  "faceleak.vision.embed"}}
    assert any({"faceleak.vision.data", "faceleak.vision.embed"} <= set(c)
               for c in _circles(planted))
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", ["faceleak.vision.data", "faceleak.experiments.leakage",
                                    "faceleak.privacy.defenses", "faceleak"])
def test_core_never_loads_a_frontend(module):
    loaded = _imports_after(module)
    bad = sorted(m for m in loaded if m.startswith("faceleak.") and _part(m) in FRONTENDS)
    assert not bad, f"{module} loads {bad}"


def test_data_never_imports_a_model():
    loaded = _imports_after("faceleak.vision.data")
    assert "torch" not in loaded and "faceleak.vision.models" not in loaded


@pytest.mark.parametrize("module", ["faceleak.legal.tos", "faceleak.legal.risk"])
def test_legal_imports_without_torch(module):
    blocker = ("import sys\nclass _Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name == 'torch' or name.startswith('torch.'):\n"
               "            raise ImportError('torch is blocked in this test')\n"
               "sys.meta_path.insert(0, _Block())")
    loaded = _imports_after(module, setup=blocker)
    assert "torch" not in loaded


def test_old_paths_warn_and_give_the_same_module():
    code = ("import warnings, importlib\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import faceleak.viz_leakage as old\n"
            "    from faceleak import reproduce, inversion\n"
            "import faceleak.viz.leakage as new\n"
            "from faceleak.experiments import inversion as exp_inv\n"
            "from faceleak.privacy import attacks\n"
            "assert old is new\n"
            "assert reproduce.reproduce_leakage.__module__ == 'faceleak.experiments.leakage'\n"
            "assert inversion.run_inversion is exp_inv.run_inversion\n"
            "assert inversion.sample_gan is attacks.sample_gan\n"
            "print(len(caught), caught[0].category.__name__, caught[0].filename)\n"
            "print(caught[0].message)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    count, category, filename = out[0].split()
    assert int(count) == 3 and category == "DeprecationWarning"
    assert filename == "<string>"  # the warning points at the importing code
    assert "faceleak.viz_leakage moved to faceleak.viz.leakage" in out[1]


def test_the_course_uses_the_new_paths():
    """Labs, chapters, scripts, tests and the README never import through a 0.1 alias."""
    sys.path.insert(0, str(SRC.parent))
    try:
        from faceleak import _moved
    finally:
        sys.path.pop(0)
    old = sorted({*_moved.MOVED, *_moved.SPLIT}, key=len, reverse=True)
    dotted = re.compile(rf"\bfaceleak\.({'|'.join(old)})\b")
    from_import = re.compile(rf"from faceleak import [\w, ]*\b({'|'.join(old)})\b")
    files = [*ROOT.glob("labs/*.ipynb"), *ROOT.glob("book/**/*.md"), *ROOT.glob("scripts/*.py"),
             *ROOT.glob("tests/*.py"), ROOT / "README.md", *SRC.rglob("*.py")]
    hits = []
    for path in files:
        if path.name in ("_moved.py", "test_structure.py"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if dotted.search(line) or from_import.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:90]}")
    assert not hits, "old import paths:\n" + "\n".join(hits)


#: Functions allowed to be long because they are declarative: a widget's layout, a figure's
#: panels. Everything else stays short enough to read at once.
DECLARATIVE = {"faceleak.widgets.risk.scorecard_widget", "faceleak.widgets.pair_explorer",
               "faceleak.viz.risk.plot_scorecard"}
MAX_BODY_LINES = 70


def _function_lengths() -> dict[str, int]:
    """Lines of each function's body, its docstring excluded."""
    lengths = {}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                           and isinstance(body[0].value.value, str) and len(body) > 1)
                start = body[1 if has_doc else 0].lineno
                lengths[f"{module}.{node.name}"] = node.end_lineno - start + 1
    return lengths


def test_no_function_is_a_god_function():
    lengths = _function_lengths()
    assert lengths["faceleak.experiments.inversion.run_inversion"] < 40  # the check sees it
    long = {name: n for name, n in lengths.items()
            if n > MAX_BODY_LINES and name not in DECLARATIVE}
    assert not long, f"split these into phases: {long}"

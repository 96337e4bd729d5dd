"""The package's layering rules, checked on the real import graph."""

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "faceleak"
FRONTEND = {"viz", "widgets", "cli", "__main__"}


def _imports_after(module: str, setup: str = "") -> set[str]:
    code = (f"{setup}\nimport sys, importlib\nimportlib.import_module('faceleak.{module}')\n"
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _modules():
    return sorted(p.stem for p in SRC.glob("*.py") if p.stem != "__main__")


def _is_frontend(name: str) -> bool:
    return name in FRONTEND or name.startswith(("viz_", "widgets_", "cli_"))


@pytest.mark.parametrize("module", [m for m in _modules() if not _is_frontend(m)])
def test_core_never_imports_frontend(module):
    loaded = _imports_after(module)
    bad = sorted(m for m in loaded if m.startswith("faceleak.")
                 and _is_frontend(m.split(".", 1)[1]))
    assert not bad, f"faceleak.{module} imports {bad}"


def test_data_never_imports_a_model():
    loaded = _imports_after("data")
    assert "torch" not in loaded and "faceleak.models" not in loaded


@pytest.mark.parametrize("module", ["tos", "risk"])
def test_tos_and_risk_import_without_torch(module):
    if not (SRC / f"{module}.py").exists():
        pytest.skip(f"faceleak.{module} is not written yet")
    blocker = ("import sys\nclass _Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name == 'torch' or name.startswith('torch.'):\n"
               "            raise ImportError('torch is blocked in this test')\n"
               "sys.meta_path.insert(0, _Block())")
    loaded = _imports_after(module, setup=blocker)
    assert "torch" not in loaded

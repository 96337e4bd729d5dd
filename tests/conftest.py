"""Shared fixtures. No test touches the network."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")
# The tests' probe problems are small: starting worker processes for them
# (faceleak.privacy.probes.score_many) would cost more than it saves. The test that compares
# workers with none sets its own value.
os.environ.setdefault("FACELEAK_PROBE_WORKERS", "1")


def load_script(name: str):
    """Import ``scripts/<name>.py`` as a module (the scripts are not a package).

    The module is registered in ``sys.modules`` before it runs, which dataclasses need.
    """
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail any test that tries to open a network connection (local files are fine)."""

    def guard(*args, **kwargs):
        raise RuntimeError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket, "create_connection", guard)


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    """An empty private FACELEAK_CACHE for one test."""
    monkeypatch.setenv("FACELEAK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_pgm(path: Path, pixels: np.ndarray, truncate: int = 0) -> Path:
    """Write a binary PGM (optionally dropping `truncate` bytes from its end)."""
    h, w = pixels.shape
    payload = f"P5\n{w} {h}\n255\n".encode() + pixels.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload[: len(payload) - truncate] if truncate else payload)
    return path


@pytest.fixture()
def tiny_yale(tmp_path: Path) -> Path:
    """A synthetic CroppedYale folder with the real set's kinds of defects.

    Two subjects x three lights at 192x168; subject 2's listing names pose P01 (wrong) and
    one file that is missing; subject 1 has an uncropped 480x640 ambient image.
    """
    rng = np.random.default_rng(0)
    root = tmp_path / "CroppedYale"
    lights = ["A+000E+00", "A-035E+20", "A+070E-35"]
    for s in ("yaleB01", "yaleB02"):
        for light in lights:
            write_pgm(root / s / f"{s}_P00{light}.pgm", rng.integers(0, 255, (192, 168)))
    write_pgm(root / "yaleB01" / "yaleB01_P00_Ambient.pgm", rng.integers(0, 255, (480, 640)))
    write_pgm(root / "yaleB02" / "yaleB02_P00_Ambient.pgm", rng.integers(0, 255, (192, 168)))
    (root / "yaleB01" / "yaleB01_P00.info").write_text(
        "\n".join(["yaleB01_P00_Ambient.pgm"] + [f"yaleB01_P00{x}.pgm" for x in lights]) + "\n")
    (root / "yaleB02" / "yaleB02_P00.info").write_text(
        "\n".join(f"yaleB02_P01{x}.pgm" for x in [*lights, "A+110E+65"]) + "\n")
    return root

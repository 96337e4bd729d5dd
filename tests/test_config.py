import random

import numpy as np
import pytest
import torch

from faceleak import config


def test_mode_from_environment(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "FULL")
    assert config.run_mode() == "full"
    monkeypatch.setenv(config.MODE_ENV, "quick")
    assert config.run_mode() == "quick"


def test_mode_default_follows_cuda(monkeypatch):
    monkeypatch.delenv(config.MODE_ENV, raising=False)
    monkeypatch.setattr(config, "cuda_available", lambda: False)
    assert config.run_mode() == "quick"
    monkeypatch.setattr(config, "cuda_available", lambda: True)
    assert config.run_mode() == "full"


def test_invalid_mode_says_what_to_do(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "fast")
    with pytest.raises(config.ConfigError, match="quick, full"):
        config.run_mode()


def test_explicit_mode_wins_over_environment(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "full")
    assert config.run_mode("quick") == "quick"


def test_device_refuses_cuda_without_gpu(monkeypatch):
    monkeypatch.setattr(config, "cuda_available", lambda: False)
    monkeypatch.delenv(config.DEVICE_ENV, raising=False)
    assert config.device() == "cpu"
    with pytest.raises(config.ConfigError, match="no CUDA GPU"):
        config.device("cuda")


def test_seed_everything_repeats_draws():
    config.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    config.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    assert a == b
    with pytest.raises(config.ConfigError):
        config.seed_everything(-1)


def test_cache_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()
    monkeypatch.delenv(config.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.cache_dir() == tmp_path / "xdg" / "faceleak"


def test_settings_are_the_same_code_at_two_sizes():
    quick, full = config.settings("quick"), config.settings("full")
    assert quick.mode == "quick" and full.mode == "full"
    assert quick.n_heldout_subjects == full.n_heldout_subjects == 10


def test_progress_bars_can_be_switched_off(monkeypatch):
    monkeypatch.delenv("FACELEAK_PROGRESS", raising=False)
    assert config.progress_bars_enabled()
    for off in ("0", "false", "OFF"):
        monkeypatch.setenv("FACELEAK_PROGRESS", off)
        assert not config.progress_bars_enabled()
    monkeypatch.setenv("FACELEAK_PROGRESS", "1")
    assert config.progress_bars_enabled()

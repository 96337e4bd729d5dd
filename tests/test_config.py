import random
from pathlib import Path

import numpy as np
import pytest
import torch

from faceleak import config


def test_mode_from_environment(monkeypatch):
    monkeypatch.setenv(config.MODE_ENV, "FULL")
    assert config.run_mode() == "full"
    monkeypatch.setenv(config.MODE_ENV, "quick")
    assert config.run_mode() == "quick"


def test_mode_default_is_quick_even_on_a_gpu(monkeypatch):
    # Full mode has not run end to end on a GPU yet: it is opt-in everywhere.
    monkeypatch.delenv(config.MODE_ENV, raising=False)
    monkeypatch.setattr(config, "cuda_available", lambda: False)
    assert config.run_mode() == "quick"
    monkeypatch.setattr(config, "cuda_available", lambda: True)
    assert config.run_mode() == "quick"
    monkeypatch.setenv(config.MODE_ENV, "  ")
    assert config.run_mode() == "quick"
    monkeypatch.setenv(config.MODE_ENV, "full")
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


def test_display_path_names_the_root(monkeypatch, tmp_path):
    home = tmp_path / "home" / "someone"
    monkeypatch.setenv("HOME", str(home))
    for name in ("FACELEAK_CACHE", "FACELEAK_DATA", "TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert config.display_path(home / ".cache" / "faceleak") == "~/.cache/faceleak"
    shared = tmp_path / "repo" / "shared" / "data" / "extended_yale_b" / "CroppedYale"
    assert config.display_path(shared) == ".../shared/data/extended_yale_b/CroppedYale"
    package = Path(config.__file__).resolve().parent / "resources" / "x.pt"
    assert config.display_path(package) == "<faceleak package>/resources/x.pt"
    # The most specific root wins: $FACELEAK_CACHE under the home folder.
    monkeypatch.setenv("FACELEAK_CACHE", str(home / "c"))
    assert config.display_path(home / "c" / "w.pt") == "$FACELEAK_CACHE/w.pt"
    assert config.display_path(home / "c") == "$FACELEAK_CACHE"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    assert config.display_path(tmp_path / "t" / "checkpoints") == "$TORCH_HOME/checkpoints"
    # Outside every named root the path is shown as it is.
    assert config.display_path(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")


def test_describe_run_prints_no_build_machine_path(monkeypatch, tmp_path):
    import faceleak
    from faceleak.vision import data

    home = tmp_path / "home" / "builder"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv(config.CACHE_ENV, str(tmp_path / "ci-cache" / "faceleak"))
    monkeypatch.delenv(config.MODE_ENV, raising=False)
    text = faceleak.describe_run(backbone="b")
    assert str(tmp_path) not in text
    assert "cache: $FACELEAK_CACHE" in text and "mode: quick" in text
    assert "expected time" not in text  # only full mode prints it
    # Each data source is named by its root, not by the build machine's folder.
    shared = data.DataSource("shared", tmp_path / "r" / "shared" / "data" / "extended_yale_b"
                             / "CroppedYale")
    assert shared.describe() == ("full set from the shared folder "
                                 ".../shared/data/extended_yale_b/CroppedYale")
    env = data.DataSource("env", tmp_path / "mine" / "CroppedYale")
    assert env.describe() == "full set from $FACELEAK_DATA (a CroppedYale folder)"
    monkeypatch.delenv(config.CACHE_ENV)
    assert "cache: ~/.cache/faceleak" in faceleak.describe_run()


def test_full_mode_prints_the_expected_time(monkeypatch, tmp_path):
    import json

    import faceleak

    times = tmp_path / "lab_times.json"
    times.write_text(json.dumps({"full": {
        "machine": {"cpu_count": 2, "device": "CPU only"},
        "labs": {"00_setup.ipynb": {"seconds": 4.9, "measured_utc": "2026-11-23 04:59"},
                 "03_inversion.ipynb": {"seconds": 754.0, "measured_utc": "2026-11-24"}}}}))
    assert faceleak.expected_time("00_setup", times=times).startswith("5 s, measured 2026-11")
    assert faceleak.expected_time("03_inversion.ipynb", times=times).startswith("12.6 min")
    assert faceleak.expected_time("02_leakage.ipynb", times=times) == "not measured"
    monkeypatch.setattr(faceleak, "lab_times_file", lambda: None)
    assert faceleak.expected_time("00_setup.ipynb").startswith("not measured here")
    monkeypatch.delenv("FACELEAK_LAB", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert "set FACELEAK_LAB" in faceleak.expected_time()
    monkeypatch.setenv("JPY_SESSION_NAME", "/x/labs/02_leakage.ipynb")
    assert faceleak.current_lab() == "02_leakage.ipynb"
    monkeypatch.setenv("FACELEAK_LAB", "04_defences.ipynb")
    text = faceleak.describe_run(mode="full")
    assert "mode: full" in text
    assert "expected time (full mode): not measured here" in text


def test_the_labs_of_this_repository_say_not_measured_in_full_mode():
    import faceleak

    # No GPU has run Labs 1-4 in full mode yet: their expected time must say so.
    root = Path(__file__).resolve().parents[1]
    times = root / "book" / "measurements" / "lab_times.json"
    for lab in ("01_embeddings", "02_leakage", "03_inversion", "04_defences"):
        assert faceleak.expected_time(lab, times=times) == "not measured"

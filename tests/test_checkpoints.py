"""The checkpoint store: one resolution order (cache, package, make) and safe reading."""

from __future__ import annotations

import pytest
import torch

from faceleak.vision import checkpoints
from faceleak.vision.checkpoints import WeightsError

FORMAT = "faceleak-test/1"


def _ckpt(key: str, value: float = 1.0) -> dict:
    return {"format": FORMAT, "key": key, "note": "made",
            "state_dict": {"w": torch.tensor([value])}}


def _read(path):
    return checkpoints.read_checkpoint_file(path, FORMAT, "delete it.")


def test_cache_then_package_then_make(tmp_path):
    cache, packaged = tmp_path / "cache" / "k.pt", tmp_path / "pkg" / "k.pt"
    made = []

    def make():
        made.append(1)
        return _ckpt("k", 3.0)

    # Nothing anywhere: made, saved in the cache.
    ckpt, meta = checkpoints.resolve_checkpoint("k", cache, packaged, _read, make, "w", "r")
    assert made == [1] and meta["origin"] == "trained now" and cache.is_file()
    assert "state_dict" not in meta and meta["note"] == "made" and meta["abspath"] == str(cache)
    # Now from the cache, without making again.
    ckpt, meta = checkpoints.resolve_checkpoint("k", cache, packaged, _read, make, "w", "r")
    assert made == [1] and meta["origin"] == "cache" and ckpt["state_dict"]["w"].item() == 3.0
    # A package copy is used when the cache has none; one with another key is ignored.
    cache.unlink()
    checkpoints.save_checkpoint(_ckpt("k", 5.0), packaged)
    ckpt, meta = checkpoints.resolve_checkpoint("k", cache, packaged, _read, make, "w", "r")
    assert meta["origin"] == "package" and ckpt["state_dict"]["w"].item() == 5.0
    checkpoints.save_checkpoint(_ckpt("stale", 7.0), packaged)
    ckpt, meta = checkpoints.resolve_checkpoint("k", cache, packaged, _read, make, "w", "r")
    assert made == [1, 1] and meta["origin"] == "trained now"


def test_nothing_matches_and_making_is_not_allowed(tmp_path):
    with pytest.raises(WeightsError, match="No trained thing for key k .* do this"):
        checkpoints.resolve_checkpoint("k", tmp_path / "k.pt", None, _read, None,
                                       "trained thing", "do this")


def test_a_made_checkpoint_must_carry_the_key(tmp_path):
    with pytest.raises(RuntimeError, match="expected k"):
        checkpoints.resolve_checkpoint("k", tmp_path / "k.pt", None, _read,
                                       lambda: _ckpt("other"), "w", "r")
    assert not (tmp_path / "k.pt").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"\n<!DOCTYPE html><html>Not found</html>", "is a web page, not a checkpoint"),
    (b"PK\x03\x04", "not a readable checkpoint .*truncated, corrupt"),
])
def test_an_html_page_or_a_truncated_file_is_refused_with_a_remedy(tmp_path, content, message):
    path = tmp_path / "k.pt"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=f"{message}.*delete it") as caught:
        checkpoints.resolve_checkpoint("k", path, None, _read, None, "w", "r")
    assert "weights_only=False" not in str(caught.value)  # never advise running the file


def test_another_format_is_refused(tmp_path):
    path = checkpoints.save_checkpoint({"format": "other/1", "key": "k", "state_dict": {}},
                                       tmp_path / "k.pt")
    with pytest.raises(WeightsError, match="not a faceleak-test/1 checkpoint"):
        _read(path)


def test_save_is_atomic_and_half_keeps_integers(tmp_path):
    ckpt = {"format": FORMAT, "key": "k",
            "state_dict": {"w": torch.tensor([1.5]), "n": torch.tensor([3])}}
    path = checkpoints.save_checkpoint(ckpt, tmp_path / "deep" / "k.pt", half=True)
    loaded = _read(path)
    assert loaded["state_dict"]["w"].dtype == torch.float16
    assert loaded["state_dict"]["n"].dtype == torch.int64
    assert not list(path.parent.glob("*.tmp"))

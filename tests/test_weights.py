"""The real facenet loading code, exercised with checkpoints made locally (no network)."""

import hashlib
import os

import pytest
import torch

from faceleak.vision import compat, models


@pytest.fixture()
def torch_home(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("FACELEAK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "torch"


@pytest.fixture(scope="module")
def casia_state_dict():
    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    net = InceptionResnetV1(pretrained=None, classify=True, num_classes=10575)
    return net.state_dict()


def test_checkpoint_path_is_facenets_cache(torch_home):
    path = models.facenet_checkpoint_path("vggface2")
    assert path == torch_home / "checkpoints" / "20180402-114759-vggface2.pt"


def test_absent_weights_give_a_clear_error(torch_home):
    with pytest.raises(models.WeightsError) as err:
        models.load_facenet("vggface2", download=False)
    message = str(err.value)
    # Where to put the file, named from its root as the reader's own run shows it (this
    # message is printed in a published lab): here the test's TORCH_HOME.
    assert "put it at $TORCH_HOME/checkpoints/20180402-114759-vggface2.pt" in message
    assert str(torch_home) not in message
    assert "github.com/timesler/facenet-pytorch" in message


def test_failed_download_gives_the_same_clear_error(torch_home):
    with pytest.raises(models.WeightsError, match="Download failed"):
        models.load_facenet("vggface2", download=True)  # the network is blocked in tests


def test_unknown_weights_name():
    with pytest.raises(ValueError, match="casia-webface"):
        models.load_facenet("imagenet")


def test_local_checkpoint_loads_and_is_pinned(torch_home, casia_state_dict):
    path = models.facenet_checkpoint_path("casia-webface")
    path.parent.mkdir(parents=True)
    torch.save(casia_state_dict, path)
    model = models.load_facenet("casia-webface", device="cpu")
    assert not model.training
    with torch.no_grad():
        emb = model(torch.rand(1, 3, 160, 160))
    assert emb.shape == (1, 512)
    assert torch.equal(model.last_linear.weight, casia_state_dict["last_linear.weight"])
    # The file's SHA-256 was pinned on first use: a changed file is now refused.
    torch.save({k: v + 1 if v.is_floating_point() else v for k, v in casia_state_dict.items()},
               path)
    with pytest.raises(models.WeightsError, match="SHA-256"):
        models.load_facenet("casia-webface")


def test_published_hash_is_enforced(torch_home, casia_state_dict):
    """A locally made file under the VGGFace2 name is not the published checkpoint."""
    path = models.facenet_checkpoint_path("vggface2")
    path.parent.mkdir(parents=True)
    torch.save(casia_state_dict, path)
    with pytest.raises(models.WeightsError, match="expected 281cebca"):
        models.load_facenet("vggface2")


def _pin(monkeypatch, name, path):
    info = models.FACENET_WEIGHTS[name]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(models.FACENET_WEIGHTS, name,
                        models.FacenetWeights(info.name, info.url, info.num_classes, digest))


def test_html_page_saved_as_weights(torch_home, monkeypatch):
    path = models.facenet_checkpoint_path("vggface2")
    path.parent.mkdir(parents=True)
    path.write_text("<!DOCTYPE html><html><body>Rate limit exceeded</body></html>")
    _pin(monkeypatch, "vggface2", path)  # even with a matching hash, it must not load
    with pytest.raises(models.WeightsError, match="not a loadable torch checkpoint"):
        models.load_facenet("vggface2")


def test_corrupt_checkpoint(torch_home, monkeypatch, casia_state_dict):
    path = models.facenet_checkpoint_path("vggface2")
    path.parent.mkdir(parents=True)
    torch.save(casia_state_dict, path)
    path.write_bytes(path.read_bytes()[:100_000])  # truncated download
    _pin(monkeypatch, "vggface2", path)
    with pytest.raises(models.WeightsError, match="delete it and download"):
        models.load_facenet("vggface2")


def test_wrong_architecture_is_rejected(torch_home, monkeypatch, casia_state_dict):
    path = models.facenet_checkpoint_path("vggface2")
    path.parent.mkdir(parents=True)
    torch.save(casia_state_dict, path)  # 10575 classes, not VGGFace2's 8631
    _pin(monkeypatch, "vggface2", path)
    with pytest.raises(models.WeightsError, match="does not fit"):
        models.load_facenet("vggface2")


def test_pickled_code_is_refused(torch_home, monkeypatch):
    """weights_only=True: a checkpoint that would run code on load is rejected."""
    path = models.facenet_checkpoint_path("vggface2")
    path.parent.mkdir(parents=True)
    torch.save({"payload": os.system}, path)  # a callable global, as in malicious pickles
    _pin(monkeypatch, "vggface2", path)
    with pytest.raises(models.WeightsError, match="not a loadable"):
        models.load_facenet("vggface2")

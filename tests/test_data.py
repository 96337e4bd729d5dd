import json
import zipfile

import numpy as np
import pytest

from conftest import write_pgm
from faceleak.vision import data

# ---------------------------------------------------------------- parsing names and files

@pytest.mark.parametrize(
    "name, expected",
    [
        ("yaleB01_P00A+035E-20.pgm", ("yaleB01", "P00", 35, -20)),
        ("yaleB39_P00A-130E+20.pgm", ("yaleB39", "P00", -130, 20)),
        ("yaleB16_P01A+000E+90.pgm", ("yaleB16", "P01", 0, 90)),
        ("yaleB05_P00_Ambient.pgm", ("yaleB05", "P00", None, None)),
    ],
)
def test_parse_name(name, expected):
    rec = data.parse_name(name)
    assert (rec.subject, rec.pose, rec.azimuth, rec.elevation) == expected


@pytest.mark.parametrize("name", ["yaleB01_P00.info", "notes.txt", "yaleB01_P00A+35E-20.pgm",
                                  "yaleB01_P00A+035E-20.png"])
def test_parse_name_rejects_other_files(name):
    assert data.parse_name(name) is None


def test_read_pgm_roundtrip_and_comment(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "a.pgm"
    path.write_bytes(b"P5\n# a comment\n4 3\n255\n" + pixels.tobytes())
    np.testing.assert_array_equal(data.read_pgm(path), pixels)
    assert data.pgm_size(path) == (3, 4)


def test_truncated_pgm_names_the_file(tmp_path):
    path = write_pgm(tmp_path / "cut.pgm", np.zeros((10, 10)), truncate=7)
    with pytest.raises(data.CorruptImageError, match="cut.pgm: truncated: 93 of 100"):
        data.read_pgm(path)


@pytest.mark.parametrize("payload, reason", [
    (b"", "not a binary PGM"),
    (b"GIF89a....", "not a binary PGM"),
    (b"P5\n12", "header is incomplete"),
    (b"P5\n0 4\n255\n", "impossible values"),
])
def test_broken_headers(tmp_path, payload, reason):
    path = tmp_path / "bad.pgm"
    path.write_bytes(payload)
    with pytest.raises(data.CorruptImageError, match=reason):
        data.read_pgm(path)


# ---------------------------------------------------------------- scanning a synthetic folder

def test_scan_reports_each_kind_of_defect(tiny_yale):
    records, report = data.scan_folder(tiny_yale)
    assert report.n_subjects == 2 and report.n_lit == 6 and report.n_ambient == 2
    assert report.ambient_uncropped == ["yaleB01/yaleB01_P00_Ambient.pgm (480x640)"]
    assert report.wrong_pose_listings == ["yaleB02_P00.info"]
    # The wrong-pose listing is read as P00: only the truly absent file is missing.
    assert report.listed_missing == ["yaleB02/yaleB02_P00A+110E+65.pgm"]
    assert report.unlisted == ["yaleB02/yaleB02_P00_Ambient.pgm"]
    assert "P01" in report.summary() and "missing: yaleB02" in report.summary()
    assert len(records) == 8


def test_load_faces_keeps_ambient_apart(tiny_yale):
    src = data.DataSource("env", tiny_yale)
    lit = data.load_faces((64, 56), source=src)
    assert lit.images.shape == (6, 64, 56) and lit.images.dtype == np.float32
    assert lit.images.min() >= 0.0 and lit.images.max() <= 1.0
    assert not np.isnan(lit.azimuth).any()
    ambient = data.load_faces((64, 56), kind="ambient", source=src)
    assert ambient.names.tolist() == ["yaleB02_P00_Ambient.pgm"]  # the 480x640 one is not used
    assert np.isnan(ambient.azimuth).all()


def test_corrupt_image_is_reported_and_excluded(tiny_yale):
    write_pgm(tiny_yale / "yaleB01" / "yaleB01_P00A+000E+00.pgm", np.zeros((192, 168)),
              truncate=100)
    src = data.DataSource("env", tiny_yale)
    with pytest.warns(UserWarning, match="yaleB01_P00A\\+000E\\+00.pgm"):
        faces = data.load_faces((32, 28), source=src)
    assert len(faces) == 5
    assert len(faces.report.corrupt) == 1 and "truncated" in faces.report.corrupt[0]
    assert "corrupt images (excluded): 1" in faces.report.summary()
    with pytest.raises(data.CorruptImageError, match="yaleB01_P00A"):
        data.load_faces((32, 28), source=src, on_corrupt="raise")


def test_unknown_subject_and_bad_size_are_clear(tiny_yale):
    src = data.DataSource("env", tiny_yale)
    with pytest.raises(data.DataError, match="yaleB99"):
        data.load_faces(subjects=["yaleB99"], source=src)
    with pytest.raises(ValueError, match="image_size"):
        data.load_faces((4, 4), source=src)


# ---------------------------------------------------------------- locating

def test_env_var_must_point_at_croppedyale(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    with pytest.raises(data.DataError, match="not a CroppedYale folder"):
        data.locate_data()


def test_env_var_wins(monkeypatch, tiny_yale):
    monkeypatch.setenv(data.DATA_ENV, str(tiny_yale))
    assert data.locate_data().kind == "env"


def test_embedded_copy_is_always_available(monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    src = data.locate_data(prefer="compact")
    assert src.kind == "compact" and src.path.stat().st_size < 12 * 1024 * 1024


def test_compact_copy_refuses_larger_images():
    with pytest.raises(data.DataError, match="needs the full set"):
        data.load_faces((128, 112), source=data.locate_data(prefer="compact"))


# ---------------------------------------------------------------- the real dataset

@pytest.fixture(scope="module")
def real_faces():
    return data.load_faces(source=data.locate_data(prefer="compact"))


def test_real_dataset_counts_and_quirks(real_faces):
    report = real_faces.report
    assert report.n_subjects == 38 and report.n_lit == 2414 == len(real_faces)
    assert len(report.listed_missing) == 18
    assert report.wrong_pose_listings == ["yaleB16_P00.info"]
    assert len(report.ambient_uncropped) == 28
    assert report.corrupt == []
    assert real_faces.azimuth.min() == -130 and real_faces.azimuth.max() == 130
    assert set(np.unique(real_faces.elevation)) >= {-40, 0, 90}


def test_full_set_matches_compact_copy_exactly(real_faces):
    try:
        shared = data.locate_data(prefer="shared")
    except data.DataError:
        pytest.skip("no shared/ copy of the full dataset beside this checkout")
    full = data.load_faces(subjects=["yaleB01", "yaleB11"], source=shared)
    compact = real_faces.subset(np.isin(real_faces.subjects, ["yaleB01", "yaleB11"]))
    assert full.names.tolist() == compact.names.tolist()
    np.testing.assert_array_equal(full.images, compact.images)
    # A manifest of the real files matches the one shipped with the package.
    manifest = data.load_manifest()
    sample = sorted(manifest)[:5]
    for key in sample:
        assert data.sha256_file(shared.path / key) == manifest[key]


def test_compact_zip_carries_citation_and_report():
    with zipfile.ZipFile(data.locate_data(prefer="compact").path) as archive:
        readme = archive.read("README.txt").decode()
        report = json.loads(archive.read("report.json"))
    assert "Georghiades" in readme and "Lee" in readme
    assert report["n_lit"] == 2414


def test_find_by_light(real_faces):
    i = real_faces.find("yaleB01", 35, -20)
    assert real_faces.names[i] == "yaleB01_P00A+035E-20.pgm"
    with pytest.raises(KeyError, match="no image"):
        real_faces.find("yaleB11", 95, 0)  # one of the real missing images


# ---------------------------------------------------------------- splits

def test_split_is_subject_disjoint_and_seeded(real_faces):
    a = data.split_subjects(real_faces.subjects, n_heldout=10, seed=3)
    b = data.split_subjects(real_faces.subjects, n_heldout=10, seed=3)
    c = data.split_subjects(real_faces.subjects, n_heldout=10, seed=4)
    assert a == b and a.heldout != c.heldout
    assert len(a.heldout) == 10 and len(a.train) == 28
    assert not set(a.train) & set(a.heldout)
    train, held = a.masks(real_faces.subjects)
    assert not (train & held).any() and (train | held).all()
    assert set(real_faces.subjects[held]) == set(a.heldout)


def test_explicit_heldout_list():
    split = data.split_subjects(["yaleB01", "yaleB02", "yaleB03"], heldout=["yaleB02"])
    assert split.heldout == ("yaleB02",) and split.train == ("yaleB01", "yaleB03")
    with pytest.raises(ValueError, match="yaleB09"):
        data.split_subjects(["yaleB01", "yaleB02"], heldout=["yaleB09"])
    with pytest.raises(ValueError, match="n_heldout"):
        data.split_subjects(["yaleB01", "yaleB02"], n_heldout=2)


def test_split_rejects_overlap():
    with pytest.raises(ValueError, match="subject-disjoint"):
        data.SubjectSplit(train=("yaleB01",), heldout=("yaleB01",), seed=None)


# ---------------------------------------------------------------- download (local file URL)

def _zip_folder(folder, zip_path):
    with zipfile.ZipFile(zip_path, "w") as archive:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                archive.write(p, p.relative_to(folder.parent))


def test_download_verifies_checksums(tiny_yale, tmp_path):
    manifest = data.build_manifest(tiny_yale)
    zip_path = tmp_path / "CroppedYale.zip"
    _zip_folder(tiny_yale, zip_path)
    out = data.download(tmp_path / "dl", url=zip_path.as_uri(), manifest=manifest,
                        archive_sha256=data.sha256_file(zip_path))
    assert out == tmp_path / "dl" / "CroppedYale"
    assert data.build_manifest(out) == manifest


def test_download_rejects_tampered_file(tiny_yale, tmp_path):
    manifest = data.build_manifest(tiny_yale)
    write_pgm(tiny_yale / "yaleB02" / "yaleB02_P00A+000E+00.pgm", np.ones((192, 168)))
    zip_path = tmp_path / "CroppedYale.zip"
    _zip_folder(tiny_yale, zip_path)
    with pytest.raises(data.ChecksumError, match="1 files differ"):
        data.download(tmp_path / "dl", url=zip_path.as_uri(), manifest=manifest)
    assert not (tmp_path / "dl" / "CroppedYale").exists()


def test_download_rejects_wrong_archive_hash_and_non_zip(tiny_yale, tmp_path):
    zip_path = tmp_path / "CroppedYale.zip"
    _zip_folder(tiny_yale, zip_path)
    with pytest.raises(data.ChecksumError, match="archive SHA-256"):
        data.download(tmp_path / "a", url=zip_path.as_uri(), manifest={}, archive_sha256="0" * 64)
    html = tmp_path / "page.zip"
    html.write_text("<html>Not found</html>")
    with pytest.raises(data.DataError, match="not a zip"):
        data.download(tmp_path / "b", url=html.as_uri(), manifest={})

"""The MTCNN detection lesson: real detector, a few images, and the cache."""

from __future__ import annotations

import numpy as np
import pytest

from faceleak.vision import data, detection


@pytest.fixture(scope="module")
def few_faces():
    faces = detection.load_for_detection(["yaleB01", "yaleB05"])
    idx = [faces.find(s, 0, 0) for s in ("yaleB01", "yaleB05")]
    idx += [faces.find(s, 130, 20) for s in ("yaleB01", "yaleB05")]
    return faces.subset(np.array(idx))


def test_detect_faces_table_and_frontal_faces_are_found(cache, few_faces):
    table = detection.detect_faces(few_faces, progress=False)
    assert list(table.columns) == ["name", "subject", "azimuth", "elevation", "setting",
                                   "detected", "probability"]
    assert len(table) == len(few_faces) * len(detection.DEFAULT_SETTINGS)
    padded = table[table["setting"] == detection.DEFAULT_SETTINGS[1].name]
    frontal = padded[(padded["azimuth"] == 0) & (padded["elevation"] == 0)]
    assert frontal["detected"].all(), "MTCNN should find a padded, frontally lit face"
    assert (table["probability"].notna() == table["detected"]).all()
    summary = detection.summarize(table)
    assert summary["all lights"].between(0, 1).all()
    assert (summary["images"] == len(few_faces)).all()


def test_detection_results_are_cached(cache, few_faces, monkeypatch):
    first = detection.detect_faces(few_faces, progress=False)

    def no_detector(*args, **kwargs):
        raise AssertionError("a cache hit must not run MTCNN")

    monkeypatch.setattr(detection, "_mtcnn", no_detector)
    second = detection.detect_faces(few_faces, progress=False)
    assert first["detected"].tolist() == second["detected"].tolist()


def test_a_black_image_has_no_face(cache, few_faces):
    dark = few_faces.subset(np.array([0]))
    dark.images = np.zeros_like(dark.images)
    table = detection.detect_faces(dark, progress=False, use_cache=False)
    assert not table["detected"].any()


def test_light_groups():
    groups = detection.light_group(np.array([0, 20, -50, 130, 0]), np.array([0, 10, 0, 0, 90]))
    assert groups.tolist() == ["frontal (<=25 deg)", "frontal (<=25 deg)",
                               "moderate (26-60 deg)", "extreme (>60 deg)",
                               "extreme (>60 deg)"]


def test_rates_by_azimuth_pools_left_and_right_light():
    import pandas as pd

    table = pd.DataFrame({"setting": ["a"] * 5, "azimuth": [0, 10, -50, 60, 130],
                          "detected": [True, False, True, False, False]})
    rates = detection.rates_by_azimuth(table)
    assert rates["azimuth"].tolist() == ["0-15", "50-70", "110-130"]
    assert rates["rate"].tolist() == [0.5, 0.5, 0.0]
    assert rates["n"].tolist() == [2, 2, 1]


def test_compact_faces_are_upsampled_for_the_detector(cache):
    faces = data.load_faces((64, 56), subjects=["yaleB01"])
    one = faces.subset(np.array([faces.find("yaleB01", 0, 0)]))
    table = detection.detect_faces(one, progress=False, use_cache=False)
    assert len(table) == 2

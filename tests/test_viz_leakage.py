"""The Chapter 2 figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from faceleak.viz import leakage as viz_leakage  # noqa: E402


def test_penalty_curves_draw_held_out_and_cv_lines_on_a_log_axis():
    rows = [{"alpha": a, "r2": r, "grouped_cv_r2": c}
            for a, r, c in ((0.1, 0.3, -0.1), (10.0, 0.4, 0.0), (1e4, 0.02, 0.01))]
    fig = viz_leakage.penalty_curves({"embedding": rows, "pixels": [
        {k: v for k, v in r.items() if k != "grouped_cv_r2"} for r in rows]})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    data_lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 3]
    assert len(data_lines) == 3  # embedding: held-out + CV; pixels: held-out only
    np.testing.assert_allclose(data_lines[0].get_ydata(), [0.3, 0.4, 0.02])
    np.testing.assert_allclose(data_lines[1].get_ydata(), [-0.1, 0.0, 0.01])
    assert data_lines[1].get_linestyle() == "--"


def test_leakage_ratios_by_model_draws_each_models_means_with_intervals():
    def result(ratios):
        return {"n_splits": 5, "targets": {t: {} for t in ratios},
                "intervals": [{"target": t, "feature_set": "leakage_ratio", "metric": "value",
                               "mean": m, "low": m - 0.1, "high": m + 0.1}
                              for t, m in ratios.items()]}

    fig = viz_leakage.leakage_ratios_by_model({
        "facenet-casia": result({"azimuth": 0.7, "abs_azimuth": 1.05, "elevation": 1.1,
                                 "lighting_class": 0.9}),
        "dlib-resnet": result({"azimuth": 0.3, "abs_azimuth": 0.6, "elevation": 0.5,
                               "lighting_class": 0.7})})
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [0.7, 1.05, 1.1, 0.9, 0.3, 0.6, 0.5, 0.7])
    assert [t.get_text() for t in ax.get_xticklabels()][1] == "|azimuth|"
    assert any(np.allclose(ln.get_ydata(), 1.0) for ln in ax.get_lines())  # the pixel line
    assert "5 splits" in ax.get_legend().get_texts()[0].get_text()

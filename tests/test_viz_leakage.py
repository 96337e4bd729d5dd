"""The Chapter 2 figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from faceleak import viz_leakage  # noqa: E402


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

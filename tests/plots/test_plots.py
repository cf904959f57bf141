"""The seaborn figures (box-and-strip, heatmaps) on the suite's theme: they take ``ax=None`` or an
axes, return the axes, draw every value they are given, and draw Chinese without a missing glyph
(matplotlib UserWarnings are errors, see pyproject.toml)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.plots import CJK_FONT_NAME
from analysis.plots import events as ev
from analysis.plots import quality as qp


def _render(ax):
    ax.figure.canvas.draw()  # a missing glyph warns here (and fails the test)
    plt.close(ax.figure)


def _mesh_values(ax, shape) -> np.ndarray:
    """The cell values of a seaborn heatmap (masked cells as NaN), rows top to bottom."""
    arr = np.ma.filled(np.ma.asarray(ax.collections[0].get_array(), dtype=float), np.nan)
    return arr.reshape(shape)


def test_business_type_boxes_one_box_and_one_dot_per_outlet():
    t = pd.DataFrame({
        "business_type": ["vip", "high_counter", "high_counter", "low_counter", "low_counter", "low_counter", "high_counter"],
        "mean_wait": [2.0, 8.0, 12.0, 5.0, 6.0, 7.0, np.nan],  # the outlet without a mean is not drawn
    })  # fmt: skip
    ax = ev.business_type_boxes(t, target=10)
    assert [x.get_text() for x in ax.get_xticklabels()] == ["高柜", "低柜", "贵宾"]  # the house order
    dots = [c for c in ax.collections if len(c.get_offsets())]
    assert sorted(len(c.get_offsets()) for c in dots) == [1, 2, 3]  # the strip: one dot per outlet
    high = next(c for c in dots if len(c.get_offsets()) == 2).get_offsets()
    assert sorted(high[:, 1]) == [8.0, 12.0] and np.all(np.abs(high[:, 0] - 0) <= 0.18)  # around the first box
    medians = [line.get_ydata()[0] for line in ax.lines if len(line.get_ydata()) == 2 and line.get_color() == "black"]
    assert sorted(medians) == [2.0, 6.0, 10.0]
    assert any(line.get_ydata()[0] == 10 and line.get_linestyle() == "--" for line in ax.lines)  # the target line
    _render(ax)


def test_business_type_boxes_jitter_is_repeatable_and_leaves_numpy_alone():
    t = pd.DataFrame({"business_type": ["low_counter"] * 5, "mean_wait": [1.0, 2.0, 3.0, 4.0, 5.0]})
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    a = ev.business_type_boxes(t, target=10)
    assert (np.random.get_state()[1] == before).all()  # the caller's global state is put back
    b = ev.business_type_boxes(t, target=10)
    offsets = [next(c for c in ax.collections if len(c.get_offsets())).get_offsets() for ax in (a, b)]
    assert np.array_equal(offsets[0], offsets[1])
    plt.close("all")


def test_wait_heatmap_cells_labels_and_empty_cells():
    t = pd.DataFrame({"weekday": [1, 1, 3, 7], "hour": [9, 10, 9, 11], "mean_wait": [4.4, 12.6, 7.0, 20.2]})
    fig, ax = plt.subplots()
    assert ev.wait_heatmap(t, ax=ax) is ax
    values = _mesh_values(ax, (7, 3))  # Monday..Sunday x 9..11 h
    assert values[0, 0] == pytest.approx(4.4) and values[0, 1] == pytest.approx(12.6) and values[6, 2] == pytest.approx(20.2)
    assert np.isnan(values[1]).all()  # Tuesday: no tickets, nothing drawn there
    assert sorted(x.get_text() for x in ax.texts) == ["13", "20", "4", "7"]  # one label per filled cell
    assert [x.get_text() for x in ax.get_yticklabels()] == ev.WEEKDAYS
    assert [x.get_text() for x in ax.get_xticklabels()] == ["9时", "10时", "11时"]
    assert ax.collections[0].colorbar.ax.get_ylabel() == "平均等候（分钟）"
    _render(ax)


def test_coverage_heatmap_months_and_gaps():
    months = [f"2016-{m:02d}" for m in range(1, 4)]
    cov = pd.DataFrame({
        "source": ["calls"] * 5 + ["complaints"],
        "sub_branch_id": ["S1", "S1", "S1", "S2", "S2", "S1"],
        "month": months + ["2016-01", "2016-03", "2016-01"],
        "records": [10, 20, 30, 5, 7, 99],
    })  # fmt: skip
    ax = qp.coverage_heatmap(cov, "calls", names=pd.Series({"S1": "城东支行", "S2": "城西支行"}))
    values = _mesh_values(ax, (2, 3))
    assert values[0].tolist() == [10, 20, 30]
    assert values[1, 0] == 5 and np.isnan(values[1, 1]) and values[1, 2] == 7  # S2 has no calls in February
    assert [x.get_text() for x in ax.get_yticklabels()] == ["城东支行", "城西支行"]
    assert [x.get_text() for x in ax.get_xticklabels()] == months
    assert "calls" in ax.get_title()
    _render(ax)


def test_seaborn_figures_keep_the_suite_theme():
    # seaborn draws on the suite's rcParams (plots.setup), it does not set its own theme
    ax = ev.wait_heatmap(pd.DataFrame({"weekday": [1], "hour": [9], "mean_wait": [3.0]}))
    assert matplotlib.rcParams["font.sans-serif"][0] == CJK_FONT_NAME
    assert ax.title.get_fontname() == CJK_FONT_NAME
    _render(ax)

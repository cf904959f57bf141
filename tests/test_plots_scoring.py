"""The scoring figures draw (Chinese labels, no missing glyph: matplotlib UserWarnings are errors in
pytest.ini) and show what they claim."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from analysis.plots import scoring as sp
from analysis.scoring import insights, load_scheme, score
from analysis.scoring.uncertainty import rank_uncertainty

from scoring_helpers import tiny4

SCHEME = load_scheme("competition-2011")


@pytest.fixture(scope="module")
def result():
    return score(tiny4(), SCHEME, period="2016")


def _render(ax):
    ax.figure.canvas.draw()  # a missing glyph warns here (and fails the test)
    plt.close(ax.figure)


def test_league_table_bars(result):
    ax = sp.league_table_bars(result)
    # one bar segment per unit and indicator, plus the deduction bars
    assert len(ax.patches) == 4 * len(SCHEME.indicators) + 4
    ticks = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.get_yticks()))
    assert sorted(ticks, key=ticks.get, reverse=True) == ["1. 甲支行", "2. 丁支行", "3. 乙支行", "4. 丙支行"]  # leader on top
    texts = [t.get_text() for t in ax.texts]
    assert "73.5  取消评先" in texts  # B02: total and its ineligibility
    _render(ax)


def test_rank_intervals(result):
    mc = rank_uncertainty(result, None, n_draws=50)
    ax = sp.rank_intervals(mc)
    assert "排名" in ax.get_xlabel()
    _render(ax)


def test_loss_heatmap(result):
    ax = sp.loss_heatmap(result)
    mesh = ax.collections[0]  # seaborn's heatmap: one cell per unit and indicator
    data = np.asarray(mesh.get_array()).reshape(4, len(SCHEME.indicators))
    # row D04 (2nd), column satisfaction: 18 - 14 = 4 points behind the leader
    assert data[1, 1] == pytest.approx(4)
    assert "4.0" in [t.get_text() for t in ax.texts]  # its label
    assert "甲支行" in ax.get_title()
    _render(ax)


def test_movers_chart(result):
    df = tiny4()
    df.loc[df.unit_id == "D04", "survey_score"] = 100
    prev = score(df, SCHEME, period="2015")
    mv = insights.movers(result, prev)
    ax = sp.movers_chart(mv)
    widths = sorted(p.get_width() for p in ax.patches if hasattr(p, "get_width") and p.get_height() == 0.7)
    assert widths == [-1, 0, 0, 1]
    assert any(t.get_text() == "1→2" for t in ax.texts)
    _render(ax)


def test_plots_accept_an_axes(result):
    fig, ax = plt.subplots()
    assert sp.loss_heatmap(result, ax=ax) is ax
    plt.close(fig)
    assert np.isfinite(result.table["total"]).all()

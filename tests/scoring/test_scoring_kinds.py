"""Each indicator kind on 3 units, computed by hand; the reference rules; invariants (hypothesis)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.scoring import kinds, load_scheme, score
from analysis.scoring import model as m
from analysis.scoring.engine import apply_weights

from conftest import costly_examples
from scoring_helpers import tiny4

BASE = dict(name="x", group="g", weight=10)


def df3(**cols) -> pd.DataFrame:
    return pd.DataFrame({k: np.asarray(v, dtype="float64") for k, v in cols.items()})


def test_score():
    ind = m.Score(id="s", kind="score", column="v", **BASE)
    r = kinds.compute(ind, df3(v=[90, 45.5, 0]))
    # 90/100, 45.5/100, 0
    assert r.per_weight.tolist() == pytest.approx([0.9, 0.455, 0.0])


def test_score_mean_leaves_missing_out():
    ind = m.ScoreMean(id="s", kind="score_mean", columns=["a", "b", "c"], **BASE)
    r = kinds.compute(ind, df3(a=[90, 80, np.nan], b=[70, np.nan, np.nan], c=[80, 60, 50]))
    # (90+70+80)/3 = 80 ; (80+60)/2 = 70 ; 50/1 = 50  -> /100
    assert r.per_weight.tolist() == pytest.approx([0.8, 0.7, 0.5])
    assert kinds.check(ind, df3(a=[1, np.nan], b=[1, np.nan], c=[1, np.nan]))[0].unit_pos == 1


def test_share_relative_without_quality():
    ind = m.ShareRelative(id="s", kind="share_relative", numerator="n", denominator="d", factor=0.8, **BASE)
    r = kinds.compute(ind, df3(n=[1, 3, 0], d=[4, 4, 2]))
    # shares .25, .75, 0 ; whole bank 4/10 = .4 ; ratios .625, 1.875, 0 ; x .8 -> .5, 1.5, 0
    assert r.per_weight.tolist() == pytest.approx([0.5, 1.5, 0.0])
    assert r.detail["share_all"].iloc[0] == pytest.approx(0.4)


def test_share_relative_zero_reference_scores_zero_and_warns():
    ind = m.ShareRelative(id="skill", kind="share_relative", numerator="n", denominator="d", factor=0.8, quality="q", **BASE)
    r = kinds.compute(ind, df3(n=[0, 0, 0], d=[4, 4, 2], q=[np.nan, np.nan, np.nan]), "2016")
    # nobody imported: whole-bank share 0 -> every unit 0 (not NaN), one warning naming indicator and period
    assert r.per_weight.tolist() == [0.0, 0.0, 0.0]
    assert [(w.indicator, w.period, w.code) for w in r.warnings] == [("skill", "2016", "non_positive_reference")]


def test_level_increment_relative_negative_increment_reference():
    ind = m.LevelIncrementRelative(id="e", kind="level_increment_relative", numerator="n", denominator="d",
                                   numerator_prev="np_", denominator_prev="dp", factor=0.8, **BASE)
    # rates .5, .2, .6 ; prev .6, .3, .6 ; rate_all = 13/30 ... use equal denominators of 10:
    # n = 5, 2, 6 over 10 -> rate_all 13/30 = .43333 ; prev 6, 3, 6 -> 15/30 = .5 ; increment_all = -.0667 < 0
    # -> increment component 0 for everyone (warning), level still scores:
    # per weight = .8 x .5 x rate/rate_all = .4 x (.5, .2, .6)/(13/30) = (6/13, 2.4/13, 7.2/13)
    r = kinds.compute(ind, df3(n=[5, 2, 6], d=[10, 10, 10], np_=[6, 3, 6], dp=[10, 10, 10]), "2015")
    assert r.per_weight.tolist() == pytest.approx([6 / 13, 2.4 / 13, 7.2 / 13])
    assert [(w.component, w.period) for w in r.warnings] == [("increment", "2015")]


def test_level_increment_relative_zero_level_reference():
    ind = m.LevelIncrementRelative(id="e", kind="level_increment_relative", numerator="n", denominator="d",
                                   numerator_prev="np_", denominator_prev="dp", factor=0.8, **BASE)
    # nobody has any e-channel transactions now or before: rate_all = 0 and increment_all = 0
    # -> both components 0 for everyone, two warnings (level, increment)
    r = kinds.compute(ind, df3(n=[0, 0, 0], d=[10, 5, 1], np_=[0, 0, 0], dp=[10, 5, 1]))
    assert r.per_weight.tolist() == [0.0, 0.0, 0.0]
    assert sorted(w.component for w in r.warnings) == ["increment", "level"]


def test_level_increment_relative_both_parts():
    ind = m.LevelIncrementRelative(id="e", kind="level_increment_relative", numerator="n", denominator="d",
                                   numerator_prev="np_", denominator_prev="dp", factor=0.8, **BASE)
    # rates 30/100 = .3, 10/50 = .2 ; prev 20/100 = .2, 10/50 = .2 ; rate_all 40/150 = 4/15 ; prev 30/150 = .2
    # increment_all = 4/15 - 1/5 = 1/15 ; increments .1, 0
    # unit 1: .4 x (.3/(4/15) + .1/(1/15)) = .4 x (1.125 + 1.5) = 1.05
    # unit 2: .4 x (.2/(4/15) + 0) = .4 x .75 = .3
    r = kinds.compute(ind, df3(n=[30, 10], d=[100, 50], np_=[20, 10], dp=[100, 50]))
    assert r.per_weight.tolist() == pytest.approx([1.05, 0.3])
    assert r.warnings == []


def test_per_outlet_increment_relative_negative_reference():
    ind = m.PerOutletIncrementRelative(id="dep", kind="per_outlet_increment_relative", value="v", value_prev="p", outlets="b", factor=0.8, **BASE)
    # increments +10, -30, +5 -> sum -15 over 6 outlets: the whole bank shrank -> 0 for everyone + warning,
    # even for the units that grew (the ratio to a negative reference means nothing)
    r = kinds.compute(ind, df3(v=[110, 70, 105], p=[100, 100, 100], b=[2, 3, 1]), "2016")
    assert r.per_weight.tolist() == [0.0, 0.0, 0.0]
    assert r.warnings[0].indicator == "dep" and r.warnings[0].component == "increment"


def test_ratio_to_target():
    ind = m.RatioToTarget(id="t", kind="ratio_to_target", numerator="n", denominator="d", target=0.9, **BASE)
    # 81/90 = .9 -> 1.0 ; 45/100 = .45 -> .5 ; 99/100 -> 1.1 (the cap decides whether it counts)
    r = kinds.compute(ind, df3(n=[81, 45, 99], d=[90, 100, 100]))
    assert r.per_weight.tolist() == pytest.approx([1.0, 0.5, 1.1])
    ind2 = m.RatioToTarget(id="t", kind="ratio_to_target", numerator="n", target=3, **BASE)
    assert kinds.compute(ind2, df3(n=[0, 3, 6])).per_weight.tolist() == pytest.approx([0, 1, 2])


def test_per_outlet_increment_minmax_lower_is_better():
    ind = m.PerOutletIncrementMinmax(id="c", kind="per_outlet_increment_minmax", value="v", value_prev="p", outlets="b", better="lower", **BASE)
    # per-outlet increments: (4-10)/2 = -3 (best), (12-10)/1 = +2 (worst), (10-10)/4 = 0
    # position = (worst - x)/(worst - best) = (2+3)/5 = 1, 0, (2-0)/5 = .4
    r = kinds.compute(ind, df3(v=[4, 12, 10], p=[10, 10, 10], b=[2, 1, 4]))
    assert r.per_weight.tolist() == pytest.approx([1.0, 0.0, 0.4])
    same = kinds.compute(ind, df3(v=[10, 10], p=[10, 10], b=[1, 2]), "2016")
    assert same.per_weight.tolist() == [1.0, 1.0] and same.warnings[0].code == "no_spread"


def test_count_points_and_max():
    item = m.CountPoints(id="bonus", name="b", points={"a": 2, "b": 1}, max_points=5)
    pts, events = kinds.count_points(item, df3(a=[0, 1, 3], b=[1, 1, 0]))
    # 0x2+1 = 1 ; 2+1 = 3 ; 3x2 = 6 -> max 5
    assert pts.tolist() == [1, 3, 5] and events.tolist() == [1, 2, 3]


def test_apply_weights_cap_and_floor_are_multiples_of_the_weight():
    pw = np.array([[1.5, -0.2], [0.5, 0.5]])
    # weights 10, 20 ; cap 1.2, floor 0: 15 -> 12 ; -4 -> 0 ; 5 ; 10
    out = apply_weights(pw, np.array([10.0, 20.0]), np.array([1.2, 1.2]), np.array([0.0, 0.0]))
    assert out.tolist() == [[12.0, 0.0], [5.0, 10.0]]
    # leading draw axis: weights per draw
    out2 = apply_weights(np.stack([pw, pw]), np.array([[10.0, 20.0], [20.0, 10.0]]), np.array([1.2, 1.2]), np.array([0.0, 0.0]))
    assert out2[1].tolist() == [[24.0, 0.0], [10.0, 5.0]]


# ------------------------------------------------------------------------------------ invariants
SCHEME = load_scheme("competition-2011")


@functools.cache
def _base_points() -> pd.DataFrame:
    return score(tiny4(), SCHEME).table.set_index("unit_id").sort_index()  # scored once, not per example


@settings(max_examples=costly_examples(ci=12, random=40), deadline=None)  # two scorings per example (about 0.2 s of CPU)
@given(st.permutations(range(4)), st.floats(0.01, 1000))
def test_points_do_not_depend_on_row_order_or_money_unit(perm, k):
    base = _base_points()
    df = tiny4().iloc[list(perm)].reset_index(drop=True)
    for c in ("vip_fa", "personal_fa", "vip_fa_prev", "personal_fa_prev", "deposits", "deposits_prev", "e_txn", "all_txn", "e_txn_prev", "all_txn_prev"):
        df[c] = df[c] * k  # 元 instead of 万元, 笔 instead of 万笔: relative scores do not move
    other = score(df, SCHEME).table.set_index("unit_id").sort_index()
    pd.testing.assert_frame_equal(base, other, check_exact=False, rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=32, max_size=32), st.lists(st.floats(1, 40), min_size=8, max_size=8))
def test_points_always_between_floor_and_cap(values, weights):
    pw = np.array(values).reshape(4, 8)
    w = np.array(weights)
    out = apply_weights(pw, w, np.full(8, 1.2), np.zeros(8))
    assert (out >= 0).all() and (out <= 1.2 * w + 1e-12).all()

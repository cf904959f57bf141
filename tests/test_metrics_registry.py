"""The metrics registry is the one definition of each figure: mean wait, lobby staff per outlet, the
satisfaction funnel and the whole-bank complaint rate, with hand-computed values (issue 15)."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import metrics as M


def test_every_metric_states_unit_direction_and_empty_cells():
    for spec in M.REGISTRY.values():
        assert spec.unit and spec.better in ("higher", "lower"), spec.id
        assert len(spec.empty) > 20, f"{spec.id}: say how empty cells count"


# ------------------------------------------------------------------------------------ mean wait
WAITS = pd.DataFrame(
    {
        "outlet_id": ["a", "a", "b", "b", "c"],
        "called": [2, 0, 3, 1, 0],
        "mean_wait": [5.0, np.nan, 10.0, 2.0, np.nan],  # minutes over the row's called tickets
    }
)


def test_pooled_mean_wait_counts_every_called_ticket_once():
    # (2 x 5 + 3 x 10 + 1 x 2) / (2 + 3 + 1) = 42 / 6 = 7.0; the row without called tickets adds nothing
    assert M.pooled_mean_wait(WAITS) == pytest.approx(7.0)
    by = M.pooled_mean_wait(WAITS, "outlet_id")
    assert by["a"] == pytest.approx(5.0) and by["b"] == pytest.approx(32 / 4)
    assert math.isnan(by["c"])  # no called ticket: no data, never 0
    parts = M.wait_parts(WAITS)
    assert parts["wait_total"].tolist() == [10.0, 0.0, 30.0, 2.0, 0.0] and parts["called"].tolist() == [2.0, 0.0, 3.0, 1.0, 0.0]


def test_the_sub_branch_view_uses_the_pooled_mean_wait():
    from analysis.events.views import Finding, waits_by_sub_branch

    t = pd.DataFrame({"outlet_id": ["a", "b", "c"], "sub_branch_id": ["S1", "S1", "S2"], "sub_branch_name": ["东", "东", "西"], "tickets": [4, 5, 1], "called": [2, 4, 0],
                      "mean_wait": [5.0, 8.0, np.nan], "over_10min": [0, 1, 0]})
    g = waits_by_sub_branch(Finding("", t, extra={"target": 7})).table.set_index("sub_branch_name")
    assert g.loc["东", "mean_wait"] == pytest.approx((10 + 32) / 6)  # 7.0: meets "at most 7"
    assert bool(g.loc["东", "meets_target"]) and math.isnan(g.loc["西", "mean_wait"])


# ---------------------------------------------------------------------------------- lobby staff
STAFFING = pd.DataFrame(
    {
        "outlet_id": ["a", "a", "b", "c", "c"],
        "as_of": pd.to_datetime(["2016-03-31", "2016-12-31", "2016-12-31", "2016-06-30", "2016-12-31"]),
        "lobby_directors": [1, np.nan, np.nan, 0, np.nan],
        "lobby_managers": [1, 1, np.nan, 1, 0],
        "lobby_assistants": [0, np.nan, np.nan, 0, 0],
        "lobby_guides": [2, 1, np.nan, 0, 0],
        "service_supervisors": [1, 2, 0, 1, np.nan],
    }
)


def test_lobby_count_treats_an_all_empty_snapshot_as_unknown():
    counts = M.lobby_count(STAFFING).tolist()
    assert counts[:2] == [4.0, 2.0] and math.isnan(counts[2]) and counts[3:] == [1.0, 0.0]


def test_latest_snapshot_takes_one_whole_row_per_outlet():
    last = M.latest_snapshot(STAFFING, "2016-01-01", "2017-01-01").set_index("outlet_id")
    assert last.loc["a", "lobby_staff"] == 2.0 and last.loc["a", "service_supervisors"] == 2  # the December row, whole
    assert math.isnan(last.loc["b", "lobby_staff"]) and last.loc["c", "lobby_staff"] == 0.0
    assert math.isnan(last.loc["c", "service_supervisors"])  # never the June row's 1 under December's date
    early = M.latest_snapshot(STAFFING, "2016-01-01", "2016-07-01").set_index("outlet_id")
    assert sorted(early.index) == ["a", "c"] and early.loc["a", "lobby_staff"] == 4.0


def test_peers_use_the_registry_rule_for_lobby_staff():
    from analysis import peers

    outlets = pd.DataFrame({"outlet_id": ["a", "b", "c", "d"], "outlet_name": list("ABCD"), "sub_branch_name": ["东"] * 4,
                            "area": ["urban"] * 4, "grade": ["basic"] * 4})
    empty = pd.DataFrame({"outlet_id": list("abcd"), "numerator": [0] * 4, "denominator": [0] * 4})
    ms = pd.DataFrame({"outlet_id": ["a"], "year": [2016], "score": [90.0]})
    u = peers.unit_metrics(outlets, ms, STAFFING, {k: empty for k in ("satisfaction", "waits", "complaints")}, "2016").set_index("outlet_id")
    assert u.loc["a", "lobby_staff"] == 2.0 and u.loc["c", "lobby_staff"] == 0.0
    assert math.isnan(u.loc["b", "lobby_staff"]) and math.isnan(u.loc["d", "lobby_staff"])  # unknown, not 0 (was 0 for b)


# ------------------------------------------------------------------------- satisfaction funnel
def test_the_satisfaction_funnel_is_centred_on_the_target():
    t = pd.DataFrame({"outlet_id": ["a", "b"], "outlet_name": ["A", "B"], "satisfied": [80, 950], "rated": [100, 1000]})
    f = M.satisfaction_funnel(t, 0.9)
    assert f.target == 0.9 and f.target_source == "given" and f.overdispersion.method == "none"
    u = f.units.set_index("unit")
    assert u.loc["a", "expected"] == pytest.approx(90.0)  # 100 ratings at the 90% target
    with pytest.raises(ValueError, match="target"):
        M.satisfaction_funnel(t, None)


# ------------------------------------------------------------------------ whole-bank complaints
def test_the_whole_bank_complaint_rate_counts_every_complaint():
    complaints = pd.DataFrame({"received_at": pd.to_datetime(["2016-02-01", "2016-05-01", "2016-07-01", "2015-03-01"]),
                               "unit_id": ["a", None, "b", "a"], "channel": ["95599", "网点", "95599", "95599"]})
    business = pd.DataFrame({"month": ["2016-01", "2016-06", "2015-01"], "outlet_id": ["a", "b", "a"], "fin_txn": [12_000, 8_000, 40_000]})
    outlets = pd.DataFrame({"outlet_id": ["a", "b"], "sub_branch_id": ["s", "s"]})
    now = M.bank_complaint_rate(complaints, business, outlets, "2016")
    assert now == {"num": 3.0, "den": 20_000.0, "value": pytest.approx(1.5)}  # 3 / 20,000 x 10,000, the one without an outlet included
    before = M.bank_complaint_rate(complaints, business, outlets, "2016", previous=True)
    assert before["value"] == pytest.approx(1 / 40_000 * 10_000)


@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31))), max_size=30))
def test_property_month_of_prints_what_strftime_prints(values):
    """The months of the event tables (printed once per distinct month) are strftime's YYYY-MM, NaT empty."""
    from analysis.metrics import _month_of

    s = pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), index=range(100, 100 + len(values)))
    expected = s.dt.strftime("%Y-%m").astype("string")
    pd.testing.assert_series_equal(_month_of(s), expected, check_names=False)

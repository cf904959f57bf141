"""The campaign overview's data (analysis.overview): top and bottom of the league table, the biggest
movers, the status counts and the one-line verdict, checked by hand on small tables; and the
overview of the bundled bank built from the shared figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import overview as O


def _league(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit_id", "unit_name", "rank", "total", "award_eligible", "rank_change", "total_change"])


# A scored table of 7 units; B and C share rank 2 (equal totals), so the next rank is 4.
SEVEN = _league([
    ("A", "甲", 1, 95.0, True, 2, 3.0),
    ("B", "乙", 2, 90.0, True, -1, -1.0),
    ("C", "丙", 2, 90.0, False, 0, 0.5),
    ("D", "丁", 4, 85.0, True, 4, 6.0),
    ("E", "戊", 5, 80.0, True, -3, -4.0),
    ("F", "己", 6, 75.0, True, np.nan, np.nan),  # not scored in the previous period
    ("G", "庚", 7, 70.0, True, -3, -2.0),
])


def test_top_and_bottom_three():
    top, bottom = O.league_extremes(SEVEN)
    # by hand: ranks 1, 2, 2 on top (the tie kept in table order B, C); the last three rows E, F, G
    assert list(top["unit_id"]) == ["A", "B", "C"]
    assert list(bottom["unit_id"]) == ["E", "F", "G"]
    assert list(bottom["rank"]) == [5, 6, 7]
    assert bool(top.loc[2, "award_eligible"]) is False  # C is ranked but not eligible


def test_top_and_bottom_sorted_by_rank_whatever_the_input_order():
    shuffled = SEVEN.sample(frac=1, random_state=3)
    top, bottom = O.league_extremes(shuffled)
    assert list(top["rank"]) == [1, 2, 2] and list(bottom["rank"]) == [5, 6, 7]


def test_small_tables_do_not_repeat_units():
    four = SEVEN.head(4)
    top, bottom = O.league_extremes(four)
    # 4 units: top A, B, C; the bottom keeps only D (the others are already in the top)
    assert list(top["unit_id"]) == ["A", "B", "C"] and list(bottom["unit_id"]) == ["D"]
    top, bottom = O.league_extremes(SEVEN.head(2))
    assert list(top["unit_id"]) == ["A", "B"] and bottom.empty


def test_biggest_movers():
    up, down = O.biggest_movers(SEVEN)
    # climbers: D +4, A +2 (C did not move, F has no previous rank)
    assert list(up["unit_id"]) == ["D", "A"] and list(up["rank_change"]) == [4, 2]
    # fallers: E and G both -3; E lost more points (-4.0 < -2.0) so it comes first; then B -1
    assert list(down["unit_id"]) == ["E", "G", "B"]


def test_movers_limited_to_n():
    up, down = O.biggest_movers(SEVEN, n=1)
    assert list(up["unit_id"]) == ["D"] and list(down["unit_id"]) == ["E"]


def test_status_counts_in_fixed_order():
    counts = O.status_counts(["met", "at risk", "met", "n/a", "on track", "met"])
    assert counts == {"met": 3, "on track": 1, "at risk": 1, "missed": 0, "n/a": 1}
    assert list(counts) == ["met", "on track", "at risk", "missed", "n/a"]
    with pytest.raises(ValueError, match="unknown target status"):
        O.status_counts(["met", "done"])


@pytest.mark.parametrize(
    ("counts", "level", "words"),
    [
        ({"met": 9, "on track": 2, "at risk": 2, "missed": 0, "n/a": 2}, "warn", "有风险 2 项，其余 11 项达标或进度正常；2 项无数据"),
        ({"met": 5, "on track": 0, "at risk": 1, "missed": 2, "n/a": 0}, "bad", "未达标 2 项、有风险 1 项"),
        ({"met": 5, "on track": 3, "at risk": 0, "missed": 0, "n/a": 0}, "ok", "全部 8 项可判断的目标达标或进度正常"),
        ({"met": 0, "on track": 0, "at risk": 0, "missed": 0, "n/a": 3}, "na", "没有可判断的目标；3 项无数据"),
    ],
)
def test_verdict(counts, level, words):
    v = O.verdict(counts)
    assert v["level"] == level and v["text"] == words


def test_verdict_at_the_deadline_says_met_not_on_track():
    v = O.verdict({"met": 8, "on track": 0, "at risk": 0, "missed": 0, "n/a": 1}, in_progress=False)
    assert v["text"] == "全部 8 项可判断的目标达标；1 项无数据" and v["en"] == "Targets met"


# ------------------------------------------------------------------------------ the bundled bank
@pytest.fixture(scope="module")
def bank_overview(processed_dir):
    return O.build(processed_dir, "2016-06")


def test_overview_of_the_bundled_bank_is_plain_data(bank_overview):
    d = bank_overview
    json.dumps(d)  # the index page and the manifest take it as it is
    assert d["period"] == "2016-06" and d["previous"] == "2015-06"
    assert sum(d["counts"].values()) == len(d["targets"]) == 15  # targets/campaign-2016.yaml, whole bank
    assert [t["status"] for t in d["targets"]].count("at risk") == d["counts"]["at risk"]
    assert [u["rank"] for u in d["league"]["top"]] == [1, 2, 3]
    assert [u["rank"] for u in d["league"]["bottom"]] == [23, 24, 25]
    assert len(d["units"]) == d["league"]["n"] == 25
    # the rank column says which set it is (docs/METHODS.md section 1), at the run's level
    assert d["league"]["rank_set"] == "名次边际90%置信集"
    assert O.rank_set_label({"monte_carlo": {"coverage": 0.95}}) == "名次边际95%置信集"
    assert d["league"]["top"][0]["total"] >= d["league"]["top"][1]["total"] >= d["league"]["bottom"][-1]["total"]
    ups = [u["rank_change"] for u in d["movers"]["up"]]
    assert ups == sorted(ups, reverse=True) and all(x > 0 for x in ups)
    assert all(u["rank_change"] < 0 for u in d["movers"]["down"])
    # the verdict names every target at risk or missed
    assert len(d["watch"]) == d["counts"]["at risk"] + d["counts"]["missed"]

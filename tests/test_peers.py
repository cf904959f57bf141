"""Peer comparison: ranks, gaps, medians, percentiles and changes checked by hand; plan 1's reading
of the real 2015 big-four figures; the regulator's bulletins; the command line and its refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import config, peers
from analysis.cli import main
from analysis.io.read import SourceError

from conftest import costly_examples

RAW_2015 = config.RAW_DIR / "同业对标_2015.csv"
BULLETINS = config.RAW_DIR / "cbirc_bank_complaint_bulletins_2020-2022_part.csv"


def long(rows):
    return pd.DataFrame(rows, columns=["entity", "period", "metric", "value"])


# ------------------------------------------------------------------------------- ranks and gaps
@pytest.fixture
def small():
    return long(
        [
            ("A", "2016", "score", 10.0), ("B", "2016", "score", 8.0), ("C", "2016", "score", 8.0), ("D", "2016", "score", 5.0),
            ("A", "2016", "waits", 12.0), ("B", "2016", "waits", 9.0), ("C", "2016", "waits", 9.0), ("D", "2016", "waits", 15.0),
            ("A", "2015", "score", 7.0), ("B", "2015", "score", 9.0), ("D", "2015", "score", 6.0),
            ("A", "2015-06", "score", 8.5),
        ]
    )


def test_ranks_ties_gaps_and_group_statistics(small):
    r = peers.compare(small, lower_better=["waits"]).set_index(["entity", "metric", "period"])
    s = r.xs(("score", "2016"), level=("metric", "period"))
    # 10, 8, 8, 5: equal values share a rank and the next is skipped
    assert s["rank"].to_dict() == {"A": 1, "B": 2, "C": 2, "D": 4}
    assert (s["n"] == 4).all() and (s["leader"] == "A").all()
    assert s["gap_to_leader"].to_dict() == {"A": 0.0, "B": -2.0, "C": -2.0, "D": -5.0}
    # mean (10 + 8 + 8 + 5) / 4 = 7.75; median (8 + 8) / 2 = 8
    assert s["peer_mean"].iloc[0] == pytest.approx(7.75) and s["peer_median"].iloc[0] == 8.0
    assert s.loc["D", "gap_to_mean"] == pytest.approx(-2.75)
    # percentile = 100 * (strictly worse + 0.5 * tied) / (n - 1):
    # A: 3 worse -> 100; B: 1 worse (D) + half of 1 tie (C) -> 1.5 / 3 = 50; D: 0
    assert s["percentile"].to_dict() == pytest.approx({"A": 100.0, "B": 50.0, "C": 50.0, "D": 0.0})


def test_lower_better_metric(small):
    r = peers.compare(small, lower_better=["waits"]).set_index(["entity", "metric", "period"])
    w = r.xs(("waits", "2016"), level=("metric", "period"))
    # 9, 9 (tied best), 12, 15
    assert w["rank"].to_dict() == {"B": 1, "C": 1, "A": 3, "D": 4}
    assert (w["leader"] == "B / C").all()
    # gap_to_leader = value - leader's value: +3 for A (worse, above the leader)
    assert w.loc["A", "gap_to_leader"] == 3.0
    assert w.loc["D", "percentile"] == 0.0 and w.loc["B", "percentile"] == pytest.approx(100 * 2.5 / 3)
    assert bool(w["lower_better"].all())


def test_change_uses_previous_period_present_in_time_order(small):
    r = peers.compare(small).set_index(["entity", "metric", "period"])["change"]
    # time order ends first: 2015-06 (year to June) < 2015 (the year) < 2016.
    # A: 2015-06 = 8.5, 2015 = 7, 2016 = 10 -> changes: none, -1.5 (on 2015-06), +3 (on 2015)
    assert math.isnan(r[("A", "score", "2015-06")])
    assert r[("A", "score", "2015")] == pytest.approx(-1.5)
    assert r[("A", "score", "2016")] == pytest.approx(3.0)
    # B: 9 -> 8; C has no earlier period; D 6 -> 5
    assert r[("B", "score", "2016")] == -1.0 and math.isnan(r[("C", "score", "2016")]) and r[("D", "score", "2016")] == -1.0
    prev = peers.compare(small).set_index(["entity", "metric", "period"])["previous_period"]
    assert prev[("A", "score", "2016")] == "2015" and prev[("A", "score", "2015")] == "2015-06"


def test_output_order_columns_and_single_entity_groups(small):
    r = peers.compare(small)
    assert list(r.columns[:13]) == peers.OUTPUT_COLUMNS
    # periods of a metric in time order, best first inside a period
    score = r[r["metric"] == "score"]
    assert list(dict.fromkeys(score["period"])) == ["2015-06", "2015", "2016"]
    one = r[(r["period"] == "2015-06")].iloc[0]
    assert one["n"] == 1 and one["rank"] == 1 and math.isnan(one["percentile"])


def test_period_order():
    assert peers.sort_periods(["2016", "2015", "2016Q1", "2016-06", "2020Q3", "2015Q4"]) == ["2015", "2015Q4", "2016Q1", "2016-06", "2016", "2020Q3"]
    with pytest.raises(ValueError):
        peers.period_key("2016H1")


def test_compare_refuses_duplicates_and_bad_periods(small):
    dup = pd.concat([small, small.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"repeated \(A, score, 2016\)"):
        peers.compare(dup)
    with pytest.raises(ValueError, match="not a year"):
        peers.compare(long([("A", "FY16", "x", 1.0)]))


@settings(max_examples=costly_examples(ci=25, random=60), deadline=None)
@given(values=st.lists(st.integers(-50, 50), min_size=1, max_size=12), lower=st.booleans())
def test_property_rank_percentile_invariants(values, lower):
    df = long([(f"E{i}", "2016", "m", float(v)) for i, v in enumerate(values)])
    r = peers.compare(df, lower_better=["m"] if lower else []).set_index("entity")
    n = len(values)
    assert (r["n"] == n).all()
    assert r["rank"].between(1, n).all()
    score = r["value"] * (-1 if lower else 1)
    # rank = 1 + number of entities strictly better
    for e in r.index:
        assert r.loc[e, "rank"] == 1 + int((score > score[e]).sum())
    if n > 1:
        assert r["percentile"].between(0, 100).all()
        assert r["percentile"].sum() == pytest.approx(100 * n / 2)  # the average percentile is 50
    best = score.max()
    assert (r.loc[score == best, "gap_to_leader"] == 0).all()


# ----------------------------------------------------------------------------------------- sentences
def test_ordinals():
    assert [peers.ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_sentences_constructed(small):
    r = peers.compare(small, lower_better=["waits"])
    en = peers.sentences(r, "B", periods=["2016"]).set_index("metric")["sentence"]
    # one number of decimals per metric, from its data (score has an 8.5 somewhere)
    assert en["score"] == "B ranks 2nd of 4 on score (8.0), tied with C, 2.0 below the leader (A, 10.0); down 1.0 on 2015"
    assert en["waits"] == "B ranks 1st of 4 on waits (9, lower is better), tied with C"
    a = peers.sentences(r, "A", periods=["2016"]).set_index("metric")["sentence"]
    assert a["score"] == "A ranks 1st of 4 on score (10.0), 2.0 ahead of the next (B, 8.0); up 3.0 on 2015"
    assert a["waits"].startswith("A ranks 3rd of 4 on waits (12, lower is better), 3 above the leader (B / C, 9)")
    with pytest.raises(ValueError, match="not among the entities"):
        peers.sentences(r, "Z")


# -------------------------------------------------------------------- plan 1: the real 2015 figures
@pytest.fixture(scope="module")
def big_four():
    return peers.read_long(RAW_2015)


def test_shipped_2015_file_holds_the_published_figures(big_four):
    t = big_four.set_index(["entity", "period", "metric"])["value"]
    assert t[("农行", "2015", "outlets")] == 23433 and t[("工行", "2015", "outlets")] == 16732
    assert t[("中行", "2015", "lobby_managers_per_outlet")] == 1.54 and t[("建行", "2015", "tellers_per_outlet")] == 7.08
    assert t[("农行", "2015", "share_without_lobby_staff")] == 0.18
    assert big_four["source"].str.contains("2015中国银行业服务改进情况报告").all()
    # the 2014 outlets are 2015 minus the published change, so the computed change reproduces it
    r = peers.compare(big_four[peers.LONG_COLUMNS])
    change = r[(r["metric"] == "outlets") & (r["period"] == "2015")].set_index("entity")["change"]
    published = t.xs(("2015", "outlets_change"), level=("period", "metric"))
    assert change.to_dict() == published.to_dict() == {"工行": -26, "农行": 70, "中行": -6, "建行": 61}


def test_plan1_readings_from_the_2015_data(big_four):
    out = peers.plan1_readings(big_four, "农行", "2015").set_index("metric")
    # most outlets by far: 23,433 - 16,732 = 6,701 ahead of ICBC
    assert out.loc["outlets", "rank"] == 1
    assert out.loc["outlets", "sentence_en"] == "农行 ranks 1st of 4 on outlets (23,433), 6,701 ahead of the next (工行, 16,732); up 70 on 2014"
    # tellers per outlet second: 7.08 (建行) > 6.45 > 6.17 > 6.08
    assert out.loc["tellers_per_outlet", "rank"] == 2
    assert "ranks 2nd of 4 on tellers per outlet (6.45)" in out.loc["tellers_per_outlet", "sentence_en"]
    assert "居4家第2位" in out.loc["tellers_per_outlet", "sentence_zh"]
    # fewest lobby managers per outlet, 1.54 - 0.94 = 0.60 below the leader (中行)
    lm = out.loc["lobby_managers_per_outlet"]
    assert lm["rank"] == 4 and lm["leader"] == "中行" and lm["gap_to_leader"] == pytest.approx(-0.60)
    assert "ranks 4th of 4 on lobby managers per outlet (0.94), 0.60 below the leader (中行, 1.54)" in lm["sentence_en"]
    assert lm["sentence_zh"] == "农行点均大堂经理人数0.94人,居4家末位,比第一名中行(1.54人)低0.60人"
    # peer mean of lobby managers: (1.25 + 0.94 + 1.54 + 1.50) / 4 = 1.3075
    assert lm["peer_mean"] == pytest.approx(1.3075) and lm["gap_to_mean"] == pytest.approx(-0.3675)
    # 18% of outlets without lobby staff, last of four (lower is better)
    assert out.loc["share_without_lobby_staff", "rank"] == 4
    assert "18%" in out.loc["share_without_lobby_staff", "sentence_zh"]


def test_regulator_readings_six_state_owned_banks():
    b = pd.read_csv(BULLETINS, dtype={"period": str})
    r = peers.regulator_readings(b, "农行")
    keys = list(zip(r["period"], r["metric"]))
    # only scope x period x metric where all six banks are published; 2021Q1 names three banks
    assert ("2022Q3", "complaints_per_10m_personal_customers") in keys and ("2020Q2", "complaints") in keys
    assert not any(p == "2021Q1" for p, _ in keys)
    q3 = r[(r["period"] == "2022Q3")].iloc[0]
    # 34.2 is the lowest of 206.0, 54.1, 53.7, 48.5, 47.9, 34.2; median (53.7 + 48.5) / 2 = 51.1
    assert q3["rank"] == 1 and q3["n"] == 6 and q3["value"] == 34.2
    assert q3["published_median"] == 51.1 and q3["median_of_group"] == pytest.approx(51.1) and q3["median_matches"]
    assert q3["gap_to_published_median"] == pytest.approx(-16.9)
    assert "公布的中位数51.1件" in q3["sentence_zh"] and "低于中位数16.9件" in q3["sentence_zh"]
    q2 = r[(r["period"] == "2022Q2")].iloc[0]
    # (44.7 + 41.8) / 2 = 43.25, published as 43.3: equal after rounding half up
    assert q2["median_of_group"] == pytest.approx(43.25) and q2["median_matches"]
    c20 = r[(r["period"] == "2020Q2")].iloc[0]
    # counts 8401, 4021, 3264, 3100, 2527, 2190: 农行 2nd fewest; median (3264 + 3100) / 2 = 3182
    assert c20["rank"] == 2 and c20["median_of_group"] == 3182 and c20["published_median"] == 3182
    shanxi = r[(r["period"] == "2022Q4") & (r["metric"] == "complaints_per_outlet")].iloc[0]
    assert shanxi["median_of_group"] == pytest.approx(0.085) and shanxi["median_matches"]  # published 0.09
    assert shanxi["sentence_zh"].startswith("2022Q4 山西省:")


# ------------------------------------------------------------------------------------- command line
def run_cli(capsys, *args):
    code = main(["peers", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_on_the_shipped_csv(tmp_path, capsys):
    out = tmp_path / "out.csv"
    code, stdout, _ = run_cli(capsys, "--input", RAW_2015, "--focus", "农行", "--lower-better", "share_without_lobby_staff", "--out", out)
    assert code == 0
    assert "农行 ranks 4th of 4 on lobby managers per outlet (0.94), 0.60 below the leader (中行, 1.54)" in stdout
    assert "农行 ranks 2nd of 4 on tellers per outlet (6.45)" in stdout
    res = pd.read_csv(out, encoding="utf-8-sig", dtype={"period": str})
    assert list(res.columns) == peers.OUTPUT_COLUMNS
    assert len(res) == 24  # 4 banks x (2 outlet years + 4 other metrics)
    row = res[(res["entity"] == "中行") & (res["metric"] == "outlets") & (res["period"] == "2015")].iloc[0]
    assert row["rank"] == 4 and row["change"] == -6 and row["gap_to_leader"] == 10687 - 23433


def test_cli_on_xlsx_with_chinese_headers(tmp_path, capsys):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["机构", "期间", "指标", "数值", "单位"])
    for row in [("城东支行", "2016Q2", "等候时间", 8.5, "分钟"), ("城西支行", "2016Q2", "等候时间", 11.0, "分钟"),
                ("城东支行", "2016Q1", "等候时间", 9.0, "分钟"), ("城西支行", "2016Q1", "等候时间", 10.0, "分钟")]:
        ws.append(list(row))
    path = tmp_path / "对标.xlsx"
    wb.save(path)
    out = tmp_path / "out.csv"
    code, stdout, _ = run_cli(capsys, "--input", path, "--focus", "城东支行", "--lower-better", "等候时间", "--out", out, "--lang", "zh")
    assert code == 0
    res = pd.read_csv(out, encoding="utf-8-sig").set_index(["entity", "period"])
    assert res.loc[("城东支行", "2016Q2"), "rank"] == 1
    assert res.loc[("城东支行", "2016Q2"), "change"] == pytest.approx(-0.5)
    assert res.loc[("城西支行", "2016Q2"), "gap_to_leader"] == pytest.approx(2.5)
    assert "城东支行等候时间(越低越好)8.5,居2家首位,领先第二名城西支行(11.0)2.5;较2016Q1减少0.5" in stdout


@pytest.mark.parametrize(
    "content,message",
    [
        ("entity,period,metric,value,colour\nA,2015,x,1,red\n", "column 'colour': unknown column"),
        ("机构,期间,指标,数值\nA,2015,x,1\nB,2015,x,abc\n", "line 3: value (数值): not a number: 'abc'"),
        ("entity,period,metric,value\nA,2015,x,1\nB,2015,x,2\nA,2015,x,3\n", "line 4: repeats entity x period x metric"),
        ("entity,period,metric,value\nA,2015,x,1\nB,15年,x,2\n", "line 3, column 'period'"),
        ("entity,period,metric\nA,2015,x\n", "required column(s) missing"),
        ("entity,period,metric,value\nA,2015,x,\n", "line 2: value (数值): empty"),
    ],
)
def test_cli_refusals_name_the_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    code, _, err = run_cli(capsys, "--input", path, "--focus", "A", "--out", tmp_path / "o.csv")
    assert code == 2
    assert "bad.csv" in err and message in err
    assert not (tmp_path / "o.csv").exists()


def test_cli_unknown_focus_and_unknown_lower_better(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--input", RAW_2015, "--focus", "招行", "--out", tmp_path / "o.csv")
    assert code == 2 and "focus '招行' is not an entity" in err and "农行" in err
    code, _, err = run_cli(capsys, "--input", RAW_2015, "--focus", "农行", "--lower-better", "waits", "--out", tmp_path / "o.csv")
    assert code == 0 and err.startswith("warning: --lower-better names 'waits'")


def test_read_long_refuses_missing_file(tmp_path):
    with pytest.raises(SourceError, match="file not found"):
        peers.read_long(tmp_path / "none.csv")


# --------------------------------------------------------------------------- the bank's own units
@pytest.fixture
def units():
    return pd.DataFrame(
        {
            "outlet_id": ["u1", "u2", "u3", "u4", "u5", "u6"],
            "outlet_name": ["城东", "城西", "城南", "甲县", "乙县", "丙县"],
            "area": ["urban", "urban", "urban", "county", "county", "county"],
            "grade": ["basic"] * 6,
            "mystery_shopper": [90.0, 80.0, 85.0, 70.0, np.nan, 75.0],
            "waits_over_10min": [0.10, 0.30, 0.20, 0.05, 0.15, 0.25],
        }
    )


def test_group_comparison_bands_and_gaps_to_group_median(units):
    g = peers.group_comparison(units, ["mystery_shopper", "waits_over_10min"]).set_index(["outlet_id", "metric"])
    # urban mystery shopper 90, 80, 85: median 85; 城东 +5, percentile 100 -> 前25%; 城西 0 -> 后25%
    assert g.loc[("u1", "mystery_shopper"), "group_median"] == 85.0
    assert g.loc[("u1", "mystery_shopper"), "gap_to_median"] == 5.0
    assert g.loc[("u1", "mystery_shopper"), "band"] == "前25%"
    assert g.loc[("u3", "mystery_shopper"), "percentile"] == 50.0 and g.loc[("u3", "mystery_shopper"), "band"] == "25%-50%"
    assert g.loc[("u2", "mystery_shopper"), "band"] == "后25%"
    assert g.loc[("u1", "mystery_shopper"), "group"] == "市区·基础网点"
    # county: 乙县 has no score; the other two are ranked among themselves (n = 2)
    assert g.loc[("u4", "mystery_shopper"), "n"] == 2 and g.loc[("u4", "mystery_shopper"), "group_median"] == 72.5
    assert pd.isna(g.loc[("u5", "mystery_shopper"), "rank"]) and g.loc[("u5", "mystery_shopper"), "band"] == ""
    # waits: lower is better. County 0.05, 0.15, 0.25: 甲县 best (percentile 100), above-median gap negative
    w = g.xs("waits_over_10min", level="metric")
    assert w.loc["u4", "rank"] == 1 and w.loc["u4", "gap_to_median"] == pytest.approx(-0.10)
    assert bool(w.loc["u4", "better_than_median"]) and not bool(w.loc["u6", "better_than_median"])
    assert w.loc["u6", "band"] == "后25%"


def test_band_edges():
    assert [peers.band(p) for p in (100, 75, 74.9, 50, 25, 24.9, 0)] == ["前25%", "前25%", "25%-50%", "25%-50%", "50%-75%", "后25%", "后25%"]
    assert peers.band(float("nan")) == "组内唯一"


def test_unit_rate_inputs_counts_and_exclusions():
    t = pd.Timestamp
    outlets = pd.DataFrame({"outlet_id": ["o1", "o2"], "outlet_name": ["城东", "城西"], "area": ["urban", "county"], "grade": ["basic", "basic"]})
    complaints = pd.DataFrame(
        {
            "unit_id": ["o1", "o1", None, "o2", "o1"],
            "received_at": [t("2016-02-01"), t("2016-05-01"), t("2016-03-01"), t("2016-12-31 23:00"), t("2015-12-31")],
        }
    )
    business = pd.DataFrame({"outlet_id": ["o1", "o1", "o2", "o1"], "month": ["2016-01", "2016-02", "2016-03", "2015-12"], "fin_txn": [1000, 2000, 500, 9999]})
    queue = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3", "t4"],
            "business_type": ["high_counter"] * 4,
            "outlet_id": ["o1", "o1", "o1", "o2"],
            "issued_at": [t("2016-01-04 09:00")] * 4,
            "called_at": [t("2016-01-04 09:05"), t("2016-01-04 09:10:01"), pd.NaT, t("2016-01-04 09:10")],
        }
    )
    ratings = pd.DataFrame(
        {"event_id": ["e1", "e2", "e3", "e4"], "teller_id": ["x"] * 4, "outlet_id": ["o1", "o1", "o1", "o2"], "txn_at": [t("2016-06-01")] * 4, "rating": pd.array([5, 3, pd.NA, 4], dtype="Int64")}
    )
    r = peers.unit_rate_inputs(outlets, complaints, business, queue, ratings, "2016")
    c = r["complaints"].set_index("outlet_id")
    # o1: 2 complaints in 2016 (the 2015-12-31 one is outside), 1000 + 2000 financial transactions
    assert c.loc["o1", ["numerator", "denominator"]].tolist() == [2, 3000]
    assert c.loc["o2", ["numerator", "denominator"]].tolist() == [1, 500]
    assert r["complaints"].attrs["excluded"]["complaints without an outlet"] == 1
    w = r["waits"].set_index("outlet_id")
    # o1: waits 5:00 and 10:01 minutes (one over 10), one customer left; o2: exactly 10:00 is not over
    assert w.loc["o1", ["numerator", "denominator"]].tolist() == [1, 2]
    assert w.loc["o2", ["numerator", "denominator"]].tolist() == [0, 1]
    assert r["waits"].attrs["excluded"]["tickets never called (customer left)"] == 1
    s = r["satisfaction"].set_index("outlet_id")
    assert s.loc["o1", ["numerator", "denominator"]].tolist() == [1, 2]
    assert s.loc["o2", ["numerator", "denominator"]].tolist() == [1, 1]
    assert r["satisfaction"].attrs["excluded"]["transactions not rated"] == 1


def test_unit_funnel_and_outlier_table():
    # 30 outlets with 1,000 rated transactions each at 90% satisfied, one at 80% (z = -0.1 / sqrt(0.09
    # / 1000) ~ -10.5 against the 90% target: beyond 99.8%), one tiny outlet 3 of 5 (60%): inside
    # (P(X <= 3 | 5, 0.9) = 1 - 0.32805 - 0.59049 = 0.0815 > 2.5%).
    n = 30
    inputs = pd.DataFrame(
        {
            "outlet_id": [f"o{i}" for i in range(n)] + ["bad", "tiny"],
            "outlet_name": [f"网点{i}" for i in range(n)] + ["差网点", "小网点"],
            "area": ["urban"] * (n + 2),
            "grade": ["basic"] * (n + 2),
            "numerator": [900] * n + [800, 3],
            "denominator": [1000] * n + [1000, 5],
        }
    )
    with pytest.raises(ValueError, match="target"):
        peers.unit_funnel(inputs, "satisfaction")  # one satisfaction funnel: centred on the target, never the bank's average
    f = peers.unit_funnel(inputs, "satisfaction", target=0.90)
    assert f.target == pytest.approx(0.90) and f.target_source == "given" and f.overdispersion.method == "none"
    u = f.units.set_index("unit")
    assert u.loc["bad", "flag"] == "below 99.8%" and u.loc["bad", "direction"] == "worse"
    assert u.loc["tiny", "flag"] == "inside"
    table = peers.funnel_outliers(f, "satisfaction")
    assert list(table["网点"]) == ["差网点"]
    assert list(table.columns) == ["网点", "类别", "满意笔数", "期望数", "参评笔数", "满意度(%)", "95%控制限", "99.8%控制限", "判断"]
    assert table.loc[0, "满意度(%)"] == pytest.approx(80.0)
    assert table.loc[0, "期望数"] == pytest.approx(900.0)
    assert table.loc[0, "判断"] == "低于99.8%控制限(差)" and table.loc[0, "类别"] == "市区·基础网点"
    assert "1个网点差于95%控制限(其中1个超出99.8%控制限)" in peers.funnel_summary(f, "satisfaction")


def test_attention_list_and_display_tables(units):
    g = peers.group_comparison(units, ["mystery_shopper", "waits_over_10min"])
    # 城西 is last of the urban group on both metrics (80 points; 30% waits); 丙县 last on waits only
    att = peers.attention_list(g, min_metrics=2)
    assert list(att["网点"]) == ["城西"] and att.loc[0, "后25%指标数"] == 2
    from analysis.report import peer_tables

    # compute returns frames (never Stylers); the presentation module shows them
    wide = peers.group_table(g)
    assert isinstance(wide, pd.DataFrame) and "等候超10分钟占比(%)" in wide.columns
    html = peer_tables.group_table(g).to_html()
    assert "市区·基础网点" in html and "等候超10分钟占比(%)" in html
    big_four = peers.read_long(RAW_2015)
    table, decimals = peers.peer_table(big_four, "2015")
    assert isinstance(table, pd.DataFrame) and set(decimals) <= set(table.columns)
    html = peer_tables.peer_table(big_four, "2015").to_html()
    assert "点均大堂经理人数(人)" in html and "23,433" in html and "未配备大堂服务人员的网点占比(%)" in html


def test_notebook_is_thin_and_parameterised():
    import nbformat

    nb = nbformat.read(config.NOTEBOOKS_DIR / "04_peers.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "analysis"
    assert nb.metadata["analysis"]["title"].startswith("同业对标")
    assert {"peers", "complaint_bulletins", "teller_ratings"} <= set(nb.metadata["analysis"]["inputs"])
    assert nb.cells[0].cell_type == "markdown"
    params = nb.cells[1]
    assert "parameters" in params.metadata.get("tags", [])
    import ast

    for node in ast.parse(params.source).body:  # literals only
        assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.notebook
@pytest.mark.xdist_group("notebooks")
def test_notebook_reproduces_plan1_on_the_sample_bank(run_notebook, notebook_reports_dir):
    # Runs the notebook as the report runner would and checks the values it shows, not just that it runs.
    nb = run_notebook("04_peers")
    text, images = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text.append(data.get("text/markdown", "") + data.get("text/html", "") + out.get("text", ""))
            images += "image/png" in data
    shown = "\n".join(text)
    assert "农行点均大堂经理人数0.94人,居4家末位,比第一名中行(1.54人)低0.60人" in shown
    assert "农行点均柜员人数6.45人,居4家第2位" in shown
    assert "公布的中位数51.1件" in shown
    assert images == 3  # the three funnel plots
    assert list((notebook_reports_dir / "exports").glob("网点分组对标_*.xlsx"))

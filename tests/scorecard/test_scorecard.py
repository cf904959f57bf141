"""The unit scorecard's pieces: the fix-first rule (analysis.scorecard.fixes) by hand, the shared
bank-wide figures (analysis.scorecard.shared) on the bundled bank, their cache, and the page's
wording helpers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.scorecard import fixes as F
from analysis.scorecard import page as P
from analysis.scorecard import shared as S


# ------------------------------------------------------------------------------------- the rule
def _c(kind, tier, severity, key, seq=0):
    return {"kind": kind, "tier": tier, "severity": severity, "key": key, "seq": seq, "title": key, "detail": ""}


def test_pick_orders_by_tier_then_severity():
    cands = [_c("target", 3, 0.1, "t1"), _c("outlet", 6, 0.5, "o1"), _c("target", 1, 0.01, "t0"), _c("target", 3, 0.3, "t2")]
    out = F.pick(cands)
    # no serious outlet or scoring candidate: the missed target (tier 1), then the at-risk targets by
    # severity (0.3 before 0.1) -- but at most two targets, so the 95% outlet (tier 6) takes the third slot
    assert list(out["key"]) == ["t0", "t2", "o1"] and list(out["order"]) == [1, 2, 3]
    assert list(out["reason"]) == [F.TIER_REASONS[1], F.TIER_REASONS[3], F.TIER_REASONS[6]]


def test_pick_one_of_each_serious_kind_first():
    cands = [_c("scoring", 4, 7.1, "s1"), _c("target", 3, 0.3, "t1"), _c("target", 3, 0.1, "t2"), _c("outlet", 2, 6.5, "o1")]
    out = F.pick(cands)
    # an outlier outlet (tier 2), a target short now (tier 3) and a 7.1-point gain (tier 4): one of
    # each kind, shown in tier order; the second at-risk target gives way to the scoring gain
    assert list(out["key"]) == ["o1", "t1", "s1"]
    # a small gain (tier 7) is not serious: two missed targets come first
    cands = [_c("target", 1, 0.2, "t1"), _c("target", 1, 0.1, "t2"), _c("scoring", 7, 0.3, "s1")]
    assert list(F.pick(cands)["key"]) == ["t1", "t2", "s1"]
    assert list(F.pick(cands, n=2)["key"]) == ["t1", "t2"]


def test_pick_at_most_two_of_a_kind():
    cands = [_c("target", 3, 0.3, "t1"), _c("target", 3, 0.2, "t2"), _c("target", 3, 0.1, "t3"), _c("scoring", 7, 0.3, "s1")]
    out = F.pick(cands)
    # three at-risk targets, but only two may be chosen: the third slot goes to the small scoring gain
    assert list(out["key"]) == ["t1", "t2", "s1"]


def test_pick_one_item_per_outlet_and_fewer_than_three():
    cands = [_c("outlet", 2, 2.0, "outlet:1", 0), _c("outlet", 6, 1.0, "outlet:1", 1), _c("outlet", 6, 0.5, "outlet:2", 2)]
    out = F.pick(cands)
    assert list(out["key"]) == ["outlet:1", "outlet:2"]  # outlet 1's second flag is skipped
    assert F.pick([]).empty and list(F.pick([]).columns) == F.COLUMNS


def test_ties_keep_kind_order():
    cands = [_c("scoring", 5, 0.0, "s"), _c("outlet", 5, 0.0, "o"), _c("target", 5, 0.0, "t")]
    assert list(F.pick(cands)["key"]) == ["t", "o", "s"]


def _targets(rows):
    cols = ["target_id", "title", "status", "status_label", "rule", "direction", "actual", "target", "gap", "actual_text", "target_text",
            "projection_text", "projection_basis", "rate_ratio"]
    return pd.DataFrame(rows, columns=cols)


def test_target_candidates_tiers_and_severity():
    t = _targets([
        ("sat", "客户满意度", "at risk", "有风险", "baseline_plus", "higher", 88.5, 89.5, -1.0, "88.5 分", "≥ 89.5 分", "—", "yearly", np.nan),
        ("wait", "等候时间", "at risk", "有风险", "at_most", "lower", 9.0, 10.0, -1.0, "9.0 分钟", "≤ 10.0 分钟", "10.4 分钟", "trend", np.nan),
        ("tel", "柜员满意度", "missed", "未达标", "at_least", "higher", 0.88, 0.90, -0.02, "88.0%", "≥ 90.0%", "—", "final", np.nan),
        ("c95599", "95599服务投诉", "at risk", "有风险", "tested_decrease", "lower", 0.0291, 0.0258, 0.0033, "0.0291", "显著低于", "0.0409", "pace", 1.13),
        ("ok", "接通率", "met", "达标", "at_least", "higher", 0.95, 0.9, 0.05, "95%", "≥ 90%", "96%", "trend", np.nan),
    ])
    c = {x["key"]: x for x in F.target_candidates(t)}
    assert set(c) == {"target:sat", "target:wait", "target:tel", "target:c95599"}  # the met target is no candidate
    # satisfaction: short of its target now -> tier 3, severity |−1.0| / 89.5
    assert c["target:sat"]["tier"] == 3 and math.isclose(c["target:sat"]["severity"], 1.0 / 89.5)
    # waiting time 9.0 <= 10 meets the target now; at risk from the trend (10.4) -> tier 5, severity 0
    assert c["target:wait"]["tier"] == 5 and c["target:wait"]["severity"] == 0.0
    assert "按当前趋势预计期限时 10.4 分钟" in c["target:wait"]["detail"]
    assert c["target:tel"]["tier"] == 1 and math.isclose(c["target:tel"]["severity"], 0.02 / 0.90)
    # complaints up on last year (gap >= 0): short now -> tier 3; the rate ratio is quoted
    assert c["target:c95599"]["tier"] == 3 and "与上年同期之比 1.13，未下降" in c["target:c95599"]["detail"]
    assert "按年初至今进度预计全年" in c["target:c95599"]["detail"]


def test_outlet_candidates():
    f = pd.DataFrame([
        {"outlet_id": "1", "outlet_name": "甲网点", "measure": "complaints", "title": "每万笔柜面交易投诉量", "numerator": 17.0, "denominator": 50000.0,
         "rate": 3.4, "expected": 5.0, "target": 1.0, "per": 10000, "percent": False, "flag": "above 99.8%", "direction": "worse"},
        {"outlet_id": "2", "outlet_name": "乙网点", "measure": "satisfaction", "title": "柜员服务评价满意度", "numerator": 80.0, "denominator": 100.0,
         "rate": 0.80, "expected": 90.0, "target": 0.90, "per": 1, "percent": True, "flag": "below 95%", "direction": "worse"},
        {"outlet_id": "3", "outlet_name": "丙网点", "measure": "waits", "title": "等候超过10分钟的客户占比", "numerator": 5.0, "denominator": 100.0,
         "rate": 0.05, "expected": 12.0, "target": 0.12, "per": 1, "percent": True, "flag": "below 95%", "direction": "better"},
    ])
    c = {x["key"]: x for x in F.outlet_candidates(f)}
    assert set(c) == {"outlet:1", "outlet:2"}  # an outlet better than its limits is no problem
    # 17 complaints where 5 were expected: tier 2, severity (17 - 5) / 5 = 2.4
    assert c["outlet:1"]["tier"] == 2 and math.isclose(c["outlet:1"]["severity"], 2.4)
    assert "投诉 17 件，按全行水平应约 5.0 件" in c["outlet:1"]["detail"]
    # 80 satisfied where 90 were expected: tier 6, severity 10 / 90
    assert c["outlet:2"]["tier"] == 6 and math.isclose(c["outlet:2"]["severity"], 10 / 90)
    assert c["outlet:2"]["title"] == "乙网点：柜员服务评价满意度偏低"


def test_scoring_candidates():
    ind = pd.DataFrame([
        {"indicator": "a", "name": "甲指标", "weight": 10.0, "points": 6.0, "best_points": 9.5, "loss_vs_leader": 2.0, "gain": 3.5, "rank_if_best": 2},
        {"indicator": "b", "name": "乙指标", "weight": 20.0, "points": 18.0, "best_points": 18.5, "loss_vs_leader": -1.0, "gain": 0.5, "rank_if_best": 5},
        {"indicator": "c", "name": "丙指标", "weight": 10.0, "points": 9.9, "best_points": 10.0, "loss_vs_leader": 0.0, "gain": 0.1, "rank_if_best": 5},
    ])
    c = {x["key"]: x for x in F.scoring_candidates(ind, rank=5)}
    assert set(c) == {"scoring:a", "scoring:b"}  # a gain under 0.2 points is not worth a line
    assert c["scoring:a"]["tier"] == 4 and c["scoring:a"]["severity"] == 3.5
    assert "名次可从第 5 升至第 2 名" in c["scoring:a"]["detail"] and "比第一名少 2.0 分" in c["scoring:a"]["detail"]
    assert c["scoring:b"]["tier"] == 7 and "第一名" not in c["scoring:b"]["detail"]


@pytest.mark.parametrize(("rank", "n", "word"), [(1, 15, "前列"), (5, 15, "前列"), (6, 15, "中游"), (10, 15, "中游"), (11, 15, "靠后"),
                                                 (3, 10, "前列"), (4, 10, "中游"), (7, 10, "中游"), (8, 10, "靠后"), (1, 1, "—"), (np.nan, 10, "—")])
def test_position_in_group(rank, n, word):
    # (rank - 1) / (n - 1): 15 units -> rank 5 is 0.286 (< 1/3), rank 6 is 0.357, rank 11 is 0.714 (> 2/3);
    # 10 units -> rank 4 is exactly 1/3 and rank 7 exactly 2/3: both the middle; rank 8 is 0.778
    assert P.position(rank, n) == word


def test_default_targets_file_is_the_targets_modules():
    from analysis.targets import DEFAULT_TARGETS_FILE

    assert S.DEFAULT_TARGETS_FILE == DEFAULT_TARGETS_FILE


# --------------------------------------------------------------------------- the shared figures
@pytest.fixture(scope="module")
def shared(processed_dir):
    return S.load(processed_dir, "2016")


def test_shared_tables(shared):
    lg = shared.league
    assert len(lg) == 25 and list(lg["rank"]) == sorted(lg["rank"])
    assert set(lg["area"]) == {"urban", "county"}
    assert (lg["rank_lo"] <= lg["rank_hi"]).all()
    ind = shared.indicators
    assert len(ind) == 25 * 8 and (ind["gain"] >= -1e-12).all()
    merged = ind.merge(lg[["unit_id", "rank"]], on="unit_id")
    assert (merged["rank_if_best"] <= merged["rank"]).all()  # matching the best never costs places
    # points add up to the total (no deduction in the bundled 2016 data for most units)
    pts = ind.groupby("unit_id")["points"].sum()
    total = lg.set_index("unit_id")["total"] + lg.set_index("unit_id")["deduction"]
    assert np.allclose(pts.reindex(total.index), total)
    t = shared.targets
    assert (t["unit_id"] == "").sum() == 15 and t["unit_id"].nunique() == 26
    assert set(t["status"]) <= {"met", "on track", "at risk", "missed", "n/a"}


def test_shared_figures_pool_units_into_groups_and_bank(shared, processed_dir):
    f = shared.figures
    for metric in ("complaints_per_10k", "wait_mean", "teller_satisfaction"):
        part = f[f["metric"] == metric]
        units = part[part["scope_kind"] == "unit"]
        bank = part[part["scope_kind"] == "bank"].iloc[0]
        scale = 10_000 if metric == "complaints_per_10k" else 1
        if metric == "complaints_per_10k":
            # the whole bank's rate is the registry's one definition: every complaint, naming an outlet
            # or not, per 10,000 transactions (the 05 page's 全行 figure), not the units' pooled rate
            c = pd.read_parquet(processed_dir / "complaints.parquet")
            c16 = c[c["received_at"].dt.year == 2016]
            assert bank["num"] == len(c16) == units["num"].sum() + c16["unit_id"].isna().sum()
            assert bank["num"] > units["num"].sum()
            assert math.isclose(bank["value"], bank["num"] / bank["den"] * scale, rel_tol=1e-12)
        else:
            # the bank's figure is the pooled ratio of the units' numerators and denominators
            assert math.isclose(bank["value"], units["num"].sum() / units["den"].sum() * scale, rel_tol=1e-12)
        for area in ("urban", "county"):
            a = part[(part["scope_kind"] == "area") & (part["scope"] == area)].iloc[0]
            mine = units[units["area"] == area]
            assert math.isclose(a["value"], mine["num"].sum() / mine["den"].sum() * scale, rel_tol=1e-12)
            assert sorted(mine["group_rank"].dropna())[0] == 1 and mine["group_n"].iloc[0] == len(mine)
    # a lower-is-better figure: rank 1 has the lowest value in its group
    w = f[(f["metric"] == "wait_mean") & (f["scope_kind"] == "unit") & (f["area"] == "county")]
    assert w.loc[w["group_rank"].idxmin(), "value"] == w["value"].min()


def test_shared_league_is_the_competition_notebooks(shared, processed_dir):
    """The overview and the unit pages show the same table as 03_competition (same library call)."""
    from analysis.scoring.report import run_competition

    comp = run_competition(S._Tables(processed_dir, shared.period), "competition-2011", n_draws=10)
    a = comp.result.table[["unit_id", "rank", "total"]].astype({"unit_id": str}).reset_index(drop=True)
    b = shared.league[["unit_id", "rank", "total"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_cache_is_read_not_recomputed(shared, processed_dir, monkeypatch):
    assert shared.cache_dir is not None and (shared.cache_dir / "meta.json").exists()
    monkeypatch.setattr(S, "compute", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = S.load(processed_dir, "2016")
    assert again.meta["fingerprint"] == shared.meta["fingerprint"]
    pd.testing.assert_frame_equal(again.league, shared.league)


def test_fingerprint_follows_inputs_and_options(processed_dir, tmp_path):
    base = S.fingerprint(processed_dir, "2016")
    assert S.fingerprint(processed_dir, "2016") == base
    assert S.fingerprint(processed_dir, "2016-06") != base
    assert S.fingerprint(processed_dir, "2016", S.Options(n_draws=500)) != base
    other = tmp_path / "targets.yaml"
    other.write_text(S.DEFAULT_TARGETS_FILE.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert S.fingerprint(processed_dir, "2016", S.Options(targets=str(other))) != base


def test_unknown_unit_is_named(shared, processed_dir):
    with pytest.raises(ValueError, match="unit '999' is not one of the 25 scored units: 331801 城东支行"):
        P.load("2016", str(processed_dir), "999")
    with pytest.raises(ValueError, match="unit_id is empty"):
        P.load("2016", str(processed_dir), "")


def test_unit_view_wording(processed_dir):
    view = P.load("2016", str(processed_dir), "331801")
    assert view.name == "城东支行" and view.area_zh == "市区"
    text = P.summary_text(view)
    assert text.startswith("**城东支行**（市区支行，") and "活动目标（本支行范围）" in text
    fx = P.fix_list(view)
    assert 1 <= len(fx) <= 3 and list(fx["order"]) == list(range(1, len(fx) + 1))
    assert fx["kind"].value_counts().max() <= F.MAX_PER_KIND
    cmp = P.comparison_frame(view)
    assert list(cmp["指标"]) == [v["title"] for v in S.FIGURES.values()]
    shown, bands = P.outlets_frame(view)
    assert len(shown) == 6 and list(shown.columns) == ["网点", "等级", *[t for t, _ in P.OUTLET_METRICS.values()], "超出控制限"]
    cards = P.key_figures(view)
    assert cards[0]["value"].endswith("/ 25")
    assert any(c["label"].startswith("名次边际90%置信集") for c in cards)  # says which kind of set
    # the intro names exactly the cards shown: a rank set (not an "interval"), the change, the targets
    intro = P.cards_intro(view)
    assert "名次的边际90%置信集" in intro and "不确定区间" not in intro
    assert ("与上期相比的名次变化" in intro) == any(c["label"].startswith("较上期") for c in cards)
    assert ("评先资格" in intro) == any(c["label"].startswith("评先资格") for c in cards)
    assert P.cards(view).data.startswith(f'<p class="cards-intro">{intro}</p>')
    # the tables go through the one table renderer: escaped, aligned, with the house class
    for styled in (P.scores(view), P.targets(view), P.comparison(view), P.outlets(view)):
        assert 'class="dataframe analysis-table"' in styled.to_html()
    scores = P.scores(view).to_html()
    assert scores.count("border-top: 2px solid #c5d3e6") >= 1  # the total row


# ----------------------------------------------------------------------------- monthly trends
def test_trends_come_from_the_registry_by_month(tmp_path, monkeypatch):
    from analysis.metrics import Data
    from analysis.periods import Period

    import targets_bank as tb

    tb.install_fake_events(monkeypatch)
    root = tb.write_tables(tmp_path / "p")
    t = S.trends_table(Data(root), Period.parse("2016"), ["S1", "S2"])
    ms = t[t["metric"] == "mystery_shopper_mean"].set_index(["unit_id", "month"])["value"]
    # checks without dates count in month 3 x round: S1 = O1 and O2, round 1 (95 + 91) / 2, round 2 (85 + 90) / 2
    assert ms.loc[("S1", "2016-03")] == pytest.approx(93.0) and ms.loc[("S1", "2016-06")] == pytest.approx(87.5)
    assert ms.loc[("S2", "2016-03")] == pytest.approx(98.0)
    assert ms.loc[("", "2016-03")] == pytest.approx((95 + 91 + 98) / 3)  # the bank: every outlet
    assert sorted(ms.loc["S1"].index) == ["2016-03", "2016-06", "2016-09", "2016-12"]
    assert set(t["metric"]) <= set(S.TREND_METRICS) and (t["den"] > 0).all()
    assert (t["value"] == t["num"] / t["den"]).all()


def test_trend_panels_one_per_metric_with_alt_text():
    import matplotlib.pyplot as plt

    from analysis.plots import alt_text
    from analysis.plots.units import trend_panels

    rows = []
    for uid, base in (("", 0.90), ("S1", 0.80)):
        for m in (1, 2, 3):
            rows.append({"unit_id": uid, "metric": "teller_satisfaction", "title": "柜员服务评价满意度", "unit": "share", "month": f"2016-0{m}",
                         "num": base + m / 100, "den": 1.0, "value": base + m / 100})
            rows.append({"unit_id": uid, "metric": "outlet_wait_mean", "title": "网点客户平均等候时间", "unit": "minutes", "month": f"2016-0{m}",
                         "num": 10.0 - m, "den": 1.0, "value": 10.0 - m})
    axes = trend_panels(pd.DataFrame(rows), "S1", "城东支行", targets={"teller_satisfaction": 0.9})
    visible = [ax for ax in axes.ravel() if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["柜员服务评价满意度", "网点客户平均等候时间"]
    share = visible[0]
    assert share.get_ylim()[0] > 0 and "（轴未从0开始）" in share.get_ylabel()  # a zoomed share axis is marked broken
    assert visible[1].get_ylim()[0] == 0  # minutes from 0
    alt = alt_text(share.figure)
    assert alt.startswith("图：城东支行各月走势") and "柜员服务评价满意度 1月 81.0%，3月 83.0%" in alt and "网点客户平均等候时间 1月 9.0 分钟" in alt
    plt.close("all")

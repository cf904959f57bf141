"""Monte Carlo rank intervals, reading aids (loss vs leader, lift, movers, sentences) and the Excel export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.scoring import insights, load_scheme, score
from analysis.scoring.export import write_league_table
from analysis.scoring.uncertainty import monte_carlo, weight_set_ranks

from scoring_helpers import tiny4

SCHEME = load_scheme("competition-2011")


@pytest.fixture(scope="module")
def result():
    return score(tiny4(), SCHEME, period="2016")


def single_checks() -> pd.DataFrame:
    """One check per unit and round, equal to the reported round average: bootstrap cannot move it."""
    df = tiny4()
    rows = [(u, r, df.loc[i, f"ms_{r}"]) for i, u in enumerate(df["unit_id"]) for r in range(1, 5) if not pd.isna(df.loc[i, f"ms_{r}"])]
    return pd.DataFrame(rows, columns=["unit_id", "round", "score"])


def test_nothing_uncertain_gives_the_published_ranks(result):
    mc = monte_carlo(result, single_checks(), n_draws=50, weight_jitter=0, use_weight_sets=False)
    iv = mc.intervals.set_index("unit_id")
    assert (iv["rank_lo"] == iv["rank"]).all() and (iv["rank_hi"] == iv["rank"]).all()
    # every draw reproduces the published totals exactly
    base = result.table.set_index("unit_id")["total"].reindex(mc.unit_ids).to_numpy()
    assert np.allclose(mc.totals, base[None, :], rtol=0, atol=1e-9)
    assert mc.groups == [] and mc.pairs["distinguishable"].all()


def test_bootstrap_moves_only_units_with_several_checks(result):
    checks = single_checks()
    # C03 round 1: two checks 40 and 100 (mean 70, as reported): its resampled round average is 40, 70 or 100
    checks = checks[~((checks.unit_id == "C03") & (checks["round"] == 1))]
    checks = pd.concat([checks, pd.DataFrame({"unit_id": ["C03", "C03"], "round": [1, 1], "score": [40.0, 100.0]})], ignore_index=True)
    mc = monte_carlo(result, checks, n_draws=400, weight_jitter=0, use_weight_sets=False, seed=7)
    pos = mc.unit_ids.index("C03")
    # C03 mystery shopper = mean(r1, 70, 70, 70)/100 x 20 ; r1 in {40, 70, 100} -> points 12.5, 14, 15.5
    # so its total moves by -1.5, 0 or +1.5 around the published 39.41...; the others do not move
    base = result.table.set_index("unit_id")["total"]
    deltas = np.round(mc.totals[:, pos] - base["C03"], 9)
    assert set(deltas) <= {-1.5, 0.0, 1.5} and len(set(deltas)) == 3
    for u in ("A01", "B02", "D04"):
        assert np.allclose(mc.totals[:, mc.unit_ids.index(u)], base[u])
    assert mc.settings["resampled"] == ["ms_1", "ms_2", "ms_3", "ms_4"]


def test_weight_draws_keep_the_total_and_stay_within_jitter(result):
    mc = monte_carlo(result, None, n_draws=300, weight_jitter=0.2, use_weight_sets=False, seed=3)
    assert np.allclose(mc.weights.sum(axis=1), 100)
    base = np.array([result.weights[k] for k in SCHEME.indicator_ids])
    ratio = mc.weights / base
    # each factor in [0.8, 1.2] before rescaling; rescaling by 100/sum moves it by at most 1.2/0.8
    assert ratio.min() > 0.8 / 1.2 - 1e-9 and ratio.max() < 1.2 / 0.8 + 1e-9
    with_sets = monte_carlo(result, None, n_draws=300, weight_jitter=0.0, use_weight_sets=True, seed=3)
    # without jitter every draw is exactly one of the 4 weight sets (scheme + 3 alternatives)
    assert len({tuple(np.round(w, 9)) for w in with_sets.weights}) == 4


def test_identical_units_cannot_be_told_apart(result):
    df = tiny4()
    cols = [c for c in df.columns if c not in ("unit_id", "unit_name")]
    df.loc[df.unit_id == "D04", cols] = df.loc[df.unit_id == "A01", cols].to_numpy()
    r = score(df, SCHEME)
    mc = monte_carlo(r, None, n_draws=100, weight_jitter=0.2, seed=1)
    # A01 and D04 tie in every draw: each "ahead" half the time -> cannot be told apart; a group of two
    pair = mc.pairs[(mc.pairs.unit_a == "A01") & (mc.pairs.unit_b == "D04")].iloc[0]
    assert pair.p_a_ahead == pytest.approx(0.5) and not pair.distinguishable
    assert mc.groups == [["A01", "D04"]]
    assert mc.tied_with()["A01"] == ["D04"]


def test_monte_carlo_is_reproducible_and_validates(result):
    a = monte_carlo(result, single_checks(), n_draws=30, seed=11)
    b = monte_carlo(result, single_checks(), n_draws=30, seed=11)
    assert np.array_equal(a.ranks, b.ranks)
    with pytest.raises(ValueError):
        monte_carlo(result, None, n_draws=5)
    with pytest.raises(ValueError):
        monte_carlo(result, None, confidence=0.4)


def test_survey_standard_error_moves_satisfaction(result):
    se = pd.Series({"A01": 5.0, "B02": 0.0, "C03": 0.0, "D04": 0.0})
    mc = monte_carlo(result, None, n_draws=200, weight_jitter=0, use_weight_sets=False, survey_se=se, seed=5)
    base = result.table.set_index("unit_id")["total"]
    assert mc.totals[:, mc.unit_ids.index("A01")].std() > 0.5  # 20/100 x 5 = 1 point of sd
    assert np.allclose(mc.totals[:, mc.unit_ids.index("B02")], base["B02"])


def test_weight_set_ranks(result):
    ws = weight_set_ranks(result)
    assert list(ws.columns) == ["unit_id", "unit_name", "scheme", "equal", "service_heavy", "business_heavy"]
    assert ws.set_index("unit_id").loc["A01", "scheme"] == 1


# ---------------------------------------------------------------------------------- reading aids
def test_loss_vs_leader(result):
    loss = insights.loss_vs_leader(result)
    # leader A01. D04: satisfaction 18 - 14 = 4 ; mystery shopper 17 - 20 = -3 (D04 beats the leader there)
    assert loss.loc["D04", "satisfaction"] == pytest.approx(4) and loss.loc["D04", "mystery_shopper"] == pytest.approx(-3)
    assert (loss.loc["A01"] == 0).all()
    big = insights.biggest_losses(result).set_index("unit_id")
    # B02 loses most on e_channel: 12 - 2.4 = 9.6 ; C03 on skill_import: 12 - 0 = 12 (e_channel also 12: first in scheme order)
    assert big.loc["B02", "indicator"] == "e_channel" and big.loc["B02", "points_lost"] == pytest.approx(9.6)
    assert big.loc["C03", "indicator"] == "skill_import" and pd.isna(big.loc["A01", "indicator"])


def test_lift(result):
    lf = insights.lift(result).set_index("unit_id")
    # best points: ms 20 (D), sat 19 (C), skill 12, e 12, vip_growth 12 (B), assets 40/7 (A), cards 12 (D), deposits 80/7
    # D04 gains: sat 19 - 14 = 5 (largest), vip_growth 4, assets 24/7 ... -> total 90.914 + 5 = 95.914 > A01 95.663 -> rank 1
    assert lf.loc["D04", "indicator"] == "satisfaction" and lf.loc["D04", "gain"] == pytest.approx(5)
    assert lf.loc["D04", "rank_after"] == 1
    # A01 gains: ms 3, sat 1, vip_growth 12 - 8 = 4 (largest), cards 0.48 -> stays 1st
    assert lf.loc["A01", "indicator"] == "vip_growth" and lf.loc["A01", "gain"] == pytest.approx(4) and lf.loc["A01", "rank_after"] == 1
    # C03: skill_import and e_channel both +12: the first in scheme order; 39.41 + 12 = 51.41 < B02 73.46 -> stays 4th
    assert lf.loc["C03", "indicator"] == "skill_import" and lf.loc["C03", "rank_after"] == 4


def test_movers(result):
    df = tiny4()
    df.loc[df.unit_id == "B02", ["major_complaints", "negative_media"]] = 0  # previous period: B02 without its 3 deductions
    df.loc[df.unit_id == "C03", "survey_score"] = 100
    prev = score(df, SCHEME, period="2015")
    mv = insights.movers(result, prev).set_index("unit_id")
    # previous totals: B02 73.457 + 3 = 76.457, C03 39.411 + (100 - 95)/100 x 20 = 40.411: same order 1..4
    assert (mv["rank_change"] == 0).all()
    assert mv.loc["B02", "total_change"] == pytest.approx(-3) and mv.loc["C03", "total_change"] == pytest.approx(-1)
    df.loc[df.unit_id == "D04", "survey_score"] = 100  # D04 previous: 90.914 + 6 = 96.914 > A01 -> D04 was 1st
    prev2 = score(df, SCHEME, period="2015")
    mv2 = insights.movers(result, prev2).set_index("unit_id")
    assert mv2.loc["A01", "rank_change"] == 1 and mv2.loc["D04", "rank_change"] == -1


def test_sentences(result):
    mc = monte_carlo(result, None, n_draws=50, weight_jitter=0, use_weight_sets=False)
    zh = insights.unit_sentences(result, intervals=mc.intervals, tied_with=mc.tied_with()).set_index("unit_id")["sentence"]
    assert zh["D04"].startswith("丁支行以90.9分排名第2（共4家）")
    assert "差距最大的是客户满意度调查（少4.0分）" in zh["D04"] and "升至第1名" in zh["D04"]
    assert "扣3分" in zh["B02"] and "取消评先资格" in zh["B02"]
    en = insights.unit_sentences(result, lang="en").set_index("unit_id")["sentence"]
    assert en["C03"].startswith("丙支行 ranks 4th of 4 with 39.4 points; it is 56.3 points behind 甲支行 and loses most on 网点营销技能提升导入 (12.0 points)")
    assert insights.headline(result).startswith("甲支行以95.7分位居第一")


def test_league_table_excel(result, tmp_path):
    df = tiny4()
    df.loc[0, "unit_name"] = "=HYPERLINK(\"http://x\")"  # text that looks like a formula must stay text
    r = score(df, SCHEME, period="2016")
    mc = monte_carlo(r, None, n_draws=20)
    path = write_league_table(r, tmp_path / "league.xlsx", intervals=mc.intervals)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "D2"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["排名", "支行编号", "支行名称"] and "神秘人检查（20分）" in header and "总分" in header and "评先资格" in header
    name_cell = ws.cell(2, 3)
    assert name_cell.value == "=HYPERLINK(\"http://x\")" and name_cell.data_type == "s"
    total_col = header.index("总分") + 1
    assert ws.cell(2, total_col).number_format == "0.00"
    assert ws.cell(2, total_col).value == pytest.approx(r.table["total"].iloc[0], abs=0)  # full precision in the cell
    assert len(ws.conditional_formatting) >= len(SCHEME.indicators) + 1
    elig = [ws.cell(i, header.index("评先资格") + 1).value for i in range(2, 6)]
    assert elig.count("否（取消评先）") == 1
    notes = "\n".join(str(c.value) for row in wb.worksheets[1].iter_rows() for c in row if c.value)
    assert "vip_assets" in notes and "2016" in notes  # the warning is in the workbook

"""Confidence sets for ranks (csranks' method, checked against its documented PISA example), the
bootstrap of the scores, what-if ranks under other weights, reading aids and the Excel export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from analysis.scoring import insights, load_scheme, score
from analysis.scoring.export import write_league_table
from analysis.scoring.uncertainty import bootstrap_totals, rank_sets, rank_uncertainty, simultaneous_pairs, weight_set_ranks

from conftest import FIXTURES_DIR
from scoring_helpers import tiny4

SCHEME = load_scheme("competition-2011")
PISA = FIXTURES_DIR / "pisa2018_math.csv"


@pytest.fixture(scope="module")
def result():
    return score(tiny4(), SCHEME, period="2016")


def single_checks() -> pd.DataFrame:
    """One check per unit and round, equal to the reported round average: bootstrap cannot move it."""
    df = tiny4()
    rows = [(u, r, df.loc[i, f"ms_{r}"]) for i, u in enumerate(df["unit_id"]) for r in range(1, 5) if not pd.isna(df.loc[i, f"ms_{r}"])]
    return pd.DataFrame(rows, columns=["unit_id", "round", "score"])


# ------------------------------------------------------------------------- rank sets, by hand
def _two_units(gap: float) -> tuple[np.ndarray, np.ndarray]:
    # unit a's bootstrap deviations -5.0, -4.9, ..., 5.0 (101 values), unit b never moves:
    # s_ab = sd(x); max |x| / s over the one pair has its 90% quantile at |x| = 4.5 (linear
    # interpolation: the sorted |x| are 0, 0.1, 0.1, ..., 5.0, 5.0; position 0.9 x 100 = 90 -> 4.5)
    x = np.round(np.linspace(-5, 5, 101), 10)
    est = np.array([gap, 0.0])
    return est, est[None, :] + np.column_stack([x, np.zeros_like(x)])


def test_two_units_told_apart_exactly_when_the_gap_beats_the_critical_value():
    est, draws = _two_units(4.4)  # 4.4 < 4.5: not told apart, both sets are {1, 2}
    s = rank_sets(est, draws, coverage=0.9)
    assert s.values.tolist() == [[1, 1, 2], [2, 1, 2]]
    pt = simultaneous_pairs(est, draws, coverage=0.9)
    assert pt.critical == pytest.approx(4.5 / np.std(np.linspace(-5, 5, 101), ddof=1)) and not pt.rejected[0, 1]
    est, draws = _two_units(4.6)  # 4.6 > 4.5: told apart, the sets are the ranks themselves
    assert rank_sets(est, draws, coverage=0.9).values.tolist() == [[1, 1, 1], [2, 2, 2]]
    assert rank_sets(est, draws, coverage=0.9, simul=False).values.tolist() == [[1, 1, 1], [2, 2, 2]]


def test_pairs_without_sampling_error_are_decided_exactly():
    # no unit moves in any draw: every unequal pair is known exactly; the equal pair shares rank 1
    est = np.array([5.0, 5.0, 3.0])
    s = rank_sets(est, np.tile(est, (20, 1)), coverage=0.9)
    assert s.values.tolist() == [[1, 1, 2], [1, 1, 2], [3, 3, 3]]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=8), st.integers(0, 10_000), st.sampled_from([0.5, 0.9, 0.95]))
def test_property_sets_hold_the_estimated_rank_and_simultaneous_contain_marginal(est, seed, coverage):
    est = np.round(np.array(est), 3)
    draws = est[None, :] + np.random.default_rng(seed).normal(0, 1, size=(200, len(est)))
    m = rank_sets(est, draws, coverage=coverage, simul=False)
    s = rank_sets(est, draws, coverage=coverage, simul=True)
    # 1 + #(told apart above) <= 1 + #(strictly above) = rank <= p - #(strictly below) <= upper
    assert (m["lower"] <= m["rank"]).all() and (m["rank"] <= m["upper"]).all()
    # the same draws: a subset of the pairs has a smaller max-t quantile at every step, so every pair the
    # simultaneous procedure tells apart the marginal one does too
    assert (s["lower"] <= m["lower"]).all() and (s["upper"] >= m["upper"]).all()


def test_rank_sets_validate():
    with pytest.raises(ValueError, match="either"):
        rank_sets([1.0, 2.0])
    with pytest.raises(ValueError, match="cstype"):
        rank_sets([1.0, 2.0], cov=[1.0, 1.0], cstype="upper")
    with pytest.raises(ValueError, match="two"):
        rank_sets([1.0], cov=[1.0])


# ------------------------------------------------------------- the csranks documented example
@pytest.fixture(scope="module")
def pisa():
    return pd.read_csv(PISA)


def test_marginal_set_matches_csranks_pisa_vignette(pisa):
    # csranks vignette "Inference for Ranks" (pisa2018 math, diag(math_se^2), coverage 0.95, stepdown):
    # csranks(..., simul=FALSE, indices=uk_i) prints $L 8, $rank 13, $U 23 for the United Kingdom.
    m = rank_sets(pisa["math_score"], cov=pisa["math_se"], coverage=0.95, simul=False, n_boot=4000, seed=1)
    uk = pisa.index[pisa["jurisdiction"] == "United Kingdom"][0]
    assert m.loc[uk].tolist() == [13, 8, 23]


def test_top5_set_matches_csranks_pisa_vignette(pisa):
    # cstaubest(math_score, diag(math_se^2), tau=5, coverage=0.95): 12 countries (listed below);
    # at coverage 0.9 the same without Sweden.
    listed = {"Belgium", "Canada", "Denmark", "Estonia", "Finland", "Japan", "Korea", "Netherlands", "Poland", "Slovenia", "Sweden", "Switzerland"}
    b95 = rank_sets(pisa["math_score"], cov=pisa["math_se"], coverage=0.95, cstype="lower", n_boot=4000, seed=1)
    assert set(pisa.loc[b95["lower"] <= 5, "jurisdiction"]) == listed and (b95["upper"] == 37).all()
    b90 = rank_sets(pisa["math_score"], cov=pisa["math_se"], coverage=0.90, cstype="lower", n_boot=4000, seed=1)
    assert set(pisa.loc[b90["lower"] <= 5, "jurisdiction"]) == listed - {"Sweden"}


def test_simultaneous_sets_match_csranks_pisa_vignette(pisa):
    # The vignette on the 95% simultaneous sets: Chile, Mexico and Colombia's sets do not overlap any
    # other country's; Germany's and Korea's both contain rank 7; at 75% they no longer overlap.
    s = rank_sets(pisa["math_score"], cov=pisa["math_se"], coverage=0.95, n_boot=4000, seed=1).set_index(pisa["jurisdiction"])
    bottom = ["Chile", "Mexico", "Colombia"]
    others = s.drop(bottom)
    assert others["upper"].max() < s.loc[bottom, "lower"].min()
    assert s.loc["Germany", "lower"] <= 7 <= s.loc["Korea", "upper"]
    s75 = rank_sets(pisa["math_score"], cov=pisa["math_se"], coverage=0.75, n_boot=4000, seed=1).set_index(pisa["jurisdiction"])
    assert s75.loc["Korea", "upper"] < s75.loc["Germany", "lower"]
    # simultaneous sets are never narrower than the marginal ones here
    m = rank_sets(pisa["math_score"], cov=pisa["math_se"], coverage=0.95, simul=False, n_boot=4000, seed=1).set_index(pisa["jurisdiction"])
    assert (s["lower"] <= m["lower"]).all() and (s["upper"] >= m["upper"]).all()


# ----------------------------------------------------------------------------- the league table
def test_nothing_uncertain_gives_the_published_ranks(result):
    ru = rank_uncertainty(result, single_checks(), n_draws=50)
    iv = ru.intervals.set_index("unit_id")
    for lo, hi in (("rank_lo", "rank_hi"), ("rank_lo_simul", "rank_hi_simul")):
        assert (iv[lo] == iv["rank"]).all() and (iv[hi] == iv["rank"]).all()
    # every draw reproduces the published totals exactly
    base = result.table.set_index("unit_id")["total"].reindex(ru.unit_ids).to_numpy()
    assert np.allclose(ru.totals, base[None, :], rtol=0, atol=1e-9)
    assert ru.groups == [] and ru.pairs["distinguishable"].all()
    assert (iv["total_se"] < 1e-9).all()  # floating-point noise only


def test_bootstrap_moves_only_units_with_several_checks(result):
    checks = single_checks()
    # C03 round 1: two checks 40 and 100 (mean 70, as reported): its resampled round average is 40, 70 or 100
    checks = checks[~((checks.unit_id == "C03") & (checks["round"] == 1))]
    checks = pd.concat([checks, pd.DataFrame({"unit_id": ["C03", "C03"], "round": [1, 1], "score": [40.0, 100.0]})], ignore_index=True)
    totals, varied = bootstrap_totals(result, checks, n_draws=400, seed=7)
    ids = list(result.inputs["unit_id"].astype(str))
    pos = ids.index("C03")
    # C03 mystery shopper = mean(r1, 70, 70, 70)/100 x 20 ; r1 in {40, 70, 100} -> points 12.5, 14, 15.5
    # so its total moves by -1.5, 0 or +1.5 around the published 39.41...; the others do not move
    base = result.table.set_index("unit_id")["total"]
    deltas = np.round(totals[:, pos] - base["C03"], 9)
    assert set(deltas) <= {-1.5, 0.0, 1.5} and len(set(deltas)) == 3
    for u in ("A01", "B02", "D04"):
        assert np.allclose(totals[:, ids.index(u)], base[u])
    assert varied == ["ms_1", "ms_2", "ms_3", "ms_4"]
    # C03 (39.4) is 34 points behind B02 and never closer than 32.5: still told apart from everyone
    ru = rank_uncertainty(result, checks, n_draws=400, seed=7)
    assert ru.pairs["distinguishable"].all() and ru.groups == []


def test_identical_units_cannot_be_told_apart_and_groups_never_chain(result):
    df = tiny4()
    cols = [c for c in df.columns if c not in ("unit_id", "unit_name")]
    df.loc[df.unit_id == "D04", cols] = df.loc[df.unit_id == "A01", cols].to_numpy()
    r = score(df, SCHEME)
    se = pd.Series({"A01": 3.0, "B02": 0.0, "C03": 0.0, "D04": 3.0})
    ru = rank_uncertainty(r, None, n_draws=300, survey_se=se, seed=1)
    pair = ru.pairs[(ru.pairs.unit_a.isin(["A01", "D04"])) & (ru.pairs.unit_b.isin(["A01", "D04"]))].iloc[0]
    assert pair["diff"] == 0 and not pair["distinguishable"]
    assert ru.groups == [["A01", "D04"]] and ru.tied_with()["A01"] == ["D04"]
    iv = ru.intervals.set_index("unit_id")
    assert iv.loc["A01", "rank_lo"] == 1 and iv.loc["A01", "rank_hi"] == 2 and iv.loc["C03", "rank_lo"] == 4
    _assert_groups_consistent(ru)


def _assert_groups_consistent(ru):
    dist = {(r.unit_a, r.unit_b): r.distinguishable for r in ru.pairs.itertuples(index=False)}
    dist |= {(b, a): d for (a, b), d in list(dist.items())}
    for g in ru.groups:
        for i, a in enumerate(g):
            for b in g[i + 1:]:
                assert not dist[(a, b)], (a, b)


def test_weights_stay_the_schemes_and_what_if_ranks_are_apart(result):
    # the sets come from sampling only: without checks or survey errors nothing moves at all
    ru = rank_uncertainty(result, None, n_draws=30)
    assert np.allclose(ru.totals.std(axis=0), 0) and ru.settings["weights"] == "scheme (fixed)"
    ws = weight_set_ranks(result)
    assert list(ws.columns) == ["unit_id", "unit_name", "scheme", "equal", "service_heavy", "business_heavy"]
    assert ws.set_index("unit_id").loc["A01", "scheme"] == 1


def test_rank_uncertainty_is_reproducible_and_validates(result):
    se = pd.Series({"A01": 5.0, "B02": 5.0, "C03": 5.0, "D04": 5.0})
    a = rank_uncertainty(result, single_checks(), n_draws=30, seed=11, survey_se=se)
    b = rank_uncertainty(result, single_checks(), n_draws=30, seed=11, survey_se=se)
    assert np.array_equal(a.totals, b.totals) and a.intervals.equals(b.intervals)
    with pytest.raises(ValueError):
        rank_uncertainty(result, None, n_draws=5)
    with pytest.raises(ValueError):
        rank_uncertainty(result, None, coverage=0.4)


def test_survey_standard_error_moves_satisfaction(result):
    se = pd.Series({"A01": 5.0, "B02": 0.0, "C03": 0.0, "D04": 0.0})
    totals, varied = bootstrap_totals(result, None, n_draws=200, survey_se=se, seed=5)
    ids = list(result.inputs["unit_id"].astype(str))
    base = result.table.set_index("unit_id")["total"]
    assert varied == ["survey_score"]
    assert totals[:, ids.index("A01")].std() > 0.5  # 20/100 x 5 = 1 point of sd
    assert np.allclose(totals[:, ids.index("B02")], base["B02"])
    # A01 95.66 vs D04 90.91: a 4.75-point gap against a 1-point standard error is told apart;
    # the marginal and simultaneous sets of all four are their published ranks
    ru = rank_uncertainty(result, None, n_draws=400, survey_se=se, seed=5)
    assert ru.pairs.set_index(["unit_a", "unit_b"]).loc[("A01", "D04"), "distinguishable"]
    assert (ru.intervals["rank_lo"] == ru.intervals["rank"]).all()


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
    mc = rank_uncertainty(result, None, n_draws=50)
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
    mc = rank_uncertainty(r, None, n_draws=20)
    path = write_league_table(r, tmp_path / "league.xlsx", intervals=mc.intervals)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "D2"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["排名", "支行编号", "支行名称"] and "神秘人检查（20分）" in header and "总分" in header and "评先资格" in header
    assert "名次边际置信集下限（90%，抽样误差）" in header  # which set, at which level
    other = load_workbook(write_league_table(r, tmp_path / "l95.xlsx", intervals=mc.intervals, coverage=0.95)).worksheets[0]
    assert "名次边际置信集上限（95%，抽样误差）" in [c.value for c in other[1]]
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

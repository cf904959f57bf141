"""Plan 2's competition on a tiny 4-unit bank, every number computed by hand in the comments.

The input is tests/fixtures/scoring/tiny4.csv (hand-made). Units A01..D04 have 2, 4, 3, 1 outlets:
sum B = 10. "all" = sum of numerators / sum of denominators over the four units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.scoring import ScoringInputError, load_scheme, score
from analysis.scoring.engine import rank_totals

from scoring_helpers import FIXTURES, tiny4

SCHEME = load_scheme("competition-2011")


@pytest.fixture(scope="module")
def result():
    return score(tiny4(), SCHEME, period="2016")


def pts(result, unit: str) -> pd.Series:
    return result.table.set_index("unit_id").loc[unit]


def test_mystery_shopper_mean_of_rounds_present(result):
    # A: (90 + 80 + 85 + 85) / 4 = 85      -> 85/100 x 20 = 17.0
    # B: round 3 missing: (90 + 90 + 96) / 3 = 92 -> 92/100 x 20 = 18.4   (NOT (90+90+0+96)/4 = 69 -> 13.8)
    # C: 70 -> 14.0 ; D: 100 -> 20.0 (exactly the weight: the cap 1.2 x 20 = 24 is not reached)
    assert pts(result, "A01")["mystery_shopper"] == pytest.approx(17.0)
    assert pts(result, "B02")["mystery_shopper"] == pytest.approx(18.4)
    assert pts(result, "C03")["mystery_shopper"] == pytest.approx(14.0)
    assert pts(result, "D04")["mystery_shopper"] == pytest.approx(20.0)


def test_satisfaction_score_over_100(result):
    # survey 90, 80, 95, 70 -> /100 x 20 = 18, 16, 19, 14
    assert [pts(result, u)["satisfaction"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([18, 16, 19, 14])


def test_skill_import_share_relative_with_acceptance_and_cap(result):
    # imported 2, 2, 0, 1 of 2, 4, 3, 1 outlets; whole bank 5/10 = 0.5
    # A: (2/2)/0.5 = 2   x 10 x 0.8 x 90/100 = 14.4 -> capped at 1.2 x 10 = 12
    # B: (2/4)/0.5 = 1   x 10 x 0.8 x 80/100 = 6.4
    # C: 0 (acceptance left empty: allowed because nothing was imported)
    # D: (1/1)/0.5 = 2   x 10 x 0.8 x 70/100 = 11.2 (below the cap)
    assert [pts(result, u)["skill_import"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([12, 6.4, 0, 11.2])
    assert result.uncapped.loc["A01", "skill_import"] == pytest.approx(14.4)
    assert bool(result.capped.loc["A01", "skill_import"]) and not result.capped.loc["D04", "skill_import"]


def test_e_channel_level_plus_increment_with_floor(result):
    # rate = e/all: A 600/1000 = .6, B .3, C .4, D .7 ; prev: A .5, B .3, C .45, D .55
    # increments: A .1, B 0, C -.05, D .15
    # rate_all = 2000/4000 = .5 ; rate_all_prev = 1800/4000 = .45 ; increment_all = .05
    # points = (rate/.5 + inc/.05) x 10 x 0.8 x 0.5 = (level + increment ratio) x 4
    # A: (1.2 + 2) x 4 = 12.8 -> cap 12 ; B: (0.6 + 0) x 4 = 2.4
    # C: (0.8 - 1) x 4 = -0.8 -> floor 0 ; D: (1.4 + 3) x 4 = 17.6 -> cap 12
    assert [pts(result, u)["e_channel"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([12, 2.4, 0, 12])
    assert result.uncapped.loc["C03", "e_channel"] == pytest.approx(-0.8)
    assert bool(result.floored.loc["C03", "e_channel"])
    d = result.detail["e_channel"]
    assert d.loc["A01", "rate_all"] == pytest.approx(0.5) and d.loc["A01", "increment_all"] == pytest.approx(0.05)


def test_vip_growth_per_outlet_increment(result):
    # increments 110-100 = 10, 40, -5, 5 ; per outlet 10/2 = 5, 40/4 = 10, -5/3, 5/1 = 5
    # whole bank per outlet: (10 + 40 - 5 + 5) / 10 = 5   (the mean of the unit figures would be 4.58: not used)
    # A: 5/5 x 10 x .8 = 8 ; B: 10/5 x 8 = 16 -> cap 12 ; C: (-5/3)/5 x 8 = -2.67 -> floor 0 ; D: 8
    assert [pts(result, u)["vip_growth"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([8, 12, 0, 8])


def test_vip_assets_zero_increment_reference_scores_level_only_and_warns(result):
    # shares: A 50/100 = .5, B .3, C .4, D .2 ; prev: A .6, B .3, C .4, D .1
    # share_all = 140/400 = .35 ; prev 140/400 = .35 ; increment_all = 0  -> increment component 0 for all
    # points = share/.35 x 10 x .8 x .5 = share/.35 x 4: A 40/7, B 24/7, C 32/7, D 16/7
    assert [pts(result, u)["vip_assets"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([40 / 7, 24 / 7, 32 / 7, 16 / 7])
    w = [x for x in result.warnings if x.indicator == "vip_assets"]
    assert len(w) == 1 and w[0].component == "increment" and w[0].period == "2016" and w[0].code == "non_positive_reference"
    assert "vip_assets" in str(w[0]) and "2016" in str(w[0])
    assert len(result.warnings) == 1  # nothing else in this example warns


def test_vip_cards_aggregate_reference_not_mean_of_rates(result):
    # rates: A 40/50 = .8, B 100/200 = .5, C 60/100 = .6, D 50/50 = 1 ; prev A .7, B .45, C .6, D .8
    # rate_all = 250/400 = .625 (the mean of the rates would be .725) ; prev 225/400 = .5625 ; increment_all = .0625
    # A: (.8/.625 + .1/.0625) x 4 = (1.28 + 1.6) x 4 = 11.52
    # B: (.5/.625 + .05/.0625) x 4 = (0.8 + 0.8) x 4 = 6.4
    # C: (.6/.625 + 0) x 4 = 3.84 ; D: (1.6 + 3.2) x 4 = 19.2 -> cap 12
    assert [pts(result, u)["vip_cards"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([11.52, 6.4, 3.84, 12])


def test_deposit_growth_per_outlet(result):
    # increments 200, 400, 0, 100 ; per outlet 100, 100, 0, 100 ; whole bank 700/10 = 70
    # A, B, D: 100/70 x 8 = 80/7 = 11.43 (below the cap 12) ; C: 0
    assert [pts(result, u)["deposit_growth"] for u in ("A01", "B02", "C03", "D04")] == pytest.approx([80 / 7, 80 / 7, 0, 80 / 7])


def test_deductions_totals_ranks_and_eligibility(result):
    # deduction: A 0 ; B 1 complaint + 2 media = 3 points ; C 2 complaints = 2 ; D 0
    # totals:
    # A: 17 + 18 + 12 + 12 + 8 + 40/7 + 11.52 + 80/7 - 0 = 78.52 + 120/7           = 95.662857...
    # B: 18.4 + 16 + 6.4 + 2.4 + 12 + 24/7 + 6.4 + 80/7 - 3 = 61.6 + 104/7 - 3      = 73.457143...
    # C: 14 + 19 + 0 + 0 + 0 + 32/7 + 3.84 + 0 - 2 = 36.84 + 32/7 - 2                = 39.411429...
    # D: 20 + 14 + 11.2 + 12 + 8 + 16/7 + 12 + 80/7 - 0 = 77.2 + 96/7                = 90.914286...
    t = result.table
    assert list(t["unit_id"]) == ["A01", "D04", "B02", "C03"]  # in rank order
    assert list(t["rank"]) == [1, 2, 3, 4]
    tot = t.set_index("unit_id")["total"]
    assert tot["A01"] == pytest.approx(78.52 + 120 / 7)
    assert tot["B02"] == pytest.approx(61.6 + 104 / 7 - 3)
    assert tot["C03"] == pytest.approx(36.84 + 32 / 7 - 2)
    assert tot["D04"] == pytest.approx(77.2 + 96 / 7)
    assert t.set_index("unit_id")["deduction"].to_dict() == {"A01": 0, "D04": 0, "B02": 3, "C03": 2}
    # B has 3 events: not award eligible, but still ranked (3rd). C has 2: still eligible.
    assert t.set_index("unit_id")["award_eligible"].to_dict() == {"A01": True, "D04": True, "B02": False, "C03": True}
    assert list(t.columns) == SCHEME.output_columns


def test_alternative_weight_set_caps_follow_the_weight():
    # equal weights 12.5: A's points per point of weight are
    # ms .85, sat .9, skill 1.44 -> cap 1.2, e 3.2 x .4 = 1.28 -> cap 1.2, vip .8, assets (.5/.35) x .4 = 4/7,
    # cards 2.88 x .4 = 1.152, deposits (100/70) x .8 = 8/7
    # total = 12.5 x (.85 + .9 + 1.2 + 1.2 + .8 + 4/7 + 1.152 + 8/7) = 12.5 x (6.102 + 12/7) = 97.703571...
    r = score(tiny4(), SCHEME, weight_set="equal")
    a = r.table.set_index("unit_id").loc["A01"]
    assert a["skill_import"] == pytest.approx(15.0)  # 1.2 x 12.5, not 1.2 x 10
    assert a["total"] == pytest.approx(12.5 * (6.102 + 12 / 7))
    assert r.weight_set == "equal"


def test_ties_share_the_best_rank():
    # D04 given A01's inputs exactly: the two totals are identical, so both rank 1 and the next unit
    # ranks 3 ("min" method: 1, 1, 3, 4), not 2.
    df = tiny4()
    cols = [c for c in df.columns if c not in ("unit_id", "unit_name")]
    df.loc[df.unit_id == "D04", cols] = df.loc[df.unit_id == "A01", cols].to_numpy()
    r = score(df, SCHEME)
    ranks = r.table.set_index("unit_id")["rank"].to_dict()
    assert ranks == {"A01": 1, "D04": 1, "B02": 3, "C03": 4}


def test_rank_totals_min_method_and_float_noise():
    # 0.1 + 0.2 = 0.30000000000000004 is the same total as 0.3 on paper: they share rank 1
    assert list(rank_totals(np.array([0.1 + 0.2, 0.3, 0.2]))) == [1, 1, 3]
    assert list(rank_totals(np.array([50.0, 70.0, 70.0, 60.0, 70.0]))) == [5, 1, 1, 4, 1]
    assert rank_totals(np.array([[1.0, 2.0], [2.0, 2.0]])).tolist() == [[2, 1], [1, 1]]


def test_negative_total_possible_and_ranked_last():
    # C with 30 events: 39.41 + 2 - 30 = 11.41 ... push further: 60 events -> 41.41 - 60 < 0, still ranked (last)
    df = tiny4()
    df.loc[df.unit_id == "C03", "major_complaints"] = 60
    r = score(df, SCHEME)
    c = r.table.set_index("unit_id").loc["C03"]
    assert c["deduction"] == 60 and c["total"] == pytest.approx(36.84 + 32 / 7 - 60) and c["rank"] == 4
    assert not c["award_eligible"]


def test_library_refuses_bad_units_too():
    df = tiny4()
    df.loc[1, "outlets"] = 0
    with pytest.raises(ScoringInputError) as e:
        score(df, SCHEME)
    assert "outlets" in str(e.value) and "B02" in str(e.value)


def test_fixture_is_the_hand_computed_file():
    assert (FIXTURES / "tiny4.csv").exists()

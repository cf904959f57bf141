"""Building the competition input from clean tables: a hand-made 2-sub-branch bank, computed by hand.

Outlets: O1, O2 in S1 城东支行; O3 in S2 临江县支行; O4 in S2 opened 2017 (not counted for 2016).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.scoring import load_scheme, score
from analysis.scoring.build import build_inputs, financial_assets, tables_needed

from scoring_helpers import bank

COMP = load_scheme("competition-2011")
EVAL = load_scheme("evaluation-2016")


@pytest.fixture(scope="module")
def built():
    return build_inputs(bank(), "2016", COMP)


def row(built, uid):
    return built.table.set_index("unit_id").loc[uid]


def test_units_and_outlet_counts(built):
    # S2 has O3 and O4, but O4 opened in 2017: 1 outlet in 2016
    assert list(built.table["unit_id"]) == ["S1", "S2"]
    assert row(built, "S1")["outlets"] == 2 and row(built, "S2")["outlets"] == 1
    assert row(built, "S2")["unit_name"] == "临江县支行"
    assert "1个网点在2016之后开业，不计入网点数" in built.notes


def test_mystery_shopper_round_means(built):
    # S1: round 1 (90 + 80)/2 = 85 ; round 2 only O1: 70 ; round 3: nobody -> empty ; round 4 (100 + 90)/2 = 95
    # the 2015 check (10) is not used
    s1 = row(built, "S1")
    assert (s1["ms_1"], s1["ms_2"], s1["ms_4"]) == (85, 70, 95) and np.isnan(s1["ms_3"])
    assert list(row(built, "S2")[["ms_1", "ms_2", "ms_3", "ms_4"]]) == [60, 70, 80, 90]
    assert len(built.checks) == 9 and set(built.checks.columns) == {"unit_id", "outlet_id", "round", "score"}


def test_survey_and_its_standard_error(built):
    # S1 88 with sd 10 over 100 respondents -> se 10/sqrt(100) = 1 ; S2 20/sqrt(400) = 1
    assert row(built, "S1")["survey_score"] == 88 and row(built, "S2")["survey_score"] == 92
    assert built.survey_se.to_dict() == {"S1": 1.0, "S2": 1.0}


def test_major_responsible_complaints_and_city_level_media(built):
    # S1: C0 (O1, major, responsible) = 1 ; C1 not responsible ; C6 is 2015 ; C7 not major
    # S2: C2, C3 (O3) + C4 naming the sub-branch S2 itself = 3 ; C5 names X9: noted, not counted
    # C8 names no outlet at all: noted (and that it is major and responsible), not counted
    assert row(built, "S1")["major_complaints"] == 1 and row(built, "S2")["major_complaints"] == 3
    assert "2016投诉：1条记录的网点或支行不在机构信息中（X9），未计入" in built.notes
    assert "2016投诉：1条记录未写明网点（如客服中心相关），未计入任何支行，其中重大有责1条" in built.notes
    # media: S1 city (2016) = 1, county not counted ; S2 national (2016) = 1, the 2015 city event not counted
    assert row(built, "S1")["negative_media"] == 1 and row(built, "S2")["negative_media"] == 1


def test_skill_import_counts_and_mean_acceptance(built):
    # S1: O1 and O2 imported, acceptance (80 + 90)/2 = 85 ; S2: none imported, acceptance empty
    assert row(built, "S1")["skill_imported"] == 2 and row(built, "S1")["skill_acceptance"] == 85
    assert row(built, "S2")["skill_imported"] == 0 and np.isnan(row(built, "S2")["skill_acceptance"])


def test_e_channel_sums_over_the_period(built):
    # S1 2016: e = 12 x (60 + 100) = 1920, all = 12 x (100 + 200) = 3600 ; 2015: e = 12 x (50 + 80) = 1560, all 3600
    s1 = row(built, "S1")
    assert (s1["e_txn"], s1["all_txn"], s1["e_txn_prev"], s1["all_txn_prev"]) == (1920, 3600, 1560, 3600)


def test_financial_assets_with_loans_at_half(built):
    # VIP 2016-12: O1 100+10+5+20 + 40/2 = 155 ; O2 50+0+0+10 + 20/2 = 70  -> S1 225 (255 if loans counted in full)
    # personal 2016-12: O1 500+20+10+40 + 100/2 = 620 ; O2 300+20 + 60/2 = 350 -> S1 970
    # 2015-12 (baseline): VIP O1 80+10+5+15 + 15 = 125, O2 40+10 + 5 = 55 -> 180 ; personal O1 510 + 40 = 550, O2 300 + 20 = 320 -> 870
    s1 = row(built, "S1")
    assert (s1["vip_fa"], s1["personal_fa"], s1["vip_fa_prev"], s1["personal_fa_prev"]) == (225, 970, 180, 870)
    frame = pd.DataFrame({f"vip_{p}": [1.0] for p in ("deposits", "funds", "bonds", "wealth")} | {"vip_loans": [10.0]})
    assert financial_assets(frame, "vip").iloc[0] == 4 + 5


def test_vip_cards_deposits_counts_at_year_end_and_baseline(built):
    s1 = row(built, "S1")
    # vip 50 + 30 = 80, baseline 40 + 30 = 70 ; cards 30 + 10 of 40 + 20 ; baseline 20 + 10 of 60 ; deposits 500 + 300, 450 + 280
    assert (s1["vip"], s1["vip_prev"]) == (80, 70)
    assert (s1["cards_issued"], s1["cards_eligible"], s1["cards_issued_prev"], s1["cards_eligible_prev"]) == (40, 60, 30, 60)
    assert (s1["deposits"], s1["deposits_prev"]) == (800, 730)


def test_built_table_scores_with_the_scheme(built):
    units = built.for_scheme(COMP)
    assert list(units.columns) == list(COMP.inputs)
    r = score(units, COMP, period="2016")
    # satisfaction: 88/100 x 20 = 17.6 and 92/100 x 20 = 18.4 ; mystery shopper S1 (85 + 70 + 95)/3 = 83.33 -> 16.67
    t = r.table.set_index("unit_id")
    assert t.loc["S1", "satisfaction"] == pytest.approx(17.6) and t.loc["S2", "satisfaction"] == pytest.approx(18.4)
    assert t.loc["S1", "mystery_shopper"] == pytest.approx(250 / 3 / 100 * 20)
    # S2 deductions: 3 complaints + 1 media = 4 -> not eligible
    assert t.loc["S2", "deduction"] == 4 and not t.loc["S2", "award_eligible"]


def test_tables_needed_and_only_those_read():
    assert tables_needed(COMP) == ["outlets", "mystery_shopper", "satisfaction", "complaints", "media_events", "campaign", "business"]
    assert "staffing" in tables_needed(EVAL) and "teller_ratings" in tables_needed(EVAL)
    seen = []
    tables = bank()

    def getter(name):
        seen.append(name)
        return tables[name].copy()

    build_inputs(getter, "2016", COMP)
    assert set(seen) == set(tables_needed(COMP))


def test_evaluation_inputs():
    tables = bank()
    tables["staffing"] = pd.DataFrame({
        "outlet_id": ["O1", "O1", "O2", "O3"], "as_of": pd.to_datetime(["2016-09-30", "2016-12-31", "2016-12-31", "2016-12-31"]),
        "tellers": [5, 5, 4, 3], "lobby_directors": [0, 0, 0, 0], "lobby_managers": [1, 0, 0, 1], "lobby_assistants": [0, 0, 1, 0],
        "lobby_guides": [0, 0, 0, 0], "service_supervisors": [1, 2, 0, 1]})
    tables["teller_ratings"] = pd.DataFrame({"event_id": list("abcdef"), "outlet_id": ["O1", "O1", "O1", "O2", "O3", "O3"], "teller_id": list("tttuvv"),
                                             "txn_at": pd.to_datetime(["2016-01-05"] * 5 + ["2015-01-05"]),
                                             "rating": pd.array([5, 3, None, 4, 1, 5], dtype="Int64")})
    b = build_inputs(tables, "2016", EVAL)
    s1, s2 = b.table.set_index("unit_id").loc["S1"], b.table.set_index("unit_id").loc["S2"]
    # O1's last record (2016-12-31) has no lobby staff; O2 has an assistant -> S1 1 of 2 ; supervisors 2 + 0
    assert (s1["outlets_with_lobby"], s1["supervisors"]) == (1, 2)
    assert (s2["outlets_with_lobby"], s2["supervisors"]) == (1, 1)
    # ratings 2016: S1 rated 5, 3, 4 (3 rated, the empty one not) -> satisfied 2 ; S2 rated 1 -> 0 (the 2015 one out)
    assert (s1["teller_rated"], s1["teller_satisfied"], s2["teller_rated"], s2["teller_satisfied"]) == (3, 2, 1, 0)
    # 95599 complaints: S1 2016 C0, C7 = 2 ; 2015 C6 = 1 ; S2 C2, C3 = 2 (C4 came via the regulator)
    assert (s1["complaints_95599"], s1["complaints_95599_prev"], s2["complaints_95599"]) == (2, 1, 2)
    # campaign: six_s S1 1 (O1), S2 1 ; awards S1 top1000 1, S2 top100 1 ; supervision mean S1 (90 + 80)/2 = 85
    assert (s1["six_s_passed"], s1["top1000_outlets"], s2["top100_outlets"], s1["supervision_score"]) == (1, 1, 1, 85)
    r = score(b.for_scheme(EVAL), EVAL, period="2016")
    assert list(r.table.columns) == EVAL.output_columns

    # Through a context the teller ratings are aggregated from their Parquet file, never loaded whole
    # (a city's year is 15 M records): the same figures, and table("teller_ratings") is never asked for.
    class Context:
        def __init__(self, folder):
            self.folder = folder

        def table(self, name):
            assert name != "teller_ratings", "an event log loaded into pandas"
            return tables[name].copy()

        def path(self, name):
            return self.folder / f"{name}.parquet"

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        tables["teller_ratings"].to_parquet(Path(tmp) / "teller_ratings.parquet")
        via = build_inputs(Context(Path(tmp)), "2016", EVAL).table.set_index("unit_id")
    cols = ["teller_rated", "teller_satisfied"]
    pd.testing.assert_frame_equal(via[cols], b.table.set_index("unit_id")[cols])

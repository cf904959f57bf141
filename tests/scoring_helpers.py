"""Shared helpers for the scoring tests (not a test module)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "scoring"


def tiny4() -> pd.DataFrame:
    """The hand-computed 4-unit example (tests/fixtures/scoring/tiny4.csv) as a typed unit table."""
    df = pd.read_csv(FIXTURES / "tiny4.csv", dtype={"unit_id": "string", "unit_name": "string"})
    return df


# A hand-made 2-sub-branch bank (tests/scoring/test_scoring_build.py computes its inputs by hand).
def _business() -> pd.DataFrame:
    # per outlet and year: monthly (fin_txn, e_txn) and the year-end stocks (used for every month of the year)
    flows = {("O1", 2016): (100, 60), ("O1", 2015): (100, 50), ("O2", 2016): (200, 100), ("O2", 2015): (200, 80),
             ("O3", 2016): (50, 10), ("O3", 2015): (50, 10)}
    #                 vip, vip d/f/b/w/loans,   personal d/f/b/w/loans,  cards, eligible
    stocks = {("O1", 2016): (50, (100, 10, 5, 20, 40), (500, 20, 10, 40, 100), 30, 40),
              ("O2", 2016): (30, (50, 0, 0, 10, 20), (300, 0, 0, 20, 60), 10, 20),
              ("O3", 2016): (10, (20, 0, 0, 0, 0), (100, 0, 0, 0, 0), 5, 10),
              ("O1", 2015): (40, (80, 10, 5, 15, 30), (450, 20, 10, 30, 80), 20, 40),
              ("O2", 2015): (30, (40, 0, 0, 10, 10), (280, 0, 0, 20, 40), 10, 20),
              ("O3", 2015): (8, (16, 0, 0, 0, 0), (90, 0, 0, 0, 0), 4, 10)}
    rows = []
    for (o, y), (fin, e) in flows.items():
        vip, vparts, pparts, cards, elig = stocks[(o, y)]
        for mth in range(1, 13):
            row = {"outlet_id": o, "month": f"{y}-{mth:02d}", "fin_txn": fin, "e_txn": e, "counter_txn": fin - e,
                   "vip_customers": vip, "vip_eligible": elig, "vip_cards": cards}
            for prefix, parts in (("vip", vparts), ("personal", pparts)):
                for name, v in zip(("deposits", "funds", "bonds", "wealth", "loans"), parts):
                    row[f"{prefix}_{name}"] = float(v)
            rows.append(row)
    return pd.DataFrame(rows)


def bank() -> dict[str, pd.DataFrame]:
    outlets = pd.DataFrame({
        "outlet_id": ["O1", "O2", "O3", "O4"], "outlet_name": ["东一", "东二", "临一", "临二"],
        "sub_branch_id": ["S1", "S1", "S2", "S2"], "sub_branch_name": ["城东支行", "城东支行", "临江县支行", "临江县支行"],
        "area": ["urban", "urban", "county", "county"], "grade": ["basic"] * 4,
        "opened_on": pd.to_datetime(["2001-01-01", None, "2005-05-05", "2017-03-01"]),
    })
    ms = pd.DataFrame({
        "outlet_id": ["O1", "O2", "O1", "O1", "O2", "O3", "O3", "O3", "O3", "O1"],
        "year":      [2016, 2016, 2016, 2016, 2016, 2016, 2016, 2016, 2016, 2015],
        "round":     [1, 1, 2, 4, 4, 1, 2, 3, 4, 1],
        "checked_on": pd.NaT,
        "score":     [90, 80, 70, 100, 90, 60, 70, 80, 90, 10.0],
    })
    sat = pd.DataFrame({"sub_branch_id": ["S1", "S2", "S1"], "year": [2016, 2016, 2015], "respondents": [100, 400, 50],
                        "score": [88.0, 92.0, 10.0], "score_sd": [10.0, 20.0, 5.0]})
    comp = pd.DataFrame({
        "complaint_id": [f"C{i}" for i in range(9)],
        "received_at": pd.to_datetime(["2016-02-01", "2016-03-01", "2016-04-01", "2016-05-01", "2016-06-01", "2016-07-01", "2015-08-01", "2016-09-01", "2016-10-01"]),
        "unit_id": ["O1", "O1", "O3", "O3", "S2", "X9", "O1", "O2", None],
        "channel": ["95599", "outlet", "95599", "95599", "regulator", "95599", "95599", "95599", "95599"],
        "major":       [True, True, True, True, True, True, True, False, True],
        "responsible": [True, False, True, True, True, True, True, True, True],
    })
    media = pd.DataFrame({"event_id": ["M1", "M2", "M3", "M4"], "reported_on": pd.to_datetime(["2016-05-01", "2016-06-01", "2016-07-01", "2015-07-01"]),
                          "sub_branch_id": ["S1", "S1", "S2", "S2"], "level": ["city", "county", "national", "city"]})
    camp = pd.DataFrame({"outlet_id": ["O1", "O2", "O3", "O1"], "year": [2016, 2016, 2016, 2015],
                         "skill_imported": [True, True, False, True], "skill_acceptance": [80.0, 90.0, np.nan, 10.0],
                         "six_s_passed": [True, False, True, True], "award": ["top1000", None, "top100", None],
                         "supervision_score": [90.0, 80.0, 70.0, 0.0]})
    return {"outlets": outlets, "mystery_shopper": ms, "satisfaction": sat, "complaints": comp, "media_events": media,
            "campaign": camp, "business": _business()}

"""A tiny bank whose every target value can be computed by hand (tests/test_targets.py).

Three outlets: O1 (城东支行 S1, urban), O2 (城东支行 S1, county), O3 (城西支行 S2, urban).
The clean tables are written as Parquet with the dtypes of ``analysis.clean``; the event aggregates
(``analysis.events.calls_table`` / ``waits_table`` / ``ratings_table``) are served by a fake module
with the same signatures, so the target logic is tested on exactly known inputs.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas as pd

import analysis
from analysis import config

OUTLETS = pd.DataFrame({
    "outlet_id": ["O1", "O2", "O3"],
    "outlet_name": ["城东营业部", "城东乡镇网点", "城西营业部"],
    "sub_branch_id": ["S1", "S1", "S2"],
    "sub_branch_name": ["城东支行", "城东支行", "城西支行"],
    "area": ["urban", "county", "urban"],
    "grade": ["flagship", "basic", "comprehensive"],
})

# mystery-shopper checks by round (no dates: round r counts in month 3r)
MS_2016 = {"O1": [95, 85, 96, 86], "O2": [91, 90, 92, 89], "O3": [98, 83, 97, 84]}  # every outlet averages 90.5
MS_2015 = {o: [86, 88, 86, 88] for o in ("O1", "O2", "O3")}  # 87.0 everywhere

# lobby staff at the quarter ends of 2016 (directors + managers + assistants + guides)
LOBBY_2016 = {"O1": [2, 2, 2, 2], "O2": [0, 0, 0, 1], "O3": [0, 1, 1, 1]}


def _s(values, dtype="string"):
    return pd.Series(values, dtype=dtype)


def write_tables(root: Path, *, complaints_2016_per_month: dict[str, int] | None = None, ms_2016: dict | None = None) -> Path:
    """Write the clean tables into ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    ms_2016 = ms_2016 or MS_2016
    outlets = OUTLETS.astype("string")
    outlets.to_parquet(config.table_path("outlets", root))

    rows = []
    for year, table in ((2015, MS_2015), (2016, ms_2016)):
        for outlet, scores in table.items():
            for rnd, score in enumerate(scores, start=1):
                rows.append({"outlet_id": outlet, "year": year, "round": rnd, "checked_on": pd.NaT, "score": float(score)})
    ms = pd.DataFrame(rows)
    ms = ms.astype({"outlet_id": "string", "year": "Int64", "round": "Int64", "checked_on": "datetime64[ns]", "score": "float64"})
    ms.to_parquet(config.table_path("mystery_shopper", root))

    sat = pd.DataFrame({
        "sub_branch_id": _s(["S1", "S2", "S1", "S2"]),
        "year": _s([2015, 2015, 2016, 2016], "Int64"),
        "respondents": _s([100, 300, 100, 300], "Int64"),
        "score": _s([80.0, 84.0, 86.0, 85.0], "float64"),
        "score_sd": _s([10.0, 10.0, 10.0, 10.0], "float64"),
    })
    sat.to_parquet(config.table_path("satisfaction", root))

    rows = []
    for outlet, values in LOBBY_2016.items():
        for q, v in enumerate(values, start=1):
            as_of = pd.Timestamp(2016, 3 * q, 1) + pd.offsets.MonthEnd(0)
            rows.append({"outlet_id": outlet, "as_of": as_of, "tellers": 5, "lobby_directors": 0, "lobby_managers": v,
                         "lobby_assistants": 0, "lobby_guides": 0, "service_supervisors": 0})
    st = pd.DataFrame(rows).astype({"outlet_id": "string", "as_of": "datetime64[ns]", **{c: "Int64" for c in
                                    ["tellers", "lobby_directors", "lobby_managers", "lobby_assistants", "lobby_guides", "service_supervisors"]}})
    st.to_parquet(config.table_path("staffing", root))

    camp = pd.DataFrame({
        "outlet_id": _s(["O1", "O2", "O3", "O1", "O2", "O3"]),
        "year": _s([2015, 2015, 2015, 2016, 2016, 2016], "Int64"),
        "skill_imported": _s([True] * 6, "boolean"),
        "award": _s(["top1000", None, None, "top1000", "top1000", None]),
    })
    camp.to_parquet(config.table_path("campaign", root))

    # business: financial transactions per outlet and month; 2015 totals 100,000 a month, 2016 120,000
    rows = []
    for year, per_outlet in ((2015, {"O1": 50_000, "O2": 30_000, "O3": 20_000}), (2016, {"O1": 60_000, "O2": 36_000, "O3": 24_000})):
        for month in range(1, 13):
            for outlet, fin in per_outlet.items():
                rows.append({"outlet_id": outlet, "month": f"{year}-{month:02d}", "fin_txn": fin})
    bus = pd.DataFrame(rows).astype({"outlet_id": "string", "month": "string", "fin_txn": "Int64"})
    bus.to_parquet(config.table_path("business", root))

    # complaints: 95599 per month 2015 O1 10, O2 6, O3 4 (20); 2016 by default O1 6, O2 4, O3 2 (12);
    # plus 5 a month through the outlet channel, which the 95599 target must ignore
    per_2016 = complaints_2016_per_month or {"O1": 6, "O2": 4, "O3": 2}
    rows = []
    for year, per_outlet in ((2015, {"O1": 10, "O2": 6, "O3": 4}), (2016, per_2016)):
        for month in range(1, 13):
            for outlet, k in per_outlet.items():
                for i in range(k):
                    rows.append({"received_at": pd.Timestamp(year, month, 1 + i), "unit_id": outlet, "channel": "95599"})
            for i in range(5):
                rows.append({"received_at": pd.Timestamp(year, month, 10 + i), "unit_id": "O1", "channel": "outlet"})
    comp = pd.DataFrame(rows)
    comp.insert(0, "complaint_id", [f"C{i:05d}" for i in range(len(comp))])
    comp = comp.astype({"complaint_id": "string", "unit_id": "string", "channel": "string", "received_at": "datetime64[ns]"})
    comp.to_parquet(config.table_path("complaints", root))

    # event sources only need to exist: the fake events module serves their aggregates
    for name in ("calls", "queue_tickets", "teller_ratings"):
        pd.DataFrame({"placeholder": _s([])}).to_parquet(config.table_path(name, root))
    return root


# ------------------------------------------------------------------------------ fake analysis.events
CALLS = {
    # centre -> year -> (offered, answered, answered within 20 s) per month
    "95599": {
        2015: [(100, 85, 55)] * 12,
        2016: [(100, 88 + m, 62 - m, ) for m in range(12)],  # answered 88..99; in 20 s 62..51
    },
    "credit_card": {
        2015: [(100, 70, 30)] * 12,
        2016: [(100, 78 + m, 45) for m in range(12)],  # answered 78..89; in 20 s flat 45
    },
}


def calls_table(source, engine="duckdb", threshold=20, short_abandon=0):
    assert Path(source).name == "calls.parquet" and threshold == 20 and short_abandon == 0
    rows = []
    for center, years in CALLS.items():
        for year, months in years.items():
            for m, (offered, answered, fast) in enumerate(months, start=1):
                # split each month over two days to check the monthly sums
                for day, share in ((3, 0.5), (20, 0.5)):
                    rows.append({"center": center, "date": pd.Timestamp(year, m, day).date(), "offered": offered * share,
                                 "answered": answered * share, "answered_in_threshold": fast * share, "abandoned": 0})
    df = pd.DataFrame(rows)
    df["answer_rate"] = df["answered"] / df["offered"]
    df["service_level"] = df["answered_in_threshold"] / df["offered"]
    df["mean_wait_answered"] = 12.0
    return df


# tickets issued, tickets called, mean wait of the called (minutes), every month; at O2 20 customers leave
WAITS_2016 = {"O1": (100, 100, 8.0), "O2": (70, 50, 14.0), "O3": (50, 50, 9.0)}


def waits_table(source, engine="duckdb"):
    assert Path(source).name == "queue_tickets.parquet"
    rows = []
    for m in range(1, 13):
        for outlet, (tickets, called, wait) in WAITS_2016.items():
            # two business types, same wait, half the tickets each
            for bt in ("high_counter", "low_counter"):
                rows.append({"outlet_id": outlet, "date": pd.Timestamp(2016, m, 5).date(), "business_type": bt, "tickets": tickets // 2,
                             "called": called // 2, "left": (tickets - called) // 2, "mean_wait": wait, "p90_wait": wait * 2,
                             "share_over_10min": 0.1})
    return pd.DataFrame(rows)


RATINGS_2016 = {"O1": (120, 100, 95), "O2": (110, 100, 85), "O3": (60, 50, 40)}  # transactions, rated, satisfied a month


def ratings_table(source, engine="duckdb"):
    assert Path(source).name == "teller_ratings.parquet"
    rows = []
    for m in range(1, 13):
        for outlet, (txn, rated, sat) in RATINGS_2016.items():
            rows.append({"outlet_id": outlet, "month": f"2016-{m:02d}", "transactions": txn, "rated": rated, "rating_rate": rated / txn,
                         "satisfied": sat, "satisfaction": sat / rated})
    return pd.DataFrame(rows)


def install_fake_events(monkeypatch) -> types.ModuleType:
    fake = types.ModuleType("analysis.events")
    fake.calls_table, fake.waits_table, fake.ratings_table = calls_table, waits_table, ratings_table
    monkeypatch.setitem(sys.modules, "analysis.events", fake)
    monkeypatch.setattr(analysis, "events", fake, raising=False)
    return fake

"""A small set of clean service-event tables for the notebook tests (the shape `clean` writes).

Deterministic (seeded); two years (2015, 2016) so that the credit-card centre's target, relative to
its 2015 value, can be computed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUTLETS = [
    ("110101", "城东支行营业部", "S01", "城东支行", "urban"),
    ("110102", "东关分理处", "S01", "城东支行", "urban"),
    ("110201", "城西支行营业部", "S02", "城西支行", "urban"),
    ("110202", "高新区分理处", "S02", "城西支行", "urban"),
    ("110301", "临河县支行营业部", "S03", "临河县支行", "county"),
]


def _times(rng, n: int, start: str, end: str, open_h: float, close_h: float) -> pd.Series:
    days = pd.date_range(start, end, freq="D", inclusive="left")
    day = days[rng.integers(0, len(days), n)]
    hour = rng.uniform(open_h, close_h, n)
    return pd.Series(day + pd.to_timedelta(np.round(hour * 3600), unit="s"))


def build(out: Path, n: int = 12_000, seed: int = 6) -> Path:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    o = pd.DataFrame(OUTLETS, columns=["outlet_id", "outlet_name", "sub_branch_id", "sub_branch_name", "area"])
    o["grade"] = "comprehensive"
    o["opened_on"] = pd.NaT
    o.to_parquet(out / "outlets.parquet")

    issued = _times(rng, n, "2015-01-01", "2017-01-01", 8.5, 17.0)
    outlet = rng.choice(o["outlet_id"], n, p=[0.35, 0.15, 0.25, 0.15, 0.10])
    kind = rng.choice(["high_counter", "low_counter", "vip"], n, p=[0.55, 0.3, 0.15])
    scale = np.where(outlet == "110101", 11.0, 6.0) * np.where(kind == "vip", 0.4, 1.0) * np.where(issued.dt.hour.isin([10, 11]), 1.5, 1.0)
    wait = np.rint(rng.exponential(scale * 60)).astype(int)
    wait = np.where(rng.random(n) < 0.02, -rng.integers(1, 30, n), wait)
    called = issued + pd.to_timedelta(wait, unit="s")
    pd.DataFrame(
        {"ticket_id": [f"Q{i:07d}" for i in range(n)], "outlet_id": outlet, "business_type": kind, "issued_at": issued,
         "called_at": called.where(rng.random(n) > 0.05), "source_file": "queue_tickets.csv", "source_line": np.arange(n) + 2}
    ).to_parquet(out / "queue_tickets.parquet")  # fmt: skip

    arrived = _times(rng, n, "2015-01-01", "2017-01-01", 0, 24)
    center = rng.choice(["95599", "credit_card"], n, p=[0.7, 0.3])
    better = np.where((center == "credit_card") & (arrived.dt.year == 2015), 3.0, 1.0)
    w = np.rint(rng.exponential(np.where(center == "95599", 15, 20) * better)).astype(int)
    u = rng.random(n)
    answered = u < np.where(better > 1, 0.80, 0.93)
    abandoned = ~answered & (u < 0.995)
    pd.DataFrame(
        {"call_id": [f"K{i:07d}" for i in range(n)], "center": center, "arrived_at": arrived,
         "answered_at": (arrived + pd.to_timedelta(w, unit="s")).where(answered),
         "abandoned_at": (arrived + pd.to_timedelta(rng.integers(1, 90, n), unit="s")).where(abandoned),
         "source_file": "calls.csv", "source_line": np.arange(n) + 2}
    ).to_parquet(out / "calls.parquet")  # fmt: skip

    txn = _times(rng, n, "2015-01-01", "2017-01-01", 8.5, 17.0)
    r_outlet = rng.choice(o["outlet_id"], n)
    good = np.where(r_outlet == "110301", 0.82, 0.93)
    rating = np.where(rng.random(n) < good, rng.choice([4, 5], n), rng.choice([1, 2, 3], n))
    pd.DataFrame(
        {"event_id": [f"E{i:07d}" for i in range(n)], "outlet_id": r_outlet, "teller_id": rng.choice(["T1", "T2", "T3"], n), "txn_at": txn,
         "rating": pd.array(np.where(rng.random(n) < 0.15, None, rating), dtype="Int64"), "source_file": "teller_ratings.csv", "source_line": np.arange(n) + 2}
    ).to_parquet(out / "teller_ratings.parquet")  # fmt: skip
    return out

"""Service events: hand-computed cases for every definition, on DuckDB and on Spark, the two engines
against each other, the command line, and the real Anonymous Bank day end to end."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import config
from analysis.events import calls_table, ratings_table, waits_table
from analysis.events.callcentre import calls
from analysis.events.queues import waits
from analysis.events.tellers import ratings

from conftest import FIXTURES_DIR, costly_examples

FIXTURES = FIXTURES_DIR
ANON_DAY = FIXTURES / "anonymous_bank_calls_one_day.csv"

SPARK = [pytest.mark.spark, pytest.mark.xdist_group("spark")]
ENGINES = ["duckdb", pytest.param("spark", marks=SPARK)]


@pytest.fixture(params=ENGINES)
def engine(request):
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    return request.param


def at(clock: str, day: str = "2016-01-04") -> pd.Timestamp:
    return pd.Timestamp(f"{day} {clock}")


def quiet(fn, *args, **kwargs):
    """Run, swallowing the 'records rejected' warning (the tests assert the counts instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------------------ calls
def hand_calls() -> pd.DataFrame:
    """Eleven calls to 95599 arriving at 09:00:00 on 2016-01-04 (waits relative to that)."""
    t0 = at("09:00:00")
    s = lambda n: t0 + pd.Timedelta(seconds=n)
    rows = [
        ("c1", "95599", t0, s(20), None),  # answered exactly at the threshold: within it
        ("c2", "95599", t0, s(21), None),  # answered one second late
        ("c3", "95599", t0, s(-30), None),  # clock skew -30 s: wait 0, within threshold, skew counted
        ("c4", "95599", t0, s(-61), None),  # -61 s: impossible, rejected
        ("c5", "95599", t0, None, s(5)),  # abandoned after 5 s
        ("c6", "95599", t0, None, s(6)),  # abandoned after 6 s
        ("c7", "95599", t0, None, None),  # neither answered nor abandoned: offered, unresolved
        ("c8", "95599", t0, s(100), s(50)),  # answered (answered_at wins over abandoned_at)
        ("c9", "95599", t0, s(-60), None),  # skew exactly -60 s: still counted as 0
        ("c10", "95599", t0, None, s(-10)),  # abandoned with -10 s skew: abandon wait 0
        ("c11", None, t0, s(5), None),  # no center: rejected
    ]
    return pd.DataFrame(rows, columns=["call_id", "center", "arrived_at", "answered_at", "abandoned_at"])


def test_calls_hand_case_default_definitions(engine):
    r = quiet(calls, hand_calls(), engine)
    row = r.table.iloc[0]
    assert len(r.table) == 1 and row["center"] == "95599" and row["date"] == pd.Timestamp("2016-01-04")
    # usable: c1 c2 c3 c5 c6 c7 c8 c9 c10 = 9; rejected c4 (-61 s) and c11 (no center)
    assert row["offered"] == 9
    assert row["answered"] == 5  # c1 c2 c3 c8 c9
    assert row["answered_in_threshold"] == 3  # c1 (20 s), c3 (0), c9 (0)
    assert row["abandoned"] == 3  # c5 c6 c10
    assert row["unresolved"] == 1  # c7
    assert row["short_abandoned"] == 0
    assert row["answer_rate"] == 5 / 9
    assert row["service_level"] == 3 / 9
    assert row["abandon_rate"] == 3 / 9
    assert row["mean_wait_answered"] == (20 + 21 + 0 + 100 + 0) / 5  # 28.2 s
    assert row["skew_clamped"] == 3  # c3 c9 c10
    assert r.counts["records"] == 11 and r.counts["used"] == 9 and r.counts["rejected"] == 2
    assert r.counts["reasons"] == {
        "answered_at before arrived_at by more than 60 s: impossible": 1,
        "center missing": 1,
    }
    rejected = r.rejected_frame().sort_values("call_id")
    assert rejected["call_id"].tolist() == ["c11", "c4"]
    assert rejected["reason"].tolist() == ["center missing", "answered_at before arrived_at by more than 60 s: impossible"]


@pytest.mark.parametrize(
    ("short_abandon", "offered", "abandoned", "short"),
    [
        (0, 9, 3, 0),  # 0 = no short abandons (even c10, abandoned after 0 s, stays offered)
        (5, 7, 1, 2),  # c5 (5 s <= 5) and c10 (0 s) leave the offered count; c6 (6 s) stays
        (6, 6, 0, 3),  # c6 too
    ],
)
def test_calls_short_abandons_leave_the_offered_count(short_abandon, offered, abandoned, short):
    row = quiet(calls_table, hand_calls(), short_abandon=short_abandon).iloc[0]
    assert (row["offered"], row["abandoned"], row["short_abandoned"]) == (offered, abandoned, short)
    assert row["answer_rate"] == 5 / offered and row["service_level"] == 3 / offered
    assert row["offered"] == row["answered"] + row["abandoned"] + row["unresolved"]
    assert row["records"] == row["offered"] + row["short_abandoned"]


@pytest.mark.parametrize(("threshold", "within"), [(19, 2), (20, 3), (21, 4), (100, 5), (0, 2)])
def test_calls_threshold_edge(threshold, within):
    # waits of the answered calls: 20, 21, 0 (skew), 100, 0 (skew): "within" counts waits <= threshold
    row = quiet(calls_table, hand_calls(), threshold=threshold).iloc[0]
    assert row["answered_in_threshold"] == within


def test_calls_text_sources_bad_values_are_rejected_with_reasons(tmp_path):
    csv = tmp_path / "calls.csv"
    csv.write_text(
        "\ufeffcall_id,center,arrived_at,answered_at,abandoned_at\n"
        "a,95599,2016-01-04 09:00:00,2016-01-04 09:00:10,\n"
        "b,credit_card,2016-01-04T10:00:00,,2016-01-04 10:01:00\n"
        "c,95599,yesterday,,\n"
        "d,95599,2016-01-04 09:00:00,25:00,\n"
        "e,95599,,2016-01-04 09:00:10,\n"
        "f,95599,2016-01-05 23:59:50,2016-01-06 00:00:15,\n",
        encoding="utf-8",
    )
    r = quiet(calls, csv)
    t = r.table.set_index(["center", "date"])
    assert t.loc[("95599", pd.Timestamp("2016-01-04")), "answered_in_threshold"] == 1  # a: 10 s
    assert t.loc[("credit_card", pd.Timestamp("2016-01-04")), "abandoned"] == 1  # b
    # f crosses midnight: counted on its arrival date, wait 25 s (not within 20 s)
    f = t.loc[("95599", pd.Timestamp("2016-01-05"))]
    assert (f["answered"], f["answered_in_threshold"], f["mean_wait_answered"]) == (1, 0, 25.0)
    assert r.counts["reasons"] == {
        "answered_at is not a date-time": 1,
        "arrived_at is not a date-time": 1,
        "arrived_at missing": 1,
    }
    assert r.counts["records"] == 6 and r.counts["used"] == 3


def test_calls_group_by_hour_and_weekday():
    df = hand_calls()
    df.loc[df["call_id"] == "c2", "arrived_at"] = at("14:10:00", "2016-01-09")  # a Saturday
    df.loc[df["call_id"] == "c2", "answered_at"] = at("14:10:05", "2016-01-09")
    t = quiet(calls_table, df, by=["center", "weekday", "hour"])
    assert t[["weekday", "hour", "offered", "answered_in_threshold"]].values.tolist() == [[1, 9, 8, 3], [6, 14, 1, 1]]
    half = quiet(calls_table, df, by="half_hour")
    assert half["half_hour"].tolist() == [18, 28]  # 09:00-09:30 and 14:00-14:30


def test_calls_period_keeps_arrivals_in_it():
    df = hand_calls()
    df.loc[df["call_id"] == "c1", ["arrived_at", "answered_at"]] = [at("09:00:00", "2015-12-31"), at("09:00:20", "2015-12-31")]
    t = quiet(calls_table, df, period="2016")
    assert t["date"].tolist() == [pd.Timestamp("2016-01-04")] and t["offered"].iloc[0] == 8


def test_calls_rejects_bad_parameters_and_missing_columns(tmp_path):
    with pytest.raises(ValueError, match="threshold"):
        calls_table(hand_calls(), threshold=-1)
    with pytest.raises(ValueError, match="cannot group by"):
        calls_table(hand_calls(), by=["outlet_id"])
    csv = tmp_path / "x.csv"
    csv.write_text("call_id,center,arrived_at\n1,95599,2016-01-01 00:00:00\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"x\.csv.*answered_at") as err:
        calls_table(csv)
    assert "column(s) missing" in str(err.value)  # the clean door's message: names every missing column and the headers found


# ------------------------------------------------------------------------------------------ waits
def hand_tickets() -> pd.DataFrame:
    t0 = at("10:00:00")
    s = lambda n: t0 + pd.Timedelta(seconds=n)
    rows = [
        ("t1", "O1", "high_counter", t0, s(600)),  # exactly 10 minutes: not over
        ("t2", "O1", "high_counter", t0, s(601)),  # over 10 minutes
        ("t3", "O1", "high_counter", t0, s(-30)),  # skew: wait 0
        ("t4", "O1", "high_counter", t0, s(-61)),  # impossible: rejected
        ("t5", "O1", "high_counter", t0, None),  # left before being called
        ("t6", "O1", "high_counter", t0, s(300)),
        ("t7", "O1", "vip", t0, s(60)),
    ]
    return pd.DataFrame(rows, columns=["ticket_id", "outlet_id", "business_type", "issued_at", "called_at"])


def test_waits_hand_case(engine):
    r = quiet(waits, hand_tickets(), engine)
    hc = r.table.set_index("business_type").loc["high_counter"]
    assert (hc["tickets"], hc["called"], hc["left"]) == (5, 4, 1)
    assert hc["mean_wait"] == (600 + 601 + 0 + 300) / 4 / 60  # 375.25 s = 6.254 min
    # p90 of [0, 300, 600, 601]: position 0.9 * 3 = 2.7 -> 600 + 0.7 * (601 - 600) = 600.7 s
    assert hc["p90_wait"] == pytest.approx(600.7 / 60, abs=1e-12)
    assert (hc["over_10min"], hc["share_over_10min"], hc["skew_clamped"]) == (1, 0.25, 1)
    vip = r.table.set_index("business_type").loc["vip"]
    assert (vip["tickets"], vip["mean_wait"], vip["p90_wait"], vip["share_over_10min"]) == (1, 1.0, 1.0, 0.0)
    assert r.counts["rejected"] == 1 and r.rejected_frame()["ticket_id"].tolist() == ["t4"]


def test_waits_heatmap_keys():
    t = quiet(waits_table, hand_tickets(), by=["weekday", "hour"])
    assert t[["weekday", "hour", "tickets", "called"]].values.tolist() == [[1, 10, 6, 5]]


# ---------------------------------------------------------------------------------------- ratings
def test_ratings_hand_case(engine, tmp_path):
    csv = tmp_path / "teller_ratings.csv"
    csv.write_text(
        "event_id,outlet_id,teller_id,txn_at,rating\n"
        "1,O1,T1,2016-01-04 09:00:00,5\n"
        "2,O1,T1,2016-01-05 09:00:00,4\n"
        "3,O1,T2,2016-01-06 09:00:00,3\n"
        "4,O1,T2,2016-01-07 09:00:00,\n"  # not rated
        "5,O1,T2,2016-01-08 09:00:00,1\n"
        "6,O1,T2,2016-01-09 09:00:00,6\n"  # out of range: rejected
        "7,O1,T1,2016-01-10 09:00:00,4.5\n"  # not a whole number: rejected
        "8,O1,T1,2016-01-31 23:59:59,4\n"
        "9,O2,T9,2016-02-01 00:00:00,2\n",
        encoding="utf-8",
    )
    r = quiet(ratings, csv, engine)
    o1 = r.table.set_index(["outlet_id", "month"]).loc[("O1", "2016-01")]
    # transactions 1 2 3 4 5 8 = 6; rated 5 (not 4); satisfied 5, 4, 4 = 3
    assert (o1["transactions"], o1["rated"], o1["satisfied"]) == (6, 5, 3)
    assert o1["rating_rate"] == 5 / 6 and o1["satisfaction"] == 3 / 5
    o2 = r.table.set_index(["outlet_id", "month"]).loc[("O2", "2016-02")]
    assert (o2["transactions"], o2["rated"], o2["satisfaction"]) == (1, 1, 0.0)
    assert r.counts["reasons"] == {"rating is not a whole number from 1 to 5": 2}


def test_ratings_by_teller_and_nobody_rated():
    df = pd.DataFrame(
        {"event_id": [1, 2], "outlet_id": ["O1", "O1"], "teller_id": ["T1", "T2"], "txn_at": [at("09:00:00")] * 2, "rating": pd.array([None, 5], dtype="Int64")}
    )
    t = ratings_table(df, by=["teller_id"])
    assert t["rated"].tolist() == [0, 1]
    assert math.isnan(t["satisfaction"].iloc[0]) and t["satisfaction"].iloc[1] == 1.0  # 0 rated: no ratio


# ------------------------------------------------------------------------- DuckDB against Spark
def random_events(n: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 90, n), unit="s")
    wait = pd.to_timedelta(rng.integers(-90, 1500, n), unit="s")
    some = lambda p: rng.random(n) < p
    return {
        "calls": pd.DataFrame(
            {
                "call_id": [f"C{i}" for i in range(n)],
                "center": rng.choice(["95599", "credit_card"], n),
                "arrived_at": start,
                "answered_at": (start + wait).where(some(0.8)),
                "abandoned_at": (start + wait / 3).where(some(0.5)),
            }
        ),
        "queue_tickets": pd.DataFrame(
            {
                "ticket_id": [f"T{i}" for i in range(n)],
                "outlet_id": rng.choice(["110001", "110002", "110003"], n),
                "business_type": rng.choice(["high_counter", "low_counter", "vip"], n),
                "issued_at": start,
                "called_at": (start + wait).where(some(0.95)),
            }
        ),
        "teller_ratings": pd.DataFrame(
            {
                "event_id": [f"E{i}" for i in range(n)],
                "outlet_id": rng.choice(["110001", "110002"], n),
                "teller_id": rng.choice(["t1", "t2", "t3"], n),
                "txn_at": start,
                "rating": pd.array(np.where(some(0.2), None, rng.integers(1, 6, n)), dtype="Int64"),
            }
        ),
    }


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_give_identical_tables(spark_session, tmp_path):
    data = random_events(4000, seed=6)
    # as a folder of Parquet files and as CSV text, so both readers of both engines are covered
    for name, df in data.items():
        folder = tmp_path / name
        folder.mkdir()
        df.iloc[:2000].to_parquet(folder / "part-0.parquet")
        # the second file with nanosecond timestamps, as `clean` writes them (Spark needs a conversion)
        times = [c for c in df.columns if c.endswith("_at")]
        df.iloc[2000:].astype({c: "datetime64[ns]" for c in times}).to_parquet(folder / "part-1.parquet")
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    jobs = [
        (calls, "calls", {"short_abandon": 5}),
        (calls, "calls", {"by": ["center", "half_hour"], "threshold": 30}),
        (waits, "queue_tickets", {}),
        (waits, "queue_tickets", {"by": ["weekday", "hour"]}),
        (ratings, "teller_ratings", {}),
        (ratings, "teller_ratings", {"by": ["outlet_id", "teller_id", "month"]}),
    ]
    for i, (fn, name, kwargs) in enumerate(jobs):
        sources = [tmp_path / name] + ([tmp_path / f"{name}.csv"] if i % 2 == 0 else [])  # CSV once per source
        for source in sources:
            d = quiet(fn, source, "duckdb", **kwargs)
            s = quiet(fn, source, "spark", **kwargs)
            pd.testing.assert_frame_equal(d.table, s.table, check_exact=True)
            assert d.counts == s.counts
            if d.counts["rejected"]:
                key = d.rejected_frame().columns[1]
                pd.testing.assert_frame_equal(
                    d.rejected_frame().sort_values(key).reset_index(drop=True)[[key, "reason"]],
                    s.rejected_frame().sort_values(key).reset_index(drop=True)[[key, "reason"]],
                )
    assert d.table["transactions"].sum() > 0  # the data did reach the tables


# ------------------------------------------------------------------- property: a pandas reference
def pandas_reference(df: pd.DataFrame, threshold: float, short: float) -> pd.DataFrame:
    """The definitions restated with plain pandas, row by row (slow, obvious)."""
    out = {}
    for rec in df.itertuples():
        ans = None if pd.isna(rec.answered_at) else int((rec.answered_at - rec.arrived_at).total_seconds())
        ab = None if pd.isna(rec.abandoned_at) else int((rec.abandoned_at - rec.arrived_at).total_seconds())
        if (ans is not None and ans < -60) or (ab is not None and ab < -60):
            continue
        g = out.setdefault(rec.arrived_at.normalize(), dict(records=0, short=0, answered=0, within=0, abandoned=0, wait=0, skew=0))
        g["records"] += 1
        g["skew"] += (ans is not None and ans < 0) or (ab is not None and ab < 0)
        if ans is not None:
            g["answered"] += 1
            g["within"] += max(ans, 0) <= threshold
            g["wait"] += max(ans, 0)
        elif ab is not None:
            if short > 0 and max(ab, 0) <= short:
                g["short"] += 1
            else:
                g["abandoned"] += 1
    rows = []
    for day, g in sorted(out.items()):
        offered = g["records"] - g["short"]
        rows.append([day, offered, g["answered"], g["within"], g["abandoned"], g["skew"], g["wait"] / g["answered"] if g["answered"] else np.nan])
    return pd.DataFrame(rows, columns=["date", "offered", "answered", "answered_in_threshold", "abandoned", "skew_clamped", "mean_wait_answered"])


event = st.tuples(
    st.integers(0, 3 * 86400 - 1),  # arrival second within three days
    st.one_of(st.none(), st.integers(-100, 400)),  # answer wait
    st.one_of(st.none(), st.integers(-100, 400)),  # abandon wait
)


# each example is a DuckDB query and its pandas restatement (about 0.2 s of CPU)
@settings(max_examples=costly_examples(ci=15, random=40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event, min_size=1, max_size=40), st.sampled_from([0, 20]), st.sampled_from([0, 3, 30]))
def test_calls_match_a_plain_restatement_of_the_definitions(events, threshold, short):
    t0 = pd.Timestamp("2016-03-01")
    sec = lambda n: t0 + pd.Timedelta(seconds=n)
    df = pd.DataFrame(
        [(f"c{i}", "95599", sec(a), None if w is None else sec(a + w), None if b is None else sec(a + b)) for i, (a, w, b) in enumerate(events)],
        columns=["call_id", "center", "arrived_at", "answered_at", "abandoned_at"],
    )
    got = quiet(calls, df, threshold=threshold, short_abandon=short)
    want = pandas_reference(df, threshold, short)
    cols = list(want.columns)
    pd.testing.assert_frame_equal(got.table[cols].reset_index(drop=True), want, check_dtype=False)
    assert got.counts["records"] == len(df) == got.counts["used"] + got.counts["rejected"]
    t = got.table
    assert (t["offered"] == t["answered"] + t["abandoned"] + t["unresolved"]).all()
    assert ((t["service_level"] <= t["answer_rate"]) | t["answer_rate"].isna()).all()


# ---------------------------------------------------------------- the real Anonymous Bank day
def independent_anonymous_bank_counts() -> dict:
    """Counts from the raw file with plain pandas, written separately from the adapter."""
    raw = pd.read_csv(ANON_DAY, dtype=str)
    sec = lambda col: raw[col].str.split(":", expand=True).astype(int).pipe(lambda p: p[0] * 3600 + p[1] * 60 + p[2])
    queued = raw["q_start"] != "0:00:00"
    agent = raw["outcome"] == "AGENT"
    no_service_start = agent & (raw["ser_start"] == "0:00:00")
    served = agent & ~no_service_start
    abandoned = (raw["outcome"] == "HANG") & queued
    asked = sec("q_start").where(queued, sec("vru_exit"))
    wait = (sec("ser_start") - asked)[served]
    assert (wait >= -60).all()  # no crossing of midnight among served calls of this day
    wait = wait.clip(lower=0)
    return {
        "phantom": int((raw["outcome"] == "PHANTOM").sum()),
        "not_offered": int(((raw["outcome"] == "HANG") & ~queued).sum()),
        "no_service_start": int(no_service_start.sum()),
        "answered": int(served.sum()),
        "abandoned": int(abandoned.sum()),
        "within_20": int((wait <= 20).sum()),
        "mean_wait": float(wait.mean()),
        "rows": len(raw),
    }


def test_anonymous_bank_day_end_to_end(engine, tmp_path):
    want = independent_anonymous_bank_counts()
    # hand-checked once against the file: 1,511 AGENT, 846 HANG (728 after queueing), 18 PHANTOM
    assert (want["phantom"], want["not_offered"], want["no_service_start"], want["answered"], want["abandoned"]) == (18, 118, 1, 1510, 728)
    r = quiet(calls, ANON_DAY, engine)  # format recognised from the header
    row = r.table.iloc[0]
    assert (row["center"], row["date"]) == ("anonymous_bank", pd.Timestamp("2010-08-01"))
    assert row["offered"] == want["answered"] + want["abandoned"] == 2238
    assert (row["answered"], row["abandoned"], row["unresolved"]) == (want["answered"], want["abandoned"], 0)
    assert row["answered_in_threshold"] == want["within_20"]
    assert row["mean_wait_answered"] == pytest.approx(want["mean_wait"], rel=1e-12)
    assert row["answer_rate"] == want["answered"] / 2238
    c = r.counts
    assert c["records"] == want["rows"] == c["used"] + c["rejected"] + c["excluded"]
    assert (c["excluded"], c["rejected"]) == (want["phantom"] + want["not_offered"], want["no_service_start"])
    left = r.rejected_frame()
    assert len(left) == 137 and left["source_line"].between(2, 2376).all()
    assert left.loc[left["reason"].str.startswith("rejected"), "source_line"].tolist() == [2117]  # call 37823


def test_anonymous_bank_midnight_and_bad_rows():
    from analysis.events import anonymous_bank

    raw = pd.DataFrame(
        [
            # queued at 23:59:50, answered at 00:00:15 the next day: a 25 s wait
            ["AA0101", "1", "0", "0", "PS", "1999-01-01", "23:59:40", "23:59:50", "10", "23:59:50", "0:00:16", "26", "AGENT", "0:00:15", "0:02:00", "105", "AVI"],
            # never queued, served straight from the voice unit: asked at vru_exit
            ["AA0102", "2", "0", "0", "PS", "1999-01-01", "10:00:00", "10:00:08", "8", "0:00:00", "0:00:00", "0", "AGENT", "10:00:07", "10:03:00", "173", "AVI"],
            ["AA0103", "3", "0", "0", "PS", "1999-01-01", "10:00:00", "10:00:08", "8", "10:00:08", "10:00:50", "42", "HANG", "0:00:00", "0:00:00", "0", "NO_SERVER"],
            ["AA0104", "x?", "0", "0", "PS", "1999-01-01", "10:61:00", "10:00:08", "8", "0:00:00", "0:00:00", "0", "AGENT", "10:00:07", "10:03:00", "173", "AVI"],
        ],
        columns=anonymous_bank.COLUMNS,
    )
    calls_df, left = anonymous_bank.convert(raw, source_file="day.csv")
    assert calls_df["arrived_at"].tolist() == [pd.Timestamp("1999-01-01 23:59:50"), pd.Timestamp("1999-01-01 10:00:08"), pd.Timestamp("1999-01-01 10:00:08")]
    assert calls_df["answered_at"].iloc[0] == pd.Timestamp("1999-01-02 00:00:15")
    assert calls_df["abandoned_at"].iloc[2] == pd.Timestamp("1999-01-01 10:00:50")
    assert calls_df["call_id"].tolist() == ["day:2", "day:3", "day:4"]
    assert left["reason"].tolist() == ["rejected: vru_entry is not a time of day (H:MM:SS)"] and left["source_line"].tolist() == [5]
    t = quiet(calls_table, calls_df)
    assert t[["date", "answered", "answered_in_threshold", "abandoned", "skew_clamped"]].values.tolist() == [
        [pd.Timestamp("1999-01-01"), 2, 1, 1, 1]  # 25 s (late), -1 s skew -> 0 (within); one abandon
    ]


# -------------------------------------------------------------------------------- command line
def run_cli(*argv: str) -> int:
    from analysis.cli import main

    return main(list(argv))


def test_cli_calls_writes_table_and_rejected_records(tmp_path, capsys):
    src = tmp_path / "calls.parquet"
    hand_calls().to_parquet(src)
    out = tmp_path / "out" / "calls.csv"
    assert run_cli("calls", "--input", str(src), "--out", str(out), "--short-abandon", "5") == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table[["center", "date", "offered", "answered", "abandoned", "short_abandoned"]].values.tolist() == [[95599, "2016-01-04", 7, 5, 1, 2]]
    rejected = pd.read_csv(tmp_path / "out" / "calls.rejected.csv", encoding="utf-8-sig")
    assert sorted(rejected["call_id"]) == ["c11", "c4"]
    captured = capsys.readouterr()
    assert "11 records = 9 used + 2 rejected" in captured.out
    assert "warning: 1 records left out: center missing" in captured.err


def test_cli_waits_ratings_and_the_real_day(tmp_path, capsys):
    hand_tickets().to_csv(tmp_path / "t.csv", index=False)
    assert run_cli("waits", "--input", str(tmp_path / "t.csv"), "--out", str(tmp_path / "w.csv"), "--by", "outlet_id,business_type") == 0
    w = pd.read_csv(tmp_path / "w.csv", encoding="utf-8-sig")
    assert w["tickets"].tolist() == [5, 1]
    df = pd.DataFrame({"event_id": [1], "outlet_id": ["O1"], "teller_id": ["T"], "txn_at": ["2016-05-01 10:00:00"], "rating": [5]})
    df.to_csv(tmp_path / "r.csv", index=False)
    assert run_cli("ratings", "--input", str(tmp_path / "r.csv"), "--out", str(tmp_path / "r_out.csv")) == 0
    assert not (tmp_path / "r_out.rejected.csv").exists()
    assert pd.read_csv(tmp_path / "r_out.csv", encoding="utf-8-sig")["month"].tolist() == ["2016-05"]
    assert run_cli("calls", "--input", str(ANON_DAY), "--out", str(tmp_path / "ab.csv")) == 0
    assert pd.read_csv(tmp_path / "ab.csv", encoding="utf-8-sig")["offered"].tolist() == [2238]
    assert len(pd.read_csv(tmp_path / "ab.rejected.csv", encoding="utf-8-sig")) == 137


def test_cli_bad_input_exits_2(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("call_id,center\n1,95599\n", encoding="utf-8")
    assert run_cli("calls", "--input", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.csv")) == 2
    assert "bad.csv" in capsys.readouterr().err
    assert run_cli("calls", "--input", str(tmp_path / "missing"), "--out", str(tmp_path / "o.csv")) == 2
    capsys.readouterr()
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("call_id,center,arrived_at,answered_at,abandoned_at\n1,信用卡中心,2016-01-01 00:00:00,,\n".encode("gb18030"))
    # GB18030/GBK reads the way `clean` reads it (issue 11: it used to be refused whole)
    assert run_cli("calls", "--input", str(gbk), "--out", str(tmp_path / "o.csv")) == 0
    assert "1 records = 1 used + 0 rejected" in capsys.readouterr().out
    assert "信用卡中心" in (tmp_path / "o.csv").read_text(encoding="utf-8-sig")


def test_importing_the_package_does_not_import_ibis():
    import subprocess
    import sys

    code = "import sys, analysis.events, analysis.events.callcentre, analysis.cli; print('ibis' in sys.modules, 'duckdb' in sys.modules, 'pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(config.PACKAGE_DIR.parent)})
    assert out.stdout.strip() == "False False False"


# ------------------------------------------------------------------------ large synthetic set
def test_write_large_calls_is_chunked_deterministic_and_exercises_every_rule(tmp_path):
    import pyarrow.parquet as pq

    from analysis.events.synthetic import write_large_calls

    a = write_large_calls(tmp_path / "a", seed=7, rows=25_000, chunk_rows=10_000)
    b = write_large_calls(tmp_path / "b", seed=7, rows=25_000, chunk_rows=10_000)
    files = sorted(p.name for p in a.iterdir())
    assert files == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.num_rows == 25_000 and ta.equals(tb)
    assert ta.column_names == ["call_id", "center", "arrived_at", "answered_at", "abandoned_at"]
    assert len(set(ta.column("call_id").to_pylist())) == 25_000
    r = quiet(calls, a)
    assert r.counts["records"] == 25_000 and r.counts["rejected"] > 0 and r.counts["skew_clamped"] > 0
    assert r.table["unresolved"].sum() > 0 and set(r.table["center"]) == {"95599", "credit_card"}
    with pytest.raises(ValueError, match="holds other files"):
        (tmp_path / "c").mkdir()
        (tmp_path / "c" / "keep.txt").write_text("x")
        write_large_calls(tmp_path / "c", rows=10)


def test_cli_generate_large_then_calls(tmp_path, capsys):
    out = tmp_path / "large"
    assert run_cli("generate", "--scale", "large", "--out", str(out), "--rows", "2500", "--seed", "3") == 0
    assert [p.name for p in out.iterdir()] == ["part-00000.parquet"]
    assert run_cli("calls", "--input", str(out), "--out", str(tmp_path / "c.csv")) == 0
    t = pd.read_csv(tmp_path / "c.csv", encoding="utf-8-sig")
    rejected = tmp_path / "c.rejected.csv"
    n_rejected = len(pd.read_csv(rejected, encoding="utf-8-sig")) if rejected.exists() else 0
    assert t["records"].sum() + n_rejected == 2500
    assert run_cli("generate", "--scale", "large", "--rows", "10") == 2  # refuses to write into data/raw (other files there)
    assert "holds other files" in capsys.readouterr().err

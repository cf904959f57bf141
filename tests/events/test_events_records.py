"""The event commands reject bad records with their file, line and reason instead of aborting
(issue 11): a rating of 1e30, a bad byte in a GB18030 file, a value that is not a number or a time,
a future date. Hand-made fixtures in tests/fixtures/events/ (README there); every count by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.events.callcentre import calls
from analysis.events.queues import waits
from analysis.events.tellers import ratings

from conftest import FIXTURES_DIR

FIX = FIXTURES_DIR / "events"


def run_cli(*argv: str) -> int:
    from analysis.cli import main

    return main(list(argv))


def rejected_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_ratings_cli_rejects_1e30_text_and_dates_with_lines(tmp_path, capsys):
    out = tmp_path / "r.csv"
    assert run_cli("ratings", "--input", str(FIX / "ratings_bad_records.csv"), "--out", str(out)) == 0
    # 9 records: R1, R5 (not rated), R6 used; R2 1e30, R3 很好, R7 inf, R8 1e400, R4 2036, R9 1985 rejected
    assert "9 records = 3 used + 6 rejected" in capsys.readouterr().out
    rej = rejected_csv(tmp_path / "r.rejected.csv")
    got = dict(zip(rej["event_id"], zip(rej["source_line"].astype(int), rej["reason"])))
    assert got == {
        "R2": (3, "rating is not a whole number from 1 to 5"),
        "R3": (4, "rating is not a whole number from 1 to 5"),
        "R4": (5, got["R4"][1]),
        "R7": (8, "rating is not a whole number from 1 to 5"),
        "R8": (9, "rating is not a whole number from 1 to 5"),
        "R9": (10, "txn_at: before 1990-01-01, not plausible"),
    }
    assert got["R4"][1].startswith("txn_at: after today (") and got["R4"][1].endswith("in the future")
    assert set(rej["source_file"]) == {str(FIX / "ratings_bad_records.csv")}
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"outlet_id": str})
    # outlet 33180101: R1 (5) only; 33180102: R5 (not rated) and R6 (3)
    assert table[["outlet_id", "transactions", "rated", "satisfied"]].values.tolist() == [["33180101", 1, 1, 1], ["33180102", 2, 1, 0]]


def test_ratings_float_column_of_1e30_is_rejected_not_an_engine_error():
    df = pd.DataFrame({"event_id": ["a", "b", "c"], "outlet_id": ["O1"] * 3, "teller_id": ["T"] * 3,
                       "txn_at": pd.to_datetime(["2016-01-04 09:00"] * 3), "rating": [5.0, 1e30, float("inf")]})
    res = ratings(df)
    assert res.counts["records"] == 3 and res.counts["used"] == 1 and res.counts["rejected"] == 2
    assert res.counts["reasons"] == {"rating is not a whole number from 1 to 5": 2}


def test_waits_gb18030_bad_byte_rejects_its_line_only(tmp_path, capsys):
    out = tmp_path / "w.csv"
    assert run_cli("waits", "--input", str(FIX / "queue_tickets_gb18030_bad_byte.csv"), "--out", str(out)) == 0
    # 7 tickets: Q1, Q2, Q6 (left, not called), Q7 used; Q3 bad byte, Q4 下午三点, Q5 2036 rejected
    assert "7 records = 4 used + 3 rejected" in capsys.readouterr().out
    rej = rejected_csv(tmp_path / "w.rejected.csv")
    assert rej["source_line"].astype(int).tolist() == [4, 5, 6]
    assert rej["reason"].tolist()[0] == "bytes that are neither UTF-8 nor GB18030 (the line cannot be read)"
    assert "Q3,33180101" in rej["raw_record"].tolist()[0]
    assert rej["reason"].tolist()[1] == "called_at is not a date-time" and rej["ticket_id"].tolist()[1] == "Q4"
    assert rej["reason"].tolist()[2].startswith("issued_at: after today")
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"outlet_id": str})
    # Chinese headers through the source's aliases; GB18030 labels decoded
    assert table[["outlet_id", "business_type", "tickets", "called", "left"]].values.tolist() == [
        ["33180101", "低柜", 1, 1, 0], ["33180101", "高柜", 1, 1, 0], ["33180102", "低柜", 1, 1, 0], ["33180102", "高柜", 1, 0, 1]]
    assert table["mean_wait"].tolist()[:3] == [2.5, 6.0, 14.0]


def test_calls_unbalanced_quote_and_future_date(tmp_path):
    res = calls(FIX / "calls_bad_records.csv")
    c = res.counts
    assert (c["records"], c["used"], c["rejected"]) == (6, 4, 2)
    rej = res.rejected_frame()
    assert rej["source_line"].tolist() == [4, 6]
    assert rej["reason"].tolist()[0] == "answered_at is not a date-time"
    assert rej["reason"].tolist()[1].startswith("arrived_at: after today")
    # the unbalanced quote stays on its line (C4 is one record, C5 and C6 still read)
    t = res.table.set_index("center")
    assert t["records"].to_dict() == {'"95599': 1, "95599": 2, "信用卡中心": 1}


@pytest.mark.parametrize("fn, name", [(ratings, "ratings_bad_records.csv"), (waits, "queue_tickets_gb18030_bad_byte.csv"), (calls, "calls_bad_records.csv")])
def test_every_record_is_used_or_rejected(fn, name):
    res = fn(FIX / name)
    c = res.counts
    data_lines = len((FIX / name).read_bytes().splitlines()) - 1
    assert c["records"] == data_lines == c["used"] + c["rejected"] + c["excluded"]
    assert len(res.rejected_frame()) == c["rejected"]
    assert sum(c["reasons"].values()) == c["rejected"]


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
@pytest.mark.parametrize("fn, name", [(ratings, "ratings_bad_records.csv"), (waits, "queue_tickets_gb18030_bad_byte.csv"), (calls, "calls_bad_records.csv")])
def test_spark_rejects_the_same_records_with_the_same_lines(spark_session, fn, name):
    duck, spark = fn(FIX / name, "duckdb"), fn(FIX / name, "spark")
    assert spark.counts == duck.counts
    cols = ["reason", "source_file", "source_line"]
    assert spark.rejected_frame()[cols].values.tolist() == duck.rejected_frame()[cols].values.tolist()
    pd.testing.assert_frame_equal(spark.table, duck.table)

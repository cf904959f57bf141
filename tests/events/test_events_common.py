"""analysis.events.common.run: the rejected records of a clean table (fetched by a second query)
equal those an export gives (collected in the one scan), record for record."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.events import queues, tellers
from analysis.events.common import is_clean_table


def _twice(tmp_path, frame: pd.DataFrame, name: str):
    export, clean = tmp_path / "export", tmp_path / "processed"
    for d in (export, clean):
        d.mkdir()
        frame.to_parquet(d / f"{name}.parquet", index=False)
    (clean / "clean_report.json").write_text(json.dumps({}))
    return export / f"{name}.parquet", clean / f"{name}.parquet"


def test_is_clean_table(tmp_path):
    export, clean = _twice(tmp_path, pd.DataFrame({"a": [1]}), "t")
    assert is_clean_table(clean) and is_clean_table(str(clean))
    assert not is_clean_table(export) and not is_clean_table("") and not is_clean_table(pd.DataFrame())
    assert not is_clean_table(tmp_path / "processed" / "missing.parquet")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_ratings_rejected_the_same_on_a_clean_table_and_an_export(tmp_path):
    frame = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(7)],
        "outlet_id": ["O1", "O1", None, "O2", "O2", "O1", "O2"],
        "teller_id": ["t1"] * 7,
        "txn_at": pd.to_datetime(["2016-01-02 09:00", "2016-01-02 10:00", "2016-01-03 09:00", "2016-02-01 09:00",
                                  "2016-02-01 11:00", "2016-03-01 09:00", "2016-03-02 09:00"]),
        "rating": pd.array([5, 9, 4, 3, None, 0, 4], dtype="Int64"),
        "source_file": ["柜员服务评价_2016.csv"] * 7,
        "source_line": [2, 3, 4, 5, 6, 7, 8],
    })
    export, clean = _twice(tmp_path, frame, "teller_ratings")
    a = tellers.ratings(export, by=["outlet_id"])
    b = tellers.ratings(clean, by=["outlet_id"])
    assert a.counts == b.counts
    assert (a.counts["records"], a.counts["used"], a.counts["rejected"]) == (7, 4, 3)  # 9 and 0 off the scale, one without outlet
    assert a.rejected_arrow.equals(b.rejected_arrow)
    assert a.rejected_arrow.column("source_line").to_pylist() == [3, 4, 7]
    assert a.arrow.equals(b.arrow)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_waits_rejected_the_same_and_none_fetched_when_there_are_none(tmp_path):
    frame = pd.DataFrame({
        "ticket_id": ["k1", "k2", "k3", "k4"],
        "outlet_id": ["O1", "O1", "O2", "O2"],
        "business_type": ["vip", "high_counter", "vip", "low_counter"],
        "issued_at": pd.to_datetime(["2016-01-02 09:00:00", "2016-01-02 09:10:00", "2016-01-02 09:20:00", "2016-01-02 09:30:00"]),
        "called_at": pd.to_datetime(["2016-01-02 09:05:00", "2016-01-02 09:00:00", None, "2016-01-02 09:31:00"]),
        "source_file": ["q.csv"] * 4, "source_line": [2, 3, 4, 5],
    })
    export, clean = _twice(tmp_path, frame, "queue_tickets")
    a, b = queues.waits(export, by=["outlet_id"]), queues.waits(clean, by=["outlet_id"])
    assert a.counts == b.counts and a.counts["rejected"] == 1  # k2 called 10 minutes before it was issued
    assert a.rejected_arrow.equals(b.rejected_arrow) and a.arrow.equals(b.arrow)
    (tmp_path / "fine").mkdir()
    _, clean = _twice(tmp_path / "fine", frame.drop(index=1), "queue_tickets")
    b = queues.waits(clean, by=["outlet_id"])
    assert b.counts["rejected"] == 0 and b.rejected_arrow.num_rows == 0 and b.counts["records"] == 3


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_second_query_on_spark_gives_what_duckdb_gives(spark_session, tmp_path):
    frame = pd.DataFrame({
        "event_id": ["e1", "e2", "e3"], "outlet_id": ["O1", "O1", "O2"], "teller_id": ["t1"] * 3,
        "txn_at": pd.to_datetime(["2016-01-02 09:00", "2016-01-02 10:00", "2016-01-03 09:00"]),
        "rating": pd.array([5, 9, 4], dtype="Int64"), "source_file": ["r.csv"] * 3, "source_line": [2, 3, 4],
    })
    _, clean = _twice(tmp_path, frame, "teller_ratings")
    d, s = tellers.ratings(clean, "duckdb", by=["outlet_id"]), tellers.ratings(clean, "spark", by=["outlet_id"])
    assert d.counts == s.counts and d.counts["rejected"] == 1
    assert d.rejected_arrow.column("source_line").to_pylist() == s.rejected_arrow.column("source_line").to_pylist() == [3]
    assert d.table.equals(s.table)

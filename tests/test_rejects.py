"""One closed set of rejection reasons (analysis.rejects), with Chinese and English text, used by the
event readers, the complaints reader and the clean door's fixed kinds (issue 15)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.rejects import Reason


def test_codes_are_unique_and_every_reason_has_both_texts():
    codes = [r.code for r in Reason]
    assert len(codes) == len(set(codes))
    fields = {"column": "c", "reference": "r", "seconds": 60, "low": 1, "high": 5, "today": "2016-12-31", "earliest": "1990-01-01"}
    for r in Reason:
        assert r.zh(**fields) and r.en(**fields) and Reason.of_code(r.code) is r
    with pytest.raises(KeyError, match="unknown reason code"):
        Reason.of_code("because")


def test_texts_name_the_column():
    assert Reason.MISSING.en(column="outlet_id") == "outlet_id missing"
    assert Reason.TIME_ORDER.en(column="called_at", reference="issued_at", seconds=60) == "called_at before issued_at by more than 60 s: impossible"
    assert Reason.NOT_ON_SCALE.zh(column="rating", low=1, high=5) == "rating 不是 1 到 5 的整数"
    assert Reason.MISSING.both(column="txn_at") == "txn_at 为空（txn_at missing）"
    assert Reason.IN_FUTURE.en(column="txn_at", today="2026-12-01") == "txn_at: after today (2026-12-01), in the future"
    assert Reason.TOO_EARLY.zh(column="txn_at", earliest="1990-01-01") == "txn_at 早于 1990-01-01，不可信"


def test_event_rules_take_only_codes_of_the_closed_set():
    import ibis

    from analysis.events.common import reason_code

    t = ibis.memtable(pd.DataFrame({"x": [1, None]}))
    expr, labels = reason_code([(t.x.isnull(), Reason.MISSING, {"column": "x"}), (None, Reason.MALFORMED, {})])
    assert labels == ["x missing"]  # the rule that cannot happen is left out
    with pytest.raises(TypeError, match="Reason"):
        reason_code([(t.x.isnull(), "x missing", {})])


def test_the_event_readers_count_rejections_by_the_codes_text():
    from analysis.events import ratings_table

    df = pd.DataFrame({"event_id": ["e1", "e2", "e3"], "outlet_id": ["o1", None, "o1"], "teller_id": ["t"] * 3,
                       "txn_at": pd.to_datetime(["2016-01-04 09:00"] * 3), "rating": pd.array([5, 4, 7], dtype="Int64")})
    counts = ratings_table(df, by=["outlet_id"]).attrs["counts"]
    assert counts["reasons"] == {Reason.MISSING.en(column="outlet_id"): 1, Reason.NOT_ON_SCALE.en(column="rating", low=1, high=5): 1}

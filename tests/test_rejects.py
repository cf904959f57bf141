"""One closed set of rejection reasons (analysis.rejects), with Chinese and English text, and the one
collector of rejected records (``Rejected``, ``stream_csv``) used by the clean door, the event readers
and the complaints reader (issue 15)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import AccountingError, InvariantError
from analysis.rejects import Reason, Rejected, stream_csv


def test_codes_are_unique_and_every_reason_has_both_texts():
    codes = [r.code for r in Reason]
    assert len(codes) == len(set(codes))
    fields = {"column": "c", "reference": "r", "seconds": 60, "low": 1, "high": 5, "today": "2016-12-31", "earliest": "1990-01-01",
              "minimum": "0", "maximum": "100", "target": "outlets.outlet_id", "what": "w"}
    for r in Reason:
        assert r.zh(**fields) and r.en(**fields) and Reason.of_code(r.code) is r
        assert Reason.of_text(r.en(**fields)) is r  # every English text leads back to its code
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


def test_a_text_outside_the_closed_set_is_a_bug_and_the_most_specific_template_wins():
    with pytest.raises(InvariantError, match="none of the closed set"):
        Reason.of_text("because I said so")
    assert Reason.of_text("rejected: outcome missing") is Reason.NOT_USABLE  # not MISSING of a column "rejected: outcome"
    assert Reason.of_text("excluded: did not ask for an agent") is Reason.EXCLUDED
    assert Reason.of_text("duplicate complaint_id") is Reason.DUPLICATE_ID


def test_the_collector_counts_by_code_and_text_and_checks_the_accounting():
    rej = Rejected("f.csv")
    frame = pd.DataFrame({"file": ["f.csv"] * 2, "line": [3, 7], "reason": ["a", "b"],
                          "reason_kind": ["received_at missing; resolved before received", "received_at missing"]})
    rej.add_frame(frame, kinds="reason_kind")
    rej.count(Reason.MALFORMED, 2, text="line 9: cut off")
    rej.add_streamed(2)
    assert rej.records == 4
    assert rej.codes == {"missing": 2, "resolved_before_received": 1, "malformed": 2}
    assert rej.reasons() == {"line 9: cut off": 2, "received_at missing": 2, "resolved before received": 1}
    # a kind outside the set's texts counts under the code given beside it
    rej.add_frame(pd.DataFrame({"reason_kind": ["t (受理时间): in the future"], "reason_code": ["in_future"]}), kinds="reason_kind", codes="reason_code")
    assert rej.codes["in_future"] == 1 and rej.texts["t (受理时间): in the future"] == 1 and rej.records == 5
    with pytest.raises(InvariantError, match="do not pair up"):
        rej.add_frame(pd.DataFrame({"k": ["a missing; b missing"], "c": ["missing"]}), kinds="k", codes="c")
    rej = Rejected("f.csv")
    rej.add_frame(frame, kinds="reason_kind")
    rej.add_streamed(2)
    rej.check(10, 6)
    with pytest.raises(AccountingError, match=r"f\.csv: rows in 10 != clean 5 \+ rejected 4"):
        rej.check(10, 5)
    with pytest.raises(AccountingError, match="counted 3 but collected 2"):
        rej.check_collected(3)
    with pytest.raises(TypeError, match="Reason"):
        rej.count("missing")


def test_the_collectors_csv_neutralises_formulas_from_pandas_and_from_arrow(tmp_path):
    import pyarrow as pa

    rej = Rejected()
    rej.add_frame(pd.DataFrame({"reason": ["x missing"], "cell": ["=HYPERLINK(1)"], "kind": ["k"]}))
    assert rej.write_csv(tmp_path / "p.csv", drop=["kind"]) == 1
    assert (tmp_path / "p.csv").read_bytes() == "\ufeffreason,cell\nx missing,'=HYPERLINK(1)\n".encode()
    rej = Rejected()
    rej.add_arrow(pa.table({"reason": ["x missing"], "cell": ["@SUM(1)"], "n": [-3]}))
    assert rej.write_csv(tmp_path / "a.csv") == 1
    assert (tmp_path / "a.csv").read_bytes() == '\ufeff"reason","cell","n"\n"x missing","\'@SUM(1)",-3\n'.encode()
    assert Rejected().write_csv(tmp_path / "e.csv", empty=pd.DataFrame(columns=["file", "line", "reason"])) == 0
    assert (tmp_path / "e.csv").read_bytes() == "\ufefffile,line,reason\n".encode()


def test_the_streamed_csv_neutralises_each_cell_and_writes_no_file_without_a_row(tmp_path):
    path = tmp_path / "r.csv"
    with stream_csv(path, ["file", "line", "reason", "v"]) as out:
        out.write(["f.csv", 3, "+1 not a number", None])
        out.write(["f.csv", 4, "-5", "-cmd"])
    assert out.rows == 2
    assert path.read_bytes() == "\ufefffile,line,reason,v\r\nf.csv,3,'+1 not a number,\r\nf.csv,4,-5,'-cmd\r\n".encode()
    with stream_csv(path, ["file", "line", "reason"]):
        pass
    assert not path.exists()  # no rejected row: no file, and the old one is gone
    with pytest.raises(RuntimeError), stream_csv(path, ["file"]) as out:
        out.write(["x"])
        raise RuntimeError("the engine failed")
    assert not path.exists() and not list(tmp_path.iterdir())  # a failed stream leaves nothing behind

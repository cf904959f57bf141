"""Each check kind of the clean door on tiny hand-made files, with exact values and exact reasons.

One hand-made source definition (``probe``) has a column of every type, a reference to the master
data and a ``not_before`` check; a file has one line per form to parse or rule to break, and every
value and every reason below is worked out by hand from the rules in ``analysis.clean.rules``.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

import analysis.clean.stage as stage
from analysis.clean.engine import clean_files
from analysis.clean.sources import load_source

PROBE_YAML = """\
name: probe
title: 探针
grain: row
files: ["probe*.csv"]
key: [rid]
columns:
  rid: {type: id, title: 编号}
  nm: {type: name, title: 名称, nullable: true}
  num: {type: number, title: 金额, nullable: true}
  cnt: {type: int, title: 评价, nullable: true, values: {非常满意: 5, 满意: 4}, min: 0, max: 10}
  pct: {type: percent, title: 比例, nullable: true}
  flag: {type: bool, title: 是否, nullable: true}
  ts: {type: datetime, title: 时间, nullable: true}
  day: {type: date, title: 日期, nullable: true}
  mon: {type: month, title: 月份, nullable: true}
  cat: {type: category, title: 类别, nullable: true, values: {高柜: high, 低柜: low}}
  unit: {type: id, title: 网点, nullable: true, references: outlets.outlet_id}
  req: {type: text, title: 必填}
  later: {type: datetime, title: 叫号, nullable: true}
checks:
  - {kind: not_before, column: later, reference: ts, tolerance_seconds: 60}
"""
HEADER = "编号,名称,金额,评价,比例,是否,时间,日期,月份,类别,网点,必填,叫号"
#        rid nm num cnt pct flag ts day mon cat unit req later
LINES_A = [
    '33180101.0,城 东 支 行,"1,234,567.5",非常满意,90%,是,2016-03-05 09:02:29,2016-03-05,2016-03,高柜,33180101,x,2016-03-05 09:03:00',  # 2
    ' 3318 0102 ,A B,"(1,234)",满意,0.9,Y,2016/3/5 9:05,2016年3月5日,2016/3,低柜,,x,-',  # 3
    "r3,,１２３,3,n/a,false,2016年3月5日,2016.3.5,2016年3月,中柜,,x,",  # 4
    "r4,,1.5e3,-,-,0,20160305 090229,20160305,201603,无数据,,x,",  # 5
    "r5,,n/a,４,,无数据,20160305,42434,2016-03-05,高 柜,,x,",  # 6
    "r6,,,,,√,2016.3.5,2016/3/5,2016年3月5日,,,x,",  # 7
    "r7,,,,,×,42434,,,,,x,",  # 8
    "r8,,1e400,2.5,,maybe,,,,,,x,",  # 9
    "r9,,abc,11,150%x,,,2016-03-05 10:00:00,13,,99999999,x,",  # 10
    "r10,,,-5,%,,,1989-12-31,,,,,",  # 11
    "r11,,,,,,2099-01-01 00:00:00,,,,,x,",  # 12
    "r12,,,,,,2016-03-05 09:02:00,,,,,x,2016-03-05 09:01:00",  # 13 60 s early: within the tolerance
    "r13,,,,,,2016-03-05 09:02:01,,,,,x,2016-03-05 09:01:00",  # 14 61 s early
    "合计,,,,,,,,,,,x,",  # 15
    "r14,,,,,,,,,,,x,",  # 16
    "r14,,,,,,,,,,,x,",  # 17 exact duplicate of 16
    "r14,,,,,,,,,,,y,",  # 18 same key, other values
    "r15,,1",  # 19 wrong field count
    "r16,,2,,,,,,,,,x,",  # 20
    "r17,,,",  # 21 cut off
]
LINES_B = [
    "b1,,,,90,,,,,,,x,",  # 2 a bare value > 1.5: this file's bare values are percentage points
    "b2,,,,0.5,,,,,,,x,",  # 3
    "b3,,,,80%,,,,,,,x,",  # 4
    "33180101,,,,,,,,,,,x,",  # 5 the key of probe_a.csv line 2
    "r16,,,,,,,,,,,x,",  # 6 the key of probe_a.csv line 20
    "r14,,,,,,,,,,,x,",  # 7 r14 is clean in probe_a.csv (line 16)
    "b4,,,,,,,,,,,x,",  # 8
    "b4,,,,,,,,,,,x,",  # 9 duplicate within this file
]
KNOWN = {"outlets.outlet_id": frozenset({"33180101", "33180102"})}
TODAY = dt.date.today()


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    p = tmp_path_factory.mktemp("src") / "probe.yaml"
    p.write_text(PROBE_YAML, encoding="utf-8")
    return load_source(p)


@pytest.fixture(scope="module", params=["stream", "small"])
def result(probe, tmp_path_factory, request):
    """The two files cleaned, staged by the streamed path and by the small-file reader."""
    d = tmp_path_factory.mktemp("raw")
    a = d / "probe_a.csv"
    b = d / "probe_b.csv"
    a.write_text("\n".join([HEADER, *LINES_A]) + "\n", encoding="utf-8")
    b.write_bytes(("\r\n".join([HEADER, *LINES_B]) + "\r\n").encode("gb18030"))
    if request.param == "stream":
        return clean_files(probe, [a, b], KNOWN)
    orig = stage._stage_csv
    stage._stage_csv = stage._stage_tables
    try:
        return clean_files(probe, [a, b], KNOWN)
    finally:
        stage._stage_csv = orig


def rows(result, file="probe_a.csv"):
    t = result.table
    return t[t["source_file"] == file].set_index("source_line")


def reasons(result, file="probe_a.csv"):
    r = result.rejected
    r = r[r["file"] == file]
    return dict(zip(r["line"].astype(int), r["reason"]))


def test_accounting_per_file(result):
    a, b = result.report.files
    assert (a.file, a.rows_in, a.clean, a.rejected) == ("probe_a.csv", 20, 10, 10)
    assert (b.file, b.rows_in, b.clean, b.rejected) == ("probe_b.csv", 8, 4, 4)
    assert (b.encoding, a.encoding) == ("gb18030", "utf-8")
    for f in (a, b):
        assert f.rows_in == f.clean + f.rejected
        assert f.clean == int((result.table["source_file"] == f.file).sum())
        assert f.rejected == int((result.rejected["file"] == f.file).sum())
    assert (result.report.rows_in, result.report.clean, result.report.rejected) == (28, 14, 14)


def test_clean_lines(result):
    assert rows(result).index.tolist() == [2, 3, 4, 5, 6, 7, 8, 13, 16, 20]
    assert rows(result, "probe_b.csv").index.tolist() == [2, 3, 4, 8]


def test_ids_and_names(result):
    t = rows(result)
    assert t.loc[2, "rid"] == "33180101"  # an Excel float
    assert t.loc[3, "rid"] == "33180102"  # spaces inside and around
    assert t.loc[2, "nm"] == "城东支行"  # spaces between Chinese characters removed
    assert t.loc[3, "nm"] == "A B"  # ... but not between Latin letters
    assert t.loc[2, "unit"] == "33180101"


def test_numbers(result):
    t = rows(result)
    assert t.loc[2, "num"] == 1234567.5
    assert t.loc[3, "num"] == -1234.0
    assert t.loc[4, "num"] == 123.0  # full-width digits
    assert t.loc[5, "num"] == 1500.0
    assert math.isnan(t.loc[6, "num"])  # n/a is empty
    assert reasons(result)[9].startswith("num (金额): not a finite number: '1e400'; ")
    assert reasons(result)[10].startswith("num (金额): not a number: 'abc'; ")


def test_ints_with_labels(result):
    t = rows(result)
    assert t.loc[[2, 3, 4, 5, 6], "cnt"].tolist() == [5, 4, 3, pd.NA, 4]
    assert str(t["cnt"].dtype) == "Int64"
    assert "cnt (评价): not a whole number: '2.5'" in reasons(result)[9]


def test_percentages_and_the_points_rule(result):
    a, b = rows(result), rows(result, "probe_b.csv")
    assert a.loc[2, "pct"] == 0.9 and a.loc[3, "pct"] == 0.9  # 90% and a bare fraction
    assert math.isnan(a.loc[4, "pct"]) and math.isnan(a.loc[5, "pct"])  # n/a, -
    # probe_b.csv has a bare 90: its bare values are points, 0.5 is 0.5 %
    assert b.loc[2, "pct"] == pytest.approx(0.9) and b.loc[3, "pct"] == pytest.approx(0.005) and b.loc[4, "pct"] == pytest.approx(0.8)
    assert "pct (比例): not a percentage: '150%x'" in reasons(result)[10]
    assert "pct (比例): not a percentage: '%'" in reasons(result)[11]


def test_bools(result):
    t = rows(result)
    assert t.loc[[2, 3, 4, 5, 6, 7, 8], "flag"].tolist() == [True, True, False, False, pd.NA, True, False]
    assert reasons(result)[9] == "num (金额): not a finite number: '1e400'; cnt (评价): not a whole number: '2.5'; flag (是否): not yes/no: 'maybe'"


def test_datetimes_dates_and_months(result):
    t = rows(result)
    ts = pd.Timestamp
    assert t.loc[[2, 3, 4, 5, 6, 7, 8], "ts"].tolist() == [
        ts("2016-03-05 09:02:29"), ts("2016-03-05 09:05"), ts("2016-03-05"), ts("2016-03-05 09:02:29"),
        ts("2016-03-05"), ts("2016-03-05"), ts("2016-03-05"),  # 20160305, 2016.3.5, Excel serial 42434
    ]
    assert t.loc[[2, 3, 4, 5, 6, 7], "day"].tolist() == [ts("2016-03-05")] * 6
    assert t.loc[[2, 3, 4, 5, 6, 7], "mon"].tolist() == ["2016-03"] * 6
    assert pd.isna(t.loc[3, "later"])  # "-" is empty
    r = reasons(result)
    assert "day (日期): expected a date without a time: '2016-03-05 10:00:00'" in r[10]
    assert "mon (月份): not a month: '13'" in r[10]
    assert r[12] == f"ts (时间): after today ({TODAY:%Y-%m-%d}), in the future: '2099-01-01 00:00:00'"


def test_categories_unmapped_kept_with_label(result):
    t = rows(result)
    assert t.loc[[2, 3, 4, 5, 6], "cat"].tolist() == ["high", "low", "unmapped", pd.NA, "high"]
    assert t.loc[[2, 3, 4, 5], "cat_label"].tolist() == [pd.NA, pd.NA, "中柜", pd.NA]
    assert result.report.files[0].unmapped == {"cat": {"中柜": 1}}


def test_required_min_max_and_reference(result):
    r = reasons(result)
    assert r[10] == (
        "num (金额): not a number: 'abc'; pct (比例): not a percentage: '150%x'; "
        "day (日期): expected a date without a time: '2016-03-05 10:00:00'; mon (月份): not a month: '13'; "
        "cnt (评价): above the maximum 10: 11; unit (网点): '99999999' is not in outlets.outlet_id (unknown unit)"
    )
    assert r[11] == (
        "pct (比例): not a percentage: '%'; day (日期): before 1990-01-01, not plausible: '1989-12-31'; "
        "cnt (评价): below the minimum 0: -5; req (必填): empty, but required"
    )


def test_not_before_with_tolerance(result):
    assert 13 in rows(result).index  # called 60 s before issued: within the 60 s tolerance
    assert reasons(result)[14] == "later (叫号) is before ts by more than 60 s: impossible"


def test_summary_duplicates_keys_and_malformed(result):
    r = reasons(result)
    assert r[15] == "summary row (合计), not a record"
    assert r[17] == "duplicate of line 16"
    assert r[18] == "repeats the key (rid=r14) of line 16 with different values"
    assert r[19] == "record has 3 fields, the header has 13"
    assert r[21] == "record has 4 fields, the header has 13 (the file looks cut off)"
    assert sorted(r) == [9, 10, 11, 12, 14, 15, 17, 18, 19, 21]


def test_keys_repeated_across_files(result):
    r = reasons(result, "probe_b.csv")
    assert r == {
        5: "repeats the key of probe_a.csv line 2",
        6: "repeats the key of probe_a.csv line 20",
        7: "repeats the key of probe_a.csv line 16",
        9: "duplicate of line 8",
    }


def test_reason_counts(result):
    a, b = result.report.files
    assert a.reasons == {
        "num (金额): not a finite number": 1, "cnt (评价): not a whole number": 1, "flag (是否): not yes/no": 1,
        "num (金额): not a number": 1, "pct (比例): not a percentage": 2, "day (日期): expected a date without a time": 1,
        "mon (月份): not a month": 1, "cnt (评价): above the maximum 10": 1, "unit (网点): not in outlets.outlet_id": 1,
        "day (日期): before 1990-01-01": 1, "cnt (评价): below the minimum 0": 1, "req (必填): empty, but required": 1,
        "ts (时间): in the future": 1, "later (叫号) is before ts by more than 60 s: impossible": 1,
        "summary row (合计)": 1, "duplicate row": 1, "repeated key": 1, "malformed record": 2,
    }
    assert b.reasons == {"key repeated in another file": 3, "duplicate row": 1}


def test_rejected_rows_keep_the_original_text(result):
    r = result.rejected.set_index(["file", "line"])
    assert r.loc[("probe_a.csv", 9), "num"] == "1e400"
    assert r.loc[("probe_a.csv", 10), "cnt"] == "11"
    assert r.loc[("probe_a.csv", 19), "raw_record"] == "r15,,1"


# --------------------------------------------------------------------------------- DuckDB and Spark
def _clean_tables(out, names):
    from analysis.clean.engine import load_table

    return {n: load_table(n, out).sort_values(["source_file", "source_line"]).reset_index(drop=True) for n in names}


def _rejected(out, names):
    from analysis import config

    found = set()
    for n in names:
        p = config.rejected_dir(out) / f"{n}.csv"
        if p.exists():
            r = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            found |= {(n, f, int(line), reason) for f, line, reason in zip(r["file"], r["line"], r["reason"])}
    return found


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_duckdb_and_spark_clean_the_sample_identically(spark_session, tmp_path):
    from analysis import config
    from analysis.clean.engine import clean_all

    quiet = lambda s: None
    duck = clean_all(config.RAW_DIR, tmp_path / "duckdb", engine="duckdb", echo=quiet)
    spark = clean_all(config.RAW_DIR, tmp_path / "spark", engine="spark", echo=quiet)
    assert list(duck) == list(spark)
    for name in duck:
        d, s = duck[name], spark[name]
        assert (s.rows_in, s.clean, s.rejected, s.reasons) == (d.rows_in, d.clean, d.rejected, d.reasons), name
        assert [(f.file, f.rows_in, f.clean, f.rejected, f.unmapped) for f in s.files] == [(f.file, f.rows_in, f.clean, f.rejected, f.unmapped) for f in d.files], name
    names = [n for n in duck if not duck[n].missing]
    dt_, st_ = _clean_tables(tmp_path / "duckdb", names), _clean_tables(tmp_path / "spark", names)
    for name in names:
        a, b = dt_[name], st_[name]
        assert list(a.columns) == list(b.columns) and len(a) == len(b), name
        for c in a.columns:
            if pd.api.types.is_float_dtype(a[c]):
                ok = [(math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(a[c].astype(float), b[c].astype(float))]
                assert all(ok), (name, c, a[c][[not k for k in ok]].head().tolist(), b[c][[not k for k in ok]].head().tolist())
            else:
                pd.testing.assert_series_equal(a[c], b[c], check_names=False, obj=f"{name}.{c}")
    assert _rejected(tmp_path / "spark", names) == _rejected(tmp_path / "duckdb", names)

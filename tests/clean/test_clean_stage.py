"""Staging a raw CSV: the streamed path (Arrow split, chunks, iconv) against the small-file reader.

The same content staged by ``_stage_csv`` (quote-free lines split by Arrow, the rest through the
record rules, the file read in chunks) and by ``_stage_tables`` (``analysis.io.read.read_tables``,
the whole file at once) must give the same clean table and the same rejected rows, whatever the
chunk size.
"""

from __future__ import annotations

import functools

import pandas as pd
import pyarrow.parquet as pq
import pytest

import analysis.clean.stage as stage
from analysis import config
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
  day: {type: date, title: 日期, nullable: true}
  req: {type: text, title: 必填}
"""

HEADER = "编号,名称,金额,日期,必填"
# Every kind of line the fast split cannot take, between quote-free ones. Line numbers as staged.
BODY = [
    "a1,甲,1,2016-03-05,x",  # 2 quote-free
    'a2,"乙,丙","1,234",2016-03-06,x',  # 3 quoted fields with the delimiter inside
    'a3,"丁',  # 4 a quoted field over two lines: one record, line 4
    '戊",3,2016/3/7,x',  # 5
    "",  # 6 blank
    ",,,,",  # 7 only delimiters: blank
    'a4,"He said ""hi""",4,,x',  # 8 doubled quotes
    "a5,己,5",  # 9 too few fields
    "a6,庚,6,,x,,",  # 10 empty extra fields: dropped
    "a7,辛,7,,x,9",  # 11 a non-empty extra field: malformed
    "a8,壬,8,20160308,x",  # 12
    "a8,壬,8,20160308,x",  # 13 exact duplicate of line 12
    "a9,癸,abc,,",  # 14 two bad cells
    'a10,"子',  # 15 an unbalanced quote in the last record: the file is cut off
]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    p = tmp_path_factory.mktemp("src") / "probe.yaml"
    p.write_text(PROBE_YAML, encoding="utf-8")
    return load_source(p)


def write(path, lines, encoding="gb18030", newline="\r\n"):
    path.write_bytes((newline.join([HEADER, *lines])).encode(encoding))
    return path


def staged(src, path, workdir):
    """The staged records and malformed records of one file, as DataFrames."""
    workdir.mkdir(exist_ok=True)
    (st,) = stage.stage_file(src, path, workdir, 0)
    rows = pq.read_table(st.parquet).to_pandas()
    bad = pq.read_table(st.malformed_parquet).to_pandas()
    return st, rows, bad


EXPECTED_LINES = [2, 3, 4, 8, 10, 12, 14]  # the clean rows' lines; 13 is the duplicate, 14 is bad
EXPECTED_REJECTED = [
    (9, "record has 3 fields, the header has 5"),
    (11, "record has 6 fields, the header has 5"),
    (13, "duplicate of line 12"),
    (14, "num (金额): not a number: 'abc'; req (必填): empty, but required"),
    (15, "a quoted field is still open at the end of the file (the file looks cut off)"),
]


def rejected_rows(res):
    r = res.rejected
    return sorted(zip(r["line"].astype(int), r["reason"]))


def test_stream_and_small_file_paths_agree_row_for_row(probe, tmp_path, monkeypatch):
    path = write(tmp_path / "probe_a.csv", BODY)
    fast = clean_files(probe, [path])
    monkeypatch.setattr(stage, "_stage_csv", stage._stage_tables)
    small = clean_files(probe, [path])
    monkeypatch.undo()

    # the expected result, by hand
    t = fast.table
    assert t["source_line"].tolist() == [2, 3, 4, 8, 10, 12]
    assert t["rid"].tolist() == ["a1", "a2", "a3", "a4", "a6", "a8"]
    assert t["nm"].tolist() == ["甲", "乙,丙", "丁戊", 'He said "hi"', "庚", "壬"]  # the newline in 丁/戊 is a space between Chinese characters, removed
    assert t["num"].tolist() == [1.0, 1234.0, 3.0, 4.0, 6.0, 8.0]
    assert t["day"].tolist()[:3] == [pd.Timestamp("2016-03-05"), pd.Timestamp("2016-03-06"), pd.Timestamp("2016-03-07")]
    assert rejected_rows(fast) == EXPECTED_REJECTED
    f = fast.report.files[0]
    assert (f.rows_in, f.clean, f.rejected, f.blank_rows, f.encoding) == (11, 6, 5, 2, "gb18030")

    # and the small-file reader gives the same
    pd.testing.assert_frame_equal(fast.table, small.table)
    assert rejected_rows(small) == rejected_rows(fast)
    cols = ["file", "line", "reason", "rid", "nm", "num", "day", "req"]
    by_line = lambda r: r[cols].sort_values("line").reset_index(drop=True)
    pd.testing.assert_frame_equal(by_line(fast.rejected), by_line(small.rejected))
    s = small.report.files[0]
    assert (s.rows_in, s.clean, s.rejected, s.blank_rows) == (f.rows_in, f.clean, f.rejected, f.blank_rows)
    assert fast.report.reasons == small.report.reasons


def _norm(df):
    return df.sort_values(df.columns[0]).reset_index(drop=True)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig"])
def test_chunk_boundaries_change_nothing(probe, tmp_path, monkeypatch, encoding):
    """Records (one quoted over two lines among them) cross chunk boundaries at many offsets."""
    lines = BODY[:-1] + [f"b{i},名{i},{i},,x" for i in range(30)] + ['c1,"多', '行",1,,x', 'c2,"最后']
    path = write(tmp_path / "probe_a.csv", lines, encoding=encoding)
    st0, rows0, bad0 = staged(probe, path, tmp_path / "whole")
    assert st0.rows == len(lines) - 2 - 3 - 2  # blank 2, malformed 3 (9, 11, last), two two-line records
    assert bad0["line"].tolist() == [9, 11, len(lines) + 1]
    orig = stage._byte_chunks
    for size in (16, 64, 97, 150):
        monkeypatch.setattr(stage, "_byte_chunks", functools.partial(orig, size=size))
        st, rows, bad = staged(probe, path, tmp_path / f"chunks-{size}")
        pd.testing.assert_frame_equal(_norm(rows), _norm(rows0))
        pd.testing.assert_frame_equal(bad, bad0)
        assert (st.rows, st.malformed, st.blank_rows) == (st0.rows, st0.malformed, st0.blank_rows)
    # the two-line records are whole, with the line they start on
    by_line = dict(zip(rows0["_line"], rows0["nm"]))
    assert by_line[4] == "丁\n戊" and by_line[len(lines) - 1] == "多\n行"


def test_unbalanced_quote_mid_file_does_not_swallow_the_rest(probe, tmp_path):
    """An unbalanced quote ends with its line when the next line is a record on its own (issue 11):
    that line is read as written, quote kept, and the records after it are all there."""
    path = write(tmp_path / "probe_a.csv", ["a1,甲,1,,x", 'a2,"乙,2,,x', "a3,丙,3,,x", "a4,丁,4,,x"], encoding="utf-8", newline="\n")
    st, rows, bad = staged(probe, path, tmp_path / "w")
    assert sorted(rows["_line"].tolist()) == [2, 3, 4, 5]
    assert dict(zip(rows["_line"], rows["nm"]))[3] == '"乙'
    assert bad.empty
    assert st.rows_in == 4
    # the small-file reader reads it the same way
    (tmp_path / "w2").mkdir()
    small = stage._stage_tables(probe, path, (tmp_path / "w2" / "s.parquet", tmp_path / "w2" / "m.parquet"))
    assert sorted(pq.read_table(small.parquet).to_pandas()["_line"].tolist()) == [2, 3, 4, 5]


def test_undecodable_line_is_one_malformed_record(probe, tmp_path, monkeypatch):
    """A byte that is neither GB18030 nor UTF-8 costs its line, not the file, on both paths."""
    good = [line.encode("gb18030") for line in [HEADER, "a1,甲,1,,x", "a2,乙,2,,x", "a3,丙,3,,x"]]
    data = b"\r\n".join(good[:2] + [b"a9,\x80\xff\x80,9,,x"] + good[2:]) + b"\r\n"
    path = tmp_path / "probe_a.csv"
    path.write_bytes(data)
    st, rows, bad = staged(probe, path, tmp_path / "w")
    assert rows["_line"].tolist() == [2, 4, 5] and rows["nm"].tolist() == ["甲", "乙", "丙"]
    assert bad["line"].tolist() == [3]
    assert bad["reason"].tolist() == ["bytes that are neither UTF-8 nor GB18030 (the line cannot be read)"]
    assert st.encoding == "gb18030" and st.rows_in == 4
    orig = stage._byte_chunks
    monkeypatch.setattr(stage, "_byte_chunks", functools.partial(orig, size=16))
    st2, rows2, bad2 = staged(probe, path, tmp_path / "w2")
    pd.testing.assert_frame_equal(rows2, rows)
    pd.testing.assert_frame_equal(bad2, bad)
    small = stage._stage_tables(probe, path, (tmp_path / "x.parquet", tmp_path / "y.parquet"))
    assert sorted(pq.read_table(small.parquet).to_pandas()["_line"].tolist()) == [2, 4, 5]
    assert pq.read_table(small.malformed_parquet).to_pandas()["line"].tolist() == [3]


def test_nfkc_kept_beside_the_original(probe, tmp_path):
    path = write(tmp_path / "probe_a.csv", ["ａ１,城东,１２３,,x", "a2,城东,5,,x"], encoding="utf-8", newline="\n")
    st, _, _ = staged(probe, path, tmp_path / "w")
    rows = pq.read_table(st.parquet).to_pydict()
    assert rows["rid"] == ["ａ１", "a2"] and rows["rid__n"] == ["a1", None]
    assert rows["num__n"] == ["123", None]
    assert rows["nm__n"] == [None, None]  # beyond ASCII but NFKC changes nothing


@pytest.mark.slow  # the bundled bank's exports staged whole, both ways (about 6 s of CPU in all)
@pytest.mark.parametrize("source", ["queue_tickets", "teller_ratings", "calls", "complaints", "staffing"])
def test_both_staging_paths_agree_on_the_bundled_bank(source, tmp_path):
    """Issue 10: the streamed path (Arrow split) and the small-file path (the reader's record rules
    for every line) stage the bundled bank's CSV exports identically: the same records at the same
    lines with the same cells, the same malformed records and blank lines."""
    from analysis.clean.sources import load_sources

    src = load_sources()[source]
    files = [f for f in src.files_in(config.RAW_DIR) if f.suffix == ".csv"]
    assert files
    for k, path in enumerate(files):
        a = stage._stage_csv(src, path, (tmp_path / f"a{k}.parquet", tmp_path / f"am{k}.parquet"))
        b = stage._stage_tables(src, path, (tmp_path / f"b{k}.parquet", tmp_path / f"bm{k}.parquet"))
        ra = pq.read_table(a.parquet).to_pandas().sort_values("_line").reset_index(drop=True)
        rb = pq.read_table(b.parquet).to_pandas().sort_values("_line").reset_index(drop=True)
        cols = ["_line", *a.columns]
        pd.testing.assert_frame_equal(ra[cols], rb[cols], check_dtype=False)
        ma = pq.read_table(a.malformed_parquet).to_pandas().sort_values("line")
        mb = pq.read_table(b.malformed_parquet).to_pandas().sort_values("line")
        assert ma["line"].tolist() == mb["line"].tolist(), path.name
        assert (a.rows_in, a.blank_rows) == (b.rows_in, b.blank_rows), path.name

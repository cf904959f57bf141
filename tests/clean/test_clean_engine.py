"""The cleaning door: header aliases, row accounting, rejected rows with reasons, refusals."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from analysis import config
from analysis.clean.engine import clean_all, clean_source, load_clean_report, load_table
from analysis.clean.sources import load_source, load_sources
from analysis.io.read import SourceError, read_tables
from analysis.yamlio import ConfigError

from conftest import costly_examples

OUTLETS_CSV = """机构号,网点名称,支行号,支行名称,城乡属性,网点类型
33180101,城东支行营业部,331801,城东 支行 ,市区,旗舰网点
33180102,解放路分理处,331801,城东支行,市区,基础网点
33180201,临江县支行营业部,331802,临江县支行,县域,综合网点
"""

# line 1 title, line 2 header, then records. Line numbers in comments are what the tests expect.
MYSTERY_CSV = (
    "2016年神秘人检查结果,,,,,\n"  # 1 title above the header
    "网点号,网点名称,年度,轮次,检查日期,得分\n"  # 2 header (2015-style aliases)
    "33180101,城东支行营业部,2016,1,2016年3月5日,９２.５\n"  # 3 ok, full-width score
    "33180102,解放路分理处,2016,1,2016/3/6,88\n"  # 4 ok
    ",,,,,\n"  # 5 blank
    "33180201,临江县支行营业部,2016,1,20160307,105\n"  # 6 impossible score
    "33180102,解放路分理处,2016,1,2016/3/6,88\n"  # 7 exact duplicate of line 4
    "33180102,解放路分理处,2016,1,2016/3/8,90\n"  # 8 same key as line 4, other values
    "99999999,不存在网点,2016,1,2016/3/9,91\n"  # 9 unknown outlet
    "33180201,临江县支行营业部,2016,2,2016年2月30日,abc\n"  # 10 two bad cells: both reported
    '33180101,"城东支行\n营业部",2016,2,2016-06-01,95\n'  # 11-12 a quoted newline inside a name: one record
    "合计,,,,,91.2\n"  # 13 summary row
    '33180201,"临江县支行营'  # 14 cut off mid-field
)


def write_raw(tmp_path, mystery=MYSTERY_CSV, encoding="gbk"):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "机构信息.csv").write_text(OUTLETS_CSV, encoding="utf-8-sig")
    (raw / "神秘人检查_2016.csv").write_bytes(mystery.encode(encoding))
    return raw


def test_mystery_shopper_accounting_and_reasons(tmp_path):
    raw = write_raw(tmp_path)
    out = tmp_path / "processed"
    reports = clean_all(raw, out, only=["mystery_shopper"], echo=lambda s: None)
    rep = reports["mystery_shopper"]
    assert list(reports) == ["outlets", "mystery_shopper"]  # the master data is cleaned first, for the id check
    # 9 records after the header (line 5 is blank, lines 11-12 are one record) + 1 cut-off record.
    assert (rep.rows_in, rep.clean, rep.rejected) == (10, 3, 7)

    table = load_table("mystery_shopper", out)
    assert table["source_line"].tolist() == [3, 4, 11]
    assert table["score"].tolist() == [92.5, 88.0, 95.0]
    assert table["outlet_name"].iloc[2] == "城东支行营业部"  # the newline inside the quoted name is a stray space
    assert table["checked_on"].iloc[0] == pd.Timestamp("2016-03-05")

    rej = pd.read_csv(config.rejected_dir(out) / "mystery_shopper.csv", encoding="utf-8-sig", dtype=str)
    by_line = dict(zip(rej["line"].astype(int), rej["reason"]))
    assert by_line[6] == "score (检查得分): above the maximum 100: 105.0"
    assert by_line[7] == "duplicate of line 4"
    assert by_line[8] == "repeats the key (outlet_id=33180102, year=2016, round=1) of line 4 with different values"
    assert by_line[9] == "outlet_id (网点编号): '99999999' is not in outlets.outlet_id (unknown unit)"
    assert by_line[10] == "checked_on (检查日期): not a date: '2016年2月30日'; score (检查得分): not a number: 'abc'"
    assert by_line[13] == "summary row (合计), not a record"
    assert "cut off" in by_line[14]
    # The original text is kept for the analyst, under the canonical column names.
    assert rej.loc[rej["line"] == "6", "score"].item() == "105"
    assert rep.reasons == {
        "score (检查得分): above the maximum 100": 1,
        "duplicate row": 1,
        "repeated key": 1,
        "outlet_id (网点编号): not in outlets.outlet_id": 1,
        "checked_on (检查日期): not a date": 1,
        "score (检查得分): not a number": 1,
        "summary row (合计)": 1,
        "malformed record": 1,
    }
    # the same rejections by their code in the closed set (analysis.rejects.Reason)
    assert rep.codes == {"above_maximum": 1, "duplicate_row": 1, "repeated_key": 1, "not_in_reference": 1,
                         "not_a_date": 1, "not_a_number": 1, "summary_row": 1, "malformed": 1}


def test_utf8_and_gbk_files_give_the_same_table(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ta = clean_all(write_raw(a, encoding="gbk"), a / "p", only=["mystery_shopper"], echo=lambda s: None)
    tb = clean_all(write_raw(b, encoding="utf-8"), b / "p", only=["mystery_shopper"], echo=lambda s: None)
    assert ta["mystery_shopper"].files[0].encoding == "gb18030"
    assert tb["mystery_shopper"].files[0].encoding == "utf-8"
    cols = ["outlet_id", "year", "round", "score"]
    pd.testing.assert_frame_equal(load_table("mystery_shopper", a / "p")[cols], load_table("mystery_shopper", b / "p")[cols])


def test_master_data_normalised(tmp_path):
    raw = write_raw(tmp_path)
    clean_all(raw, tmp_path / "p", only=["outlets"], echo=lambda s: None)
    t = load_table("outlets", tmp_path / "p")
    assert t["sub_branch_name"].tolist() == ["城东支行", "城东支行", "临江县支行"]
    assert t["area"].tolist() == ["urban", "urban", "county"]
    assert t["grade"].tolist() == ["flagship", "basic", "comprehensive"]


def test_missing_required_column_stops_naming_file_and_column(tmp_path):
    bad = MYSTERY_CSV.replace(",得分\n", ",备注\n", 1)
    raw = write_raw(tmp_path, mystery=bad)
    with pytest.raises(SourceError) as exc:
        clean_all(raw, tmp_path / "p", only=["mystery_shopper"], echo=lambda s: None)
    msg = str(exc.value)
    assert "神秘人检查_2016.csv" in msg and "column 'score'" in msg and "得分" in msg


def test_unreadable_workbook_stops_naming_the_file(tmp_path):
    raw = write_raw(tmp_path)
    (raw / "神秘人检查_2015.xlsx").write_bytes(b"this is not a zip file")
    with pytest.raises(SourceError, match=r"神秘人检查_2015\.xlsx: cannot read the workbook"):
        clean_all(raw, tmp_path / "p", only=["mystery_shopper"], echo=lambda s: None)


def test_workbook_sheets_title_rows_and_notes_sheet(tmp_path):
    raw = write_raw(tmp_path, mystery="网点编号,年度,轮次,检查日期,得分\n")
    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    notes["A1"] = "本表为神秘人检查结果，每轮一张工作表。"
    for rnd in (1, 2):
        ws = wb.create_sheet(f"第{rnd}轮")
        ws.append([f"2015年第{rnd}轮神秘人检查结果"])
        ws.append(["网点编号", "网点名称", "年度", "检查轮次", "检查日期", "检查得分"])
        ws.append([33180101, "城东支行营业部", 2015, rnd, pd.Timestamp(2015, 3 * rnd, 5).to_pydatetime(), 90.5 + rnd])
        ws.append([33180102.0, "解放路分理处", 2015, rnd, "2015年6月1日", "88"])
    wb.save(raw / "神秘人检查_2015.xlsx")
    reports = clean_all(raw, tmp_path / "p", only=["mystery_shopper"], echo=lambda s: None)
    files = reports["mystery_shopper"].files
    assert [f.file for f in files] == ["神秘人检查_2015.xlsx[第1轮]", "神秘人检查_2015.xlsx[第2轮]", "神秘人检查_2016.csv"]
    assert [f.header_line for f in files[:2]] == [2, 2]
    t = load_table("mystery_shopper", tmp_path / "p")
    assert t["outlet_id"].tolist() == ["33180101", "33180102"] * 2
    assert t["score"].tolist() == [91.5, 88.0, 92.5, 88.0]
    assert t["source_line"].tolist() == [3, 4, 3, 4]


def test_empty_ids_are_missing_not_unknown_units(tmp_path):
    # A complaint with no outlet (nullable unit_id) is kept; an empty required outlet id is "empty", not an unknown unit.
    raw = write_raw(tmp_path, mystery="网点编号,年度,轮次,检查日期,得分\n33180101,2016,1,2016-03-05,90\n,2016,1,2016-03-05,91\n", encoding="utf-8")
    (raw / "投诉_2016.csv").write_text(
        "投诉编号,受理时间,被投诉网点编号,投诉渠道,业务类别,投诉原因,投诉内容,是否有责,是否重大投诉,是否越级,办结时间\n"
        "TS1,2016-03-05 09:00:00,,95599,信用卡,收费问题,年费,否,否,否,\n"
        "TS2,2016-03-05 10:00:00,33180101,网点,借记卡,服务态度,态度差,是,否,否,2016-03-06 10:00:00\n",
        encoding="utf-8",
    )
    reports = clean_all(raw, tmp_path / "p", only=["outlets", "mystery_shopper"], echo=lambda s: None)
    rej = pd.read_csv(config.rejected_dir(tmp_path / "p") / "mystery_shopper.csv", encoding="utf-8-sig", dtype=str)
    assert rej["reason"].tolist() == ["outlet_id (网点编号): empty, but required"]
    assert (reports["mystery_shopper"].clean, reports["mystery_shopper"].rejected) == (1, 1)
    known = {"outlets.outlet_id": frozenset(load_table("outlets", tmp_path / "p")["outlet_id"])}
    res = clean_source(load_sources()["complaints"], raw, known)
    assert (res.report.clean, res.report.rejected) == (2, 0)
    assert res.table["unit_id"].isna().tolist() == [True, False]


def test_keys_repeated_across_files_are_rejected(tmp_path):
    raw = write_raw(tmp_path, mystery="网点编号,年度,轮次,检查日期,得分\n33180101,2016,1,2016-03-05,90\n", encoding="utf-8")
    (raw / "神秘人检查_2016_补报.csv").write_text("网点编号,年度,轮次,检查日期,得分\n33180101,2016,1,2016-03-05,91\n", encoding="utf-8")
    rep = clean_all(raw, tmp_path / "p", only=["mystery_shopper"], echo=lambda s: None)["mystery_shopper"]
    assert (rep.rows_in, rep.clean, rep.rejected) == (2, 1, 1)
    assert sum(f.clean for f in rep.files) == 1 and sum(f.rejected for f in rep.files) == 1
    rej = pd.read_csv(config.rejected_dir(tmp_path / "p") / "mystery_shopper.csv", encoding="utf-8-sig", dtype=str)
    assert rej["reason"].item() == "repeats the key of 神秘人检查_2016.csv line 2"


def test_raw_folder_is_never_written(tmp_path):
    raw = write_raw(tmp_path)

    def snapshot():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir()}

    before = snapshot()
    clean_all(raw, tmp_path / "p", only=["mystery_shopper"], echo=lambda s: None)
    assert snapshot() == before
    with pytest.raises(ValueError, match="read-only"):
        clean_all(raw, raw / "processed", only=["outlets"], echo=lambda s: None)


def test_clean_report_accounts_every_file(tmp_path):
    raw = write_raw(tmp_path)
    clean_all(raw, tmp_path / "p", only=["outlets", "mystery_shopper"], echo=lambda s: None)
    report = load_clean_report(tmp_path / "p")
    for src in report.values():
        assert src["rows_in"] == src["clean"] + src["rejected"]
        for f in src["files"]:
            assert f["rows_in"] == f["clean"] + f["rejected"] and len(f["sha256"]) == 64
    assert json.loads(config.clean_report_path(tmp_path / "p").read_text("utf-8"))["outlets"]["clean"] == 3


def test_source_definition_errors_name_file_and_field(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: Bad Name\ntitle: x\ngrain: x\nfiles: []\ncolumns:\n  a: {type: decimal, title: A}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_source(p)
    msg = str(exc.value)
    assert str(p) in msg and "field name" in msg and "field files" in msg and "field columns.a.type" in msg


def test_every_bundled_source_definition_is_valid():
    sources = load_sources()
    assert {"outlets", "mystery_shopper", "complaints", "calls", "queue_tickets", "teller_ratings"} <= set(sources)
    for src in sources.values():
        for name, target in src.references().items():
            ref_source, ref_col = target.split(".")
            assert ref_col in sources[ref_source].columns, (src.name, name, target)


# A row of random cells, some valid and some not, must end up clean or rejected: never lost.
cell = st.one_of(
    st.sampled_from(["33180101", "33180102", "x", "", "2016", "1", "5", "2016-03-05", "2016年2月30日", "88", "１０５", "合计"]),
    st.text(alphabet="0123456789,.%年月日abc城东 \"", max_size=8),
)


@given(st.lists(st.lists(cell, min_size=4, max_size=7), max_size=25), st.booleans())
# Each example of up to 25 rows is a whole clean run on DuckDB (about half a second of CPU): 8 in the
# fast tier and CI, 20 under HYPOTHESIS_PROFILE=random.
@settings(max_examples=costly_examples(ci=8, random=20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_rows_in_equal_clean_plus_rejected(tmp_path_factory, rows, cut):
    tmp = tmp_path_factory.mktemp("prop")
    lines = ["网点编号,年度,轮次,检查日期,得分"] + [",".join(f'"{c}"' if ("," in c or '"' in c) and '"' not in c else c.replace('"', "") for c in r) for r in rows]
    text = "\n".join(lines)
    if cut and len(text) > 40:
        text = text[: len(text) - 3]
    path = tmp / "神秘人检查_x.csv"
    path.write_text(text, encoding="utf-8")
    src = load_sources()["mystery_shopper"]
    res = clean_source(src, tmp)
    tables = read_tables(path, header_score=src.header_score)
    records = sum(len(t.cells) + len(t.malformed) for t in tables)
    assert res.report.rows_in == records == res.report.clean + res.report.rejected
    assert len(res.table) == res.report.clean and len(res.rejected) == res.report.rejected


def test_complaint_ids_and_texts_are_masked_before_writing(tmp_path):
    raw = write_raw(tmp_path)
    header = "投诉编号,受理时间,被投诉网点编号,投诉渠道,业务类别,投诉原因,投诉内容,是否有责,是否重大投诉,是否越级,办结时间\n"
    rows = (
        "13812345678,2016-03-05 10:00,33180101,95599,借记卡,服务态度,客户王先生来电138 1234 5678反映排队,是,否,否,2016-03-06\n"
        "TS2016001,2016-03-06 10:00,33180101,网点,信用卡,收费问题,卡号6222021234567890128被扣年费,否,否,否,2016-03-07\n"
        "TS2016002,2016年2月30日,33180101,网点,信用卡,收费问题,身份证号110101199003071233,否,否,否,\n"
    )
    (raw / "投诉_2016.csv").write_text(header + rows, encoding="gbk")
    clean_all(raw, tmp_path / "p", only=["complaints"], echo=lambda s: None)
    t = load_table("complaints", tmp_path / "p")
    assert t["complaint_id"].tolist() == ["138****5678", "TS2016001"]
    assert "1234 5678" not in t["description"].iloc[0] and "7890128" not in t["description"].iloc[1]
    rejected = (config.rejected_dir(tmp_path / "p") / "complaints.csv").read_text("utf-8-sig")
    # 110101199003071233: GB 11643 check digit 3 (weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2; weighted sum 174, mod 11 = 9 -> "3")
    assert "not a date" in rejected and "110101199003071233" not in rejected

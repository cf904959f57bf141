"""`python -m analysis inspect`: what the reader sees, each column's guessed field and why, what would
be rejected, and a draft mapping that loads the export through `complaints` as written."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from analysis import cli
from analysis.complaints.load import load_complaints
from analysis.inspect import guess_columns, guess_date_formats, inspect_file

from conftest import FIXTURES_DIR

FIX = FIXTURES_DIR / "cfpb"
SNAKE = FIX / "owain-nortal_demo-data_consumer_complaints.csv"
CLASSIC = FIX / "nobieyi00_CUNY_MSDA_R_consumer_complaints.csv"


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_draft_round_trips_through_complaints_on_a_cfpb_extract(tmp_path, capsys):
    draft = tmp_path / "draft.yaml"
    code, out, err = _cli(capsys, "inspect", SNAKE, "--out", draft)
    assert code == 0, err
    assert "source complaints" in out and "encoding   utf-8" in out and "delimiter  ','" in out and "header     line 1" in out
    assert "records    145 read, 0 malformed" in out
    m = yaml.safe_load(draft.read_text(encoding="utf-8"))
    assert m["columns"] == {"complaint_id": "complaint_id", "received_at": "date_received", "unit_id": "company", "channel": "submitted_via",
                            "category": "product", "cause": "issue", "description": "consumer_complaint_narrative"}
    assert m["date_format"] == ["%Y-%m-%d"]
    code, out, err = _cli(capsys, "complaints", "--input", SNAKE, "--mapping", draft, "--out", tmp_path / "out")
    assert code == 0, err
    assert "records in 145 = clean 145 + rejected 0" in out
    # The same table as the hand-written mapping gives.
    got = pd.read_parquet(tmp_path / "out" / "complaints.parquet")
    want = load_complaints(SNAKE, "cfpb_snake").table
    cols = ["complaint_id", "received_at", "unit_id", "channel", "category", "cause", "description", "source_line"]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), want[cols].reset_index(drop=True), check_dtype=False)


@pytest.mark.slow  # the classic CFPB export (3,186 records) inspected and trial-loaded whole
def test_similar_headers_are_reported_but_not_mapped(tmp_path):
    info = inspect_file(CLASSIC)
    by_header = {c.header: c for c in info.columns}
    assert by_header["Date received"].field == "received_at" and by_header["Date received"].exact
    assert "mapping cfpb_classic" in by_header["Date received"].why
    t = by_header["Timely response?"]
    assert t.field == "responsible" and not t.exact and "similarity 0.62" in t.why
    assert "responsible" not in info.draft["columns"]  # a guess is never mapped silently
    assert "#   responsible: Timely response?" in info.draft_yaml()
    assert by_header["Sub-product"].field is None and "taken" in by_header["Sub-product"].why
    assert info.draft["date_format"] == ["%m/%d/%Y"]
    assert (info.rows_in, info.clean) == (3186, 3186)


def test_a_bank_export_with_quirks(tmp_path):
    text = (
        "2016年投诉明细\n"  # 1 title
        "工单号,受理日期,受理渠道,业务类型,投诉原因,投诉内容,备注\n"  # 2
        "TS1,2016-03-05,12378,信用卡,服务态度,客户张三来电13812345678反映,\n"  # 3
        "TS2,2016-13-05,网点,借记卡,收费问题,乱收费,\n"  # 4 impossible date
        'TS3,2016-03-07,"95599,借记卡,收费问题,,\n'  # 5 a stray quote: read literally
        "TS4,2016-03-08,网点,借记卡\n"  # 6 too few fields
    )
    path = tmp_path / "投诉_2016.csv"
    path.write_bytes(text.encode("gb18030"))
    info = inspect_file(path)
    assert (info.source, info.encoding, info.header_line, info.records) == ("complaints", "gb18030", 2, 3)
    assert info.malformed == [(6, "record has 4 fields, the header has 7 (the file looks cut off)")]
    fields = {c.header: c.field for c in info.columns}
    assert fields == {"工单号": "complaint_id", "受理日期": "received_at", "受理渠道": "channel", "业务类型": "category",
                      "投诉原因": "cause", "投诉内容": "description", "备注": None}
    assert all("13812345678" not in s for c in info.columns for s in c.samples)  # samples are masked
    # The trial load: 4 records in; line 4 (bad date) and line 6 (malformed) rejected; line 5's '"95599' is no call centre.
    assert info.rows_in == 4 and info.clean + 2 <= 4
    lines = dict(info.rejected_examples)
    assert 4 in lines and "2016-13-05" in lines[4] and 6 in lines
    assert "trial load: records in 4" in info.text()


def test_guessing_helpers():
    g = guess_columns(["受理时间", "业务类别", "什么也不是"], "complaints")
    assert [x.field for x in g] == ["received_at", "category", None]
    assert guess_date_formats(["2016/3/5", "2016/12/31"]) == ["%Y/%m/%d"]
    assert guess_date_formats(["7/29/2013", "12/1/2013"]) == ["%m/%d/%Y"]
    assert guess_date_formats(["x"]) == []


def test_inspect_bad_input_exits_2(tmp_path, capsys):
    code, _, err = _cli(capsys, "inspect", tmp_path / "missing.csv")
    assert code == 2 and "missing.csv" in err and "file not found" in err
    code, _, err = _cli(capsys, "inspect", SNAKE, "--source", "nosuch")
    assert code == 2 and "nosuch" in err

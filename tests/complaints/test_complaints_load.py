"""Complaint exports in: mappings, row accounting on the real CFPB files, truncation, duplicates, masking."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.complaints.load import load_complaints, write_outputs
from analysis.complaints.mapping import ComplaintMapping, available_mappings, bank_layout, load_mapping
from analysis.io.read import SourceError
from analysis.masking import scan_outputs
from analysis.yamlio import ConfigError

from conftest import FIXTURES_DIR

FIX = FIXTURES_DIR / "cfpb"
CLASSIC = FIX / "nobieyi00_CUNY_MSDA_R_consumer_complaints.csv"
SNAKE = FIX / "owain-nortal_demo-data_consumer_complaints.csv"
SUBSET = FIX / "cfpb-ccdb-data-pipeline_complaints-subset.csv"


def _records(path: Path) -> int:
    """Records in a CSV counted independently (the csv module, header excluded)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


# ---------------------------------------------------------------------------------- real CFPB files
@pytest.mark.parametrize(
    "path, mapping, expected",
    # the classic export (3,186 records) loaded whole is an integration test; the two smaller real exports stay in the fast tier
    [pytest.param(CLASSIC, "cfpb_classic", 3186, marks=pytest.mark.slow), (SNAKE, "cfpb_snake", 145), (SUBSET, "cfpb_snake", 280)],
)
def test_real_cfpb_exports_load_every_record(path, mapping, expected):
    # The record counts are the ones data/README gives for these files, and what csv counts.
    assert _records(path) == expected
    res = load_complaints(path, mapping)
    assert res.rows_in == expected
    assert len(res.table) + len(res.rejected) == expected
    assert len(res.rejected) == 0
    assert res.table["complaint_id"].is_unique
    assert res.table["received_at"].notna().all()
    assert res.table["category"].notna().all()


@pytest.mark.slow  # the classic export (3,186 records) loaded whole
def test_classic_dates_and_fields():
    res = load_complaints(CLASSIC, "cfpb_classic")
    first = res.table.iloc[0]
    # Line 2 of the file: 7/29/2013,Consumer Loan,Vehicle loan,Managing the loan or lease,,Wells Fargo & Company,...,Phone,...
    assert first["received_at"] == pd.Timestamp("2013-07-29")
    assert (first["category"], first["cause"], first["unit_id"], first["channel"]) == (
        "Consumer Loan", "Managing the loan or lease", "Wells Fargo & Company", "Phone")
    assert first["source_line"] == 2
    assert res.table["received_at"].min() >= pd.Timestamp("2011-12-01")


@pytest.mark.slow  # the classic export (3,186 records) loaded whole, twice
def test_generated_ids_are_stable_across_runs_and_given_ids_are_kept():
    a = load_complaints(CLASSIC, "cfpb_classic").table["complaint_id"]
    b = load_complaints(CLASSIC, "cfpb_classic").table["complaint_id"]
    assert a.str.match(r"^G-[A-Z2-7]{16}$").all()
    assert a.equals(b)
    snake = load_complaints(SNAKE, "cfpb_snake").table
    assert snake["complaint_id"].iloc[0] == "2397100"  # the first record's Complaint ID in the file


def test_snake_narratives_with_embedded_newlines_stay_one_record():
    res = load_complaints(SNAKE, "cfpb_snake")
    d = res.table["description"].dropna()
    assert len(d) == 13  # narratives in the file (pandas.read_csv agrees: 13 non-empty)
    assert len(d) == pd.read_csv(SNAKE, dtype=str)["consumer_complaint_narrative"].notna().sum()
    assert res.table["received_at"].notna().all()


def test_headers_are_compared_loosely_so_both_cfpb_layouts_read_both_files():
    # "Date received" and "date_received" are the same header once case, spaces and underscores are ignored.
    a = load_complaints(SNAKE, "cfpb_classic").table
    b = load_complaints(SNAKE, "cfpb_snake").table
    assert a.drop(columns="source_file").equals(b.drop(columns="source_file"))


def test_missing_required_column_names_file_and_column(tmp_path):
    path = tmp_path / "partial.csv"
    path.write_text("Date received,State\n7/29/2013,VA\n", encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        load_complaints(path, "cfpb_classic")
    msg = str(exc.value)
    assert "partial.csv" in msg and "'Product'" in msg and "category" in msg


def test_the_bank_layout_on_a_foreign_file_says_so():
    with pytest.raises(SourceError) as exc:
        load_complaints(SUBSET)
    assert SUBSET.name in str(exc.value) and "mapping 'bank'" in str(exc.value)


# -------------------------------------------------------------------------------------- truncation
def test_truncated_inside_a_quoted_narrative(tmp_path):
    data = SNAKE.read_bytes()
    # Cut halfway through the first narrative of a record well inside the file.
    marker = b"Started the refinance of home mortgage"
    cut = data.index(marker) + len(marker) + 40
    part = tmp_path / "cut.csv"
    part.write_bytes(data[:cut])
    # Independently: the records that end before the cut are the complete ones; the one the cut
    # falls in starts on the line after them.
    head = data[:cut].decode("utf-8")
    start_of_cut_record = head.rfind("\n", 0, head.index(marker.decode())) + 1
    complete = list(csv.reader(io.StringIO(head[:start_of_cut_record], newline="")))
    cut_line = head[:start_of_cut_record].count("\n") + 1
    res = load_complaints(part, "cfpb_snake")
    assert res.rows_in == len(complete) - 1 + 1  # minus the header, plus the cut record
    assert len(res.table) == len(complete) - 1
    assert len(res.rejected) == 1
    row = res.rejected.iloc[0]
    assert row["line"] == cut_line and "cut off" in row["reason"]


def test_truncated_mid_field_without_quotes(tmp_path):
    data = CLASSIC.read_bytes()
    # Keep the header and 10 records, then half of the 11th record (cut inside its Issue field).
    lines = data.split(b"\r\n")
    eleventh = lines[11]
    part = tmp_path / "cut.csv"
    part.write_bytes(b"\r\n".join(lines[:11]) + b"\r\n" + eleventh[: len(eleventh) // 2])
    res = load_complaints(part, "cfpb_classic")
    assert (res.rows_in, len(res.table), len(res.rejected)) == (11, 10, 1)
    assert res.rejected.iloc[0]["line"] == 12
    assert "cut off" in res.rejected.iloc[0]["reason"]


# ------------------------------------------------------------------------------ the bank's own layout
BANK_CSV = (
    "投诉编号,受理时间,被投诉网点编号,投诉渠道,业务类别,投诉原因,投诉内容,是否有责,是否重大投诉,是否越级,办结时间\n"  # 1
    "TS001,2016-03-05 09:10,33180101,95599,银行卡,服务态度,客户王小明来电反映手机13812345678无法收到验证码,是,否,否,2016-03-06 10:00\n"  # 2 ok
    "TS002,2016/3/7,33180102,网点,储蓄,服务设施,张女士投诉排队45分钟,否,否,否,\n"  # 3 ok, open
    "TS001,2016-03-08,33180101,95599,银行卡,服务态度,重复的工单,是,否,否,\n"  # 4 repeats TS001 of line 2
    "TS003,2016年2月30日,33180101,95599,贷款,合同条款,卡号6222021234567894被扣款,否,否,否,\n"  # 5 bad date
    "TS004,2016-04-01,33180102,电话银行,贷款,合同条款,身份证11010519491231002X,否,否,否,\n"  # 6 unknown channel: kept, unmapped
    "TS005,2016-04-02,33180102,网点,贷款,合同条款,已办结,否,否,否,2016-04-01\n"  # 7 resolved before received
    "13912345678,2016-04-03,33180102,网点,储蓄,服务态度,,否,是,是,2016-04-05\n"  # 8 a phone number as the id
    ",2016-04-04,33180102,网点,储蓄,服务态度,,否,否,否,\n"  # 9 empty id
)


def test_bank_layout_accounting_reasons_and_masking(tmp_path):
    path = tmp_path / "投诉_2016.csv"
    path.write_bytes(BANK_CSV.encode("gbk"))
    res = load_complaints(path)
    assert res.files[0]["encoding"] == "gb18030"
    assert (res.rows_in, len(res.table), len(res.rejected)) == (8, 4, 4)
    t = res.table.set_index("source_line")
    assert t.loc[2, "description"] == "客户王**来电反映手机138****5678无法收到验证码"
    assert t.loc[2, "channel"] == "95599" and t.loc[3, "channel"] == "outlet"
    assert bool(t.loc[2, "responsible"]) is True and pd.isna(t.loc[3, "resolved_at"])
    assert t.loc[8, "complaint_id"].startswith("M-") and bool(t.loc[8, "major"]) is True
    rej = res.rejected.set_index("line")
    assert "repeats line 2" in rej.loc[4, "reason"]
    assert "not a date" in rej.loc[5, "reason"] and "2016年2月30日" in rej.loc[5, "reason"]
    assert 6 not in rej.index and t.loc[6, "channel"] == "unmapped"  # an unknown channel is kept, unmapped (issue 11)
    assert "before received_at" in rej.loc[7, "reason"]
    assert "complaint_id" in rej.loc[9, "reason"] and "empty" in rej.loc[9, "reason"]
    # Rejected rows keep the original fields, masked.
    assert rej.loc[5, "投诉内容"] == "卡号6222********7894被扣款"
    assert t.loc[6, "description"] == "身份证110105********002X"
    assert res.reasons["duplicate complaint_id"] == 1


def test_bank_layout_matches_the_clean_engine(tmp_path):
    """The complaints command and `clean` agree on the bank's own file (same records, same values)."""
    from analysis.clean.engine import clean_all, load_table

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "投诉_2016.csv").write_bytes(BANK_CSV.encode("gbk"))
    # clean checks outlet ids against the master data, so the two outlets must exist there.
    (raw / "机构信息.csv").write_text(
        "机构号,网点名称,支行号,支行名称,城乡属性,网点类型\n33180101,城东支行营业部,331801,城东支行,市区,旗舰网点\n"
        "33180102,解放路分理处,331801,城东支行,市区,基础网点\n", encoding="utf-8-sig")
    clean_all(raw, tmp_path / "p", only=["complaints"], echo=lambda s: None)
    engine = load_table("complaints", tmp_path / "p").sort_values("source_line")
    mine = load_complaints(raw / "投诉_2016.csv").table.sort_values("source_line")
    assert list(engine["source_line"]) == list(mine["source_line"])
    for c in ("received_at", "unit_id", "channel", "category", "cause", "description", "responsible", "resolved_at"):
        assert list(engine[c].astype("string").fillna("")) == list(mine[c].astype("string").fillna("")), c


def test_write_outputs_and_no_personal_number_left(tmp_path):
    path = tmp_path / "投诉_2016.csv"
    path.write_bytes(BANK_CSV.encode("gbk"))
    res = load_complaints(path)
    paths = write_outputs(res, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"complaints.parquet", "rejected.csv", "by_category.csv", "by_unit.csv"}
    by_cat = pd.read_csv(paths["by_category"], encoding="utf-8-sig", dtype={"category": str})
    # Clean lines 2, 3, 6, 8: 银行卡 1, 储蓄 2, 贷款 1.
    assert by_cat.to_dict("list") == {"category": ["储蓄", "贷款", "银行卡"], "complaints": [2, 1, 1]}
    by_unit = pd.read_csv(paths["by_unit"], encoding="utf-8-sig", dtype={"unit_id": str})
    assert by_unit.to_dict("list") == {"unit_id": ["33180102", "33180101"], "complaints": [3, 1]}
    rej = pd.read_csv(paths["rejected"], encoding="utf-8-sig", dtype=str)
    assert len(rej) == 4 and {"file", "line", "reason", "投诉内容"} <= set(rej.columns)
    # The input has an ID, a phone, a card and a phone-as-id; none survives in any output.
    assert scan_outputs([path]) != []  # the scanner does find them in the input
    assert scan_outputs(list(paths.values())) == []


def test_missing_unit_and_category_are_counted_not_dropped():
    res = load_complaints(SUBSET, "cfpb_snake")
    from analysis.complaints.load import counts_by

    by_unit = counts_by(res.table, "unit_id")
    assert by_unit.to_dict("list") == {"unit_id": ["(missing)"], "complaints": [280]}
    assert counts_by(res.table, "category")["complaints"].sum() == 280


# -------------------------------------------------------------------------------- mapping validation
def _write(tmp_path, text: str) -> Path:
    p = tmp_path / "my_export.yaml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "yaml_text, field, words",
    [
        ("columns: {category: Product}\n", "columns", "received_at must be mapped"),
        ("columns: {received_at: Date, colour: Colour}\n", "columns.colour", "Input should be"),
        ("columns: {received_at: Date}\ndate_format: '%d'\n", "date_format", "needs a year"),
        ("columns: {received_at: Date, category: date}\n", "columns", "mapped to both"),
        ("columns: {received_at: Date}\noptional: [category]\n", "(top level)", "not among the mapped columns"),
        ("columns: {received_at: Date}\noptional: [received_at]\n", "(top level)", "cannot be optional"),
        ("columns: {received_at: Date}\nextra_key: 1\n", "extra_key", "Extra inputs"),
        ("columns: {received_at: ''}\n", "columns", "empty"),
    ],
)
def test_mapping_validation_names_file_and_field(tmp_path, yaml_text, field, words):
    path = _write(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as exc:
        load_mapping(path)
    msg = str(exc.value)
    assert str(path) in msg and f"field {field}" in msg and words in msg


def test_mapping_names_and_paths(tmp_path):
    assert {"cfpb_classic", "cfpb_snake"} <= set(available_mappings())
    assert "jrt0169" not in available_mappings()  # a classification mapping, not an export layout
    assert load_mapping("cfpb_classic").name == "cfpb_classic"
    assert load_mapping(config.MAPPINGS_DIR / "cfpb_snake.yaml").name == "cfpb_snake"
    with pytest.raises(ConfigError, match="cfpb_classic"):
        load_mapping("no_such_layout")
    m = bank_layout()
    assert "投诉编号" in m.headers("complaint_id") and m.closed_values and "category" in m.not_empty
    assert isinstance(m, ComplaintMapping)


# ---------------------------------------------------------------------------------------- command
def _cli(*args, cwd=None):
    env = {"PYTHONPATH": str(config.PACKAGE_DIR.parent), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, env=env, cwd=cwd)


@pytest.mark.slow  # python -m analysis in a subprocess
def test_cli_on_a_real_export(tmp_path):
    r = _cli("complaints", "--input", str(SNAKE), "--mapping", "cfpb_snake", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "records in 145 = clean 145 + rejected 0" in r.stdout
    assert r.stderr.startswith("warning: ")
    t = pd.read_parquet(tmp_path / "o" / "complaints.parquet")
    assert len(t) == 145 and t["complaint_id"].is_unique
    assert scan_outputs(sorted((tmp_path / "o").iterdir())) == []


@pytest.mark.slow  # python -m analysis in two subprocesses
def test_cli_bad_input_exits_2(tmp_path):
    bad = _write(tmp_path, "columns: {category: Product}\n")
    r = _cli("complaints", "--input", str(SNAKE), "--mapping", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "my_export.yaml" in r.stderr and "received_at" in r.stderr
    r = _cli("complaints", "--input", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "missing.csv" in r.stderr

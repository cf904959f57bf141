"""`python -m analysis score` and `template`: UTF-8 CSV, GBK CSV and xlsx inputs; every refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from analysis import config
from analysis.cli import main
from analysis.scoring import load_scheme, read_units

from conftest import costly_examples
from scoring_helpers import FIXTURES, tiny4

SCHEME = load_scheme("competition-2011")
# The hand-computed totals of tests/test_scoring_engine.py
EXPECTED_TOTALS = {"A01": 78.52 + 120 / 7, "D04": 77.2 + 96 / 7, "B02": 61.6 + 104 / 7 - 3, "C03": 36.84 + 32 / 7 - 2}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("name", ["tiny4.csv", "tiny4_gbk.csv", "tiny4.xlsx"])
def test_score_each_file_format(tmp_path, capsys, name):
    # tiny4_gbk.csv: GBK, Chinese headers, full-width digits (２, ９０) and thousands separators ("1,000");
    # tiny4.xlsx: a title row above two-line headers (Chinese + name), numbers as numbers.
    out = tmp_path / "league.csv"
    code, stdout, stderr = run(capsys, "score", "--scheme", "competition-2011", "--input", str(FIXTURES / name), "--out", str(out), "--period", "2016")
    assert code == 0, stderr
    raw = out.read_bytes()
    raw.decode("utf-8")  # UTF-8 output
    df = pd.read_csv(out, dtype={"unit_id": str, "award_eligible": str})
    assert list(df.columns) == ["unit_id", "unit_name", "mystery_shopper", "satisfaction", "skill_import", "e_channel", "vip_growth",
                                "vip_assets", "vip_cards", "deposit_growth", "deduction", "total", "rank", "award_eligible"]
    assert list(df["unit_id"]) == ["A01", "D04", "B02", "C03"]
    for uid, total in EXPECTED_TOTALS.items():
        assert df.set_index("unit_id").loc[uid, "total"] == pytest.approx(total, abs=1e-12)
    assert list(df["award_eligible"]) == ["true", "true", "false", "true"]
    assert list(df["rank"]) == [1, 2, 3, 4]
    # full precision, not rounded for display
    assert "5.714285714285" in raw.decode("utf-8")
    # the zero increment reference of vip_assets: a warning line naming indicator and period
    warnings = [ln for ln in stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "vip_assets" in warnings[0] and "2016" in warnings[0]
    assert "甲支行" in stdout


@pytest.mark.slow  # python -m analysis in a subprocess (about 4 s of CPU); the commands themselves are tested in-process above
def test_python_dash_m_entry_point(tmp_path):
    out = tmp_path / "o.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(config.PACKAGE_DIR).parent)}
    p = subprocess.run([sys.executable, "-m", "analysis", "score", "--scheme", "competition-2011", "--input", str(FIXTURES / "tiny4.csv"), "--out", str(out)],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert "warning: vip_assets (increment), period (unspecified)" in p.stderr
    assert out.exists()


def _write(tmp_path, df: pd.DataFrame, name="in.csv") -> Path:
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def refuse(tmp_path, capsys, df: pd.DataFrame) -> str:
    p = _write(tmp_path, df)
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "score", "--scheme", "competition-2011", "--input", str(p), "--out", str(out))
    assert code == 2, err
    assert not out.exists()  # nothing written: refused, not scored around
    assert err.startswith("error: ") and str(p) in err
    return err


def test_refuses_missing_column(tmp_path, capsys):
    err = refuse(tmp_path, capsys, tiny4().drop(columns=["cards_eligible"]))
    assert "column cards_eligible" in err and "符合条件贵宾客户数" in err


def test_refuses_non_numeric_cell(tmp_path, capsys):
    df = tiny4().astype({"survey_score": "object"})
    df.loc[2, "survey_score"] = "九十"
    err = refuse(tmp_path, capsys, df)
    # row 4 of the file (header is line 1), unit C03
    assert "row 4, unit C03 丙支行, column survey_score" in err and "not a number" in err


def test_refuses_outlets_of_zero(tmp_path, capsys):
    df = tiny4()
    df.loc[0, "outlets"] = 0
    err = refuse(tmp_path, capsys, df)
    assert "row 2, unit A01 甲支行, column outlets" in err and "greater than 0" in err


def test_refuses_duplicate_unit_id(tmp_path, capsys):
    df = tiny4()
    df.loc[3, "unit_id"] = "B02"
    err = refuse(tmp_path, capsys, df)
    assert "row 5, unit B02 丁支行, column unit_id" in err and "duplicate" in err and "row 3" in err


def test_refuses_unit_without_any_mystery_shopper_round(tmp_path, capsys):
    df = tiny4()
    df.loc[1, ["ms_1", "ms_2", "ms_4"]] = None
    err = refuse(tmp_path, capsys, df)
    assert "row 3, unit B02 乙支行" in err and "ms_1" in err and "mystery_shopper" in err


def test_refuses_empty_required_cell_and_part_above_whole(tmp_path, capsys):
    df = tiny4()
    df.loc[0, "deposits"] = None
    df.loc[1, "cards_issued"] = 300  # more VIP cards than eligible customers (200)
    df.loc[3, "skill_acceptance"] = None  # D04 imported 1 outlet: the acceptance score is needed
    err = refuse(tmp_path, capsys, df)
    assert "row 2, unit A01 甲支行, column deposits" in err and "empty" in err
    assert "row 3, unit B02 乙支行, column cards_issued" in err and "cards_eligible" in err
    assert "row 5, unit D04 丁支行, column skill_acceptance" in err and "skill_imported" in err
    assert "3 problem(s)" in err


def test_refuses_out_of_range_and_fractional_count(tmp_path, capsys):
    df = tiny4().astype({"ms_2": "float64", "vip": "float64"})
    df.loc[0, "ms_2"] = 101
    df.loc[2, "vip"] = 95.5
    err = refuse(tmp_path, capsys, df)
    assert "unit A01 甲支行, column ms_2" in err and "maximum 100" in err
    assert "unit C03 丙支行, column vip" in err and "whole number" in err


def test_refuses_total_row(tmp_path, capsys):
    df = tiny4()
    total = df.drop(columns=["unit_id", "unit_name"]).sum()
    df = pd.concat([df, pd.DataFrame([{"unit_id": "", "unit_name": "合计", **total.to_dict()}])], ignore_index=True)
    err = refuse(tmp_path, capsys, df)
    assert "row 6" in err and "合计" in err and "total row" in err


def test_refuses_unknown_scheme_and_bad_scheme_file(tmp_path, capsys):
    code, _, err = run(capsys, "score", "--scheme", "competition-1999", "--input", str(FIXTURES / "tiny4.csv"), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and "competition-1999" in err and "competition-2011" in err
    bad = tmp_path / "s.yaml"
    bad.write_text((config.SCHEMES_DIR / "competition-2011.yaml").read_text(encoding="utf-8").replace("weight: 20", "weight: 0", 1), encoding="utf-8")
    code, _, err = run(capsys, "score", "--scheme", str(bad), "--input", str(FIXTURES / "tiny4.csv"), "--out", str(tmp_path / "o.csv"))
    assert code == 2 and str(bad) in err and "indicators.0" in err and "weight" in err


def test_scheme_path_and_unknown_weight_set(tmp_path, capsys):
    code, _, err = run(capsys, "score", "--scheme", str(config.SCHEMES_DIR / "competition-2011.yaml"), "--input", str(FIXTURES / "tiny4.csv"),
                       "--out", str(tmp_path / "o.csv"), "--weight-set", "equal")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "o.csv").set_index("unit_id").loc["A01", "skill_import"] == pytest.approx(15.0)


def test_template_round_trip(tmp_path, capsys):
    path = tmp_path / "t.xlsx"
    code, _, err = run(capsys, "template", "--scheme", "competition-2011", "--out", str(path))
    assert code == 0, err
    wb = load_workbook(path)
    assert wb.sheetnames == ["填报 Input", "说明 Columns"]
    ws = wb["填报 Input"]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "支行编号\nunit_id" and headers[3] == "神秘人检查第1轮得分\nms_1"
    assert ws.freeze_panes == "C2"
    doc = "\n".join(str(c.value) for row in wb["说明 Columns"].iter_rows() for c in row if c.value)
    for ind in SCHEME.indicators:
        assert ind.formula in doc  # every formula is explained
    for name in SCHEME.inputs:
        assert name in doc  # and every column
    # fill the template with the tiny example and score it: same totals as the CSV
    df = tiny4()
    for i, row in enumerate(df.itertuples(index=False), start=2):
        for j, v in enumerate(row, start=1):
            if not pd.isna(v):
                ws.cell(i, j, v if isinstance(v, str) else float(v))
    wb.save(path)
    out = tmp_path / "o.csv"
    code, _, err = run(capsys, "score", "--scheme", "competition-2011", "--input", str(path), "--out", str(out))
    assert code == 0, err
    got = pd.read_csv(out).set_index("unit_id")["total"]
    for uid, total in EXPECTED_TOTALS.items():
        assert got[uid] == pytest.approx(total, abs=1e-12)


def test_template_needs_xlsx_and_evaluation_template(tmp_path, capsys):
    code, _, err = run(capsys, "template", "--scheme", "competition-2011", "--out", str(tmp_path / "t.csv"))
    assert code == 2 and ".xlsx" in err
    code, _, err = run(capsys, "template", "--scheme", "evaluation-2016", "--out", str(tmp_path / "e.xlsx"))
    assert code == 0
    doc = "\n".join(str(c.value) for row in load_workbook(tmp_path / "e.xlsx")["说明 Columns"].iter_rows() for c in row if c.value)
    assert "计分规则为假设" in doc and "assumed" in doc


# ------------------------------------------------------------------------------ number formats
_FW = str.maketrans("0123456789.,", "０１２３４５６７８９．，")


# each example reads a file through the scoring door (about half a second of CPU)
@settings(max_examples=costly_examples(ci=5, random=15), deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=4, max_size=4), st.sampled_from(["plain", "thousands", "fullwidth", "fullwidth_thousands"]),
       st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_deposits_read_in_any_hand_typed_format(tmp_path_factory, values, style, encoding):
    # deposits typed as 1234567, 1,234,567, １２３４５６７ or １，２３４，５６７ all read as the same number
    df = tiny4().astype({"deposits": "object"})
    for i, v in enumerate(values):
        text = f"{v:,}" if "thousands" in style else str(v)
        df.loc[i, "deposits"] = text.translate(_FW) if "fullwidth" in style else text
    p = tmp_path_factory.mktemp("fmt") / "in.csv"
    df.to_csv(p, index=False, encoding=encoding)
    units = read_units(p, SCHEME)
    assert units.data["deposits"].tolist() == [float(v) for v in values]

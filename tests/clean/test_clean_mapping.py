"""`clean --mapping SOURCE=FILE.yaml`: a foreign export's headers read as a source's columns."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from analysis import config
from analysis.clean.engine import clean_all, load_table
from analysis.clean.sources import load_sources, parse_mapping_args, with_mapping
from analysis.cli import main
from analysis.errors import InputError

FOREIGN = "Branch code,Score,Yr,Check no,Visited\n33180101,92.5,2016,1,2016-03-05\n33180102,88,2016,1,2016-03-06\n"
MAPPING = "title: a foreign export\ncolumns: {outlet_id: Branch code, score: Score, year: Yr, round: Check no, checked_on: Visited}\n"


@pytest.fixture()
def foreign(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(config.RAW_DIR / "机构信息.xlsx", raw)
    (raw / "神秘人检查_x.csv").write_text(FOREIGN, encoding="utf-8")
    (tmp_path / "m.yaml").write_text(MAPPING, encoding="utf-8")
    return tmp_path


def test_mapping_reads_the_foreign_headers(foreign):
    reps = clean_all(foreign / "raw", foreign / "out", only=["mystery_shopper"], echo=lambda s: None, mappings={"mystery_shopper": foreign / "m.yaml"})
    rep = reps["mystery_shopper"]
    assert (rep.rows_in, rep.clean, rep.rejected) == (2, 2, 0)
    t = load_table("mystery_shopper", foreign / "out")
    assert t["outlet_id"].tolist() == ["33180101", "33180102"]
    assert t["score"].tolist() == [92.5, 88.0]
    assert t["checked_on"].tolist() == [pd.Timestamp("2016-03-05"), pd.Timestamp("2016-03-06")]


def test_without_the_mapping_every_missing_column_is_named_at_once(foreign):
    with pytest.raises(InputError) as exc:
        clean_all(foreign / "raw", foreign / "out", only=["mystery_shopper"], echo=lambda s: None)
    text = str(exc.value)
    for name in ("outlet_id", "year", "round", "checked_on"):
        assert name in text
    assert "Headers found" in text


def test_command_line_mapping(foreign, capsys):
    assert main(["clean", "--raw", str(foreign / "raw"), "--out", str(foreign / "out"), "--only", "mystery_shopper", "--mapping", f"mystery_shopper={foreign / 'm.yaml'}"]) == 0
    assert "mystery_shopper  rows in       2 = clean       2 + rejected     0" in capsys.readouterr().out
    assert main(["clean", "--raw", str(foreign / "raw"), "--out", str(foreign / "out"), "--mapping", f"nosuch={foreign / 'm.yaml'}"]) == 2
    assert "unknown source 'nosuch'" in capsys.readouterr().err


def test_mapping_errors_name_the_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns: {outlet: 网点}\n", encoding="utf-8")
    with pytest.raises(InputError, match="'outlet' is not a column of source 'mystery_shopper'"):
        with_mapping(load_sources()["mystery_shopper"], bad)
    with pytest.raises(InputError, match="SOURCE=FILE.yaml"):
        parse_mapping_args(["m.yaml"])


def test_optional_columns_of_a_mapping_may_be_absent(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("columns: {outlet_id: 编号}\noptional: [checked_on]\n", encoding="utf-8")
    src = with_mapping(load_sources()["mystery_shopper"], m)
    assert "编号" in src.columns["outlet_id"].aliases
    assert src.columns["checked_on"].required is False


def test_an_overflowing_balance_is_rejected_naming_line_and_column(tmp_path):
    """Two deposits of 1e308 would overflow the whole-bank sum: the plausibility bound in
    sources/business.yaml rejects each at its line, and `1e400` is not a finite number at all."""
    src = load_sources()["business"]
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(config.RAW_DIR / "机构信息.xlsx", raw)
    header = [c.title for c in src.columns.values()]
    row = {n: "10" for n in src.columns}
    row.update(outlet_id="33180101", outlet_name="x", month="2016-01")
    lines = [",".join(header)]
    for k, deposit in enumerate(["100.5", "1e308", "1e400"]):
        r = dict(row, month=f"2016-0{k + 1}", personal_deposits=deposit)
        lines.append(",".join(r[n] for n in src.columns))
    (raw / "业务数据_2016.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rep = clean_all(raw, tmp_path / "out", only=["business"], echo=lambda s: None)["business"]
    assert (rep.rows_in, rep.clean, rep.rejected) == (3, 1, 2)
    rej = pd.read_csv(config.rejected_dir(tmp_path / "out") / "business.csv", dtype=str, encoding="utf-8-sig")
    reasons = dict(zip(rej["line"].astype(int), rej["reason"]))
    assert reasons[3] == "personal_deposits (个人储蓄存款): above the maximum 1e+08: 1e+308"
    assert reasons[4] == "personal_deposits (个人储蓄存款): not a finite number: '1e400'"

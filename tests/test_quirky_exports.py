"""Issue 11 tried as a new user would: small quirky exports (tests/fixtures/exports/, hand-made; README
there) through ``complaints``, ``clean`` and ``inspect``. Every record is clean or rejected with its
line and reason; every count by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import config

from conftest import FIXTURES_DIR, run_cli

FIX = FIXTURES_DIR / "exports"
LONG = "聊天记录很长" * 30_000  # 180,000 characters: beyond the csv module's 131,072 limit


def quirky_complaints(folder: Path) -> Path:
    """The GBK complaint export with its one long field put in (kept out of the repository)."""
    data = (FIX / "投诉_2016_quirks_gbk.csv").read_bytes().replace(b'"LONG"', ('"' + LONG + '"').encode("gbk"))
    path = folder / "投诉_2016.csv"
    path.write_bytes(data)
    return path


def read_rejected(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_complaints_command_keeps_every_record_apart(tmp_path):
    src = quirky_complaints(tmp_path)
    rc, out = run_cli(["complaints", "--input", str(src), "--out", str(tmp_path / "out")])
    assert rc == 0
    # 9 records: Q5 (line 6, bytes FF FE) and Q9 (line 10, received 2036) rejected, the other 7 clean
    assert "records in 9 = clean 7 + rejected 2" in out
    rej = read_rejected(tmp_path / "out" / "rejected.csv")
    reasons = dict(zip(rej["line"].astype(int), rej["reason"]))
    assert sorted(reasons) == [6, 10]
    assert reasons[6].startswith("line 6: byte FF at byte 64 of the line cannot be read as GB18030")
    assert reasons[10].startswith("received_at (受理时间): after today (") and "in the future: 2036-03-08 09:00:00" in reasons[10]
    t = pd.read_parquet(tmp_path / "out" / "complaints.parquet").set_index("complaint_id")
    assert t["channel"].to_dict() == {"Q1": "95599", "Q2": "outlet", "Q3": "12378", "Q4": "wechat", "Q6": "mobile_banking",
                                      "Q7": "unmapped", "Q8": "12363"}
    assert t.loc["Q2", "description"] == '"金钥匙"理财收益与宣传不符'  # the unbalanced quote stays on its line
    assert len(t.loc["Q4", "description"]) == len(LONG)
    # many semicolons (one full-width, NFKC makes it ";"): still one comma-separated field
    assert t.loc["Q6", "description"] == ";".join(f"问题{n}" for n in "一二三四五六七八九十")


@pytest.mark.slow  # the clean command on three sources, the bank's master workbook among them (about 3 s of CPU)
def test_clean_door_on_quirky_exports(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(config.RAW_DIR / "机构信息.xlsx", raw)
    quirky_complaints(raw)
    shutil.copy(FIX / "业务数据_2016_quirks.xlsx", raw)
    rc, out = run_cli(["clean", "--raw", str(raw), "--out", str(tmp_path / "clean"), "--only", "outlets", "--only", "complaints", "--only", "business"])
    assert rc == 0, out
    assert "complaints       rows in       9 = clean       7 + rejected     2" in out
    assert "business         rows in       5 = clean       3 + rejected     2" in out
    c = pd.read_parquet(tmp_path / "clean" / "complaints.parquet").set_index("complaint_id")
    assert c.loc["Q7", "channel"] == "unmapped" and c.loc["Q7", "channel_label"] == '"95599'  # not a call centre
    assert len(c.loc["Q4", "description"]) == len(LONG)
    b = pd.read_parquet(tmp_path / "clean" / "business.parquet")
    # the merged outlet id (A2:A4) reaches all three months
    assert b.sort_values("source_line")[["source_line", "outlet_id", "month"]].values.tolist() == [
        [2, "33180101", "2016-01"], [3, "33180101", "2016-02"], [4, "33180101", "2016-03"]]
    rej = read_rejected(tmp_path / "clean" / "rejected" / "business.csv").set_index("line")
    assert rej.loc["5", "reason"].startswith("formula without a value in D5")
    assert rej.loc["6", "reason"] == "vip_deposits (贵宾客户储蓄存款): not a finite number: '1e400'"


@pytest.mark.slow  # the far-cell workbook read twice, the second time through the complaints command
def test_inspect_a_sheet_whose_only_cell_is_at_xfd1048576(tmp_path):
    from analysis.inspect import inspect_file

    info = inspect_file(FIX / "far_cell.xlsx")
    assert info.records == 0 and [(g.position, g.header) for g in info.columns] == [(16383, "x")]
    rc, _ = run_cli(["complaints", "--input", str(FIX / "far_cell.xlsx"), "--out", str(tmp_path / "o")])
    assert rc == 2


def test_inspect_trial_load_counts_the_future_date(tmp_path):
    from analysis.inspect import inspect_file

    info = inspect_file(quirky_complaints(tmp_path), "complaints")
    assert info.records == 8 and [line for line, _ in info.malformed] == [6]
    assert (info.rows_in, info.clean) == (9, 7)


@pytest.mark.parametrize("limit", [3])
def test_header_text_is_short(limit):
    from analysis.io.read import header_text

    assert header_text(["", "", "x"], limit) == "[column 3: 'x'] (2 empty)"
    assert header_text(["a", "b"], limit) == "['a', 'b']"
    assert header_text(list("abcde"), limit) == "['a', 'b', 'c', ... (2 more)]"

"""An export without its optional columns loads, and the pages that need them say "not in this
export" (issue 11): the bundled bank with every ``required: false`` column of sources/*.yaml removed
from its exports (complaints without 被投诉网点编号, 受理渠道, 是否越级, 办结时间 ...; master data
without 开业日期; the survey without 标准差 and 满意率; names of outlets), run through ``run``."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
from pathlib import Path

import pytest

from analysis import config
from analysis.clean.sources import header_key, load_sources
from analysis.report.display import NOT_IN_EXPORT, NOT_IN_EXPORT_ZH

from conftest import run_cli

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]


def strip_optional(raw: Path, out: Path) -> dict[str, list[str]]:
    """Copy ``raw`` to ``out`` with every optional column removed from every export; returns the
    headers removed per file."""
    import openpyxl

    shutil.copytree(raw, out)
    removed: dict[str, list[str]] = {}
    for src in load_sources().values():
        keys = {header_key(a) for n, c in src.columns.items() if not c.required for a in [n, c.title, *c.aliases]}
        if not keys:
            continue
        for f in src.files_in(out):
            if f.suffix == ".xlsx":
                wb = openpyxl.load_workbook(f)
                for ws in wb.worksheets:
                    for r in range(1, 6):
                        values = ["" if c.value is None else str(c.value) for c in ws[r]]
                        if src.header_score(values) >= 2:
                            drop = [i + 1 for i, v in enumerate(values) if v and header_key(v) in keys]
                            removed.setdefault(f.name, []).extend(values[i - 1] for i in drop)
                            for col in sorted(drop, reverse=True):
                                ws.delete_cols(col)
                            break
                wb.save(f)
            else:
                data = f.read_bytes()
                enc = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
                try:
                    text = data.decode(enc)
                except UnicodeDecodeError:
                    enc, text = "gb18030", data.decode("gb18030")
                rows = list(csv.reader(io.StringIO(text, newline="")))
                h = next(i for i, r in enumerate(rows) if src.header_score(r) >= 2)
                drop = {i for i, v in enumerate(rows[h]) if header_key(v) in keys}
                removed[f.name] = [rows[h][i] for i in sorted(drop)]
                buf = io.StringIO(newline="")
                w = csv.writer(buf, lineterminator="\n")
                for i, r in enumerate(rows):
                    w.writerow([v for j, v in enumerate(r) if j not in drop] if i >= h else r)
                f.write_bytes(buf.getvalue().encode(enc))
    return removed


def page_text(path: Path) -> str:
    t = re.sub(r"<script.*?</script>|<style.*?</style>", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", t)))


@pytest.fixture(scope="module")
def stripped_run(tmp_path_factory):
    if not config.RAW_DIR.is_dir():
        pytest.skip("no bundled sample data")
    base = tmp_path_factory.mktemp("optional-columns")
    removed = strip_optional(config.RAW_DIR, base / "raw")
    rc, out = run_cli(["run", "--raw", str(base / "raw"), "--processed", str(base / "clean"), "--out", str(base / "reports"),
                       "--jobs", "2", "--only", "02_targets", "--only", "04_peers", "--only", "05_complaints"])
    return rc, out, removed, base / "reports"


def test_exports_without_optional_columns_load(stripped_run):
    rc, out, removed, _ = stripped_run
    # the columns really were removed (the complaint exports lose every optional column)
    assert {"网点号", "受理渠道", "越级投诉", "结案时间"} <= set(removed["投诉_2015.csv"])
    assert "开业日期" in removed["机构信息.xlsx"] and "标准差" in removed["客户满意度调查结果.xlsx"]
    assert rc == 0, out


def test_pages_say_not_in_this_export_instead_of_a_figure(stripped_run):
    _, _, _, reports = stripped_run
    wording = f"{NOT_IN_EXPORT_ZH}（{NOT_IN_EXPORT}）"
    complaints = page_text(reports / "05_complaints.html")
    for what in ("受理渠道：" + wording, "被投诉网点编号：" + wording, "办结时间：" + wording, "投诉内容：" + wording):
        assert what in complaints
    assert "漏斗图不计算" in page_text(reports / "04_peers.html")
    assert "受理渠道（channel）：" + wording in page_text(reports / "02_targets.html")
    for name in ("02_targets.html", "04_peers.html", "05_complaints.html"):
        text = page_text(reports / name)
        assert not re.search(r"(?<![A-Za-z_])(nan|NaN|None|<NA>|NaT)(?![A-Za-z_])", text), name

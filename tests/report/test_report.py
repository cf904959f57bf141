"""The report runner on the fixture notebooks (tests/fixtures/notebooks: 01_good works and draws a
figure with a Chinese title; 02_broken fails on purpose), plus its pieces: parameters, fingerprints,
atomic writes, offline HTML, the index and the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from analysis.report import export, runner
from analysis.report.export import ErrorInfo, offline_problems, period_label, prepare, write_atomic
from analysis.report.index import build_context, render_index

from conftest import FIXTURE_NOTEBOOKS, run_cli

pytestmark = pytest.mark.xdist_group("fixture_suite")

GOOD, BROKEN = FIXTURE_NOTEBOOKS / "01_good.ipynb", FIXTURE_NOTEBOOKS / "02_broken.ipynb"


def _entry(manifest: dict, name: str) -> dict:
    (hit,) = [r for r in manifest["reports"] if r["name"] == name]
    return hit


def _page(suite, name: str) -> str:
    return (suite.reports / f"{name}.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------- the whole suite
def test_failing_notebook_does_not_stop_the_other(fixture_suite):
    assert fixture_suite.rc == 1  # the CLI exits 1 when a notebook failed
    m = fixture_suite.manifest
    assert m["status"] == "failed"
    assert [r["name"] for r in m["reports"]] == ["01_good", "02_broken"]
    assert _entry(m, "01_good")["status"] == "ok"
    broken = _entry(m, "02_broken")
    assert broken["status"] == "failed"
    assert broken["error"]["ename"] == "ValueError"
    assert "故意失败" in broken["error"]["evalue"]
    assert (fixture_suite.reports / "01_good.html").exists() and (fixture_suite.reports / "02_broken.html").exists()


def test_progress_lines(fixture_suite):
    out = fixture_suite.stdout
    assert re.search(r"start\s+01_good", out) and re.search(r"start\s+02_broken", out)
    assert re.search(r"ok\s+01_good\s+\d+\.\d s", out)
    assert re.search(r"FAILED\s+02_broken\s+\d+\.\d s\s+ValueError: 故意失败", out)
    assert "(1 ok, 1 failed)" in out


def test_index_marks_the_failure_and_links_everything(fixture_suite):
    html = (fixture_suite.reports / "index.html").read_text(encoding="utf-8")
    rows = {name: status for status, name in re.findall(r'<tr class="status-(\w+)" id="report-(\w+)"', html)}
    assert rows == {"01_good": "ok", "02_broken": "failed"}
    broken_row = html[html.index('id="report-02_broken"'):]
    broken_row = broken_row[: broken_row.index("</tr>")]
    assert "失败 Failed" in broken_row and "ValueError: 故意失败 deliberate failure" in broken_row
    assert 'href="01_good.html"' in html and 'href="02_broken.html"' in html
    assert 'href="exports/fixture_scores.xlsx"' in html  # the good notebook's Excel export
    assert 'href="methods.html"' in html and (fixture_suite.reports / "methods.html").is_file()  # every run publishes it
    assert "2016 年" in html  # the period
    assert _entry(fixture_suite.manifest, "01_good")["fingerprint"][:12] in html


def test_failed_page_shows_output_up_to_the_failure_and_the_traceback(fixture_suite):
    html = _page(fixture_suite, "02_broken")
    assert "本报告运行失败" in html  # the banner
    assert "before the failure" in html  # output of a cell that ran
    assert "Traceback" in html and "故意失败 deliberate failure" in html  # traceback visible with code hidden
    assert "never printed" not in html and "从未运行" not in html  # cells after the failure are gone
    assert "An Exception was encountered" not in html  # papermill's own marker replaced by the banner


def test_pages_are_offline_and_hide_code(fixture_suite):
    for name in ("index", "01_good", "02_broken"):
        html = _page(fixture_suite, name)
        assert offline_problems(html) == [], name
        assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I), name
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I), name
        assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//", html, re.I), name
        assert "require.js" not in html and "mathjax" not in html.lower(), name
        # no input cells: no code editor, no prompts (markdown cells keep their jp-InputArea wrapper)
        assert not re.search(r'class="[^"]*\b(jp-InputArea-editor|jp-CodeMirrorEditor|jp-InputPrompt|jp-OutputPrompt)\b', html), name
        assert "In&nbsp;[" not in html and "Out[" not in html, name
    good = _page(fixture_suite, "01_good")
    assert "import analysis.notebook" not in good and "show_table(" not in good  # no code


def test_images_are_embedded(fixture_suite):
    good = _page(fixture_suite, "01_good")
    srcs = re.findall(r'<img[^>]*\bsrc="([^"]*)"', good)
    assert srcs, "the fixture draws a figure"
    assert all(s.startswith("data:image/") for s in srcs)


def test_page_header_and_style(fixture_suite):
    good = _page(fixture_suite, "01_good")
    assert "<h1>测试报告 / Fixture report</h1>" in good
    assert 'href="index.html"' in good  # the way back
    assert "期间 Period <b>2016 年</b>" in good
    assert re.search(r"生成时间 Generated <b>\d{4}-\d\d-\d\d \d\d:\d\d</b>", good)
    assert '"Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "Source Han Sans SC"' in good
    assert good.count("# 测试报告") == 0  # the notebook's own title line is replaced by the header
    assert "城东支行</strong> 以 96.2 分领先" in good  # say(): markdown rendered
    assert "<caption>综合得分</caption>" in good and ">总分</th>" in good  # show_table(): Chinese titles


def test_parameters_injected(fixture_suite):
    good = _page(fixture_suite, "01_good")
    expected = f"period=2016|processed_dir={fixture_suite.processed}|reports_dir={fixture_suite.reports}|label=默认"
    assert expected in good
    # only the declared standard parameters were injected (label kept its default)
    assert _entry(fixture_suite.manifest, "01_good")["parameters"] == {"period": "2016", "processed_dir": str(fixture_suite.processed), "reports_dir": str(fixture_suite.reports)}


def test_manifest_content(fixture_suite):
    m = fixture_suite.manifest
    assert m["python"] == platform.python_version()
    assert m["packages"]["pandas"] == metadata.version("pandas")
    assert m["packages"]["papermill"] == metadata.version("papermill")
    assert m["packages"]["nbconvert"] == metadata.version("nbconvert")
    # raw inputs: every file in the clean report, with its sha256 (a workbook once, not per sheet)
    assert m["raw_inputs"] == {
        "calls/2016-01.csv": hashlib.sha256(b"calls raw").hexdigest(),
        "outlets.csv": hashlib.sha256(b"outlets raw").hexdigest(),
        "神秘人检查_2016.xlsx": hashlib.sha256(b"workbook").hexdigest(),
    }
    assert m["parameters"]["period"] == "2016" and m["parameters"]["jobs"] == 2 and m["parameters"]["clean"] is False
    assert m["started"] <= m["finished"] and m["seconds"] > 0
    good = _entry(m, "01_good")
    # fingerprint by hand: sha256 of canonical JSON over the input tables' file hashes and the
    # non-folder parameters; the fixture's outlets.parquet holds the bytes b"fixture outlets"
    table_sha = hashlib.sha256(b"fixture outlets").hexdigest()
    payload = '{"inputs": {"outlets": "' + table_sha + '"}, "parameters": {"period": "2016"}}'
    assert good["inputs"] == {"outlets": table_sha}
    assert good["fingerprint"] == hashlib.sha256(payload.encode()).hexdigest()
    # no inputs: the fingerprint covers the parameters only
    assert _entry(m, "02_broken")["fingerprint"] == hashlib.sha256(b'{"inputs": {}, "parameters": {"period": "2016"}}').hexdigest()
    assert good["exports"] == ["exports/fixture_scores.xlsx"]
    assert good["html"] == "01_good.html" and good["seconds"] > 0 and good["period"] == "2016"
    assert good["notebook_sha256"] == hashlib.sha256(GOOD.read_bytes()).hexdigest()


def test_exports_land_in_the_reports_folder(fixture_suite):
    import openpyxl

    wb = openpyxl.load_workbook(fixture_suite.reports / "exports" / "fixture_scores.xlsx")
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0] == ("unit", "total", "n") and rows[1] == ("城东支行", 96.24, 1200)


# ------------------------------------------------------------------------------------ --only
def test_only_reruns_one_and_keeps_the_others(fixture_suite_copy):
    s = fixture_suite_copy
    before = json.loads((s.reports / "manifest.json").read_text(encoding="utf-8"))
    rc, out = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--processed", str(s.processed), "--out", str(s.reports), "--no-clean", "--no-overview", "--jobs", "1", "--only", "good"])
    assert rc == 0  # this run's only notebook worked
    assert "02_broken" not in out
    m = json.loads((s.reports / "manifest.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in m["reports"]] == ["01_good", "02_broken"]
    kept = _entry(m, "02_broken")
    assert kept["kept"] is True and kept["status"] == "failed" and kept["finished"] == _entry(before, "02_broken")["finished"]
    assert _entry(m, "01_good")["finished"] >= _entry(before, "01_good")["finished"]
    assert "kept" not in _entry(m, "01_good")
    html = (s.reports / "index.html").read_text(encoding="utf-8")
    assert 'id="report-02_broken"' in html and "上次运行" in html


def test_only_unknown_name_is_bad_input(fixture_suite_copy, capsys):
    s = fixture_suite_copy
    rc, _ = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--processed", str(s.processed), "--out", str(s.reports), "--no-clean", "--only", "nosuch"])
    assert rc == 2
    assert "no notebook named 'nosuch'" in capsys.readouterr().err


def test_bad_period_is_bad_input(tmp_path, capsys):
    rc, _ = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--out", str(tmp_path), "--no-clean", "--period", "2016-13"])
    assert rc == 2 and "period" in capsys.readouterr().err


# ------------------------------------------------------------------------------ atomic writes
def test_export_failure_leaves_the_previous_page_intact(fixture_suite_copy, monkeypatch):
    s = fixture_suite_copy
    page = s.reports / "01_good.html"
    before = page.read_bytes()

    def broken_render(self, nb, **kw):
        raise RuntimeError("disk full while exporting")

    monkeypatch.setattr(export.PageExporter, "render", broken_render)
    rc, out = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--processed", str(s.processed), "--out", str(s.reports), "--no-clean", "--no-overview", "--jobs", "1", "--only", "01_good"])
    assert rc == 1
    assert page.read_bytes() == before  # the good page from before is untouched
    m = json.loads((s.reports / "manifest.json").read_text(encoding="utf-8"))
    good = _entry(m, "01_good")
    assert good["status"] == "failed" and good["error"]["ename"] == "ExportError" and "disk full" in good["error"]["evalue"]
    assert not [p for p in s.reports.iterdir() if p.name.endswith(".tmp")]


def test_write_atomic_interrupted_mid_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    target.write_text("<p>good old page</p>", encoding="utf-8")

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt  # e.g. Ctrl-C between writing and renaming

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "<p>new page</p>")
    assert target.read_text(encoding="utf-8") == "<p>good old page</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # the temporary file is cleaned up


def test_write_atomic_replaces_and_is_readable(tmp_path):
    target = tmp_path / "sub" / "page.html"
    write_atomic(target, "<p>一</p>")
    write_atomic(target, "<p>二</p>")
    assert target.read_text(encoding="utf-8") == "<p>二</p>"
    assert target.stat().st_mode & 0o044  # group/others may read a published page


# --------------------------------------------------------------------------------- parameters
def test_declared_parameters_of_the_fixture():
    info = runner.read_info(GOOD)
    assert info.declared == {"period": "2016", "processed_dir": "", "reports_dir": "", "label": "默认"}
    assert info.title == "测试报告 / Fixture report" and info.inputs == ["outlets"]
    assert info.name == "01_good" and info.short == "good"


def test_select_parameters_accepts_declared_and_skips_undeclared_standard():
    info = runner.read_info(BROKEN)  # declares period, processed_dir, reports_dir
    assert runner.select_parameters(info, {"period": "2016Q2", "processed_dir": "/p", "reports_dir": "/r"}) == {"period": "2016Q2", "processed_dir": "/p", "reports_dir": "/r"}
    info.declared.pop("reports_dir")
    assert runner.select_parameters(info, {"period": "2016", "reports_dir": "/r"}) == {"period": "2016"}


@pytest.mark.parametrize("name", ["x; import os", "os.system('x')", "1abc", "class", "a b", ""])
def test_unsafe_parameter_names_refused(name):
    info = runner.read_info(GOOD)
    with pytest.raises(ValueError, match="not a Python identifier"):
        runner.select_parameters(info, {name: "1"})


def test_unknown_parameter_names_refused():
    info = runner.read_info(GOOD)
    with pytest.raises(ValueError, match=r"unknown parameter 'colour'.*declares: period, processed_dir, reports_dir, label"):
        runner.select_parameters(info, {"colour": "red"})


def test_non_literal_parameter_values_refused():
    info = runner.read_info(GOOD)
    with pytest.raises(ValueError, match="must be a str, number, bool or None"):
        runner.select_parameters(info, {"label": Path("/x")})


def _nb_with_parameters(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return nbformat.v4.new_notebook(cells=[cell])


def test_parameters_cell_must_hold_literals():
    assert runner.declared_parameters(_nb_with_parameters('period = "2016"\nn: int = 3\nflag = True\nx = None')) == {"period": "2016", "n": 3, "flag": True, "x": None}
    with pytest.raises(ValueError, match="line 2: period must be a literal"):
        runner.declared_parameters(_nb_with_parameters('year = 2016\nperiod = str(year)'), "nb.ipynb")
    with pytest.raises(ValueError, match="line 1: only `name = literal`"):
        runner.declared_parameters(_nb_with_parameters("import os"))
    assert runner.declared_parameters(nbformat.v4.new_notebook()) == {}


def test_select_by_stem_or_short_name():
    paths = runner.discover(FIXTURE_NOTEBOOKS)
    assert [p.name for p in paths] == ["01_good.ipynb", "02_broken.ipynb"]
    assert runner.select(paths, ["broken"]) == [BROKEN]
    assert runner.select(paths, ["02_broken", "01_good.ipynb", "good"]) == [GOOD, BROKEN]
    assert runner.select(paths, None) == paths
    with pytest.raises(ValueError, match="known: 01_good, 02_broken"):
        runner.select(paths, ["bad"])


# ------------------------------------------------------------------------------- fingerprints
def test_fingerprint_depends_on_table_bytes_and_period_not_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "outlets.parquet").write_bytes(b"same bytes")
    fa, _ = runner.fingerprint(["outlets"], a, {"period": "2016", "processed_dir": str(a)})
    fb, _ = runner.fingerprint(["outlets"], b, {"period": "2016", "processed_dir": str(b)})
    assert fa == fb  # same data, other folder: same fingerprint
    assert runner.fingerprint(["outlets"], a, {"period": "2015"})[0] != fa
    (b / "outlets.parquet").write_bytes(b"other bytes")
    assert runner.fingerprint(["outlets"], b, {"period": "2016"})[0] != fa
    fp, hashes = runner.fingerprint(["calls"], a, {})
    assert hashes == {"calls": None}  # a missing table is recorded, not an error


# --------------------------------------------------------------------------- page preparation
def test_prepare_drops_noise_and_cells_after_failure():
    md = nbformat.v4.new_markdown_cell("# 标题 Title\n\nIntro paragraph.")
    params = nbformat.v4.new_code_cell('period = "2016"')
    axes = nbformat.v4.new_code_cell("ax")
    axes.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "<Axes: title={'center': '得分'}>"}, execution_count=3)]
    table = nbformat.v4.new_code_cell("df")
    table.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "   a\n0  1"}, execution_count=4)]
    bad = nbformat.v4.new_code_cell("1/0")
    bad.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["tb"])]
    after = nbformat.v4.new_markdown_cell("## never")
    nb = nbformat.v4.new_notebook(cells=[md, params, axes, table, bad, after])
    err = export.first_error(nb)
    assert (err.ename, err.cell_index) == ("ZeroDivisionError", 4)
    page = prepare(nb, err)
    assert [c.cell_type for c in page.cells] == ["markdown", "code", "code"]
    assert page.cells[0].source == "\nIntro paragraph."
    assert page.cells[1].source == "df"
    assert export.FAILED_CELL_TAG in page.cells[2].metadata["tags"]
    assert nb.cells[0].source.startswith("# 标题")  # the original is not modified


def test_align_tables_marks_number_cells_and_their_headers():
    import pandas as pd

    df = pd.DataFrame({"名称": ["城东支行", "城西支行"], "得分": ["90.1 分", "≥ 85"], "n": [1200, 980], "rate": ["12.5%", "—"], "备注": ["第1名", "2016-12-31"]})
    html = export.align_tables(df.to_html(index=False))
    heads = re.findall(r"<th( class=\"num\")?>([^<]*)</th>", html)
    # 备注 has one text cell and one date: half numbers is enough to right-align a header
    assert heads == [("", "名称"), (' class="num"', "得分"), (' class="num"', "n"), (' class="num"', "rate"), (' class="num"', "备注")]
    cells = re.findall(r"<td( class=\"num\")?>([^<]*)</td>", html)
    assert cells == [
        ("", "城东支行"), (' class="num"', "90.1 分"), (' class="num"', "1200"), (' class="num"', "12.5%"), ("", "第1名"),
        ("", "城西支行"), (' class="num"', "≥ 85"), (' class="num"', "980"), ("", "—"), (' class="num"', "2016-12-31"),
    ]
    assert export.align_tables("<p>no table</p>") == "<p>no table</p>"
    # a name that starts with digits is text; a number with a known unit is a number
    marked = export.align_tables(pd.DataFrame({"a": ["95599接通率", "95599服务投诉", "120万元", "3家", "4 件/万笔"]}).to_html(index=False))
    assert re.findall(r"<td( class=\"num\")?>", marked) == ["", "", ' class="num"', ' class="num"', ' class="num"']


def test_period_labels():
    assert period_label("2016") == "2016 年"
    assert period_label("2016-06") == "2016 年 1–6 月"
    assert period_label("2016Q3") == "2016 年 1–9 月"
    assert period_label(None) == "" and period_label("later") == "later"


def test_error_summary_is_short():
    e = ErrorInfo("ValueError", "x" * 1000)
    assert len(e.summary()) == 300 and e.summary().endswith("...")


# ----------------------------------------------------------------------------- offline checker
@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example.com/require.js"></script>',
        '<script src="local.js"></script>',
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Noto">',
        '<img src="http://intranet/figure.png">',
        '<img src="figure.png">',
        '<iframe src="https://example.com"></iframe>',
        '<style>body { background: url("https://example.com/bg.png"); }</style>',
        "<style>@import 'theme.css';</style>",
        '<div style="background-image:url(//cdn/x.png)"></div>',
        '<video poster="https://example.com/p.jpg"></video>',
    ],
)
def test_offline_checker_flags_network_resources(html):
    assert offline_problems(html)


def test_offline_checker_accepts_embedded_and_links():
    html = (
        '<link rel="icon" href="data:,"><img src="data:image/png;base64,AAAA">'
        '<a href="https://www.pbc.gov.cn/">人民银行</a><a href="#top">top</a>'
        '<style>.x { background: url(data:image/svg+xml;base64,AAA); }</style><script>var a = 1;</script>'
    )
    assert offline_problems(html) == []


# ------------------------------------------------------------------------------------- index
def test_index_context_is_plain_data(fixture_suite):
    ctx = build_context(fixture_suite.manifest, fixture_suite.reports)
    json.dumps(ctx)  # plain data: a later page can reuse it
    assert ctx["counts"] == {"total": 2, "ok": 1, "failed": 1}
    assert ctx["status"] == "failed"
    good = ctx["reports"][0]
    assert good["href"] == "01_good.html" and good["exports"][0]["name"] == "fixture_scores.xlsx" and good["exports"][0]["size"].endswith("KB")
    assert ctx["reports"][1]["error"] == "ValueError: 故意失败 deliberate failure"
    assert [f["file"] for f in ctx["run"]["raw_inputs"]] == ["calls/2016-01.csv", "outlets.csv", "神秘人检查_2016.xlsx"]
    html = render_index(ctx)
    # the one script is the embedded table sorter (allowed by the page's policy by its hash)
    from analysis.report.layout import table_script

    assert offline_problems(html) == [] and re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) == [table_script()]


def test_index_escapes_titles():
    manifest = {"parameters": {"period": "2016"}, "reports": [{"name": "01_x", "title": "<b>A&B</b>", "status": "ok", "html": "01_x.html", "exports": []}]}
    html = render_index(build_context(manifest))
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html and "<b>A&B</b>" not in html


def test_unattributed_exports_listed(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "old.xlsx").write_bytes(b"x" * 10)
    ctx = build_context({"parameters": {}, "reports": []}, tmp_path)
    assert ctx["other_exports"] == [{"href": "exports/old.xlsx", "name": "old.xlsx", "size": "10 B"}]


def test_package_versions_cover_the_pins():
    versions = runner.package_versions()
    for name in ("pandas", "papermill", "nbconvert", "jinja2", "matplotlib"):
        assert versions[name] == metadata.version(name)


# ----------------------------------------------------------------------- a kernel that fails
@pytest.mark.notebook  # starts a kernel and executes a notebook
def test_cell_timeout_is_a_failure_not_a_crash(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(60)")])
    nb.metadata["kernelspec"] = {"name": "analysis", "display_name": "Python (analysis)", "language": "python"}
    path = tmp_path / "01_slow.ipynb"
    nbformat.write(nb, path)
    executed, error = runner.execute(path, {}, timeout=2)
    assert error is not None and error.ename == "CellTimeoutError"
    assert executed.cells == []

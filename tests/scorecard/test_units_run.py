"""``python -m analysis run`` with the campaign overview and the unit pages: the bundled bank's 25
unit pages and the overview linking them (``unit_suite``), a failing unit page that does not stop
the others, an overview that fails without breaking the reports list, ``--unit`` checks, and
``--params`` files (validation, flags over the file, notebook parameters)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from analysis import config
from analysis.report.export import offline_problems
from analysis.report.params import RunParams, load_params, resolve
from analysis.report.runner import declared_parameters
from analysis.yamlio import ConfigError

from conftest import FIXTURE_NOTEBOOKS, FIXTURES_DIR, make_fixture_processed, run_cli

pytestmark = pytest.mark.xdist_group("fixture_suite")

UNIT_FIXTURES = FIXTURES_DIR / "unit_notebooks"
UNIT_NOTEBOOK = config.NOTEBOOKS_DIR / "units" / "unit_scorecard.ipynb"


# ------------------------------------------------------------------------- the unit notebook
def test_unit_notebook_is_well_formed_and_kept_out_of_the_suite():
    from analysis.report.runner import discover
    from analysis.scorecard.shared import INPUT_TABLES

    assert UNIT_NOTEBOOK not in discover(config.NOTEBOOKS_DIR)  # not one of the suite's reports
    nb = nbformat.read(UNIT_NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == config.KERNEL_NAME
    assert nb.metadata["analysis"]["title"] == "支行报告 / Unit scorecard" and nb.metadata["analysis"]["inputs"] == INPUT_TABLES
    declared = declared_parameters(nb, UNIT_NOTEBOOK)
    assert declared == {"period": "2016", "processed_dir": "", "reports_dir": "", "unit_id": "", "targets": "", "scheme": "competition-2011",
                        "n_draws": 1000, "seed": 2016}
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


# ------------------------------------------------------------------------ the bundled bank
def test_one_page_per_unit_and_the_overview(unit_suite):
    m = unit_suite.manifest
    assert unit_suite.rc == 0, unit_suite.stdout
    assert m["status"] == "ok" and m["overview"]["status"] == "ok"
    assert len(m["units"]) == 25 and all(u["status"] == "ok" for u in m["units"])
    pages = sorted(p.stem for p in (unit_suite.reports / "units").glob("*.html"))
    assert pages == sorted(u["unit_id"] for u in m["units"]) and len(pages) == 25
    assert [u["unit_id"] for u in m["units"]] == [u["unit_id"] for u in m["overview"]["data"]["units"]]  # rank order
    assert re.search(r"units: 25 unit page\(s\)", unit_suite.stdout)
    assert "unit pages: 25 ok, 0 failed" in unit_suite.stdout


def test_index_is_the_overview_and_links_every_unit(unit_suite):
    html = (unit_suite.reports / "index.html").read_text(encoding="utf-8")
    # the one script is the embedded table sorter (the page's policy allows it by its hash)
    from analysis.report.layout import table_script

    assert offline_problems(html) == [] and re.findall(r"<script[^>]*>(.*?)</script>", html, re.S) == [table_script()]
    assert "服务提升年总览" in html and "是否按计划推进" in html
    d = unit_suite.manifest["overview"]["data"]
    for u in unit_suite.manifest["units"]:
        assert f'href="units/{u["unit_id"]}.html"' in html, u
    for t in d["targets"]:
        assert t["title"] in html
    assert d["verdict"]["text"] in html
    for u in d["league"]["top"] + d["league"]["bottom"]:
        assert u["name"] in html
    counts = re.findall(r'<li class="st st-[\w-]+(?: zero)?"><b>(\d+)</b>', html)
    assert [int(c) for c in counts] == list(d["counts"].values())


def test_unit_pages_are_readable_offline(unit_suite):
    for u in unit_suite.manifest["units"]:
        html = (unit_suite.reports / u["html"]).read_text(encoding="utf-8")
        assert offline_problems(html) == [], u["unit_id"]
        assert f"<h1>{u['unit_name']} · 支行报告 / Unit scorecard</h1>" in html
        assert 'href="../index.html"' in html
        for heading in ("先改这三件事", "得分与名次", "活动目标", "与同类支行和全行比较", "各网点"):
            assert heading in html, (u["unit_id"], heading)
        assert "Traceback" not in html and "run-error" not in html.split("<body", 1)[1].split("<main", 1)[0]


def test_unit_page_numbers_match_the_overview(unit_suite):
    d = unit_suite.manifest["overview"]["data"]
    leader = d["league"]["top"][0]
    html = (unit_suite.reports / "units" / f"{leader['unit_id']}.html").read_text(encoding="utf-8")
    assert f"{leader['total']:.1f}" in html and "1 / 25" in html


# ---------------------------------------------------------------------------- failures
def test_a_failing_unit_page_does_not_stop_the_others(processed_dir, tmp_path):
    out = tmp_path / "reports"
    rc, stdout = run_cli(["run", "--notebooks", str(UNIT_FIXTURES), "--processed", str(processed_dir), "--out", str(out), "--no-clean",
                          "--jobs", "1", "--unit", "331802", "--unit", "331801"])
    assert rc == 1
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    units = {u["unit_id"]: u for u in m["units"]}
    assert set(units) == {"331801", "331802"} and m["reports"] == []
    assert units["331801"]["status"] == "ok" and units["331802"]["status"] == "failed"
    assert units["331802"]["error"]["ename"] == "RuntimeError" and "故意失败" in units["331802"]["error"]["evalue"]
    assert (out / "units" / "331801.html").exists() and (out / "units" / "331802.html").exists()  # the failed page shows the error
    assert "run-error" in (out / "units" / "331802.html").read_text(encoding="utf-8")
    assert re.search(r"FAILED\s+units/331802", stdout)
    html = (out / "index.html").read_text(encoding="utf-8")
    row = html[html.index('id="unit-331802"'):]
    assert "失败 Failed" in row[: row.index("</tr>")] and "故意失败" in row[: row.index("</tr>")]
    assert 'class="u-failed' in html and "页面失败" in html  # marked in the overview's unit grid too
    assert m["overview"]["status"] == "ok"  # the overview is fine; only one page failed

    # run one unit again: its page is replaced, the other is kept from the earlier run
    rc, _ = run_cli(["run", "--notebooks", str(UNIT_FIXTURES), "--processed", str(processed_dir), "--out", str(out), "--no-clean",
                     "--jobs", "1", "--unit", "331801"])
    assert rc == 0
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    kept = {u["unit_id"]: u.get("kept", False) for u in m["units"]}
    assert kept == {"331801": False, "331802": True}


def test_unknown_unit_is_bad_input(processed_dir, tmp_path, capsys):
    rc, _ = run_cli(["run", "--processed", str(processed_dir), "--out", str(tmp_path), "--no-clean", "--unit", "999999"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown unit id(s) 999999" in err and "331801 城东支行" in err


def test_unit_pages_need_the_unit_notebook(tmp_path, capsys):
    rc, _ = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--out", str(tmp_path), "--no-clean", "--per-unit"])
    assert rc == 2 and "no unit notebook" in capsys.readouterr().err


@pytest.mark.notebook  # starts a kernel and executes a notebook
def test_a_failed_overview_leaves_the_reports_list_working(tmp_path):
    processed = make_fixture_processed(tmp_path / "processed")  # its outlets table is not a table
    out = tmp_path / "reports"
    rc, stdout = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--processed", str(processed), "--out", str(out), "--no-clean",
                          "--jobs", "1", "--only", "good"])
    assert rc == 1  # the notebook worked, the overview did not: the run failed
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "failed" and m["overview"]["status"] == "failed" and m["overview"]["error"]["ename"]
    assert [r["status"] for r in m["reports"]] == ["ok"]
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "总览未能生成" in html and 'href="01_good.html"' in html and 'id="report-01_good"' in html
    assert "overview FAILED" in stdout


# --------------------------------------------------------------------------------- --params
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_schedule_is_valid():
    p = load_params(config.PROJECT_ROOT / "schedules" / "monthly.yaml")
    assert p.per_unit is True and p.period is not None


def test_params_file_and_flags():
    p = RunParams.model_validate({"period": 2016, "jobs": 3, "only": "competition", "units": [331801], "per_unit": True,
                                  "parameters": {"n_draws": 200}, "notebook_parameters": {"competition": {"scheme": "competition-2011"}}})
    assert p.period == "2016" and p.only == ["competition"] and p.units == ["331801"]
    o = resolve({"period": "2016-06", "jobs": None, "per_unit": None}, p)
    assert o["period"] == "2016-06"  # the flag wins
    assert o["jobs"] == 3 and o["per_unit"] is True  # the file, where no flag was given
    assert o["clean"] is True and o["overview"] is True and o["out"] == config.REPORTS_DIR  # defaults
    assert o["parameters"] == {"n_draws": 200} and o["notebook_parameters"] == {"competition": {"scheme": "competition-2011"}}
    assert resolve({}, None)["period"] == config.DEFAULT_PERIOD


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ('period: "2016-13"\n', "period", "period month must be 1-12"),
        ("jobs: 0\n", "jobs", "greater than or equal to 1"),
        ("per_unit: maybe\n", "per_unit", "valid boolean"),
        ("bogus: 1\n", "bogus", "Extra inputs are not permitted"),
        ("parameters: {\"bad name\": 1}\n", "parameters", "not a Python identifier"),
        ("parameters: {period: \"2016\"}\n", "parameters", "set by the runner"),
        ("notebook_parameters: {competition: {n_draws: [1, 2]}}\n", "notebook_parameters.competition.n_draws", "valid"),
        ("timeout: -5\n", "timeout", "greater than 0"),
    ],
)
def test_params_errors_name_file_and_field(tmp_path, text, field, words):
    path = _write(tmp_path / "monthly.yaml", text)
    with pytest.raises(ConfigError) as exc:
        load_params(path)
    msg = str(exc.value)
    assert str(path) in msg and f"field {field}" in msg and words in msg


def test_bad_params_file_is_bad_input(tmp_path, capsys):
    path = _write(tmp_path / "bad.yaml", "period: 2016\njobs: none\n")
    rc, _ = run_cli(["run", "--params", str(path), "--notebooks", str(FIXTURE_NOTEBOOKS), "--out", str(tmp_path / "r"), "--no-clean"])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(path) in err and "field jobs" in err
    rc, _ = run_cli(["run", "--params", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "r"), "--no-clean"])
    assert rc == 2 and "cannot read" in capsys.readouterr().err


def test_notebook_parameters_must_be_declared(tmp_path, capsys):
    path = _write(tmp_path / "p.yaml", "parameters: {nosuch: 1}\n")
    rc, _ = run_cli(["run", "--params", str(path), "--notebooks", str(FIXTURE_NOTEBOOKS), "--out", str(tmp_path / "r"), "--no-clean"])
    assert rc == 2 and "notebook parameter 'nosuch' is declared by no notebook" in capsys.readouterr().err
    path = _write(tmp_path / "q.yaml", "notebook_parameters: {broken: {label: x}}\n")
    rc, _ = run_cli(["run", "--params", str(path), "--notebooks", str(FIXTURE_NOTEBOOKS), "--out", str(tmp_path / "r"), "--no-clean"])
    assert rc == 2 and "unknown parameter 'label'" in capsys.readouterr().err


@pytest.mark.notebook  # starts a kernel and executes a notebook
def test_params_reach_the_notebooks_and_flags_override(tmp_path):
    processed = make_fixture_processed(tmp_path / "processed")
    out = tmp_path / "reports"
    path = _write(tmp_path / "p.yaml", f"period: \"2015\"\njobs: 1\nonly: [good]\noverview: false\nclean: false\n"
                                      f"processed: {processed}\nout: {out}\nnotebooks: {FIXTURE_NOTEBOOKS}\nparameters: {{label: 月报}}\n")
    rc, stdout = run_cli(["run", "--params", str(path), "--period", "2016-06"])
    assert rc == 0, stdout
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["period"] == "2016-06" and m["parameters"]["jobs"] == 1 and m["overview"]["status"] == "off"
    (good,) = m["reports"]
    assert good["parameters"]["label"] == "月报" and good["parameters"]["period"] == "2016-06"
    assert "label=月报" in (out / "01_good.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("only", "per_unit", "units", "suite", "unit_pages"),
    [
        (None, False, None, 8, False),  # the suite as before
        (None, True, None, 8, True),  # make report: the suite and every unit page
        (["competition"], True, None, 1, True),  # --per-unit --only competition
        (["unit_scorecard"], False, None, 0, True),  # --only unit_scorecard: the unit pages only
        (["targets", "unit_scorecard"], False, None, 1, True),
        (None, False, ["331801"], 0, True),  # --unit 331801: that page only
        (["competition"], False, ["331801"], 1, True),
        (["competition"], False, None, 1, False),
    ],
)
def test_which_notebooks_a_run_executes(only, per_unit, units, suite, unit_pages):
    from analysis.report.runner import _plan

    plan = _plan(config.NOTEBOOKS_DIR, only, per_unit, units, None, None)
    assert len(plan.paths) == suite and (plan.unit_info is not None) == unit_pages
    # the shared figures use the unit notebook's own options, whatever runs
    assert plan.unit_options() == {"targets": "", "scheme": "competition-2011", "n_draws": 1000, "seed": 2016}


def test_params_reach_the_shared_figures_options():
    from analysis.report.runner import _plan

    plan = _plan(config.NOTEBOOKS_DIR, None, True, None, {"n_draws": 200}, {"unit_scorecard": {"seed": 7}})
    assert plan.unit_options() == {"targets": "", "scheme": "competition-2011", "n_draws": 200, "seed": 7}
    params = plan.unit_parameters({"period": "2016", "processed_dir": "/p", "reports_dir": "/r"}, "331801")
    assert params == {"period": "2016", "processed_dir": "/p", "reports_dir": "/r", "n_draws": 200, "seed": 7, "unit_id": "331801"}


def test_an_overview_that_cannot_be_rendered_still_leaves_an_index(processed_dir, tmp_path, monkeypatch):
    from analysis.report import index

    real = index.overview_context

    def broken(manifest, units, reports=None):
        if (manifest.get("overview") or {}).get("data"):
            raise KeyError("deliberate template data error")
        return real(manifest, units, reports)

    monkeypatch.setattr(index, "overview_context", broken)
    out = tmp_path / "reports"
    rc, _ = run_cli(["run", "--notebooks", str(UNIT_FIXTURES), "--processed", str(processed_dir), "--out", str(out), "--no-clean",
                     "--jobs", "1", "--unit", "331801"])
    assert rc == 1
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["overview"]["status"] == "failed" and "could not be rendered" in m["overview"]["error"]["evalue"]
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "总览未能生成" in html and 'id="unit-331801"' in html


# ------------------------------------------------------------------- one verdict per unit target
def _page_rows(soup, *titles) -> list[dict]:
    for t in soup.find_all("table"):
        heads = [th.get_text(" ", strip=True).replace("⇅", "").strip() for th in t.find("thead").find_all("tr")[-1].find_all(["th", "td"])] if t.find("thead") else []
        if all(x in heads for x in titles):
            return [dict(zip(heads, [td.get_text(" ", strip=True) for td in tr.find_all(["td", "th"], recursive=False)]))
                    for tr in t.find("tbody").find_all("tr", recursive=False)]
    raise AssertionError(f"no table with columns {titles}")


def test_unit_targets_read_the_same_everywhere_and_never_on_track_after_the_deadline(unit_suite, tmp_path):
    """Period 2016 is at the deadline of every target (the 2017 one has not started): no unit page says
    进度正常 / on track. For every unit, each target's value, threshold, status and reason on its page
    are those of the targets computed for that sub-branch (the targets page's table and the targets
    workbook's first sheet), and the index's badges count the same missed and at-risk targets."""
    import pandas as pd
    from bs4 import BeautifulSoup

    from analysis import targets as T
    from analysis.metrics import Data
    from analysis.report.display import leftovers
    from analysis.report.target_tables import targets_workbook

    index = BeautifulSoup((unit_suite.reports / "index.html").read_text(encoding="utf-8"), "html.parser")
    data = Data(unit_suite.processed)
    by_unit = {u["unit_id"]: u for u in unit_suite.manifest["overview"]["data"]["units"]}
    assert len(by_unit) == 25
    for uid, u in by_unit.items():
        soup = BeautifulSoup((unit_suite.reports / "units" / f"{uid}.html").read_text(encoding="utf-8"), "html.parser")
        for tag in soup(["script", "style"]):
            tag.decompose()
        text = soup.get_text(" ")
        assert "进度正常" not in text and "on track" not in text, uid
        assert leftovers(text) == [], uid  # no PosixPath, machine path, module name, e-notation, -0.0, nan…
        rows = _page_rows(soup, "目标", "实际", "目标值", "状态", "依据")
        ev = T.evaluate(T.DEFAULT_TARGETS_FILE, "2016", data, sub_branch=uid)
        assert set(ev.table.loc[ev.table["final"], "status"]) <= {"met", "missed", "n/a"}, uid
        shown = T.display_table(ev.table)
        for col in ("目标", "实际", "目标值", "状态", "依据"):
            assert [r[col] for r in rows] == shown[col].tolist(), (uid, col)
        book = targets_workbook(ev, tmp_path / f"{uid}.xlsx")
        sheet = pd.read_excel(book, sheet_name="目标跟踪", keep_default_na=False, dtype=str)
        for col in ("目标", "实际", "目标值", "状态", "依据"):
            assert sheet[col].tolist() == [r[col] for r in rows], (uid, col)
        # the index: the unit's badges and the overview's counts
        li = index.select_one(f'ol.unit-grid a[href="units/{uid}.html"]').find_parent("li")
        for status, label, css in (("missed", "未达标", ".st-missed"), ("at risk", "有风险", ".st-at-risk")):
            n = sum(r["状态"].startswith(label) for r in rows)
            badge = li.select_one(css)
            assert n == (int(badge.get_text(strip=True)) if badge else 0) == u[status.replace(" ", "_")], (uid, status)

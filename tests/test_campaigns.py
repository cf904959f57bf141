"""Campaign folders (analysis.campaigns, analysis.campaign_pages, analysis.report.campaign_site): the
campaign file, its checks, the clean step, which pages a campaign gets, and the run command's
dispatch. The end-to-end runs of the example campaigns are in test_campaign_run.py (notebook tier)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import campaigns, config
from analysis.errors import InputError

EXAMPLES = config.PROJECT_ROOT / "examples"
NAMES = ["water-bureau", "telecom-branch", "county-hospital"]


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(EXAMPLES / name, dst)
    return dst


@pytest.mark.parametrize("name,levels", [("water-bureau", ("局", "站/窗口", "全局")), ("telecom-branch", ("分公司", "分局", "全分公司")),
                                         ("county-hospital", ("医院", "科室", "全院"))])
def test_each_example_loads_with_its_hierarchy_labels(name, levels):
    c = campaigns.load(EXAMPLES / name)
    assert (c.labels.organisation, c.labels.unit, c.labels.total) == levels
    assert c.raw_dir.is_dir() and c.targets_path.exists()
    assert c.default_out() == config.REPORTS_DIR / "campaigns" / name


def test_the_sources_a_campaign_reads_are_those_with_a_file_in_its_raw_folder():
    assert campaigns.source_names(campaigns.load(EXAMPLES / "water-bureau")) == ["workorders"]
    assert sorted(campaigns.source_names(campaigns.load(EXAMPLES / "county-hospital"))) == ["visits", "workorders"]
    # the telecom export's headers are its own: found only through its mapping (kind: workorders)
    assert campaigns.source_names(campaigns.load(EXAMPLES / "telecom-branch")) == ["workorders"]


@pytest.mark.parametrize("edit,words", [
    ({"colour": "blue"}, "colour"),                       # an unknown field
    ({"raw": "../../data/raw"}, "inside the campaign folder"),
    ({"targets": "nope.yaml"}, "nope.yaml"),
    ({"period": "2014-13"}, "period"),
    ({"hierarchy": {"organisation": "局", "unit": ""}}, "hierarchy"),
    ({"mappings": {"tickets": "targets.yaml"}}, "tickets"),  # no such source
])
def test_a_bad_campaign_file_is_bad_input_naming_the_file(tmp_path, edit, words):
    import yaml

    folder = _copy(tmp_path, "water-bureau")
    path = folder / "campaign.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(edit)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as err:
        campaigns.load(folder)
    assert "campaign.yaml" in str(err.value) and words in str(err.value)


def test_a_folder_without_a_campaign_file_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="campaign.yaml"):
        campaigns.load(tmp_path)


def test_the_clean_tables_never_go_into_the_campaign_folder(tmp_path):
    folder = _copy(tmp_path, "water-bureau")
    with pytest.raises(InputError, match="read-only"):
        campaigns.clean(campaigns.load(folder), folder / "processed")


@pytest.fixture(scope="module")
def county_hospital(tmp_path_factory):
    """The county-hospital example cleaned once for the tests that only read its clean folder:
    (campaign, clean folder, the clean's reports)."""
    c = campaigns.load(EXAMPLES / "county-hospital")
    processed = tmp_path_factory.mktemp("county-hospital") / "p"
    return c, processed, campaigns.clean(c, processed, echo=lambda line: None)


def test_clean_writes_tables_rejected_rows_and_the_accounting(county_hospital):
    c, processed, reports = county_hospital
    raw = list(csv.reader((c.raw_dir / "门诊登记_2011.csv").open(encoding="utf-8")))[1:]
    ids = [r[0] for r in raw]
    duplicates = len(ids) - len(set(ids))
    assert duplicates == 1  # the planted defect
    assert (reports["visits"].rows_in, reports["visits"].clean, reports["visits"].rejected) == (len(raw), len(raw) - 1, 1)
    assert campaigns.present_tables(processed) == {"visits", "workorders"}
    assert (processed / "clean_report.json").exists() and (processed / "rejected" / "visits.csv").exists()
    assert campaigns.units(processed, {"visits", "workorders"}) == sorted({r[1] for r in raw} | {"院办", "医务科", "药剂科"})


def test_the_telecom_mapping_of_the_workorders_kind_reads_its_export(tmp_path):
    c = campaigns.load(EXAMPLES / "telecom-branch")
    reports = campaigns.clean(c, tmp_path / "p", echo=lambda line: None)
    assert (reports["workorders"].rows_in, reports["workorders"].rejected) == (810, 0)
    assert campaigns.units(tmp_path / "p", {"workorders"}) == ["吴中分局", "吴江分局", "姑苏分局", "昆山分局"]


def test_a_campaign_gets_only_the_notebooks_its_tables_support():
    from analysis.report.runner import discover

    nbs = discover(campaigns.NOTEBOOKS_DIR)
    chosen, skipped = campaigns.supported(nbs, {"workorders"})
    assert [p.stem for p in chosen] == ["01_data_quality", "02_targets", "03_workorders"]
    assert skipped == {"04_visits": ["visits"]}
    chosen, skipped = campaigns.supported(nbs, {"workorders", "visits"})
    assert [p.stem for p in chosen] == ["01_data_quality", "02_targets", "03_workorders", "04_visits"] and skipped == {}
    chosen, skipped = campaigns.supported(nbs, {"visits"})
    assert "03_workorders" not in [p.stem for p in chosen] and skipped == {"03_workorders": ["workorders"]}


def test_unit_pages_are_safe_distinct_file_names():
    from analysis.report.campaign_site import unit_pages

    pages = unit_pages(["内科", "a/b", "a?b", "../x", "政务服务中心水务窗口"])
    assert pages["内科"] == "units/内科.html"
    assert pages["a/b"] == "units/a_b.html" and pages["a?b"] == "units/a_b-2.html"
    assert pages["../x"] == "units/x.html"
    assert len(set(pages.values())) == 5 and all("/" not in p[len("units/"):] for p in pages.values())


def test_the_digest_follows_the_yaml_not_the_folder(tmp_path):
    a = campaigns.digest(campaigns.load(EXAMPLES / "water-bureau"))
    folder = _copy(tmp_path, "water-bureau")
    assert campaigns.digest(campaigns.load(folder)) == a
    (folder / "targets.yaml").write_text((folder / "targets.yaml").read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert campaigns.digest(campaigns.load(folder)) != a


def test_visits_by_month_counts_each_clean_visit_once(county_hospital, tmp_path):
    from analysis import notebook
    from analysis.campaign_pages import visits_by_month, visits_summary

    c, processed, _ = county_hospital
    v = visits_by_month(c, notebook.context("2011", processed, tmp_path / "r"))
    clean = pd.read_parquet(processed / "visits.parquet")
    total = v[v["科室"] == "全院"].iloc[0]
    assert int(total["合计"]) == len(clean) == 3358
    assert int(v[v["科室"] == "内科"]["2011-01"].iloc[0]) == int(((clean["unit_id"] == "内科") & (pd.to_datetime(clean["visit_date"]).dt.month == 1)).sum())
    assert visits_summary(c, v).startswith("全院门诊量 **3,358** 人次")
    # the first half of the year only
    h1 = visits_by_month(c, notebook.context("2011-06", processed, tmp_path / "r"))
    assert int(h1[h1["科室"] == "全院"]["合计"].iloc[0]) == int((pd.to_datetime(clean["visit_date"]) < "2011-07-01").sum())


def test_the_page_words_are_the_campaigns(tmp_path):
    from analysis import notebook
    from analysis.campaign_pages import intro, workorder_summary, workorders

    c = campaigns.load(EXAMPLES / "water-bureau")
    campaigns.clean(c, tmp_path, echo=lambda line: None)
    ctx = notebook.context("2014", tmp_path, tmp_path / "r")
    w = workorders(c, ctx)
    text = intro(c, ctx.period, "") + workorder_summary(w)
    assert "局" in text and "站/窗口" in text and "全局 2014 受理 **418** 件" in text
    assert "之比 **0.48**（95% 区间 0.43–0.52）" in text and "政务服务中心水务窗口" in text
    for bank_word in ("支行", "网点", "全行"):
        assert bank_word not in text


def test_the_visits_make_data_script_writes_the_committed_register(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("hospital_make_data", EXAMPLES / "county-hospital" / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.write_visits(tmp_path).read_bytes() == (EXAMPLES / "county-hospital" / "raw" / "门诊登记_2011.csv").read_bytes()


def test_the_county_hospital_visits_target_is_a_declared_count(county_hospital):
    from analysis import targets as T

    c, processed, _ = county_hospital
    t = T.evaluate(c.targets_path, "2011", processed).table.set_index("target_id")
    assert t.loc["outpatient_visits", "actual"] == 3358 and t.loc["outpatient_visits", "status"] == "met"
    assert t.loc["tasks_on_time", "status"] == "missed"


# ------------------------------------------------------------------------------- the command line
def test_plain_run_is_the_banks_and_run_campaign_is_the_campaigns(monkeypatch, tmp_path):
    from analysis import cli
    from analysis.report import campaign_site, runner

    calls = {}

    def suite(**kw):
        calls["suite"] = kw
        return {"status": "ok"}

    def campaign(*a, **kw):
        calls["campaign"] = (a, kw)
        return {"status": "ok"}

    monkeypatch.setattr(runner, "run_suite", suite)
    monkeypatch.setattr(campaign_site, "run_campaign", campaign)
    assert cli.main(["run", "--no-clean", "--out", str(tmp_path / "r")]) == 0
    assert "campaign" not in calls and Path(calls["suite"]["raw_dir"]) == config.RAW_DIR
    assert cli.main(["run", "--campaign", "examples/water-bureau", "--out", str(tmp_path / "c"), "--period", "2014-06"]) == 0
    args, kw = calls["campaign"]
    assert args == (Path("examples/water-bureau"), tmp_path / "c") and kw["period"] == "2014-06"


def test_run_campaign_refuses_the_banks_folder_options(capsys):
    from analysis import cli

    assert cli.main(["run", "--campaign", "examples/water-bureau", "--raw", "data/raw"]) == 2
    assert "--raw" in capsys.readouterr().err


def test_run_campaign_of_a_missing_folder_is_bad_input(tmp_path, capsys):
    from analysis import cli

    assert cli.main(["run", "--campaign", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "no such campaign folder" in capsys.readouterr().err


def test_reports_never_go_into_the_campaign_folder(tmp_path, capsys):
    from analysis import cli

    folder = _copy(tmp_path, "water-bureau")
    assert cli.main(["run", "--campaign", str(folder), "--out", str(folder / "reports")]) == 2
    assert "read-only" in capsys.readouterr().err


CAMPAIGN_NOTEBOOKS = sorted(campaigns.NOTEBOOKS_DIR.glob("*.ipynb")) + [campaigns.NOTEBOOKS_DIR / campaigns.UNIT_NOTEBOOK]


@pytest.mark.parametrize("path", CAMPAIGN_NOTEBOOKS, ids=[p.stem for p in CAMPAIGN_NOTEBOOKS])
def test_campaign_notebooks_are_well_formed_and_thin(path):
    import nbformat

    from analysis.report.runner import STANDARD_PARAMETERS, declared_parameters

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == config.KERNEL_NAME
    tables = {p.stem for p in config.SOURCES_DIR.glob("*.yaml")}
    assert set(nb.metadata["analysis"]["inputs"]) <= tables and nb.metadata["analysis"]["title"].strip()
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    declared = declared_parameters(nb, path)
    assert {*STANDARD_PARAMETERS, "campaign"} <= set(declared)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert "def " not in cell.source and "class " not in cell.source  # logic lives in analysis.campaign_pages


def test_a_table_left_by_an_earlier_run_does_not_count(tmp_path):
    folder = _copy(tmp_path, "county-hospital")
    c = campaigns.load(folder)
    campaigns.clean(c, tmp_path / "p", echo=lambda line: None)
    assert campaigns.present_tables(tmp_path / "p") == {"visits", "workorders"}
    (folder / "raw" / "门诊登记_2011.csv").unlink()
    campaigns.clean(campaigns.load(folder), tmp_path / "p", echo=lambda line: None)
    assert (tmp_path / "p" / "visits.parquet").exists()  # still there, from the first run
    assert campaigns.present_tables(tmp_path / "p") == {"workorders"}

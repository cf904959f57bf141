"""Each example campaign end to end (notebook tier): ``run --campaign examples/X --out DIR`` exits 0 and
writes the index, the overview, the reports its tables support and a page per unit; the figures on
the pages equal those of the ``workorders`` and ``targets`` commands on the same raw data; the pages
speak the campaign's hierarchy, not the bank's."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import campaigns, cli, config

pytestmark = pytest.mark.notebook

EXAMPLES = config.PROJECT_ROOT / "examples"
# example -> (period, workorders arguments as in its README, clean arguments for `targets`, pages it gets, pages it does not)
CASES = {
    "water-bureau": ("2014", ["--baseline", "2013", "--targets", "examples/water-bureau/targets.yaml", "--total-label", "全局"],
                     ["--only", "workorders"], ["01_data_quality", "02_targets", "03_workorders"], ["04_visits"]),
    "telecom-branch": ("2009", ["--mapping", "examples/telecom-branch/mapping.yaml", "--total-label", "全分公司"],
                       None, ["01_data_quality", "02_targets", "03_workorders"], ["04_visits"]),
    "county-hospital": ("2011", ["--total-label", "全院"], ["--only", "workorders", "--only", "visits"],
                        ["01_data_quality", "02_targets", "03_workorders", "04_visits"], []),
}


def _text(path: Path) -> str:
    t = path.read_text(encoding="utf-8")
    t = re.sub(r"<(style|script)\b.*?</\1>", " ", t, flags=re.DOTALL)
    t = re.sub(r"</?(strong|b|em)>", "", t)  # bold figures read as plain text
    return html.unescape(re.sub(r"<[^>]+>", " ", t))


@pytest.fixture(scope="module", params=list(CASES))
def published(request, tmp_path_factory):
    name = request.param
    period, wo_args, clean_args, _, _ = CASES[name]
    tmp = tmp_path_factory.mktemp(name)
    out = tmp / "site"
    rc = cli.main(["run", "--campaign", str(EXAMPLES / name), "--out", str(out), "--jobs", "2"])
    # the same raw data through the commands a user would run by hand
    processed = tmp / "cli-clean"
    raw = EXAMPLES / name / "raw"
    assert cli.main(["workorders", "--input", str(raw), "--period", period, *wo_args, "--processed", str(processed), "--out", str(tmp / "wo.csv")]) == 0
    if clean_args is not None:
        assert cli.main(["clean", "--raw", str(raw), *clean_args, "--out", str(processed)]) == 0
    c = campaigns.load(EXAMPLES / name)
    assert cli.main(["targets", "--processed", str(processed), "--targets", str(c.targets_path), "--period", period, "--out", str(tmp / "t.csv")]) == 0
    return {"name": name, "rc": rc, "out": out, "campaign": c, "period": period,
            "wo": pd.read_csv(tmp / "wo.csv", encoding="utf-8-sig"), "targets": pd.read_csv(tmp / "t.csv", encoding="utf-8-sig")}


def test_run_campaign_publishes_index_overview_reports_and_unit_pages(published):
    out, name = published["out"], published["name"]
    assert published["rc"] == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["kind"] == "campaign" and manifest["overview"]["status"] == "ok"
    _, _, _, pages, absent = CASES[name]
    assert [r["name"] for r in manifest["reports"]] == pages
    for p in pages:
        assert (out / f"{p}.html").exists()
    for p in absent:  # no page for a source the campaign does not have, not even an empty one
        assert not (out / f"{p}.html").exists()
        assert p in manifest["parameters"]["skipped"]
    units = sorted(set(published["wo"]["unit_id"]) - {published["campaign"].labels.total})
    assert [u["unit_id"] for u in manifest["units"]] == units
    for u in manifest["units"]:
        assert u["status"] == "ok" and (out / u["html"]).exists()
    index = (out / "index.html").read_text(encoding="utf-8")
    for u in manifest["units"]:
        assert f'href="{u["html"]}"' in index
    # the example folder stays as it was: nothing written into it
    assert not list((EXAMPLES / name).glob("**/*.parquet")) and not (EXAMPLES / name / "processed").exists()


def test_the_pages_figures_equal_the_commands(published):
    out, c, period = published["out"], published["campaign"], published["period"]
    exported = pd.read_csv(out / "exports" / f"{c.name}_workorders_{period}.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(exported, published["wo"])
    t = pd.read_csv(out / "exports" / f"{c.name}_targets_{period}.csv", encoding="utf-8-sig")
    cols = ["target_id", "scope", "actual", "target", "status"]
    pd.testing.assert_frame_equal(t[cols], published["targets"][cols])

    from analysis.report.display import share
    from analysis.targets import format_value

    index = _text(out / "index.html")
    for r in published["targets"].itertuples():
        assert f"{r.title}" in index and format_value(r.actual, r.unit) in index
    wo = published["wo"]
    total = wo[wo["scope"] == "all"].iloc[0]
    page = _text(out / "03_workorders.html")
    assert f"受理 {int(total['orders']):,} 件" in page and f"{share(total['on_time_share'])}" in page
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for u in manifest["units"]:
        row = wo[wo["unit_id"] == u["unit_id"]].iloc[0]
        text = _text(out / u["html"])
        assert f"{u['unit_id']}受理 {int(row['orders']):,} 件" in text
        if row["on_time_share"] == row["on_time_share"]:
            assert f"按时办结率 {share(row['on_time_share'])}" in text


def test_the_pages_speak_the_campaigns_hierarchy(published):
    out, c = published["out"], published["campaign"]
    h = c.labels
    index = _text(out / "index.html")
    assert f"{h.organisation} → {h.unit}" in index and f"{h.unit}报告" in index and c.spec.organisation in index
    pages = [*out.glob("*.html"), *(out / "units").glob("*.html")]
    for p in pages:
        text = _text(p)
        for bank_word in ("支行", "网点", "全行", "outlet"):
            assert bank_word not in text, f"{p.name}: {bank_word}"
    first_unit = min((out / "units").glob("*.html"))
    assert f"{h.unit}报告" in _text(first_unit) and h.total in _text(first_unit)


def test_the_visits_page_counts_the_visits_target(published):
    if published["name"] != "county-hospital":
        pytest.skip("only the county hospital ships outpatient visits")
    out = published["out"]
    visits = published["targets"].set_index("target_id").loc["outpatient_visits"]
    assert _text(out / "04_visits.html").count(f"{int(visits['actual']):,}") >= 1
    assert f"全院门诊量 {int(visits['actual']):,} 人次" in _text(out / "04_visits.html")


def test_the_campaign_notebooks_write_nothing_to_stderr(published):
    """Each page's notebook, run again as the run ran it: no warning, no error output."""
    if published["name"] != "county-hospital":
        pytest.skip("the county hospital runs every campaign notebook")
    from analysis.report.runner import execute

    manifest = json.loads((published["out"] / "manifest.json").read_text(encoding="utf-8"))
    for entry in [*manifest["reports"], manifest["units"][0]]:
        nb_path = campaigns.NOTEBOOKS_DIR / (f"{entry['name']}.ipynb" if not entry["name"].startswith("units/") else campaigns.UNIT_NOTEBOOK)
        nb, error = execute(nb_path, entry["parameters"])
        assert error is None, f"{entry['name']}: {error}"
        stderr = ["".join(o.get("text", "")) for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        assert not stderr, f"{entry['name']} wrote to stderr:\n" + "\n".join(stderr)

"""The competition on the bundled sample bank: the values the notebook shows, checked through the
library against direct calculations on the clean tables, through the command line, and by running
notebooks/03_competition.ipynb itself and reading back its Excel export."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.scoring import load_scheme
from analysis.scoring.build import LOAN_WEIGHT, tables_needed

COMP = load_scheme("competition-2011")
EVAL = load_scheme("evaluation-2016")
TABLES = sorted(set(tables_needed(COMP)) | set(tables_needed(EVAL)))

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]


@pytest.fixture(scope="module")
def processed(processed_dir):
    return processed_dir


@pytest.fixture(scope="module")
def ctx(processed, tmp_path_factory):
    import analysis.notebook

    return analysis.notebook.context("2016", processed, tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def comp(ctx):
    from analysis.scoring.report import run_competition

    return run_competition(ctx, "competition-2011", n_draws=200)


def test_league_table_is_plan_2(comp):
    t = comp.result.table
    assert len(t) == 25 and t["unit_id"].is_unique
    w = pd.Series(comp.result.weights)
    pts = t[COMP.indicator_ids]
    assert ((pts >= 0) & (pts <= 1.2 * w + 1e-9)).all().all()
    assert np.allclose(t["total"], pts.sum(axis=1) - t["deduction"])
    # ranks: highest total first, ties share the best rank
    expected = t["total"].round(9).rank(method="min", ascending=False).astype(int)
    assert (t["rank"] == expected).all()
    events = comp.result.inputs.set_index("unit_id").loc[t["unit_id"], ["major_complaints", "negative_media"]].sum(axis=1).to_numpy()
    assert (t["deduction"].to_numpy() == events).all()
    assert (t["award_eligible"].to_numpy() == (events < 3)).all()


def test_mystery_shopper_and_financial_assets_recomputed_directly(comp, ctx):
    # Independent of build.py: straight from the clean tables for the last-ranked unit.
    uid = comp.result.table["unit_id"].iloc[-1]
    outlets = ctx.table("outlets")
    mine = set(outlets.loc[outlets["sub_branch_id"] == uid, "outlet_id"])
    ms = ctx.table("mystery_shopper")
    ms = ms[(ms["year"] == 2016) & ms["outlet_id"].isin(mine)]
    round_means = ms.groupby("round")["score"].mean()
    expected_ms = round_means.mean() / 100 * 20  # mean of the rounds present
    assert comp.result.table.set_index("unit_id").at[uid, "mystery_shopper"] == pytest.approx(min(expected_ms, 24))

    bus = ctx.table("business")
    dec = bus[(bus["month"] == "2016-12") & bus["outlet_id"].isin(mine)]
    vip_fa = sum(dec[f"vip_{p}"].sum() for p in ("deposits", "funds", "bonds", "wealth")) + 0.5 * dec["vip_loans"].sum()
    assert LOAN_WEIGHT == 0.5
    assert comp.result.inputs.set_index("unit_id").at[uid, "vip_fa"] == pytest.approx(vip_fa)
    assert comp.result.inputs.set_index("unit_id").at[uid, "outlets"] == len(mine)


def test_command_line_gives_the_same_table(comp, tmp_path):
    from analysis.cli import main

    src = tmp_path / "in.csv"
    comp.build.for_scheme(COMP).to_csv(src, index=False, encoding="gbk")
    out = tmp_path / "out.csv"
    assert main(["score", "--scheme", "competition-2011", "--input", str(src), "--out", str(out), "--period", "2016"]) == 0
    cli = pd.read_csv(out, dtype={"unit_id": str}).set_index("unit_id")
    lib = comp.result.table.set_index("unit_id")
    assert list(cli.index) == list(lib.index)
    assert np.allclose(cli["total"], lib["total"], rtol=0, atol=1e-9)


def test_uncertainty_and_reading_aids(comp):
    iv = comp.mc.intervals
    assert len(iv) == 25 and (iv["rank_lo"] <= iv["rank_hi"]).all()
    assert comp.mc.settings["resampled"][:4] == ["ms_1", "ms_2", "ms_3", "ms_4"]
    from analysis.scoring import insights

    lf = insights.lift(comp.result)
    assert (lf["gain"] >= 0).all() and (lf["rank_after"] <= lf["rank"]).all()
    assert comp.previous is not None and comp.previous.period == "2015"
    s = insights.unit_sentences(comp.result, intervals=iv, tied_with=comp.mc.tied_with())
    first = comp.result.table.iloc[0]
    assert s["sentence"].iloc[0].startswith(f"{first['unit_name']}以{first['total']:.1f}分")


def test_evaluation_2016_runs_and_says_assumed(ctx):
    from analysis.scoring.report import run_scheme

    r, b = run_scheme(ctx, "evaluation-2016")
    assert len(r.table) == 25 and r.scheme.assumed
    assert (r.table[EVAL.indicator_ids] <= pd.Series(r.weights) + 1e-9).all().all()


def test_notebook_runs_and_its_export_matches(comp, run_notebook, notebook_reports_dir):
    from openpyxl import load_workbook

    reports = notebook_reports_dir
    nb = run_notebook("03_competition", n_draws=200)
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/markdown", "")) + str(o.get("data", {}).get("text/html", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "计分规则为假设" in text  # the evaluation section says its rules are assumed
    first = comp.result.table.iloc[0]
    assert f"{first['unit_name']}以{first['total']:.1f}分" in text
    wb = load_workbook(reports / "exports" / "league_table_competition-2011_2016.xlsx")
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    totals = {ws.cell(i, 2).value: ws.cell(i, header.index("总分") + 1).value for i in range(2, ws.max_row + 1)}
    lib = comp.result.table.set_index("unit_id")["total"]
    assert set(totals) == set(lib.index)
    assert all(math.isclose(totals[u], lib[u], abs_tol=1e-9) for u in lib.index)


def test_the_sample_banks_planted_stories(comp):
    # data/raw/README.md: 3+ major responsible complaints and city-level media reports in 2016 at
    # 开发区支行 and 清河县支行 (in 2015 at 开发区支行 and 城北支行): ranked, but not award eligible.
    t = comp.result.table.set_index("unit_name")
    assert set(t.index[~t["award_eligible"]]) == {"开发区支行", "清河县支行"}
    assert (t.loc[["开发区支行", "清河县支行"], "deduction"] >= 3).all()
    p = comp.previous.table.set_index("unit_name")
    assert set(p.index[~p["award_eligible"]]) == {"开发区支行", "城北支行"}
    # deposits fall in 2016 at 城南支行: its per-outlet increment is negative -> floored at 0 points
    assert t.at["城南支行", "deposit_growth"] == 0
    d = comp.result.detail["deposit_growth"]
    uid = t.at["城南支行", "unit_id"]
    assert d.at[uid, "per_outlet_increment"] < 0
    # VIP customers stall in 2016 at 新华路支行: the lowest VIP growth points of the 25
    assert t["vip_growth"].idxmin() == "新华路支行"
    # e-channel share barely moves in 2016 at 临江县支行: the smallest e-channel increment
    e = comp.result.detail["e_channel"]
    assert e["increment"].idxmin() == t.at["临江县支行", "unit_id"]


def test_notebook_is_thin_and_committed_without_outputs():
    import ast

    import nbformat

    nb = nbformat.read(config.NOTEBOOKS_DIR / "03_competition.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "analysis"
    assert set(nb.metadata["analysis"]["inputs"]) == set(TABLES)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = nb.cells[1]
    assert params.metadata.get("tags") == ["parameters"]
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(params.source).body}
    assert values == {"period": "2016", "processed_dir": "", "reports_dir": "", "scheme": "competition-2011", "n_draws": 1000}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None
            assert len(cell.source.splitlines()) <= 8

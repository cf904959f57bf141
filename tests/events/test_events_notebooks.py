"""The service-event notebooks (06, 07, 08) run end to end and show the numbers the library computes."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from analysis import config

# The tests that run a notebook (the metadata check below is fast and stays in the fast tier).
notebook = pytest.mark.notebook
same_worker = pytest.mark.xdist_group("notebooks")  # the run_notebook cache lives in one worker


@pytest.fixture(scope="module")
def processed(processed_dir):
    return processed_dir


def run(run_notebook, name: str, **params) -> nbformat.NotebookNode:
    """The notebook run once per session by the ``run_notebook`` fixture; no error, no missing glyph."""
    nb = run_notebook(name, **params)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and o.name == "stderr":
                assert "Glyph" not in o.text and "warning" not in o.text.lower(), o.text
    return nb


def texts(nb) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            parts.append(data.get("text/html", "") + data.get("text/markdown", "") + o.get("text", ""))
    return "\n".join(parts)


def test_metadata_and_parameters_are_literals():
    for path in sorted(config.NOTEBOOKS_DIR.glob("0[678]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "analysis"
        assert set(nb.metadata["analysis"]) == {"title", "inputs"}
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and params[0] is nb.cells[1]
        for line in params[0].source.splitlines():
            assert re.fullmatch(r'\w+ = ("[^"]*"|[\d.]+)', line), line
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs


@notebook
@same_worker
def test_waiting_times_notebook(processed, run_notebook, notebook_reports_dir):
    nb = run(run_notebook, "06_waiting_times")
    # independent: the 2016 whole-bank mean wait of called tickets, with the skew rule, in minutes
    q = pd.read_parquet(processed / "queue_tickets.parquet")
    q = q[q["issued_at"].dt.year == 2016]
    w = (q["called_at"] - q["issued_at"]).dt.total_seconds().dropna().clip(lower=0)
    text = texts(nb)
    assert f"全行共取号 {len(q):,} 笔，平均等候 {w.mean() / 60:.1f} 分钟" in text
    x = pd.read_excel(notebook_reports_dir / "exports" / "06_等候时间_2016.xlsx", sheet_name="网点")
    outlets_with_tickets = q["outlet_id"].nunique()
    assert x["取号数"].sum() == len(q) and len(x) == outlets_with_tickets
    assert f"{outlets_with_tickets} 个网点中" in text


@notebook
@same_worker
def test_call_centre_notebook(processed, run_notebook, notebook_reports_dir):
    nb = run(run_notebook, "07_call_centre")
    c = pd.read_parquet(processed / "calls.parquet")
    c16 = c[(c["arrived_at"].dt.year == 2016) & (c["center"] == "95599")]
    text = texts(nb)
    assert f"95599客服中心转人工 {len(c16):,} 通，接通率 {c16['answered_at'].notna().mean():.1%}" in text
    # the credit-card target is its 2015 answer rate + 10 points
    c15 = c[(c["arrived_at"].dt.year == 2015) & (c["center"] == "credit_card")]
    assert f"目标 {min(1, c15['answered_at'].notna().mean() + 0.10):.1%}" in text
    assert "两种算法一致" in text and "Erlang A 全天需要" in text
    x = pd.read_excel(notebook_reports_dir / "exports" / "07_客服中心_2016.xlsx", sheet_name="排班测算")
    assert len(x) == 48 and x["来电"].sum() == 2375  # the real 1999-08-01 volumes


@notebook
@same_worker
@pytest.mark.spark
def test_teller_ratings_notebook_on_both_engines(processed, run_notebook):
    from analysis.events.engine import spark_available

    r = pd.read_parquet(processed / "teller_ratings.parquet")
    r16 = r[r["txn_at"].dt.year == 2016]
    sat = (r16["rating"] >= 4).sum() / r16["rating"].notna().sum()
    want = f"评价率 {r16['rating'].notna().mean():.1%}，满意度 {sat:.1%}"
    import os

    ok, why = spark_available()
    if not ok and os.environ.get("ANALYSIS_REQUIRE_SPARK") == "1":
        pytest.fail(f"ANALYSIS_REQUIRE_SPARK=1 but Spark cannot run: {why}")
    engines = ["duckdb"] + (["spark"] if ok else [])
    for engine in engines:
        nb = run(run_notebook, "08_teller_ratings", engine=engine)
        assert want in texts(nb), engine
    if len(engines) == 1:
        pytest.skip(f"08 ran on DuckDB only: {why}")

"""The service-event notebooks (06, 07, 08) run end to end and show the numbers the library computes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import events_sample  # noqa: E402

from analysis import config  # noqa: E402

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
pytestmark = pytest.mark.notebook


SAMPLE_BANK = sorted(config.RAW_DIR.glob("排队叫号*")) and sorted(config.RAW_DIR.glob("机构信息*"))


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """The bundled sample bank cleaned (the event sources and the master data) when it is in
    data/raw; otherwise a small generated set of clean tables."""
    out = tmp_path_factory.mktemp("processed")
    if SAMPLE_BANK:
        from analysis.clean.engine import clean_all

        clean_all(config.RAW_DIR, out, only=["outlets", "calls", "queue_tickets", "teller_ratings"], echo=lambda *a, **k: None)
        return out
    return events_sample.build(out)


def run(name: str, processed: Path, reports: Path, **params) -> nbformat.NotebookNode:
    import papermill as pm

    reports.mkdir(parents=True, exist_ok=True)
    out = reports / f"{name}.out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters={"processed_dir": str(processed), "reports_dir": str(reports), **params},
        kernel_name="analysis", progress_bar=False, log_output=False,
    )  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.output_type != "error", o
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
    for path in sorted(NOTEBOOKS.glob("0[678]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "analysis"
        assert set(nb.metadata["analysis"]) == {"title", "inputs"}
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and params[0] is nb.cells[1]
        for line in params[0].source.splitlines():
            assert re.fullmatch(r'\w+ = ("[^"]*"|[\d.]+)', line), line
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs


def test_waiting_times_notebook(processed, tmp_path):
    nb = run("06_waiting_times", processed, tmp_path)
    # independent: the 2016 whole-bank mean wait of called tickets, with the skew rule, in minutes
    q = pd.read_parquet(processed / "queue_tickets.parquet")
    q = q[q["issued_at"].dt.year == 2016]
    w = (q["called_at"] - q["issued_at"]).dt.total_seconds().dropna().clip(lower=0)
    text = texts(nb)
    assert f"全行共取号 {len(q):,} 笔，平均等候 {w.mean() / 60:.1f} 分钟" in text
    x = pd.read_excel(tmp_path / "exports" / "06_等候时间_2016.xlsx", sheet_name="网点")
    outlets_with_tickets = q["outlet_id"].nunique()
    assert x["取号数"].sum() == len(q) and len(x) == outlets_with_tickets
    assert f"{outlets_with_tickets} 个网点中" in text


def test_call_centre_notebook(processed, tmp_path):
    nb = run("07_call_centre", processed, tmp_path)
    c = pd.read_parquet(processed / "calls.parquet")
    c16 = c[(c["arrived_at"].dt.year == 2016) & (c["center"] == "95599")]
    text = texts(nb)
    assert f"95599客服中心转人工 {len(c16):,} 通，接通率 {c16['answered_at'].notna().mean():.1%}" in text
    # the credit-card target is its 2015 answer rate + 10 points
    c15 = c[(c["arrived_at"].dt.year == 2015) & (c["center"] == "credit_card")]
    assert f"目标 {min(1, c15['answered_at'].notna().mean() + 0.10):.1%}" in text
    assert "两种算法一致" in text and "Erlang A 全天需要" in text
    x = pd.read_excel(tmp_path / "exports" / "07_客服中心_2016.xlsx", sheet_name="排班测算")
    assert len(x) == 48 and x["来电"].sum() == 2375  # the real 1999-08-01 volumes


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_teller_ratings_notebook_on_both_engines(processed, tmp_path):
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
        nb = run("08_teller_ratings", processed, tmp_path / engine, engine=engine)
        assert want in texts(nb), engine
    if len(engines) == 1:
        pytest.skip(f"08 ran on DuckDB only: {why}")

"""The complaints notebook on the bundled bank, end to end, and no personal data in any output.

The bundled bank (data/raw, see its README) has 908 records in 投诉_2015.csv (one an exact duplicate)
and 763 in 投诉_2016.csv (the first a 2015 complaint exported again): 907 complaints received in
2015 and 762 in 2016. Its README also says complaints rise in 2016 at 清河县支行 and 江北支行 while
the bank's fall by about 15%.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis import config
from analysis.masking import _texts_of, mask_text, scan_outputs

NOTEBOOK = config.NOTEBOOKS_DIR / "05_complaints.ipynb"
# Every test but the first uses ``run`` (a notebook run): they carry both marks; the run_notebook cache
# lives in one worker.
notebook = pytest.mark.notebook
same_worker = pytest.mark.xdist_group("notebooks")


def test_notebook_is_thin_and_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "analysis"
    assert nb.metadata["analysis"]["title"].startswith("客户投诉分析")
    assert set(nb.metadata["analysis"]["inputs"]) == {"complaints", "business", "outlets"}
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = nb.cells[1]
    assert params.metadata.get("tags") == ["parameters"]
    tree = ast.parse(params.source)
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body}  # literals only
    assert values == {"period": "2016", "processed_dir": "", "reports_dir": ""}
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None
            assert len(cell.source.splitlines()) <= 5


@pytest.fixture(scope="module")
def run(tmp_path_factory, processed_dir, notebook_reports_dir, run_notebook):
    """Run the CLI on both complaint files; execute the notebook (``run_notebook``, on the bundled
    bank cleaned once per session) and keep the executed notebook in a temporary folder."""
    root = tmp_path_factory.mktemp("complaints_e2e")
    env = {"PYTHONPATH": str(config.PACKAGE_DIR.parent), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(root)}
    cli_dirs = []
    for year in (2015, 2016):
        out = root / f"cli_{year}"
        r = subprocess.run([sys.executable, "-m", "analysis", "complaints", "--input", str(config.RAW_DIR / f"投诉_{year}.csv"), "--out", str(out)],
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        cli_dirs.append(out)
    executed = root / "05_complaints.ipynb"
    nbformat.write(run_notebook("05_complaints"), executed)
    # everything the run wrote: the clean tables, the notebook's exports, the CLI's outputs, the notebook
    written = [processed_dir, notebook_reports_dir, root]
    return {"root": root, "processed": processed_dir, "reports": notebook_reports_dir, "cli": cli_dirs, "notebook": executed, "written": written}


def _outputs(nb_path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(nb_path, as_version=4)
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                out.append((o.name, o.text))
            for mime, data in o.get("data", {}).items():
                if mime in ("text/markdown", "text/html"):
                    out.append((mime, data))
    return out


@notebook
@same_worker
def test_notebook_reports_the_bank_as_its_readme_describes(run):
    outs = _outputs(run["notebook"])
    assert not [t for kind, t in outs if kind == "stderr"], "warnings in the notebook (a missing glyph?)"
    md = "\n".join(t for kind, t in outs if kind == "text/markdown")
    assert "**762件**" in md and "907件" in md  # 2016 and 2015 complaints
    assert "下降16.0%" in md  # (762 - 907) / 907 = -15.99%
    assert "下降是真实的" in md
    unit_sentence = next(t for kind, t in outs if kind == "text/markdown" and "个支行中" in t)
    rising = unit_sentence.split("显著上升的有")[1].split("，其余")[0]
    assert "清河县支行" in rising and "江北支行" in rising
    assert "未映射" in md  # the unmapped labels are shown
    assert "社保卡代发" in "\n".join(t for kind, t in outs if kind == "text/html")
    assert (run["reports"] / "exports" / "投诉分析_2016.xlsx").exists()


@notebook
@same_worker
def test_library_values_behind_the_notebook(run):
    from analysis import notebook
    from analysis.complaints import report

    ctx = notebook.context("2016", run["processed"], run["reports"])
    d = report.load(ctx)
    v = report.volume(d).values
    assert (v["current"], v["previous"]) == (762, 907)
    inc = report.increment(d).values
    # The bank's per-outlet increment = (named now - named before) / outlets.
    b = inc["bank"]
    assert b["increment_per_outlet"] == pytest.approx((b["named"] - b["named_prev"]) / 148)
    assert inc["units"]["outlets"].sum() == 148
    real = report.decrease_real(d).values["table"].set_index("what")
    assert real.loc["全行投诉", "verdict"] == "decrease"
    assert (real.loc["全行投诉", "k1"], real.loc["全行投诉", "k2"]) == (907, 762)
    # Nothing lost in the classification: every complaint of the period is in exactly one B bucket.
    assert report.by_jrt(d, "B").values["table"]["current"].sum() == 762


@notebook
@same_worker
def test_no_personal_number_survives_in_any_output(run):
    # The scanner finds the synthetic numbers in the raw exports (so an empty result means something).
    assert len(scan_outputs([config.RAW_DIR / "投诉_2016.csv"])) > 100
    files = sorted({p for folder in run["written"] for p in folder.rglob("*") if p.is_file()})
    kinds = {p.suffix for p in files}
    assert {".parquet", ".csv", ".json", ".ipynb", ".xlsx"} <= kinds
    assert scan_outputs(files) == []


@notebook
@same_worker
def test_every_text_in_the_executed_notebook_is_already_masked(run):
    # mask_text leaves masked text unchanged; any name, phone, ID or card number left would change it.
    texts = _texts_of(run["notebook"])
    assert texts and all(mask_text(t) == t for t in texts)
    sample = next(t for kind, t in _outputs(run["notebook"]) if kind == "text/html" and "已脱敏" in t)
    assert "****" in sample  # the examples do show masked numbers


@notebook
@same_worker
def test_cli_on_the_bundled_bank_accounts_for_every_record(run):
    for out, (rows, rejected) in zip(run["cli"], [(908, 1), (763, 0)]):
        t = pd.read_parquet(out / "complaints.parquet")
        rej = pd.read_csv(out / "rejected.csv", encoding="utf-8-sig")
        assert len(t) + len(rej) == rows and len(rej) == rejected

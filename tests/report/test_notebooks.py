"""Every notebook in notebooks/: well formed, runs against the bundled data without error and
without a word on stderr (no warnings, in particular no matplotlib "Glyph ... missing from font"),
and exports to an offline page without code.

Each notebook runs once per session (``run_notebook`` caches it); the notebooks' own tests that
assert values use the same cache when they share the ``notebooks`` xdist group.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from analysis import config
from analysis.report.export import PageExporter, offline_problems
from analysis.report.runner import STANDARD_PARAMETERS, declared_parameters

NOTEBOOKS = sorted(p for p in config.NOTEBOOKS_DIR.glob("*.ipynb") if not p.name.startswith((".", "_")))
TABLES = sorted(p.stem for p in config.SOURCES_DIR.glob("*.yaml"))

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]
each_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


@each_notebook
def test_notebook_is_well_formed(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: name it NN_name.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    ks = nb.metadata.get("kernelspec", {})
    assert ks.get("name") == config.KERNEL_NAME and ks.get("language") == "python", f"{path.name}: kernelspec {ks}"
    meta = nb.metadata.get("analysis", {})
    assert isinstance(meta.get("title"), str) and meta["title"].strip(), f'{path.name}: metadata "analysis.title" missing'
    inputs = meta.get("inputs")
    assert isinstance(inputs, list) and set(inputs) <= set(TABLES), f'{path.name}: "analysis.inputs" {inputs} must name clean tables: {TABLES}'
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), f"{path.name}: first cell must be the markdown title"
    declared = declared_parameters(nb, path)  # literals only, or it raises
    assert set(STANDARD_PARAMETERS) <= set(declared), f"{path.name}: parameters cell must declare {STANDARD_PARAMETERS}"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: commit notebooks without outputs"


@each_notebook
def test_notebook_runs_without_errors_or_stderr(path, run_notebook):
    nb = run_notebook(path.stem)  # raises NotebookFailed with the traceback
    stderr = [
        "".join(o.get("text", ""))
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    ]
    assert not stderr, f"{path.name} wrote to stderr:\n" + "\n".join(stderr)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@each_notebook
def test_notebook_page_is_offline(path, run_notebook):
    nb = run_notebook(path.stem)
    html = PageExporter().render(nb, title=nb.metadata["analysis"]["title"], notebook=path.name, period=config.DEFAULT_PERIOD)
    assert offline_problems(html) == []
    assert not re.search(r'class="[^"]*\b(jp-InputArea-editor|jp-InputPrompt)\b', html), "code cells must be hidden"
    assert all(src.startswith("data:") for src in re.findall(r'<img[^>]*\bsrc="([^"]*)"', html))

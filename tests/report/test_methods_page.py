"""The methods page (reports/methods.html from docs/METHODS.md) and the glossary links into it."""

from __future__ import annotations

import re

import nbformat
import pytest

from analysis.report import display, methods
from analysis.report.export import PageExporter, offline_problems
from analysis.report.safehtml import element_from_data


@pytest.fixture(scope="module")
def page() -> str:
    return methods.render_methods(methods.METHODS_FILE.read_text(encoding="utf-8"))


def test_anchor_rule():
    assert methods.anchor("3. Funnel plots and outliers (analysis.funnel)") == "funnel-plots-and-outliers"
    assert methods.anchor('4. Targets "met beyond noise" (analysis.targets, analysis.metrics)') == "targets-met-beyond-noise"
    assert methods.anchor("Marginal 90% set") == "marginal-90-set"
    assert methods.anchor("名次") == "section"


def test_every_glossary_term_links_to_a_section_that_exists(page):
    ids = methods.anchors(page)
    assert set(display.GLOSSARY_METHODS) == set(display.GLOSSARY)  # no term without its section
    for term, anchor in display.GLOSSARY_METHODS.items():
        assert anchor in ids, (term, anchor)
        assert display.glossary_href(term) == f"methods.html#{anchor}"
    # the sections the terms point at say what the terms are about
    text = re.sub(r"<[^>]+>", " ", page)
    assert "Winsorised" in text and "Mogstad" in text and "1.4826" in text and "Erlang A" in text


def test_glossary_html_carries_the_links(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "_display", lambda obj: shown.append(obj.data))
    display.glossary("名次置信集", "φ（过度离散）")
    html = shown[0]
    assert 'href="methods.html#ranks-of-the-league-table-marginal-90-set"' in html
    assert 'href="methods.html#funnel-plots-and-outliers-overdispersion"' in html
    with pytest.raises(KeyError, match="名次区间"):
        display.glossary("名次区间")  # the old, vague term is gone


def test_methods_page_is_offline_escaped_and_has_contents(page):
    assert offline_problems(page) == []
    assert len(re.findall(r'<nav[^>]*class="toc"', page)) == 1
    assert '<a href="#funnel-plots-and-outliers">' in page
    # nbconvert's own ¶ links pointed at ids the page no longer has: removed
    assert 'class="anchor-link"' not in page and "¶" not in page
    hostile = methods.render_methods("# T\n\n## 1. A (`m`)\n\n**How.** <script>alert(1)</script> <img src=http://x.invalid/a.png>\n")
    assert element_from_data(hostile, ("alert(1)", "x.invalid")) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile
    assert 'id="a-how"' in hostile


def _glossary_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("glossary('p 值')")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": '<dl class="glossary"><dt>p 值</dt><dd>x '
                                                                 f'<a class="methods-link" href="{display.glossary_href("p 值")}">方法说明</a></dd></dl>'})]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_unit_pages_link_one_folder_up():
    exporter = PageExporter()
    top = exporter.render(_glossary_notebook(), title="t", notebook="t.ipynb")
    unit = exporter.render(_glossary_notebook(), title="t", notebook="t.ipynb", index_href="../index.html")
    assert 'href="methods.html#is-a-change-in-the-complaint-rate-real-how"' in top
    assert 'href="../methods.html#is-a-change-in-the-complaint-rate-real-how"' in unit


def test_every_run_publishes_the_methods_page(tmp_path, page):
    from analysis.report import runner

    written = []
    runner._publish({"overview": {"status": "ok"}}, tmp_path, lambda manifest, folder: written.append(folder))
    out = (tmp_path / "methods.html").read_text(encoding="utf-8")
    assert written == [tmp_path] and methods.anchors(out) == methods.anchors(page)

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
    # Chinese first, English second: the anchor is the English label's, as before
    assert methods.anchor("1. 名次的置信集 Ranks of the league table") == "ranks-of-the-league-table"
    assert methods.anchor("稳健 z 值 Robust z-score.") == "robust-z-score"
    assert methods.anchor('4. 目标“超出抽样误差仍达标” Targets "met beyond noise"') == "targets-met-beyond-noise"


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


def test_methods_page_is_chinese_first(page):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    cjk = re.compile(r"^\d*\.?\s*[\u4e00-\u9fff]")
    heads = [h.get_text(" ", strip=True) for h in soup.find_all("h2")]
    assert len(heads) == 6 and all(cjk.match(h) for h in heads), heads
    assert all(cjk.match(a.get_text(strip=True)) for a in soup.select("nav.toc a"))
    # every section opens with a summary in Chinese, and every bold lead names its term in Chinese first
    for h in soup.find_all("h2"):
        first = h.find_next_sibling("p")
        assert first.get_text().startswith("要点"), h.get_text()
    leads = [s.get_text(strip=True) for s in soup.select("main p > strong:first-child, main li > strong:first-child")]
    assert leads and all(re.match(r"^[\u4e00-\u9fff]", t) for t in leads if re.search(r"[A-Za-z]{3}", t) and not t.startswith("Erlang")), leads
    assert cjk.match(soup.select_one("header .meta").get_text(strip=True))

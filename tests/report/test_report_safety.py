"""The presentation layer's safety and layout helpers, on hand-made inputs: markup from data shows as
text (analysis.report.safehtml), CSV cells that Excel would run are neutralised (report.excel), one
formatter per kind of number (report.display), pages get scroll boxes, sorting, contents, the
illustration block, the paper size and a script-hash security policy (report.layout)."""

from __future__ import annotations

import base64
import hashlib
import re

import pandas as pd
import pytest

from analysis.report import display, excel, layout
from analysis.report.display import show_table
from analysis.report.export import prepare
from analysis.report.safehtml import element_from_data, markdown_html, sanitize

SCRIPT = "城东支行<script>alert(1)</script>"
IMG = "万达<img src=http://example.invalid/x.png>储蓄所"
MARKERS = ("alert(1)", "example.invalid")


def _text(html: str) -> str:
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser").get_text(" ")


# ------------------------------------------------------------------------------ escaping
def test_a_styler_that_escapes_nothing_is_made_safe_and_the_data_reads_as_text():
    df = pd.DataFrame({"支行": [SCRIPT, IMG], "得分": [1.5, 2.0]})
    raw = df.style.set_caption("<img src=http://example.invalid/c.png>").to_html()
    assert element_from_data(raw, MARKERS)  # pandas' Styler really does emit the elements
    safe = sanitize(raw)
    assert element_from_data(safe, MARKERS) == []
    text = _text(safe)
    assert "城东支行<script>alert(1)</script>" in text and "<img src=\"http://example.invalid/x.png\"/>" in text
    assert "<table" in safe and "<style" in safe  # the table and its colours stay


def test_show_table_escapes_values_titles_and_caption():
    df = pd.DataFrame({"<b>支行</b>": [SCRIPT], "n": [3]})
    html = show_table(df, caption="<img src=http://example.invalid/c.png>").to_html()
    assert element_from_data(html, MARKERS) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;支行&lt;/b&gt;" in html


@pytest.mark.parametrize(
    "fragment",
    [
        '<a href="javascript:alert(1)">x</a>',
        '<div onclick="alert(1)">x</div>',
        '<span style="background:url(http://example.invalid/b.png)">x</span>',
        "<style>td{background:url(http://example.invalid/s.png)}</style>",
        "<iframe src=http://example.invalid/f></iframe>",
        "<svg onload=alert(1)></svg>",
        '<img src="data:image/png;base64,AA" onerror="alert(1)">',
        "<object data=http://example.invalid/o></object>",
        "<link rel=stylesheet href=http://example.invalid/l.css>",
    ],
)
def test_nothing_in_an_output_can_run_or_fetch(fragment):
    safe = sanitize(fragment)
    assert element_from_data(safe, MARKERS) == [], safe
    assert "onclick=" not in safe and "onerror=" not in safe and "url(http" not in safe


def test_allowed_markup_and_inside_links_survive():
    frag = '<p class="muted"><b>达标</b> <a href="#sec-1">见下</a> <a href="units/331801.html">城东</a></p>'
    assert sanitize(frag) == frag


def test_generated_markdown_is_rendered_and_sanitised():
    html = markdown_html(f"**{SCRIPT}** 领先 ![x](http://example.invalid/q.png) <span class=\"muted\">依据</span>")
    assert element_from_data(html, MARKERS) == []
    assert "<strong>" in html and '<span class="muted">依据</span>' in html


def test_prepare_passes_every_output_through_the_allow_list():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 标题\n\n说明"),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("display_data", data={"text/markdown": f"**{SCRIPT}**", "text/plain": "x"})]),
        nbformat.v4.new_code_cell("y", outputs=[nbformat.v4.new_output("execute_result", data={"text/html": f"<table><tr><td>{IMG}</td></tr></table>"}, execution_count=1)]),
    ]
    out = prepare(nb)
    htmls = [o["data"]["text/html"] for c in out.cells if c.cell_type == "code" for o in c.outputs]
    assert len(htmls) == 2 and all(element_from_data(h, MARKERS) == [] for h in htmls)
    assert "alert(1)" in _text(htmls[0]) and "example.invalid" in _text(htmls[1])  # shown, as text


# ------------------------------------------------------------------------------ CSV cells
@pytest.mark.parametrize(
    ("value", "expected"),
    [("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("-3", "-3"), ("+8.5%", "+8.5%"), ("-1,200.5", "-1,200.5"), ("城东支行", "城东支行"), (-3, -3), (None, None)],
)
def test_safe_cell(value, expected):
    assert excel.safe_cell(value) == expected


def test_write_csv_neutralises_cells_and_titles(tmp_path):
    df = pd.DataFrame({"category": ["=cmd|' /C calc'!A0", "借记卡"], "n": [-1, 2], "=title": ["@x", "-0.5"]})
    path = excel.write_csv(df, tmp_path / "by_category.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert back.columns.tolist() == ["category", "n", "'=title"]
    assert back["category"].tolist() == ["'=cmd|' /C calc'!A0", "借记卡"]
    assert back["n"].tolist() == ["-1", "2"] and back["'=title"].tolist() == ["'@x", "-0.5"]
    assert df["category"].iloc[0].startswith("=")  # the caller's table is not changed


def test_arrow_tables_are_neutralised_the_same_way():
    import pyarrow as pa

    t = pa.table({"a": ["=1+1", "-3", "ok", None, "@x"], "n": [1, 2, 3, 4, 5]})
    assert excel.neutralise_arrow(t).column("a").to_pylist() == ["'=1+1", "-3", "ok", None, "'@x"]
    assert excel.neutralise_arrow(t).column("n").to_pylist() == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------------------ one formatter per kind
def test_formatters():
    assert display.count(4.0) == "4" and display.count(1234567) == "1,234,567"
    assert display.number(88.6) == "88.6" and display.number(-0.0004, 2) == "0.00" and display.number(1e9, 0) == "1,000,000,000"
    assert display.share(0.9181) == "91.8%" and display.share(0.0622, 2) == "6.22%"
    assert display.money(12345.5) == "12,345.50 元" and display.money(3.21, "万元", 1) == "3.2 万元"
    assert display.p_value(0.0) == "< 0.001" and display.p_value(0.0123) == "0.012" and display.p_value(1.0) == "> 0.999"
    assert display.p_text(0.00001) == "p < 0.001" and display.p_text(0.05) == "p = 0.050"
    assert display.rank(9.0) == "9" and display.rank(9.5) == "9.5"
    assert display.duration(45) == "45 秒" and display.duration(192) == "3.2 分钟" and display.duration(1e9) == "11,574.1 天"
    assert display.date_text(pd.Timestamp("2016-06-30")) == "2016-06-30" and display.date_text(pd.Timestamp("2016-06-30 14:05")) == "2016-06-30 14:05"
    for empty in (None, float("nan"), pd.NA, pd.NaT):
        assert display.count(empty) == display.share(empty) == display.p_value(empty) == display.rank(empty) == "—"


def test_leftovers_are_found_and_ordinary_text_is_not():
    bad = ["PosixPath('/tmp/x/a.xlsx')", "导出到 /tmp/pytest-1/reports", "analysis.scorecard.fixes", "4.000000", "1e+09 秒",
           "变化 -0.00", "p = 0.000", "nan", "None", "NaT"]
    for text in bad:
        assert display.leftovers(text), text
    good = "达标率 91.8%，p < 0.001，排名 9，较上年 -0.12，2016-06-30，办结 3.2 天，卡号 6222****1234，-5 分，0.05"
    assert display.leftovers(good) == []


# ------------------------------------------------------------------------------ the page frame
def _page(body: str) -> str:
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body class="report"><main class="sheet">{body}</main></body></html>'


def _table(rows: int, cols: int) -> str:
    head = "".join(f"<th>列{c}</th>" for c in range(cols))
    body = "".join("<tr>" + "".join(f"<td>{r * c}</td>" for c in range(cols)) + "</tr>" for r in range(rows))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def test_tables_scroll_in_a_box_and_long_ones_sort_and_filter():
    out = layout.finish_page(_page(_table(3, 2) + _table(10, 3) + _table(20, 3)))
    from bs4 import BeautifulSoup

    tables = BeautifulSoup(out, "html.parser").find_all("table")
    assert all("table-scroll" in t.parent["class"] for t in tables)
    assert [t.has_attr("data-sortable") for t in tables] == [False, True, True]
    assert [t.has_attr("data-filter") for t in tables] == [False, False, True]


def test_paper_size_follows_the_widest_table():
    assert "size: A4 portrait" in layout.finish_page(_page(_table(3, 7)))
    assert "size: A4 landscape" in layout.finish_page(_page(_table(3, 8)))


def test_contents_list_only_on_long_pages():
    short = layout.finish_page(_page("".join(f"<h2>第{i}节</h2><p>x</p>" for i in range(3))))
    long = layout.finish_page(_page("".join(f"<h2>第{i}节</h2><p>x</p>" for i in range(5))))
    assert 'class="toc"' not in short
    links = re.findall(r'<a href="#([^"]+)">第(\d)节</a>', long)
    assert [n for _, n in links] == ["0", "1", "2", "3", "4"]
    assert all(f'id="{slug}"' in long for slug, _ in links)


def test_contents_list_never_numbers_a_numbered_heading_twice():
    from bs4 import BeautifulSoup

    def toc(titles):
        return BeautifulSoup(layout.finish_page(_page("".join(f"<h2>{t}</h2><p>x</p>" for t in titles))), "html.parser").select_one("nav.toc ol")

    own = toc(["一、四大行对标", "二、监管通报", "三、网点分组对标", "四、漏斗图", "术语 Glossary"])
    assert own["class"] == ["own-numbers"] and own.find("a").get_text() == "一、四大行对标"  # shown as written, once
    assert toc(["1. 计算", "2. 排名", "3. 得分", "4. 差距"])["class"] == ["own-numbers"]
    assert toc(["（一）甲", "（二）乙", "（三）丙", "（四）丁"])["class"] == ["own-numbers"]
    plain = toc(["计算", "总体情况", "排名表", "2016 年得分"])  # a year is not a section number
    assert not plain.get("class")
    from pathlib import Path

    css = (Path(layout.__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    assert "nav.toc ol.own-numbers { list-style: none" in css


def test_illustration_cells_go_into_one_closed_labelled_block():
    cells = ('<div class="jp-Cell">正式排名</div>'
             '<div class="jp-Cell jp-MarkdownCell"><div class="jp-RenderedMarkdown celltag_illustration"><h2>附：方案一</h2></div></div>'
             '<div class="jp-Cell celltag_illustration">' + _table(3, 3) + "</div>"
             '<div class="jp-Cell">后记</div>')
    out = layout.finish_page(_page(cells))
    from bs4 import BeautifulSoup

    details = BeautifulSoup(out, "html.parser").find_all("details")
    assert len(details) == 1 and not details[0].has_attr("open")
    assert "示意" in details[0].summary.get_text() and "不是正式排名" in details[0].summary.get_text()
    assert len(details[0].find_all(class_="celltag_illustration")) == 2 and details[0].find("table") is not None
    assert details[0].find("h2") is not None and details[0].find(class_="jp-MarkdownCell") is not None  # the whole markdown cell
    assert "后记" not in details[0].get_text() and "正式排名" not in details[0].get_text().replace("不是正式排名", "")


def test_the_security_policy_allows_exactly_the_embedded_script():
    out = layout.finish_page(_page("<p>x</p>"))
    scripts = re.findall(r"<script>(.*?)</script>", out, re.S)
    assert len(scripts) == 1 and "data-sortable" in scripts[0]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', out).group(1)
    assert f"'sha256-{digest}'" in policy and "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_data_in_a_text_attribute_is_text_but_in_an_active_one_an_element():
    from analysis.report.safehtml import element_from_data

    marker = ("alert(1)", "example.invalid")
    # a chart's alt text naming a unit called "<script>alert(1)</script>": escaped text, shown, never run
    assert element_from_data('<img alt="城东&lt;script&gt;alert(1)&lt;/script&gt;" src="data:image/png;base64,AA">', marker) == []
    assert element_from_data('<span title="alert(1)">x</span>', marker) == []
    # the same data where a browser acts on it
    assert element_from_data('<img src="http://example.invalid/y.png">', marker) == ["<img src='http://example.invalid/y.png'>", "<img>"]
    assert element_from_data('<a title="t" href="javascript:alert(1)">x</a>', marker) == ["<a href='javascript:alert(1)'>"]
    assert element_from_data('<div onclick="f()">x</div>', marker) == ["<div onclick='f()'>"]

"""analysis.report.display: show_table and say."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis.report import display
from analysis.report.display import say, show_table


@pytest.fixture
def league() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": ["城东支行", "城西支行", "县域支行"],
            "total": [96.2449, 88.5, 1234.5678],
            "n": pd.array([1200, 980, None], dtype="Int64"),
            "rate": [0.9123, 0.5, float("nan")],
            "met": [True, False, True],
            "day": pd.to_datetime(["2016-01-31", "2016-02-29", "2016-03-31"]),
        }
    )


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", html, re.S)]


def test_titles_formats_and_defaults(league):
    html = show_table(league, columns={"unit": "支行", "total": "总分", "rate": "达标率"}, formats={"rate": "{:.1%}"}).to_html()
    heads = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>.*?</th>", html, re.S)]
    assert heads == ["支行", "总分", "n", "达标率", "met", "day"]  # index hidden: no row-header cells
    cells = _cells(html)
    # row 1: total 96.2449 -> default "{:,.2f}" = 96.24; n 1200 -> "1,200"; 0.9123 -> "91.2%"
    assert cells[:6] == ["城东支行", "96.24", "1,200", "91.2%", "是", "2016-01-31"]
    # row 3: 1234.5678 -> "1,234.57"; missing n and rate -> "—"
    assert cells[12:18] == ["县域支行", "1,234.57", "—", "—", "是", "2016-03-31"]
    assert cells[6 + 4] == "否"


def test_formats_accept_new_titles_and_functions(league):
    html = show_table(league[["unit", "total"]], columns={"total": "总分"}, formats={"总分": lambda v: f"{v:.0f} 分"}).to_html()
    assert _cells(html)[:2] == ["城东支行", "96 分"]


def test_values_are_not_changed(league):
    styler = show_table(league, formats={"total": "{:.0f}"})
    assert styler.data["total"].tolist() == league["total"].tolist()  # display only


def test_alignment_caption_gradient(league):
    html = show_table(league[["unit", "total"]], columns={"unit": "支行", "total": "总分"}, caption="综合得分", gradient=["总分"]).to_html()
    assert "<caption>综合得分</caption>" in html
    assert "text-align: left" in html and "text-align: right" in html
    # titles aligned like their columns: text left, numbers right
    assert re.search(r"#T_\w+ th\.col0 \{\s*text-align: left;", html) and re.search(r"#T_\w+ th\.col1 \{\s*text-align: right;", html)
    # the gradient colours every cell of the column, and the largest value darkest
    colours = re.findall(r"#T_\w+_row(\d)_col1[^{]*\{[^}]*background-color: (#[0-9a-f]{6})", html)
    assert len({row for row, _ in colours}) == 3
    shade = {int(row): int(c[1:3], 16) + int(c[3:5], 16) + int(c[5:7], 16) for row, c in colours}
    assert shade[2] < shade[0] < shade[1]  # 1234.6 darkest, then 96.2, 88.5 lightest


def test_gradient_dict_takes_a_colour_map(league):
    html = show_table(league[["unit", "total"]], gradient={"total": "RdYlGn"}).to_html()
    assert "background-color" in html


def test_index_kept_on_request(league):
    html = show_table(league.set_index("unit")[["total"]], index=True).to_html()
    assert "城东支行</th>" in html


def test_gradient_typo_is_an_error(league):
    with pytest.raises(KeyError, match="gradient names a column not in the table: 'totl'"):
        show_table(league, gradient=["totl"])


def test_shared_glossaries_may_name_other_columns(league):
    # one dict of titles and formats for many tables: entries for absent columns are ignored
    glossary = {"unit": "支行", "total": "总分", "q_value": "q值"}
    html = show_table(league[["unit", "total"]], columns=glossary, formats={"q_value": "{:.3f}", "total": "{:.1f}"}).to_html()
    assert ">支行</th>" in html and ">总分</th>" in html and "q值" not in html
    assert _cells(html)[:2] == ["城东支行", "96.2"]


def test_gradient_needs_numbers(league):
    with pytest.raises(TypeError, match="not numeric"):
        show_table(league, gradient=["unit"])
    with pytest.raises(TypeError, match="not a string"):
        show_table(league, gradient="total")


def test_say_displays_markdown(monkeypatch):
    shown = []
    monkeypatch.setattr(display, "_display", shown.append)
    assert say("**城东支行** 以 {score:.1f} 分领先", score=96.249) is None
    assert shown[0].data == "**城东支行** 以 96.2 分领先"
    say("braces {kept} without values")
    assert shown[1].data == "braces {kept} without values"
    assert type(shown[0]).__name__ == "Markdown"


def test_rounded_negative_zero_prints_without_sign():
    df = pd.DataFrame({"gap": [-0.0001, -1.5, 0.0], "share": [-0.00001, 0.5, -0.2]})
    html = show_table(df, formats={"share": "{:.1%}"}).to_html()
    cells = re.findall(r'class="data[^"]*" >([^<]*)</td>', html)
    assert cells == ["0.00", "0.0%", "-1.50", "50.0%", "0.00", "-20.0%"]


def test_row_anchors_become_row_ids_once():
    from bs4 import BeautifulSoup

    from analysis.report.display import anchor_id, row_anchors, show_table
    from analysis.report.layout import finish_page

    df = pd.DataFrame({"支行": ["城东支行", "城西支行"], "总分": [90.5, 88.0]})
    styled = row_anchors(show_table(df), [anchor_id("unit", "331801"), anchor_id("unit", "33/18 02")])
    again = row_anchors(show_table(df), [anchor_id("unit", "331801"), ""])  # a second table of the same units
    page = finish_page(f"<html><head><meta charset=\"utf-8\"></head><body><main>{styled.to_html()}{again.to_html()}</main></body></html>")
    soup = BeautifulSoup(page, "html.parser")
    first, second = soup.find_all("table")
    assert [tr.get("id") for tr in first.find("tbody").find_all("tr")] == ["unit-331801", "unit-33-18-02"]
    assert [tr.get("id") for tr in second.find("tbody").find_all("tr")] == [None, None]  # ids stay unique on a page
    assert "row-anchor-" not in page
    with pytest.raises(ValueError, match="1 ids for 2 rows"):
        row_anchors(show_table(df), ["unit-1"])


def _cell_css(html: str, row: int, col: int) -> str:
    """Every CSS declaration the Styler gives the cell at (row, col)."""
    return " ".join(m for m in re.findall(rf"#T_\w+_row{row}_col{col}[^{{]*\{{([^}}]*)\}}", html))


def test_cell_styles_by_value_and_by_row(league):
    t = league[["unit", "total", "met"]]
    html = show_table(t, columns={"met": "达标"}, cell_styles={
        "达标": lambda v: "color: #c62828" if v is False or v == 0 else "",  # a function of the raw value
        "unit": ["font-weight: bold", "", "font-style: italic"],  # one CSS per row
    }).to_html()
    assert "color: #c62828" in _cell_css(html, 1, 2) and "#c62828" not in _cell_css(html, 0, 2) + _cell_css(html, 2, 2)
    assert "font-weight: bold" in _cell_css(html, 0, 0) and "font-style: italic" in _cell_css(html, 2, 0)
    assert "font-weight" not in _cell_css(html, 1, 0)


def test_row_styles_apply_to_every_cell_of_the_row(league):
    html = show_table(league[["unit", "total"]], row_styles=["", "", "border-top: 2px solid #c5d3e6"]).to_html()
    assert all("border-top: 2px solid #c5d3e6" in _cell_css(html, 2, c) for c in (0, 1))
    assert "border-top" not in _cell_css(html, 0, 0) + _cell_css(html, 1, 1)


def test_style_lists_need_one_entry_per_row_and_known_columns(league):
    with pytest.raises(ValueError, match="2 styles for 3 rows"):
        show_table(league, cell_styles={"unit": ["", ""]})
    with pytest.raises(ValueError, match="row_styles has 1 styles for 3 rows"):
        show_table(league, row_styles=[""])
    with pytest.raises(KeyError, match="cell_styles names a column not in the table: 'unt'"):
        show_table(league, cell_styles={"unt": lambda v: ""})


def test_gradient_on_a_fixed_scale_leaves_empty_cells_unshaded(league):
    # rate 0.9123 and 0.5 on the scale 0..1.2 with "Greys": a fixed scale, so the same value gets the
    # same colour in any table; the empty third cell gets no colour at all
    html = show_table(league[["unit", "rate"]], gradient={"rate": ("Greys", 0, 1.2)}).to_html()
    assert "background-color" in _cell_css(html, 0, 1) and "background-color" in _cell_css(html, 1, 1)
    assert "background-color" not in _cell_css(html, 2, 1)
    alone = show_table(pd.DataFrame({"rate": [0.5, 1.2]}), gradient={"rate": ("Greys", 0, 1.2)}).to_html()
    colour = re.search(r"background-color: (#[0-9a-f]{6})", _cell_css(html, 1, 1))[1]
    assert colour in _cell_css(alone, 0, 0)  # 0.5 has the same shade in both tables


def test_status_table_colours_each_status_and_quiets_the_reason():
    shown = pd.DataFrame({"目标": ["等候", "满意度"], "状态": ["达标 met", "有风险 at risk"], "依据": ["", "实际 88.6，目标 ≥ 88.6，在抽样误差内"]})
    html = display.status_table(shown, ["met", "at risk"], caption="目标").to_html()
    assert "background-color: #2e7d32" in _cell_css(html, 0, 1) and "background-color: #edae49" in _cell_css(html, 1, 1)
    assert "white-space: normal" in _cell_css(html, 1, 2)  # the reason wraps, never cut
    assert "<caption>目标</caption>" in html and 'class="dataframe analysis-table"' in html

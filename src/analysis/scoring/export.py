"""Excel files of the scoring: the formatted league table and the blank input template of a scheme.

Both are written with XlsxWriter with ``strings_to_formulas`` and ``strings_to_urls`` off, so a unit
name or a note that starts with ``=`` stays text. Cells hold full-precision numbers; the number
formats only round what is shown.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.excel import XLSX_OPTIONS, print_setup  # the one safe set (no formulas, no URLs from text)
from analysis.scoring.engine import ScoreResult
from analysis.scoring.model import Scheme

ADJUSTMENT_TITLES = {"total": "总分", "rank": "排名", "award_eligible": "评先资格", "unit_id": "单位编号", "unit_name": "单位名称"}


def _workbook(path: Path):
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    return xlsxwriter.Workbook(str(path), XLSX_OPTIONS)


def column_titles(scheme: Scheme) -> dict[str, str]:
    """Chinese display titles of a league table's columns (indicator titles carry their weight)."""
    titles = dict(ADJUSTMENT_TITLES)
    titles["unit_id"] = f"{scheme.unit}编号"
    titles["unit_name"] = f"{scheme.unit}名称"
    for ind in scheme.indicators:
        titles[ind.id] = f"{ind.name}（{ind.weight:g}分）"
    for d in scheme.deductions:
        titles[d.id] = "扣分"
    for b in scheme.bonuses:
        titles[b.id] = "加分"
    return titles


def write_league_table(result: ScoreResult, path: Path | str, *, intervals: pd.DataFrame | None = None, coverage: float = 0.9) -> Path:
    """The league table as a formatted workbook: frozen header, number formats, colour scales.

    ``intervals`` (optional, from :func:`analysis.scoring.uncertainty.rank_intervals`) adds the rank
    interval columns (the marginal ``coverage`` confidence sets). A second sheet explains the scheme, its formulas and any warnings.
    """
    path = Path(path)
    scheme = result.scheme
    titles = column_titles(scheme)
    t = result.table.copy()
    cols = ["rank", "unit_id", "unit_name", *scheme.indicator_ids, *scheme.adjustment_ids, "total", "award_eligible"]
    if intervals is not None:
        iv = intervals.set_index("unit_id")
        t["rank_lo"] = t["unit_id"].map(iv["rank_lo"])
        t["rank_hi"] = t["unit_id"].map(iv["rank_hi"])
        cov = f"{coverage:.0%}"
        titles["rank_lo"], titles["rank_hi"] = f"名次边际置信集下限（{cov}，抽样误差）", f"名次边际置信集上限（{cov}，抽样误差）"
        cols += ["rank_lo", "rank_hi"]

    wb = _workbook(path)
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "vcenter", "align": "center", "bg_color": "#DCE6F1", "border": 1})
    pts = wb.add_format({"num_format": "0.00"})
    whole = wb.add_format({"num_format": "0", "align": "center"})
    text = wb.add_format({"num_format": "@"})
    bold_pts = wb.add_format({"num_format": "0.00", "bold": True})
    red = wb.add_format({"font_color": "#C62828", "bold": True})
    ws = wb.add_worksheet("排名 League table")
    ws.set_row(0, 36)
    for j, c in enumerate(cols):
        ws.write_string(0, j, titles.get(c, c), head)
    n = len(t)
    for i, row in enumerate(t[cols].itertuples(index=False), start=1):
        for j, (c, v) in enumerate(zip(cols, row)):
            if c in ("unit_id", "unit_name"):
                ws.write_string(i, j, "" if pd.isna(v) else str(v), text)
            elif c == "award_eligible":
                ws.write_string(i, j, "是" if bool(v) else "否（取消评先）")
            elif c in ("rank", "rank_lo", "rank_hi"):
                ws.write_number(i, j, int(v), whole)
            elif c == "total":
                ws.write_number(i, j, float(v), bold_pts)
            else:
                ws.write_number(i, j, float(v), pts)
    widths = {"rank": 6, "unit_id": 11, "unit_name": 14, "award_eligible": 14, "total": 9}
    for j, c in enumerate(cols):
        ws.set_column(j, j, widths.get(c, 12))
    ws.freeze_panes(1, 3)
    print_setup(ws, len(cols), title=f"{scheme.title} 排名")  # A4 landscape, one page wide, header repeated
    if n:
        ws.autofilter(0, 0, n, len(cols) - 1)
        for j, c in enumerate(cols):
            if c in scheme.indicator_ids or c == "total":
                ws.conditional_format(1, j, n, j, {"type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"})
            elif c in [d.id for d in scheme.deductions]:
                ws.conditional_format(1, j, n, j, {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#F8696B"})
        j = cols.index("award_eligible")
        ws.conditional_format(1, j, n, j, {"type": "text", "criteria": "begins with", "value": "否", "format": red})
    _explain_sheet(wb, scheme, result)
    wb.close()
    return path


def _explain_sheet(wb, scheme: Scheme, result: ScoreResult | None) -> None:
    ws = wb.add_worksheet("说明 Notes")
    bold = wb.add_format({"bold": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    warn = wb.add_format({"text_wrap": True, "font_color": "#C62828", "bold": True})
    r = 0
    ws.write_string(r, 0, scheme.title, bold)
    r += 1
    ws.write_string(r, 0, f"来源 source: {scheme.source}", wrap)
    r += 1
    if result is not None:
        ws.write_string(r, 0, f"期间 period: {result.period}；权重 weights: {result.weight_set}")
        r += 1
    if scheme.assumed:
        ws.write_string(r, 0, scheme.notice, warn)
        r += 1
    r += 1
    for j, h in enumerate(["指标 indicator", "名称", "权重", "最高分", "计分方法 formula", "规则为假设 assumed", "备注 note"]):
        ws.write_string(r, j, h, bold)
    r += 1
    for ind in scheme.indicators:
        w = result.weights[ind.id] if result is not None else ind.weight
        vals = [ind.id, ind.name, w, scheme.cap_of(ind) * w, ind.formula, "是" if ind.assumed else "否", ind.note]
        for j, v in enumerate(vals):
            (ws.write_number if isinstance(v, float | int) else ws.write_string)(r, j, v, wrap)
        r += 1
    for item in [*scheme.deductions, *scheme.bonuses]:
        vals = [item.id, item.name, "", "" if item.max_points is None else item.max_points, item.formula, "是" if item.assumed else "否", item.note]
        for j, v in enumerate(vals):
            (ws.write_number if isinstance(v, float | int) else ws.write_string)(r, j, v, wrap)
        r += 1
    for rule in scheme.eligibility:
        for j, v in enumerate(["eligibility", "评先资格", "", "", rule.formula or f"{' + '.join(rule.columns)} >= {rule.ineligible_at}: 取消评先资格", "是" if rule.assumed else "否", rule.note]):
            ws.write_string(r, j, str(v), wrap)
        r += 1
    r += 1
    ws.write_string(r, 0, "各项得分不低于权重分×下限倍数、不高于权重分×上限倍数；全行基数为零或负时该项（分项）全行记0分并提示。", wrap)
    r += 1
    if result is not None and result.warnings:
        ws.write_string(r, 0, "提示 warnings", bold)
        r += 1
        for w in result.warnings:
            ws.write_string(r, 0, str(w), warn)
            r += 1
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 24)
    ws.set_column(2, 3, 8)
    ws.set_column(4, 4, 60)
    ws.set_column(5, 5, 10)
    ws.set_column(6, 6, 50)
    print_setup(ws, 7, header_rows=0, title="说明 Notes")


def template_header(scheme: Scheme, name: str) -> str:
    """A template header: the Chinese title and the column name on two lines (both are accepted)."""
    return f"{scheme.inputs[name].title}\n{name}"


def _rules(col) -> str:
    out = []
    if col.type == "count":
        out.append("整数 whole number")
    elif col.type == "number":
        out.append("数值 number")
    else:
        out.append("文本 text")
    if col.positive:
        out.append("> 0")
    if col.min is not None:
        out.append(f">= {col.min:g}")
    if col.max is not None:
        out.append(f"<= {col.max:g}")
    if col.not_above:
        out.append(f"<= {col.not_above}")
    if col.nullable:
        out.append("可留空 may be empty" + (f" when {col.required_if_positive} is 0" if col.required_if_positive else ""))
    else:
        out.append("必填 required")
    return "; ".join(out)


def write_template(scheme: Scheme, path: Path | str, *, rows: int = 60) -> Path:
    """A blank input workbook for ``scheme``: headers in Chinese and English, and a sheet explaining
    every column and every formula."""
    path = Path(path)
    wb = _workbook(path)
    head = wb.add_format({"bold": True, "text_wrap": True, "valign": "vcenter", "align": "center", "bg_color": "#DCE6F1", "border": 1})
    text = wb.add_format({"num_format": "@"})
    ws = wb.add_worksheet("填报 Input")
    names = list(scheme.inputs)
    ws.set_row(0, 48)
    for j, name in enumerate(names):
        col = scheme.inputs[name]
        ws.write_string(0, j, template_header(scheme, name), head)
        ws.set_column(j, j, 14 if col.type != "name" else 16, text if col.type in ("id", "name") else None)
        if col.type in ("number", "count"):
            lo = 0 if col.positive else col.min
            crit = {"validate": "decimal" if col.type == "number" else "integer", "ignore_blank": True,
                    "error_message": f"{col.title} ({name}): {_rules(col)}"[:255]}
            if lo is not None and col.max is not None:
                crit.update(criteria="between", minimum=lo, maximum=col.max)
            elif lo is not None:
                crit.update(criteria=">" if col.positive else ">=", value=lo)
            else:
                crit.update(criteria="between", minimum=-1e15, maximum=1e15)
            ws.data_validation(1, j, rows, j, crit)
    ws.freeze_panes(1, 2)

    doc = wb.add_worksheet("说明 Columns")
    bold = wb.add_format({"bold": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    r = 0
    doc.write_string(r, 0, f"{scheme.title}：填报说明（每个{scheme.unit}一行）", bold)
    r += 1
    doc.write_string(r, 0, "表头可用中文或英文列名；全角数字和千位分隔符可用；有任何错误的文件会被整份拒绝并指出列和行。", wrap)
    r += 1
    if scheme.assumed:
        doc.write_string(r, 0, scheme.notice, wrap)
        r += 1
    r += 1
    for j, h in enumerate(["列名 column", "中文表头 header", "其他可用表头 aliases", "规则 rules", "说明 description"]):
        doc.write_string(r, j, h, bold)
    r += 1
    for name, col in scheme.inputs.items():
        for j, v in enumerate([name, col.title, "、".join(col.aliases), _rules(col), col.description]):
            doc.write_string(r, j, v, wrap)
        r += 1
    r += 1
    for j, h in enumerate(["指标 indicator", "名称", "权重", "计分方法 formula", "种类 kind"]):
        doc.write_string(r, j, h, bold)
    r += 1
    for ind in scheme.indicators:
        formula = ind.formula + (f"（假设 assumed: {ind.note}）" if ind.assumed else "")
        for j, v in enumerate([ind.id, ind.name, f"{ind.weight:g}", formula, ind.kind]):
            doc.write_string(r, j, v, wrap)
        r += 1
    for item in [*scheme.deductions, *scheme.bonuses]:
        for j, v in enumerate([item.id, item.name, "", item.formula + (f"（假设 assumed: {item.note}）" if item.assumed else ""), "count_points"]):
            doc.write_string(r, j, v, wrap)
        r += 1
    for rule in scheme.eligibility:
        for j, v in enumerate(["eligibility", "评先资格", "", rule.formula, "max_events"]):
            doc.write_string(r, j, v, wrap)
        r += 1
    caps = sorted({scheme.cap_of(i) for i in scheme.indicators})
    doc.write_string(r + 1, 0, f"单项指标得分不低于0，最高为权重分的{'/'.join(f'{c:g}' for c in caps)}倍；“全行”指所有参赛{scheme.unit}合计（合计分子/合计分母），全行基数为零或负时该项全行记0分。", wrap)
    doc.set_column(0, 0, 20)
    doc.set_column(1, 1, 26)
    doc.set_column(2, 2, 22)
    doc.set_column(3, 3, 50)
    doc.set_column(4, 4, 50)
    wb.close()
    return path

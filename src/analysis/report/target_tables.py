"""The targets workbook (``exports/targets_PERIOD.xlsx``, notebook 02): the presentation of
:func:`analysis.targets.evaluate`'s table, which returns data only.

    from analysis.report.target_tables import targets_workbook
    exported(targets_workbook(result, ctx.export_path(f"targets_{ctx.period}.xlsx")))
"""

from __future__ import annotations

from pathlib import Path

from analysis import targets as T
from analysis.report.excel import write_sheets
from analysis.targets import Evaluation

#: The 明细 sheet's columns: every field of the evaluation, Chinese titles.
DETAIL_COLUMNS = {
    "group_title": "分组", "title": "目标", "scope_label": "范围", "deadline": "期限", "window": "统计区间", "actual": "实际",
    "actual_low": "实际下限", "actual_high": "实际上限", "target": "目标值", "baseline_value": "基线", "gap": "差距",
    "gap_low": "差距下限", "gap_high": "差距上限", "projection": "预计期限时", "projection_basis": "预计依据", "status": "状态",
    "p_value": "单侧p值", "rate_ratio": "与上年同期之比", "unit": "单位", "rule": "规则", "metric": "指标", "source": "来源", "note": "说明",
    "sentence": "结论",
}


def targets_workbook(evaluation: Evaluation, path: Path | str) -> Path:
    """Write the targets to an Excel file: a first sheet 目标跟踪 made to be printed and forwarded,
    with the page's own texts (one value, one threshold, one status and its reason, as on every page),
    and a sheet 明细 with every field at full precision (shares as fractions). Text never becomes a formula."""
    path = Path(path)
    table = evaluation.table
    shown = T.display_table(table)
    details = table[list(DETAIL_COLUMNS)].rename(columns=DETAIL_COLUMNS)
    details["状态"] = shown["状态"].to_numpy()
    floats = {c: "#,##0.0000" for c in details.columns if details[c].dtype.kind == "f"}
    wide = {"说明": 40, "结论": 60, "来源": 30, "依据": 46, "目标": 22, "目标值": 18}
    widths = {c: wide.get(c, 14) for c in details.columns} | {c: wide.get(c, 12) for c in shown.columns}
    notes = {"来源": "目标定义见 targets/ 下的 YAML 文件；实际值按清洗后的数据计算。",
             "目标跟踪": "与网页上的写法相同：实际、目标值、预计期限时和状态；“依据”写出有风险、未达标的判断依据。",
             "明细": "每个字段的全精度数值（比例为 0–1 的小数），供进一步计算。",
             "状态": "期限前：达标 = 超出抽样误差仍达到目标；进度正常 = 按当前趋势到期限时能达到；有风险 = 按趋势达不到。到期限：只有达标或未达标（依据栏写明是否在抽样误差内）。"}
    return write_sheets(path, {"目标跟踪": shown, "明细": details}, formats=floats, widths=widths, autofilter=True, notes=notes)

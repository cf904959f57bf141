"""Excel exports: one way to write a workbook of tables.

Every workbook is written by XlsxWriter with ``strings_to_formulas``, ``strings_to_urls`` and
``strings_to_numbers`` off, so a complaint text or a unit name that starts with ``=`` stays text
(never a formula), and NaN/inf become empty-looking error cells instead of stopping the write.
Each sheet gets a frozen header, column widths and number formats; cells keep full precision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": True}

INTEGER = "#,##0"
DECIMAL = "#,##0.00"


def writer(path: Path | str) -> pd.ExcelWriter:
    """A pandas ExcelWriter with the safe options (for callers that add charts or special formats)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS})


# Codes that reach a sheet as values read as Chinese (the English code stays in the CSV outputs).
CODE_LABELS = {
    "urban": "市区", "county": "县域", "at_most": "不超过", "at_least": "不低于", "higher": "越高越好", "lower": "越低越好",
    "met": "达标", "on track": "进度正常", "at risk": "有风险", "missed": "未达标", "n/a": "无数据",
    "worse": "差于控制限", "better": "好于控制限", "within": "控制限内", "decrease": "显著下降", "increase": "显著上升", "no change": "无显著变化",
    "trend": "按趋势", "flat": "按当前水平", "pace": "按进度", "final": "期末实际", "yearly": "按全年",
    "True": "是", "False": "否", "true": "是", "false": "否",
    "share": "比例", "minutes": "分钟", "points": "分", "per10k": "件/万笔", "count": "个", "days": "天", "per_month": "件/月",
    "all_units_at_least": "全部单位不低于", "baseline_plus": "基线加", "baseline_times": "基线乘", "count_at_least": "数量不少于",
    "tested_decrease": "显著下降（检验）",
}
_SHARE_TITLE = re.compile(r"率|占比|比例|份额|%|得分率")
HEADER = {"bold": True, "text_wrap": True, "valign": "vcenter", "bg_color": "#DCE6F1", "border": 1}


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def print_setup(ws, n_columns: int, *, header_rows: int = 1, title: str = "") -> None:
    """A sheet made to be printed and forwarded: A4 landscape, fitted to one page wide (as many
    pages long as it needs), the header rows repeated on every page, page numbers in the footer."""
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    ws.hide_gridlines(0)
    if title:
        ws.set_header(f"&L&\"-,Bold\"{title.replace('&', '&&')}")
    ws.set_footer("&C第 &P 页，共 &N 页 · page &P of &N")


def _display_values(df: pd.DataFrame) -> pd.DataFrame:
    """Booleans as 是/否 and columns of known codes as their Chinese labels (values otherwise kept)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "是", False: "否"}).astype(object)
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            values = set(s.dropna().astype(str))
            if values and values <= set(CODE_LABELS):
                out[col] = s.map(lambda v: CODE_LABELS.get(str(v), v) if v is not None and v == v else v)
    return out


def write_sheets(
    path: Path | str,
    sheets: Mapping[str, pd.DataFrame],
    *,
    formats: Mapping[str, str] | None = None,
    widths: Mapping[str, int] | None = None,
    autofilter: bool = False,
    notes: Mapping[str, str] | None = None,
) -> Path:
    """Write ``{sheet name: table}`` to ``path``: a header row, a width and number format per column,
    print set-up (:func:`print_setup`) and a last sheet 说明 (notes) saying what each sheet holds.

    ``formats`` maps a column title to an Excel number format (e.g. ``"0.0%"``); columns not named get
    ``0.0%`` when the title says share (率, 占比, 比例, %) and every value is a fraction, ``#,##0``
    (integers) or ``#,##0.00`` (other floats). ``widths`` maps a column title to a width; the default
    fits the title and the values (a Chinese character counts double), between 8 and 50. Booleans
    print 是/否 and columns of known codes (urban, at_most, met…) their Chinese labels. ``notes``:
    ``{sheet or topic: where its figures come from}`` for the notes sheet.
    """
    formats, widths = dict(formats or {}), dict(widths or {})
    path = Path(path)
    with writer(path) as xw:
        cache: dict[str, object] = {}
        head = xw.book.add_format(HEADER)

        def fmt(spec: str | None):
            if spec is None:
                return None
            if spec not in cache:
                cache[spec] = xw.book.add_format({"num_format": spec})
            return cache[spec]

        for name, table in sheets.items():
            df = _display_values(table)
            df.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            ws.freeze_panes(1, 0)
            for i, col in enumerate(df.columns):
                s = df[col]
                title = str(col)
                ws.write(0, i, title, head)
                default = None
                if pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    default = INTEGER
                elif pd.api.types.is_float_dtype(s):
                    values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                    finite = values[np.isfinite(values)]
                    whole = bool(len(finite)) and bool((np.mod(finite, 1) == 0).all())
                    share = bool(_SHARE_TITLE.search(title)) and bool(len(finite)) and float(np.abs(finite).max()) <= 1.5
                    default = "0.0%" if share else INTEGER if whole else DECIMAL
                sample = s.head(300)
                value_width = max((_width(str(v)) for v in sample if v is not None and v == v), default=0)
                if pd.api.types.is_float_dtype(s):
                    value_width = min(value_width, 14)
                width = widths.get(title, min(50, max(8, _width(title) + 2 if _width(title) <= 24 else 14, value_width + 2)))
                ws.set_column(i, i, width, fmt(formats.get(title, default)))
            ws.set_row(0, 32 if any(_width(str(c)) > 14 for c in df.columns) else None)
            if autofilter and len(df.columns):
                ws.autofilter(0, 0, len(df), len(df.columns) - 1)
            print_setup(ws, len(df.columns), title=name)
        _notes_sheet(xw, sheets, notes or {})
    return path


def _notes_sheet(xw, sheets: Mapping[str, pd.DataFrame], notes: Mapping[str, str]) -> None:
    from datetime import datetime

    if "说明" in sheets:
        return
    ws = xw.book.add_worksheet("说明")
    bold, wrap = xw.book.add_format({"bold": True}), xw.book.add_format({"text_wrap": True, "valign": "top"})
    ws.write(0, 0, "项目 Item", xw.book.add_format(HEADER))
    ws.write(1 - 1, 1, "说明 Notes", xw.book.add_format(HEADER))
    rows = [("生成时间", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")),
            ("数值", "单元格保存全精度数值，格式只影响显示（百分比、千分位）；文字单元格不会被当作公式。")]
    rows += [(f"工作表“{n}”", f"{len(df):,} 行 × {len(df.columns)} 列") for n, df in sheets.items()]
    rows += list(notes.items())
    for r, (k, v) in enumerate(rows, start=1):
        ws.write(r, 0, k, bold)
        ws.write(r, 1, v, wrap)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 90)
    print_setup(ws, 2, title="说明")


# ------------------------------------------------------------------ CSV files (they open in Excel too)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+\-]?(\d[\d,]*(\.\d+)?|\.\d+)([eE][+\-]?\d+)?%?$")


def safe_cell(value):
    """A text cell that Excel would read as a formula (starting with = + - @, a tab or a carriage
    return) gets a leading apostrophe, as OWASP advises; plain numbers written as text (``-3``,
    ``+8.5%``) and every non-text value stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value.strip()):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with :func:`safe_cell` applied to every text cell and column title."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.map(safe_cell).astype(object) if s.dtype == object else s.map(safe_cell)
    out.columns = [safe_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: Path | str, *, encoding: str = "utf-8-sig", index: bool = False, **kwargs) -> Path:
    """The one way the suite writes a CSV: cells neutralised (:func:`neutralise`), UTF-8 with BOM (so
    Excel reads the Chinese), no index. Other ``to_csv`` options pass through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise(df).to_csv(path, index=index, encoding=encoding, **kwargs)
    return path


def neutralise_arrow(table):
    """:func:`neutralise` for an Arrow table (the event engines write CSV from Arrow): text columns
    whose cells Excel would read as formulas get the leading apostrophe; numbers stay numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, field in enumerate(table.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        col = table.column(i)
        risky = pc.and_(pc.match_substring_regex(col, r"^[=+\-@\t\r]"), pc.invert(pc.match_substring_regex(col, _PLAIN_NUMBER.pattern)))
        if not pc.any(risky).as_py():
            continue
        table = table.set_column(i, field.name, pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col))
    return table


def write_arrow_csv(table, path: Path | str) -> Path:
    """:func:`write_csv` for an Arrow table (the event engines' results and rejected records): cells
    neutralised (:func:`neutralise_arrow`), UTF-8 with BOM, times as ``YYYY-MM-DD HH:MM:SS``, text
    cells quoted (pyarrow's ``needed`` style), so pandas is never loaded."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            seconds_ = pc.cast(table.column(i), pa.timestamp("s"), safe=False)  # %S would print fractions
            text = pc.strftime(seconds_, format="%Y-%m-%d %H:%M:%S")
            table = table.set_column(i, field.name, text)
    table = neutralise_arrow(table)  # cells Excel would read as formulas get a leading apostrophe
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write("\ufeff".encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="needed"))
    return path

"""Excel exports: one way to write a workbook of tables.

Every workbook is written by XlsxWriter with ``strings_to_formulas``, ``strings_to_urls`` and
``strings_to_numbers`` off, so a complaint text or a unit name that starts with ``=`` stays text
(never a formula), and NaN/inf become empty-looking error cells instead of stopping the write.
Each sheet gets a frozen header, column widths and number formats; cells keep full precision.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": True}

INTEGER = "#,##0"
DECIMAL = "#,##0.00"


def writer(path: Path | str) -> pd.ExcelWriter:
    """A pandas ExcelWriter with the safe options (for callers that add charts or special formats)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS})


def write_sheets(
    path: Path | str,
    sheets: Mapping[str, pd.DataFrame],
    *,
    formats: Mapping[str, str] | None = None,
    widths: Mapping[str, int] | None = None,
    autofilter: bool = False,
) -> Path:
    """Write ``{sheet name: table}`` to ``path``: frozen header, a width and number format per column.

    ``formats`` maps a column title to an Excel number format (e.g. ``"0.0%"``); columns not named get
    ``#,##0`` (integers) or ``#,##0.00`` (floats). ``widths`` maps a column title to a width; the
    default fits the title (a Chinese character counts double), at least 10.
    """
    formats, widths = dict(formats or {}), dict(widths or {})
    path = Path(path)
    with writer(path) as xw:
        cache: dict[str, object] = {}

        def fmt(spec: str | None):
            if spec is None:
                return None
            if spec not in cache:
                cache[spec] = xw.book.add_format({"num_format": spec})
            return cache[spec]

        for name, df in sheets.items():
            df.to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            ws.freeze_panes(1, 0)
            for i, col in enumerate(df.columns):
                s = df[col]
                default = INTEGER if pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s) else DECIMAL if pd.api.types.is_float_dtype(s) else None
                title = str(col)
                width = widths.get(title, max(10, sum(2 if ord(ch) > 0x2E7F else 1 for ch in title) + 2))
                ws.set_column(i, i, width, fmt(formats.get(title, default)))
            if autofilter and len(df.columns):
                ws.autofilter(0, 0, len(df), len(df.columns) - 1)
    return path

"""Display helpers for notebooks: readable tables and generated sentences.

    from analysis.report.display import show_table, say

    say(f"**{best.name}** leads with {best.total:.1f} points.")
    show_table(
        league,
        columns={"unit_name": "支行", "total": "总分", "rank": "排名"},
        formats={"total": "{:.1f}"},
        caption="2016 年综合得分",
        gradient=["total"],
    )

``show_table`` returns a pandas ``Styler`` (the notebook displays it when it is the cell's last
value): index hidden, Chinese column titles, number formats (defaults: thousands separators, two
decimals for floats), text left and numbers right, empty cells as "—", and an optional background
gradient (pandas draws it with matplotlib's colour maps; no other package needed). Display only:
the DataFrame's values are not rounded or changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd
from pandas.io.formats.style import Styler

DEFAULT_CMAP = "Blues"
NA_REP = "—"


def _unsigned_zero(fmt: str) -> Callable:
    """A format that does not print "-0.00" for a tiny negative value that rounds to zero."""

    def apply(v):
        text = fmt.format(v)
        return text[1:] if text.startswith("-") and not any(ch in "123456789" for ch in text) else text

    return apply


def _default_format(s: pd.Series) -> str | Callable | None:
    if pd.api.types.is_bool_dtype(s):
        return lambda v: "是" if v is True or v == 1 else ("否" if v is False or v == 0 else NA_REP)
    if pd.api.types.is_integer_dtype(s):
        return "{:,.0f}"
    if pd.api.types.is_float_dtype(s):
        return "{:,.2f}"
    if pd.api.types.is_datetime64_any_dtype(s):
        values = s.dropna()
        date_only = bool(len(values)) and bool((values == values.dt.normalize()).all())
        return (lambda v: v.strftime("%Y-%m-%d")) if date_only else (lambda v: v.strftime("%Y-%m-%d %H:%M"))
    return None


def show_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, str | Callable] | None = None,
    caption: str | None = None,
    gradient: Sequence[str] | Mapping[str, str] | None = None,
    *,
    index: bool = False,
    cmap: str = DEFAULT_CMAP,
    na_rep: str = NA_REP,
) -> Styler:
    """A display-ready table.

    - ``columns``: titles, ``{"total": "总分"}``; columns not named keep their name. The dict may
      name columns this table does not have, so one glossary of titles can serve many tables.
    - ``formats``: per column (original or new title), a format string (``"{:.1%}"``) or a function;
      unnamed numeric columns get ``{:,.0f}`` (integers) or ``{:,.2f}`` (floats). Like ``columns``,
      entries for columns the table does not have are ignored.
    - ``caption``: shown above the table.
    - ``gradient``: columns to shade, a list (colour map ``cmap``) or ``{column: colour map}``,
      e.g. ``{"total": "RdYlGn"}`` when higher is better.
    - ``index``: keep the index (hidden by default).

    Raises ``KeyError`` when ``gradient`` names a column that is not in the table.
    """
    columns = dict(columns or {})
    formats = dict(formats or {})
    if isinstance(gradient, str):
        raise TypeError("gradient takes a list of columns or a {column: colour map} dict, not a string")
    shades = dict(gradient) if isinstance(gradient, Mapping) else dict.fromkeys(gradient or [], cmap)
    present = set(map(str, df.columns))
    renamed = {str(k): v for k, v in columns.items()}
    titles = {str(c): renamed.get(str(c), str(c)) for c in df.columns}
    back = {new: old for old, new in titles.items()}

    def original(name: str) -> str | None:
        return name if name in present else back.get(name)

    fmt_by_orig = {original(str(k)): v for k, v in formats.items() if original(str(k)) is not None}
    shade_by_orig = {}
    for k, v in shades.items():
        if original(str(k)) is None:
            raise KeyError(f"show_table: gradient names a column not in the table: {k!r}; the table has {list(df.columns)}")
        shade_by_orig[original(str(k))] = v

    shown = df.copy()
    shown.columns = [titles[str(c)] for c in df.columns]
    formatter: dict[str, str | Callable] = {}
    text_cols, num_cols = [], []
    for c in df.columns:
        key, s = str(c), df[c]
        fmt = fmt_by_orig.get(key, _default_format(s))
        if isinstance(fmt, str) and pd.api.types.is_float_dtype(s):
            fmt = _unsigned_zero(fmt)
        if fmt is not None:
            formatter[titles[key]] = fmt
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num_cols.append(titles[key])
        else:
            text_cols.append(titles[key])

    styler = shown.style.format(formatter=formatter, na_rep=na_rep)
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    if num_cols:
        styler = styler.set_properties(subset=num_cols, **{"text-align": "right", "white-space": "nowrap"})
    # Column titles aligned like their values ("th" becomes "th.col<i>": the title cell only).
    heads = {c: [{"selector": "th", "props": f"text-align: {'right' if c in num_cols else 'left'};"}] for c in shown.columns}
    styler = styler.set_table_styles(heads, overwrite=False)
    for key, colour_map in shade_by_orig.items():
        if not pd.api.types.is_numeric_dtype(df[key]):
            raise TypeError(f"show_table: gradient column {key!r} is not numeric")
        styler = styler.background_gradient(cmap=colour_map, subset=[titles[key]])
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    return styler.set_table_attributes('class="dataframe analysis-table"')


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def say(text: str, **values) -> None:
    """Display a generated paragraph as Markdown (``**bold**`` works). With keyword arguments the
    text is a ``str.format`` template: ``say("{unit} leads with {score:.1f} points", unit=u, score=s)``."""
    from IPython.display import Markdown

    _display(Markdown(text.format(**values) if values else text))

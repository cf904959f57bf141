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
the DataFrame's values are not rounded or changed. Values, titles and the caption are escaped.

One formatter per kind of number, for every page, sentence and card (never ``4.000000``, ``1e+09``,
``-0.00``, ``p = 0.000``, ranks as ``9.0`` or ``nan``): :func:`count`, :func:`number`,
:func:`money`, :func:`share`, :func:`p_value`, :func:`rank`, :func:`duration`, :func:`date_text`.
Empty values (None, NaN, NaT, pd.NA) print as ``—``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from pandas.io.formats.style import Styler

DEFAULT_CMAP = "Blues"
NA_REP = "—"
# A figure whose column the export lacks (an optional column, sources/*.yaml): never 0, never empty.
NOT_IN_EXPORT = "not in this export"
NOT_IN_EXPORT_ZH = "不在本次导出中"


def not_in_export(what: str, consequence: str = "") -> str:
    """The one sentence every page gives for figures that need a column the export lacks:
    ``what`` names the column(s) (Chinese titles), ``consequence`` the figures left out."""
    tail = f"，{consequence}" if consequence else ""
    return f"{what}：{NOT_IN_EXPORT_ZH}（{NOT_IN_EXPORT}）{tail}。"


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
    gradient: Sequence[str] | Mapping[str, str | tuple] | None = None,
    *,
    index: bool = False,
    cmap: str = DEFAULT_CMAP,
    na_rep: str = NA_REP,
    cell_styles: Mapping[str, Callable[[object], str] | Sequence[str]] | None = None,
    row_styles: Sequence[str] | None = None,
) -> Styler:
    """A display-ready table.

    - ``columns``: titles, ``{"total": "总分"}``; columns not named keep their name. The dict may
      name columns this table does not have, so one glossary of titles can serve many tables.
    - ``formats``: per column (original or new title), a format string (``"{:.1%}"``) or a function;
      unnamed numeric columns get ``{:,.0f}`` (integers) or ``{:,.2f}`` (floats). Like ``columns``,
      entries for columns the table does not have are ignored.
    - ``caption``: shown above the table.
    - ``gradient``: columns to shade, a list (colour map ``cmap``) or ``{column: colour map}``,
      e.g. ``{"total": "RdYlGn"}`` when higher is better, or ``{column: (colour map, vmin, vmax)}``
      for a fixed scale (``("RdYlGn", 0, 1.2)``: the same colour means the same value in every column).
      Empty cells are never shaded.
    - ``index``: keep the index (hidden by default).
    - ``cell_styles``: per column (original or new title), CSS for each cell: a function of the cell's
      value (``lambda v: "color: #c62828" if v == "否" else ""``) or a list with one CSS string per row
      (status colours computed beside the table). Display only, like the formats.
    - ``row_styles``: one CSS string per row, applied to every cell of the row (``""`` for none), e.g.
      a bold total row.

    Raises ``KeyError`` when ``gradient`` or ``cell_styles`` names a column that is not in the table,
    ``ValueError`` when a list of styles does not have one entry per row.
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
    style_by_orig = {}
    for k, v in (cell_styles or {}).items():
        if original(str(k)) is None:
            raise KeyError(f"show_table: cell_styles names a column not in the table: {k!r}; the table has {list(df.columns)}")
        if not callable(v) and len(v) != len(df):
            raise ValueError(f"show_table: cell_styles[{k!r}] has {len(v)} styles for {len(df)} rows")
        style_by_orig[original(str(k))] = v
    if row_styles is not None and len(row_styles) != len(df):
        raise ValueError(f"show_table: row_styles has {len(row_styles)} styles for {len(df)} rows")

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

    # Values, column titles and row labels come from data: escaped (pandas' Styler escapes nothing).
    styler = shown.style.format(formatter=formatter, na_rep=na_rep, escape="html")
    styler = styler.format_index(escape="html", axis=1).format_index(escape="html", axis=0)
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    if num_cols:
        styler = styler.set_properties(subset=num_cols, **{"text-align": "right", "white-space": "nowrap"})
    # Column titles aligned like their values ("th" becomes "th.col<i>": the title cell only).
    heads = {c: [{"selector": "th", "props": f"text-align: {'right' if c in num_cols else 'left'};"}] for c in shown.columns}
    styler = styler.set_table_styles(heads, overwrite=False)
    for key, spec in shade_by_orig.items():
        if not pd.api.types.is_numeric_dtype(df[key]):
            raise TypeError(f"show_table: gradient column {key!r} is not numeric")
        colour_map, vmin, vmax = (spec, None, None) if isinstance(spec, str) else tuple(spec)
        filled = df[key].notna().to_numpy()
        if filled.any():
            styler = styler.background_gradient(cmap=colour_map, subset=(filled, [titles[key]]), vmin=vmin, vmax=vmax)
    for key, spec in style_by_orig.items():
        col = titles[key]
        if callable(spec):
            styler = styler.map(lambda v, f=spec: f(v) or "", subset=[col])
        else:
            css = list(spec)
            styler = styler.apply(lambda s, css=css: css, axis=0, subset=[col])
    if row_styles is not None:
        rows = list(row_styles)
        styler = styler.apply(lambda s, rows=rows: rows, axis=0)
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler.set_table_attributes('class="dataframe analysis-table"')


#: Status cell colours of every status table: the charts' colours (analysis.plots.STATUS_COLORS; tested).
STATUS_CELL = {"met": "#2e7d32", "on track": "#66a182", "at risk": "#edae49", "missed": "#c62828", "n/a": "#9e9e9e"}


def status_css(status: str) -> str:
    """The CSS of a status cell: its status colour (:data:`STATUS_CELL`), bold, readable text on it."""
    colour = STATUS_CELL[status]
    text = "#1d2430" if status == "at risk" else "white"
    return f"background-color: {colour}; color: {text}; white-space: nowrap" + ("" if status == "n/a" else "; font-weight: bold")


#: The reason (依据) beside a status: quieter text, wrapped, never cut.
REASON_CSS = "color: #5f6b7a; font-size: 12.5px; min-width: 14em; white-space: normal"


def status_table(shown: pd.DataFrame, statuses: Sequence[str], *, caption: str | None = None,
                 status_column: str = "状态", reason_column: str = "依据") -> Styler:
    """A status table (``analysis.targets.display_table``, a unit page's targets) through
    :func:`show_table`: each 状态 cell in its status colour and the 依据 (reason) column in a quieter
    text beside it; escaped like every table."""
    styles: dict = {status_column: [status_css(s) for s in statuses]}
    if reason_column in shown.columns:
        styles[reason_column] = lambda v: REASON_CSS
    return show_table(shown, caption=caption, cell_styles=styles)


@dataclass
class Section:
    """A page section built by a page module (``analysis.complaints.report``): a generated sentence, a
    figure to draw (a function that draws it and returns its axes, called when the section is shown),
    a table with its titles and formats, and ``values`` at full precision for tests and exports."""

    text: str
    table: pd.DataFrame | None = None
    columns: dict = field(default_factory=dict)
    formats: dict = field(default_factory=dict)
    figure: Callable | None = None
    caption: str | None = None
    values: dict = field(default_factory=dict)

    def styled(self) -> Styler | None:
        if self.table is None:
            return None
        return show_table(self.table, columns=self.columns, formats=self.formats, caption=self.caption)

    def draw(self):
        """The figure, drawn now (a matplotlib Figure; closed, so it shows once where displayed)."""
        if self.figure is None:
            return None
        import matplotlib.pyplot as plt

        out = self.figure()
        first = out.ravel()[0] if hasattr(out, "ravel") else out
        fig = getattr(first, "figure", first)
        plt.close(fig)
        return fig

    def _ipython_display_(self) -> None:
        from IPython.display import Markdown, display

        display(Markdown(self.text))
        if self.figure is not None:
            display(self.draw())
        if self.table is not None:
            display(self.styled())


_ANCHOR = re.compile(r"[^A-Za-z0-9_-]+")
ANCHOR_CLASS = "row-anchor-"


def anchor_id(kind: str, key) -> str:
    """The anchor of a row about one unit or outlet on a detailed page: ``unit-331801``,
    ``outlet-33180102`` (other pages link to ``03_competition.html#unit-331801``)."""
    return f"{kind}-{_ANCHOR.sub('-', str(key)).strip('-')}"


def row_anchors(styler: Styler, ids: Sequence[str]) -> Styler:
    """Give each row of ``styler``'s table an anchor (``ids``, one per row, from :func:`anchor_id`):
    the first cell carries it as a class, and the page layout turns it into the row's ``id``
    (the first row with an anchor keeps it when two tables have the same)."""
    data = styler.data
    if len(ids) != len(data):
        raise ValueError(f"row_anchors: {len(ids)} ids for {len(data)} rows")
    classes = pd.DataFrame("", index=data.index, columns=data.columns)
    if len(data.columns):
        classes.iloc[:, 0] = [ANCHOR_CLASS + _ANCHOR.sub("-", str(i)) for i in ids]
    return styler.set_td_classes(classes)


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def say(text: str, **values) -> None:
    """Display a generated paragraph as Markdown (``**bold**`` works). With keyword arguments the
    text is a ``str.format`` template: ``say("{unit} leads with {score:.1f} points", unit=u, score=s)``."""
    from IPython.display import Markdown

    _display(Markdown(text.format(**values) if values else text))


# ------------------------------------------------------------------ one formatter per kind of number
def _missing(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _fixed(v: float, digits: int) -> str:
    """``v`` with ``digits`` decimals and thousands separators, never in e-notation, never ``-0.0``."""
    text = f"{float(v):,.{digits}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]
    return text


def count(v) -> str:
    """A count: ``1,234`` (a float count such as ``4.0`` prints as ``4``)."""
    if _missing(v):
        return NA_REP
    return _fixed(round(float(v)), 0)


def number(v, digits: int = 1) -> str:
    """A measured value with ``digits`` decimals: ``88.6``; whole numbers keep the decimals asked for."""
    if _missing(v):
        return NA_REP
    if not math.isfinite(float(v)):
        return "∞" if float(v) > 0 else "−∞"
    return _fixed(v, digits)


def signed(v, digits: int = 2) -> str:
    """A difference with its sign: ``+1.25``, ``-0.40``; zero (also ``-0.001`` at 2 decimals) as ``0.00``."""
    if _missing(v):
        return NA_REP
    text = _fixed(v, digits)
    return text if text.startswith("-") or not any(ch in "123456789" for ch in text) else "+" + text


def money(v, unit: str = "元", digits: int = 2) -> str:
    """An amount with its unit: ``1,234.50 元``, ``12.3 万元`` (``money(v, "万元", 1)``)."""
    if _missing(v):
        return NA_REP
    return f"{_fixed(v, digits)} {unit}".strip()


def share(v, digits: int = 1) -> str:
    """A share given as a fraction: ``0.9181`` -> ``91.8%``."""
    if _missing(v):
        return NA_REP
    return f"{_fixed(float(v) * 100, digits)}%"


def p_value(p) -> str:
    """A p-value as a reader needs it: ``< 0.001``, else three decimals (``0.012``), ``> 0.999``."""
    if _missing(p):
        return NA_REP
    p = float(p)
    if p < 0.001:
        return "< 0.001"
    if p > 0.999:
        return "> 0.999"
    return f"{p:.3f}"


def p_text(p) -> str:
    """``p = 0.012`` or ``p < 0.001`` (for sentences)."""
    t = p_value(p)
    return f"p {t}" if t.startswith(("<", ">")) else f"p = {t}"


def rank(v) -> str:
    """A rank: ``9`` (never ``9.0``); a shared rank from averaging keeps its half: ``9.5``."""
    if _missing(v):
        return NA_REP
    f = float(v)
    return str(int(round(f))) if abs(f - round(f)) < 1e-9 else _fixed(f, 1)


def duration(seconds) -> str:
    """A length of time in the unit that reads best: ``45 秒``, ``3.2 分钟``, ``2.5 小时``, ``11.6 天``."""
    if _missing(seconds):
        return NA_REP
    s = float(seconds)
    if abs(s) < 120:
        return f"{_fixed(s, 0 if abs(s) >= 10 else 1)} 秒"
    if abs(s) < 2 * 3600:
        return f"{_fixed(s / 60, 1)} 分钟"
    if abs(s) < 2 * 86400:
        return f"{_fixed(s / 3600, 1)} 小时"
    return f"{_fixed(s / 86400, 1)} 天"


def date_text(v) -> str:
    """A date ``2016-06-30`` (a time of day only when there is one: ``2016-06-30 14:05``)."""
    if _missing(v):
        return NA_REP
    if isinstance(v, str):
        return v
    ts = pd.Timestamp(v)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


_LEFTOVERS = [
    (re.compile(r"(Posix|Windows)Path\("), "a Python path object"),
    (re.compile(r"(?<![\w/])(/tmp/|/home/|/work/|/root/|/Users/|[A-Z]:\\)"), "a machine path"),
    (re.compile(r"\banalysis\.[a-z_]+\.[a-z_]+"), "a module name"),
    (re.compile(r"(?<![\w.])\d+\.\d*[eE][+\-]?\d+|(?<![\w.])\d[eE][+\-]\d+"), "e-notation"),
    (re.compile(r"(?<![\w.\d])-0\.0+(?!\d*[1-9])"), "a negative zero"),
    (re.compile(r"\b\d+\.0{6}\b"), "six zero decimals"),
    (re.compile(r"p\s*=\s*0\.0+(?!\d*[1-9])"), "p = 0.000"),
    (re.compile(r"(?<![\w/])(nan|NaN|None|NaT|<NA>)(?![\w/])"), "nan/None/NaT"),
]


def leftovers(text: str) -> list[str]:
    """Developer leftovers in visible text (``PosixPath(``, machine paths, module names, e-notation,
    ``-0.00``, ``4.000000``, ``p = 0.000``, nan/None/NaT), each as ``"kind: …context…"``. Empty = clean."""
    found = []
    for pattern, kind in _LEFTOVERS:
        for m in pattern.finditer(text):
            found.append(f"{kind}: …{text[max(0, m.start() - 30): m.end() + 30]}…")
    return found


def exported(path) -> None:
    """Say that a file was exported, by its name, linked from the page (pages sit next to
    ``exports/``); never the machine's path or a ``PosixPath(…)`` repr."""
    from pathlib import Path

    from IPython.display import HTML

    if path is None:
        return
    paths = path if isinstance(path, (list, tuple)) else [path]
    links = "、".join(f'<a href="exports/{html.escape(Path(p).name)}">{html.escape(Path(p).name)}</a>' for p in paths)
    _display(HTML(f'<p class="exported">已导出 Exported：{links}（报告目录的导出栏也列出 also listed on the index）</p>'))


# ------------------------------------------------------------------ rejection reasons in Chinese
# The clean engine writes its reasons in one small English vocabulary (kept in the rejected files,
# where tools and tests read them); pages show them in Chinese first. A reason outside the vocabulary
# is shown as written.
_FIELD = r"(?P<field>[A-Za-z_][\w]*) \((?P<title>[^)]*)\)"
_REASONS_ZH: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(rf"^{_FIELD}: below the minimum (?P<lim>[^:]+)(?:: (?P<v>.*))?$"), lambda m: f"{m['title']}低于下限 {m['lim']}" + (f"：{m['v']}" if m["v"] else "")),
    (re.compile(rf"^{_FIELD}: above the maximum (?P<lim>[^:]+)(?:: (?P<v>.*))?$"), lambda m: f"{m['title']}高于上限 {m['lim']}" + (f"：{m['v']}" if m["v"] else "")),
    (re.compile(rf"^{_FIELD}: not a date(?:: (?P<v>.*))?$"), lambda m: f"{m['title']}不是有效日期" + (f"：{m['v']}" if m["v"] else "")),
    (re.compile(rf"^{_FIELD}: not a number(?:: (?P<v>.*))?$"), lambda m: f"{m['title']}不是数字" + (f"：{m['v']}" if m["v"] else "")),
    (re.compile(rf"^{_FIELD}: empty, but required$"), lambda m: f"{m['title']}为空（必填）"),
    (re.compile(rf"^{_FIELD}: empty$"), lambda m: f"{m['title']}为空"),
    (re.compile(rf"^{_FIELD}: (?:(?P<v>.+) is )?not in (?P<ref>[\w.]+)(?: \(unknown unit\))?$"),
     lambda m: f"{m['title']}" + (f" {m['v']} " if m["v"] else "") + "在机构信息中不存在（未知机构）"),
    (re.compile(r"^(?P<a>\w+) \((?P<ta>[^)]*)\) is before (?P<b>\w+) by more than (?P<s>[\d.]+) s: impossible$"),
     lambda m: f"{m['ta']}早于{ {'issued_at': '取号时间', 'received_at': '受理时间', 'started_at': '开始时间'}.get(m['b'], m['b'])}超过 {m['s']} 秒，不可能"),
    (re.compile(r"^summary row \(合计\)(?:, not a record)?$"), lambda m: "合计行，不是一条记录"),
    (re.compile(r"^duplicate of line (?P<n>\d+)$"), lambda m: f"与第 {m['n']} 行完全重复"),
    (re.compile(r"^duplicate row$"), lambda m: "重复行"),
    (re.compile(r"^repeats the key of (?P<f>.+) line (?P<n>\d+)$"), lambda m: f"编号与 {m['f']} 第 {m['n']} 行重复"),
    (re.compile(r"^repeats the key \((?P<k>[^)]*)\) of line (?P<n>\d+) with different values$"), lambda m: f"编号（{m['k']}）与第 {m['n']} 行相同而内容不同"),
    (re.compile(r"^repeated key$"), lambda m: "编号重复"),
    (re.compile(r"^key repeated in another file$"), lambda m: "编号与另一文件重复"),
    (re.compile(r"^malformed record$"), lambda m: "记录格式损坏"),
    (re.compile(r"^record has (?P<a>\d+) fields, the header has (?P<b>\d+)(?: \(the file looks cut off\))?$"),
     lambda m: f"本行 {m['a']} 个字段，表头 {m['b']} 个（文件疑似被截断）"),
    (re.compile(r"^far from the same unit's median (?P<med>\S+) \(robust z (?P<z>[+\-\d.]+)\)$"),
     lambda m: f"远离本机构的中位数 {m['med']}（稳健 z 值 {m['z']}）"),
    (re.compile(r"^moved (?P<c>[+\-\d.]+%) on the month before \((?P<p>[^)]*)\)$"), lambda m: f"较上月变动 {m['c']}（上月 {m['p']}）"),
]


def reason_zh(reason) -> str:
    """A rejection or check reason in Chinese (each ``; ``-separated part); unknown parts as written."""
    if _missing(reason):
        return NA_REP
    parts = []
    for part in str(reason).split("; "):
        for pattern, make in _REASONS_ZH:
            m = pattern.match(part.strip())
            if m:
                parts.append(make(m))
                break
        else:
            parts.append(part)
    return "；".join(parts)


# ------------------------------------------------------------------ glossary of statistical terms
GLOSSARY: dict[str, tuple[str, str]] = {
    "p 值": ("假如真实情况没有变化，仅凭随机波动就出现至少这么大差异的概率；越小越说明差异不是偶然。小于 0.001 时写作 p < 0.001。",
             "p-value: the chance of a difference at least this large if nothing had really changed."),
    "单侧界限": ("考虑抽样误差后，实际值在一个方向上可能的最差水平；期限前只有这个界限也达到目标，才算“达标”（到期限时按实际值判断达标或未达标，依据栏写明是否超出抽样误差）。",
             "one-sided bound: the worst level the figure may really be at, given sampling noise; before the deadline, met only when it meets the target."),
    "q 值": ("同时检验很多家支行时，总会有一两家碰巧“显著”；q 值是按 Benjamini–Hochberg 方法校正后的 p 值，q < 0.05 的结论更可靠。",
             "q-value: a p-value corrected for testing many units at once (Benjamini–Hochberg)."),
    "率比": ("本期投诉率 ÷ 上年同期投诉率。小于 1 表示下降；与单侧 5% 检验配套的是单侧 95% 界限（两个界限合起来是 90% 区间）：上界低于 1，下降才算确实；下界高于 1，上升才算确实。",
             "rate ratio: this period's rate over last year's; a fall is real exactly when its one-sided 95% upper bound lies below 1 (both bounds together: a 90% interval)."),
    "控制限（漏斗图）": ("按全行水平和各网点业务量算出的随机波动范围。业务量小的网点范围宽，落在控制限外才说明真正偏离全行水平。",
             "control limits (funnel plot): the range chance alone allows for a unit of that size; only units outside it really differ."),
    "φ（过度离散）": ("各单位之间的实际差异相对随机波动的倍数。φ 明显大于 1 说明差异不只是随机波动，控制限需要放宽。",
             "φ (overdispersion): how much more the units differ than chance alone would make them; above 1, limits are widened."),
    "τ²（随机效应方差）": ("在随机波动之外、各单位之间真实水平的差异大小；用它放宽控制限，避免把正常差异当成异常。",
             "τ² (between-unit variance): the real spread between units beyond chance, used to widen the limits."),
    "稳健 z 值": ("一个数值离同一机构中位数有多远，以中位数绝对偏差（MAD×1.4826）为单位；超过 5 的数值需要核对。不受个别极端值影响。",
             "robust z: distance from the unit's median in units of the median absolute deviation (×1.4826); above 5 is checked."),
    "名次置信集": (("只考虑神秘人检查和满意度调查的抽样误差（权重按方案不变），按 Mogstad 等（csranks）方法给出的名次范围。"
                "“边际 90% 置信集”：每家各自以约 90% 的概率包含其真实名次；“同时 90% 置信集”更宽，所有单位的集合以约 90% 的概率同时成立。"
                "“难以区分”来自同时检验，不是看区间是否重叠。"),
               ("rank confidence set: the ranks a unit's true rank may take given the sampling noise of checks and surveys (weights fixed). "
                "Marginal 90%: covers this unit's true rank with about 90% probability; simultaneous 90%: all units' sets hold together. "
                "\"Cannot be told apart\" comes from the simultaneous test, not from overlapping sets.")),
    "Erlang A / Erlang C": ("测算坐席人数的排队公式：Erlang C 假设客户从不挂断，Erlang A 还考虑客户等不及而放弃。",
             "Erlang A / C: queueing formulas for agents needed; C assumes callers never hang up, A allows for abandonment."),
}


#: Where each term is explained in full: its anchor on the methods page (``reports/methods.html``,
#: from docs/METHODS.md; ``analysis.report.methods``). A unit page's links are made relative to its
#: folder when the page is rendered (``analysis.report.export``).
METHODS_PAGE = "methods.html"
GLOSSARY_METHODS: dict[str, str] = {
    "p 值": "is-a-change-in-the-complaint-rate-real-how",
    "单侧界限": "targets-met-beyond-noise",
    "q 值": "is-a-change-in-the-complaint-rate-real-per-unit",
    "率比": "is-a-change-in-the-complaint-rate-real-how",
    "控制限（漏斗图）": "funnel-plots-and-outliers-exact-limits",
    "φ（过度离散）": "funnel-plots-and-outliers-overdispersion",
    "τ²（随机效应方差）": "funnel-plots-and-outliers-overdispersion",
    "稳健 z 值": "suspicious-values-in-the-data-quality-report-robust-z-score",
    "名次置信集": "ranks-of-the-league-table-marginal-90-set",
    "Erlang A / Erlang C": "call-centre-staffing-erlang-c-and-erlang-a",
}


def glossary_href(term: str) -> str:
    """The relative link to the term's section of the methods page."""
    return f"{METHODS_PAGE}#{GLOSSARY_METHODS[term]}"


def glossary(*terms: str) -> None:
    """Display the terms' plain-words explanations (Chinese first, English secondary) as a footnote
    list; each term links to its section of the methods page."""
    from IPython.display import HTML

    unknown = [t for t in terms if t not in GLOSSARY]
    if unknown:
        raise KeyError(f"glossary: unknown terms {unknown}; known: {list(GLOSSARY)}")
    items = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(GLOSSARY[t][0])}<br><span class=\"muted small\">{html.escape(GLOSSARY[t][1])}</span>"
                    f" <a class=\"methods-link small\" href=\"{html.escape(glossary_href(t))}\">方法说明 Methods</a></dd>"
                    for t in terms or GLOSSARY)
    _display(HTML(f'<dl class="glossary">{items}</dl>'))

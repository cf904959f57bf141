"""The peers page's tables (notebook 04), shown through the one table renderer
(:func:`analysis.report.display.show_table`: escaped, aligned, numbers formatted). The figures come
from :mod:`analysis.peers` as plain DataFrames; this module only formats them."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from analysis import peers
from analysis.report.display import number, show_table


def _fixed(digits: int):
    return lambda v: number(v, digits)


def _general(v) -> str:
    """Four significant figures, without e-notation (regulator bulletins mix 0.0123 and 12,345)."""
    if v is None or pd.isna(v):
        return "—"
    v = float(v)
    digits = max(0, min(4, 4 - len(str(int(abs(v)))) if abs(v) >= 1 else 4))
    return number(v, digits)


def peer_table(peers_df: pd.DataFrame, period: str, **kwargs) -> Styler:
    """:func:`analysis.peers.peer_table` shown: each metric with its own decimals, ranks as integers."""
    table, decimals = peers.peer_table(peers_df, period, **kwargs)
    return show_table(table, formats={title: _fixed(d) for title, d in decimals.items()}, na_rep="")


def regulator_table(readings: pd.DataFrame) -> Styler:
    show = peers.regulator_table(readings)
    fmt = {c: _general for c in ("本行", "最少", "公布中位数", "重算中位数") if c in show.columns and pd.api.types.is_numeric_dtype(show[c])}
    fmt["与公布中位数之差"] = lambda v: "—" if v is None or pd.isna(v) else ("+" if float(v) > 0 else "") + _general(v)
    return show_table(show, formats=fmt, na_rep="")


def group_table(comparison: pd.DataFrame, **kwargs) -> Styler:
    wide = peers.group_table(comparison, **kwargs)
    return show_table(wide, formats={c: _fixed(2) for c in wide.columns if c not in ("对标组", "网点数")})


def attention_table(comparison: pd.DataFrame, min_metrics: int = 2) -> Styler:
    return show_table(peers.attention_list(comparison, min_metrics=min_metrics))


def outliers_table(funnel, which: str) -> Styler:
    t = peers.funnel_outliers(funnel, which)
    return show_table(t, formats={c: _fixed(2) for c in t.columns if pd.api.types.is_float_dtype(t[c])})

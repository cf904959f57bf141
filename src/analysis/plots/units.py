"""The unit page's figure: small monthly trends, one panel per key figure (``shared.trends``)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

import analysis.plots  # noqa: F401  (CJK font)
from analysis.plots import PALETTE, STATUS_COLORS, set_alt, share_axis

_AXIS = {"share": "%", "minutes": "分钟", "points": "分", "per10k": "件/万笔交易"}


def _value_text(v: float, unit: str) -> str:
    if unit == "share":
        return f"{v * 100:.1f}%"
    if unit == "per10k":
        return f"{v:.2f} 件/万笔"
    return f"{v:.1f} {_AXIS.get(unit, '')}".strip()


def _month_no(month: str) -> int:
    return int(str(month)[5:7])


def trend_panels(trends: pd.DataFrame, unit_id: str, unit_name: str, *, targets: dict[str, float] | None = None, axes=None):
    """One small panel per metric in ``trends`` (analysis.scorecard.shared.trends_table): the unit's
    monthly value (blue, with markers) against the bank's (grey), and the campaign target where one
    is set on the metric (dotted). Shares are drawn in %; an axis of shares that does not start at 0 is
    marked as broken. Returns the axes array (one per metric, in the order of ``trends``)."""
    mine = trends[trends["unit_id"] == str(unit_id)]
    bank = trends[trends["unit_id"] == ""]
    metrics = list(dict.fromkeys(mine["metric"]))
    if not metrics:
        raise ValueError(f"no monthly figures for unit {unit_id!r}")
    targets = targets or {}
    if axes is None:
        cols = min(2, len(metrics))  # two a line: still legible when a phone shows the figure at half size
        lines = math.ceil(len(metrics) / cols)
        fig, axes = plt.subplots(lines, cols, figsize=(3.3 * cols + 0.4, 2.5 * lines + 0.4), squeeze=False)
    flat = np.asarray(axes).ravel()
    alt = []
    for ax, metric in zip(flat, metrics):
        u = mine[mine["metric"] == metric].sort_values("month")
        b = bank[bank["metric"] == metric].sort_values("month")
        unit, title = str(u["unit"].iloc[0]), str(u["title"].iloc[0])
        scale = 100.0 if unit == "share" else 1.0
        ax.plot([_month_no(m) for m in b["month"]], b["value"] * scale, color="#9e9e9e", linewidth=1.4, label="全行")
        ax.plot([_month_no(m) for m in u["month"]], u["value"] * scale, color=PALETTE[0], marker="o", markersize=3.5, linewidth=1.8, label=unit_name)
        if metric in targets and np.isfinite(targets[metric]):
            ax.axhline(targets[metric] * scale, color=STATUS_COLORS["missed"], linestyle=":", linewidth=1.3, label="目标")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("月份")
        ax.set_ylabel(_AXIS.get(unit, ""))
        months = sorted({_month_no(m) for m in pd.concat([u["month"], b["month"]])})
        ax.set_xticks([m for m in months if m % 3 == 0 or len(months) <= 6] or months)
        ax.set_xlim(min(months) - 0.5, max(months) + 0.5)
        if unit == "share":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
            share_axis(ax, "y")
        elif unit in ("per10k", "minutes"):
            ax.set_ylim(0, max(float((u["value"] * scale).max()), float((b["value"] * scale).max()) if len(b) else 0.0) * 1.15 or 1.0)
        first, last = u.iloc[0], u.iloc[-1]
        alt.append(f"{title} {_month_no(first['month'])}月 {_value_text(first['value'], unit)}，{_month_no(last['month'])}月 {_value_text(last['value'], unit)}")
    for ax in flat[len(metrics):]:
        ax.set_visible(False)
    handles, labels = flat[0].get_legend_handles_labels()
    if any(metric in targets for metric in metrics) and "目标" not in labels:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color=STATUS_COLORS["missed"], linestyle=":", linewidth=1.3))
        labels.append("目标")
    fig = flat[0].figure
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=9, frameon=False)
    set_alt(fig, f"图：{unit_name}各月走势（蓝线，灰线为全行）：" + "；".join(alt) + "。")
    return np.asarray(axes)

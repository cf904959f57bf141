"""Figures and styled tables for campaign targets (``analysis.targets``).

``plot_target`` draws one target row: the monthly values so far, the trend extended to the deadline,
the target line and the projection (coloured by status); rows without a monthly series (yearly
records, counts) are drawn as a bar with its noise bounds against the target. ``plot_group`` draws
every row of one target group side by side.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

import analysis.plots  # noqa: F401  (CJK font)
from analysis.plots import STATUS_COLORS, share_axis
from analysis.targets import STATUS_LABELS, Evaluation, format_value

_UNIT_AXIS = {"share": "比例", "minutes": "分钟", "points": "分", "per10k": "件/万笔", "per_month": "件/月", "count": "家", "days": "天"}


def _fmt(unit: str):
    if unit == "share":
        return PercentFormatter(xmax=1.0, decimals=None)
    return FuncFormatter(lambda v, _: f"{v:g}")


def _month_no(month: str, year: int) -> int:
    y, m = month.split("-")
    return (int(y) - year) * 12 + int(m)


def _interval(r: pd.Series) -> tuple[float, float]:
    """The bounds that decide the status, on the actual's scale: with a baseline, they include the
    baseline's noise (target + gap bounds)."""
    if r["rule"] in ("baseline_plus", "baseline_times"):
        return r["target"] + r["gap_low"], r["target"] + r["gap_high"]
    low = r["actual_low"] if not math.isnan(r["actual_low"]) else r["actual"]
    high = r["actual_high"] if not math.isnan(r["actual_high"]) else r["actual"]
    return low, high


def plot_target(evaluation: Evaluation, row: int, ax=None):
    """One target row (an index of ``evaluation.table``). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.2))
    r = evaluation.table.loc[row]
    status, unit = r["status"], r["unit"]
    color = STATUS_COLORS[status]
    who = f"{r['scope_label']} " if r["scope_kind"] == "sub_branch" else ""
    ax.set_title(f"{who}{r['title']}\n{STATUS_LABELS[status]} {status}", color=color, fontsize=10)
    s = evaluation.series[evaluation.series["row"] == row]
    actual = s[s["kind"] == "actual"]
    if status == "n/a":
        ax.text(0.5, 0.5, "无数据 (n/a)", ha="center", va="center", transform=ax.transAxes, color=color, fontsize=12)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        return ax
    year = int(r["deadline"][:4])
    deadline_month = int(r["deadline"][5:7])
    if len(actual):
        x = [_month_no(m, year) for m in actual["month"]]
        ax.plot(x, actual["value"], marker="o", color="#1f5aa6", label="月度实际")
        trend = s[s["kind"] == "trend"]
        if len(trend):
            ax.plot([_month_no(m, year) for m in trend["month"]], trend["value"], linestyle="--", color="#5c5c5c", linewidth=1, label="趋势")
        ax.axhline(r["target"], color=STATUS_COLORS["missed"], linestyle=":", linewidth=1.5, label=f"目标 {format_value(r['target'], unit)}")
        if r["rule"] in ("baseline_plus", "baseline_times") and not math.isnan(r["baseline_value"]):
            ax.axhline(r["baseline_value"], color="#9e9e9e", linestyle="-.", linewidth=1, label=f"基线 {format_value(r['baseline_value'], unit)}")
        if not r["final"] and not math.isnan(r["projection"]):
            ax.plot([deadline_month], [r["projection"]], marker="D", markersize=8, color=color, linestyle="none",
                    label=f"预计 {format_value(r['projection'], unit)}")
        else:
            ax.plot([deadline_month], [r["actual"]], marker="D", markersize=8, color=color, linestyle="none",
                    label=f"全期 {format_value(r['actual'], unit)}")
        low, high = _interval(r)
        if np.isfinite(low) and np.isfinite(high) and high > low:  # a sample: the year-to-date value and its bounds
            at = max(x) + 0.35
            ax.errorbar([at], [r["actual"]], yerr=[[r["actual"] - low], [high - r["actual"]]], fmt="s", color="#5c5c5c",
                        capsize=4, markersize=5, label=f"年初至今 {format_value(r['actual'], unit)}（单侧{(1 - r['alpha']) * 100:g}%界限）")
        ax.set_xlim(min(0.5, min(x) - 0.5), max(deadline_month, max(x)) + 0.5)
        ticks = list(range(1, deadline_month + 1, 2 if deadline_month > 6 else 1))
        if min(x) < 1:  # the previous year-end snapshot (a stock's opening value)
            ticks = [0, *ticks]
        ax.set_xticks(ticks, ["上年末" if t == 0 else str(t) for t in ticks])
        ax.set_xlabel(f"{year} 年月份")
        ax.legend(fontsize=9, loc="best", frameon=False)
    else:
        _plot_point(ax, r, color)
        return ax
    ax.yaxis.set_major_formatter(_fmt(unit))
    ax.set_ylabel(_UNIT_AXIS.get(unit, ""))
    if unit == "share":
        share_axis(ax, "y")
    return ax


def _plot_point(ax, r: pd.Series, color: str) -> None:
    """A value without a monthly series: the actual with its one-sided bounds against the target
    (and the baseline), on an axis zoomed to the values; counts start at zero."""
    unit = r["unit"]
    low, high = _interval(r)
    marks = [v for v in (r["actual"], low, high, r["target"], r["baseline_value"]) if isinstance(v, float | int) and np.isfinite(v)]
    if np.isfinite(low) and np.isfinite(high) and high > low:
        ax.errorbar([r["actual"]], [0], xerr=[[r["actual"] - low], [high - r["actual"]]], fmt="none", ecolor="#5c5c5c", capsize=6, linewidth=1.5)
    ax.plot([r["actual"]], [0], marker="o", markersize=11, color=color, linestyle="none")
    ax.axvline(r["target"], color=STATUS_COLORS["missed"], linestyle=":", linewidth=1.5)
    ax.text(r["target"], 0.55, f"目标 {format_value(r['target'], unit)}", color=STATUS_COLORS["missed"], fontsize=9, ha="center", va="bottom")
    ax.text(r["actual"], -0.35, f"实际 {format_value(r['actual'], unit)}", fontsize=9, ha="center", va="top")
    if r["rule"] in ("baseline_plus", "baseline_times") and np.isfinite(r["baseline_value"]):
        ax.axvline(r["baseline_value"], color="#9e9e9e", linestyle="-.", linewidth=1)
        ax.text(r["baseline_value"], 0.55, f"基线 {format_value(r['baseline_value'], unit)}", color="#5c5c5c", fontsize=9, ha="center", va="bottom")
    lo, hi = min(marks), max(marks)
    pad = (hi - lo) * 0.25 or max(abs(hi) * 0.05, 1e-3)
    ax.set_xlim(0 if unit == "count" else lo - pad, hi + pad)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(_fmt(unit))
    if unit == "count":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_UNIT_AXIS.get(unit, ""))
    if unit == "share":
        share_axis(ax, "x")
    if np.isfinite(low) and high > low:
        side = "下" if r["direction"] == "higher" else "上"
        base = "，含基线误差" if r["rule"] in ("baseline_plus", "baseline_times") else ""
        ax.text(0.01, 0.02, f"误差线：单侧{(1 - r['alpha']) * 100:g}%界限（{side}限决定是否达标{base}）", transform=ax.transAxes, fontsize=9, color="#5c5c5c")


def plot_group(evaluation: Evaluation, group: str, axes=None):
    """Every row of one target group, one panel each (up to three a line). Returns the axes array."""
    rows = evaluation.table.index[evaluation.table["group"] == group].tolist()
    if not rows:
        raise ValueError(f"no targets in group {group!r}; groups: {', '.join(evaluation.targets.groups)}")
    if axes is None:
        cols = min(3, len(rows))
        lines = math.ceil(len(rows) / cols)
        fig, axes = plt.subplots(lines, cols, figsize=(4.6 * cols, 3.4 * lines), squeeze=False)
        fig.suptitle(evaluation.targets.groups[group], fontsize=12)
    flat = np.asarray(axes).ravel()
    for ax, row in zip(flat, rows):
        plot_target(evaluation, row, ax=ax)
    for ax in flat[len(rows):]:
        ax.set_visible(False)
    return np.asarray(axes)

"""Figures of the service-event notebooks: waiting times, call centre, staffing, teller ratings.

Each takes the table of an :mod:`analysis.events.views` finding, ``ax=None`` (or ``axes=None`` for
two-panel figures) and returns the axes.
"""

from __future__ import annotations

import contextlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import PercentFormatter

import analysis.plots  # noqa: F401  (CJK font)
from analysis.plots import PALETTE, STATUS_COLORS, share_axis

WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
BUSINESS = {"high_counter": "高柜", "low_counter": "低柜", "vip": "贵宾"}
TARGET_STYLE = {"color": "#c62828", "linestyle": "--", "linewidth": 1.2}


@contextlib.contextmanager
def _fixed_jitter(seed: int = 0):
    """seaborn's strip plot jitters with numpy's global generator: seed it for one figure and put
    the caller's state back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _names(table: pd.DataFrame) -> pd.Series:
    return table["outlet_name"] if "outlet_name" in table else table["outlet_id"].astype(str)


# ------------------------------------------------------------------------------------ waiting times
def outlet_wait_bars(table: pd.DataFrame, target: float, ax=None, *, top: int = 20):
    """Mean wait of the ``top`` outlets with the longest waits (bars, red above the target), with
    the share of customers over 10 minutes."""
    d = table.sort_values("mean_wait", ascending=False).head(top).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 0.36 * len(d) + 1.4))
    colors = [STATUS_COLORS["met"] if v <= target else STATUS_COLORS["missed"] for v in d["mean_wait"]]
    y = np.arange(len(d))
    ax.barh(y, d["mean_wait"], color=colors)
    ax.set_yticks(y, _names(d), fontsize=9 if len(d) > 12 else 10)
    for yi, (m, s) in enumerate(zip(d["mean_wait"], d["share_over_10min"])):
        ax.text(m, yi, f"  {m:.1f} 分钟，超10分钟 {s:.0%}", va="center", fontsize=9)
    ax.axvline(target, **TARGET_STYLE, label=f"目标：平均不超过 {target:g} 分钟")
    ax.set_xlim(0, max(target, d["mean_wait"].max()) * 1.5)
    ax.set_xlabel("平均等候（分钟）")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right", fontsize=9)
    shown = f"等候最长的 {len(d)} 个网点" if len(table) > len(d) else "各网点"
    ax.set_title(f"{shown}平均等候时间")
    return ax


def business_type_boxes(table: pd.DataFrame, target: float, ax=None):
    """The outlets' mean waits per business type (one box each; a dot per outlet) against the target."""
    kinds = [k for k in BUSINESS if k in set(table["business_type"])] + sorted(set(table["business_type"]) - set(BUSINESS))
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2))
    d = table.loc[table["business_type"].isin(kinds), ["business_type", "mean_wait"]].dropna()
    box = {"data": d, "x": "business_type", "y": "mean_wait", "order": kinds, "ax": ax}
    sns.boxplot(**box, width=0.5, showfliers=False, color="white", linecolor="#333333", medianprops={"color": "black"})
    with _fixed_jitter():  # the same figure for the same data
        sns.stripplot(**box, hue="business_type", palette=dict(zip(kinds, PALETTE * len(kinds))), hue_order=kinds,
                      size=3.5, alpha=0.55, jitter=0.18, legend=False, zorder=3)  # fmt: skip
    ax.axhline(target, **TARGET_STYLE, label=f"目标 {target:g} 分钟")
    ax.set_xticks(range(len(kinds)), [BUSINESS.get(k, k) for k in kinds])
    ax.set_xlabel("")
    ax.set_ylabel("网点平均等候（分钟）")
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=9)
    ax.set_title("各业务类型的网点平均等候（每点一个网点）")
    return ax


def wait_heatmap(table: pd.DataFrame, value: str = "mean_wait", ax=None):
    """Weekday x hour of day: mean wait (minutes), each cell labelled; empty cells had no tickets."""
    hours = range(int(table["hour"].min()), int(table["hour"].max()) + 1)
    g = table.pivot_table(index="weekday", columns="hour", values=value).reindex(index=range(1, 8), columns=hours)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(7, 0.62 * len(hours) + 2), 4.2))
    g.index, g.columns = WEEKDAYS, [f"{h}时" for h in hours]
    # empty cells (no tickets) are masked and stay white; seaborn picks a legible label colour per cell
    sns.heatmap(g.astype(float), cmap="OrRd", annot=True, fmt=".0f", annot_kws={"fontsize": 9}, ax=ax,
                cbar_kws={"label": "平均等候（分钟）", "shrink": 0.85})  # fmt: skip
    ax.tick_params(axis="x", labelsize=9, rotation=0)
    ax.tick_params(axis="y", rotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.grid(False)
    ax.set_title("按星期和时段的平均等候时间")
    return ax


def monthly_wait_lines(table: pd.DataFrame, target: float, ax=None):
    """Whole bank per month: mean wait (line) against the target, share over 10 minutes (bars)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(table))
    share_ax = ax.twinx()
    share_ax.bar(x, table["share_over_10min"] * 100, color="#edae49", alpha=0.45, label="等候超10分钟占比（右轴）")
    share_ax.yaxis.set_major_formatter(PercentFormatter())
    share_ax.set_ylim(0, max(50, table["share_over_10min"].max() * 130))
    share_ax.grid(False)
    ax.plot(x, table["mean_wait"], marker="o", color=PALETTE[0], label="平均等候（分钟）", zorder=3)
    ax.axhline(target, **TARGET_STYLE, label=f"目标 {target:g} 分钟")
    ax.set_zorder(share_ax.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xticks(x, table["month"], rotation=45, ha="right")
    ax.set_ylim(0, max(target, table["mean_wait"].max()) * 1.3)
    ax.set_ylabel("平均等候（分钟）")
    lines = ax.get_legend_handles_labels()
    bars = share_ax.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], fontsize=9, loc="upper left")
    ax.set_title("全行月度平均等候与超10分钟占比")
    return ax


# -------------------------------------------------------------------------------------- call centre
def _target_of(targets: pd.DataFrame, center: str, col: str) -> float:
    row = targets[targets["center"] == center]
    return float(row[col].iloc[0]) if len(row) else float("nan")


def daily_rates(daily: pd.DataFrame, targets: pd.DataFrame, axes=None):
    """Two panels: daily answer rate and 20-second service level per center (faint: each day; bold:
    the 7-day rate), each with its target (dashed)."""
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for ax, col, tcol, title in [(axes[0], "answer_rate", "answer_rate_target", "每日接通率"), (axes[1], "service_level", "service_level_target", "每日20秒服务水平")]:
        for i, (center, g) in enumerate(daily.groupby("center", sort=True)):
            name = g["center_name"].iloc[0] if "center_name" in g else center
            color = PALETTE[i % len(PALETTE)]
            dates = pd.to_datetime(g["date"])
            ax.plot(dates, g[col] * 100, color=color, linewidth=0.6, alpha=0.35)
            if f"{col}_7d" in g:
                ax.plot(dates, g[f"{col}_7d"] * 100, color=color, linewidth=1.8, label=f"{name}（7日）")
            t = _target_of(targets, center, tcol)
            if not np.isnan(t):
                ax.axhline(t * 100, color=color, linestyle="--", linewidth=1.2, label=f"{name}目标 {t:.0%}")
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_title(title)
        ax.legend(fontsize=9, ncols=2, loc="lower left")
        share_axis(ax, "y")
    return axes


def hourly_profile(hourly: pd.DataFrame, targets: pd.DataFrame, axes=None):
    """One panel per center: calls offered per hour of day (bars) and the two rates (lines)."""
    centers = sorted(hourly["center"].unique())
    if axes is None:
        _, axes = plt.subplots(len(centers), 1, figsize=(9, 3.3 * len(centers)), squeeze=False)
        axes = axes[:, 0]
    for ax, center in zip(axes, centers):
        g = hourly[hourly["center"] == center].sort_values("hour")
        name = g["center_name"].iloc[0] if "center_name" in g else center
        vol = ax.twinx()
        vol.bar(g["hour"], g["offered"], color="#9e9e9e", alpha=0.35, label="转人工来电（右轴）")
        vol.grid(False)
        vol.set_ylabel("来电（通）")
        ax.set_zorder(vol.get_zorder() + 1)
        ax.patch.set_visible(False)
        for col, tcol, color, label in [("answer_rate", "answer_rate_target", PALETTE[0], "接通率"), ("service_level", "service_level_target", PALETTE[1], "20秒服务水平")]:
            ax.plot(g["hour"], g[col] * 100, marker="o", markersize=3, color=color, label=label)
            t = _target_of(targets, center, tcol)
            if not np.isnan(t):
                ax.axhline(t * 100, color=color, linestyle="--", linewidth=1.1, label=f"{label}目标 {t:.0%}")
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_ylim(0, 105)
        ax.set_xticks(range(0, 24, 2), [f"{h}时" for h in range(0, 24, 2)])
        lines, bars = ax.get_legend_handles_labels(), vol.get_legend_handles_labels()
        ax.legend(lines[0] + bars[0], lines[1] + bars[1], fontsize=9, ncols=3, loc="lower left")
        ax.set_title(f"{name}：按小时的接通率与20秒服务水平")
    return axes


def staffing_chart(plan: pd.DataFrame, targets: dict, ax=None):
    """Agents needed per half hour, Erlang A against Erlang C, over the calls offered (bars); the
    title names the ``targets`` staffed for (answer_rate, service_level, threshold: the finding's
    ``extra["targets"]``, from the targets file)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.3))
    x = np.arange(len(plan))
    vol = ax.twinx()
    vol.bar(x, plan["offered_calls"] if "offered_calls" in plan else plan["calls"], color="#9e9e9e", alpha=0.3, label="转人工来电（右轴）")
    vol.grid(False)
    vol.set_ylabel("每半小时来电（通）")
    ax.set_zorder(vol.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.step(x, plan["agents_a"], where="mid", color=PALETTE[0], linewidth=2, label="所需坐席：Erlang A（考虑客户放弃）")
    ax.step(x, plan["agents_c"], where="mid", color=PALETTE[1], linewidth=1.3, linestyle="--", label="所需坐席：Erlang C（不考虑放弃）")
    ax.set_ylabel("坐席（人）")
    step = 4 if len(plan) > 24 else 2
    ax.set_xticks(x[::step], plan["slot"].iloc[::step], rotation=45, ha="right")
    ax.set_ylim(0, max(plan["agents_a"].max(), plan["agents_c"].max()) * 1.2 + 1)
    lines, bars = ax.get_legend_handles_labels(), vol.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], fontsize=9, loc="upper left")
    t = targets
    ax.set_title(f"每半小时所需坐席（接通率 ≥ {t['answer_rate'] * 100:g}%，{t['threshold']:g}秒服务水平 ≥ {t['service_level'] * 100:g}%）")
    return ax


# ------------------------------------------------------------------------------------ teller ratings
def outlet_rating_bars(table: pd.DataFrame, target: float, ax=None, *, top: int = 20):
    """Satisfaction of the ``top`` outlets with the lowest satisfaction (bars, red below the target),
    with their rating rate (markers)."""
    d = table.sort_values("satisfaction").head(top).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 0.36 * len(d) + 1.4))
    y = np.arange(len(d))
    colors = [STATUS_COLORS["met"] if v >= target else STATUS_COLORS["missed"] for v in d["satisfaction"].fillna(0)]
    ax.barh(y, d["satisfaction"] * 100, color=colors, label="满意度")
    ax.plot(d["rating_rate"] * 100, y, "D", color="#1f5aa6", markersize=4, label="评价率")
    ax.axvline(target * 100, **TARGET_STYLE, label=f"满意度目标 {target * 100:g}%")
    ax.set_yticks(y, _names(d), fontsize=9 if len(d) > 12 else 10)
    ax.xaxis.set_major_formatter(PercentFormatter())
    ax.set_xlim(0, 100)  # a share axis starts at 0: a bar that starts at 47% exaggerates the gaps
    ax.grid(axis="y", visible=False)
    ax.legend(fontsize=9, loc="lower right")
    shown = f"满意度最低的 {len(d)} 个网点" if len(table) > len(d) else "各网点"
    ax.set_title(f"{shown}：柜员服务满意度与评价率")
    return ax


def monthly_rating_lines(table: pd.DataFrame, target: float, ax=None):
    """Whole bank per month: satisfaction and rating rate, with the satisfaction target."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(table))
    ax.plot(x, table["satisfaction"] * 100, marker="o", color=PALETTE[0], label="满意度")
    ax.plot(x, table["rating_rate"] * 100, marker="s", color=PALETTE[3], label="评价率")
    ax.axhline(target * 100, **TARGET_STYLE, label=f"满意度目标 {target * 100:g}%")
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_xticks(x, table["month"], rotation=45, ha="right")
    ax.legend(fontsize=9)
    ax.set_title("全行月度满意度与评价率")
    share_axis(ax, "y")
    return ax

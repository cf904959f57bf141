"""Complaint figures: monthly trend, breakdowns, the per-outlet increment, rate ratios, time to resolve."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import analysis.plots  # noqa: F401  (registers the CJK font)
from analysis.complaints.classify import UNMAPPED
from analysis.complaints.stats import OVERDUE_DAYS
from analysis.plots import PALETTE, STATUS_COLORS

_GREY = "#9e9e9e"
_VERDICT_COLORS = {"decrease": STATUS_COLORS["met"], "increase": STATUS_COLORS["missed"], "no change": "#5c5c5c", "no data": _GREY}


def plot_monthly_trend(trend: pd.DataFrame, ax=None, *, current_label: str = "本期", previous_label: str = "上年同期", title: str | None = None):
    """Complaints per month: this period against the same months a year earlier (from ``stats.monthly_trend``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = trend["month"].to_numpy()
    ax.plot(x, trend["previous"], "o--", color=_GREY, label=previous_label)
    ax.plot(x, trend["current"], "o-", color=PALETTE[0], lw=2, label=current_label)
    ax.set_xticks(x, [f"{m}月" for m in x])
    ax.set_ylabel("投诉量(件)")
    ax.set_ylim(0, max(trend["current"].max(), trend["previous"].max()) * 1.15 + 1)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=9)
    return ax


def plot_breakdown(table: pd.DataFrame, column: str, ax=None, *, title: str | None = None, top: int = 12, labels: dict | None = None):
    """Horizontal bars: complaints per category now and a year earlier (from ``stats.breakdown``).

    The unmapped bucket (未映射) and missing labels are drawn in grey, never left out.
    """
    t = table.head(top).iloc[::-1]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, max(2.5, 0.42 * len(t) + 1)))
    names = [labels.get(v, v) if labels else v for v in t[column].astype(str)]
    y = np.arange(len(t))
    grey = t[column].astype(str).isin([UNMAPPED, "(未填写)", "(未指明网点)"]).to_numpy()
    ax.barh(y + 0.2, t["previous"], height=0.38, color="#d9d9d9", label="上年同期")
    ax.barh(y - 0.2, t["current"], height=0.38, color=np.where(grey, _GREY, PALETTE[0]), label="本期")
    for yi, v in zip(y, t["current"]):
        ax.text(v, yi - 0.2, f" {v:,}", va="center", fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlabel("投诉量(件)")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    from matplotlib.patches import Patch

    handles = [Patch(color=PALETTE[0], label="本期"), Patch(color="#d9d9d9", label="上年同期")]
    if grey.any():
        handles.append(Patch(color=_GREY, label="本期(未映射/未填写)"))
    ax.legend(handles=handles, fontsize=9, loc="lower right")
    return ax


def plot_increment(units: pd.DataFrame, ax=None, *, bank: float | None = None, title: str | None = None):
    """Per-outlet complaint increment (点均网点服务投诉增量) per unit, best (most negative) first."""
    t = units.sort_values("increment_per_outlet", ascending=False)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(t) + 1)))
    y = np.arange(len(t))
    v = t["increment_per_outlet"].to_numpy()
    ax.barh(y, v, color=np.where(v > 0, STATUS_COLORS["missed"], STATUS_COLORS["met"]))
    ax.set_yticks(y, t["unit_name"])
    ax.axvline(0, color="#333333", lw=0.8)
    if bank is not None:
        ax.axvline(bank, color=PALETTE[0], ls="--", lw=1.2, label=f"全行 {bank:+.2f}")
        ax.legend(fontsize=9, loc="lower right")
    ax.set_xlabel("点均投诉增量(件/网点，本期−上年同期)")
    ax.grid(axis="y", visible=False)
    if title:
        ax.set_title(title)
    return ax


def plot_rate_ratios(tests: pd.DataFrame, ax=None, *, title: str | None = None):
    """Forest plot: each unit's complaint-rate ratio (this period / a year earlier) with its exact one-sided 95%
    bounds (a 90% interval), log scale; colour = verdict of the one-sided exact tests (from ``stats.change_tests``)."""
    t = tests[np.isfinite(tests["rate_ratio"]) & (tests["rate_ratio"] > 0)].copy()
    t["_bank"] = t["unit"] == "全行"
    t = t.sort_values(["_bank", "rate_ratio"], ascending=[True, False])
    if ax is None:
        _, ax = plt.subplots(figsize=(8, max(3, 0.3 * len(t) + 1)))
    y = np.arange(len(t))
    lo = np.clip(t["ci_low"].to_numpy(), 0.02, None)
    hi = np.clip(t["ci_high"].to_numpy(), None, 50)
    colors = [_VERDICT_COLORS.get(v, _GREY) for v in t["verdict"]]
    ax.hlines(y, lo, hi, colors=colors, lw=1.6)
    ax.scatter(t["rate_ratio"], y, c=colors, s=[60 if b else 28 for b in t["_bank"]], marker="D", zorder=3)
    ax.axvline(1, color="#333333", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks([0.1, 0.2, 0.5, 1, 2, 5], ["0.1", "0.2", "0.5", "1", "2", "5"])
    ax.set_yticks(y, [f"【{n}】" if b else n for n, b in zip(t["unit_name"], t["_bank"])])
    ax.set_xlabel("投诉率之比(本期/上年同期，对数刻度；<1 为下降)")
    ax.grid(axis="y", visible=False)
    handles = [plt.Line2D([], [], color=c, marker="D", ls="-", label=lab) for lab, c in (("显著下降", _VERDICT_COLORS["decrease"]), ("变化不显著", _VERDICT_COLORS["no change"]), ("显著上升", _VERDICT_COLORS["increase"]))]
    ax.legend(handles=handles, fontsize=9, loc="lower right")
    if title:
        ax.set_title(title)
    return ax


def plot_resolve_days(days: pd.Series, ax=None, *, title: str | None = None, limit: int = OVERDUE_DAYS):
    """Histogram of days to resolve, with the overdue limit."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.8))
    top = max(limit + 5, float(np.ceil(days.max())) if len(days) else limit + 5)
    ax.hist(days, bins=np.arange(0, top + 1, 1), color=PALETTE[0], alpha=0.85)
    ax.axvline(limit, color=STATUS_COLORS["missed"], ls="--", lw=1.4, label=f"{limit}天办结时限")
    ax.set_xlabel("办结用时(天)")
    ax.set_ylabel("投诉量(件)")
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return ax

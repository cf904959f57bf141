"""Funnel plot: each unit's rate against its exposure, with the target and the 95% / 99.8% limits."""

from __future__ import annotations

import analysis.plots  # noqa: F401  (registers the CJK font)

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from analysis.funnel import Funnel, limit_columns

_LINESTYLES = ["--", "-", ":", "-."]
_COLORS = {"inside": "#5c5c5c", "above": "#c62828", "below": "#1f5aa6", "no exposure": "#9e9e9e"}


def plot_funnel(
    funnel: Funnel,
    ax=None,
    *,
    title: str | None = None,
    xlabel: str = "业务量",
    ylabel: str = "比率",
    percent: bool = False,
    log_x: bool = True,
    label_level: float | None = None,
    max_labels: int = 12,
):
    """Draw a ``Funnel`` (from ``analysis.funnel.funnel_table``) and return the axes.

    Points are coloured by their flag (the exact test, see ``analysis.funnel``: a point drawn beyond a
    curve by less than one event is not flagged). Units flagged beyond ``label_level`` (default: the
    widest level, e.g. 99.8%) are labelled with their ``label`` (Chinese name), the most extreme
    ``max_labels`` of them. With
    ``percent=True`` rates are shown as percentages (for shares such as satisfaction).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    scale = 100.0 if percent else 1.0
    lim = funnel.limits
    levels = sorted(funnel.levels)
    for style, level in zip(_LINESTYLES, levels):
        lo, hi = limit_columns(level)
        name = f"{level * 100:g}% 控制限"
        ax.plot(lim["exposure"], lim[hi] * scale, style, color="#8d6cab", lw=1.2, label=name)
        ax.plot(lim["exposure"], lim[lo] * scale, style, color="#8d6cab", lw=1.2)
    target_label = "目标值" if funnel.target_source == "given" else "总体水平"
    ax.axhline(funnel.target * scale, color="#2e7d32", lw=1.2, label=f"{target_label} {_fmt(funnel.target * scale)}{'%' if percent else ''}")

    u = funnel.units[funnel.units["flag"] != "no exposure"]
    kind = u["flag"].str.split(" ").str[0]
    for key, marker_label in (("inside", "控制限内"), ("above", "高于控制限"), ("below", "低于控制限")):
        pts = u[kind == key]
        if len(pts):
            ax.scatter(pts["denominator"], pts["rate"] * scale, s=22 if key == "inside" else 34, color=_COLORS[key], alpha=0.75 if key == "inside" else 0.95, label=marker_label, zorder=3)

    label_level = max(levels) if label_level is None else label_level
    wider = [x for x in levels if x >= label_level]
    marks = {f"above {x * 100:g}%" for x in wider} | {f"below {x * 100:g}%" for x in wider}
    flagged = u[u["flag"].isin(marks)]
    flagged = flagged.reindex(flagged["z"].abs().sort_values(ascending=False).index).head(max_labels)
    for row in flagged.to_dict("records"):
        side = row["flag"].split(" ")[0]
        ax.annotate(str(row["label"]), (row["denominator"], row["rate"] * scale), xytext=(4, 3), textcoords="offset points", fontsize=8, color=_COLORS[side])

    if log_x and len(u) and u["denominator"].min() > 0:
        ax.set_xscale("log")
        plain = FuncFormatter(lambda x, _: f"{x:,.0f}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if _leading_digit(x) in (2, 5) else ""))
    curves = lim[[c for level in levels for c in limit_columns(level)]].to_numpy() * scale
    values = np.concatenate([curves.ravel(), (u["rate"] * scale).to_numpy(), [funnel.target * scale]])
    values = values[np.isfinite(values)]
    ymin, ymax = values.min(), values.max()
    pad = (ymax - ymin) * 0.05 or abs(ymax) * 0.05 or 1.0
    ymin, ymax = max(ymin - pad, 0.0), ymax + pad
    if funnel.kind == "binomial":
        ymax = min(ymax, funnel.per * scale + pad)
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return ax


def _leading_digit(x: float) -> int:
    if x <= 0:
        return 0
    return int(round(x / 10 ** np.floor(np.log10(x)), 6))


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"

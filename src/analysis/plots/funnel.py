"""Funnel plot: each unit's rate against its exposure, with the target and the 95% / 99.8% limits."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

import analysis.plots  # noqa: F401  (registers the CJK font)
from analysis.funnel import Funnel, limit_columns

_LINESTYLES = ["--", "-", ":", "-."]
_COLORS = {"inside": "#5c5c5c", "above": "#c62828", "below": "#1f5aa6", "worse": "#c62828", "better": "#2e7d32", "no exposure": "#9e9e9e"}


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
    if funnel.absent:  # the export lacks a column the funnel needs: the sentence, not an empty chart
        ax.set_axis_off()
        ax.text(0.5, 0.5, funnel.absent, ha="center", va="center", wrap=True, transform=ax.transAxes)
        if title:
            ax.set_title(title)
        return ax
    scale = 100.0 if percent else 1.0
    lim = funnel.limits
    levels = sorted(funnel.levels)
    for style, level in zip(_LINESTYLES, levels):
        lo, hi = limit_columns(level)
        name = f"{level * 100:g}% 控制限"
        ax.plot(lim["exposure"], lim[hi] * scale, style, color="#8d6cab", lw=1.2, label=name)
        ax.plot(lim["exposure"], lim[lo] * scale, style, color="#8d6cab", lw=1.2)
    target_label = "目标值" if funnel.target_source == "given" else "总体水平"
    ax.axhline(funnel.target * scale, color="#333333", lw=1.0, label=f"{target_label} {_fmt(funnel.target * scale)}{'%' if percent else ''}")

    u = funnel.units[funnel.units["flag"] != "no exposure"]
    side = u["flag"].str.split(" ").str[0]
    if funnel.higher_is_better is None:
        groups = [("inside", side == "inside", "控制限内"), ("above", side == "above", "高于控制限"), ("below", side == "below", "低于控制限")]
    else:
        groups = [("inside", side == "inside", "控制限内"), ("worse", u["direction"] == "worse", "差于控制限"), ("better", u["direction"] == "better", "好于控制限")]
    colour_of = {}
    for key, mask, marker_label in groups:
        pts = u[mask]
        colour_of.update({i: _COLORS[key] for i in pts.index})
        if len(pts):
            ax.scatter(pts["denominator"], pts["rate"] * scale, s=22 if key == "inside" else 34, color=_COLORS[key], alpha=0.75 if key == "inside" else 0.95, label=marker_label, zorder=3)

    label_level = max(levels) if label_level is None else label_level
    wider = [x for x in levels if x >= label_level]
    marks = {f"above {x * 100:g}%" for x in wider} | {f"below {x * 100:g}%" for x in wider}
    flagged = u[u["flag"].isin(marks)]
    flagged = flagged.reindex(flagged["z"].abs().sort_values(ascending=False).index).head(max_labels)
    if log_x and len(u) and u["denominator"].min() > 0:
        ax.set_xscale("log")
    _set_ylim(ax, funnel, u, levels, scale)
    _label_points(ax, flagged, scale, colour_of)

    if ax.get_xscale() == "log":
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if _leading_digit(x) in (2, 5) else ""))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=9, loc="best")
    return ax


def _set_ylim(ax, funnel: Funnel, u, levels, scale: float) -> None:
    lim = funnel.limits
    curves = lim[[c for level in levels for c in limit_columns(level)]].to_numpy() * scale
    values = np.concatenate([curves.ravel(), (u["rate"] * scale).to_numpy(), [funnel.target * scale]])
    values = values[np.isfinite(values)]
    ymin, ymax = values.min(), values.max()
    pad = (ymax - ymin) * 0.05 or abs(ymax) * 0.05 or 1.0
    ymin, ymax = max(ymin - pad, 0.0), ymax + pad
    if funnel.kind == "binomial":
        ymax = min(ymax, funnel.per * scale + pad)
    ax.set_ylim(ymin, ymax)


_OFFSETS = [(5, 4, "left"), (5, -12, "left"), (-5, 4, "right"), (-5, -12, "right"), (5, 16, "left"), (5, -24, "left")]


def _label_points(ax, rows, scale: float, colour_of: dict) -> None:
    """Name the points, trying a few offsets so labels do not sit on each other."""
    if rows.empty:
        return
    ax.figure.canvas.draw()  # the transforms are final only once the limits are set
    fontsize = 9
    px = fontsize * ax.figure.dpi / 72
    placed: list[tuple[float, float, float, float]] = []
    for idx, row in rows.iterrows():
        x, y = ax.transData.transform((row["denominator"], row["rate"] * scale))
        text = str(row["label"])
        width = sum(px if ord(ch) > 0x2E80 else px * 0.55 for ch in text)
        choice = _OFFSETS[0]
        for dx, dy, ha in _OFFSETS:
            x0 = x + dx if ha == "left" else x + dx - width
            box = (x0, y + dy, x0 + width, y + dy + px)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                choice = (dx, dy, ha)
                placed.append(box)
                break
        else:
            dx, dy, ha = choice
            x0 = x + dx
            placed.append((x0, y + dy, x0 + width, y + dy + px))
        dx, dy, ha = choice
        ax.annotate(text, (row["denominator"], row["rate"] * scale), xytext=(dx * 72 / ax.figure.dpi, dy * 72 / ax.figure.dpi), textcoords="offset points", fontsize=fontsize, ha=ha, color=colour_of.get(idx, "#333333"))


def _leading_digit(x: float) -> int:
    if x <= 0:
        return 0
    return int(round(x / 10 ** np.floor(np.log10(x)), 6))


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"

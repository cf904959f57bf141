"""Figures of the campaign scoring: the league table, rank intervals, points lost against the leader,
movers. Each takes ``ax=None`` and returns the axes; Chinese labels use the bundled CJK font."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

import analysis.plots  # noqa: F401  (registers the CJK font first)
from analysis.plots import PALETTE


def _ax(ax, size):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _unit_labels(table: pd.DataFrame) -> list[str]:
    return [f"{int(r)}. {n}" for r, n in zip(table["rank"], table["unit_name"])]


def league_table_bars(result, ax=None, *, title: str | None = None):
    """Horizontal stacked bars: each unit's points by indicator (rank order, leader on top), the
    deduction as a red segment left of zero, the total as a label; ineligible units marked."""
    scheme = result.scheme
    t = result.table
    n = len(t)
    ax = _ax(ax, (9.5, max(3.0, 0.32 * n + 1.2)))
    y = np.arange(n)[::-1]
    left = np.zeros(n)
    colors = (PALETTE * 3)[: len(scheme.indicators)]
    for ind, c in zip(scheme.indicators, colors):
        v = t[ind.id].to_numpy(dtype="float64")
        ax.barh(y, v, left=left, color=c, edgecolor="white", linewidth=0.4, height=0.72, label=f"{ind.name}（{result.weights[ind.id]:g}）")
        left += v
    ded = np.zeros(n)
    for d in scheme.deductions:
        ded += t[d.id].to_numpy(dtype="float64")
    if ded.any():
        ax.barh(y, -ded, color="#c62828", height=0.72, hatch="///", edgecolor="white", label="扣分")
    for b in scheme.bonuses:
        v = t[b.id].to_numpy(dtype="float64")
        if v.any():
            ax.barh(y, v, left=left, color="#9e9e9e", height=0.72, label="加分")
            left += v
    for yi, total, stack, ok in zip(y, t["total"], left, t["award_eligible"]):
        ax.text(stack + 0.8, yi, f"{total:.1f}" + ("" if ok else "  取消评先"), va="center", fontsize=9, color="#222" if ok else "#c62828")
    ax.set_yticks(y, _unit_labels(t), fontsize=9)
    ax.set_xlabel("得分")
    ax.set_xlim(min(-ded.max() - 1, -1) if ded.any() else 0, max(left.max() * 1.12, 10))
    ax.axvline(0, color="#444", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(4, len(scheme.indicators) + 1), fontsize=9, frameon=False)
    ax.set_title(title or f"{scheme.title}：{result.period} 各{scheme.unit}得分构成", fontsize=11, pad=44)
    return ax


def rank_intervals(mc, ax=None, *, title: str | None = None):
    """Each unit's marginal rank confidence set (line; sampling error only), median bootstrap rank
    (hollow) and published rank (dot); groups of units that cannot be told apart (simultaneous
    procedure) are shaded alike."""
    iv = mc.intervals
    n = len(iv)
    ax = _ax(ax, (8.5, max(3.0, 0.3 * n + 1.2)))
    y = np.arange(n)[::-1]
    group_of = {u: k for k, g in enumerate(mc.groups) for u in g}
    for yi, row in zip(y, iv.itertuples(index=False)):
        g = group_of.get(row.unit_id)
        if g is not None:
            ax.axhspan(yi - 0.5, yi + 0.5, color=PALETTE[g % len(PALETTE)], alpha=0.10, linewidth=0)
        ax.plot([row.rank_lo, row.rank_hi], [yi, yi], color="#1f5aa6", linewidth=2.2, solid_capstyle="round")
    ax.scatter(iv["rank_median"], y, facecolors="white", edgecolors="#1f5aa6", s=28, zorder=3, label="自助抽样中位名次")
    ax.scatter(iv["rank"], y, color="#d1495b", s=16, zorder=4, label="公布排名")
    ax.set_yticks(y, _unit_labels(iv), fontsize=9)
    ax.set_xlim(0.5, n + 0.5)
    ax.set_xticks(range(1, n + 1, 1 if n <= 15 else 2))
    ax.set_xlabel(f"排名（线段：名次的边际{int(round(mc.settings.get('confidence', 0.9) * 100))}%置信集，仅抽样误差；同色底纹：同时检验下难以区分的{scheme_unit(mc)}）")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=9, frameon=False)
    ax.set_title(title or f"排名有多确定：{mc.settings.get('n_draws')}次模拟（神秘人检查重抽样+权重扰动）", fontsize=11, pad=24)
    return ax


def scheme_unit(mc) -> str:
    return mc.settings.get("unit", "单位")


def loss_heatmap(result, ax=None, *, title: str | None = None):
    """Points each unit loses against the leader, per indicator (red: behind, blue: ahead of the leader)."""
    from analysis.scoring.insights import loss_vs_leader

    loss = loss_vs_leader(result)
    names = [i.name for i in result.scheme.indicators]
    n = len(loss)
    ax = _ax(ax, (min(12, 1.25 * len(names) + 3), max(3.0, 0.3 * n + 1.5)))
    values = loss.to_numpy(dtype=float)
    vmax = max(float(np.nanmax(np.abs(values))), 0.5)
    t = result.table
    labels = np.where(np.abs(values) >= 0.05, np.char.mod("%.1f", values), "")  # no label on a zero gap
    sns.heatmap(values, cmap="RdBu_r", vmin=-vmax, vmax=vmax, center=0, annot=labels, fmt="", annot_kws={"fontsize": 6.5},
                xticklabels=names, yticklabels=_unit_labels(t), ax=ax, cbar_kws={"shrink": 0.6})  # fmt: skip
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right", fontsize=9)
    plt.setp(ax.get_yticklabels(), rotation=0, fontsize=9)
    ax.grid(False)
    ax.collections[0].colorbar.set_label("比第一名少得的分数（负数：超过第一名）", fontsize=9)
    leader = t["unit_name"].iloc[0]
    ax.set_title(title or f"各{result.scheme.unit}与第一名（{leader}）的分项差距", fontsize=11)
    return ax


def movers_chart(movers: pd.DataFrame, ax=None, *, title: str | None = None):
    """Rank change on the previous period per unit (bars: up green, down red), labelled prev -> now."""
    m = movers.sort_values(["rank_change", "rank"], ascending=[True, False]).reset_index(drop=True)
    n = len(m)
    ax = _ax(ax, (8.0, max(3.0, 0.3 * n + 1.2)))
    y = np.arange(n)
    ch = m["rank_change"].to_numpy()
    colors = np.where(ch > 0, "#2e7d32", np.where(ch < 0, "#c62828", "#9e9e9e"))
    ax.barh(y, ch, color=colors, height=0.7)
    for yi, row in zip(y, m.itertuples(index=False)):
        x = row.rank_change
        ax.text(x + (0.2 if x >= 0 else -0.2), yi, f"{int(row.rank_prev)}→{int(row.rank)}", va="center", ha="left" if x >= 0 else "right", fontsize=9)
    ax.set_yticks(y, list(m["unit_name"]), fontsize=9)
    lim = max(3, int(np.abs(ch).max()) + 2) if n else 3
    ax.set_xlim(-lim, lim)
    ax.axvline(0, color="#444", linewidth=0.8)
    ax.set_xlabel("名次变化（正数：上升）")
    ax.grid(axis="y", visible=False)
    ax.legend(handles=[Patch(color="#2e7d32", label="上升"), Patch(color="#c62828", label="下降"), Patch(color="#9e9e9e", label="不变")], fontsize=9, loc="lower right")
    ax.set_title(title or "与上期相比的名次变化", fontsize=11)
    return ax

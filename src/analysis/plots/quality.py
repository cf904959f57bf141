"""Figures of the data-quality report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

import analysis.plots  # noqa: F401  (CJK font)


def accounting_bars(acc: pd.DataFrame, ax=None):
    """Share of each source's rows that were rejected, labelled with the counts."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.38 * len(acc) + 1))
    d = acc.sort_values("rejected_share")
    labels = d["title"] + "  " + d["source"]
    share = d["rejected_share"].fillna(0) * 100
    ax.barh(labels, share, color="#d1495b")
    for y, (s, r, n) in enumerate(zip(share, d["rejected"], d["rows_in"])):
        ax.text(s, y, f"  {r:,} / {n:,}", va="center", fontsize=9)
    ax.set_xlabel("剔除比例（%） rejected share of rows in")
    ax.set_xlim(0, max(1.0, share.max() * 1.35))
    ax.grid(axis="y", visible=False)
    ax.set_title("各数据源剔除行占比 Rejected rows by source")
    return ax


def coverage_heatmap(cov: pd.DataFrame, source: str, names: pd.Series | None = None, ax=None):
    """Records per sub-branch × month for one source; empty cells stand out in white."""
    g = cov[cov["source"] == source].pivot_table(index="sub_branch_id", columns="month", values="records", aggfunc="sum")
    if names is not None:
        g.index = [f"{names.get(i, i)}" for i in g.index]
    if ax is None:
        _, ax = plt.subplots(figsize=(min(11, 2 + 0.3 * g.shape[1]), 0.24 * g.shape[0] + 1.5))
    step = max(1, g.shape[1] // 12)  # about 12 month labels; empty cells are masked and stay white
    sns.heatmap(g.astype(float), cmap="Blues", xticklabels=step, yticklabels=True, ax=ax, cbar_kws={"label": "记录数 records", "shrink": 0.8})
    ax.tick_params(axis="both", labelsize=9)
    ax.tick_params(axis="y", rotation=0)
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.grid(False)
    ax.set_title(f"覆盖情况 Coverage: {source}")
    return ax

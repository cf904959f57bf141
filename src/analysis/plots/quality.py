"""Figures of the data-quality report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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
    data = np.ma.masked_invalid(g.to_numpy(dtype=float))
    cmap = plt.get_cmap("Blues").copy()
    cmap.set_bad("white")
    im = ax.imshow(data, aspect="auto", cmap=cmap)
    ax.set_yticks(range(len(g.index)), g.index, fontsize=9)
    step = max(1, g.shape[1] // 12)
    ax.set_xticks(range(0, g.shape[1], step), list(g.columns[::step]), rotation=45, ha="right", fontsize=9)
    ax.grid(False)
    ax.figure.colorbar(im, ax=ax, label="记录数 records", shrink=0.8)
    ax.set_title(f"覆盖情况 Coverage: {source}")
    return ax

"""What a campaign's pages show (``notebooks/campaign/``), in the campaign's own words.

Each function takes the loaded campaign (:mod:`analysis.campaigns`) and a notebook context and returns
something to display: the tables come from the same functions as the command line
(:func:`analysis.workorders.summarise` with the settings of ``python -m analysis workorders``,
:func:`analysis.targets.evaluate` as ``python -m analysis targets``), so a page's figures equal the
commands' on the same data. The hierarchy labels of ``campaign.yaml`` (局 → 站/窗口, 医院 → 科室) name
the units and the whole organisation; nothing here says 支行 or 网点. Values from data are escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.campaigns import Campaign
from analysis.periods import Period

DRAWS = 2000  # as `python -m analysis workorders` (its --draws default)


def _e(text) -> str:
    return html.escape(str(text), quote=False)


def intro(c: Campaign, period: Period, what: str) -> str:
    """The first paragraph of a page (Markdown): organisation, its levels, the period."""
    h = c.labels
    return (f"**{_e(c.spec.organisation)}** · {_e(c.spec.title)} · 期间 {period.label}。"
            f"层级：{_e(h.organisation)}（合计行“{_e(h.total)}”）→ {_e(h.unit)}。{what}")


# ------------------------------------------------------------------------------------ work orders
@dataclass
class WorkOrders:
    campaign: Campaign
    period: Period
    baseline: Period | None
    factor: float | None
    table: pd.DataFrame  # as the `workorders` command writes it (halved as true / false)
    warnings: list[str]


def baseline_factor(c: Campaign) -> float | None:
    """The ratio "halved" is judged on: the targets file's approval_time target (as the command reads it)."""
    from analysis.targets import load_targets

    found = [t.factor for t in load_targets(c.targets_path).targets if t.metric == "approval_time" and t.rule == "baseline_times"]
    return found[0] if found else None


def workorders(c: Campaign, ctx) -> WorkOrders:
    """The per-unit work-order table of ``python -m analysis workorders`` for the campaign's period
    (and baseline, when the campaign names one and its targets give the factor)."""
    from analysis.workorders import summarise

    baseline = Period.parse(c.spec.baseline) if c.spec.baseline else None
    factor = baseline_factor(c) if baseline is not None else None
    if factor is None:
        baseline = None
    s = summarise(ctx.table("workorders"), ctx.period, baseline, factor=factor, draws=DRAWS, seed=config.DEFAULT_SEED,
                  total_label=c.labels.total)
    t = s.table.copy()
    if "halved" in t:
        t["halved"] = t["halved"].map({True: "true", False: "false"})
    return WorkOrders(c, ctx.period, baseline, factor, t, list(s.warnings))


def workorder_columns(c: Campaign) -> dict[str, str]:
    return {
        "unit_id": c.labels.unit, "orders": "受理件数", "closed": "办结", "closed_on_time": "按时办结", "on_time_share": "按时办结率",
        "overdue_open": "逾期未办结", "median_days": "办理天数中位数", "p90_days": "90%分位天数", "escalated": "越级",
        "baseline_orders": "基期件数", "baseline_median_days": "基期中位数", "median_ratio": "中位数之比", "ratio_low": "95%下限",
        "ratio_high": "95%上限", "halved": "减半（超出误差）", "last_escalated_on": "最近越级日", "escalation_free_days": "当前无越级天数",
        "longest_escalation_free_days": "最长无越级天数",
    }


_WO_FORMATS = {"on_time_share": "{:.1%}", "median_days": "{:.2f}", "p90_days": "{:.2f}", "baseline_median_days": "{:.2f}",
               "median_ratio": "{:.2f}", "ratio_low": "{:.2f}", "ratio_high": "{:.2f}", "halved": lambda v: {"true": "是", "false": "否"}.get(v, "—")}


PARTS = {
    "period": ["orders", "closed", "closed_on_time", "on_time_share", "overdue_open", "median_days", "p90_days"],
    "baseline": ["median_days", "baseline_orders", "baseline_median_days", "median_ratio", "ratio_low", "ratio_high", "halved"],
    "escalation": ["escalated", "last_escalated_on", "escalation_free_days", "longest_escalation_free_days"],
}
_CAPTIONS = {"period": "{unit}的工单（{period} 受理）", "baseline": "办理时间与基期 {baseline} 相比（中位数之比及其 95% 区间；上限不超过 {factor:g} 才算超出误差减半）",
             "escalation": "越级与连续无越级天数（截至 {period} 末）"}


def _part_columns(w: WorkOrders, part: str) -> list[str]:
    cols = [c for c in PARTS[part] if c in w.table and w.table[c].notna().any()]
    return cols if (part == "period" or any(c not in ("median_days",) for c in cols)) else []


def workorder_table(w: WorkOrders, part: str = "period"):
    """One part of the table (``period``, ``baseline``, ``escalation``), units first and the whole
    organisation last, titled with the campaign's labels; None when the data has no such part."""
    from analysis.report.display import show_table

    cols = _part_columns(w, part)
    if not cols or (part == "escalation" and "escalated" not in cols):
        return None
    h = w.campaign.labels
    caption = _CAPTIONS[part].format(unit=h.unit, period=w.period.label, baseline=w.baseline.label if w.baseline else "", factor=w.factor or 0)
    return show_table(w.table[["unit_id", *cols]], columns=workorder_columns(w.campaign), formats=_WO_FORMATS,
                      caption=f"{caption}；最后一行为{h.total}")


def _num(x, fmt: str) -> str:
    return "—" if x is None or pd.isna(x) else format(x, fmt)


def workorder_summary(w: WorkOrders) -> str:
    """One paragraph (Markdown): the whole organisation's figures, halved or not, the warnings."""
    total = w.table[w.table["scope"] == "all"].iloc[0]
    h = w.campaign.labels
    text = (f"{_e(h.total)} {w.period.label} 受理 **{int(total['orders']):,}** 件，办结 {int(total['closed']):,} 件；"
            f"到期件按时办结率 **{_num(total['on_time_share'], '.1%')}**，逾期未办结 **{int(total['overdue_open']):,}** 件；"
            f"办理天数中位数 {_num(total['median_days'], '.2f')} 天。")
    if w.baseline is not None:
        verdict = "是，超出抽样误差" if total["halved"] == "true" else "否（区间上限高于目标比值）"
        text += (f"\n\n与基期 {w.baseline.label} 相比：中位数 {_num(total['baseline_median_days'], '.2f')} → {_num(total['median_days'], '.2f')} 天，"
                 f"之比 **{_num(total['median_ratio'], '.2f')}**（95% 区间 {_num(total['ratio_low'], '.2f')}–{_num(total['ratio_high'], '.2f')}）。"
                 f"是否减半（目标比值 {w.factor:g}）：**{verdict}**。")
        halved = w.table[(w.table["scope"] != "all") & (w.table["halved"] == "true")]["unit_id"].tolist()
        if halved:
            text += f" 超出误差减半的{_e(h.unit)}：{'、'.join(_e(u) for u in halved)}。"
    if "escalation_free_days" in w.table and w.table["escalation_free_days"].notna().any():
        text += f"\n\n{_e(h.total)}当前连续无越级 **{int(total['escalation_free_days'])}** 天（最长 {int(total['longest_escalation_free_days'])} 天）。"
    for warning in w.warnings:
        text += f"\n\n*注意：{_e(warning)}*"
    return text


def export_workorders(w: WorkOrders, path: Path | str) -> Path:
    """The table as the `workorders` command writes it (UTF-8 with BOM), for Excel and for checking."""
    from analysis.report.excel import write_csv

    return write_csv(w.table, path, encoding="utf-8-sig")


# ------------------------------------------------------------------------------------ the targets
def targets(c: Campaign, ctx):
    """The campaign's targets, judged as ``python -m analysis targets`` judges them."""
    from analysis import targets as T

    return T.evaluate(c.targets_path, ctx.period, ctx.processed_dir)


def export_targets(result, path: Path | str) -> Path:
    from analysis.report.excel import write_csv

    return write_csv(result.table, path)


# ------------------------------------------------------------------------------------- the visits
def visits_by_month(c: Campaign, ctx) -> pd.DataFrame:
    """Outpatient visits of the period per unit and month, with a total row and column."""
    t = ctx.table("visits")
    d = pd.to_datetime(t["visit_date"])
    t = t[(d >= ctx.period.start) & (d < ctx.period.end)].assign(month=d.dt.strftime("%Y-%m"))
    wide = t.pivot_table(index="unit_id", columns="month", values="visit_id", aggfunc="count", fill_value=0)
    wide["合计"] = wide.sum(axis=1)
    wide.loc[c.labels.total] = wide.sum(axis=0)
    return wide.reset_index().rename(columns={"unit_id": c.labels.unit}).rename_axis(columns=None)


def visits_table(c: Campaign, table: pd.DataFrame):
    from analysis.report.display import show_table

    return show_table(table, caption=f"门诊量（人次）：各{c.labels.unit}按月；最后一行为{c.labels.total}")


def visits_summary(c: Campaign, table: pd.DataFrame) -> str:
    total = table[table[c.labels.unit] == c.labels.total].iloc[0]
    units = table[table[c.labels.unit] != c.labels.total].sort_values("合计", ascending=False)
    top = units.iloc[0] if len(units) else None
    text = f"{_e(c.labels.total)}门诊量 **{int(total['合计']):,}** 人次。"
    if top is not None:
        text += f" 最多的{_e(c.labels.unit)}是{_e(top[c.labels.unit])}（{int(top['合计']):,} 人次，{top['合计'] / total['合计']:.1%}）。"
    return text


# ------------------------------------------------------------------------------------ a unit page
@dataclass
class UnitView:
    campaign: Campaign
    unit_id: str
    period: Period
    workorders: WorkOrders | None
    visits: pd.DataFrame | None


def unit(c: Campaign, ctx, unit_id: str, tables: list[str]) -> UnitView:
    """One unit's figures next to the whole organisation's."""
    wo = workorders(c, ctx) if "workorders" in tables else None
    vis = visits_by_month(c, ctx) if "visits" in tables else None
    return UnitView(c, str(unit_id), ctx.period, wo, vis)


def unit_heading(v: UnitView) -> str:
    h = v.campaign.labels
    return (f"## {_e(v.unit_id)}\n\n{_e(v.campaign.spec.organisation)}（{_e(h.organisation)}）的{_e(h.unit)} · {v.period.label}。"
            f"下面每个数字与{_e(h.total)}并列，口径与总览页、工单页相同。")


def _cell(value, column: str) -> str:
    from analysis.report.display import count, number, share

    if value is None or pd.isna(value):
        return "—"
    if column == "halved":
        return {"true": "是", "false": "否"}.get(str(value), "—")
    if column == "on_time_share":
        return share(value)
    if column in ("median_days", "p90_days", "baseline_median_days", "median_ratio", "ratio_low", "ratio_high"):
        return number(value, 2)
    if column == "last_escalated_on":
        return str(value)
    return count(value)


def unit_workorders(v: UnitView):
    """The unit's work-order figures beside the whole organisation's: one row per figure."""
    from analysis.report.display import show_table

    if v.workorders is None:
        return None
    t = v.workorders.table
    me, total = t[t["unit_id"] == v.unit_id], t[t["scope"] == "all"].iloc[0]
    titles = workorder_columns(v.campaign)
    figures = [c for part in PARTS for c in _part_columns(v.workorders, part) if not (part == "baseline" and c == "median_days")]
    rows = pd.DataFrame({
        "figure": [titles[c] for c in figures],
        v.unit_id: [_cell(me.iloc[0][c], c) if len(me) else "—" for c in figures],
        v.campaign.labels.total: [_cell(total[c], c) for c in figures],
    })
    return show_table(rows, columns={"figure": "指标"}, caption=f"{v.unit_id} 与{v.campaign.labels.total}的工单（{v.period.label} 受理）")


def unit_workorders_text(v: UnitView) -> str:
    if v.workorders is None:
        return ""
    t = v.workorders.table
    me = t[t["unit_id"] == v.unit_id]
    if me.empty:
        return f"{_e(v.unit_id)}在 {v.period.label} 没有受理工单。"
    r, total = me.iloc[0], t[t["scope"] == "all"].iloc[0]
    text = (f"{_e(v.unit_id)}受理 **{int(r['orders']):,}** 件（{_e(v.campaign.labels.total)} {int(total['orders']):,} 件），"
            f"到期件按时办结率 **{_num(r['on_time_share'], '.1%')}**（{_e(v.campaign.labels.total)} {_num(total['on_time_share'], '.1%')}），"
            f"逾期未办结 {int(r['overdue_open']):,} 件，办理天数中位数 {_num(r['median_days'], '.2f')} 天。")
    if v.workorders.baseline is not None and r.get("halved") in ("true", "false"):
        text += (f" 与 {v.workorders.baseline.label} 相比中位数之比 {_num(r['median_ratio'], '.2f')}"
                 f"（95% 区间 {_num(r['ratio_low'], '.2f')}–{_num(r['ratio_high'], '.2f')}）：{'超出误差减半' if r['halved'] == 'true' else '未能确认减半'}。")
    return text


def unit_visits(v: UnitView):
    """The unit's outpatient visits by month beside the whole organisation's: one row per month."""
    from analysis.report.display import show_table

    if v.visits is None:
        return None
    col, total = v.campaign.labels.unit, v.campaign.labels.total
    wide = v.visits.set_index(col)
    me = wide.loc[v.unit_id] if v.unit_id in wide.index else pd.Series(0, index=wide.columns)
    rows = pd.DataFrame({"month": wide.columns, v.unit_id: me.to_numpy(dtype="int64"), total: wide.loc[total].to_numpy(dtype="int64")})
    return show_table(rows, columns={"month": "月份"}, caption=f"{v.unit_id} 与{total}的门诊量（人次）")

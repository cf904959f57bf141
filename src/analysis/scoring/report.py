"""What the competition notebook shows, one call per section (the notebook stays thin).

    comp = run_competition(ctx, "competition-2011", n_draws=1000)
    league_display(comp)            # the league table, Chinese titles, rounded for display
    ...

Everything is computed at full precision; the ``*_display`` functions only round and rename.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.periods import Period
from analysis.report.display import anchor_id, row_anchors, show_table, signed
from analysis.scoring import insights
from analysis.scoring.build import BuildResult, build_inputs, tables_needed
from analysis.scoring.engine import ScoreResult, score
from analysis.scoring.export import column_titles, write_league_table
from analysis.scoring.inputs import ScoringInputError
from analysis.scoring.model import Scheme, load_scheme
from analysis.scoring.uncertainty import RankSets, rank_uncertainty, weight_set_ranks


@dataclass
class Competition:
    scheme: Scheme
    period: Period
    build: BuildResult
    result: ScoreResult
    previous: ScoreResult | None
    mc: RankSets | None  # confidence sets for ranks (sampling error only)
    notes: list[str] = field(default_factory=list)

    @property
    def tables_read(self) -> list[str]:
        return self.build.tables_read


def run_competition(ctx, scheme: str | Scheme = "competition-2011", *, n_draws: int = 1000, seed: int = 2016, previous: bool = True) -> Competition:
    """Build the scheme's input from the clean tables of ``ctx.period``, score it, score the previous
    period (for movers) when its data allow, and run the Monte Carlo (``n_draws`` = 0 skips it)."""
    sch = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    period = ctx.period
    b = build_inputs(ctx, period, sch)
    notes = list(b.notes)
    result = score(b.for_scheme(sch), sch, period=str(period), source=f"{sch.id} input built from the clean tables of {period}")
    prev = None
    if previous:
        try:
            bp = build_inputs(ctx, period.previous(), sch)
            prev = score(bp.for_scheme(sch), sch, period=str(period.previous()), source=f"{sch.id} input of {period.previous()}")
        except (ScoringInputError, ValueError, KeyError) as exc:
            first = str(exc).splitlines()[0]
            notes.append(f"上期（{period.previous()}）无法计分，不显示名次变化 / the previous period cannot be scored: {first}")
    mc = None
    if n_draws:
        mc = rank_uncertainty(result, b.checks, n_draws=n_draws, seed=seed, survey_se=b.survey_se)
    return Competition(sch, period, b, result, prev, mc, notes)


def run_scheme(ctx, scheme: str | Scheme) -> tuple[ScoreResult, BuildResult]:
    """Build and score one period with a scheme (no Monte Carlo, no previous period)."""
    sch = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    b = build_inputs(ctx, ctx.period, sch)
    return score(b.for_scheme(sch), sch, period=str(ctx.period)), b


# ------------------------------------------------------------------------------------------ display
NOWRAP = "white-space: nowrap"
WARN = "color: #c62828; font-weight: bold"


def _fmt(cols, digits=1):
    return {c: f"{{:.{digits}f}}" for c in cols}


def summary_sentences(comp: Competition) -> list[str]:
    """The headline, the scheme's notice (assumed rules), warnings and build notes, as sentences."""
    out = [insights.headline(comp.result)]
    if comp.scheme.assumed:
        out.append("注意：" + comp.scheme.notice)
    for w in comp.result.warnings:
        name = next((i.name for i in comp.scheme.indicators if i.id == w.indicator), w.indicator)
        if w.code == "non_positive_reference":
            comp_zh = {"level": "水平", "increment": "增量", "share": "占比"}.get(w.component, w.component)
            out.append(f"提示：{w.period}年全行{name}的{comp_zh}基数为零或负数，该分项全行均记0分（{w})")
        else:
            out.append(f"提示：{name}：{w}")
    out += [f"数据说明：{n}" for n in comp.notes]
    return out


def result_summary(result: ScoreResult, build: BuildResult | None = None) -> str:
    """The summary sentences (headline, assumed rules, warnings, data notes) of one scored period, as Markdown."""
    fake = Competition(result.scheme, Period.parse(result.period), build, result, None, None, list(build.notes) if build else [])
    return "\n\n".join(summary_sentences(fake))


def league_table(result: ScoreResult) -> pd.DataFrame:
    """The league table with Chinese column titles (full precision)."""
    titles = column_titles(result.scheme)
    t = result.table.copy()
    cols = ["rank", "unit_name", *result.scheme.indicator_ids, *result.scheme.adjustment_ids, "total", "award_eligible"]
    t = t[cols]
    t["award_eligible"] = t["award_eligible"].map({True: "是", False: "否（取消评先）"})
    return t.rename(columns=titles)


def league_display(result: ScoreResult):
    t = league_table(result)
    name = f"{result.scheme.unit}名称"
    num = [c for c in t.columns if c not in ("排名", name, "评先资格")]
    fmt = _fmt(num, 2) | {c: "{:g}" for c in ("扣分", "加分") if c in t.columns}
    styled = show_table(t, formats=fmt, gradient={"总分": "RdYlGn"}, cell_styles={
        name: lambda v: NOWRAP,
        "评先资格": lambda v: NOWRAP + ("; " + WARN if str(v).startswith("否") else "")})
    # each unit's row has an anchor (03_competition.html#unit-331801), linked from its unit page
    return row_anchors(styled, [anchor_id("unit", u) for u in result.table["unit_id"]])


def losses_display(result: ScoreResult):
    """Per unit: the gap to the leader and the indicator where it loses most."""
    b = insights.biggest_losses(result)
    t = b[["rank", "unit_name", "gap_to_leader", "name", "points_lost"]].rename(columns={
        "rank": "排名", "unit_name": f"{result.scheme.unit}名称", "gap_to_leader": "比第一名少（分）", "name": "差距最大的指标", "points_lost": "该指标少得（分）"})
    t["差距最大的指标"] = t["差距最大的指标"].fillna("—（第一名）")
    return show_table(t, formats=_fmt(["比第一名少（分）", "该指标少得（分）"]), cell_styles=dict.fromkeys(t.columns, lambda v: NOWRAP))


def movers_display(comp: Competition):
    if comp.previous is None:
        return pd.DataFrame({"说明": ["上期无法计分，见数据说明"]})
    m = insights.movers(comp.result, comp.previous)
    t = m[["unit_name", "rank_prev", "rank", "rank_change", "total_prev", "total", "total_change"]].rename(columns={
        "unit_name": f"{comp.scheme.unit}名称", "rank_prev": f"上期排名（{comp.previous.period}）", "rank": f"本期排名（{comp.result.period}）",
        "rank_change": "名次变化（+上升）", "total_prev": "上期总分", "total": "本期总分", "total_change": "总分变化"})
    return show_table(t, formats=_fmt(["上期总分", "本期总分"]) | {"名次变化（+上升）": "{:+d}", "总分变化": lambda v: signed(v, 1)},
                      cell_styles={f"{comp.scheme.unit}名称": lambda v: NOWRAP})


def intervals_display(comp: Competition):
    iv = comp.mc.intervals
    cov = f"{comp.mc.settings['coverage']:.0%}"
    top = comp.mc.settings["top"]
    t = iv[["rank", "unit_name", "total", "total_se", "rank_lo", "rank_hi", "rank_lo_simul", "rank_hi_simul", "could_be_top"]].copy()
    tied = comp.mc.tied_with()
    names = dict(zip(iv["unit_id"], iv["unit_name"]))
    t["难以区分的单位（同时检验）"] = [("、".join(names[u] for u in tied[uid]) or "—") for uid in iv["unit_id"]]
    t["could_be_top"] = t["could_be_top"].map({True: "是", False: "否"})
    t = t.rename(columns={"rank": "公布排名", "unit_name": f"{comp.scheme.unit}名称", "total": "总分", "total_se": "总分标准误（抽样）",
                          "rank_lo": f"边际{cov}置信集下限", "rank_hi": f"边际{cov}置信集上限",
                          "rank_lo_simul": f"同时{cov}置信集下限", "rank_hi_simul": f"同时{cov}置信集上限",
                          "could_be_top": f"可能位列前{top}（{cov}）"})
    return show_table(t, formats={"总分": "{:.1f}", "总分标准误（抽样）": "{:.2f}"}, cell_styles={f"{comp.scheme.unit}名称": lambda v: NOWRAP})


def groups_sentences(comp: Competition) -> list[str]:
    """Plain sentences naming the groups of units the data cannot tell apart."""
    mc = comp.mc
    names = dict(zip(mc.intervals["unit_id"], mc.intervals["unit_name"]))
    ranks = dict(zip(mc.intervals["unit_id"], mc.intervals["rank"]))
    s = mc.settings
    cov = f"{s['coverage']:.0%}"
    out = [f"名次的不确定性只来自抽样：自助法重抽{s['n_draws']}次（各网点的神秘人检查在本单位、本轮内有放回重抽样，满意度得分按其标准误扰动），"
           f"每次用方案权重重新计分，得到各{comp.scheme.unit}总分的抽样分布；再按 Mogstad、Romano、Shaikh 与 Wilhelm（2024）的方法"
           f"（与 R 包 csranks 相同：两两比较总分之差，用最大t统计量的自助临界值，逐步剔除）给出名次的置信集。"
           f"**边际{cov}置信集**：每一家的置信集各自以约{cov}的概率包含它的真实名次；"
           f"**同时{cov}置信集**：所有{comp.scheme.unit}的置信集以约{cov}的概率同时包含全部真实名次。"
           f"两家“难以区分”指同时检验不能判定谁在前（所有“甲在乙之前”的判断合在一起，出错的概率不超过约{1 - s['coverage']:.0%}）。"
           "权重是方案的选择而不是抽样误差，不计入置信集；换用备选权重时的名次另见“权重敏感性”表。"]
    if not mc.groups:
        out.append("在这一标准下，相邻名次之间都能区分开。")
    for g in mc.groups:
        lo, hi = ranks[g[0]], ranks[g[-1]]
        out.append(f"第{lo}至{hi}名（{'、'.join(names[u] for u in g)}）：其中任意两家都难以区分，这几个名次的先后可能只是抽样误差造成的。")
    return out


def lift_display(result: ScoreResult):
    lf = insights.lift(result)
    t = lf[["rank", "unit_name", "name", "gain", "total_after", "rank_after"]].rename(columns={
        "rank": "排名", "unit_name": f"{result.scheme.unit}名称", "name": "最能提分的指标", "gain": "可多得（分）", "total_after": "提分后总分", "rank_after": "提分后排名"})
    t["最能提分的指标"] = t["最能提分的指标"].fillna("—（各项已是全行最好）")
    return show_table(t, formats=_fmt(["可多得（分）", "提分后总分"]), cell_styles={f"{result.scheme.unit}名称": lambda v: NOWRAP})


def points_display(result: ScoreResult):
    """Each unit's points by indicator as a share of the weight (how much of each indicator it earned)."""
    pts = result.table.set_index("unit_name")[result.scheme.indicator_ids]
    share = pts / pd.Series(result.weights)
    share.columns = [i.name for i in result.scheme.indicators]
    share.index.name = f"{result.scheme.unit}名称"
    share = share.reset_index()
    cols = [i.name for i in result.scheme.indicators]
    # one fixed scale for every indicator: the same colour means the same share of the weight
    return show_table(share, formats=dict.fromkeys(cols, "{:.0%}"), gradient=dict.fromkeys(cols, ("RdYlGn", 0, 1.2)),
                      cell_styles={share.columns[0]: lambda v: NOWRAP})


def sentences(comp: Competition, lang: str = "zh") -> pd.DataFrame:
    mv = insights.movers(comp.result, comp.previous) if comp.previous is not None else None
    iv = comp.mc.intervals if comp.mc is not None else None
    tw = comp.mc.tied_with() if comp.mc is not None else None
    return insights.unit_sentences(comp.result, intervals=iv, tied_with=tw, movers_table=mv, lang=lang)


def sentences_markdown(comp: Competition, lang: str = "zh") -> str:
    s = sentences(comp, lang)
    return "\n".join(f"- {x}" for x in s["sentence"])


def export_excel(comp: Competition, ctx) -> str:
    """The formatted league table workbook in the reports' exports folder; returns its path."""
    path = ctx.export_path(f"league_table_{comp.scheme.id}_{comp.period}.xlsx")
    write_league_table(comp.result, path, intervals=comp.mc.intervals if comp.mc is not None else None,
                       coverage=comp.mc.settings.get("coverage", 0.9) if comp.mc is not None else 0.9)
    return str(path)


def weight_sensitivity_display(result: ScoreResult):
    ws = weight_set_ranks(result)
    names = {w.id: w.name for w in result.scheme.weight_sets}
    # what-if ranks under the scheme's documented alternative weights (a choice, not sampling error)
    t = ws.drop(columns=["unit_id"]).rename(columns={"unit_name": f"{result.scheme.unit}名称", "scheme": "方案权重（公布排名）", **{k: f"若用{v}" for k, v in names.items()}})
    return show_table(t, cell_styles={f"{result.scheme.unit}名称": lambda v: NOWRAP})


__all__ = ["Competition", "run_competition", "run_scheme", "tables_needed"]


def rules_display(scheme: Scheme):
    """Every rule of a scheme: weight, formula, and whether (and what) it assumes."""
    rows = [(i.name, f"{i.weight:g}", i.formula, "是" if i.assumed else "否", i.note) for i in scheme.indicators]
    rows += [(x.name, "扣分" if x in scheme.deductions else "加分", x.formula, "是" if x.assumed else "否", x.note) for x in [*scheme.deductions, *scheme.bonuses]]
    rows += [("评先资格", "", r.formula, "是" if r.assumed else "否", r.note) for r in scheme.eligibility]
    t = pd.DataFrame(rows, columns=["指标", "权重", "计分方法", "规则为假设", "假设说明"])
    return show_table(t, cell_styles={"规则为假设": lambda v: WARN if v == "是" else ""})

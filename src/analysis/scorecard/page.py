"""The sections of a unit's scorecard page (``notebooks/units/unit_scorecard.ipynb``), one call each.

    view = page.load(period, processed_dir, unit_id)   # the shared figures (cached) for one unit
    page.cards(view)        # key figures: rank, total, rank interval, change, targets needing work
    page.fixes(view)        # the three things to fix first (analysis.scorecard.fixes)
    page.scores(view)       # points per indicator against the leader and the best
    ...

Everything comes from :mod:`analysis.scorecard.shared` (computed once per run); this module only
selects the unit's rows, words them and formats them for display.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd

from analysis import targets as T
from analysis.errors import InputValueError
from analysis.periods import Period
from analysis.report import display as D
from analysis.scorecard import fixes as F
from analysis.scorecard.shared import AREA_ZH, FIGURES, Options, Shared
from analysis.scorecard.shared import load as load_shared

GRADE_ZH = {"flagship": "旗舰网点", "comprehensive": "综合网点", "boutique": "精品网点", "basic": "基础网点"}

BAND_STYLE = {"前25%": "background-color: #e8f4ea", "后25%": "background-color: #fdecea"}


@dataclass
class UnitView:
    shared: Shared
    unit_id: str
    unit: pd.Series  # the unit's league row
    targets: pd.DataFrame
    indicators: pd.DataFrame
    figures: pd.DataFrame  # unit, its area and the bank
    outlets: pd.DataFrame
    funnels: pd.DataFrame
    trends: pd.DataFrame  # the bank ("") and the unit x metric x month

    @property
    def name(self) -> str:
        return str(self.unit["unit_name"])

    @property
    def period(self) -> Period:
        return self.shared.period

    @property
    def area_zh(self) -> str:
        return AREA_ZH.get(str(self.unit["area"]), str(self.unit["area"]))


def load(period: str, processed_dir: str = "", unit_id: str = "", *, targets: str = "", scheme: str = "competition-2011",
         n_draws: int = 1000, seed: int = 2016) -> UnitView:
    """The unit's view of the shared figures; ``unit_id`` must be one of the scored units."""
    from analysis import config

    if not str(unit_id).strip():
        raise InputValueError("unit_id is empty: give the sub-branch id (python -m analysis run --unit ID)")
    shared = load_shared(processed_dir or config.PROCESSED_DIR, period, Options(targets=targets, scheme=scheme, n_draws=int(n_draws), seed=int(seed)))
    uid = str(unit_id).strip()
    unit = shared.unit_row(uid)
    area = str(unit["area"])
    fig = shared.figures
    figures = fig[((fig["scope_kind"] == "unit") & (fig["scope"] == uid)) | ((fig["scope_kind"] == "area") & (fig["scope"] == area)) | (fig["scope_kind"] == "bank")]
    return UnitView(
        shared=shared, unit_id=uid, unit=unit,
        targets=shared.targets[shared.targets["unit_id"] == uid].reset_index(drop=True),
        indicators=shared.indicators[shared.indicators["unit_id"] == uid].reset_index(drop=True),
        figures=figures.reset_index(drop=True),
        outlets=shared.outlets[shared.outlets["sub_branch_id"] == uid].reset_index(drop=True),
        funnels=shared.funnels[shared.funnels["sub_branch_id"] == uid].reset_index(drop=True),
        trends=shared.trends[shared.trends["unit_id"].isin(["", uid])].reset_index(drop=True),
    )


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


# ----------------------------------------------------------------------------------------- cards
def status_counts(targets: pd.DataFrame) -> dict[str, int]:
    from analysis.overview import STATUSES

    counts = targets["status"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def in_progress(targets: pd.DataFrame) -> bool:
    """Whether any judged target is still before its deadline (only then can one be "on track")."""
    judged = targets[targets["status"] != "n/a"]
    return bool((~judged["final"].astype(bool)).any())


def key_figures(view: UnitView) -> list[dict]:
    """The page's key figures: value, label, and whether it is bad news."""
    u, n = view.unit, view.shared.meta["n_units"]
    leader_total = float(view.shared.league["total"].iloc[0])
    out = [
        {"value": f"{int(u['rank'])} / {n}", "label": f"名次 Rank（共{n}家{view.shared.meta['scheme']['unit']}）", "bad": False},
        {"value": f"{u['total']:.1f}", "label": f"总分 Total（第一名 {leader_total:.1f}）", "bad": False},
    ]
    if not _nan(u["rank_lo"]):
        lo, hi = int(u["rank_lo"]), int(u["rank_hi"])
        cov = f"{(view.shared.meta.get('monte_carlo') or {}).get('coverage', 0.9):.0%}"
        out.append({"value": f"{lo}–{hi}" if lo != hi else f"{lo}", "label": f"名次边际{cov}置信集 Marginal {cov} rank confidence set (sampling)", "bad": False})
    if not _nan(u["rank_change"]):
        ch = int(u["rank_change"])
        arrow = f"↑{ch}" if ch > 0 else f"↓{-ch}" if ch < 0 else "→0"
        out.append({"value": arrow, "label": f"较上期 vs {view.shared.meta['previous']}（第{int(u['rank_prev'])}名）", "bad": ch < 0})
    c = status_counts(view.targets)
    judged = sum(c.values()) - c["n/a"]
    label = "目标达标或进度正常 Targets met or on track" if in_progress(view.targets) else "目标达标 Targets met"
    out.append({"value": f"{c['met'] + c['on track']} / {judged}", "label": label, "bad": False})
    worry = c["at risk"] + c["missed"]
    out.append({"value": str(worry), "label": f"目标有风险或未达标 At risk / missed{'（其中未达标 ' + str(c['missed']) + '）' if c['missed'] else ''}", "bad": worry > 0})
    if not bool(u["award_eligible"]):
        out.append({"value": "取消", "label": "评先资格 Award eligibility", "bad": True})
    return out


def cards_intro(view: UnitView) -> str:
    """What the cards show, exactly those shown (the rank set only when the Monte Carlo ran, the
    change only when the previous period could be scored, eligibility only when it is lost)."""
    u = view.unit
    parts = ["名次", "总分"]
    if not _nan(u["rank_lo"]):
        cov = f"{(view.shared.meta.get('monte_carlo') or {}).get('coverage', 0.9):.0%}"
        parts.append(f"名次的边际{cov}置信集（只计抽样误差时真实名次可能的范围）")
    if not _nan(u["rank_change"]):
        parts.append("与上期相比的名次变化")
    parts.append("本支行范围内的活动目标" + ("达标或进度正常" if in_progress(view.targets) else "达标") + "的项数和有风险或未达标的项数")
    if not bool(u["award_eligible"]):
        parts.append("评先资格")
    return "、".join(parts[:-1]) + "以及" + parts[-1] + "。"


def cards(view: UnitView):
    """The key figures as a row of cards (house style, no script), after a line saying what they are."""
    from IPython.display import HTML

    intro = f'<p class="cards-intro">{html.escape(cards_intro(view))}</p>'
    cells = "".join(
        f'<div class="card"><div class="n{" bad" if c["bad"] else ""}">{html.escape(c["value"])}</div>'
        f'<div class="label">{html.escape(c["label"])}</div></div>' for c in key_figures(view))
    return HTML(f'{intro}<section class="summary unit-cards" aria-label="key figures">{cells}</section>')


def summary_text(view: UnitView) -> str:
    """Two or three plain sentences: who the unit is, its rank story, its targets."""
    u = view.unit
    c = status_counts(view.targets)
    head = (f"**{view.name}**（{view.area_zh}支行，{int(u['outlets'])} 个网点），{view.period.label_zh}。"
            f"{u['sentence']}")
    parts = [f"{label} {c[s]} 项" for s, label in (("met", "达标"), ("on track", "进度正常"), ("at risk", "有风险"), ("missed", "未达标")) if c[s]]
    tail = f"\n\n活动目标（本支行范围）：{'、'.join(parts) or '暂无可判断的目标'}"
    if c["n/a"]:
        tail += f"；另有 {c['n/a']} 项无法按支行判断或无数据"
    return head + tail + "。"


def summary(view: UnitView):
    from IPython.display import Markdown

    return Markdown(summary_text(view))


# ----------------------------------------------------------------------------------------- fixes
def fix_list(view: UnitView) -> pd.DataFrame:
    return F.fix_first(view.targets, view.funnels, view.indicators, int(view.unit["rank"]))


def fixes_text(view: UnitView) -> str:
    items = fix_list(view)
    if items.empty:
        targets = "目标均达标或进度正常" if in_progress(view.targets) else "目标均已达标"
        return f"没有需要优先处理的问题：{targets}，网点均在控制限内，各项得分已接近全行最好。"
    lines = [f"{r.order}. **{r.title}**  \n   {r.detail}。  \n   <span class=\"muted\">依据：{r.reason}</span>" for r in items.itertuples()]
    if len(items) < 3:
        lines.append("\n其他方面没有需要优先处理的问题。")
    return "\n".join(lines)


def fixes(view: UnitView):
    from IPython.display import Markdown

    return Markdown(fixes_text(view))


# ---------------------------------------------------------------------------------------- scores
def scores_frame(view: UnitView) -> pd.DataFrame:
    """Per indicator: weight, points, share of the weight, the leader's and the best points, the loss
    against the leader and the gain from matching the best; then deductions and the total."""
    ind = view.indicators
    t = pd.DataFrame({
        "指标": ind["name"], "权重": ind["weight"], "得分": ind["points"], "得分率": ind["share"],
        "第一名得分": ind["leader_points"], "全行最好": ind["best_points"], "比第一名": -ind["loss_vs_leader"], "做到全行最好可多得": ind["gain"],
    })
    extra = []
    for d in view.shared.meta["scheme"]["deductions"]:
        extra.append({"指标": f"扣分：{d['name']}", "得分": -float(view.unit[d["id"]]) if view.unit[d["id"]] else 0.0})
    leader = view.shared.league.iloc[0]
    extra.append({"指标": "总分", "权重": float(ind["weight"].sum()), "得分": float(view.unit["total"]), "第一名得分": float(leader["total"]),
                  "比第一名": -float(view.unit["gap_to_leader"])})
    return pd.concat([t, pd.DataFrame(extra)], ignore_index=True)


def scores(view: UnitView):
    t = scores_frame(view)
    two = lambda v: "" if _nan(v) else D.number(v, 2)
    fmt = {"权重": lambda v: "" if _nan(v) else D.number(v, 0 if float(v).is_integer() else 1), "得分": two,
           "得分率": lambda v: "" if _nan(v) else D.share(v, 0), "第一名得分": two, "全行最好": two,
           "比第一名": lambda v: "" if _nan(v) else D.signed(v, 2), "做到全行最好可多得": two}
    # the indicators' shares shaded on one scale (deduction and total rows have none); the total row in bold
    total_row = ["font-weight: bold; border-top: 2px solid #c5d3e6" if i == len(t) - 1 else "" for i in range(len(t))]
    return D.show_table(t, formats=fmt, na_rep="", gradient={"得分率": ("RdYlGn", 0.5, 1.2)}, row_styles=total_row,
                        caption=f"{view.name}各项得分（{view.shared.meta['scheme']['title']}）")


def rank_text(view: UnitView) -> str:
    """How sure the rank is, and who the unit cannot be told apart from."""
    u = view.unit
    if _nan(u["rank_lo"]):
        return "本期未做排名不确定性模拟。"
    names = dict(zip(view.shared.league["unit_id"], view.shared.league["unit_name"]))
    tied = view.shared.tied[view.shared.tied["unit_id"] == view.unit_id]["other_id"].map(names).tolist()
    mc = view.shared.meta["monte_carlo"]
    cov = f"{mc.get('coverage', 0.9):.0%}"
    s = (f"只考虑神秘人检查和满意度调查的抽样误差（自助法重抽 {mc['n_draws']} 次，权重按方案不变）：{view.name}真实名次的边际{cov}置信集为第 "
         f"{int(u['rank_lo'])}–{int(u['rank_hi'])} 名（以约{cov}的概率包含其真实名次），"
         f"{'可能' if bool(u['could_be_top']) else '不能认为'}位列前{mc.get('top', 3)}名。")
    if tied:
        s += f"同时检验下与{'、'.join(tied[:5])}{'等' if len(tied) > 5 else ''}难以区分，名次先后可能只是抽样误差造成的。"
    return s


# --------------------------------------------------------------------------------------- targets
def targets_frame(view: UnitView) -> pd.DataFrame:
    t = view.targets
    # the target, then its status and reason: on a phone they stay in view beside the (sticky) first column
    return pd.DataFrame({
        "目标": t["title"], "状态": t["status_label"] + " " + t["status"], "依据": [T.status_reason(r) for _, r in t.iterrows()],
        "实际": t["actual_text"], "目标值": t["target_text"], "预计期限时": t["projection_text"], "期限": t["deadline"], "分组": t["group_title"],
    })


def targets(view: UnitView):
    t = targets_frame(view)
    statuses = list(view.targets["status"])
    return D.status_table(t, statuses, caption=f"{view.name}的活动目标（{view.shared.meta['targets_title']}，按本支行范围判断）")


def targets_notes(view: UnitView) -> str:
    """The notes of targets that are not judged for the unit (n/a), in one line each."""
    na = view.targets[view.targets["status"] == "n/a"]
    if na.empty:
        return ""
    return "无法判断的目标：" + "；".join(f"{r.title}（{r.note.split(';')[0] if r.note else '无数据'}）" for r in na.itertuples()) + "。"


# ------------------------------------------------------------------------------------ comparison
def _fmt_figure(metric: str, value) -> str:
    if _nan(value):
        return "—"
    unit = FIGURES[metric]["unit"]
    if unit == "%":
        return f"{value * 100:.1f}%"
    if metric == "complaints_per_10k":
        return f"{value:.3f}"
    return f"{value:.1f}"


def position(rank, n) -> str:
    """Where a rank sits in its group: 前列 (top third), 中游, 靠后 (bottom third), by (rank - 1) / (n - 1)
    below 1/3 or above 2/3; "—" without a rank or with a group of one."""
    if _nan(rank) or _nan(n) or n < 2:
        return "—"
    q = (rank - 1) / (n - 1)
    return "前列" if q < 1 / 3 else "靠后" if q > 2 / 3 else "中游"


def comparison_frame(view: UnitView) -> pd.DataFrame:
    """Each figure for the unit, its peer group (the sub-branches of its area) and the bank, with the
    unit's rank in the group and a plain judgement."""
    f = view.figures
    rows = []
    for metric, spec in FIGURES.items():
        part = f[f["metric"] == metric]
        get = lambda kind, part=part: part[part["scope_kind"] == kind].iloc[0] if (part["scope_kind"] == kind).any() else None
        u, a, b = get("unit"), get("area"), get("bank")
        if u is None:
            continue
        judge = position(u["group_rank"], u["group_n"])
        rank = f"{int(u['group_rank'])} / {int(u['group_n'])}" if not _nan(u["group_rank"]) else "—"
        rows.append({"指标": spec["title"], "单位": spec["unit"], "本支行": _fmt_figure(metric, u["value"]),
                     f"同类（{view.area_zh}支行）": _fmt_figure(metric, a["value"] if a is not None else None),
                     "全行": _fmt_figure(metric, b["value"] if b is not None else None), "同类排名": rank, "同类中位置": judge})
    return pd.DataFrame(rows)


def comparison(view: UnitView):
    t = comparison_frame(view)
    colour = {"前列": "color: #2e7d32; font-weight: bold", "靠后": "color: #c62828; font-weight: bold"}
    return D.show_table(t, cell_styles={"同类中位置": lambda v: colour.get(v, "")},
                        caption=f"{view.name}与同类{view.area_zh}支行及全行比较（同类排名 1 = 最好；前列、靠后 = 排名在同类的前、后三分之一）")


def complaints_text(view: UnitView) -> str:
    """The unit's complaints against the same months a year earlier, with the exact test's reading."""
    f = view.figures
    u = f[(f["metric"] == "complaints_per_10k") & (f["scope_kind"] == "unit")]
    if len(u) and u.iloc[0]["verdict"] == D.NOT_IN_EXPORT:
        return D.not_in_export("被投诉网点编号（unit_id）", "本支行的投诉量与投诉率不计算")
    if u.empty or _nan(u.iloc[0]["value"]):
        return ""
    r = u.iloc[0]
    prev = view.period.previous()
    verdict = r["verdict_zh"] or r["verdict"]
    text = (f"{view.name}{view.period.label_zh}客户投诉 {r['num']:,.0f} 件（指明网点的投诉），每万笔金融性交易 {r['value']:.3f} 件；"
            f"上年同期（{prev.label_zh}）{r['prev_num']:,.0f} 件，每万笔 {_fmt_figure('complaints_per_10k', r['prev_value'])} 件。")
    if r["verdict"] in ("decrease", "increase"):
        text += f"按交易量折算后精确检验：{verdict}（单侧 {D.p_text(r['p_value'])}）。"
    elif r["verdict"] == "no change":
        text += f"按交易量折算后精确检验：{verdict}（检验下降的单侧 {D.p_text(r['p_value'])}）。"
    return text


# ----------------------------------------------------------------------------------------- trends
def trend_targets(view: UnitView) -> dict[str, float]:
    """The campaign target of each trend metric judged at a level for the unit (at least / at most)."""
    t = view.targets
    level = t[t["rule"].isin(["at_least", "at_most"]) & t["target"].notna() & (t["status"] != "n/a")]
    return {str(r.metric): float(r.target) for r in level.itertuples()}


def trends(view: UnitView):
    """The unit's monthly trend per key figure, against the bank (analysis.plots.units)."""
    from analysis.plots.units import trend_panels

    if not (view.trends["unit_id"] == view.unit_id).any():
        from IPython.display import Markdown

        return Markdown("本期没有本支行的逐月数据。")
    return trend_panels(view.trends, view.unit_id, view.name, targets=trend_targets(view))


def trends_text(view: UnitView) -> str:
    """What the trend panels show, and which figures have no monthly series."""
    return ("蓝线为本支行各月数值，灰线为全行，红色虚线为本支行范围的活动目标（有按水平设定的目标时）。"
            "神秘人检查按季度进行，只在检查月份有点；满意度调查每年一次，没有逐月数据。")


#: The detailed pages with a row per sub-branch (its anchor: analysis.report.display.anchor_id).
DETAIL_PAGES = {"03_competition": "服务营销竞赛排名", "06_waiting_times": "等候时间", "08_teller_ratings": "柜员服务评价"}


def detail_links(view: UnitView) -> list[tuple[str, str]]:
    """(title, href) of this unit's row on each detailed page (the unit pages sit in units/)."""
    from analysis.report.display import anchor_id

    return [(title, f"../{page}.html#{anchor_id('unit', view.unit_id)}") for page, title in DETAIL_PAGES.items()]


def links_text(view: UnitView) -> str:
    return "在全行报告中查看本支行所在的行：" + " · ".join(f"[{t}]({href})" for t, href in detail_links(view))


# ---------------------------------------------------------------------------------------- outlets
OUTLET_METRICS = {  # shared.outlets metric -> column title, value format
    "mystery_shopper": ("神秘人检查", "{:.1f}"),
    "teller_satisfaction": ("柜员满意度", "{:.1%}"),
    "waits_over_10min": ("等候超10分钟", "{:.1%}"),
    "complaints_per_10k_txn": ("投诉(件/万笔)", "{:.2f}"),
    "lobby_staff": ("大堂人员", "{:.0f}"),
}
FUNNEL_SHORT = {"complaints": "投诉", "waits": "等候", "satisfaction": "满意度"}


def outlets_frame(view: UnitView) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per outlet: its grade (the peer group is area x grade) and, per metric, the value; the
    funnel flags on the worse side. Returns the display table and each cell's quarter in the peer
    group (前25% = best quarter; for colouring)."""
    o = view.outlets
    if o.empty:
        return pd.DataFrame(), pd.DataFrame()
    base = o.drop_duplicates("outlet_id").set_index("outlet_id")
    shown = pd.DataFrame({"网点": base["outlet_name"], "等级": base["grade"].map(GRADE_ZH).fillna(base["grade"])})
    bands = pd.DataFrame(index=base.index)
    for metric, (title, fmt) in OUTLET_METRICS.items():
        m = o[o["metric"] == metric].set_index("outlet_id")
        shown[title] = ["—" if _nan(v) else fmt.format(v) for v in m["value"].reindex(base.index)]
        bands[title] = m["band"].reindex(base.index).fillna("")
    fl = view.funnels[view.funnels["direction"] == "worse"]
    flags = {oid: "、".join(f"{FUNNEL_SHORT[r.measure]}{'偏低' if r.measure == 'satisfaction' else '偏高'}（{'99.8%' if '99.8' in r.flag else '95%'}）"
                           for r in g.itertuples()) for oid, g in fl.groupby("outlet_id")}
    shown["超出控制限"] = [flags.get(oid, "—") for oid in base.index]
    bands["超出控制限"] = ["后25%" if oid in flags else "" for oid in base.index]
    return shown.reset_index(drop=True), bands.reset_index(drop=True)


def outlets(view: UnitView):
    shown, bands = outlets_frame(view)
    if shown.empty:
        from IPython.display import Markdown

        return Markdown("本支行在机构信息中没有网点。")
    return D.show_table(shown, cell_styles={c: [BAND_STYLE.get(b, "") for b in bands[c]] for c in bands.columns},
                        caption=f"{view.name}各网点（对标组：{view.area_zh} × 等级；绿色 = 组内前25%，红色 = 组内后25%或超出漏斗图控制限）")


# ------------------------------------------------------------------------------------------ notes
def notes_text(view: UnitView) -> str:
    m = view.shared.meta
    lines = [
        f"- 计分方案：{m['scheme']['title']}；排名、名次置信集和各项得分与“服务营销竞赛排名”报告相同（同一次计算）。",
        "- “先改这三件事”的规则：候选来自本支行有风险或未达标的目标、超出漏斗图控制限的网点、以及做到全行最好能多得分的计分指标；"
        "按紧急程度分档（未达标目标 > 超出99.8%控制限的网点 > 目前未达到的有风险目标 > 可多得1分以上的指标 > 其他有风险目标 > 超出95%控制限的网点 > 可多得0.2分以上的指标），"
        "同档内差距大的在前。先从目标、网点、计分三类中各取最紧急的一项（限前四档），再按紧急程度补足三项；同一类最多两项，同一网点只列一次（每家支行用同一套规则）。",
        f"- 同类支行：与本支行同属{view.area_zh}的支行；网点的对标组为相同区域和等级的网点。",
        "- 支行与片区的投诉为指明网点的投诉；未指明网点的（如客服中心相关）不计入任何支行，只计入全行。",
    ]
    lines += [f"- 数据说明：{n}" for n in m.get("notes", [])]
    note = targets_notes(view)
    if note:
        lines.append(f"- {note}")
    return "\n".join(lines)


def notes(view: UnitView):
    from IPython.display import Markdown

    return Markdown(notes_text(view))

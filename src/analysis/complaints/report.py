"""The complaints notebook's sections: one call each, returning a :class:`Section` the notebook displays.

    data = report.load(ctx)            # complaints (masked, JR/T-classified), business, outlets
    report.volume(data)                # -> Section: a generated sentence, a figure, a table

A Section (:class:`analysis.report.display.Section`, the presentation layer) shows its sentence as
Markdown, then its figure (drawn then, from the plot function this module names), then its table.
Its ``values`` hold the computed results at full precision (for tests and exports); only the display
is rounded. Published output carries counts and masked texts only: descriptions pass through
:func:`analysis.masking.mask_series` again on their way into any section.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from analysis.complaints import stats as S
from analysis.complaints.classify import TITLES as JRT_TITLES
from analysis.complaints.classify import UNMAPPED, load_classifier
from analysis.masking import NAMES_BEST_EFFORT
from analysis.periods import Period
from analysis.report.display import Section, not_in_export, p_value
from analysis.report.excel import write_sheets

CHANNELS_ZH = {
    "95599": "95599客服热线", "outlet": "营业网点", "regulator": "监管转办", "letters": "来信来访", "online": "互联网",
    "12378": "12378银行保险消费者投诉热线", "12363": "12363人民银行金融消费者投诉热线", "wechat": "微信银行",
    "mobile_banking": "手机银行", "online_banking": "网上银行", "credit_card_centre": "信用卡中心",
}


def _figure(draw, *args, **kwargs):
    """A figure to draw when the section is shown: the plot function and its arguments (this module
    draws nothing; :class:`analysis.report.display.Section` calls it at display time)."""
    return partial(draw, *args, **kwargs)


def _pct(x: float) -> str:
    return S.fmt_pct(x)


# ------------------------------------------------------------------------------------------- data
@dataclass
class ComplaintData:
    period: Period
    complaints: pd.DataFrame
    business: pd.DataFrame
    outlets: pd.DataFrame
    classifier: object

    @property
    def previous(self) -> Period:
        return self.period.previous()


def load(ctx, jrt_mapping=None) -> ComplaintData:
    """The clean complaints (masked again, JR/T-classified), business figures and outlets for ``ctx``."""
    from analysis.masking import mask_series

    c = ctx.table("complaints")
    for col in ("unit_id", "channel", "category", "cause", "description"):
        c[col] = mask_series(c[col])
    clf = load_classifier(jrt_mapping)
    return ComplaintData(ctx.period, clf.classify(c), ctx.table("business"), ctx.table("outlets"), clf)


# --------------------------------------------------------------------------------------- sections
def volume(d: ComplaintData) -> Section:
    """Volume and monthly trend against the same months a year earlier."""
    p, q = d.period, d.previous
    trend = S.monthly_trend(d.complaints, p)
    now, prev = int(trend["current"].sum()), int(trend["previous"].sum())
    down = int((trend["current"] < trend["previous"]).sum())
    change = (now - prev) / prev if prev else np.nan
    word = "下降" if now < prev else "上升" if now > prev else "持平"
    peak = trend.loc[trend["current"].idxmax()]
    text = (f"{p.label_zh}共受理客户投诉 **{now:,}件**，{q.label_zh}同期{prev:,}件，{word}{_pct(abs(change))}。"
            f"{len(trend)}个月中有{down}个月低于上年同期；投诉最多的是{int(peak['month'])}月（{int(peak['current'])}件）。")
    fig = _figure(_plot("plot_monthly_trend"), trend, current_label=p.label_zh, previous_label=q.label_zh, title="月度投诉量")
    table = trend.assign(month=trend["month"].map(lambda m: f"{m}月"))
    return Section(text, table, {"month": "月份", "current": p.label_zh, "previous": q.label_zh, "change": "增减(件)", "change_pct": "增减幅度"},
                   {"change_pct": "{:+.1%}", "change": "{:+,d}"}, fig, values={"trend": trend, "current": now, "previous": prev})


def _plot(name: str, module: str = "complaints"):
    """A plot function, imported when the section is drawn (pages import matplotlib, this module not)."""

    def draw(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(f"analysis.plots.{module}"), name)(*args, **kwargs)

    return draw


_TITLES = {"unit_id": "被投诉网点编号", "channel": "受理渠道", "description": "投诉内容"}


def _lacking(d: ComplaintData, column: str, consequence: str) -> Section | None:
    """The section to show instead when the export lacks ``column`` (an optional column)."""
    if S.absent(d.complaints, column):
        return Section(not_in_export(_TITLES[column], consequence), values={"absent": column})
    return None


def by_intake_channel(d: ComplaintData) -> Section:
    """Where complaints arrived: 95599, the outlet, regulators, letters, the internet."""
    if gone := _lacking(d, "channel", "按受理渠道的分布不计算"):
        return gone
    t = S.breakdown(d.complaints, "channel", d.period)
    t["channel"] = t["channel"].map(lambda v: CHANNELS_ZH.get(v, v))
    top = t.iloc[0]
    s95 = t[t["channel"] == CHANNELS_ZH["95599"]]
    text = f"受理渠道中，**{top['channel']}**最多，占{_pct(top['share'])}（{int(top['current']):,}件）。"
    if len(s95):
        r = s95.iloc[0]
        text += f"95599客服热线受理{int(r['current']):,}件，上年同期{int(r['previous']):,}件（{'+' if r['change'] >= 0 else ''}{int(r['change']):,}件）。"
    fig = _figure(_plot("plot_breakdown"), t, "channel", title="按受理渠道")
    return Section(text, t, _BREAKDOWN_COLUMNS | {"channel": "受理渠道"}, _BREAKDOWN_FORMATS, fig, values={"table": t})


_BREAKDOWN_COLUMNS = {"current": "本期(件)", "share": "占比", "previous": "上年同期(件)", "previous_share": "上年占比", "change": "增减(件)", "change_pct": "增减幅度"}
_BREAKDOWN_FORMATS = {"share": "{:.1%}", "previous_share": "{:.1%}", "change": "{:+,d}", "change_pct": "{:+.1%}"}


def by_jrt(d: ComplaintData, dimension: str) -> Section:
    """Complaints by one JR/T 0169 dimension: "A" (channel of the business), "B" (business type), "C" (cause)."""
    col = {"A": "jrt_channel_group", "B": "jrt_business", "C": "jrt_cause"}[dimension]
    t = S.breakdown(d.complaints, col, d.period)
    t = pd.concat([t[t[col] != UNMAPPED], t[t[col] == UNMAPPED]], ignore_index=True)
    mapped = t[t[col] != UNMAPPED]
    top = mapped.iloc[0] if len(mapped) else None
    um = t[t[col] == UNMAPPED]
    n_um = int(um["current"].sum()) if len(um) else 0
    name = {"A": "业务办理渠道(A)", "B": "业务类型(B)", "C": "投诉原因(C)"}[dimension]
    text = f"按JR/T 0169—2018的{name}，" + (f"**{top[col]}**最多，占{_pct(top['share'])}（{int(top['current']):,}件）" if top is not None else "没有可归类的投诉")
    rising = mapped[(mapped["change"] > 0)].sort_values("change", ascending=False)
    if len(rising):
        r = rising.iloc[0]
        text += f"；比上年增加最多的是{r[col]}（{int(r['change']):+,}件）"
    text += "。"
    if n_um:
        text += f"另有{n_um:,}件（{_pct(n_um / max(t['current'].sum(), 1))}）的标签在映射表中没有对应项，计入“{UNMAPPED}”，明细见“未映射标签”一节。"
    fig = _figure(_plot("plot_breakdown"), t, col, title=f"JR/T 0169 {name}")
    return Section(text, t, _BREAKDOWN_COLUMNS | {col: JRT_TITLES[col]}, _BREAKDOWN_FORMATS, fig, values={"table": t})


def unmapped(d: ComplaintData) -> Section:
    """Every bank label of the period that maps to no JR/T name, with its count (never dropped)."""
    part = S.in_period(d.complaints, d.period)
    um = d.classifier.unmapped_labels(part)
    if um.empty:
        return Section("本期所有业务类别和投诉原因标签都已映射到JR/T 0169—2018。", values={"table": um})
    dims = {"A": "办理渠道(A)", "B": "业务类型(B)", "C": "投诉原因(C)"}
    text = ("以下标签在映射表（mappings/jrt0169.yaml）中没有对应的JR/T名称，相关投诉归入“未映射”，不会丢弃。"
            "请在映射表中补充后重新运行。" + "；".join(f"{dims[k]}{int(v):,}件" for k, v in um.groupby("dimension")["complaints"].sum().items()) + "。")
    table = um.assign(dimension=um["dimension"].map(dims))
    return Section(text, table, {"dimension": "维度", "field": "依据字段", "label": "标签", "complaints": "投诉量(件)"}, {}, values={"table": um})


def _units(d: ComplaintData, channel: str | None = None) -> pd.DataFrame:
    return S.unit_table(d.complaints, d.business, d.outlets, d.period, channel=channel)


def rates(d: ComplaintData) -> Section:
    """Complaints per outlet and per 10,000 financial transactions, per sub-branch."""
    if gone := _lacking(d, "unit_id", "各支行的投诉量与投诉率不计算（全行合计见上）"):
        return gone
    u = _units(d).sort_values("per_10k", ascending=False)
    bank = S.bank_totals(d.complaints, d.business, d.outlets, d.period)
    worst, best = u.iloc[0], u.iloc[-1]
    text = (f"全行{bank['outlets']}个网点，点均投诉{bank['per_outlet']:.2f}件，每万笔金融交易投诉{bank['per_10k']:.3f}件"
            f"（上年同期{bank['per_10k_prev']:.3f}件）。投诉率最高的是**{worst['unit_name']}**（{worst['per_10k']:.3f}件/万笔），"
            f"最低的是{best['unit_name']}（{best['per_10k']:.3f}件/万笔）。业务量为金融交易笔数（business.fin_txn，含柜面与电子渠道）。")
    if bank["no_unit"]:
        text += f"另有{bank['no_unit']:,}件投诉未指明网点（如信用卡中心受理），计入全行总量，不计入各支行。"
    cols = ["unit_name", "outlets", "complaints", "per_outlet", "transactions", "per_10k", "complaints_prev", "per_10k_prev"]
    return Section(text, u[cols], {"unit_name": "支行", "outlets": "网点数", "complaints": "投诉量(件)", "per_outlet": "点均投诉(件)",
                                   "transactions": "金融交易(笔)", "per_10k": "每万笔投诉(件)", "complaints_prev": "上年同期投诉(件)", "per_10k_prev": "上年每万笔(件)"},
                   {"per_outlet": "{:.2f}", "per_10k": "{:.3f}", "per_10k_prev": "{:.3f}", "transactions": "{:,.0f}"}, values={"units": u, "bank": bank})


def flags(d: ComplaintData) -> Section:
    """Responsible, major, major-and-responsible, escalated, overdue and open complaints."""
    f = S.flag_summary(d.complaints, d.period)
    v = f.set_index("measure")
    gone = set(f.loc[f["note"] != "", "measure"])

    def n(m: str) -> str:
        return f"{int(v.loc[m, 'current']):,}件"

    parts = []
    if "responsible" not in gone:
        parts.append(f"本期有责投诉{n('responsible')}（占{_pct(v.loc['responsible', 'current_share'])}）")
    if "major" not in gone:
        extra = f"（其中有责{n('major_responsible')}，每件在考核中扣分）" if "major_responsible" not in gone else ""
        parts.append(f"重大投诉{n('major')}{extra}")
    if "escalated" not in gone:
        parts.append(f"越级投诉{n('escalated')}")
    text = "，".join(parts)
    if "overdue" not in gone:
        text += ("；" if text else "") + (
            f"超期投诉（受理后{S.OVERDUE_DAYS}天内未办结，含至数据截止日仍未办结且已超过{S.OVERDUE_DAYS}天的）"
            f"{n('overdue')}，占{_pct(v.loc['overdue', 'current_share'])}（上年同期{_pct(v.loc['overdue', 'previous_share'])}）")
    text += "。" if text else ""
    if gone:
        names = "、".join(S.MEASURE_TITLES[m] for m in f["measure"] if m in gone)
        text += not_in_export(names, "不计算")
    f = f[f["note"] == ""].drop(columns="note")
    table = f.assign(measure=f["measure"].map(S.MEASURE_TITLES))
    return Section(text, table, {"measure": "项目", "current": "本期(件)", "current_share": "占投诉量", "previous": "上年同期(件)", "previous_share": "上年占比", "change": "增减(件)"},
                   {"current_share": "{:.1%}", "previous_share": "{:.1%}", "change": "{:+,d}"}, values={"table": f})


def resolution(d: ComplaintData) -> Section:
    """Time to resolve: distribution and by intake channel."""
    t = S.time_to_resolve(d.complaints, d.period)
    if "note" in t and (t["note"] == S.NOT_IN_EXPORT).any():
        return Section(not_in_export("办结时间", "办结用时与超期投诉不计算"), values={"table": t})
    t["group"] = t["group"].map(lambda v: CHANNELS_ZH.get(v, v))
    a = t.iloc[0]
    text = (f"本期已办结{int(a['resolved']):,}件，办结用时中位数{a['median_days']:.1f}天，90%在{a['p90_days']:.1f}天内办结；"
            f"{_pct(a['within_15d'])}在{S.OVERDUE_DAYS}天内办结，{int(a['open'])}件尚未办结。")
    fig = _figure(_plot("plot_resolve_days"), S.resolve_days(d.complaints, d.period), title="办结用时分布")
    return Section(text, t, {"group": "受理渠道", "resolved": "已办结(件)", "open": "未办结(件)", "median_days": "中位数(天)", "mean_days": "平均(天)",
                             "p90_days": "90%分位(天)", "within_1d": "1天内", "within_7d": "7天内", "within_15d": f"{S.OVERDUE_DAYS}天内"},
                   {"median_days": "{:.1f}", "mean_days": "{:.1f}", "p90_days": "{:.1f}", "within_1d": "{:.1%}", "within_7d": "{:.1%}", "within_15d": "{:.1%}"}, fig, values={"table": t})


def increment(d: ComplaintData, channel: str | None = None) -> Section:
    """点均网点服务投诉增量 per sub-branch: (complaints now - a year earlier) / outlets; lower is better."""
    if gone := _lacking(d, "unit_id", "点均网点服务投诉增量不计算") or (_lacking(d, "channel", "按渠道的投诉增量不计算") if channel else None):
        return gone
    u = _units(d, channel).sort_values("increment_per_outlet")
    bank = S.bank_totals(d.complaints, d.business, d.outlets, d.period, channel=channel)
    worse = u[u["increment_per_outlet"] > 0]
    what = "投诉" if channel is None else f"{CHANNELS_ZH.get(channel, channel)}投诉"
    text = (f"全行点均{what}增量为 **{bank['increment_per_outlet']:+.2f}件/网点**（指明网点的{what}{bank['named']:,}件，上年同期{bank['named_prev']:,}件，"
            f"网点{bank['outlets']}个）。最好的是{u.iloc[0]['unit_name']}（{u.iloc[0]['increment_per_outlet']:+.2f}）；")
    text += ("投诉不降反升的支行：" + "、".join(f"**{r.unit_name}**（{r.increment_per_outlet:+.2f}）" for r in worse.sort_values("increment_per_outlet", ascending=False).itertuples()) + "。"
             if len(worse) else "没有支行投诉上升。")
    fig = _figure(_plot("plot_increment"), u, bank=bank["increment_per_outlet"], title="点均网点服务投诉增量")
    cols = ["unit_name", "outlets", "complaints_prev", "complaints", "increment", "increment_per_outlet"]
    return Section(text, u[cols], {"unit_name": "支行", "outlets": "网点数", "complaints_prev": "上年同期(件)", "complaints": "本期(件)", "increment": "增量(件)",
                                   "increment_per_outlet": "点均增量(件/网点)"},
                   {"increment": "{:+,d}", "increment_per_outlet": "{:+.2f}"}, fig, values={"units": u, "bank": bank})


def decrease_real(d: ComplaintData) -> Section:
    """Is the decrease real? The exact conditional test, all complaints and 95599 complaints, bank level."""
    rows, sentences = [], []
    lacking = _lacking(d, "channel", "95599客服热线投诉的下降检验不计算")
    for label, channel in (("全行投诉", None), ("95599客服热线投诉", "95599")):
        if channel and lacking:
            sentences.append(lacking.text)
            continue
        b = S.bank_totals(d.complaints, d.business, d.outlets, d.period, channel=channel)
        t = S.rate_test(b["complaints_prev"], b["transactions_prev"], b["complaints"], b["transactions"])
        sentences.append(S.change_sentence(t, label, d.period))
        rows.append({"what": label, **t, "verdict_zh": S.VERDICTS[t["verdict"]]})
    table = pd.DataFrame(rows)
    text = ("把两期的业务量（金融交易笔数）考虑在内：若投诉率不变，本期投诉数在两期合计中所占比例应等于本期业务量所占比例，"
            "据此做精确的条件二项检验（单侧，检验水平5%），并给出投诉率之比（本期/上年同期）的精确单侧95%置信下限和上限（合起来是90%置信区间）：上限低于1恰好就是“显著下降”，下限高于1恰好就是“显著上升”。\n\n" + "\n\n".join(f"- {s}" for s in sentences))
    cols = ["what", "k1", "k2", "rate1", "rate2", "rate_ratio", "ci_low", "ci_high", "p_less", "verdict_zh"]
    return Section(text, table[cols], _TEST_COLUMNS | {"what": "范围"}, _TEST_FORMATS, values={"table": table})


_TEST_COLUMNS = {"k1": "上年同期(件)", "k2": "本期(件)", "rate1": "上年每万笔", "rate2": "本期每万笔", "rate_ratio": "率比", "ci_low": "单侧95%下限",
                 "ci_high": "单侧95%上限", "p_less": "p值(检验下降)", "q_value": "q值(多重比较校正)", "verdict_zh": "结论"}
_TEST_FORMATS = {"rate1": "{:.3f}", "rate2": "{:.3f}", "rate_ratio": "{:.2f}", "ci_low": "{:.2f}", "ci_high": "{:.2f}", "p_less": p_value, "q_value": p_value}


def decrease_real_by_unit(d: ComplaintData) -> Section:
    """The same test for every sub-branch, with Benjamini-Hochberg q-values and a forest plot."""
    if gone := _lacking(d, "unit_id", "各支行的下降检验不计算"):
        return gone
    u = _units(d)
    bank = S.bank_totals(d.complaints, d.business, d.outlets, d.period)
    t = S.change_tests(u, bank)
    units = t[t["unit"] != "全行"]
    dec = units[units["verdict"] == "decrease"]
    inc = units[units["verdict"] == "increase"]
    text = (f"{len(units)}个支行中，投诉率显著下降的有{len(dec)}个" + (f"（{'、'.join(dec['unit_name'])}）" if len(dec) else "")
            + f"，显著上升的有{len(inc)}个" + (f"（{'、'.join('**' + n + '**' for n in inc['unit_name'])}）" if len(inc) else "")
            + f"，其余{len(units) - len(dec) - len(inc)}个的变化在随机波动范围内。单侧检验水平5%；同时检验{len(units)}个支行，"
            "即使各支行投诉率都没变，也会有一两个碰巧“显著”，因此表中另给出多重比较校正后的q值（Benjamini–Hochberg），q<0.05的结论更可靠。")
    fig = _figure(_plot("plot_rate_ratios"), t, title="各支行投诉率之比(本期/上年同期)与90%置信区间(两端为单侧95%界限)")
    cols = ["unit_name", "k1", "k2", "rate1", "rate2", "rate_ratio", "ci_low", "ci_high", "p_less", "q_value", "verdict_zh"]
    ordered = pd.concat([t[t["unit"] == "全行"], units.sort_values("rate_ratio")])
    return Section(text, ordered[cols], _TEST_COLUMNS | {"unit_name": "支行"}, _TEST_FORMATS, fig, values={"table": t})


def funnel(d: ComplaintData) -> Section:
    """Funnel plot of sub-branch complaint rates per 10,000 transactions against the bank's rate."""
    if gone := _lacking(d, "unit_id", "各支行投诉率漏斗图不计算"):
        return gone
    from analysis.funnel import funnel_table

    plot_funnel = _plot("plot_funnel", "funnel")

    u = _units(d)
    f = funnel_table(u, "unit", "complaints", "transactions", "poisson", per=S.PER, label="unit_name", higher_is_better=False)
    out = f.outside()
    od = f.overdispersion
    text = (f"横轴为各支行本期金融交易笔数，纵轴为每万笔投诉数，水平线为各支行合计的投诉率（{f.target:.3f}件/万笔，不含未指明网点的投诉），曲线为95%与99.8%控制限："
            "业务量越小，随机波动越大，控制限越宽。")
    how = "按过度离散调整后的控制限" if od.applied else "精确检验"
    text += (f"落在控制限外（{how}）的支行：" + "、".join(f"**{r.label}**（{r.rate:.3f}，{'高于' if r.flag.startswith('above') else '低于'}{r.flag.split()[-1]}控制限）" for r in out.itertuples()) + "。"
             if len(out) else "所有支行都在控制限内。")
    if od.overdispersed and od.applied:
        text += (f"支行间差异超出随机波动（过度离散：平方根尺度上、两端各缩尾10%估计φ={od.phi:.2f}），控制限已按随机效应（τ²={od.tau2:.3g}）放宽，"
                 "表中的P值与判断都按放宽后的控制限计算。")
    elif not od.overdispersed:
        text += "支行间差异没有超出随机波动的范围（未发现过度离散），使用精确控制限。"
    fig = _figure(plot_funnel, f, title="各支行投诉率漏斗图", xlabel="金融交易(笔)", ylabel="每万笔投诉(件)")
    cols = ["label", "numerator", "denominator", "rate", "expected", "p_high", "p_low", "flag_zh"]
    table = f.units.sort_values("rate", ascending=False)[cols]
    return Section(text, table, {"label": "支行", "numerator": "投诉量(件)", "denominator": "金融交易(笔)", "rate": "每万笔投诉", "expected": "按全行水平应有(件)",
                                 "p_high": "P(≥实际)" + ("（已调整）" if od.applied else ""), "p_low": "P(≤实际)" + ("（已调整）" if od.applied else ""),
                                 "flag_zh": "判断"},
                   {"numerator": "{:,.0f}", "denominator": "{:,.0f}", "rate": "{:.3f}", "expected": "{:.1f}", "p_high": p_value, "p_low": p_value}, fig, values={"funnel": f})


def samples(d: ComplaintData, n: int = 5, seed: int = 0) -> Section:
    """A few complaint texts, masked (names, phone, ID and card numbers)."""
    if gone := _lacking(d, "description", "不展示投诉内容样例"):
        return gone
    ex = S.examples(d.complaints, d.period, n=n, seed=seed)
    ex["channel"] = ex["channel"].map(lambda v: CHANNELS_ZH.get(v, v))
    text = f"随机抽取{len(ex)}条本期投诉的内容（已脱敏：姓名、手机号、身份证号、银行卡号均已遮盖），供了解投诉的具体情形。{NAMES_BEST_EFFORT}"
    return Section(text, ex, {"received_at": "受理时间", "channel": "受理渠道", "category": "业务类别", "cause": "投诉原因", "description": "投诉内容(已脱敏)"},
                   {"received_at": lambda v: v.strftime("%Y-%m-%d")}, values={"table": ex})


def export_excel(d: ComplaintData, path) -> Section:
    """Write the unit figures and tests to an Excel workbook (counts only, no texts)."""
    if gone := _lacking(d, "unit_id", "各支行投诉数据不导出"):
        return gone
    u = _units(d)
    t = S.change_tests(u, S.bank_totals(d.complaints, d.business, d.outlets, d.period))
    sheets = {
        "支行投诉": u.rename(columns={"unit": "支行编号", "unit_name": "支行", "outlets": "网点数", "complaints": "本期投诉", "complaints_prev": "上年同期投诉",
                                     "responsible": "有责", "major": "重大", "escalated": "越级", "major_responsible": "重大有责", "transactions": "本期金融交易",
                                     "transactions_prev": "上年同期金融交易", "per_outlet": "点均投诉", "per_10k": "每万笔投诉", "per_10k_prev": "上年每万笔投诉",
                                     "increment": "投诉增量", "increment_per_outlet": "点均投诉增量"}),
        "下降检验": t[["unit", "unit_name", "k1", "e1", "k2", "e2", "rate1", "rate2", "rate_ratio", "ci_low", "ci_high", "p_less", "p_greater", "q_value", "verdict_zh"]].rename(
            columns={"unit": "支行编号", "unit_name": "支行", "k1": "上年同期投诉", "e1": "上年同期交易", "k2": "本期投诉", "e2": "本期交易", "rate1": "上年每万笔",
                     "rate2": "本期每万笔", "rate_ratio": "率比", "ci_low": "单侧95%下限", "ci_high": "单侧95%上限", "p_less": "p值(下降)", "p_greater": "p值(上升)",
                     "q_value": "q值", "verdict_zh": "结论"}).replace([np.inf, -np.inf], np.nan),
    }
    floats = {str(c): "#,##0.000" for df in sheets.values() for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    write_sheets(path, sheets, formats=floats, widths={str(c): 14 for df in sheets.values() for c in df.columns})
    return Section(f"各支行投诉数据与检验结果已导出到 `{path.name}`（只含计数，不含投诉内容）。", values={"path": path})

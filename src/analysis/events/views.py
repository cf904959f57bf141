"""What the service-event notebooks show (06 waiting times, 07 call centre, 08 teller ratings).

Each function is one notebook section: it runs the aggregation on the clean Parquet table (through
``config.table_path``), adds names and targets, and returns a :class:`Finding` -- the table at full
precision, a plain-language sentence generated from it, and a display with Chinese column titles and
rounded numbers. Nothing here draws; the figures are in :mod:`analysis.plots.events`.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import MissingInputError
from analysis.report import display

CENTER_NAMES = {"95599": "95599客服中心", "credit_card": "信用卡中心", "anonymous_bank": "Anonymous Bank 呼叫中心"}
WEEKDAYS_ZH = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
BUSINESS_ZH = {"high_counter": "高柜", "low_counter": "低柜", "vip": "贵宾"}

# The targets are never constants here: every threshold comes from the targets file
# (:func:`event_targets`, through ``analysis.targets.level_target``).

TITLES = {
    "outlet_id": "网点编号", "outlet_name": "网点", "sub_branch_name": "所属支行", "center_name": "中心",
    "business_type": "业务类型", "date": "日期", "month": "月份", "hour": "时段", "weekday": "星期", "slot": "时段",
    "tickets": "取号数", "called": "已叫号", "left": "未叫号离开", "mean_wait": "平均等候（分钟）",
    "p90_wait": "90%客户等候不超过（分钟）", "over_10min": "等候超10分钟（笔）", "share_over_10min": "等候超10分钟占比",
    "meets_target": "达标", "offered": "转人工来电", "answered": "人工接通", "answered_in_threshold": "20秒内接通",
    "abandoned": "放弃", "answer_rate": "接通率", "service_level": "20秒服务水平", "abandon_rate": "放弃率",
    "mean_wait_answered": "接通前平均等待（秒）", "answer_rate_target": "接通率目标", "service_level_target": "服务水平目标",
    "answer_rate_met": "接通率达标", "service_level_met": "服务水平达标", "days": "天数", "days_answer_met": "接通率达标天数",
    "days_service_met": "服务水平达标天数", "transactions": "交易笔数", "rated": "评价笔数", "rating_rate": "评价率",
    "satisfied": "满意笔数", "satisfaction": "满意度", "outlets": "网点数", "calls": "来电", "offered_calls": "转人工来电（估）",
    "offered_load": "话务量（爱尔兰）", "agents_a": "所需坐席（Erlang A）", "answer_rate_a": "接通率（A）",
    "service_level_a": "20秒服务水平（A）", "abandon_a": "放弃率（A）", "agents_c": "所需坐席（Erlang C）",
    "service_level_c": "20秒服务水平（C）", "answer_rate_a_at_c": "按C配置时的接通率（A）",
}  # fmt: skip
PERCENT = {"share_over_10min", "answer_rate", "service_level", "abandon_rate", "answer_rate_target", "service_level_target",
           "rating_rate", "satisfaction", "answer_rate_a", "service_level_a", "abandon_a", "service_level_c", "answer_rate_a_at_c"}  # fmt: skip
ONE_DECIMAL = {"mean_wait", "p90_wait", "mean_wait_answered", "offered_load", "offered_calls"}


@dataclass
class Finding:
    """A notebook section's result: ``table`` (full precision, canonical column names), ``sentence``
    (plain language, from the data) and, in a notebook, a display with Chinese titles."""

    sentence: str
    table: pd.DataFrame
    show: list[str] = field(default_factory=list)  # columns to display (default: all)
    extra: dict = field(default_factory=dict)  # anything else a figure needs (targets, ...)
    limit: int | None = None  # rows shown in the notebook (the export has them all)

    def display_frame(self, limit: int | None = None) -> pd.DataFrame:
        cols = self.show or list(self.table.columns)
        d = self.table[cols].copy()
        if limit:
            d = d.head(limit)
        for c in d.columns:
            if c == "date":
                d[c] = pd.to_datetime(d[c]).dt.strftime("%Y-%m-%d")
            elif c == "weekday":
                d[c] = d[c].map(WEEKDAYS_ZH)
            elif c == "business_type":
                d[c] = d[c].map(lambda v: BUSINESS_ZH.get(v, v))
            elif d[c].dtype == bool:
                d[c] = d[c].map({True: "是", False: "否"})
        return d.rename(columns=TITLES)

    def styled(self):
        d = self.display_frame(self.limit)
        cols = self.show or list(self.table.columns)
        fmt = {}
        for c in cols:
            t = TITLES.get(c, c)
            if c in PERCENT:
                fmt[t] = lambda v: "—" if pd.isna(v) else f"{v:.1%}"
            elif c in ONE_DECIMAL:
                fmt[t] = lambda v: "—" if pd.isna(v) else f"{v:,.1f}"
            elif pd.api.types.is_integer_dtype(self.table[c]):
                fmt[t] = "{:,}"
            elif pd.api.types.is_float_dtype(self.table[c]):
                # a float column of whole numbers (a count after a merge) prints as a count, never 4.000000
                values = pd.to_numeric(self.table[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                values = values[np.isfinite(values)]
                whole = bool(len(values)) and bool((np.mod(values, 1) == 0).all())
                fmt[t] = display.count if whole else (lambda v: display.number(v, 2))
        styled = display.show_table(d, formats=fmt)
        if "sub_branch_id" in self.table.columns and "outlet_id" not in self.table.columns:
            # a row per sub-branch: its anchor (06_waiting_times.html#unit-331801), linked from its unit page
            ids = self.table["sub_branch_id"].iloc[: len(d)]
            styled = display.row_anchors(styled, [display.anchor_id("unit", i) if i else "" for i in ids])
        return styled

    def _repr_html_(self) -> str:
        note = ""
        if self.limit and len(self.table) > self.limit:
            note = f"<p><small>表中仅列出前 {self.limit} 行（共 {len(self.table)} 行），完整表格见导出的 Excel。</small></p>"
        return f"<p>{html.escape(self.sentence)}</p>" + self.styled().to_html() + note

    def __str__(self) -> str:
        return self.sentence

    def brief(self) -> Sentence:
        """Only the sentence (for sections whose table is a figure)."""
        return Sentence(self.sentence)


class Sentence(str):
    """A sentence that a notebook displays as a paragraph."""

    def _repr_markdown_(self) -> str:
        return str(self)


# ------------------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class EventTargets:
    """The thresholds notebooks 06-08 judge against, read from one targets file.

    ``wait_minutes``: the outlet_wait_mean target (at most); ``satisfaction``: the
    teller_satisfaction target (at least); ``calls``: per call centre, the call_answer_rate and
    call_service_level targets (``analysis.targets.Target``, a fixed value or a baseline plus points);
    ``threshold_s``: the service level's seconds (the targets' ``params.threshold``)."""

    source: str
    wait_minutes: float
    satisfaction: float
    calls: dict  # center -> {"answer": Target, "service": Target}
    threshold_s: float

    def fixed(self, center: str) -> tuple[float, float]:
        """(answer rate, service level) targets of ``center`` when both are fixed values (staffing
        is planned against them); an input error otherwise."""
        from analysis.errors import InputValueError

        pair = self.calls.get(center)
        if not pair or any(t.rule != "at_least" for t in pair.values()):
            raise InputValueError(f"call centre {center}: staffing needs fixed (at_least) answer-rate and service-level targets", path=self.source)
        return float(pair["answer"].value), float(pair["service"].value)


def event_targets(targets: Path | str = "") -> EventTargets:
    """The thresholds of notebooks 06-08 from a targets file ("" = the default targets file)."""
    from analysis import targets as T
    from analysis.errors import InputValueError
    from analysis.metrics import REGISTRY

    path = Path(targets) if str(targets) else T.DEFAULT_TARGETS_FILE
    tf = T.load_targets(path)
    wait = T.level_target(tf, "outlet_wait_mean", source=path)
    sat = T.level_target(tf, "teller_satisfaction", source=path)
    for t, rule in ((wait, "at_most"), (sat, "at_least")):
        if t.rule != rule:
            raise InputValueError(f"target {t.id!r}: the pages judge {t.metric} against a fixed value (rule {rule}), not {t.rule}", path=path)
    calls: dict = {}
    thresholds = set()
    for center in sorted({t.scope.center for t in tf.targets if t.scope.center}):
        pair = {"answer": T.level_target(tf, "call_answer_rate", center=center, source=path), "service": T.level_target(tf, "call_service_level", center=center, source=path)}
        for t in pair.values():
            if t.rule not in ("at_least", "baseline_plus"):
                raise InputValueError(f"target {t.id!r}: a call-centre target is a fixed value or a baseline plus points, not {t.rule}", path=path)
        thresholds.add(float(pair["service"].params.get("threshold", REGISTRY["call_service_level"].params["threshold"])))
        calls[center] = pair
    if len(thresholds) > 1:
        raise InputValueError(f"the service-level targets use different thresholds ({sorted(thresholds)} s); the call pages need one", path=path)
    threshold = thresholds.pop() if thresholds else float(REGISTRY["call_service_level"].params["threshold"])
    return EventTargets(str(path), float(wait.value), float(sat.value), calls, threshold)


def _share_text(x: float) -> str:
    """A target share as the plan writes it: 0.9 -> 90%, 0.905 -> 90.5%."""
    return f"{x * 100:g}%"


# ------------------------------------------------------------------------------------- helpers
def _pct(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def outlet_names(processed_dir: Path | str) -> pd.DataFrame:
    """outlet_id, outlet_name, sub_branch_name from the clean master data (ids alone when absent)."""
    path = config.table_path("outlets", processed_dir)
    if not path.exists():
        return pd.DataFrame(columns=["outlet_id", "outlet_name", "sub_branch_id", "sub_branch_name"])
    o = pd.read_parquet(path, columns=["outlet_id", "outlet_name", "sub_branch_id", "sub_branch_name"])
    return o.astype({"outlet_id": str, "sub_branch_id": str}).drop_duplicates("outlet_id")


def _with_names(table: pd.DataFrame, processed_dir) -> pd.DataFrame:
    names = outlet_names(processed_dir)
    out = table.astype({"outlet_id": str}).merge(names, on="outlet_id", how="left")
    out["outlet_name"] = out["outlet_name"].fillna(out["outlet_id"])
    out["sub_branch_name"] = out["sub_branch_name"].fillna("")
    out["sub_branch_id"] = out["sub_branch_id"].fillna("").astype(str)
    return out


def _source(ctx, name: str) -> Path:
    path = config.table_path(name, ctx.processed_dir)
    if not path.exists():
        raise MissingInputError(f"{path}: the clean table {name!r} is missing; run `python -m analysis clean` first")
    return path


def _quiet(fn, *args, **kwargs):
    # Rejected records are already reported by `clean`; in a notebook the count goes into the sentence.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------ 06 waiting times
def waits_by_outlet(ctx, target_minutes: float, engine: str = "duckdb", *, top: int = 20) -> Finding:
    """Per outlet over the period: tickets, mean and p90 wait, share over 10 minutes, target met
    (longest waits first; the notebook lists the ``top`` longest, the export all outlets)."""
    from analysis.events.queues import waits

    path = _source(ctx, "queue_tickets")
    per = _quiet(waits, path, engine, by=["outlet_id"], period=ctx.period).table
    total = _quiet(waits, path, engine, by=[], period=ctx.period).table
    t = _with_names(per, ctx.processed_dir)
    t["meets_target"] = t["mean_wait"] <= target_minutes
    t = t.sort_values("mean_wait", ascending=False, kind="stable").reset_index(drop=True)
    if t.empty:
        return Finding(f"{ctx.period.label_zh}：排队叫号数据中没有这一期间的记录。", t)
    worst = t.iloc[0]
    whole = total.iloc[0]
    missed = t.loc[~t["meets_target"], "outlet_name"].tolist()
    sentence = (
        f"{ctx.period.label_zh}全行共取号 {int(whole['tickets']):,} 笔，平均等候 {whole['mean_wait']:.1f} 分钟，"
        f"{_pct(whole['share_over_10min'])} 的客户等候超过 10 分钟；{len(t)} 个网点中 {int(t['meets_target'].sum())} 个"
        f"达到“平均等候不超过 {target_minutes:g} 分钟”的目标。等候最长的是{worst['outlet_name']}："
        f"平均 {worst['mean_wait']:.1f} 分钟，90% 的客户在 {worst['p90_wait']:.1f} 分钟内被叫号。"
    )
    if 0 < len(missed) <= 5:
        sentence += f"未达标的网点：{'、'.join(missed)}。"
    show = ["outlet_name", "sub_branch_name", "tickets", "called", "mean_wait", "p90_wait", "share_over_10min", "meets_target"]
    return Finding(sentence, t, show, {"target": target_minutes, "whole": whole}, limit=top)


def waits_by_sub_branch(outlets: Finding) -> Finding:
    """The outlets pooled by sub-branch (ratios of sums: every ticket counts once; the 90th
    percentile cannot be pooled and is left out)."""
    t = outlets.table
    target = outlets.extra["target"]
    from analysis.metrics import pooled_mean_wait

    t = t.assign(sub_branch_name=t["sub_branch_name"].replace("", "（未知支行）"))
    g = (
        t.groupby(["sub_branch_id", "sub_branch_name"], sort=True)
        .agg(outlets=("outlet_id", "size"), tickets=("tickets", "sum"), called=("called", "sum"), over_10min=("over_10min", "sum"))
        .reset_index()
    )
    g["mean_wait"] = g["sub_branch_id"].map(pooled_mean_wait(t, "sub_branch_id"))  # the registry's one definition
    g["share_over_10min"] = g["over_10min"] / g["called"]
    g["meets_target"] = g["mean_wait"] <= target
    g = g.sort_values("mean_wait", ascending=False, kind="stable").reset_index(drop=True)
    if g.empty:
        return Finding("没有记录。", g)
    worst, best = g.iloc[0], g.iloc[-1]
    sentence = (
        f"按支行汇总：{len(g)} 个支行中 {int(g['meets_target'].sum())} 个平均等候不超过 {target:g} 分钟；"
        f"最长的是{worst['sub_branch_name']}（{worst['mean_wait']:.1f} 分钟，超 10 分钟 {_pct(worst['share_over_10min'])}），"
        f"最短的是{best['sub_branch_name']}（{best['mean_wait']:.1f} 分钟）。"
    )
    return Finding(sentence, g, ["sub_branch_name", "outlets", "tickets", "mean_wait", "share_over_10min", "meets_target"], {"target": target})


def waits_by_business_type(ctx, engine: str = "duckdb") -> Finding:
    """Whole bank by business type (high counter, low counter, VIP), with every outlet x business
    type in ``extra["by_outlet"]`` (for the figure and the export)."""
    from analysis.events.queues import waits

    path = _source(ctx, "queue_tickets")
    per = _with_names(_quiet(waits, path, engine, by=["outlet_id", "business_type"], period=ctx.period).table, ctx.processed_dir)
    kinds = _quiet(waits, path, engine, by=["business_type"], period=ctx.period).table
    order = {k: i for i, k in enumerate(BUSINESS_ZH)}
    kinds = kinds.sort_values("business_type", key=lambda s: s.map(order).fillna(len(order))).reset_index(drop=True)
    parts = [f"{BUSINESS_ZH.get(r.business_type, r.business_type)}平均 {r.mean_wait:.1f} 分钟（超 10 分钟 {_pct(r.share_over_10min)}）" for r in kinds.itertuples()]
    sentence = f"{ctx.period.label_zh}按业务类型：" + "，".join(parts) + "。" if parts else "没有记录。"
    per = per.sort_values(["sub_branch_name", "outlet_name", "business_type"]).reset_index(drop=True)
    outlet_view = Finding(sentence, per, ["outlet_name", "sub_branch_name", "business_type", "tickets", "mean_wait", "p90_wait", "share_over_10min"])
    return Finding(sentence, kinds, ["business_type", "tickets", "called", "mean_wait", "p90_wait", "share_over_10min"], {"by_outlet": outlet_view})


def waits_heatmap(ctx, engine: str = "duckdb") -> Finding:
    """Mean wait by weekday x hour of the ticket over the period (all outlets)."""
    from analysis.events.queues import waits

    t = _quiet(waits, _source(ctx, "queue_tickets"), engine, by=["weekday", "hour"], period=ctx.period).table
    if t.empty:
        return Finding("没有记录。", t)
    busy = t[t["tickets"] >= max(30, t["tickets"].quantile(0.25))]
    peak = (busy if len(busy) else t).sort_values("mean_wait", ascending=False).iloc[0]
    sentence = (
        f"等候最长的时段是{WEEKDAYS_ZH[int(peak['weekday'])]} {int(peak['hour'])}:00–{int(peak['hour']) + 1}:00，"
        f"平均 {peak['mean_wait']:.1f} 分钟（{int(peak['tickets']):,} 笔）。颜色越深等候越久；空白格没有取号。"
    )
    return Finding(sentence, t, ["weekday", "hour", "tickets", "mean_wait", "share_over_10min"])


def waits_monthly(ctx, target_minutes: float, engine: str = "duckdb") -> Finding:
    """Whole bank per month: mean wait against the target and the share of customers over 10 minutes."""
    from analysis.events.queues import waits

    t = _quiet(waits, _source(ctx, "queue_tickets"), engine, by=["month"], period=ctx.period).table
    t["meets_target"] = t["mean_wait"] <= target_minutes
    if t.empty:
        return Finding("没有记录。", t)
    hi = t.sort_values("share_over_10min", ascending=False).iloc[0]
    sentence = (
        f"{len(t)} 个月中有 {int(t['meets_target'].sum())} 个月全行平均等候不超过 {target_minutes:g} 分钟；"
        f"等候超 10 分钟的客户占比最高的是 {hi['month']}（{_pct(hi['share_over_10min'])}），"
        f"最近一个月 {t['month'].iloc[-1]} 为 {_pct(t['share_over_10min'].iloc[-1])}。"
    )
    return Finding(sentence, t, ["month", "tickets", "mean_wait", "p90_wait", "share_over_10min", "meets_target"], {"target": target_minutes})


# ------------------------------------------------------------------------------- 07 call centre
def call_targets(ctx, goals: EventTargets, engine: str = "duckdb") -> pd.DataFrame:
    """Per center of the targets file: the answer-rate and service-level targets. A fixed target is
    its value; a baseline target is the centre's value in the baseline period plus the target's
    points (capped at 100%; empty without baseline data)."""
    from analysis.events.callcentre import calls
    from analysis.periods import Period

    base_cache: dict[str, pd.DataFrame] = {}

    def baseline(period: str) -> pd.DataFrame:
        if period not in base_cache:
            r = _quiet(calls, _source(ctx, "calls"), engine, goals.threshold_s, by=["center"], period=Period.parse(period))
            base_cache[period] = r.table.set_index("center")
        return base_cache[period]

    rows = []
    for center, pair in goals.calls.items():
        values, basis = [], []
        for key, column, what in (("answer", "answer_rate", "接通率"), ("service", "service_level", "服务水平")):
            t = pair[key]
            if t.rule == "at_least":
                values.append(float(t.value))
                basis.append(f"{what}固定目标")
                continue
            b = baseline(t.baseline)
            if center in b.index:
                values.append(min(1.0, float(b.loc[center, column]) + float(t.delta)))
                basis.append(f"{t.baseline}年{what} {_pct(b.loc[center, column])} +{float(t.delta) * 100:g} 个百分点")
            else:
                values.append(np.nan)
                basis.append(f"缺少{t.baseline}年数据，无法确定{what}目标")
        rows.append((center, values[0], values[1], "、".join(basis)))
    return pd.DataFrame(rows, columns=["center", "answer_rate_target", "service_level_target", "target_basis"])


def calls_summary(ctx, goals: EventTargets, engine: str = "duckdb") -> Finding:
    """Per center over the period: volumes, answer rate, 20-second service level, against targets."""
    from analysis.events.callcentre import calls

    r = _quiet(calls, _source(ctx, "calls"), engine, goals.threshold_s, by=["center"], period=ctx.period)
    targets = call_targets(ctx, goals, engine)
    t = r.table.merge(targets, on="center", how="left")
    t["center_name"] = t["center"].map(lambda c: CENTER_NAMES.get(c, c))
    t["answer_rate_met"] = t["answer_rate"] >= t["answer_rate_target"]
    t["service_level_met"] = t["service_level"] >= t["service_level_target"]
    parts = []
    for row in t.itertuples():
        state = lambda met, tgt: "无目标" if pd.isna(tgt) else ("达标" if met else "未达标")
        parts.append(
            f"{row.center_name}转人工 {row.offered:,} 通，接通率 {_pct(row.answer_rate)}（目标 {_pct(row.answer_rate_target)}，{state(row.answer_rate_met, row.answer_rate_target)}），"
            f"{goals.threshold_s:g}秒服务水平 {_pct(row.service_level)}（目标 {_pct(row.service_level_target)}，{state(row.service_level_met, row.service_level_target)}）"
        )
    sentence = f"{ctx.period.label_zh}：" + "；".join(parts) + "。" if parts else "没有呼叫记录。"
    show = ["center_name", "offered", "answered", "abandoned", "answer_rate", "answer_rate_target", "service_level", "service_level_target", "abandon_rate", "mean_wait_answered"]
    return Finding(sentence, t, show, {"targets": targets, "counts": r.counts})


def calls_daily(ctx, goals: EventTargets, engine: str = "duckdb") -> Finding:
    """Per center x day over the period, with the targets and how many days met them."""
    from analysis.events.callcentre import calls

    t = _quiet(calls, _source(ctx, "calls"), engine, goals.threshold_s, by=["center", "date"], period=ctx.period).table
    targets = call_targets(ctx, goals, engine)
    t = t.merge(targets[["center", "answer_rate_target", "service_level_target"]], on="center", how="left")
    t["center_name"] = t["center"].map(lambda c: CENTER_NAMES.get(c, c))
    # 7-day rates from the summed counts (a ratio of sums, not a mean of daily ratios), for the trend
    t = t.sort_values(["center", "date"]).reset_index(drop=True)
    roll = t.groupby("center")[["offered", "answered", "answered_in_threshold"]].transform(lambda s: s.rolling(7, min_periods=1).sum())
    t["answer_rate_7d"] = roll["answered"] / roll["offered"]
    t["service_level_7d"] = roll["answered_in_threshold"] / roll["offered"]
    days = (
        t.assign(a=t["answer_rate"] >= t["answer_rate_target"], s=t["service_level"] >= t["service_level_target"])
        .groupby(["center", "center_name"], sort=True)
        .agg(days=("date", "size"), days_answer_met=("a", "sum"), days_service_met=("s", "sum"))
        .reset_index()
    )
    parts = [f"{r.center_name}有 {r.days_answer_met} / {r.days} 天接通率达标、{r.days_service_met} / {r.days} 天{goals.threshold_s:g}秒服务水平达标" for r in days.itertuples()]
    sentence = "按日看：" + "；".join(parts) + "。" if parts else "没有呼叫记录。"
    return Finding(sentence, days, ["center_name", "days", "days_answer_met", "days_service_met"], {"daily": t, "targets": targets})


def calls_hourly(ctx, goals: EventTargets, engine: str = "duckdb") -> Finding:
    """Per center x hour of day over the period (the daily profile)."""
    from analysis.events.callcentre import calls

    t = _quiet(calls, _source(ctx, "calls"), engine, goals.threshold_s, by=["center", "hour"], period=ctx.period).table
    t["center_name"] = t["center"].map(lambda c: CENTER_NAMES.get(c, c))
    targets = call_targets(ctx, goals, engine)
    parts = []
    for center, g in t.groupby("center_name", sort=True):
        busy = g[g["offered"] >= g["offered"].max() * 0.2]
        worst = (busy if len(busy) else g).sort_values("service_level").iloc[0]
        peak = g.sort_values("offered").iloc[-1]
        parts.append(f"{center}来电高峰在 {int(peak['hour'])} 时（{int(peak['offered']):,} 通），{goals.threshold_s:g}秒服务水平最低的时段是 {int(worst['hour'])} 时（{_pct(worst['service_level'])}）")
    sentence = "按小时看：" + "；".join(parts) + "。" if parts else "没有呼叫记录。"
    return Finding(sentence, t, ["center_name", "hour", "offered", "answer_rate", "service_level", "mean_wait_answered"], {"targets": targets})


def real_day_hourly(path: Path | str | None = None, engine: str = "duckdb") -> Finding:
    """The real Anonymous Bank day (1999-08-01, a Sunday, a working day in Israel) by hour."""
    from analysis.events.callcentre import calls

    path = Path(path) if path else config.RAW_DIR / "anonymous_bank" / "calls_one_day.csv"
    r = _quiet(calls, path, engine, by=["center", "hour"], format="anonymous-bank")
    t = r.table.assign(center_name=CENTER_NAMES["anonymous_bank"])
    whole = _quiet(calls, path, engine, by=[], format="anonymous-bank").table.iloc[0]
    c = r.counts
    sentence = (
        f"真实数据（以色列 Anonymous Bank 呼叫中心 1999 年的一天）：{c['records']:,} 通来电中 {c['excluded']:,} 通不计入"
        f"（虚拟呼叫或未转人工），{c['rejected']:,} 通记录不完整被剔除；转人工 {int(whole['offered']):,} 通，"
        f"接通率 {_pct(whole['answer_rate'])}，20秒服务水平 {_pct(whole['service_level'])}，"
        f"接通前平均等待 {whole['mean_wait_answered']:.0f} 秒；{int(whole['skew_clamped']):,} 通因系统时钟差（不超过 60 秒）按等待 0 秒计。"
    )
    return Finding(sentence, t, ["hour", "offered", "answered", "answer_rate", "service_level", "mean_wait_answered"], {"counts": c})


def staffing_whatif(
    day: str,
    goals: EventTargets,
    volumes_path: Path | str | None = None,
    calls_path: Path | str | None = None,
    *,
    center: str = "95599",
) -> Finding:
    """Agents needed per half hour on ``day`` of the real 1999 volumes, Erlang A against Erlang C,
    to meet ``center``'s fixed answer-rate and service-level targets (``goals``).

    Handle time, patience and the share of calls that ask for an agent are estimated from the real
    call records (:func:`analysis.events.anonymous_bank.service_parameters`)."""
    from analysis.events import anonymous_bank
    from analysis.staffing import staffing_plan

    base = config.RAW_DIR / "anonymous_bank"
    volumes_path = Path(volumes_path) if volumes_path else base / "calls_per_6min_1999.csv.gz"
    calls_path = Path(calls_path) if calls_path else base / "calls_one_day.csv"
    answer_rate, service_level = goals.fixed(center)
    threshold = goals.threshold_s
    p = anonymous_bank.service_parameters(calls_path)
    v = anonymous_bank.volumes(volumes_path, day, minutes=30)
    v["offered_calls"] = v["calls"] * p["agent_share"]
    plan = staffing_plan(
        v.rename(columns={"calls": "all_calls", "offered_calls": "calls"}), aht=p["aht"], patience=p["patience"],
        interval_seconds=1800, answer_rate=answer_rate, service_level=service_level, threshold=threshold,
    ).rename(columns={"all_calls": "calls", "calls": "offered_calls"})  # fmt: skip
    hours_a, hours_c = plan["agents_a"].sum() / 2, plan["agents_c"].sum() / 2
    busiest = plan.sort_values("offered_calls").iloc[-1]
    weekday = WEEKDAYS_ZH[pd.Timestamp(day).isoweekday()]
    sentence = (
        f"{day}（{weekday}）共 {int(v['calls'].sum()):,} 通来电，约 {p['agent_share']:.0%} 转人工。以真实记录估计的平均处理时长 "
        f"{p['aht']:.0f} 秒、平均耐心 {p['patience']:.0f} 秒计算，要做到接通率 ≥ {answer_rate:.0%} 且 {threshold:g} 秒服务水平 ≥ {service_level:.0%}，"
        f"Erlang A 全天需要 {hours_a:,.1f} 坐席·小时，高峰 {busiest['slot']} 需要 {int(busiest['agents_a'])} 人；"
        f"不考虑客户放弃的 Erlang C 需要 {hours_c:,.1f} 坐席·小时（{hours_c / hours_a - 1:+.0%}）。"
        if hours_a > 0
        else f"{day} 没有来电。"
    )
    show = ["slot", "calls", "offered_calls", "offered_load", "agents_a", "answer_rate_a", "service_level_a", "abandon_a", "agents_c", "service_level_c"]
    return Finding(sentence, plan, show, {"parameters": p, "day": day, "threshold": threshold,
                                          "targets": {"answer_rate": answer_rate, "service_level": service_level, "threshold": threshold}})


def staffing_check(whatif: Finding, patience: float = 1e9) -> Finding:
    """Erlang A with (practically) infinite patience against Erlang C, slot by slot: the same agents
    and the same service level show the Erlang A computation reduces to Erlang C."""
    from analysis.staffing import erlang_a_metrics, erlang_c_metrics

    p = whatif.extra["parameters"]
    rows = []
    for slot, calls, agents_c in whatif.table[["slot", "offered_calls", "agents_c"]].itertuples(index=False):
        lam = calls / 1800
        if lam == 0:
            continue
        a = erlang_a_metrics(int(agents_c), lam, p["aht"], patience, whatif.extra["threshold"])
        c = erlang_c_metrics(int(agents_c), lam, p["aht"], whatif.extra["threshold"])
        rows.append((slot, int(agents_c), c.service_level, a.service_level, a.p_abandon))
    t = pd.DataFrame(rows, columns=["slot", "agents_c", "service_level_c", "service_level_a_inf", "abandon_a_inf"])
    gap = (t["service_level_a_inf"] - t["service_level_c"]).abs().max() if len(t) else 0.0
    def points(x: float) -> str:  # a difference of shares in percentage points, as a reader reads it
        pp = abs(float(x)) * 100
        return "不到 0.0001 个百分点" if pp < 0.0001 else f"{pp:.4f} 个百分点"

    years = patience / (365.25 * 86400)
    sentence = (
        f"校验：把平均耐心设为 {patience:,.0f} 秒（约 {years:,.0f} 年，相当于客户从不放弃），在 {len(t)} 个有来电的时段里，"
        f"Erlang A 与 Erlang C 在同样坐席下的20秒服务水平最大相差{points(gap)}，放弃率{points(t['abandon_a_inf'].max() if len(t) else 0)}：两种算法一致。"
    )
    return Finding(sentence, t, ["slot", "agents_c", "service_level_c"], {"max_gap": gap})


# ------------------------------------------------------------------------------ 08 teller ratings
def ratings_by_outlet(ctx, target: float, engine: str = "duckdb", *, top: int = 20) -> Finding:
    """Per outlet over the period: transactions, rating rate, satisfaction, against the target
    (lowest satisfaction first; the notebook lists the ``top`` lowest, the export all outlets)."""
    from analysis.events.tellers import ratings

    path = _source(ctx, "teller_ratings")
    t = _with_names(_quiet(ratings, path, engine, by=["outlet_id"], period=ctx.period).table, ctx.processed_dir)
    whole = _quiet(ratings, path, engine, by=[], period=ctx.period).table
    t["meets_target"] = t["satisfaction"] >= target
    t = t.sort_values("satisfaction", kind="stable").reset_index(drop=True)
    if t.empty:
        return Finding(f"{ctx.period.label_zh}：没有柜员评价记录。", t)
    w = whole.iloc[0]
    low = t.iloc[0]
    low_rate = t.sort_values("rating_rate", kind="stable").iloc[0]
    sentence = (
        f"{ctx.period.label_zh}全行柜面交易 {int(w['transactions']):,} 笔，评价率 {_pct(w['rating_rate'])}，满意度 {_pct(w['satisfaction'])}"
        f"（目标 {_share_text(target)}）；{len(t)} 个网点中 {int(t['meets_target'].sum())} 个达标。满意度最低的是{low['outlet_name']}（{_pct(low['satisfaction'])}，"
        f"{int(low['rated']):,} 笔评价），评价率最低的是{low_rate['outlet_name']}（{_pct(low_rate['rating_rate'])}）。"
    )
    show = ["outlet_name", "sub_branch_name", "transactions", "rated", "rating_rate", "satisfied", "satisfaction", "meets_target"]
    return Finding(sentence, t, show, {"target": target, "whole": w}, limit=top)


def ratings_by_sub_branch(outlets: Finding) -> Finding:
    """The outlets pooled by sub-branch (ratios of sums)."""
    t = outlets.table
    target = outlets.extra["target"]
    g = (
        t.assign(sub_branch_name=t["sub_branch_name"].replace("", "（未知支行）"))
        .groupby(["sub_branch_id", "sub_branch_name"], sort=True)
        .agg(outlets=("outlet_id", "size"), transactions=("transactions", "sum"), rated=("rated", "sum"), satisfied=("satisfied", "sum"))
        .reset_index()
    )
    g["rating_rate"] = g["rated"] / g["transactions"]
    g["satisfaction"] = g["satisfied"] / g["rated"]
    g["meets_target"] = g["satisfaction"] >= target
    g = g.sort_values("satisfaction", kind="stable").reset_index(drop=True)
    if g.empty:
        return Finding("没有记录。", g)
    low, high = g.iloc[0], g.iloc[-1]
    sentence = (
        f"按支行汇总：{len(g)} 个支行中 {int(g['meets_target'].sum())} 个满意度达到 {_share_text(target)}；"
        f"最低的是{low['sub_branch_name']}（{_pct(low['satisfaction'])}），最高的是{high['sub_branch_name']}（{_pct(high['satisfaction'])}）。"
    )
    return Finding(sentence, g, ["sub_branch_name", "outlets", "transactions", "rating_rate", "satisfaction", "meets_target"], {"target": target})


def satisfaction_funnel(finding: Finding):
    """The outlets' satisfaction on a funnel around the target (chance variation of small outlets
    is not mistaken for performance). Returns an :class:`analysis.funnel.Funnel`."""
    from analysis.metrics import satisfaction_funnel as funnel

    return funnel(finding.table[finding.table["rated"] > 0], finding.extra["target"])


def satisfaction_funnel_labels(finding: Finding) -> dict:
    """The funnel figure's labels (``analysis.plots.funnel.plot_funnel`` keywords), its title naming the target."""
    return {"percent": True, "xlabel": "评价笔数", "ylabel": "满意度", "title": f"各网点满意度与 {_share_text(finding.extra['target'])} 目标"}


def ratings_monthly(ctx, target: float, engine: str = "duckdb") -> Finding:
    """Whole bank per month: rating rate and satisfaction."""
    from analysis.events.tellers import ratings

    t = _quiet(ratings, _source(ctx, "teller_ratings"), engine, by=["month"], period=ctx.period).table
    t["meets_target"] = t["satisfaction"] >= target
    if t.empty:
        return Finding("没有记录。", t)
    sentence = (
        f"{len(t)} 个月中有 {int(t['meets_target'].sum())} 个月全行满意度达到 {_share_text(target)}；评价率从 {t['month'].iloc[0]} 的 "
        f"{_pct(t['rating_rate'].iloc[0])} 到 {t['month'].iloc[-1]} 的 {_pct(t['rating_rate'].iloc[-1])}。"
    )
    return Finding(sentence, t, ["month", "transactions", "rating_rate", "satisfaction", "meets_target"], {"target": target})


def export_excel(path: Path | str, sheets: dict[str, Finding]) -> Path:
    """Write findings to one workbook (Chinese headers, frozen header row, number formats)."""
    path = Path(path)
    from analysis.report.excel import write_sheets

    formats: dict[str, str] = {}
    widths: dict[str, int] = {}
    for f in sheets.values():
        for c in f.show or list(f.table.columns):
            title = str(TITLES.get(c, c))
            formats[title] = "0.0%" if c in PERCENT else "#,##0.0" if c in ONE_DECIMAL else "#,##0" if pd.api.types.is_integer_dtype(f.table[c]) else "General"
            widths[title] = max(10, len(title) * 2)
    return write_sheets(path, {name: f.display_frame() for name, f in sheets.items()}, formats=formats, widths=widths)

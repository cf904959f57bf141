"""The three things a unit should fix first: one documented rule over three kinds of evidence.

Candidates:

- **targets**: the unit's campaign targets that are missed or at risk (``analysis.targets`` judged
  for the sub-branch alone);
- **outlets**: the unit's outlets outside their funnel limits on the worse side (complaints per
  10,000 counter transactions, share of customers waiting over 10 minutes, teller rating
  satisfaction; ``analysis.peers`` funnels against the whole bank's rate, so an outlier is beyond
  what chance allows for its volume);
- **scoring**: competition indicators where matching the best points any unit earned would add
  points (the *gain*, ``analysis.scoring.insights``); the rank that gain would give is quoted.

Every candidate gets a tier (1 = most urgent):

| tier | candidate |
| --- | --- |
| 1 | a target missed (judged at its deadline, beyond noise) |
| 2 | an outlet worse than its 99.8% funnel limit (almost surely not chance) |
| 3 | a target at risk whose actual is short of the target now |
| 4 | an indicator where matching the best adds at least 1 point |
| 5 | a target at risk although its actual meets it now (the trend or the noise puts it at risk) |
| 6 | an outlet worse than its 95% funnel limit |
| 7 | an indicator where matching the best adds at least 0.2 points |

Within a tier the larger *severity* comes first: for a target the shortfall relative to the target
(|gap| / |target|, 0 when the actual meets it), for an outlet the events beyond those expected at
the bank's rate relative to the expected count, for an indicator the gain in points. Ties keep
the order targets, outlets, scoring, then the targets file's and the scheme's order.

Picking, so that the three are different things to do:

1. *variety first*: each kind's most urgent candidate, if it is serious (tier 4 or better: a missed
   target, an outlet beyond 99.8%, a target short now, a gain of a point or more);
2. then the remaining slots down the list, at most two of one kind;
3. one item per outlet (its worst measure) throughout.

The picks are shown in tier order. Fewer than three candidates give fewer items. So a unit with an
outlier outlet, a target short of its mark and a 7-point scoring gap gets one of each, rather than
two targets; a unit with two missed targets and only a 0.3-point gain gets both targets.
"""

from __future__ import annotations

import math

import pandas as pd

KINDS = {"target": "目标", "outlet": "网点", "scoring": "计分"}
TIER_REASONS = {
    1: "目标已到期未达成",
    2: "网点超出99.8%控制限（几乎不可能是偶然）",
    3: "目标有风险，目前尚未达到",
    4: "达到全行最好水平可多得1分以上",
    5: "目标有风险（目前达到，但趋势或误差不稳）",
    6: "网点超出95%控制限",
    7: "达到全行最好水平可多得0.2分以上",
}
PROJECTION_WORDS = {"trend": "按当前趋势预计期限时", "flat": "按当前水平预计期限时", "pace": "按年初至今进度预计全年"}
MAX_PER_KIND = 2
SERIOUS_TIER = 4  # candidates up to this tier take part in the variety pass
BIG_GAIN, SMALL_GAIN = 1.0, 0.2
COLUMNS = ["order", "kind", "kind_zh", "tier", "reason", "severity", "title", "detail", "key"]


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _clears(gap: float, direction: str) -> bool:
    return gap >= 0 if direction == "higher" else gap <= 0


def target_candidates(targets: pd.DataFrame) -> list[dict]:
    """Missed and at-risk targets (rows of a ``targets.evaluate`` table with display texts)."""
    out = []
    for i, r in enumerate(targets.itertuples(index=False)):
        if r.status not in ("missed", "at risk"):
            continue
        gap, target = r.gap, r.target
        short = not _nan(gap) and not _clears(gap, r.direction) if r.rule != "tested_decrease" else (not _nan(gap) and gap >= 0)
        if r.status == "missed":
            tier = 1
        else:
            tier = 3 if short else 5
        severity = abs(gap) / abs(target) if short and not _nan(target) and target else 0.0
        detail = f"实际 {r.actual_text}，目标 {r.target_text}"
        if r.projection_text and r.projection_text != "—":
            detail += f"，{PROJECTION_WORDS.get(r.projection_basis, '预计期限时')} {r.projection_text}"
        if r.rule == "tested_decrease" and not _nan(getattr(r, "rate_ratio", float("nan"))):
            detail += f"（与上年同期之比 {r.rate_ratio:.2f}，还不能确认下降）" if r.rate_ratio < 1 else f"（与上年同期之比 {r.rate_ratio:.2f}，未下降）"
        out.append({"kind": "target", "tier": tier, "severity": float(severity), "title": f"{r.title}：{r.status_label}", "detail": detail,
                    "key": f"target:{r.target_id}", "seq": i})
    return out


def _outlet_detail(r) -> str:
    scale = 100 if r.percent else 1
    unit = "%" if r.percent else " 件/万笔"
    level = "99.8%" if "99.8" in r.flag else "95%"
    if r.measure == "complaints":
        return (f"投诉 {r.numerator:,.0f} 件，按全行水平应约 {r.expected:,.1f} 件（{r.rate:.2f}{unit}，全行 {r.target:.2f}{unit}），"
                f"超出{level}控制限")
    if r.measure == "waits":
        return (f"{r.numerator:,.0f} 位客户等候超过10分钟，占 {r.rate * scale:.1f}%，按全行水平应约 {r.expected:,.0f} 位"
                f"（全行 {r.target * scale:.1f}%），超出{level}控制限")
    return (f"满意度 {r.rate * scale:.1f}%（{r.denominator:,.0f} 笔评价），全行 {r.target * scale:.1f}%，"
            f"满意笔数比按全行水平应有的少 {r.expected - r.numerator:,.0f} 笔，低于{level}控制限")


def outlet_candidates(funnels: pd.DataFrame) -> list[dict]:
    """Outlets worse than their funnel limits (rows of the shared ``funnels`` table for one unit)."""
    out = []
    worse = funnels[funnels["direction"] == "worse"]
    for i, r in enumerate(worse.itertuples(index=False)):
        tier = 2 if "99.8" in r.flag else 6
        excess = abs(r.numerator - r.expected)
        severity = excess / r.expected if r.expected else 0.0
        verb = "偏低" if r.measure == "satisfaction" else "偏高"
        out.append({"kind": "outlet", "tier": tier, "severity": float(severity), "title": f"{r.outlet_name}：{r.title}{verb}",
                    "detail": _outlet_detail(r), "key": f"outlet:{r.outlet_id}", "seq": i})
    return out


def scoring_candidates(indicators: pd.DataFrame, rank: int) -> list[dict]:
    """Indicators where matching the bank's best points adds at least ``SMALL_GAIN`` (rows of the
    shared ``indicators`` table for one unit; ``rank``: the unit's rank now)."""
    out = []
    for i, r in enumerate(indicators.itertuples(index=False)):
        if r.gain < SMALL_GAIN:
            continue
        tier = 4 if r.gain >= BIG_GAIN else 7
        detail = f"本支行 {r.points:.1f} 分（权重 {r.weight:g} 分），全行最好 {r.best_points:.1f} 分"
        if r.loss_vs_leader > 0:
            detail += f"，比第一名少 {r.loss_vs_leader:.1f} 分"
        if r.rank_if_best < rank:
            detail += f"；做到全行最好，名次可从第 {rank} 升至第 {r.rank_if_best} 名"
        out.append({"kind": "scoring", "tier": tier, "severity": float(r.gain), "title": f"{r.name}：可多得 {r.gain:.1f} 分",
                    "detail": detail, "key": f"scoring:{r.indicator}", "seq": i})
    return out


def pick(candidates: list[dict], n: int = 3, max_per_kind: int = MAX_PER_KIND) -> pd.DataFrame:
    """Apply the rule of the module docstring to candidates (dicts with kind, tier, severity, key, seq)."""
    kind_order = {k: i for i, k in enumerate(KINDS)}
    order = lambda c: (c["tier"], -c["severity"], kind_order[c["kind"]], c["seq"])
    ranked = sorted(candidates, key=order)
    chosen: list[dict] = []
    per_kind: dict[str, int] = {}
    keys: set[str] = set()

    def take(c: dict) -> None:
        chosen.append(c)
        per_kind[c["kind"]] = per_kind.get(c["kind"], 0) + 1
        keys.add(c["key"])

    for kind in KINDS:  # 1. variety: each kind's most urgent serious candidate
        best = next((c for c in ranked if c["kind"] == kind), None)
        if best is not None and best["tier"] <= SERIOUS_TIER:
            take(best)
    chosen.sort(key=order)
    del chosen[n:]
    for c in ranked:  # 2. the remaining slots, down the list
        if len(chosen) >= n:
            break
        if c in chosen or per_kind.get(c["kind"], 0) >= max_per_kind or c["key"] in keys:
            continue
        take(c)
    chosen.sort(key=order)
    rows = [{**c, "order": i + 1, "kind_zh": KINDS[c["kind"]], "reason": TIER_REASONS[c["tier"]]} for i, c in enumerate(chosen)]
    return pd.DataFrame(rows, columns=COLUMNS)


def fix_first(targets: pd.DataFrame, funnels: pd.DataFrame, indicators: pd.DataFrame, rank: int, n: int = 3) -> pd.DataFrame:
    """The unit's ``n`` things to fix first: order, kind, tier, reason, severity, title, detail."""
    return pick(target_candidates(targets) + outlet_candidates(funnels) + scoring_candidates(indicators, rank), n)

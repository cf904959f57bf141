"""Campaign targets: loaded from ``targets/*.yaml``, measured, projected and judged for a period.

For every target and scope the evaluation gives the actual, the target value, the gap (actual -
target), one-sided bounds on the gap, a projection to the deadline and a status.

Window. A target applies to the year of its deadline, from 1 January to the deadline's month. For a
period in that year the window is the period (cut at the deadline); for a later period it is the
whole target window (the final result); for an earlier period the target has not started (n/a).
The window is *final* once it reaches the deadline's month.

Uncertainty. Event-log metrics (waiting time, calls, teller ratings), counts of awards and staffing
are exact: they count every event, so their bounds equal the value. Sample means (the satisfaction
survey, mystery-shopper checks, the service test) carry a one-sided (1 - alpha) t bound (alpha =
0.05 by default): mean ± t(1-alpha, df) · se, with se = sd/√n on n - 1 df, except for the
mystery-shopper checks, which are clustered by outlet (the same outlets are checked every round):
their se is cluster-robust (CR1, ``metrics.cluster_robust_mean``) on outlets - 1 df; and the
satisfaction survey, whose respondents are met at outlets nested in sub-branches: the export gives
sub-branch totals only, so its se is cluster-robust by sub-branch (``metrics.survey_cluster_se``) on
sub-branches - 1 df. A target set on
a baseline period compares the difference of the two means (Welch, Satterthwaite degrees of freedom
from each side's df), so the baseline's noise counts too. Complaints are a count: the tested
decrease is the exact conditional test of two Poisson rates with exposure (financial
transactions): given x1 + x0 = n complaints in the window and the same span a year earlier,
x1 ~ Binomial(n, E1/(E1+E0)) when the rate did not change; the one-sided p-value is P(X <= x1),
and the rate-ratio bounds are the Clopper-Pearson bounds mapped through RR = p/(1-p) · E0/E1
(dual to the test: p < alpha exactly when the upper bound < 1).

Bounds. Call "conservative" the bound on the bad side of the target (the lower bound for "at least",
the upper for "at most" and for a decrease) and "optimistic" the other; "clears" means satisfies
the target (>= / <=; strictly below for the tested decrease: p < alpha and RR < 1).

Projection (to the deadline, from the run rate so far; equal to the actual once final):
- ratios and means with a monthly series: with at least 3 months with data, a least-squares line
  through the monthly values is extended to the deadline; the projection is the value the whole
  target window would have, weighting the remaining months by the window's average volume per
  month (so it is what the actual will be when judged at the deadline). With fewer months: the
  actual (flat run rate).
- every-outlet rules: the share of outlets meeting the rule at each snapshot, with at least 3
  snapshots extended linearly to the deadline (a stock, so the value at the deadline); else the
  latest share.
- the tested decrease: the year-to-date pace with last year's seasonal shape: this year's counts and
  exposure grow to the whole window as last year's did from the same span, and are tested against
  last year's whole window (projected p-value; the projected rate ratio stays the year-to-date one).
- yearly records (the survey, awards): the actual.

Statuses (in this order):
- **n/a**: no data for the metric in the window (or its baseline), or the target's year has not
  started.
- At the deadline (final) a target is only **met** or **missed**, never "on track" or "at risk"
  (nothing is in progress any more): met when the conservative bound clears the target, or, for a
  level target, when the final value itself reaches it (whether that is beyond noise is written in
  the reason, :func:`status_reason`); a tested decrease is met only when the test finds it. Missed
  otherwise (the reason says when the miss is within noise).
- Before the deadline: **met** when the conservative bound clears the target (met beyond noise) and
  the projection clears it too (met so far, and the trend keeps it met); **on track** otherwise when
  the projection clears the target; **at risk** otherwise (the projection misses).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import stats

from analysis import config
from analysis.metrics import REGISTRY, Data, Measure, NoData, Selection, outlet_count, selection_for
from analysis.periods import Period
from analysis.yamlio import load_model

DEFAULT_TARGETS_FILE = config.TARGETS_DIR / "campaign-2016.yaml"

STATUSES = ["met", "on track", "at risk", "missed", "n/a"]
STATUS_LABELS = {"met": "达标", "on track": "进度正常", "at risk": "有风险", "missed": "未达标", "n/a": "无数据"}
RULES = ("at_least", "at_most", "baseline_plus", "baseline_times", "tested_decrease", "all_units_at_least", "count_at_least")
MIN_TREND_POINTS = 3


# ------------------------------------------------------------------------------------ the YAML model
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scope(_Strict):
    """Where a target applies. ``bank`` (the YAML string) is the whole bank; otherwise exactly one of
    ``center``, ``area``, ``sub_branch`` (one sub-branch id) or ``each: sub_branch`` (one row per
    sub-branch)."""

    center: Literal["95599", "credit_card"] | None = None
    area: Literal["urban", "county"] | None = None
    sub_branch: str | None = None
    each: Literal["sub_branch"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _bank(cls, data):
        if data == "bank" or data is None:
            return {}
        if isinstance(data, str):
            raise ValueError(f"scope must be 'bank' or a mapping with one of center, area, sub_branch, each; got {data!r}")
        if isinstance(data, dict) and isinstance(data.get("center"), int):
            data = {**data, "center": str(data["center"])}
        return data

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("center", "area", "sub_branch", "each") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"a scope names one of center, area, sub_branch, each; got {', '.join(given)}")
        return self

    @property
    def kind(self) -> str:
        if self.center:
            return "center"
        if self.area:
            return "area"
        if self.sub_branch or self.each:
            return "sub_branch"
        return "bank"

    @property
    def label(self) -> str:
        if self.center:
            return f"center {self.center}"
        if self.area:
            return f"area {self.area}"
        if self.sub_branch:
            return f"sub_branch {self.sub_branch}"
        if self.each:
            return "each sub_branch"
        return "bank"


class Quota(_Strict):
    """A whole-bank count target scaled to the units in scope by their share of the whole bank's
    outlets: value = rounding(whole_bank × outlets in scope / whole_bank_outlets). An assumption:
    ``assumption`` must say so in words, and the report repeats it."""

    whole_bank: float = Field(gt=0)
    whole_bank_outlets: int = Field(gt=0)
    rounding: Literal["ceil", "round", "floor"] = "ceil"
    assumption: str = Field(min_length=1)

    def value_for(self, outlets: int) -> float:
        raw = self.whole_bank * outlets / self.whole_bank_outlets
        return float({"ceil": math.ceil, "floor": math.floor, "round": round}[self.rounding](raw))


class Target(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    group: str
    metric: str
    params: dict[str, str | int | float] = Field(default_factory=dict)
    rule: Literal[RULES]  # type: ignore[valid-type]
    value: float | None = None
    delta: float | None = None
    factor: float | None = Field(default=None, gt=0)
    baseline: str | None = None
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    quota: Quota | None = None
    scope: Scope = Field(default_factory=Scope)
    deadline: dt.date
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        if v not in REGISTRY:
            raise ValueError(f"unknown metric {v!r}; known: {', '.join(REGISTRY)}")
        return v

    @field_validator("baseline")
    @classmethod
    def _period(cls, v):
        if v is not None:
            Period.parse(str(v))
        return None if v is None else str(v)

    @field_validator("baseline", mode="before")
    @classmethod
    def _baseline_text(cls, v):
        return str(v) if isinstance(v, int) else v

    @model_validator(mode="after")
    def _rule_fields(self):
        need = {
            "at_least": {"value"}, "at_most": {"value"}, "baseline_plus": {"delta", "baseline"},
            "baseline_times": {"factor", "baseline"}, "tested_decrease": set(), "all_units_at_least": {"value"},
            "count_at_least": set(),
        }[self.rule]
        allowed = need | ({"value", "quota"} if self.rule == "count_at_least" else set())
        for name in ("value", "delta", "factor", "baseline", "quota"):
            if name in need and getattr(self, name) is None:
                raise ValueError(f"target {self.id!r}: rule {self.rule} needs {name!r}")
            if name not in allowed and getattr(self, name) is not None:
                raise ValueError(f"target {self.id!r}: {name!r} has no meaning for rule {self.rule}")
        if self.rule == "count_at_least" and (self.value is None) == (self.quota is None):
            raise ValueError(f"target {self.id!r}: rule count_at_least needs exactly one of 'value' or 'quota'")
        spec = REGISTRY[self.metric]
        if self.scope.kind not in spec.scopes:
            raise ValueError(f"target {self.id!r}: metric {self.metric} cannot be scoped to {self.scope.label} (allowed: {', '.join(sorted(spec.scopes))})")
        unknown = set(self.params) - set(spec.params)
        if unknown:
            raise ValueError(f"target {self.id!r}: metric {self.metric} has no parameter(s) {', '.join(sorted(unknown))} (known: {', '.join(spec.params) or 'none'})")
        if self.rule == "tested_decrease" and spec.id != "complaints_95599":
            raise ValueError(f"target {self.id!r}: rule tested_decrease needs a count metric (complaints_95599)")
        if self.rule == "all_units_at_least" and spec.id not in ("lobby_staff", "service_test_score"):
            raise ValueError(f"target {self.id!r}: rule all_units_at_least needs a per-outlet metric (lobby_staff, service_test_score)")
        if self.rule == "count_at_least" and spec.unit != "count":
            raise ValueError(f"target {self.id!r}: rule count_at_least needs a count metric (award_count)")
        if self.baseline is not None and Period.parse(self.baseline).year >= self.deadline.year:
            raise ValueError(f"target {self.id!r}: baseline {self.baseline} must be before the deadline's year {self.deadline.year}")
        return self


class TargetFile(_Strict):
    name: str
    title: str
    description: str = ""
    groups: dict[str, str]  # group id -> Chinese heading
    organisation: str = Field(default="全行", min_length=1, description="what the whole organisation is called (scope: bank): 全行, 全局, 全院, 全分公司")
    metrics: dict[str, dict] = Field(default_factory=dict, description="metrics declared in YAML (analysis.declared_metrics)")
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _declare_metrics(cls, data):
        # declared metrics join the registry before the targets that name them are checked
        if isinstance(data, dict) and data.get("metrics") is not None:
            from analysis.declared_metrics import register_all

            register_all(data["metrics"])
        return data

    @model_validator(mode="after")
    def _consistent(self):
        seen: set[str] = set()
        for i, t in enumerate(self.targets):
            if t.id in seen:
                raise ValueError(f"targets.{i}.id: duplicate target id {t.id!r}")
            seen.add(t.id)
            if t.group not in self.groups:
                raise ValueError(f"targets.{i}.group: {t.group!r} is not one of the groups ({', '.join(self.groups)})")
        return self


def load_targets(path: Path | str = DEFAULT_TARGETS_FILE) -> TargetFile:
    """Load and validate a targets file; a problem raises ``ConfigError`` naming the file and field."""
    return load_model(path, TargetFile)


# ---------------------------------------------------------------------------------------- statistics
def level_target(targets: TargetFile | Path | str, metric: str, *, center: str | None = None, source: Path | str | None = None) -> Target:
    """The one target of ``targets`` set on ``metric`` for the whole bank (or for call centre
    ``center``): the figure a page judges against, so a page never holds its own copy of a threshold.

    A file without such a target, or with several, is bad input (``InputValueError`` naming the file,
    or ``source`` when ``targets`` is already loaded)."""
    from analysis.errors import InputValueError

    tf = targets if isinstance(targets, TargetFile) else load_targets(targets)
    where = source if source is not None else targets if not isinstance(targets, TargetFile) else tf.name
    found = [t for t in tf.targets if t.metric == metric and t.scope.center == center
             and (center is not None or t.scope.kind == "bank")]
    scope = f"call centre {center}" if center else "the whole organisation"
    if len(found) != 1:
        what = "no target" if not found else f"{len(found)} targets ({', '.join(t.id for t in found)})"
        raise InputValueError(f"{what} on metric {metric!r} for {scope}; a page judging {metric} needs exactly one", path=where)
    return found[0]


def rate_decrease_test(x1: float, e1: float | None, x0: float, e0: float | None, alpha: float = 0.05) -> dict:
    """Exact conditional test that the rate x1/e1 is below x0/e0 (two Poisson counts with exposures),
    in the form the target rules read: the rate ratio r1/r0, the one-sided p-value of a decrease
    (``p_value``) and of an increase (``p_increase``), and one-sided (1 - alpha) bounds on the ratio.

    The test itself is the complaints module's (:func:`analysis.complaints.stats.rate_test`): one
    implementation for the report and the targets. Its two-sided interval at confidence 1 - 2·alpha
    gives the one-sided 1 - alpha bounds. Exposures None mean equal exposure (the same span of time).
    """
    from analysis.complaints.stats import rate_test

    e1 = 1.0 if e1 is None else float(e1)
    e0 = 1.0 if e0 is None else float(e0)
    x1, x0 = int(round(x1)), int(round(x0))
    n = x1 + x0
    if n == 0 or e1 <= 0 or e0 <= 0:
        return {"rate_ratio": np.nan, "p_value": np.nan, "p_increase": np.nan, "rr_low": np.nan, "rr_high": np.nan, "n": n}
    r = rate_test(x0, e0, x1, e1, alternative="less", confidence=1 - alpha)  # ci_low/ci_high: one-sided 1 - alpha bounds
    return {"rate_ratio": r["rate_ratio"], "p_value": r["p_less"], "p_increase": r["p_greater"], "rr_low": r["ci_low"], "rr_high": r["ci_high"], "n": n}


def _t(alpha: float, df: float) -> float:
    return float(stats.t.ppf(1 - alpha, df)) if df and df > 0 else math.inf


def _noise_known(m: Measure) -> bool:
    return m.kind != "mean" or bool(m.extra.get("exact")) or m.se is not None


def _mean_bounds(m: Measure, alpha: float) -> tuple[float, float]:
    """One-sided (1 - alpha) bounds of a sample mean; the value itself when the measure is exact, and
    unbounded when its noise cannot be estimated (fewer than two observations)."""
    if m.kind != "mean" or m.extra.get("exact"):
        return m.value, m.value
    if m.se is None:
        return -math.inf, math.inf
    h = _t(alpha, m.df) * m.se
    return m.value - h, m.value + h


def _diff_halfwidth(a: Measure, b: Measure, alpha: float) -> float:
    """One-sided half-width of a - b for two independent sample means (Welch-Satterthwaite)."""
    if not (_noise_known(a) and _noise_known(b)):
        return math.inf
    va = a.se**2 if a.se is not None else 0.0
    vb = b.se**2 if b.se is not None else 0.0
    if va + vb == 0:
        return 0.0
    dof = (va + vb) ** 2 / ((va**2 / a.df if va else 0.0) + (vb**2 / b.df if vb else 0.0))
    return _t(alpha, dof) * math.sqrt(va + vb)


# ---------------------------------------------------------------------------------------- projection
def _month_index(month: str, year: int) -> int:
    y, m = month.split("-")
    return (int(y) - year) * 12 + int(m)


def trend(series: pd.DataFrame, year: int) -> tuple[float, float] | None:
    """Least-squares line (intercept, slope) through the monthly values num/den against the month
    number (1 = January of ``year``); None with fewer than ``MIN_TREND_POINTS`` months with data."""
    s = series[series["den"] > 0]
    if len(s) < MIN_TREND_POINTS:
        return None
    x = np.array([_month_index(m, year) for m in s["month"]], dtype=float)
    y = (s["num"] / s["den"]).to_numpy(dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def project_window(series: pd.DataFrame, window: Period, deadline_month: int, *, lo: float = -math.inf, hi: float = math.inf) -> tuple[float, pd.DataFrame]:
    """The value the whole target window (January to ``deadline_month``) would have if the monthly
    trend went on: observed num/den plus, for each remaining month, the trend's value (clipped to
    [lo, hi]) weighted by the window's average volume per month. Returns the projection and the
    trend's monthly values from the window's first month to the deadline (for charts); with too few
    months the projection is the actual and the frame is empty."""
    num, den = float(series["num"].sum()), float(series["den"].sum())
    actual = num / den if den else math.nan
    line = trend(series, window.year)
    remaining = list(range(window.last_month + 1, deadline_month + 1))
    if line is None:
        return actual, pd.DataFrame(columns=["month", "value"])
    a, b = line
    months = list(range(1, deadline_month + 1))
    values = np.clip([a + b * m for m in months], lo, hi)
    path = pd.DataFrame({"month": [f"{window.year}-{m:02d}" for m in months], "value": values})
    if not remaining:
        return actual, path
    per_month = den / window.last_month
    rest = values[[m - 1 for m in remaining]]
    projected = (num + float(np.sum(rest)) * per_month) / (den + per_month * len(remaining))
    return float(projected), path


# ---------------------------------------------------------------------------------------- evaluation
@dataclass
class Evaluation:
    """One row per target and scope (``table``) and the monthly values behind each row (``series``:
    row, target_id, scope_label, month, value, kind = actual | trend)."""

    period: Period
    targets: TargetFile
    table: pd.DataFrame
    series: pd.DataFrame


def target_window(target: Target, period: Period) -> tuple[Period | None, bool, str]:
    """(window, final, note): the part of the target's window the period covers."""
    year, month = target.deadline.year, target.deadline.month
    if period.year < year:
        return None, False, f"目标年度 {year} 尚未开始"
    if period.year > year:
        return Period(year, month), True, f"已过期限，按 {year} 年结果"
    last = min(period.last_month, month)
    return Period(year, last), last >= month, ""


def _clears(x: float, direction: str, strict: bool = False) -> bool:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return False
    if direction == "higher":
        return x > 0 if strict else x >= 0
    return x < 0 if strict else x <= 0


def _status(final: bool, gap: float, gap_low: float, gap_high: float, projection_gap: float, direction: str, strict: bool = False) -> str:
    """The status from the gap (actual - target), its one-sided bounds and the projection's gap; see
    the module docstring."""
    conservative, optimistic = (gap_low, gap_high) if direction == "higher" else (gap_high, gap_low)
    if final:  # a final value is met or missed; a tested decrease (strict) is met only beyond noise
        return "met" if _clears(conservative, direction, strict) or (not strict and _clears(gap, direction)) else "missed"
    if _clears(conservative, direction, strict) and _clears(projection_gap, direction, strict):
        return "met"
    if _clears(projection_gap, direction, strict):
        return "on track"
    return "at risk"


_ROW_COLUMNS = [
    "target_id", "group", "group_title", "title", "title_en", "metric", "rule", "scope", "scope_kind", "scope_label", "deadline",
    "source", "window", "final", "unit", "direction", "actual", "actual_low", "actual_high", "target", "baseline_value",
    "gap", "gap_low", "gap_high", "projection", "projection_basis", "status", "n", "p_value", "rate_ratio", "rr_low", "rr_high",
    "projected_p_value", "alpha", "note", "sentence",
]


def _base_row(tf: TargetFile, t: Target, sel: Selection | None, window: Period | None, final: bool) -> dict:
    spec = REGISTRY[t.metric]
    row = {c: np.nan for c in _ROW_COLUMNS}
    row.update(
        target_id=t.id, group=t.group, group_title=tf.groups[t.group], title=t.title, title_en=t.title_en, metric=t.metric,
        rule=t.rule, scope=t.scope.label, scope_kind=(sel.kind if sel else t.scope.kind), scope_label=(sel.label if sel else ""), deadline=t.deadline.isoformat(), source=t.source,
        window=(f"{window.year}-01…{window.last_month_label}" if window else ""), final=final, unit=spec.unit,
        direction=_direction(t), status="n/a", note="", alpha=t.alpha,
    )
    return row


def _direction(t: Target) -> str:
    if t.rule in ("at_least", "all_units_at_least", "count_at_least"):
        return "higher"
    if t.rule in ("at_most", "tested_decrease"):
        return "lower"
    return REGISTRY[t.metric].better


def _bounds_for(spec_unit: str) -> tuple[float, float]:
    if spec_unit == "share":
        return 0.0, 1.0
    if spec_unit == "points":
        return 0.0, 100.0
    return 0.0, math.inf


def _evaluate_one(tf: TargetFile, t: Target, period: Period, data: Data, sel: Selection) -> tuple[dict, list[dict]]:
    window, final, wnote = target_window(t, period)
    row = _base_row(tf, t, sel, window, final)
    notes = [wnote] if wnote else []
    series_rows: list[dict] = []
    spec = REGISTRY[t.metric]
    params = {k: v for k, v in spec.params.items() if v is not None} | dict(t.params)
    if window is None:
        row["note"] = "; ".join(notes + ([t.note] if t.note else []))
        row["sentence"] = sentence(row)
        return row, series_rows
    try:
        m = spec.compute(data, window, sel, params)
        judge = {
            "at_least": _judge_level, "at_most": _judge_level, "baseline_plus": _judge_baseline, "baseline_times": _judge_baseline,
            "tested_decrease": _judge_decrease, "all_units_at_least": _judge_all_units, "count_at_least": _judge_count,
        }[t.rule]
        judge(row, t, m, data, window, final, sel, params, series_rows)
        if m.note:
            notes.append(m.note)
    except NoData as exc:
        row["status"] = "n/a"
        notes.append(str(exc))
    if t.note:
        notes.append(t.note)
    row["note"] = "; ".join(n for n in notes if n)
    row["sentence"] = sentence(row)
    return row, series_rows


def _add_series(series_rows: list[dict], m: Measure, path: pd.DataFrame | None, target_value: float) -> None:
    if m.series is not None:
        for _, r in m.series.iterrows():
            if r["den"] > 0:
                series_rows.append({"month": r["month"], "value": r["num"] / r["den"], "kind": "actual"})
    if path is not None:
        for _, r in path.iterrows():
            series_rows.append({"month": r["month"], "value": r["value"], "kind": "trend"})


def _projection(m: Measure, window: Period, t: Target, final: bool) -> tuple[float, pd.DataFrame | None, str]:
    """(projection, trend path, basis): basis is ``final`` (the actual at the deadline), ``yearly``
    (a yearly record: the actual), ``trend`` (monthly line) or ``flat`` (too few months: the actual)."""
    if final:
        return m.value, None, "final"
    if m.series is None:
        return m.value, None, "yearly"
    lo, hi = _bounds_for(REGISTRY[t.metric].unit)
    value, path = project_window(m.series, window, t.deadline.month, lo=lo, hi=hi)
    return value, path, ("trend" if len(path) else "flat")


def _judge_level(row, t, m, data, window, final, sel, params, series_rows):
    target = float(t.value)
    low, high = _mean_bounds(m, t.alpha)
    projection, path, basis = _projection(m, window, t, final)
    row.update(actual=m.value, actual_low=low, actual_high=high, target=target, gap=m.value - target, gap_low=low - target,
               gap_high=high - target, projection=projection, projection_basis=basis, n=m.n if m.n is not None else np.nan)
    row["status"] = _status(final, row["gap"], row["gap_low"], row["gap_high"], projection - target, row["direction"])
    _add_series(series_rows, m, path, target)


def _judge_baseline(row, t, m, data, window, final, sel, params, series_rows):
    base_period = Period.parse(t.baseline)
    try:
        b = REGISTRY[t.metric].compute(data, base_period, sel, params)
    except NoData as exc:
        raise NoData(f"baseline {t.baseline}: {exc}") from None
    target = b.value + t.delta if t.rule == "baseline_plus" else b.value * t.factor
    low, high = _mean_bounds(m, t.alpha)
    gap = m.value - target
    # the target moves with the baseline's noise: bound the difference of the two means
    factor = 1.0 if t.rule == "baseline_plus" else t.factor
    scaled_b = Measure(value=b.value * factor, kind=b.kind, n=b.n, sd=(b.sd * factor if b.sd is not None else None), extra=b.extra,
                       clusters=b.clusters, cluster_se=(b.cluster_se * factor if b.cluster_se is not None else None))
    h = _diff_halfwidth(m, scaled_b, t.alpha)
    projection, path, basis = _projection(m, window, t, final)
    row.update(actual=m.value, actual_low=low, actual_high=high, target=target, baseline_value=b.value, gap=gap, gap_low=gap - h,
               gap_high=gap + h, projection=projection, projection_basis=basis, n=m.n if m.n is not None else np.nan)
    row["status"] = _status(final, gap, gap - h, gap + h, projection - target, row["direction"])
    _add_series(series_rows, m, path, target)


def _judge_decrease(row, t, m, data, window, final, sel, params, series_rows):
    spec = REGISTRY[t.metric]
    prev_window = window.previous()
    prev = spec.compute(data, prev_window, sel, params)
    if m.extra.get("per") != prev.extra.get("per"):
        # transaction volumes on one side only: compare both sides per month instead
        params = params | {"exposure": "months"}
        m, prev = spec.compute(data, window, sel, params), spec.compute(data, prev_window, sel, params)
    res = rate_decrease_test(m.count, m.exposure, prev.count, prev.exposure, t.alpha)
    if res["n"] == 0:
        raise NoData(f"no {spec.title} in {window} or {prev_window}")
    target = prev.value  # the rate to beat: last year's over the same span
    # Projection: the year-to-date pace over the whole target window, tested against last year's
    # whole window (so the rate stays the actual's; the test gains the remaining months' counts).
    if final:
        projected, proj = m.value, res
    else:
        full_prev = spec.compute(data, Period(window.year - 1, t.deadline.month), sel, params)
        # the rest of the year follows last year's seasonal shape: counts and exposure grow as last
        # year's did from this span to the whole window (the plain month ratio when last year had none)
        months = t.deadline.month / window.last_month
        count_scale = full_prev.count / prev.count if prev.count > 0 else months
        exposure_scale = full_prev.exposure / prev.exposure if prev.exposure > 0 else months
        proj = rate_decrease_test(m.count * count_scale, m.exposure * exposure_scale, full_prev.count, full_prev.exposure, t.alpha)
        projected = m.value * count_scale / exposure_scale
    row.update(actual=m.value, actual_low=np.nan, actual_high=np.nan, target=target, baseline_value=target, gap=m.value - target,
               gap_low=target * (res["rr_low"] - 1), gap_high=target * (res["rr_high"] - 1), projection=projected,
               p_value=res["p_value"], rate_ratio=res["rate_ratio"], rr_low=res["rr_low"], rr_high=res["rr_high"],
               projected_p_value=proj["p_value"], n=m.count, projection_basis=("final" if final else "pace"))
    if m.extra.get("per") == "month":
        row["unit"] = "per_month"
    # judged on the rate-ratio scale (RR - 1 < 0 is a decrease): RR_high < 1 is p < alpha (the
    # Clopper-Pearson bound is dual to the exact test), RR_low >= 1 an increase beyond noise.
    row["status"] = _status(final, res["rate_ratio"] - 1, res["rr_low"] - 1, res["rr_high"] - 1, proj["rate_ratio"] - 1, "lower", strict=True)
    row["note_extra"] = f"上年同期 {int(prev.count):,} 件"
    _add_series(series_rows, m, None, target)


def _judge_all_units(row, t, m, data, window, final, sel, params, series_rows):
    if m.units is None:
        raise NoData(f"metric {t.metric} has no per-outlet values")
    target_value = float(t.value)
    units = m.units.copy()
    units["ok"] = units["value"].ge(target_value).fillna(False).astype(bool)
    latest = units.sort_values("month").drop_duplicates("outlet_id", keep="last")
    share = float(latest["ok"].mean())
    short = latest.loc[~latest["ok"], "outlet_id"].tolist()
    by_month = units.groupby("month")["ok"].mean().reset_index()
    projection, path = share, None
    if not final and len(by_month) >= MIN_TREND_POINTS:
        x = np.array([_month_index(mo, window.year) for mo in by_month["month"]], dtype=float)
        slope, intercept = np.polyfit(x, by_month["ok"].to_numpy(dtype=float), 1)
        projection = float(np.clip(intercept + slope * t.deadline.month, 0.0, 1.0))
        months = list(range(int(x.min()), t.deadline.month + 1))
        path = pd.DataFrame({"month": [f"{window.year}-{k:02d}" for k in months], "value": np.clip(intercept + slope * np.array(months), 0, 1)})
    basis = "final" if final else ("trend" if path is not None else "flat")
    row.update(actual=share, actual_low=share, actual_high=share, target=1.0, gap=share - 1.0, gap_low=share - 1.0, gap_high=share - 1.0,
               projection=projection, projection_basis=basis, n=len(latest), unit="share")
    row["status"] = _status(final, share - 1.0, share - 1.0, share - 1.0, projection - 1.0, "higher")
    try:
        names = data.outlets().set_index(data.outlets()["outlet_id"].astype("string"))["outlet_name"].astype("string")
    except NoData:
        names = pd.Series(dtype="string")
    listed = "、".join(str(names.get(o, o)) for o in short[:8]) + (" …" if len(short) > 8 else "")
    row["note_extra"] = (f"{len(short)} 个网点未达 {target_value:g}：{listed}" if short else f"全部 {len(latest)} 个网点均达到 {target_value:g}")
    for _, r in by_month.iterrows():
        series_rows.append({"month": r["month"], "value": r["ok"], "kind": "actual"})
    if path is not None:
        for _, r in path.iterrows():
            series_rows.append({"month": r["month"], "value": r["value"], "kind": "trend"})


def _judge_count(row, t, m, data, window, final, sel, params, series_rows):
    if t.quota is not None and not sel.is_bank:
        # a whole-bank quota rounded up would ask every sub-branch or area for a full unit: not split
        row.update(actual=m.value, actual_low=m.value, actual_high=m.value, projection=m.value, projection_basis="yearly")
        row["status"] = "n/a"
        row["note_extra"] = f"全行配额不分解到{sel.label}（实际 {m.value:,.0f}）"
        return
    if t.quota is not None:
        outlets = outlet_count(data, sel)
        target = t.quota.value_for(outlets)
        row["note_extra"] = (f"假设：全行目标 {t.quota.whole_bank:g} 按网点占比 {outlets}/{t.quota.whole_bank_outlets:,} 折算为 {target:g}"
                             f"（{t.quota.rounding}）— {t.quota.assumption}")
    else:
        target = float(t.value)
    row.update(actual=m.value, actual_low=m.value, actual_high=m.value, target=target, gap=m.value - target, gap_low=m.value - target,
               gap_high=m.value - target, projection=m.value, projection_basis=("final" if final else "yearly"))
    row["status"] = _status(final, m.value - target, m.value - target, m.value - target, m.value - target, "higher")


def evaluate(targets: TargetFile | Path | str = DEFAULT_TARGETS_FILE, period: Period | str = config.DEFAULT_PERIOD,
             data: Data | Path | str | None = None, *, sub_branch: str | None = None) -> Evaluation:
    """Measure and judge every target for ``period``.

    ``data`` is a :class:`Data` or a processed folder (default: the configured one). With
    ``sub_branch``, every target is judged for that sub-branch alone: bank-wide targets are scoped to
    it, area targets to its outlets in that area, and targets on a call centre are left out."""
    tf = targets if isinstance(targets, TargetFile) else load_targets(targets)
    period = Period.parse(period)
    if not isinstance(data, Data):
        data = Data(data if data is not None else config.PROCESSED_DIR)
    rows, series = [], []
    for t in tf.targets:
        for sel in _selections(t, data, sub_branch, tf.organisation):
            if isinstance(sel, NoData):
                row = _base_row(tf, t, None, None, False)
                row["note"] = str(sel)
                row["sentence"] = sentence(row)
                rows.append(row)
                continue
            row, srows = _evaluate_one(tf, t, period, data, sel)
            extra = row.pop("note_extra", None)
            if isinstance(extra, str) and extra:
                row["note"] = "; ".join(x for x in (extra, row["note"]) if x)
                row["sentence"] = sentence(row)
            idx = len(rows)
            rows.append(row)
            series.extend({"row": idx, "target_id": t.id, "scope_label": sel.label, **r} for r in srows)
    table = pd.DataFrame(rows, columns=_ROW_COLUMNS)
    table["final"] = table["final"].astype(bool)
    ser = pd.DataFrame(series, columns=["row", "target_id", "scope_label", "month", "value", "kind"])
    return Evaluation(period=period, targets=tf, table=table, series=ser)


def _selections(t: Target, data: Data, sub_branch: str | None, organisation: str = "全行") -> list:
    kind = t.scope.kind
    try:
        if sub_branch is not None:
            if kind == "center":
                return []
            base = selection_for(data, "sub_branch", sub_branch)
            if kind == "area":
                area = selection_for(data, "area", t.scope.area)
                outs = base.outlets & area.outlets
                if not outs:
                    return []
                return [Selection(label=base.label, kind="sub_branch", outlets=outs, sub_branches=base.sub_branches)]
            if t.scope.sub_branch and t.scope.sub_branch != sub_branch:
                return []
            return [base]
        if kind == "bank":
            return [Selection(label=organisation)]
        if kind == "center":
            return [selection_for(data, "center", t.scope.center)]
        if kind == "area":
            return [selection_for(data, "area", t.scope.area)]
        if t.scope.sub_branch:
            return [selection_for(data, "sub_branch", t.scope.sub_branch)]
        ids = data.outlets()[["sub_branch_id"]].astype("string").drop_duplicates().sort_values("sub_branch_id")["sub_branch_id"]
        return [selection_for(data, "sub_branch", s) for s in ids]
    except NoData as exc:
        return [exc]


# ---------------------------------------------------------------------------------------- wording
def format_value(value: float, unit: str) -> str:
    """A target's figure with its unit, through the one formatter (never ``-0.0``, never e-notation)."""
    from analysis.report.display import count, number

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "share":
        return f"{number(value * 100, 1)}%"
    if unit == "minutes":
        return f"{number(value, 1)} 分钟"
    if unit == "points":
        return f"{number(value, 1)} 分"
    if unit == "per10k":
        return f"{number(value, 2 if abs(value) >= 10 else 3)} 件/万笔"
    if unit == "count":
        return count(value)
    if unit == "days":
        return f"{number(value, 1)} 天"
    if unit == "per_month":
        return f"{number(value, 1)} 件/月"
    return number(value, 2)


def target_text(row: dict | pd.Series) -> str:
    """How the target reads: "≥ 90.0%", "≤ 10.0 分钟", "显著低于 1.23 件/万笔"."""
    unit, rule = row["unit"], row["rule"]
    if rule == "tested_decrease":
        return f"显著低于同期 {format_value(row['target'], unit)}"
    if rule == "all_units_at_least":
        return "全部网点"
    op = "≥" if row["direction"] == "higher" else "≤"
    return f"{op} {format_value(row['target'], unit)}"


_BASIS_WORDS = {"trend": "按当前趋势预计期限时", "flat": "按当前水平预计期限时", "pace": "按年初至今进度"}
# the measures' notes name the level their noise is clustered at (metrics: mystery_shopper_mean, satisfaction_score)
_CLUSTERED = re.compile(r"误差按(网点|支行)聚类")


def sentence(row: dict | pd.Series) -> str:
    """One plain sentence: '95599接通率 91.2%（目标 ≥ 90.0%）：达标 met — 按当前趋势预计期限时 93.5%'.
    Noise bounds quoted are on the side that decides "met", and include a baseline's noise."""
    title = row["title"]
    if row.get("scope_kind") == "sub_branch" and row.get("scope_label"):
        title = f"{row['scope_label']} {title}"
    status = row["status"]
    label = f"{STATUS_LABELS[status]} {status}"
    if status == "n/a":
        return f"{title}：{label}（{row['note'] or '无数据'}）"
    unit = row["unit"]
    head = f"{title} {format_value(row['actual'], unit)}（目标 {target_text(row)}）：{label}"
    basis = row.get("projection_basis")
    if row["rule"] == "tested_decrease":
        rr, p = row["rate_ratio"], row["p_value"]
        from analysis.report.display import p_text

        tail = f"，按年初至今进度全年单侧 {p_text(row['projected_p_value'])}" if basis == "pace" else ""
        return f"{head} — 与上年同期之比 {rr:.2f}，单侧 {p_text(p)}{tail}"
    parts = []
    if row["rule"] == "all_units_at_least":
        parts.append(row["note"].split(";")[0] if row["note"] else "")
    elif not (math.isnan(row["gap_low"]) or row["gap_low"] == row["gap_high"]):
        higher = row["direction"] == "higher"
        bound = row["target"] + (row["gap_low"] if higher else row["gap_high"])
        if math.isinf(bound):
            parts.append("样本太少，无法估计抽样误差")
        else:
            clustered = _CLUSTERED.search(str(row.get("note") or ""))
            how = f"（误差按{clustered.group(1)}聚类）" if clustered else ""
            parts.append(f"单侧{(1 - row['alpha']) * 100:g}%{'下' if higher else '上'}限 {format_value(bound, unit)}{how}")
    if basis in _BASIS_WORDS:
        parts.append(f"{_BASIS_WORDS[basis]} {format_value(row['projection'], unit)}")
    parts = [x for x in parts if x]
    return head + (" — " + "，".join(parts) if parts else "")


def _distinct(actual: float, target: float, unit: str) -> tuple[str, str, str]:
    """The actual and the target formatted so that they differ on the page (88.59 vs 88.62, not 88.6
    vs 88.6): one more decimal for points, minutes and days, or shares in hundredths of a percent."""
    a, t = format_value(actual, unit), format_value(target, unit)
    if a == t and unit in ("points", "minutes", "days", "share"):
        from analysis.report.display import number

        scale, suffix = (100, "%") if unit == "share" else (1, {"points": " 分", "minutes": " 分钟", "days": " 天"}[unit])
        a, t = (f"{number(v * scale, 2)}{suffix}" for v in (actual, target))
    return a, t, unit


def status_reason(row: dict | pd.Series) -> str:
    """Why a target is at risk or missed (or cannot be judged), in the words of its sentence: the
    bound or the projection that decided it. Empty for met (beyond noise) and on track; at the deadline
    it says when a met or missed final value is within sampling noise. Shown next to the status."""
    status = row["status"]
    final = bool(row.get("final")) if row.get("final") is not None and row.get("final") == row.get("final") else False
    if final and status in ("met", "missed") and row.get("rule") != "tested_decrease":
        low, high = row.get("gap_low"), row.get("gap_high")
        if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)) and low != high:
            higher = row.get("direction") == "higher"
            conservative, optimistic = (low, high) if higher else (high, low)
            if status == "met" and not _clears(conservative, row["direction"]):
                return "已到期限：实际达到目标，但未超出抽样误差"
            if status == "missed" and _clears(optimistic, row["direction"]):
                actual, target, unit = _distinct(row["actual"], row["target"], row["unit"])
                alpha = row.get("alpha") if row.get("alpha") == row.get("alpha") and row.get("alpha") else 0.05
                bound = format_value(row["target"] + optimistic, row["unit"])
                side = f"单侧{(1 - alpha) * 100:g}%{'上' if higher else '下'}限"
                return f"已到期限：实际 {actual}{'低于' if higher else '高于'}目标 {target}，差距在抽样误差内（{side} {bound}）"
    if status in ("at risk", "missed"):
        text = row.get("sentence") or sentence(row)
        if " — " in text:
            return text.split(" — ", 1)[1]
        actual, target, unit = row.get("actual"), row.get("target"), row.get("unit")
        if actual is None or target is None or unit is None or actual != actual or target != target:
            return ""
        below = "低于" if row.get("direction") == "higher" else "高于"
        return f"{'已到期限，' if final else ''}实际 {format_value(actual, unit)} {below}目标 {format_value(target, unit)}"
    if status == "n/a":
        # the note's Chinese part where it has one (a page reads Chinese first), else its first part
        parts = [p.strip() for p in (row.get("note") or "").split(";") if p.strip()]
        chinese = [p for p in parts if any("\u4e00" <= ch <= "\u9fff" for ch in p)]
        return (chinese or parts or ["无数据"])[0]
    return ""


def status_counts(table: pd.DataFrame) -> pd.Series:
    """How many rows have each status, in the order met, on track, at risk, missed, n/a."""
    return table["status"].value_counts().reindex(STATUSES, fill_value=0).astype(int)


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The status table for readers: Chinese column titles, values formatted with their units."""
    out = pd.DataFrame({
        "分组": table["group_title"],
        "目标": table["title"],
        "范围": table["scope_label"],
        "实际": [format_value(a, u) for a, u in zip(table["actual"], table["unit"])],
        "目标值": [target_text(r) if r["status"] != "n/a" or not math.isnan(r["target"]) else "—" for _, r in table.iterrows()],
        "差距": [format_value(g, u) if not math.isnan(g) else "—" for g, u in zip(table["gap"], table["unit"])],
        "预计期限时": [format_value(p, u) for p, u in zip(table["projection"], table["unit"])],
        "期限": table["deadline"],
        "状态": [f"{STATUS_LABELS[s]} {s}" for s in table["status"]],
        "依据": [status_reason(r) for _, r in table.iterrows()],
    })
    return out


_ASCII_UNITS = {"share": "%", "minutes": " min", "points": " pts", "per10k": "/10k txn", "per_month": "/month", "count": "", "days": " d"}


def _ascii_value(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit in ("per10k",):
        return f"{value:.3f}{_ASCII_UNITS[unit]}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.1f}{_ASCII_UNITS.get(unit, '')}"


def compact_text(table: pd.DataFrame, period: Period | str) -> str:
    """A fixed-width status table for the terminal (ASCII, so columns line up)."""
    head = ["target", "scope", "actual", "target value", "projection", "status"]
    rows = []
    for _, r in table.iterrows():
        op = {"higher": ">=", "lower": "<="}[r["direction"]]
        if r["rule"] == "tested_decrease":
            tv = f"< {_ascii_value(r['target'], r['unit'])} (p<{r['alpha']:g})"
            extra = f" RR={r['rate_ratio']:.2f} p={r['p_value']:.3f}" if not math.isnan(r["rate_ratio"]) else ""
        else:
            tv = f"{op} {_ascii_value(r['target'], r['unit'])}" if not math.isnan(r["target"]) else "-"
            extra = ""
        rows.append([r["target_id"], r["scope"] if r["scope"] != "each sub_branch" else f"sub_branch {r['scope_label']}",
                     _ascii_value(r["actual"], r["unit"]), tv, _ascii_value(r["projection"], r["unit"]), r["status"] + extra])
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    lines = [f"campaign targets, period {period}"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def summary_sentence(table: pd.DataFrame, period: Period | str) -> str:
    """'截至 2016-06，15 项目标：达标 6 项、进度正常 3 项、有风险 4 项、未达标 0 项、无数据 2 项。需要关注：…'"""
    counts = status_counts(table)
    parts = "、".join(f"{STATUS_LABELS[s]} {counts[s]} 项" for s in STATUSES)
    text = f"截至 {period}，{len(table)} 项目标：{parts}。"
    watch = table[table["status"].isin(["missed", "at risk"])]
    if len(watch):
        names = "、".join(
            f"{(r['scope_label'] + ' ') if r['scope_kind'] == 'sub_branch' else ''}{r['title']}（{STATUS_LABELS[r['status']]}）"
            for _, r in watch.iterrows())
        text += f"需要关注：{names}。"
    else:
        text += "没有未达标或有风险的目标。"
    return text


def sentences_markdown(table: pd.DataFrame) -> str:
    """Every row's sentence as a Markdown list, grouped under the group headings."""
    lines = []
    for group_title, rows in table.groupby("group_title", sort=False):
        lines.append(f"**{group_title}**\n")
        lines += [f"- {s}" for s in rows["sentence"]]
        lines.append("")
    return "\n".join(lines)

"""The closed set of indicator kinds, computed for all units at once (vectorised on a DataFrame).

Every kind returns the indicator's points *per point of weight* before the cap and the floor, so that
``points = clip(per_weight x weight, floor x weight, cap x weight)`` (see :mod:`analysis.scoring.engine`).
That makes a change of weights (alternative weight sets, the Monte Carlo perturbation) a
multiplication, with the cap and floor following the weight.

"all" / whole-bank references are aggregate ratios over every unit in the table: sum of numerators
over sum of denominators, never the mean of the unit ratios. When a reference is zero or negative the
ratio means nothing: that component scores 0 for every unit and a :class:`ScoreWarning` names the
indicator, the component and the period (DOMAIN.md section 4).

Kinds (the YAML ``kind:`` of an indicator):

* ``score``: value / scale.
* ``score_mean``: mean of the non-empty columns / scale (a missing mystery-shopper round is left out).
* ``share_relative``: (num_i / den_i) / (sum num / sum den) x factor [x quality_i / quality_scale].
* ``level_increment_relative``: factor x (level_weight x rate_i / rate_all + increment_weight x inc_i / inc_all),
  rate = num / den, inc = rate - rate_prev, rate_all = sum num / sum den, inc_all = rate_all - rate_all_prev.
* ``per_outlet_increment_relative``: factor x ((v_i - v_prev_i) / B_i) / (sum (v - v_prev) / sum B).
* ``ratio_to_target``: (num_i [/ den_i]) / target.
* ``per_outlet_increment_minmax``: where the unit's per-outlet increment lies between the worst unit (0)
  and the best (1); ``better: lower`` for things that should fall (complaints).

Deductions and bonuses (``count_points``) are :func:`count_points`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.scoring import model as m

# A reference at or below this is "zero or negative". Rates lie in [0, 1] and per-outlet increments are
# counts or amounts, so anything this small is floating-point noise around zero, not a real reference.
REFERENCE_EPS = 1e-12


@dataclass(frozen=True)
class ScoreWarning:
    """Something the reader must know about a score, naming the indicator, component and period."""

    indicator: str
    component: str
    period: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.indicator} ({self.component}), period {self.period}: {self.message}"


@dataclass
class KindResult:
    per_weight: pd.Series  # points per point of weight, before cap and floor
    detail: dict[str, pd.Series] = field(default_factory=dict)  # named intermediate quantities, per unit
    warnings: list[ScoreWarning] = field(default_factory=list)


@dataclass(frozen=True)
class UnitProblem:
    """A unit whose input cannot be scored by a kind (e.g. no mystery-shopper round at all)."""

    unit_pos: int
    column: str
    message: str


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name].astype("float64")


def _const(df: pd.DataFrame, value: float) -> pd.Series:
    return pd.Series(float(value), index=df.index, dtype="float64")


def _relative(values: pd.Series, reference: float, ind, component: str, period: str, what: str, warnings: list) -> pd.Series:
    """values / reference, or 0 for every unit (with a warning) when the reference is zero or negative."""
    if not np.isfinite(reference) or reference <= REFERENCE_EPS:
        warnings.append(
            ScoreWarning(
                ind.id, component, period, "non_positive_reference",
                f"the whole-bank {what} is {reference:.6g} (zero or negative), so the {component} component scores 0 for every unit",
            )
        )
        return pd.Series(0.0, index=values.index)
    return values / reference


# ---------------------------------------------------------------------------------------- the kinds
def score(ind: m.Score, df: pd.DataFrame, period: str) -> KindResult:
    v = _col(df, ind.column)
    return KindResult(v / ind.scale, {"value": v})


def score_mean(ind: m.ScoreMean, df: pd.DataFrame, period: str) -> KindResult:
    block = df[ind.columns()].astype("float64")
    mean = block.mean(axis=1, skipna=True)
    present = block.notna().sum(axis=1)
    return KindResult(mean / ind.scale, {"mean": mean, "present": present.astype("float64")})


def share_relative(ind: m.ShareRelative, df: pd.DataFrame, period: str) -> KindResult:
    num, den = _col(df, ind.numerator), _col(df, ind.denominator)
    share = num / den
    share_all = num.sum() / den.sum()
    warnings: list[ScoreWarning] = []
    ratio = _relative(share, share_all, ind, "share", period, f"share {ind.numerator}/{ind.denominator}", warnings)
    per_weight = ind.factor * ratio
    detail = {"share": share, "share_all": _const(df, share_all), "ratio": ratio}
    if ind.quality:
        # A unit with nothing to assess (numerator 0) may leave the quality empty: its points are 0 anyway.
        q = _col(df, ind.quality).where(num != 0, 0.0) / ind.quality_scale
        per_weight = per_weight * q
        detail["quality"] = q
    return KindResult(per_weight, detail, warnings)


def level_increment_relative(ind: m.LevelIncrementRelative, df: pd.DataFrame, period: str) -> KindResult:
    num, den = _col(df, ind.numerator), _col(df, ind.denominator)
    num_p, den_p = _col(df, ind.numerator_prev), _col(df, ind.denominator_prev)
    rate, rate_prev = num / den, num_p / den_p
    inc = rate - rate_prev
    rate_all = num.sum() / den.sum()
    rate_all_prev = num_p.sum() / den_p.sum()
    inc_all = rate_all - rate_all_prev
    warnings: list[ScoreWarning] = []
    level = _relative(rate, rate_all, ind, "level", period, f"rate {ind.numerator}/{ind.denominator}", warnings)
    incr = _relative(inc, inc_all, ind, "increment", period, "increment of the rate on the previous period", warnings)
    per_weight = ind.factor * (ind.level_weight * level + ind.increment_weight * incr)
    detail = {
        "rate": rate, "rate_prev": rate_prev, "increment": inc,
        "rate_all": _const(df, rate_all), "rate_all_prev": _const(df, rate_all_prev), "increment_all": _const(df, inc_all),
        "level_ratio": level, "increment_ratio": incr,
    }
    return KindResult(per_weight, detail, warnings)


def _per_outlet_increment(df: pd.DataFrame, value: str, value_prev: str, outlets: str) -> tuple[pd.Series, float]:
    delta = _col(df, value) - _col(df, value_prev)
    b = _col(df, outlets)
    return delta / b, delta.sum() / b.sum()


def per_outlet_increment_relative(ind: m.PerOutletIncrementRelative, df: pd.DataFrame, period: str) -> KindResult:
    per_outlet, ref = _per_outlet_increment(df, ind.value, ind.value_prev, ind.outlets)
    warnings: list[ScoreWarning] = []
    ratio = _relative(per_outlet, ref, ind, "increment", period, "per-outlet increment", warnings)
    return KindResult(ind.factor * ratio, {"per_outlet_increment": per_outlet, "per_outlet_increment_all": _const(df, ref), "ratio": ratio}, warnings)


def ratio_to_target(ind: m.RatioToTarget, df: pd.DataFrame, period: str) -> KindResult:
    value = _col(df, ind.numerator)
    if ind.denominator:
        value = value / _col(df, ind.denominator)
    return KindResult(value / ind.target, {"value": value, "target": _const(df, ind.target)})


def per_outlet_increment_minmax(ind: m.PerOutletIncrementMinmax, df: pd.DataFrame, period: str) -> KindResult:
    per_outlet, ref = _per_outlet_increment(df, ind.value, ind.value_prev, ind.outlets)
    lo, hi = per_outlet.min(), per_outlet.max()
    warnings: list[ScoreWarning] = []
    if not hi > lo:
        warnings.append(ScoreWarning(ind.id, "position", period, "no_spread", "every unit has the same per-outlet increment, so every unit gets the full points"))
        pos = pd.Series(1.0, index=df.index)
    elif ind.better == "lower":
        pos = (hi - per_outlet) / (hi - lo)
    else:
        pos = (per_outlet - lo) / (hi - lo)
    return KindResult(pos, {"per_outlet_increment": per_outlet, "per_outlet_increment_all": _const(df, ref), "best": _const(df, lo if ind.better == "lower" else hi), "worst": _const(df, hi if ind.better == "lower" else lo)}, warnings)


KINDS: dict[str, Callable[..., KindResult]] = {
    "score": score,
    "score_mean": score_mean,
    "share_relative": share_relative,
    "level_increment_relative": level_increment_relative,
    "per_outlet_increment_relative": per_outlet_increment_relative,
    "ratio_to_target": ratio_to_target,
    "per_outlet_increment_minmax": per_outlet_increment_minmax,
}
if set(KINDS) != set(m.INDICATOR_KINDS):  # not an assert: it must hold under python -O too
    raise RuntimeError(f"indicator kinds without a scoring function or the reverse: {sorted(set(KINDS) ^ set(m.INDICATOR_KINDS))}")


def compute(ind, df: pd.DataFrame, period: str = "") -> KindResult:
    """Compute one indicator for every unit in ``df`` (rows = units, columns = the scheme's inputs)."""
    return KINDS[ind.kind](ind, df, period)


def check(ind, df: pd.DataFrame) -> list[UnitProblem]:
    """Unit-level problems a kind cannot score around (beyond the column rules of the inputs)."""
    problems: list[UnitProblem] = []
    if ind.kind == "score_mean":
        present = df[ind.columns()].notna().sum(axis=1).to_numpy()
        for pos in np.flatnonzero(present < ind.min_present):
            problems.append(UnitProblem(int(pos), ", ".join(ind.columns()), f"{ind.id}: needs at least {ind.min_present} of these columns filled, found {int(present[pos])}"))
    return problems


def count_points(item: m.CountPoints, df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(points, events) of a deduction or bonus: sum of count x points per event, capped at max_points."""
    points = pd.Series(0.0, index=df.index)
    events = pd.Series(0.0, index=df.index)
    for col, per in item.points.items():
        c = _col(df, col).fillna(0.0)
        points = points + c * per
        events = events + c
    if item.max_points is not None:
        points = points.clip(upper=item.max_points)
    return points, events

"""Score a unit table with a scheme: points per indicator, deductions, total, rank, award eligibility.

    from analysis.scoring import load_scheme, score
    result = score(units, load_scheme("competition-2011"), period="2016")
    result.table      # unit_id, unit_name, <indicator points>, deduction, total, rank, award_eligible
    result.warnings   # ScoreWarning objects naming indicator, component and period

Rules (DOMAIN.md section 4):

* indicator points = clip(per_weight x weight, floor x weight, cap x weight); plan 2: floor 0, cap 1.2;
* total = sum of indicator points - deductions + bonuses;
* rank: highest total first; equal totals share the best rank of the tie ("min" method: 1, 2, 2, 4).
  Totals are compared after rounding to 9 decimals, so sums that are equal on paper but differ in the
  last binary digit (0.1 + 0.2 vs 0.3) share their rank;
* award eligibility: a unit with ``ineligible_at`` or more events (plan 2: 3 major responsible
  complaints or city-level-or-above media reports) is not eligible, and is still ranked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InputValueError
from analysis.scoring import kinds
from analysis.scoring.inputs import numeric_frame, validate_units
from analysis.scoring.kinds import ScoreWarning
from analysis.scoring.model import Scheme

RANK_DECIMALS = 9


@dataclass
class ScoreResult:
    scheme: Scheme
    period: str
    weights: dict[str, float]
    weight_set: str
    table: pd.DataFrame  # scheme.output_columns, one row per unit, in rank order
    per_weight: pd.DataFrame  # indexed by unit_id: points per point of weight before cap/floor, per indicator
    uncapped: pd.DataFrame  # indexed by unit_id: per_weight x weight (before cap and floor)
    events: pd.DataFrame  # indexed by unit_id: events counted by each eligibility rule
    detail: dict[str, pd.DataFrame]  # per indicator: the intermediate quantities (rates, references, ratios)
    inputs: pd.DataFrame  # the validated input, numeric
    warnings: list[ScoreWarning] = field(default_factory=list)

    @property
    def points(self) -> pd.DataFrame:
        """Indicator points indexed by unit_id (columns: indicator ids)."""
        return self.table.set_index("unit_id")[self.scheme.indicator_ids]

    @property
    def capped(self) -> pd.DataFrame:
        """True where an indicator hit its cap (the unit earned more than the cap allows)."""
        caps = pd.Series({i.id: self.scheme.cap_of(i) * self.weights[i.id] for i in self.scheme.indicators})
        return self.uncapped.gt(caps + 1e-12, axis=1)

    @property
    def floored(self) -> pd.DataFrame:
        floors = pd.Series({i.id: self.scheme.floor_of(i) * self.weights[i.id] for i in self.scheme.indicators})
        return self.uncapped.lt(floors - 1e-12, axis=1)


def caps_floors(scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    """Cap and floor multiples per indicator, in scheme order."""
    return (
        np.array([scheme.cap_of(i) for i in scheme.indicators], dtype="float64"),
        np.array([scheme.floor_of(i) for i in scheme.indicators], dtype="float64"),
    )


def apply_weights(per_weight: np.ndarray, weights: np.ndarray, caps: np.ndarray, floors: np.ndarray) -> np.ndarray:
    """Points = clip(per_weight x weight, floor x weight, cap x weight); broadcasts over leading axes.

    ``per_weight``: (..., units, indicators); ``weights``: (..., indicators) or (indicators,).
    """
    w = np.asarray(weights, dtype="float64")
    if w.ndim > 1:
        w = w[..., None, :]
    raw = per_weight * w
    return np.clip(raw, floors * w, caps * w)


def rank_totals(totals: np.ndarray | pd.Series) -> np.ndarray:
    """Ranks, highest total first, equal totals sharing the best rank ("min"); works row-wise on 2-D arrays."""
    from scipy.stats import rankdata

    t = np.round(np.asarray(totals, dtype="float64"), RANK_DECIMALS)
    return rankdata(-t, method="min", axis=-1).astype("int64")


def per_weight_matrix(scheme: Scheme, data: pd.DataFrame, period: str = "") -> tuple[pd.DataFrame, dict[str, pd.DataFrame], list[ScoreWarning]]:
    """Every indicator's points per point of weight (before cap/floor), indexed like ``data``."""
    out, detail, warnings = {}, {}, []
    for ind in scheme.indicators:
        res = kinds.compute(ind, data, period)
        out[ind.id] = res.per_weight.astype("float64")
        detail[ind.id] = pd.DataFrame(res.detail, index=data.index)
        warnings += res.warnings
    return pd.DataFrame(out, index=data.index), detail, warnings


def score(
    units: pd.DataFrame,
    scheme: Scheme,
    *,
    period: str = "",
    weight_set: str | None = None,
    weights: dict[str, float] | None = None,
    source: str = "score input",
) -> ScoreResult:
    """Score every unit. ``units`` has the scheme's input columns (one row per unit); it is validated
    first and refused with :class:`~analysis.scoring.inputs.ScoringInputError` on any problem.

    ``weight_set`` picks an alternative weight set of the scheme; ``weights`` overrides weights directly
    (every indicator, same total). The period label is only used to name it in warnings.
    """
    validate_units(units, scheme, source=source)
    data = numeric_frame(units, scheme)
    period = str(period) if period else "(unspecified)"
    if weights is None:
        w = scheme.weights(weight_set)
        set_name = weight_set or "scheme"
    else:
        if set(weights) != set(scheme.indicator_ids):
            raise InputValueError(f"weights must give every indicator of {scheme.id} exactly: {scheme.indicator_ids}")
        w = {k: float(weights[k]) for k in scheme.indicator_ids}
        set_name = "custom"

    pw, detail, warnings = per_weight_matrix(scheme, data, period)
    wvec = np.array([w[k] for k in scheme.indicator_ids])
    caps, floors = caps_floors(scheme)
    points = apply_weights(pw.to_numpy(), wvec, caps, floors)

    table = data[["unit_id", "unit_name"]].copy()
    for j, k in enumerate(scheme.indicator_ids):
        table[k] = points[:, j]
    total = points.sum(axis=1)
    for d in scheme.deductions:
        pts, _ = kinds.count_points(d, data)
        table[d.id] = pts.to_numpy()
        total = total - pts.to_numpy()
    for b in scheme.bonuses:
        pts, _ = kinds.count_points(b, data)
        table[b.id] = pts.to_numpy()
        total = total + pts.to_numpy()
    table["total"] = total
    table["rank"] = rank_totals(total)

    events = pd.DataFrame(index=data.index)
    eligible = np.ones(len(data), dtype=bool)
    for i, rule in enumerate(scheme.eligibility):
        n = data[rule.columns].fillna(0.0).sum(axis=1)
        events[f"rule_{i}"] = n
        eligible &= (n < rule.ineligible_at).to_numpy()
    table["award_eligible"] = eligible

    order = np.lexsort((np.arange(len(table)), table["rank"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)[scheme.output_columns]
    uid = data["unit_id"]
    pw.index = uid
    uncapped = pw.mul(wvec, axis=1)
    events.index = uid
    for k in detail:
        detail[k].index = uid
    return ScoreResult(scheme, period, w, set_name, table, pw, uncapped, events, detail, data.set_index(data["unit_id"].rename(None)), warnings)

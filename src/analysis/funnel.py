"""Funnel plots for comparing units' rates without mistaking noise for performance (Spiegelhalter 2005).

A unit's rate (complaints per 10,000 transactions, the share of waits over 10 minutes, the share of
satisfied ratings) is compared with a target, and judged against control limits that depend on the
unit's exposure (its denominator): a small unit's rate swings widely by chance, a large unit's does
not. Two papers define the method:

- D. J. Spiegelhalter, "Funnel plots for comparing institutional performance", Statistics in
  Medicine 24 (2005) 1185-1202: control limits from the exact binomial or Poisson distribution,
  with his interpolation between the discrete quantiles (Appendix A.1);
- D. J. Spiegelhalter, "Handling over-dispersion of performance indicators", Quality and Safety in
  Health Care 14 (2005) 347-351: z-scores, a 10% Winsorised overdispersion estimate phi, and the
  multiplicative or additive random-effects (tau squared, DerSimonian-Laird style) adjustment.

Exact limits with interpolation. For exposure n, target rate theta and probability p (0.025 and
0.975 for the 95% limits, 0.001 and 0.999 for the 99.8% ones), Y ~ Binomial(n, theta) or
Poisson(n * theta). r_p is the smallest r with P(Y <= r) >= p, and

    alpha = (P(Y <= r_p) - p) / (P(Y <= r_p) - P(Y <= r_p - 1)),   limit = (r_p - alpha) / n.

Limits are clipped to [0, 1] (binomial) or [0, inf) (Poisson).

Flags. The interpolation treats a count r as spread over the interval (r - 1, r]. A unit is flagged
only when that whole interval lies beyond the limit: above when (r - 1) / n >= upper limit, below
when r / n < lower limit. Without an overdispersion adjustment this is exactly the exact one-sided
test P(Y >= r) <= (1 - level) / 2 (above) or P(Y <= r) < (1 - level) / 2 (below), so under the
target the chance of a flag is at most the nominal 2.5% or 0.1% whatever the unit's size: a small
unit is never flagged on noise. (Flagging every point drawn beyond the curve, r / n > upper, would
not be: with 0.04 events expected, a single event lies beyond the 99.8% curve although it happens
4% of the time.) So a point may sit beyond a curve by less than one event and stay unflagged; plots
colour points by their flag. The table carries the exact p-values P(Y >= r) and P(Y <= r). For
example, 1 event in 20 transactions against a 2% target (5%, 2.5 times the target) is inside: the
95% upper limit at 20 is 8.3%; 2 events (10%) lie beyond that curve but P(Y >= 2) = 6%, still
inside; 3 events (P = 0.7%) are above 95%, 4 (P = 0.06%) above 99.8%.

Overdispersion. With many units or large exposures, real between-unit variation (case mix, local
conditions) makes far more units fall outside the limits than chance allows. z-scores
z_i = (y_i - theta) / s_i with s_i^2 = theta (1 - theta) / n_i (binomial) or theta / n_i (Poisson) are
Winsorised (the 10% most extreme at each tail set to the 10th / 90th percentile values), and
phi = mean(z_w^2). Without overdispersion I * phi is roughly chi-squared on I - 1 degrees of
freedom; the adjustment is applied only when I * phi exceeds that distribution's 1 - ``alpha`` point.

- multiplicative: s_i^2 becomes phi * s_i^2;
- additive: tau^2 = (I phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i), w_i = 1 / s_i^2, and
  s_i^2 becomes s_i^2 + tau^2.

Spiegelhalter's adjusted limits are normal ones, theta +/- z_p * s_adj. Here the exact limit's
distance from the target is widened by the same factor s_adj / s instead, so that a small unit keeps
its exact (asymmetric) limits while a large unit gets exactly Spiegelhalter's normal adjusted limits
(where the exact limits already equal the normal ones).

Nothing here draws: see ``analysis.plots.funnel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

Kind = Literal["binomial", "poisson"]
Adjustment = Literal["multiplicative", "additive"] | None

DEFAULT_LEVELS = (0.95, 0.998)
WINSOR_FRACTION = 0.10

INSIDE = "inside"
NO_EXPOSURE = "no exposure"

#: How the flags read in Chinese reports.
FLAG_LABELS = {
    INSIDE: "控制限内",
    NO_EXPOSURE: "无业务量",
}


def _level_name(level: float) -> str:
    return f"{level * 100:g}"


def limit_columns(level: float) -> tuple[str, str]:
    """Names of the lower and upper limit columns for a level: ``lower_95``, ``upper_99.8``."""
    name = _level_name(level)
    return f"lower_{name}", f"upper_{name}"


def flag_above(level: float) -> str:
    return f"above {_level_name(level)}%"


def flag_below(level: float) -> str:
    return f"below {_level_name(level)}%"


def flag_label(flag: str) -> str:
    """The Chinese reading of a flag: ``above 99.8%`` -> ``高于99.8%控制限``."""
    if flag in FLAG_LABELS:
        return FLAG_LABELS[flag]
    word, level = flag.split(" ", 1)
    return ("高于" if word == "above" else "低于") + level + "控制限"


def _check_kind(kind: str) -> None:
    if kind not in ("binomial", "poisson"):
        raise ValueError(f"kind must be 'binomial' or 'poisson', got {kind!r}")


def _check_levels(levels) -> tuple[float, ...]:
    levels = tuple(float(x) for x in levels)
    if not levels or any(not 0.5 < x < 1 for x in levels):
        raise ValueError(f"levels must lie between 0.5 and 1 (e.g. 0.95, 0.998), got {levels}")
    return levels


def _check_target(target: float, kind: str) -> float:
    target = float(target)
    if not np.isfinite(target) or target <= 0 or (kind == "binomial" and target >= 1):
        bound = "strictly between 0 and 1" if kind == "binomial" else "positive"
        raise ValueError(f"the target rate must be {bound} for a {kind} funnel, got {target}")
    return target


def _dist(kind: str, n: np.ndarray, target: float):
    return stats.binom(n, target) if kind == "binomial" else stats.poisson(n * target)


def exact_limit(n, target: float, p: float, kind: Kind = "binomial") -> np.ndarray:
    """Spiegelhalter's interpolated p-quantile of the count, divided by the exposure (a rate).

    ``n`` is an exposure or an array of exposures (positive; whole numbers for binomial).
    Not clipped: the lower limit at a tiny exposure can be negative (nobody can fall below it).
    """
    _check_kind(kind)
    n = np.asarray(n, dtype="float64")
    dist = _dist(kind, n, target)
    r = np.asarray(dist.ppf(p), dtype="float64")
    # ppf works in floating point; make sure r really is the smallest r with F(r) >= p.
    r = np.where(dist.cdf(r) < p, r + 1, r)
    r = np.where((r >= 1) & (dist.cdf(r - 1) >= p), r - 1, r)
    f_r = dist.cdf(r)
    f_below = np.where(r >= 1, dist.cdf(r - 1), 0.0)
    alpha = (f_r - p) / (f_r - f_below)
    return (r - alpha) / n


def _variance(kind: str, n: np.ndarray, target: float) -> np.ndarray:
    """Variance of the observed rate under the target, for exposure n (per 1 unit of exposure)."""
    return target * (1 - target) / n if kind == "binomial" else target / n


def _limits_at(n: np.ndarray, target: float, kind: str, levels: tuple[float, ...], inflation: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    upper_cap = 1.0 if kind == "binomial" else np.inf
    for level in levels:
        lo_name, hi_name = limit_columns(level)
        tail = (1 - level) / 2
        lo = exact_limit(n, target, tail, kind)
        hi = exact_limit(n, target, 1 - tail, kind)
        lo = target + (lo - target) * inflation
        hi = target + (hi - target) * inflation
        out[lo_name] = np.clip(lo, 0.0, upper_cap)
        out[hi_name] = np.clip(hi, 0.0, upper_cap)
    return out


@dataclass(frozen=True)
class Overdispersion:
    """The overdispersion estimate and what was done about it."""

    phi: float  # Winsorised mean squared z-score (1 = what chance alone gives)
    n_units: int  # I, the units with exposure
    statistic: float  # I * phi
    df: int  # I - 1
    p_value: float  # P(chi2 on df >= statistic): small means more spread than chance allows
    overdispersed: bool  # statistic above the chi2 (1 - alpha) point
    tau2: float  # additive between-unit variance of the rate (per 1 unit of exposure); 0 unless overdispersed
    method: str  # "none", "multiplicative" or "additive": the adjustment actually applied

    @property
    def applied(self) -> bool:
        return self.method != "none"

    def sentence(self) -> str:
        if self.n_units < 2:
            return "Too few units to estimate overdispersion."
        base = f"φ = {self.phi:.2f} over {self.n_units} units (χ² = {self.statistic:.1f} on {self.df} df, p = {self.p_value:.3g})"
        if not self.overdispersed:
            return base + ": no more spread than chance allows; exact limits used as they are."
        if self.method == "none":
            return base + ": more spread than chance allows, but no adjustment was requested."
        how = "limits widened by φ (multiplicative)" if self.method == "multiplicative" else f"limits widened by τ² = {self.tau2:.3g} (additive random effects)"
        return base + f": more spread than chance allows; {how}."


def winsorize(z, fraction: float = WINSOR_FRACTION) -> np.ndarray:
    """Set the ``fraction`` most extreme values at each end to the nearest value kept.

    With I values, k = floor(fraction * I) are replaced at each end (k = 1 for 10 to 19 values).
    """
    z = np.asarray(z, dtype="float64")
    k = int(np.floor(fraction * len(z)))
    if k == 0:
        return z.copy()
    order = np.sort(z)
    return np.clip(z, order[k], order[len(z) - k - 1])


def estimate_overdispersion(
    numerators,
    denominators,
    target: float,
    kind: Kind = "binomial",
    *,
    adjustment: Adjustment = None,
    alpha: float = 0.05,
    winsor: float = WINSOR_FRACTION,
) -> Overdispersion:
    """phi from Winsorised z-scores, the chi-squared test, and tau^2 (see the module docstring)."""
    _check_kind(kind)
    if adjustment not in (None, "multiplicative", "additive"):
        raise ValueError(f"overdispersion must be None, 'multiplicative' or 'additive', got {adjustment!r}")
    r = np.asarray(numerators, dtype="float64")
    n = np.asarray(denominators, dtype="float64")
    ok = np.isfinite(r) & np.isfinite(n) & (n > 0)
    r, n = r[ok], n[ok]
    units = len(n)
    if units < 2:
        return Overdispersion(np.nan, units, np.nan, max(units - 1, 0), np.nan, False, 0.0, "none")
    s2 = _variance(kind, n, target)
    z = (r / n - target) / np.sqrt(s2)
    phi = float(np.mean(winsorize(z, winsor) ** 2))
    statistic = units * phi
    df = units - 1
    p_value = float(stats.chi2.sf(statistic, df))
    over = bool(statistic > stats.chi2.ppf(1 - alpha, df))
    w = 1 / s2
    tau2 = max(0.0, (statistic - df) / (w.sum() - (w**2).sum() / w.sum())) if over else 0.0
    method = adjustment if (over and adjustment) else "none"
    return Overdispersion(phi, units, statistic, df, p_value, over, tau2, method)


def _inflation(kind: str, n: np.ndarray, target: float, od: Overdispersion | None) -> np.ndarray:
    if od is None or od.method == "none":
        return np.ones_like(n, dtype="float64")
    if od.method == "multiplicative":
        return np.full_like(n, np.sqrt(od.phi), dtype="float64")
    s2 = _variance(kind, n, target)
    return np.sqrt((s2 + od.tau2) / s2)


def exposure_grid(denominators, kind: Kind = "binomial", points: int = 200) -> np.ndarray:
    """Exposures spanning the units' (from a little below the smallest to a little above the largest),
    evenly spaced on a log scale; whole numbers for binomial. The units' own exposures are included."""
    n = np.asarray(denominators, dtype="float64")
    n = n[np.isfinite(n) & (n > 0)]
    if not len(n):
        raise ValueError("no positive exposure to draw limits for")
    lo, hi = n.min() * 0.8, n.max() * 1.1
    if kind == "binomial":
        lo = max(lo, 1.0)
    grid = np.geomspace(lo, max(hi, lo * 1.01), points)
    grid = np.concatenate([grid, n])
    if kind == "binomial":
        grid = np.ceil(grid)
    return np.unique(grid)


def funnel_limits(
    denominators,
    target: float,
    kind: Kind = "binomial",
    levels=DEFAULT_LEVELS,
    overdispersion: Adjustment | Overdispersion = None,
    *,
    per: float = 1.0,
    grid: bool = True,
    points: int = 200,
    numerators=None,
) -> pd.DataFrame:
    """Control limits along a grid of exposures (for drawing), or at the given exposures (grid=False).

    Returns ``exposure``, ``target`` and ``lower_<level>`` / ``upper_<level>`` columns (``lower_95``,
    ``upper_95``, ``lower_99.8``, ``upper_99.8``), as rates per ``per`` units of exposure (per=10_000
    for "per 10,000 transactions"; 1 for a share). ``overdispersion``: None for the exact limits; an
    ``Overdispersion`` (from ``estimate_overdispersion``) to apply it; or "multiplicative" /
    "additive" together with ``numerators`` to estimate it here.
    """
    _check_kind(kind)
    levels = _check_levels(levels)
    target = _check_target(target, kind)
    n = exposure_grid(denominators, kind, points) if grid else np.asarray(denominators, dtype="float64")
    if kind == "binomial" and np.any(n != np.round(n)):
        raise ValueError("binomial exposures must be whole numbers (transactions, tickets, ratings)")
    if isinstance(overdispersion, str):
        if numerators is None:
            raise ValueError("to estimate overdispersion here, pass the units' numerators as well")
        overdispersion = estimate_overdispersion(numerators, denominators, target, kind, adjustment=overdispersion)
    infl = _inflation(kind, n, target, overdispersion)
    lim = _limits_at(n, target, kind, levels, infl)
    out = pd.DataFrame({"exposure": n, "target": target * per})
    for name, values in lim.items():
        out[name] = values * per
    return out


@dataclass
class Funnel:
    """A funnel comparison: one row per unit, the limit curves for drawing, and the overdispersion."""

    units: pd.DataFrame
    limits: pd.DataFrame
    overdispersion: Overdispersion
    target: float  # per ``per`` units of exposure, like every rate here
    kind: str
    per: float
    levels: tuple[float, ...]
    higher_is_better: bool | None = None
    target_source: str = "given"  # "given" or "overall" (pooled rate of all units)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    def outside(self, level: float | None = None) -> pd.DataFrame:
        """Units flagged beyond the limits of ``level`` (default: the narrowest, e.g. 95%; a unit beyond
        99.8% is also beyond 95%), most extreme first."""
        level = min(self.levels) if level is None else level
        wider = [x for x in self.levels if x >= level]
        flags = {flag_above(x) for x in wider} | {flag_below(x) for x in wider}
        out = self.units[self.units["flag"].isin(flags)]
        return out.reindex(out["z"].abs().sort_values(ascending=False).index)


def funnel_table(
    df: pd.DataFrame,
    unit: str,
    numerator: str,
    denominator: str,
    kind: Kind = "binomial",
    *,
    target: float | None = None,
    levels=DEFAULT_LEVELS,
    overdispersion: Adjustment = "additive",
    alpha: float = 0.05,
    per: float = 1.0,
    label: str | None = None,
    higher_is_better: bool | None = None,
    points: int = 200,
) -> Funnel:
    """Compare every unit's rate numerator / denominator with a target on a funnel.

    ``df`` has one row per unit (sum events first). ``target`` is a rate per ``per`` units of exposure
    (e.g. 2.0 with per=10_000 means 2 complaints per 10,000 transactions); None uses the overall rate
    of all units together (sum of numerators / sum of denominators). ``overdispersion``: the
    adjustment to apply when the chi-squared test finds more spread than chance allows ("additive" by
    default, "multiplicative", or None never to adjust; the estimate is reported either way).
    ``label``: a column with the names to show (Chinese unit names). ``higher_is_better`` only adds a
    ``direction`` column ("better" / "worse") to the flags.

    ``Funnel.units`` columns: unit, label, numerator, denominator, rate, expected (events expected at
    the target), z (against the target, unadjusted), z_adjusted (with the applied overdispersion),
    p_high = P(Y >= numerator), p_low = P(Y <= numerator) under the target, the limits at the unit's
    exposure, flag ("inside", "above 95%", "above 99.8%", "below 95%", "below 99.8%", "no exposure";
    the widest limit crossed, by the whole-interval rule of the module docstring), flag_zh, and
    direction. Rows with an empty or zero denominator stay in the table flagged "no
    exposure"; bad values (negative, events above exposure for binomial, fractional binomial counts)
    raise ValueError naming the unit.
    """
    _check_kind(kind)
    levels = _check_levels(levels)
    for col in [unit, numerator, denominator] + ([label] if label else []):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not in the table (columns: {list(df.columns)})")
    if df[unit].duplicated().any():
        dup = df.loc[df[unit].duplicated(), unit].iloc[0]
        raise ValueError(f"unit {dup!r} appears more than once; aggregate to one row per unit first")
    r = pd.to_numeric(df[numerator], errors="coerce").astype("float64").to_numpy()
    n = pd.to_numeric(df[denominator], errors="coerce").astype("float64").to_numpy()
    ids = df[unit].to_numpy()
    bad_text = (df[numerator].notna().to_numpy() & np.isnan(r)) | (df[denominator].notna().to_numpy() & np.isnan(n))
    _refuse(ids, bad_text, "a numerator or denominator that is not a number")
    _refuse(ids, (r < 0) | (n < 0), "a negative numerator or denominator")
    has = np.isfinite(n) & (n > 0) & np.isfinite(r)
    if kind == "binomial":
        _refuse(ids, has & ((r != np.round(r)) | (n != np.round(n))), "a fractional count (binomial counts are whole numbers)")
        _refuse(ids, has & (r > n), "more events than exposure")
    _refuse(ids, ~np.isfinite(n) & np.isfinite(r) & (r > 0), "events but no denominator")
    if not has.any():
        raise ValueError("no unit has a positive denominator: nothing to compare")

    if target is None:
        theta = r[has].sum() / n[has].sum()
        target_source = "overall"
    else:
        theta = float(target) / per
        target_source = "given"
    theta = _check_target(theta, kind)

    od = estimate_overdispersion(r[has], n[has], theta, kind, adjustment=overdispersion, alpha=alpha)
    nn = np.where(has, n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = r / nn
        s2 = _variance(kind, nn, theta)
        z = (rate - theta) / np.sqrt(s2)
        if od.method == "multiplicative":
            z_adj = z / np.sqrt(od.phi)
        elif od.method == "additive":
            z_adj = (rate - theta) / np.sqrt(s2 + od.tau2)
        else:
            z_adj = z
    units = pd.DataFrame(
        {
            "unit": ids,
            "label": df[label].to_numpy() if label else ids,
            "numerator": r,
            "denominator": n,
            "rate": rate * per,
            "expected": nn * theta,
        }
    )
    units["z"] = z
    units["z_adjusted"] = z_adj
    dist_n = np.where(has, n, 1.0)
    dist = _dist(kind, dist_n, theta)
    rr = np.where(has, r, 0.0)
    units["p_high"] = np.where(has, dist.sf(rr - 1), np.nan)
    units["p_low"] = np.where(has, dist.cdf(rr), np.nan)
    lim = _limits_at(dist_n, theta, kind, levels, _inflation(kind, dist_n, theta, od))
    for name, values in lim.items():
        units[name] = np.where(has, values * per, np.nan)

    flag = np.full(len(units), INSIDE, dtype=object)
    n_safe = np.where(has, n, 1.0)
    for level in sorted(levels):  # wider levels later, so the widest limit crossed wins
        lo, hi = limit_columns(level)
        hi_count = units[hi].to_numpy() / per * n_safe
        lo_count = units[lo].to_numpy() / per * n_safe
        flag[has & (rr - 1 >= hi_count - 1e-9)] = flag_above(level)
        flag[has & (rr < lo_count - 1e-9)] = flag_below(level)
    flag[~has] = NO_EXPOSURE
    units["flag"] = flag
    units["flag_zh"] = units["flag"].map(flag_label)
    if higher_is_better is None:
        units["direction"] = ""
    else:
        good = "above" if higher_is_better else "below"
        units["direction"] = np.where(
            units["flag"].str.startswith(("above", "below")),
            np.where(units["flag"].str.startswith(good), "better", "worse"),
            "",
        )
    limits = funnel_limits(n[has], theta, kind, levels, od, per=per, points=points)
    return Funnel(
        units=units,
        limits=limits,
        overdispersion=od,
        target=theta * per,
        kind=kind,
        per=per,
        levels=levels,
        higher_is_better=higher_is_better,
        target_source=target_source,
        excluded=units[~has].copy(),
    )


def _refuse(ids, mask, what: str) -> None:
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        bad = [str(x) for x in ids[mask][:5]]
        more = f" and {mask.sum() - 5} more" if mask.sum() > 5 else ""
        raise ValueError(f"unit(s) {', '.join(bad)}{more}: {what}")

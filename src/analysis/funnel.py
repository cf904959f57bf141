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

Overdispersion (Spiegelhalter 2005, "Handling over-dispersion"; the same formulas as the NHS-R
FunnelPlotR package). With many units or large exposures, real between-unit variation (case mix,
local conditions) makes far more units fall outside the limits than chance allows. It is estimated
on a variance-stabilising scale, where the sampling variance no longer depends on the target:

- proportions (binomial): y_i = asin(sqrt(r_i / n_i)), target t = asin(sqrt(theta)), s_i = 1 / (2 sqrt(n_i));
- rates (Poisson): the ratio observed / expected, O_i = r_i, E_i = n_i theta, on the square-root
  scale: y_i = sqrt(O_i / E_i), t = 1, s_i = 1 / (2 sqrt(E_i)) (z_i = 2 (sqrt(O_i) - sqrt(E_i))).

- rates on the log scale instead (``ratio_scale="log"``, NHS Digital's SHMI method, FunnelPlotR's
  default ``sr_method = "SHMI"``): y_i = log(O_i / E_i), t = 0, s_i = 1 / sqrt(E_i)
  (z_i = sqrt(E_i) log(O_i / E_i)); every unit needs at least one event (log 0 is not a number).

z_i = (y_i - t) / s_i are Winsorised at 10% each side (values beyond the 10th / 90th percentiles,
R's default type-7 quantiles as FunnelPlotR, set to those percentiles) and phi = mean(z_w^2). The
SHMI method truncates instead (``trim="truncate"``, the default with the log scale, as FunnelPlotR):
with k = 1 / 0.1 = 10 groups, unit i of rank R_i (ties averaged) among I falls in group
floor(R_i k / (I + 1)); the units in the lowest (0) and highest (k - 1 or above) groups are left out,
and phi = mean(z^2) over the I' units kept (I' replaces I below). With I units:

- additive (random effects, DerSimonian-Laird style; the default): tau^2 = (I phi - (I - 1)) /
  (sum w_i - sum w_i^2 / sum w_i), w_i = 1 / s_i^2, when I phi > I - 1, else 0; applied whenever
  tau^2 > 0, and then s_i^2 becomes s_i^2 + tau^2 (tau^2 is on the transformed scale);
- multiplicative: applied whenever phi > 1, and then s_i^2 becomes phi s_i^2.

There is no significance test before adjusting (I phi is reported with its chi-squared p-value on
I - 1 df for information only). Adjusted limits are normal on the transformed scale, t +/- z_p s_adj,
mapped back (sin^2 for proportions, theta x (.)^2 for rates, theta x exp(.) on the log scale); an adjusted unit's flag and its p-values
(p_high = 1 - Phi(z_adjusted), p_low = Phi(z_adjusted)) come from the same z_adjusted, so the table's
p-values and flags always agree. Without an adjustment (none requested, or no overdispersion) the
exact limits, flags and p-values above are used as they are; the exact p-values are kept in
p_high_exact / p_low_exact either way.

Exact limits the FunnelPlotR way (``exact="chisq"``, rates only, in ``funnel_limits``): FunnelPlotR
draws its unadjusted standardised-ratio limits as the chi-squared (gamma) bounds
qchisq(tail, 2E) / (2E) and qchisq(1 - tail, 2(E + 1)) / (2E), E = n theta: the exact confidence
bounds for a Poisson mean as if E events had been observed. They are wider than the quantiles of
the count under the target (1.65 against 1.51 for the 95% upper limit at E = 15), so a unit inside
them may still be beyond chance; the suite's flags and tables keep the interpolated quantiles, and
this variant is for comparing with FunnelPlotR's plots.

Targets: every function takes the target as a rate per ``per`` units of exposure (2.0 with
per=10_000 is 2 complaints per 10,000 transactions; per=1 for a share).

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
RatioScale = Literal["sqrt", "log"]  # rates: Spiegelhalter / CQC square root, or the SHMI log scale
Trim = Literal["winsorise", "truncate"]
ExactLimits = Literal["interpolated", "chisq"]

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


def _limits_at(n: np.ndarray, target: float, kind: str, levels: tuple[float, ...]) -> dict[str, np.ndarray]:
    """The exact (interpolated) limits, rates per 1 unit of exposure."""
    out: dict[str, np.ndarray] = {}
    upper_cap = 1.0 if kind == "binomial" else np.inf
    for level in levels:
        lo_name, hi_name = limit_columns(level)
        tail = (1 - level) / 2
        lo = exact_limit(n, target, tail, kind)
        hi = exact_limit(n, target, 1 - tail, kind)
        out[lo_name] = np.clip(lo, 0.0, upper_cap)
        out[hi_name] = np.clip(hi, 0.0, upper_cap)
    return out


@dataclass(frozen=True)
class Overdispersion:
    """The overdispersion estimate (on the transformed scale) and what was done about it."""

    phi: float  # mean squared Winsorised z-score on the transformed scale (1 = what chance alone gives)
    n_units: int  # I, the units with exposure
    statistic: float  # I * phi
    df: int  # I - 1
    p_value: float  # P(chi2 on df >= statistic): for information; the adjustment does not wait for it
    overdispersed: bool  # I * phi > I - 1: more spread than chance allows (tau^2 > 0)
    tau2: float  # additive between-unit variance on the transformed scale; 0 unless overdispersed
    method: str  # "none", "multiplicative" or "additive": the adjustment actually applied
    scale: str = ""  # "arcsine-sqrt" (proportions), "sqrt" or "log" (observed / expected of rates)
    trim: str = "winsorise"  # "winsorise" (clip at the 10% / 90% quantiles) or "truncate" (SHMI: leave out)
    n_used: int | None = None  # units phi rests on (I' after truncation; = n_units when Winsorised)

    @property
    def applied(self) -> bool:
        return self.method != "none"

    def sentence(self) -> str:
        if self.n_units < 2:
            return "Too few units to estimate overdispersion."
        if self.trim == "truncate":
            trimmed = f"truncated at 10% each side ({self.n_used} of {self.n_units} units kept)"
        else:
            trimmed = "10% Winsorised"
        base = (f"φ = {self.phi:.2f} over {self.n_units} units on the {self.scale} scale, {trimmed} "
                f"(χ² = {self.statistic:.1f} on {self.df} df, p = {self.p_value:.3g})")
        if not self.overdispersed:
            return base + ": no more spread than chance allows; exact limits used as they are."
        if self.method == "none":
            return base + ": more spread than chance allows, but no adjustment was requested (exact limits)."
        if self.method == "multiplicative":
            how = "limits widened by φ (multiplicative)"
        else:
            how = f"limits widened by τ² = {self.tau2:.3g} (additive random effects)"
        return base + f": more spread than chance allows; {how}; flags and p-values use the adjusted limits."


def winsorize(z, fraction: float = WINSOR_FRACTION) -> np.ndarray:
    """Clip values to their ``fraction`` and 1 - ``fraction`` quantiles (linear interpolation, R's
    default type 7, as FunnelPlotR): with 25 values the 10th percentile lies between the 3rd and 4th
    smallest, so 3 values at each end move."""
    z = np.asarray(z, dtype="float64")
    if len(z) == 0 or fraction <= 0:
        return z.copy()
    lo, hi = np.quantile(z, [fraction, 1 - fraction])
    return np.clip(z, lo, hi)


def truncation_kept(z, fraction: float = WINSOR_FRACTION) -> np.ndarray:
    """The SHMI truncation (NHS Digital; FunnelPlotR's ``truncation``): True for the values kept.

    With k = 1 / fraction groups, a value of rank R (ties averaged) among I lies in group
    floor(R k / (I + 1)); groups 0 and k - 1 (or above) are left out. With 6 values no group is
    that extreme (ranks 1..6 give groups 1, 2, 4, 5, 7, 8): all are kept; with 25, ranks 1-2 and
    24-25 are left out."""
    z = np.asarray(z, dtype="float64")
    if len(z) == 0 or fraction <= 0:
        return np.ones(len(z), dtype=bool)
    k = 1 / fraction
    group = np.floor(stats.rankdata(z, method="average") * k / (len(z) + 1))
    return (group > 0) & (group < k - 1)


def _check_scale(ratio_scale: str, trim: str | None) -> str:
    if ratio_scale not in ("sqrt", "log"):
        raise ValueError(f"ratio_scale must be 'sqrt' or 'log', got {ratio_scale!r}")
    if trim is None:
        return "truncate" if ratio_scale == "log" else "winsorise"
    if trim not in ("winsorise", "truncate"):
        raise ValueError(f"trim must be 'winsorise' or 'truncate', got {trim!r}")
    return trim


def transformed(numerators, denominators, target: float, kind: Kind = "binomial", ratio_scale: RatioScale = "sqrt") -> tuple[np.ndarray, float, np.ndarray]:
    """(y, t, s): each unit's value on the variance-stabilising scale, the target there and the
    standard error there (module docstring). ``target`` per 1 unit of exposure; ``ratio_scale``
    ("sqrt" or "log") applies to rates only."""
    r = np.asarray(numerators, dtype="float64")
    n = np.asarray(denominators, dtype="float64")
    if kind == "binomial":
        return np.arcsin(np.sqrt(np.clip(r / n, 0, 1))), float(np.arcsin(np.sqrt(target))), 1 / (2 * np.sqrt(n))
    e = n * target
    if ratio_scale == "log":
        with np.errstate(divide="ignore"):
            return np.log(r / e), 0.0, 1 / np.sqrt(e)
    return np.sqrt(r / e), 1.0, 1 / (2 * np.sqrt(e))


def _back(x: np.ndarray, target: float, kind: str, ratio_scale: str = "sqrt") -> np.ndarray:
    """From the transformed scale back to a rate per 1 unit of exposure."""
    if kind == "binomial":
        return np.sin(np.clip(x, 0, np.pi / 2)) ** 2
    if ratio_scale == "log":
        return target * np.exp(x)
    return target * np.clip(x, 0, None) ** 2


def estimate_overdispersion(
    numerators,
    denominators,
    target: float,
    kind: Kind = "binomial",
    *,
    adjustment: Adjustment = None,
    alpha: float = 0.05,
    winsor: float = WINSOR_FRACTION,
    per: float = 1.0,
    ratio_scale: RatioScale = "sqrt",
    trim: Trim | None = None,
) -> Overdispersion:
    """phi from 10% Winsorised (or truncated) z-scores on the transformed scale, and tau^2 (module
    docstring).

    ``target``: a rate per ``per`` units of exposure. No significance test gates the adjustment: it
    is applied whenever tau^2 > 0 (additive) or phi > 1 (multiplicative); ``alpha`` is accepted for
    old callers and unused. ``ratio_scale`` (rates only): "sqrt" (Spiegelhalter, FunnelPlotR's
    "CQC") or "log" (SHMI); ``trim``: "winsorise" or "truncate", by default "truncate" with the
    log scale and "winsorise" otherwise, as FunnelPlotR pairs them.
    """
    _check_kind(kind)
    trim = _check_scale(ratio_scale, trim)
    if adjustment not in (None, "multiplicative", "additive"):
        raise ValueError(f"overdispersion must be None, 'multiplicative' or 'additive', got {adjustment!r}")
    theta = _check_target(float(target) / per, kind)
    r = np.asarray(numerators, dtype="float64")
    n = np.asarray(denominators, dtype="float64")
    ok = np.isfinite(r) & np.isfinite(n) & (n > 0)
    r, n = r[ok], n[ok]
    units = len(n)
    scale = "arcsine-sqrt" if kind == "binomial" else ratio_scale
    if kind == "poisson" and ratio_scale == "log" and np.any(r <= 0):
        raise ValueError("the log scale needs at least one event in every unit (log 0 is not a number); "
                         "use ratio_scale='sqrt'")
    if units < 2:
        return Overdispersion(np.nan, units, np.nan, max(units - 1, 0), np.nan, False, 0.0, "none", scale, trim, units)
    y, t, s = transformed(r, n, theta, kind, ratio_scale)
    z = (y - t) / s
    if trim == "truncate":
        kept = truncation_kept(z, winsor)
        z, s = z[kept], s[kept]
        used = int(kept.sum())
    else:
        z = winsorize(z, winsor)
        used = units
    if used < 2:
        return Overdispersion(np.nan, units, np.nan, max(used - 1, 0), np.nan, False, 0.0, "none", scale, trim, used)
    phi = float(np.mean(z**2))
    statistic = used * phi
    df = used - 1
    p_value = float(stats.chi2.sf(statistic, df))
    over = bool(statistic > df)
    w = 1 / s**2
    tau2 = max(0.0, (statistic - df) / (w.sum() - (w**2).sum() / w.sum())) if over else 0.0
    if adjustment == "additive" and tau2 > 0:
        method = "additive"
    elif adjustment == "multiplicative" and phi > 1:
        method = "multiplicative"
    else:
        method = "none"
    return Overdispersion(phi, units, statistic, df, p_value, over, tau2, method, scale, trim, used)


def _adjusted_se(s: np.ndarray, od: Overdispersion) -> np.ndarray:
    if od.method == "multiplicative":
        return s * np.sqrt(od.phi)
    return np.sqrt(s**2 + od.tau2)


def _scale_of(od: Overdispersion | None) -> str:
    return "log" if od is not None and od.scale == "log" else "sqrt"


def _limits(n: np.ndarray, target: float, kind: str, levels: tuple[float, ...], od: Overdispersion | None,
            exact: str = "interpolated") -> dict[str, np.ndarray]:
    """Limits at exposures n (rates per 1 unit): exact when nothing is applied, else normal on the
    transformed scale with the adjusted standard error."""
    if od is None or od.method == "none":
        return _chisq_limits_at(n, target, levels) if exact == "chisq" else _limits_at(n, target, kind, levels)
    ratio_scale = _scale_of(od)
    _, t, s = transformed(np.ones_like(n), n, target, kind, ratio_scale)
    se = _adjusted_se(s, od)
    out: dict[str, np.ndarray] = {}
    for level in levels:
        lo_name, hi_name = limit_columns(level)
        zq = stats.norm.ppf(1 - (1 - level) / 2)
        out[lo_name] = _back(t - zq * se, target, kind, ratio_scale)
        out[hi_name] = _back(t + zq * se, target, kind, ratio_scale)
    return out


def _chisq_limits_at(n: np.ndarray, target: float, levels: tuple[float, ...]) -> dict[str, np.ndarray]:
    """FunnelPlotR's unadjusted standardised-ratio limits (module docstring), rates per 1 unit:
    theta qchisq(tail, 2E) / (2E) and theta qchisq(1 - tail, 2(E + 1)) / (2E), E = n theta."""
    e = np.asarray(n, dtype="float64") * target
    out: dict[str, np.ndarray] = {}
    for level in levels:
        lo_name, hi_name = limit_columns(level)
        tail = (1 - level) / 2
        out[lo_name] = target * stats.chi2.ppf(tail, 2 * e) / (2 * e)
        out[hi_name] = target * stats.chi2.ppf(1 - tail, 2 * (e + 1)) / (2 * e)
    return out


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
    ratio_scale: RatioScale = "sqrt",
    exact: ExactLimits = "interpolated",
) -> pd.DataFrame:
    """Control limits along a grid of exposures (for drawing), or at the given exposures (grid=False).

    ``target`` is a rate per ``per`` units of exposure, as in :func:`funnel_table` (2.0 with
    per=10_000: 2 per 10,000 transactions; per=1 for a share). Returns ``exposure``, ``target`` and
    ``lower_<level>`` / ``upper_<level>`` columns (``lower_95``, ``upper_95``, ``lower_99.8``,
    ``upper_99.8``), as rates per ``per`` units of exposure. ``overdispersion``: None for the exact limits; an
    ``Overdispersion`` (from ``estimate_overdispersion``) to apply it; or "multiplicative" /
    "additive" together with ``numerators`` to estimate it here (on ``ratio_scale`` for rates).
    ``exact``: "interpolated" (Spiegelhalter's quantiles, the default) or "chisq" (FunnelPlotR's
    chi-squared bounds, rates only; module docstring) for the unadjusted limits.
    """
    _check_kind(kind)
    levels = _check_levels(levels)
    if exact not in ("interpolated", "chisq") or (exact == "chisq" and kind != "poisson"):
        raise ValueError(f"exact must be 'interpolated', or 'chisq' for a poisson funnel; got {exact!r} for {kind}")
    target = _check_target(float(target) / per, kind)
    n = exposure_grid(denominators, kind, points) if grid else np.asarray(denominators, dtype="float64")
    if kind == "binomial" and np.any(n != np.round(n)):
        raise ValueError("binomial exposures must be whole numbers (transactions, tickets, ratings)")
    if isinstance(overdispersion, str):
        if numerators is None:
            raise ValueError("to estimate overdispersion here, pass the units' numerators as well")
        overdispersion = estimate_overdispersion(numerators, denominators, target, kind, adjustment=overdispersion,
                                                 ratio_scale=ratio_scale)
    lim = _limits(n, target, kind, levels, overdispersion, exact)
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
    absent: str = ""  # the sentence a page shows when the export lacks a column the funnel needs (then no units)

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
    ratio_scale: RatioScale = "sqrt",
    trim: Trim | None = None,
) -> Funnel:
    """Compare every unit's rate numerator / denominator with a target on a funnel.

    ``df`` has one row per unit (sum events first). ``target`` is a rate per ``per`` units of exposure
    (e.g. 2.0 with per=10_000 means 2 complaints per 10,000 transactions); None uses the overall rate
    of all units together (sum of numerators / sum of denominators). ``overdispersion``: the
    adjustment to apply whenever the units spread more than chance allows ("additive" by default:
    tau^2 > 0; "multiplicative": phi > 1; None never to adjust; the estimate is reported either way).
    ``label``: a column with the names to show (Chinese unit names). ``higher_is_better`` only adds a
    ``direction`` column ("better" / "worse") to the flags. ``ratio_scale`` / ``trim``: the scale
    and trimming of the overdispersion estimate for rates (``estimate_overdispersion``; "log" is
    the SHMI method and needs an event in every unit).

    ``Funnel.units`` columns: unit, label, numerator, denominator, rate, expected (events expected at
    the target), z (on the transformed scale, unadjusted), z_adjusted (with the applied
    overdispersion; = z when none is applied), p_high / p_low (the one-sided p-values the flag rests
    on: the exact P(Y >= numerator) and P(Y <= numerator) under the target when no adjustment is
    applied, 1 - Phi(z_adjusted) and Phi(z_adjusted) when one is), p_high_exact / p_low_exact (the
    exact unadjusted ones, always), the limits at the unit's exposure, flag ("inside", "above 95%",
    "above 99.8%", "below 95%", "below 99.8%", "no exposure"; the widest limit crossed: by the exact
    whole-interval rule of the module docstring, or by z_adjusted when adjusted; either way exactly
    when p_high or p_low is at most the tail (1 - level) / 2, strictly below it for p_low of exact
    limits), flag_zh, and direction. Rows with an empty or zero denominator stay in the table flagged "no
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
    _check_scale(ratio_scale, trim)
    if kind == "poisson" and ratio_scale == "log":
        _refuse(ids, has & (r <= 0), "no event, which the log scale cannot take (use ratio_scale='sqrt')")
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

    od = estimate_overdispersion(r[has], n[has], theta, kind, adjustment=overdispersion, alpha=alpha,
                                 ratio_scale=ratio_scale, trim=trim)
    nn = np.where(has, n, np.nan)
    dist_n = np.where(has, n, 1.0)
    rr = np.where(has, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = r / nn
        y, t, s_t = transformed(np.where(has, rr, 1.0), dist_n, theta, kind, ratio_scale)
        z = (y - t) / s_t  # on the transformed scale, unadjusted
        z_adj = (y - t) / _adjusted_se(s_t, od) if od.applied else z
    z = np.where(has, z, np.nan)
    z_adj = np.where(has, z_adj, np.nan)
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
    dist = _dist(kind, dist_n, theta)
    p_high_exact = np.where(has, dist.sf(rr - 1), np.nan)
    p_low_exact = np.where(has, dist.cdf(rr), np.nan)
    if od.applied:
        units["p_high"] = np.where(has, stats.norm.sf(z_adj), np.nan)
        units["p_low"] = np.where(has, stats.norm.cdf(z_adj), np.nan)
    else:
        units["p_high"], units["p_low"] = p_high_exact, p_low_exact
    units["p_high_exact"], units["p_low_exact"] = p_high_exact, p_low_exact
    lim = _limits(dist_n, theta, kind, levels, od)
    for name, values in lim.items():
        units[name] = np.where(has, values * per, np.nan)

    flag = np.full(len(units), INSIDE, dtype=object)
    for level in sorted(levels):  # wider levels later, so the widest limit crossed wins
        tail = (1 - level) / 2
        if od.applied:  # the same z as the p-values: beyond the normal limit on the transformed scale
            flag[has & (units["p_high"].to_numpy() <= tail)] = flag_above(level)
            flag[has & (units["p_low"].to_numpy() <= tail)] = flag_below(level)
        else:
            lo, hi = limit_columns(level)
            hi_count = units[hi].to_numpy() / per * dist_n
            lo_count = units[lo].to_numpy() / per * dist_n
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
    limits = funnel_limits(n[has], theta * per, kind, levels, od, per=per, points=points)
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

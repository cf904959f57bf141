"""How sure is the ranking? Confidence sets for ranks (Mogstad, Romano, Shaikh & Wilhelm 2024,
"Inference for Ranks with Applications to Mobility across Neighbourhoods and Academic Achievement
across Countries", Review of Economic Studies 91(1); the procedure of the csranks R package).

What is uncertain. Only the *samples* behind the scores: the mystery-shopper checks (a few visits per
outlet and round) and the satisfaction survey (respondents). Counts and balances are a census and
stay fixed, and so do the weights: the weights are a choice, not a sampling error, so they are not
mixed into any interval; :func:`weight_set_ranks` shows the what-if ranks under the scheme's
documented alternative weight sets, apart.

1. **Bootstrap of the scores** (:func:`bootstrap_totals`): in every draw each unit's outlet checks are
   resampled with replacement within unit and round and the round averages recomputed (inputs
   ``ms_1`` .. ``ms_4``, ``ms_avg``; whole-bank references are recomputed too), the survey score is
   drawn from a normal distribution with the unit's standard error (``survey_se``) and clipped to
   0..100, and every unit is re-scored with the scheme's own weights, caps and floors.
2. **Confidence sets for ranks** (:func:`rank_sets`): with estimates T_j (the published totals) and
   bootstrap deviations Z*_j = T*_j - T_j, for every pair the standardised difference
   t_jk = (T_j - T_k) / s_jk, s_jk = sd(Z*_j - Z*_k). The critical value c is the ``coverage``
   quantile of max |Z*_j - Z*_k| / s_jk over the pairs that matter (max-t); pairs with |t_jk| > c are
   *rejected* (j and k are told apart, in the direction of the sign), and with ``stepdown`` (as
   csranks' default) c is recomputed over the pairs not yet rejected until nothing changes. The rank
   set of j is [1 + #{k told apart above j}, p - #{k told apart below j}].
   - **marginal**: the pairs (j, k), k != j, of one unit: its set covers its own true rank with
     probability about ``coverage``;
   - **simultaneous**: all pairs: all the sets cover all true ranks at once with probability about
     ``coverage`` (the family-wise error of all "A is ahead of B" statements is at most 1 - coverage).
   Rank 1 is the highest total; ties in the true totals share the better rank.
3. **Cannot be told apart** (:meth:`RankSets.tied_with`, :attr:`RankSets.groups`): two units whose
   pair the simultaneous procedure does not reject. A group is a run of units consecutive in the
   published ranking in which *every* pair cannot be told apart (formed greedily from the top);
   units are never chained: a group never holds two units the same rule tells apart.

What a reader may conclude: "the true rank of X lies in its marginal set" (about ``coverage`` of the
time, per unit); "X ranks ahead of Y" for a pair the simultaneous procedure tells apart (all such
statements hold together with probability at least about ``coverage``). Not: that units within a set
are equal, nor anything about the weights (see the what-if ranks).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.scoring import kinds
from analysis.scoring.engine import ScoreResult, apply_weights, caps_floors, rank_totals

MS_ROUND_COLUMNS = {f"ms_{r}": r for r in range(1, 5)}
MS_MEAN_COLUMN = "ms_avg"


# ------------------------------------------------------------------------- confidence sets for ranks
@dataclass
class PairTests:
    """The outcome of the max-t (stepdown) procedure over a set of pairs."""

    rejected: np.ndarray  # (p, p) bool, symmetric: the pair is told apart
    critical: float  # the last critical value c
    steps: int  # how many times c was computed


def _pair_se(dev: np.ndarray) -> np.ndarray:
    """(p, p) standard deviations of Z*_j - Z*_k over the draws."""
    p = dev.shape[1]
    se = np.zeros((p, p))
    for j in range(p):
        se[j] = (dev[:, [j]] - dev).std(axis=0, ddof=1)
    return se


def _max_t(est: np.ndarray, dev: np.ndarray, se: np.ndarray, pairs: np.ndarray, coverage: float, stepdown: bool, one_sided: bool) -> PairTests:
    """Reject pairs of ``pairs`` ((p, p) bool mask of the pairs in the family) by the max-t rule.

    Two-sided: a pair is rejected when |T_j - T_k| / s_jk > c, c the ``coverage`` quantile of
    max |Z*_j - Z*_k| / s_jk over the pairs still in play. One-sided (ordered pair (j, k) = "j is at
    least as good as k"): rejected when (T_k - T_j) / s_jk > c, c from max (Z*_k - Z*_j) / s_jk.
    Pairs with s_jk = 0 carry no sampling error: told apart exactly when the totals differ (in the
    tested direction), and left out of the maximum.
    """
    diff = est[:, None] - est[None, :]  # T_j - T_k
    exact = pairs & (se <= 1e-9)
    if one_sided:
        rejected = exact & (diff < -1e-9)
    else:
        rejected = exact & (np.abs(diff) > 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se > 1e-9, diff / np.where(se > 1e-9, se, 1.0), 0.0)
    active = pairs & (se > 1e-9)
    c, steps = np.inf, 0
    while active.any():
        jj, kk = np.nonzero(active)
        stat = (dev[:, kk] - dev[:, jj]) / se[jj, kk]  # (draws, active pairs)
        m = stat.max(axis=1) if one_sided else np.abs(stat).max(axis=1)
        c = float(np.quantile(m, coverage))
        steps += 1
        new = active & ((-t > c) if one_sided else (np.abs(t) > c))
        rejected |= new
        active &= ~new
        if not stepdown or not new.any():
            break
    if not one_sided:
        rejected = rejected | rejected.T
    return PairTests(rejected, c, steps)


def rank_sets(
    estimates,
    draws=None,
    *,
    cov=None,
    coverage: float = 0.95,
    simul: bool = True,
    stepdown: bool = True,
    cstype: str = "two-sided",
    n_boot: int = 1000,
    seed: int | None = 101,
) -> pd.DataFrame:
    """Confidence sets for the ranks of ``estimates`` (rank 1 = largest), as csranks::csranks.

    The sampling distribution comes either from ``draws`` ((n_draws, p) bootstrap replicates of the
    estimates; deviations are taken from the estimates) or from ``cov`` (the estimates' covariance
    matrix, or a vector of standard errors: ``n_boot`` parametric normal draws, as csranks).
    ``simul``: simultaneous sets (all pairs) or marginal ones (each unit's own pairs).
    ``cstype``: "two-sided" (both bounds), "lower" (only the best rank the unit could have: the upper
    bound is p; ``lower <= tau`` gives csranks' cstaubest confidence set for the tau best).
    Returns a frame with rank (1 + number of strictly larger estimates), lower, upper, one row per
    estimate in the given order.
    """
    est = np.asarray(estimates, dtype="float64")
    p = len(est)
    if p < 2:
        raise ValueError("ranking needs at least two estimates")
    if not 0 < coverage < 1:
        raise ValueError("coverage must lie between 0 and 1")
    if cstype not in ("two-sided", "lower"):
        raise ValueError(f"cstype must be 'two-sided' or 'lower', not {cstype!r}")
    if (draws is None) == (cov is None):
        raise ValueError("give either bootstrap draws or a covariance matrix")
    if draws is not None:
        dev = np.asarray(draws, dtype="float64") - est[None, :]
        if dev.ndim != 2 or dev.shape[1] != p or dev.shape[0] < 10:
            raise ValueError("draws must be (n_draws >= 10, number of estimates)")
    else:
        sigma = np.asarray(cov, dtype="float64")
        if sigma.ndim == 1:
            sigma = np.diag(sigma**2)
        dev = np.random.default_rng(seed).multivariate_normal(np.zeros(p), sigma, size=n_boot, method="cholesky")
    se = _pair_se(dev) if draws is not None else np.sqrt(np.maximum(np.diag(sigma)[:, None] + np.diag(sigma)[None, :] - 2 * sigma, 0))
    one_sided = cstype == "lower"
    rank = 1 + (est[None, :] > est[:, None]).sum(axis=1)
    lower, upper = np.ones(p, dtype="int64"), np.full(p, p, dtype="int64")
    off = ~np.eye(p, dtype=bool)
    if simul:
        tests = [(_max_t(est, dev, se, off, coverage, stepdown, one_sided), range(p))]
    else:
        tests = []
        for j in range(p):
            fam = np.zeros((p, p), dtype=bool)
            if one_sided:
                fam[j] = off[j]
            else:
                fam[j], fam[:, j] = off[j], off[:, j]
            tests.append((_max_t(est, dev, se, fam, coverage, stepdown, one_sided), [j]))
    for pt, units in tests:
        for j in units:
            if one_sided:
                lower[j] = 1 + int(pt.rejected[j].sum())  # ordered pairs (j, k) rejected: k is better than j
            else:
                better = pt.rejected[j] & (est > est[j])
                worse = pt.rejected[j] & (est < est[j])
                lower[j] = 1 + int(better.sum())
                upper[j] = p - int(worse.sum())
    return pd.DataFrame({"rank": rank, "lower": lower, "upper": upper})


def simultaneous_pairs(estimates, draws, *, coverage: float = 0.9, stepdown: bool = True) -> PairTests:
    """The simultaneous (all pairs) two-sided max-t test from bootstrap draws: which pairs are told apart."""
    est = np.asarray(estimates, dtype="float64")
    dev = np.asarray(draws, dtype="float64") - est[None, :]
    se = _pair_se(dev)
    return _max_t(est, dev, se, ~np.eye(len(est), dtype=bool), coverage, stepdown, False)


# --------------------------------------------------------------------------- the league table's sets
@dataclass
class RankSets:
    """Confidence sets for the ranks of a scored league table, from the sampling uncertainty only."""

    unit_ids: list[str]
    unit_names: list[str]
    totals: np.ndarray  # (n_draws, units): bootstrap totals under the scheme's own weights
    intervals: pd.DataFrame  # see rank_uncertainty
    pairs: pd.DataFrame  # unit_a, unit_b (a ranked above b), diff, se, t, distinguishable
    groups: list[list[str]]  # runs of units, every pair of which cannot be told apart (unit_ids, in rank order)
    settings: dict = field(default_factory=dict)

    def indistinguishable(self) -> pd.DataFrame:
        """The pairs that cannot be told apart (simultaneous procedure)."""
        return self.pairs[~self.pairs["distinguishable"]].reset_index(drop=True)

    def tied_with(self) -> dict[str, list[str]]:
        """Per unit, the units it cannot be told apart from (simultaneous procedure), in rank order."""
        out: dict[str, list[str]] = {u: [] for u in self.unit_ids}
        for row in self.indistinguishable().itertuples(index=False):
            out[row.unit_a].append(row.unit_b)
            out[row.unit_b].append(row.unit_a)
        order = {u: i for i, u in enumerate(self.intervals["unit_id"])}
        return {u: sorted(v, key=order.get) for u, v in out.items()}


def _round_means(checks: pd.DataFrame, unit_ids: list[str], n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap round averages: (n_draws, units, 4); NaN where a unit had no check in a round."""
    out = np.full((n_draws, len(unit_ids), 4), np.nan)
    pos = {u: i for i, u in enumerate(unit_ids)}
    for (uid, rnd), grp in checks.groupby(["unit_id", "round"], sort=True):
        if uid not in pos or not 1 <= int(rnd) <= 4:
            continue
        s = grp["score"].to_numpy(dtype="float64")
        s = s[~np.isnan(s)]
        if len(s) == 0:
            continue
        idx = rng.integers(0, len(s), size=(n_draws, len(s)))
        out[:, pos[uid], int(rnd) - 1] = s[idx].mean(axis=1)
    return out


def bootstrap_totals(
    result: ScoreResult,
    checks: pd.DataFrame | None = None,
    *,
    n_draws: int = 2000,
    seed: int = 2016,
    survey_se: pd.Series | None = None,
) -> tuple[np.ndarray, list[str]]:
    """(n_draws, units) totals re-scored with the scheme's own weights from resampled checks and
    survey scores (module docstring, step 1), and the names of the inputs that were resampled.

    ``checks``: one row per mystery-shopper check of an outlet, columns ``unit_id``, ``round`` (1-4),
    ``score`` (see :func:`analysis.scoring.build.build_inputs`). ``survey_se``: the standard error of
    each unit's survey score, indexed by unit_id. Without either nothing varies.
    """
    if n_draws < 10:
        raise ValueError("n_draws must be at least 10")
    rng = np.random.default_rng(seed)
    scheme = result.scheme
    data = result.inputs.reset_index(drop=True)
    unit_ids = list(data["unit_id"].astype(str))
    n_units, n_ind = len(unit_ids), len(scheme.indicator_ids)
    base_pw = result.per_weight.reindex(unit_ids).to_numpy()
    pw = np.broadcast_to(base_pw, (n_draws, n_units, n_ind)).copy()

    varied: dict[str, np.ndarray] = {}
    if checks is not None and len(checks):
        means = _round_means(checks, unit_ids, n_draws, rng)
        for col, rnd in MS_ROUND_COLUMNS.items():
            if col in data:
                # a round the unit had no check in stays as reported (normally empty)
                reported = data[col].to_numpy(dtype="float64")
                varied[col] = np.where(np.isnan(means[:, :, rnd - 1]), reported, means[:, :, rnd - 1])
        if MS_MEAN_COLUMN in data:
            with warnings.catch_warnings():  # a unit without any check: all-NaN mean, kept as reported below
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmean(means, axis=2)
            reported = data[MS_MEAN_COLUMN].to_numpy(dtype="float64")
            varied[MS_MEAN_COLUMN] = np.where(np.isnan(m), reported, m)
    if survey_se is not None and "survey_score" in data:
        se = pd.Series(survey_se).reindex(unit_ids).fillna(0.0).to_numpy(dtype="float64")
        base = data["survey_score"].to_numpy(dtype="float64")
        varied["survey_score"] = np.clip(base + rng.standard_normal((n_draws, n_units)) * se, 0, 100)

    affected = [j for j, ind in enumerate(scheme.indicators) if set(ind.columns()) & set(varied)]
    if affected:
        for d in range(n_draws):
            frame = data.copy()
            for col, arr in varied.items():
                frame[col] = arr[d]
            for j in affected:
                pw[d, :, j] = kinds.compute(scheme.indicators[j], frame).per_weight.to_numpy()

    ids = scheme.indicator_ids
    weights = np.broadcast_to(np.array([result.weights[k] for k in ids]), (n_draws, n_ind))
    caps, floors = caps_floors(scheme)
    points = apply_weights(pw, weights, caps, floors)
    adjust = result.table.set_index("unit_id").reindex(unit_ids)
    fixed = np.zeros(n_units)
    for dd in scheme.deductions:
        fixed -= adjust[dd.id].to_numpy(dtype="float64")
    for b in scheme.bonuses:
        fixed += adjust[b.id].to_numpy(dtype="float64")
    return points.sum(axis=2) + fixed, sorted(varied)


def rank_uncertainty(
    result: ScoreResult,
    checks: pd.DataFrame | None = None,
    *,
    n_draws: int = 2000,
    seed: int = 2016,
    survey_se: pd.Series | None = None,
    coverage: float = 0.9,
    stepdown: bool = True,
    top: int = 3,
) -> RankSets:
    """Marginal and simultaneous confidence sets for the ranks of a league table (module docstring).

    ``intervals`` columns: unit_id, unit_name, rank (published), total, total_se (bootstrap standard
    error), rank_lo / rank_hi (the MARGINAL ``coverage`` set: covers this unit's true rank),
    rank_lo_simul / rank_hi_simul (the SIMULTANEOUS set: all together cover all true ranks),
    rank_median (median rank over the bootstrap draws, descriptive only), could_be_top (whether the
    unit is in the ``coverage`` confidence set for the ``top`` best: csranks' cstaubest).
    ``pairs``: every pair in published order with diff (total_a - total_b), se, t and distinguishable
    (told apart by the simultaneous procedure, family-wise error at most 1 - coverage).
    """
    if not 0.5 < coverage < 1:
        raise ValueError("coverage must be between 0.5 and 1")
    totals, varied = bootstrap_totals(result, checks, n_draws=n_draws, seed=seed, survey_se=survey_se)
    data = result.inputs.reset_index(drop=True)
    unit_ids = list(data["unit_id"].astype(str))
    names = list(data["unit_name"].astype(str))
    adjust = result.table.set_index("unit_id").reindex(unit_ids)
    est = adjust["total"].to_numpy(dtype="float64")
    marg = rank_sets(est, totals, coverage=coverage, simul=False, stepdown=stepdown)
    sim = rank_sets(est, totals, coverage=coverage, simul=True, stepdown=stepdown)
    best = rank_sets(est, totals, coverage=coverage, simul=True, stepdown=stepdown, cstype="lower")
    pt = simultaneous_pairs(est, totals, coverage=coverage, stepdown=stepdown)
    ranks = rank_totals(totals)
    intervals = pd.DataFrame(
        {
            "unit_id": unit_ids,
            "unit_name": names,
            "rank": adjust["rank"].to_numpy(),
            "total": est,
            "total_se": totals.std(axis=0, ddof=1),
            "rank_lo": marg["lower"].to_numpy(),
            "rank_hi": marg["upper"].to_numpy(),
            "rank_lo_simul": sim["lower"].to_numpy(),
            "rank_hi_simul": sim["upper"].to_numpy(),
            "rank_median": np.median(ranks, axis=0),
            "could_be_top": best["lower"].to_numpy() <= top,
        }
    ).sort_values(["rank", "unit_id"], kind="stable").reset_index(drop=True)

    order = list(intervals["unit_id"])
    pos = {u: i for i, u in enumerate(unit_ids)}
    dev = totals - est[None, :]
    rows = []
    for a_i in range(len(order)):
        for b_i in range(a_i + 1, len(order)):
            a, b = pos[order[a_i]], pos[order[b_i]]
            d = est[a] - est[b]
            se = float((dev[:, a] - dev[:, b]).std(ddof=1))
            rows.append((order[a_i], order[b_i], d, se, d / se if se > 1e-9 else (np.inf if d > 0 else 0.0), bool(pt.rejected[a, b])))
    pairs = pd.DataFrame(rows, columns=["unit_a", "unit_b", "diff", "se", "t", "distinguishable"])

    groups: list[list[str]] = []
    current: list[str] = []
    for u in order:  # greedy from the top: a unit joins the group only if no member is told apart from it
        if current and not any(pt.rejected[pos[u], pos[v]] for v in current):
            current.append(u)
        else:
            if len(current) > 1:
                groups.append(current)
            current = [u]
    if len(current) > 1:
        groups.append(current)

    settings = {"method": "csranks", "n_draws": n_draws, "seed": seed, "coverage": coverage, "confidence": coverage,
                "stepdown": stepdown, "top": top, "critical_simul": pt.critical, "unit": result.scheme.unit,
                "resampled": varied, "checks": 0 if checks is None else len(checks), "weights": "scheme (fixed)"}
    return RankSets(unit_ids, names, totals, intervals, pairs, groups, settings)


def weight_set_ranks(result: ScoreResult) -> pd.DataFrame:
    """The rank of every unit under the scheme's weights and under each alternative weight set."""
    from analysis.scoring.engine import score

    out = result.table[["unit_id", "unit_name", "rank"]].rename(columns={"rank": "scheme"}).set_index("unit_id")
    for ws in result.scheme.weight_sets:
        r = score(result.inputs.reset_index(drop=True), result.scheme, period=result.period, weight_set=ws.id)
        out[ws.id] = r.table.set_index("unit_id")["rank"]
    return out.reset_index()

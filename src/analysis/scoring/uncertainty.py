"""How sure is the ranking? Monte Carlo rank intervals, as composite-indicator practice does
(OECD/JRC Handbook on Constructing Composite Indicators, 2008, ch. 5: uncertainty analysis).

Each draw changes the two things that are uncertain, then re-scores every unit with the scheme:

1. **The mystery-shopper checks** (a sample of visits): within every unit and round, the unit's outlet
   checks are resampled with replacement (bootstrap) and the round average recomputed. Inputs named
   ``ms_1`` .. ``ms_4`` take the round averages; an input named ``ms_avg`` takes the mean of the
   round averages. Whole-bank references are recomputed in every draw.
2. **The weights** (a choice, not a fact): each draw starts from the scheme's weights or, with
   ``use_weight_sets``, from one of the scheme's alternative weight sets chosen at random, multiplies
   every weight by a uniform factor in [1 - jitter, 1 + jitter] and rescales them to the scheme's
   total. Caps and floors follow the weights (they are multiples of them).
3. Optionally **the survey score** (``survey_se`` per unit: its standard error, from the respondents'
   spread): drawn from a normal distribution around the reported score, clipped to 0..100.

Everything else (counts, balances) is a census, not a sample, and stays fixed.

Outputs: per unit the median rank and the central ``confidence`` interval of its rank; per pair of
units the share of draws in which the first ranks ahead (ties count half). Two units **cannot be told
apart** when neither ranks ahead of the other in at least ``confidence`` of the draws. A **group** is a
run of units, consecutive in the published ranking, in which every unit cannot be told apart from the
next one.
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


@dataclass
class MonteCarloResult:
    unit_ids: list[str]
    unit_names: list[str]
    ranks: np.ndarray  # (n_draws, units)
    totals: np.ndarray  # (n_draws, units)
    weights: np.ndarray  # (n_draws, indicators)
    intervals: pd.DataFrame  # unit_id, unit_name, rank, rank_median, rank_lo, rank_hi, p_first, p_top3
    pairs: pd.DataFrame  # unit_a, unit_b (a ranked above b), p_a_ahead, distinguishable
    groups: list[list[str]]  # runs of units that cannot be told apart (unit_ids, in rank order)
    settings: dict = field(default_factory=dict)

    def indistinguishable(self) -> pd.DataFrame:
        """The pairs that cannot be told apart."""
        return self.pairs[~self.pairs["distinguishable"]].reset_index(drop=True)

    def tied_with(self) -> dict[str, list[str]]:
        """Per unit, the units it cannot be told apart from."""
        out: dict[str, list[str]] = {u: [] for u in self.unit_ids}
        for row in self.indistinguishable().itertuples(index=False):
            out[row.unit_a].append(row.unit_b)
            out[row.unit_b].append(row.unit_a)
        return out


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


def _draw_weights(result: ScoreResult, n_draws: int, jitter: float, use_weight_sets: bool, rng: np.random.Generator) -> np.ndarray:
    scheme = result.scheme
    ids = scheme.indicator_ids
    bases = [np.array([result.weights[k] for k in ids])]
    if use_weight_sets:
        bases += [np.array([ws.weights[k] for k in ids]) for ws in scheme.weight_sets]
    base = np.stack(bases)[rng.integers(0, len(bases), size=n_draws)]
    factor = rng.uniform(1 - jitter, 1 + jitter, size=base.shape) if jitter > 0 else np.ones_like(base)
    w = base * factor
    return w / w.sum(axis=1, keepdims=True) * sum(result.weights.values())


def monte_carlo(
    result: ScoreResult,
    checks: pd.DataFrame | None = None,
    *,
    n_draws: int = 1000,
    seed: int = 2016,
    weight_jitter: float = 0.2,
    use_weight_sets: bool = True,
    survey_se: pd.Series | None = None,
    confidence: float = 0.9,
) -> MonteCarloResult:
    """Rank intervals of a scored league table.

    ``checks``: one row per mystery-shopper check of an outlet, columns ``unit_id``, ``round`` (1-4),
    ``score`` (see :func:`analysis.scoring.build.build_inputs`). Without it only the weights vary.
    ``survey_se``: standard error of each unit's survey score, indexed by unit_id (optional).
    """
    if not 0.5 < confidence < 1:
        raise ValueError("confidence must be between 0.5 and 1")
    if n_draws < 10:
        raise ValueError("n_draws must be at least 10")
    rng = np.random.default_rng(seed)
    scheme = result.scheme
    data = result.inputs.reset_index(drop=True)
    unit_ids = list(data["unit_id"].astype(str))
    names = list(data["unit_name"].astype(str))
    ids = scheme.indicator_ids
    n_units, n_ind = len(unit_ids), len(ids)

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

    weights = _draw_weights(result, n_draws, weight_jitter, use_weight_sets, rng)
    caps, floors = caps_floors(scheme)
    points = apply_weights(pw, weights, caps, floors)
    adjust = result.table.set_index("unit_id").reindex(unit_ids)
    fixed = np.zeros(n_units)
    for dd in scheme.deductions:
        fixed -= adjust[dd.id].to_numpy(dtype="float64")
    for b in scheme.bonuses:
        fixed += adjust[b.id].to_numpy(dtype="float64")
    totals = points.sum(axis=2) + fixed
    ranks = rank_totals(totals)

    alpha = (1 - confidence) / 2
    base_rank = adjust["rank"].to_numpy()
    intervals = pd.DataFrame(
        {
            "unit_id": unit_ids,
            "unit_name": names,
            "rank": base_rank,
            "rank_median": np.median(ranks, axis=0),
            "rank_lo": np.quantile(ranks, alpha, axis=0, method="inverted_cdf").astype("int64"),
            "rank_hi": np.quantile(ranks, 1 - alpha, axis=0, method="inverted_cdf").astype("int64"),
            "p_first": (ranks == 1).mean(axis=0),
            "p_top3": (ranks <= 3).mean(axis=0),
            "total_lo": np.quantile(totals, alpha, axis=0),
            "total_hi": np.quantile(totals, 1 - alpha, axis=0),
        }
    ).sort_values(["rank", "unit_id"], kind="stable").reset_index(drop=True)

    order = list(intervals["unit_id"])
    pos = {u: i for i, u in enumerate(unit_ids)}
    rows = []
    for a_i in range(len(order)):
        for b_i in range(a_i + 1, len(order)):
            a, b = pos[order[a_i]], pos[order[b_i]]
            p = float((ranks[:, a] < ranks[:, b]).mean() + 0.5 * (ranks[:, a] == ranks[:, b]).mean())
            rows.append((order[a_i], order[b_i], p, bool(p >= confidence or p <= 1 - confidence)))
    pairs = pd.DataFrame(rows, columns=["unit_a", "unit_b", "p_a_ahead", "distinguishable"])

    groups: list[list[str]] = []
    if len(order):
        dist = {(r.unit_a, r.unit_b): r.distinguishable for r in pairs.itertuples(index=False)}
        current = [order[0]]
        for prev, nxt in zip(order, order[1:]):
            if not dist[(prev, nxt)]:
                current.append(nxt)
            else:
                groups.append(current)
                current = [nxt]
        groups.append(current)
    groups = [g for g in groups if len(g) > 1]

    settings = {"n_draws": n_draws, "seed": seed, "weight_jitter": weight_jitter, "use_weight_sets": use_weight_sets,
                "confidence": confidence, "unit": scheme.unit, "resampled": sorted(varied), "checks": 0 if checks is None else len(checks)}
    return MonteCarloResult(unit_ids, names, ranks, totals, weights, intervals, pairs, groups, settings)


def weight_set_ranks(result: ScoreResult) -> pd.DataFrame:
    """The rank of every unit under the scheme's weights and under each alternative weight set."""
    from analysis.scoring.engine import score

    out = result.table[["unit_id", "unit_name", "rank"]].rename(columns={"rank": "scheme"}).set_index("unit_id")
    for ws in result.scheme.weight_sets:
        r = score(result.inputs.reset_index(drop=True), result.scheme, period=result.period, weight_set=ws.id)
        out[ws.id] = r.table.set_index("unit_id")["rank"]
    return out.reset_index()

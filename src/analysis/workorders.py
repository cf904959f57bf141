"""Work orders (工单 / 办件 / 任务): volume, on-time closure, processing time and escalations (plans 3-6).

Tables in, tables out. The input is the clean ``workorders`` table (``sources/workorders.yaml``:
order_id, unit_id, received_at, due_at, promised_days, closed_at, escalated, ...). For a period P
(1 January to the end of its last month, :class:`analysis.periods.Period`; "by the period's end"
means before ``P.end``, the first instant after it), over the orders **received in P**:

| figure | definition |
| --- | --- |
| orders | orders received in P |
| closed | of those, closed by the period's end (closed_at < P.end) |
| closed_on_time | closed by the period's end and closed_at ≤ due_at |
| on_time_share | closed on time among the orders due by the period's end (due_at < P.end); empty when none is due |
| overdue_open | not closed by the period's end and due before it (due_at < P.end) |
| median_days, p90_days | closed_at − received_at in days (fractional) over the closed orders; ``numpy.quantile``'s default (linear) |
| escalated | orders flagged 越级 (empty when the export has no escalation column) |

The due time is ``due_at`` where the export gives it, otherwise ``received_at`` + ``promised_days``
calendar days (a promise in working days must be exported as a due time). An order with neither
is never on time and never overdue; :func:`summarise` says how many there are.

With a baseline period P0 the same definitions are applied to P0 (orders received in P0, closed by
P0's end): ``baseline_orders``, ``baseline_median_days``, ``median_ratio`` = median_days /
baseline_median_days, and ``ratio_low`` / ``ratio_high``, a percentile bootstrap interval of the
ratio (both periods' closed orders resampled independently, fixed seed). ``halved`` is true only
when ``ratio_high ≤ factor`` (0.5 for "halved"): halved beyond noise, not on a lucky median.

"百日无越级": :func:`escalation_runs` counts, per unit, the days without an escalated order, from
the first day the export covers (its earliest received_at, for the whole organisation) to the
period's last day: the current run (days after the last escalated order, up to and including the
last day) and the longest run.

One row per unit (``unit_id``) and one for the whole organisation (``scope`` = ``all``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import config
from analysis.periods import Period

DAY = pd.Timedelta(days=1)

FIGURES = ["orders", "closed", "closed_on_time", "on_time_share", "overdue_open", "median_days", "p90_days", "escalated"]
BASELINE = ["baseline_orders", "baseline_median_days", "median_ratio", "ratio_low", "ratio_high", "halved"]
RUNS = ["last_escalated_on", "escalation_free_days", "longest_escalation_free_days"]


@dataclass
class WorkOrderSummary:
    table: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)


def prepare(orders: pd.DataFrame) -> pd.DataFrame:
    """The clean table with ``due`` (due_at, or received_at + promised_days) and ``days`` (closed_at −
    received_at in days; empty while open). Columns the export lacked are empty."""
    df = orders.copy()
    for c in ("due_at", "closed_at"):
        if c not in df:
            df[c] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    for c in ("promised_days",):
        if c not in df:
            df[c] = np.nan
    if "escalated" not in df:
        df["escalated"] = pd.Series(pd.NA, index=df.index, dtype="boolean")
    received = pd.to_datetime(df["received_at"])
    promised = received + pd.to_timedelta(pd.to_numeric(df["promised_days"], errors="coerce").astype("float64"), unit="D")
    df["received_at"] = received
    df["due"] = pd.to_datetime(df["due_at"]).fillna(promised)
    df["closed_at"] = pd.to_datetime(df["closed_at"])
    df["days"] = (df["closed_at"] - received) / DAY
    df["unit_id"] = df["unit_id"].astype("string")
    return df


def _received_in(df: pd.DataFrame, period: Period) -> pd.DataFrame:
    return df[(df["received_at"] >= period.start) & (df["received_at"] < period.end)]


def _closed_days(rows: pd.DataFrame, period: Period) -> np.ndarray:
    closed = rows["closed_at"].notna() & (rows["closed_at"] < period.end)
    return rows.loc[closed, "days"].to_numpy(dtype="float64")


def figures(rows: pd.DataFrame, period: Period, has_escalation: bool = True) -> dict:
    """The figures of one group of orders already restricted to those received in ``period``."""
    end = period.end
    closed = rows["closed_at"].notna() & (rows["closed_at"] < end)
    on_time = closed & rows["due"].notna() & (rows["closed_at"] <= rows["due"])
    due_by_end = rows["due"].notna() & (rows["due"] < end)
    days = rows.loc[closed, "days"].to_numpy(dtype="float64")
    return {
        "orders": int(len(rows)),
        "closed": int(closed.sum()),
        "closed_on_time": int(on_time.sum()),
        "on_time_share": float((on_time & due_by_end).sum() / due_by_end.sum()) if due_by_end.any() else np.nan,
        "overdue_open": int((~closed & due_by_end).sum()),
        "median_days": float(np.quantile(days, 0.5)) if days.size else np.nan,
        "p90_days": float(np.quantile(days, 0.9)) if days.size else np.nan,
        "escalated": int(rows["escalated"].fillna(False).astype(bool).sum()) if has_escalation else pd.NA,
    }


def _boot_medians(x: np.ndarray, rng: np.random.Generator, draws: int) -> np.ndarray:
    out = np.empty(draws)
    chunk = max(1, 2_000_000 // max(len(x), 1))  # bounded memory on large exports
    for s in range(0, draws, chunk):
        k = min(chunk, draws - s)
        out[s:s + k] = np.median(x[rng.integers(0, len(x), size=(k, len(x)))], axis=1)
    return out


def ratio_interval(current: np.ndarray, baseline: np.ndarray, *, level: float, draws: int, seed) -> tuple[float, float]:
    """Percentile bootstrap interval of median(current) / median(baseline): each sample resampled
    with replacement at its own size, ``draws`` times, with ``numpy.random.default_rng(seed)``.
    Empty when either sample is empty or a resampled baseline median is 0 (the ratio is undefined)."""
    current, baseline = np.asarray(current, dtype="float64"), np.asarray(baseline, dtype="float64")
    if current.size == 0 or baseline.size == 0:
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    m1 = _boot_medians(current, rng, draws)
    m0 = _boot_medians(baseline, rng, draws)
    if (m0 <= 0).any():
        return np.nan, np.nan
    r = m1 / m0
    a = (1 - level) / 2
    low, high = np.quantile(r, [a, 1 - a])
    return float(low), float(high)


def median_se(days: np.ndarray, *, draws: int, seed) -> float | None:
    """Bootstrap standard error of the median of ``days`` (None with fewer than two values)."""
    days = np.asarray(days, dtype="float64")
    if days.size < 2:
        return None
    return float(np.std(_boot_medians(days, np.random.default_rng(seed), draws), ddof=1))


def escalation_runs(orders: pd.DataFrame, period: Period, units: list[str]) -> dict[str | None, dict]:
    """Per unit (and ``None`` for the whole organisation): the last escalated order's date, the
    current run of days without one and the longest run, from the export's first day to the
    period's last day (orders received after the period are not looked at)."""
    df = orders[orders["received_at"] < period.end]
    last_day = (period.end - DAY).normalize()
    out: dict[str | None, dict] = {}
    if df.empty:
        return out
    first_day = df["received_at"].min().normalize()
    esc = df[df["escalated"].fillna(False).astype(bool)]
    for unit in [*units, None]:
        e = esc if unit is None else esc[esc["unit_id"] == unit]
        dates = np.sort(e["received_at"].dt.normalize().unique())
        if len(dates) == 0:
            run = int((last_day - first_day).days) + 1
            out[unit] = {"last_escalated_on": pd.NaT, "escalation_free_days": run, "longest_escalation_free_days": run}
            continue
        dates = pd.DatetimeIndex(dates)
        current = int((last_day - dates[-1]).days)
        gaps = [int((dates[0] - first_day).days), current]
        gaps += [int(d) - 1 for d in (dates[1:] - dates[:-1]).days]
        out[unit] = {"last_escalated_on": dates[-1], "escalation_free_days": current, "longest_escalation_free_days": max(gaps)}
    return out


def summarise(
    orders: pd.DataFrame,
    period: Period | str,
    baseline: Period | str | None = None,
    *,
    factor: float | None = None,
    level: float = 0.95,
    draws: int = 2000,
    seed: int = config.DEFAULT_SEED,
    total_label: str = "全部",
) -> WorkOrderSummary:
    """One row per unit and one for the whole organisation (module docstring for every figure).

    ``factor`` is the target ratio "halved" is judged against (0.5 in plan 5's targets); ``level``,
    ``draws`` and ``seed`` set the bootstrap interval.
    """
    period = Period.parse(period)
    base = Period.parse(baseline) if baseline is not None else None
    if base is not None and factor is None:
        raise ValueError("a baseline needs the factor 'halved' is judged on (0.5 in plan 5's targets)")
    df = prepare(orders)
    has_escalation = bool(df["escalated"].notna().any())
    warnings: list[str] = []
    current = _received_in(df, period)
    prior = _received_in(df, base) if base is not None else None
    units = sorted(set(current["unit_id"].dropna()) | (set(prior["unit_id"].dropna()) if prior is not None else set()))
    if current.empty:
        warnings.append(f"no order was received in {period.label}")
    if prior is not None and prior.empty:
        warnings.append(f"no order was received in the baseline {base.label}: no ratio")
    no_due = int(current["due"].isna().sum())
    if no_due:
        warnings.append(f"{no_due:,} orders received in {period.label} have neither a due time nor a promised number of days: never on time, never overdue")
    if df["unit_id"].isna().any():
        warnings.append(f"{int(df['unit_id'].isna().sum()):,} orders have no unit: counted for the whole organisation only")
    if not has_escalation:
        warnings.append("no escalation column (是否越级): escalated and the escalation-free runs are empty")
    runs = escalation_runs(df, period, units) if has_escalation else {}

    rows = []
    groups: list[tuple[str | None, str]] = [(u, "unit") for u in units] + [(None, "all")]
    for unit, scope in groups:
        cur = current if unit is None else current[current["unit_id"] == unit]
        row = {"unit_id": total_label if unit is None else unit, "scope": scope, **figures(cur, period, has_escalation)}
        if base is not None:
            pri = prior if unit is None else prior[prior["unit_id"] == unit]
            d1, d0 = _closed_days(cur, period), _closed_days(pri, base)
            m0 = float(np.quantile(d0, 0.5)) if d0.size else np.nan
            ratio = row["median_days"] / m0 if d0.size and m0 > 0 else np.nan
            # each unit's own stream, named by the unit (adding a unit leaves the others' intervals alone)
            low, high = ratio_interval(d1, d0, level=level, draws=draws, seed=[seed] if unit is None else [seed, zlib.crc32(unit.encode("utf-8"))])
            row.update(baseline_orders=int(len(pri)), baseline_median_days=m0, median_ratio=ratio, ratio_low=low, ratio_high=high,
                       halved=bool(high <= factor) if not np.isnan(high) else False)
        r = runs.get(unit, {})
        row.update({k: r.get(k, pd.NaT if k == "last_escalated_on" else pd.NA) for k in RUNS})
        rows.append(row)
    table = pd.DataFrame(rows, columns=["unit_id", "scope", *FIGURES, *(BASELINE if base is not None else []), *RUNS])
    for c in ("escalated", "escalation_free_days", "longest_escalation_free_days"):
        table[c] = table[c].astype("Int64")
    table["last_escalated_on"] = pd.to_datetime(table["last_escalated_on"]).dt.date
    settings = {"period": period.label, "baseline": base.label if base else None, "factor": factor, "level": level, "draws": draws, "seed": seed}
    return WorkOrderSummary(table=table, warnings=warnings, settings=settings)

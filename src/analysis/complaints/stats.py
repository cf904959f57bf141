"""Complaint figures: volume and trend, breakdowns, rates per outlet and per 10,000 transactions,
responsible / major / escalated / overdue, time to resolve, the per-outlet increment, and whether a
change in the complaint rate is real.

Definitions (the notebook says them to the reader too):

- Exposure: financial transactions (``business.fin_txn``: counter plus e-channel), summed over the
  months of the period. Counter transactions alone would make an outlet that moved its customers
  to e-channels (what the campaign asks for) look worse for the same complaints, and complaints
  arrive about every channel (95599, online, the counter).
- Overdue: not resolved within 15 calendar days (15 x 24 h) of being received: resolved later, or
  still open more than 15 days after receipt at the data's cut-off (the last time stamp in the table,
  at most the period's end). Open complaints younger than that are "open, not yet due".
- Per-outlet complaint increment (点均网点服务投诉增量, plan 1): (complaints in the period - complaints
  in the same span a year earlier) / the unit's outlets; for the bank, the sums over units. Lower
  is better; complaints that name no outlet (e.g. the card centre's) count in the bank's totals only.
- Optional columns: an export may lack 是否有责, 是否重大投诉, 是否越级 or 办结时间 (only the date and the
  category are required). A figure that needs such a column is then "not in this export"
  (:data:`NOT_IN_EXPORT`), never a zero: see :func:`absent`.
- Is a decrease real? Given k1 complaints over exposure E1 (previous period) and k2 over E2, equal
  rates mean k2 | k1 + k2 ~ Binomial(k1 + k2, E2 / (E1 + E2)) (the conditional test for two Poisson
  rates). The rate ratio RR = (k2 / E2) / (k1 / E1) has exact (Clopper-Pearson based) bounds
  RR = p / (1 - p) x E1 / E2 at the exact bounds for p. The verdict is one-sided at 5% in each
  direction, so the bounds printed with it are the one-sided 95% bounds (together a 90% interval):
  the upper bound is below 1 exactly when the one-sided test calls a decrease real, the lower bound
  above 1 exactly when it calls an increase real (the bound and the test are the same inversion).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import InputValueError
from analysis.periods import Period
from analysis.report.display import NOT_IN_EXPORT, NOT_IN_EXPORT_ZH  # the one wording (presentation layer)

PER = 10_000  # rates per 10,000 transactions
OVERDUE_DAYS = 15
EXPOSURE = "fin_txn"
NO_UNIT = "(未指明网点)"
VERDICTS = {"decrease": "显著下降", "increase": "显著上升", "no change": "变化不显著", "no data": "无数据", NOT_IN_EXPORT: NOT_IN_EXPORT_ZH}
# The columns each flag measure needs.
NEEDS = {"responsible": ("responsible",), "major": ("major",), "major_responsible": ("major", "responsible"),
         "escalated": ("escalated",), "overdue": ("resolved_at",), "open": ("resolved_at",)}


def absent(df: pd.DataFrame, column: str) -> bool:
    """Whether the export had no such column: not in the table, listed in ``df.attrs["absent_columns"]``
    (set by the loaders), or empty in every record (what an absent optional column becomes once
    cleaned; a present yes/no column is never empty in every record: its cells are required)."""
    if column not in df.columns or column in df.attrs.get("absent_columns", ()):
        return True
    return len(df) > 0 and bool(df[column].isna().all())


def absent_columns(df: pd.DataFrame, columns=("responsible", "major", "escalated", "resolved_at")) -> list[str]:
    """The optional columns this export lacks (see :func:`absent`)."""
    return [c for c in columns if absent(df, c)]


# ------------------------------------------------------------------------------------------ slicing
def in_period(df: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Complaints received in ``period``."""
    p = Period.parse(period)
    return df[p.contains(df["received_at"])]


def cutoff(df: pd.DataFrame, period: Period | str) -> pd.Timestamp:
    """The data's cut-off for a period: its last time stamp, at most the period's end."""
    p = Period.parse(period)
    part = in_period(df, p)
    stamps = [part["received_at"]] + ([part["resolved_at"]] if "resolved_at" in part else [])
    last = pd.concat(stamps).max()
    return min(p.end, last) if pd.notna(last) else p.end


# ------------------------------------------------------------------------------------------- volume
def monthly_trend(df: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Complaints per month of the period and of the same months a year earlier.

    Columns: month (1-12), current, previous, change (current - previous), change_pct.
    """
    p = Period.parse(period)
    q = p.previous()
    rows = []
    for label_now, label_prev in zip(p.months, q.months):
        m = int(label_now[-2:])
        now = df["received_at"].dt.strftime("%Y-%m") == label_now
        prev = df["received_at"].dt.strftime("%Y-%m") == label_prev
        rows.append({"month": m, "current": int(now.sum()), "previous": int(prev.sum())})
    out = pd.DataFrame(rows)
    out["change"] = out["current"] - out["previous"]
    out["change_pct"] = np.where(out["previous"] > 0, out["change"] / out["previous"].where(out["previous"] > 0), np.nan)
    return out


def breakdown(df: pd.DataFrame, column: str, period: Period | str, missing: str = "(未填写)") -> pd.DataFrame:
    """Complaints per value of ``column`` in the period and a year earlier, with shares and change.

    Missing values are a row of their own (never dropped). Columns: <column>, current, share,
    previous, previous_share, change, change_pct; sorted by current, largest first.
    """
    p = Period.parse(period)
    now = in_period(df, p)[column].astype("string").fillna(missing).value_counts()
    prev = in_period(df, p.previous())[column].astype("string").fillna(missing).value_counts()
    out = pd.DataFrame({"current": now, "previous": prev}).fillna(0).astype("int64")
    out.index.name = column
    out = out.reset_index()
    out["share"] = out["current"] / max(out["current"].sum(), 1)
    out["previous_share"] = out["previous"] / max(out["previous"].sum(), 1)
    out["change"] = out["current"] - out["previous"]
    out["change_pct"] = out["change"] / out["previous"].where(out["previous"] > 0)
    out = out.sort_values(["current", "previous", column], ascending=[False, False, True], kind="stable")
    return out[[column, "current", "share", "previous", "previous_share", "change", "change_pct"]].reset_index(drop=True)


# -------------------------------------------------------------------------------------------- flags
def overdue_status(df: pd.DataFrame, as_of: pd.Timestamp, days: int = OVERDUE_DAYS) -> pd.Series:
    """Per complaint: 'on time', 'overdue' (resolved late, or open past the limit), 'open' (not yet due)."""
    limit = pd.Timedelta(days=days)
    took = df["resolved_at"] - df["received_at"]
    resolved = df["resolved_at"].notna()
    age = as_of - df["received_at"]
    status = np.where(resolved, np.where(took > limit, "overdue", "on time"), np.where(age > limit, "overdue", "open"))
    return pd.Series(status, index=df.index, dtype="string")


def flag_summary(df: pd.DataFrame, period: Period | str) -> pd.DataFrame:
    """Counts and shares of responsible, major, major-and-responsible, escalated, overdue and open
    complaints in the period and a year earlier. Columns: measure, current, current_share, previous,
    previous_share, change, note. A measure whose column the export lacks has no figures (NA) and the
    note :data:`NOT_IN_EXPORT`."""
    p = Period.parse(period)
    missing = set(absent_columns(df))
    df = df.assign(**{c: pd.Series(pd.NA, index=df.index, dtype="boolean" if c != "resolved_at" else "datetime64[ns]") for c in missing if c not in df})
    rows = {}
    for key, per in (("current", p), ("previous", p.previous())):
        part = in_period(df, per)
        status = overdue_status(part, cutoff(df, per))
        n = len(part)
        rows[key] = {
            "complaints": n,
            "responsible": int(part["responsible"].fillna(False).sum()),
            "major": int(part["major"].fillna(False).sum()),
            "major_responsible": int((part["major"].fillna(False) & part["responsible"].fillna(False)).sum()),
            "escalated": int(part["escalated"].fillna(False).sum()),
            "overdue": int((status == "overdue").sum()),
            "open": int((status == "open").sum()),
        }
        rows[key + "_n"] = n
    out = pd.DataFrame({"measure": list(rows["current"]), "current": list(rows["current"].values()), "previous": list(rows["previous"].values())})
    gone = out["measure"].map(lambda m: any(c in missing for c in NEEDS.get(m, ()))).astype(bool)
    out["current"] = out["current"].astype("Int64").mask(gone)
    out["previous"] = out["previous"].astype("Int64").mask(gone)
    out["current_share"] = out["current"].astype("Float64") / max(rows["current_n"], 1)
    out["previous_share"] = out["previous"].astype("Float64") / max(rows["previous_n"], 1)
    out["change"] = out["current"] - out["previous"]
    out["note"] = np.where(gone, NOT_IN_EXPORT, "")
    return out[["measure", "current", "current_share", "previous", "previous_share", "change", "note"]]


MEASURE_TITLES = {
    "complaints": "投诉总量", "responsible": "有责投诉", "major": "重大投诉", "major_responsible": "重大有责投诉",
    "escalated": "越级投诉", "overdue": f"超期({OVERDUE_DAYS}天未办结)", "open": "未办结(未超期)",
}


def time_to_resolve(df: pd.DataFrame, period: Period | str, by: str | None = "channel") -> pd.DataFrame:
    """Days from receipt to resolution of the resolved complaints of the period, overall and by ``by``.

    Columns: group, resolved, open, median_days, mean_days, p90_days, within_1d, within_7d, within_15d
    (shares of the resolved). Without 办结时间 in the export: one row "全部" with no figures and
    ``note`` :data:`NOT_IN_EXPORT`.
    """
    if absent(df, "resolved_at"):
        cols = ["resolved", "open", "median_days", "mean_days", "p90_days", "within_1d", "within_7d", "within_15d"]
        return pd.DataFrame([{"group": "全部", **{c: np.nan for c in cols}, "note": NOT_IN_EXPORT}])
    part = in_period(df, period)
    days = (part["resolved_at"] - part["received_at"]).dt.total_seconds() / 86400

    def summarise(mask: pd.Series, name: str) -> dict:
        d = days[mask].dropna()
        return {
            "group": name,
            "resolved": int(len(d)),
            "open": int((mask & part["resolved_at"].isna()).sum()),
            "median_days": float(d.median()) if len(d) else np.nan,
            "mean_days": float(d.mean()) if len(d) else np.nan,
            "p90_days": float(d.quantile(0.9)) if len(d) else np.nan,
            "within_1d": float((d <= 1).mean()) if len(d) else np.nan,
            "within_7d": float((d <= 7).mean()) if len(d) else np.nan,
            "within_15d": float((d <= OVERDUE_DAYS).mean()) if len(d) else np.nan,
        }

    rows = [summarise(pd.Series(True, index=part.index), "全部")]
    if by:
        for value in part[by].astype("string").fillna("(未填写)").value_counts().index:
            rows.append(summarise(part[by].astype("string").fillna("(未填写)") == value, str(value)))
    return pd.DataFrame(rows)


def resolve_days(df: pd.DataFrame, period: Period | str) -> pd.Series:
    """Days to resolve of each resolved complaint of the period (for a histogram); empty without 办结时间."""
    if absent(df, "resolved_at"):
        return pd.Series([], dtype="float64")
    part = in_period(df, period)
    return ((part["resolved_at"] - part["received_at"]).dt.total_seconds() / 86400).dropna()


# ------------------------------------------------------------------------------------- the rate test
def rate_test(k1: int, e1: float, k2: int, e2: float, *, alternative: str = "less", confidence: float = 0.95, per: float = PER) -> dict:
    """Exact conditional test of the change in a rate from period 1 (k1 events, exposure e1) to period 2.

    Under equal rates k2 | n = k1 + k2 ~ Binomial(n, p0), p0 = e2 / (e1 + e2). ``alternative``:
    "less" (H1: the rate fell; the campaign's question), "greater" or "two-sided" (probabilities no
    more likely than the observed one, as scipy's binomtest). Returns rate1, rate2 (per ``per``),
    rate_ratio, ci_low, ci_high (the exact ONE-SIDED ``confidence`` lower and upper bounds of the rate
    ratio, the ones that match the one-sided verdict; together a two-sided 2 x confidence - 1
    interval, 90% at the default), interval_level (that two-sided level), p_value, p_less, p_greater,
    expected2 (k2 expected under equal rates), verdict ("decrease" / "increase" / "no change" at
    1 - confidence, judged by the one-sided p-values; "no data").

    Duality: ``verdict == "decrease"`` exactly when ``ci_high < 1``, and ``"increase"`` exactly when
    ``ci_low > 1`` (both are the Clopper-Pearson inversion of the same binomial tail).
    """
    if alternative not in ("less", "greater", "two-sided"):
        raise ValueError(f"alternative must be 'less', 'greater' or 'two-sided', not {alternative!r}")
    k1, k2 = int(k1), int(k2)
    if k1 < 0 or k2 < 0 or not (e1 >= 0 and e2 >= 0):
        raise ValueError(f"counts and exposures must be non-negative (k1={k1}, e1={e1}, k2={k2}, e2={e2})")
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be between 0.5 and 1, not {confidence}")
    out = {"k1": k1, "e1": float(e1), "k2": k2, "e2": float(e2), "interval_level": 2 * confidence - 1}
    nan = float("nan")
    if e1 <= 0 or e2 <= 0:
        return out | {"rate1": nan, "rate2": nan, "rate_ratio": nan, "ci_low": nan, "ci_high": nan, "p_value": nan,
                      "p_less": nan, "p_greater": nan, "expected2": nan, "verdict": "no data"}
    rate1, rate2 = k1 / e1 * per, k2 / e2 * per
    n = k1 + k2
    p0 = e2 / (e1 + e2)
    if n == 0:
        return out | {"rate1": rate1, "rate2": rate2, "rate_ratio": nan, "ci_low": nan, "ci_high": nan, "p_value": 1.0,
                      "p_less": 1.0, "p_greater": 1.0, "expected2": 0.0, "verdict": "no change"}
    dist = stats.binom(n, p0)
    p_less = float(dist.cdf(k2))
    p_greater = float(dist.sf(k2 - 1))
    if alternative == "less":
        p = p_less
    elif alternative == "greater":
        p = p_greater
    else:
        pmf = dist.pmf(np.arange(n + 1))
        p = float(min(1.0, pmf[pmf <= pmf[k2] * (1 + 1e-7)].sum()))
    a = 1 - confidence
    # one-sided exact (Clopper-Pearson) bounds at 1 - a: binom.sf(k2 - 1; n, lo) = a, binom.cdf(k2; n, hi) = a
    lo = 0.0 if k2 == 0 else float(stats.beta.ppf(a, k2, n - k2 + 1))
    hi = 1.0 if k2 == n else float(stats.beta.ppf(1 - a, k2 + 1, n - k2))
    odds = e1 / e2

    def ratio(q: float) -> float:
        return np.inf if q >= 1 else q / (1 - q) * odds

    rr = ratio(k2 / n) if k1 > 0 else np.inf
    verdict = "decrease" if p_less < a else "increase" if p_greater < a else "no change"
    return out | {"rate1": rate1, "rate2": rate2, "rate_ratio": rr, "ci_low": ratio(lo), "ci_high": ratio(hi),
                  "p_value": p, "p_less": p_less, "p_greater": p_greater, "expected2": n * p0, "verdict": verdict}


# ------------------------------------------------------------------------------------ unit figures
def exposure_by_unit(business: pd.DataFrame, outlets: pd.DataFrame, period: Period | str, level: str = "sub_branch", column: str = EXPOSURE) -> pd.Series:
    """Transactions (``column``) per unit over the months of the period."""
    p = Period.parse(period)
    b = business[business["month"].isin(p.months)]
    if level == "outlet":
        return b.groupby("outlet_id")[column].sum()
    unit_of = outlets.set_index("outlet_id")["sub_branch_id"]
    return b.assign(unit=b["outlet_id"].map(unit_of)).groupby("unit")[column].sum()


def unit_table(
    complaints: pd.DataFrame,
    business: pd.DataFrame,
    outlets: pd.DataFrame,
    period: Period | str,
    *,
    level: str = "sub_branch",
    exposure: str = EXPOSURE,
    channel: str | None = None,
) -> pd.DataFrame:
    """One row per unit (sub-branch, or outlet with level="outlet"): outlets, complaints now and a year
    earlier, transactions, complaints per outlet and per 10,000 transactions, the per-outlet increment,
    responsible / major / escalated counts. ``channel`` restricts to one intake channel (e.g. "95599").

    Complaints naming no outlet are not in any unit (see :func:`bank_totals`). Units with outlets but
    no complaints are rows with zeros; an outlet id the master data does not know raises.
    """
    p = Period.parse(period)
    q = p.previous()
    c = complaints if channel is None else complaints[complaints["channel"] == channel]
    o = outlets[outlets["opened_on"].isna() | (outlets["opened_on"] < p.end)] if "opened_on" in outlets else outlets
    if level == "outlet":
        units = o[["outlet_id", "outlet_name", "sub_branch_name"]].rename(columns={"outlet_id": "unit", "outlet_name": "unit_name"})
        units["outlets"] = 1
        unit_of = pd.Series(outlets["outlet_id"].to_numpy(), index=outlets["outlet_id"])
    else:
        units = o.groupby(["sub_branch_id", "sub_branch_name"]).size().rename("outlets").reset_index()
        units = units.rename(columns={"sub_branch_id": "unit", "sub_branch_name": "unit_name"})
        unit_of = outlets.set_index("outlet_id")["sub_branch_id"]
    named = c[c["unit_id"].notna()]
    unknown = ~named["unit_id"].isin(unit_of.index)
    if unknown.any():
        raise InputValueError(f"complaint unit id(s) not in the outlets table: {sorted(named.loc[unknown, 'unit_id'].unique())[:5]}")
    named = named.assign(unit=named["unit_id"].map(unit_of))

    def count(part: pd.DataFrame, flag: str | None = None) -> pd.Series:
        if flag:
            part = part[part[flag].fillna(False).astype(bool)]
        return part.groupby("unit").size()

    now, prev = in_period(named, p), in_period(named, q)
    units = units.set_index("unit")
    units["complaints"] = count(now)
    units["complaints_prev"] = count(prev)
    missing = set(absent_columns(complaints, ("responsible", "major", "escalated")))
    flags = [f for f in ("responsible", "major", "escalated") if f not in missing]
    for flag in flags:
        units[flag] = count(now, flag)
    if not {"major", "responsible"} & missing:
        units["major_responsible"] = now[now["major"].fillna(False) & now["responsible"].fillna(False)].groupby("unit").size()
        flags.append("major_responsible")
    cols = ["complaints", "complaints_prev", *flags]
    units[cols] = units[cols].fillna(0).astype("int64")
    for flag in ("responsible", "major", "escalated", "major_responsible"):
        if flag not in units:  # not in this export: no figure, not zero
            units[flag] = pd.Series(pd.NA, index=units.index, dtype="Int64")
    units["transactions"] = exposure_by_unit(business, outlets, p, level, exposure).reindex(units.index)
    units["transactions_prev"] = exposure_by_unit(business, outlets, q, level, exposure).reindex(units.index)
    units["per_outlet"] = units["complaints"] / units["outlets"]
    units["per_10k"] = units["complaints"] / units["transactions"] * PER
    units["per_10k_prev"] = units["complaints_prev"] / units["transactions_prev"] * PER
    units["increment"] = units["complaints"] - units["complaints_prev"]
    units["increment_per_outlet"] = units["increment"] / units["outlets"]
    return units.reset_index()


def bank_totals(complaints: pd.DataFrame, business: pd.DataFrame, outlets: pd.DataFrame, period: Period | str, *, exposure: str = EXPOSURE, channel: str | None = None) -> dict:
    """The bank's figures: complaints (all, and naming an outlet), outlets, transactions, rates, and the
    per-outlet increment of complaints naming an outlet (Σ increment / Σ outlets)."""
    p = Period.parse(period)
    q = p.previous()
    c = complaints if channel is None else complaints[complaints["channel"] == channel]
    now, prev = in_period(c, p), in_period(c, q)
    o = outlets[outlets["opened_on"].isna() | (outlets["opened_on"] < p.end)] if "opened_on" in outlets else outlets
    tx = business.loc[business["month"].isin(p.months), exposure].sum()
    tx_prev = business.loc[business["month"].isin(q.months), exposure].sum()
    named_now, named_prev = int(now["unit_id"].notna().sum()), int(prev["unit_id"].notna().sum())
    return {
        "complaints": len(now), "complaints_prev": len(prev),
        "named": named_now, "named_prev": named_prev, "no_unit": len(now) - named_now, "no_unit_prev": len(prev) - named_prev,
        "outlets": int(len(o)), "transactions": float(tx), "transactions_prev": float(tx_prev),
        "per_outlet": len(now) / max(len(o), 1),
        "per_10k": len(now) / tx * PER if tx else np.nan, "per_10k_prev": len(prev) / tx_prev * PER if tx_prev else np.nan,
        "increment_per_outlet": (named_now - named_prev) / max(len(o), 1),
    }


def change_tests(units: pd.DataFrame, bank: dict | None = None, *, alternative: str = "less", confidence: float = 0.95) -> pd.DataFrame:
    """:func:`rate_test` for every unit of a :func:`unit_table` (and the bank first, when given).

    Adds q_value (Benjamini-Hochberg over the units' one-sided p-values: with 25 units, one or two
    "significant" changes are expected by chance alone at 5%) and verdict_zh.
    """
    rows = []
    if bank is not None:
        t = rate_test(bank["complaints_prev"], bank["transactions_prev"], bank["complaints"], bank["transactions"], alternative=alternative, confidence=confidence)
        rows.append({"unit": "全行", "unit_name": "全行", **t})
    for u in units.itertuples():
        e1 = u.transactions_prev if pd.notna(u.transactions_prev) else 0.0
        e2 = u.transactions if pd.notna(u.transactions) else 0.0
        t = rate_test(u.complaints_prev, e1, u.complaints, e2, alternative=alternative, confidence=confidence)
        rows.append({"unit": u.unit, "unit_name": u.unit_name, **t})
    out = pd.DataFrame(rows)
    is_unit = out["unit"] != "全行"
    ok = is_unit & out["p_value"].notna()
    out["q_value"] = np.nan
    if ok.any():
        out.loc[ok, "q_value"] = stats.false_discovery_control(out.loc[ok, "p_value"].to_numpy(), method="bh")
    out["verdict_zh"] = out["verdict"].map(VERDICTS)
    return out


# --------------------------------------------------------------------------------------- reading
def examples(df: pd.DataFrame, period: Period | str, n: int = 5, seed: int = 0) -> pd.DataFrame:
    """A few complaint descriptions of the period, masked again on the way out (masking is idempotent)."""
    from analysis.masking import mask_series

    part = in_period(df, period)
    part = part[part["description"].notna()]
    pick = part.sample(min(n, len(part)), random_state=seed).sort_values("received_at")
    out = pick[["received_at", "channel", "category", "cause", "description"]].copy()
    out["description"] = mask_series(out["description"])
    return out.reset_index(drop=True)


def fmt_pct(x: float, digits: int = 1) -> str:
    return "—" if pd.isna(x) else f"{x * 100:.{digits}f}%"


def change_sentence(test: dict, what: str, period: Period | str) -> str:
    """The bank-level answer in one plain-language Chinese sentence."""
    p = Period.parse(period)
    q = p.previous()
    k1, k2 = test["k1"], test["k2"]
    if test["verdict"] == "no data":
        return f"{what}：缺少业务量数据，无法检验。"
    rel = (k2 - k1) / k1 if k1 else np.nan
    direction = "下降" if k2 < k1 else "上升" if k2 > k1 else "持平"
    level = 1 - (1 - test.get("interval_level", 0.9)) / 2  # the one-sided level of each bound
    s = (f"{what}：{p.label_zh}{k2:,}件，{q.label_zh}{k1:,}件（{direction}{fmt_pct(abs(rel))}）；"
         f"每万笔金融交易投诉由{test['rate1']:.3f}件变为{test['rate2']:.3f}件，率比{test['rate_ratio']:.2f}")
    # the bound printed is the one the verdict rests on: the text and the number cannot disagree
    if test["verdict"] == "decrease":
        s += (f"（单侧{level:.0%}置信上限{_b(test['ci_high'])}，低于1）。"
              f"单侧精确检验{_p(test['p_less'])}：下降是真实的，不能用随机波动解释。")
    elif test["verdict"] == "increase":
        s += (f"（单侧{level:.0%}置信下限{_b(test['ci_low'])}，高于1）。"
              f"单侧精确检验{_p(test['p_greater'])}：投诉率确实上升。")
    else:
        s += (f"（{test.get('interval_level', 0.9):.0%}置信区间{_b(test['ci_low'])}–{_b(test['ci_high'])}，含1；"
              f"两端各为单侧{level:.0%}界限）。"
              f"检验下降的单侧精确检验{_p(test['p_less'])}：变化仍在随机波动范围内，尚不能说投诉“明显下降”。")
    return s


def _b(x: float) -> str:
    """A bound with 2 decimals, more when 2 would round it onto 1 (0.996 must not read as 1.00)."""
    if x == np.inf:
        return "∞"
    d = 2
    while d < 6 and x != 1 and round(x, d) == 1:
        d += 1
    return f"{x:.{d}f}"


def _p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"

"""Peer comparison: the bank against the other banks, and each of its units against its peer group.

Long-form figures (entity, period, metric, value) are ranked within each metric and period:

- ``rank``: 1 = best; higher values are better unless the metric is "lower is better"; equal values
  share a rank and the next rank is skipped (1, 2, 2, 4);
- ``n``: entities with a value for that metric and period;
- ``leader``: the entity ranked 1 (tied leaders joined with " / "); ``gap_to_leader`` = value minus
  the leader's value (negative when below the leader, whatever the direction);
- ``peer_mean`` / ``peer_median``: mean and median over all ``n`` entities of the group, the entity
  itself included (the same figure on every row of the group); ``gap_to_mean`` = value - peer_mean;
- ``percentile``: the share of the *other* entities that do strictly worse, counting ties as half,
  from 0 (worst) to 100 (best): 100 * (worse + 0.5 * tied) / (n - 1); empty when n = 1;
- ``change``: value minus the same entity's value for the same metric at the previous period present
  in the data (periods in time order: 2015 < 2016-06 < 2016Q3 < 2016); empty if there is none.

Plain sentences for a focus entity come from the same table ("农行 ranks 2nd of 4 on tellers per
outlet (6.45), 0.63 below the leader (建行, 7.08)"). Names, units and directions of known metrics are
in ``mappings/peer_metrics.yaml``.

For the bank's own units (outlets), the same ranking runs within peer groups (urban / county, outlet
grade): percentile bands and gaps to the group median. ``unit_rate_inputs`` computes the numerators
and denominators of three unit rates for funnel plots (``analysis.funnel``).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from analysis import config
from analysis.errors import InputValueError
from analysis.io.read import SourceError
from analysis.periods import Period
from analysis.yamlio import load_model

LONG_COLUMNS = ["entity", "period", "metric", "value"]
OUTPUT_COLUMNS = [
    "entity", "metric", "period", "value", "rank", "n", "leader", "gap_to_leader",
    "peer_mean", "peer_median", "gap_to_mean", "percentile", "change",
]
CATALOGUE_PATH = config.MAPPINGS_DIR / "peer_metrics.yaml"
TIE_JOIN = " / "


# ------------------------------------------------------------------------------------- catalogue
class MetricInfo(BaseModel):
    """How a metric reads: names, unit, display decimals, direction."""

    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str
    unit_zh: str = ""
    percent: bool = False  # a share stored as a fraction (0.18), shown as 18%
    decimals: int | None = Field(default=None, ge=0, le=6)  # None: from the data
    lower_better: bool = False


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metrics: dict[str, MetricInfo] = Field(default_factory=dict)
    entities: dict[str, list[str]] = Field(default_factory=dict, description="short name -> other names")
    groups: dict[str, list[str]] = Field(default_factory=dict, description="peer group -> members (short names)")

    def info(self, metric: str) -> MetricInfo:
        if metric in self.metrics:
            return self.metrics[metric]
        return MetricInfo(zh=metric, en=metric.replace("_", " "))

    def lower_better(self) -> set[str]:
        return {m for m, i in self.metrics.items() if i.lower_better}

    def entity(self, name: str) -> str:
        """The short name of an entity (农业银行 -> 农行); unknown names are returned unchanged."""
        for short, others in self.entities.items():
            if name == short or name in others:
                return short
        return name


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    return load_model(Path(path) if path else CATALOGUE_PATH, Catalogue)


# --------------------------------------------------------------------------------------- periods
def period_key(label: str) -> tuple[int, int, str]:
    """Sort key putting periods in time order: a year, ``YYYY-MM`` or ``YYYYQn`` (by its last month)."""
    p = Period.parse(str(label))
    return (p.year, p.last_month, str(label))


def sort_periods(labels: Iterable[str]) -> list[str]:
    return sorted(set(labels), key=period_key)


# ------------------------------------------------------------------------------------------ input
def read_long(path: Path | str) -> pd.DataFrame:
    """Read a long-form peer file (CSV or .xlsx) through the ``peers`` source definition, strictly.

    Headers may be English or Chinese (实体/机构, 期间, 指标, 数值, 单位, 来源, 备注; see
    ``sources/peers.yaml``). Refused with a ``SourceError`` naming the file and the line (or
    column): an unknown column, a missing column, text or an empty cell in ``value``, an empty
    entity / period / metric, a period that is not a year, ``YYYY-MM`` or ``YYYYQn``, and a
    repeated entity x metric x period. Returns entity, period, metric, value (+ unit, source, note
    when present) with ``source_file`` and ``source_line``.
    """
    from analysis.clean.engine import clean_source
    from analysis.clean.sources import load_sources

    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "file not found")
    src = load_sources()["peers"]
    one = src.model_copy(update={"files": [glob.escape(path.name)], "optional": False})
    res = clean_source(one, path.parent)
    for fr in res.report.files:
        if fr.ignored_columns:
            known = ", ".join(f"{c} ({d.title})" for c, d in src.columns.items())
            raise SourceError(path, f"unknown column(s) {fr.ignored_columns}; the columns are {known}", column=fr.ignored_columns[0])
    if len(res.rejected):
        first = res.rejected.iloc[0]
        more = f" ({len(res.rejected) - 1} more row(s) refused)" if len(res.rejected) > 1 else ""
        reason = str(first["reason"]).replace("repeats the key", "repeats entity x period x metric")
        raise SourceError(path, f"{reason}{more}", line=int(first["line"]))
    table = res.table
    for row in table.itertuples(index=False):
        try:
            Period.parse(row.period)
        except ValueError:
            raise SourceError(path, f"period {row.period!r} is not a year, YYYY-MM or YYYYQn", line=int(row.source_line), column="period") from None
    if table.empty:
        raise SourceError(path, "no rows")
    return table


def _check_long(df: pd.DataFrame) -> None:
    missing = [c for c in LONG_COLUMNS if c not in df.columns]
    if missing:
        raise InputValueError(f"peer table lacks column(s) {missing}; needs {LONG_COLUMNS}")
    dup = df.duplicated(["entity", "metric", "period"], keep=False)
    if dup.any():
        rows = df[dup]
        where = rows["source_line"].astype(str).tolist() if "source_line" in rows else [str(i) for i in rows.index]
        first = rows.iloc[0]
        raise InputValueError(f"entity x metric x period repeated ({first['entity']}, {first['metric']}, {first['period']}) at rows/lines {', '.join(where)}")
    bad = [p for p in df["period"].astype(str).unique() if not _is_period(p)]
    if bad:
        raise InputValueError(f"period(s) {bad} are not a year, YYYY-MM or YYYYQn")


def _is_period(label: str) -> bool:
    try:
        Period.parse(label)
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------------------------ comparison
def rank_within(df: pd.DataFrame, keys: list[str], lower_better: Iterable[str] = (), *, entity: str = "entity", metric: str = "metric", value: str = "value") -> pd.DataFrame:
    """Rank ``entity`` within each group of ``keys`` (which include ``metric``): rank, n, leader,
    gap_to_leader, peer_mean, peer_median, gap_to_mean, percentile (see the module docstring).
    Rows with an empty value stay, with empty results, and do not count in n."""
    out = df.copy()
    lower = set(lower_better)
    sign = np.where(out[metric].isin(lower), -1.0, 1.0)
    vals = pd.to_numeric(out[value], errors="coerce").astype("float64")
    score = pd.Series(vals.to_numpy() * sign, index=out.index)
    groups = [out[k] for k in keys]
    g = score.groupby(groups, sort=False, dropna=False)
    out["rank"] = g.rank(method="min", ascending=False).astype("Int64")
    n = g.transform("count")
    out["n"] = n.astype("int64")
    best = g.transform("max")
    out["leader_value"] = best * sign
    is_best = score.eq(best) & score.notna()
    names = out[entity].astype(str).where(is_best)
    leader = names.groupby(groups, sort=False, dropna=False).transform(lambda s: TIE_JOIN.join(s.dropna()))
    out["leader"] = leader.where(out["n"] > 0, "")
    out["gap_to_leader"] = vals - out["leader_value"]
    vg = vals.groupby(groups, sort=False, dropna=False)
    out["peer_mean"] = vg.transform("mean")
    out["peer_median"] = vg.transform("median")
    out["gap_to_mean"] = vals - out["peer_mean"]
    worse = g.rank(method="min", ascending=True) - 1
    tied = g.rank(method="max", ascending=True) - g.rank(method="min", ascending=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100 * (worse + 0.5 * tied) / (n - 1)
    out["percentile"] = pct.where(n > 1)
    return out


def compare(df: pd.DataFrame, lower_better: Iterable[str] = ()) -> pd.DataFrame:
    """Rank every entity within each metric and period, with the change on its previous period.

    ``df``: long form with entity, period, metric, value (more columns are kept). Returns one row
    per entity x metric x period: OUTPUT_COLUMNS, then previous_period, leader_value and any extra
    input columns; metrics in their first-seen order, periods in time order, best first.
    ``lower_better`` lists the metrics where a lower value is better (a column of that name records it).
    """
    _check_long(df)
    data = df.copy()
    data["period"] = data["period"].astype(str)
    data["value"] = pd.to_numeric(data["value"], errors="raise").astype("float64")
    lower = set(lower_better)
    out = rank_within(data, ["metric", "period"], lower)
    out["lower_better"] = out["metric"].isin(lower)
    out["_pkey"] = out["period"].map(period_key)
    out = out.sort_values(["entity", "metric", "_pkey"], kind="stable")
    prev = out.groupby(["entity", "metric"], sort=False)
    out["previous_period"] = prev["period"].shift(1)
    out["change"] = out["value"] - prev["value"].shift(1)
    metric_order = {m: i for i, m in enumerate(pd.unique(data["metric"]))}
    out["_m"] = out["metric"].map(metric_order)
    out = out.sort_values(["_m", "_pkey", "rank", "entity"], kind="stable")
    extra = [c for c in data.columns if c not in OUTPUT_COLUMNS]
    cols = OUTPUT_COLUMNS + ["previous_period", "leader_value", "lower_better"] + extra
    return out[cols].reset_index(drop=True)


# ------------------------------------------------------------------------------------- sentences
def ordinal(k: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _decimals_of(values: Iterable[float], cap: int = 3) -> int:
    vals = [v for v in values if pd.notna(v)]
    for d in range(cap + 1):
        if all(abs(round(v, d) - v) < 1e-9 * max(1.0, abs(v)) for v in vals):
            return d
    return cap


class _Fmt:
    """Formats a metric's values and gaps consistently (same decimals for both)."""

    def __init__(self, info: MetricInfo, values: Iterable[float], decimals: int | None = None):
        self.info = info
        scaled = [v * 100 if info.percent else v for v in values]
        self.d = decimals if decimals is not None else info.decimals if info.decimals is not None else _decimals_of(scaled)

    def _num(self, x: float) -> str:
        x = x * 100 if self.info.percent else x
        return f"{x:,.{self.d}f}"

    def value(self, x: float, lang: str) -> str:
        if self.info.percent:
            return self._num(x) + "%"
        unit = self.info.unit_zh if lang == "zh" else ""
        return self._num(x) + unit

    def gap(self, x: float, lang: str) -> str:
        if self.info.percent:
            return self._num(abs(x)) + (" percentage points" if lang == "en" else "个百分点")
        return self.value(abs(x), lang)


def _sentence(row: pd.Series, group: pd.DataFrame, info: MetricInfo, fmt: _Fmt, lang: str) -> str:
    e, k, n = row["entity"], int(row["rank"]), int(row["n"])
    tied = [x for x in group.loc[group["rank"] == k, "entity"] if x != e]
    val = fmt.value(row["value"], lang)
    others = group[(group["entity"] != e) & (group["rank"] > k)].sort_values("rank")
    if lang == "en":
        direction = ", lower is better" if info.lower_better else ""
        head = f"{e} ranks {ordinal(k)} of {n} on {info.en} ({val}{direction})"
        if n == 1:
            head = f"{e} is the only one with {info.en} ({val})"
        elif tied:
            head += f", tied with {', '.join(tied)}"
        if n > 1 and k == 1 and not tied and len(others):
            nxt = others.iloc[0]
            head += f", {fmt.gap(row['value'] - nxt['value'], lang)} ahead of the next ({nxt['entity']}, {fmt.value(nxt['value'], lang)})"
        elif k > 1:
            side = "below" if row["gap_to_leader"] < 0 else "above"
            head += f", {fmt.gap(row['gap_to_leader'], lang)} {side} the leader ({row['leader']}, {fmt.value(row['leader_value'], lang)})"
        if pd.notna(row.get("change")):
            c = row["change"]
            head += f"; unchanged on {row['previous_period']}" if c == 0 else f"; {'up' if c > 0 else 'down'} {fmt.gap(c, lang)} on {row['previous_period']}"
        return head
    label = info.zh + ("(越低越好)" if info.lower_better else "")
    if n == 1:
        head = f"{e}{label}{val},仅此一家有数据"
    else:
        place = "首位" if k == 1 else ("末位" if k == n else f"第{k}位")
        head = f"{e}{label}{val},居{n}家{place}"
        if tied:
            head += f"(与{'、'.join(tied)}并列)"
        if k == 1 and not tied and len(others):
            nxt = others.iloc[0]
            head += f",领先第二名{nxt['entity']}({fmt.value(nxt['value'], lang)}){fmt.gap(row['value'] - nxt['value'], lang)}"
        elif k > 1:
            side = "低" if row["gap_to_leader"] < 0 else "高"
            head += f",比第一名{str(row['leader']).replace(TIE_JOIN, '、')}({fmt.value(row['leader_value'], lang)}){side}{fmt.gap(row['gap_to_leader'], lang)}"
    if pd.notna(row.get("change")):
        c = row["change"]
        head += f";较{row['previous_period']}持平" if c == 0 else f";较{row['previous_period']}{'增加' if c > 0 else '减少'}{fmt.gap(c, lang)}"
    return head


def sentences(result: pd.DataFrame, focus: str, *, lang: str = "en", catalogue: Catalogue | None = None, periods: Iterable[str] | None = None) -> pd.DataFrame:
    """One plain sentence per metric and period for ``focus``, from a ``compare`` result.

    Returns metric, period, rank, n and sentence, in the result's order. ``lang``: "en" or "zh".
    """
    if lang not in ("en", "zh"):
        raise InputValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    cat = catalogue or Catalogue()
    if focus not in set(result["entity"]):
        raise InputValueError(f"focus {focus!r} is not among the entities: {', '.join(map(str, pd.unique(result['entity'])))}")
    wanted = set(map(str, periods)) if periods is not None else None
    rows = []
    for (metric, period), group in result.groupby(["metric", "period"], sort=False):
        if wanted is not None and period not in wanted:
            continue
        mine = group[group["entity"] == focus]
        if mine.empty or pd.isna(mine.iloc[0]["rank"]):
            continue
        info = cat.info(metric)
        if "lower_better" in group:  # the direction the ranking used, not the catalogue's
            info = info.model_copy(update={"lower_better": bool(group["lower_better"].iloc[0])})
        fmt = _Fmt(info, result.loc[result["metric"] == metric, "value"])
        row = mine.iloc[0]
        rows.append({"metric": metric, "period": period, "rank": int(row["rank"]), "n": int(row["n"]), "sentence": _sentence(row, group, info, fmt, lang)})
    return pd.DataFrame(rows, columns=["metric", "period", "rank", "n", "sentence"])


# -------------------------------------------------------------------------- plan 1's big-four reading
def plan1_readings(peers: pd.DataFrame, focus: str = "农行", period: str = "2015", *, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Plan 1's reading of the big four (section 一) regenerated from the data: one row per metric with
    the focus bank's value, rank, gap to the leader and to the peer mean, change, and the sentence in
    Chinese and English. ``peers``: the clean ``peers`` table (or any long-form table)."""
    cat = catalogue or load_catalogue()
    data = peers[LONG_COLUMNS].copy()
    result = compare(data, cat.lower_better() & set(data["metric"]))
    zh = sentences(result, focus, lang="zh", catalogue=cat, periods=[period])
    en = sentences(result, focus, lang="en", catalogue=cat, periods=[period])
    mine = result[(result["entity"] == focus) & (result["period"] == str(period))]
    out = mine.merge(zh[["metric", "sentence"]].rename(columns={"sentence": "sentence_zh"}), on="metric")
    out = out.merge(en[["metric", "sentence"]].rename(columns={"sentence": "sentence_en"}), on="metric")
    out.insert(1, "metric_zh", out["metric"].map(lambda m: cat.info(m).zh))
    return out.reset_index(drop=True)


# ------------------------------------------------------------------- the regulator's complaint bulletins
_PUBLISHED = re.compile(r"^(?P<group>.+?)\s*\((?P<stat>median|total)\)$", re.IGNORECASE)


def _decimals_of_text(x: float) -> int:
    s = repr(float(x))
    return 0 if s.endswith(".0") else len(s.split(".")[1]) if "." in s and "e" not in s else 6


def regulator_readings(bulletins: pd.DataFrame, focus: str = "农行", *, group: str = "国有大型商业银行", catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The regulator's complaint figures for a peer group (the six state-owned banks) with the
    published median, for every scope x period x metric where the bulletin gives all the group's banks.

    Returns scope, period, metric, metric_zh, value (the focus bank's), rank, n, best (the bank ranked
    1, fewest complaints), published_median, median_of_group (recomputed from the banks' figures),
    median_matches (the published median equals the recomputed one after rounding to the published
    decimals, half up), gap_to_published_median, sentence_zh, sentence_en. Incomplete groups (a bulletin
    naming only the top banks) are left out: a rank among some of the group would mislead.
    """
    cat = catalogue or load_catalogue()
    members = set(cat.groups.get(group, []))
    if not members:
        raise InputValueError(f"peer group {group!r} is not defined in the catalogue (groups: {list(cat.groups)})")
    b = bulletins.copy()
    b["entity"] = b["bank"].map(cat.entity)
    pub = b["bank"].str.extract(_PUBLISHED)
    medians = b[(pub["group"] == group) & (pub["stat"].str.lower() == "median")]
    banks = b[b["entity"].isin(members)]
    rows = []
    for (scope, period, metric), g in banks.groupby(["scope", "period", "metric"], sort=False):
        if set(g["entity"]) != members or focus not in members:
            continue
        info = cat.info(metric)
        lower = {metric} if info.lower_better else set()
        ranked = rank_within(g.assign(metric=metric), ["metric"], lower)
        me = ranked[ranked["entity"] == focus].iloc[0]
        m = medians[(medians["scope"] == scope) & (medians["period"] == period) & (medians["metric"] == metric)]
        pm = float(m["value"].iloc[0]) if len(m) else np.nan
        cm = float(g["value"].median())
        if np.isfinite(pm):
            d = _decimals_of_text(pm)
            matches = abs(pm - cm) <= 0.5 * 10 ** (-d) + 1e-9
        else:
            matches = None
        fmt = _Fmt(info, g["value"])
        # the published median (39.5 among whole counts) and the gap to it keep their decimals
        fmt_m = _Fmt(info, g["value"], decimals=max(fmt.d, _decimals_of_text(pm))) if np.isfinite(pm) else fmt
        best = me["leader"]
        k, n = int(me["rank"]), int(me["n"])
        where_zh = _scope_zh(scope)
        val_zh, val_en = fmt.value(me["value"], "zh"), fmt.value(me["value"], "en")
        place = "最少" if (k == 1 and info.lower_better) else ("最多" if (k == n and info.lower_better) else f"第{k}少" if info.lower_better else f"第{k}位")
        zh = f"{period} {where_zh}:{focus}{info.zh}{val_zh},在{n}家{group}中{place}"
        en = f"{period}, {scope}: {focus} {val_en} {info.en}, ranks {ordinal(k)} of {n} state-owned banks ({'fewest' if info.lower_better else 'highest'} first)"
        if np.isfinite(pm):
            gap = me["value"] - pm
            side_zh = "低于" if gap < 0 else ("高于" if gap > 0 else "等于")
            zh += f";公布的中位数{fmt_m.value(pm, 'zh')},{focus}{side_zh}中位数" + (fmt_m.gap(gap, "zh") if gap else "")
            en += f"; published median {fmt_m.value(pm, 'en')}, {focus} " + (f"{fmt_m.gap(gap, 'en')} {'below' if gap < 0 else 'above'} it" if gap else "equal to it")
            if matches and abs(pm - cm) < 1e-9:
                zh += f"(与{n}家数据的中位数{_plain(cm)}一致)"
                en += f" (the median of the {n} figures is the same)"
            elif matches:
                zh += f"({n}家数据的中位数{_plain(cm)},四舍五入后与公布值一致)"
                en += f" (the median of the {n} figures, {_plain(cm)}, rounds to it)"
            else:
                zh += f"(注意:{n}家数据的中位数为{_plain(cm)},与公布值不一致)"
                en += f" (note: the median of the {n} figures is {_plain(cm)}, not the published value)"
        rows.append(
            {
                "scope": scope, "period": period, "metric": metric, "metric_zh": info.zh,
                "value": float(me["value"]), "rank": k, "n": n, "best": best,
                "published_median": pm, "median_of_group": cm, "median_matches": matches,
                "gap_to_published_median": float(me["value"]) - pm if np.isfinite(pm) else np.nan,
                "sentence_zh": zh + "。", "sentence_en": en + ".",
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        out["_k"] = out["period"].map(period_key)
        out = out.sort_values(["_k", "scope", "metric"]).drop(columns="_k").reset_index(drop=True)
    return out


_PROVINCES_ZH = {"Shanxi": "山西", "Hunan": "湖南"}


def _scope_zh(scope: str) -> str:
    """"national (CBIRC)" -> 全国, "Shanxi province (...)" -> 山西省; anything else unchanged."""
    if scope.lower().startswith("national"):
        return "全国"
    m = re.match(r"^(\w+) province", scope)
    if m and m[1] in _PROVINCES_ZH:
        return _PROVINCES_ZH[m[1]] + "省"
    return scope


def _plain(x: float) -> str:
    return f"{x:,.4f}".rstrip("0").rstrip(".")


# ----------------------------------------------------------------------------- the bank's own units
def unit_rate_inputs(
    outlets: pd.DataFrame,
    complaints: pd.DataFrame,
    business: pd.DataFrame,
    queue_tickets: Path | str | pd.DataFrame,
    teller_ratings: Path | str | pd.DataFrame,
    period: str | Period,
    engine: str = "duckdb",
) -> dict[str, pd.DataFrame]:
    """Numerators and denominators per outlet for three funnel plots, over ``period``, computed by the
    modules that own each definition (one way to compute anything):

    - ``complaints``: complaints whose unit_id is the outlet, received in the period, per financial
      transactions (``analysis.complaints.stats``: business.fin_txn over the period's months);
      Poisson, per 10,000;
    - ``waits``: called tickets that waited more than 10 minutes per called tickets
      (``analysis.events.waits_table``; customers who left before being called have no wait);
    - ``satisfaction``: ratings of 4 or 5 per rated transactions (``analysis.events.ratings_table``).

    ``queue_tickets`` and ``teller_ratings`` are best given as their clean tables' paths: the engine
    aggregates them where they lie (a city's year is tens of millions of records).

    Each table: outlet_id, outlet_name, area, grade, numerator, denominator, one row per outlet of the
    master data (0 / 0 when it had nothing), plus ``attrs["excluded"]`` with counts of records left
    out and why (complaints without an outlet, tickets never called, unrated transactions, records
    of outlets missing from the master data, records the event rules reject).
    """
    from analysis.complaints import stats as complaint_stats
    from analysis.events import ratings_table, waits_table

    p = Period.parse(period)
    base = outlets[["outlet_id", "outlet_name", "area", "grade"]].drop_duplicates("outlet_id").reset_index(drop=True)
    known = set(base["outlet_id"])

    def attach(num: pd.Series, den: pd.Series, excluded: dict[str, int]) -> pd.DataFrame:
        t = base.copy()
        t["numerator"] = t["outlet_id"].map(num).fillna(0).astype("int64")
        t["denominator"] = t["outlet_id"].map(den).fillna(0).astype("int64")
        t.attrs["excluded"] = excluded
        return t

    c = complaint_stats.in_period(complaints, p)
    no_unit = int(c["unit_id"].isna().sum())
    c = c[c["unit_id"].notna()]
    out = {
        "complaints": attach(
            c.groupby("unit_id").size(),
            complaint_stats.exposure_by_unit(business, outlets, p, level="outlet"),
            {"complaints without an outlet": no_unit, "complaints of outlets not in the master data": int((~c["unit_id"].isin(known)).sum())},
        )
    }
    if complaint_stats.absent(complaints, "unit_id"):  # no outlet named in the export: no rate, not 0
        out["complaints"]["numerator"] = np.nan
        out["complaints"].attrs["absent"] = "unit_id"

    w = waits_table(queue_tickets, engine, by=["outlet_id"], period=p)
    w_counts = w.attrs.get("counts", {})
    w = w.set_index("outlet_id")
    out["waits"] = attach(
        w["over_10min"],
        w["called"],
        {
            "tickets never called (customer left)": int(w["left"].sum()),
            "tickets of outlets not in the master data": int(w.loc[~w.index.isin(known), "tickets"].sum()),
            "tickets rejected by the event rules": int(w_counts.get("rejected", 0)),
        },
    )

    r = ratings_table(teller_ratings, engine, by=["outlet_id"], period=p).set_index("outlet_id")
    out["satisfaction"] = attach(
        r["satisfied"],
        r["rated"],
        {
            "transactions not rated": int((r["transactions"] - r["rated"]).sum()),
            "ratings of outlets not in the master data": int(r.loc[~r.index.isin(known), "rated"].sum()),
        },
    )
    return out


#: How each unit rate is put on a funnel: distribution, scale, direction, Chinese title and axis.
_ABSENT_TITLES = {"unit_id": "被投诉网点编号"}  # the columns a funnel's input may lack (optional in sources/*.yaml)
FUNNEL_SPECS = {
    "complaints": {"kind": "poisson", "per": 10_000, "higher_is_better": False, "metric": "complaints_per_10k_txn", "title": "每万笔金融交易投诉量", "num": "投诉件数", "den": "金融交易笔数", "x": "金融交易笔数", "y": "投诉量(件/万笔)", "percent": False},
    "waits": {"kind": "binomial", "per": 1, "higher_is_better": False, "metric": "waits_over_10min", "title": "等候超过10分钟的客户占比", "num": "等候超10分钟人数", "den": "叫号客户数", "x": "叫号客户数", "y": "等候超10分钟占比(%)", "percent": True},
    "satisfaction": {"kind": "binomial", "per": 1, "higher_is_better": True, "metric": "teller_satisfaction", "title": "柜员服务评价满意度", "num": "满意笔数", "den": "参评笔数", "x": "参评笔数", "y": "满意度(%)", "percent": True},
}


def unit_funnel(inputs: pd.DataFrame, which: str, *, target: float | None = None, overdispersion: str | None = "additive"):
    """The funnel (``analysis.funnel.Funnel``) of one of ``unit_rate_inputs``' tables: ``which`` is
    "complaints", "waits" or "satisfaction". The target is the bank's overall rate unless given
    (as a rate per the spec's scale: complaints per 10,000, shares as fractions); satisfaction is the
    one funnel of ``analysis.metrics.satisfaction_funnel`` and needs the target
    (:func:`satisfaction_target`)."""
    from analysis.funnel import DEFAULT_LEVELS, Funnel, Overdispersion, funnel_table

    spec = FUNNEL_SPECS[which]
    if inputs.attrs.get("absent"):
        from analysis.report.display import not_in_export

        units = pd.DataFrame(columns=["unit", "label", "numerator", "denominator", "rate", "expected", "z", "flag", "flag_zh", "direction",
                                      "lower_95", "upper_95", "lower_99.8", "upper_99.8", "area", "grade"])
        od = Overdispersion(np.nan, 0, np.nan, 0, np.nan, False, 0.0, "none")
        column = inputs.attrs["absent"]
        return Funnel(units, pd.DataFrame(), od, np.nan, spec["kind"], spec["per"], DEFAULT_LEVELS, spec["higher_is_better"],
                      absent=not_in_export(f"{_ABSENT_TITLES.get(column, column)}（{column}）", f"{spec['title']}的漏斗图不计算"))
    if which == "satisfaction":
        # one satisfaction funnel everywhere (analysis.metrics.satisfaction_funnel): centred on the target
        from analysis.metrics import satisfaction_funnel

        if target is None:
            raise ValueError("the satisfaction funnel is centred on the teller_satisfaction target: pass target= (peers.satisfaction_target)")
        f = satisfaction_funnel(inputs, target, num="numerator", den="denominator")
    else:
        f = funnel_table(
            inputs, "outlet_id", "numerator", "denominator", spec["kind"], target=target, per=spec["per"],
            label="outlet_name", higher_is_better=spec["higher_is_better"], overdispersion=overdispersion,
        )
    extra = inputs.set_index("outlet_id")[["area", "grade"]]
    f.units = f.units.join(extra, on="unit")
    return f


def satisfaction_target(targets: Path | str = "") -> float:
    """The teller_satisfaction target of a targets file ("" = the default one): the satisfaction funnel's centre."""
    from analysis import targets as T

    path = Path(targets) if str(targets) else T.DEFAULT_TARGETS_FILE
    return float(T.level_target(T.load_targets(path), "teller_satisfaction", source=path).value)


def funnel_outliers(funnel, which: str) -> pd.DataFrame:
    """The units outside the 95% limits, most extreme first, for display: Chinese column titles, rates
    and limits ("lower – upper") in the spec's units (percent for shares), and 期望数, the count expected
    at the overall rate for the outlet's volume ("17 complaints where 5.1 were expected")."""
    spec = FUNNEL_SPECS[which]
    if funnel.absent:
        return pd.DataFrame({"说明": [funnel.absent]})
    out = funnel.outside().copy()
    scale = 100 if spec["percent"] else 1

    def limits_text(level: str) -> pd.Series:
        lo, hi = out[f"lower_{level}"] * scale, out[f"upper_{level}"] * scale
        return lo.map("{:,.2f}".format) + " – " + hi.map("{:,.2f}".format)

    area = out["area"].map(AREA_ZH).fillna(out["area"])
    grade = out["grade"].map(GRADE_ZH).fillna(out["grade"])
    show = pd.DataFrame(
        {
            "网点": out["label"],
            "类别": area + "·" + grade,
            spec["num"]: out["numerator"].astype("int64"),
            "期望数": out["expected"],
            spec["den"]: out["denominator"].astype("int64"),
            spec["y"]: out["rate"] * scale,
            "95%控制限": limits_text("95"),
            "99.8%控制限": limits_text("99.8"),
            "判断": out["flag_zh"] + np.where(out["direction"] == "worse", "(差)", np.where(out["direction"] == "better", "(好)", "")),
        }
    )
    return show.reset_index(drop=True)


def funnel_summary(funnel, which: str) -> str:
    """One or two sentences on a funnel: how many outlets, how many outside which limits, overdispersion."""
    spec = FUNNEL_SPECS[which]
    if funnel.absent:
        return funnel.absent
    u = funnel.units[funnel.units["flag"] != "no exposure"]
    scale = 100 if spec["percent"] else 1
    unit = "%" if spec["percent"] else "件/万笔"
    worse = u[u["direction"] == "worse"]
    better = u[u["direction"] == "better"]
    hi = worse["flag"].str.contains("99.8").sum()
    text = (
        f"{spec['title']}:{len(u)}个网点,{'目标' if funnel.target_source == 'given' else '全行总体水平'}{funnel.target * scale:.2f}{unit}。"
        f"{len(worse)}个网点差于95%控制限(其中{hi}个超出99.8%控制限),{len(better)}个网点好于95%控制限。"
    )
    od = funnel.overdispersion
    if od.overdispersed and od.applied:
        from analysis.report.display import p_text

        text += f"网点间差异大于随机波动(φ={od.phi:.2f},{p_text(od.p_value)}),控制限已按随机效应(τ²)放宽。"
    elif od.overdispersed:
        text += f"网点间差异大于随机波动(φ={od.phi:.2f}),控制限未调整。"
    else:
        text += f"网点间差异在随机波动范围内(φ={od.phi:.2f}),使用精确控制限。"
    return text


AREA_ZH = {"urban": "市区", "county": "县域"}
GRADE_ZH = {"flagship": "旗舰网点", "comprehensive": "综合网点", "boutique": "精品网点", "basic": "基础网点"}


def unit_metrics(outlets: pd.DataFrame, mystery_shopper: pd.DataFrame, staffing: pd.DataFrame, rate_inputs: dict[str, pd.DataFrame], period: str | Period) -> pd.DataFrame:
    """One row per outlet with the metrics its peer group is compared on, for ``period``:
    mystery_shopper (mean score of the year's checks), teller_satisfaction, waits_over_10min,
    complaints_per_10k_txn (from ``unit_rate_inputs``; empty where the denominator is 0) and
    lobby_staff (``analysis.metrics.latest_snapshot``: directors + managers + assistants + guides at the
    outlet's last staffing date in the period; unknown, not 0, when the snapshot gives none of them)."""
    from analysis.metrics import latest_snapshot

    p = Period.parse(period)
    out = outlets[["outlet_id", "outlet_name", "sub_branch_name", "area", "grade"]].drop_duplicates("outlet_id").reset_index(drop=True)
    ms = mystery_shopper[mystery_shopper["year"] == p.year].groupby("outlet_id")["score"].mean()
    out["mystery_shopper"] = out["outlet_id"].map(ms)
    for which, metric in (("satisfaction", "teller_satisfaction"), ("waits", "waits_over_10min"), ("complaints", "complaints_per_10k_txn")):
        t = rate_inputs[which].set_index("outlet_id")
        rate = (t["numerator"] / t["denominator"].where(t["denominator"] > 0)) * FUNNEL_SPECS[which]["per"]
        out[metric] = out["outlet_id"].map(rate)
    # the registry's one definition: empty cells by metrics.LOBBY_EMPTY_RULE (no snapshot or all roles empty: NaN)
    last = latest_snapshot(staffing, p.start, p.end)
    out["lobby_staff"] = out["outlet_id"].map(last.set_index("outlet_id")["lobby_staff"]).astype("float64")
    return out


#: The metrics each outlet is compared on within its peer group.
UNIT_METRICS = ["mystery_shopper", "teller_satisfaction", "waits_over_10min", "complaints_per_10k_txn", "lobby_staff"]

BANDS = [(75, "前25%"), (50, "25%-50%"), (25, "50%-75%"), (0, "后25%")]


def band(percentile: float) -> str:
    """Quarter of the peer group: 前25% (percentile >= 75), 25%-50% (>= 50), 50%-75% (>= 25), 后25%."""
    if pd.isna(percentile):
        return "组内唯一"
    for floor, label in BANDS:
        if percentile >= floor:
            return label
    return BANDS[-1][1]


def group_comparison(units: pd.DataFrame, metrics: Iterable[str], *, by: Iterable[str] = ("area", "grade"), unit: str = "outlet_id", label: str = "outlet_name", catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Each unit against the others of its peer group (same ``by`` values), metric by metric.

    Returns unit, label, the ``by`` columns, group (Chinese label), metric, metric_zh, value, rank, n,
    group_median, gap_to_median (value - group median; its sign is not a judgement, see better_than_median),
    better_than_median, percentile (0-100, see the module docstring) and band (前25% ... 后25%).
    Units without a value for a metric stay, with empty results.
    """
    cat = catalogue or load_catalogue()
    by = list(by)
    metrics = list(metrics)
    long = units.melt(id_vars=[unit, label, *by], value_vars=metrics, var_name="metric", value_name="value")
    long = long.rename(columns={unit: "entity"})
    lower = {m for m in metrics if cat.info(m).lower_better}
    ranked = rank_within(long, ["metric", *by], lower)
    ranked["group_median"] = ranked["peer_median"]
    ranked["gap_to_median"] = ranked["value"] - ranked["group_median"]
    sign = np.where(ranked["metric"].isin(lower), -1, 1)
    ranked["better_than_median"] = (ranked["gap_to_median"] * sign > 0).where(ranked["value"].notna())
    ranked["band"] = ranked["percentile"].map(band).where(ranked["value"].notna(), "")
    ranked["metric_zh"] = ranked["metric"].map(lambda m: cat.info(m).zh)
    parts = []
    for c in by:
        zh = AREA_ZH if c == "area" else GRADE_ZH if c == "grade" else {}
        parts.append(ranked[c].map(lambda v, zh=zh: zh.get(v, str(v))))
    ranked["group"] = parts[0].str.cat(parts[1:], sep="·") if parts else "全部"
    ranked = ranked.rename(columns={"entity": unit})
    cols = [unit, label, *by, "group", "metric", "metric_zh", "value", "rank", "n", "group_median", "gap_to_median", "better_than_median", "percentile", "band"]
    return ranked[cols].reset_index(drop=True)


def group_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per peer group and metric: outlets, median, best and worst value (for a compact display)."""
    g = comparison.dropna(subset=["value"]).groupby(["group", "metric", "metric_zh"], sort=False)
    out = g.agg(n=("value", "size"), median=("value", "median"), low=("value", "min"), high=("value", "max")).reset_index()
    return out


def attention_list(comparison: pd.DataFrame, min_metrics: int = 2) -> pd.DataFrame:
    """Outlets in the bottom quarter (后25%) of their peer group on at least ``min_metrics`` metrics,
    most such metrics first: 网点, 所属支行 (when present), 对标组, 后25%指标数, and which metrics."""
    low = comparison[comparison["band"] == "后25%"]
    if low.empty:
        return pd.DataFrame(columns=["网点", "对标组", "后25%指标数", "指标"])
    grp = low.groupby(["outlet_id", "outlet_name", "group"], sort=False)
    out = grp.agg(count=("metric", "size"), metrics=("metric_zh", lambda s: "、".join(s))).reset_index()
    out = out[out["count"] >= min_metrics].sort_values(["count", "outlet_id"], ascending=[False, True])
    return out.rename(columns={"outlet_name": "网点", "group": "对标组", "count": "后25%指标数", "metrics": "指标"}).drop(columns="outlet_id").reset_index(drop=True)


# --------------------------------------------------------------------------------- display helpers
def bullets(lines: Iterable[str]) -> str:
    """Sentences as a Markdown bullet list (for ``IPython.display.Markdown``)."""
    return "\n".join(f"- {line}" for line in lines)


def _display_value(info: MetricInfo, values: pd.Series) -> tuple[pd.Series, str, int]:
    fmt = _Fmt(info, values)
    title = info.zh + ("(%)" if info.percent else (f"({info.unit_zh})" if info.unit_zh else ""))
    return (values * 100 if info.percent else values), title, fmt.d


def peer_table(peers_df: pd.DataFrame, period: str, *, catalogue: Catalogue | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The peers' figures for a period as the plan prints them: one row per entity, one column per
    metric (Chinese title and unit; shares in %), each followed by the entity's rank on it; and the
    decimals each metric column is shown with. Data only: :mod:`analysis.report.peer_tables` shows it."""
    cat = catalogue or load_catalogue()
    data = peers_df[LONG_COLUMNS]
    result = compare(data, cat.lower_better() & set(data["metric"]))
    result = result[result["period"] == str(period)]
    table = pd.DataFrame({"机构": pd.unique(result["entity"])})
    formats = {}
    for metric, g in result.groupby("metric", sort=False):
        values, title, d = _display_value(cat.info(metric), g.set_index("entity")["value"])
        table[title] = table["机构"].map(values)
        table[f"{cat.info(metric).zh}排名"] = table["机构"].map(g.set_index("entity")["rank"]).astype("Int64")
        formats[title] = d
    return table, formats


def regulator_table(readings: pd.DataFrame) -> pd.DataFrame:
    """``regulator_readings`` with Chinese column titles (full precision; shown by
    :mod:`analysis.report.peer_tables`)."""
    show = pd.DataFrame(
        {
            "期间": readings["period"],
            "范围": readings["scope"].map(_scope_zh),
            "指标": readings["metric_zh"],
            "本行": readings["value"],
            "排名(少者为先)": readings["rank"],
            "家数": readings["n"],
            "最少": readings["best"],
            "公布中位数": readings["published_median"],
            "重算中位数": readings["median_of_group"],
            "与公布中位数之差": readings["gap_to_published_median"],
        }
    )
    return show


def group_table(comparison: pd.DataFrame, *, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Per peer group: outlets and each metric's group median (shares in %), full precision (shown
    by :mod:`analysis.report.peer_tables`)."""
    cat = catalogue or load_catalogue()
    s = group_summary(comparison)
    pct = s["metric"].map(lambda m: cat.info(m).percent)
    s["median"] = s["median"].where(~pct, s["median"] * 100)
    s["metric_zh"] = s["metric_zh"] + np.where(pct, "(%)", "")
    order = list(dict.fromkeys(s["metric_zh"]))
    wide = s.pivot_table(index="group", columns="metric_zh", values="median", sort=False)[order]
    n = comparison.drop_duplicates("outlet_id").groupby("group", sort=False).size()
    wide.insert(0, "网点数", n.reindex(wide.index))
    return wide.reset_index().rename(columns={"group": "对标组"})


def export_group_comparison(comparison: pd.DataFrame, path: Path | str) -> Path:
    """Every outlet x metric of ``group_comparison`` to an Excel sheet (Chinese headers, frozen header)."""
    path = Path(path)
    show = comparison.rename(
        columns={
            "outlet_id": "网点编号", "outlet_name": "网点", "area": "区域代码", "grade": "等级代码", "group": "对标组",
            "metric": "指标代码", "metric_zh": "指标", "value": "数值", "rank": "组内排名", "n": "组内网点数",
            "group_median": "组中位数", "gap_to_median": "与组中位数之差", "better_than_median": "优于组中位数",
            "percentile": "组内百分位", "band": "分档",
        }
    )
    from analysis.report.excel import write_sheets

    formats = {"数值": "#,##0.0000", "组中位数": "#,##0.0000", "与组中位数之差": "#,##0.0000", "组内百分位": "0.0"}
    widths = {c: 14 if c in ("数值", "组中位数", "与组中位数之差") else 16 if c in ("网点", "指标") else 10 for c in show.columns}
    return write_sheets(path, {"网点分组对标": show}, formats=formats, widths=widths)


def plot_args(which: str) -> dict:
    """Title, axis labels and percent scaling for ``analysis.plots.funnel.plot_funnel``."""
    spec = FUNNEL_SPECS[which]
    return {"title": spec["title"], "xlabel": spec["x"], "ylabel": spec["y"], "percent": spec["percent"]}

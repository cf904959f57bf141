"""The metrics that campaign targets are set on: a closed registry, each computed from the clean tables.

A target (``targets/*.yaml``) names one metric by id. Every metric here is a function

    compute(data: Data, window: Period, sel: Selection, params: dict) -> Measure

that measures the metric over ``window`` (1 January to the window's last month) for the units that
``sel`` selects (the whole bank, one call centre, the urban or county outlets, one sub-branch), and
returns the value together with what the target logic needs to judge it:

- ``series``: the monthly numerator and denominator (value of a month = num / den), for the trend;
- ``n`` and ``sd`` when the value is a sample mean (a survey, mystery-shopper checks), so the target
  can tell "met" from "met within noise";
- ``count`` and ``exposure`` when the value is a count of events (complaints) tested as a rate;
- ``units``: one value per outlet (and snapshot month) for rules about every outlet.

Which metrics are samples and which are exact (a census of every event) is part of the definition:

| metric | value | uncertainty |
| --- | --- | --- |
| outlet_wait_mean | Σ(called × mean wait) / Σ called, minutes (``analysis.events.waits_table``) | exact: every ticket |
| call_answer_rate | Σ answered / Σ offered (``analysis.events.calls_table``) | exact: every call |
| call_service_level | Σ answered within the threshold (20 s) / Σ offered | exact: every call |
| teller_satisfaction | Σ satisfied / Σ rated (``analysis.events.ratings_table``) | exact: every rating |
| mystery_shopper_mean | mean of every check in the window | sample, clustered by outlet: cluster-robust (CR1) se, outlets - 1 df |
| service_test_score | mean of the outlets' average check scores | sample: sd of outlet averages / √outlets |
| satisfaction_score | survey mean pooled over sub-branches, weighted by respondents | sample, clustered (respondents at outlets, outlets in sub-branches): cluster-robust (CR1) se by sub-branch, sub-branches - 1 df |
| complaints_95599 | 95599-channel complaints per 10,000 financial transactions | count: Poisson |
| (whole-bank complaint rate) | every complaint per 10,000 financial transactions (``bank_complaint_rate``) | count: Poisson |
| award_count | outlets holding an award (百佳 / 千佳 ...) in the window's year | exact count |
| lobby_staff | lobby staff (主任 + 经理 + 副理 + 引导员) per outlet at each quarter-end snapshot | exact |
| approval_time | median days to closure of the work orders received (plan 5; ``analysis.workorders``) | sample: bootstrap standard error of the median; n/a without work orders (the bank) |
| workorder_on_time | 限时办结率: closed by the due time / due by the window's end | exact: every order |
| workorder_overdue, escalation_free_days | overdue open orders; days since the last escalated order (百日无越级) | exact count |
| callback_rate, callback_satisfaction | called back / closed; satisfied / called back | exact: every order |

Yearly tables (satisfaction, campaign awards) give the value recorded for the window's year, whatever
the window's last month: they have no monthly series.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.periods import Period


class NoData(Exception):
    """The metric cannot be measured for this window and scope; the message says why."""


# ------------------------------------------------------------------------------------ selections
@dataclass(frozen=True)
class Selection:
    """Which units a measure covers. ``None`` means "no restriction" (the whole bank)."""

    label: str = "全行"
    kind: str = "bank"  # bank | center | area | sub_branch
    outlets: frozenset[str] | None = None
    sub_branches: frozenset[str] | None = None
    center: str | None = None

    @property
    def is_bank(self) -> bool:
        return self.outlets is None and self.sub_branches is None


AREA_LABELS = {"urban": "市区网点", "county": "县域网点"}
CENTER_LABELS = {"95599": "95599客服中心", "credit_card": "信用卡客服中心"}


# ---------------------------------------------------------------------------------------- data
class Data:
    """The clean tables of one processed folder, loaded once and cached; and the event aggregates.

    Event aggregates come from ``analysis.events`` (``calls_table``, ``waits_table``,
    ``ratings_table``), run on the clean Parquet file of the source.
    """

    def __init__(self, processed_dir: Path | str = config.PROCESSED_DIR, *, engine: str = "duckdb"):
        self.processed_dir = Path(processed_dir)
        self.engine = engine
        self._cache: dict[object, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            path = config.table_path(name, self.processed_dir)
            if not path.exists():
                raise NoData(f"no clean table {name!r} in {self.processed_dir} (run `python -m analysis clean`)")
            self._cache[name] = pd.read_parquet(path)
        return self._cache[name]

    def _events(self, key: object, fn_name: str, source: str, **kwargs) -> pd.DataFrame:
        if key not in self._cache:
            path = config.table_path(source, self.processed_dir)
            if not path.exists():
                raise NoData(f"no clean table {source!r} in {self.processed_dir} (run `python -m analysis clean`)")
            import importlib

            try:
                events = importlib.import_module("analysis.events")
            except ModuleNotFoundError as exc:  # the events module itself absent; a missing dependency inside it still fails loudly
                if exc.name != "analysis.events":
                    raise
                raise NoData("analysis.events is not available: the event-log metrics cannot be computed") from None
            table = getattr(events, fn_name)(path, **kwargs)
            if "date" in table.columns and "month" not in table.columns:
                # the month of each day, once: every target and unit looks the table up by month
                table = table.assign(month=_month_of(table["date"]))
            self._cache[key] = table
        return self._cache[key]

    def calls(self, threshold: int = 20) -> pd.DataFrame:
        """center, date, month, offered, answered, answered_in_threshold, abandoned, ... per centre and day."""
        return self._events(("calls", threshold), "calls_table", "calls", engine=self.engine, threshold=threshold, short_abandon=0)

    def waits(self) -> pd.DataFrame:
        """outlet_id, date, month, business_type, tickets, called, mean_wait (minutes, over called tickets), p90_wait, ..."""
        return self._events("waits", "waits_table", "queue_tickets", engine=self.engine)

    def ratings(self) -> pd.DataFrame:
        """outlet_id, month, transactions, rated, rating_rate, satisfied, satisfaction."""
        return self._events("ratings", "ratings_table", "teller_ratings", engine=self.engine)

    def outlets(self) -> pd.DataFrame:
        return self.table("outlets")


# ------------------------------------------------------------------------------------- measures
@dataclass
class Measure:
    """A metric measured over a window for a selection (see the module docstring)."""

    value: float
    kind: str  # ratio | mean | rate | count | units
    n: float | None = None  # sample size (mean kind)
    sd: float | None = None  # sample standard deviation (mean kind)
    count: float | None = None  # events counted (rate kind)
    exposure: float | None = None  # exposure the count is divided by (rate kind); None = time only
    series: pd.DataFrame | None = None  # month (YYYY-MM), num, den
    units: pd.DataFrame | None = None  # outlet_id, month, value (units kind)
    note: str = ""
    extra: dict = field(default_factory=dict)
    clusters: int | None = None  # sampling clusters (outlets) when observations are clustered (mean kind)
    cluster_se: float | None = None  # the cluster-robust standard error of the mean, used instead of sd/√n

    @property
    def se(self) -> float | None:
        if self.kind != "mean":
            return None
        if self.clusters is not None:
            return self.cluster_se if self.clusters > 1 else None
        if self.n is None or self.sd is None or not self.n > 1:
            return None
        return float(self.sd) / float(np.sqrt(self.n))

    @property
    def df(self) -> float | None:
        """Degrees of freedom of the se: clusters - 1 when clustered, else n - 1."""
        if self.clusters is not None:
            return float(self.clusters - 1)
        return None if self.n is None else float(self.n - 1)


def cluster_robust_mean(values, clusters) -> tuple[float, float, int]:
    """(mean, cluster-robust standard error, number of clusters) of a mean of clustered observations.

    CR1 (Liang-Zeger with the G / (G - 1) small-sample factor, as Stata's ``mean, vce(cluster)``):
    Var = G / (G - 1) x Σ_g (Σ_{i in g} (y_i - ȳ))² / N². With equal cluster sizes this is the variance
    of the cluster means divided by G: the comparison of outlet means. Use t on G - 1 df.
    """
    y = pd.Series(np.asarray(values, dtype="float64"))
    g = pd.Series(np.asarray(clusters)).astype("string")
    n, mean = len(y), float(y.mean())
    sums = (y - mean).groupby(g.to_numpy()).sum()
    k = len(sums)
    if k < 2:
        return mean, float("nan"), k
    var = k / (k - 1) * float((sums**2).sum()) / n**2
    return mean, float(np.sqrt(var)), k


@dataclass(frozen=True)
class MetricSpec:
    id: str
    title: str  # Chinese label for reports
    title_en: str
    unit: str  # share | minutes | points | per10k | count | outlets
    better: str  # higher | lower
    scopes: frozenset[str]  # which selection kinds make sense: bank, center, area, sub_branch
    compute: Callable[[Data, Period, Selection, dict], Measure] | None
    params: dict = field(default_factory=dict)  # allowed parameters and their defaults
    description: str = ""
    empty: str = ""  # how empty cells count (stated for every registered metric; tested)


# --------------------------------------------------------------------------------------- helpers
def _month_of(values: pd.Series) -> pd.Series:
    """YYYY-MM of dates, timestamps, or strings already shaped like months."""
    s = pd.Series(values)
    if s.dtype == "string" or s.dtype == object:
        text = s.astype("string")
        if text.dropna().str.fullmatch(r"\d{4}-\d{2}").all():
            return text
    d = pd.to_datetime(s)
    if d.dt.tz is not None:
        d = d.dt.tz_localize(None)  # the wall-clock month, as strftime would print it
    # Each distinct month is printed once (numpy's month unit prints as YYYY-MM): strftime per value
    # cost 30 s of a city's shared figures, where the event aggregates (outlet x day x business type)
    # are looked up month by month for every target and unit.
    codes, months = pd.factorize(d.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]"), use_na_sentinel=True)
    text = np.append(np.asarray(months).astype(str).astype(object), pd.NA)
    return pd.Series(text[codes], index=s.index, dtype="string")


def _in_window(months: pd.Series, window: Period) -> pd.Series:
    return months.isin(window.months)


def _restrict_outlets(df: pd.DataFrame, sel: Selection, column: str = "outlet_id") -> pd.DataFrame:
    if sel.outlets is None:
        return df
    return df[df[column].astype("string").isin(sel.outlets)]


def _series(df: pd.DataFrame, num: str, den: str) -> pd.DataFrame:
    out = df.groupby("month", sort=True)[[num, den]].sum().reset_index()
    out.columns = ["month", "num", "den"]
    return out


def _ratio_measure(df: pd.DataFrame, num: str, den: str, what: str) -> Measure:
    s = _series(df, num, den)
    total_den = float(s["den"].sum())
    if total_den <= 0:
        raise NoData(f"no {what} in the window")
    return Measure(value=float(s["num"].sum()) / total_den, kind="ratio", series=s, extra={"den": total_den})


def _scope_outlet_ids(data: Data, sel: Selection) -> pd.Series:
    outlets = data.outlets()
    ids = outlets["outlet_id"].astype("string")
    if sel.outlets is not None:
        ids = ids[ids.isin(sel.outlets)]
    return ids.reset_index(drop=True)


# ------------------------------------------------------------------------------ pooled event ratios
WAIT_EMPTY_RULE = ("customers who left before being called have no wait and do not count; a row without called "
                   "tickets adds nothing; no called ticket at all is no data (NaN), never 0")


def wait_parts(waits: pd.DataFrame) -> pd.DataFrame:
    """Numerator and denominator of the mean wait for each row of a waits table
    (``analysis.events.waits_table``, whose ``mean_wait`` is over the row's called tickets):
    ``wait_total`` = called × mean_wait (minutes) and ``called``, by :data:`WAIT_EMPTY_RULE`.
    Summed over any rows, wait_total / called is the mean wait of every called ticket there
    (the one definition; :func:`pooled_mean_wait`)."""
    called = waits["called"].astype("float64").fillna(0.0)
    total = called * waits["mean_wait"].astype("float64")
    ok = called.gt(0) & total.notna()
    return pd.DataFrame({"wait_total": total.where(ok, 0.0), "called": called.where(ok, 0.0)}, index=waits.index)


def pooled_mean_wait(waits: pd.DataFrame, by: str | list[str] | None = None) -> pd.Series | float:
    """The mean wait (minutes) of every called ticket of the rows of a waits table: Σ wait_total /
    Σ called (:func:`wait_parts`); NaN without called tickets. With ``by``: one value per group."""
    parts = wait_parts(waits)
    if by is None:
        den = float(parts["called"].sum())
        return float(parts["wait_total"].sum()) / den if den > 0 else float("nan")
    keys = [waits[k] for k in ([by] if isinstance(by, str) else by)]
    g = parts.groupby(keys, sort=True).sum()
    return g["wait_total"] / g["called"].where(g["called"] > 0)


COMPLAINT_RATE_EMPTY_RULE = ("the whole bank counts every complaint received in the period, naming an outlet or not (e.g. taken "
                             "by the credit-card centre); a unit counts the complaints naming its outlets (or itself); a month "
                             "without transactions adds no exposure; no transactions at all is no data (NaN)")


def bank_complaint_rate(complaints: pd.DataFrame, business: pd.DataFrame, outlets: pd.DataFrame, period, *, previous: bool = False) -> dict:
    """The one whole-bank complaint rate: complaints received in ``period`` per 10,000 financial
    transactions (business.fin_txn) of its months, by :data:`COMPLAINT_RATE_EMPTY_RULE`
    (``analysis.complaints.stats.bank_totals``). Returns ``num`` (complaints), ``den``
    (transactions) and ``value`` (per 10,000); ``previous``: the same months a year earlier.
    The sub-branches' pooled rate (complaints naming an outlet only) is another figure and is never
    called the whole bank's."""
    from analysis.complaints import stats as S

    t = S.bank_totals(complaints, business, outlets, period)
    num, den = (t["complaints_prev"], t["transactions_prev"]) if previous else (t["complaints"], t["transactions"])
    return {"num": float(num), "den": float(den), "value": float(num) / float(den) * S.PER if den else float("nan")}


def satisfaction_funnel(table: pd.DataFrame, target: float, *, unit: str = "outlet_id", num: str = "satisfied", den: str = "rated",
                        label: str | None = "outlet_name"):
    """The one funnel of the outlets' teller satisfaction (notebooks 04 and 08, the unit pages):
    satisfied / rated per outlet, binomial limits centred on the teller_satisfaction target of the
    targets file (never on the bank's own average), with no overdispersion adjustment (outlets are
    judged against a fixed target, not against each other). Outlets without ratings have no exposure."""
    from analysis.funnel import funnel_table

    if target is None or not 0 < float(target) < 1:
        raise ValueError(f"the satisfaction funnel is centred on the target share (0 < target < 1), got {target!r}")
    return funnel_table(table, unit, num, den, "binomial", target=float(target), label=label, higher_is_better=True, overdispersion=None)


# ---------------------------------------------------------------------------------------- metrics
def outlet_wait_mean(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    w = data.waits()  # with its month (Data._events)
    w = _restrict_outlets(w[_in_window(w["month"], window)], sel)
    if params.get("business_type"):
        w = w[w["business_type"] == params["business_type"]]
    w = pd.concat([w[["month"]], wait_parts(w)], axis=1)  # the one definition, month by month for the series
    m = _ratio_measure(w, "wait_total", "called", "called queue tickets")
    m.note = f"{int(m.extra['den']):,} 张已叫号排队票"
    return m


def _calls(data: Data, window: Period, sel: Selection, params: dict) -> pd.DataFrame:
    if sel.center is None:
        raise NoData("call metrics need a call centre in the scope (center: 95599 or credit_card)")
    c = data.calls(int(params.get("threshold", 20)))
    c = c[(c["center"].astype("string") == sel.center) & _in_window(c["month"], window)]  # month: Data._events
    return c.assign(**{k: c[k].astype("float64") for k in ("offered", "answered", "answered_in_threshold")})


def call_answer_rate(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    m = _ratio_measure(_calls(data, window, sel, params), "answered", "offered", "calls offered to an agent")
    m.note = f"{int(m.extra['den']):,} 通转人工来电"
    return m


def call_service_level(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    m = _ratio_measure(_calls(data, window, sel, params), "answered_in_threshold", "offered", "calls offered to an agent")
    m.note = f"{int(m.extra['den']):,} 通转人工来电，{int(params.get('threshold', 20))} 秒内接通"
    return m


def teller_satisfaction(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    r = data.ratings()
    r = r.assign(month=_month_of(r["month"]))
    r = _restrict_outlets(r[_in_window(r["month"], window)], sel)
    r = r.assign(satisfied=r["satisfied"].astype("float64"), rated=r["rated"].astype("float64"))
    m = _ratio_measure(r, "satisfied", "rated", "rated transactions")
    m.note = f"{int(m.extra['den']):,} 笔评价"
    return m


def _checks(data: Data, window: Period, sel: Selection) -> pd.DataFrame:
    """Mystery-shopper checks in the window. A check's month is its date's; without a date, the last
    month of its round's quarter (round r -> month 3r)."""
    ms = data.table("mystery_shopper")
    by_round = ms["year"].astype("Int64").astype("string") + "-" + (3 * ms["round"].astype("Int64")).astype("string").str.zfill(2)
    dated = ms["checked_on"].notna()
    month = by_round.copy()
    month[dated] = pd.to_datetime(ms.loc[dated, "checked_on"]).dt.strftime("%Y-%m")
    ms = ms.assign(month=month.astype("string"), score=ms["score"].astype("float64"), one=1.0)
    ms = _restrict_outlets(ms[_in_window(ms["month"], window)], sel)
    if ms.empty:
        raise NoData("no mystery-shopper checks in the window")
    return ms


def mystery_shopper_mean(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """The mean of every check; its noise clustered by outlet (each outlet is checked every round, so
    its checks are not independent draws): cluster-robust se on outlets - 1 degrees of freedom."""
    ms = _checks(data, window, sel)
    n = len(ms)
    sd = float(ms["score"].std(ddof=1)) if n > 1 else None
    mean, cse, k = cluster_robust_mean(ms["score"], ms["outlet_id"])
    return Measure(value=mean, kind="mean", n=n, sd=sd, series=_series(ms, "score", "one"),
                   clusters=k, cluster_se=cse if k > 1 else None,
                   note=f"{n} 次检查，{k} 个网点（误差按网点聚类）")


def service_test_score(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    ms = _checks(data, window, sel)
    per_outlet = ms.groupby("outlet_id")["score"].mean()
    n = len(per_outlet)
    sd = float(per_outlet.std(ddof=1)) if n > 1 else None
    units = pd.DataFrame({"outlet_id": per_outlet.index.astype("string"), "month": window.last_month_label, "value": per_outlet.to_numpy()})
    return Measure(value=float(per_outlet.mean()), kind="mean", n=n, sd=sd, series=_series(ms, "score", "one"), units=units,
                   note=f"{n} 个网点的检查均分（{len(ms)} 次检查）")


def satisfaction_score(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    s = data.table("satisfaction")
    s = s[s["year"].astype("Int64") == window.year]
    if sel.sub_branches is not None:
        s = s[s["sub_branch_id"].astype("string").isin(sel.sub_branches)]
    if s.empty:
        raise NoData(f"no satisfaction survey for {window.year}")
    n_i = s["respondents"].astype("float64").to_numpy()
    m_i = s["score"].astype("float64").to_numpy()
    sd_i = s["score_sd"].astype("float64").to_numpy() if "score_sd" in s else np.full(len(s), np.nan)
    note = ""
    if np.isnan(sd_i).any():
        known = sd_i[~np.isnan(sd_i)]
        if known.size:
            sd_i = np.where(np.isnan(sd_i), float(np.median(known)), sd_i)
            note = f"; {int(np.isnan(s['score_sd'].astype('float64')).sum())} 个支行缺标准差，按其余支行中位数估计"
        else:
            from analysis.report.display import not_in_export

            sd_i = None
            note = "; " + not_in_export("得分标准差（score_sd）", "按精确值处理")
    total = n_i.sum()
    mean = float((n_i * m_i).sum() / total)
    sd = None
    if sd_i is not None and total > 1:
        # pooled over all respondents: within-sub-branch spread plus the spread of sub-branch means
        ss = ((n_i - 1) * sd_i**2).sum() + (n_i * (m_i - mean) ** 2).sum()
        sd = float(np.sqrt(ss / (total - 1)))
    k = len(s)
    if k > 1:
        # Respondents are interviewed at outlets, and outlets nest in sub-branches: their answers are
        # clustered, not independent. The export holds sub-branch totals only, so the noise is
        # cluster-robust by sub-branch (the level that contains the outlets), as for the checks.
        cse = survey_cluster_se(n_i, m_i)
        return Measure(value=mean, kind="mean", n=float(total), sd=sd, clusters=k, cluster_se=cse,
                       note=f"{int(total):,} 份有效问卷，{k} 个支行（误差按支行聚类：受访客户在网点抽取，网点嵌套于支行）",
                       extra={"exact": False})
    return Measure(value=mean, kind="mean", n=float(total), sd=sd,
                   note=f"{int(total):,} 份有效问卷，1 个支行（导出只有支行汇总，无法按网点聚类，按独立样本估计误差）{note}",
                   extra={"exact": sd_i is None})


def survey_cluster_se(respondents, means) -> float:
    """Cluster-robust (CR1) standard error of a survey mean from cluster totals alone.

    A cluster g of n_g respondents with mean m_g contributes Σ_{i in g} (y_i - ȳ) = n_g (m_g - ȳ),
    so ``cluster_robust_mean``'s variance is G / (G - 1) x Σ_g n_g² (m_g - ȳ)² / N²: it needs no
    individual answers (and not their sd). With equal cluster sizes: the variance of the cluster
    means divided by G. Use t on G - 1 df."""
    n = np.asarray(respondents, dtype="float64")
    m = np.asarray(means, dtype="float64")
    k, total = len(n), float(n.sum())
    if k < 2:
        return float("nan")
    ybar = float((n * m).sum() / total)
    var = k / (k - 1) * float(((n * (m - ybar)) ** 2).sum()) / total**2
    return float(np.sqrt(var))


def complaints_95599(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """95599-channel complaints in the window, as a rate: per 10,000 financial transactions of the
    outlets in scope (``business.fin_txn``), or, with ``exposure: months`` or when the window has no
    transaction volumes, per month (time as the exposure). Complaints without an outlet count for the
    whole bank only."""
    c = data.table("complaints")
    from analysis.complaints.stats import absent
    from analysis.report.display import not_in_export

    for col, title in (("channel", "受理渠道"), *((("unit_id", "被投诉网点编号"),) if sel.outlets is not None else ())):
        if absent(c, col):  # an optional column the export lacks: no figure, not zero complaints
            raise NoData(not_in_export(f"{title}（{col}）", "95599服务投诉不计算"))
    c = c[c["channel"].astype("string") == str(params.get("channel", "95599"))]
    c = c.assign(month=_month_of(c["received_at"]))
    c = c[_in_window(c["month"], window)]
    if sel.outlets is not None:
        c = c[c["unit_id"].astype("string").isin(sel.outlets)]
    months = pd.Index(window.months, name="month")
    counts = c.groupby("month").size().reindex(months, fill_value=0).astype("float64")
    exposure = None
    note = ""
    if params.get("exposure", "fin_txn") == "fin_txn":
        try:
            b = data.table("business")
        except NoData:
            b = None
        if b is not None:
            b = b.assign(month=_month_of(b["month"]))
            b = _restrict_outlets(b[_in_window(b["month"], window)], sel)
            exp = b.groupby("month")["fin_txn"].sum().astype("float64").reindex(months, fill_value=0.0)
            if (exp > 0).all():
                exposure = exp / 10_000  # in units of 10,000 transactions
        if exposure is None:
            note = "; 缺少逐月金融性交易量，按月均投诉量比较"
    per = "10k" if exposure is not None else "month"
    den = exposure if exposure is not None else pd.Series(1.0, index=months)
    series = pd.DataFrame({"month": months.astype("string"), "num": counts.to_numpy(), "den": den.to_numpy()})
    x, e = float(series["num"].sum()), float(series["den"].sum())
    scale = f"，{e:,.0f} 万笔金融性交易" if per == "10k" else f"，{len(months)} 个月"
    return Measure(value=x / e, kind="rate", count=x, exposure=e, series=series,
                   note=f"{int(x):,} 件{params.get('channel', '95599')}投诉{scale}{note}", extra={"per": per})


def award_count(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    if "award" not in params:
        raise NoData("award_count needs params.award (top100, top1000, five_star, four_star)")
    c = data.table("campaign")
    c = _restrict_outlets(c[c["year"].astype("Int64") == window.year], sel)
    if c.empty:
        raise NoData(f"no campaign records for {window.year}")
    n = int((c["award"].astype("string") == params["award"]).fillna(False).sum())
    return Measure(value=float(n), kind="count", note=f"{window.year} 年台账 {c['outlet_id'].nunique()} 个网点")


LOBBY_COLUMNS = ["lobby_directors", "lobby_managers", "lobby_assistants", "lobby_guides"]
LOBBY_EMPTY_RULE = ("an empty role cell counts 0 when the snapshot gives any of the four roles; a snapshot with all four "
                    "empty, or an outlet without a snapshot, is unknown (NaN, shown as no data, never as 0) and does not "
                    "meet an 'at least 1' rule")


def lobby_count(staffing: pd.DataFrame) -> pd.Series:
    """Lobby staff of each staffing row: directors + managers + assistants + guides, by
    :data:`LOBBY_EMPTY_RULE` (the one definition; peers, the scoring inputs and the targets use it)."""
    return staffing[LOBBY_COLUMNS].astype("float64").sum(axis=1, min_count=1)


def latest_snapshot(staffing: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Each outlet's last staffing row (one whole row, never columns of different dates) with
    ``as_of`` in [start, end) when given, with a ``lobby_staff`` column (:func:`lobby_count`)."""
    st = staffing.assign(as_of=pd.to_datetime(staffing["as_of"]))
    if start is not None:
        st = st[st["as_of"] >= pd.Timestamp(start)]
    if end is not None:
        st = st[st["as_of"] < pd.Timestamp(end)]
    st = st.sort_values(["outlet_id", "as_of"], kind="stable").drop_duplicates("outlet_id", keep="last")
    return st.assign(lobby_staff=lobby_count(st)).reset_index(drop=True)


def lobby_staff(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """Lobby staff per outlet at every snapshot in the window and at the previous year-end (the
    opening stock); outlets of the master data without a snapshot appear with a missing value (so
    they count as not meeting an every-outlet rule)."""
    st = data.table("staffing")
    st = st.assign(month=_month_of(st["as_of"]))
    st = _restrict_outlets(st[st["month"].isin([f"{window.year - 1}-12", *window.months])], sel)
    if st.empty:
        raise NoData("no staffing snapshots in the window")
    st = st.assign(value=lobby_count(st))
    st = st.sort_values(["outlet_id", "as_of"]).drop_duplicates(["outlet_id", "month"], keep="last")
    units = st[["outlet_id", "month", "value"]].assign(outlet_id=st["outlet_id"].astype("string")).reset_index(drop=True)
    ids = _scope_outlet_ids(data, sel)
    missing = ids[~ids.isin(units["outlet_id"])]
    if len(missing):
        last = units["month"].max()
        units = pd.concat([units, pd.DataFrame({"outlet_id": missing.to_numpy(), "month": last, "value": np.nan})], ignore_index=True)
    latest = units.sort_values("month").drop_duplicates("outlet_id", keep="last")
    return Measure(value=float(latest["value"].mean()), kind="units", units=units,
                   note=f"{len(latest)} 个网点，最近时点 {units['month'].max()}", extra={"missing_outlets": list(missing)})


def _workorders(data: Data, window: Period, params: dict) -> pd.DataFrame:
    """The clean work orders (``analysis.workorders.prepare``) received in the window, of the
    ``type`` (事项名称) and ``channel`` the target's params name, if any."""
    try:
        t = data.table("workorders")
    except NoData as exc:
        raise NoData(f"no data: {exc}") from None
    if t.empty:
        raise NoData("no data: no work orders (sources/workorders.yaml) in the clean tables; the bank's exports carry no approval processing times (plan 5)")
    from analysis.workorders import prepare

    df = prepare(t)
    for col in ("type", "channel"):
        if params.get(col):
            df = df[df[col].astype("string") == str(params[col])]
    df = df[(df["received_at"] >= window.start) & (df["received_at"] < window.end)]
    if df.empty:
        what = ", ".join(f"{c} {params[c]}" for c in ("type", "channel") if params.get(c))
        raise NoData(f"no work orders received in {window.label}" + (f" ({what})" if what else ""))
    return df


def approval_time(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """Median processing days (closed − received) of the work orders received in the window and
    closed by its end; its standard error is the median's bootstrap one (``draws``, ``seed``), so a
    baseline_times target ("halved") is judged beyond noise."""
    from analysis.workorders import median_se

    df = _workorders(data, window, params)
    closed = df["closed_at"].notna() & (df["closed_at"] < window.end)
    days = df.loc[closed, "days"].to_numpy(dtype="float64")
    if days.size == 0:
        raise NoData(f"none of the {len(df):,} work orders received in {window.label} was closed by its end")
    se = median_se(days, draws=int(params.get("draws", 1000)), seed=int(params.get("seed", config.DEFAULT_SEED)))
    n = int(days.size)
    return Measure(value=float(np.quantile(days, 0.5)), kind="mean", n=n, sd=(se * np.sqrt(n) if se is not None else None),
                   note=f"{n:,} 件已办结工单办理天数的中位数（{len(df):,} 件受理）", extra={"statistic": "median"})


def workorder_on_time(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """限时办结率: closed on time (closed_at ≤ due) among the orders received in the window and due by
    its end (``analysis.workorders.figures``); every order counted, so exact."""
    from analysis.workorders import figures

    df = _workorders(data, window, params)
    f = figures(df, window)
    due = int((df["due"].notna() & (df["due"] < window.end)).sum())
    if not due:
        raise NoData(f"no work order received in {window.label} was due by its end (no due time or promised days)")
    return Measure(value=f["on_time_share"], kind="ratio", note=f"{due:,} 件到期工单，{f['overdue_open']:,} 件逾期未办结", extra={"den": due})


def workorder_overdue(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """Orders received in the window, not closed by its end and due before it (overdue and open)."""
    from analysis.workorders import figures

    f = figures(_workorders(data, window, params), window)
    return Measure(value=float(f["overdue_open"]), kind="count", note=f"{f['orders']:,} 件受理，{f['closed']:,} 件已办结")


def _callbacks(data: Data, window: Period, params: dict, column: str, among: str) -> Measure:
    df = _workorders(data, window, params)
    if df[column].isna().all():
        raise NoData(f"no data: the work-order export has no {column} column")
    if among == "closed":
        base = df[df["closed_at"].notna() & (df["closed_at"] < window.end)]
        what = "件已办结工单"
    else:
        base = df[df["callback_done"].fillna(False).astype(bool)]
        what = "件已回访工单"
    if base.empty:
        raise NoData(f"no work orders to judge {column} on in {window.label}")
    yes = int(base[column].fillna(False).astype(bool).sum())
    return Measure(value=yes / len(base), kind="ratio", note=f"{len(base):,} {what}", extra={"den": len(base)})


def callback_rate(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """Closed orders called back (callback_done) among the orders received in the window and closed by its end."""
    return _callbacks(data, window, params, "callback_done", "closed")


def callback_satisfaction(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """Satisfied (callback_satisfied) among the called-back orders received in the window."""
    return _callbacks(data, window, params, "callback_satisfied", "called")


def escalation_free_days(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
    """"百日无越级": days since the last escalated work order up to the window's last day, counted
    from the export's first day when there was none (``analysis.workorders.escalation_runs``)."""
    from analysis.workorders import escalation_runs, prepare

    try:
        t = data.table("workorders")
    except NoData as exc:
        raise NoData(f"no data: {exc}") from None
    df = prepare(t)
    if df.empty or df["escalated"].isna().all():
        raise NoData("no data: no work orders with an escalation column (是否越级)")
    runs = escalation_runs(df, window, [])
    if None not in runs:
        raise NoData(f"no work orders received before the end of {window.label}")
    r = runs[None]
    last = r["last_escalated_on"]
    note = f"最近一次越级 {last.date()}，最长 {r['longest_escalation_free_days']} 天" if pd.notna(last) else f"自 {df['received_at'].min().date()} 起无越级"
    return Measure(value=float(r["escalation_free_days"]), kind="count", note=note)


ALL_SCOPES = frozenset({"bank", "area", "sub_branch"})

REGISTRY: dict[str, MetricSpec] = {
    m.id: m
    for m in [
        MetricSpec("outlet_wait_mean", "网点客户平均等候时间", "outlet average waiting time", "minutes", "lower", ALL_SCOPES, outlet_wait_mean,
                   {"business_type": None}, "Σ(called × mean wait) / Σ called: the mean wait of every called ticket; analysis.events.waits_table",
                   empty=WAIT_EMPTY_RULE),
        MetricSpec("call_answer_rate", "接通率", "answer rate", "share", "higher", frozenset({"center"}), call_answer_rate,
                   {"threshold": 20}, "answered by an agent / calls that asked for an agent; analysis.events.calls_table",
                   empty="calls neither answered nor abandoned (still waiting when the log was cut) stay offered; no offered call in the window is no data, never 0"),
        MetricSpec("call_service_level", "20秒服务水平", "20-second service level", "share", "higher", frozenset({"center"}), call_service_level,
                   {"threshold": 20}, "answered within the threshold / calls that asked for an agent; analysis.events.calls_table",
                   empty="as call_answer_rate; an abandoned or unresolved call is offered and not within the threshold"),
        MetricSpec("teller_satisfaction", "柜员服务评价满意度", "teller rating satisfaction", "share", "higher", ALL_SCOPES, teller_satisfaction,
                   {}, "satisfied (4 or 5) / rated; analysis.events.ratings_table",
                   empty="an empty rating is an unrated transaction: out of the denominator; no rating in the window is no data"),
        MetricSpec("mystery_shopper_mean", "神秘人检查平均得分", "mystery shopper average", "points", "higher", ALL_SCOPES, mystery_shopper_mean,
                   {}, "mean of every check in the window",
                   empty="an outlet without checks in the window is not in the mean; no check at all is no data"),
        MetricSpec("service_test_score", "网点服务测评得分", "service test score", "points", "higher", ALL_SCOPES, service_test_score,
                   {}, "mean of the outlets' average mystery-shopper scores (the service test)",
                   empty="an outlet without checks is left out of the mean of outlet averages (not 0)"),
        MetricSpec("satisfaction_score", "客户满意度", "customer satisfaction", "points", "higher", frozenset({"bank", "sub_branch"}), satisfaction_score,
                   {}, "survey mean over all respondents (sub-branch scores weighted by respondents)",
                   empty="a sub-branch without a survey row is left out; an empty sd is the median of the others (said in the note)"),
        MetricSpec("complaints_95599", "95599服务投诉", "95599 service complaints", "per10k", "lower", ALL_SCOPES, complaints_95599,
                   {"channel": "95599", "exposure": "fin_txn"}, "complaints received through 95599 per 10,000 financial transactions",
                   empty="a month without complaints counts 0; if any month lacks transaction volumes the window is judged per month (said in the note)"),
        MetricSpec("award_count", "示范网点数", "model outlets", "count", "higher", ALL_SCOPES, award_count,
                   {"award": None}, "outlets holding the award in the window's year (campaign records)",
                   empty="an outlet without a campaign record for the year holds no award (0)"),
        MetricSpec("lobby_staff", "网点大堂服务人员", "lobby staff per outlet", "count", "higher", ALL_SCOPES, lobby_staff,
                   {}, "lobby directors + managers + assistants + guides per outlet at each snapshot",
                   empty=LOBBY_EMPTY_RULE),
        MetricSpec("approval_time", "审批办理时间", "approval processing time", "days", "lower", frozenset({"bank"}), approval_time,
                   {"type": None, "channel": None, "draws": 1000, "seed": None},
                   "median days from receipt to closure of the work orders (sources/workorders.yaml) received in the window and closed by its end; n/a without work orders (the bank's exports)",
                   empty="an order not closed by the window end is left out of the median (the note counts the orders received)"),
        MetricSpec("workorder_on_time", "限时办结率", "work orders closed on time", "share", "higher", frozenset({"bank"}), workorder_on_time,
                   {"type": None, "channel": None}, "closed by the due time among the work orders received in the window and due by its end",
                   empty="an order with neither a due time nor promised days is not due: out of the denominator"),
        MetricSpec("workorder_overdue", "逾期未办结工单", "overdue open work orders", "count", "lower", frozenset({"bank"}), workorder_overdue,
                   {"type": None, "channel": None}, "work orders received in the window, due before its end and not closed by it",
                   empty="an order with neither a due time nor promised days is never overdue"),
        MetricSpec("callback_rate", "回访率", "callback rate", "share", "higher", frozenset({"bank"}), callback_rate,
                   {"type": None, "channel": None}, "closed work orders called back, among those closed by the window's end",
                   empty="an empty callback cell counts as not called back"),
        MetricSpec("callback_satisfaction", "回访满意率", "callback satisfaction", "share", "higher", frozenset({"bank"}), callback_satisfaction,
                   {"type": None, "channel": None}, "satisfied among the called-back work orders",
                   empty="an empty satisfaction cell among called-back orders counts as not satisfied"),
        MetricSpec("escalation_free_days", "无越级天数", "days without an escalated complaint", "days", "higher", frozenset({"bank"}), escalation_free_days,
                   {}, "百日无越级: days since the last escalated work order, to the window's last day",
                   empty="an empty escalation cell counts as not escalated; an export without the column is no data"),
    ]
}


def selection_for(data: Data, kind: str, value: str | None = None) -> Selection:
    """The selection for a scope: ``bank``; ``center`` 95599 / credit_card; ``area`` urban / county;
    ``sub_branch`` with a sub-branch id."""
    if kind == "bank":
        return Selection()
    if kind == "center":
        return Selection(label=CENTER_LABELS.get(value, value), kind="center", center=value)
    outlets = data.outlets()
    if kind == "area":
        sub = outlets[outlets["area"].astype("string") == value]
        label = AREA_LABELS.get(value, value)
        return Selection(label=label, kind="area", outlets=frozenset(sub["outlet_id"].astype("string")),
                         sub_branches=frozenset(sub["sub_branch_id"].astype("string")))
    if kind == "sub_branch":
        sub = outlets[outlets["sub_branch_id"].astype("string") == value]
        if sub.empty:
            raise NoData(f"sub-branch {value!r} has no outlets in the master data")
        return Selection(label=str(sub["sub_branch_name"].iloc[0]), kind="sub_branch", outlets=frozenset(sub["outlet_id"].astype("string")),
                         sub_branches=frozenset({value}))
    raise ValueError(f"unknown scope kind {kind!r}")


def outlet_count(data: Data, sel: Selection) -> int:
    """How many outlets of the master data a selection covers."""
    return len(_scope_outlet_ids(data, sel))

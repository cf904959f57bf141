"""Metrics declared in YAML: a count, share, mean or quantile of a clean table's column, with filters.

A targets file may declare the metrics its targets use, so an organisation whose figures the
closed registry (:mod:`analysis.metrics`) does not know needs YAML, not code::

    metrics:
      urgent_orders:
        title: 加急件数
        title_en: urgent applications
        source: workorders            # a clean table (sources/<name>.yaml)
        time: received_at             # the date column that places a record in a window
        statistic: count              # count | share | mean | quantile
        where: [{column: type, op: eq, value: 供水报装}]
        unit: count
        better: higher
      escalated_share:
        ...
        statistic: share
        share_of: [{column: escalated, op: eq, value: true}]   # the records that count as "yes"

Everything is validated on load (the source exists, the columns exist and have a type that fits:
a date for ``time``, a number for a mean or quantile; a share's unit is ``share``); nothing is
evaluated: a filter is a column, an operator from a closed list and a literal. A declared metric
is measured for the whole organisation (``scope: bank``) over the records of the window (1 January
to the window's end). Uncertainty: counts and shares are exact (every record); a mean is a sample
mean (t bound) unless ``noise: exact``; a quantile's standard error is its bootstrap one.

Declared metrics join the registry under their id, once per process: an id of the closed registry,
or one declared twice with different definitions, is refused.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from analysis import config
from analysis.metrics import REGISTRY, Data, Measure, MetricSpec, NoData, Selection, _month_of
from analysis.periods import Period

Op = Literal["eq", "ne", "in", "not_in", "ge", "gt", "le", "lt", "is_empty", "not_empty"]
Literal_ = str | float | int | bool


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    op: Op = "eq"
    value: Literal_ | list[Literal_] | None = None

    @model_validator(mode="after")
    def _value(self):
        if self.op in ("is_empty", "not_empty"):
            if self.value is not None:
                raise ValueError(f"op {self.op} takes no value")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, list) or not self.value:
                raise ValueError(f"op {self.op} needs a non-empty list as value")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"op {self.op} needs one value")
        if self.op in ("ge", "gt", "le", "lt") and (isinstance(self.value, bool) or not isinstance(self.value, int | float)):
            raise ValueError(f"op {self.op} compares with a number")
        return self

    def mask(self, s: pd.Series) -> pd.Series:
        if self.op == "is_empty":
            return s.isna()
        if self.op == "not_empty":
            return s.notna()
        if self.op in ("in", "not_in"):
            hit = s.isin(self.value) | s.astype("string").isin([str(v) for v in self.value])
            return (hit if self.op == "in" else ~hit & s.notna()).fillna(False).astype(bool)
        v = self.value
        if self.op in ("eq", "ne"):
            if isinstance(v, bool):
                hit = s.astype("boolean") == v
            elif isinstance(v, int | float):
                hit = pd.to_numeric(s, errors="coerce") == v
            else:
                hit = s.astype("string") == v
            hit = hit.fillna(False).astype(bool)
            return hit if self.op == "eq" else ~hit & s.notna()
        x = pd.to_numeric(s, errors="coerce")
        return {"ge": x >= v, "gt": x > v, "le": x <= v, "lt": x < v}[self.op].fillna(False).astype(bool)


class DeclaredMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    time: str
    statistic: Literal["count", "share", "mean", "quantile"]
    column: str | None = None
    q: float | None = Field(default=None, gt=0, lt=1)
    where: list[Filter] = Field(default_factory=list)
    share_of: list[Filter] = Field(default_factory=list)
    noise: Literal["sample", "exact"] = "sample"
    unit: Literal["share", "count", "days", "minutes", "points", "per_month"]
    better: Literal["higher", "lower"]
    description: str = ""

    @model_validator(mode="after")
    def _shape(self):
        s = self.statistic
        if s in ("mean", "quantile") and not self.column:
            raise ValueError(f"statistic {s} needs 'column'")
        if s in ("count", "share") and self.column:
            raise ValueError(f"statistic {s} takes no 'column' (filter with 'where')")
        if (s == "quantile") != (self.q is not None):
            raise ValueError("'q' (0-1) is for statistic quantile, and it needs one")
        if (s == "share") != bool(self.share_of):
            raise ValueError("'share_of' (the records that count as yes) is for statistic share, and it needs one")
        if (s == "share") != (self.unit == "share"):
            raise ValueError("a share has unit share, and only a share does")
        if s == "count" and self.unit != "count":
            raise ValueError("a count has unit count")
        return self

    def check_source(self, sources_dir=config.SOURCES_DIR) -> None:
        """The source and columns exist with fitting types (raises ValueError naming them)."""
        from analysis.clean.sources import load_sources

        sources = load_sources(sources_dir)
        if self.source not in sources:
            raise ValueError(f"source {self.source!r} is not defined (sources: {', '.join(sources)})")
        cols = sources[self.source].columns
        for what, name in [("time", self.time), ("column", self.column), *[("where", f.column) for f in self.where], *[("share_of", f.column) for f in self.share_of]]:
            if name is not None and name not in cols:
                raise ValueError(f"{what}: {self.source} has no column {name!r} (columns: {', '.join(cols)})")
        if cols[self.time].type not in ("date", "datetime", "month"):
            raise ValueError(f"time: {self.source}.{self.time} is a {cols[self.time].type}, not a date")
        if self.column and cols[self.column].type not in ("int", "number", "percent"):
            raise ValueError(f"column: {self.source}.{self.column} is a {cols[self.column].type}, not a number")


def _bootstrap_se(x: np.ndarray, q: float, draws: int = 1000, seed: int = config.DEFAULT_SEED) -> float | None:
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // x.size)
    out = []
    for s in range(0, draws, chunk):
        k = min(chunk, draws - s)
        out.append(np.quantile(x[rng.integers(0, x.size, size=(k, x.size))], q, axis=1))
    return float(np.std(np.concatenate(out), ddof=1))


def measure(decl: DeclaredMetric, data: Data, window: Period) -> Measure:
    """The declared statistic over the records of ``window`` that pass ``where``."""
    t = data.table(decl.source)
    if decl.time not in t:
        raise NoData(f"the clean table {decl.source!r} has no column {decl.time!r}")
    month = _month_of(t[decl.time])
    rows = t[month.isin(window.months).fillna(False).to_numpy()].assign(month=month)
    for f in decl.where:
        rows = rows[f.mask(rows[f.column]).to_numpy()]
    what = f"{decl.source} records in {window.label}" + (" passing the filters" if decl.where else "")
    if rows.empty:
        raise NoData(f"no {what}")
    if decl.statistic == "count":
        return Measure(value=float(len(rows)), kind="count", note=f"{len(rows):,} 条记录")
    if decl.statistic == "share":
        yes = np.ones(len(rows), dtype=bool)
        for f in decl.share_of:
            yes &= f.mask(rows[f.column]).to_numpy()
        series = pd.DataFrame({"month": rows["month"].to_numpy(), "num": yes.astype(float), "den": 1.0}).groupby("month", sort=True)[["num", "den"]].sum().reset_index()
        return Measure(value=float(yes.mean()), kind="ratio", series=series, note=f"{int(yes.sum()):,} / {len(rows):,} 条记录", extra={"den": float(len(rows))})
    x = pd.to_numeric(rows[decl.column], errors="coerce").astype("float64")
    keep = x.notna().to_numpy()
    x, months = x.to_numpy()[keep], rows["month"].to_numpy()[keep]
    if x.size == 0:
        raise NoData(f"no {decl.column} values among the {what}")
    exact = decl.noise == "exact"
    if decl.statistic == "mean":
        series = pd.DataFrame({"month": months, "num": x, "den": 1.0}).groupby("month", sort=True)[["num", "den"]].sum().reset_index()
        sd = float(np.std(x, ddof=1)) if x.size > 1 else None
        return Measure(value=float(x.mean()), kind="mean", n=float(x.size), sd=sd, series=series, note=f"{x.size:,} 条记录的均值", extra={"exact": exact})
    se = None if exact else _bootstrap_se(x, decl.q)
    return Measure(value=float(np.quantile(x, decl.q)), kind="mean", n=float(x.size), sd=(se * np.sqrt(x.size) if se is not None else None),
                   note=f"{x.size:,} 条记录的 {decl.q:g} 分位数", extra={"exact": exact})


# How empty cells count, per statistic (what :func:`measure` does; stated in the registry)
EMPTY_RULE = {
    "count": "every record of the window passing the filters counts, whatever its cells; none at all is no data",
    "share": "an empty cell fails every share_of filter but is_empty (so counts as not in the share, except under is_empty); no record at all is no data",
    "mean": "an empty or non-numeric cell of the column is left out of the mean; none left is no data, never 0",
    "quantile": "an empty or non-numeric cell of the column is left out of the quantile; none left is no data, never 0",
}

_DECLARED: dict[str, DeclaredMetric] = {}


def register(metric_id: str, decl: DeclaredMetric) -> MetricSpec:
    """Add a declared metric to the registry (idempotent for the same definition)."""
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]*", metric_id):
        raise ValueError(f"metric id {metric_id!r} must be a lower-case identifier")
    if metric_id in _DECLARED:
        if _DECLARED[metric_id] != decl:
            raise ValueError(f"metric {metric_id!r} is already declared with a different definition")
        return REGISTRY[metric_id]
    if metric_id in REGISTRY:
        raise ValueError(f"metric {metric_id!r} is a built-in metric; give the declared one another id")
    decl.check_source()

    def compute(data: Data, window: Period, sel: Selection, params: dict) -> Measure:
        return measure(decl, data, window)

    spec = MetricSpec(metric_id, decl.title, decl.title_en, decl.unit, decl.better, frozenset({"bank"}), compute, {},
                      decl.description or f"declared: {decl.statistic} of {decl.source}", empty=EMPTY_RULE[decl.statistic])
    REGISTRY[metric_id] = spec
    _DECLARED[metric_id] = decl
    return spec


def register_all(raw: object) -> None:
    """Validate and register the ``metrics:`` section of a targets file (raw YAML data)."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise ValueError("metrics: expected a mapping of metric id -> definition")
    for metric_id, body in raw.items():
        try:
            decl = DeclaredMetric.model_validate(body)
            register(str(metric_id), decl)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise ValueError(f"metrics.{metric_id}: {exc}") from None

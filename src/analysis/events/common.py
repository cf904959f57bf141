"""Pieces shared by the three event aggregations: parsing times, waits in whole seconds, the clock
skew rule, grouping keys, running an expression and accounting for every record.

One scan does everything: the classified records (a ``reason`` column is empty for a usable record
and says why otherwise) are grouped by the requested keys *and* the reason, so the same query gives
the table (reason empty) and the count of rejected records per reason. The rejected records
themselves are fetched by a second query only when there are some.

Engine differences this module removes, so that DuckDB and Spark give identical tables:
- times are compared in whole seconds (``floor`` of the epoch seconds: Spark truncates, DuckDB keeps
  fractions); waits are integers, so sums and means are exact;
- divisions by zero give an empty value (Spark's ANSI mode would raise);
- a percentile is rounded to the microsecond (DuckDB and Spark interpolate with formulas that can
  differ in the last bit);
- result types (dates, integers, months as ``YYYY-MM``) are normalised after the run.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

SKEW_TOLERANCE_S = 60  # a wait down to -60 s is clock skew (counted as 0); below that, impossible

TIME_KEYS = ("date", "month", "year", "weekday", "hour", "half_hour")
TIME_KEY_TITLES = {
    "date": "date of the event",
    "month": "month, YYYY-MM",
    "year": "year",
    "weekday": "ISO weekday, 1 = Monday ... 7 = Sunday",
    "hour": "hour of day, 0-23",
    "half_hour": "half hour of day, 0 = 00:00-00:30 ... 47 = 23:30-24:00",
}


# ------------------------------------------------------------------------------------ expressions
def as_timestamp(col):
    """A timestamp column from a timestamp, date or text column (text that is not a time -> null)."""
    dtype = col.type()
    if dtype.is_timestamp():
        return col
    if dtype.is_date():
        return col.cast("timestamp")
    return col.cast("string").strip().try_cast("timestamp")


def seconds(ts):
    """Whole epoch seconds of a timestamp (fractions dropped) as an integer."""
    return ts.epoch_seconds().floor().cast("int64")


def parse_failed(raw, parsed):
    """True where a value was given but could not be parsed."""
    return raw.notnull() & parsed.isnull()


def flag(cond):
    """A condition as 0/1 (null counts as 0), for summing."""
    import ibis

    return ibis.ifelse(cond.fill_null(False), 1, 0)


def ratio(num, den):
    """num / den as a float, empty when den is 0."""
    import ibis

    return ibis.ifelse(den > 0, num.cast("float64") / den.cast("float64"), ibis.null("float64"))


def time_key(ts, key: str):
    """A grouping key derived from the event time (see ``TIME_KEYS``)."""
    if key == "date":
        return ts.date()
    if key == "month":
        return ts.year() * 100 + ts.month()  # formatted as YYYY-MM after the run
    if key == "year":
        return ts.year()
    if key == "weekday":
        return ts.day_of_week.index() + 1  # ibis: 0 = Monday on every backend
    if key == "hour":
        return ts.hour()
    if key == "half_hour":
        return ts.hour() * 2 + flag(ts.minute() >= 30)
    raise ValueError(f"unknown time key {key!r}")


def check_by(by: str | Sequence[str], entity_keys: Sequence[str], what: str) -> list[str]:
    """Validate grouping keys: entity columns of the source and derived time keys."""
    keys = [by] if isinstance(by, str) else list(by)
    allowed = list(entity_keys) + list(TIME_KEYS)
    bad = [k for k in keys if k not in allowed]
    if bad or len(set(keys)) != len(keys):
        raise ValueError(f"{what}: cannot group by {keys!r}; choose distinct keys among {', '.join(allowed)}")
    return keys


# -------------------------------------------------------------------------------------- running
@dataclass
class EventResult:
    """The aggregated table and the accounting of every record read.

    ``counts``: ``records`` read, ``used`` in the table, ``rejected`` (impossible or unparsable),
    ``skew_clamped`` (waits between -60 s and 0 counted as 0), ``excluded`` (left out by an adapter,
    e.g. PHANTOM calls) and ``reasons`` (rejected/excluded count per reason).
    """

    table: pd.DataFrame
    counts: dict[str, Any]
    _rejected_expr: Any = field(default=None, repr=False)
    _con: Any = field(default=None, repr=False)
    excluded: pd.DataFrame | None = field(default=None, repr=False)

    def rejected_frame(self) -> pd.DataFrame:
        """Every record not in the table, with its ``reason`` (excluded by the adapter first)."""
        parts = []
        if self.excluded is not None and len(self.excluded):
            parts.append(self.excluded)
        if self.counts["rejected"] and self._rejected_expr is not None:
            from analysis.events.engine import quiet_library_warnings

            with quiet_library_warnings():
                engine_rejected = self._con.execute(self._rejected_expr)
            if len(engine_rejected):
                parts.append(_normalise_frame(engine_rejected))
        if not parts:
            return pd.DataFrame(columns=["reason"])
        out = pd.concat(parts, ignore_index=True)
        return out[["reason"] + [c for c in out.columns if c != "reason"]]

    def write_rejected(self, path: Path | str) -> int:
        """Write :meth:`rejected_frame` to a CSV file (UTF-8 with BOM, for Excel); returns the row
        count. Large rejections stream in batches instead of being held in memory."""
        path = Path(path)
        n_rejected = int(self.counts["rejected"])
        excluded = self.excluded if self.excluded is not None else pd.DataFrame()
        if n_rejected <= 1_000_000 or len(excluded):
            frame = self.rejected_frame()
            frame.to_csv(path, index=False, encoding="utf-8-sig")
            return len(frame)
        import pyarrow.csv as pacsv

        written = 0
        with open(path, "wb") as fh:
            fh.write("\ufeff".encode())
            from analysis.events.engine import quiet_library_warnings

            with quiet_library_warnings():
                reader = self._con.to_pyarrow_batches(self._rejected_expr, chunk_size=500_000)
            with pacsv.CSVWriter(fh, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    written += batch.num_rows
        return written

    def summary(self) -> str:
        """One line for the command line: records in = used + rejected (+ excluded)."""
        c = self.counts
        text = f"{c['records']:,} records = {c['used']:,} used + {c['rejected']:,} rejected"
        if c.get("excluded"):
            text += f" + {c['excluded']:,} excluded"
        if "skew_clamped" in self.table.columns:
            text += f"; {c['skew_clamped']:,} waits between -{SKEW_TOLERANCE_S} s and 0 counted as 0 (clock skew)"
        return text


def run(con, classified, keys: dict, metrics: dict, derived: dict, *, record_columns: list[str], what: str, source="") -> EventResult:
    """Group ``classified`` (records with a ``reason`` column) by ``keys`` (name -> expression) and the
    reason, compute ``metrics`` (aggregates) then ``derived`` (functions of the aggregated table),
    and split the result into the table and the rejected counts. ``record_columns`` are the columns
    a rejected record is reported with."""
    grouped = classified.group_by(reason=classified.reason, **keys).aggregate(records=classified.count(), **metrics)
    grouped = grouped.mutate(**{name: fn(grouped) for name, fn in derived.items()})
    from analysis.events.engine import quiet_library_warnings

    from analysis.events.engine import is_engine_error, short_error
    from analysis.io.read import SourceError

    try:
        with quiet_library_warnings():
            raw = con.execute(grouped)
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        label = source if isinstance(source, (str, Path)) and str(source) else f"<{what} data>"
        raise SourceError(label, f"the {con.name} engine could not read the records: {short_error(exc)}") from exc
    ok = raw["reason"].isna()
    table = raw.loc[ok].drop(columns="reason")
    table = _normalise_frame(table)[[*keys, *[c for c in table.columns if c not in keys]]]
    table = (table.sort_values(list(keys), kind="stable") if keys else table).reset_index(drop=True)
    bad = raw.loc[~ok]
    reasons = {str(r): int(n) for r, n in bad.groupby("reason")["records"].sum().sort_index().items()}
    counts = {
        "records": int(raw["records"].sum()),
        "used": int(table["records"].sum()) if len(table) else 0,
        "rejected": int(bad["records"].sum()),
        "skew_clamped": int(table["skew_clamped"].sum()) if "skew_clamped" in table and len(table) else 0,
        "excluded": 0,
        "reasons": reasons,
    }
    assert counts["records"] == counts["used"] + counts["rejected"], counts
    rejected_expr = classified.filter(classified.reason.notnull()).select("reason", *record_columns)
    result = EventResult(table, counts, rejected_expr, con)
    if counts["rejected"]:
        top = "; ".join(f"{n:,} {r}" for r, n in reasons.items())
        warnings.warn(f"{what}: {counts['rejected']:,} of {counts['records']:,} records rejected ({top})", stacklevel=3)
    return result


def _normalise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The same dtypes whichever engine produced the frame."""
    df = df.copy()
    for col in df.columns:
        s = df[col]
        if col == "month" and pd.api.types.is_numeric_dtype(s):
            df[col] = s.map(lambda v: f"{int(v) // 100:04d}-{int(v) % 100:02d}" if pd.notna(v) else None)
        elif col == "date" or pd.api.types.is_datetime64_any_dtype(s):
            df[col] = pd.to_datetime(s).astype("datetime64[us]") if col != "date" else pd.to_datetime(s).astype("datetime64[s]")
        elif pd.api.types.is_bool_dtype(s):
            continue
        elif pd.api.types.is_integer_dtype(s):
            df[col] = s.astype("int64") if not s.isna().any() else s.astype("Int64")
        elif pd.api.types.is_float_dtype(s):
            df[col] = s.astype("float64")
    return df

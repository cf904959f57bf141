"""Pieces shared by the three event aggregations: parsing times, waits in whole seconds, the clock
skew rule, grouping keys, running an expression and accounting for every record.

One scan does everything: the classified records (a ``reason`` column is empty for a usable record
and says why otherwise) are grouped by the requested keys *and* the reason, and each group collects
its rejected records, so the same query gives the table (reason empty), the count of rejected
records per reason and the rejected records themselves; both go into the one collector,
:class:`analysis.rejects.Rejected` (counts by reason code, the collected records, their CSV).

Engine differences this module removes, so that DuckDB and Spark give identical tables:
- times are compared in whole seconds (``floor`` of the epoch seconds: Spark truncates, DuckDB keeps
  fractions); waits are integers, so sums and means are exact;
- divisions by zero give an empty value (Spark's ANSI mode would raise);
- a percentile is rounded to the microsecond (DuckDB and Spark interpolate with formulas that can
  differ in the last bit);
- result types (dates, integers, months as ``YYYY-MM``) are normalised after the run.

The results come back as Arrow tables; pandas is loaded only when a DataFrame is asked for, so the
command line does not pay for importing it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.errors import InputValueError

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


def is_frame(obj) -> bool:
    """Whether ``obj`` is a pandas DataFrame (without importing pandas: if it is not loaded, it is not)."""
    import sys

    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


def is_text(col) -> bool:
    """Whether a source column holds text (CSV) rather than typed values (Parquet, DataFrame)."""
    return col.type().is_string()


def reason_code(rules: list[tuple]):
    """The first rule that holds, as a small integer code (grouping on it is cheaper than on text),
    and the labels: code ``i + 1`` means rule i's text; empty for a usable record. A rule is
    ``(condition, Reason, fields)``: a code of the closed set (``analysis.rejects.Reason``) and the
    fields its text names; its English text is the label. Rules whose condition is ``None`` (cannot
    happen for this source) are left out."""
    import ibis

    from analysis.rejects import Reason

    kept = []
    for cond, reason, fields in rules:
        if not isinstance(reason, Reason):
            raise TypeError(f"an event rule needs a Reason code (analysis.rejects), not {reason!r}")
        if cond is not None:
            kept.append((cond, reason.en(**fields)))
    expr = ibis.cases(*[(cond, i + 1) for i, (cond, _) in enumerate(kept)], else_=ibis.null("int16"))
    return expr.cast("int16"), [label for _, label in kept]


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
    raise InputValueError(f"unknown time key {key!r}")


def check_by(by: str | Sequence[str], entity_keys: Sequence[str], what: str) -> list[str]:
    """Validate grouping keys: entity columns of the source and derived time keys."""
    keys = [by] if isinstance(by, str) else list(by)
    allowed = list(entity_keys) + list(TIME_KEYS)
    bad = [k for k in keys if k not in allowed]
    if bad or len(set(keys)) != len(keys):
        raise InputValueError(f"{what}: cannot group by {keys!r}; choose distinct keys among {', '.join(allowed)}")
    return keys


# -------------------------------------------------------------------------------------- running
class EventResult:
    """The aggregated table and the accounting of every record read.

    ``table``: the result as a pandas DataFrame (``arrow``: the same as an Arrow table; the command
    line writes it without loading pandas). ``counts``: ``records`` read, ``used`` in the table,
    ``rejected`` (impossible or unparsable), ``skew_clamped`` (waits between -60 s and 0 counted as
    0), ``excluded`` (left out by an adapter, e.g. PHANTOM calls) and ``reasons`` (count per reason).
    ``rejected_frame()``: every record left out, with its ``reason``. ``collector``: the
    :class:`analysis.rejects.Rejected` that counts them by reason code and writes them.
    """

    def __init__(self, arrow, counts: dict[str, Any], rejected=None, excluded=None, collector=None):
        from analysis.rejects import Rejected

        self.arrow = arrow
        self.counts = counts
        self.rejected_arrow = rejected  # records the engine rejected (Arrow), with their reason
        self.excluded = excluded  # records an adapter left out (pandas), with their reason
        self.collector = collector if collector is not None else Rejected()
        self._table = None

    @property
    def table(self):
        if self._table is None:
            self._table = to_frame(self.arrow)
        return self._table

    @table.setter
    def table(self, frame) -> None:
        self._table = frame

    @property
    def rejected(self):
        """The records the engine rejected, as a DataFrame."""
        import pandas as pd

        if self.rejected_arrow is None or self.rejected_arrow.num_rows == 0:
            return pd.DataFrame(columns=["reason"])
        return to_frame(self.rejected_arrow)

    def rejected_frame(self):
        """Every record not in the table, with its ``reason`` (excluded by the adapter first)."""
        import pandas as pd

        parts = [f for f in (self.excluded, self.rejected) if f is not None and len(f)]
        if not parts:
            return pd.DataFrame(columns=["reason"])
        out = pd.concat(parts, ignore_index=True)
        return out[["reason"] + [c for c in out.columns if c != "reason"]]

    def write_table(self, path: Path | str) -> None:
        """The table as CSV (UTF-8 with a byte-order mark, so that Excel reads it)."""
        if self._table is not None:  # changed through the DataFrame: write that
            from analysis.report.excel import write_csv

            write_csv(self._table, path)
        else:
            _write_csv(self.arrow, path)

    def write_rejected(self, path: Path | str) -> int:
        """Every record left out, with its reason, as CSV (through the collector); returns the number of records."""
        from analysis.rejects import Rejected

        out = Rejected(self.collector.where)
        if self.excluded is not None and len(self.excluded):
            out.add_frame(self.rejected_frame())
        else:
            out.add_arrow(self.rejected_arrow)
        return out.write_csv(path)

    def summary(self) -> str:
        """One line for the command line: records in = used + rejected (+ excluded)."""
        c = self.counts
        text = f"{c['records']:,} records = {c['used']:,} used + {c['rejected']:,} rejected"
        if c.get("excluded"):
            text += f" + {c['excluded']:,} excluded"
        if "skew_clamped" in self.arrow.column_names:
            text += f"; {c['skew_clamped']:,} waits between -{SKEW_TOLERANCE_S} s and 0 counted as 0 (clock skew)"
        return text


def is_clean_table(source) -> bool:
    """Whether ``source`` is a table the clean step wrote (a Parquet file beside its
    ``clean_report.json``): its records passed the same rules, so rejections are not expected."""
    if not isinstance(source, (str, Path)) or not str(source):
        return False
    path = Path(source)
    return path.suffix == ".parquet" and path.is_file() and (path.parent / "clean_report.json").is_file()


def run(con, classified, keys: dict, metrics: dict, derived: dict, *, record_columns: list[str], labels: list[str], what: str, source="") -> EventResult:
    """Group ``classified`` (records with a ``reason`` column) by ``keys`` (name -> expression) and the
    reason, compute ``metrics`` (aggregates) then ``derived`` (functions of the aggregated table),
    and split the result into the table and the rejected records. ``reason`` is a code into
    ``labels`` (see :func:`reason_code`).

    On an export (a command's ``--input``) one scan does it all: each group also collects its
    rejected records (``record_columns``; only rows with a reason are built and collected). On a
    clean table (:func:`is_clean_table`) the scan only counts, and the rejected records, if there
    are any, are fetched by a second query: carrying every record's columns through the scan cost
    a third of its time on tables that have no rejections to give. Either way the rejected records
    are held in memory: they are expected to be few -- a file most of whose records are rejected
    is in the wrong format, and an engine that runs out of memory on it says so.
    """
    import ibis
    import pyarrow.compute as pc

    from analysis.events.engine import is_engine_error, quiet_library_warnings, short_error
    from analysis.rejects import Rejected

    label = source if isinstance(source, (str, Path)) and str(source) else f"<{what} data>"
    inline = not is_clean_table(source)
    bad_row = classified.reason.notnull()
    if inline:
        record = ibis.struct({col: classified[col] for col in record_columns})
        metrics = {**metrics, "__rejected__": ibis.ifelse(bad_row, record, ibis.null(record.type())).collect()}
    grouped = classified.group_by(reason=classified.reason, **keys).aggregate(records=classified.count(), **metrics)
    grouped = grouped.mutate(**{name: fn(grouped) for name, fn in derived.items()})

    def fetch(expr):
        try:
            with quiet_library_warnings():
                return con.to_pyarrow(expr)
        except Exception as exc:
            if not is_engine_error(exc):
                raise
            from analysis.events.engine import source_error

            raise source_error(label, f"the {con.name} engine could not read the records: {short_error(exc)}") from exc

    raw = fetch(grouped)
    ok = pc.is_null(raw["reason"])
    bad = raw.filter(pc.invert(ok))
    if inline:
        rejected = _rejected_records(bad, labels, record_columns)
    elif bad.num_rows:
        rows = fetch(classified.filter(bad_row).select(__reason__=classified.reason, **{c: classified[c] for c in record_columns}))
        rejected = _records_with_reason(rows, labels, record_columns)
    else:
        rejected = _records_with_reason(None, labels, record_columns)
    table = raw.filter(ok).drop_columns([c for c in ("reason", "__rejected__") if c in raw.column_names])
    table = _normalise_arrow(table.select([*keys, *[c for c in table.column_names if c not in keys]]))
    if keys:
        table = table.sort_by([(k, "ascending") for k in keys])
    codes, sizes = bad["reason"].to_pylist(), bad["records"].to_pylist()
    collector = Rejected(source if isinstance(source, (str, Path)) and str(source) else what)
    for code, n in zip(codes, sizes):
        collector.count_text(labels[code - 1], n)
    collector.add_arrow(rejected)
    collector.check_collected(sum(sizes))
    reasons = collector.reasons()
    used = pc.sum(table["records"]).as_py() or 0
    counts = {
        "records": used + sum(sizes),
        "used": used,
        "rejected": sum(sizes),
        "skew_clamped": (pc.sum(table["skew_clamped"]).as_py() or 0) if "skew_clamped" in table.column_names else 0,
        "excluded": 0,
        "reasons": reasons,
    }
    if counts["rejected"]:
        top = "; ".join(f"{n:,} {r}" for r, n in reasons.items())
        warnings.warn(f"{what}: {counts['rejected']:,} of {counts['records']:,} records rejected ({top})", stacklevel=3)
    return EventResult(table, counts, rejected, collector=collector)


def _records_with_reason(rows, labels: list[str], record_columns: list[str]):
    """The rejected records fetched by the second query (``__reason__`` code + ``record_columns``),
    shaped and ordered as :func:`_rejected_records` gives them."""
    import pyarrow as pa

    if rows is None or rows.num_rows == 0:
        return pa.table({"reason": pa.array([], pa.string())})
    reason = pa.array([labels[code - 1] for code in rows["__reason__"].to_pylist()], pa.string())
    out = pa.Table.from_arrays([reason, *(rows[c] for c in record_columns)], names=["reason", *record_columns])
    order = [c for c in ("source_file", "source_line") if c in record_columns] or list(record_columns)
    return out.sort_by([(c, "ascending") for c in order])


def _rejected_records(bad, labels: list[str], record_columns: list[str]):
    """The collected rejected records of the rejected groups, one row each, with their reason."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = bad["__rejected__"].combine_chunks() if bad.num_rows else None
    if lists is None or len(lists) == 0:
        return pa.table({"reason": pa.array([], pa.string())})
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_pylist()
    reason = [labels[code - 1] for code, n in zip(bad["reason"].to_pylist(), lengths) for _ in range(n)]
    flat = pc.list_flatten(lists)
    fields = [flat.type.field(i).name for i in range(flat.type.num_fields)]
    out = pa.Table.from_arrays([pa.array(reason, pa.string()), *flat.flatten()], names=["reason", *fields])
    order = [c for c in ("source_file", "source_line") if c in fields] or [c for c in record_columns if c in fields]
    return out.sort_by([(c, "ascending") for c in order])


def _normalise_arrow(table):
    """The same result whichever engine produced it: months as ``YYYY-MM`` text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if "month" in table.column_names and pa.types.is_integer(table["month"].type):
        m = pc.cast(table["month"], pa.int64())
        year, month = pc.divide(m, 100), pc.subtract(m, pc.multiply(pc.divide(m, 100), 100))
        text = pc.binary_join_element_wise(pc.cast(year, pa.string()), pc.utf8_lpad(pc.cast(month, pa.string()), 2, "0"), "-")
        table = table.set_column(table.column_names.index("month"), "month", text)
    return table


def to_frame(table):
    """An Arrow result as a pandas DataFrame with stable types: dates as ``datetime64[s]``, times as
    ``datetime64[us]``, whole numbers as ``int64`` (``Int64`` when some are missing)."""
    import pandas as pd
    import pyarrow as pa

    df = table.to_pandas(types_mapper=lambda t: pd.Int64Dtype() if pa.types.is_integer(t) else None)
    for field in table.schema:
        col = field.name
        if pa.types.is_integer(field.type):
            if not df[col].isna().any():
                df[col] = df[col].astype("int64")
        elif pa.types.is_date(field.type):
            df[col] = pd.to_datetime(df[col]).astype("datetime64[s]")
        elif pa.types.is_timestamp(field.type):
            df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
        elif pa.types.is_floating(field.type):
            df[col] = df[col].astype("float64")
    return df


def _write_csv(table, path: Path | str) -> None:
    """An Arrow table as CSV with a UTF-8 byte-order mark; times as ``YYYY-MM-DD HH:MM:SS``."""
    from analysis.report.excel import write_arrow_csv

    write_arrow_csv(table, path)

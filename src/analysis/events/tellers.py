"""Teller ratings from the evaluation devices: rating rate and satisfaction.

Definitions (DOMAIN.md §3; the target, satisfaction >= 90% in plan 1, is read from the targets file):

- one record per counter transaction; ``rating`` 1-5, empty = the customer did not rate;
- ``transactions`` = records; ``rated`` = records with a rating; ``rating_rate`` = rated / transactions;
- ``satisfied`` = ratings of 4 or 5; ``satisfaction`` = satisfied / rated;
- a rating that is not a whole number from 1 to 5, or a transaction without outlet or time, is
  rejected with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.events.common import EventResult, as_timestamp, check_by, is_frame, is_text, ratio, reason_code, run, time_key
from analysis.rejects import Reason

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

RATING_COLUMNS = ["event_id", "outlet_id", "teller_id", "txn_at", "rating"]
ENTITY_KEYS = ("outlet_id", "teller_id")
DEFAULT_BY = ("outlet_id", "month")
SATISFIED_MIN = 4  # a definition of the measure (4 or 5 of 5), not a target
OUTPUT_COLUMNS = ["transactions", "rated", "rating_rate", "satisfied", "satisfaction"]


def _rating_value(col):
    """The rating as an integer; null when empty; ``-1`` when given but not a whole number."""
    import ibis

    dtype = col.type()
    if dtype.is_integer():
        return col.cast("int64")
    # Only a number from 1 to 5 reaches floor() and the cast (Ibis's floor casts to an integer: 1e30
    # or inf would overflow it and abort the whole query); anything else is "not a whole number 1-5".
    def whole_1_to_5(x):
        inside = x.between(1, 5).fill_null(False)
        safe = ibis.ifelse(inside, x, 0.5)
        return inside & (safe.floor() == safe)

    if dtype.is_floating() or dtype.is_decimal():
        ok = whole_1_to_5(col)
        return ibis.ifelse(col.isnull(), ibis.null("int64"), ibis.ifelse(ok, col.try_cast("int64"), -1))
    text = col.cast("string").strip()
    number = text.try_cast("float64")
    ok = whole_1_to_5(number)
    return ibis.cases(
        (text.isnull() | (text == ""), ibis.null("int64")),
        (number.isnull() | ~ok.fill_null(False), -1),
        else_=number.try_cast("int64"),
    )


def ratings_expr(t, *, by: Sequence[str] = DEFAULT_BY, period=None, earliest: dict | None = None):
    """The rating aggregation as Ibis pieces: (classified records, keys, metrics, derived).
    ``earliest``: column -> earliest plausible date (see :func:`analysis.events.records.time_rules`)."""
    from analysis.events.records import time_rules

    keys = check_by(by, ENTITY_KEYS, "ratings")
    c = t.mutate(_outlet=t.outlet_id.cast("string"), _teller=t.teller_id.cast("string"), _txn=as_timestamp(t.txn_at), _rating=_rating_value(t.rating))
    reason, labels = reason_code(
        [
            (c._outlet.isnull() | (c._outlet == ""), Reason.MISSING, {"column": "outlet_id"}),
            (c.txn_at.isnull(), Reason.MISSING, {"column": "txn_at"}),
            (c._txn.isnull() if is_text(t.txn_at) else None, Reason.NOT_A_DATETIME, {"column": "txn_at"}),
            *time_rules(c, {"txn_at": c._txn}, earliest or {}),
            (c._rating.notnull() & ~c._rating.between(1, 5), Reason.NOT_ON_SCALE, {"column": "rating", "low": 1, "high": 5}),
        ]
    )
    c = c.mutate(reason=reason)
    if period is not None:
        c = c.filter(c._txn.isnull() | ((c._txn >= period.start.to_pydatetime()) & (c._txn < period.end.to_pydatetime())))
    entity = {"outlet_id": c._outlet, "teller_id": c._teller}
    key_exprs = {k: entity[k] if k in entity else time_key(c._txn, k) for k in keys}
    metrics = {
        "rated": c.count(where=c._rating.notnull()),
        "satisfied": c.count(where=c._rating >= SATISFIED_MIN),
    }
    derived = {
        "transactions": lambda g: g.records,
        "rating_rate": lambda g: ratio(g.rated, g.records),
        "satisfaction": lambda g: ratio(g.satisfied, g.rated),
    }
    return c, key_exprs, metrics, derived, labels


def ratings(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> EventResult:
    """Rating rate and satisfaction per ``by`` group with the accounting of every record."""
    from analysis.events.engine import connect
    from analysis.events.records import add_malformed, event_source

    if period is not None:
        from analysis.periods import Period

        period = Period.parse(period)
    con = connect(engine)
    with event_source(con, source, RATING_COLUMNS, source_name="teller_ratings") as (t, malformed, earliest):
        c, keys, metrics, derived, labels = ratings_expr(t, by=by, period=period, earliest=earliest)
        result = run(con, c, keys, metrics, derived, record_columns=list(t.columns), labels=labels, what="ratings", source="" if is_frame(source) else source)
    add_malformed(result, malformed)
    result.arrow = result.arrow.select([*keys, *OUTPUT_COLUMNS])
    return result


def ratings_table(source: Path | str | pd.DataFrame, engine: str = "duckdb", *, by: str | Sequence[str] = DEFAULT_BY, period=None) -> pd.DataFrame:
    """The teller-rating table (one row per outlet x month by default): transactions, rated,
    rating_rate, satisfied, satisfaction. ``table.attrs["counts"]`` holds the accounting."""
    result = ratings(source, engine, by=by, period=period)
    result.table.attrs["counts"] = result.counts
    return result.table

"""Call-centre service from call records: offered, answered, answer rate, service level, abandonment.

Definitions (DOMAIN.md §3, issue 6), for calls that asked for an agent (one record each):

- wait = answered_at - arrived_at (or abandoned_at - arrived_at), in whole seconds;
- clock skew: a wait from -60 s to -1 s counts as 0 and the call is counted in ``skew_clamped``;
  a wait below -60 s is impossible: the record is rejected with a reason (so is a record without a
  center or an arrival time, or with a time that is not a time);
- answered = answered_at set (whatever abandoned_at says);
- abandoned = not answered and abandoned_at set;
- short abandon: with ``short_abandon`` S > 0, an abandoned call whose wait is <= S seconds leaves
  the offered count (it is counted in ``short_abandoned``, not in ``abandoned``);
- offered = records - short abandons = answered + abandoned + unresolved, where ``unresolved`` are
  calls neither answered nor abandoned (still waiting when the log was cut): they stay offered;
- answer rate = answered / offered; service level = answered with wait <= threshold / offered
  (a call answered after exactly the threshold is within it);
- mean_wait_answered = mean wait of answered calls, seconds (after the skew rule);
- abandon_rate = abandoned / offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.errors import InputValueError
from analysis.events.common import (
    SKEW_TOLERANCE_S,
    EventResult,
    as_timestamp,
    check_by,
    is_frame,
    is_text,
    parse_failed,
    ratio,
    reason_code,
    run,
    seconds,
    time_key,
)
from analysis.rejects import Reason

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

CALL_COLUMNS = ["call_id", "center", "arrived_at", "answered_at", "abandoned_at"]
ENTITY_KEYS = ("center",)
DEFAULT_BY = ("center", "date")
OUTPUT_COLUMNS = [
    "offered", "answered", "answered_in_threshold", "abandoned", "answer_rate", "service_level",
    "mean_wait_answered", "abandon_rate", "short_abandoned", "unresolved", "skew_clamped", "records",
]  # fmt: skip
DEFAULT_THRESHOLD = 20
FORMATS = ("auto", "canonical", "anonymous-bank")


def calls_expr(t, *, threshold: float = DEFAULT_THRESHOLD, short_abandon: float = 0, by: Sequence[str] = DEFAULT_BY, period=None, earliest: dict | None = None):
    """The call aggregation as Ibis pieces: (classified records, keys, metrics, derived, reason labels).

    ``t`` has the canonical call columns (text or timestamps). Kept separate from :func:`calls` so
    the same expression can be compiled to SQL or run on any Ibis backend. ``earliest``: column ->
    earliest plausible date (see :func:`analysis.events.records.time_rules`).
    """
    import ibis

    from analysis.events.records import time_rules

    _check_seconds("threshold", threshold)
    _check_seconds("short_abandon", short_abandon)
    keys = check_by(by, ENTITY_KEYS, "calls")

    # Stage by stage, so that each value is computed once per record.
    c = t.mutate(_center=t.center.cast("string"), _arrived=as_timestamp(t.arrived_at), _answered=as_timestamp(t.answered_at), _abandoned=as_timestamp(t.abandoned_at))
    c = c.mutate(_answer_raw=seconds(c._answered) - seconds(c._arrived), _abandon_raw=seconds(c._abandoned) - seconds(c._arrived))
    reason, labels = reason_code(
        [
            (c._center.isnull() | (c._center == ""), Reason.MISSING, {"column": "center"}),
            (c.arrived_at.isnull(), Reason.MISSING, {"column": "arrived_at"}),
            (c._arrived.isnull() if is_text(t.arrived_at) else None, Reason.NOT_A_DATETIME, {"column": "arrived_at"}),
            (parse_failed(c.answered_at, c._answered) if is_text(t.answered_at) else None, Reason.NOT_A_DATETIME, {"column": "answered_at"}),
            (parse_failed(c.abandoned_at, c._abandoned) if is_text(t.abandoned_at) else None, Reason.NOT_A_DATETIME, {"column": "abandoned_at"}),
            *time_rules(c, {"arrived_at": c._arrived, "answered_at": c._answered, "abandoned_at": c._abandoned}, earliest or {}),
            (c._answer_raw < -SKEW_TOLERANCE_S, Reason.TIME_ORDER, {"column": "answered_at", "reference": "arrived_at", "seconds": SKEW_TOLERANCE_S}),
            (c._abandon_raw < -SKEW_TOLERANCE_S, Reason.TIME_ORDER, {"column": "abandoned_at", "reference": "arrived_at", "seconds": SKEW_TOLERANCE_S}),
        ]
    )
    c = c.mutate(
        reason=reason,
        _is_answered=c._answered.notnull(),
        # greatest() skips nulls (0 when the time is missing): only read where the time is set
        _answer_wait=ibis.greatest(c._answer_raw, 0),
        _is_abandoned=c._answered.isnull() & c._abandoned.notnull(),
        _abandon_wait=ibis.greatest(c._abandon_raw, 0),
        _skewed=c._answer_raw.between(-SKEW_TOLERANCE_S, -1).fill_null(False) | c._abandon_raw.between(-SKEW_TOLERANCE_S, -1).fill_null(False),
    )
    c = c.mutate(_short=(c._is_abandoned & (c._abandon_wait <= short_abandon)) if short_abandon > 0 else ibis.literal(False))
    if period is not None:
        c = c.filter(c._arrived.isnull() | ((c._arrived >= period.start.to_pydatetime()) & (c._arrived < period.end.to_pydatetime())))

    key_exprs = {k: (c._center if k == "center" else time_key(c._arrived, k)) for k in keys}
    # COUNT(*) FILTER (WHERE ...): a condition that is empty counts as false
    metrics = {
        "short_abandoned": c.count(where=c._short),
        "answered": c.count(where=c._is_answered),
        "answered_in_threshold": c.count(where=c._is_answered & (c._answer_wait <= threshold)),
        "abandoned": c.count(where=c._is_abandoned & ~c._short),
        "wait_answered_s": c._answer_wait.sum(where=c._is_answered).fill_null(0),
        "skew_clamped": c.count(where=c._skewed),
    }
    derived = {
        "offered": lambda g: g.records - g.short_abandoned,
        "unresolved": lambda g: g.records - g.short_abandoned - g.answered - g.abandoned,
        "answer_rate": lambda g: ratio(g.answered, g.records - g.short_abandoned),
        "service_level": lambda g: ratio(g.answered_in_threshold, g.records - g.short_abandoned),
        "abandon_rate": lambda g: ratio(g.abandoned, g.records - g.short_abandoned),
        "mean_wait_answered": lambda g: ratio(g.wait_answered_s, g.answered),
    }
    return c, key_exprs, metrics, derived, labels


def calls(
    source: Path | str | pd.DataFrame,
    engine: str = "duckdb",
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = 0,
    *,
    by: str | Sequence[str] = DEFAULT_BY,
    period=None,
    format: str = "auto",
) -> EventResult:
    """Call-centre service per ``by`` group with the accounting of every record (see module doc).

    ``source``: a CSV/Parquet file, a folder of them, or a DataFrame, with the canonical call columns
    (``sources/calls.yaml``) -- or the Anonymous Bank call-centre format (``format="anonymous-bank"``,
    detected automatically from the header with ``format="auto"``).
    ``period``: a :class:`analysis.periods.Period` (or its text) to keep calls arriving in it.
    """
    from analysis.events.engine import connect
    from analysis.events.records import add_malformed, event_source

    if format not in FORMATS:
        raise InputValueError(f"unknown call-record format {format!r}: choose one of {', '.join(FORMATS)}")
    if period is not None:
        from analysis.periods import Period

        period = Period.parse(period)
    excluded = None
    if not is_frame(source):
        from analysis.events import anonymous_bank

        if format == "anonymous-bank" or (format == "auto" and anonymous_bank.detect(source)):
            source, excluded = anonymous_bank.load(source)
    con = connect(engine)
    with event_source(con, source, CALL_COLUMNS, source_name="calls") as (t, malformed, earliest):
        c, keys, metrics, derived, labels = calls_expr(t, threshold=threshold, short_abandon=short_abandon, by=by, period=period, earliest=earliest)
        result = run(con, c, keys, metrics, derived, record_columns=list(t.columns), labels=labels, what="calls", source="" if is_frame(source) else source)
    add_malformed(result, malformed)
    result.arrow = result.arrow.select([*keys, *OUTPUT_COLUMNS])
    if excluded is not None:
        # The adapter's left-out rows: "excluded: ..." by definition, "rejected: ..." malformed.
        result.excluded = excluded
        n_excluded = int(excluded["reason"].str.startswith("excluded:").sum())
        result.counts["excluded"] = n_excluded
        result.counts["rejected"] += len(excluded) - n_excluded
        result.counts["records"] += len(excluded)
        result.collector.add_frame(excluded, kinds="reason")  # codes excluded / not_usable
        result.counts["reasons"] = result.collector.reasons()
    return result


def calls_table(
    source: Path | str | pd.DataFrame,
    engine: str = "duckdb",
    threshold: float = DEFAULT_THRESHOLD,
    short_abandon: float = 0,
    *,
    by: str | Sequence[str] = DEFAULT_BY,
    period=None,
    format: str = "auto",
) -> pd.DataFrame:
    """The call-centre table (one row per center x date by default): center, date, offered, answered,
    answered_in_threshold, abandoned, answer_rate, service_level, mean_wait_answered (seconds),
    abandon_rate, short_abandoned, unresolved, skew_clamped, records.

    Rejected records raise a warning; ``table.attrs["counts"]`` holds the accounting and
    :func:`calls` also gives the rejected records themselves.
    """
    result = calls(source, engine, threshold, short_abandon, by=by, period=period, format=format)
    table = result.table
    table.attrs["counts"] = result.counts
    return table


def _check_seconds(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InputValueError(f"{name} must be a number of seconds >= 0, got {value!r}")

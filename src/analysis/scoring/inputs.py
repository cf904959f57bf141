"""The score input file: one row per unit, the columns a scheme declares under ``inputs``.

CSV (UTF-8 or GBK/GB18030) or .xlsx, read cell for cell as text by :mod:`analysis.io.read` and parsed
by :mod:`analysis.io.parse` (full-width digits, thousands separators, ``(12)`` as negative). Headers
may be the column name (``ms_1``), its Chinese title, any alias in the scheme, or a template header
holding both (``神秘人检查第1轮`` newline ``ms_1``).

Bad input is refused, never scored around: every unit moves the whole-bank references, so one bad cell
changes everybody's points. :class:`ScoringInputError` lists every problem at once, each naming the
column and the row (file line or sheet row) and the unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.clean.sources import header_key
from analysis.errors import InputValueError
from analysis.io import parse
from analysis.io.read import RawTable, read_tables
from analysis.scoring import kinds
from analysis.scoring.model import Scheme

SUMMARY_TOKENS = ("合计", "总计", "小计", "全行", "total")
MAX_LISTED = 60  # problems listed in one message (the rest are counted)


@dataclass(frozen=True)
class Problem:
    column: str
    message: str
    row: int | None = None  # line (CSV) or sheet row (xlsx) of the unit, when read from a file
    unit: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.unit:
            where.append(f"unit {self.unit}")
        loc = ", ".join(where)
        return f"{loc + ', ' if loc else ''}column {self.column}: {self.message}"


class ScoringInputError(InputValueError):
    """The score input cannot be scored; ``problems`` lists every reason (column, row, unit)."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s) in the score input; nothing was scored:"]
        lines += [f"  - {p}" for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
        super().__init__("\n".join(lines))


@dataclass
class UnitTable:
    """A parsed, validated input: one row per unit, columns as the scheme declares them."""

    data: pd.DataFrame
    rows: pd.Series  # file line / sheet row per unit
    source: str
    ignored_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0


# -------------------------------------------------------------------------------------- header map
def alias_lookup(scheme: Scheme) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, col in scheme.inputs.items():
        for a in [name, col.title, *col.aliases]:
            out[header_key(a)] = name
    return out


_SPLIT = re.compile(r"[\n\r/|]+")


def match_header(header: str, lookup: dict[str, str]) -> str | None:
    """The input column a header names: the whole header, else any of its lines or '/'-separated parts."""
    key = header_key(header)
    if key in lookup:
        return lookup[key]
    hits = {lookup[header_key(part)] for part in _SPLIT.split(str(header)) if header_key(part) in lookup}
    return hits.pop() if len(hits) == 1 else None


def _pick_table(tables: list[RawTable], lookup: dict[str, str]) -> RawTable | None:
    def score(t: RawTable) -> int:
        return len({match_header(h, lookup) for h in t.header} - {None})

    usable = [t for t in tables if "unit_id" in {match_header(h, lookup) for h in t.header}]
    return max(usable, key=score) if usable else None


# ----------------------------------------------------------------------------------------- reading
def read_units(path: Path | str, scheme: Scheme) -> UnitTable:
    """Read and validate a score input file for ``scheme``; raise :class:`ScoringInputError` on any problem."""
    path = Path(path)
    lookup = alias_lookup(scheme)

    def header_score(header: list[str]) -> int:
        return len({match_header(h, lookup) for h in header} - {None})

    tables = read_tables(path, header_score=header_score)
    raw = _pick_table(tables, lookup)
    if raw is None:
        first = tables[0].header if tables else []
        raise ScoringInputError(str(path), [Problem("unit_id", f"no sheet has a unit_id column (accepted headers: {_accepted(scheme, 'unit_id')}); headers found: {first}")])
    label = str(path) if raw.sheet is None else f"{path} [sheet {raw.sheet}]"
    problems: list[Problem] = []

    mapping: dict[int, str] = {}
    ignored: list[str] = []
    for i, h in enumerate(raw.header):
        name = match_header(h, lookup)
        if name is None:
            if h.strip():
                ignored.append(h)
            continue
        if name in mapping.values():
            first_pos = next(k for k, v in mapping.items() if v == name)
            problems.append(Problem(name, f"two headers name this column: {raw.header[first_pos]!r} and {h!r}"))
            continue
        mapping[i] = name
    missing = [name for name in scheme.inputs if name not in mapping.values()]
    for name in missing:
        problems.append(Problem(name, f"column missing (accepted headers: {_accepted(scheme, name)})"))
    if missing:
        problems.append(Problem("(header row)", f"the headers found in line {raw.header_line} were: {raw.header}"))
    for mal in raw.malformed:
        problems.append(Problem("(whole row)", mal.reason, row=mal.line))
    if problems:
        raise ScoringInputError(label, problems)

    rows = pd.Series(raw.lines, dtype="int64")
    text = pd.DataFrame({name: raw.cells[i].astype("string") for i, name in mapping.items()})
    text.index = rows.index
    data = pd.DataFrame(index=rows.index)
    ids = parse.normalize_id(text["unit_id"])
    names = parse.normalize_name(text["unit_name"])
    for name, col in scheme.inputs.items():
        s = text[name]
        if col.type == "id":
            data[name] = parse.normalize_id(s)
            errors = None
        elif col.type == "name":
            data[name] = parse.normalize_name(s)
            errors = None
        elif col.type == "count":
            values, errors = parse.parse_int(s)
            data[name] = values.astype("float64")
        else:
            values, errors = parse.parse_number(s)
            data[name] = values
        if errors is not None:
            for pos, msg in errors.dropna().items():
                problems.append(Problem(f"{name} ({col.title})", msg, row=int(rows[pos]), unit=_unit_label(ids.iloc[pos], names.iloc[pos])))
        if col.type in ("id", "name"):
            data[name] = data[name].where(~data[name].str.lower().isin(parse.MISSING_TOKENS), pd.NA)
    # Empty cells are reported by validate_units; cells that failed to parse are not reported twice.
    failed = {(p.row, p.column.split(" ")[0]) for p in problems}
    problems += [p for p in validate_units(data, scheme, rows=rows, collect=True) if (p.row, p.column.split(" ")[0]) not in failed]
    if problems:
        raise ScoringInputError(label, problems)
    return UnitTable(data.reset_index(drop=True), rows.reset_index(drop=True), label, ignored, raw.blank_rows)


def _accepted(scheme: Scheme, name: str) -> str:
    col = scheme.inputs[name]
    return ", ".join(dict.fromkeys([name, col.title, *col.aliases]))


def _unit_label(unit_id, unit_name) -> str | None:
    parts = [str(x) for x in (unit_id, unit_name) if x is not None and not (isinstance(x, float) and np.isnan(x)) and x is not pd.NA and str(x) != ""]
    return " ".join(parts) or None


# -------------------------------------------------------------------------------------- validation
def validate_units(data: pd.DataFrame, scheme: Scheme, *, rows: pd.Series | None = None, source: str = "score input", collect: bool = False) -> list[Problem]:
    """Check a unit table against the scheme's input rules (and each indicator kind's own needs).

    Returns the problems when ``collect`` is true; otherwise raises :class:`ScoringInputError` if there
    are any. ``rows`` (same index as ``data``) gives the file line of each unit for the messages.
    """
    problems: list[Problem] = []
    missing = [c for c in scheme.inputs if c not in data.columns]
    for c in missing:
        problems.append(Problem(c, f"column missing ({scheme.inputs[c].title})"))
    if missing or len(data) == 0:
        if len(data) == 0 and not missing:
            problems.append(Problem("unit_id", "no units: the input has no data rows"))
        if collect:
            return problems
        raise ScoringInputError(source, problems)

    data = data.reset_index(drop=True)
    row_of = (lambda i: int(rows.iloc[i])) if rows is not None else (lambda i: None)
    uid = data["unit_id"].astype("string")
    uname = data["unit_name"].astype("string")
    unit_of = lambda i: _unit_label(None if pd.isna(uid.iloc[i]) else uid.iloc[i], None if pd.isna(uname.iloc[i]) else uname.iloc[i])

    def add(i: int, column: str, message: str) -> None:
        title = scheme.inputs[column].title if column in scheme.inputs else ""
        problems.append(Problem(f"{column} ({title})" if title else column, message, row=row_of(i), unit=unit_of(i)))

    both = (uid.fillna("") + " " + uname.fillna("")).map(parse.nfkc).str.lower()
    summary = both.str.contains("|".join(SUMMARY_TOKENS), regex=True).fillna(False).to_numpy()
    for i in np.flatnonzero(summary):
        add(int(i), "unit_id", "looks like a total row (合计/全行), not a unit; remove it (totals are computed from the units)")
    if summary.any():  # a total row's other cells are not worth listing one by one
        keep = ~summary
        data, uid, uname = data[keep].reset_index(drop=True), uid[keep].reset_index(drop=True), uname[keep].reset_index(drop=True)
        if rows is not None:
            rows = rows.reset_index(drop=True)[keep].reset_index(drop=True)
    for c in ("unit_id", "unit_name"):
        empty = data[c].isna() | (data[c].astype("string").str.strip() == "").fillna(False)
        for i in np.flatnonzero(empty.to_numpy()):
            add(int(i), c, "empty, but every unit needs one")
    dup = uid.duplicated(keep=False) & uid.notna()
    for key, grp in pd.Series(np.arange(len(data)))[dup.to_numpy()].groupby(uid[dup].to_numpy()):
        first = int(grp.iloc[0])
        for i in grp.iloc[1:]:
            where = f"row {row_of(first)}" if rows is not None else f"position {first + 1}"
            add(int(i), "unit_id", f"duplicate unit_id {key!r} (also at {where}); each unit must appear once")

    for name, col in scheme.inputs.items():
        if col.type in ("id", "name"):
            continue
        v = pd.to_numeric(data[name], errors="coerce").astype("float64")
        bad_type = data[name].notna() & v.isna()
        for i in np.flatnonzero(bad_type.to_numpy()):
            add(int(i), name, f"not a number: {data[name].iloc[i]!r}")
        empty = data[name].isna()
        if not col.nullable:
            for i in np.flatnonzero(empty.to_numpy()):
                add(int(i), name, "empty, but required")
        elif col.required_if_positive:
            other = pd.to_numeric(data[col.required_if_positive], errors="coerce")
            for i in np.flatnonzero((empty & (other > 0)).to_numpy()):
                add(int(i), name, f"empty, but required because {col.required_if_positive} is {other.iloc[i]:g}")
        fin = v.notna()
        for i in np.flatnonzero((fin & ~np.isfinite(v)).to_numpy()):
            add(int(i), name, f"not a finite number: {v.iloc[i]}")
        if col.type == "count":
            for i in np.flatnonzero((fin & np.isfinite(v) & (v != np.round(v))).to_numpy()):
                add(int(i), name, f"not a whole number: {v.iloc[i]:g}")
        if col.positive:
            for i in np.flatnonzero((fin & (v <= 0)).to_numpy()):
                add(int(i), name, f"must be greater than 0, got {v.iloc[i]:g} (it divides)")
        if col.min is not None:
            for i in np.flatnonzero((fin & (v < col.min)).to_numpy()):
                add(int(i), name, f"below the minimum {col.min:g}: {v.iloc[i]:g}")
        if col.max is not None:
            for i in np.flatnonzero((fin & (v > col.max)).to_numpy()):
                add(int(i), name, f"above the maximum {col.max:g}: {v.iloc[i]:g}")
        if col.not_above:
            other = pd.to_numeric(data[col.not_above], errors="coerce")
            for i in np.flatnonzero((fin & (v > other)).to_numpy()):
                add(int(i), name, f"{v.iloc[i]:g} is more than {col.not_above} ({other.iloc[i]:g}), of which it is a part")
    if not problems:
        numeric = data[[c for c, col in scheme.inputs.items() if col.type in ("number", "count")]].apply(pd.to_numeric)
        for ind in scheme.indicators:
            for p in kinds.check(ind, numeric):
                problems.append(Problem(p.column, p.message, row=row_of(p.unit_pos), unit=unit_of(p.unit_pos)))
    if collect:
        return problems
    if problems:
        raise ScoringInputError(source, problems)
    return problems


def numeric_frame(data: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """The unit table with unit_id/unit_name as strings and every other input column as float64."""
    out = pd.DataFrame({"unit_id": data["unit_id"].astype("string"), "unit_name": data["unit_name"].astype("string")})
    for name, col in scheme.inputs.items():
        if col.type in ("number", "count"):
            out[name] = pd.to_numeric(data[name]).astype("float64")
        elif name not in out:
            out[name] = data[name].astype("string")
    return out.reset_index(drop=True)


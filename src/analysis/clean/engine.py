"""Every raw source through one door: read, match headers, parse, validate, split clean from rejected.

For each source (a definition in ``sources/``) the engine reads every matching file, maps its headers
through the aliases, parses each column by its type, validates all rows at once (pandera, lazily, so
every failure of every row is collected), rejects exact duplicates and repeated keys, and returns the
clean table with ``source_file``/``source_line`` for tracing plus the rejected rows with their reasons.
The invariant ``rows_in == clean + rejected`` holds for every file and is checked.
"""

from __future__ import annotations

from collections import Counter
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd

from analysis import config
from analysis.files import sha256_file, write_atomic
from analysis.clean.sources import Column, Source, load_sources
from analysis.io import parse
from analysis.io.read import RawTable, SourceError, read_tables

SUMMARY_TOKENS = ("合计", "总计", "小计", "total")

_PARSERS = {
    "id": lambda s, c: (parse.normalize_id(s), None),
    "name": lambda s, c: (parse.normalize_name(s), None),
    "text": lambda s, c: (parse.normalize_text(s), None),
    "number": lambda s, c: parse.parse_number(s),
    "percent": lambda s, c: parse.parse_percent(s),
    "bool": lambda s, c: parse.parse_bool(s),
    "date": lambda s, c: parse.parse_date(s),
    "datetime": lambda s, c: parse.parse_datetime(s),
    "month": lambda s, c: parse.parse_month(s),
    "category": lambda s, c: parse.parse_category(s, c.values),
}


def _parse_int(s: pd.Series, col: Column):
    if not col.values:
        return parse.parse_int(s)
    labels = parse.normalize_name(s)
    lookup = {parse.nfkc(k).lower(): v for k, v in col.values.items()}
    mapped = labels.str.lower().map(lookup)
    rest, errors = parse.parse_int(s.where(mapped.isna()))
    return mapped.astype("Int64").fillna(rest), errors


_PARSERS["int"] = _parse_int


@dataclass
class FileReport:
    file: str
    sheet: str | None
    encoding: str | None
    header_line: int
    rows_in: int
    clean: int
    rejected: int
    blank_rows: int
    ignored_columns: list[str]
    sha256: str
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class SourceReport:
    source: str
    title: str
    files: list[FileReport] = field(default_factory=list)
    rows_in: int = 0
    clean: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    missing: bool = False

    def line(self) -> str:
        if self.missing:
            return f"{self.source:<16} no files found (optional source)"
        return f"{self.source:<16} rows in {self.rows_in:>7,} = clean {self.clean:>7,} + rejected {self.rejected:>5,}"


@dataclass
class CleanResult:
    source: Source
    table: pd.DataFrame
    rejected: pd.DataFrame
    report: SourceReport


@contextmanager
def _quiet_pyspark():
    """pandera imports pyspark.pandas when pyspark is installed (the optional Spark engine), which
    warns that pyspark does not support pandas 3. pandera does not use it here; keep it quiet."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


def _pandera():
    """pandera, imported on first use (it costs a second; notebooks that only read clean tables skip it)."""
    with _quiet_pyspark():
        import pandera.pandas as pa
    return pa


def _value_schema(src: Source):
    pa = _pandera()
    cols = {}
    for name, col in src.columns.items():
        checks = []
        if col.min is not None:
            checks.append(pa.Check.ge(col.min, error=f"below the minimum {col.min:g}"))
        if col.max is not None:
            checks.append(pa.Check.le(col.max, error=f"above the maximum {col.max:g}"))
        cols[name] = pa.Column(checks=checks, nullable=col.nullable, required=False)
    return pa.DataFrameSchema(cols, coerce=False)


def _add(reasons: dict[int, list[tuple[str, str]]], idx, kind: str, message: str) -> None:
    """Record why row ``idx`` is rejected: ``kind`` is what the reports count, ``message`` names the value."""
    reasons.setdefault(idx, []).append((kind, message))


def _clean_one(
    src: Source, raw: RawTable, sha: str, schema, known: dict[str, frozenset]
) -> tuple[pd.DataFrame, pd.DataFrame, FileReport]:
    mapping = src.match_headers(raw.header)
    present = set(mapping.values())
    for name, col in src.columns.items():
        if col.required and name not in present:
            accepted = ", ".join([col.title, *col.aliases])
            raise SourceError(raw.path, f"required column missing (accepted headers: {accepted}); headers found: {raw.header}", column=name)
    dup_cols = [c for c in present if list(mapping.values()).count(c) > 1]
    if dup_cols:
        raise SourceError(raw.path, "two headers map to the same column", column=dup_cols[0])
    ignored = [h for i, h in enumerate(raw.header) if i not in mapping and h]

    n = len(raw.cells)
    index = pd.RangeIndex(n)
    original = pd.DataFrame({name: raw.cells[i].astype("string") for i, name in mapping.items()}, index=index)
    for name in src.columns:
        if name not in original:
            original[name] = pd.Series(pd.NA, index=index, dtype="string")
    original = original[list(src.columns)]
    reasons: dict[int, list[str]] = {}

    # Summary rows (合计) that hand-made exports append.
    first_id = next((c for c, d in src.columns.items() if d.type in ("id", "name")), None)
    if first_id is not None and n:
        firsts = original[[c for c in src.columns if src.columns[c].type in ("id", "name")]].fillna("")
        # Column-wise concatenation: the same text as " ".join(row), without a Python call per row
        # (DataFrame.apply(axis=1) was a third of the whole clean step on the sample bank).
        joined = firsts.iloc[:, 0].str.cat([firsts.iloc[:, i] for i in range(1, firsts.shape[1])], sep=" ")
        joined = joined.map(parse.nfkc).str.lower()
        summary_rows = np.flatnonzero(joined.str.contains("|".join(SUMMARY_TOKENS), regex=True).to_numpy())
    else:
        summary_rows = np.array([], dtype=int)

    typed = pd.DataFrame(index=index)
    parse_failed: set[tuple[int, str]] = set()
    for name, col in src.columns.items():
        values, errors = _PARSERS[col.type](original[name], col)
        typed[name] = values
        if errors is not None:
            for i, msg in errors.dropna().items():
                _add(reasons, i, f"{name} ({col.title}): {msg.split(':')[0]}", f"{name} ({col.title}): {msg}")
                parse_failed.add((i, name))

    # Value checks, all rows and columns at once. Unparseable cells are already reasons; skip them here
    # so a bad cell is reported once, as a parse error, not again as "empty".
    try:
        with _quiet_pyspark():
            schema.validate(typed, lazy=True)
    except _pandera().errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        for row in fc.itertuples(index=False):
            i, colname = int(row.index), row.column
            if (i, colname) in parse_failed:
                continue
            col = src.columns[colname]
            check = str(row.check)
            if "not_nullable" in check:
                msg = "empty, but required"
            else:
                value = row.failure_case.item() if hasattr(row.failure_case, "item") else row.failure_case
                msg = f"{check}: {value!r}"
            _add(reasons, i, f"{colname} ({col.title}): {msg.split(':')[0]}", f"{colname} ({col.title}): {msg}")

    for chk in src.checks:
        a, b = typed[chk.column], typed[chk.reference]
        early = (b - a).dt.total_seconds() > chk.tolerance_seconds
        for i in np.flatnonzero(early.fillna(False).to_numpy()):
            msg = f"{chk.column} ({src.columns[chk.column].title}) is before {chk.reference} by more than {chk.tolerance_seconds:g} s: impossible"
            _add(reasons, i, msg, msg)

    # Referential integrity: an outlet id that the master data does not know is not a record we can place.
    for name, target in src.references().items():
        if target not in known:
            continue
        vals = typed[name]
        unknown = vals.notna() & ~vals.isin(known[target])
        for i in np.flatnonzero(unknown.to_numpy()):
            if (i, name) not in parse_failed:
                _add(reasons, i, f"{name} ({src.columns[name].title}): not in {target}", f"{name} ({src.columns[name].title}): {vals.iloc[i]!r} is not in {target} (unknown unit)")

    for i in summary_rows:  # a total row is not a record: its other failures are beside the point
        reasons[i] = [("summary row (合计)", "summary row (合计), not a record")]

    lines = pd.Series(raw.lines, index=index)
    # Exact duplicates (every original cell equal) and repeated keys; the first occurrence stays.
    if n:
        ok = ~index.isin(list(reasons))
        exact = original.fillna("\x00").duplicated(keep="first") & ok
        first_line = original.fillna("\x00").groupby(list(src.columns), dropna=False, sort=False).ngroup()
        first_of = lines.groupby(first_line).transform("first")
        for i in np.flatnonzero(exact.to_numpy()):
            _add(reasons, i, "duplicate row", f"duplicate of line {first_of.iloc[i]}")
        if src.key:
            ok = ~index.isin(list(reasons))
            keys = typed.loc[ok, src.key].astype("string").fillna("\x00")
            dup = keys.duplicated(keep="first")
            if dup.any():
                grp = keys.groupby(src.key, sort=False).ngroup()
                first_key_line = lines[ok].groupby(grp).transform("first")
                for i in keys.index[dup]:
                    keytxt = ", ".join(f"{k}={typed.at[i, k]}" for k in src.key)
                    _add(reasons, i, "repeated key", f"repeats the key ({keytxt}) of line {first_key_line[i]} with different values")

    bad = index.isin(list(reasons))
    mask_cols = [c for c, d in src.columns.items() if d.mask]
    clean = typed[~bad].copy()
    clean.insert(0, "source_line", lines[~bad].astype("int64"))
    clean.insert(0, "source_file", raw.label)

    rej = original[bad].copy()
    rej.insert(0, "reason", pd.Series({i: "; ".join(m for _, m in reasons[i]) for i in np.flatnonzero(bad)}, dtype="string"))
    kinds = Counter(k for i in np.flatnonzero(bad) for k in dict.fromkeys(k for k, _ in reasons[i]))
    kinds.update("malformed record" for _ in raw.malformed)
    rej.insert(0, "line", lines[bad].astype("int64"))
    rej.insert(0, "file", raw.label)
    if raw.malformed:
        mal = pd.DataFrame(
            {"file": raw.label, "line": [m.line for m in raw.malformed], "reason": [m.reason for m in raw.malformed], "raw_record": [m.text for m in raw.malformed]}
        )
        rej = pd.concat([rej, mal], ignore_index=True)
    if mask_cols or raw.malformed:
        rej = _mask(rej, mask_cols + (["raw_record"] if "raw_record" in rej else []))
        clean = _mask(clean, mask_cols)

    rows_in = n + len(raw.malformed)
    report = FileReport(
        file=raw.label,
        sheet=raw.sheet,
        encoding=raw.encoding,
        header_line=raw.header_line,
        rows_in=rows_in,
        clean=len(clean),
        rejected=len(rej),
        blank_rows=raw.blank_rows,
        ignored_columns=ignored,
        sha256=sha,
        reasons=dict(kinds),
    )
    assert report.rows_in == report.clean + report.rejected, report
    return clean.reset_index(drop=True), rej.reset_index(drop=True), report


def _mask(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mask personal data in free-text columns before anything is written (the one masking function)."""
    if not columns or df.empty:
        return df
    from analysis.masking import mask_series

    df = df.copy()
    for c in columns:
        if c in df:
            df[c] = mask_series(df[c])
    return df


def clean_source(src: Source, raw_dir: Path | str, known: dict[str, frozenset] | None = None) -> CleanResult:
    """Clean every file of one source found in ``raw_dir``.

    ``known`` maps ``source.column`` to the values that exist there (for the ``references`` checks);
    references to a source that is not in ``known`` are not checked.
    """
    raw_dir = Path(raw_dir)
    files = src.files_in(raw_dir)
    if not files:
        if src.optional:
            report = SourceReport(src.name, src.title, missing=True)
            return CleanResult(src, _empty(src), pd.DataFrame(columns=["file", "line", "reason"]), report)
        raise SourceError(raw_dir / src.files[0], f"no file for source {src.name!r} ({src.title}); looked for {src.files}")
    return clean_files(src, files, known)


def clean_files(src: Source, files: list[Path], known: dict[str, frozenset] | None = None) -> CleanResult:
    """Clean the given files as exports of ``src`` (a command's ``--input`` file, or a raw folder's
    matching files): the same reading, parsing and checks as ``clean``."""
    known = known or {}
    report = SourceReport(src.name, src.title)
    files = [Path(f) for f in files]
    schema = _value_schema(src)
    cleans, rejects = [], []
    for path in files:
        sha = sha256_file(path)
        tables = read_tables(path, header_score=src.header_score)
        usable = [t for t in tables if src.header_score(t.header) > 0]
        if not usable:
            raise SourceError(path, f"no sheet or header matches source {src.name!r}; first header row: {tables[0].header if tables else []}")
        for raw in usable:
            c, r, fr = _clean_one(src, raw, sha, schema, known)
            cleans.append(c)
            rejects.append(r)
            report.files.append(fr)
    table = pd.concat(cleans, ignore_index=True) if cleans else _empty(src)
    # Keys must also be unique across files (the same complaint exported in two years' files).
    if src.key and len(table):
        dup = table.duplicated(src.key, keep="first")
        if dup.any():
            keys = table[src.key].astype("string")
            first = table.groupby(keys.apply(tuple, axis=1), sort=False)[["source_file", "source_line"]].transform("first")
            moved = table[dup].copy()
            rej = moved[["source_file", "source_line"]].rename(columns={"source_file": "file", "source_line": "line"})
            rej["reason"] = "repeats the key of " + first.loc[dup, "source_file"] + " line " + first.loc[dup, "source_line"].astype(str)
            for c in src.columns:
                rej[c] = moved[c].astype("string")
            rejects.append(rej)
            for fr in report.files:
                k = int((moved["source_file"] == fr.file).sum())
                fr.clean -= k
                fr.rejected += k
                if k:
                    fr.reasons["key repeated in another file"] = fr.reasons.get("key repeated in another file", 0) + k
            table = table[~dup].reset_index(drop=True)
    rejected = pd.concat([r for r in rejects if len(r)], ignore_index=True) if any(len(r) for r in rejects) else pd.DataFrame(columns=["file", "line", "reason"])
    report.rows_in = sum(f.rows_in for f in report.files)
    report.clean = len(table)
    report.rejected = len(rejected)
    report.reasons = dict(sum((Counter(f.reasons) for f in report.files), Counter()).most_common())
    assert report.rows_in == report.clean + report.rejected
    return CleanResult(src, table, rejected, report)


def _empty(src: Source) -> pd.DataFrame:
    return pd.DataFrame({"source_file": pd.Series(dtype="string"), "source_line": pd.Series(dtype="int64"), **{c: pd.Series(dtype=_DTYPES[d.type]) for c, d in src.columns.items()}})


_DTYPES = {
    "id": "string", "name": "string", "text": "string", "category": "string", "month": "string",
    "int": "Int64", "number": "float64", "percent": "float64", "bool": "boolean",
    "date": "datetime64[ns]", "datetime": "datetime64[ns]",
}


def clean_all(
    raw_dir: Path | str = config.RAW_DIR,
    out_dir: Path | str = config.PROCESSED_DIR,
    *,
    only: list[str] | None = None,
    echo=print,
    executor=None,
) -> dict[str, SourceReport]:
    """Clean every source: Parquet tables in ``out_dir``, rejected rows in ``out_dir/rejected``, and the
    row accounting in ``out_dir/clean_report.json``. ``raw_dir`` is only read.

    ``executor`` (a ``concurrent.futures`` executor, optional): sources are cleaned in parallel on
    it, each as soon as the master data it refers to is clean. The outputs are the same as serially."""
    raw_dir, out_dir = Path(raw_dir).resolve(), Path(out_dir).resolve()
    if out_dir == raw_dir or raw_dir in out_dir.parents:
        raise ValueError(f"the output folder {out_dir} may not be inside the raw folder {raw_dir} (raw data is read-only)")
    sources = load_sources()
    names = only or list(sources)
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(sources)}")
    names = _in_dependency_order(names, sources)
    known: dict[str, frozenset] = {}
    config.rejected_dir(out_dir).mkdir(parents=True, exist_ok=True)
    reports: dict[str, SourceReport] = {}
    referenced = frozenset(t for s in sources.values() for t in s.references().values())
    def finished(report: SourceReport, provides: dict[str, frozenset]) -> None:
        known.update(provides)
        reports[report.source] = report
        echo(report.line())

    if executor is None:
        for name in names:
            finished(*_clean_and_write(sources[name], raw_dir, out_dir, known, referenced))
    else:
        # Each source starts as soon as the sources it refers to are clean (no waiting for a whole
        # "level"): the master data is tiny, the big event files start at once.
        from concurrent.futures import FIRST_COMPLETED, wait

        needs = {n: {t.split(".")[0] for t in sources[n].references().values()} & set(names) for n in names}
        waiting, running = list(names), {}
        try:
            while waiting or running:
                for name in [n for n in waiting if needs[n] <= reports.keys()]:
                    waiting.remove(name)
                    running[executor.submit(_clean_and_write, sources[name], raw_dir, out_dir, dict(known), referenced)] = name
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    del running[fut]
                    finished(*fut.result())
        except BaseException:
            for fut in running:
                fut.cancel()
            raise
    reports = {n: reports[n] for n in names}
    path = config.clean_report_path(out_dir)
    previous = json.loads(path.read_text(encoding="utf-8")) if only and path.exists() else {}
    previous.update({k: asdict(v) for k, v in reports.items()})
    write_atomic(path, json.dumps(previous, ensure_ascii=False, indent=1))
    return reports


def _clean_and_write(src: Source, raw_dir: Path, out_dir: Path, known: dict[str, frozenset], referenced: frozenset[str]) -> tuple[SourceReport, dict[str, frozenset]]:
    """Clean one source and write its table and rejected rows. Returns its report and the values it
    provides to other sources' reference checks (``source.column`` -> values). Runs in a worker
    process when ``clean_all`` has an executor."""
    res = clean_source(src, raw_dir, known)
    provides = {}
    for target in referenced:
        ref_source, ref_col = target.split(".")
        if ref_source == src.name:
            provides[target] = frozenset(res.table[ref_col].dropna())
    _write_parquet(res.table, config.table_path(src.name, out_dir))
    rej_path = config.rejected_dir(out_dir) / f"{src.name}.csv"
    if len(res.rejected):
        from analysis.report.excel import write_csv

        write_csv(res.rejected, rej_path)
    elif rej_path.exists():
        rej_path.unlink()
    return res.report, provides


def _in_dependency_order(names: list[str], sources: dict[str, Source]) -> list[str]:
    """The named sources and those they refer to, referenced ones first (master data before the rest)."""
    ordered: list[str] = []

    def visit(n: str, stack: tuple[str, ...] = ()) -> None:
        if n in ordered:
            return
        if n in stack:
            raise ValueError(f"sources refer to each other in a cycle: {' -> '.join(stack + (n,))}")
        for target in sources[n].references().values():
            ref = target.split(".")[0]
            if ref not in sources:
                raise ValueError(f"source {n!r} refers to unknown source {ref!r}")
            visit(ref, stack + (n,))  # the master data is small: always clean it with its dependants
        ordered.append(n)

    for n in names:
        visit(n)
    return ordered


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)


def load_table(source: str, processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """A clean table written by :func:`clean_all`."""
    path = config.table_path(source, processed_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no clean table for {source!r}; run `python -m analysis clean` first")
    return pd.read_parquet(path)


def load_clean_report(processed_dir: Path | str = config.PROCESSED_DIR) -> dict:
    path = config.clean_report_path(processed_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no clean report; run `python -m analysis clean` first")
    return json.loads(path.read_text(encoding="utf-8"))

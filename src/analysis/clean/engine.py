"""Every raw source through one door: stage, parse, check, split clean from rejected, on an engine.

For each source (a definition in ``sources/``) every matching file is staged (:mod:`analysis.clean.stage`:
decoded as a stream, split into records with their lines, headers matched through the aliases, NFKC
where needed) and then parsed and checked by the source's rules (:mod:`analysis.clean.rules`, one
Ibis expression) on DuckDB (default) or Spark (``engine="spark"``). Clean rows go to
``<processed>/<source>.parquet`` with ``source_file``/``source_line`` for tracing, rejected rows to
``<processed>/rejected/<source>.csv`` with file, line, reason and the original values, streamed in
batches: no table is ever whole in memory, whatever its size. The invariant ``rows_in == clean +
rejected`` holds for every file and is checked.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from analysis import config
from analysis.clean.sources import Rule, Source, load_sources, with_mapping
from analysis.errors import AccountingError, InputValueError, MissingInputError
from analysis.files import sha256_file, write_atomic
from analysis.io.read import SourceError
from analysis.rejects import Reason, Rejected


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
    codes: dict[str, int] = field(default_factory=dict)  # rejections per reason code (analysis.rejects.Reason)
    notes: list[str] = field(default_factory=list)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class SourceReport:
    source: str
    title: str
    files: list[FileReport] = field(default_factory=list)
    rows_in: int = 0
    clean: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    missing: bool = False
    engine: str = "duckdb"

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


def clean_source(src: Source, raw_dir: Path | str, known: dict[str, frozenset] | None = None, *, engine: str = "duckdb") -> CleanResult:
    """Clean every file of one source found in ``raw_dir`` (results as DataFrames: for small sources).

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
    return clean_files(src, files, known, engine=engine)


def clean_files(src: Source, files: list[Path], known: dict[str, frozenset] | None = None, *, engine: str = "duckdb") -> CleanResult:
    """Clean the given files as exports of ``src`` (a command's ``--input`` file, or a raw folder's
    matching files): the same reading, parsing and checks as ``clean``; the clean and rejected rows
    come back as DataFrames (for small sources; ``clean`` itself streams them to files)."""
    with tempfile.TemporaryDirectory(prefix="analysis-clean-") as tmp:
        run = _Run(src, [Path(f) for f in files], known or {}, engine, Path(tmp))
        out = Path(tmp) / "out"
        out.mkdir()
        report = run.write(out / "table.parquet", out / "rejected.csv")
        table = pd.read_parquet(out / "table.parquet")
        rej_path = out / "rejected.csv"
        rejected = pd.read_csv(rej_path, dtype=str, keep_default_na=False, encoding="utf-8-sig") if rej_path.exists() else pd.DataFrame(columns=["file", "line", "reason"])
        if "line" in rejected:
            rejected["line"] = rejected["line"].astype("int64")
    return CleanResult(src, table, rejected, report)


@dataclass
class Plan:
    """A source's rules compiled to SQL for one engine: the views to create, in order, over the
    staged table ``analysis_<source>_staged``, the final classified table's query and schema, and the
    rules whose flags it carries. Compiling costs a few seconds of Ibis; a plan depends only on the
    source definition, the engine and the day, so it is kept on disk and reused."""

    source: str
    statements: list[tuple[str, str, bool]]
    final: str
    schema: dict[str, str]
    rules: list[tuple[str, str, str]]  # name, kind, reason code
    columns: list[str]
    queries: dict[str, str]  # counts, clean, rejected, unmapped:<column>, provides:<column>, over the classified table


PLAN_VERSION = "3"


def _plan_key(src: Source, dialect: str, known: list[str], today) -> str:
    import hashlib

    here = Path(__file__).parent  # the files are read, not imported: rules.py needs Ibis, which a cached plan does not
    h = hashlib.sha256()
    code = "".join((here / f).read_text(encoding="utf-8") for f in ("rules.py", "stage.py", "engine.py"))  # a changed translation compiles anew
    for part in (PLAN_VERSION, code, src.model_dump_json(), dialect, ",".join(known), str(today)):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def plan_for(src: Source, dialect: str, known: list[str], today=None) -> Plan:
    """The compiled plan of ``src`` for ``dialect`` ("duckdb" or "pyspark"), from the cache when it is there."""
    import datetime as dt

    today = today or dt.date.today()
    cache = Path(tempfile.gettempdir()) / "analysis-plans"
    path = cache / f"{src.name}-{_plan_key(src, dialect, known, today)}.json"
    if path.exists():
        try:
            return Plan(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError):
            pass
    import ibis

    from analysis.clean.rules import Translation
    from analysis.clean.stage import NORM

    if dialect == "pyspark":  # loading the backend registers the options its compiler reads
        from analysis.events.engine import quiet_library_warnings

        with quiet_library_warnings():
            ibis.pyspark  # noqa: B018 - the attribute access is the point: it loads and registers the backend
    statements: list[tuple[str, str]] = []

    def view(expr, keep: bool = False):
        # keep: computed once into a table (its columns are used many times after it; an engine
        # inlines views, which would compute them again at every use)
        name = f"analysis_{src.name}_v{len(statements) + 1}"
        statements.append((name, ibis.to_sql(expr, dialect=dialect), keep))
        return ibis.table(expr.schema(), name=name)

    cols = {"_file": "int64", "_line": "int64", "_absent": "string"}
    for c in src.columns:
        cols[c] = "string"
        cols[c + NORM] = "string"
    staged = ibis.table(cols, name=f"analysis_{src.name}_staged")
    known_tables = {target: ibis.table({"value": "string"}, name=_known_name(target)) for target in known}
    labels = ibis.table({"_label_file": "int64", "_label": "string"}, name=f"analysis_{src.name}_labels")
    tr = Translation(src, "duckdb" if dialect == "duckdb" else "spark", today=today, view=view)
    expr = tr.classified(staged, known_tables, labels)
    t = ibis.table(expr.schema(), name=f"analysis_{src.name}_classified")
    sql = lambda e: ibis.to_sql(e, dialect=dialect)
    queries = {
        "counts": sql(t.group_by("_file").aggregate(rows=t._line.count(), clean=t._ok.sum(), **{f"n_{r.name}": t[f"_f_{r.name}"].sum() for r in tr.rules})),
        "clean": sql(t.filter(t._ok).order_by(["_file", "_line"]).select("_file", "_line", *tr.output_columns())),
        # the original cells of the rejected rows, from the staged table
        "rejected": sql(t.filter(~t._ok).select("_file", "_line", "_reason").join(staged.select("_file", "_line", **{f"_raw_{c}": staged[c] for c in src.columns}), ["_file", "_line"]).order_by(["_file", "_line"])),
    }
    for n, c in src.columns.items():
        if c.type == "category":
            queries[f"unmapped:{n}"] = sql(t.filter(t[f"{n}_label"].notnull()).group_by(["_file", f"{n}_label"]).aggregate(n=t._line.count()))
    referenced = {target.split(".")[1] for s in load_sources().values() for target in s.references().values() if target.split(".")[0] == src.name}
    for c in sorted(referenced):
        queries[f"provides:{c}"] = sql(t.filter(t._ok & t[c].notnull()).select(c).distinct())
    plan = Plan(src.name, statements, sql(expr), {k: str(v) for k, v in expr.schema().items()}, [(r.name, r.kind, r.code) for r in tr.rules], tr.output_columns(), queries)
    cache.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(asdict(plan), ensure_ascii=False))
    return plan


def _known_name(target: str) -> str:
    return "analysis_known_" + target.replace(".", "__")


def _with(views: list[tuple[str, str]], sql: str) -> str:
    """``sql`` with ``views`` (name, query) as its leading common table expressions."""
    if not views:
        return sql
    ctes = ", ".join(f'"{name}" AS ({query})' for name, query in views)
    head = sql.lstrip()
    if head[:4].upper() == "WITH" and head[4:5].isspace():  # the query's own CTEs follow ours
        return f"WITH {ctes}, {head[5:]}"
    return f"WITH {ctes} {head}"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Run:
    """One source's files staged and classified on an engine."""

    def __init__(self, src: Source, files: list[Path], known: dict[str, frozenset], engine: str, workdir: Path):
        from analysis.clean.stage import NORM, stage_file

        self.src, self.engine = src, engine
        self.staged = []
        self.shas = {}
        for k, path in enumerate(files):
            self.shas[path] = sha256_file(path)
            self.staged += stage_file(src, path, workdir, k)
        self.con = connect(engine)
        self.dialect = "duckdb" if engine == "duckdb" else "pyspark"
        targets = sorted(t for t in set(src.references().values()) if t in known)
        self.plan = plan_for(src, self.dialect, targets)
        for target in targets:
            engine_table(self.con, pa.table({"value": pa.array(sorted(known[target]), pa.string())}), _known_name(target))
        engine_table(self.con, pa.table({"_label_file": pa.array(range(len(self.staged)), pa.int64()), "_label": pa.array([st.label for st in self.staged], pa.string())}), f"analysis_{src.name}_labels")
        # the staged files as one table: a file without an optional column gives empty cells
        selects = []
        for i, st in enumerate(self.staged):
            absent = "," + ",".join(c for c in src.columns if c not in st.columns) + ","
            parts = [f"CAST({i} AS BIGINT) AS _file", "_line", f"{_sql_string(absent)} AS _absent"]
            for c in src.columns:
                for name in (c, c + NORM):
                    parts.append(name if c in st.columns else f"CAST(NULL AS STRING) AS {name}" if self.dialect == "pyspark" else f"CAST(NULL AS VARCHAR) AS {name}")
            where = f"read_parquet({_sql_string(str(st.parquet))})" if self.dialect == "duckdb" else f"parquet.`{st.parquet}`"
            selects.append(f"SELECT {', '.join(parts)} FROM {where}")
        run_sql(self.con, f"analysis_{src.name}_staged", " UNION ALL ".join(selects), view=True)
        # On DuckDB the layers that are views become common table expressions of the statements
        # that compute a table: a view is bound again at every view built on it, which cost
        # seconds per source for views nested twelve deep.
        pending: list[tuple[str, str]] = []
        for name, sql, keep in self.plan.statements:
            if self.dialect == "duckdb" and not keep:
                pending.append((name, sql))
                continue
            run_sql(self.con, name, _with(pending, sql), view=not keep)
        self.name = f"analysis_{src.name}_classified"
        run_sql(self.con, self.name, _with(pending, self.plan.final), view=False)

    def rows(self, query: str) -> list[dict]:
        return [b for batch in record_batches(self.con, self.plan.queries[query], 1 << 16) for b in batch.to_pylist()]

    def write(self, table_path: Path, rejected_path: Path) -> SourceReport:
        """Write the clean table (Parquet) and the rejected rows (CSV, only when there are any);
        return the accounting."""
        from analysis.clean import write as w

        src = self.src
        rules = [Rule(*r) for r in self.plan.rules]
        counts = self.rows("counts")
        unmapped: dict = {}
        for n, c in src.columns.items():
            if c.type == "category":
                for row in self.rows(f"unmapped:{n}"):
                    unmapped.setdefault(row["_file"], {}).setdefault(n, {})[row[f"{n}_label"]] = row["n"]
        mask_cols = [c for c, d in src.columns.items() if d.mask]
        labels = {i: st.label for i, st in enumerate(self.staged)}
        w.write_clean(self.con, self.plan.queries["clean"], src, self.plan.columns, labels, table_path, mask_cols)
        # the rejected rows stream from the engine to the CSV; the collectors count them per file
        written = w.write_rejected(self.con, self.plan.queries["rejected"], src, labels, self.staged, rejected_path, mask_cols)
        by_file = {row["_file"]: row for row in counts}
        report = SourceReport(src.name, src.title, engine=self.engine)
        for i, st in enumerate(self.staged):
            row = by_file.get(i, {"rows": 0, "clean": 0})
            rej = Rejected(st.label)
            for r in rules:
                rej.count(Reason.of_code(r.code), int(row.get(f"n_{r.name}") or 0), text=r.kind)
            rej.count(Reason.MALFORMED, st.malformed)
            if int(row["rows"]) != st.rows:
                raise AccountingError(f"{st.label}: {st.rows} records staged but {row['rows']} classified")
            clean = int(row["clean"] or 0)
            rej.add_streamed(st.rows - clean + st.malformed)
            rej.check(st.rows_in, clean)
            fr = FileReport(
                file=st.label, sheet=st.sheet, encoding=st.encoding, header_line=st.header_line,
                rows_in=st.rows_in, clean=clean, rejected=rej.records,
                blank_rows=st.blank_rows, ignored_columns=st.ignored, sha256=self.shas[st.file],
                reasons=dict(rej.texts.most_common()), codes=dict(rej.codes.most_common()), notes=st.notes, unmapped=unmapped.get(i, {}),
            )
            report.files.append(fr)
        if written != sum(f.rejected for f in report.files):
            raise AccountingError(f"{src.name}: {written:,} rejected rows written but {sum(f.rejected for f in report.files):,} counted")
        report.rows_in = sum(f.rows_in for f in report.files)
        report.clean = sum(f.clean for f in report.files)
        report.rejected = sum(f.rejected for f in report.files)
        report.reasons = dict(sum((Counter(f.reasons) for f in report.files), Counter()).most_common())
        report.codes = dict(sum((Counter(f.codes) for f in report.files), Counter()).most_common())
        return report

    def provides(self, referenced: frozenset[str]) -> dict[str, frozenset]:
        """The values of this source's columns that other sources refer to (``source.column``)."""
        out = {}
        for target in referenced:
            ref_source, ref_col = target.split(".")
            if ref_source == self.src.name:
                out[target] = frozenset(v[ref_col] for v in self.rows(f"provides:{ref_col}"))
        return out


class _Connection:
    """The engine as the clean door uses it: SQL in, Arrow out (no Ibis needed once a plan is
    compiled). ``name`` is the SQL dialect: "duckdb" or "pyspark"."""

    def __init__(self, name: str, con=None, session=None):
        self.name, self.con, self._session = name, con, session


_CONNECTIONS: dict[str, _Connection] = {}


def connect(engine: str) -> _Connection:
    """One connection per engine and process: DuckDB with the settings of
    :func:`analysis.events.engine.duckdb_settings`, or the Spark session."""
    from analysis.events import engine as eng

    if engine not in eng.ENGINES:
        raise InputValueError(f"unknown engine {engine!r}: choose one of {', '.join(eng.ENGINES)}")
    if engine not in _CONNECTIONS:
        if engine == "duckdb":
            import duckdb

            con = duckdb.connect()
            for key, value in eng.duckdb_settings().items():
                con.execute(f"SET {key} = '{value}'")
            eng.quiet_progress(con)
            _CONNECTIONS[engine] = _Connection("duckdb", con=con)
        else:
            _CONNECTIONS[engine] = _Connection("pyspark", session=eng.spark_session())
    return _CONNECTIONS[engine]


def run_sql(con, name: str, sql: str, *, view: bool) -> None:
    """Name the result of ``sql`` on the engine: a view, or a table computed once (a DuckDB temporary
    table that spills to disk under the memory limit; a cached Spark DataFrame)."""
    if con.name == "duckdb":
        con.con.execute(f"CREATE OR REPLACE TEMP {'VIEW' if view else 'TABLE'} {name} AS {sql}")
        return
    frame = con._session.sql(sql)
    if not view:
        frame = frame.cache()
    frame.createOrReplaceTempView(name)


def engine_table(con, table: pa.Table, name: str) -> None:
    """A small Arrow table as a named engine-side table."""
    if con.name == "duckdb":
        con.con.register(name + "_arrow", table)
        con.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
        con.con.unregister(name + "_arrow")
        return
    con._session.createDataFrame(table.to_pandas()).createOrReplaceTempView(name) if table.num_rows else con._session.createDataFrame([], ", ".join(f"{f.name} {'bigint' if pa.types.is_integer(f.type) else 'string'}" for f in table.schema)).createOrReplaceTempView(name)


def record_batches(con, sql: str, size: int):
    """The rows of ``sql`` as Arrow record batches of about ``size`` rows, streamed."""
    if con.name == "duckdb":
        yield from con.con.sql(sql).to_arrow_reader(size)
        return
    yield from con._session.sql(sql).toArrow().to_batches(max_chunksize=size)


def _empty(src: Source) -> pd.DataFrame:
    """The clean table's columns and dtypes, without rows."""
    cols = {"source_file": pd.Series(dtype="str"), "source_line": pd.Series(dtype="int64"), **{c: pd.Series(dtype=_DTYPES[d.type]) for c, d in src.columns.items()}}
    cols.update({f"{c}_label": pd.Series(dtype="string") for c, d in src.columns.items() if d.type == "category"})
    return pd.DataFrame(cols)


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
    engine: str = "duckdb",
    mappings: dict[str, Path] | None = None,
) -> dict[str, SourceReport]:
    """Clean every source: Parquet tables in ``out_dir``, rejected rows in ``out_dir/rejected``, and the
    row accounting in ``out_dir/clean_report.json``. ``raw_dir`` is only read.

    ``executor`` (a ``concurrent.futures`` executor, optional): sources are cleaned in parallel on
    it, each as soon as the master data it refers to is clean. The outputs are the same as serially.
    ``mappings``: source -> a mapping YAML (:class:`analysis.clean.sources.SourceMapping`) whose
    headers are read as that source's columns."""
    raw_dir, out_dir = Path(raw_dir).resolve(), Path(out_dir).resolve()
    if out_dir == raw_dir or raw_dir in out_dir.parents:
        raise InputValueError(f"the output folder {out_dir} may not be inside the raw folder {raw_dir} (raw data is read-only)")
    sources = dict(load_sources())
    for name, path in (mappings or {}).items():  # a foreign export's headers, as extra aliases
        if name not in sources:
            raise InputValueError(f"--mapping {name}=...: unknown source {name!r}; known: {', '.join(sources)}")
        sources[name] = with_mapping(sources[name], path)
    names = only or list(sources)
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise InputValueError(f"unknown source(s): {', '.join(unknown)}; known: {', '.join(sources)}")
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
            finished(*_clean_and_write(sources[name], raw_dir, out_dir, known, referenced, engine))
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
                    running[executor.submit(_clean_and_write, sources[name], raw_dir, out_dir, dict(known), referenced, engine)] = name
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


def _clean_and_write(src: Source, raw_dir: Path, out_dir: Path, known: dict[str, frozenset], referenced: frozenset[str], engine: str = "duckdb") -> tuple[SourceReport, dict[str, frozenset]]:
    """Clean one source and write its table and rejected rows. Returns its report and the values it
    provides to other sources' reference checks (``source.column`` -> values). Runs in a worker
    process when ``clean_all`` has an executor."""
    table_path = config.table_path(src.name, out_dir)
    rej_path = config.rejected_dir(out_dir) / f"{src.name}.csv"
    files = src.files_in(raw_dir)
    if not files:
        if not src.optional:
            raise SourceError(raw_dir / src.files[0], f"no file for source {src.name!r} ({src.title}); looked for {src.files}")
        from analysis.clean.write import write_frame

        write_frame(_empty(src), table_path)
        rej_path.unlink(missing_ok=True)
        return SourceReport(src.name, src.title, missing=True, engine=engine), {t: frozenset() for t in referenced if t.split(".")[0] == src.name}
    with tempfile.TemporaryDirectory(prefix=f"analysis-clean-{src.name}-") as tmp:
        run = _Run(src, files, known, engine, Path(tmp))
        report = run.write(table_path, rej_path)
        provides = run.provides(referenced)
    return report, provides


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


def load_table(source: str, processed_dir: Path | str = config.PROCESSED_DIR) -> pd.DataFrame:
    """A clean table written by :func:`clean_all`."""
    path = config.table_path(source, processed_dir)
    if not path.exists():
        raise MissingInputError(f"{path}: no clean table for {source!r}; run `python -m analysis clean` first")
    return pd.read_parquet(path)


def load_clean_report(processed_dir: Path | str = config.PROCESSED_DIR) -> dict:
    path = config.clean_report_path(processed_dir)
    if not path.exists():
        raise MissingInputError(f"{path}: no clean report; run `python -m analysis clean` first")
    return json.loads(path.read_text(encoding="utf-8"))

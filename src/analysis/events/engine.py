"""Where the event aggregations run: DuckDB (default, embedded) or Spark, both through Ibis.

Every aggregation in this package is one Ibis expression; this module only supplies the backend
connection and turns a *source* (a file, a folder of files, or a pandas DataFrame) into an Ibis table
with the canonical columns of a clean table.

DuckDB (``engine="duckdb"``) runs in this process, streams Parquet/CSV from disk and spills to disk
when an operation needs more memory than allowed. Settings, from the environment:

``ANALYSIS_DUCKDB_MEMORY_LIMIT``   DuckDB ``memory_limit`` (default ``1GB``)
``ANALYSIS_DUCKDB_TEMP_DIR``       where DuckDB spills (default ``<system temp>/analysis-duckdb``)
``ANALYSIS_DUCKDB_THREADS``        worker threads (default: all cores)

Spark (``engine="spark"``, needs the ``[spark]`` extra and Java 17) uses the active Spark session
if there is one (a notebook on a cluster), otherwise builds one. Without configuration it is a local
session. A cluster is configured the usual Spark way, or from the environment:

``ANALYSIS_SPARK_MASTER``          the master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ...)
``ANALYSIS_SPARK_CONF``            extra settings, ``key=value`` pairs separated by ``;``
``SPARK_CONF_DIR``                 a folder with ``spark-defaults.conf`` (read by Spark itself)

The session time zone is always UTC so that times without a zone mean the same on both engines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.errors import InputValueError, MissingInputError

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir
    import pandas as pd

ENGINES = ("duckdb", "spark")

_connections: dict[str, Any] = {}


class EngineUnavailable(RuntimeError):
    """The requested engine cannot run here (a package or Java is missing)."""


# ------------------------------------------------------------------------------------------ DuckDB
def duckdb_settings() -> dict[str, str]:
    """DuckDB settings from the environment (see the module docstring)."""
    settings = {
        "memory_limit": os.environ.get("ANALYSIS_DUCKDB_MEMORY_LIMIT") or "1GB",
        "temp_directory": os.environ.get("ANALYSIS_DUCKDB_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "analysis-duckdb"),
        # order-preserving output is not needed for aggregations and costs memory on large inputs
        "preserve_insertion_order": "false",
    }
    if os.environ.get("ANALYSIS_DUCKDB_THREADS"):
        settings["threads"] = os.environ["ANALYSIS_DUCKDB_THREADS"]
    return settings


def _connect_duckdb():
    import ibis

    con = ibis.duckdb.connect()
    for key, value in duckdb_settings().items():
        con.raw_sql(f"SET {key} = '{value}'")
    quiet_progress(con.con)
    return con


def quiet_progress(con) -> None:
    """No progress bar: a long query would draw one into the terminal. (Inside Jupyter DuckDB
    refuses the setting without ipywidgets, and draws no bar there anyway.)"""
    import duckdb

    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass


# ------------------------------------------------------------------------------------------- Spark
def spark_available() -> tuple[bool, str]:
    """Whether Spark can start here, and if not, why (for skipping tests with a clear reason)."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return False, "pyspark is not installed (install the optional extra: pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (java_home and (Path(java_home) / "bin" / "java").exists())):
        return False, "Spark needs Java 17: no `java` on PATH and no JAVA_HOME"
    return True, ""


def spark_conf_from_env() -> dict[str, str]:
    """``ANALYSIS_SPARK_MASTER`` and ``ANALYSIS_SPARK_CONF`` as Spark settings."""
    conf: dict[str, str] = {}
    master = os.environ.get("ANALYSIS_SPARK_MASTER")
    if master:
        conf["spark.master"] = master
    for item in (os.environ.get("ANALYSIS_SPARK_CONF") or "").split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputValueError(f"ANALYSIS_SPARK_CONF: expected key=value, got {item!r}")
        conf[key.strip()] = value.strip()
    return conf


def spark_session():
    """The active Spark session, or a new one configured from the environment."""
    ok, why = spark_available()
    if not ok:
        raise EngineUnavailable(why)
    _quiet_pyspark_warnings()
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        builder = SparkSession.builder.appName("analysis-events")
        defaults = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": "8",
            "spark.sql.legacy.parquet.nanosAsLong": "true",  # pandas writes TIMESTAMP(NANOS): see _spark_nanos_to_micros
        }
        log_options = f"-Dlog4j2.configurationFile=file:{_quiet_log4j_config()}"
        defaults["spark.driver.extraJavaOptions"] = log_options  # the JVM's own start-up chatter
        for key, value in {**defaults, **spark_conf_from_env()}.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    session.conf.set("spark.sql.session.timeZone", "UTC")
    session.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    return session


_LOG4J = """status = error
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""


def _quiet_log4j_config() -> Path:
    """A log4j2 configuration showing Spark errors only (written once to the temp folder): a local
    session otherwise prints its start-up warnings into notebooks and terminals."""
    path = Path(tempfile.gettempdir()) / "analysis-spark-log4j2.properties"
    if not path.exists() or path.read_text() != _LOG4J:
        path.write_text(_LOG4J)
    return path


@contextlib.contextmanager
def quiet_library_warnings():
    """Silence deprecation chatter that Ibis and pyspark emit under pandas 3 on every query (their
    own use of pandas options and keywords, nothing about our data)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The 'future\.infer_string' option is deprecated")
        warnings.filterwarnings("ignore", message=r"The copy keyword is deprecated")
        warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated")
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


def _quiet_pyspark_warnings() -> None:
    # pyspark 4.3 warns on every pandas conversion that it "does not yet fully support pandas >= 3";
    # the conversions this package uses (Arrow) are tested on both engines.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def _connect_spark():
    import ibis

    return ibis.pyspark.connect(spark_session())


# ----------------------------------------------------------------------------------------- connect
def connect(engine: str = "duckdb"):
    """An Ibis backend for ``engine`` ("duckdb" or "spark"), created once per process."""
    if engine not in ENGINES:
        raise InputValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "spark":
        _quiet_pyspark_warnings()
    con = _connections.get(engine)
    if con is None:
        con = _connect_duckdb() if engine == "duckdb" else _connect_spark()
        _connections[engine] = con
    return con


# ----------------------------------------------------------------------------------------- sources
def source_error(path, message: str, **where):
    """An :class:`analysis.io.read.SourceError` (imported only when there is an error to report:
    that module loads pandas, which the command line otherwise does without)."""
    from analysis.io.read import SourceError

    return SourceError(path, message, **where)


def resolve_files(path: Path | str) -> tuple[list[Path], str]:
    """The data files of a source path and their format ("csv" or "parquet").

    A file is used as is; a folder contributes every ``*.parquet`` or ``*.csv`` file below it
    (hidden files and Spark/Hadoop markers such as ``_SUCCESS`` are ignored). A folder must hold one
    format only.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path}: no such file or folder")
    if path.is_file():
        fmt = _format_of(path)
        if fmt is None:
            raise source_error(path, "not a CSV or Parquet file (expected .csv or .parquet)")
        return [path], fmt
    files = sorted(p for p in path.rglob("*") if p.is_file() and _format_of(p) and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
    formats = {_format_of(p) for p in files}
    if not files:
        raise source_error(path, "folder holds no .csv or .parquet files")
    if len(formats) > 1:
        raise source_error(path, "folder mixes CSV and Parquet files; point at one kind")
    return files, formats.pop()


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    return None


def source_table(con, source: Path | str | pd.DataFrame, columns: list[str], *, source_name: str) -> ir.Table:
    """An Ibis table of ``source`` with ``columns`` (canonical names) and, when present, the tracing
    columns ``source_file``/``source_line`` of the clean tables.

    CSV is read as text (the aggregations parse the values themselves, so a bad value becomes a
    rejected row with a reason instead of a failed read). A missing column is an error naming the
    file and the column.
    """
    from analysis.events.common import is_frame

    with quiet_library_warnings():
        if is_frame(source):
            where = f"<DataFrame for {source_name}>"
            table = _from_frame(con, source)
        else:
            files, fmt = resolve_files(source)
            where = str(source)
            try:
                table = _from_files(con, files, fmt)
            except Exception as exc:
                if not is_engine_error(exc):
                    raise
                raise source_error(where, f"cannot be read as {fmt.upper()}: {short_error(exc)}{_CSV_HINT if fmt == 'csv' else ''}") from exc
    table = _clean_names(table)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise source_error(
            where,
            f"missing column(s) {', '.join(missing)}: the {source_name} source needs the canonical columns "
            f"{', '.join(columns)} (sources/{source_name}.yaml; found: {', '.join(table.columns)}); "
            "clean raw exports first with `python -m analysis clean`",
            column=missing[0],
        )
    keep = columns + [c for c in ("source_file", "source_line") if c in table.columns]
    return table.select(*keep)


_CSV_HINT = " (CSV input must be UTF-8 with a header row of canonical column names; `python -m analysis clean` converts raw exports)"


def is_engine_error(exc: BaseException) -> bool:
    """An error raised by DuckDB or Spark about the data (as opposed to a bug in this package)."""
    return type(exc).__module__.split(".")[0] in {"duckdb", "_duckdb", "pyspark", "py4j"}


def short_error(exc: BaseException) -> str:
    """The first line of an engine's error message."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _clean_names(table):
    # A UTF-8 byte-order mark or stray blanks in a CSV header must not hide a column.
    renames = {c.lstrip("\ufeff").strip(): c for c in table.columns if c != c.lstrip("\ufeff").strip()}
    return table.rename(renames) if renames else table


def _from_frame(con, frame: pd.DataFrame):
    import ibis
    import pyarrow as pa

    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    # A column with no value at all has no type; as text it reads as missing everywhere.
    for i, f in enumerate(arrow.schema):
        if pa.types.is_null(f.type):
            arrow = arrow.set_column(i, pa.field(f.name, pa.string()), arrow.column(i).cast(pa.string()))
    if con.name == "pyspark":
        return _spark_view(con, con._session.createDataFrame(_spark_safe_arrow(arrow)))
    return ibis.memtable(arrow)


def _spark_safe_arrow(arrow):
    # Spark wants plain string and microsecond timestamp columns from Arrow.
    import pyarrow as pa

    fields = []
    for field in arrow.schema:
        t = field.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_dictionary(t):
            t = pa.string()
        elif pa.types.is_timestamp(t):
            t = pa.timestamp("us")
        fields.append(pa.field(field.name, t))
    return arrow.cast(pa.schema(fields))


def _from_files(con, files: list[Path], fmt: str):
    names = [str(p) for p in files]
    if con.name == "pyspark":
        reader = con._session.read
        if fmt == "parquet":
            frame = _spark_read_parquet(reader, files)
        else:
            frame = reader.csv(names, header=True, inferSchema=False, encoding="UTF-8", multiLine=True, escape='"')
        return _spark_view(con, frame)
    if fmt == "parquet":
        return con.read_parquet(names, union_by_name=True)
    return con.read_csv(names, all_varchar=True, header=True, union_by_name=True)


def _spark_read_parquet(reader, files: list[Path]):
    """Read Parquet files on Spark. Spark cannot read TIMESTAMP(NANOS) (what pandas writes by
    default) as a timestamp: the session reads it as a long (``spark.sql.legacy.parquet.nanosAsLong``)
    and it is turned back here into a microsecond timestamp (nanoseconds below a microsecond are
    dropped; waits count whole seconds anyway). Files are grouped by which columns are nanoseconds,
    so a folder mixing resolutions still reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    groups: dict[tuple[str, ...], list[str]] = {}
    for f in files:
        nanos = tuple(x.name for x in pq.read_schema(f) if pa.types.is_timestamp(x.type) and x.type.unit == "ns")
        groups.setdefault(nanos, []).append(str(f))
    frames = []
    for nanos, names in groups.items():
        frame = reader.parquet(*names)
        for name in nanos:
            frame = frame.withColumn(name, F.timestamp_micros(F.floor(F.col(name) / 1000).cast("long")))
        frames.append(frame)
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame, allowMissingColumns=True)
    return out


def _spark_view(con, frame):
    from ibis import util

    name = util.gen_name("analysis_events")
    frame.createOrReplaceTempView(name)
    return con.table(name)

"""Run the notebooks and publish them: ``python -m analysis run``.

Steps: clean the raw exports (``analysis.clean.engine.clean_all``, independent sources in parallel
on the worker pool), then execute every notebook in ``notebooks/`` (``NN_name.ipynb``, by file
name) with papermill's Python API, several at once on the same pool; each worker executes a
notebook and exports it to an offline HTML page (one :class:`~analysis.report.export.PageExporter`
per worker), then the parent writes ``index.html`` and the run manifest ``manifest.json``.

Why a pool of long-lived workers: starting Python and importing papermill/nbconvert costs seconds,
more than running a small notebook. The workers are forked from a forkserver that imported them once.

Parameters reach a notebook only if its ``parameters`` cell declares them (papermill writes the
names into code unescaped, so names are checked against the declared ones and must be identifiers).
The runner offers ``period``, ``processed_dir`` and ``reports_dir`` (absolute paths as strings).

A failing notebook does not stop the others: its page shows the output up to the failing cell and
the traceback, the index marks it, and the run's status is ``failed`` (the command exits 1).
"""

from __future__ import annotations

import ast
import hashlib
import json
import keyword
import os
import platform
import re
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from analysis import config
from analysis.errors import InputValueError, MissingInputError
from analysis.files import sha256_file, sha256_remembered, write_atomic
from analysis.report.export import ErrorInfo, first_error

STANDARD_PARAMETERS = ("period", "processed_dir", "reports_dir")
# Folders are where the inputs are, not what they are: the fingerprint hashes the tables instead,
# so the same data and period give the same fingerprint on every machine.
FOLDER_PARAMETERS = ("processed_dir", "reports_dir")
EXPORT_LOG_ENV = "ANALYSIS_EXPORT_LOG"  # analysis.notebook.Context.export_path records files here
MANIFEST_NAME = "manifest.json"
INDEX_NAME = "index.html"
_LITERAL_TYPES = (str, int, float, bool, type(None))


# ------------------------------------------------------------------------------------- notebooks
@dataclass
class NotebookInfo:
    path: Path
    title: str
    inputs: list[str]
    declared: dict[str, object]  # the parameters cell's names and default values

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def short(self) -> str:
        """The name without its ``NN_`` ordering prefix."""
        return re.sub(r"^\d+_", "", self.name)


def declared_parameters(nb: nbformat.NotebookNode, path: Path | str = "<notebook>") -> dict[str, object]:
    """Names and default values assigned in the cell tagged ``parameters`` ({} if there is none).

    The cell must hold literal assignments only (``period = "2016"``); anything else is an error
    naming the notebook and line, because papermill injects values after that cell and a computed
    default would silently hide the injected one."""
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return {}
    if len(cells) > 1:
        raise InputValueError(f"{path}: {len(cells)} cells are tagged 'parameters'; tag exactly one")
    source = cells[0].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise InputValueError(f"{path}: parameters cell line {exc.lineno}: {exc.msg}") from exc
    declared: dict[str, object] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            target, value = stmt.target.id, stmt.value
        else:
            raise InputValueError(f"{path}: parameters cell line {stmt.lineno}: only `name = literal` assignments are allowed")
        try:
            declared[target] = ast.literal_eval(value)
        except ValueError as exc:
            raise InputValueError(f"{path}: parameters cell line {stmt.lineno}: {target} must be a literal (derive values in the next cell)") from exc
    return declared


def read_info(path: Path | str) -> NotebookInfo:
    """A notebook's title, input tables and declared parameters (from its metadata and cells)."""
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for broken JSON
        raise InputValueError(f"{path}: not a readable notebook: {exc}") from exc
    meta = nb.metadata.get("analysis", {}) or {}
    inputs = meta.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise InputValueError(f'{path}: metadata "analysis.inputs" must be a list of clean table names, got {inputs!r}')
    title = meta.get("title") or nb.metadata.get("title") or path.stem
    return NotebookInfo(path=path, title=str(title), inputs=list(inputs), declared=declared_parameters(nb, path))


def discover(notebooks_dir: Path | str = config.NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks of the suite, by file name (``NN_name.ipynb`` sorts in reading order)."""
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise MissingInputError(f"{notebooks_dir}: no notebooks folder")
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith((".", "_")))


def select(paths: list[Path], only: list[str] | None) -> list[Path]:
    """The notebooks named in ``only`` (by stem, ``01_data_quality``, or without the number,
    ``data_quality``); all of them when ``only`` is empty. Unknown names are an error."""
    if not only:
        return list(paths)
    chosen: list[Path] = []
    for raw in only:
        name = raw.removesuffix(".ipynb")
        hits = [p for p in paths if name in (p.stem, re.sub(r"^\d+_", "", p.stem))]
        if not hits:
            known = ", ".join(p.stem for p in paths) or "(none)"
            raise InputValueError(f"no notebook named {raw!r}; known: {known}")
        chosen.extend(h for h in hits if h not in chosen)
    return sorted(chosen)


def select_parameters(info: NotebookInfo, given: dict[str, object], *, optional: tuple[str, ...] = STANDARD_PARAMETERS) -> dict[str, object]:
    """The parameters to inject into a notebook: those of ``given`` that its parameters cell declares.

    Names in ``optional`` (the runner's standard ones) are skipped when not declared; any other
    undeclared name is refused, as is a name that is not a plain identifier or a value that is not a
    literal (str, int, float, bool, None)."""
    chosen: dict[str, object] = {}
    for name, value in given.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise InputValueError(f"{info.path}: refusing parameter name {name!r}: not a Python identifier")
        if name not in info.declared:
            if name in optional:
                continue
            declared = ", ".join(info.declared) or "(no parameters cell)"
            raise InputValueError(f"{info.path}: unknown parameter {name!r}; the parameters cell declares: {declared}")
        if not isinstance(value, _LITERAL_TYPES):
            raise InputValueError(f"{info.path}: parameter {name} must be a str, number, bool or None, got {type(value).__name__}")
        chosen[name] = value
    return chosen


# ---------------------------------------------------------------------------------- fingerprints
def fingerprint(inputs: list[str], processed_dir: Path | str, parameters: dict[str, object], *, cache: dict[Path, str] | None = None) -> tuple[str, dict[str, str | None]]:
    """sha256 over the Parquet files of the input tables and the parameters (folders excluded).

    Returns the fingerprint and each table's file hash (None: the table is missing). The payload is
    canonical JSON: ``{"inputs": {table: sha256}, "parameters": {name: value}}`` with sorted keys."""
    cache = {} if cache is None else cache
    hashes: dict[str, str | None] = {}
    for name in sorted(set(inputs)):
        path = config.table_path(name, processed_dir)
        if path not in cache:
            cache[path] = sha256_remembered(path) if path.exists() else None
        hashes[name] = cache[path]
    params = {k: v for k, v in parameters.items() if k not in FOLDER_PARAMETERS}
    payload = json.dumps({"inputs": hashes, "parameters": params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest(), hashes


# ------------------------------------------------------------------------------------- execution
def execute(path: Path | str, parameters: dict[str, object], *, cwd: Path | str | None = None, timeout: float | None = None) -> tuple[nbformat.NotebookNode, ErrorInfo | None]:
    """Execute one notebook with papermill on the project kernel.

    Returns the executed notebook and the error (None if it ran through). A failing cell does not
    raise: the notebook comes back executed up to that cell, with the traceback in its outputs. When
    the kernel itself fails (cannot start, dies, a cell times out) the notebook comes back empty and
    the error carries the traceback and the kernel's own log. ``parameters`` must already be checked
    (:func:`select_parameters`)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="analysis-nb-") as tmp:
        out, kernel_log = Path(tmp) / path.name, Path(tmp) / "kernel.log"
        try:
            nb = pm.execute_notebook(
                str(path),
                str(out),
                parameters=parameters,
                kernel_name=config.KERNEL_NAME,
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                cwd=str(cwd or path.parent),
                execution_timeout=timeout,
                config=_kernel_config(),
                kernel_manager_class=_logged_kernel_manager(kernel_log),
            )
            return nb, None
        except PapermillExecutionError as exc:
            nb = nbformat.read(out, as_version=4)
            return nb, first_error(nb) or ErrorInfo(exc.ename, exc.evalue)
        except Exception as exc:
            detail = traceback.format_exc(limit=6)
            log = kernel_log.read_text(encoding="utf-8", errors="replace").strip() if kernel_log.exists() else ""
            if log:
                detail += "\nkernel log (last lines):\n" + "\n".join(log.splitlines()[-30:])
            return _empty_notebook(), ErrorInfo(type(exc).__name__, str(exc), detail=detail)


def _logged_kernel_manager(log_path: Path):
    """A kernel manager class whose kernel writes its own stdout/stderr to ``log_path``.

    The kernel process's log is not notebook output (cells' output arrives over the kernel protocol)
    but start-up and shutdown chatter ("KeyboardInterrupt caught in kernel" when jupyter_client
    interrupts it before shutting it down); it goes to a file, kept for errors, not to the terminal."""
    from jupyter_client.manager import AsyncKernelManager, KernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            with open(log_path, "ab") as fh:  # the kernel process gets its own copy of the descriptor
                kw.setdefault("stdout", fh)
                kw.setdefault("stderr", fh)
                return await KernelManager._async_start_kernel(self, **kw)

    return LoggedKernelManager


def _kernel_config():
    """Kernel manager settings: CurveZMQ transport encryption when the kernel supports it (ipykernel 7
    warns on stderr about plain TCP otherwise, and notebook runs must be silent on stderr)."""
    import zmq
    from traitlets.config import Config

    return Config({"KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"}})


def _empty_notebook() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook()


@dataclass
class Job:
    """One notebook to run and publish (sent to a worker process)."""

    name: str
    path: str
    title: str
    html_path: str
    reports_dir: str
    parameters: dict[str, object]
    fingerprint: str
    inputs: dict[str, str | None]
    timeout: float | None = None
    index_href: str = "index.html"  # the page's link back to the index (unit pages: ../index.html)


@dataclass
class Result:
    name: str
    title: str
    status: str  # "ok" | "failed"
    period: str | None
    seconds: float
    execute_seconds: float
    started: str
    finished: str
    fingerprint: str
    inputs: dict[str, str | None]
    parameters: dict[str, object]
    html: str | None  # relative to the reports folder
    exports: list[str] = field(default_factory=list)  # relative to the reports folder
    error: dict | None = None
    notebook_sha256: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


_EXPORTER = None
_EVENTS = None  # a multiprocessing queue in pool workers; a callable in the serial mode


_BUSY = False  # a worker is running a job (Ctrl-C then interrupts the notebook, which cleans up)


def _on_sigint(signum, frame) -> None:
    if _BUSY:
        raise KeyboardInterrupt
    raise SystemExit(130)  # an idle worker leaves quietly instead of printing a traceback


def _init_worker(events) -> None:
    import signal

    global _EVENTS
    _EVENTS = events
    signal.signal(signal.SIGINT, _on_sigint)


def _page_exporter():
    global _EXPORTER
    if _EXPORTER is None:
        from analysis.report.export import PageExporter

        _EXPORTER = PageExporter()
    return _EXPORTER


def _emit(kind: str, name: str, **data) -> None:
    event = {"kind": kind, "name": name, "at": time.time(), **data}
    if _EVENTS is None:
        return
    if callable(_EVENTS):
        _EVENTS(event)
    else:
        _EVENTS.put(event)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def run_job(job: Job) -> Result:
    """Execute one notebook and publish its page (runs in a worker process). Never raises for a
    notebook's own failure; the result says what happened."""
    global _BUSY
    _BUSY = True
    try:
        return _run_job(job)
    finally:
        _BUSY = False


def _run_job(job: Job) -> Result:
    _emit("start", job.name)
    started, t0 = _now(), time.perf_counter()
    reports_dir = Path(job.reports_dir)
    fd, log_path = tempfile.mkstemp(prefix="analysis-exports-", suffix=".txt")
    os.close(fd)
    previous_log = os.environ.get(EXPORT_LOG_ENV)
    os.environ[EXPORT_LOG_ENV] = log_path
    try:
        nb, error = execute(job.path, job.parameters, timeout=job.timeout)
        execute_seconds = time.perf_counter() - t0
        exports = _read_export_log(log_path, reports_dir)
    finally:
        if previous_log is None:
            os.environ.pop(EXPORT_LOG_ENV, None)
        else:
            os.environ[EXPORT_LOG_ENV] = previous_log
        Path(log_path).unlink(missing_ok=True)

    status = "failed" if error else "ok"
    period = job.parameters.get("period")
    html_path = Path(job.html_path)
    try:
        html = _page_exporter().render(
            nb,
            title=job.title,
            notebook=Path(job.path).name,
            period=str(period) if period is not None else None,
            status=status,
            seconds=execute_seconds,
            fingerprint=job.fingerprint,
            error=error,
            notebook_dir=Path(job.path).parent,
            index_href=job.index_href,
        )
        write_atomic(html_path, html)
    except Exception as exc:  # the page could not be made: the previous page (if any) stays intact
        detail = traceback.format_exc(limit=8)
        if error is None:
            error = ErrorInfo("ExportError", f"the page could not be written: {type(exc).__name__}: {exc}", detail=detail)
        else:
            error.detail = (error.detail + "\n" if error.detail else "") + f"and the page could not be written:\n{detail}"
        status = "failed"
    result = Result(
        name=job.name,
        title=job.title,
        status=status,
        period=str(period) if period is not None else None,
        seconds=round(time.perf_counter() - t0, 3),
        execute_seconds=round(execute_seconds, 3),
        started=started,
        finished=_now(),
        fingerprint=job.fingerprint,
        inputs=job.inputs,
        parameters=job.parameters,
        html=html_path.relative_to(reports_dir).as_posix() if html_path.exists() else None,
        exports=exports,
        error=error.to_dict() if error else None,
        notebook_sha256=sha256_file(job.path),
    )
    _emit("finish", job.name, status=status, seconds=result.seconds, error=error.summary() if error else None)
    return result


def _read_export_log(log_path: str, reports_dir: Path) -> list[str]:
    """The export files a notebook wrote (recorded by ``Context.export_path``), relative to the reports folder."""
    try:
        lines = Path(log_path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    found: list[str] = []
    for line in lines:
        p = Path(line.strip())
        if not line.strip() or not p.exists():
            continue
        try:
            rel = p.resolve().relative_to(reports_dir.resolve()).as_posix()
        except ValueError:  # written outside the reports folder: not publishable from the index
            continue
        if rel not in found:
            found.append(rel)
    return found


# ------------------------------------------------------------------------------------- the suite
def package_versions() -> dict[str, str | None]:
    """Installed versions of the project's pinned dependencies (None: not installed)."""
    from importlib import metadata

    try:
        reqs = metadata.requires("analysis") or []
    except metadata.PackageNotFoundError:
        reqs = []
    if not reqs:
        import tomllib

        pyproject = config.PROJECT_ROOT / "pyproject.toml"
        if pyproject.exists():
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
            reqs = list(project.get("dependencies", []))
            for extra in project.get("optional-dependencies", {}).values():
                reqs.extend(extra)
    versions: dict[str, str | None] = {}
    for req in reqs:
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        if not m:
            continue
        name = m.group(1)
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return dict(sorted(versions.items(), key=lambda kv: kv[0].lower()))


def raw_input_hashes(processed_dir: Path | str) -> dict[str, str]:
    """sha256 of every raw file the clean step read, from its ``clean_report.json`` ({} if absent)."""
    path = config.clean_report_path(processed_dir)
    if not path.exists():
        return {}
    report = json.loads(path.read_text(encoding="utf-8"))
    hashes: dict[str, str] = {}
    for source in report.values():
        for f in source.get("files", []):
            name, sheet = f["file"], f.get("sheet")
            if sheet and name.endswith(f"[{sheet}]"):  # one entry per workbook, not per sheet
                name = name[: -len(f"[{sheet}]")]
            hashes[name] = f["sha256"]
    return dict(sorted(hashes.items()))


def _format_event(event: dict, t_start: float, width: int) -> str:
    at = event["at"] - t_start
    if event["kind"] == "start":
        return f"[{at:7.1f}s] start   {event['name']}"
    status = "ok" if event["status"] == "ok" else "FAILED"
    line = f"[{at:7.1f}s] {status:<7} {event['name']:<{width}} {event['seconds']:6.1f} s"
    if event.get("error"):
        line += f"  {event['error']}"
    return line


def run_suite(
    *,
    raw_dir: Path | str = config.RAW_DIR,
    processed_dir: Path | str = config.PROCESSED_DIR,
    reports_dir: Path | str = config.REPORTS_DIR,
    notebooks_dir: Path | str = config.NOTEBOOKS_DIR,
    period: str = config.DEFAULT_PERIOD,
    jobs: int | None = None,
    only: list[str] | None = None,
    clean: bool = True,
    timeout: float | None = None,
    echo=print,
    per_unit: bool = False,
    units: list[str] | None = None,
    overview: bool = True,
    parameters: dict[str, object] | None = None,
    notebook_parameters: dict[str, dict[str, object]] | None = None,
    engine: str = "duckdb",
    mappings: dict[str, Path] | None = None,
) -> dict:
    """Clean, run the notebooks, publish pages, ``index.html`` and ``manifest.json``.

    ``overview``: make the campaign overview on the index (:mod:`analysis.report.campaign`).
    ``per_unit``: also publish one page per unit (``units/<unit_id>.html``); ``units``: only these
    units' pages (implies the unit pages; alone it runs no other notebook). ``only`` may name the
    unit notebook (``unit_scorecard``): then only the notebooks named run, the unit pages among them.
    ``parameters``: notebook parameters passed to every notebook whose parameters cell declares them
    (each must be declared by at least one notebook); ``notebook_parameters``: per notebook name.

    Returns the manifest; its ``status`` is ``failed`` when a notebook, a unit page or the overview
    of this run failed."""
    from analysis.periods import Period
    from analysis.report import campaign
    from analysis.report.index import write_index

    Period.parse(period)  # a bad period is bad input, before anything runs
    raw_dir, processed_dir = Path(raw_dir).resolve(), Path(processed_dir).resolve()
    reports_dir, notebooks_dir = Path(reports_dir).resolve(), Path(notebooks_dir).resolve()
    if engine != "duckdb":  # the event notebooks (06-08) take the engine as a parameter
        notebook_parameters = dict(notebook_parameters or {})
        for nb in sorted(Path(notebooks_dir).glob("*.ipynb")):
            if "engine" in declared_parameters(nbformat.read(nb, as_version=4), nb):
                notebook_parameters[nb.stem] = {**notebook_parameters.get(nb.stem, {}), "engine": engine}
    plan = _plan(notebooks_dir, only, per_unit, units, parameters, notebook_parameters)
    paths, unit_info = plan.paths, plan.unit_info
    started, t_start = _now(), time.time()
    workers = max(1, jobs or os.cpu_count() or 1)
    if not clean and unit_info is None:
        workers = min(workers, len(paths) + int(overview))
    width = max([len(p.stem) for p in paths] + ([len("units/") + 8] if unit_info else [8]))
    show = lambda event: echo(_format_event(event, t_start, width))
    results: dict[str, Result] = {}
    unit_results: dict[str, Result] = {}
    state: dict[str, object] = {"prep": None, "units_error": ""}

    with _Workers(workers, show) as pool:
        if clean:
            from analysis.clean.engine import clean_all

            echo(f"clean: {raw_dir} -> {processed_dir}")
            # On Spark the session does the parallel work: clean in this process, one source after another.
            clean_all(raw_dir, processed_dir, echo=lambda line: echo(f"  {line}"), executor=pool.executor if engine == "duckdb" else None, engine=engine, mappings=mappings)

        reports_dir.mkdir(parents=True, exist_ok=True)
        offered = {"period": str(period), "processed_dir": str(processed_dir), "reports_dir": str(reports_dir)}
        names: dict[str, str] = {}
        if units:
            names = campaign.known_units(processed_dir)
            unknown = [u for u in units if str(u) not in names]
            if unknown:
                raise InputValueError(f"unknown unit id(s) {', '.join(map(str, unknown))} (--unit); known: {', '.join(f'{k} {v}' for k, v in names.items())}")
        gate = None
        if overview or unit_info is not None:
            options = plan.unit_options()
            gate = pool.call(campaign.prepare, str(processed_dir), str(period), options)
        hash_cache: dict[Path, str] = {}
        job_list: list[Job] = []
        for path in paths:
            html_path = reports_dir / f"{path.stem}.html"
            try:
                info = read_info(path)
                params = select_parameters(info, {**offered, **plan.parameters, **plan.per_notebook.get(path.stem, {})},
                                           optional=STANDARD_PARAMETERS + tuple(plan.parameters))
            except ValueError as exc:
                results[path.stem] = _unreadable(path, html_path, reports_dir, exc)
                continue
            fp, inputs = fingerprint(info.inputs, processed_dir, params, cache=hash_cache)
            job_list.append(Job(info.name, str(path), info.title, str(html_path), str(reports_dir), params, fp, inputs, timeout))

        def follow(future) -> list[Job]:
            """When the shared figures are ready: the unit pages' jobs."""
            try:
                prep = future.result()
            except Exception as exc:  # the worker itself died
                prep = {"status": "failed", "data": None, "units": [], "seconds": 0.0, "fingerprint": "", "cache": "",
                        "error": {"ename": type(exc).__name__, "evalue": str(exc), "detail": traceback.format_exc(limit=8)}}
            state["prep"] = prep
            if prep["status"] == "ok":
                echo(f"shared: bank-wide figures ready in {prep['seconds']:.1f} s ({prep['cache'] or 'not cached'})")
            else:
                echo(f"shared: FAILED {prep['error']['ename']}: {prep['error']['evalue']}")
            if unit_info is None:
                return []
            if prep["status"] != "ok":
                state["units_error"] = f"共享数据计算失败 the shared figures failed: {prep['error']['ename']}: {prep['error']['evalue']}"
                return []
            chosen = [u for u in prep["units"] if not units or u["unit_id"] in {str(x) for x in units}]
            more = []
            for u in chosen:
                uid = u["unit_id"]
                params = plan.unit_parameters(offered, uid)
                fp, inputs = fingerprint(unit_info.info.inputs, processed_dir, params, cache=hash_cache)
                more.append(Job(f"units/{uid}", str(unit_info.info.path), f"{u['unit_name']} · 支行报告 / Unit scorecard",
                                str(reports_dir / campaign.unit_page(uid)), str(reports_dir), params, fp, inputs, timeout, index_href="../index.html"))
            echo(f"units: {len(more)} unit page(s) -> {reports_dir / campaign.UNITS_DIR}")
            return more

        echo(f"run: {len(paths)} notebook(s){' + unit pages' if unit_info else ''}, {workers} worker(s), period {period} -> {reports_dir}")
        for name, res in results.items():
            show({"kind": "finish", "name": name, "at": time.time(), "status": res.status, "seconds": 0.0, "error": res.error["evalue"]})
        for res in pool.run(job_list, gate=gate, follow=follow):
            (unit_results if res.name.startswith("units/") else results)[res.name] = res

    prep = state["prep"] or {}
    unit_order = {u["unit_id"]: (i, u["unit_name"]) for i, u in enumerate(prep.get("units", []))}
    this_run = [results[p.stem].to_dict() for p in paths]
    entries = _merge_previous(reports_dir, this_run, notebooks_dir) if only or units else this_run
    unit_entries = []
    for name, res in unit_results.items():
        uid = name.split("/", 1)[1]
        unit_entries.append({**res.to_dict(), "unit_id": uid, "unit_name": unit_order.get(uid, (0, names.get(uid, uid)))[1]})
    all_units = _merge_previous_units(reports_dir, unit_entries, set(unit_order) if unit_order else None)
    all_units.sort(key=lambda u: (unit_order.get(u["unit_id"], (len(unit_order), ""))[0], u["unit_id"]))
    failed = [r["name"] for r in this_run if r["status"] != "ok"]
    failed += [u["name"] for u in unit_entries if u["status"] != "ok"]
    if overview:
        ov = {"status": prep.get("status", "failed"), "data": prep.get("data"), "error": prep.get("error"),
              "seconds": prep.get("seconds"), "fingerprint": prep.get("fingerprint", ""), "cache": prep.get("cache", "")}
        if not prep:
            ov["error"] = {"ename": "RuntimeError", "evalue": "the overview was not computed", "detail": ""}
    else:
        ov = {"status": "off"}
    if ov["status"] == "failed":
        failed.append("overview")
    if state["units_error"]:
        failed.append("units")
    manifest = {
        "suite": "analysis",
        "version": _version(),
        "status": "failed" if failed else "ok",
        "started": started,
        "finished": _now(),
        "seconds": round(time.time() - t_start, 3),
        "parameters": {
            "period": str(period),
            "raw_dir": str(raw_dir),
            "processed_dir": str(processed_dir),
            "reports_dir": str(reports_dir),
            "notebooks_dir": str(notebooks_dir),
            "jobs": workers,
            "only": list(only) if only else None,
            "clean": clean,
            "per_unit": unit_info is not None,
            "units": [str(u) for u in units] if units else None,
            "overview": overview,
            "notebook_parameters": {"all": plan.parameters, **plan.per_notebook} if plan.parameters or plan.per_notebook else None,
        },
        "python": sys.version.split()[0],
        "python_full": sys.version,
        "platform": platform.platform(),
        "packages": package_versions(),
        "raw_inputs": raw_input_hashes(processed_dir),
        "reports": entries,
        "overview": ov,
        "units": all_units,
        "units_error": state["units_error"] or None,
    }
    _publish(manifest, reports_dir, write_index)
    ok = len(this_run) - len([r for r in this_run if r["status"] != "ok"])
    line = f"reports: {reports_dir / INDEX_NAME}  ({ok} ok, {len(this_run) - ok} failed)"
    if unit_entries:
        u_ok = sum(1 for u in unit_entries if u["status"] == "ok")
        line += f"; unit pages: {u_ok} ok, {len(unit_entries) - u_ok} failed"
    if ov["status"] == "failed":
        line += "; overview FAILED"
    echo(f"{line} in {manifest['seconds']:.1f} s")
    return manifest


def _publish(manifest: dict, reports_dir: Path, write_index) -> None:
    """Write the manifest and the index. If the overview cannot be rendered, the index is written
    without it (marked failed, with the error) so the reports list still works."""
    from analysis.report.methods import write_methods

    write_methods(reports_dir)  # the methods page every glossary links to (docs/METHODS.md)
    try:
        write_atomic(reports_dir / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=1))
        write_index(manifest, reports_dir)
    except Exception as exc:  # any failure to render the overview marks it failed in the manifest (re-raised otherwise)
        if manifest.get("overview", {}).get("status") not in ("ok",):
            raise
        manifest["overview"] = {**manifest["overview"], "status": "failed", "data": None,
                                "error": {"ename": type(exc).__name__, "evalue": f"the overview could not be rendered: {exc}", "detail": traceback.format_exc(limit=8)}}
        manifest["status"] = "failed"
        write_atomic(reports_dir / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=1))
        write_index(manifest, reports_dir)


@dataclass
class _UnitNotebook:
    info: NotebookInfo
    parameters: dict[str, object]  # from --params: every notebook's and this notebook's own


@dataclass
class _Plan:
    """What a run executes: the suite's notebooks, the unit notebook (or None) and the parameters."""

    paths: list[Path]
    unit_info: _UnitNotebook | None
    parameters: dict[str, object]
    per_notebook: dict[str, dict[str, object]]
    unit_defaults: dict[str, object]

    def unit_parameters(self, offered: dict[str, object], unit_id: str) -> dict[str, object]:
        from analysis.report.campaign import UNIT_NAME

        given = {**offered, **self.parameters, **self.per_notebook.get(UNIT_NAME, {}), "unit_id": str(unit_id)}
        return select_parameters(self.unit_info.info, given, optional=STANDARD_PARAMETERS + tuple(self.parameters))

    def unit_options(self) -> dict[str, object]:
        """The unit notebook's own parameters (its defaults, then --params): the options of the
        shared figures, so the overview and every unit page use the same ones."""
        from analysis.report.campaign import UNIT_NAME

        out = dict(self.unit_defaults)
        declared = set(self.unit_defaults)
        out.update({k: v for k, v in self.parameters.items() if k in declared})
        out.update(self.per_notebook.get(UNIT_NAME, {}))
        return {k: v for k, v in out.items() if k not in (*STANDARD_PARAMETERS, "unit_id")}


def _plan(notebooks_dir: Path, only: list[str] | None, per_unit: bool, units: list[str] | None,
          parameters: dict | None, notebook_parameters: dict | None) -> _Plan:
    """Which notebooks run and with which extra parameters; bad names are errors (bad input)."""
    from analysis.report.campaign import UNIT_NAME, unit_notebook

    all_paths = discover(notebooks_dir)
    unit_path = unit_notebook(notebooks_dir)
    unit_names = {UNIT_NAME, f"units/{UNIT_NAME}", f"{UNIT_NAME}.ipynb"}
    only = list(only or [])
    suite_names = [n for n in only if n not in unit_names]
    want_units = bool(per_unit or units or len(suite_names) < len(only))
    if only:
        paths = select(all_paths, suite_names) if suite_names else []
    elif units:
        paths = []
    else:
        paths = list(all_paths)
    if want_units and not unit_path.exists():
        raise MissingInputError(f"{unit_path}: no unit notebook (the unit pages need notebooks/units/{UNIT_NAME}.ipynb)")
    if not paths and not want_units:
        raise MissingInputError(f"{notebooks_dir}: no notebooks (NN_name.ipynb) to run")

    parameters = dict(parameters or {})
    per_notebook: dict[str, dict[str, object]] = {}
    for key, values in (notebook_parameters or {}).items():
        name = UNIT_NAME if key in unit_names else select(all_paths, [key])[0].stem
        per_notebook[name] = dict(values or {})
    infos = {p.stem: read_info(p) for p in all_paths}
    unit_defaults: dict[str, object] = {}
    if unit_path.exists():
        infos[UNIT_NAME] = read_info(unit_path)
        unit_defaults = dict(infos[UNIT_NAME].declared)
    for name in parameters:
        if not any(name in info.declared for info in infos.values()):
            raise InputValueError(f"notebook parameter {name!r} is declared by no notebook's parameters cell")
    for name, values in per_notebook.items():  # undeclared names are refused here, before anything runs
        select_parameters(infos[name], values, optional=())
    unit_info = None
    if want_units:
        info = infos[UNIT_NAME]
        if "unit_id" not in info.declared:
            raise InputValueError(f"{unit_path}: the parameters cell must declare unit_id")
        unit_info = _UnitNotebook(info, parameters)
    return _Plan(paths, unit_info, parameters, per_notebook, unit_defaults)


def _merge_previous_units(reports_dir: Path, this_run: list[dict], current: set[str] | None) -> list[dict]:
    """This run's unit pages plus the previous manifest's pages of the other units (still scored, page
    still there), marked ``kept``."""
    path = reports_dir / MANIFEST_NAME
    previous: list[dict] = []
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8")).get("units", []) or []
        except (json.JSONDecodeError, AttributeError):
            previous = []
    ran = {u["unit_id"] for u in this_run}
    kept = [{**u, "kept": True} for u in previous
            if u.get("unit_id") not in ran and (current is None or u.get("unit_id") in current) and u.get("html") and (reports_dir / u["html"]).exists()]
    return this_run + kept


def _version() -> str:
    from analysis import __version__

    return __version__


def _unreadable(path: Path, html_path: Path, reports_dir: Path, exc: Exception) -> Result:
    """A notebook that cannot even be read or parameterised: a failed result and an error page."""
    error = ErrorInfo(type(exc).__name__, str(exc))
    now = _now()
    try:
        html = _page_exporter().render(_empty_notebook(), title=path.stem, notebook=path.name, status="failed", error=error, notebook_dir=path.parent)
        write_atomic(html_path, html)
    except Exception:  # (the index still marks it)
        pass
    return Result(
        name=path.stem, title=path.stem, status="failed", period=None, seconds=0.0, execute_seconds=0.0, started=now, finished=now,
        fingerprint="", inputs={}, parameters={}, html=html_path.relative_to(reports_dir).as_posix() if html_path.exists() else None,
        error=error.to_dict(), notebook_sha256=sha256_file(path) if path.exists() else None,
    )


class _Workers:
    """Where the work runs: a pool of ``workers`` processes, or this process when there is one.

    The pool cleans the sources (``clean_all(executor=...)``) and then runs the notebooks. Workers
    fork from a forkserver that imported papermill and nbconvert once, not from this process (which
    may hold threads from Arrow or a kernel client); Windows has no forkserver: spawn there. Each
    worker builds its page exporter when it starts and reports progress on a queue."""

    def __init__(self, workers: int, show) -> None:
        self.workers, self.show = workers, show
        self.executor = None
        self._events = None

    def __enter__(self) -> _Workers:
        if self.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                # imported once in the forkserver, not in every worker: the clean engine (pandas,
                # pyarrow), papermill and nbconvert
                ctx.set_forkserver_preload(["analysis.report.runner", "analysis.clean.engine", "papermill", "nbconvert"])
            else:
                ctx = multiprocessing.get_context("spawn")
            self._events = ctx.Queue()
            self.executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self._events,))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.executor is not None:
            if exc_type is None:
                self.executor.shutdown(wait=True)
                self._drain()
            else:  # Ctrl-C or an error: do not start anything more
                self.executor.shutdown(wait=False, cancel_futures=True)
            self._events.close()

    def _drain(self) -> None:
        import queue as queue_mod

        while self._events is not None:
            try:
                self.show(self._events.get_nowait())
            except (queue_mod.Empty, OSError, ValueError):
                return

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the pool (here, at once, without a pool); returns its future."""
        if self.executor is not None:
            return self.executor.submit(fn, *args)
        from concurrent.futures import Future

        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # (the caller reads it from the future)
            fut.set_exception(exc)
        return fut

    def run(self, job_list: list[Job], *, gate=None, follow=None):
        """Run the jobs; yields results as they finish. ``gate``: a future (from :meth:`call`);
        when it is done, ``follow(gate)`` returns more jobs to run (the unit pages)."""
        global _EVENTS
        if self.executor is None:
            previous, _EVENTS = _EVENTS, self.show
            try:
                more = follow(gate) if gate is not None and follow is not None else []
                for job in [*job_list, *more]:
                    yield run_job(job)
            finally:
                _EVENTS = previous
            return

        from concurrent.futures import FIRST_COMPLETED, wait

        futures = {self.executor.submit(run_job, job): job for job in job_list}
        pending = set(futures)
        while pending or gate is not None:
            done, _ = wait(pending | ({gate} if gate is not None else set()), timeout=0.2, return_when=FIRST_COMPLETED)
            self._drain()
            if gate is not None and gate in done:
                for job in follow(gate) if follow is not None else []:
                    fut = self.executor.submit(run_job, job)
                    futures[fut] = job
                    pending.add(fut)
                gate = None
            for fut in done & pending:
                pending.discard(fut)
                job = futures[fut]
                try:
                    yield fut.result()
                except Exception as exc:  # the worker process itself died (BrokenProcessPool) or could not run the job
                    yield self._crashed(job, exc)
        self._drain()

    def _crashed(self, job: Job, exc: Exception) -> Result:
        now = _now()
        self.show({"kind": "finish", "name": job.name, "at": time.time(), "status": "failed", "seconds": 0.0, "error": f"{type(exc).__name__}: {exc}"})
        html_path = Path(job.html_path)
        return Result(
            name=job.name, title=job.title, status="failed", period=str(job.parameters["period"]) if "period" in job.parameters else None,
            seconds=0.0, execute_seconds=0.0, started=now, finished=now, fingerprint=job.fingerprint, inputs=job.inputs,
            parameters=job.parameters, html=html_path.relative_to(job.reports_dir).as_posix() if html_path.exists() else None,
            error=ErrorInfo(type(exc).__name__, str(exc), detail="".join(traceback.format_exception(exc, limit=8))).to_dict(),
        )


def _merge_previous(reports_dir: Path, this_run: list[dict], notebooks_dir: Path) -> list[dict]:
    """With ``--only``: this run's entries plus the previous manifest's entries for the other
    notebooks that still exist, in notebook order."""
    path = reports_dir / MANIFEST_NAME
    previous: list[dict] = []
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8")).get("reports", [])
        except (json.JSONDecodeError, AttributeError):
            previous = []
    ran = {r["name"] for r in this_run}
    existing = {p.stem for p in discover(notebooks_dir)}
    kept = [{**r, "kept": True} for r in previous if r.get("name") not in ran and r.get("name") in existing]
    return sorted(this_run + kept, key=lambda r: r["name"])

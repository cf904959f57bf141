"""Shared fixtures.

- ``processed_dir``: the bundled sample bank (data/raw) cleaned once per session (per xdist worker)
  into a temporary folder.
- ``run_notebook(name, **params)``: executes ``notebooks/<name>.ipynb`` with papermill against
  ``processed_dir`` and returns the executed notebook (an nbformat ``NotebookNode``); cached per
  session, so several tests can assert on one run. ``name`` is the stem (``01_data_quality``) or the
  part after the number (``data_quality``). Keyword arguments override the parameters (only names
  the notebook's parameters cell declares are accepted). A failing notebook raises
  ``NotebookFailed`` with the traceback. Tests that use it are marked ``notebook`` (MARK_OF_FIXTURE
  below); give them ``@pytest.mark.xdist_group("notebooks")`` so one worker keeps the cache.
- ``notebook_text(nb)``: all text a notebook displayed (streams, text/plain, markdown, HTML), for
  asserting on values a notebook reports.
- ``fixture_suite``: ``python -m analysis run`` on the tiny notebooks in tests/fixtures/notebooks
  (one works, one fails), published once per session (without the campaign overview: its clean
  folder is a stand-in); used by the report and browser tests.
- ``unit_suite``: ``python -m analysis run --only unit_scorecard`` on the bundled bank: the campaign
  overview and all 25 unit pages, published once per session (group ``fixture_suite``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

# jsonschema (imported by nbformat, papermill, the report runner) builds an RFC 3987 grammar with lark
# at import when rfc3987-syntax is installed (jupyterlab pulls it in): about 4 s of CPU in every test
# process. It only serves jsonschema's "iri" format check, which nothing here uses (nbformat
# validates without format checks), so test processes go without it. Notebook kernels and the
# command line are not affected.
if "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # import fails -> jsonschema leaves the "iri" check out

from hypothesis import settings  # noqa: E402

from analysis import config

# Hypothesis profiles. CI has 2 cores and the notebook tests load them: time limits per example
# would make property tests flaky without making them stricter (deadline=None in both).
# - "ci" (the default): derandomized, so a run is repeatable and CI cannot fail at random; no
#   example database, so a run does not depend on what an earlier one found.
# - "random": fresh random examples each run, as a nightly run would do; call it
#   locally with ``HYPOTHESIS_PROFILE=random make test-fast`` (or ``--hypothesis-seed=N`` for one
#   seed). A failure prints the seed and the ``@reproduce_failure`` blob.
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True, database=None)
settings.register_profile("random", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def costly_examples(ci: int, random: int) -> int:
    """``max_examples`` for a property test whose every example costs much (a whole clean run, a file
    read through the scoring door): ``ci`` under the derandomized "ci" profile (the fast tier and CI),
    ``random`` under the "random" profile (``HYPOTHESIS_PROFILE=random``, nightly-style), which keeps
    drawing as many examples as before. Evaluated when the test module is imported, after the profile
    is loaded (here, or by ``--hypothesis-profile`` at configure time)."""
    return random if settings.get_current_profile_name() == "random" else ci

TESTS_DIR = Path(__file__).resolve().parent
FIXTURES_DIR = TESTS_DIR / "fixtures"
FIXTURE_NOTEBOOKS = FIXTURES_DIR / "notebooks"
EXAMPLES_DIR = config.PROJECT_ROOT / "examples"


# A test is marked by what it needs, so that nothing that runs notebooks, Spark or the whole bank
# slips into the fast tier (make test-fast) unmarked: a test using one of these fixtures (directly or
# through another fixture) gets the mark. Marks written on a test still count.
MARK_OF_FIXTURE = {
    "run_notebook": "notebook",  # executes a notebook of the suite
    "fixture_suite": "notebook",  # python -m analysis run on the fixture notebooks
    "unit_suite": "notebook",  # the overview and 25 unit pages
    "spark_session": "spark",
    "processed_dir": "slow",  # the whole bundled bank cleaned (tens of seconds), and what uses it
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        have = {m.name for m in item.iter_markers()}
        for fixture, mark in MARK_OF_FIXTURE.items():
            if fixture in needs and mark not in have:
                item.add_marker(getattr(pytest.mark, mark))
                have.add(mark)


class NotebookFailed(AssertionError):
    """A notebook raised while running under ``run_notebook``."""


@pytest.fixture(scope="session")
def processed_dir(tmp_path_factory) -> Path:
    """The bundled raw data cleaned into a temporary folder (once per session and worker)."""
    from analysis.clean.engine import clean_all

    if not config.RAW_DIR.is_dir() or not any(config.RAW_DIR.iterdir()):
        pytest.skip(f"no bundled sample data in {config.RAW_DIR}")
    out = tmp_path_factory.mktemp("processed")
    clean_all(config.RAW_DIR, out, echo=lambda line: None)
    return out


@pytest.fixture(scope="session")
def notebook_reports_dir(tmp_path_factory) -> Path:
    """Where notebooks run by ``run_notebook`` write their exports."""
    return tmp_path_factory.mktemp("notebook-reports")


@pytest.fixture(scope="session")
def run_notebook(processed_dir, notebook_reports_dir):
    from analysis.report.runner import discover, execute, read_info, select, select_parameters

    cache: dict[tuple[str, str], tuple] = {}

    def run(name: str, **params):
        matches = select(discover(config.NOTEBOOKS_DIR), [name])  # unknown name: ValueError
        if len(matches) != 1:
            raise ValueError(f"{name!r} names {len(matches)} notebooks: {[m.name for m in matches]}")
        path = matches[0]
        info = read_info(path)
        given = {"period": config.DEFAULT_PERIOD, "processed_dir": str(processed_dir), "reports_dir": str(notebook_reports_dir), **params}
        chosen = select_parameters(info, given)  # refuses names the parameters cell does not declare
        key = (path.name, json.dumps(chosen, sort_keys=True, default=str))
        if key not in cache:
            cache[key] = execute(path, chosen)
        nb, error = cache[key]
        if error is not None:
            tb = ""
            if error.cell_index is not None:
                outs = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
                tb = "\n".join(outs[0].get("traceback", [])) if outs else ""
            from nbconvert.filters import strip_ansi

            raise NotebookFailed(f"{path.name} failed: {error.summary()}\n{strip_ansi(tb or error.detail)}")
        return nb

    return run


def _notebook_text(nb) -> str:
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime in ("text/plain", "text/markdown", "text/html"):
                value = out.get("data", {}).get(mime)
                if value:
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


@pytest.fixture(scope="session")
def notebook_text():
    return _notebook_text


# --------------------------------------------------------------------- the fixture notebooks' suite
def make_fixture_processed(folder: Path) -> Path:
    """A stand-in clean folder for the fixture notebooks: an ``outlets.parquet`` whose bytes are
    b"fixture outlets" (the fingerprint only hashes bytes) and a ``clean_report.json`` naming three raw
    files with known hashes (one a workbook read as two sheets)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "outlets.parquet").write_bytes(b"fixture outlets")
    report = {
        "outlets": {"source": "outlets", "files": [{"file": "outlets.csv", "sha256": hashlib.sha256(b"outlets raw").hexdigest()}]},
        "calls": {"source": "calls", "files": [{"file": "calls/2016-01.csv", "sha256": hashlib.sha256(b"calls raw").hexdigest()}]},
        "mystery_shopper": {"source": "mystery_shopper", "files": [
            {"file": "神秘人检查_2016.xlsx[第一轮]", "sheet": "第一轮", "sha256": hashlib.sha256(b"workbook").hexdigest()},
            {"file": "神秘人检查_2016.xlsx[第二轮]", "sheet": "第二轮", "sha256": hashlib.sha256(b"workbook").hexdigest()},
        ]},
        "media_events": {"source": "media_events", "files": [], "missing": True},
    }
    (folder / "clean_report.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``python -m analysis ...`` in this process; returns the exit code and what it printed."""
    from analysis.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, out.getvalue()


@pytest.fixture(scope="session")
def fixture_suite(tmp_path_factory):
    """The fixture notebooks published by the CLI with two workers (the pool path)."""
    base = tmp_path_factory.mktemp("fixture-suite")
    processed = make_fixture_processed(base / "processed")
    reports = base / "reports"
    rc, stdout = run_cli(["run", "--notebooks", str(FIXTURE_NOTEBOOKS), "--processed", str(processed), "--out", str(reports), "--no-clean", "--jobs", "2", "--no-overview"])
    manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    return SimpleNamespace(rc=rc, stdout=stdout, base=base, processed=processed, reports=reports, manifest=manifest)


@pytest.fixture(scope="session")
def unit_suite(tmp_path_factory, processed_dir):
    """The campaign overview and every unit page of the bundled bank, by the CLI with two workers."""
    reports = tmp_path_factory.mktemp("unit-suite") / "reports"
    rc, stdout = run_cli(["run", "--processed", str(processed_dir), "--out", str(reports), "--no-clean", "--jobs", "2", "--only", "unit_scorecard"])
    manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
    return SimpleNamespace(rc=rc, stdout=stdout, processed=processed_dir, reports=reports, manifest=manifest)


@pytest.fixture
def fixture_suite_copy(fixture_suite, tmp_path):
    """A private copy of the published fixture suite, for tests that run again on top of it."""
    reports = tmp_path / "reports"
    shutil.copytree(fixture_suite.reports, reports)
    return SimpleNamespace(processed=fixture_suite.processed, reports=reports)

# ------------------------------------------------------------------------------------------- Spark
# One local Spark session for every Spark test (starting one takes ~10 s). Spark tests carry
# ``pytest.mark.spark`` and ``pytest.mark.xdist_group("spark")`` so that, under ``-n 2 --dist
# loadgroup``, they all run in the same worker and share the session. Without pyspark or Java they
# are skipped with the reason, unless ANALYSIS_REQUIRE_SPARK=1 (then they fail).
@pytest.fixture(scope="session")
def spark_session():
    from analysis.events.engine import spark_available
    from analysis.events.engine import spark_session as make_session

    def unavailable(why: str):
        if os.environ.get("ANALYSIS_REQUIRE_SPARK") == "1":
            pytest.fail(f"ANALYSIS_REQUIRE_SPARK=1 but Spark cannot run: {why}")
        pytest.skip(f"Spark tests skipped: {why}")

    ok, why = spark_available()
    if not ok:
        unavailable(why)
    try:
        session = make_session()
    except Exception as exc:  # a broken Java install, no free port, ...
        unavailable(f"the local Spark session did not start: {exc}")
    yield session

"""The notebook tier: ``pytest --nbval-lax --nbval-kernel-name analysis notebooks/`` (``make test-notebooks``).

nbval runs every notebook as committed, with its default parameters, so against data/processed and
into reports/ (what ``make report`` uses). Before the first notebook runs, data/raw is cleaned into
data/processed when the clean tables are missing or older than a raw export or a source definition,
so an analyst checking an edited notebook gets the same inputs as CI. The values the notebooks
show are asserted in tests/ (the ``run_notebook`` fixture); this tier proves each one runs.
"""

from __future__ import annotations

from pathlib import Path

from analysis import config

# The unit page needs a unit_id (``run --per-unit`` gives one per sub-branch) and the campaign
# notebooks a campaign folder: nbval cannot pass parameters, so they are left out here;
# tests/test_units_run.py runs the unit page for all 25 units, tests/test_campaign_run.py the
# campaign notebooks for every example.
collect_ignore = ["units", "campaign"]


def _newest(paths) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def clean_is_stale(raw_dir: Path = config.RAW_DIR, processed_dir: Path = config.PROCESSED_DIR) -> bool:
    """True when ``processed_dir`` has no clean report or one older than an input of the clean step."""
    report = processed_dir / "clean_report.json"
    if not report.is_file():
        return True
    inputs = [*raw_dir.rglob("*"), *config.SOURCES_DIR.glob("*.yaml")]
    return _newest(inputs) > report.stat().st_mtime


def pytest_collection_finish(session) -> None:
    if not session.config.getoption("nbval_lax", default=False) and not session.config.getoption("nbval", default=False):
        return
    if session.config.option.collectonly or not session.items or not clean_is_stale():
        return
    from analysis.clean.engine import clean_all

    print(f"\nnotebooks/conftest.py: cleaning {config.RAW_DIR} into {config.PROCESSED_DIR} (missing or stale)")
    clean_all(config.RAW_DIR, config.PROCESSED_DIR, echo=lambda line: None)

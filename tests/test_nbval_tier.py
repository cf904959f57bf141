"""The notebook tier (``make test-notebooks``): nbval gets every notebook but the unit page, and the
clean tables it runs on are refreshed exactly when they are missing or older than an input."""

from __future__ import annotations

import importlib.util
import os
import re

from analysis import config


def _tier():
    spec = importlib.util.spec_from_file_location("notebooks_conftest", config.NOTEBOOKS_DIR / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clean_is_stale_when_missing_or_older_than_a_raw_file(tmp_path):
    tier = _tier()
    raw, processed = tmp_path / "raw", tmp_path / "processed"
    (raw / "calls").mkdir(parents=True)
    processed.mkdir()
    export = raw / "calls" / "2016-01.csv"
    export.write_text("a\n", encoding="utf-8")
    assert tier.clean_is_stale(raw, processed)  # no clean report yet
    report = processed / "clean_report.json"
    report.write_text("{}", encoding="utf-8")
    newest_source = max(p.stat().st_mtime for p in config.SOURCES_DIR.glob("*.yaml"))
    t = max(newest_source, export.stat().st_mtime) + 100
    os.utime(export, (t, t))
    os.utime(report, (t + 10, t + 10))
    assert not tier.clean_is_stale(raw, processed)  # cleaned after the last export
    os.utime(export, (t + 20, t + 20))
    assert tier.clean_is_stale(raw, processed)  # an export changed since


def test_the_notebooks_that_need_parameters_are_left_to_their_own_tests():
    tier = _tier()
    assert tier.collect_ignore == ["units", "campaign"]
    assert (config.NOTEBOOKS_DIR / "units" / "unit_scorecard.ipynb").is_file()
    # every campaign notebook is run by tests/test_campaign_run.py, for every example
    assert sorted(p.name for p in (config.NOTEBOOKS_DIR / "campaign").glob("*.ipynb")) == [
        "01_data_quality.ipynb", "02_targets.ipynb", "03_workorders.ipynb", "04_visits.ipynb"]


def test_make_runs_the_notebook_tier_with_the_project_kernel():
    makefile = (config.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    rule = re.search(r"^test-notebooks:.*\n\t(.+)$", makefile, flags=re.M).group(1)
    assert "--nbval-lax" in rule and f"--nbval-kernel-name {config.KERNEL_NAME}" in rule and "notebooks/" in rule
    assert re.search(r"^test:.*\n(\t.+\n)*\t\$\(MAKE\) test-notebooks$", makefile, flags=re.M)

#!/usr/bin/env bash
# Move the tests so that tests/ mirrors src/analysis/ (issue #15): one folder per subpackage, the tests
# of top-level modules (peers.py, funnel.py, masking.py, ...) stay in tests/. Run once, by the lead,
# after the helpers' branches are merged:  bash tools/mirror_tests.sh && make test-fast
#
# The tests do not depend on where they live: fixtures are found through tests/conftest.py's
# FIXTURES_DIR / EXAMPLES_DIR (or analysis.config), and pytest puts tests/ on the path
# (pyproject: pythonpath = ["tests"]), so `from conftest import ...` and the helper modules
# (scoring_helpers.py, targets_bank.py) import the same from any subfolder. File names are kept:
# without __init__.py files pytest needs every test module's basename to be unique.
set -euo pipefail
cd "$(dirname "$0")/.."

move() {  # move OLD NEW: skip (and say so) when OLD is gone, refuse to overwrite
  local old=$1 new=$2
  if [ ! -e "$old" ]; then echo "skip: $old (not there)"; return; fi
  if [ -e "$new" ]; then echo "error: $new exists" >&2; exit 1; fi
  mkdir -p "$(dirname "$new")"
  git mv "$old" "$new"
  echo "$old -> $new"
}

# analysis/clean/
move tests/test_clean_bigfile.py        tests/clean/test_clean_bigfile.py
move tests/test_clean_engine.py         tests/clean/test_clean_engine.py
move tests/test_clean_mapping.py        tests/clean/test_clean_mapping.py
move tests/test_clean_parallel.py       tests/clean/test_clean_parallel.py
move tests/test_clean_rules.py          tests/clean/test_clean_rules.py
move tests/test_clean_stage.py          tests/clean/test_clean_stage.py
# analysis/io/
move tests/test_io_parse.py             tests/io/test_io_parse.py
move tests/test_io_read.py              tests/io/test_io_read.py
# analysis/complaints/
move tests/test_complaints_columns.py   tests/complaints/test_complaints_columns.py
move tests/test_complaints_load.py      tests/complaints/test_complaints_load.py
move tests/test_complaints_notebook.py  tests/complaints/test_complaints_notebook.py
move tests/test_complaints_stats.py     tests/complaints/test_complaints_stats.py
# analysis/events/
move tests/test_events.py               tests/events/test_events.py
move tests/test_events_notebooks.py     tests/events/test_events_notebooks.py
# analysis/scoring/
move tests/test_scoring_build.py        tests/scoring/test_scoring_build.py
move tests/test_scoring_cli.py          tests/scoring/test_scoring_cli.py
move tests/test_scoring_engine.py       tests/scoring/test_scoring_engine.py
move tests/test_scoring_kinds.py        tests/scoring/test_scoring_kinds.py
move tests/test_scoring_model.py        tests/scoring/test_scoring_model.py
move tests/test_scoring_notebook.py     tests/scoring/test_scoring_notebook.py
move tests/test_scoring_uncertainty.py  tests/scoring/test_scoring_uncertainty.py
# analysis/plots/
move tests/test_plots.py                tests/plots/test_plots.py
move tests/test_plots_scoring.py        tests/plots/test_plots_scoring.py
# analysis/scorecard/ (the unit pages)
move tests/test_scorecard.py            tests/scorecard/test_scorecard.py
move tests/test_units_run.py            tests/scorecard/test_units_run.py
# analysis/report/ (runner, export, index, display, safety, the published pages)
move tests/test_report.py               tests/report/test_report.py
move tests/test_report_display.py       tests/report/test_report_display.py
move tests/test_report_safety.py        tests/report/test_report_safety.py
move tests/test_notebooks.py            tests/report/test_notebooks.py
move tests/test_pages_read.py           tests/report/test_pages_read.py
move tests/test_browser.py              tests/report/test_browser.py
# Stay in tests/ (top-level modules and the whole project): test_cli_errors.py (cli.py),
# test_declared_metrics.py, test_environment.py, test_funnel.py, test_generate.py (generate.py,
# volume.py), test_inspect.py, test_masking.py, test_overview.py, test_peers.py, test_periods.py,
# test_nbval_tier.py, test_staffing.py, test_targets.py, test_workorders.py; helpers conftest.py, scoring_helpers.py,
# targets_bank.py; fixtures/.

left=$(git ls-files 'tests/test_*.py' | grep -v -E '^tests/test_(cli_errors|declared_metrics|environment|funnel|generate|inspect|masking|overview|peers|periods|nbval_tier|staffing|targets|workorders)\.py$' || true)
if [ -n "$left" ]; then echo "not mapped yet (added after this script was written; place by hand):"; echo "$left"; fi
# added by the lead after the merge: the tests of the same session's new modules
move tests/test_events_records.py       tests/events/test_events_records.py
move tests/test_methods_page.py         tests/report/test_methods_page.py

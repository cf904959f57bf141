"""Shared test set-up."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI has 2 cores and the notebook tests load them: time limits per example would make property
# tests flaky without making them stricter.
settings.register_profile("suite", deadline=None, print_blob=True)
settings.load_profile("suite")


# ------------------------------------------------------------------------------------------- Spark
# One local Spark session for every Spark test (starting one takes ~10 s). Spark tests carry
# ``pytest.mark.spark`` and ``pytest.mark.xdist_group("spark")`` so that, under ``-n 2 --dist
# loadgroup``, they all run in the same worker and share the session. Without pyspark or Java they
# are skipped with the reason, unless ANALYSIS_REQUIRE_SPARK=1 (then they fail).
@pytest.fixture(scope="session")
def spark_session():
    from analysis.events.engine import spark_available, spark_session as make_session

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

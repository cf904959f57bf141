"""Shared helpers for the scoring tests (not a test module)."""

from __future__ import annotations

import pandas as pd

from conftest import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "scoring"


def tiny4() -> pd.DataFrame:
    """The hand-computed 4-unit example (tests/fixtures/scoring/tiny4.csv) as a typed unit table."""
    df = pd.read_csv(FIXTURES / "tiny4.csv", dtype={"unit_id": "string", "unit_name": "string"})
    return df

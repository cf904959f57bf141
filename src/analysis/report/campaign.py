"""The campaign part of a run: the overview on the index page and one page per unit.

``python -m analysis run`` calls :func:`prepare` once, on its worker pool, next to the suite's
notebooks: it computes (or reads from the cache) the bank-wide figures of
:mod:`analysis.scorecard.shared` and builds the overview data (:mod:`analysis.overview`). When it
is done the runner starts the unit pages, ``notebooks/units/unit_scorecard.ipynb`` once per
sub-branch with the parameter ``unit_id``, on the same pool; each page reads the cached figures, so
the league table, the Monte Carlo and the bank-wide aggregates are computed once per run, not once
per unit. :func:`prepare` never raises: a failure comes back as an error that the index shows (the
reports list still works) and that makes the run fail.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from analysis import config
from analysis.errors import MissingInputError

UNIT_NOTEBOOK = Path("units") / "unit_scorecard.ipynb"
UNIT_NAME = "unit_scorecard"
UNIT_PARAMETER = "unit_id"
UNITS_DIR = "units"  # inside the reports folder


def unit_notebook(notebooks_dir: Path | str = config.NOTEBOOKS_DIR) -> Path:
    return Path(notebooks_dir) / UNIT_NOTEBOOK


def unit_page(unit_id: str) -> str:
    """Where a unit's page goes, relative to the reports folder."""
    return f"{UNITS_DIR}/{unit_id}.html"


def known_units(processed_dir: Path | str) -> dict[str, str]:
    """Sub-branch id -> name, from the clean outlets table (for checking ``--unit``)."""
    import pandas as pd

    path = config.table_path("outlets", processed_dir)
    if not path.exists():
        raise MissingInputError(f"{path}: no clean outlets table; the unit pages need it (run without --no-clean)")
    o = pd.read_parquet(path, columns=["sub_branch_id", "sub_branch_name"]).drop_duplicates("sub_branch_id")
    return dict(sorted(zip(o["sub_branch_id"].astype(str), o["sub_branch_name"].astype(str))))


def prepare(processed_dir: str, period: str, options: dict) -> dict:
    """Compute the shared figures (cached) and the overview; runs in a worker. Returns a plain dict:
    status ok / failed, the overview data, the units (id, name, in rank order), the error, seconds."""
    t0 = time.perf_counter()
    try:
        from analysis import overview
        from analysis.scorecard.shared import Options, load

        shared = load(processed_dir, period, Options.from_parameters(options))
        data = overview.from_shared(shared)
        units = [{"unit_id": str(u), "unit_name": str(n)} for u, n in zip(shared.league["unit_id"], shared.league["unit_name"])]
        return {"status": "ok", "data": data, "units": units, "error": None, "seconds": round(time.perf_counter() - t0, 3),
                "fingerprint": shared.meta.get("fingerprint", ""), "cache": str(shared.cache_dir or "")}
    except Exception as exc:  # (reported on the index; the run fails)
        return {"status": "failed", "data": None, "units": [], "seconds": round(time.perf_counter() - t0, 3), "fingerprint": "", "cache": "",
                "error": {"ename": type(exc).__name__, "evalue": str(exc), "detail": traceback.format_exc(limit=8)}}

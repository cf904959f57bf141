"""What a notebook needs in its second cell: the period, the folders, and the clean tables.

    ctx = analysis.notebook.context(period, processed_dir, reports_dir)
    complaints = ctx.table("complaints")

Parameters arrive as literals (papermill injects them); empty strings mean the configured defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.periods import Period


@dataclass
class Context:
    period: Period
    processed_dir: Path
    reports_dir: Path
    targets: Path = config.TARGETS_DIR / "campaign-2016.yaml"  # the targets file the pages judge against
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        """A clean table (cached: call freely). Returns a copy so callers may modify it."""
        from analysis.clean.engine import load_table

        if name not in self._tables:
            self._tables[name] = load_table(name, self.processed_dir)
        return self._tables[name].copy()

    def path(self, name: str) -> Path:
        """Where a clean table lies, for the functions that aggregate it on the engine instead of
        loading it (the event logs: queue tickets, teller ratings, calls)."""
        return config.table_path(name, self.processed_dir)

    def export_path(self, filename: str) -> Path:
        """Where a notebook writes an export (Excel, CSV): inside the reports folder."""
        out = self.reports_dir / "exports"
        out.mkdir(parents=True, exist_ok=True)
        path = out / filename
        _record_export(path)
        return path


def _record_export(path: Path) -> None:
    """Tell the report runner which export a notebook writes, so the index can link it to its report.

    The runner sets ``ANALYSIS_EXPORT_LOG`` to a file per notebook; outside a run it is unset."""
    log = os.environ.get("ANALYSIS_EXPORT_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{path.resolve()}\n")


def context(period: str | int = config.DEFAULT_PERIOD, processed_dir: str | Path = "", reports_dir: str | Path = "", targets: str | Path = "") -> Context:
    import analysis.plots  # noqa: F401  (registers the CJK font before any figure is drawn)

    return Context(
        period=Period.parse(period),
        processed_dir=Path(processed_dir) if str(processed_dir) else config.PROCESSED_DIR,
        reports_dir=Path(reports_dir) if str(reports_dir) else config.REPORTS_DIR,
        targets=Path(targets) if str(targets) else config.TARGETS_DIR / "campaign-2016.yaml",
    )

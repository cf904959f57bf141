"""Every path and project-wide constant, in one place.

The project root is the checkout that holds ``pyproject.toml``; set ``ANALYSIS_HOME`` to point the
suite at another copy of the data folders (for example a bank's own data on a shared drive).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = Path(os.environ.get("ANALYSIS_HOME") or PACKAGE_DIR.parents[1]).resolve()

DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"  # read-only input
PROCESSED_DIR = DATA_DIR / "processed"  # clean Parquet tables
REPORTS_DIR = PROJECT_ROOT / "reports"  # published HTML and Excel
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

SOURCES_DIR = PROJECT_ROOT / "sources"  # raw-source definitions: columns, aliases, checks
SCHEMES_DIR = PROJECT_ROOT / "schemes"  # scoring schemes
TARGETS_DIR = PROJECT_ROOT / "targets"  # campaign targets
MAPPINGS_DIR = PROJECT_ROOT / "mappings"  # foreign export mappings, classification mappings

TEMPLATES_DIR = PACKAGE_DIR / "report" / "templates"

KERNEL_NAME = "analysis"  # the Jupyter kernel the notebooks run on (make registers it)
DEFAULT_PERIOD = "2016"  # the bundled sample bank covers 2015 and 2016
DEFAULT_SEED = 2016


def rejected_dir(processed_dir: Path | str = PROCESSED_DIR) -> Path:
    """Where rejected rows of each source go: ``<processed>/rejected/<source>.csv``."""
    return Path(processed_dir) / "rejected"


def clean_report_path(processed_dir: Path | str = PROCESSED_DIR) -> Path:
    """The per-source row accounting written by ``clean``."""
    return Path(processed_dir) / "clean_report.json"


def table_path(source: str, processed_dir: Path | str = PROCESSED_DIR) -> Path:
    """The clean Parquet table of a source."""
    return Path(processed_dir) / f"{source}.parquet"

"""A campaign folder: another organisation's campaign as data and YAML (``examples/<name>/``).

A folder holds a small ``campaign.yaml`` (validated on load, never evaluated), its raw exports, its
targets and, where an export's headers are not among a source's aliases, its mappings::

    name: water-bureau
    title: 水务局“服务效率提升年”（2014）
    organisation: 某市水务局
    hierarchy:            # the words the pages use instead of the bank's 全行 / 支行 / 网点
      organisation: 局    # the level of the whole organisation
      unit: 站/窗口        # the level of its units (the sources' unit_id)
      total: 全局          # the whole organisation's row in tables
    period: "2014"
    baseline: "2013"      # optional: the year a "halved" target compares with
    raw: raw              # relative to the folder; read only
    targets: targets.yaml
    mappings: {workorders: mapping.yaml}   # optional, source -> mapping YAML
    sources: [workorders] # optional: the sources to read (default: those with a file in raw/)

``python -m analysis run --campaign examples/NAME`` (:mod:`analysis.report.campaign_site`) cleans the
raw folder with :func:`clean` into a folder of its own (never into the example), then publishes the
campaign notebooks (``notebooks/campaign/``) whose input tables the campaign has.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from analysis import config
from analysis.errors import InputValueError, MissingInputError
from analysis.yamlio import ConfigError, load_model, safe_load

CAMPAIGN_FILE = "campaign.yaml"
NOTEBOOKS_DIR = config.NOTEBOOKS_DIR / "campaign"
UNIT_NOTEBOOK = "units/unit_page.ipynb"


class Hierarchy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(min_length=1, max_length=20, description="the whole organisation's level: 局, 医院, 分公司")
    unit: str = Field(min_length=1, max_length=20, description="its units' level: 站/窗口, 科室, 分局")
    total: str = Field(min_length=1, max_length=20, description="the whole organisation's row: 全局, 全院, 全分公司")


class CampaignFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    organisation: str = Field(min_length=1)
    hierarchy: Hierarchy
    period: str
    baseline: str | None = None
    raw: str = "raw"
    targets: str = "targets.yaml"
    mappings: dict[str, str] = Field(default_factory=dict)
    sources: list[str] | None = None
    description: str = ""

    @field_validator("period", "baseline", mode="before")
    @classmethod
    def _period(cls, v):
        if v is None:
            return v
        from analysis.periods import Period

        try:
            return str(Period.parse(str(v)))
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("raw", "targets")
    @classmethod
    def _relative(cls, v: str) -> str:
        return _inside(v)

    @field_validator("mappings")
    @classmethod
    def _mapping_paths(cls, v: dict[str, str]) -> dict[str, str]:
        return {k: _inside(p) for k, p in v.items()}


def _inside(path: str) -> str:
    p = Path(path)
    if p.is_absolute() or ".." in p.parts or not str(path).strip():
        raise ValueError(f"{path!r}: give a path inside the campaign folder (relative, without ..)")
    return path


class Campaign:
    """A loaded campaign: the file's fields and its paths, resolved and checked."""

    def __init__(self, folder: Path, spec: CampaignFile):
        self.folder, self.spec = folder, spec
        self.raw_dir = folder / spec.raw
        self.targets_path = folder / spec.targets
        self.mappings = {k: folder / v for k, v in spec.mappings.items()}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def labels(self) -> Hierarchy:
        return self.spec.hierarchy

    def default_out(self) -> Path:
        return config.REPORTS_DIR / "campaigns" / self.name

    def __repr__(self) -> str:
        return f"Campaign({self.name!r}, {str(self.folder)!r})"


def load(folder: Path | str) -> Campaign:
    """Read and check ``<folder>/campaign.yaml``: its raw folder, targets and mappings exist, its
    sources are defined. Bad input (a missing file, an unknown field or source) raises an
    :class:`~analysis.errors.InputError` naming the file."""
    folder = Path(folder).resolve()
    path = folder / CAMPAIGN_FILE
    if not folder.is_dir():
        raise MissingInputError(f"{folder}: no such campaign folder")
    if not path.exists():
        raise MissingInputError(f"{path}: a campaign folder needs a {CAMPAIGN_FILE} (see examples/README.md)")
    spec = load_model(path, CampaignFile)
    c = Campaign(folder, spec)
    if not c.raw_dir.is_dir():
        raise MissingInputError(f"{path}: raw: {c.raw_dir} is not a folder")
    if not c.targets_path.exists():
        raise MissingInputError(f"{path}: targets: {c.targets_path} does not exist")
    for name, p in c.mappings.items():
        if not p.exists():
            raise MissingInputError(f"{path}: mappings.{name}: {p} does not exist")
    from analysis.clean.sources import load_sources

    known = load_sources()
    for name in [*(spec.sources or []), *spec.mappings]:
        if name not in known:
            raise ConfigError(f"{path}: unknown source {name!r}; known: {', '.join(known)}")
    return c


def _source(c: Campaign, name: str):
    """The source definition, read through the campaign's mapping for it (either kind)."""
    from analysis.clean.sources import load_sources, with_mapping

    src = load_sources()[name]
    mapping = c.mappings.get(name)
    if mapping is None:
        return src
    kind = (safe_load(mapping.read_text(encoding="utf-8")) or {}).get("kind")
    if kind == "workorders":  # the `workorders --mapping` kind: its headers replace the aliases
        from analysis.workorders_load import load_mapping, workorder_source

        if name != "workorders":
            raise ConfigError(f"{mapping}: a kind: workorders mapping maps the workorders source, not {name!r}")
        return workorder_source(load_mapping(mapping), str(mapping))
    return with_mapping(src, mapping)


def source_names(c: Campaign) -> list[str]:
    """The sources this campaign reads: those its file names, or those with a file in its raw folder."""
    from analysis.clean.sources import load_sources

    if c.spec.sources is not None:
        return list(c.spec.sources)
    return [n for n in load_sources() if _source(c, n).files_in(c.raw_dir)]


def clean(c: Campaign, processed_dir: Path | str, *, echo=print, engine: str = "duckdb") -> dict:
    """Clean the campaign's sources into ``processed_dir`` (tables, rejected rows, ``clean_report.json``,
    as ``python -m analysis clean`` writes them). The raw folder is only read."""
    from dataclasses import asdict

    from analysis.clean.engine import _clean_and_write
    from analysis.files import write_atomic

    processed_dir = Path(processed_dir).resolve()
    if processed_dir == c.folder or c.folder in processed_dir.parents:
        raise InputValueError(f"the output folder {processed_dir} may not be inside the campaign folder {c.folder} (its raw data is read-only)")
    names = source_names(c)
    if not names:
        raise MissingInputError(f"{c.raw_dir}: no export of any source (see sources/*.yaml for the file names read)")
    config.rejected_dir(processed_dir).mkdir(parents=True, exist_ok=True)
    reports = {}
    for name in names:
        report, _ = _clean_and_write(_source(c, name), c.raw_dir, processed_dir, {}, frozenset(), engine)
        reports[name] = report
        echo(report.line())
    write_atomic(config.clean_report_path(processed_dir), json.dumps({k: asdict(v) for k, v in reports.items()}, ensure_ascii=False, indent=1))
    return reports


def present_tables(processed_dir: Path | str) -> set[str]:
    """The tables the last :func:`clean` into ``processed_dir`` wrote with at least one row (a table
    left there by an earlier run whose export has gone since does not count)."""
    path = config.clean_report_path(processed_dir)
    if not path.exists():
        return set()
    report = json.loads(path.read_text(encoding="utf-8"))
    return {name for name, r in report.items() if r.get("clean", 0) > 0 and config.table_path(name, processed_dir).exists()}


def supported(notebooks: list[Path], tables: set[str]) -> tuple[list[Path], dict[str, list[str]]]:
    """The notebooks whose input tables (metadata ``analysis.inputs``) are all among ``tables``, and
    for the others the tables they lack (a water bureau has no visits: no visits page)."""
    from analysis.report.runner import read_info

    chosen, skipped = [], {}
    for p in notebooks:
        missing = [t for t in read_info(p).inputs if t not in tables]
        if missing:
            skipped[p.stem] = missing
        else:
            chosen.append(p)
    return chosen, skipped


def units(processed_dir: Path | str, tables: set[str]) -> list[str]:
    """The campaign's units: every ``unit_id`` of its clean tables, sorted."""
    import pandas as pd

    ids: set[str] = set()
    for t in sorted(tables):
        path = config.table_path(t, processed_dir)
        import pyarrow.parquet as pq

        if "unit_id" in pq.ParquetFile(path).schema.names:
            ids.update(pd.read_parquet(path, columns=["unit_id"])["unit_id"].dropna().astype(str))
    return sorted(ids)


def digest(c: Campaign) -> str:
    """sha256 over the campaign's YAML (campaign.yaml, targets, mappings): stands for the campaign
    in a page's input fingerprint, so the same files give the same fingerprint on every machine."""
    import hashlib

    h = hashlib.sha256()
    for p in [c.folder / CAMPAIGN_FILE, c.targets_path, *(c.mappings[k] for k in sorted(c.mappings))]:
        h.update(p.name.encode("utf-8") + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()

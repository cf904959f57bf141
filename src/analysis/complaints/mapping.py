"""How a complaint export's columns map onto the canonical complaint fields.

A mapping is a YAML file (``mappings/<name>.yaml``)::

    title: CFPB consumer complaint database, classic headers
    columns:                       # canonical field: source column (or a list of accepted headers)
      received_at: Date received
      complaint_id: Complaint ID
      category: Product
    optional: [complaint_id]       # mapped columns a file may lack (ids are then generated)
    date_format: "%m/%d/%Y"        # or a list tried in order; without it the usual forms are read
    values:                        # optional label translation
      channel: {Web: online}

Headers are compared the way source definitions compare them (NFKC, case, spaces, underscores and
brackets ignored). Without a mapping the bank's own layout is used: the Chinese headers and aliases
of ``sources/complaints.yaml`` (:func:`bank_layout`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis import config
from analysis.yamlio import ConfigError, load_model

CANONICAL = (
    "complaint_id",
    "received_at",
    "unit_id",
    "channel",
    "category",
    "cause",
    "description",
    "responsible",
    "major",
    "escalated",
    "resolved_at",
)
Canonical = Literal[
    "complaint_id", "received_at", "unit_id", "channel", "category", "cause", "description",
    "responsible", "major", "escalated", "resolved_at",
]
Labelled = Literal["channel", "category", "cause"]

# What each canonical field is, for parsing and for the titles shown in reports.
TYPES = {
    "complaint_id": "id", "received_at": "datetime", "unit_id": "id", "channel": "name", "category": "name",
    "cause": "name", "description": "text", "responsible": "bool", "major": "bool", "escalated": "bool",
    "resolved_at": "datetime",
}
TITLES = {
    "complaint_id": "投诉编号", "received_at": "受理时间", "unit_id": "被投诉网点编号", "channel": "投诉渠道",
    "category": "业务类别", "cause": "投诉原因", "description": "投诉内容", "responsible": "是否有责",
    "major": "是否重大投诉", "escalated": "是否越级", "resolved_at": "办结时间",
}


class ComplaintMapping(BaseModel):
    """A foreign export's layout: canonical field -> source column(s)."""

    model_config = ConfigDict(extra="forbid")

    title: str = ""
    source: str = Field("", description="where the layout is documented")
    columns: dict[Canonical, str | list[str]]
    optional: list[Canonical] = Field(default_factory=list, description="mapped columns a file may lack")
    not_empty: list[Canonical] = Field(default_factory=list, description="fields whose cells may not be empty (received_at always)")
    date_format: str | list[str] | None = None
    values: dict[Labelled, dict[str, str]] = Field(default_factory=dict, description="label translation")
    closed_values: bool = Field(False, description="a label missing from 'values' becomes 'unmapped' (counted, not rejected); else it is kept as it is")
    name: str = Field("", description="set on load: the file's name")

    @field_validator("columns")
    @classmethod
    def _headers(cls, v: dict) -> dict:
        from analysis.clean.sources import header_key

        seen: dict[str, str] = {}
        for canon, headers in v.items():
            hs = [headers] if isinstance(headers, str) else headers
            if not hs or any(not str(h).strip() for h in hs):
                raise ValueError(f"{canon}: the source column name is empty")
            for h in hs:
                k = header_key(h)
                if k in seen and seen[k] != canon:
                    raise ValueError(f"source column {h!r} is mapped to both {seen[k]!r} and {canon!r}")
                seen[k] = canon
        if "received_at" not in v:
            raise ValueError("received_at must be mapped (the date a complaint was received is required)")
        return v

    @field_validator("date_format")
    @classmethod
    def _formats(cls, v):
        if v is None:
            return v
        for fmt in [v] if isinstance(v, str) else v:
            has_year = "%Y" in fmt or "%y" in fmt
            has_month = any(d in fmt for d in ("%m", "%b", "%B"))
            if not (has_year and has_month and "%d" in fmt):
                raise ValueError(f"{fmt!r} needs a year (%Y or %y), a month (%m, %b) and a day (%d)")
            probe = dt.datetime(2016, 3, 5, 14, 7, 9)
            try:
                back = dt.datetime.strptime(probe.strftime(fmt), fmt)
            except ValueError as exc:
                raise ValueError(f"{fmt!r} is not a usable date format ({exc})") from None
            if back.date() != probe.date():
                raise ValueError(f"{fmt!r} does not read back the date it writes")
        return v

    @model_validator(mode="after")
    def _lists(self):
        for name, fields in (("optional", self.optional), ("not_empty", self.not_empty)):
            unmapped = [f for f in fields if f not in self.columns]
            if unmapped:
                raise ValueError(f"{name}: {', '.join(unmapped)} not among the mapped columns")
        if "received_at" in self.optional:
            raise ValueError("optional: received_at is required and cannot be optional")
        for f in self.values:
            if f not in self.columns:
                raise ValueError(f"values: {f} is not among the mapped columns")
        return self

    def headers(self, canon: str) -> list[str]:
        h = self.columns.get(canon, [])
        return [h] if isinstance(h, str) else list(h)

    def date_formats(self) -> list[str]:
        if self.date_format is None:
            return []
        return [self.date_format] if isinstance(self.date_format, str) else list(self.date_format)


def bank_layout() -> ComplaintMapping:
    """The bank's own export: the headers, aliases, channel labels and required cells of sources/complaints.yaml."""
    from analysis.clean.sources import load_sources

    src = load_sources()["complaints"]
    columns = {name: [name, col.title, *col.aliases] for name, col in src.columns.items() if name in CANONICAL}
    values = {name: {str(k): str(v) for k, v in col.values.items()} for name, col in src.columns.items() if col.values and name in ("channel", "category", "cause")}
    return ComplaintMapping(
        title=f"{src.title} (sources/complaints.yaml)",
        source="sources/complaints.yaml",
        columns=columns,
        # complaint_id too: without it the loader generates stable ids from each record.
        optional=[n for n, c in src.columns.items() if n in CANONICAL and (not c.required or n == "complaint_id")],
        not_empty=[n for n, c in src.columns.items() if n in CANONICAL and not c.nullable],
        values=values,
        closed_values=True,
        name="bank",
    )


def available_mappings(mappings_dir: Path = config.MAPPINGS_DIR) -> list[str]:
    """Names of the complaint-export mappings in ``mappings/`` (YAML files with a ``columns:`` section)."""
    import yaml

    from analysis.yamlio import safe_load

    names = []
    for p in sorted(Path(mappings_dir).glob("*.yaml")):
        try:
            data = safe_load(p.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and "columns" in data:
            names.append(p.stem)
    return names


def load_mapping(spec: str | Path | None = None, mappings_dir: Path = config.MAPPINGS_DIR) -> ComplaintMapping:
    """A mapping by name (``mappings/<name>.yaml``) or by path; ``None`` means the bank's own layout."""
    if spec is None or str(spec) == "":
        return bank_layout()
    path = Path(spec)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        path = Path(mappings_dir) / f"{spec}.yaml"
    if not path.exists():
        known = ", ".join(available_mappings(mappings_dir)) or "none"
        raise ConfigError(f"{spec}: no such mapping file or name (mappings in {mappings_dir}: {known})")
    m = load_model(path, ComplaintMapping)
    return m.model_copy(update={"name": m.name or path.stem})

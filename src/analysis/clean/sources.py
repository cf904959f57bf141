"""Raw-source definitions: which files, which columns (with the header aliases banks use), which checks.

A definition is a YAML file in ``sources/`` (see ``sources/README.md``), validated on load.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis import config
from analysis.io.parse import nfkc
from analysis.yamlio import load_model

ColumnType = Literal["id", "name", "text", "int", "number", "percent", "bool", "date", "datetime", "month", "category"]



@dataclass(frozen=True)
class Rule:
    """One way a row can fail: ``kind`` is what the reports count, ``code`` its reason in the closed
    set (:class:`analysis.rejects.Reason`); the message names the value.
    (The rules themselves are translated in :mod:`analysis.clean.rules`.)"""

    name: str  # the flag column
    kind: str
    code: str


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ColumnType
    title: str = Field(description="Chinese name shown in reports and templates")
    aliases: list[str] = Field(default_factory=list, description="headers accepted for this column")
    required: bool = True  # the column must be present in every file
    nullable: bool = False  # a cell may be empty
    min: float | None = None
    max: float | None = None
    values: dict[str, str] | dict[str, int] | None = None  # accepted label -> canonical code
    mask: bool = False  # free text that may carry personal data
    earliest: dt.date | None = Field(default=None, description="dates before this are rejected as implausible (default 1990-01-01)")
    references: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", description="source.column whose values this column must be among, e.g. outlets.outlet_id")
    description: str = ""

    @model_validator(mode="after")
    def _category_has_values(self):
        if self.type == "category" and not self.values:
            raise ValueError("a category column needs 'values' (label: code)")
        if self.type not in ("category", "int") and self.values:
            raise ValueError("'values' is only for category and int columns")
        return self


class NotBefore(BaseModel):
    """Row check: ``column`` may not be earlier than ``reference`` by more than the tolerance."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["not_before"]
    column: str
    reference: str
    tolerance_seconds: float = 0


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str
    description: str = ""
    grain: str
    files: list[str] = Field(min_length=1, description="glob patterns relative to the raw folder")
    key: list[str] = Field(default_factory=list, description="columns that identify a record")
    columns: dict[str, Column]
    checks: list[NotBefore] = Field(default_factory=list)
    optional: bool = False  # a missing source is reported, not an error
    coverage: Literal["none", "monthly"] = Field(default="none", description="monthly: every unit should have records every month (gaps are reported)")

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError("must be a lower-case identifier")
        return v

    @model_validator(mode="after")
    def _references(self):
        for k in self.key:
            if k not in self.columns:
                raise ValueError(f"key column {k!r} is not among the columns")
        for chk in self.checks:
            for c in (chk.column, chk.reference):
                if c not in self.columns:
                    raise ValueError(f"check refers to unknown column {c!r}")
        seen: dict[str, str] = {}
        for name, col in self.columns.items():
            for alias in [name, col.title, *col.aliases]:
                norm = header_key(alias)
                if norm in seen and seen[norm] != name:
                    raise ValueError(f"header {alias!r} is an alias of both {seen[norm]!r} and {name!r}")
                seen[norm] = name
        return self

    def references(self) -> dict[str, str]:
        """Column -> ``source.column`` it must refer to."""
        return {name: col.references for name, col in self.columns.items() if col.references}

    def match_headers(self, header: list[str]) -> dict[int, str]:
        """Map header positions to canonical column names (unknown headers are left out)."""
        lookup = self.alias_lookup()
        return {i: lookup[header_key(h)] for i, h in enumerate(header) if header_key(h) in lookup}

    def alias_lookup(self) -> dict[str, str]:
        return {header_key(a): name for name, col in self.columns.items() for a in [name, col.title, *col.aliases]}

    def header_score(self, header: list[str]) -> int:
        return len(set(self.match_headers(header).values()))

    def files_in(self, raw_dir: Path) -> list[Path]:
        found: set[Path] = set()
        for pattern in self.files:
            found.update(p for p in Path(raw_dir).glob(pattern) if p.is_file() and not p.name.startswith(("~$", ".")))
        return sorted(found)


_HEADER_NOISE = re.compile(r"[\s_\-:：*（）()\[\]【】]")


def header_key(text: str) -> str:
    """How headers are compared: NFKC, case-folded, without spaces, underscores, colons or brackets."""
    return _HEADER_NOISE.sub("", nfkc(str(text))).casefold()


def load_source(path: Path | str) -> Source:
    return load_model(path, Source)


@cache
def load_sources(sources_dir: Path = config.SOURCES_DIR) -> dict[str, Source]:
    """All source definitions, by name, in file-name order."""
    out: dict[str, Source] = {}
    for path in sorted(Path(sources_dir).glob("*.yaml")):
        src = load_source(path)
        if src.name in out:
            raise ValueError(f"{path}: source {src.name!r} is defined twice")
        out[src.name] = src
    return out


class SourceMapping(BaseModel):
    """A foreign export's headers for one source (``clean --mapping SOURCE=FILE.yaml``): canonical
    column -> the export's header. ``python -m analysis inspect FILE --source NAME`` drafts one."""

    model_config = ConfigDict(extra="forbid")
    title: str = ""
    source: str = ""  # where the draft came from (free text)
    columns: dict[str, str] = Field(min_length=1)
    optional: list[str] = Field(default_factory=list, description="columns this export may lack")


def with_mapping(src: Source, path: Path | str) -> Source:
    """``src`` with a mapping's headers added as aliases (and its optional columns not required).
    Every canonical name must be a column of the source; errors name the file and the field."""
    from analysis.errors import InputValueError

    m = load_model(path, SourceMapping)
    unknown = [c for c in [*m.columns, *m.optional] if c not in src.columns]
    if unknown:
        raise InputValueError(f"{path}: {', '.join(map(repr, unknown))} is not a column of source {src.name!r} (its columns: {', '.join(src.columns)})")
    cols = {}
    for name, col in src.columns.items():
        extra = {}
        if name in m.columns:
            extra["aliases"] = [*col.aliases, m.columns[name]]
        if name in m.optional:
            extra["required"] = False
        cols[name] = col.model_copy(update=extra)
    try:
        return Source.model_validate({**src.model_dump(), "columns": {k: v.model_dump() for k, v in cols.items()}})
    except ValueError as exc:
        raise InputValueError(f"{path}: {exc}") from exc


def parse_mapping_args(items: list[str] | None) -> dict[str, Path]:
    """``["complaints=my.yaml", ...]`` -> ``{"complaints": Path("my.yaml")}`` (a bare name or path
    without ``=`` is refused: which source it maps must be said)."""
    from analysis.errors import InputValueError

    out: dict[str, Path] = {}
    for item in items or []:
        name, sep, file = item.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise InputValueError(f"--mapping {item!r}: write SOURCE=FILE.yaml (for example complaints=mappings/my_bank.yaml)")
        out[name.strip()] = Path(file.strip())
    return out

"""Reading work-order exports: the ``workorders`` source, optionally through a column mapping.

Without a mapping an export is read with ``sources/workorders.yaml`` (its Chinese and English header
aliases). A mapping (YAML, validated, never evaluated) names the columns of a foreign layout::

    kind: workorders                 # marks a work-order mapping (complaint mappings have none)
    title: 市政务服务中心 办件导出
    columns:                         # canonical field: source column (or a list of accepted headers)
      order_id: 申请流水号
      unit_id: [受理窗口, 窗口名称]
      received_at: 收件时间
      closed_at: 办结时间
      promised_days: 法定时限
    optional: [promised_days]        # mapped columns a file may lack

The mapped headers replace the source's aliases for those fields (the field's own name still
matches); fields the mapping does not name are optional. Parsing, checks and the rejected-rows
accounting are the clean door's (:func:`analysis.clean.engine.clean_files`), so dates are read in the
forms it knows (``2014/03/05 09:30``, ``2014-03-05``, ``2014年3月5日``, Excel serials); a mapping has no
date-format setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis import config
from analysis.yamlio import ConfigError, load_model

Canonical = Literal[
    "order_id", "unit_id", "type", "channel", "received_at", "due_at", "promised_days", "closed_at",
    "escalated", "callback_done", "callback_satisfied",
]
REQUIRED = ("order_id", "unit_id", "received_at", "closed_at")


class WorkOrderMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["workorders"]
    title: str = ""
    source: str = Field("", description="where the layout is documented")
    columns: dict[Canonical, str | list[str]]
    optional: list[Canonical] = Field(default_factory=list, description="mapped columns a file may lack")

    @field_validator("columns")
    @classmethod
    def _headers(cls, v: dict) -> dict:
        for canon, headers in v.items():
            hs = [headers] if isinstance(headers, str) else headers
            if not hs or any(not str(h).strip() for h in hs):
                raise ValueError(f"{canon}: the source column name is empty")
        missing = [c for c in REQUIRED if c not in v]
        if missing:
            raise ValueError(f"{', '.join(missing)} must be mapped (every work order needs them)")
        return v

    @model_validator(mode="after")
    def _optional(self):
        bad = [f for f in self.optional if f not in self.columns]
        if bad:
            raise ValueError(f"optional: {', '.join(bad)} not among the mapped columns")
        req = [f for f in self.optional if f in REQUIRED]
        if req:
            raise ValueError(f"optional: {', '.join(req)} cannot be optional")
        return self

    def headers(self, canon: str) -> list[str]:
        h = self.columns.get(canon, [])
        return [h] if isinstance(h, str) else list(h)


def load_mapping(spec: str | Path, mappings_dir: Path = config.MAPPINGS_DIR) -> WorkOrderMapping:
    """A work-order mapping by path, or by name (``mappings/<name>.yaml``)."""
    path = Path(spec)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        path = Path(mappings_dir) / f"{spec}.yaml"
    if not path.exists():
        raise ConfigError(f"{spec}: no such mapping file or name in {mappings_dir}")
    return load_model(path, WorkOrderMapping)


def workorder_source(mapping: WorkOrderMapping | None = None, spec_path: str = "mapping"):
    """The ``workorders`` source, with the mapping's headers in place of its aliases."""
    from pydantic import ValidationError

    from analysis.clean.sources import Source, load_sources

    src = load_sources()["workorders"]
    if mapping is None:
        return src
    data = src.model_dump()
    for name, col in data["columns"].items():
        if name in mapping.columns:
            hs = mapping.headers(name)
            col["title"], col["aliases"] = hs[0], hs[1:]
            col["required"] = name not in mapping.optional
        else:
            col["aliases"] = []
            col["required"] = False
    try:
        return Source.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{spec_path}: {exc.errors()[0]['msg']}") from None


def input_files(path: Path | str, src) -> list[Path]:
    """A file, or the source's files in a folder."""
    path = Path(path)
    if path.is_dir():
        files = src.files_in(path)
        if not files:
            raise FileNotFoundError(f"{path}: no work-order export in this folder (looked for {src.files})")
        return files
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    return [path]


def read_orders(path: Path | str, mapping: str | Path | None = None):
    """Clean a work-order export (a file or a folder): the clean door's :class:`CleanResult`."""
    from analysis.clean.engine import clean_files

    m = load_mapping(mapping) if mapping else None
    src = workorder_source(m, str(mapping))
    return clean_files(src, input_files(path, src))

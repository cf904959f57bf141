"""Run options from a YAML file: ``python -m analysis run --params schedules/monthly.yaml``.

A scheduled run is one command line; the file holds what would otherwise be a long list of flags,
plus notebook parameters that have no flag. Flags given on the command line override the file.

    period: "2016-06"          # 2016, 2016-06 or 2016Q2
    per_unit: true             # also one page per unit (reports/units/<unit_id>.html)
    jobs: 2
    parameters:                # to every notebook whose parameters cell declares the name
      n_draws: 2000
    notebook_parameters:       # to one notebook (by name, with or without its number)
      competition: {scheme: competition-2011}

Validated with a strict model (:class:`RunParams`): an unknown key, a bad period, a wrong type
stop the run before anything starts, with an error naming the file and the field
(``schedules/monthly.yaml: 1 problem(s): - field jobs: Input should be greater than or equal to 1``).
Relative folders are relative to the current directory, like the flags (cron: ``cd`` to the
checkout first). Nothing in the file is evaluated.
"""

from __future__ import annotations

import keyword
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from analysis import config

Scalar = str | int | float | bool | None
RUNNER_SET = {"period": "use period:", "processed_dir": "use processed:", "reports_dir": "use out:", "unit_id": "use units:"}


class RunParams(BaseModel):
    """Every option of ``python -m analysis run`` (None: not set in the file)."""

    model_config = ConfigDict(extra="forbid")

    period: str | None = None
    jobs: int | None = Field(default=None, ge=1)
    per_unit: bool | None = None
    units: list[str] | None = None
    only: list[str] | None = None
    overview: bool | None = None
    clean: bool | None = None
    timeout: float | None = Field(default=None, gt=0)
    raw: Path | None = None
    processed: Path | None = None
    out: Path | None = None
    notebooks: Path | None = None
    parameters: dict[str, Scalar] = Field(default_factory=dict)
    notebook_parameters: dict[str, dict[str, Scalar]] = Field(default_factory=dict)

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v):
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise ValueError(f"a period is text such as \"2016\", \"2016-06\" or \"2016Q2\" (quote it), got {v!r}")
        from analysis.periods import Period

        return str(Period.parse(str(v)))

    @field_validator("units", "only", mode="before")
    @classmethod
    def _names(cls, v):
        if v is None:
            return v
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            v = [v]
        if not isinstance(v, list):
            raise ValueError("expected a list of names")
        out = []
        for x in v:
            if isinstance(x, bool) or not isinstance(x, (str, int)):
                raise ValueError(f"expected names or ids, got {x!r}")
            out.append(str(x))
        return out

    @field_validator("parameters")
    @classmethod
    def _parameter_names(cls, v: dict) -> dict:
        _check_names(v)
        return v

    @field_validator("notebook_parameters")
    @classmethod
    def _notebook_parameter_names(cls, v: dict) -> dict:
        for values in v.values():
            _check_names(values)
        return v


def _check_names(values: dict) -> None:
    for name in values:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
        if name in RUNNER_SET:
            raise ValueError(f"{name} is set by the runner ({RUNNER_SET[name]})")


def load_params(path: Path | str) -> RunParams:
    """Load and validate a run-options file; a problem raises ``ConfigError`` naming file and field."""
    from analysis.yamlio import load_model

    return load_model(path, RunParams)


DEFAULTS = {
    "period": config.DEFAULT_PERIOD, "jobs": None, "per_unit": False, "units": None, "only": None, "overview": True, "clean": True,
    "timeout": None, "raw": config.RAW_DIR, "processed": config.PROCESSED_DIR, "out": config.REPORTS_DIR, "notebooks": config.NOTEBOOKS_DIR,
}


def resolve(flags: dict, params: RunParams | None = None) -> dict:
    """The run's options: a flag given on the command line (not None) wins over the file, the file
    over the defaults (:data:`DEFAULTS`). Returns every option plus ``parameters`` and
    ``notebook_parameters``."""
    out = {}
    for name, default in DEFAULTS.items():
        value = flags.get(name)
        if value is None and params is not None:
            value = getattr(params, name)
        out[name] = default if value is None else value
    out["parameters"] = dict(params.parameters) if params else {}
    out["notebook_parameters"] = {k: dict(v) for k, v in params.notebook_parameters.items()} if params else {}
    return out

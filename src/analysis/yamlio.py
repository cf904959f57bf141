"""Loading the project's YAML data (sources, schemes, targets, mappings) into validated models.

YAML is parsed with ``safe_load`` (nothing in it is ever evaluated) and checked against a pydantic
model; every problem is reported at once, each with the file and the field path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from analysis.errors import InputValueError

M = TypeVar("M", bound=BaseModel)


class ConfigError(InputValueError):
    """A YAML file that does not describe a valid object; the message names the file and each field."""


def _field_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


# libyaml's parser where PyYAML was built with it (ten times faster; the same safe constructors)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """``yaml.safe_load``, with libyaml where it is there."""
    return yaml.load(text, Loader=_LOADER)  # a safe loader: nothing is constructed but plain data


def load_model(path: Path | str, model: type[M]) -> M:
    path = Path(path)
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValueError as exc:  # PyYAML's own constructors, e.g. an impossible date such as 2016-13-31
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {exc.error_count()} problem(s):"]
        for err in exc.errors():
            lines.append(f"  - field {_field_path(err['loc'])}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None

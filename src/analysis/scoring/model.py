"""Scoring schemes as data: a YAML file in ``schemes/`` -> validated pydantic objects.

A scheme names the units it scores, the input columns it needs (with the Chinese header aliases banks
use), its indicators (each one of a small closed set of *kinds*, see :mod:`analysis.scoring.kinds`),
its deductions and bonuses, its award-eligibility rules and alternative weight sets for sensitivity
analysis. Nothing in a scheme is evaluated as code: every field is a number, a name or a column.

Errors (from :func:`load_scheme`) name the file and the field path, e.g.
``schemes/x.yaml: 1 problem(s):\n  - field indicators.2.weight: Input should be greater than 0``.

``cap`` and ``floor`` are multiples of the indicator's weight, so they follow the weight when the
uncertainty analysis perturbs it (plan 2: ``cap: 1.2``, ``floor: 0``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis import config
from analysis.clean.sources import header_key
from analysis.yamlio import ConfigError, load_model

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def _identifier(v: str) -> str:
    if not _IDENT.fullmatch(v):
        raise ValueError(f"{v!r} must be a lower-case identifier (a-z, 0-9, _; starting with a letter)")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Rule(_Strict):
    """A rule of the scheme: its formula in words, and whether it is ours rather than the plan's."""

    formula: str = Field(default="", description="the scoring rule in words (Chinese from the plan)")
    assumed: bool = False  # true when the rule is ours, not the plan's
    note: str = ""

    @model_validator(mode="after")
    def _assumed_has_note(self):
        if self.assumed and not self.note.strip():
            raise ValueError("an assumed rule needs a note saying what was assumed")
        return self


# ------------------------------------------------------------------------------------------ inputs
class InputColumn(_Strict):
    """One column of the score input file (one row per unit)."""

    type: Literal["id", "name", "number", "count"]
    title: str = Field(description="Chinese header written in templates and accepted on input")
    description: str = ""
    aliases: list[str] = Field(default_factory=list, description="other accepted headers")
    nullable: bool = False  # a cell may be empty
    min: float | None = None
    max: float | None = None
    positive: bool = False  # must be > 0 (a denominator such as the outlet count)
    not_above: str | None = None  # must be <= this other column in the same row (a part of a whole)
    required_if_positive: str | None = None  # may be empty only where this other column is 0

    @model_validator(mode="after")
    def _coherent(self):
        if self.type in ("id", "name") and (self.min is not None or self.max is not None or self.positive or self.not_above):
            raise ValueError("min/max/positive/not_above apply to number and count columns only")
        if self.required_if_positive and not self.nullable:
            raise ValueError("required_if_positive only makes sense on a nullable column")
        return self


# -------------------------------------------------------------------------------------- indicators
class _IndicatorBase(_Rule):
    id: str
    name: str = Field(description="Chinese name, as in the plan")
    name_en: str = ""
    group: str = Field(description="the plan's section, e.g. 服务质量")
    weight: float = Field(gt=0)
    cap: float | None = Field(default=None, gt=0, description="maximum points as a multiple of the weight (default: the scheme's)")
    floor: float | None = Field(default=None, description="minimum points as a multiple of the weight (default: the scheme's)")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _identifier(v)

    def columns(self) -> list[str]:
        """Input columns this indicator reads."""
        raise NotImplementedError


class Score(_IndicatorBase):
    """points = value / scale x weight (a score out of 100)."""

    kind: Literal["score"]
    column: str
    scale: float = Field(default=100, gt=0)

    def columns(self) -> list[str]:
        return [self.column]


class ScoreMean(_IndicatorBase):
    """points = mean of the columns present / scale x weight (an empty column is left out of the mean)."""

    kind: Literal["score_mean"]
    columns_: list[str] = Field(alias="columns", min_length=1)
    scale: float = Field(default=100, gt=0)
    min_present: int = Field(default=1, ge=1, description="fewer non-empty columns than this refuses the unit")

    def columns(self) -> list[str]:
        return list(self.columns_)


class ShareRelative(_IndicatorBase):
    """points = (numerator/denominator) / (sum numerator / sum denominator) x weight x factor [x quality/quality_scale]."""

    kind: Literal["share_relative"]
    numerator: str
    denominator: str
    factor: float = Field(default=1.0, gt=0)
    quality: str | None = None
    quality_scale: float = Field(default=100, gt=0)

    def columns(self) -> list[str]:
        return [self.numerator, self.denominator] + ([self.quality] if self.quality else [])


class LevelIncrementRelative(_IndicatorBase):
    """points = (level_weight x rate/rate_all + increment_weight x inc/inc_all) x weight x factor."""

    kind: Literal["level_increment_relative"]
    numerator: str
    denominator: str
    numerator_prev: str
    denominator_prev: str
    factor: float = Field(default=1.0, gt=0)
    level_weight: float = Field(default=0.5, ge=0)
    increment_weight: float = Field(default=0.5, ge=0)

    def columns(self) -> list[str]:
        return [self.numerator, self.denominator, self.numerator_prev, self.denominator_prev]


class PerOutletIncrementRelative(_IndicatorBase):
    """points = ((value - value_prev)/outlets) / (sum increment / sum outlets) x weight x factor."""

    kind: Literal["per_outlet_increment_relative"]
    value: str
    value_prev: str
    outlets: str
    factor: float = Field(default=1.0, gt=0)

    def columns(self) -> list[str]:
        return [self.value, self.value_prev, self.outlets]


class RatioToTarget(_IndicatorBase):
    """points = (numerator [/ denominator]) / target x weight."""

    kind: Literal["ratio_to_target"]
    numerator: str
    denominator: str | None = None
    target: float = Field(gt=0)

    def columns(self) -> list[str]:
        return [self.numerator] + ([self.denominator] if self.denominator else [])


class PerOutletIncrementMinmax(_IndicatorBase):
    """points = weight x (position of the unit's per-outlet increment between the worst (0) and the best (1) unit)."""

    kind: Literal["per_outlet_increment_minmax"]
    value: str
    value_prev: str
    outlets: str
    better: Literal["lower", "higher"]

    def columns(self) -> list[str]:
        return [self.value, self.value_prev, self.outlets]


Indicator = Annotated[
    Score | ScoreMean | ShareRelative | LevelIncrementRelative | PerOutletIncrementRelative | RatioToTarget | PerOutletIncrementMinmax,
    Field(discriminator="kind"),
]
INDICATOR_KINDS = ("score", "score_mean", "share_relative", "level_increment_relative", "per_outlet_increment_relative", "ratio_to_target", "per_outlet_increment_minmax")


# --------------------------------------------------------------------------- deductions and bonuses
class CountPoints(_Rule):
    """Points per counted event: ``points`` maps an input column (a count) to the points per event."""

    id: str
    name: str
    kind: Literal["count_points"] = "count_points"
    points: dict[str, float] = Field(min_length=1)
    max_points: float | None = Field(default=None, gt=0)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _identifier(v)

    @field_validator("points")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        for col, p in v.items():
            if not p >= 0:
                raise ValueError(f"points per event for {col!r} must be >= 0 (a deduction is subtracted already)")
        return v

    def columns(self) -> list[str]:
        return list(self.points)


class MaxEvents(_Rule):
    """A unit with ``ineligible_at`` or more events (summed over ``columns``) loses award eligibility; it is still ranked."""

    kind: Literal["max_events"]
    columns: list[str] = Field(min_length=1)
    ineligible_at: int = Field(ge=1)


class WeightSet(_Strict):
    """An alternative set of weights (same indicators, same total) for sensitivity analysis."""

    id: str
    name: str
    note: str = ""
    weights: dict[str, float]

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _identifier(v)

    @field_validator("weights")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if not w > 0:
                raise ValueError(f"weight of {k!r} must be > 0")
        return v


class Defaults(_Strict):
    cap: float = Field(default=1.2, gt=0)
    floor: float = 0.0


# ------------------------------------------------------------------------------------------ scheme
class Scheme(_Strict):
    id: str
    title: str
    title_en: str = ""
    source: str = Field(description="where the rules come from")
    unit: str = Field(description="what is scored, e.g. 支行")
    total_points: float = Field(gt=0)
    notice: str = Field(default="", description="shown in every report that uses the scheme (e.g. assumed rules)")
    defaults: Defaults = Defaults()
    inputs: dict[str, InputColumn]
    indicators: list[Indicator] = Field(min_length=1)
    deductions: list[CountPoints] = Field(default_factory=list)
    bonuses: list[CountPoints] = Field(default_factory=list)
    eligibility: list[MaxEvents] = Field(default_factory=list)
    weight_sets: list[WeightSet] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _scheme_id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", v):
            raise ValueError("must be lower-case letters, digits, '-' or '_'")
        return v

    @model_validator(mode="after")
    def _references(self):
        problems: list[str] = []
        for req, typ in (("unit_id", "id"), ("unit_name", "name")):
            if req not in self.inputs:
                problems.append(f"inputs.{req}: every scheme needs a {req} column")
            elif self.inputs[req].type != typ:
                problems.append(f"inputs.{req}: must have type {typ}")
        for name, col in self.inputs.items():
            if not _IDENT.fullmatch(name):
                problems.append(f"inputs.{name}: column names must be lower-case identifiers")
            for ref_field in ("not_above", "required_if_positive"):
                ref = getattr(col, ref_field)
                if ref and ref not in self.inputs:
                    problems.append(f"inputs.{name}.{ref_field}: unknown column {ref!r}")
        seen_headers: dict[str, str] = {}
        for name, col in self.inputs.items():
            for alias in dict.fromkeys([name, col.title, *col.aliases]):
                key = header_key(alias)
                if key in seen_headers and seen_headers[key] != name:
                    problems.append(f"inputs.{name}.aliases: header {alias!r} also names {seen_headers[key]!r}")
                seen_headers[key] = name
        numeric = {n for n, c in self.inputs.items() if c.type in ("number", "count")}
        ids: set[str] = set()
        reserved = {"unit_id", "unit_name", "total", "rank", "award_eligible"}
        for i, ind in enumerate(self.indicators):
            if ind.id in ids or ind.id in reserved:
                problems.append(f"indicators.{i}.id: {ind.id!r} is used twice or is reserved")
            ids.add(ind.id)
            for col in ind.columns():
                if col not in numeric:
                    problems.append(f"indicators.{i} ({ind.id}): column {col!r} is not a number/count column declared under inputs")
        for section in ("deductions", "bonuses"):
            for i, item in enumerate(getattr(self, section)):
                if item.id in ids or item.id in reserved:
                    problems.append(f"{section}.{i}.id: {item.id!r} is used twice or is reserved")
                ids.add(item.id)
                for col in item.columns():
                    if col not in numeric:
                        problems.append(f"{section}.{i}.points: column {col!r} is not a number/count column declared under inputs")
        for i, rule in enumerate(self.eligibility):
            for col in rule.columns:
                if col not in numeric:
                    problems.append(f"eligibility.{i}.columns: column {col!r} is not a number/count column declared under inputs")
        total = sum(ind.weight for ind in self.indicators)
        if not math.isclose(total, self.total_points, rel_tol=0, abs_tol=1e-9):
            problems.append(f"indicators: weights sum to {total:g}, but total_points is {self.total_points:g}")
        ind_ids = [ind.id for ind in self.indicators]
        seen_sets: set[str] = set()
        for i, ws in enumerate(self.weight_sets):
            if ws.id in seen_sets or ws.id == "scheme":
                problems.append(f"weight_sets.{i}.id: {ws.id!r} is used twice or is reserved")
            seen_sets.add(ws.id)
            missing = [k for k in ind_ids if k not in ws.weights]
            extra = [k for k in ws.weights if k not in ind_ids]
            if missing or extra:
                problems.append(f"weight_sets.{i}.weights: must give every indicator exactly once (missing {missing}, unknown {extra})")
            elif not math.isclose(sum(ws.weights.values()), self.total_points, abs_tol=1e-9):
                problems.append(f"weight_sets.{i}.weights: sum to {sum(ws.weights.values()):g}, must equal total_points {self.total_points:g}")
        for i, ind in enumerate(self.indicators):
            cap, floor = self.cap_of(ind), self.floor_of(ind)
            if floor >= cap:
                problems.append(f"indicators.{i}.floor: floor {floor:g} must be below cap {cap:g}")
        if self.assumed and not self.notice.strip():
            problems.append("notice: a scheme with assumed rules must carry a notice saying so")
        if problems:
            raise ValueError("cross-references:" + "".join(f"\n    - field {p}" for p in problems))
        return self

    # -- helpers
    def cap_of(self, ind) -> float:
        return ind.cap if ind.cap is not None else self.defaults.cap

    def floor_of(self, ind) -> float:
        return ind.floor if ind.floor is not None else self.defaults.floor

    @property
    def indicator_ids(self) -> list[str]:
        return [ind.id for ind in self.indicators]

    def indicator(self, ind_id: str):
        for ind in self.indicators:
            if ind.id == ind_id:
                return ind
        raise KeyError(f"scheme {self.id!r} has no indicator {ind_id!r}; it has {self.indicator_ids}")

    def weights(self, weight_set: str | None = None) -> dict[str, float]:
        """The scheme's weights, or those of a named alternative set."""
        if weight_set in (None, "", "scheme"):
            return {ind.id: ind.weight for ind in self.indicators}
        for ws in self.weight_sets:
            if ws.id == weight_set:
                return {k: ws.weights[k] for k in self.indicator_ids}
        raise KeyError(f"scheme {self.id!r} has no weight set {weight_set!r}; it has {['scheme'] + [w.id for w in self.weight_sets]}")

    @property
    def assumed(self) -> bool:
        """True when any rule of the scheme is assumed (not from the plan)."""
        items = [*self.indicators, *self.deductions, *self.bonuses, *self.eligibility]
        return any(getattr(x, "assumed", False) for x in items)

    def assumed_rules(self) -> list[tuple[str, str]]:
        """(rule id, note) for every assumed rule."""
        out = []
        for x in [*self.indicators, *self.deductions, *self.bonuses]:
            if x.assumed:
                out.append((x.id, x.note))
        for i, r in enumerate(self.eligibility):
            if r.assumed:
                out.append((f"eligibility.{i}", r.note))
        return out

    @property
    def adjustment_ids(self) -> list[str]:
        return [d.id for d in self.deductions] + [b.id for b in self.bonuses]

    @property
    def output_columns(self) -> list[str]:
        """Columns of a scored league table, in order."""
        return ["unit_id", "unit_name", *self.indicator_ids, *self.adjustment_ids, "total", "rank", "award_eligible"]

    def event_columns(self) -> list[str]:
        cols: list[str] = []
        for rule in self.eligibility:
            cols += [c for c in rule.columns if c not in cols]
        for d in self.deductions:
            cols += [c for c in d.columns() if c not in cols]
        return cols


def scheme_path(name_or_path: str | Path) -> Path:
    """A scheme name in ``schemes/`` (``competition-2011``) or a path to a YAML file."""
    p = Path(name_or_path)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError(f"{p}: scheme file not found")
        return p
    candidate = config.SCHEMES_DIR / f"{name_or_path}.yaml"
    if not candidate.exists():
        known = ", ".join(available_schemes()) or "(none)"
        raise ConfigError(f"{name_or_path!r} is neither a scheme in {config.SCHEMES_DIR} nor a YAML file; known schemes: {known}")
    return candidate


def available_schemes() -> list[str]:
    return sorted(p.stem for p in config.SCHEMES_DIR.glob("*.yaml"))


def load_scheme(name_or_path: str | Path) -> Scheme:
    """Load and validate a scheme; errors name the file and the field."""
    return load_model(scheme_path(name_or_path), Scheme)

"""JR/T 0169—2018 classification: the bank's labels onto channel (A), business type (B) and cause (C).

The mapping is data (``mappings/jrt0169.yaml``, see its comments); the standard's category names and
hierarchy are in ``mappings/jrt0169-2018_structure.csv`` (copied from the 2019 implementation report's
printout, plus the names banks' own JR/T breakdowns use beyond the printed excerpt; each row names its
source). A label that maps to nothing is never dropped: it is classified as ``UNMAPPED`` and
:func:`unmapped_labels` lists it with its count.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from analysis import config
from analysis.io.parse import nfkc
from analysis.yamlio import ConfigError, load_model

UNMAPPED = "未映射"
EMPTY_LABEL = "(未填写)"
DIMENSIONS = {"A": "channel", "B": "business_category", "C": "cause"}
COLUMNS = {"A": "jrt_channel", "B": "jrt_business", "C": "jrt_cause"}
TITLES = {"jrt_channel": "办理渠道(A)", "jrt_channel_group": "渠道大类(A)", "jrt_business": "业务类型(B)", "jrt_cause": "投诉原因(C)"}


class ChannelRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by_cause: dict[str, str] = Field(default_factory=dict)
    by_category: dict[str, str] = Field(default_factory=dict)
    by_intake: dict[str, str] = Field(default_factory=dict)
    outlet_named: str | None = None


class JrtMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    structure: str = Field(description="the structure CSV, relative to the mapping file")
    business_type: dict[str, str] = Field(default_factory=dict)
    cause: dict[str, str] = Field(default_factory=dict)
    channel: ChannelRules = Field(default_factory=ChannelRules)


def load_structure(path: Path | str) -> pd.DataFrame:
    """The JR/T 0169 names: dimension_letter, name_cn, position, parent, origin, source_url, note.

    Adds ``key``: the name, or ``parent/name`` where a name occurs twice in a dimension (A's 其他).
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the JR/T 0169 structure ({exc.strerror or exc})") from exc
    need = {"dimension_letter", "name_cn", "position", "parent"}
    if not need <= set(df.columns):
        raise ConfigError(f"{path}: the JR/T 0169 structure needs columns {sorted(need)}; found {list(df.columns)}")
    df = df[df["position"].ne("") | df["origin"].str.startswith("used in")].copy()  # drop the dimension title rows
    dup = df.duplicated(["dimension_letter", "name_cn"], keep=False)
    df["key"] = df["name_cn"].where(~dup, df["parent"] + "/" + df["name_cn"])
    return df.reset_index(drop=True)


def _norm(label) -> str:
    return nfkc(str(label)).casefold()


class Classifier:
    """A loaded, checked mapping: call :meth:`classify` on a complaints table."""

    def __init__(self, mapping: JrtMapping, structure: pd.DataFrame, path: Path):
        self.mapping = mapping
        self.structure = structure
        self.path = path
        self.names = {d: set(structure.loc[structure["dimension_letter"] == d, "key"]) for d in DIMENSIONS}
        # The A group shown in reports: the class right under 前台业务渠道 (营业现场, 自助机具, 电子渠道,
        # 第三方渠道, 其他) or 中、后台业务渠道 itself; 网银 belongs to 电子渠道.
        a = structure[structure["dimension_letter"] == "A"]
        by_pos = dict(zip(a["position"], a["key"]))
        self.a_group = {}
        for key, pos in zip(a["key"], a["position"]):
            parts = pos.split("/")
            group_pos = "/".join(parts[:3]) if len(parts) >= 3 and parts[1] == "1" else "/".join(parts[:2])
            self.a_group[key] = by_pos.get(group_pos, key)
        self._check()

    def _check(self) -> None:
        problems = []

        def check(field: str, table: dict[str, str], dim: str) -> None:
            for label, name in table.items():
                if name not in self.names[dim]:
                    known = "、".join(sorted(self.names[dim]))
                    problems.append(f"  - field {field}.{label}: {name!r} is not a JR/T 0169 {DIMENSIONS[dim]} name (known: {known})")

        m = self.mapping
        check("business_type", m.business_type, "B")
        check("cause", m.cause, "C")
        check("channel.by_cause", m.channel.by_cause, "A")
        check("channel.by_category", m.channel.by_category, "A")
        check("channel.by_intake", m.channel.by_intake, "A")
        if m.channel.outlet_named:
            check("channel", {"outlet_named": m.channel.outlet_named}, "A")
        if problems:
            raise ConfigError(f"{self.path}: {len(problems)} problem(s):\n" + "\n".join(problems))

    @staticmethod
    def _lookup(values: pd.Series, table: dict[str, str]) -> pd.Series:
        norm = {_norm(k): v for k, v in table.items()}
        return values.astype("string").map(lambda v: norm.get(_norm(v)) if isinstance(v, str) else None).astype("string")

    def classify(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with jrt_channel, jrt_channel_group, jrt_business, jrt_cause added (UNMAPPED where no rule applies)."""
        out = df.copy()
        m = self.mapping
        out["jrt_business"] = self._lookup(df["category"], m.business_type).fillna(UNMAPPED)
        out["jrt_cause"] = self._lookup(df["cause"], m.cause).fillna(UNMAPPED)
        a = self._lookup(df["cause"], m.channel.by_cause)
        a = a.fillna(self._lookup(df["category"], m.channel.by_category))
        if "channel" in df:
            a = a.fillna(self._lookup(df["channel"], m.channel.by_intake))
        if m.channel.outlet_named and "unit_id" in df:
            a = a.mask(a.isna() & df["unit_id"].notna(), m.channel.outlet_named)
        out["jrt_channel"] = a.fillna(UNMAPPED)
        out["jrt_channel_group"] = out["jrt_channel"].map(lambda k: self.a_group.get(k, k)).astype("string")
        return out

    def unmapped_labels(self, df: pd.DataFrame) -> pd.DataFrame:
        """Every bank label that maps to nothing, with its count: dimension, field, label, complaints.

        Run on a classified table. For A the 'label' is the record's category / cause / intake channel.
        """
        c = self.classify(df) if "jrt_business" not in df else df
        rows = []
        for dim, col, field in (("B", "jrt_business", "category"), ("C", "jrt_cause", "cause")):
            miss = c[c[col] == UNMAPPED]
            for label, n in miss[field].astype("string").fillna(EMPTY_LABEL).value_counts().items():
                rows.append({"dimension": dim, "field": field, "label": label, "complaints": int(n)})
        miss = c[c["jrt_channel"] == UNMAPPED]
        if len(miss):
            desc = (
                miss["category"].astype("string").fillna(EMPTY_LABEL)
                + " / " + miss["cause"].astype("string").fillna(EMPTY_LABEL)
                + (" / " + miss["channel"].astype("string").fillna(EMPTY_LABEL) if "channel" in miss else "")
            )
            for label, n in desc.value_counts().items():
                rows.append({"dimension": "A", "field": "category / cause / channel", "label": label, "complaints": int(n)})
        out = pd.DataFrame(rows, columns=["dimension", "field", "label", "complaints"])
        return out.sort_values(["dimension", "complaints", "label"], ascending=[True, False, True], kind="stable").reset_index(drop=True)


@cache
def _load(path: Path) -> Classifier:
    m = load_model(path, JrtMapping)
    structure = load_structure(path.parent / m.structure)
    return Classifier(m, structure, path)


def load_classifier(path: Path | str | None = None) -> Classifier:
    """The JR/T mapping (default ``mappings/jrt0169.yaml``), checked against the structure file."""
    return _load(Path(path or config.MAPPINGS_DIR / "jrt0169.yaml").resolve())


def breakdown(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Complaints per JR/T category of ``column`` (a classified table), with the share; 未映射 included."""
    counts = df[column].astype("string").fillna(UNMAPPED).value_counts()
    out = counts.rename_axis(column).reset_index(name="complaints")
    out["share"] = out["complaints"] / out["complaints"].sum() if len(out) else []
    # Unmapped last, the rest by count.
    out["_u"] = out[column] == UNMAPPED
    out = out.sort_values(["_u", "complaints"], ascending=[True, False], kind="stable").drop(columns="_u")
    return out.reset_index(drop=True)

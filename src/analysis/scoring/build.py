"""Build a scheme's input table (one row per sub-branch) from the clean tables of a period.

    b = build_inputs(ctx, "2016", scheme)
    b.table    # exactly the scheme's input columns, ready for analysis.scoring.score
    b.checks   # the mystery-shopper outlet checks behind ms_1..ms_4 (for the Monte Carlo)
    b.notes    # what the reader must know (rows that could not be attributed, gaps)

Units are the sub-branches of the outlet master data (``outlets``); ``outlets`` is the number of
outlets each has in the master data (outlets opened after the period are not counted). Every figure
is aggregated from outlets to their sub-branch through the master data.

How each input is made (period = a year or a year to date, see :mod:`analysis.periods`):

* ``ms_1`` .. ``ms_4``: the mean score of the sub-branch's outlets checked in that round of the
  period's year (a round with no check is empty, and left out of the mean by the scheme);
  ``ms_avg``: the mean of the round means.
* ``survey_score``: the satisfaction survey of the year; its standard error ``score_sd / sqrt(n)``
  goes to ``survey_se`` for the Monte Carlo.
* ``major_complaints``: complaints received in the period that are both major (重大) and responsible
  (有责); ``negative_media``: media events in the period at city level or above (city, province,
  national).
* ``skill_imported``: outlets whose marketing-skill import is done in the year; ``skill_acceptance``:
  the mean acceptance score of those outlets.
* ``e_txn`` / ``all_txn``: e-channel and all financial transactions summed over the period's months;
  ``*_prev``: the same months one year earlier.
* Stocks (``vip``, ``vip_fa``, ``personal_fa``, ``cards_*``, ``deposits``) are month-end figures at
  the period's last month; their ``*_prev`` is the end of the previous year (the campaign's baseline:
  for a full year, the previous year-end).
* Financial assets = savings deposits + funds + treasury bonds + wealth products + 50% of personal
  loans (plan 2), for VIP customers (``vip_fa``) and all personal customers (``personal_fa``).
* ``cards_issued`` / ``cards_eligible``: VIP customers holding a VIP card / eligible VIP customers.
* Evaluation-2016 inputs: ``outlets_with_lobby`` (outlets with at least one lobby director, manager,
  assistant or guide at their last staffing record in the period), ``supervisors`` (service
  supervisors at that record), ``six_s_passed``, ``supervision_score`` (mean), ``top100_outlets`` /
  ``top1000_outlets`` (awards of the year), ``complaints_95599`` (complaints received through 95599 in
  the period; ``_prev``: one year earlier), ``teller_rated`` / ``teller_satisfied`` (counter
  transactions rated / rated 4 or 5 in the period).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import InputValueError
from analysis.periods import Period
from analysis.scoring.model import Scheme

LOAN_WEIGHT = 0.5  # personal loans count at 50% in financial assets (plan 2)
CITY_OR_ABOVE = ("city", "province", "national")
FA_PARTS = ("deposits", "funds", "bonds", "wealth")


@dataclass
class BuildResult:
    period: Period
    table: pd.DataFrame  # unit_id, unit_name, outlets and every measure built
    checks: pd.DataFrame  # unit_id, outlet_id, round, score: the mystery-shopper checks used
    survey_se: pd.Series  # standard error of the survey score, by unit_id
    tables_read: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def for_scheme(self, scheme: Scheme) -> pd.DataFrame:
        """Exactly the scheme's input columns."""
        missing = [c for c in scheme.inputs if c not in self.table]
        if missing:
            raise KeyError(f"the build has no measure for {missing} (scheme {scheme.id}); known: {list(self.table.columns)}")
        return self.table[list(scheme.inputs)].copy()


# Which clean tables each measure needs.
MEASURES: dict[str, tuple[str, ...]] = {
    **{m: ("mystery_shopper",) for m in ("ms_1", "ms_2", "ms_3", "ms_4", "ms_avg")},
    "survey_score": ("satisfaction",),
    "major_complaints": ("complaints",),
    "complaints_95599": ("complaints",),
    "complaints_95599_prev": ("complaints",),
    "negative_media": ("media_events",),
    **{m: ("campaign",) for m in ("skill_imported", "skill_acceptance", "six_s_passed", "supervision_score", "top100_outlets", "top1000_outlets")},
    **{m: ("business",) for m in ("e_txn", "all_txn", "e_txn_prev", "all_txn_prev", "vip", "vip_prev", "vip_fa", "personal_fa", "vip_fa_prev",
                                    "personal_fa_prev", "cards_issued", "cards_eligible", "cards_issued_prev", "cards_eligible_prev", "deposits", "deposits_prev")},
    "outlets_with_lobby": ("staffing",),
    "supervisors": ("staffing",),
    "teller_rated": ("teller_ratings",),
    "teller_satisfied": ("teller_ratings",),
}
BASE = ("unit_id", "unit_name", "outlets")


def tables_needed(scheme: Scheme) -> list[str]:
    """The clean tables a scheme's inputs are built from (always ``outlets``)."""
    out = ["outlets"]
    for c in scheme.inputs:
        if c in BASE:
            continue
        if c not in MEASURES:
            raise KeyError(f"scheme {scheme.id}: no build rule for input {c!r}; known: {sorted(MEASURES)}")
        out += [t for t in MEASURES[c] if t not in out]
    return out


def financial_assets(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """deposits + funds + bonds + wealth + 50% x loans, for columns ``<prefix>_<part>``."""
    total = sum(frame[f"{prefix}_{p}"].astype("float64").fillna(0.0) for p in FA_PARTS)
    return total + LOAN_WEIGHT * frame[f"{prefix}_loans"].astype("float64").fillna(0.0)


def _getter(tables) -> Callable[[str], pd.DataFrame]:
    if isinstance(tables, Mapping):
        return lambda name: tables[name].copy()
    if hasattr(tables, "table"):
        return tables.table
    return tables


def _event_source(tables, get: Callable[[str], pd.DataFrame], name: str):
    """Where an event log is aggregated from: its clean Parquet file when ``tables`` is a context
    that knows it (``ctx.path``; a city's 15 M teller ratings stay in the engine), else the table."""
    path = getattr(tables, "path", None)
    if callable(path) and not isinstance(tables, Mapping):
        return path(name)
    return get(name)


def build_inputs(tables, period: str | Period, scheme: Scheme | None = None) -> BuildResult:
    """Build the input table for ``period`` from the clean tables: a mapping of DataFrames, a getter
    (``name -> DataFrame``), or a notebook context (``ctx``: ``ctx.table`` for the small tables and
    ``ctx.path`` for the event logs, which are aggregated on the engine, never loaded whole). With a
    scheme, only the tables its inputs need are read."""
    period = Period.parse(period)
    get = _getter(tables)
    needed = tables_needed(scheme) if scheme is not None else ["outlets", *sorted({t for ts in MEASURES.values() for t in ts})]
    read: list[str] = []
    notes: list[str] = []

    def table(name: str) -> pd.DataFrame:
        if name not in read:
            read.append(name)
        return get(name)

    outlets = table("outlets")
    if "opened_on" in outlets:
        opened = pd.to_datetime(outlets["opened_on"])
        later = opened.notna() & (opened >= period.end)
        if later.any():
            notes.append(f"{int(later.sum())}个网点在{period}之后开业，不计入网点数")
        outlets = outlets[~later]
    outlets = outlets.astype({"outlet_id": "string", "sub_branch_id": "string"})
    units = (
        outlets.groupby("sub_branch_id", sort=True)
        .agg(unit_name=("sub_branch_name", "first"), outlets=("outlet_id", "nunique"))
        .reset_index()
        .rename(columns={"sub_branch_id": "unit_id"})
    )
    units["outlets"] = units["outlets"].astype("float64")
    sub_of = outlets.set_index("outlet_id")["sub_branch_id"]
    unit_index = pd.Index(units["unit_id"], name="unit_id")
    out = units.set_index("unit_id")

    def attribute(df: pd.DataFrame, outlet_col: str, what: str, records: str | None = None) -> pd.DataFrame:
        """Attach the sub-branch of each row's outlet; rows whose outlet is unknown are noted and left out.
        ``records``: the column that says how many records a row stands for (an aggregated table)."""
        df = df.copy()
        ids = df[outlet_col].astype("string")
        weight = df[records].astype("int64") if records else pd.Series(1, index=df.index)
        # A complaint may name the sub-branch itself rather than one of its outlets.
        df["unit_id"] = ids.map(sub_of).where(~ids.isin(unit_index), ids)
        lost = df["unit_id"].isna()
        empty = lost & ids.isna()
        if empty.any():
            extra = ""
            if {"major", "responsible"} <= set(df.columns):
                k = int((empty & df["major"].fillna(False).astype(bool) & df["responsible"].fillna(False).astype(bool)).sum())
                extra = f"，其中重大有责{k}条"
            notes.append(f"{what}：{int(weight[empty].sum())}条记录未写明网点（如客服中心相关），未计入任何支行{extra}")
        if (lost & ~empty).any():
            unknown = sorted(set(ids[lost & ~empty]))
            notes.append(f"{what}：{int(weight[lost & ~empty].sum())}条记录的网点或支行不在机构信息中（{'、'.join(unknown[:5])}），未计入")
        return df[~lost]

    def per_unit(s: pd.Series, fill: float | None = 0.0) -> pd.Series:
        s = s.reindex(unit_index)
        return s.fillna(fill) if fill is not None else s

    want = set(scheme.inputs) if scheme is not None else set(MEASURES)
    checks = pd.DataFrame(columns=["unit_id", "outlet_id", "round", "score"])
    survey_se = pd.Series(np.nan, index=unit_index, dtype="float64")

    # -- mystery shopper
    if want & {"ms_1", "ms_2", "ms_3", "ms_4", "ms_avg"}:
        ms = table("mystery_shopper")
        ms = ms[ms["year"].astype("Int64") == period.year]
        if "checked_on" in ms and ms["checked_on"].notna().any():
            when = pd.to_datetime(ms["checked_on"])
            in_period = (when.isna() & (ms["round"].astype("int64") <= math.ceil(period.last_month / 3))) | (when < period.end)
        else:
            in_period = ms["round"].astype("int64") <= math.ceil(period.last_month / 3)
        ms = attribute(ms[in_period], "outlet_id", "神秘人检查")
        checks = ms[["unit_id", "outlet_id", "round", "score"]].astype({"round": "int64", "score": "float64"}).reset_index(drop=True)
        round_means = checks.groupby(["unit_id", "round"])["score"].mean().unstack("round")
        for r in range(1, 5):
            out[f"ms_{r}"] = per_unit(round_means[r] if r in round_means else pd.Series(dtype="float64"), None)
        out["ms_avg"] = out[[f"ms_{r}" for r in range(1, 5)]].mean(axis=1, skipna=True)
        none = out[[f"ms_{r}" for r in range(1, 5)]].isna().all(axis=1)
        if none.any():
            notes.append(f"{period}没有神秘人检查记录的支行：{'、'.join(out.loc[none, 'unit_name'])}")

    # -- satisfaction survey
    if "survey_score" in want:
        sat = table("satisfaction")
        sat = sat[sat["year"].astype("Int64") == period.year].astype({"sub_branch_id": "string"})
        unknown = ~sat["sub_branch_id"].isin(unit_index)
        if unknown.any():
            notes.append(f"客户满意度：{int(unknown.sum())}条记录的支行不在机构信息中，未使用")
        sat = sat[~unknown].set_index("sub_branch_id")
        out["survey_score"] = per_unit(sat["score"].astype("float64"), None)
        if "score_sd" in sat and "respondents" in sat:
            survey_se = per_unit(sat["score_sd"].astype("float64") / np.sqrt(sat["respondents"].astype("float64")), None)
        if len(sat) and ("score_sd" not in sat or sat["score_sd"].isna().all()):  # optional in sources/satisfaction.yaml
            from analysis.report.display import not_in_export

            notes.append(not_in_export("满意度得分标准差（score_sd）", "名次置信集只计神秘人检查的抽样误差"))
        missing = out["survey_score"].isna()
        if missing.any():
            notes.append(f"{period.year}年没有满意度调查结果的支行：{'、'.join(out.loc[missing, 'unit_name'])}")

    # -- complaints
    if want & {"major_complaints", "complaints_95599", "complaints_95599_prev"}:
        from analysis.complaints.stats import absent
        from analysis.report.display import not_in_export

        comp = table("complaints")
        when = pd.to_datetime(comp["received_at"])
        now = comp[period.contains(when)]
        prev = comp[period.previous().contains(when)]
        titles = {"unit_id": "被投诉网点编号", "major": "是否重大投诉", "responsible": "是否有责", "channel": "受理渠道"}

        def lacking(*columns: str) -> list[str]:
            return [f"{titles[c]}（{c}）" for c in columns if absent(comp, c)]

        # An optional column the export lacks: the figure is not in this export (the note says so),
        # its points stay 0 rather than being counted from empty cells.
        if gone := lacking("unit_id", "major", "responsible") if "major_complaints" in want else []:
            notes.append(not_in_export("、".join(gone), "重大有责投诉不扣分，扣分只含负面舆情"))
        if gone95 := lacking("unit_id", "channel") if want & {"complaints_95599", "complaints_95599_prev"} else []:
            notes.append(not_in_export("、".join(gone95), "各支行95599投诉按0计"))
        now = attribute(now, "unit_id", f"{period}投诉") if not absent(comp, "unit_id") else now.assign(unit_id=pd.Series(pd.NA, index=now.index, dtype="string"))
        if "major_complaints" in want:
            major = now[now["major"].fillna(False).astype(bool) & now["responsible"].fillna(False).astype(bool)]
            out["major_complaints"] = per_unit(major.groupby("unit_id").size().astype("float64"))
        if want & {"complaints_95599", "complaints_95599_prev"}:
            prev = attribute(prev, "unit_id", f"{period.previous()}投诉") if not absent(comp, "unit_id") else prev.assign(unit_id=pd.Series(pd.NA, index=prev.index, dtype="string"))
            out["complaints_95599"] = per_unit(now[now["channel"] == "95599"].groupby("unit_id").size().astype("float64"))
            out["complaints_95599_prev"] = per_unit(prev[prev["channel"] == "95599"].groupby("unit_id").size().astype("float64"))

    # -- negative media
    if "negative_media" in want:
        media = table("media_events")
        media = media[period.contains(pd.to_datetime(media["reported_on"])) & media["level"].isin(CITY_OR_ABOVE)].astype({"sub_branch_id": "string"})
        unknown = ~media["sub_branch_id"].isin(unit_index)
        if unknown.any():
            notes.append(f"负面舆情：{int(unknown.sum())}条记录的支行不在机构信息中，未计入")
        out["negative_media"] = per_unit(media[~unknown].groupby("sub_branch_id").size().astype("float64"))

    # -- campaign records
    if want & {"skill_imported", "skill_acceptance", "six_s_passed", "supervision_score", "top100_outlets", "top1000_outlets"}:
        camp = table("campaign")
        camp = attribute(camp[camp["year"].astype("Int64") == period.year], "outlet_id", "活动台账")
        imported = camp["skill_imported"].fillna(False).astype(bool)
        g = camp.groupby("unit_id")
        out["skill_imported"] = per_unit(imported.groupby(camp["unit_id"]).sum().astype("float64"))
        out["skill_acceptance"] = per_unit(camp.loc[imported, "skill_acceptance"].astype("float64").groupby(camp.loc[imported, "unit_id"]).mean(), None)
        out["six_s_passed"] = per_unit(camp["six_s_passed"].fillna(False).astype(bool).groupby(camp["unit_id"]).sum().astype("float64"))
        out["supervision_score"] = per_unit(g["supervision_score"].mean().astype("float64"), None)
        out["top100_outlets"] = per_unit((camp["award"] == "top100").fillna(False).groupby(camp["unit_id"]).sum().astype("float64"))
        out["top1000_outlets"] = per_unit((camp["award"] == "top1000").fillna(False).groupby(camp["unit_id"]).sum().astype("float64"))

    # -- business figures
    if want & set(k for k, v in MEASURES.items() if v == ("business",)):
        bus = attribute(table("business"), "outlet_id", "业务数据")
        bus["month"] = bus["month"].astype("string")
        prev_months = period.previous().months
        end_month, base_month = period.last_month_label, f"{period.year - 1}-12"
        for label, months in ((str(period), period.months), (str(period.previous()), prev_months)):
            have = bus[bus["month"].isin(months)]
            if have.empty:
                raise InputValueError(f"business: no figures for {label} ({months[0]}..{months[-1]}); cannot build the e-channel and growth inputs")
        flows_now = bus[bus["month"].isin(period.months)].groupby("unit_id")[["e_txn", "fin_txn"]].sum()
        flows_prev = bus[bus["month"].isin(prev_months)].groupby("unit_id")[["e_txn", "fin_txn"]].sum()
        out["e_txn"], out["all_txn"] = per_unit(flows_now["e_txn"].astype("float64")), per_unit(flows_now["fin_txn"].astype("float64"))
        out["e_txn_prev"], out["all_txn_prev"] = per_unit(flows_prev["e_txn"].astype("float64")), per_unit(flows_prev["fin_txn"].astype("float64"))
        for suffix, month in (("", end_month), ("_prev", base_month)):
            snap = bus[bus["month"] == month].copy()
            missing = sorted(set(outlets["outlet_id"]) - set(snap["outlet_id"].astype("string")))
            if missing:
                notes.append(f"业务数据：{len(missing)}个网点没有{month}的数据，其余额按0计（{'、'.join(missing[:5])}{'等' if len(missing) > 5 else ''}）")
            snap["vip_fa"] = financial_assets(snap, "vip")
            snap["personal_fa"] = financial_assets(snap, "personal")
            s = snap.groupby("unit_id")[["vip_customers", "vip_fa", "personal_fa", "vip_cards", "vip_eligible", "personal_deposits"]].sum()
            out[f"vip{suffix}"] = per_unit(s["vip_customers"].astype("float64"))
            out[f"vip_fa{suffix}"] = per_unit(s["vip_fa"].astype("float64"))
            out[f"personal_fa{suffix}"] = per_unit(s["personal_fa"].astype("float64"))
            out[f"cards_issued{suffix}"] = per_unit(s["vip_cards"].astype("float64"))
            out[f"cards_eligible{suffix}"] = per_unit(s["vip_eligible"].astype("float64"))
            out[f"deposits{suffix}"] = per_unit(s["personal_deposits"].astype("float64"))

    # -- staffing (evaluation-2016)
    if want & {"outlets_with_lobby", "supervisors"}:
        from analysis.metrics import latest_snapshot

        # each outlet's last snapshot, lobby staff by the registry's rule (unknown never counts as having one)
        st = attribute(latest_snapshot(table("staffing"), period.start, period.end), "outlet_id", "人员配备")
        out["outlets_with_lobby"] = per_unit((st["lobby_staff"] >= 1).groupby(st["unit_id"]).sum().astype("float64"))
        out["supervisors"] = per_unit(st["service_supervisors"].fillna(0).astype("float64").groupby(st["unit_id"]).sum())

    # -- teller ratings (evaluation-2016)
    if want & {"teller_rated", "teller_satisfied"}:
        from analysis.events.tellers import ratings

        if "teller_ratings" not in read:
            read.append("teller_ratings")
        # per outlet on the engine (the rating rules of analysis.events.tellers), then to sub-branches
        per_outlet = ratings(_event_source(tables, get, "teller_ratings"), by=["outlet_id"], period=period).table
        tr = attribute(per_outlet, "outlet_id", "柜员服务评价", records="transactions")
        out["teller_rated"] = per_unit(tr.groupby("unit_id")["rated"].sum().astype("float64"))
        out["teller_satisfied"] = per_unit(tr.groupby("unit_id")["satisfied"].sum().astype("float64"))

    table_out = out.reset_index()
    order = [c for c in BASE if c in table_out] + [c for c in table_out.columns if c not in BASE]
    return BuildResult(period, table_out[order], checks, survey_se.rename("survey_se"), [t for t in needed if t in read] + [t for t in read if t not in needed], notes)

"""Bank-wide figures for the campaign overview and the unit pages, computed once per run and cached.

Every unit page needs the same bank-wide results: the league table, the Monte Carlo rank intervals,
the previous period's ranks, the campaign targets of every sub-branch, the figures of every
sub-branch, peer group and the whole bank, and the outlets' peer-group and funnel results. Computing
them 25 times would cost 25 league tables and 25 Monte Carlo runs, so they are computed once:

    shared = load(processed_dir, "2016-06")          # computed, or read from the cache
    shared.league, shared.targets, shared.figures ...  # plain DataFrames

**The cache.** ``<processed>/derived/scorecard/<period>-<fingerprint>/``: one Parquet file per table
and ``meta.json``. The fingerprint is sha256 over the bytes of the clean tables read
(:data:`INPUT_TABLES`), the targets file, the scheme file, the options (:class:`Options`), the
suite version and the analysis package's source code (:func:`code_hash`: a changed computation
anywhere recomputes). The
same data, period and options give the same folder; anything else misses the cache and recomputes.
The report runner calls :func:`load` once before it starts the unit pages (and for the overview), so
the 25 notebooks only read. A notebook run on its own computes and writes the cache itself; two
processes racing write to private temporary folders and the first rename wins. Older folders of the
same period are removed when a new one is written.

**What is in it** (all full precision; pages round for display):

- ``league``: one row per unit in rank order: unit_id, unit_name, area, outlets, rank, total, the
  indicator points and deductions, award_eligible, the marginal rank confidence set rank_lo / rank_hi,
  the simultaneous rank_lo_simul / rank_hi_simul, rank_median, could_be_top, rank_prev / rank_change / total_prev / total_change (empty when the previous period
  cannot be scored), gap_to_leader and the unit's generated sentence;
- ``indicators``: unit x indicator: weight, points, share of the weight, the leader's and the best
  points, points lost against the leader, gain from matching the best, and the rank that gain gives
  (:mod:`analysis.scoring.insights` definitions);
- ``tied``: pairs of units the Monte Carlo cannot tell apart;
- ``targets``: every campaign target for the whole bank (unit_id "") and for each sub-branch
  (``analysis.targets.evaluate(..., sub_branch=...)``), with texts ready for display;
- ``figures``: for each sub-branch, area (the unit's peer group: urban or county sub-branches) and
  the bank: complaints per 10,000 financial transactions (complaints naming an outlet; with last
  year's rate and the exact test of the change: verdict and the one-sided p-value of its side), mean wait and share waiting over 10 minutes,
  teller rating satisfaction and rating rate, mystery-shopper average and survey score; for
  sub-branches also the rank within their peer group (1 = best);
- ``outlets``: outlet x metric: value, rank and band within the outlet's peer group (area x grade;
  :func:`analysis.peers.group_comparison`);
- ``funnels``: outlet x measure (complaints, waits, satisfaction): rate, expected count, funnel flag
  and direction (:func:`analysis.peers.unit_funnel`);
- ``trends``: the bank and each sub-branch x :data:`TREND_METRICS` x month: the registry metric's
  monthly numerator, denominator and value (the unit page's small trend panels).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.errors import InputValueError
from analysis.files import sha256_file, sha256_remembered
from analysis.periods import Period

DERIVED_VERSION = 5
INPUT_TABLES = [
    "outlets", "mystery_shopper", "satisfaction", "complaints", "media_events", "campaign", "business",
    "staffing", "teller_ratings", "queue_tickets", "calls",
]
TABLES = ["league", "indicators", "tied", "targets", "figures", "outlets", "funnels", "trends"]
AREA_ZH = {"urban": "市区", "county": "县域"}
DEFAULT_TARGETS_FILE = config.TARGETS_DIR / "campaign-2016.yaml"  # = analysis.targets.DEFAULT_TARGETS_FILE (tested)

#: The figures compared on a unit page: title, unit, which direction is better.
FIGURES = {
    "complaints_per_10k": {"title": "客户投诉", "unit": "件/万笔交易", "better": "lower"},
    "wait_mean": {"title": "平均等候时间", "unit": "分钟", "better": "lower"},
    "wait_over_10": {"title": "等候超过10分钟的客户占比", "unit": "%", "better": "lower"},
    "teller_satisfaction": {"title": "柜员服务评价满意度", "unit": "%", "better": "higher"},
    "rating_rate": {"title": "柜员服务评价率", "unit": "%", "better": "higher"},
    "mystery_shopper": {"title": "神秘人检查平均得分", "unit": "分", "better": "higher"},
    "satisfaction": {"title": "客户满意度调查得分", "unit": "分", "better": "higher"},
}

#: The unit page's monthly trends: the registry's metrics (analysis.metrics.REGISTRY) with a monthly
#: series that a sub-branch can be measured on, one small panel each (the survey is yearly: none).
TREND_METRICS = ["outlet_wait_mean", "teller_satisfaction", "mystery_shopper_mean", "complaints_95599"]


@dataclass(frozen=True)
class Options:
    """What the shared figures depend on besides the data and the period (the unit notebook's
    parameters of the same names)."""

    targets: str = ""  # a targets YAML; "" = targets/campaign-2016.yaml
    scheme: str = "competition-2011"
    n_draws: int = 1000
    seed: int = 2016

    @classmethod
    def from_parameters(cls, params: dict) -> Options:
        """The options among a notebook's parameters (others ignored)."""
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in params.items() if k in names})

    def targets_path(self) -> Path:
        # analysis.targets.DEFAULT_TARGETS_FILE, without importing scipy into every unit page's kernel
        return Path(self.targets) if self.targets else DEFAULT_TARGETS_FILE

    def scheme_path(self) -> Path:
        from analysis.scoring.model import scheme_path

        return scheme_path(self.scheme)


@dataclass
class Shared:
    meta: dict
    league: pd.DataFrame
    indicators: pd.DataFrame
    tied: pd.DataFrame
    targets: pd.DataFrame
    figures: pd.DataFrame
    outlets: pd.DataFrame
    funnels: pd.DataFrame
    trends: pd.DataFrame
    cache_dir: Path | None = field(default=None, repr=False)

    @property
    def period(self) -> Period:
        return Period.parse(self.meta["period"])

    def unit_ids(self) -> list[str]:
        return list(self.league["unit_id"])

    def unit_row(self, unit_id: str) -> pd.Series:
        hit = self.league[self.league["unit_id"] == str(unit_id)]
        if hit.empty:
            known = ", ".join(f"{u} {n}" for u, n in sorted(zip(self.league["unit_id"], self.league["unit_name"])))
            raise InputValueError(f"unit {unit_id!r} is not one of the {len(self.league)} scored units: {known}")
        return hit.iloc[0]


# ---------------------------------------------------------------------------------- fingerprints
def _sha256(path: Path) -> str | None:
    return sha256_file(path) if path.exists() else None


def _table_sha256(path: Path) -> str | None:
    """A clean table's hash, remembered beside it (every notebook and unit page asks)."""
    return sha256_remembered(path) if path.exists() else None


def code_hash() -> str:
    """sha256 over the analysis package's Python sources: a change to any computation recomputes."""
    h = hashlib.sha256()
    for path in sorted(config.PACKAGE_DIR.rglob("*.py")):
        h.update(path.relative_to(config.PACKAGE_DIR).as_posix().encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def fingerprint(processed_dir: Path | str, period: Period | str, options: Options | None = None) -> str:
    """sha256 of everything the shared figures depend on (see the module docstring)."""
    from analysis import __version__

    opts = options or Options()
    payload = {
        "version": [__version__, DERIVED_VERSION],
        "code": code_hash(),
        "period": str(Period.parse(period)),
        "tables": {t: _table_sha256(config.table_path(t, processed_dir)) for t in INPUT_TABLES},
        "targets": _sha256(opts.targets_path()),
        "scheme": _sha256(opts.scheme_path()),
        "options": {"n_draws": opts.n_draws, "seed": opts.seed},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def cache_root(processed_dir: Path | str) -> Path:
    return Path(processed_dir) / "derived" / "scorecard"


# ----------------------------------------------------------------------------------------- load
def load(processed_dir: Path | str = config.PROCESSED_DIR, period: Period | str = config.DEFAULT_PERIOD, options: Options | None = None,
         *, cache: bool = True) -> Shared:
    """The shared figures for ``period``: from the cache when its fingerprint matches, else computed
    (and cached, unless ``cache`` is False)."""
    processed_dir = Path(processed_dir)
    period = Period.parse(period)
    opts = options or Options()
    fp = fingerprint(processed_dir, period, opts)
    folder = cache_root(processed_dir) / f"{period}-{fp[:16]}"
    if cache and (folder / "meta.json").exists():
        try:
            shared = read(folder)
            if shared.meta.get("fingerprint") == fp:
                return shared
        except Exception:  # (a damaged cache is recomputed, never trusted)
            pass
    shared = compute(processed_dir, period, opts)
    shared.meta["fingerprint"] = fp
    if cache:
        # read back what was written: fresh and cached figures then have the same types
        return read(write(shared, folder))
    return shared


def write(shared: Shared, folder: Path) -> Path:
    """Write the tables and meta.json into ``folder`` (through a temporary folder and a rename)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name in TABLES:
            getattr(shared, name).to_parquet(tmp / f"{name}.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(shared.meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        try:
            os.rename(tmp, folder)
        except OSError:  # another process wrote the same folder first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    prefix = folder.name.rsplit("-", 1)[0] + "-"
    for old in folder.parent.iterdir():  # earlier inputs of the same period
        if old.is_dir() and old.name.startswith(prefix) and old.name != folder.name and not old.name.startswith("."):
            rest = old.name[len(prefix):]
            if len(rest) == 16 and all(c in "0123456789abcdef" for c in rest):
                shutil.rmtree(old, ignore_errors=True)
    return folder


def read(folder: Path) -> Shared:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    return Shared(meta=meta, cache_dir=folder, **tables)


# -------------------------------------------------------------------------------------- compute
class _Tables:
    """What ``analysis.scoring.report.run_competition`` needs of a notebook context: the period and
    the clean tables (read once)."""

    def __init__(self, processed_dir: Path, period: Period) -> None:
        self.processed_dir, self.period = processed_dir, period
        self._cache: dict[str, pd.DataFrame] = {}

    def path(self, name: str) -> Path:
        """Where a clean table lies (the event logs are aggregated on the engine, not loaded)."""
        return config.table_path(name, self.processed_dir)

    def table(self, name: str) -> pd.DataFrame:
        from analysis.clean.engine import load_table

        if name not in self._cache:
            self._cache[name] = load_table(name, self.processed_dir)
        return self._cache[name].copy()


def compute(processed_dir: Path | str, period: Period | str, options: Options | None = None) -> Shared:
    """Compute every shared table (no cache)."""
    from analysis.metrics import Data
    from analysis.scoring.report import run_competition

    t0 = time.perf_counter()
    opts = options or Options()
    period = Period.parse(period)
    processed_dir = Path(processed_dir)
    tables = _Tables(processed_dir, period)
    comp = run_competition(tables, opts.scheme, n_draws=opts.n_draws, seed=opts.seed)
    outlets = tables.table("outlets")
    league = league_table(comp, outlets)
    data = Data(processed_dir)
    targets = targets_table(opts.targets_path(), period, data, list(league["unit_id"]))
    figures = figures_table(tables, data, period, league)
    outlets_cmp, funnels = outlet_tables(tables, period, opts.targets_path())
    trends = trends_table(data, period, list(league["unit_id"]))
    result = comp.result
    from analysis.scoring import insights

    meta = {
        "period": str(period),
        "previous": str(period.previous()) if comp.previous is not None else None,
        "scheme": {"id": comp.scheme.id, "title": comp.scheme.title, "unit": comp.scheme.unit, "assumed": bool(getattr(comp.scheme, "assumed", False)),
                   "indicators": [{"id": i.id, "name": i.name, "weight": float(result.weights[i.id])} for i in comp.scheme.indicators],
                   "deductions": [{"id": d.id, "name": d.name} for d in comp.scheme.deductions],
                   "ineligible_at": comp.scheme.eligibility[0].ineligible_at if comp.scheme.eligibility else None},
        "targets_file": str(opts.targets_path()),
        "targets_title": _targets_title(opts.targets_path()),
        "n_units": int(len(league)),
        "headline": insights.headline(result),
        "notes": list(comp.notes),
        "warnings": [str(w) for w in result.warnings],
        "monte_carlo": dict(comp.mc.settings) if comp.mc is not None else None,
        "options": asdict(opts),
        "computed_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return Shared(meta=meta, league=league, indicators=indicator_table(result), tied=tied_table(comp), targets=targets,
                  figures=figures, outlets=outlets_cmp, funnels=funnels, trends=trends)


def _targets_title(path: Path) -> str:
    from analysis.targets import load_targets

    return load_targets(path).title


def _area_of_units(outlets: pd.DataFrame) -> pd.DataFrame:
    """Per sub-branch: its area (the most common among its outlets) and outlet count."""
    o = outlets.assign(sub_branch_id=outlets["sub_branch_id"].astype("string"), area=outlets["area"].astype("string"))
    g = o.groupby("sub_branch_id")
    return pd.DataFrame({"area": g["area"].agg(lambda s: s.mode().iloc[0] if len(s.mode()) else pd.NA), "outlets": g.size()})


def league_table(comp, outlets: pd.DataFrame) -> pd.DataFrame:
    """The league table with the unit's area, rank interval, previous rank and sentence (see module docstring)."""
    from analysis.scoring import insights

    result = comp.result
    t = result.table.copy()
    t["unit_id"] = t["unit_id"].astype(str)
    units = _area_of_units(outlets)
    t["area"] = t["unit_id"].map(units["area"]).astype(object)
    t["outlets"] = t["unit_id"].map(result.inputs.set_index(result.inputs["unit_id"].astype(str))["outlets"]).astype("float64")
    t["gap_to_leader"] = float(t["total"].iloc[0]) - t["total"]
    if comp.mc is not None:
        iv = comp.mc.intervals.assign(unit_id=comp.mc.intervals["unit_id"].astype(str)).set_index("unit_id")
        for c in ("rank_lo", "rank_hi", "rank_lo_simul", "rank_hi_simul", "rank_median", "could_be_top"):
            t[c] = t["unit_id"].map(iv[c])
    else:
        for c in ("rank_lo", "rank_hi", "rank_lo_simul", "rank_hi_simul", "rank_median", "could_be_top"):
            t[c] = np.nan
    mv = None
    if comp.previous is not None:
        mv = insights.movers(result, comp.previous)
        m = mv.assign(unit_id=mv["unit_id"].astype(str)).set_index("unit_id")
        for c in ("rank_prev", "rank_change", "total_prev", "total_change"):
            t[c] = t["unit_id"].map(m[c]).astype("float64")
    else:
        for c in ("rank_prev", "rank_change", "total_prev", "total_change"):
            t[c] = np.nan
    s = insights.unit_sentences(result, intervals=comp.mc.intervals if comp.mc is not None else None,
                                tied_with=comp.mc.tied_with() if comp.mc is not None else None, movers_table=mv)
    t["sentence"] = t["unit_id"].map(s.assign(unit_id=s["unit_id"].astype(str)).set_index("unit_id")["sentence"])
    t["award_eligible"] = t["award_eligible"].astype(bool)
    return t.reset_index(drop=True)


def indicator_table(result) -> pd.DataFrame:
    """Unit x indicator: weight, points, share, leader's and best points, loss against the leader, gain
    from matching the best and the rank that gain would give (every other unit unchanged)."""
    from analysis.scoring.engine import RANK_DECIMALS

    pts = result.points
    pts.index = pts.index.astype(str)
    leader = str(result.table["unit_id"].iloc[0])
    best = pts.max(axis=0)
    totals = result.table.set_index(result.table["unit_id"].astype(str))["total"]
    rows = []
    for uid in pts.index:
        others = totals.drop(uid).round(RANK_DECIMALS)
        for ind in result.scheme.indicators:
            w = float(result.weights[ind.id])
            p = float(pts.at[uid, ind.id])
            gain = float(best[ind.id]) - p
            rows.append({
                "unit_id": uid, "indicator": ind.id, "name": ind.name, "weight": w, "points": p, "share": p / w if w else np.nan,
                "leader_points": float(pts.at[leader, ind.id]), "best_points": float(best[ind.id]),
                "loss_vs_leader": float(pts.at[leader, ind.id]) - p, "gain": gain,
                "rank_if_best": int((others > round(float(totals[uid]) + gain, RANK_DECIMALS)).sum() + 1),
            })
    return pd.DataFrame(rows)


def tied_table(comp) -> pd.DataFrame:
    if comp.mc is None:
        return pd.DataFrame({"unit_id": pd.Series(dtype=str), "other_id": pd.Series(dtype=str)})
    rows = [(str(u), str(o)) for u, others in comp.mc.tied_with().items() for o in others]
    return pd.DataFrame(rows, columns=["unit_id", "other_id"])


_TARGET_COLUMNS = ["target_id", "metric", "group", "group_title", "title", "title_en", "scope_kind", "scope_label", "rule", "unit", "direction",
                   "actual", "target", "gap", "gap_low", "gap_high", "alpha", "projection", "projection_basis", "status", "final", "deadline", "p_value", "rate_ratio",
                   "note", "sentence"]


def targets_table(targets_file: Path, period: Period, data, unit_ids: list[str]) -> pd.DataFrame:
    """Every target for the whole bank (unit_id "") and for each sub-branch, with display texts."""
    from analysis import targets as T

    tf = T.load_targets(targets_file)
    parts = []
    for uid in ["", *unit_ids]:
        ev = T.evaluate(tf, period, data, sub_branch=uid or None)
        part = ev.table[_TARGET_COLUMNS].copy()
        part.insert(0, "unit_id", uid)
        part["order"] = range(len(part))
        part["actual_text"] = [T.format_value(a, u) for a, u in zip(part["actual"], part["unit"])]
        part["target_text"] = [T.target_text(r) if not (isinstance(r["target"], float) and np.isnan(r["target"])) else "—" for _, r in part.iterrows()]
        part["projection_text"] = [T.format_value(p, u) if b not in ("final", "yearly") else "—" for p, u, b in zip(part["projection"], part["unit"], part["projection_basis"])]
        part["status_label"] = part["status"].map(T.STATUS_LABELS)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    for c in ("note", "sentence", "projection_basis", "scope_label", "deadline"):
        out[c] = out[c].astype(object).where(out[c].notna(), "").astype(str)
    out["final"] = out["final"].astype(bool)
    return out


def trends_table(data, period: Period, unit_ids: list[str]) -> pd.DataFrame:
    """Each :data:`TREND_METRICS` metric by month over the period, for the bank (unit_id "") and every
    sub-branch, computed by the metrics registry (the same definition the targets use): unit_id,
    metric, title, unit, month, num, den, value (= num / den; months without a denominator left out)."""
    from analysis.metrics import REGISTRY, NoData, Selection, selection_for

    rows: list[dict] = []
    for uid in ["", *unit_ids]:
        try:
            sel = Selection(label="全行") if not uid else selection_for(data, "sub_branch", uid)
        except NoData:
            continue
        for metric in TREND_METRICS:
            spec = REGISTRY[metric]
            try:
                m = spec.compute(data, period, sel, {k: v for k, v in spec.params.items() if v is not None})
            except NoData:
                continue
            if m.series is None or (metric == "complaints_95599" and m.extra.get("per") != "10k"):
                continue
            for r in m.series.itertuples():
                if r.den > 0:
                    rows.append({"unit_id": uid, "metric": metric, "title": spec.title, "unit": spec.unit, "month": str(r.month),
                                 "num": float(r.num), "den": float(r.den), "value": float(r.num) / float(r.den)})
    cols = ["unit_id", "metric", "title", "unit", "month", "num", "den", "value"]
    return pd.DataFrame(rows, columns=cols).astype({"unit_id": str, "metric": str, "title": str, "unit": str, "month": str})


def _rank(values: pd.Series, better: str) -> pd.Series:
    return values.rank(method="min", ascending=(better == "lower"))


def figures_table(tables: _Tables, data, period: Period, league: pd.DataFrame) -> pd.DataFrame:
    """Each figure of :data:`FIGURES` for every sub-branch, area and the bank (long form)."""
    from analysis.complaints import stats as S
    from analysis.metrics import NoData, bank_complaint_rate, mystery_shopper_mean, satisfaction_score, selection_for, wait_parts

    outlets = tables.table("outlets")
    sb_of = outlets.set_index(outlets["outlet_id"].astype("string"))["sub_branch_id"].astype("string")
    area_of_sb = league.set_index("unit_id")["area"]
    unit_ids = list(league["unit_id"])
    scopes = [(u, "unit") for u in unit_ids] + [(a, "area") for a in sorted(set(area_of_sb.dropna()))] + [("bank", "bank")]
    rows: list[dict] = []

    def members(scope: str, kind: str) -> list[str]:
        if kind == "unit":
            return [scope]
        if kind == "area":
            return [u for u in unit_ids if area_of_sb.get(u) == scope]
        return unit_ids

    def add_ratio(metric: str, per_unit: pd.DataFrame, num: str, den: str, scale: float = 1.0, prev: pd.DataFrame | None = None) -> None:
        for scope, kind in scopes:
            ids = members(scope, kind)
            n, d = float(per_unit.reindex(ids)[num].sum()), float(per_unit.reindex(ids)[den].sum())
            row = {"scope": scope, "scope_kind": kind, "metric": metric, "value": n / d * scale if d > 0 else np.nan, "num": n, "den": d}
            if prev is not None:
                pn, pd_ = float(prev.reindex(ids)[num].sum()), float(prev.reindex(ids)[den].sum())
                row["prev_value"] = pn / pd_ * scale if pd_ > 0 else np.nan
                row["prev_num"] = pn
                test = S.rate_test(int(pn), pd_, int(n), d, alternative="less") if pd_ > 0 and d > 0 else None
                row["verdict"] = test["verdict"] if test else "no data"
                # the one-sided p-value of the verdict's side (a rise: P(more); otherwise: P(fewer))
                row["p_value"] = (test["p_greater"] if test["verdict"] == "increase" else test["p_less"]) if test else np.nan
            rows.append(row)

    # complaints naming an outlet, per 10,000 financial transactions; last year's same span
    ut = S.unit_table(tables.table("complaints"), tables.table("business"), outlets, period)
    ut["unit"] = ut["unit"].astype(str)
    now = ut.set_index("unit")[["complaints", "transactions"]].rename(columns={"complaints": "num", "transactions": "den"})
    prev = ut.set_index("unit")[["complaints_prev", "transactions_prev"]].rename(columns={"complaints_prev": "num", "transactions_prev": "den"})
    if S.absent(tables.table("complaints"), "unit_id"):  # no outlet named in the export: no figure, not 0
        rows += [{"scope": scope, "scope_kind": kind, "metric": "complaints_per_10k", "value": np.nan, "num": np.nan, "den": np.nan,
                  "prev_value": np.nan, "prev_num": np.nan, "verdict": S.NOT_IN_EXPORT, "p_value": np.nan} for scope, kind in scopes]
    else:
        add_ratio("complaints_per_10k", now.fillna(0), "num", "den", S.PER, prev.fillna(0))
        # the whole bank's row is the registry's whole-bank rate (every complaint, naming an outlet or not)
        bank_row = next(r for r in rows if r["metric"] == "complaints_per_10k" and r["scope_kind"] == "bank")
        cur, old = (bank_complaint_rate(tables.table("complaints"), tables.table("business"), outlets, period, previous=p) for p in (False, True))
        test = S.rate_test(int(old["num"]), old["den"], int(cur["num"]), cur["den"], alternative="less") if old["den"] > 0 and cur["den"] > 0 else None
        bank_row.update(value=cur["value"], num=cur["num"], den=cur["den"], prev_value=old["value"], prev_num=old["num"],
                        verdict=test["verdict"] if test else "no data",
                        p_value=(test["p_greater"] if test["verdict"] == "increase" else test["p_less"]) if test else np.nan)

    # waits (called tickets; customers who left have no wait) and teller ratings, from the event tables
    w = data.waits()
    w = w[w["month"].isin(period.months)]  # each day's month, from analysis.metrics.Data
    w = pd.concat([w[["outlet_id"]], wait_parts(w)], axis=1).assign(  # the mean wait's one definition (analysis.metrics)
        unit=w["outlet_id"].astype("string").map(sb_of), over=w["over_10min"].astype("float64"))
    wu = w.groupby("unit")[["called", "wait_total", "over"]].sum()
    wu.index = wu.index.astype(str)
    add_ratio("wait_mean", wu, "wait_total", "called")
    add_ratio("wait_over_10", wu, "over", "called")
    r = data.ratings()
    r = r[r["month"].astype("string").str[:7].isin(period.months)]
    r = r.assign(unit=r["outlet_id"].astype("string").map(sb_of), **{c: r[c].astype("float64") for c in ("transactions", "rated", "satisfied")})
    ru = r.groupby("unit")[["transactions", "rated", "satisfied"]].sum()
    ru.index = ru.index.astype(str)
    add_ratio("teller_satisfaction", ru, "satisfied", "rated")
    add_ratio("rating_rate", ru, "rated", "transactions")

    # sample means through the campaign metrics (the same definitions as the targets)
    for metric, fn in (("mystery_shopper", mystery_shopper_mean), ("satisfaction", satisfaction_score)):
        for scope, kind in scopes:
            try:
                sel = selection_for(data, "sub_branch", scope) if kind == "unit" else selection_for(data, "area", scope) if kind == "area" else selection_for(data, "bank")
                m = fn(data, period, sel, {})
                rows.append({"scope": scope, "scope_kind": kind, "metric": metric, "value": m.value, "num": np.nan, "den": float(m.n) if m.n is not None else np.nan})
            except NoData:
                rows.append({"scope": scope, "scope_kind": kind, "metric": metric, "value": np.nan, "num": np.nan, "den": np.nan})

    out = pd.DataFrame(rows)
    for c in ("prev_value", "prev_num", "p_value"):
        if c not in out:
            out[c] = np.nan
    out["verdict"] = out.get("verdict", pd.Series(index=out.index, dtype=object)).astype(object).where(lambda s: s.notna(), "")
    out["verdict_zh"] = out["verdict"].map(S.VERDICTS).fillna("")
    # rank within the peer group (same area), 1 = best
    out["group_rank"] = np.nan
    out["group_n"] = np.nan
    units_rows = out["scope_kind"] == "unit"
    out["area"] = out["scope"].map(area_of_sb).where(units_rows, out["scope"].where(out["scope_kind"] == "area"))
    for (metric, _area), idx in out[units_rows].groupby(["metric", "area"]).groups.items():
        vals = out.loc[idx, "value"]
        out.loc[idx, "group_rank"] = _rank(vals, FIGURES[metric]["better"])
        out.loc[idx, "group_n"] = float(vals.notna().sum())
    out["area"] = out["area"].astype(object).where(out["area"].notna(), "").astype(str)
    return out[["scope", "scope_kind", "area", "metric", "value", "num", "den", "prev_value", "prev_num", "verdict", "verdict_zh", "p_value", "group_rank", "group_n"]]


def outlet_tables(tables: _Tables, period: Period, targets_file: Path = DEFAULT_TARGETS_FILE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outlets against their peer group (area x grade) and on the three funnels (satisfaction
    centred on the targets file's teller_satisfaction target)."""
    from analysis import peers

    outlets = tables.table("outlets")
    inputs = peers.unit_rate_inputs(outlets, tables.table("complaints"), tables.table("business"), config.table_path("queue_tickets", tables.processed_dir),
                                    config.table_path("teller_ratings", tables.processed_dir), period)
    units = peers.unit_metrics(outlets, tables.table("mystery_shopper"), tables.table("staffing"), inputs, period)
    cmp = peers.group_comparison(units, peers.UNIT_METRICS)
    sb = outlets.set_index(outlets["outlet_id"].astype(str))["sub_branch_id"].astype(str)
    cmp = cmp.assign(outlet_id=cmp["outlet_id"].astype(str))
    cmp.insert(2, "sub_branch_id", cmp["outlet_id"].map(sb))
    cmp["better_than_median"] = cmp["better_than_median"].astype("boolean")
    cmp = cmp.astype({"rank": "float64", "n": "float64", "value": "float64"})
    parts = []
    for which, spec in peers.FUNNEL_SPECS.items():
        f = peers.unit_funnel(inputs[which], which, target=peers.satisfaction_target(targets_file) if which == "satisfaction" else None)
        if f.absent:  # the export lacks the column: no funnel rows (the pages say so), not zeros
            continue
        u = f.units.rename(columns={"unit": "outlet_id", "label": "outlet_name"})
        u = u.assign(outlet_id=u["outlet_id"].astype(str), measure=which, title=spec["title"], target=f.target, per=spec["per"], percent=spec["percent"])
        parts.append(u[["outlet_id", "outlet_name", "measure", "title", "numerator", "denominator", "rate", "expected", "target", "per", "percent",
                        "z", "flag", "flag_zh", "direction", "lower_95", "upper_95", "lower_99.8", "upper_99.8"]])
    funnels = pd.concat(parts, ignore_index=True)
    funnels.insert(1, "sub_branch_id", funnels["outlet_id"].map(sb))
    return cmp, funnels

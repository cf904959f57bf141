"""Publish a campaign folder's reports: ``python -m analysis run --campaign examples/NAME [--out DIR]``.

Steps: load and check ``campaign.yaml`` (:mod:`analysis.campaigns`); clean its raw folder into
``OUT/processed`` (the example folder is only read); run the campaign notebooks
(``notebooks/campaign/NN_*.ipynb``) whose input tables the campaign has, so a water bureau without
outpatient visits gets no visits page and no empty page; run the unit page
(``notebooks/campaign/units/unit_page.ipynb``) once per unit of its clean tables; judge its
targets for the overview; write ``OUT/index.html`` (the overview: targets with their status, the
unit pages, the reports) and ``OUT/manifest.json``. The pages and the index use the campaign's
hierarchy labels (局 → 站/窗口, 医院 → 科室), never the bank's.

The notebooks run on the same worker pool, executor and page exporter as the bank's suite
(:mod:`analysis.report.runner`); the bank's ``run`` is unchanged.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from pathlib import Path

from analysis import campaigns, config
from analysis.errors import InputValueError
from analysis.files import write_atomic

UNITS_DIR = "units"


def unit_pages(unit_ids: list[str]) -> dict[str, str]:
    """unit id -> its page, relative to the reports folder: ``units/<id>.html`` with every character
    that is not a letter, digit, - or _ replaced (ids come from data); distinct ids, distinct pages."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for uid in unit_ids:
        stem = re.sub(r"[^\w\-]", "_", uid).strip("._") or "unit"
        name, k = stem, 2
        while name.lower() in used:
            name, k = f"{stem}-{k}", k + 1
        used.add(name.lower())
        out[uid] = f"{UNITS_DIR}/{name}.html"
    return out


def overview(c: campaigns.Campaign, period: str, processed_dir: Path, tables: set[str]) -> dict:
    """The index's first screen: every target of the campaign with its status, the verdict, and a
    figure per unit (JSON-ready)."""
    from analysis import overview as ov
    from analysis import targets as T
    from analysis.periods import Period

    p = Period.parse(period)
    result = T.evaluate(c.targets_path, p, processed_dir)
    table = result.table
    rows = []
    for _, r in table.iterrows():
        rows.append({"target_id": r["target_id"], "group": r["group_title"], "title": r["title"], "title_en": r["title_en"],
                     "scope": r["scope_label"], "actual": T.format_value(r["actual"], r["unit"]),
                     "target": T.target_text(r) if r["status"] != "n/a" else "—", "deadline": str(r["deadline"]),
                     "status": r["status"], "status_label": ov.STATUS_LABELS[r["status"]], "sentence": r["sentence"],
                     "reason": T.status_reason(r), "css": _STATUS_CSS.get(r["status"], "na")})
    counts = ov.status_counts(table["status"])
    return {"period_label": p.label, "targets_title": result.targets.title, "targets": rows, "counts": counts,
            "verdict": ov.verdict(counts), "summary": T.summary_sentence(table, p), "facts": _unit_facts(c, p, processed_dir, tables)}


_STATUS_CSS = {"met": "met", "on track": "on-track", "at risk": "at-risk", "missed": "missed", "n/a": "na"}


def _unit_facts(c: campaigns.Campaign, period, processed_dir: Path, tables: set[str]) -> dict[str, str]:
    """unit id -> a short line for the unit grid (work orders on time and overdue; visits)."""
    import pandas as pd

    from analysis.clean.engine import load_table

    facts: dict[str, list[str]] = {}
    if "workorders" in tables:
        from analysis.workorders import summarise

        t = summarise(load_table("workorders", processed_dir), period, total_label=c.labels.total).table
        for r in t[t["scope"] != "all"].itertuples():
            share = "—" if pd.isna(r.on_time_share) else f"{r.on_time_share:.1%}"
            facts.setdefault(str(r.unit_id), []).append(f"按时 {share} · 逾期 {int(r.overdue_open)}")
    if "visits" in tables:
        v = load_table("visits", processed_dir)
        d = pd.to_datetime(v["visit_date"])
        n = v[(d >= period.start) & (d < period.end)].groupby("unit_id").size()
        for uid, k in n.items():
            facts.setdefault(str(uid), []).append(f"门诊 {int(k):,} 人次")
    return {k: " · ".join(v) for k, v in facts.items()}


def run_campaign(folder: Path | str, out_dir: Path | str | None = None, *, period: str | None = None, jobs: int | None = None,
                 engine: str = "duckdb", timeout: float | None = None, echo=print,
                 notebooks_dir: Path | str | None = None) -> dict:
    """Clean, run the campaign's notebooks and unit pages, write ``index.html`` and ``manifest.json``.
    Returns the manifest; its ``status`` is ``failed`` when a page or the overview failed."""
    from analysis.periods import Period
    from analysis.report import runner as R

    c = campaigns.load(folder)
    period = str(Period.parse(period or c.spec.period))
    out = Path(out_dir).resolve() if out_dir else c.default_out().resolve()
    if out == c.folder or c.folder in out.parents:
        raise InputValueError(f"--out {out}: the reports may not go inside the campaign folder {c.folder} (it is read-only)")
    nb_dir = Path(notebooks_dir or campaigns.NOTEBOOKS_DIR).resolve()
    processed = out / "processed"
    started, t0 = R._now(), time.time()

    echo(f"campaign: {c.spec.title} ({c.folder.name}), period {period} -> {out}")
    echo(f"clean: {c.raw_dir} -> {processed}")
    campaigns.clean(c, processed, echo=lambda line: echo(f"  {line}"), engine=engine)
    tables = campaigns.present_tables(processed)
    paths, skipped = campaigns.supported(R.discover(nb_dir), tables)
    for name, missing in skipped.items():
        echo(f"skip {name}: this campaign has no {', '.join(missing)}")
    unit_ids = campaigns.units(processed, tables)
    pages = unit_pages(unit_ids)

    offered = {"period": period, "processed_dir": str(processed), "reports_dir": str(out), "campaign": str(c.folder)}
    optional = (*R.STANDARD_PARAMETERS, "campaign")
    hashes: dict = {}
    job_list = []
    same = campaigns.digest(c)  # the campaign's YAML, not where the folder lies, enters the fingerprints
    for path in paths:
        info = R.read_info(path)
        params = R.select_parameters(info, offered, optional=optional)
        fp, inputs = R.fingerprint(sorted(set(info.inputs) | tables), processed, {**params, "campaign": same}, cache=hashes)
        job_list.append(R.Job(info.name, str(path), info.title, str(out / f"{path.stem}.html"), str(out), params, fp, inputs, timeout))
    unit_path = nb_dir / campaigns.UNIT_NOTEBOOK
    unit_info = R.read_info(unit_path)
    for uid in unit_ids:
        params = R.select_parameters(unit_info, {**offered, "unit_id": uid, "tables": ",".join(sorted(tables))}, optional=optional)
        fp, inputs = R.fingerprint(sorted(tables), processed, {**params, "campaign": same}, cache=hashes)
        job_list.append(R.Job(f"units/{uid}", str(unit_path), f"{uid} · {c.labels.unit}报告", str(out / pages[uid]), str(out),
                              params, fp, inputs, timeout, index_href="../index.html"))

    workers = max(1, min(jobs or os.cpu_count() or 1, len(job_list)))
    width = max(len(j.name) for j in job_list)
    def show(event: dict) -> None:
        echo(R._format_event(event, t0, width))
    echo(f"run: {len(paths)} report(s) + {len(unit_ids)} {c.labels.unit} page(s), {workers} worker(s)")
    results: dict[str, R.Result] = {}
    with R._Workers(workers, show) as pool:
        for res in pool.run(job_list):
            results[res.name] = res

    try:
        ov = {"status": "ok", "data": overview(c, period, processed, tables), "error": None}
    except Exception as exc:  # (shown on the index; the run fails)
        import traceback

        ov = {"status": "failed", "data": None, "error": {"ename": type(exc).__name__, "evalue": str(exc), "detail": traceback.format_exc(limit=8)}}
    reports = [results[p.stem].to_dict() for p in paths]
    units = [{**results[f"units/{u}"].to_dict(), "unit_id": u, "unit_name": u} for u in unit_ids]
    failed = [r["name"] for r in reports + units if r["status"] != "ok"] + (["overview"] if ov["status"] != "ok" else [])
    manifest = {
        "suite": "analysis", "kind": "campaign", "version": R._version(), "status": "failed" if failed else "ok",
        "started": started, "finished": R._now(), "seconds": round(time.time() - t0, 3),
        "campaign": {"name": c.name, "title": c.spec.title, "organisation": c.spec.organisation, "folder": str(c.folder),
                     "hierarchy": c.labels.model_dump(), "targets": str(c.targets_path)},
        "parameters": {"period": period, "raw_dir": str(c.raw_dir), "processed_dir": str(processed), "reports_dir": str(out),
                       "notebooks_dir": str(nb_dir), "jobs": workers, "tables": sorted(tables), "skipped": skipped},
        "python": sys.version.split()[0], "platform": platform.platform(), "packages": R.package_versions(),
        "raw_inputs": R.raw_input_hashes(processed), "reports": reports, "overview": ov, "units": units,
    }
    write_atomic(out / R.MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=1, default=str))
    write_atomic(out / R.INDEX_NAME, render_index(manifest, out))
    ok = sum(1 for r in reports if r["status"] == "ok")
    u_ok = sum(1 for u in units if u["status"] == "ok")
    echo(f"reports: {out / R.INDEX_NAME}  ({ok} ok, {len(reports) - ok} failed); {c.labels.unit} pages: {u_ok} ok, "
         f"{len(units) - u_ok} failed{'; overview FAILED' if ov['status'] != 'ok' else ''} in {manifest['seconds']:.1f} s")
    return manifest


def render_index(manifest: dict, reports_dir: Path) -> str:
    """``templates/campaign_index.html.j2`` for a campaign manifest (every value escaped)."""
    import jinja2

    from analysis.report.index import build_context
    from analysis.report.layout import finish_page

    base = build_context({**manifest, "overview": {"status": "off"}, "units": []}, reports_dir)
    camp = manifest["campaign"]
    ov = manifest["overview"]
    facts = (ov.get("data") or {}).get("facts", {})
    units = [{"unit_id": u["unit_id"], "href": u.get("html"), "status": u["status"], "fact": facts.get(u["unit_id"], ""),
              "error": (u.get("error") or {}).get("evalue", "")} for u in manifest["units"]]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(config.TEMPLATES_DIR)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    status = "ok" if manifest["status"] == "ok" else "failed"
    page = env.get_template("campaign_index.html.j2").render(
        **{**base, "title": f"{camp['organisation']} · {camp['title']}", "status": status}, campaign=camp, labels=camp["hierarchy"],
        ov=ov, campaign_units=units, skipped=manifest["parameters"].get("skipped", {}))
    return finish_page(page, toc=False)

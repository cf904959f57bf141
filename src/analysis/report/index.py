"""The index page, ``reports/index.html``: the campaign overview for the run's period (when the run
made one: targets, league table top and bottom, movers, links to every unit page), then every report
with its status, period, run time, input fingerprint and Excel exports, the unit pages, and what the
run was made with.

:func:`build_context` turns a run manifest into a plain dict and :func:`render_index` renders it
with ``templates/index.html.j2``, so another page (a campaign overview) can reuse either half.
The page follows the same offline rules as the reports: no scripts, no external resources.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from analysis import config
from analysis.report.export import SUITE_NAME, now_text, period_label, write_atomic

STATUS_LABELS = {"ok": "成功 OK", "failed": "失败 Failed"}


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return now_text(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def _size_text(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _export_entry(rel: str, reports_dir: Path | None) -> dict:
    entry = {"href": rel, "name": Path(rel).name, "size": ""}
    if reports_dir is not None:
        path = reports_dir / rel
        if path.exists():
            entry["size"] = _size_text(path.stat().st_size)
    return entry


def build_context(manifest: dict, reports_dir: Path | str | None = None) -> dict:
    """The index page's data, from a run manifest (see ``analysis.report.runner.run_suite``).

    ``reports_dir`` (optional) lets the page show export sizes and list export files that no report
    claims (for example left by an earlier run)."""
    reports_dir = Path(reports_dir) if reports_dir is not None else None
    params = manifest.get("parameters", {})
    reports = []
    claimed: set[str] = set()
    for r in manifest.get("reports", []):
        exports = [_export_entry(e, reports_dir) for e in r.get("exports", [])]
        claimed.update(r.get("exports", []))
        error = r.get("error") or None
        error_text = ""
        if error:
            error_text = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ")
            if len(error_text) > 240:
                error_text = error_text[:237] + "..."
        fp = r.get("fingerprint") or ""
        reports.append(
            {
                "name": r["name"],
                "title": r.get("title") or r["name"],
                "href": r.get("html"),
                "status": r.get("status", "failed"),
                "status_label": STATUS_LABELS.get(r.get("status"), r.get("status", "")),
                "period": r.get("period") or "",
                "period_label": period_label(r.get("period")) or "—",
                "seconds": r.get("seconds"),
                "seconds_text": f"{r['seconds']:.1f} s" if r.get("seconds") else "—",
                "fingerprint": fp,
                "fingerprint_short": fp[:12],
                "exports": exports,
                "error": error_text,
                "kept": bool(r.get("kept")),
                "finished": _when(r.get("finished")),
            }
        )
    other_exports = []
    if reports_dir is not None and (reports_dir / "exports").is_dir():
        for path in sorted((reports_dir / "exports").iterdir()):
            rel = path.relative_to(reports_dir).as_posix()
            if path.is_file() and not path.name.startswith(".") and rel not in claimed:
                other_exports.append(_export_entry(rel, reports_dir))
    units = [_unit_entry(u) for u in manifest.get("units", [])]
    overview = overview_context(manifest, units, reports)
    failed = sum(1 for r in reports if r["status"] != "ok")
    packages = manifest.get("packages", {})
    raw_inputs = manifest.get("raw_inputs", {})
    return {
        "suite": SUITE_NAME,
        "title": "服务提升年总览 · Campaign overview" if overview else "分析报告目录 · Reports",
        "overview": overview,
        "units": units,
        "units_counts": {"total": len(units), "ok": sum(1 for u in units if u["status"] == "ok"), "failed": sum(1 for u in units if u["status"] != "ok")},
        "units_error": manifest.get("units_error") or "",
        "generated": _when(manifest.get("finished")) or now_text(),
        "period": params.get("period", ""),
        "period_label": period_label(params.get("period")),
        "status": "failed" if failed or (overview and overview["status"] != "ok") or manifest.get("units_error")
        or any(u["status"] != "ok" for u in units) else "ok",
        "counts": {"total": len(reports), "ok": len(reports) - failed, "failed": failed},
        "seconds_text": f"{manifest['seconds']:.0f} s" if manifest.get("seconds") is not None else "—",
        "reports": reports,
        "other_exports": other_exports,
        "run": {
            "python": manifest.get("python", ""),
            "platform": manifest.get("platform", ""),
            "version": manifest.get("version", ""),
            "started": _when(manifest.get("started")),
            "finished": _when(manifest.get("finished")),
            "jobs": params.get("jobs"),
            "only": params.get("only"),
            # a reader needs the folder's name; the machine's full path stays in manifest.json
            "raw_dir": Path(params["raw_dir"]).name if params.get("raw_dir") else "",
            "processed_dir": Path(params["processed_dir"]).name if params.get("processed_dir") else "",
            "packages": [{"name": k, "version": v or "未安装 not installed"} for k, v in packages.items()],
            "raw_inputs": [{"file": k, "sha256": v, "short": v[:12]} for k, v in raw_inputs.items()],
            "manifest_href": "manifest.json",
        },
    }


STATUS_CLASSES = {"met": "met", "on track": "on-track", "at risk": "at-risk", "missed": "missed", "n/a": "na"}


def _error_text(error: dict | None, limit: int = 240) -> str:
    if not error:
        return ""
    text = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unit_entry(u: dict) -> dict:
    """A unit page of the manifest, for the index."""
    fp = u.get("fingerprint") or ""
    return {
        "unit_id": str(u.get("unit_id", "")), "name": u.get("unit_name") or u.get("unit_id", ""), "href": u.get("html"),
        "status": u.get("status", "failed"), "status_label": STATUS_LABELS.get(u.get("status"), u.get("status", "")),
        "period_label": period_label(u.get("period")) or "—", "seconds_text": f"{u['seconds']:.1f} s" if u.get("seconds") else "—",
        "fingerprint": fp, "fingerprint_short": fp[:12], "error": _error_text(u.get("error")), "kept": bool(u.get("kept")),
        "finished": _when(u.get("finished")),
    }


def overview_context(manifest: dict, units: list[dict], reports: list[dict] | None = None) -> dict | None:
    """The campaign overview part of the index (None when the run made no overview).

    ``manifest["overview"]``: status ok / failed / off, the overview data (:func:`analysis.overview.build`)
    and the error. Unit pages are joined to the overview's units by unit id."""
    ov = manifest.get("overview") or {}
    if not ov or ov.get("status") == "off":
        return None
    data = ov.get("data") or None
    pages = {u["unit_id"]: u for u in units}
    if data:
        data = dict(data)
        for row in data.get("targets", []):
            row["css"] = STATUS_CLASSES.get(row["status"], "na")
        grid = []
        for u in data.get("units", []):
            page = pages.get(u["unit_id"])
            grid.append({**u, "href": page["href"] if page else None, "page_status": page["status"] if page else "none",
                         "page_kept": bool(page and page["kept"]), "page_period": page["period_label"] if page else ""})
        data["units"] = grid
        data["linked_units"] = sum(1 for u in grid if u["href"])
        data["hrefs"] = {u["unit_id"]: u["href"] for u in grid if u["href"]}
        hits = [r["href"] for r in reports or [] if r.get("href") and re.sub(r"^\d+_", "", r["name"]) == "targets"]
        data["targets_href"] = hits[0] if hits else None
    return {"status": ov.get("status", "failed"), "error": _error_text(ov.get("error"), 400), "error_detail": (ov.get("error") or {}).get("detail", ""),
            "seconds_text": f"{ov['seconds']:.1f} s" if ov.get("seconds") is not None else "—", "data": data}


def render_index(context: dict) -> str:
    """Render ``templates/index.html.j2`` with a context from :func:`build_context`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from analysis.report.layout import finish_page

    return finish_page(env.get_template("index.html.j2").render(**context), toc=False)


def write_index(manifest: dict, reports_dir: Path | str) -> Path:
    """Write ``<reports_dir>/index.html`` for a manifest (atomically)."""
    reports_dir = Path(reports_dir)
    path = reports_dir / "index.html"
    write_atomic(path, render_index(build_context(manifest, reports_dir)))
    return path

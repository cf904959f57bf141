"""Onboarding a new export: what the reader sees in it, what each column is guessed to be (and why),
what would be rejected, and a draft mapping to edit.

    python -m analysis inspect exports/投诉明细.csv --out mappings/my_bank.yaml

    info = inspect_file("exports/complaints.csv")        # source guessed from the headers
    print(info.text())                                    # the report the command prints
    info.draft_yaml()                                     # a mapping `complaints --mapping` accepts

A column's field is guessed from, in order: a header the source definition accepts (its name, Chinese
title or an alias), a header of one of the complaint mappings in ``mappings/`` (e.g. the CFPB
layouts), or the most similar of those headers (similarity of the compared forms, at least
:data:`MIN_SIMILARITY`), which the report marks "check". Sample values are masked like any output.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import InputError

MIN_SIMILARITY = 0.6
SAMPLES = 3
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%m/%d/%Y", "%m/%d/%y", "%Y%m%d", "%Y年%m月%d日", "%d.%m.%Y"]


@dataclass
class ColumnGuess:
    position: int
    header: str
    field: str | None  # canonical field, or None (not used)
    why: str
    exact: bool
    samples: list[str] = field(default_factory=list)


@dataclass
class Inspection:
    path: Path
    source: str
    label: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_line: int
    records: int
    malformed: list[tuple[int, str]]
    blank_rows: int
    notes: list[str]
    columns: list[ColumnGuess]
    draft: dict
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_examples: list[tuple[int, str]] = field(default_factory=list)
    rows_in: int | None = None
    clean: int | None = None
    problem: str | None = None  # why the trial load could not run

    def draft_yaml(self) -> str:
        import yaml

        use = (f"python -m analysis complaints --input {self.path.name} --mapping THIS_FILE.yaml --out DIR" if self.source == "complaints"
               else f"python -m analysis clean --mapping {self.source}=THIS_FILE.yaml (canonical field: the export's header)")
        head = (
            f"# Draft mapping for {self.path.name}, written by `python -m analysis inspect` (edit, then use it:\n"
            f"#   {use}).\n"
            "# Check every column marked 'check' in the inspect report; delete lines for columns you do not want.\n"
        )
        body = yaml.safe_dump(self.draft, allow_unicode=True, sort_keys=False, width=200)
        similar = [c for c in self.columns if c.field and not c.exact]
        if similar:
            body += "# Similar headers, NOT mapped: check each, then move it under columns: (and optional:)\n"
            body += "".join(f"#   {c.field}: {c.header}    # {c.why}\n" for c in similar)
        return head + body

    def text(self) -> str:
        out = [f"{self.label}: source {self.source}"]
        if self.encoding:
            out.append(f"  encoding   {self.encoding}")
        if self.delimiter:
            out.append(f"  delimiter  {self.delimiter!r}")
        out.append(f"  header     line {self.header_line}")
        out.append(f"  records    {self.records:,} read, {len(self.malformed):,} malformed, {self.blank_rows:,} blank rows")
        for n in self.notes:
            out.append(f"  note       {n}")
        for line, reason in self.malformed[:5]:
            out.append(f"  malformed  line {line}: {reason}")
        out.append("  columns:")
        width = max((len(c.header) for c in self.columns), default=0)
        for c in self.columns:
            target = c.field or "-"
            flag = "" if c.exact or c.field is None else "  [check]"
            samples = ", ".join(repr(s) for s in c.samples)
            out.append(f"    {c.position + 1:>2}. {c.header:<{width}}  -> {target:<13} {c.why}{flag}")
            if samples:
                out.append(f"        e.g. {samples}")
        own = [c for c in self.columns if c.field and c.exact]
        if own and all(f"sources/{self.source}.yaml" in c.why for c in own):
            out.append(f"  every recognised column is a header of sources/{self.source}.yaml: the bank's own layout, read without a mapping")
        if any(c.field and not c.exact for c in self.columns):
            out.append("  [check]: guessed from a similar header; the draft lists it commented out, not mapped")
        if self.problem:
            out.append(f"  trial load: {self.problem}")
        elif self.rows_in is not None:
            out.append(f"  trial load: records in {self.rows_in:,} = clean {self.clean:,} + rejected {self.rows_in - self.clean:,}")
            for kind, n in self.rejected.items():
                out.append(f"    rejected {n:>6,}  {kind}")
            for line, reason in self.rejected_examples:
                out.append(f"      e.g. line {line}: {reason}")
        return "\n".join(out)


# ------------------------------------------------------------------------------------------- guessing
def _candidates(source: str) -> list[tuple[str, str, str]]:
    """(header, field, where it comes from) for every header the source and the mappings accept."""
    from analysis.clean.sources import load_sources

    src = load_sources()[source]
    out = []
    for name, col in src.columns.items():
        out.append((name, name, f"the field name of {name}"))
        out.append((col.title, name, f"the title of {name} in sources/{source}.yaml"))
        out += [(a, name, f"an alias of {name} in sources/{source}.yaml") for a in col.aliases]
    if source == "complaints":
        from analysis.complaints.mapping import available_mappings, load_mapping

        for mname in available_mappings():
            m = load_mapping(mname)
            for canon in m.columns:
                out += [(h, canon, f"the header of {canon} in mapping {mname}") for h in m.headers(canon)]
    return out


def guess_columns(header: list[str], source: str) -> list[ColumnGuess]:
    """Each header's canonical field (or None) with the reason; one header per field (exact matches
    first, then the most similar)."""
    from analysis.clean.sources import header_key

    cands = _candidates(source)
    exact = {}
    for h, f, why in cands:
        exact.setdefault(header_key(h), (f, why, h))
    keyed = list(dict.fromkeys(header_key(h) for h, _, _ in cands))
    guesses: list[ColumnGuess] = []
    for i, h in enumerate(header):
        k = header_key(h)
        if not k:
            guesses.append(ColumnGuess(i, h, None, "empty header", True))
            continue
        if k in exact:
            f, why, matched = exact[k]
            guesses.append(ColumnGuess(i, h, f, f"matches {matched!r}, {why}", True))
            continue
        best = max(keyed, key=lambda c: (difflib.SequenceMatcher(None, k, c).ratio(), -len(c)), default=None)
        ratio = difflib.SequenceMatcher(None, k, best).ratio() if best else 0
        if best and ratio >= MIN_SIMILARITY:
            f, why, matched = exact[best]
            guesses.append(ColumnGuess(i, h, f, f"closest accepted header {matched!r} ({why}; similarity {ratio:.2f})", False))
        else:
            near = f"; closest accepted header {exact[best][2]!r}, similarity {ratio:.2f}" if best else ""
            guesses.append(ColumnGuess(i, h, None, f"no field{near}", False))
    # One column per field: an exact match beats a similar one; the first column wins among equals.
    taken: dict[str, ColumnGuess] = {}
    for g in sorted((g for g in guesses if g.field), key=lambda g: (not g.exact, g.position)):
        if g.field in taken:
            g.why = f"also looks like {g.field}, but column {taken[g.field].position + 1} ({taken[g.field].header!r}) is taken for it"
            g.field = None
        else:
            taken[g.field] = g
    return guesses


def guess_date_formats(values: list[str]) -> list[str]:
    """The formats (of :data:`DATE_FORMATS`) that read every one of ``values``, most specific first."""
    import datetime as dt

    vals = [v.strip() for v in values if v and v.strip()]
    if not vals:
        return []
    ok = []
    for fmt in DATE_FORMATS:
        try:
            for v in vals:
                dt.datetime.strptime(v, fmt)
        except ValueError:
            continue
        ok.append(fmt)
    return ok


# -------------------------------------------------------------------------------------------- inspect
def inspect_file(path: Path | str, source: str | None = None) -> Inspection:
    """Read ``path`` as the reader does, guess every column's field, draft a mapping, and try it."""
    import pandas as pd

    from analysis.clean.sources import header_key, load_sources
    from analysis.io.read import read_tables
    from analysis.masking import mask_series

    path = Path(path)
    sources = load_sources()
    if source is not None and source not in sources:
        raise InputError(f"--source {source!r}: no such source; known: {', '.join(sources)}")
    names = [source] if source else list(sources)
    accepted = {n: {header_key(h) for h, _, _ in _candidates(n)} for n in names}

    def score(h: list[str]) -> int:
        keys = {header_key(x) for x in h}
        return max(len(keys & accepted[n]) for n in names)

    tables = read_tables(path, header_score=score)
    if not tables:
        raise InputError("the workbook has no sheet with data", path=path)
    raw = max(tables, key=lambda t: (score(t.header), len(t.cells)))
    if source:
        src_name = source
    else:
        # The source whose headers match most; complaints when a complaint mapping (the CFPB
        # layouts) matches as many.
        keys = {header_key(x) for x in raw.header}
        hits = {n: len(keys & accepted[n]) for n in names}
        src_name = max(hits, key=lambda n: (hits[n], n == "complaints"))
        if hits[src_name] == 0:
            src_name = "complaints"
    guesses = guess_columns(raw.header, src_name)
    # A column with neither a header nor a value says nothing; a sheet whose one cell sits at XFD
    # would otherwise list 16,383 of them (and sample each).
    values = raw.cells.to_numpy(dtype=object)
    blank = {g.position for g in guesses if not str(g.header).strip()}
    filled = {j for j in blank if j < values.shape[1] and any(not pd.isna(v) and str(v).strip() for v in values[:, j])}
    guesses = [g for g in guesses if g.position not in blank or g.position in filled]
    for g in guesses:
        col = raw.cells[g.position] if g.position in raw.cells else pd.Series([], dtype=object)
        vals = col[col.astype(str).str.strip() != ""].astype(str).drop_duplicates().head(SAMPLES)
        g.samples = [str(v)[:60] for v in mask_series(pd.Series(list(vals), dtype="string")).fillna("")]
    draft = _draft(path, raw, guesses, src_name)
    info = Inspection(
        path=path, source=src_name, label=raw.label, encoding=raw.encoding, delimiter=getattr(raw, "delimiter", None),
        sheet=raw.sheet, header_line=raw.header_line, records=len(raw.cells), malformed=[(m.line, m.reason) for m in raw.malformed],
        blank_rows=raw.blank_rows, notes=list(getattr(raw, "notes", [])), columns=guesses, draft=draft,
    )
    _trial(info, path, src_name)
    return info


def _draft(path: Path, raw, guesses: list[ColumnGuess], source: str) -> dict:
    mapped = {g.field: g.header for g in guesses if g.field and g.exact}  # similar headers: listed, not mapped
    if source != "complaints":
        # Other sources: the same shape (canonical field -> header), for `clean --mapping`.
        from analysis.clean.sources import load_sources

        src = load_sources()[source]
        return {"title": f"{path.name} as {source}", "source": f"python -m analysis inspect {path.name}",
                "columns": {c: mapped[c] for c in src.columns if c in mapped},
                "optional": [c for c in src.columns if c in mapped and not src.columns[c].required]}
    from analysis.complaints.mapping import CANONICAL

    columns = {c: mapped[c] for c in CANONICAL if c in mapped}
    draft: dict = {"title": f"{path.name} (draft from python -m analysis inspect)", "source": f"python -m analysis inspect {path.name}",
                   "columns": columns}
    optional = [c for c in columns if c not in ("received_at", "category")]
    if optional:
        draft["optional"] = optional
    if "category" in columns:
        draft["not_empty"] = ["category"]
    if "received_at" in columns:
        pos = next(g.position for g in guesses if g.field == "received_at")
        values = [str(v) for v in raw.cells[pos].head(500) if str(v).strip()]
        fmts = guess_date_formats(values)
        if fmts:
            draft["date_format"] = fmts[:3]
    return draft


def _trial(info: Inspection, path: Path, source: str) -> None:
    """What a load with the draft would reject (complaints: the complaint loader with the draft
    mapping; other sources: the clean door with the source's rules)."""
    try:
        if source == "complaints":
            from analysis.complaints.load import load_complaints
            from analysis.complaints.mapping import ComplaintMapping

            cols = info.draft.get("columns", {})
            if "received_at" not in cols:
                info.problem = "no column looks like the date received (received_at): map it by hand in the draft"
                return
            m = ComplaintMapping.model_validate({k: v for k, v in info.draft.items() if k in ("title", "source", "columns", "optional", "not_empty", "date_format")})
            res = load_complaints(path, m.model_copy(update={"name": "draft"}))
            info.rows_in, info.clean = res.rows_in, len(res.table)
            info.rejected = dict(sorted(res.reasons.items(), key=lambda kv: -kv[1]))
            rej = res.rejected
        else:
            from analysis.clean.engine import clean_files
            from analysis.clean.sources import load_sources

            res = clean_files(load_sources()[source], [path])
            info.rows_in, info.clean = res.report.rows_in, res.report.clean
            info.rejected = dict(res.report.reasons)
            rej = res.rejected
        if len(rej):
            info.rejected_examples = [(int(r["line"]), _short(str(r["reason"]))) for _, r in rej.head(5).iterrows()]
    except InputError as exc:
        info.problem = str(exc)


def _short(text: str, n: int = 160) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= n else text[: n - 1] + "…"

"""Executed notebook -> one self-contained HTML page that opens offline.

The page uses the template in ``templates/offline/``: JupyterLab's cell rendering without its
``<head>`` (which loads require.js and MathJax from a CDN), code cells and prompts hidden, images
embedded as ``data:`` URIs, and the house style (``templates/report.css``). A failed notebook's page
shows a banner naming the error, the output up to the failing cell and its traceback.

One :class:`PageExporter` per process: building nbconvert's exporter (template lookup, Jinja
environment) costs far more than rendering a page, so workers keep theirs.

Pages are written with :func:`write_atomic`: a temporary file in the same folder, then
``os.replace``, so a failed or interrupted run never leaves a half-written page where a good one was.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from analysis import config
from analysis.files import write_atomic  # noqa: F401  (pages are written with it; re-exported)
from analysis.report.layout import finish_page
from analysis.report.safehtml import markdown_html, sanitize

SUITE_NAME = "服务提升年分析 · Service-improvement analysis"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
FAILED_CELL_TAG = "analysis-failed-cell"
# A figure or axes returned as a cell's last value shows as "<Axes: ...>"; that is noise on a page.
_MATPLOTLIB_REPR = re.compile(r"^\s*(\[)?<(Axes|Figure|matplotlib\.[\w.]+|seaborn\.[\w.]+)[ :>].*>(\])?\s*$", re.S)


@dataclass
class ErrorInfo:
    """What failed: the exception and, when a cell failed, that cell."""

    ename: str
    evalue: str
    cell_index: int | None = None  # index in the executed notebook (papermill's markers removed)
    exec_count: int | None = None
    source: str = ""  # the failing cell's code
    detail: str = ""  # a traceback from outside the notebook (kernel died, export failed)

    def summary(self) -> str:
        text = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        return text if len(text) <= 300 else text[:297] + "..."

    def to_dict(self) -> dict:
        return {"ename": self.ename, "evalue": self.evalue, "cell_index": self.cell_index, "exec_count": self.exec_count, "source": self.source, "detail": self.detail}


def period_label(period: str | None) -> str:
    """The period as a reader says it: ``2016`` -> ``2016 年``, ``2016Q2`` -> ``2016 年 1–6 月``."""
    if not period:
        return ""
    from analysis.periods import Period

    try:
        p = Period.parse(period)
    except ValueError:
        return str(period)
    return f"{p.year} 年" if p.is_full_year else f"{p.year} 年 1–{p.last_month} 月"


def now_text(when: datetime | None = None) -> str:
    return (when or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M")


def first_error(nb: nbformat.NotebookNode) -> ErrorInfo | None:
    """The first error output in an executed notebook (ignoring papermill's marker cells)."""
    index = 0
    for cell in nb.cells:
        if PAPERMILL_ERROR_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and not (out.get("ename") == "SystemExit" and out.get("evalue") in ("", "0")):
                return ErrorInfo(out.get("ename", "Error"), out.get("evalue", ""), index, cell.get("execution_count"), cell.get("source", ""))
        index += 1
    return None


def prepare(nb: nbformat.NotebookNode, error: ErrorInfo | None = None) -> nbformat.NotebookNode:
    """A copy of an executed notebook arranged for reading.

    Drops papermill's error marker cells (the page has its own banner), code cells without output
    (parameters, imports), matplotlib object reprs, and everything after a failing cell (those cells
    never ran); strips the first markdown cell's ``# title`` line (the page header shows the title);
    tags the failing cell; marks number cells of tables (:func:`align_tables`); passes every HTML
    output through :func:`analysis.report.safehtml.sanitize` and renders generated Markdown outputs
    through it too (markup from data shows as text).
    """
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if PAPERMILL_ERROR_TAG not in c.get("metadata", {}).get("tags", [])]
    if error is not None and error.cell_index is not None and error.cell_index < len(cells):
        cells = cells[: error.cell_index + 1]
        failed = cells[-1]
        failed.setdefault("metadata", {}).setdefault("tags", [])
        if FAILED_CELL_TAG not in failed.metadata["tags"]:
            failed.metadata["tags"].append(FAILED_CELL_TAG)
    kept = []
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not _is_matplotlib_repr(o)]
            if not cell.outputs:
                continue
            for out in cell.outputs:
                data = out.get("data", {})
                html = data.get("text/html")
                markdown = data.get("text/markdown")
                if html:
                    data["text/html"] = sanitize(align_tables(html if isinstance(html, str) else "".join(html)))
                    data.pop("text/markdown", None)
                elif markdown:
                    # Generated sentences: rendered here and passed through the same allow-list.
                    text = markdown if isinstance(markdown, str) else "".join(markdown)
                    data["text/html"] = f'<div class="generated-text">{markdown_html(text)}</div>'
                    data.pop("text/markdown", None)
        if cell.cell_type == "markdown" and not kept:
            cell.source = re.sub(r"\A\s*#\s[^\n]*\n?", "", cell.source, count=1)
            if not cell.source.strip():
                continue
        kept.append(cell)
    nb.cells = kept
    return nb


_NUMERIC_CELL = re.compile(
    r"^[<>≥≤±~≈]?\s*[¥$€￥]?\s*[+\-−]?(\d[\d,]*(\.\d+)?|\.\d+)([eE][+\-]?\d+)?\s*"
    r"(\s+[^\d\s]{1,4}(/[^\d\s]{1,4})?|(%|‰|pp|分钟|小时|万元|亿元|元|件|笔|个|人|次|天|秒|分|家|万|亿|倍|项|名)(/[^\d\s]{1,4})?)?$"
    r"|^\d{4}-\d{2}(-\d{2})?( \d{2}:\d{2}(:\d{2})?)?$"
)
_EMPTY_CELL = {"", "—", "-", "–", "nan", "NaN", "<NA>", "NaT", "None", "n/a"}


def align_tables(html: str) -> str:
    """Mark number cells of HTML tables with class ``num`` (right-aligned by the house style; other
    cells are left-aligned, the way Chinese text reads), and the header of a column of numbers too.

    Tables come from pandas (plain or Styler) with any mix of text and numbers; a cell is a number
    when it reads like one, units allowed (``96.2``, ``1,200``, ``12.5%``, ``90.1 分``, ``≥ 85``,
    ``0.04 件/万笔``, dates). Explicit alignment set by a Styler still wins (its CSS is more specific)."""
    if "<table" not in html:
        return html
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for table in soup.find_all("table"):
        votes: dict[int, list[bool]] = {}
        for tr in table.find_all("tr"):
            if tr.find_parent("thead") is not None:
                continue
            col = 0
            for cell in tr.find_all(["td", "th"], recursive=False):
                text = cell.get_text(" ", strip=True)
                if cell.name == "td" and text not in _EMPTY_CELL:
                    numeric = bool(_NUMERIC_CELL.match(text))
                    if numeric:
                        cell["class"] = [*cell.get("class", []), "num"]
                    votes.setdefault(col, []).append(numeric)
                col += int(cell.get("colspan", 1) or 1)
        head_rows = table.find("thead").find_all("tr") if table.find("thead") else []
        if head_rows:
            col = 0
            for th in head_rows[-1].find_all(["th", "td"], recursive=False):
                v = votes.get(col, [])
                if v and sum(v) >= 0.5 * len(v) and int(th.get("colspan", 1) or 1) == 1:
                    th["class"] = [*th.get("class", []), "num"]
                col += int(th.get("colspan", 1) or 1)
    return str(soup)


def _is_matplotlib_repr(output) -> bool:
    if output.get("output_type") != "execute_result":
        return False
    data = output.get("data", {})
    return set(data) == {"text/plain"} and bool(_MATPLOTLIB_REPR.match(str(data["text/plain"])))


class PageExporter:
    """Renders executed notebooks to offline HTML pages. Create one per process and reuse it."""

    def __init__(self) -> None:
        from nbconvert import HTMLExporter

        self._exporter = HTMLExporter(
            template_name="offline",
            extra_template_basedirs=[str(config.TEMPLATES_DIR)],
            extra_template_paths=[str(config.TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )

    def render(
        self,
        nb: nbformat.NotebookNode,
        *,
        title: str,
        notebook: str,
        period: str | None = None,
        status: str = "ok",
        seconds: float | None = None,
        fingerprint: str = "",
        error: ErrorInfo | None = None,
        notebook_dir: Path | str | None = None,
        generated: datetime | None = None,
        index_href: str = "index.html",
    ) -> str:
        """The HTML page of an executed notebook (``error``: the failure to show, if it failed)."""
        from analysis import __version__

        page_nb = prepare(nb, error)
        anchor = None
        if error is not None and error.cell_index is not None:
            failed = [c for c in page_nb.cells if FAILED_CELL_TAG in c.get("metadata", {}).get("tags", [])]
            if failed and failed[0].get("id"):
                anchor = f"cell-id={failed[0]['id']}"
        err = None
        if error is not None:
            err = {**error.to_dict(), "cell_anchor": anchor}
        resources = {
            "metadata": {"name": notebook, "path": str(notebook_dir or config.NOTEBOOKS_DIR)},
            "analysis": {
                "title": title,
                "notebook": notebook,
                "period_label": period_label(period),
                "status": status,
                "seconds": seconds,
                "generated": now_text(generated),
                "fingerprint": fingerprint or "",
                "error": err,
                "suite": SUITE_NAME,
                "version": __version__,
                "index_href": index_href,
                "image_alt": f"{title} 图表",
            },
        }
        html, _ = self._exporter.from_notebook_node(page_nb, resources=resources)
        # glossary links to the methods page, relative to this page's folder (unit pages: ../methods.html)
        folder = index_href[: -len("index.html")] if index_href.endswith("index.html") else ""
        if folder:
            html = html.replace('href="methods.html#', f'href="{folder}methods.html#')
        return finish_page(html)




# ------------------------------------------------------------------------------ offline checks
_RESOURCE_ATTRS = {"src", "srcset", "poster", "data", "background", "xlink:href"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)\s*(?!data:|#)([^'\")\s]+)", re.I)
_CSS_IMPORT = re.compile(r"@import\b", re.I)


class _OfflineChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        where = f"line {self.getpos()[0]}"
        if tag == "script" and attrs.get("src") is not None:
            self.problems.append(f"{where}: <script src={attrs['src']!r}> loads a script")
        if tag == "link":
            href = attrs.get("href") or ""
            if not href.startswith("data:"):
                self.problems.append(f"{where}: <link href={href!r}> loads a resource")
        if tag in ("iframe", "frame", "embed", "object", "base"):
            target = attrs.get("src") or attrs.get("data") or attrs.get("href") or ""
            if target and not target.startswith(("data:", "#")):
                self.problems.append(f"{where}: <{tag}> points at {target!r}")
        if tag != "a":
            for name in _RESOURCE_ATTRS & set(attrs):
                value = (attrs[name] or "").strip()
                if tag == "meta" or value.startswith(("data:", "#")):
                    continue
                self.problems.append(f"{where}: <{tag} {name}={value[:80]!r}> is not embedded")
        if attrs.get("style"):
            self._css(attrs["style"], where)
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data, f"line {self.getpos()[0]}")

    def _css(self, css: str, where: str) -> None:
        for m in _CSS_URL.finditer(css):
            self.problems.append(f"{where}: CSS url({m.group(2)[:80]}) is not embedded")
        if _CSS_IMPORT.search(css):
            self.problems.append(f"{where}: CSS @import")


def offline_problems(html: str) -> list[str]:
    """Everything in a page that would need a network or a file beside it: scripts with ``src``,
    stylesheets or icons by link, images/frames not embedded as ``data:`` URIs, CSS ``url()`` and
    ``@import``. Hyperlinks (``<a href>``) are navigation, not resources, and are allowed. Empty = OK."""
    checker = _OfflineChecker()
    checker.feed(html)
    checker.close()
    return checker.problems

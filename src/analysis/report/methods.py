"""The methods page, ``reports/methods.html``: ``docs/METHODS.md`` published next to the reports.

Every page's glossary (:func:`analysis.report.display.glossary`) links each term to the section of
this page that says how the figure is computed, what it assumes and what a reader may conclude. The
page is written by every ``run`` from the project's ``docs/METHODS.md`` (the one text, so the page
and the document cannot drift apart), offline like the reports: inline CSS, no script from outside.

Rendering: nbconvert's Markdown renderer, then :func:`analysis.report.safehtml.sanitize` (the
allow-list of every page), in ``templates/methods.html.j2`` with autoescaping, finished by
:func:`analysis.report.layout.finish_page`. Anchors, stable as long as the headings are:

- each ``##`` section gets the id :func:`anchor` of its heading (the number and the module in
  parentheses left out): ``## 3. Funnel plots and outliers (`analysis.funnel`)`` -> ``funnel-plots-and-outliers``;
- each paragraph or list item that opens with a bold lead gets ``<section id>-<anchor of the lead>``:
  ``**Overdispersion**`` in section 3 -> ``funnel-plots-and-outliers-overdispersion``.
"""

from __future__ import annotations

import re
from pathlib import Path

from analysis import config
from analysis.files import write_atomic

METHODS_FILE = config.PROJECT_ROOT / "docs" / "METHODS.md"
PAGE_NAME = "methods.html"
MODULE_REF = re.compile(r"\s*\((?:see\s+)?`analysis[\w.]*`(?:\s*,\s*`analysis[\w.]*`)*\)")
TITLE = "统计方法说明 Statistical methods"


def anchor(text: str) -> str:
    """The id of a heading or bold lead: ASCII words, lower case, joined by hyphens; a leading section
    number and a trailing ``(module)`` are left out. ``"3. Funnel plots and outliers (analysis.funnel)"``
    -> ``"funnel-plots-and-outliers"``; ``"Marginal 90% set"`` -> ``"marginal-90-set"``. A Chinese
    label before the English one is left out (the text after the last Chinese character counts):
    ``"稳健 z 值 Robust z-score"`` -> ``"robust-z-score"``."""
    t = re.sub(r"\([^()]*\)\s*$", "", text.strip())
    t = re.sub(r"^\s*\d+(\.\d+)*\.?\s+", "", t)
    # Chinese first, English second ("名次的置信集 Ranks of the league table"): the English words name it
    t = re.split(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]", t)[-1]
    t = re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")
    return t or "section"


def _add_anchors(fragment: str) -> tuple[str, str, list[dict]]:
    """(the page title from the ``#`` heading, the body with ids, the contents: one entry per section)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for link in soup.find_all("a", class_="anchor-link"):  # nbconvert's own ¶ links, to ids replaced here
        link.decompose()
    title = ""
    h1 = soup.find("h1")
    if h1 is not None:
        title = h1.get_text(" ", strip=True)
        h1.decompose()
    used: set[str] = set()
    contents: list[dict] = []
    section = ""

    def unique(base: str) -> str:
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        return slug

    for tag in soup.find_all(["h2", "h3", "p", "li"]):
        if tag.name in ("h2", "h3"):
            text = tag.get_text(" ", strip=True)
            tag["id"] = unique(anchor(text) if tag.name == "h2" else f"{section}-{anchor(text)}")
            if tag.name == "h2":
                section = tag["id"]
                contents.append({"id": tag["id"], "title": re.sub(r"^\d+\.\s*", "", text)})  # the list numbers them
            continue
        first = next((c for c in tag.children if not (isinstance(c, str) and not c.strip())), None)
        if getattr(first, "name", None) == "strong" and section:
            lead = anchor(first.get_text(" ", strip=True))
            if lead != "section":
                tag["id"] = unique(f"{section}-{lead}")
    return title, str(soup), contents


def render_methods(text: str, *, index_href: str = "index.html") -> str:
    """The whole methods page for the Markdown ``text`` (see the module doc)."""
    import jinja2

    from analysis import __version__
    from analysis.report.layout import finish_page
    from analysis.report.safehtml import markdown_html

    # the modules named for developers ("(`analysis.funnel`)") are not for the reader of the page
    title, body, contents = _add_anchors(markdown_html(MODULE_REF.sub("", text)))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(config.TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    page = env.get_template("methods.html.j2").render(
        title=TITLE, doc_title=title, body=jinja2.utils.markupsafe.Markup(body), contents=contents,
        index_href=index_href, version=__version__,
    )
    return finish_page(page, toc=False)


def anchors(page: str) -> set[str]:
    """Every id on a page (to check that links into it land)."""
    return set(re.findall(r'\sid="([^"]+)"', page))


def write_methods(reports_dir: Path | str, source: Path | str = METHODS_FILE) -> Path:
    """Write ``<reports_dir>/methods.html`` from ``docs/METHODS.md`` (atomically)."""
    path = Path(reports_dir) / PAGE_NAME
    write_atomic(path, render_methods(Path(source).read_text(encoding="utf-8")))
    return path

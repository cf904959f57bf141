"""The last step of every published page: tables a reader can use on a phone and on paper.

:func:`finish_page` takes a whole rendered page (a notebook page or the index) and

- puts every table in a box that scrolls sideways on a narrow screen (the first column stays in
  view; the page itself never scrolls sideways) and prints in full on paper;
- marks tables longer than :data:`SORT_ROWS` rows sortable and those longer than
  :data:`FILTER_ROWS` filterable (``templates/tables.js``, embedded once, no library, no network);
- adds a contents list when the page has at least :data:`TOC_SECTIONS` sections (about three
  screens or more);
- wraps the cells tagged ``illustration`` (plan 1's evaluation on assumed point rules) in a closed,
  clearly labelled ``<details>`` block, so it cannot be taken for the ranking;
- chooses the paper: A4 portrait, or A4 landscape when the widest table has more than
  :data:`PORTRAIT_COLUMNS` columns;
- sets a Content-Security-Policy that allows only the page's own script (by its sha256) and
  ``data:`` images: even markup that escaped every other check could neither run nor fetch.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache

from analysis import config

SORT_ROWS = 8
FILTER_ROWS = 15
TOC_SECTIONS = 4
#: A heading that carries its own number ("一、四大行对标", "2. 排名", "（三）…"): its contents list
#: is not numbered again ("1. 一、…").
OWN_NUMBER = re.compile(r"^\s*(?:[一二三四五六七八九十百]+\s*[、.．]|\d+(?:\.\d+)*\s*[、.．)）]|\d+(?:\.\d+)+\s|[（(]\s*[一二三四五六七八九十\d]+\s*[）)]|第[一二三四五六七八九十\d]+[部章节])")
PORTRAIT_COLUMNS = 7
ILLUSTRATION_TAG = "illustration"
ILLUSTRATION_SUMMARY = "示意：计分规则为假设，不是正式排名（点击展开）· Illustration only: assumed point rules, not the ranking"


@lru_cache(maxsize=1)
def table_script() -> str:
    return (config.TEMPLATES_DIR / "tables.js").read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def csp(script: str) -> str:
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
            f"script-src 'sha256-{_sha256(script)}'; base-uri 'none'; form-action 'none'")


def _columns(table) -> int:
    head = table.find("thead")
    rows = (head or table).find_all("tr")
    if not rows:
        return 0
    return max(sum(int(c.get("colspan", 1) or 1) for c in tr.find_all(["th", "td"], recursive=False)) for tr in rows[-1:] + rows[:1])


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[\s/\\#?&\"'<>]+", "-", text.strip()).strip("-")[:60] or "section"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


def finish_page(page: str, *, toc: bool = True) -> str:
    """The page with scroll boxes, sortable/filterable tables, contents, the illustration block, the
    paper size and the security policy (see the module doc). Idempotent enough to run once per page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    body = soup.body or soup
    widest = 0
    for table in body.find_all("table"):
        if table.find_parent("table") is not None:
            continue
        widest = max(widest, _columns(table))
        parent = table.parent
        if not (parent is not None and "table-scroll" in (parent.get("class") or [])):
            box = soup.new_tag("div", attrs={"class": "table-scroll"})
            table.wrap(box)
        rows = len(table.find("tbody").find_all("tr", recursive=False)) if table.find("tbody") else 0
        if rows > SORT_ROWS and table.find("thead") is not None:
            table["data-sortable"] = ""
        if rows > FILTER_ROWS and table.find("thead") is not None:
            table["data-filter"] = ""

    _row_anchors(soup)
    _illustrations(soup)

    main = body.find("main") or body
    if toc:
        heads = [h for h in main.find_all("h2") if not h.find_parent("details") and not h.find_parent(class_="run-error")]
        if len(heads) >= TOC_SECTIONS and main.find("nav", class_="toc") is None:
            used = {t.get("id") for t in soup.find_all(id=True)}
            nav = soup.new_tag("nav", attrs={"class": "toc", "aria-label": "目录 Contents"})
            title = soup.new_tag("p", attrs={"class": "toc-title"})
            title.string = "本页目录 Contents"
            nav.append(title)
            labels = [h.get_text(" ", strip=True).replace("¶", "").strip() for h in heads]
            # headings numbered by the page itself: the list shows their numbers, not a second one
            ol = soup.new_tag("ol", attrs={"class": "own-numbers"} if any(OWN_NUMBER.match(t) for t in labels) else {})
            for h in heads:
                label = h.get_text(" ", strip=True).replace("¶", "").strip()
                if not h.get("id"):
                    h["id"] = _slug(label, used)
                li = soup.new_tag("li")
                a = soup.new_tag("a", href="#" + h["id"])
                a.string = label
                li.append(a)
                ol.append(li)
            nav.append(ol)
            # after the page's opening paragraph (the first cell, when it holds no section heading)
            first = main.find(class_="jp-Cell")
            if first is not None and first.find("h2") is None and first.parent is main:
                first.insert_after(nav)
            else:
                main.insert(0, nav)

    if body.get("class") is not None or soup.body is not None:
        classes = body.get("class") or []
        body["class"] = [*classes, "paper-landscape" if widest > PORTRAIT_COLUMNS else "paper-portrait"]

    out = str(soup)
    orientation = "landscape" if widest > PORTRAIT_COLUMNS else "portrait"
    policy = f'<meta http-equiv="Content-Security-Policy" content="{csp(table_script())}">\n'
    out = re.sub(r"(<meta charset=\"utf-8\"/?>)", lambda m: m.group(1) + "\n" + policy, out, count=1)
    # after the house style, so this page's paper wins over the default A4 rule
    paper = f"<style>@page {{ size: A4 {orientation}; margin: 12mm 11mm 14mm; }}</style>\n"
    out = out.replace("</head>", paper + "</head>", 1) if "</head>" in out else paper + out
    script = f"<script>{table_script()}</script>"
    if "</body>" in out:
        out = out.replace("</body>", script + "\n</body>", 1)
    else:
        out += script
    return out


def _row_anchors(soup) -> None:
    """A cell marked by :func:`analysis.report.display.row_anchors` gives its row the anchor as ``id``
    (so ``page.html#unit-331801`` scrolls to that unit's row); ids already on the page are not reused."""
    from analysis.report.display import ANCHOR_CLASS

    used = {t.get("id") for t in soup.find_all(id=True)}
    for cell in soup.select(f'td[class*="{ANCHOR_CLASS}"], th[class*="{ANCHOR_CLASS}"]'):
        classes = cell.get("class") or []
        marks = [c for c in classes if c.startswith(ANCHOR_CLASS)]
        cell["class"] = [c for c in classes if not c.startswith(ANCHOR_CLASS)]
        row = cell.find_parent("tr")
        anchor = marks[0][len(ANCHOR_CLASS):] if marks else ""
        if row is not None and anchor and anchor not in used and not row.get("id"):
            row["id"] = anchor
            used.add(anchor)


def _illustrations(soup) -> None:
    """Runs of cells tagged ``illustration`` go into one closed ``<details class="illustration">``."""
    cls = f"celltag_{ILLUSTRATION_TAG}"

    def cell_of(tag):
        # nbconvert puts a markdown cell's tags on its rendered body, a code cell's on the cell itself
        if "jp-Cell" in (tag.get("class") or []):
            return tag
        up = tag.find_parent(class_="jp-Cell")
        return up if up is not None else tag

    def tagged(tag) -> bool:
        return tag is not None and (cls in (tag.get("class") or []) or tag.find(class_=cls) is not None)

    cells = []
    for tag in soup.find_all(class_=cls):
        c = cell_of(tag)
        if all(c is not x for x in cells):
            cells.append(c)
    done = set()
    for cell in cells:
        if id(cell) in done:
            continue
        run = [cell]
        nxt = cell.find_next_sibling()
        while tagged(nxt):
            run.append(cell_of(nxt))
            nxt = run[-1].find_next_sibling()
        for c in run:
            done.add(id(c))
        details = soup.new_tag("details", attrs={"class": "illustration"})
        summary = soup.new_tag("summary")
        summary.string = ILLUSTRATION_SUMMARY
        details.append(summary)
        cell.insert_before(details)
        for c in run:
            details.append(c.extract())

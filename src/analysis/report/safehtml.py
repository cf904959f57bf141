"""Every notebook output that reaches a page goes through one allow-list: markup from data shows as text.

Tables (pandas, Stylers), generated sentences (``Markdown(...)``) and ``HTML(...)`` blocks are built
from data: a sub-branch name such as ``城东支行<script>alert(1)</script>`` or an outlet called
``<img src=http://…>`` must read as those characters, never run or fetch. pandas' ``Styler`` escapes
nothing by default, and Markdown passes raw HTML through, so escaping at each call site is not enough
on its own (:func:`analysis.report.display.show_table` escapes too). :func:`sanitize` is the border:

- elements outside :data:`ALLOWED` (``script``, ``img`` with a non-``data:`` source, ``iframe``,
  ``svg``, ``object``, ``form``, ``link``, ``meta``, ``base``, media…) are replaced by their own source
  text, escaped, so the reader sees what the data held;
- event handlers (``on…``), ``javascript:``/``vbscript:`` links and any attribute not in the list are
  dropped; a link must stay inside the reports (``#…`` or a relative path), otherwise it becomes text;
- inline CSS (``style`` attributes and ``<style>`` blocks, which Stylers emit for colours) loses
  every ``url(…)``, ``@import`` and ``expression(…)``, so CSS cannot fetch either.

:func:`markdown_html` renders a generated Markdown output with nbconvert's own renderer and passes
the result through :func:`sanitize` (Markdown image syntax pointing outside is caught the same way).
"""

from __future__ import annotations

import html as _html
import re

ALLOWED = frozenset(
    "table thead tbody tfoot tr th td caption colgroup col div span p b strong i em u s small sub sup br hr "
    "ul ol li dl dt dd h1 h2 h3 h4 h5 h6 section header footer nav details summary code pre blockquote abbr "
    "a figure figcaption mark style img".split()
)
ATTRIBUTES = frozenset(
    "class id title colspan rowspan scope headers role aria-label aria-hidden aria-describedby lang dir "
    "style href alt width height open data-sort data-value type".split()
)
_BAD_CSS = re.compile(r"url\s*\(|@import|expression\s*\(|behavior\s*:|-moz-binding", re.I)
_SCHEME = re.compile(r"^\s*[a-z][a-z0-9+.\-]*\s*:", re.I)


def _safe_href(value: str) -> bool:
    v = _html.unescape(value or "").strip()
    if not v:
        return False
    if v.startswith("#"):
        return True
    return not _SCHEME.match(v) and not v.startswith("//")


def _safe_src(value: str) -> bool:
    return (value or "").strip().lower().startswith(("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/webp;"))


_CSS_URL = re.compile(r"url\s*\((?:[^()]|\([^()]*\))*\)|expression\s*\((?:[^()]|\([^()]*\))*\)", re.I)


def _clean_css(css: str) -> str:
    """CSS without anything that fetches or runs: ``url(…)`` and ``expression(…)`` become ``none``."""
    if not _BAD_CSS.search(css):
        return css
    css = _CSS_URL.sub("none", css)
    return re.sub(r"@import[^;]*;?|behavior\s*:[^;]*;?|-moz-binding\s*:[^;]*;?", "", css, flags=re.I)


def sanitize(fragment: str) -> str:
    """``fragment`` with every element from outside the allow-list shown as escaped text (see module doc)."""
    if "<" not in fragment:
        return fragment
    from bs4 import BeautifulSoup, NavigableString, Tag

    soup = BeautifulSoup(fragment, "html.parser")
    # Innermost first, so a disallowed element inside an allowed one is replaced in place.
    for tag in reversed(soup.find_all(True)):
        if not isinstance(tag, Tag) or tag.parent is None:
            continue
        name = (tag.name or "").lower()
        ok = name in ALLOWED
        if ok and name == "img":
            ok = _safe_src(tag.get("src", ""))
        if ok and name == "a":
            ok = tag.get("href") is None or _safe_href(tag.get("href", ""))
        if not ok:
            tag.replace_with(NavigableString(str(tag)))
            continue
        for attr in list(tag.attrs):
            a = attr.lower()
            if a == "src" and name == "img":
                continue
            if a not in ATTRIBUTES and not a.startswith("data-"):
                del tag.attrs[attr]
            elif a == "style":
                tag["style"] = _clean_css(str(tag["style"]))
        if name == "style":
            text = tag.string or tag.get_text()
            if _BAD_CSS.search(text) or "</" in text:
                tag.string = _clean_css(text).replace("</", "")
    return str(soup)


def markdown_html(text: str) -> str:
    """A generated Markdown output as safe HTML (nbconvert's renderer, then :func:`sanitize`)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return sanitize(markdown2html_mistune(text))


TEXT_ATTRIBUTES = frozenset({"alt", "title", "aria-label"})


def element_from_data(html_text: str, markers: tuple[str, ...]) -> list[str]:
    """Elements of a page that carry one of ``markers`` in their attributes or script text (for tests
    and checks: a planted ``<script>alert(1)</script>`` or ``<img src=http://example.invalid/…>`` that
    became an element). Empty = the data showed as text."""
    from html.parser import HTMLParser

    found: list[str] = []

    class P(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = tag == "script"
            # alt, title and aria-label hold text only (escaped, never run or fetched): data may be there
            active = [(k, v) for k, v in attrs if k not in TEXT_ATTRIBUTES]
            for k, v in active:
                if any(m in (v or "") for m in markers) or (k.startswith("on") and tag != "body"):
                    found.append(f"<{tag} {k}={v!r}>")
            if tag in ("img", "iframe", "object", "embed", "svg") and any(m in str(active) for m in markers):
                found.append(f"<{tag}>")

        def handle_endtag(self, tag):
            if tag == "script":
                self.in_script = False

        def handle_data(self, data):
            if self.in_script and any(m in data for m in markers):
                found.append(f"<script>{data[:60]}")

    p = P()
    p.feed(html_text)
    p.close()
    return found

"""The one boundary where text becomes HTML in a report.

Everything a report shows passes through here: the message catalogue's Markdown (trusted: it is
part of cxlab) and the values put into it — card fields, data values, parameters, run ids, paths,
error messages — which are **text, never markup**. A value is replaced by an opaque token before the
Markdown is rendered and by its HTML-escaped text after, so neither Markdown (``[x](javascript:…)``,
``**``, a backtick that closes a code span) nor HTML (``<script>``, ``"><svg onload=…>``) in a value
can act. Markdown written by a card author (a description, a risk) is rendered with raw HTML off,
images off and links only to ``http(s)``, ``mailto`` and in-page anchors.

:func:`active_content` is the tripwire behind the boundary: the runner refuses to write a report or an
index in which it finds a script (other than cxlab's own, :data:`REPORT_SCRIPT`, once and byte for byte), an
event handler, a frame, an object, a ``javascript:`` URL or an image that is not embedded.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

from markdown_it import MarkdownIt

from cxlab.report.i18n import Formatter

#: URLs a rendered link may point to: the web, mail, an anchor in the page. Nothing else (no javascript:,
#: data:, file:, vbscript: — and no relative paths, which a report has no use for).
_SAFE_LINK = re.compile(r"^(https?://|mailto:|#)", re.I)

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table").disable("image")
_MD.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]

#: Token brackets from Unicode's private use area: Markdown leaves them alone and no message contains them.
_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN = re.compile(f"{_OPEN}(\\d+){_CLOSE}")


class Md(str):
    """Markdown that cxlab itself wrote (its values already escaped with :func:`escape_md`).

    A value of this type is put into a message as Markdown; any other value is put in as text.
    """


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&\"'=:$])")


def escape_md(value: Any) -> Md:
    """``value`` as Markdown that renders to exactly its text (every punctuation mark backslash-escaped).

    Use it where cxlab builds Markdown lines from card or data values (``- **{label}** — {description}``).
    Not inside code spans, where backslashes are literal: put such values into a message instead.
    """
    text = re.sub(r"\s+", " ", str(value))  # a line break in a value must not start a Markdown block
    return Md(_MD_SPECIAL.sub(r"\\\1", text))


def _interpolate(template: str, values: dict[str, Any], lang: str = "en", currency: str = "") -> tuple[str, list[str]]:
    """``template`` with each value replaced by a token; the tokens' texts, in order (a ``{x:pct}``-style
    field formats its raw value first, as :class:`cxlab.report.i18n.Formatter` does)."""
    texts: list[str] = []

    class Tokens(Formatter):
        def format_field(self, value: Any, format_spec: str) -> str:
            formatted = super().format_field(value, format_spec)
            if isinstance(value, Md):
                return formatted
            texts.append(formatted)
            return f"{_OPEN}{len(texts) - 1}{_CLOSE}"

    return Tokens(lang, currency).vformat(template, (), values), texts


def _fill(rendered: str, texts: list[str]) -> str:
    return _TOKEN.sub(lambda m: html.escape(texts[int(m.group(1))], quote=True), rendered)


def _strip_tokens(text: str) -> str:
    """Text that cannot carry a forged token (the private-use brackets removed)."""
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def _source(text: str, values: dict[str, Any] | None, lang: str, currency: str = "") -> tuple[str, list[str]]:
    """The Markdown to render (each value a token) and the tokens' texts."""
    if not values:
        return _strip_tokens(text), []
    return _interpolate(_strip_tokens(text), {k: _clean(v) for k, v in values.items()}, lang, currency)


def markdown(text: str, values: dict[str, Any] | None = None, lang: str = "en", currency: str = "") -> str:
    """Trusted Markdown ``text`` (``{name}`` placeholders filled from ``values`` as text; ``{x:money}`` in
    ``currency``) as safe HTML."""
    source, texts = _source(text, values, lang, currency)
    return _fill(_MD.render(source), texts)


def inline(text: str, values: dict[str, Any] | None = None, lang: str = "en", currency: str = "") -> str:
    """As :func:`markdown`, for one line without the enclosing paragraph (headings, captions)."""
    source, texts = _source(text, values, lang, currency)
    return _fill(_MD.renderInline(source), texts)


def _clean(value: Any) -> Any:
    if isinstance(value, Md):
        return Md(_strip_tokens(value))
    if isinstance(value, str):
        return _strip_tokens(value)
    return value


def plain(text: str) -> str:
    """The visible text of an HTML fragment."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# --- the glossary -----------------------------------------------------------------------------------

#: Elements whose text is never linked to the glossary: headings, links, code, tables (sorted, scanned for
#: counts), the contents, the foot, the head.
_NO_LINK = frozenset({"a", "h1", "h2", "h3", "h4", "h5", "h6", "code", "pre", "kbd", "table", "nav", "footer",
                      "head", "title", "summary", "button", "label"})
_RAW = ("script", "style")
_PIECE = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.DOTALL)


def term_pattern(words: str) -> re.Pattern[str]:
    """The words (a regular expression) that stand for a glossary term, as whole words only."""
    return re.compile(f"(?<![\\w&])(?:{words})(?![\\w])")


def link_terms(page: str, terms: dict[str, re.Pattern[str]]) -> tuple[str, list[str]]:
    """``page`` with the first use of each term in its prose linked to ``#cx-term-<key>``, and the keys found.

    Only text between tags is touched (already escaped: the link wraps it as it is), never inside the
    elements of :data:`_NO_LINK`, a script or a style."""
    out: list[str] = []
    found: list[str] = []
    closed = 0  # how many elements of _NO_LINK are open
    pos = 0
    while True:
        m = _PIECE.search(page, pos)
        text = page[pos: m.start() if m else len(page)]
        out.append(text if closed else _link(text, terms, found))
        if not m:
            break
        name = (m.group(2) or "").lower()
        end = m.end()
        if not m.group(1) and name in _RAW:  # raw text: copied up to its end tag
            close = page.lower().find(f"</{name}", end)
            end = len(page) if close < 0 else close
        elif name in _NO_LINK and not m.group(0).endswith("/>"):
            closed = max(0, closed + (-1 if m.group(1) else 1))
        out.append(page[m.start(): end])
        pos = end
    return "".join(out), found


def _link(text: str, terms: dict[str, re.Pattern[str]], found: list[str]) -> str:
    """``text`` with the first match of each term not yet ``found`` made a link (earliest first)."""
    out, pos = [], 0
    while True:
        hits = [(m.start(), -len(m.group(0)), key, m) for key, p in terms.items()
                if key not in found and (m := p.search(text, pos))]
        if not hits:
            break
        _, _, key, m = min(hits)
        out.append(text[pos: m.start()] + f'<a class="cx-term" href="#cx-term-{key}">{m.group(0)}</a>')
        found.append(key)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def glossary(title: str, intro: str, entries: list[tuple[str, str, str]]) -> str:
    """The glossary section: ``entries`` of (key, term, Markdown explanation), each with the anchor
    ``cx-term-<key>`` that :func:`link_terms` links to."""
    items = "".join(f'<dt id="cx-term-{html.escape(key, quote=True)}">{html.escape(term)}</dt><dd>{inline(text)}</dd>'
                    for key, term, text in entries)
    return (f'<div class="cx-glossary"><h2 id="cx-glossary">{html.escape(title)}</h2>'
            f'<p>{html.escape(intro)}</p><dl>{items}</dl></div>')


# --- the tripwire ------------------------------------------------------------------------------------

#: Elements a report or the index may contain (what nbconvert's template and cxlab emit).
ALLOWED_TAGS = frozenset({
    "html", "head", "body", "meta", "title", "style", "main", "nav", "footer", "div", "span", "p", "br", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "a", "strong", "em", "b", "i", "s", "del", "code", "pre", "kbd", "sup",
    "sub", "blockquote", "ul", "ol", "li", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    "colgroup", "col", "img", "details", "summary", "small", "label", "dl", "dt", "dd",
})
_SAFE_HREF = re.compile(r"^(#[^\s]*|https?://[^\s]*|mailto:[^\s]*|[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*)?$")
_SAFE_SRC = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "cite", "data", "srcset"}


#: The one script a report may carry (sortable, filterable tables; foldable sections): inline, no network.
REPORT_SCRIPT = (resources.files("cxlab.report") / "report.js").read_text(encoding="utf-8")


def script_element() -> str:
    """cxlab's own script as the element a report ends with (the only one :func:`active_content` lets pass)."""
    return f"<script>{REPORT_SCRIPT}</script>"


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: list[str] | None = None  # the text of the script element being read
        self._scripts = 0

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if "".join(self._script) != REPORT_SCRIPT or self._scripts > 1:
                self.problems.append("element <script>")
            self._script = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not attrs and self._script is None:
            self._script, self._scripts = [], self._scripts + 1
            return
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in ("srcdoc", "formaction"):
                self.problems.append(f"attribute {name} on <{tag}>")
            elif name == "href" and not _SAFE_HREF.match(value.strip()):
                self.problems.append(f"link {value[:60]!r} on <{tag}>")
            elif name == "src" and not _SAFE_SRC.match(value.strip()):
                self.problems.append(f"source {value[:60]!r} on <{tag}>")
            elif name in _URL_ATTRS - {"href", "src"}:
                self.problems.append(f"attribute {name} on <{tag}>")
            elif name == "style" and re.search(r"url\s*\(|expression\s*\(|javascript:", value, re.I):
                self.problems.append(f"style {value[:60]!r} on <{tag}>")
            elif name == "http-equiv" and value.lower() == "refresh":
                self.problems.append("meta refresh")

    handle_startendtag = handle_starttag


def active_content(page: str) -> list[str]:
    """What in the HTML ``page`` could run or fetch something: [] for a safe page."""
    scanner = _Scanner()
    scanner.feed(page)
    scanner.close()
    if scanner._script is not None:  # a script left open runs to the end of the page
        scanner.problems.append("element <script>")
    return scanner.problems


def message_md(key: str, lang: str, /, **values: Any) -> Md:
    """The message ``key`` as Markdown with ``values`` escaped (an :class:`Md` value kept as Markdown):
    for cxlab's helpers that build Markdown lines out of messages and card fields."""
    from cxlab.report.i18n import t

    return Md(t(key, lang, **{k: v if isinstance(v, Md) else escape_md(v) for k, v in values.items()}))

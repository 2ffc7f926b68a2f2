"""The glossary every report ends with: the jargon it uses (MDE, CUPED, qini, P(alive)…), explained in
plain words in the report's language, the first use of each term in the text linked to its entry.

Terms, the words that stand for them and their explanations are messages (``glossary.<key>.term``,
``.match``, ``.text`` in ``cxlab/report/messages/<lang>/glossary.yml``); the HTML is made by
:mod:`cxlab.report.markup`.
"""

from __future__ import annotations

from cxlab.report import markup
from cxlab.report.i18n import catalogue, t


def terms(lang: str) -> list[str]:
    """The glossary's keys, in the order of the catalogue."""
    return [k.removeprefix("glossary.").removesuffix(".term") for k in catalogue(lang)
            if k.startswith("glossary.") and k.endswith(".term")]


def add(body: str, lang: str) -> str:
    """``body`` (a report's HTML) with the first use of each term linked and the glossary put before
    ``</body>``: every term, the ones this report uses first (every report carries the same vocabulary)."""
    patterns = {key: markup.term_pattern(t(f"glossary.{key}.match", lang)) for key in terms(lang)}
    linked, found = markup.link_terms(body, patterns)
    order = [*[k for k in terms(lang) if k in found], *[k for k in terms(lang) if k not in found]]
    entries = [(key, t(f"glossary.{key}.term", lang), t(f"glossary.{key}.text", lang)) for key in order]
    section = markup.glossary(t("glossary.title", lang), t("glossary.intro", lang), entries)
    return linked.replace("</body>", section + "</body>", 1)

"""One message catalogue for every label a report shows, in English and Russian.

Messages live in ``messages/<lang>/<area>.yml``; a key is ``<area>.<name>`` (``overview.title``).
Each notebook area owns one file, so translations stay in one place and never in notebooks.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources
from typing import Any

import yaml

from cxlab.report.format import KINDS, format_value

LANGS = ("en", "ru")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All messages of ``lang`` as a flat ``{area.name: text}`` dict."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    messages: dict[str, str] = {}
    folder = resources.files("cxlab.report") / "messages" / lang
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yml"):
            continue
        area = entry.name[: -len(".yml")]
        for name, text in (yaml.safe_load(entry.read_text(encoding="utf-8")) or {}).items():
            messages[f"{area}.{name}"] = str(text)
    return messages


class Formatter(string.Formatter):
    """``{uplift:pp}``, ``{share:pct.0}``, ``{p:number.3}``, ``{n:int}``, ``{cost:money}``: a template
    carries the format of each figure, so a notebook passes raw values (``**result.facts()``) and the same
    number reads alike in every report and language (money in ``currency``). Other specs are Python's;
    text passes as it is."""

    def __init__(self, lang: str, currency: str = "") -> None:
        self.lang = lang
        self.currency = currency

    def format_field(self, value: Any, format_spec: str) -> str:
        kind, _, digits = format_spec.partition(".")
        if kind in KINDS:
            if isinstance(value, str):
                return value
            return format_value(value, kind, self.lang, int(digits) if digits else None,
                                self.currency if kind == "money" else "")
        return super().format_field(value, format_spec)


def t(key: str, lang: str = "en", /, **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values`` (``{n}`` placeholders, or
    ``{n:int}``-style ones that format a raw value: see :class:`Formatter`)."""
    messages = catalogue(lang)
    if key not in messages:
        raise KeyError(f"message '{key}' is missing from the '{lang}' catalogue (cxlab/report/messages/{lang}/)")
    text = messages[key]
    return Formatter(lang).format(text, **values) if values else text

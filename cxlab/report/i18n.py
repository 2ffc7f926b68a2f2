"""One message catalogue for every label a report shows, in English and Russian.

Messages live in ``messages/<lang>/<area>.yml``; a key is ``<area>.<name>`` (``overview.title``).
Each notebook area owns one file, so translations stay in one place and never in notebooks.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

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


def t(key: str, lang: str = "en", /, **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values`` (``{n}`` placeholders)."""
    messages = catalogue(lang)
    if key not in messages:
        raise KeyError(f"message '{key}' is missing from the '{lang}' catalogue (cxlab/report/messages/{lang}/)")
    text = messages[key]
    return text.format(**values) if values else text
